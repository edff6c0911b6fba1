import Crypto

// Client and server fingerprints computed from a decoded hello, and the names used in summaries.

public enum TLSGREASE {
    /// RFC 8701 §2: the reserved 16-bit values 0x0A0A, 0x1A1A, … 0xFAFA (both bytes equal, low
    /// nibble 0xA), sent by clients so that servers learn to ignore unknown values. Fingerprints
    /// leave them out, since clients pick them at random.
    @inlinable public static func contains(_ value: UInt16) -> Bool {
        value & 0x0F0F == 0x0A0A && value >> 8 == value & 0xFF
    }
}

/// JA3 and JA3S (Salesforce): the hello's numbers in decimal, GREASE left out, and the MD5 of that
/// string, as Wireshark's `tls.handshake.ja3_full` / `tls.handshake.ja3`.
enum JA3 {
    /// `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, lists joined by "-".
    static func client(version: UInt16, cipherSuites: [UInt16], extensions: [UInt16], groups: [UInt16],
                       pointFormats: [UInt8]) -> String {
        [String(version), decimalList(cipherSuites), decimalList(extensions), decimalList(groups),
         pointFormats.map { String($0) }.joined(separator: "-")].joined(separator: ",")
    }

    /// `SSLVersion,Cipher,Extensions`.
    static func server(version: UInt16, cipherSuite: UInt16, extensions: [UInt16]) -> String {
        "\(version),\(cipherSuite),\(decimalList(extensions))"
    }

    static func md5(_ text: String) -> String {
        hexDigits(Insecure.MD5.hash(data: Array(text.utf8)))
    }

    private static func decimalList(_ values: [UInt16]) -> String {
        values.filter { !TLSGREASE.contains($0) }.map { String($0) }.joined(separator: "-")
    }
}

/// JA4 (FoxIO, technical_details/JA4.md), the TLS-over-TCP form:
/// `t` + version + `d`/`i` (SNI or not) + cipher count + extension count + ALPN first/last
/// character, `_`, the first 12 hex digits of SHA-256 over the sorted cipher list, `_`, the same
/// over the sorted extension list (SNI and ALPN left out) followed by `_` and the signature
/// algorithms in their order. GREASE is ignored everywhere.
enum JA4 {
    struct Input {
        /// The highest version offered (`TLSClientHello.highestVersion`).
        var version: UInt16
        var cipherSuites: [UInt16]
        var extensions: [UInt16]
        var firstALPN: [UInt8]?
        var signatureAlgorithms: [UInt16]
    }

    /// The fingerprint and its raw (unhashed, sorted) form, `JA4_r`.
    static func fingerprint(_ input: Input) -> (ja4: String, raw: String) {
        let ciphers = input.cipherSuites.filter { !TLSGREASE.contains($0) }
        let extensions = input.extensions.filter { !TLSGREASE.contains($0) }
        let signatures = input.signatureAlgorithms.filter { !TLSGREASE.contains($0) }
        let head = "t" + versionCode(input.version) + (extensions.contains(0) ? "d" : "i")
            + twoDigits(ciphers.count) + twoDigits(extensions.count) + alpnCharacters(input.firstALPN)

        let cipherList = ciphers.sorted().map { hexDigits(UInt32($0), width: 4) }.joined(separator: ",")
        var extensionList = extensions.filter { $0 != 0x0000 && $0 != 0x0010 }.sorted().map { hexDigits(UInt32($0), width: 4) }
            .joined(separator: ",")
        if !signatures.isEmpty { extensionList += "_" + signatures.map { hexDigits(UInt32($0), width: 4) }.joined(separator: ",") }
        let ja4 = head + "_" + hash12(cipherList, empty: ciphers.isEmpty) + "_"
            + hash12(extensionList, empty: extensionList.isEmpty)
        return (ja4, head + "_" + cipherList + "_" + extensionList)
    }

    static func versionCode(_ version: UInt16) -> String {
        switch version {
        case 0x0304: "13"
        case 0x0303: "12"
        case 0x0302: "11"
        case 0x0301: "10"
        case 0x0300: "s3"
        case 0x0002: "s2"
        default: "00"
        }
    }

