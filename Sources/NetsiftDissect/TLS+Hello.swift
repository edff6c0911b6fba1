import SwiftASN1
import NetsiftCapture

// The hello messages, decoded from a complete handshake message body into owned values.

/// One extension as it appears in a hello: its type and the length of its data.
public struct TLSExtension: Decodable, Sendable, Equatable, Encodable {
    public var type: UInt16
    public var length: Int
    public init(type: UInt16, length: Int) {
        self.type = type
        self.length = length
    }
}

/// Extension types this file decodes (IANA TLS ExtensionType Values).
enum TLSExtensionType {
    static let serverName: UInt16 = 0
    static let supportedGroups: UInt16 = 10
    static let ecPointFormats: UInt16 = 11
    static let signatureAlgorithms: UInt16 = 13
    static let alpn: UInt16 = 16
    static let supportedVersions: UInt16 = 43
    static let cookie: UInt16 = 44
    static let pskKeyExchangeModes: UInt16 = 45
    static let keyShare: UInt16 = 51
    static let encryptedClientHello: UInt16 = 0xFE0D
}

/// A ClientHello (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2), or the SSL 2.0 CLIENT-HELLO that
/// SSLv3/TLS clients may open with (RFC 5246 Appendix E.2). Lists keep the wire order and
/// GREASE values (RFC 8701); the fingerprints leave GREASE out.
public struct TLSClientHello: Decodable, Sendable, Equatable, Encodable {
    /// The version of the record that carried the message's first byte; 0x0002 for SSL 2.0 format.
    public var recordVersion: UInt16
    /// `legacy_version` (`client_version` before TLS 1.3).
    public var legacyVersion: UInt16
    /// Sent in SSL 2.0 record format (RFC 5246 Appendix E.2).
    public var isSSLv2: Bool
    /// `random` in hex: 32 bytes, or the SSL 2.0 challenge (16 to 32 bytes).
    public var random: String
    /// `legacy_session_id` in hex.
    public var sessionID: String
    public var cipherSuites: [UInt16]
    /// SSL 2.0 format only: the 3-byte CIPHER-SPECS (those whose first byte is 0 name TLS suites).
    public var sslv2CipherSpecs: [UInt32]
    public var compressionMethods: [UInt8]
    public var extensions: [TLSExtension]
    /// server_name (RFC 6066 §3): the first host_name.
    public var serverName: String?
    /// application_layer_protocol_negotiation (RFC 7301): the protocols offered, in order.
    public var alpn: [String]
    /// supported_versions (RFC 8446 §4.2.1), in order.
    public var supportedVersions: [UInt16]
    /// supported_groups (RFC 8446 §4.2.7).
    public var supportedGroups: [UInt16]
    /// ec_point_formats (RFC 8422 §5.1.2).
    public var ecPointFormats: [UInt8]
    /// signature_algorithms (RFC 8446 §4.2.3).
    public var signatureAlgorithms: [UInt16]
    /// key_share (RFC 8446 §4.2.8): the group of each share offered.
    public var keyShareGroups: [UInt16]
    /// psk_key_exchange_modes (RFC 8446 §4.2.9).
    public var pskKeyExchangeModes: [UInt8]
    /// encrypted_client_hello (0xfe0d, RFC 9849) is present: the real SNI is hidden.
    public var hasEncryptedClientHello: Bool
    /// Some list holds a GREASE value (RFC 8701).
    public var hasGREASE: Bool
    /// JA3's string and its MD5; nil for the SSL 2.0 format, which JA3 does not define.
    public var ja3: String?
    public var ja3Hash: String?
    /// JA4 and its raw form `JA4_r`; nil for the SSL 2.0 format.
    public var ja4: String?
    public var ja4Raw: String?

    /// The highest version offered: supported_versions' highest non-GREASE value, else `legacyVersion`.
    public var highestVersion: UInt16 {
        supportedVersions.filter { !TLSGREASE.contains($0) }.max() ?? legacyVersion
    }

