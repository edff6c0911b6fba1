import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Netsift

/// `-Y`: Wireshark's display-filter syntax over the fields Netsift decodes (docs/display-filter.md).
struct DisplayFilterOption: ParsableArguments {
    @Option(name: [.customShort("Y"), .customLong("display-filter")], help: ArgumentHelp(
        "Only what matches this display filter, in Wireshark's syntax (docs/display-filter.md), e.g. \"tcp.analysis.retransmission and tcp.stream == 12\".",
        valueName: "expression"))
    var displayFilter: String?

    /// The compiled filter, or nil when none was given. An error (with its column) is a usage error.
    func compiled(_ scope: DisplayFilter.Scope) throws -> DisplayFilter? {
        guard let displayFilter else { return nil }
        do {
            return try DisplayFilter(displayFilter, scope: scope)
        } catch {
            warn("-Y: \(error.description)")
            throw ExitCode(ExitStatus.usage.rawValue)
        }
    }
}

/// The options every command that reads packets shares.
struct FilterOption: ParsableArguments {
    @Option(name: [.customShort("f"), .long], help: ArgumentHelp(
        "Only packets matching this BPF filter (libpcap syntax, as tcpdump), e.g. \"tcp port 443\".",
        valueName: "expression"))
    var filter: String?

    /// The compiled filter, or nil when none was given. A syntax error is reported before reading.
    func compiled() throws -> PacketFilter? {
        guard let filter else { return nil }
        do {
            return try PacketFilter(expression: filter)
        } catch {
            warn(error.description)
            throw ExitCode(ExitStatus.usage.rawValue)
        }
    }
}

/// The options of every command that follows conversations.
struct FlowOptions: ParsableArguments {
    @Option(name: .customLong("decode-as"), help: ArgumentHelp(
        "Parse a port as a protocol whatever its content, as Wireshark's -d: tcp.port==8443,http2 (dns, tls, http2; udp.port==N,vxlan opens a tunnel).",
        valueName: "rule"))
    var decodeAs: [String] = []

    @Option(help: "At most this many conversations (TCP and UDP each) followed at once; the idlest are ended early and counted.")
    var maxFlows = FlowLimits().maximumFlows

    @Option(help: "Seconds a TCP conversation may stay idle before it is over (established or midstream).")
    var tcpIdle = Double(FlowLimits().tcpIdle) / 1e9

    @Option(help: "Seconds a TCP conversation waiting for an answer to its SYN may stay idle.")
    var tcpAttemptIdle = Double(FlowLimits().tcpAttemptIdle) / 1e9

    @Option(help: "Seconds a closed or reset TCP conversation is kept for late packets.")
    var tcpClosedIdle = Double(FlowLimits().tcpClosedIdle) / 1e9

    @Option(help: "Seconds a UDP conversation may stay idle before it is over.")
    var udpIdle = Double(FlowLimits().udpIdle) / 1e9

    @Option(help: "Out-of-order bytes TCP reassembly may hold, in MiB per direction.")
    var reassemblyDirectionMiB = ReassemblyLimits().bytesPerDirection >> 20

    @Option(help: "Out-of-order bytes TCP reassembly may hold in all, in MiB.")
    var reassemblyTotalMiB = ReassemblyLimits().totalBytes >> 20

    @Option(help: "IP datagrams reassembled from fragments at once (64 KiB each); a new one past this drops the oldest, counted.")
    var maxFragmentedDatagrams = FragmentLimits().maximumDatagrams

    @Option(help: "Fragments one IP datagram may arrive in; more are dropped and counted.")
    var maxFragments = FragmentLimits().maximumFragments

    @Option(help: "Seconds an incomplete fragmented datagram waits for its next fragment (capture time).")
    var fragmentTimeout = Double(FragmentLimits().timeout) / 1e9

    func validate() throws {
        guard DecodeAs(rules: decodeAs) != nil else {
            throw ValidationError("--decode-as takes tcp.port==N,PROTOCOL or udp.port==N,PROTOCOL with PROTOCOL one of dns, tls, http2, or udp.port==N,vxlan (at most \(TunnelPorts.maximumExtraVXLANPorts) VXLAN ports)")
        }
        guard maxFlows > 0, reassemblyDirectionMiB >= 0, reassemblyTotalMiB >= 0 else {
            throw ValidationError("--max-flows must be positive and the reassembly limits zero or more")
        }
        guard [tcpIdle, tcpAttemptIdle, tcpClosedIdle, udpIdle, fragmentTimeout].allSatisfy({ $0 > 0 && $0 < 1e9 }) else {
            throw ValidationError("idle timeouts must be positive numbers of seconds")
        }
        // Each datagram in flight takes 64 KiB, and every fragment looks through them all; a datagram
        // of 65,535 bytes cannot have more than 8,192 fragments of 8 bytes.
        guard (1...4_096).contains(maxFragmentedDatagrams), (1...8_192).contains(maxFragments) else {
            throw ValidationError("--max-fragmented-datagrams must be between 1 and 4,096, --max-fragments between 1 and 8,192")
        }
    }