    /// The first and last character of the first ALPN value; "00" when there is none or it is
    /// empty; the first and last hex digit of the value when either end byte is not alphanumeric.
    static func alpnCharacters(_ value: [UInt8]?) -> String {
        guard let value, let first = value.first, let last = value.last else { return "00" }
        func alphanumeric(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        if alphanumeric(first) && alphanumeric(last) {
            return String(decoding: [first, last], as: UTF8.self)
        }
        let digits = hexDigits(value)
        return String([digits.first!, digits.last!])
    }

    private static func twoDigits(_ count: Int) -> String {
        let n = min(count, 99)
        return n < 10 ? "0\(n)" : "\(n)"
    }

    /// The first 12 hex digits of SHA-256, or twelve zeros for an empty list.
    static func hash12(_ text: String, empty: Bool) -> String {
        empty ? "000000000000" : String(hexDigits(SHA256.hash(data: Array(text.utf8))).prefix(12))
    }
}

/// Lower-case hex of bytes, two digits each.
func hexDigits<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// The bytes of `range` within `bytes` in lower-case hex.
func hexDigits(_ bytes: RawSpan, _ range: Range<Int>) -> String {
    bytes.withUnsafeBytes { hexDigits($0[range]) }
}

/// `value` in lower-case hex, zero-padded to `width` digits.
func hexDigits(_ value: UInt32, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// Names for the numbers TLS messages carry, for summary lines.
public enum TLSNames {
    /// "TLS1.2", "SSL3.0", "TLS1.3-draft23", "GREASE", or the hex value.
    public static func version(_ version: UInt16) -> String {
        switch version {
        case 0x0002: return "SSL2.0"
        case 0x0300: return "SSL3.0"
        case 0x0301: return "TLS1.0"
        case 0x0302: return "TLS1.1"
        case 0x0303: return "TLS1.2"
        case 0x0304: return "TLS1.3"
        case 0x7F00...0x7FFF: return "TLS1.3-draft\(version & 0xFF)"
        default: return TLSGREASE.contains(version) ? "GREASE" : "0x" + hexDigits(UInt32(version), width: 4)
        }
    }

    /// The handshake message types of RFC 8446 §4 and RFC 5246 §7.4 (IANA registry names).
    public static func handshakeType(_ type: UInt8) -> String {
        switch type {
        case 0: "HelloRequest"
        case 1: "ClientHello"
        case 2: "ServerHello"
        case 3: "HelloVerifyRequest"
        case 4: "NewSessionTicket"
        case 5: "EndOfEarlyData"
        case 6: "HelloRetryRequest"
        case 8: "EncryptedExtensions"
        case 11: "Certificate"
        case 12: "ServerKeyExchange"
        case 13: "CertificateRequest"
        case 14: "ServerHelloDone"
        case 15: "CertificateVerify"
        case 16: "ClientKeyExchange"
        case 20: "Finished"
        case 21: "CertificateURL"
        case 22: "CertificateStatus"
        case 23: "SupplementalData"
        case 24: "KeyUpdate"
        case 25: "CompressedCertificate"
        case 254: "MessageHash"
        default: "handshake type \(type)"
        }
    }

    /// Record content types (RFC 8446 §5.1, RFC 6520 for heartbeat).
    public static func contentType(_ type: UInt8) -> String {
        switch type {
        case 20: "change_cipher_spec"
        case 21: "alert"
        case 22: "handshake"
        case 23: "application_data"
        case 24: "heartbeat"
        default: "content type \(type)"
        }
    }

    /// Alert descriptions (RFC 8446 §6, RFC 5246 §7.2, IANA registry).
    public static func alertDescription(_ description: UInt8) -> String {
        switch description {
        case 0: "close_notify"
        case 10: "unexpected_message"
        case 20: "bad_record_mac"
        case 21: "decryption_failed"
        case 22: "record_overflow"
        case 30: "decompression_failure"
        case 40: "handshake_failure"
        case 41: "no_certificate"
        case 42: "bad_certificate"
        case 43: "unsupported_certificate"
        case 44: "certificate_revoked"
        case 45: "certificate_expired"
        case 46: "certificate_unknown"
        case 47: "illegal_parameter"
        case 48: "unknown_ca"
        case 49: "access_denied"
        case 50: "decode_error"
        case 51: "decrypt_error"
        case 60: "export_restriction"
        case 70: "protocol_version"
        case 71: "insufficient_security"
        case 80: "internal_error"
        case 86: "inappropriate_fallback"
        case 90: "user_canceled"
        case 100: "no_renegotiation"
        case 109: "missing_extension"
        case 110: "unsupported_extension"
        case 111: "certificate_unobtainable"
        case 112: "unrecognized_name"
        case 113: "bad_certificate_status_response"
        case 114: "bad_certificate_hash_value"
        case 115: "unknown_psk_identity"
        case 116: "certificate_required"
        case 120: "no_application_protocol"
        case 121: "ech_required"
        default: "alert \(description)"
        }
    }

    /// SSL 2.0 message types (draft-hickman-netscape-ssl-00).
    public static func sslv2MessageType(_ type: UInt8) -> String {
        switch type {
        case 0: "ERROR"
        case 1: "CLIENT-HELLO"
        case 2: "CLIENT-MASTER-KEY"
        case 3: "CLIENT-FINISHED"
        case 4: "SERVER-HELLO"
        case 5: "SERVER-VERIFY"
        case 6: "SERVER-FINISHED"
        case 7: "REQUEST-CERTIFICATE"
        case 8: "CLIENT-CERTIFICATE"
        default: "SSLv2 message \(type)"
        }
    }
}