    public var summaryLine: String {
        var line = isSSLv2 ? "TLS ClientHello (SSLv2 format)" : "TLS ClientHello"
        if let serverName { line += " SNI \(serverName)" }
        if hasEncryptedClientHello { line += " ECH" }
        if !alpn.isEmpty { line += " ALPN " + alpn.joined(separator: ",") }
        let versions = supportedVersions.filter { !TLSGREASE.contains($0) }
        line += " versions " + (versions.isEmpty ? [legacyVersion] : versions).map(TLSNames.version).joined(separator: ",")
        line += " \(cipherSuites.count + sslv2CipherSpecs.count) ciphers"
        if let ja3Hash { line += " JA3 \(ja3Hash)" }
        if let ja4 { line += " JA4 \(ja4)" }
        return line
    }
}

/// A ServerHello (RFC 8446 §4.1.3; RFC 5246 §7.4.1.3), or a HelloRetryRequest, which is a
/// ServerHello whose random is the SHA-256 of "HelloRetryRequest".
public struct TLSServerHello: Decodable, Sendable, Equatable, Encodable {
    public var recordVersion: UInt16
    public var legacyVersion: UInt16
    public var random: String
    public var sessionID: String
    public var cipherSuite: UInt16
    public var compressionMethod: UInt8
    public var extensions: [TLSExtension]
    /// supported_versions: the version the server selected (TLS 1.3 and later).
    public var selectedVersion: UInt16?
    public var isHelloRetryRequest: Bool
    /// The ALPN protocol the server chose.
    public var alpn: String?
    /// key_share: the server's share group, or the group a HelloRetryRequest asks for.
    public var keyShareGroup: UInt16?
    /// JA3S's string and its MD5.
    public var ja3s: String
    public var ja3sHash: String

    /// The version in use: the selected version, else the legacy one.
    public var negotiatedVersion: UInt16 { selectedVersion ?? legacyVersion }
    /// TLS 1.3 (or one of its drafts) was chosen: everything after this hello is encrypted,
    /// the certificate included.
    public var negotiatesTLS13: Bool { TLSStreamParser.isTLS13(negotiatedVersion) && !isHelloRetryRequest }

    /// RFC 8446 §4.1.3: the random that marks a HelloRetryRequest.
    static let helloRetryRequestRandom = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"

    public var summaryLine: String {
        var line = isHelloRetryRequest ? "TLS HelloRetryRequest" : "TLS ServerHello"
        line += " \(TLSNames.version(negotiatedVersion)) cipher 0x\(hexDigits(UInt32(cipherSuite), width: 4))"
        if let alpn { line += " ALPN \(alpn)" }
        if isHelloRetryRequest, let keyShareGroup { line += " group 0x\(hexDigits(UInt32(keyShareGroup), width: 4))" }
        return line + " JA3S \(ja3sHash)"
    }
}

/// The fields whose lengths TLS messages carry, named as in the RFCs, to say where a message is
/// malformed.
public enum TLSField: String, Decodable, Sendable, Encodable {
    case msgType = "msg_type", legacyVersion = "legacy_version", random, sessionID = "session_id"
    case cipherSuites = "cipher_suites", cipherSuite = "cipher_suite"
    case compressionMethods = "compression_methods", compressionMethod = "compression_method"
    case extensions, extensionHeader = "extension_type", extensionData = "extension_data"
    case serverNameList = "server_name_list", nameType = "name_type", hostName = "host_name"
    case protocolNameList = "protocol_name_list", protocolName = "protocol_name"
    case versions, selectedVersion = "selected_version"
    case namedGroupList = "named_group_list", ecPointFormatList = "ec_point_format_list"
    case supportedSignatureAlgorithms = "supported_signature_algorithms"
    case clientShares = "client_shares", group, keyExchange = "key_exchange"
    case keModes = "ke_modes", cookie
    case certificateList = "certificate_list", certificate = "ASN.1Cert"
    case statusType = "status_type", ocspResponse = "OCSPResponse"
    case cipherSpecs = "cipher_specs", challenge
    case alert
}

