import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Netsift

/// `netsift check CAPTURE|DIR...`: captures as regression tests, as Zeek's btest and suricata-verify
/// use them. Each capture is analysed as `analyze` does and its expectation file (docs/check.md)
/// says what must hold; every assertion is printed with what was expected and what was found.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check captures against their expectation files; exit 1 when an expectation does not hold.",
        discussion: """
        A capture's expectation is the file beside it with .expect.json in place of its extension \
        (trace.pcap: trace.expect.json). A folder is searched recursively for captures that have one. \
        With --expect, every capture named (files, folders, patterns) is read as one, merged by time \
        as mergecap merges them: the pieces of a ring buffer checked against one expectation. \
        The format is documented in docs/check.md.
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, junit }

    @Argument(help: "Captures (pcap or pcapng), or folders searched recursively for captures with an expectation.")
    var paths: [String]

    @Option(help: ArgumentHelp("The expectation file; the captures named are then read as one capture (merged by time).", valueName: "file"))
    var expect: String?

    @Flag(help: "Write each expectation from the current analysis instead of checking it (review the result before committing it). With a folder, only existing expectations are rewritten.")
    var update = false

    @Option(help: "Output format: text, or junit (JUnit XML for CI systems, one testcase per assertion).")
    var format = Format.text

    @OptionGroup var filter: FilterOption
    @OptionGroup var flowOptions: FlowOptions
    @OptionGroup var threadOptions: ThreadOptions

    static let captureExtensions: Set<String> = ["pcap", "pcapng", "cap"]

    /// One capture (one file, or several read as one) and the expectation that goes with it.
    struct Case {
        var capture: String
        var expectation: String
        /// The files, folders or patterns that make the capture (`capture` alone, by default).
        var files: [String]

        init(capture: String, expectation: String, files: [String]? = nil) {
            self.capture = capture
            self.expectation = expectation
            self.files = files ?? [capture]
        }
    }

    /// What checking one capture gave: the assertions' results, or why it could not be checked.
    struct Outcome {
        var capture: String
        var expectation: String
        var results: [CheckResult] = []
        var error: String?
        var seconds = 0.0
        var failures: Int { results.filter { !$0.held }.count }
        var passed: Bool { error == nil && failures == 0 }
    }

    /// Why a capture could not be checked; the message is one line.
    struct Problem: Error {
        var message: String

        /// What the system said went wrong (errno) doing `what` to `path`.
        static func system(_ path: String, _ what: String) -> Problem {
            Problem(message: "\(path): \(what): \(String(cString: strerror(errno)))")
        }
    }

    func run() throws {
        _ = try filter.compiled()   // a bad -f is a usage error, said before anything is read
        var cases: [Case] = []
        var outcomes: [Outcome] = []
        if let expect {
            cases.append(Case(capture: paths.joined(separator: " "), expectation: expect, files: paths))
        }
        for path in paths where expect == nil {
            let isDirectory: Bool
            do { isDirectory = try Self.isDirectory(path) } catch {
                warn(error.message)
                throw ExitCode(ExitStatus.unreadable.rawValue)
            }
            if isDirectory {
                let (found, orphans) = Self.search(path)
                cases += found
                outcomes += orphans.map { Outcome(capture: Self.stem($0), expectation: $0,
                                                  error: "no capture beside this expectation (.pcap, .pcapng or .cap)") }
            } else {
                cases.append(Case(capture: path, expectation: Self.expectationPath(path)))
            }
        }
        if update {
            try write(cases)
            return
        }
        if cases.isEmpty && outcomes.isEmpty {
            warn("no capture with an expectation file in \(paths.joined(separator: ", ")) (write one with --update)")
            throw ExitCode(ExitStatus.unreadable.rawValue)
        }
        outcomes += cases.map(check)
        outcomes.sort { $0.capture < $1.capture }
        switch format {
        case .text: print(CheckText.render(outcomes, colour: Terminal.colourOnStandardOutput), terminator: "")
        case .junit: print(JUnit.render(outcomes), terminator: "")
        }
        if outcomes.contains(where: { $0.error != nil }) { throw ExitCode(ExitStatus.unreadable.rawValue) }
        if outcomes.contains(where: { !$0.passed }) { throw ExitCode(ExitStatus.expectationFailed.rawValue) }
    }

    /// Every capture under `folder` that has an expectation, and the expectations with no capture.
    static func search(_ folder: String) -> (cases: [Case], orphans: [String]) {
        let files = ((try? FileManager.default.subpathsOfDirectory(atPath: folder)) ?? [])
            .map { folder.hasSuffix("/") ? folder + $0 : folder + "/" + $0 }.sorted()
        let present = Set(files)
        var cases: [Case] = []
        var stems: Set<String> = []
        for file in files where captureExtensions.contains(pathExtension(file)) {
            let expectation = expectationPath(file)
            stems.insert(stem(file))
            if present.contains(expectation) { cases.append(Case(capture: file, expectation: expectation)) }
        }
        let orphans = files.filter { $0.hasSuffix(".expect.json") && !stems.contains(stem($0)) }
        return (cases, orphans)
    }

    /// "dir/trace.pcap" -> "pcap".
    static func pathExtension(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[name.index(after: dot)...]).lowercased()
    }

    /// "dir/trace.pcap" -> "dir/trace"; "dir/trace.expect.json" -> "dir/trace".
    static func stem(_ path: String) -> String {
        if path.hasSuffix(".expect.json") { return String(path.dropLast(".expect.json".count)) }
        let ext = pathExtension(path)
        return ext.isEmpty ? path : String(path.dropLast(ext.count + 1))
    }

    /// The default expectation of a capture: its name with .expect.json in place of its extension.
    static func expectationPath(_ capture: String) -> String { stem(capture) + ".expect.json" }

    func check(_ item: Case) -> Outcome {
        var outcome = Outcome(capture: item.capture, expectation: item.expectation)
        let started = Clock.monotonic
        defer { outcome.seconds = Double(Clock.monotonic - started) / 1e9 }
        do {
            guard FileManager.default.fileExists(atPath: item.expectation) else {
                throw Problem(message: "\(item.expectation): no such expectation file (netsift check --update \(item.capture) writes one)")
            }
            let expectation = try Self.read(item.expectation)
            var check = ExpectationCheck(expectation)
            let report = try analyse(item.files, options: expectation.options) { check.add($0) }
            outcome.results = check.results(report)
        } catch {
            outcome.error = error.message
        }
        return outcome
    }

    /// `--update`: the expectations, written from what the analysis finds now.
    func write(_ cases: [Case]) throws {
        var worst = ExitStatus.success
        for item in cases {
            do {
                let previous = FileManager.default.fileExists(atPath: item.expectation) ? try Self.read(item.expectation) : nil
                var recorder = ExpectationRecorder()
                let report = try analyse(item.files, options: previous?.options) { recorder.add($0) }
                let expectation = recorder.expectation(report, previous: previous)
                try Data((JSONOutput.encode(expectation, pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: item.expectation))
                print("wrote \(item.expectation): \(plural(report.findings.count, "finding")), "
                      + "\(plural(expectation.flows?.count ?? 0, "conversation group")); review it before committing it")
            } catch {
                warn(error.message)
                worst = .unreadable
            }
        }
        if worst != .success { throw ExitCode(worst.rawValue) }
    }

    /// Whether `path` is a directory (following links), or why it cannot be opened.
    static func isDirectory(_ path: String) throws(Problem) -> Bool {
        var information = stat()
        guard stat(path, &information) == 0 else { throw .system(path, "cannot open") }
        return information.st_mode & S_IFMT == S_IFDIR
    }

    static func read(_ path: String) throws -> Expectation {
        let text = try contents(of: path)
        if let error = JSONSyntax.firstError(in: text) { throw Problem(message: "\(path): not valid JSON: \(error)") }
        do {
            return try JSONOutput.decoder(names: Expectation.propertyNames).decode(Expectation.self, from: Data(text))
        } catch let error as DecodingError {
            throw Problem(message: "\(path): \(error.explained)")
        } catch {
            throw Problem(message: "\(path): not JSON: \(error)")
        }
    }

    /// The whole file, or why it cannot be read (one line, the system's words).
    static func contents(of path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw Problem.system(path, "cannot read") }
        defer { fclose(file) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            text += chunk[..<count]
            if count < chunk.count { break }
        }
        if ferror(file) != 0 { throw Problem.system(path, "cannot read") }
        return text
    }

    /// Runs the capture through the pipeline and diagnosis as `analyze` does, with the expectation's
    /// options on top of the command line's; every conversation goes to `flow` as it ends.
    func analyse(_ captures: [String], options expected: Expectation.Options?, flow: @escaping (FlowSummary) -> Void) throws -> AnalysisReport {
        var options = AnalysisOptions()
        let expression = [filter.filter, expected?.filter].compactMap { $0 }.map { "(\($0))" }.joined(separator: " and ")
        options.filter = expression.isEmpty ? nil : expression
        var flowOptions = self.flowOptions
        flowOptions.decodeAs += expected?.decodeAs ?? []
        guard DecodeAs(rules: flowOptions.decodeAs) != nil else {
            throw Problem(message: "decodeAs: \(flowOptions.decodeAs) holds a rule that is not tcp.port==N,PROTOCOL or udp.port==N,PROTOCOL")
        }
        flowOptions.apply(to: &options)
        options.thresholds.named = expected?.thresholds ?? [:]
        options.threads = threadOptions.threads
        let result: AnalysisResult
        do {
            result = try Analysis.analyze(paths: CaptureSet.expand(captures), options: options, conversation: flow)
        } catch {
            throw Problem(message: error.description)
        }
        if case .rejected(let error) = result.end { throw Problem(message: error.description) }
        return result.report
    }
}

fileprivate extension Error {
    /// One line saying what went wrong.
    var message: String {
        if let problem = self as? Check.Problem { return problem.message }
        return String(describing: self)
    }
}

fileprivate extension DecodingError {
    /// "findings[2].kind: unknown finding kind ..." rather than Foundation's nested description.
    var explained: String {
        func at(_ path: [CodingKey]) -> String {
            var out = ""
            for key in path {
                if let index = key.intValue {
                    out += "[\(index)]"
                } else {
                    out += (out.isEmpty ? "" : ".") + snakeCased(key.stringValue)
                }
            }
            return out.isEmpty ? "" : out + ": "
        }
        switch self {
        case .typeMismatch(let type, let context): return at(context.codingPath) + "expected \(type): \(context.debugDescription)"
        case .valueNotFound(_, let context): return at(context.codingPath) + context.debugDescription
        case .keyNotFound(let key, let context): return at(context.codingPath) + "missing key \"\(key.stringValue)\""
        case .dataCorrupted(let context):
            return at(context.codingPath) + context.debugDescription
        @unknown default: return String(describing: self)
        }
    }
}

/// The terminal rendering of `check`: each capture with every assertion, expected and actual side
/// by side where they differ, then a one-line total.
enum CheckText {
    static func render(_ outcomes: [Check.Outcome], colour: Bool) -> String {
        let style = AnalysisText.Style(enabled: colour)
        var out = ""
        for outcome in outcomes {
            if let error = outcome.error {
                out += style.wrap("1;31", "ERROR") + "  \(outcome.capture)\n      \(error)\n"
                continue
            }
            let count = outcome.results.count, failures = outcome.failures
            out += (failures == 0 ? style.wrap("1;32", "PASS ") : style.wrap("1;31", "FAIL "))
                + " \(outcome.capture)  (" + (failures == 0 ? plural(count, "assertion") + " held"
                                              : "\(failures) of \(plural(count, "assertion")) failed") + ")\n"
            for result in outcome.results {
                if result.held {
                    out += "      " + style.green("✓") + " \(result.assertion): \(result.actual)\n"
                } else {
                    out += "      " + style.wrap("31", "✗") + " \(result.assertion)\n"
                    out += "          expected: \(result.expected)\n"
                    out += "          actual:   \(result.actual)\n"
                }
            }
        }
        let passed = outcomes.filter(\.passed).count
        let errors = outcomes.filter { $0.error != nil }.count
        let assertions = outcomes.reduce(0) { $0 + $1.results.count }
        let failed = outcomes.reduce(0) { $0 + $1.failures }
        out += "\n\(plural(outcomes.count, "capture")): \(passed) passed"
        if outcomes.count - passed - errors > 0 { out += ", \(outcomes.count - passed - errors) failed" }
        if errors > 0 { out += ", \(errors) could not be checked" }
        out += "; " + (failed == 0 ? "\(plural(assertions, "assertion")) held" : "\(failed) of \(plural(assertions, "assertion")) failed")
        return out + "\n"
    }
}

/// JUnit XML, as CI systems read it: a testsuite per capture, a testcase per assertion (a failure
/// holds expected and actual), an error testcase for a capture that could not be checked.
enum JUnit {
    static func render(_ outcomes: [Check.Outcome]) -> String {
        let tests = outcomes.reduce(0) { $0 + max(1, $1.results.count) }
        let failures = outcomes.reduce(0) { $0 + $1.failures }
        let errors = outcomes.filter { $0.error != nil }.count
        let time = outcomes.reduce(0) { $0 + $1.seconds }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"netsift check\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"\(fixed(time, 3))\">\n"
        for outcome in outcomes {
            let name = escape(outcome.capture)
            out += "  <testsuite name=\"\(name)\" tests=\"\(max(1, outcome.results.count))\" failures=\"\(outcome.failures)\" "
                + "errors=\"\(outcome.error == nil ? 0 : 1)\" time=\"\(fixed(outcome.seconds, 3))\">\n"
            out += "    <properties><property name=\"expectation\" value=\"\(escape(outcome.expectation))\"/></properties>\n"
            if let error = outcome.error {
                out += "    <testcase classname=\"\(name)\" name=\"check\"><error message=\"\(escape(error))\"/></testcase>\n"
            }
            for result in outcome.results {
                out += "    <testcase classname=\"\(name)\" name=\"\(escape(result.assertion))\""
                if result.held {
                    out += "/>\n"
                } else {
                    let message = "expected \(result.expected); actual \(result.actual)"
                    out += "><failure message=\"\(escape(message))\" type=\"expectation\">"
                        + escape("expected: \(result.expected)\nactual:   \(result.actual)") + "</failure></testcase>\n"
                }
            }
            out += "  </testsuite>\n"
        }
        return out + "</testsuites>\n"
    }

    /// Text as XML character data or an attribute value: the five special characters escaped, and
    /// characters XML 1.0 cannot hold at all (most control characters) replaced by U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\t", "\r": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                let allowed = v >= 0x20 && v != 0xFFFE && v != 0xFFFF && !(0xD800...0xDFFF).contains(v)
                out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return out
    }
}
