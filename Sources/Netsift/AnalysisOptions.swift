import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport

/// Everything that decides how a capture is read and judged: which packets (a BPF filter), how
/// conversations are followed (decode-as rules and the limits that keep memory bounded), how many
/// threads share the work, and the thresholds of the findings.
///
/// The defaults are the command line's defaults. Every limit is documented where its type is.
public struct AnalysisOptions: Sendable {
    /// Only packets matching this BPF expression (libpcap's syntax, as tcpdump's), or every packet.
    public var filter: String?
    /// Ports parsed as a protocol whatever their content (Wireshark's "Decode As").
    public var decodeAs = DecodeAs()
    /// Conversations followed at once and how long an idle one is kept.
    public var flowLimits = FlowLimits()
    /// Out-of-order TCP bytes held for reassembly.
    public var reassemblyLimits = ReassemblyLimits()
    /// IP datagrams reassembled from fragments at once, and their bounds.
    public var fragmentLimits = FragmentLimits()
    /// Threads that share out a capture file's conversations (1: this thread only). Standard input
    /// and pipes are always read on one.
    public var threads = 1
    /// When a count or a rate becomes a finding.
    public var thresholds = DiagnosisThresholds()
    /// How many of the most troubled conversations the report keeps.
    public var top = 10
    /// Record the series the HTML report draws (`CaptureSeries`), within these limits; nil: none.
    /// Recording follows every packet in capture order, so a run that records uses one thread.
    public var series: SeriesLimits?

    public init() {}

    /// The BPF filter compiled, or nil when there is none.
    /// - Throws: the expression's syntax error, in libpcap's words.
    public func compiledFilter() throws(CaptureError) -> PacketFilter? {
        guard let filter else { return nil }
        return try PacketFilter(expression: filter)
    }

    /// A dissector with the fragment limits (every worker of a sharded run reassembles every
    /// fragment: which conversation a fragment belongs to is known only once it is whole).
    func dissector() -> Dissector { Dissector(fragmentLimits: fragmentLimits, tunnelPorts: decodeAs.tunnelPorts) }

    /// The tracker for one shard of the conversations. With several, the flow and reassembly
    /// limits are shared out, so that together they hold what one tracker would.
    func tracker(shard: FlowShard = FlowShard()) -> FlowTracker {
        var flows = flowLimits
        flows.maximumFlows = (flowLimits.maximumFlows + shard.count - 1) / shard.count
        var reassembly = reassemblyLimits
        reassembly.totalBytes = reassemblyLimits.totalBytes / shard.count
        return FlowTracker(decodeAs: decodeAs, reassemblyLimits: reassembly, flowLimits: flows, shard: shard)
    }
}
