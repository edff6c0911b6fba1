import Foundation
import Testing
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// The TLS messages of one capture as the pipeline reports them, in the shape of the oracle's
/// `tls` section (tshark -2 fields, one row per message, at the frame of its last byte).
struct TLSRows {
    struct Row {
        var frame: Int
        var fields: [String: String]
    }

    var clientHellos: [Row] = []
    var serverHellos: [Row] = []
    var alerts: [Row] = []
    /// Frames where the TLS parser found something malformed.
    var malformedFrames: Set<Int> = []

    init(_ events: [ApplicationEvent]) {
        var handshakeTypes: [Int: [Int]] = [:]
        var serverHelloFrames: [Int] = []
        for event in events {
            guard case .tls(let message) = event.message else { continue }
            let frame = event.context.frame, stream = "\(event.context.stream)"
            switch message {
            case .clientHello(let hello):
                handshakeTypes[frame, default: []].append(1)
                clientHellos.append(Row(frame: frame, fields: [
                    "tcp_stream": stream,
                    "record_version": "\(hello.recordVersion)",
                    "legacy_version": "\(hello.legacyVersion)",
                    "sni": hello.serverName ?? "null",
                    "alpn": list(hello.alpn),
                    "supported_versions": list(hello.supportedVersions),
                    "cipher_suites": list(hello.cipherSuites),
                    "extension_types": list(hello.extensions.map(\.type)),
                    "ja3": hello.ja3Hash ?? "null",
                    "ja3_full": hello.ja3 ?? "null",
                ]))
            case .serverHello(let hello):
                handshakeTypes[frame, default: []].append(2)
                serverHelloFrames.append(frame)
                serverHellos.append(Row(frame: frame, fields: [
                    "tcp_stream": stream,
                    "legacy_version": "\(hello.legacyVersion)",
                    "cipher_suite": "\(hello.cipherSuite)",
                    "selected_version": hello.selectedVersion.map { "\($0)" } ?? "null",
                    "ja3s": hello.ja3sHash,
                ]))
            case .sslv2(let record):
                guard let type = record.messageType else { continue }
                handshakeTypes[frame, default: []].append(Int(type))
                // tshark puts SSL 2.0 message types in tls.handshake.type, so the oracle's
                // "tls.handshake.type == 2" rows include CLIENT-MASTER-KEY (SSL 2.0 type 2).
                if type == 2 {
                    serverHelloFrames.append(frame)
                    serverHellos.append(Row(frame: frame, fields: [
                        "tcp_stream": stream, "legacy_version": "null", "cipher_suite": "null",
                        "selected_version": "null", "ja3s": "null",
                    ]))
                }
            case .handshake(let other):
                handshakeTypes[frame, default: []].append(Int(other.type))
            case .alert(let alert):
                alerts.append(Row(frame: frame, fields: [
                    "tcp_stream": stream,
                    "level": alert.level.map { "\($0)" } ?? "null",
                    "description": alert.description.map { "\($0)" } ?? "null",
                    "encrypted": "\(alert.encrypted)",
                ]))
            case .problem(let problem):
                if problem.isMalformed { malformedFrames.insert(frame) }
            case .changeCipherSpec, .record:
                break
            }
        }
        for (index, frame) in serverHelloFrames.enumerated() {
            serverHellos[index].fields["handshake_types_in_frame"] = list(handshakeTypes[frame] ?? [])
        }
        let perFrame = Dictionary(grouping: clientHellos, by: \.frame).mapValues(\.count)
        for index in clientHellos.indices {
            clientHellos[index].fields["client_hellos_in_frame"] = "\(perFrame[clientHellos[index].frame]!)"
        }
    }

    /// The oracle's rows in the same text form.
    static func oracleRows(_ rows: [[String: Any]], fields: [String]) -> [Row] {
        rows.map { row in
            var out: [String: String] = [:]
            for field in fields {
                // The oracle writes "encrypted": true only on encrypted alerts.
                out[field] = field == "encrypted" ? "\(row[field] as? Bool ?? false)" : text(row[field])
            }
            return Row(frame: row["frame"] as? Int ?? 0, fields: out)
        }
    }

    static func text(_ value: Any?) -> String {
        switch value {
        case let number as Int: "\(number)"
        case let string as String: string
        case let values as [Any]: "[" + values.map { text($0) }.joined(separator: ", ") + "]"
        default: "null"
        }
    }
}

private func list<T>(_ values: [T]) -> String {
    "[" + values.map { "\($0)" }.joined(separator: ", ") + "]"
}