/// Reads a TLS structure front to back within `offset..<end` of one span: every read is checked
/// against the bytes left, and a vector's length (RFC 8446 §3.4) against what contains it.
struct TLSCursor {
    var offset: Int
    let end: Int
    /// The handshake message type, to say where a problem is.
    let message: UInt8

    var remaining: Int { end - offset }

    mutating func skip(_ count: Int, _ field: TLSField) throws(TLSProblem) -> Range<Int> {
        guard count <= remaining else {
            throw .truncated(message: message, field: field, needed: count, available: remaining)
        }
        defer { offset += count }
        return offset..<offset + count
    }

    mutating func u8(_ bytes: RawSpan, _ field: TLSField) throws(TLSProblem) -> UInt8 {
        bytes.u8(try skip(1, field).lowerBound)
    }

    mutating func u16(_ bytes: RawSpan, _ field: TLSField) throws(TLSProblem) -> UInt16 {
        bytes.be16(try skip(2, field).lowerBound)
    }

    mutating func u24(_ bytes: RawSpan, _ field: TLSField) throws(TLSProblem) -> Int {
        let at = try skip(3, field).lowerBound
        return Int(bytes.u8(at)) << 16 | Int(bytes.be16(at + 1))
    }

    /// A vector with a `lengthBytes`-byte length: a cursor over its contents; this one moves past it.
    mutating func vector(_ bytes: RawSpan, lengthBytes: Int, _ field: TLSField) throws(TLSProblem) -> TLSCursor {
        let length = switch lengthBytes {
        case 1: Int(try u8(bytes, field))
        case 2: Int(try u16(bytes, field))
        default: try u24(bytes, field)
        }
        guard length <= remaining else {
            throw .vectorPastEnd(message: message, field: field, length: length, available: remaining)
        }
        defer { offset += length }
        return TLSCursor(offset: offset, end: offset + length, message: message)
    }

    /// The 16-bit values of a list, a trailing odd byte ignored.
    func u16List(_ bytes: RawSpan) -> [UInt16] {
        stride(from: offset, to: end - 1, by: 2).map { bytes.be16($0) }
    }

    func u8List(_ bytes: RawSpan) -> [UInt8] {
        (offset..<end).map { bytes.u8($0) }
    }

    func hex(_ bytes: RawSpan) -> String { hexDigits(bytes, offset..<end) }
}

