import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Netsift

/// `netsift merge SHARD...`: the report of `analyze` from the outputs of `analyze --shard I/N`,
/// one per shard, as one run over the whole capture would have printed it.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the outputs of analyze --shard I/N into the report of one analysis.",
        discussion: """
        Give every shard's output, in any order: the merge replays their conversations and messages \
        as one run would have met them, so every finding (rates, counts over conversations, \
        percentiles) is judged as over the whole capture (docs/shards.md). Outputs of different \
        captures, options or versions, a shard twice or a missing shard are refused (exit 4).
        """
    )

    @Argument(help: "The shard outputs (analyze --shard I/N … > FILE), one per shard.")
    var files: [String]

    @Option(help: "Output format: text (for a terminal), json (one document), jsonl (one finding or flow per line), as analyze prints them.")
    var format = Analyze.Format.text

    @Flag(help: "Text: print every finding, not only the worst \(AnalysisText.findingsPerLayer) of each layer.")
    var all = false

    func run() throws {
        let report: AnalysisReport
        do {
            report = try Analysis.merge(paths: files)
        } catch {
            warn(error.description)
            throw ExitCode((error.kind == .refused ? ExitStatus.shardsRefused : .unreadable).rawValue)
        }
        try Analyze.print(report, format: format, all: all)
        if let damage = report.capture.damage {
            warn("\(report.capture.file): \(damage)")
            throw ExitCode(ExitStatus.damaged.rawValue)
        }
    }
}

/// `--shard I/N`: shard I (from 1) of N.
struct ShardNumber: ExpressibleByArgument {
    var index: Int
    var count: Int

    init?(argument: String) {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]),
              count >= 1, count <= 1 << 16, (1...count).contains(index) else { return nil }
        self.index = index
        self.count = count
    }

    var flowShard: FlowShard { FlowShard(index: index - 1, count: count) }

    /// What identifies each file for the merge: its name without the folder, and its size.
    static func members(_ paths: [String]) -> [ShardHeader.Capture.Member] {
        paths.map { path in
            var information = stat()
            let size = path != "-" && stat(path, &information) == 0 ? Int(information.st_size) : 0
            let name = path == "-" ? "-" : String(path.split(separator: "/").last ?? Substring(path))
            return ShardHeader.Capture.Member(name: name, bytes: size)
        }
    }
}
