#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NetsiftCapture
import NetsiftFlows
import NetsiftReport

/// The proof of each finding as a small capture a person can attach to a ticket or open in
/// Wireshark (`netsift analyze --evidence DIR`): the packets of the conversations the finding
/// names (the first `packetsPerConversation` of each) and every frame it cites, in the input's
/// own format (pcap or pcapng), with their original bytes and times.
public enum Evidence {
    public static let defaultPacketsPerConversation = 100
    /// Findings past this many get no file (each file is one open descriptor during the pass).
    public static let fileLimit = 256

    /// Reads the capture at `path` again with the same `options` (so conversations are numbered as
    /// in the analysis) and writes one file per finding into `directory` (created if missing),
    /// named by its rank, kind and endpoint. Returns the report with each finding's `evidence` set.
    /// - Throws: when the capture cannot be read again or a file cannot be written.
    public static func write(_ report: AnalysisReport, capture path: String, options: AnalysisOptions,
                             into directory: String,
                             packetsPerConversation: Int = defaultPacketsPerConversation) throws(CaptureError)
        -> AnalysisReport {
        var report = report
        let findings = Array(report.findings.prefix(fileLimit))
        guard !findings.isEmpty else { return report }
        var status = stat()
        if mkdir(directory, 0o755) != 0 && !(errno == EEXIST && stat(directory, &status) == 0
                                             && status.st_mode & S_IFMT == S_IFDIR) {
            let code = errno == EEXIST ? ENOTDIR : errno
            throw CaptureError(path: directory, kind: .cannotWrite(errno: code, reason: String(cString: strerror(code))))
        }
        var reader = try CaptureReader(path: path)
        let format = try reader.readFormat()
        let suffix = if case .pcapng = format { "pcapng" } else { "pcap" }
        var writers: [CaptureWriter] = []
        for (rank, finding) in findings.enumerated() {
            let name = "\(rank + 1 < 10 ? "0" : "")\(rank + 1)-\(finding.kind.rawValue)"
                + (finding.endpoint.map { "-" + fileName($0) } ?? "") + "." + suffix
            let writer = try CaptureWriter(path: directory + "/" + name, like: &reader)
            writers.append(writer)
            report.findings[rank].evidence = writer.path
        }
        // Which findings want each conversation and each frame.
        var byConversation: [FlowReference: [Int]] = [:]
        var byFrame: [Int: [Int]] = [:]
        for (index, finding) in findings.enumerated() {
            for flow in finding.flows { byConversation[flow, default: []].append(index) }
            for frame in finding.frames { byFrame[frame, default: []].append(index) }
        }
        var single = options
        single.threads = 1
        var pipeline = try Pipeline(options: single)
        var written: [FlowReference: Int] = [:]
        var wanted: [Int] = []
        let end = reader.forEachPacket { packet, interfaces in
            wanted.removeAll(keepingCapacity: true)
            pipeline.decode(packet) { _, _, details in
                wanted += byFrame[details.frame] ?? []
                guard let conversation = details.conversation else { return }
                let reference = FlowReference(transport: conversation.transport.rawValue, stream: conversation.stream)
                guard let indexes = byConversation[reference], written[reference, default: 0] < packetsPerConversation
                else { return }
                written[reference, default: 0] += 1
                wanted += indexes
            }
            guard !wanted.isEmpty else { return }
            // A packet two findings want is written to each once (in place: no set per packet).
            wanted.sort()
            for (position, index) in wanted.enumerated() where position == 0 || wanted[position - 1] != index {
                writers[index].write(packet, from: interfaces)
            }
        }
        for writer in writers { writer.close() }
        if case .rejected(let error) = end { throw error }
        if let failed = writers.lazy.compactMap(\.error).first { throw failed }
        if let verdict = report.verdict,
           let ranked = report.findings.first(where: { $0.kind == verdict.kind && $0.endpoint == verdict.endpoint }) {
            report.verdict = ranked
        }
        return report
    }

    /// An endpoint as a file name: "10.0.0.2:443" -> "10.0.0.2_443", "[2001:db8::1]:53" -> "2001_db8__1_53".
    static func fileName(_ endpoint: String) -> String {
        var name = ""
        for character in endpoint where character != "[" && character != "]" {
            name.append(character.isLetter || character.isNumber || character == "." || character == "-" ? character : "_")
        }
        return String(name.prefix(80))
    }
}