extension TLSClientHello {
    /// Decodes a ClientHello body. A fault in the fixed part (a field or vector past the end of
    /// the message) throws; a fault inside the extensions is appended to `problems` and the hello
    /// is still returned, as Wireshark does ("vector length is too large"): an extension whose
    /// inner vector overruns it is skipped, an extension header that overruns the block ends the walk.
    static func decode(_ bytes: RawSpan, body: Range<Int>, recordVersion: UInt16,
                       problems: inout [TLSProblem]) throws(TLSProblem) -> TLSClientHello {
        var c = TLSCursor(offset: body.lowerBound, end: body.upperBound, message: 1)
        let legacyVersion = try c.u16(bytes, .legacyVersion)
        let random = try c.skip(32, .random)
        let sessionID = try c.vector(bytes, lengthBytes: 1, .sessionID)
        let ciphers = try c.vector(bytes, lengthBytes: 2, .cipherSuites)
        let compression = try c.vector(bytes, lengthBytes: 1, .compressionMethods)
        var hello = TLSClientHello(
            recordVersion: recordVersion, legacyVersion: legacyVersion, isSSLv2: false,
            random: hexDigits(bytes, random),
            sessionID: sessionID.hex(bytes), cipherSuites: ciphers.u16List(bytes), sslv2CipherSpecs: [],
            compressionMethods: compression.u8List(bytes), extensions: [], serverName: nil, alpn: [],
            supportedVersions: [], supportedGroups: [], ecPointFormats: [], signatureAlgorithms: [],
            keyShareGroups: [], pskKeyExchangeModes: [], hasEncryptedClientHello: false, hasGREASE: false)
        var firstALPN: [UInt8]?
        // Extensions are absent from a TLS 1.0–1.2 hello that ends after its compression methods.
        if c.remaining > 0 {
            for (type, data) in walkExtensions(bytes, &c, problems: &problems) {
                hello.extensions.append(TLSExtension(type: type, length: data.remaining))
                do throws(TLSProblem) {
                    try hello.decodeExtension(type, data, bytes, firstALPN: &firstALPN)
                } catch {
                    problems.append(error)
                }
            }
        }
        let extensionTypes = hello.extensions.map(\.type)
        hello.hasGREASE = [hello.cipherSuites, extensionTypes, hello.supportedVersions, hello.supportedGroups,
                           hello.signatureAlgorithms, hello.keyShareGroups].contains { $0.contains(where: TLSGREASE.contains) }
        let ja3 = JA3.client(version: legacyVersion, cipherSuites: hello.cipherSuites, extensions: extensionTypes,
                             groups: hello.supportedGroups, pointFormats: hello.ecPointFormats)
        hello.ja3 = ja3
        hello.ja3Hash = JA3.md5(ja3)
        let ja4 = JA4.fingerprint(JA4.Input(
            version: hello.highestVersion, cipherSuites: hello.cipherSuites, extensions: extensionTypes, firstALPN: firstALPN,
            signatureAlgorithms: hello.signatureAlgorithms))
        hello.ja4 = ja4.ja4
        hello.ja4Raw = ja4.raw
        return hello
    }

    private mutating func decodeExtension(_ type: UInt16, _ data: TLSCursor, _ bytes: RawSpan,
                                          firstALPN: inout [UInt8]?) throws(TLSProblem) {
        var data = data
        switch type {
        case TLSExtensionType.serverName:
            var list = try data.vector(bytes, lengthBytes: 2, .serverNameList)
            while list.remaining > 0 {
                let nameType = try list.u8(bytes, .nameType)
                let name = try list.vector(bytes, lengthBytes: 2, .hostName)
                if nameType == 0 && serverName == nil {
                    serverName = String(decoding: name.u8List(bytes), as: UTF8.self)
                }
            }
        case TLSExtensionType.alpn:
            var list = try data.vector(bytes, lengthBytes: 2, .protocolNameList)
            while list.remaining > 0 {
                let name = try list.vector(bytes, lengthBytes: 1, .protocolName).u8List(bytes)
                if firstALPN == nil { firstALPN = name }
                alpn.append(String(decoding: name, as: UTF8.self))
            }
        case TLSExtensionType.supportedVersions:
            supportedVersions = try data.vector(bytes, lengthBytes: 1, .versions).u16List(bytes)
        case TLSExtensionType.supportedGroups:
            supportedGroups = try data.vector(bytes, lengthBytes: 2, .namedGroupList).u16List(bytes)
        case TLSExtensionType.ecPointFormats:
            ecPointFormats = try data.vector(bytes, lengthBytes: 1, .ecPointFormatList).u8List(bytes)
        case TLSExtensionType.signatureAlgorithms:
            signatureAlgorithms = try data.vector(bytes, lengthBytes: 2, .supportedSignatureAlgorithms).u16List(bytes)
        case TLSExtensionType.keyShare:
            var shares = try data.vector(bytes, lengthBytes: 2, .clientShares)
            while shares.remaining > 0 {
                keyShareGroups.append(try shares.u16(bytes, .group))
                _ = try shares.vector(bytes, lengthBytes: 2, .keyExchange)
            }
        case TLSExtensionType.pskKeyExchangeModes:
            pskKeyExchangeModes = try data.vector(bytes, lengthBytes: 1, .keModes).u8List(bytes)
        case TLSExtensionType.cookie:
            _ = try data.vector(bytes, lengthBytes: 2, .cookie)
        case TLSExtensionType.encryptedClientHello:
            hasEncryptedClientHello = true
        default:
            break
        }
    }

