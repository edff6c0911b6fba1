import NetsiftDissect
import NetsiftFlows

extension Finding {
    /// Packets a live capture lost before netsift saw them (libpcap's `pcap_stats`): the kernel's
    /// buffer was full, or the interface dropped them. nil when none were lost.
    public static func packetsDropped(byKernel: Int, byInterface: Int, received: Int) -> Finding? {
        let dropped = byKernel + byInterface
        guard dropped > 0 else { return nil }
        return Finding(
            kind: .packetsDropped, severity: .warning, count: dropped, countUnit: "packets",
            facts: ["dropped_by_kernel": .int(byKernel), "dropped_by_interface": .int(byInterface),
                    "received": .int(received)],
            summary: "\(plural(dropped, "packet")) \(verb(dropped, "was")) dropped before netsift saw them (\(grouped(byKernel)) by the kernel, \(grouped(byInterface)) by the interface).",
            explanation: "What was analysed misses those packets: some retransmissions, gaps and unanswered segments may be the capture's, not the network's.",
            likelyCause: "Traffic faster than the capture drains its buffer (a busy link, a slow disk for --write), or a filter too wide.",
            nextStep: "Raise --buffer-size, narrow the capture with -f, or lower --snaplen; check that drops stop before trusting loss findings.")
    }
}

/// Capture loss, offline: packets the recorder missed look like a network that lost them. As Zeek's
/// `capture_loss` and Wireshark's expert info tell it, the streams themselves show it — a segment
/// after a hole ("previous segment not captured") and ACKs for data never seen ("ACKed unseen
/// segment") — and a pcapng file may carry the recorder's own drop counters. Counted per TCP
/// conversation: how many conversations have holes, and what share of the data they carried
/// (seen plus missed) is missing; the worst conversations listed first.
struct CaptureLossDetector {
    /// Significant loss, enough to cast doubt on the network's own loss: this share of the data…
    static let significantByteShare = 0.001
    /// …or of the conversations (at least `significantConversations` of them).
    static let significantConversationShare = 0.05
    static let significantConversations = 2

    var conversations = 0
    var withHoles = EndpointGroup()
    var holes = 0
    var ackedUnseen = 0
    var missingBytes = 0
    /// First transmissions of data seen, in all conversations.
    var seenBytes = 0

    mutating func add(_ c: TCPConversation) {
        conversations += 1
        for me in 0...1 { seenBytes += max(0, c[me].payloadBytes - c[me].retransmittedBytes) }
        let gaps = c.count(.lostSegment), unseen = c.count(.ackedUnseenSegment)
        guard gaps + unseen > 0 else { return }
        let missing = c.sides.0.bytesNotCaptured + c.sides.1.bytesNotCaptured
        let first = [c.sides.0.firstNotCapturedFrame, c.sides.1.firstNotCapturedFrame].compactMap { $0 }.min()
        withHoles.add(c, peer: c.clientEndpoint, frames: first.map { [$0] } ?? [], value: missing)
        holes += gaps
        ackedUnseen += unseen
        missingBytes += missing
    }

    /// The share of the data (seen plus missed) that is missing.
    var byteShare: Double { Double(missingBytes) / Double(max(1, seenBytes + missingBytes)) }
    var conversationShare: Double { Double(withHoles.count) / Double(max(1, conversations)) }

    /// Whether the capture lost enough that loss seen in it may be the capture's, not the network's.
    func significant(interfaceDrops: Int?) -> Bool {
        (interfaceDrops ?? 0) > 0 || byteShare >= Self.significantByteShare
            || (withHoles.count >= Self.significantConversations && conversationShare >= Self.significantConversationShare)
    }

    /// `interfaceDrops`: what the pcapng interface statistics say the recorder dropped (nil: no
    /// statistics in the file).
    func finding(interfaceDrops: Int?) -> Finding? {
        let drops = interfaceDrops ?? 0
        guard withHoles.count > 0 || drops > 0 else { return nil }
        var facts: [String: FactValue] = [
            "conversations": .int(withHoles.count), "tcp_conversations": .int(conversations),
            "conversations_percent": .double((conversationShare * 1000).rounded() / 10),
            "previous_segment_not_captured": .int(holes), "acked_unseen_segment": .int(ackedUnseen),
            "bytes_missing": .int(missingBytes), "bytes_missing_percent": .double((byteShare * 10000).rounded() / 100),
        ]
        if let interfaceDrops { facts["interface_drops"] = .int(interfaceDrops) }
        var parts: [String] = []
        if withHoles.count > 0 {
            parts.append("\(plural(withHoles.count, "conversation")) of \(grouped(conversations)) \(verb(withHoles.count, "has")) holes the capture did not record (\(plural(holes, "segment")) after a gap, \(plural(ackedUnseen, "ACK")) for data never seen; \(plural(missingBytes, "byte")), \(fixed2(byteShare * 100))% of the data)")
        }
        if drops > 0 { parts.append("the recorder counted \(plural(drops, "packet")) dropped (pcapng interface statistics)") }
        let significant = significant(interfaceDrops: interfaceDrops)
        return Finding(
            kind: .captureLoss, severity: significant ? .warning : .info, count: holes + ackedUnseen + drops,
            countUnit: "packets missed", flows: withHoles.flows, frames: withHoles.frames, facts: facts,
            summary: "The capture misses packets: " + parts.joined(separator: "; ") + ".",
            explanation: "Holes in what the capture holds look like loss on the network: retransmissions and gaps in these conversations may be the recorder's, not the path's.",
            likelyCause: "The recorder fell behind (tcpdump's kernel buffer full, a slow disk), a SPAN or mirror port over its rate, or a capture started after the conversations did.",
            nextStep: "Check the recorder's own counters (tcpdump prints \"packets dropped by kernel\"; `netsift info` shows pcapng drop counts); capture again with a larger buffer (`tcpdump -B`), a snaplen (-s 128) or a narrower filter, and trust loss findings only once the capture is whole.")
    }
}

func fixed2(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = abs(hundredths) % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