@Suite struct TLSCorpusTests {
    static let clientFields = ["tcp_stream", "client_hellos_in_frame", "record_version", "legacy_version", "sni",
                               "alpn", "supported_versions", "cipher_suites", "extension_types", "ja3", "ja3_full"]
    static let serverFields = ["tcp_stream", "legacy_version", "cipher_suite", "selected_version",
                               "handshake_types_in_frame", "ja3s"]
    static let alertFields = ["tcp_stream", "level", "description", "encrypted"]

    /// Every ClientHello, ServerHello and alert tshark -2 reports, at the same frame, with the same
    /// fields; and the frames the TLS layer makes malformed.
    @Test func handshakesAndAlertsAgreeWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var agree: [String: Int] = [:], total: [String: Int] = [:]
        func check(_ capture: String, _ field: String, _ where_: String, ours: String?, theirs: String?) {
            total[field, default: 0] += 1
            if ours == theirs {
                agree[field, default: 0] += 1
            } else if let reason = Allowlist.reason(capture, "tls.\(field)") {
                print("allowlisted \(capture) tls.\(field) \(where_): ours \(ours ?? "none"), tshark \(theirs ?? "none"): \(reason)")
            } else {
                Issue.record("\(capture) \(where_) tls.\(field): ours \(ours ?? "none"), tshark \(theirs ?? "none")")
            }
        }
        /// Pairs rows by frame (and order within the frame), then compares each field.
        func compare(_ capture: String, _ kind: String, ours: [TLSRows.Row], theirs: [TLSRows.Row], fields: [String]) {
            var remaining = ours
            for row in theirs {
                let label = "frame \(row.frame)"
                guard let index = remaining.firstIndex(where: { $0.frame == row.frame }) else {
                    check(capture, "\(kind).frame", label, ours: nil, theirs: "\(row.frame)")
                    continue
                }
                let mine = remaining.remove(at: index)
                check(capture, "\(kind).frame", label, ours: "\(mine.frame)", theirs: "\(row.frame)")
                for field in fields {
                    check(capture, "\(kind).\(field)", label, ours: mine.fields[field], theirs: row.fields[field])
                }
            }
            for extra in remaining {
                check(capture, "\(kind).frame", "frame \(extra.frame)", ours: "\(extra.frame)", theirs: nil)
            }
        }

        var captures = 0
        for name in Corpus.captureNames {
            guard let oracle = Corpus.oracle(name), let tls = oracle["tls"] as? [String: Any] else { continue }
            captures += 1
            let ours = TLSRows(try PipelineRun(path: Corpus.path(name)!).events)
            compare(name, "client_hellos", ours: ours.clientHellos,
                    theirs: TLSRows.oracleRows(tls["client_hellos"] as? [[String: Any]] ?? [], fields: Self.clientFields),
                    fields: Self.clientFields)
            compare(name, "server_hellos", ours: ours.serverHellos,
                    theirs: TLSRows.oracleRows(tls["server_hellos"] as? [[String: Any]] ?? [], fields: Self.serverFields),
                    fields: Self.serverFields)
            compare(name, "alerts", ours: ours.alerts,
                    theirs: TLSRows.oracleRows(tls["alerts"] as? [[String: Any]] ?? [], fields: Self.alertFields),
                    fields: Self.alertFields)

            // Malformed frames: every frame our TLS parser calls malformed, tshark does too, and
            // every frame tshark calls malformed that carries a TLS hello or alert in its view is
            // ours too (DissectCorpusTests leaves exactly those frames to this test).
            let tlsFrames = Set(["client_hellos", "server_hellos", "alerts"].flatMap { key in
                (tls[key] as? [[String: Any]] ?? []).compactMap { $0["frame"] as? Int }
            })
            let theirs = Set(oracle["malformed_frames"] as? [Int] ?? []).intersection(tlsFrames.union(ours.malformedFrames))
            check(name, "malformed_frames", "", ours: list(ours.malformedFrames.sorted()), theirs: list(theirs.sorted()))
        }
        print("TLS against tshark -2 over \(captures) captures (fields agreeing / compared):")
        // The oracle has TLS in 18 captures: 27 ClientHellos, 22 ServerHellos and 22 alerts, each
        // compared field by field. Fewer means its rows were not found.
        let fieldsCompared = total.values.reduce(0, +)
        #expect(captures >= 18 && fieldsCompared >= 600, "\(captures) captures, \(fieldsCompared) fields compared")
        for field in total.keys.sorted() {
            print("  tls.\(field): \(agree[field, default: 0])/\(total[field]!)")
        }
    }
}
