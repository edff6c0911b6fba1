import Foundation
import NetsiftTestSupport
import Testing

/// What `netsift packets` prints of each frame's conversation and TCP analysis, against what
/// `tshark -2` says of the same frame (packets-oracle.tsv, written by scripts/packets-oracle from
/// ../shared/captures): `tcp.stream`, `udp.stream`, and the bracketed labels of the Info column.
@Suite struct PacketsCorpusTests {
    struct Expected {
        var tcpStream: Int?
        var udpStream: Int?
        var labels: [String]
    }

    /// capture -> frame -> what tshark said.
    static let oracle: [String: [Int: Expected]] = {
        let url = Corpus.projectRoot.appendingPathComponent("Tests/NetsiftCLITests/packets-oracle.tsv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [:] }
        var rows: [String: [Int: Expected]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5, let frame = Int(fields[1]) else { continue }
            rows[fields[0], default: [:]][frame] = Expected(tcpStream: Int(fields[2]), udpStream: Int(fields[3]),
                                                             labels: labels(in: fields[4]))
        }
        return rows
    }()

    /// The analysis labels of a line, in order ("[TCP segment of a reassembled PDU]" is tshark's
    /// note on reassembly, not an analysis flag, and Netsift does not print it).
    static func labels(in text: Substring) -> [String] {
        var labels: [String] = []
        var rest = text
        while let open = rest.range(of: "[TCP "), let close = rest[open.upperBound...].firstIndex(of: "]") {
            let label = String(rest[open.lowerBound...close])
            if label != "[TCP segment of a reassembled PDU]" { labels.append(label) }
            rest = rest[rest.index(after: close)...]
        }
        return labels
    }

    static func labels(in text: String) -> [String] { labels(in: Substring(text)) }

    /// "(tcp.stream 3)" in a line of ours.
    static func stream(_ transport: String, in line: Substring) -> Int? {
        guard let start = line.range(of: "(\(transport).stream ") else { return nil }
        return Int(line[start.upperBound...].prefix { $0.isNumber })
    }

    @Test func streamsAndAnalysisLabelsAgreeWithTsharkFrameByFrame() throws {
        guard let directory = Corpus.directory else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        #expect(Self.oracle.count > 50, "packets-oracle.tsv holds \(Self.oracle.count) captures")
        var frames = 0, labelled = 0, streams = 0
        for (name, expected) in Self.oracle.sorted(by: { $0.key < $1.key }) {
            if let reason = Allowlist.reason(name, "packet_count") {
                print("allowlisted \(name): \(reason)")
                continue
            }
            var arguments = ["packets", directory.appendingPathComponent(name).path]
            for rule in Corpus.decodeAs[name] ?? [] { arguments += ["--decode-as", rule] }
            let result = try CLI.run(arguments)
            var seen: Set<Int> = []
            for line in result.stdout.split(separator: "\n") where !line.hasPrefix("    ") {
                guard let frame = Int(line.prefix { $0.isNumber }), let want = expected[frame] else { continue }
                seen.insert(frame)
                frames += 1
                let tcp = Self.stream("tcp", in: line), udp = Self.stream("udp", in: line)
                // A packet of ours names its conversation only once, after its own headers: the
                // labels are what follows "(tcp.stream N)".
                let labels = tcp == nil ? [] : Self.labels(in: line[line.range(of: "(tcp.stream ")!.upperBound...])
                if (tcp, udp) != (want.tcpStream, want.udpStream) {
                    Issue.record("\(name) frame \(frame): ours tcp.stream \(tcp.map(String.init) ?? "-") udp.stream \(udp.map(String.init) ?? "-"), tshark's \(want.tcpStream.map(String.init) ?? "-") / \(want.udpStream.map(String.init) ?? "-")")
                }
                if labels != want.labels {
                    Issue.record("\(name) frame \(frame): ours \(labels), tshark's \(want.labels)")
                }
                labelled += want.labels.count
                if want.tcpStream != nil || want.udpStream != nil { streams += 1 }
            }
            #expect(seen.count == expected.count, "\(name): \(seen.count) of \(expected.count) frames printed")
        }
        print("packets against tshark -2: \(frames) frames, \(streams) with a stream, \(labelled) analysis labels")
        #expect(labelled > 400 && streams > 2_000)
    }

    /// The JSON lines carry the same: `stream` in the tcp or udp layer, and the analysis flags by
    /// tshark's `tcp.analysis.*` names, frame by frame as the corpus oracle lists them.
    @Test func jsonCarriesStreamsAndAnalysisNamesAsTshark() throws {
        guard let directory = Corpus.directory else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var compared = 0
        for name in ["tcp-ssh-dups.pcap", "vlan-syn-retransmit-fast-retrans.pcap", "tcp-rst-unacked-ooo-snapcut.pcap",
                     "raw-ip-tcp-empty-sack.pcap", "dns-tcp-multirequest.pcap", "dns-mdns.pcap"] {
            let oracle = try #require(Corpus.oracle(name))
            let flagged = (oracle["tcp"] as? [String: Any])?["analysis_frames"] as? [String: [Int]] ?? [:]
            var expectedNames: [Int: Set<String>] = [:]
            for (field, frames) in flagged { for frame in frames { expectedNames[frame, default: []].insert(field) } }
            let result = try CLI.run(["packets", "--json", directory.appendingPathComponent(name).path])
            for line in result.stdout.split(separator: "\n") {
                let packet = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let frame = try #require(packet["frame"] as? Int)
                let layers = packet["layers"] as? [String: Any] ?? [:]
                let tcp = layers["tcp"] as? [String: Any], udp = layers["udp"] as? [String: Any]
                let want = try #require(Self.oracle[name]?[frame])
                #expect(tcp?["stream"] as? Int == want.tcpStream, "\(name) frame \(frame) tcp.stream")
                #expect(udp?["stream"] as? Int == want.udpStream, "\(name) frame \(frame) udp.stream")
                // The oracle lists the flags it compares (not the keep-alive and probe ACKs).
                let ours = Set(tcp?["analysis"] as? [String] ?? []).intersection(Self.compared)
                #expect(ours == expectedNames[frame] ?? [], "\(name) frame \(frame) tcp.analysis")
                compared += ours.count
            }
        }
        #expect(compared > 400, "only \(compared) flags compared")
    }

    static let compared: Set<String> = ["retransmission", "fast_retransmission", "spurious_retransmission",
                                        "out_of_order", "duplicate_ack", "zero_window", "lost_segment",
                                        "ack_lost_segment", "keep_alive", "window_full", "window_update", "reused_ports"]
}