    /// The flow, reassembly and fragment limits and the decode-as rules, set in `options`.
    func apply(to options: inout AnalysisOptions) {
        options.decodeAs = DecodeAs(rules: decodeAs) ?? DecodeAs()
        options.flowLimits = FlowLimits(maximumFlows: maxFlows, tcpIdle: Int64(tcpIdle * 1e9),
                                        tcpAttemptIdle: Int64(tcpAttemptIdle * 1e9),
                                        tcpClosedIdle: Int64(tcpClosedIdle * 1e9), udpIdle: Int64(udpIdle * 1e9))
        options.reassemblyLimits = ReassemblyLimits(bytesPerDirection: reassemblyDirectionMiB << 20,
                                                    totalBytes: reassemblyTotalMiB << 20)
        options.fragmentLimits.maximumDatagrams = maxFragmentedDatagrams
        options.fragmentLimits.maximumFragments = maxFragments
        options.fragmentLimits.timeout = Int64(fragmentTimeout * 1e9)
    }
}

/// `--threads`, for the commands that read a capture file through `Pipeline.run` (`live` and
/// `packets` go packet by packet, on one thread).
struct ThreadOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Threads for a capture file (default: the idle cores, from the load average). Each reads the whole file and follows a share of the conversations; standard input and pipes are read on one.",
        valueName: "n"))
    var threads = ThreadOptions.idleCores()

    func validate() throws {
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    /// The cores not kept busy by other work (the one-minute load average), at least one. A thread
    /// without a core of its own made the sharded run slower than one thread (Benchmarks/README.md).
    static func idleCores() -> Int {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var load = [0.0]
        guard getloadavg(&load, 1) == 1, load[0].isFinite, load[0] >= 0 else { return cores }
        return max(1, cores - Int(min(load[0], Double(cores))))
    }
}

/// Opens the captures the arguments name — files, directories (the captures in them), patterns
/// the shell left unexpanded — as one capture, or says why not (one line naming the file) and
/// exits 2.
func openCaptures(_ arguments: [String]) throws -> CaptureSet {
    do {
        return try CaptureSet(paths: CaptureSet.expand(arguments))
    } catch {
        warn(error.description)
        throw ExitCode(ExitStatus.unreadable.rawValue)
    }
}

/// What reading a set ended with, as an exit status: each damaged file is reported in one line
/// naming it (what was read of it, and every other file, has been analysed) and exits 3.
func status(of set: borrowing CaptureSet, end: CaptureReader.End) -> ExitStatus {
    if set.members.count == 1 { return status(of: end, file: set.members[0].path) }
    for (path, damage) in set.damages { warn("\(inputName(path)): \(damage.description)") }
    return set.damages.isEmpty ? .success : .damaged
}

/// What reading ended with, as an exit status: a damaged capture is reported in one line (what was
/// read before the damage has been analysed) and exits 3; an unreadable one exits 2.
func status(of end: CaptureReader.End, file: String) -> ExitStatus {
    switch end {
    case .finished:
        return .success
    case .damaged(let damage):
        warn("\(inputName(file)): \(damage.description)")
        return .damaged
    case .rejected(let error):
        warn(error.description)
        return .unreadable
    }
}

/// The options that decide findings and what the report shows (`analyze`, `live`).
struct DiagnosisOptions: ParsableArguments {
    @Option(help: "How many of the most troubled conversations to show.")
    var top = AnalysisOptions().top

    @Option(help: "Report a conversation side retransmitting at least this percentage of its data segments.")
    var retransmissionPercent = DiagnosisThresholds().retransmissionRate * 100

    @Option(help: "…and at least this many segments.")
    var minimumRetransmissions = DiagnosisThresholds().minimumRetransmissions

    @Option(help: "A connection half-closed this many seconds (or still at the end of the capture) is in CLOSE_WAIT.")
    var closeWaitSeconds = DiagnosisThresholds().closeWaitSeconds

