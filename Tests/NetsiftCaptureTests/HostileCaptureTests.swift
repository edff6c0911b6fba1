import Foundation
import Testing
@testable import NetsiftCapture
import NetsiftTestSupport

// Captures built to break the reader, and inputs the fuzzer (scripts/fuzz) found. Each must end
// in a clear outcome, the same whichever way the bytes arrive.

/// Found by fuzzing (capture target): a file that is not a capture, delivered 6 bytes first as a
/// pipe may deliver it, was described from those 6 bytes ("starts with 02 00 00 00 00 00 (only 6
/// bytes)") while the mapped file showed 8. The description now waits for 8 bytes.
@Test func notACaptureIsDescribedTheSameFromAStream() throws {
    let bytes = hex("02000000 00000000 d4c3b2a1 02000400")
    let whole = try readFile(bytes)
    let streamed = readChunked(bytes, chunks: [6, 1])
    guard case .rejected(let error) = whole.end else { Issue.record("expected a rejection, got \(whole.end)"); return }
    #expect(error.kind == .notACapture(what: "starts with 02 00 00 00 00 00 00 00"))
    #expect(streamed.outcome == .rejected(error.kind))
}


/// A file of nothing but interface descriptions, or sections, or comments, used to grow the
/// parser's state with the file (each kept for `info`). They are now bounded: past 16,384
/// interfaces or 4,096 sections the file is damaged from there, at most 16 comments are kept per
/// section, and 1 KiB of each.
@Suite struct HostilePcapngStateTests {
    @Test func interfacesPastTheLimitAreDamage() throws {
        let head = Build.pcapngSection() + Array([[UInt8]](repeating: Build.pcapngInterface(),
                                                     count: CaptureParser.maximumInterfaces).joined())
        let (_, end, parser) = try readFile(head + Build.pcapngInterface())
        #expect(end == .damaged(CaptureDamage(kind: .tooManyBlocks(kind: "interfaces", limit: CaptureParser.maximumInterfaces),
                                              offset: head.count, packetsRead: 0)))
        #expect(parser.interfaces.count == CaptureParser.maximumInterfaces)
    }

    @Test func sectionsPastTheLimitAreDamage() throws {
        let head = Array([[UInt8]](repeating: Build.pcapngSection(), count: CaptureParser.maximumSections).joined())
        let (_, end, parser) = try readFile(head + Build.pcapngSection())
        #expect(end == .damaged(CaptureDamage(kind: .tooManyBlocks(kind: "sections", limit: CaptureParser.maximumSections),
                                              offset: head.count, packetsRead: 0)))
        #expect(parser.sections.count == CaptureParser.maximumSections)
    }

    @Test func commentsAreKeptBounded() throws {
        let long = [UInt8](repeating: 0x61, count: 5_000)
        let comments = [long] + [[UInt8]](repeating: Array("short".utf8), count: 20)
        let (_, end, parser) = try readFile(Build.pcapngSection(comments: comments))
        #expect(end == .finished)
        #expect(parser.sections.first?.comments.count == CaptureParser.maximumCommentsPerSection)
        #expect(parser.sections.first?.comments.first?.utf8.count == CaptureParser.maximumOptionText)
        #expect(parser.sections.first?.comments.last == "short")
    }
}
