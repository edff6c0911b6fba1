import Foundation
import Testing
import NetsiftTestSupport

/// `analyze --shard I/N` on N runs, then `merge`: the report must be the one a single run prints,
/// byte for byte, whatever N — conversations numbered as one tracker numbers them, every finding
/// judged over the whole capture. And `merge` refuses what is not every shard of one analysis.
@Suite struct ShardTests {
    /// The shard outputs of `capture` for N shards, in a fresh folder; the folder.
    static func shards(_ capture: String, count: Int, extra: [String] = []) throws -> [String] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var paths: [String] = []
        for index in 1...count {
            let run = try CLI.run(["analyze", "--shard", "\(index)/\(count)", capture] + extra)
            let path = folder.appendingPathComponent("shard-\(index).ndjson").path
            try run.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        return paths
    }

    @Test func mergedShardsPrintWhatOneRunDoes() throws {
        var compared = 0
        for path in Corpus.fixturesAndCaptures {
            let one = try CLI.run(["analyze", "--format", "json", "--threads", "1", path])
            let text = try CLI.run(["analyze", "--threads", "1", path])
            for count in 1...3 {
                let shards = try Self.shards(path, count: count)
                defer { try? FileManager.default.removeItem(atPath: (shards[0] as NSString).deletingLastPathComponent) }
                let merged = try CLI.run(["merge", "--format", "json"] + shards.reversed())
                #expect(merged.status == one.status, "\(path) in \(count) shards: exit status")
                #expect(merged.stdout == one.stdout, "\(path) in \(count) shards: merge --format json")
                let mergedText = try CLI.run(["merge"] + shards)
                #expect(mergedText.stdout == text.stdout, "\(path) in \(count) shards: merge (text)")
            }
            compared += 1
        }
        #expect(compared >= 30)
    }

