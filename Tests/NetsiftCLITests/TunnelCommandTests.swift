import Foundation
import Testing
import NetsiftTestSupport

/// What `packets`, `flows` and `-Y` show of tunneled captures (the `next/` corpus), against the
/// oracle's encapsulation section and its inner TCP streams.
@Suite struct TunnelCommandTests {
    static let capture = "next/tunnel-vxlan-ssh-dns.pcap"

    @Test func packetsShowTheTunnelBeforeTheInnerPacket() throws {
        guard Corpus.directory != nil, let oracle = Corpus.oracle(Self.capture) else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        let vni = try #require(((oracle["encapsulation"] as? [String: Any])?["vxlan"] as? [String: Any])?["vnis"] as? [Int]).first!
        let stream = try #require((((oracle["tcp"] as? [String: Any])?["streams"]) as? [[String: Any]])?.first)
        let client = try #require(stream["client"] as? String)   // "18.196.145.224:37180"
        let frame = try #require(stream["first_frame"] as? Int)
        let result = try CLI.run(["packets", Corpus.path(Self.capture)!])
        #expect(result.status == 0)
        let line = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("\(frame) ") })
        #expect(line.contains("VXLAN vni \(vni) "), "\(line)")
        let dotted = client.replacingOccurrences(of: ":", with: ".")
        #expect(line.contains(" | IP \(dotted) > "), "\(line)")
        #expect(line.hasSuffix("(tcp.stream 0)"), "\(line)")

        let json = try CLI.run(["packets", "--json", Corpus.path(Self.capture)!])
        let first = try #require(json.stdout.split(separator: "\n").first { $0.hasPrefix("{\"frame\":\(frame),") })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        let encapsulation = try #require(object["encapsulation"] as? [String: Any])
        #expect(encapsulation["kind"] as? String == "vxlan")
        #expect(encapsulation["vxlan_vni"] as? Int == vni)
        #expect(encapsulation["depth"] as? Int == 1)
    }

    @Test func flowsHaveTheTunnelColumnsAndTsharkStreams() throws {
        guard Corpus.directory != nil, let oracle = Corpus.oracle(Self.capture),
              let tcp = oracle["tcp"] as? [String: Any], let streams = tcp["streams"] as? [[String: Any]] else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        let flows = try #require(try CLI.json(["flows", "--format", "json", "--sort", "stream", "--transport", "tcp",
                                               Corpus.path(Self.capture)!]) as? [[String: Any]])
        #expect(flows.count == tcp["stream_count"] as? Int)
        for (flow, stream) in zip(flows, streams) {
            let originator = try #require(flow["originator"] as? [String: Any])
            let endpoint = "\(originator["address"] ?? ""):\(originator["port"] ?? "")"
            #expect(endpoint == stream["client"] as? String, "stream \(stream["stream"] ?? "")")
            let tunnel = try #require(flow["tunnel"] as? [String: Any])
            #expect(tunnel["kind"] as? String == "vxlan")
        }
        let csv = try CLI.run(["flows", "--format", "csv", Corpus.path(Self.capture)!])
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.first?.contains(",tunnel,tunnel_id,outer_src,outer_dst,") == true)
        #expect(lines.dropFirst().allSatisfy { $0.contains(",vxlan,") })
        let text = try CLI.run(["flows", Corpus.path(Self.capture)!])
        #expect(text.stdout.split(separator: "\n").first?.contains("TUNNEL") == true)
    }

    @Test func displayFilterFieldsSelectTheOracleFrames() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        for name in Corpus.tunnelCaptureNames {
            guard let oracle = Corpus.oracle(name), let sections = oracle["encapsulation"] as? [String: [String: Any]]
            else { continue }
            let file = String(name.dropFirst("next/".count))
            let decodeAs = (Corpus.decodeAs[file] ?? []).flatMap { ["--decode-as", $0] }
            for (kind, section) in sections {
                let expected = try #require(section["frames"] as? [Int], "\(name): the oracle's \(kind) frames")
                let result = try CLI.run(["packets", "-Y", kind] + decodeAs + [Corpus.path(name)!])
                #expect(result.status == 0, "\(name) -Y \(kind): \(result.stderr)")
                let frames = result.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }
                    .compactMap { Int($0.split(separator: " ").first ?? "") }
                #expect(frames == expected, "\(name) -Y \(kind)")
            }
        }
        // Identifier fields: the VXLAN capture's one VNI selects every frame, another VNI none.
        let oracle = try #require(Corpus.oracle(Self.capture))
        let vxlan = try #require((oracle["encapsulation"] as? [String: Any])?["vxlan"] as? [String: Any])
        let vni = try #require((vxlan["vnis"] as? [Int])?.first)
        let count = try #require(vxlan["frame_count"] as? Int)
        let selected = try CLI.run(["packets", "-Y", "vxlan.vni == \(vni)", Corpus.path(Self.capture)!])
        #expect(selected.status == 0)
        #expect(count > 0 && selected.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }.count == count)
        let none = try CLI.run(["packets", "-Y", "vxlan.vni == \(vni + 1)", Corpus.path(Self.capture)!])
        #expect(none.status == 0)
        #expect(none.stdout.isEmpty)
    }
}
