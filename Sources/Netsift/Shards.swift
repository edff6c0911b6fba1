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
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport

/// Analysis split over machines (docs/shards.md): `analyze --shard I/N` follows only the
/// conversations whose key hashes to shard I of N — the hash the threads of one run share by —
/// and writes what a worker thread would have handed to the calling thread; `netsift merge` reads
/// the N outputs back and hands them out as a threaded run does, to one `Analysis`. The merged
/// report is the one a single run prints, by construction.
///
/// A shard output is JSON lines: a header (`ShardHeader`, in the JSON convention), then one line
/// per conversation started, application message, unusual packet and conversation over (in frame
/// order, `ReplayJSON`), then the end (`ShardEnd`). Every shard reads every packet, so what is
/// about the whole capture (packets, times, damage, IP fragments) is the same in each; packets of
/// no conversation (an ICMP error quoting a datagram, a malformed packet) are reported by shard 1,
/// as by the first thread.
public enum Shards {
    /// Changes whenever what a shard writes, or what the analysis makes of it, changes: the merge
    /// refuses outputs of different versions.
    public static let version = "netsift-shard-1"
}

/// The first line of a shard output.
public struct ShardHeader: Codable, Equatable, Sendable {
    public static let schema = "netsift.shard/1"

    public var schema = ShardHeader.schema
    public var netsiftVersion = Shards.version
    /// From 1, and how many.
    public var shard: Int
    public var shards: Int
    public var capture: Capture
    /// The options that change the results (filter, decode-as rules, limits, thresholds, top), as
    /// one canonical text: shards of one analysis have the same.
    public var options: String

    /// What identifies the capture without reading it again: its name as the command line gave it,
    /// and each file's name (without its folder: machines may mount it elsewhere) and size.
    public struct Capture: Codable, Equatable, Sendable {
        public var file: String
        public var files: [String]?
        public var members: [Member]

        public struct Member: Codable, Equatable, Sendable {
            public var name: String
            public var bytes: Int

            public init(name: String, bytes: Int) {
                self.name = name
                self.bytes = bytes
            }
        }
    }

    static let names = ["netsiftVersion"]
}

/// The last line of a shard output: what the run counted, and what is the same in every shard.
struct ShardEnd: Decodable, Equatable {
    var packets: Int
    var firstTime: Int64?
    var lastTime: Int64?
    var damage: String?
    var interfaceDrops: Int?
    var counters: FlowCounters
    var fragments: FragmentStatistics
}

/// What the merge needs besides the conversations: the options the findings are judged by.
struct JudgingOptions: Decodable {
    var thresholds: DiagnosisThresholds
    var top: Int
    var fragmentLimits: FragmentLimits
}

extension AnalysisOptions {
    /// The options that change what an analysis finds, as one text (dictionaries in a fixed order).
    var canonicalText: String {
        ReplayJSON.encode(JudgedBy(filter: filter, decodeAs: decodeAs, flowLimits: flowLimits,
                                   reassemblyLimits: reassemblyLimits, fragmentLimits: fragmentLimits,
                                   thresholds: thresholds, top: top))
    }

    private struct JudgedBy {
        var filter: String?
        var decodeAs: DecodeAs
        var flowLimits: FlowLimits
        var reassemblyLimits: ReassemblyLimits
        var fragmentLimits: FragmentLimits
        var thresholds: DiagnosisThresholds
        var top: Int
    }
}

