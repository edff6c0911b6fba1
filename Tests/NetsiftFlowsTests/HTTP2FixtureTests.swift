import Foundation
import Testing
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// The project's HTTP/2 fixtures through the whole pipeline, against what the tools that made
/// the traffic said (`facts.json`: nghttp -v and curl -v on the client, the server's own log):
/// streams, paths, statuses, resets, gRPC status, GOAWAY, and the h2c upgrade.
@Suite struct HTTP2FixtureTests {
    struct Observed {
        var ended: [HTTP2Stream] = []
        var records: [HTTP2FrameRecord] = []
        var upgrades: [Int] = []
        var problems: [HTTP2Problem] = []
    }

    /// What the pipeline said about HTTP/2, per client port.
    func observe(_ fixture: String) throws -> (facts: [String: Any], byPort: [UInt16: Observed]) {
        let folder = Corpus.fixturesDirectory.appendingPathComponent(fixture)
        let facts = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("facts.json")))
        var byPort: [UInt16: Observed] = [:]
        for event in try PipelineRun(path: folder.appendingPathComponent("\(fixture).pcap").path).events {
            guard case .http2(let message) = event.message else { continue }
            let port = event.context.fromClient ? event.context.source.port : event.context.destination.port
            switch message.event {
            case .streamEnded(let stream): byPort[port, default: Observed()].ended.append(stream)
            case .frame(let record): byPort[port, default: Observed()].records.append(record)
            case .upgradeResponse(let status): byPort[port, default: Observed()].upgrades.append(status)
            case .problem(let problem): byPort[port, default: Observed()].problems.append(problem)
            default: break
            }
        }
        return (facts as? [String: Any] ?? [:], byPort)
    }

    /// nghttp with prior knowledge (200, 404, 200 on one connection), then curl and nghttp
    /// upgrading with `Upgrade: h2c`: each request's stream, path and status.
    @Test func h2cPriorKnowledgeAndUpgrade() throws {
        let (facts, byPort) = try observe("h2c")
        let requests = facts["http2_requests"] as? [[String: Any]] ?? []
        #expect(requests.count == 5)
        for request in requests {
            let port = UInt16(request["client_port"] as? Int ?? 0)
            let id = UInt32(request["stream_id"] as? Int ?? 0)
            let label = "\(request["client"] ?? "") \(request["mode"] ?? "") port \(port) stream \(id)"
            let observed = byPort[port] ?? Observed()
            #expect(observed.problems.isEmpty, "\(label): \(observed.problems)")
            guard let stream = observed.ended.first(where: { $0.streamID == id }) else {
                Issue.record("\(label): no such stream ended")
                continue
            }
            #expect(stream.path == request["path"] as? String, "\(label)")
            #expect(stream.status == request["status"] as? Int, "\(label)")
            #expect(stream.ending == .complete, "\(label)")
            if request["mode"] as? String == "upgrade" {
                #expect(stream.origin == .upgrade, "\(label)")
                #expect(observed.upgrades == [request["upgrade_status"] as? Int ?? -1], "\(label)")
            } else {
                #expect(stream.origin == .client && observed.upgrades.isEmpty, "\(label)")
            }
        }
    }

    /// A python h2 server refusing, resetting, answering 503 and failing a gRPC call, with a GOAWAY.
    @Test func h2Errors() throws {
        let (facts, byPort) = try observe("h2-errors")
        let client = facts["client"] as? [String: Any] ?? [:]
        let observed = byPort[UInt16(client["client_port"] as? Int ?? 0)] ?? Observed()
        #expect(observed.problems.isEmpty, "\(observed.problems)")
        let sent = (facts["server_sent"] as? [String: Any])?["streams"] as? [[String: Any]] ?? []
        let received = (facts["client_received"] as? [String: Any])?["streams"] as? [[String: Any]] ?? []
        #expect(sent.count == 4)
        for fact in sent {
            let id = UInt32(fact["stream_id"] as? Int ?? 0)
            guard let stream = observed.ended.first(where: { $0.streamID == id }) else {
                Issue.record("stream \(id): not ended")
                continue
            }
            #expect(stream.path == fact["path"] as? String, "stream \(id)")
            #expect(stream.status == fact["status"] as? Int, "stream \(id)")
            if let code = fact["rst_stream_code"] as? Int {
                #expect(stream.reset?.errorCode == HTTP2ErrorCode(rawValue: UInt32(code)), "stream \(id)")
                #expect(stream.reset?.errorCode.description == fact["rst_stream"] as? String, "stream \(id)")
                #expect(stream.reset?.byClient == false, "stream \(id)")
            } else {
                #expect(stream.ending == .complete, "stream \(id)")
            }
            let headers = received.first { $0["stream_id"] as? Int == Int(id) }?["headers"] as? [[String]] ?? []
            let grpc = Dictionary(headers.map { ($0[0], $0[1]) }, uniquingKeysWith: { first, _ in first })
            #expect(stream.grpcStatus == grpc["grpc-status"], "stream \(id)")
            #expect(stream.grpcMessage == grpc["grpc-message"], "stream \(id)")
            if let status = fact["grpc_status"] as? Int { #expect(stream.grpcStatus == String(status), "stream \(id)") }
        }
        let goAway = (facts["server_sent"] as? [String: Any])?["goaway"] as? [String: Any] ?? [:]
        let sentGoAways = observed.records.compactMap { record -> HTTP2Payload? in
            guard record.info.type == .goAway, case .decoded(let payload) = record.payload else { return nil }
            return payload
        }
        // A fact missing from facts.json fails the test (UInt32(-1) would trap the whole run).
        let lastStream = try #require(goAway["last_stream_id"] as? Int), code = try #require(goAway["goaway_code"] as? Int)
        #expect(sentGoAways.contains(.goAway(
            lastStreamID: UInt32(lastStream),
            errorCode: HTTP2ErrorCode(rawValue: UInt32(code)),
            debugDataLength: (goAway["debug_data"] as? String ?? "").utf8.count,
            debugText: goAway["debug_data"] as? String ?? "")))
        let clientGoAway = (facts["client_received"] as? [String: Any])?["goaway_sent"] as? [String: Any] ?? [:]
        let clientLastStream = try #require(clientGoAway["last_stream_id"] as? Int)
        let clientCode = try #require(clientGoAway["code"] as? Int)
        #expect(sentGoAways.contains(.goAway(
            lastStreamID: UInt32(clientLastStream),
            errorCode: HTTP2ErrorCode(rawValue: UInt32(clientCode)),
            debugDataLength: 0, debugText: "")))
    }
}
