import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Netsift

/// `netsift flows FILE`: the conversation table, like Zeek's conn.log or `tshark -z conv,tcp`, with
/// Zeek's connection states and history and Wireshark's TCP analysis counts.
struct Flows: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flows",
        abstract: "List every TCP and UDP conversation: endpoints, packets and bytes each way, state, RTT, retransmissions.",
        discussion: """
        Originator (orig) and responder (resp) are Zeek's: the side that sent the SYN, or the first datagram.
        STATE is Zeek's conn_state (S0 attempt unanswered, REJ rejected, SF closed normally, S1 open,
        S2/S3 closed by one side only, RSTO/RSTR reset by originator/responder, OTH midstream...),
        HISTORY its history letters (uppercase: originator).
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json, jsonl, csv }
    enum SortKey: String, ExpressibleByArgument, CaseIterable { case stream, start, duration, packets, bytes, retransmissions }

    @Argument(help: "Capture files (pcap or pcapng), folders of them or patterns, read as one capture merged by time (as mergecap merges them); - for standard input.")
    var files: [String]

    @Option(help: "Output format: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format = Format.text

    @Option(help: "Order: \(SortKey.allCases.map(\.rawValue).joined(separator: ", ")) (the counts largest first).")
    var sort = SortKey.start

    @Option(help: "Only TCP or only UDP conversations.")
    var transport: Transport?

    @Option(help: "Show at most this many conversations.")
    var limit: Int?

    @OptionGroup var filter: FilterOption
    @OptionGroup var displayFilter: DisplayFilterOption
    @OptionGroup var flowOptions: FlowOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("Missing expected argument '<files> ...': a capture file") }
    }

    func run() throws {
        _ = try filter.compiled()   // a bad -f or -Y is a usage error, said before anything is read
        let display = try displayFilter.compiled(.conversation)
        var options = AnalysisOptions()
        options.filter = filter.filter
        flowOptions.apply(to: &options)
        options.threads = threadOptions.threads
        var set = try openCaptures(files)
        var pipeline = try Pipeline(options: options)
        var flows: [FlowSummary] = []
        var progress = Progress(files: set.paths)
        let end = pipeline.run(&set, flow: { flow in
            let summary = FlowSummary(flow)
            guard transport == nil || summary.transport == transport?.rawValue,
                  display?.matches(summary) ?? true else { return }
            flows.append(summary)
        }, progress: { progress.show(packets: $0, bytes: $1) })
        progress.done()
        flows.sort(by: ordering)
        if let limit { flows = Array(flows.prefix(max(0, limit))) }
        switch format {
        case .text: print(FlowTable.text(flows, counters: pipeline.counters), terminator: "")
        case .csv: print(FlowTable.csv(flows), terminator: "")
        case .json: print(try JSONOutput.encode(flows, pretty: true))
        case .jsonl:
            var output = BufferedOutput()
            for flow in flows { output.write(try JSONOutput.encode(flow, pretty: false)) }
            output.flush()
        }
        let exit = status(of: set, end: end)
        if exit != .success { throw ExitCode(exit.rawValue) }
    }

    func ordering(_ a: FlowSummary, _ b: FlowSummary) -> Bool {
        func tie() -> Bool { a.start != b.start ? a.start < b.start : (a.transport, a.stream) < (b.transport, b.stream) }
        switch sort {
        case .stream: return a.transport != b.transport ? a.transport < b.transport : a.stream < b.stream
        case .start: return tie()
        case .duration: return a.durationNanoseconds != b.durationNanoseconds ? a.durationNanoseconds > b.durationNanoseconds : tie()
        case .packets: return a.packets != b.packets ? a.packets > b.packets : tie()
        case .bytes: return a.bytes != b.bytes ? a.bytes > b.bytes : tie()
        case .retransmissions:
            return a.retransmittedBytes != b.retransmittedBytes ? a.retransmittedBytes > b.retransmittedBytes : tie()
        }
    }
}

extension Transport: ExpressibleByArgument {}

/// The renderings of the flow table.
enum FlowTable {
    static let columns = ["PROTO", "STREAM", "ORIG", "RESP", "STATE", "SERVICE", "START", "DURATION", "PKTS", "BYTES",
                          "RTT", "RETRANS", "RATE", "LIMIT", "HISTORY"]

    /// Payload bytes per second each way ("53.6k/2.0M"), "-" where a side sent no data for a millisecond.
    static func rates(_ f: FlowSummary) -> String {
        guard f.transport == "tcp" else { return "-" }
        let o = f.originator.transfer?.throughputBytesPerSecond, r = f.responder.transfer?.throughputBytesPerSecond
        guard o != nil || r != nil else { return "-" }
        return "\(o.map(shortRate) ?? "-")/\(r.map(shortRate) ?? "-")"
    }

    static func shortRate(_ bytesPerSecond: Int) -> String {
        let value = Double(bytesPerSecond)
        if value >= 1e9 { return fixed(value / 1e9, 1) + "G" }
        if value >= 1e6 { return fixed(value / 1e6, 1) + "M" }
        if value >= 1e3 { return fixed(value / 1e3, 1) + "k" }
        return String(bytesPerSecond)
    }

    /// What limited the conversation's larger direction (T-RAT's class), "-" when too small to tell.
    static func limit(_ f: FlowSummary) -> String {
        let larger = f.originator.payloadBytes >= f.responder.payloadBytes ? f.originator : f.responder
        return larger.transfer?.limitedBy?.rawValue ?? "-"
    }

    /// A tunnel as the TUNNEL column shows it: `vxlan 42 10.0.0.1-10.0.0.2`.
    static func tunnel(_ t: FlowSummary.Tunnel?) -> String {
        guard let t else { return "-" }
        var text = t.kind
        if let identifier = t.identifier { text += " \(identifier)" }
        if let source = t.outerSource, let destination = t.outerDestination { text += " \(source)-\(destination)" }
        return text
    }

    /// The TUNNEL column comes after RESP, and only when a conversation was found in a tunnel.
    static func text(_ flows: [FlowSummary], counters: FlowCounters) -> String {
        let tunneled = flows.contains { $0.tunnel != nil }
        let columns = tunneled ? Array(Self.columns[0..<4]) + ["TUNNEL"] + Self.columns[4...] : Self.columns
        var rows = [columns]
        for f in flows {
            var row = [
                f.transport, String(f.stream), f.originator.endpoint, f.responder.endpoint, f.state.rawValue,
                f.service ?? "-", formatUTC(f.start).dropFirst(11).prefix(15).description,
                fixed(Double(f.durationNanoseconds) / 1e9, 3) + " s",
                "\(grouped(f.originator.packets))/\(grouped(f.responder.packets))",
                "\(grouped(f.originator.bytes))/\(grouped(f.responder.bytes))",
                f.handshakeRTTNanoseconds.map { fixed(Double($0) / 1e6, 3) + " ms" } ?? "-",
                f.transport == "tcp" ? grouped(f.retransmittedBytes) : "-",
                rates(f), limit(f),
                f.history.isEmpty ? "-" : f.history,
            ]
            if tunneled { row.insert(tunnel(f.tunnel), at: 4) }
            rows.append(row)
        }
        let widths = columns.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = rows.map { row in
            row.enumerated().map { $1.padding(widths[$0]) }.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }.joined()
        out += "\(plural(flows.count, "conversation"))"
        if counters.evicted > 0 { out += "; \(counters.evicted) ended early at the --max-flows limit" }
        if counters.reassemblyOverflows > 0 { out += "; \(counters.reassemblyOverflows) over the reassembly limit" }
        return out + "\n"
    }

    static func csv(_ flows: [FlowSummary]) -> String {
        let header = ["transport", "stream", "orig_addr", "orig_port", "resp_addr", "resp_port", "state", "service",
                      "start_ns", "duration_ns", "orig_pkts", "orig_bytes", "resp_pkts", "resp_bytes", "orig_payload",
                      "resp_payload", "handshake_rtt_ns", "orig_mss", "resp_mss", "retrans_bytes", "history",
                      "tunnel", "tunnel_id", "outer_src", "outer_dst",
                      "orig_throughput_bps", "resp_throughput_bps", "orig_goodput_bps", "resp_goodput_bps",
                      "orig_rtt_min_ns", "orig_rtt_median_ns", "orig_rtt_p95_ns",
                      "resp_rtt_min_ns", "resp_rtt_median_ns", "resp_rtt_p95_ns",
                      "orig_bytes_in_flight_max", "resp_bytes_in_flight_max", "orig_window_max", "resp_window_max",
                      "orig_limited_by", "resp_limited_by", "response_median_ns", "response_p95_ns",
                      "orig_cwnd_median", "resp_cwnd_median", "think_median_ns", "think_p95_ns"]
        var out = header.joined(separator: ",") + "\n"
        for f in flows {
            let fields: [String] = [
                f.transport, String(f.stream), f.originator.address, String(f.originator.port), f.responder.address,
                String(f.responder.port), f.state.rawValue, f.service ?? "", String(f.start), String(f.durationNanoseconds),
                String(f.originator.packets), String(f.originator.bytes), String(f.responder.packets),
                String(f.responder.bytes), String(f.originator.payloadBytes), String(f.responder.payloadBytes),
                f.handshakeRTTNanoseconds.map(String.init) ?? "", f.originator.mss.map(String.init) ?? "",
                f.responder.mss.map(String.init) ?? "", f.transport == "tcp" ? String(f.retransmittedBytes) : "",
                f.history, f.tunnel?.kind ?? "", f.tunnel?.identifier.map(String.init) ?? "",
                f.tunnel?.outerSource ?? "", f.tunnel?.outerDestination ?? "",
            ] + transferFields(f)
            out += fields.map(csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    /// The CSV's transfer columns (empty for UDP and what was not measured).
    static func transferFields(_ f: FlowSummary) -> [String] {
        func text<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "" }
        let o = f.originator.transfer, r = f.responder.transfer
        return [text(o?.throughputBytesPerSecond), text(r?.throughputBytesPerSecond),
                text(o?.goodputBytesPerSecond), text(r?.goodputBytesPerSecond),
                text(o?.rttMinNanoseconds), text(o?.rttMedianNanoseconds), text(o?.rttP95Nanoseconds),
                text(r?.rttMinNanoseconds), text(r?.rttMedianNanoseconds), text(r?.rttP95Nanoseconds),
                text(o?.bytesInFlightMax), text(r?.bytesInFlightMax), text(o?.windowMax), text(r?.windowMax),
                text(o?.limitedBy?.rawValue), text(r?.limitedBy?.rawValue),
                text(f.responseTimes?.medianNanoseconds), text(f.responseTimes?.p95Nanoseconds),
                text(o?.congestionWindowMedian), text(r?.congestionWindowMedian),
                text(f.thinkTimes?.medianNanoseconds), text(f.thinkTimes?.p95Nanoseconds)]
    }

    /// RFC 4180: quote a field holding a comma, quote or line break.
    static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacing("\"", with: "\"\"") + "\""
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