extension Analysis {
    /// Runs shard `shard` (`index` from 0) of the capture set: `line` gets the shard output, line
    /// by line. `members` identifies the files (name and size each).
    /// - Throws: when `options.filter` does not compile.
    public static func shard(_ set: inout CaptureSet, shard: FlowShard, members: [ShardHeader.Capture.Member],
                             options: AnalysisOptions, line: (String) -> Void,
                             progress: (_ packets: Int, _ bytes: Int) -> Void = { _, _ in })
        throws(CaptureError) -> CaptureReader.End {
        var header = ShardHeader(shard: shard.index + 1, shards: shard.count,
                                 capture: .init(file: set.displayName, members: members), options: options.canonicalText)
        if set.members.count > 1 { header.capture.files = set.paths }
        line((try? JSONOutput.encode(header, pretty: false)) ?? "")
        var pipeline = try Pipeline(options: options)
        pipeline.tracker = options.tracker(shard: shard)
        var found: [ShardOutput] = []
        var position = 0
        let end = set.forEachPacket { captured, _ in
            pipeline.frame += 1
            position += Pipeline.recordBytes(captured)
            if pipeline.frame % Pipeline.progressInterval == 0 { progress(pipeline.frame, position) }
            if let filter = pipeline.filter, !filter.matches(captured) { return }
            pipeline.count(captured)
            Sharding.track(captured, frame: pipeline.frame, worker: shard.index, dissector: &pipeline.dissector,
                           tracker: &pipeline.tracker, into: &found)
            for output in found { line(ReplayJSON.encode(output)) }
            found.removeAll(keepingCapacity: true)
        }
        pipeline.tracker.finish { line(ReplayJSON.encode(ShardOutput.finished(frame: .max, $0))) }
        let facts = ShardEnd(packets: pipeline.packets, firstTime: pipeline.firstTime, lastTime: pipeline.lastTime,
                             damage: set.damageDescription, interfaceDrops: set.interfaceDrops,
                             counters: pipeline.tracker.counters, fragments: pipeline.dissector.fragments.statistics)
        line(ReplayJSON.encode(["end": facts]))
        return end
    }
}

/// Why shard outputs cannot be merged. `refused`: they are not the shards of one analysis;
/// `unreadable`: a file is not a shard output, or is cut short.
public struct ShardMergeError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case unreadable, refused }
    public var kind: Kind
    public var description: String
}

/// One shard output being read, a line at a time.
final class ShardOutputFile {
    let path: String
    let handle: UnsafeMutablePointer<FILE>
    var header: ShardHeader
    var end: ShardEnd?
    var lineNumber = 1
    /// The conversations started and not over, by transport: what the records may refer to.
    var open: [Transport: Set<Int>] = [.tcp: [], .udp: []]
    /// Reused for every line: a flood's shard output is millions of them.
    var chunk = [CChar](repeating: 0, count: 1 << 16)
    var line: [UInt8] = []
    let decoder = JSONDecoder()

