import Foundation
import Testing
import NetsiftTestSupport

/// `--threads N` shares the conversations out among N workers and merges what they found: the
/// output must be the one a single thread prints, byte for byte (same conversations, same stream
/// numbers, same order, same findings and counters), whatever N and however the flows hash.
@Suite struct ThreadsTests {
    /// Every fixture of the project, and every capture of the corpus when it is there.
    static var captures: [String] { Corpus.fixturesAndCaptures }

    @Test(arguments: [["flows", "--format", "json"], ["analyze", "--format", "json"],
                      ["flows", "--format", "csv", "-f", "tcp"]])
    func severalThreadsPrintWhatOneDoes(command: [String]) throws {
        var compared = 0
        for path in Self.captures {
            let one = try CLI.run(command + ["--threads", "1", path])
            for threads in ["2", "3"] {
                let many = try CLI.run(command + ["--threads", threads, path])
                #expect(many.status == one.status, "\(path) --threads \(threads): exit status")
                #expect(many.stdout == one.stdout, "\(path) --threads \(threads): \(command.joined(separator: " "))")
                #expect(many.stderr == one.stderr, "\(path) --threads \(threads): warnings")
            }
            compared += 1
        }
        #expect(compared >= 15)
    }
}