    /// Decodes an SSL 2.0 CLIENT-HELLO record body, message type included (RFC 5246 Appendix E.2:
    /// msg_type, version, cipher_spec_length, session_id_length, challenge_length, then the three).
    static func decodeSSLv2(_ bytes: RawSpan, body: Range<Int>) throws(TLSProblem) -> TLSClientHello {
        var c = TLSCursor(offset: body.lowerBound + 1, end: body.upperBound, message: 1)
        let version = try c.u16(bytes, .legacyVersion)
        let specLength = Int(try c.u16(bytes, .cipherSpecs))
        let sessionLength = Int(try c.u16(bytes, .sessionID))
        let challengeLength = Int(try c.u16(bytes, .challenge))
        let specs = try c.skip(specLength, .cipherSpecs)
        let session = try c.skip(sessionLength, .sessionID)
        let challenge = try c.skip(challengeLength, .challenge)
        return TLSClientHello(
            recordVersion: 0x0002, legacyVersion: version, isSSLv2: true,
            random: hexDigits(bytes, challenge),
            sessionID: hexDigits(bytes, session),
            cipherSuites: [],
            sslv2CipherSpecs: stride(from: specs.lowerBound, to: specs.upperBound - 2, by: 3).map {
                UInt32(bytes.u8($0)) << 16 | UInt32(bytes.be16($0 + 1))
            },
            compressionMethods: [], extensions: [], serverName: nil, alpn: [], supportedVersions: [],
            supportedGroups: [], ecPointFormats: [], signatureAlgorithms: [], keyShareGroups: [],
            pskKeyExchangeModes: [], hasEncryptedClientHello: false, hasGREASE: false)
    }
}

extension TLSServerHello {
    /// Decodes a ServerHello body; faults as for `TLSClientHello.decode`.
    static func decode(_ bytes: RawSpan, body: Range<Int>, recordVersion: UInt16,
                       problems: inout [TLSProblem]) throws(TLSProblem) -> TLSServerHello {
        var c = TLSCursor(offset: body.lowerBound, end: body.upperBound, message: 2)
        let legacyVersion = try c.u16(bytes, .legacyVersion)
        let randomRange = try c.skip(32, .random)
        let random = hexDigits(bytes, randomRange)
        let sessionID = try c.vector(bytes, lengthBytes: 1, .sessionID).hex(bytes)
        let cipherSuite = try c.u16(bytes, .cipherSuite)
        let compression = try c.u8(bytes, .compressionMethod)
        let isRetry = random == helloRetryRequestRandom
        var extensions: [TLSExtension] = []
        var selectedVersion: UInt16?
        var alpn: String?
        var keyShareGroup: UInt16?
        if c.remaining > 0 {
            for (type, data) in walkExtensions(bytes, &c, problems: &problems) {
                extensions.append(TLSExtension(type: type, length: data.remaining))
                var data = data
                do throws(TLSProblem) {
                    switch type {
                    case TLSExtensionType.supportedVersions:
                        selectedVersion = try data.u16(bytes, .selectedVersion)
                    case TLSExtensionType.alpn:
                        var list = try data.vector(bytes, lengthBytes: 2, .protocolNameList)
                        alpn = String(decoding: try list.vector(bytes, lengthBytes: 1, .protocolName).u8List(bytes),
                                      as: UTF8.self)
                    case TLSExtensionType.keyShare:
                        // A HelloRetryRequest names a group; a ServerHello carries a KeyShareEntry.
                        keyShareGroup = try data.u16(bytes, .group)
                        if !isRetry { _ = try data.vector(bytes, lengthBytes: 2, .keyExchange) }
                    default:
                        break
                    }
                } catch {
                    problems.append(error)
                }
            }
        }
        let ja3s = JA3.server(version: legacyVersion, cipherSuite: cipherSuite, extensions: extensions.map(\.type))
        return TLSServerHello(
            recordVersion: recordVersion, legacyVersion: legacyVersion, random: random, sessionID: sessionID,
            cipherSuite: cipherSuite, compressionMethod: compression, extensions: extensions,
            selectedVersion: selectedVersion, isHelloRetryRequest: isRetry, alpn: alpn,
            keyShareGroup: keyShareGroup, ja3s: ja3s, ja3sHash: JA3.md5(ja3s))
    }
}

