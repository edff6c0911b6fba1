import Foundation
import Testing
import NetsiftTestSupport

/// Several files read as one capture (`Fixtures/multi-file`, made by its make.sh from two other
/// fixtures): ring files read together give exactly what the original capture gives, overlapping
/// files are merged frame by frame as mergecap merges them, and damage in one file is reported
/// with its name while the others are still read.
@Suite struct MultiFileTests {
    static let folder = Corpus.fixturesDirectory.appendingPathComponent("multi-file").path
    static let ring = folder + "/ring"
    static let original = Corpus.fixturesDirectory.appendingPathComponent("time-wait/time-wait.pcap").path
    static let overlap = [folder + "/overlap/client.pcap", folder + "/overlap/tap.pcapng"]

    /// The ring's files, by name (so time-wait.pcap10 comes before time-wait.pcap2); the folder
    /// also holds the first file's expectation, which a folder argument leaves out (not a capture).
    static var ringFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: ring)) ?? []).filter { $0.hasPrefix("time-wait.pcap") }
            .sorted().map { ring + "/" + $0 }
    }

    /// The report without the key that names the input.
    static func withoutFile(_ json: String) throws -> NSDictionary {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        var capture = try #require(object["capture"] as? [String: Any])
        capture["file"] = nil
        capture["files"] = nil
        object["capture"] = capture
        return object as NSDictionary
    }

    @Test func ringFilesAreTheOriginalCapture() throws {
        #expect(Self.ringFiles.count == 14)
        let shuffled = Self.ringFiles.reversed().map { $0 }
        // A folder, the files in any order, a pattern the shell did not expand: all the same capture.
        let inputs: [[String]] = [[Self.ring], shuffled, [Self.ring + "/time-wait.pcap*"]]
        for threads in ["1", "2", "3"] {
            let flows = try CLI.run(["flows", "--format", "json", "--threads", threads, Self.original])
            let analysis = try CLI.run(["analyze", "--format", "json", "--threads", threads, Self.original])
            let packets = try CLI.run(["packets", "--json", Self.original])
            #expect(flows.status == 0 && analysis.status == 0)
            for input in inputs {
                let setFlows = try CLI.run(["flows", "--format", "json", "--threads", threads] + input)
                #expect(setFlows.status == 0, "\(input): \(setFlows.stderr)")
                #expect(setFlows.stdout == flows.stdout, "flows of \(input), --threads \(threads)")
                let setAnalysis = try CLI.run(["analyze", "--format", "json", "--threads", threads] + input)
                #expect(setAnalysis.status == 0, "\(input): \(setAnalysis.stderr)")
                #expect(try Self.withoutFile(setAnalysis.stdout) == Self.withoutFile(analysis.stdout),
                        "analyze of \(input), --threads \(threads)")
                let files = try #require(try JSONSerialization.jsonObject(with: Data(setAnalysis.stdout.utf8))
                    as? [String: Any])["capture"] as? [String: Any]
                // In the order they were read: by first packet, which is the order editcap cut them.
                let expectedOrder = ["time-wait.pcap"] + (1...13).map { "time-wait.pcap\($0)" }
                #expect((files?["files"] as? [String])?.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
                        == expectedOrder)
                if threads == "1" {
                    let setPackets = try CLI.run(["packets", "--json"] + input)
                    #expect(setPackets.stdout == packets.stdout, "packets of \(input)")
                }
            }
        }
    }

    /// The 2,002 packets and 200 conversations capinfos and tshark counted in the original
    /// (its facts.json), found again in the pieces.
    @Test func ringFilesHoldTheOriginalsFacts() throws {
        let facts = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath:
            Corpus.fixturesDirectory.appendingPathComponent("time-wait/facts.json").path))) as? [String: Any])
        let report = try #require(try CLI.json(["analyze", "--format", "json", Self.ring]) as? [String: Any])
        let capture = try #require(report["capture"] as? [String: Any])
        #expect(capture["packets"] as? Int == facts["packet_count"] as? Int)
        #expect(capture["tcp_conversations"] as? Int == facts["tcp_streams"] as? Int)
        #expect((capture["file"] as? String)?.hasSuffix("(14 files)") == true)
    }

    /// `check --expect`: the ring checked against the original's hand-written expectation.
    @Test func ringChecksAgainstTheOriginalsExpectation() throws {
        let expectation = Corpus.fixturesDirectory.appendingPathComponent("time-wait/time-wait.expect.json").path
        let result = try CLI.run(["check", "--expect", expectation, Self.ring])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    /// Two recorders' files whose times interleave throughout, of different formats and link types,
    /// merged as mergecap merges them: each frame of netsift's merged capture has the number, time
    /// and conversation tshark gives it in mergecap's output (mergecap-frames.tsv).
    @Test(arguments: [false, true]) func overlappingFilesMergeAsMergecapDoes(reversed: Bool) throws {
        let oracle = try String(contentsOfFile: Self.folder + "/overlap/mergecap-frames.tsv", encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(oracle.count == 26)
        let files = reversed ? Self.overlap.reversed() : Self.overlap
        let result = try CLI.run(["packets", "--json"] + files)
        #expect(result.status == 0, "\(result.stderr)")
        let packets = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(packets.count == oracle.count)
        for (packet, row) in zip(packets, oracle) {
            let frame = try #require(Int(row[0]))
            #expect(packet["frame"] as? Int == frame)
            let parts = row[1].split(separator: ".")
            let nanoseconds = Int64(parts[0])! * 1_000_000_000 + Int64(parts[1].padding(toLength: 9, withPad: "0", startingAt: 0))!
            #expect((packet["time_ns"] as? NSNumber)?.int64Value == nanoseconds, "frame \(frame): time")
            let layers = packet["layers"] as? [String: Any]
            // An ICMP error: tshark gives it the stream of the datagram it quotes; Netsift keeps
            // the quoted header inside the ICMP layer.
            if layers?["icmp"] != nil { continue }
            let tcp = (layers?["tcp"] as? [String: Any])?["stream"] as? Int
            let udp = (layers?["udp"] as? [String: Any])?["stream"] as? Int
            #expect(tcp == (row[2].isEmpty ? nil : Int(row[2])), "frame \(frame): tcp.stream")
            #expect(udp == (row[3].isEmpty ? nil : Int(row[3])), "frame \(frame): udp.stream")
        }
        // The link types mix: the client's frames are Ethernet (1), the tap's raw IP (101).
        #expect(Set(packets.compactMap { $0["link_type"] as? Int }) == [1, 101])
    }

    /// A ring file cut short part-way: the warning names it, exit 3, and every other file is read —
    /// the packets are the original's less those after the cut in that file.
    @Test func damageInOneFileIsNamedAndTheRestIsRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-multi-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in Self.ringFiles {
            try FileManager.default.copyItem(atPath: file, toPath: directory.path + "/" + (file.split(separator: "/").last.map(String.init) ?? file))
        }
        // time-wait.pcap2 is classic pcap (make.sh stores the even pieces so): keep its file header,
        // its first 10 records (read from their headers here) and 5 bytes of the 11th.
        let damaged = directory.path + "/time-wait.pcap2"
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: damaged)))
        #expect(bytes.prefix(4) == [0xD4, 0xC3, 0xB2, 0xA1])
        var offset = 24
        for _ in 0..<10 {
            let captured = Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8 | Int(bytes[offset + 10]) << 16
            offset += 16 + captured
        }
        try Data(bytes.prefix(offset + 5)).write(to: URL(fileURLWithPath: damaged))
        let result = try CLI.run(["analyze", "--format", "json", directory.path])
        #expect(result.status == 3)
        #expect(result.stderr.contains("time-wait.pcap2: damaged at byte offset \(offset) after 10 packets"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let capture = try #require(report["capture"] as? [String: Any])
        #expect(capture["packets"] as? Int == 2002 - 150 + 10)
        #expect(capture["complete"] as? Bool == false)
        #expect((capture["damage"] as? String)?.contains("time-wait.pcap2: damaged") == true)
        let flows = try CLI.run(["flows", "--threads", "2", directory.path])
        #expect(flows.status == 3 && flows.stderr.contains("time-wait.pcap2"))
    }

    @Test func badInputsAreNamed() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-multi-empty-\(getpid())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let noCapture = try CLI.run(["analyze", empty.path])
        #expect(noCapture.status == 2 && noCapture.stderr.contains("\(empty.path): cannot open: no capture file in this folder"))
        let noMatch = try CLI.run(["flows", Self.ring + "/nothing*.pcap"])
        #expect(noMatch.status == 2 && noMatch.stderr.contains("no file matches this pattern"))
        let notCapture = try CLI.run(["analyze", Self.overlap[0], Self.folder + "/make.sh"])
        #expect(notCapture.status == 2 && notCapture.stderr.contains("make.sh: not a pcap or pcapng capture"))
        #expect(notCapture.stdout.isEmpty)
    }

    /// The merged report follows analyze's schema (its `files` key included).
    @Test func mergedReportFollowsTheSchema() throws {
        let result = try CLI.run(["analyze", "--format", "json"] + Self.overlap)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-multi-\(getpid()).json")
        try Data(result.stdout.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let validation = try CLI.runTool("/usr/bin/env", ["python3", Corpus.projectRoot.path + "/scripts/validate-json",
                                                          Corpus.projectRoot.path + "/docs/schema/analyze.schema.json", file.path])
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
    }
}
