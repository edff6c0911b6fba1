import Foundation
import Testing
@testable import NetsiftCapture

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

/// A little-endian pcapng Section Header Block (draft-ietf-opsawg-pcapng §4.1) with `comments`
/// as opt_comment options (code 1), each padded to 4 bytes, then opt_endofopt.
func sectionHeader(comments: [[UInt8]] = []) -> [UInt8] {
    var options: [UInt8] = []
    for comment in comments {
        options += le16(1) + le16(UInt16(comment.count)) + comment + [UInt8](repeating: 0, count: (4 - comment.count % 4) % 4)
    }
    if !comments.isEmpty { options += le16(0) + le16(0) }
    let length = UInt32(28 + options.count)
    // Type, length, byte-order magic 1a2b3c4d, version 1.0, section length -1 (unknown), options, length.
    return le32(0x0A0D_0D0A) + le32(length) + le32(0x1A2B_3C4D) + le16(1) + le16(0)
        + [UInt8](repeating: 0xFF, count: 8) + options + le32(length)
}

/// An Interface Description Block (§4.2): link type 1 (Ethernet), reserved, snaplen 0, no options.
let interfaceDescription = le32(1) + le32(20) + le16(1) + le16(0) + le32(0) + le32(20)

func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
func le32(_ value: UInt32) -> [UInt8] { le16(UInt16(value & 0xFFFF)) + le16(UInt16(value >> 16)) }

/// A file of nothing but interface descriptions, or sections, or comments, used to grow the
/// parser's state with the file (each kept for `info`). They are now bounded: past 16,384
/// interfaces or 4,096 sections the file is damaged from there, at most 16 comments are kept per
/// section, and 1 KiB of each.
@Suite struct HostilePcapngStateTests {
    @Test func interfacesPastTheLimitAreDamage() throws {
        let head = sectionHeader() + Array([[UInt8]](repeating: interfaceDescription,
                                                     count: CaptureParser.maximumInterfaces).joined())
        let (_, end, parser) = try readFile(head + interfaceDescription)
        #expect(end == .damaged(CaptureDamage(kind: .tooManyBlocks(kind: "interfaces", limit: CaptureParser.maximumInterfaces),
                                              offset: head.count, packetsRead: 0)))
        #expect(parser.interfaces.count == CaptureParser.maximumInterfaces)
    }

    @Test func sectionsPastTheLimitAreDamage() throws {
        let head = Array([[UInt8]](repeating: sectionHeader(), count: CaptureParser.maximumSections).joined())
        let (_, end, parser) = try readFile(head + sectionHeader())
        #expect(end == .damaged(CaptureDamage(kind: .tooManyBlocks(kind: "sections", limit: CaptureParser.maximumSections),
                                              offset: head.count, packetsRead: 0)))
        #expect(parser.sections.count == CaptureParser.maximumSections)
    }

    @Test func commentsAreKeptBounded() throws {
        let long = [UInt8](repeating: 0x61, count: 5_000)
        let comments = [long] + [[UInt8]](repeating: Array("short".utf8), count: 20)
        let (_, end, parser) = try readFile(sectionHeader(comments: comments))
        #expect(end == .finished)
        #expect(parser.sections.first?.comments.count == CaptureParser.maximumCommentsPerSection)
        #expect(parser.sections.first?.comments.first?.utf8.count == CaptureParser.maximumOptionText)
        #expect(parser.sections.first?.comments.last == "short")
    }
}