/// The extensions block of a hello (`extensions<..2^16-1>`): each extension's type and a cursor
/// over its data. A block or extension that runs past what contains it is reported in `problems`
/// and ends the walk (Wireshark, after "vector length is too large" on the block, shows no
/// extension at all).
func walkExtensions(_ bytes: RawSpan, _ c: inout TLSCursor,
                    problems: inout [TLSProblem]) -> [(UInt16, TLSCursor)] {
    var block: TLSCursor
    do throws(TLSProblem) {
        block = try c.vector(bytes, lengthBytes: 2, .extensions)
    } catch {
        problems.append(error)
        return []
    }
    var found: [(UInt16, TLSCursor)] = []
    do throws(TLSProblem) {
        while block.remaining > 0 {
            let type = try block.u16(bytes, .extensionHeader)
            found.append((type, try block.vector(bytes, lengthBytes: 2, .extensionData)))
        }
    } catch {
        problems.append(error)
    }
    return found
}

/// A Certificate message of TLS 1.2 and earlier (RFC 5246 §7.4.2): `certificate_list`, each
/// `ASN.1Cert` a DER certificate, decoded in order. A list or certificate whose length runs past
/// what contains it, or a certificate that is not DER (swift-asn1 cannot parse it: Wireshark's
/// X.509 dissector raises a malformed-packet exception on the same bytes), is a problem, and
/// ends the list; a certificate that is DER but not an X.509 certificate is reported and skipped.
func decodeCertificates(_ bytes: RawSpan, body: Range<Int>) -> (count: Int, certificates: [TLSCertificate],
                                                                  problems: [TLSProblem]) {
    var c = TLSCursor(offset: body.lowerBound, end: body.upperBound, message: 11)
    var count = 0
    var certificates: [TLSCertificate] = []
    var problems: [TLSProblem] = []
    do throws(TLSProblem) {
        var list = try c.vector(bytes, lengthBytes: 3, .certificateList)
        while list.remaining > 0 {
            let certificate = try list.vector(bytes, lengthBytes: 3, .certificate)
            count += 1
            var der = [UInt8]()
            der.append(bytes, certificate.offset..<certificate.end)
            guard (try? SwiftASN1.DER.parse(der)) != nil else {
                problems.append(.certificateEncoding(index: count))
                break
            }
            do {
                certificates.append(try TLSCertificate.decode(der: der[...]))
            } catch {
                problems.append(.certificateUnreadable(index: count, reason: "\(error)"))
            }
        }
    } catch {
        problems.append(error)
    }
    return (count, certificates, problems)
}

/// CertificateStatus (RFC 6066 §8): status_type (1, ocsp), then the DER OCSPResponse in a 3-byte
/// length vector. nil with no problem for another status type (none is defined).
func decodeCertificateStatus(_ bytes: RawSpan, body: Range<Int>) -> (response: TLSOCSPResponse?, problems: [TLSProblem]) {
    var c = TLSCursor(offset: body.lowerBound, end: body.upperBound, message: 22)
    do throws(TLSProblem) {
        guard try c.u8(bytes, .statusType) == 1 else { return (nil, []) }
        let response = try c.vector(bytes, lengthBytes: 3, .ocspResponse)
        var der = [UInt8]()
        der.append(bytes, response.offset..<response.end)
        do {
            return (try TLSOCSPResponse.decode(der: der[...]), [])
        } catch {
            return (nil, [.ocspResponseUnreadable(reason: "\(error)")])
        }
    } catch {
        return (nil, [error])
    }
}
