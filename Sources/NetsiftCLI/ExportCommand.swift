import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Netsift

/// `netsift export --to DIR FILE...`: the capture's records for another engine, one kind per file
/// of newline-delimited JSON (docs/export.md, schemas in docs/schema/export.schema.json).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write flows, findings, DNS transactions, TLS handshakes and HTTP transactions as NDJSON files for another engine.",
        discussion: """
        DIR gets capture.json (the capture's facts, as analyze's "capture") and one file per record \
        kind: flows.ndjson, findings.ndjson, dns.ndjson, tls.ndjson, http.ndjson. Run one export per \
        capture into its own folder; docs/export.md loads a fleet's folders into DuckDB.
        """
    )

    @Argument(help: "Capture files (pcap or pcapng), folders of them or patterns, read as one capture merged by time (as mergecap merges them); - for standard input.")
    var files: [String]

    @Option(help: ArgumentHelp("The folder to write the files into (created if missing; files of the same names replaced).", valueName: "dir"))
    var to: String

    @OptionGroup var diagnosisOptions: DiagnosisOptions
    @OptionGroup var filter: FilterOption
    @OptionGroup var flowOptions: FlowOptions
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("Missing expected argument '<files> ...': a capture file") }
    }

    func run() throws {
        _ = try filter.compiled()
        var options = AnalysisOptions()
        options.filter = filter.filter
        flowOptions.apply(to: &options)
        diagnosisOptions.apply(to: &options)
        options.threads = threadOptions.threads
        if let failure = Self.makeFolder(to) {
            warn("\(to): cannot create the folder: \(String(cString: strerror(failure)))")
            throw ExitCode(ExitStatus.unreadable.rawValue)
        }
        var outputs: [String: RecordFile] = [:]
        for name in ExportRecord.fileNames + ["capture.json"] {
            guard let file = RecordFile(path: to + "/" + name) else {
                warn("\(to)/\(name): cannot write: \(String(cString: strerror(errno)))")
                throw ExitCode(ExitStatus.unreadable.rawValue)
            }
            outputs[name] = file
        }
        var encodingError: Error?
        func write(_ record: ExportRecord) {
            do {
                let line = switch record {
                case .flow(let flow): try JSONOutput.encode(flow, pretty: false)
                case .finding(let finding): try JSONOutput.encode(finding, pretty: false)
                case .dns(let transaction): try JSONOutput.encode(transaction, pretty: false)
                case .tls(let handshake): try JSONOutput.encode(handshake, pretty: false)
                case .http(let transaction): try JSONOutput.encode(transaction, pretty: false)
                }
                outputs[record.fileName]!.write(line)
            } catch {
                encodingError = error
            }
        }
        var set = try openCaptures(files)
        var recorder = ExportRecorder()
        var progress = Progress(files: set.paths)
        let result = try Analysis.analyze(&set, options: options, conversation: { recorder.add($0, write) },
                                          message: { recorder.add($0, write) },
                                          progress: { progress.show(packets: $0, bytes: $1) })
        progress.done()
        recorder.finish(findings: result.report.findings, write)
        outputs["capture.json"]!.write(try JSONOutput.encode(result.report.capture, pretty: false))
        var exit = status(of: set, end: result.end)
        for (name, file) in outputs.sorted(by: { $0.key < $1.key }) where !file.close() {
            warn("\(to)/\(name): cannot write: \(String(cString: strerror(errno)))")
            exit = max(exit, .unreadable)
        }
        if let encodingError { throw encodingError }
        if exit != .success { throw ExitCode(exit.rawValue) }
    }
}

extension Export {
    /// Creates `path` and the folders above it that are missing (mkdir -p); the errno when it cannot.
    static func makeFolder(_ path: String) -> Int32? {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part + "/"
            var information = stat()
            if mkdir(prefix, 0o755) != 0 {
                guard errno == EEXIST else { return errno }
                guard stat(prefix, &information) == 0, information.st_mode & S_IFMT == S_IFDIR else { return ENOTDIR }
            }
        }
        return nil
    }
}

/// One output file of lines, written through stdio's buffer.
final class RecordFile {
    let handle: UnsafeMutablePointer<FILE>

    init?(path: String) {
        guard let handle = fopen(path, "w") else { return nil }
        self.handle = handle
    }

    func write(_ line: String) {
        fputs(line, handle)
        fputc(0x0A, handle)
    }

    /// Flushes and closes; false when a write failed.
    func close() -> Bool {
        let failed = ferror(handle) != 0
        return fclose(handle) == 0 && !failed
    }
}
