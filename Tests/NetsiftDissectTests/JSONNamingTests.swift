import Foundation
import NetsiftDissect
import Testing

/// The JSON convention's names (docs/json.md): Swift's camelCase property names in snake_case,
/// data keys untouched, and enum cases as `{"kind": …}` objects instead of Swift's `_0` wrappers.
@Suite struct JSONNamingTests {
    @Test(arguments: [
        ("packets", "packets"), ("firstFrame", "first_frame"), ("handshakeRTTNanoseconds", "handshake_rtt_nanoseconds"),
        ("ipv4Hint", "ipv4_hint"), ("isSSLv2", "is_sslv2"), ("upgradeToH2C", "upgrade_to_h2c"), ("ja3Hash", "ja3_hash"),
        ("streamID", "stream_id"), ("droppedByOS", "dropped_by_os"), ("likelyCause", "likely_cause"),
    ])
    func swiftNamesBecomeSnakeCase(name: String, expected: String) {
        #expect(snakeCased(name) == expected)
    }

    @Test(arguments: ["SF", "RSTOS0", "10.0.0.1:53", "www.Example.com", "syns_sent", "dns", "HTTP2", "a-b"])
    func dataKeysAreLeftAlone(key: String) {
        #expect(snakeCased(key) == key)
    }

    @Test func enumCasesAreKindObjects() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        func json(_ value: some Encodable) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        // A payload struct's fields stand beside "kind"; named payloads by their labels; none: "kind" alone.
        #expect(try json(TLSMessage.record(TLSRecord(contentType: 23, length: 58)))
                == #"{"content_type":23,"kind":"record","length":58}"#)
        #expect(try json(TLSMessage.changeCipherSpec) == #"{"kind":"change_cipher_spec"}"#)
        #expect(try json(TLSProblem.recordTooLong(length: 70_000)) == #"{"kind":"record_too_long","length":70000}"#)
        // An enum payload goes under its own key, so the two kinds do not collide.
        #expect(try json(TLSMessage.problem(.alertLength(3))) == #"{"kind":"problem","problem":{"kind":"alert_length","length":3}}"#)
        #expect(try json(HTTP2Payload.windowUpdate(increment: 1024)) == #"{"increment":1024,"kind":"window_update"}"#)
        // An absent optional is left out, never null.
        #expect(try json(HTTP2Payload.data(dataLength: 10, padLength: nil)) == #"{"data_length":10,"kind":"data"}"#)
    }
}
