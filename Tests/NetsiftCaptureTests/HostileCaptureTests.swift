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