    @Test func refusesWhatIsNotOneAnalysis() throws {
        let fixtures = Corpus.fixturesDirectory.path
        let capture = fixtures + "/dns-failures/dns-failures.pcap"
        let other = fixtures + "/handshake-failures/handshake-failures.pcap"
        let three = try Self.shards(capture, count: 3)
        let folder = (three[0] as NSString).deletingLastPathComponent
        defer { try? FileManager.default.removeItem(atPath: folder) }

        func refused(_ files: [String], _ message: String, status: Int32 = 4) throws {
            let run = try CLI.run(["merge"] + files)
            #expect(run.status == status, "\(message): exit status")
            #expect(run.stderr.contains(message), "\(run.stderr) should say \(message)")
            #expect(run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
        try refused([three[0], three[2]], "missing shard 2/3")
        try refused([three[0], three[1], three[2], three[1]], "shard 2 again")
        let otherShards = try Self.shards(other, count: 3)
        defer { try? FileManager.default.removeItem(atPath: (otherShards[0] as NSString).deletingLastPathComponent) }
        try refused([three[0], otherShards[1], three[2]], "a shard of another capture")
        let strict = try Self.shards(capture, count: 3, extra: ["--dns-slow-ms", "1"])
        defer { try? FileManager.default.removeItem(atPath: (strict[0] as NSString).deletingLastPathComponent) }
        try refused([three[0], strict[1], three[2]], "analysed with other options")
        let two = try Self.shards(capture, count: 2)
        defer { try? FileManager.default.removeItem(atPath: (two[0] as NSString).deletingLastPathComponent) }
        try refused([three[0], two[1], three[2]], "shard 2 of 2, not of 3")

        // Another version: the header says so.
        let header = try String(contentsOfFile: three[1], encoding: .utf8)
        let otherVersion = folder + "/other-version.ndjson"
        try header.replacingOccurrences(of: "\"netsift_version\":\"", with: "\"netsift_version\":\"old-")
            .write(toFile: otherVersion, atomically: true, encoding: .utf8)
        try refused([three[0], otherVersion, three[2]], "written by another netsift version")

        // Not a shard output at all, and one cut short: unreadable (2).
        try refused([three[0], capture, three[2]], "not a shard output", status: 2)
        let lines = header.split(separator: "\n", omittingEmptySubsequences: false)
        let cut = folder + "/cut.ndjson"
        try lines.prefix(lines.count / 2).joined(separator: "\n").write(toFile: cut, atomically: true, encoding: .utf8)
        try refused([three[0], cut, three[2]], "cut short", status: 2)
        try refused([folder + "/missing.ndjson"], "cannot open", status: 2)
        // A file of one endless line is refused past 64 MiB, not read whole.
        let endless = folder + "/endless.ndjson"
        try Data(repeating: UInt8(ascii: "a"), count: 65 << 20).write(to: URL(fileURLWithPath: endless))
        try refused([endless], "a line longer than 64 MiB", status: 2)
    }

    /// The shard outputs themselves: the header in the JSON convention, shard I of N, the capture's
    /// name and size as `stat` says, and the conversations split with none twice.
    @Test func headerNamesTheCaptureAndTheShard() throws {
        let capture = Corpus.fixturesDirectory.path + "/dns-failures/dns-failures.pcap"
        let shards = try Self.shards(capture, count: 2)
        defer { try? FileManager.default.removeItem(atPath: (shards[0] as NSString).deletingLastPathComponent) }
        let size = try FileManager.default.attributesOfItem(atPath: capture)[.size] as! Int
        var started = 0
        for (index, path) in shards.enumerated() {
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            let header = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
            #expect(header["schema"] as? String == "netsift.shard/1")
            #expect(header["shard"] as? Int == index + 1)
            #expect(header["shards"] as? Int == 2)
            let members = (header["capture"] as! [String: Any])["members"] as! [[String: Any]]
            #expect(members.count == 1)
            #expect(members[0]["name"] as? String == "dns-failures.pcap")
            #expect(members[0]["bytes"] as? Int == size)
            #expect(lines.last!.hasPrefix("{\"end\":"))
            let headerFile = path + ".header.json"
            try String(lines[0]).write(toFile: headerFile, atomically: true, encoding: .utf8)
            let root = Corpus.projectRoot.path
            let validation = try CLI.runTool("/usr/bin/env", ["python3", root + "/scripts/validate-json",
                                                              root + "/docs/schema/shard-header.schema.json", headerFile])
            #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
            started += lines.filter { $0.hasPrefix("{\"started\":") }.count
        }
        let flows = try CLI.json(["flows", "--format", "json", capture]) as! [Any]
        #expect(started == flows.count)
    }

    /// docs/shards.md's GNU parallel recipe, run as written over a fixture: its report is the one
    /// `analyze` prints for the same capture.
    @Test func parallelRecipeMergesToTheReport() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/parallel") else {
            Issue.record("GNU parallel is needed (scripts/bootstrap installs it)")
            return
        }
        let text = try String(contentsOfFile: Corpus.projectRoot.path + "/docs/shards.md", encoding: .utf8)
        let marker = try #require(text.range(of: "<!-- tested: parallel -->"))
        let after = text[marker.upperBound...]
        let open = try #require(after.range(of: "```"))
        let body = after[open.upperBound...].drop { $0 != "\n" }.dropFirst()
        let recipe = String(body[..<(try #require(body.range(of: "\n```"))).lowerBound])

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-parallel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/capture.pcap", withDestinationPath:
            Corpus.fixturesDirectory.path + "/tcp-loss-retransmissions/tcp-loss-retransmissions.pcap")
        let path = CLI.executable.deletingLastPathComponent().path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let run = try CLI.runTool("/usr/bin/env", ["PATH=\(path)", "bash", "-c", "cd '\(folder.path)' && " + recipe])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let one = try CLI.runTool("/usr/bin/env", ["PATH=\(path)", "bash", "-c",
                                                   "cd '\(folder.path)' && netsift analyze --format json capture.pcap"])
        let merged = try String(contentsOfFile: folder.path + "/report.json", encoding: .utf8)
        #expect(!merged.isEmpty)
        #expect(merged == one.stdout)
    }
}
