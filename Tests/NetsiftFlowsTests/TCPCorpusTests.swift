import Foundation
import Testing
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

@Suite struct TCPCorpusTests {
    /// The flags the oracle records (`tcp.analysis.*`), by its names.
    static let compared: [(TCPAnalysisFlags, String)] = TCPAnalysisFlags.names.filter {
        ["retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order", "duplicate_ack",
         "zero_window", "lost_segment", "ack_lost_segment", "keep_alive", "window_full", "window_update",
         "reused_ports"].contains($0.1)
    }

    @Test func analysisFlagsAgreeWithTsharkFrameByFrame() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var truePositives: [String: Int] = [:], falsePositives: [String: Int] = [:], falseNegatives: [String: Int] = [:]
        for name in Corpus.captureNames + Corpus.tunnelCaptureNames {
            guard let oracle = Corpus.oracle(name), let tcp = oracle["tcp"] as? [String: Any] else { continue }
            let tracked = try PipelineRun(path: Corpus.path(name)!)
            let expected = tcp["analysis_frames"] as? [String: [Int]] ?? [:]
            for (flag, field) in Self.compared {
                let ours = Set(tracked.frames(flag)), theirs = Set(expected[field] ?? [])
                truePositives[field, default: 0] += ours.intersection(theirs).count
                falsePositives[field, default: 0] += ours.subtracting(theirs).count
                falseNegatives[field, default: 0] += theirs.subtracting(ours).count
                guard ours != theirs else { continue }
                if let reason = Allowlist.reason(name, "tcp.analysis.\(field)") {
                    print("allowlisted \(name) \(field): \(reason)")
                    continue
                }
                Issue.record("\(name) \(field): only ours \(ours.subtracting(theirs).sorted()), only tshark's \(theirs.subtracting(ours).sorted())")
            }
        }
        print("TCP analysis against tshark -2 over the corpus (precision, recall):")
        for (_, field) in Self.compared {
            let tp = truePositives[field, default: 0], fp = falsePositives[field, default: 0], fn = falseNegatives[field, default: 0]
            let precision = tp + fp == 0 ? 1 : Double(tp) / Double(tp + fp)
            let recall = tp + fn == 0 ? 1 : Double(tp) / Double(tp + fn)
            print("  \(field): \(tp) agreed, \(fp) only ours, \(fn) only tshark's; precision \(String(format: "%.3f", precision)), recall \(String(format: "%.3f", recall))")
        }
        // tshark flags about 600 frames over the corpus: fewer means the oracle's rows were not found.
        let flagged = Self.compared.reduce(0) { $0 + truePositives[$1.1, default: 0] + falseNegatives[$1.1, default: 0] }
        #expect(flagged >= 550, "only \(flagged) of tshark's flags compared")
    }

    @Test func streamsAndHandshakesAgreeWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var statesChecked = 0
        defer { print("conn_state checked against tshark's handshake/FIN/RST facts on \(statesChecked) streams") }
        for name in Corpus.captureNames + Corpus.tunnelCaptureNames {
            guard let oracle = Corpus.oracle(name), let tcp = oracle["tcp"] as? [String: Any],
                  let streams = tcp["streams"] as? [[String: Any]] else { continue }
            let conversations = try PipelineRun(path: Corpus.path(name)!).tcpConversations
            if conversations.count != tcp["stream_count"] as? Int, Allowlist.reason(name, "tcp.stream_count") == nil {
                Issue.record("\(name): \(conversations.count) streams, tshark \(String(describing: tcp["stream_count"]))")
                continue
            }
            for stream in streams {
                guard let number = stream["stream"] as? Int, number < conversations.count else { continue }
                let conversation = conversations[number]
                let client = conversation.client ?? 0, server = 1 - client
                let label = "\(name) stream \(number)"
                #expect("\(conversation[client].endpoint)" == (stream["client"] as? String).map(bracketed), "\(label): client")
                let mss = stream["syn_mss"] as? [String: [Int]] ?? [:]
                let clientMSS: [Int] = conversation[client].synMSS.map { [Int($0)] } ?? []
                let serverMSS: [Int] = conversation[server].synMSS.map { [Int($0)] } ?? []
                #expect(clientMSS == Array((mss["client"] ?? []).prefix(1)), "\(label): client SYN MSS")
                #expect(serverMSS == Array((mss["server"] ?? []).prefix(1)), "\(label): server SYN MSS")
                let handshake = stream["handshake"] as? [String: Bool] ?? [:]
                #expect(conversation.handshakeCompleted == handshake["completed"], "\(label): handshake completed")
                let rstBy = Set(stream["rst_by"] as? [String] ?? []), finBy = Set(stream["fin_by"] as? [String] ?? [])
                #expect(conversation[client].sentRST == rstBy.contains("client"), "\(label): client RST")
                #expect(conversation[server].sentRST == rstBy.contains("server"), "\(label): server RST")
                #expect(conversation[client].sentFIN == finBy.contains("client"), "\(label): client FIN")
                #expect(conversation[server].sentFIN == finBy.contains("server"), "\(label): server FIN")
                // Zeek's conn_state, where tshark's facts decide it.
                let completed = handshake["completed"] == true
                var expectedState: ConnectionState?
                if stream["syn_rejected_by_rst"] as? Bool == true { expectedState = .REJ }
                else if stream["syn_unanswered"] as? Bool == true && rstBy.isEmpty && finBy.isEmpty { expectedState = .S0 }
                else if completed && rstBy.isEmpty && finBy == ["client", "server"] { expectedState = .SF }
                else if completed && rstBy == ["server"] { expectedState = .RSTR }
                else if completed && rstBy == ["client"] { expectedState = .RSTO }
                else if completed && rstBy.isEmpty && finBy.isEmpty { expectedState = .S1 }
                if let expectedState {
                    #expect(conversation.connectionState == expectedState, "\(label): conn_state \(conversation.history)")
                    statesChecked += 1
                }
                let unanswered = conversation[client].sentSYN && !conversation[server].sentSYNACK && !conversation[server].sentRST
                #expect(unanswered == stream["syn_unanswered"] as? Bool, "\(label): SYN unanswered")
            }
        }
        // The oracle's stream facts decide a state for 70 streams: fewer means they were not found.
        #expect(statesChecked >= 70, "conn_state checked on only \(statesChecked) streams")
    }
}
