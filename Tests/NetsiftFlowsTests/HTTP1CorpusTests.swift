import Foundation
import Testing
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// Every HTTP/1.x message against the oracle's `http` section (tshark -2's http fields, one row per
/// message at the frame that completes it): request line, Host, version, status, Content-Length,
/// Transfer-Encoding, the request a response answers and the time between them.
@Suite struct HTTP1CorpusTests {
    static let fields = ["tcp_stream", "is_request", "method", "uri", "version", "host", "status_code",
                         "content_length", "transfer_encoding", "request_in", "time_since_request"]

    static func rows(_ events: [ApplicationEvent]) -> [(frame: Int, fields: [String: String])] {
        var out: [(frame: Int, fields: [String: String])] = []
        for event in events {
            guard case .http1(let message) = event.message else { continue }
            let head: HTTP1Head
            var row: [String: String] = ["tcp_stream": "\(event.context.stream)", "request_in": "null",
                                         "time_since_request": "null"]
            switch message {
            case .request(let h, _):
                head = h
            case .response(let h, _, let request, _):
                head = h
                // tshark pairs only final responses with their request.
                if let request, !(100...199).contains(h.status ?? 0) {
                    row["request_in"] = "\(request.frame)"
                    row["time_since_request"] = seconds(event.context.time - request.time)
                }
            default:
                continue
            }
            row["is_request"] = "\(head.isRequest)"
            row["method"] = head.method ?? "null"
            row["uri"] = head.target ?? "null"
            row["version"] = head.version
            row["host"] = head.host ?? "null"
            row["status_code"] = head.status.map { "\($0)" } ?? "null"
            if case .length(let n) = head.contentLength { row["content_length"] = "\(n)" } else {
                row["content_length"] = "null"
            }
            row["transfer_encoding"] = head.transferEncoding ?? "null"
            out.append((event.context.frame, row))
        }
        return out
    }

    static func seconds(_ nanoseconds: Int64) -> String {
        String(format: "%.6f", Double(nanoseconds) / 1e9)
    }

    static func oracleRow(_ row: [String: Any]) -> [String: String] {
        var out: [String: String] = [:]
        for field in fields {
            // Foundation reads JSON numbers as NSNumber, which also casts to Bool: ask by field.
            switch field {
            case "is_request": out[field] = "\(row[field] as? Bool ?? false)"
            case "time_since_request":
                out[field] = (row[field] as? Double).map { String(format: "%.6f", $0) } ?? "null"
            default: out[field] = TLSRows.text(row[field])
            }
        }
        return out
    }

    @Test func messagesAgreeWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var captures = 0, messages = 0
        var agree: [String: Int] = [:], total: [String: Int] = [:]
        for name in Corpus.captureNames + Corpus.nextCaptureNames {
            guard let oracle = Corpus.oracle(name), let http = oracle["http"] as? [String: Any] else { continue }
            captures += 1
            let theirs = (http["messages"] as? [[String: Any]] ?? []).map { (frame: $0["frame"] as? Int ?? 0, fields: Self.oracleRow($0)) }
            var ours = Self.rows(try PipelineRun(path: Corpus.path(name)!).events)
            func check(_ field: String, _ label: String, ours: String?, theirs: String?) {
                total[field, default: 0] += 1
                if ours == theirs {
                    agree[field, default: 0] += 1
                } else if let reason = Allowlist.reason(name, "http.\(field)") {
                    print("allowlisted \(name) http.\(field) \(label): ours \(ours ?? "none"), tshark \(theirs ?? "none"): \(reason)")
                } else {
                    Issue.record("\(name) \(label) http.\(field): ours \(ours ?? "none"), tshark \(theirs ?? "none")")
                }
            }
            // Paired by frame and kind (request or response), then by order within the frame.
            for row in theirs {
                messages += 1
                let label = "frame \(row.frame)"
                guard let index = ours.firstIndex(where: {
                    $0.frame == row.frame && $0.fields["is_request"] == row.fields["is_request"]
                }) ?? ours.firstIndex(where: { $0.frame == row.frame }) else {
                    check("frame", label, ours: nil, theirs: "\(row.frame)")
                    continue
                }
                let mine = ours.remove(at: index)
                check("frame", label, ours: "\(mine.frame)", theirs: "\(row.frame)")
                for field in Self.fields {
                    check(field, label, ours: mine.fields[field], theirs: row.fields[field])
                }
            }
            for extra in ours {
                check("frame", "frame \(extra.frame) (\(extra.fields["method"] ?? "") \(extra.fields["status_code"] ?? ""))",
                      ours: "\(extra.frame)", theirs: nil)
            }
        }
        print("HTTP/1.x against tshark -2: \(messages) messages in \(captures) captures (fields agreeing / compared):")
        for field in total.keys.sorted() { print("  http.\(field): \(agree[field, default: 0])/\(total[field]!)") }
        #expect(captures >= 20 && messages >= 150, "\(captures) captures, \(messages) messages")
    }
}
