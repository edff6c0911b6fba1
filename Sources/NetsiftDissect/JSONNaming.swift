/// One JSON convention for every output (snake_case keys, as Zeek's and Suricata's logs and the
/// Elastic Common Schema write them; enums as strings). Swift names are camelCase: the encoder
/// converts keys with `snakeCased`, and enums with payloads encode through `TaggedCase`.

/// "handshakeRTTNanoseconds" -> "handshake_rtt_nanoseconds", "ipv4Hint" -> "ipv4_hint",
/// "isSSLv2" -> "is_sslv2", "upgradeToH2C" -> "upgrade_to_h2c". Only a
/// Swift-style name changes (a lowercase ASCII letter first, letters and digits only, an uppercase
/// letter somewhere): keys that are data ("SF", "10.0.0.1:53", "www.example.com", "syns_sent")
/// are left as they are.
public func snakeCased(_ name: String) -> String {
    let scalars = Array(name.utf8)
    guard let first = scalars.first, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z"),
          scalars.allSatisfy({ isUpper($0) || isLower($0) || isDigit($0) }),
          scalars.contains(where: isUpper) else { return name }
    var out: [UInt8] = []
    out.reserveCapacity(scalars.count + 4)
    for (index, byte) in scalars.enumerated() {
        if isUpper(byte) && index > 0 {
            let previous = scalars[index - 1]
            // "SSLv2", "IPv6": a version letter and its digit stay with the acronym.
            let nextIsVersion = index + 2 < scalars.count && scalars[index + 1] == UInt8(ascii: "v")
                && isDigit(scalars[index + 2])
            let nextIsLower = index + 1 < scalars.count && isLower(scalars[index + 1]) && !nextIsVersion
            // A word starts at an uppercase letter after a lowercase letter or digit, and at the
            // last capital of an acronym followed by a lowercase letter ("RTTNanoseconds").
            // After digits, only when a lowercase word came before them ("ipv4Hint", not "H2C").
            var beforeDigits = index - 1
            while beforeDigits > 0 && isDigit(scalars[beforeDigits]) { beforeDigits -= 1 }
            let afterWordDigits = isDigit(previous) && isLower(scalars[beforeDigits])
            if isLower(previous) || afterWordDigits || (isUpper(previous) && nextIsLower) {
                out.append(UInt8(ascii: "_"))
            }
        }
        out.append(isUpper(byte) ? byte + 32 : byte)
    }
    return String(decoding: out, as: UTF8.self)
}

/// `text` as a JSON string, quoted, with what RFC 8259 requires escaped.
public func jsonQuoted(_ text: String) -> String {
    var out: [UInt8] = []
    jsonQuote(text, into: &out)
    return String(decoding: out, as: UTF8.self)
}

/// `text` as a JSON string literal, appended as UTF-8: only the quote, the backslash and control
/// characters are escaped, as RFC 8259 requires.
public func jsonQuote(_ text: String, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
        case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
        case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
        case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
        case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
        case ..<0x20:
            let hex = String(byte, radix: 16)
            out.append(contentsOf: (#"\u"# + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
        default: out.append(byte)
        }
    }
    out.append(UInt8(ascii: "\""))
}

private func isUpper(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") }
private func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

/// An enum case as one JSON object, instead of Swift's synthesized `{"clientHello": {"_0": {…}}}`:
/// `"kind"` names the case in snake_case; a struct payload's fields stand beside it, named fields
/// after it. A payload that is itself such an enum goes under its own key, so that the two
/// `kind`s do not collide.
///
///     case record(TLSRecord)            -> {"kind": "record", "content_type": 23, "length": 58}
///     case recordTooLong(length: Int)   -> {"kind": "record_too_long", "length": 70000}
public struct TaggedCase {
    public static let key = "kind"
    let encoder: any Encoder

    public init(_ encoder: any Encoder) { self.encoder = encoder }

    /// The case `name` (its Swift spelling), its payload's fields merged in (a struct that encodes
    /// as an object), then `fields` (by their Swift labels; nil values are left out).
    public func encode(_ name: String, merging payload: (any Encodable)? = nil,
                       _ fields: KeyValuePairs<String, (any Encodable)?> = [:]) throws {
        if let payload { try payload.encode(to: encoder) }
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(snakeCased(name), forKey: JSONKey(Self.key))
        for (label, value) in fields {
            guard let value else { continue }
            try container.encode(value, forKey: JSONKey(label))
        }
    }
}

/// A JSON object key by name: what the encoders and decoders of the convention name keys with.
public struct JSONKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}