    init(path: String) throws(ShardMergeError) {
        self.path = path
        guard let handle = fopen(path, "r") else {
            throw ShardMergeError(kind: .unreadable, description: "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        self.handle = handle
        let headerDecoder = JSONOutput.decoder(names: ShardHeader.names)
        var chunk = [CChar](repeating: 0, count: 1 << 16), first: [UInt8] = []
        let hasFirst: Bool
        do {
            hasFirst = try Self.readLine(handle, path: path, chunk: &chunk, into: &first)
        } catch {
            fclose(handle)
            throw error
        }
        guard hasFirst, let header = try? headerDecoder.decode(ShardHeader.self, from: Data(first)) else {
            fclose(handle)
            throw ShardMergeError(kind: .unreadable, description: "\(path): not a shard output (netsift analyze --shard I/N writes them)")
        }
        self.header = header
        guard header.schema == ShardHeader.schema else {
            fclose(handle)
            throw ShardMergeError(kind: .refused, description: "\(path): a shard output of another format (\(header.schema), this netsift reads \(ShardHeader.schema))")
        }
    }

    deinit { fclose(handle) }

    /// The next record, or nil once the end is read.
    func next() throws(ShardMergeError) -> ShardOutput? {
        guard end == nil else { return nil }
        guard try Self.readLine(handle, path: path, chunk: &chunk, into: &line) else { throw damaged("cut short: it has no end line") }
        lineNumber += 1
        if line.starts(with: Self.endLinePrefix) {
            guard let facts = try? decoder.decode([String: ShardEnd].self, from: Data(line))["end"] else {
                throw damaged("line \(lineNumber) is not its end line")
            }
            end = facts
            guard try !Self.readLine(handle, path: path, chunk: &chunk, into: &line) else { throw damaged("lines after its end line") }
            return nil
        }
        guard let record = try? decoder.decode(ShardOutput.self, from: Data(line)) else {
            throw damaged("line \(lineNumber) is not a record")
        }
        // A record of a conversation never started would stop the merge: refused here.
        switch record {
        case .started(_, let transport, let stream):
            guard open[transport]!.insert(stream).inserted else { throw damaged("line \(lineNumber) starts conversation \(stream) twice") }
        case .event(_, let event):
            guard open[event.context.transport]!.contains(event.context.stream) else {
                throw damaged("line \(lineNumber) is a message of a conversation not started")
            }
        case .finished(_, let flow):
            let (transport, stream) = switch flow { case .tcp(let c): (Transport.tcp, c.stream); case .udp(let c): (.udp, c.stream) }
            guard open[transport]!.remove(stream) != nil else { throw damaged("line \(lineNumber) ends a conversation not started") }
        case .unusual:
            break
        }
        return record
    }

    func damaged(_ problem: String) -> ShardMergeError {
        ShardMergeError(kind: .unreadable, description: "\(path): damaged shard output: \(problem)")
    }

    /// The longest line read: a conversation with its reassembly buffers full is some 10 MB.
    static let lineLimit = 64 << 20

    static let endLinePrefix = Array(#"{"end":"#.utf8)

    /// Reads the next line into `line`, without its newline (`chunk`: fgets' buffer); false at the
    /// end of the file. A line past `lineLimit` bytes is refused (a file that is no shard output is
    /// not read whole into memory).
    static func readLine(_ handle: UnsafeMutablePointer<FILE>, path: String, chunk: inout [CChar],
                         into line: inout [UInt8]) throws(ShardMergeError) -> Bool {
        line.removeAll(keepingCapacity: true)
        while line.count <= lineLimit, fgets(&chunk, Int32(chunk.count), handle) != nil {
            let length = strlen(chunk)
            chunk.withUnsafeBytes { line.append(contentsOf: $0.prefix(length)) }
            if line.last == 0x0A {
                line.removeLast()
                return true
            }
        }
        if line.count > lineLimit {
            throw ShardMergeError(kind: .unreadable, description: "\(path): not a shard output: a line longer than \(lineLimit >> 20) MiB")
        }
        return !line.isEmpty
    }
}

extension Analysis {
    /// Merges shard outputs (one per shard, any order) into the report one run would have made:
    /// their records are handed out as a threaded run hands out its workers' (`ShardHandOut`).
    /// - Throws: when a file is not a shard output or is cut short, or the files are not every
    ///   shard of one analysis of one capture, with the same options, by the same version.
    public static func merge(paths: [String]) throws(ShardMergeError) -> AnalysisReport {
        try merge(paths: paths, batch: Sharding.outboxLimit)
    }

    /// `batch`: records read from each file at a time (the report is the same whatever it is).
    static func merge(paths: [String], batch: Int) throws(ShardMergeError) -> AnalysisReport {
        var files: [ShardOutputFile] = []
        for path in paths { files.append(try ShardOutputFile(path: path)) }
        try checkShards(files)
        files.sort { $0.header.shard < $1.header.shard }
        guard let judging = try? JSONDecoder().decode(JudgingOptions.self, from: Data(files[0].header.options.utf8)) else {
            throw ShardMergeError(kind: .unreadable, description: "\(files[0].path): damaged shard output: its options do not read")
        }
        var analysis = Analysis(thresholds: judging.thresholds, top: judging.top)
        var handing = ShardHandOut(workers: files.count)
        // A batch from each file at a time, handed out up to the frame every file is past. A file's
        // last frame read may go on in its next records, so it is held back; a batch of one frame
        // alone is read on until the next frame comes (the conversations still open at the end,
        // frame `Int.max`, are read in one go: they go out together, in the order one tracker ends them).
        var lists = Array(repeating: [ShardOutput](), count: files.count)
        while true {
            for (index, file) in files.enumerated() {
                while lists[index].count < batch || lists[index].first?.frame == lists[index].last?.frame,
                      let record = try file.next() {
                    lists[index].append(record)
                }
            }
            let reading = files.indices.filter { files[$0].end == nil }
            let through = reading.map { lists[$0].last!.frame - 1 }.min() ?? .max
            var taken = lists.indices.map { Sharding.split(&lists[$0], through: through) }
            handing.handOut(&taken, unusual: { analysis.add(frame: $0, $1) }, event: { analysis.add($0) },
                            flow: { analysis.add($0) })
            if reading.isEmpty { break }
        }
        let ends = files.map { $0.end! }
        try checkEnds(files)
        var counters = ends[0].counters
        for end in ends.dropFirst() {
            counters.add(end.counters)
        }
        counters.peakActive = handing.peakActive
        let first = files[0].header, facts = ends[0]
        var report = analysis.report(counters: counters, packets: facts.packets, firstTime: facts.firstTime,
                                     lastTime: facts.lastTime, fragments: facts.fragments,
                                     fragmentLimits: judging.fragmentLimits, source: first.capture.file,
                                     damage: facts.damage, interfaceDrops: facts.interfaceDrops)
        report.capture.files = first.capture.files
        return report
    }

    /// The headers must be of one capture, options and version, one file per shard, all shards.
    static func checkShards(_ files: [ShardOutputFile]) throws(ShardMergeError) {
        guard let first = files.first else {
            throw ShardMergeError(kind: .refused, description: "no shard output to merge")
        }
        func refuse(_ file: ShardOutputFile, _ problem: String) -> ShardMergeError {
            ShardMergeError(kind: .refused, description: "\(file.path): \(problem) (\(first.path) is shard \(first.header.shard)/\(first.header.shards))")
        }
        var seen: [Int: String] = [:]
        for file in files {
            let header = file.header
            if header.netsiftVersion != first.header.netsiftVersion {
                throw refuse(file, "written by another netsift version (\(header.netsiftVersion), not \(first.header.netsiftVersion))")
            }
            if header.capture != first.header.capture { throw refuse(file, "a shard of another capture") }
            if header.options != first.header.options { throw refuse(file, "analysed with other options") }
            if header.shards != first.header.shards {
                throw refuse(file, "shard \(header.shard) of \(header.shards), not of \(first.header.shards)")
            }
            if let other = seen[header.shard] { throw refuse(file, "shard \(header.shard) again (also \(other))") }
            seen[header.shard] = file.path
        }
        let missing = (1...first.header.shards).filter { seen[$0] == nil }
        if !missing.isEmpty {
            throw ShardMergeError(kind: .refused, description: "missing shard\(missing.count == 1 ? "" : "s") \(missing.map { "\($0)/\(first.header.shards)" }.joined(separator: ", ")): every shard's output is needed")
        }
    }

    /// What every shard saw of the whole capture must agree: else they read different captures.
    static func checkEnds(_ files: [ShardOutputFile]) throws(ShardMergeError) {
        let first = files[0].end!
        for file in files.dropFirst() {
            let end = file.end!
            if end.packets != first.packets || end.firstTime != first.firstTime || end.lastTime != first.lastTime
                || end.damage != first.damage || end.fragments != first.fragments {
                throw ShardMergeError(kind: .refused, description: "\(file.path): a shard of another capture (its packets differ from \(files[0].path)'s)")
            }
        }
    }
}
