import Foundation
import Testing
import NetsiftTestSupport

@Suite struct PacketsCommandTests {
    func facts(_ fixture: String) throws -> (path: String, facts: [String: Any]) {
        let folder = Corpus.fixturesDirectory.appendingPathComponent(fixture)
        let facts = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("facts.json"))) as? [String: Any])
        return (folder.appendingPathComponent(facts["capture"] as! String).path, facts)
    }

    @Test func oneLinePerPacketLikeTcpdump() throws {
        let (path, facts) = try facts("http-tcp")
        let result = try CLI.run(["packets", path])
        #expect(result.status == 0)
        // One line per packet; the application messages (the HTTP request and response) follow
        // their packet's line, indented.
        let lines = result.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }
        #expect(lines.count == facts["packet_count"] as? Int)
        // tshark counted the SYNs (without ACK) when the fixture was recorded.
        #expect(lines.filter { $0.contains("Flags [S],") }.count == facts["tcp_syn_frames"] as? Int)
        #expect(lines.contains { $0.contains("IP 10.77.0.1.") && $0.contains("> 10.77.0.2.80: Flags [S], seq ")
                                 && $0.contains("options [mss 1460,") })
    }

    /// The time of day printed for the first frame is the capture's first timestamp, which tshark
    /// reported when the fixture was recorded (facts.json), as HH:MM:SS and nine decimals in UTC.
    @Test func timeOfDayIsTheFirstTimestampInUTC() throws {
        let (path, facts) = try facts("http-tcp")
        let first = try #require(facts["first_timestamp_ns"] as? Int)
        let result = try CLI.run(["packets", "--frames", "1", path])
        #expect(result.status == 0)
        let second = first / 1_000_000_000 % 86_400
        let expected = String(format: "%02d:%02d:%02d.%09d", second / 3600, second / 60 % 60, second % 60,
                              first % 1_000_000_000)
        #expect(result.stdout.split(separator: " ").dropFirst().first.map(String.init) == expected)
    }

    @Test func framesAndLimitSelectPackets() throws {
        let (path, _) = try facts("http-tcp")
        let some = try CLI.run(["packets", "--json", "--frames", "2-3", path])
        let frames = some.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }.compactMap { $0["frame"] as? Int }
        #expect(frames == [2, 3])
        let limited = try CLI.run(["packets", "--limit", "1", path])
        #expect(limited.stdout.split(separator: "\n").count == 1)
        let bad = try CLI.run(["packets", "--frames", "5-2", path])
        #expect(bad.status == 64)
    }

    /// Every JSON line parses, and the per-layer objects are there as often as tshark saw the layers.
    @Test(arguments: ["vlan-qinq-http.pcap", "ipv6-tls-community-id.pcap", "sll2-decode.pcap"])
    func jsonLayersMatchTheOracle(capture: String) throws {
        guard let path = Corpus.path(capture), let oracle = Corpus.oracle(capture),
              let counts = oracle["protocol_frame_counts"] as? [String: Int] else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        let result = try CLI.run(["packets", "--json", path])
        let packets = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(packets.count == oracle["packet_count"] as? Int)
        let layers = packets.compactMap { $0["layers"] as? [String: Any] }
        #expect(layers.filter { $0["vlan"] != nil }.count == counts["vlan"])
        #expect(layers.filter { $0["tcp"] != nil }.count == counts["tcp"])
        #expect(layers.filter { $0["ipv6"] != nil }.count == counts["ipv6"])
        #expect(layers.filter { $0["ipv4"] != nil }.count == counts["ip"])
    }

    @Test func aBrokenHeaderSaysWhatIsWrong() throws {
        // pcap LE µs, Ethernet; one frame: Ethernet + IPv4 whose header length field is 1 (4 bytes).
        let header: [UInt8] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]
        let frame: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x41, 0, 0, 20] + Array(repeating: 0, count: 16)
        let record: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, UInt8(frame.count), 0, 0, 0, UInt8(frame.count), 0, 0, 0]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-bad-ihl-\(UUID().uuidString).pcap")
        try Data(header + record + frame).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try CLI.run(["packets", url.path])
        #expect(result.stdout.hasSuffix("[invalid: IPv4 header length 4 < 20]\n"))
    }

    @Test func applicationMessagesFollowThePacketThatCompletesThem() throws {
        let (path, facts) = try facts("h2c")
        let requests = try #require(facts["http2_requests"] as? [[String: Any]])
        let text = try CLI.run(["packets", path])
        #expect(text.status == 0)
        // Every stream the clients reported (nghttp, curl) shows with its path and status.
        for request in requests {
            guard let id = request["stream_id"] as? Int, let requestPath = request["path"] as? String,
                  let status = request["status"] as? Int else { continue }
            #expect(text.stdout.contains("HTTP/2 stream \(id) GET \(requestPath) -> \(status)"), "stream \(id)")
        }
        let lines = try CLI.run(["packets", "--json", path]).stdout.split(separator: "\n")
        let objects = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        let withHTTP2 = objects.filter { ($0["application"] as? [[String: Any]])?.contains { $0["protocol"] as? String == "http2" } == true }
        #expect(!withHTTP2.isEmpty)
        #expect(objects.count == facts["packet_count"] as? Int)
    }
}