    @Option(help: "This many connections closed first by one client towards one server make TIME_WAIT pressure.")
    var timeWaitConnections = DiagnosisThresholds().timeWaitConnections

    @Option(help: "Retransmissions of segments larger than any acknowledged that make an MTU black hole.")
    var blackHoleRetransmissions = DiagnosisThresholds().blackHoleRetransmissions

    @Option(help: "A DNS answer slower than this many milliseconds is slow.")
    var dnsSlowMs = DiagnosisThresholds().dnsSlowMilliseconds

    @Option(help: "HTTP/1.x and HTTP/2 responses whose time to first byte has a p95 or p99 above this many milliseconds make a server slow.")
    var httpSlowMs = DiagnosisThresholds().httpSlowMilliseconds

    @Option(help: "Other request/response services whose response times have a p95 above this many milliseconds are slow.")
    var responseSlowMs = DiagnosisThresholds().responseSlowMilliseconds

    @Option(help: "A SYN flood: at least this many connection attempts to one service that never completed…")
    var synFloodAttempts = DiagnosisThresholds().synFloodAttempts

    @Option(help: "…from at least this many source addresses…")
    var synFloodSources = DiagnosisThresholds().synFloodSources

    @Option(help: "…at least this many a second on average.")
    var synFloodRate = DiagnosisThresholds().synFloodRate

    @Option(help: "A port scan: one source's failed attempts reach this many ports of one host (Zeek's default).")
    var scanPorts = DiagnosisThresholds().scanPorts

    @Option(help: "A host sweep: one source's failed attempts reach this many hosts on one port (Zeek's default).")
    var scanHosts = DiagnosisThresholds().scanHosts

    @Option(help: "A UDP flood: at least this many unanswered datagrams to one host…")
    var udpFloodDatagrams = DiagnosisThresholds().udpFloodDatagrams

    @Option(help: "…at least this many a second on average.")
    var udpFloodRate = DiagnosisThresholds().udpFloodRate

    @Option(help: "DNS reflection: at least this many DNS answers to one host that it never asked for…")
    var dnsReflectionResponses = DiagnosisThresholds().dnsReflectionResponses

    @Option(help: "…from at least this many resolvers.")
    var dnsReflectionResolvers = DiagnosisThresholds().dnsReflectionResolvers

    /// The thresholds and how many conversations the report shows, set in `options`.
    func apply(to options: inout AnalysisOptions) {
        options.top = top
        options.thresholds.retransmissionRate = retransmissionPercent / 100
        options.thresholds.minimumRetransmissions = minimumRetransmissions
        options.thresholds.closeWaitSeconds = closeWaitSeconds
        options.thresholds.timeWaitConnections = timeWaitConnections
        options.thresholds.blackHoleRetransmissions = blackHoleRetransmissions
        options.thresholds.dnsSlowMilliseconds = dnsSlowMs
        options.thresholds.httpSlowMilliseconds = httpSlowMs
        options.thresholds.synFloodAttempts = synFloodAttempts
        options.thresholds.synFloodSources = synFloodSources
        options.thresholds.synFloodRate = synFloodRate
        options.thresholds.scanPorts = scanPorts
        options.thresholds.scanHosts = scanHosts
        options.thresholds.udpFloodDatagrams = udpFloodDatagrams
        options.thresholds.udpFloodRate = udpFloodRate
        options.thresholds.dnsReflectionResponses = dnsReflectionResponses
        options.thresholds.dnsReflectionResolvers = dnsReflectionResolvers
        options.thresholds.responseSlowMilliseconds = responseSlowMs
    }
}


/// `netsift interfaces`: what libpcap can capture on.
struct Interfaces: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "interfaces", abstract: "List the interfaces live capture can use.")

    func run() throws {
        let interfaces: [(name: String, description: String?, loopback: Bool, up: Bool)]
        do {
            interfaces = try LiveCapture.interfaces()
        } catch {
            warn(error.description)
            throw ExitCode(ExitStatus.unreadable.rawValue)
        }
        let width = interfaces.map(\.name.count).max() ?? 0
        for interface in interfaces {
            var notes: [String] = [interface.up ? "up" : "down"]
            if interface.loopback { notes.append("loopback") }
            if let description = interface.description { notes.append(description) }
            print(interface.name.padding(width) + "  " + notes.joined(separator: ", "))
        }
    }
}

extension String {
    /// Left-aligned in a column of `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
