import Foundation
import NetsiftTestSupport
import Testing

/// Every JSON document the commands print is valid against its schema in docs/schema, checked by
/// an independent validator (Python's jsonschema, JSON Schema 2020-12, via scripts/validate-json)
/// over the outputs for every fixture and every capture of the corpus.
@Suite struct JSONSchemaTests {
    /// Runs the validator; its report when something is invalid or it cannot run.
    func validate(_ schema: String, _ files: [URL], lines: Bool) throws -> CLI.Result {
        let script = Corpus.projectRoot.appendingPathComponent("scripts/validate-json").path
        let schemaPath = Corpus.projectRoot.appendingPathComponent("docs/schema/\(schema).schema.json").path
        return try CLI.runTool("/usr/bin/env", ["python3", script] + (lines ? ["--lines"] : []) + [schemaPath]
                               + files.map(\.path))
    }

    @Test func outputsAreValidAgainstTheirSchemas() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-schema-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let commands: [(schema: String, lines: Bool, arguments: [String])] = [
            ("analyze", false, ["analyze", "--format", "json"]), ("analyze-line", true, ["analyze", "--format", "jsonl"]),
            ("flows", false, ["flows", "--format", "json"]),
            ("info", false, ["info", "--json"]), ("packets", true, ["packets", "--json"]),
        ]
        var outputs: [Int: [URL]] = [:]
        // The corpus's next/ captures too: tunnels, certificates, HTTP/1.x.
        let next = Corpus.directory.map { $0.appendingPathComponent("next") }
        let nextCaptures = next.flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0.path) }?
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted()
            .compactMap { next?.appendingPathComponent($0).path } ?? []
        for (number, capture) in (Corpus.fixturesAndCaptures + nextCaptures).enumerated() {
            for (index, command) in commands.enumerated() {
                let result = try CLI.run(command.arguments + [capture])
                guard !result.stdout.isEmpty else { continue }   // not a capture at all: nothing printed
                let file = folder.appendingPathComponent("\(index)-\(number).json")
                try Data(result.stdout.utf8).write(to: file)
                outputs[index, default: []].append(file)
            }
        }
        // An expectation as --update writes it.
        let capture = Corpus.fixturesDirectory.appendingPathComponent("handshake-failures/handshake-failures.pcap")
        let copy = folder.appendingPathComponent("trace.pcap")
        try FileManager.default.copyItem(at: capture, to: copy)
        #expect(try CLI.run(["check", "--update", copy.path]).status == 0)
        let written = [folder.appendingPathComponent("trace.expect.json")]
        let handWritten = try FileManager.default.contentsOfDirectory(atPath: Corpus.fixturesDirectory.path).flatMap { name in
            let dir = Corpus.fixturesDirectory.appendingPathComponent(name)
            return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
                .filter { $0.hasSuffix(".expect.json") }.map { dir.appendingPathComponent($0) }
        }
        #expect(handWritten.count >= 15)
        for (index, command) in commands.enumerated() {
            let files = try #require(outputs[index])
            let result = try validate(command.schema, files, lines: command.lines)
            #expect(result.status == 0, "\(command.arguments.joined(separator: " ")): \(result.stdout)\(result.stderr)")
        }
        let expectations = try validate("expect", written + handWritten, lines: false)
        #expect(expectations.status == 0, "\(expectations.stdout)\(expectations.stderr)")
    }
}
