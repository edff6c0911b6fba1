import Foundation
import Testing
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// HTTP/2 frames over the whole pipeline (reader, dissector, TCP reassembly, HTTP2Connection)
/// against `tshark -2`'s `http2` section of the oracle, frame by frame. Captures whose port tshark
/// maps to HTTP/2 only by a Decode-As rule get the same rule (`decode_as.tsv`, through PipelineRun).
/// Every capture is checked, so HTTP/2 found where tshark saw none counts as a difference too.
@Suite struct HTTP2CorpusTests {
    /// One HTTP/2 frame as the oracle lists it.
    struct Row: Equatable, CustomStringConvertible {
        var frame, tcpStream, streamID, type, flags, length: Int
        var description: String {
            "frame \(frame) tcp.stream \(tcpStream) \(HTTP2FrameType(rawValue: UInt8(type)))[\(streamID)] flags 0x\(String(flags, radix: 16)) length \(length)"
        }
    }

    static let fields = ["frame", "tcp_stream", "stream_id", "type", "flags", "length"]

    static func value(_ row: Row, _ field: String) -> Int {
        switch field {
        case "frame": row.frame
        case "tcp_stream": row.tcpStream
        case "stream_id": row.streamID
        case "type": row.type
        case "flags": row.flags
        default: row.length
        }
    }

    @Test func framesAgreeWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var agreed: [String: Int] = [:]
        var tsharkRows = 0, ourRows = 0, captures = 0
        for name in Corpus.captureNames {
            guard let oracle = Corpus.oracle(name) else { continue }
            let http2 = oracle["http2"] as? [String: Any]
            let theirs: [Row] = (http2?["frames"] as? [[String: Any]] ?? []).map { frame in
                Row(frame: frame["frame"] as? Int ?? -1, tcpStream: frame["tcp_stream"] as? Int ?? -1,
                    streamID: frame["stream_id"] as? Int ?? -1, type: frame["type"] as? Int ?? -1,
                    flags: frame["flags"] as? Int ?? -1, length: frame["length"] as? Int ?? -1)
            }
            let theirPrefaces = http2?["connection_prefaces_in_frames"] as? [Int] ?? []

            var ours: [Row] = [], ourPrefaces: [Int] = []
            for event in try PipelineRun(path: Corpus.path(name)!).events {
                guard case .http2(let message) = event.message else { continue }
                switch message.event {
                case .preface:
                    ourPrefaces.append(message.frame)
                case .frame(let record):
                    ours.append(Row(frame: message.frame, tcpStream: event.context.stream,
                                    streamID: Int(record.info.streamID), type: Int(record.info.type.rawValue),
                                    flags: Int(record.info.flags.rawValue), length: record.info.length))
                default:
                    break
                }
            }
            if theirs.isEmpty && ours.isEmpty && theirPrefaces.isEmpty && ourPrefaces.isEmpty { continue }
            captures += 1
            tsharkRows += theirs.count
            ourRows += ours.count

            // Per-field agreement: the frames of each packet, paired in order.
            var perCapture: [String: Int] = [:]
            for frame in Set(theirs.map(\.frame)) {
                let a = theirs.filter { $0.frame == frame }, b = ours.filter { $0.frame == frame }
                for (t, o) in zip(a, b) {
                    for field in Self.fields where Self.value(t, field) == Self.value(o, field) {
                        perCapture[field, default: 0] += 1
                    }
                }
            }
            for (field, count) in perCapture { agreed[field, default: 0] += count }
            print("\(name): \(theirs.count) tshark frames, \(ours.count) ours; agreeing "
                  + Self.fields.map { "\($0) \(perCapture[$0, default: 0])" }.joined(separator: ", "))

            check(name, "http2.connection_prefaces_in_frames", ours: ourPrefaces, theirs: theirPrefaces)
            check(name, "http2.frame_count", ours: ours.count, theirs: http2?["frame_count"] as? Int ?? 0)
            let ourCounts = Dictionary(grouping: ours, by: { String($0.type) }).mapValues(\.count)
            check(name, "http2.type_counts", ours: ourCounts, theirs: http2?["type_counts"] as? [String: Int] ?? [:])
            if ours != theirs {
                let onlyOurs = ours.filter { !theirs.contains($0) }, onlyTheirs = theirs.filter { !ours.contains($0) }
                report(name, "http2.frames",
                       "only ours: \(onlyOurs.prefix(5)); only tshark's: \(onlyTheirs.prefix(5))")
            }
        }
        print("HTTP/2 against tshark -2: \(captures) captures, \(tsharkRows) tshark frames, \(ourRows) ours; agreeing "
              + Self.fields.map { "\($0) \(agreed[$0, default: 0])/\(tsharkRows)" }.joined(separator: ", "))
        // The oracle holds 317 HTTP/2 frames in 7 captures: fewer means its rows were not found.
        #expect(tsharkRows >= 317 && captures >= 7, "\(tsharkRows) frames in \(captures) captures")
    }

    func check<T: Equatable>(_ name: String, _ field: String, ours: T, theirs: T) {
        if ours != theirs { report(name, field, "ours \(ours), tshark \(theirs)") }
    }

    func report(_ name: String, _ field: String, _ difference: String) {
        if let reason = Allowlist.reason(name, field) {
            print("allowlisted \(name) \(field): \(reason)")
        } else {
            Issue.record("\(name) \(field): \(difference)")
        }
    }
}
