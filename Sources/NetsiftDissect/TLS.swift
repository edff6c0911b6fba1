import NetsiftCapture

/// What the TLS parser reports, in stream order: the handshake in cleartext, then only that
/// encrypted records went by.
public enum TLSMessage: Decodable, Sendable, Equatable, Encodable {
    case clientHello(TLSClientHello)
    case serverHello(TLSServerHello)
    /// Any other cleartext handshake message (Certificate, ServerKeyExchange, Finished…).
    case handshake(TLSHandshake)
    case changeCipherSpec
    case alert(TLSAlert)
    /// A record noted by type and length only: application data, a handshake record once
    /// encrypted, a heartbeat.
    case record(TLSRecord)
    /// An SSL 2.0 record other than CLIENT-HELLO.
    case sslv2(SSLv2Record)
    /// Something malformed or beyond a limit; `TLSProblem.stopsDirection` says whether parsing stopped.
    case problem(TLSProblem)

    public var summaryLine: String {
        switch self {
        case .clientHello(let hello): hello.summaryLine
        case .serverHello(let hello): hello.summaryLine
        case .handshake(let message): message.summaryLine
        case .changeCipherSpec: "TLS ChangeCipherSpec"
        case .alert(let alert): alert.summaryLine
        case .record(let record): record.summaryLine
        case .sslv2(let record): record.summaryLine
        case .problem(let problem): "TLS " + (problem.isMalformed ? "malformed: " : "") + problem.description
        }
    }
}

/// A cleartext handshake message other than the hellos: its type and length.
public struct TLSHandshake: Decodable, Sendable, Equatable, Encodable {
    public var type: UInt8
    public var length: Int
    /// Certificate (TLS 1.2 and earlier): how many certificates the chain holds.
    public var certificateCount: Int?
    /// Certificate: the certificates that could be decoded, leaf first (as sent).
    public var certificates: [TLSCertificate]?
    /// CertificateStatus (TLS 1.2 and earlier): the stapled OCSP response, when it could be decoded.
    public var ocspResponse: TLSOCSPResponse?

    public init(type: UInt8, length: Int, certificateCount: Int? = nil, certificates: [TLSCertificate]? = nil,
                ocspResponse: TLSOCSPResponse? = nil) {
        self.type = type
        self.length = length
        self.certificateCount = certificateCount
        self.certificates = certificates
        self.ocspResponse = ocspResponse
    }

    /// One line, then (for a Certificate message) one indented line per certificate of the chain.
    public var summaryLine: String {
        var line = "TLS \(TLSNames.handshakeType(type)) \(length) bytes"
        if let certificateCount { line += ", \(plural(certificateCount, "certificate"))" }
        for (index, certificate) in (certificates ?? []).enumerated() {
            line += "\n      [\(index)] " + certificate.summaryLine
        }
        if let ocspResponse { line += "\n      " + ocspResponse.summaryLine }
        return line
    }
}

/// An alert (RFC 8446 §6): level and description when it is in cleartext; nil for both when it
/// is encrypted (sent after ChangeCipherSpec, or under TLS 1.3's handshake keys).
public struct TLSAlert: Decodable, Sendable, Equatable, Encodable {
    /// 1 warning, 2 fatal.
    public var level: UInt8?
    public var description: UInt8?
    public var encrypted: Bool

    public init(level: UInt8?, description: UInt8?, encrypted: Bool) {
        self.level = level
        self.description = description
        self.encrypted = encrypted
    }

    public var summaryLine: String {
        guard let level, let description else { return "TLS encrypted alert" }
        let levelName = level == 1 ? "warning" : level == 2 ? "fatal" : "level \(level)"
        return "TLS alert \(levelName) \(TLSNames.alertDescription(description)) (\(description))"
    }
}

/// A record noted by type and length only.
public struct TLSRecord: Decodable, Sendable, Equatable, Encodable {
    public var contentType: UInt8
    public var length: Int

    public init(contentType: UInt8, length: Int) {
        self.contentType = contentType
        self.length = length
    }

    public var summaryLine: String {
        switch contentType {
        case 22: "TLS encrypted handshake \(length) bytes"
        default: "TLS \(TLSNames.contentType(contentType)) \(length) bytes"
        }
    }
}

/// An SSL 2.0 record: its message type when in cleartext, nil once encrypted.
public struct SSLv2Record: Decodable, Sendable, Equatable, Encodable {
    public var messageType: UInt8?
    public var length: Int
    /// SERVER-HELLO: the server's certificate, when it could be decoded.
    public var certificates: [TLSCertificate]?

    public init(messageType: UInt8?, length: Int, certificates: [TLSCertificate]? = nil) {
        self.messageType = messageType
        self.length = length
        self.certificates = certificates
    }

    public var summaryLine: String {
        guard let messageType else { return "SSLv2 encrypted record \(length) bytes" }
        var line = "SSLv2 \(TLSNames.sslv2MessageType(messageType)) \(length) bytes"
        for (index, certificate) in (certificates ?? []).enumerated() {
            line += "\n      [\(index)] " + certificate.summaryLine
        }
        return line
    }
}

/// What is wrong with a TLS stream, and where.
public enum TLSProblem: Decodable, Error, Sendable, Equatable, Encodable, CustomStringConvertible {
    /// The direction's first record is neither a TLS record nor an SSL 2.0 CLIENT-HELLO / SERVER-HELLO.
    case notTLS(firstByte: UInt8)
    /// A record header with a content type TLS does not define.
    case unknownContentType(UInt8)
    /// A record header whose version is not 3.x.
    case unknownRecordVersion(UInt16)
    /// A record longer than any TLS allows (2^14 + 2048, RFC 5246 §6.2.3).
    case recordTooLong(length: Int)
    /// A fixed-size field the message ends before (`message` is the handshake type).
    case truncated(message: UInt8, field: TLSField, needed: Int, available: Int)
    /// A vector whose length runs past what contains it (Wireshark: "Vector length N is too large").
    case vectorPastEnd(message: UInt8, field: TLSField, length: Int, available: Int)
    /// An alert record whose length is not a whole number of 2-byte alerts.
    case alertLength(Int)
    /// A certificate (1-based) that is not DER (lengths that run past its bytes, bad encodings).
    case certificateEncoding(index: Int)
    /// A certificate (1-based) that is DER but not an X.509 certificate swift-certificates reads.
    case certificateUnreadable(index: Int, reason: String)
    /// A handshake message longer than `TLSStreamParser.maximumHandshakeLength`: skipped unparsed.
    case handshakeTooLong(type: UInt8, length: Int)
    /// A CertificateStatus whose OCSP response is not one swift-asn1 reads as RFC 6960's.
    case ocspResponseUnreadable(reason: String)

    /// Malformed in Wireshark's sense (a length that runs past its container, a record no TLS
    /// could send). A message over our buffer limit is legal TLS, only not parsed; a direction
    /// that never was TLS (a server answering a TLS client in plain text) is not malformed TLS.
    public var isMalformed: Bool {
        switch self {
        case .handshakeTooLong, .notTLS, .certificateUnreadable, .ocspResponseUnreadable: false
        default: true
        }
    }

    /// The direction cannot be followed any more: record boundaries are lost.
    public var stopsDirection: Bool {
        switch self {
        case .notTLS, .unknownContentType, .unknownRecordVersion, .recordTooLong: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .notTLS(let byte):
            "not TLS: the stream starts with byte 0x\(hexDigits([byte])); this direction is not parsed"
        case .unknownContentType(let type):
            "record content type \(type) is not TLS; stopped parsing this direction"
        case .unknownRecordVersion(let version):
            "record version 0x\(hexDigits(UInt32(version), width: 4)) is not 3.x; stopped parsing this direction"
        case .recordTooLong(let length):
            "record length \(length) > \(TLSStreamParser.maximumRecordLength); stopped parsing this direction"
        case .truncated(let message, let field, let needed, let available):
            "\(TLSNames.handshakeType(message)): \(field.rawValue) needs \(needed) bytes, \(available) left"
        case .vectorPastEnd(let message, let field, let length, let available):
            "\(TLSNames.handshakeType(message)): \(field.rawValue) vector length \(length) runs past the \(available) bytes left"
        case .alertLength(let length):
            "alert record of \(length) bytes (alerts are 2 bytes)"
        case .certificateEncoding(let index):
            "Certificate: certificate \(index) is not DER (its lengths run past its bytes)"
        case .certificateUnreadable(let index, let reason):
            "Certificate: certificate \(index) is not a readable X.509 certificate (\(reason))"
        case .ocspResponseUnreadable(let reason):
            "CertificateStatus: the OCSP response is not readable (\(reason))"
        case .handshakeTooLong(let type, let length):
            "\(TLSNames.handshakeType(type)) of \(length) bytes > \(TLSStreamParser.maximumHandshakeLength), skipped"
        }
    }
}

/// Parses one direction of a TLS connection from its reassembled bytes (see APP-CONTRACT.md).
///
/// Record layer (RFC 8446 §5.1, RFC 5246 §6.2): a 5-byte header (content type, version, length)
/// then the fragment. A record of unknown content type, a version other than 3.x or a length over
/// `maximumRecordLength` means this is not (or no longer) TLS: it is reported and the direction
/// stops. Handshake messages may be split across records and records across segments; several
/// messages may share a record. A direction may open with an SSL 2.0 record (RFC 5246 Appendix
/// E.2; the high bit of the first byte set), and then keeps SSL 2.0 framing until a TLS record
/// header appears.
///
/// What is decoded: hellos in full, other handshake messages by type and length, alerts and
/// ChangeCipherSpec. After this direction's ChangeCipherSpec (TLS 1.2 and earlier), after its own
/// TLS 1.3 ServerHello, or after an SSL 2.0 CLIENT-MASTER-KEY / SERVER-HELLO, records are
/// encrypted: they are only noted (an alert then reports no level or description, as Wireshark
/// without keys). In TLS 1.3 a ChangeCipherSpec is the middlebox-compatibility dummy (RFC 8446
/// Appendix D.4) and changes nothing; a direction learns that the peer chose TLS 1.3 through
/// `peerSent(_:)`.
///
/// Memory: one handshake message is buffered at a time, at most `maximumHandshakeLength`
/// (64 KiB) plus its 4-byte header; a longer one is reported (`handshakeTooLong`) and skipped
/// without buffering. Encrypted records are counted through, never buffered. A cleartext SSL 2.0
/// record is at most 32 KiB by its header. Decoded messages wait for the end of their record
/// (at most one record's worth, 18 KiB of input).
public struct TLSStreamParser: Sendable {
    /// RFC 5246 §6.2.3: TLSCiphertext.length is at most 2^14 + 2048.
    public static let maximumRecordLength = 16_384 + 2_048
    /// The longest handshake message buffered (a certificate chain is the usual long one).
    public static let maximumHandshakeLength = 65_536

    enum Phase: Sendable {
        /// Reading a record header into `header`.
        case header
        /// Inside a record's fragment, `remaining` bytes to go.
        case body
        /// After a gap: waiting for a segment that starts with a TLS record header.
        case resync
        case stopped
    }

    var phase = Phase.header
    /// A record header read so far (2, 3 or 5 bytes).
    var header: [UInt8] = []
    var contentType: UInt8 = 0
    var recordVersion: UInt16 = 0
    var recordLength = 0
    var remaining = 0
    /// SSL 2.0 framing: 0 for a TLS record, else the SSL 2.0 header length (2 or 3).
    var sslv2Header = 0

    /// The handshake message being assembled (header included), or the cleartext SSL 2.0 record.
    var buffer: [UInt8] = []
    /// The first byte (level) of an alert split across segments.
    var alertLevel: UInt8?
    /// Messages complete in the current record, reported when it ends.
    var pending: [TLSMessage] = []
    /// Bytes of an over-long handshake message still to skip.
    var skipping = 0
    /// The version of the record that carried the current handshake message's first byte.
    var messageRecordVersion: UInt16 = 0

    var started = false
    /// This direction's records use SSL 2.0 framing (it opened with an SSL 2.0 record).
    var sslv2 = false
    /// This direction's records are encrypted from here on.
    var encrypted = false
    /// The current record was encrypted when it began.
    var recordEncrypted = false
    /// TLS 1.3 is in use (this side's ServerHello said so, or the peer's did): ChangeCipherSpec
    /// is the compatibility dummy.
    var tls13 = false

    public init() {
        header.reserveCapacity(5)
    }

    /// Parsing this direction stopped (it is not, or no longer, TLS).
    public var isStopped: Bool { phase == .stopped }

    /// STARTTLS (RFC 2595, RFC 3207, …): this direction may speak plain text before TLS. Until
    /// its first record, segments that do not start with a TLS record header are ignored.
    public mutating func awaitSTARTTLS() {
        guard !started && phase == .header && header.isEmpty else { return }
        phase = .resync
    }

    /// True when `firstBytes`, the first bytes of a TCP direction, look like TLS: a record header
    /// with content type 20–23 and version 3.0–3.4, or an SSL 2.0 CLIENT-HELLO (2-byte header with
    /// the high bit set, message type 1, version 2.0 or 3.x). Needs 5 bytes.
    public static func looksLikeTLS(_ firstBytes: RawSpan) -> Bool {
        guard firstBytes.byteCount >= 5 else { return false }
        let first = firstBytes.u8(0)
        if (20...23).contains(first) { return startsWithRecordHeader(firstBytes) }
        let major = firstBytes.u8(3)
        return first & 0x80 != 0 && firstBytes.u8(2) == 1 && (major == 0 && firstBytes.u8(4) == 2 || major == 3)
    }

    /// The peer's ServerHello (the caller passes it from the other direction's parser): if it
    /// chose TLS 1.3, this direction's ChangeCipherSpec is the compatibility dummy, and a
    /// ClientHello after it (answering a HelloRetryRequest) is still in cleartext.
    public mutating func peerSent(_ hello: TLSServerHello) {
        if Self.isTLS13(hello.negotiatedVersion) { tls13 = true }
    }

    static func isTLS13(_ version: UInt16) -> Bool {
        version == 0x0304 || (0x7F00...0x7FFF).contains(version)
    }

    /// Feeds the next in-order bytes of this direction. Like Wireshark, which dissects whole
    /// records, messages are reported when the record holding their last byte is complete, so the
    /// caller's frame (that of the last byte) is the frame tshark -2 reports them at.
    public mutating func consume(_ bytes: RawSpan, frame: Int, time: Int64, emit: (TLSMessage) -> Void) {
        if phase == .resync {
            flush(emit)   // messages complete in the record a gap cut short
            guard Self.startsWithRecordHeader(bytes) else { return }
            phase = .header
        }
        var offset = 0
        while offset < bytes.byteCount {
            switch phase {
            case .stopped, .resync:
                return
            case .header:
                header.append(bytes.u8(offset))
                offset += 1
                readHeader()
            case .body:
                let count = min(remaining, bytes.byteCount - offset)
                consumeBody(bytes, offset..<offset + count)
                offset += count
                remaining -= count
                if remaining == 0 { endRecord() }
            }
            if phase != .body { flush(emit) }
        }
    }

    /// Holds a message until its record is complete.
    mutating func report(_ message: TLSMessage) {
        pending.append(message)
    }

    mutating func flush(_ emit: (TLSMessage) -> Void) {
        guard !pending.isEmpty else { return }
        for message in pending { emit(message) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Bytes are missing: the partial record is dropped (messages already complete in it are
    /// reported with the next bytes) and parsing resumes at the next segment that starts with a
    /// TLS record header (TLS stacks usually start a segment with a record).
    public mutating func gap() {
        guard phase != .stopped else { return }
        phase = .resync
        header.removeAll(keepingCapacity: true)
        buffer.removeAll(keepingCapacity: true)
        alertLevel = nil
        skipping = 0
    }

    static func startsWithRecordHeader(_ bytes: RawSpan) -> Bool {
        bytes.byteCount >= 5 && (20...24).contains(bytes.u8(0)) && bytes.u8(1) == 3 && bytes.u8(2) <= 4
            && Int(bytes.be16(3)) <= maximumRecordLength
    }

    // MARK: Record layer

    /// Called after each header byte: decides the framing from the first bytes, and once the
    /// header is complete checks it and enters the record's body.
    mutating func readHeader() {
        let first = header[0]
        if header.count == 1 {
            if (!started || sslv2) && first & 0x80 != 0 {
                sslv2Header = 2
            } else if sslv2 && !(20...24).contains(first) {
                sslv2Header = 3
            } else if !started && !(20...24).contains(first) {
                return stop(.notTLS(firstByte: first))
            } else {
                sslv2Header = 0
            }
            return
        }
        // In an SSL 2.0 direction, a TLS content type byte not followed by version major 3 is
        // the first byte of a 3-byte SSL 2.0 header (RFC 6101 Appendix E).
        if header.count == 2 && sslv2Header == 0 && sslv2 && header[1] != 3 { sslv2Header = 3 }
        let needed = sslv2Header == 0 ? 5 : sslv2Header
        guard header.count == needed else { return }
        started = true
        if sslv2Header == 0 {
            contentType = first
            recordVersion = UInt16(header[1]) << 8 | UInt16(header[2])
            recordLength = Int(header[3]) << 8 | Int(header[4])
            header.removeAll(keepingCapacity: true)
            guard (20...24).contains(contentType) else { return stop(.unknownContentType(contentType)) }
            guard recordVersion >> 8 == 3 else { return stop(.unknownRecordVersion(recordVersion)) }
            guard recordLength <= Self.maximumRecordLength else { return stop(.recordTooLong(length: recordLength)) }
            sslv2 = false
        } else {
            // SSL 2.0: 15-bit length (2-byte header) or 14-bit length plus a padding byte.
            recordVersion = 0x0002
            recordLength = sslv2Header == 2 ? Int(first & 0x7F) << 8 | Int(header[1])
                : Int(first & 0x3F) << 8 | Int(header[1])
            header.removeAll(keepingCapacity: true)
            sslv2 = true
        }
        remaining = recordLength
        recordEncrypted = encrypted
        phase = .body
        if remaining == 0 { endRecord() }
    }

    mutating func stop(_ problem: TLSProblem) {
        phase = .stopped
        header.removeAll()
        buffer.removeAll()
        report(.problem(problem))
    }

    /// A piece of the current record's fragment.
    mutating func consumeBody(_ bytes: RawSpan, _ range: Range<Int>) {
        guard !recordEncrypted else { return }
        if sslv2Header != 0 {
            buffer.append(bytes, range)
            return
        }
        switch contentType {
        case 22:
            consumeHandshake(bytes, range)
        case 21:
            for i in range {
                if let level = alertLevel {
                    report(.alert(TLSAlert(level: level, description: bytes.u8(i), encrypted: false)))
                    alertLevel = nil
                } else {
                    alertLevel = bytes.u8(i)
                }
            }
        default:
            break   // ChangeCipherSpec is reported whole; application data and heartbeats are noted
        }
    }

    /// The current record's last byte went by.
    mutating func endRecord() {
        phase = .header
        if sslv2Header != 0 { return endSSLv2Record() }
        switch contentType {
        case 20:
            report(.changeCipherSpec)
            // Under TLS 1.3 this is the compatibility dummy; otherwise what follows is encrypted.
            if !tls13 {
                encrypted = true
                buffer.removeAll(keepingCapacity: true)
                skipping = 0
            }
        case 21 where recordEncrypted:
            report(.alert(TLSAlert(level: nil, description: nil, encrypted: true)))
        case 21:
            if alertLevel != nil || recordLength == 0 {
                alertLevel = nil
                report(.problem(.alertLength(recordLength)))
            }
        case 22 where recordEncrypted, 23, 24:
            report(.record(TLSRecord(contentType: contentType, length: recordLength)))
        default:
            break   // a cleartext handshake record: its messages are already reported
        }
    }

    mutating func endSSLv2Record() {
        defer { buffer.removeAll(keepingCapacity: true) }
        guard !recordEncrypted else { return report(.sslv2(SSLv2Record(messageType: nil, length: recordLength))) }
        guard let type = buffer.first else {
            return report(.problem(.truncated(message: 1, field: .msgType, needed: 1, available: 0)))
        }
        if type == 1 {
            let decoded: Result<TLSClientHello, TLSProblem> = buffer.withUnsafeBytes { raw in
                do throws(TLSProblem) {
                    return .success(try TLSClientHello.decodeSSLv2(raw.bytes, body: 0..<raw.count))
                } catch {
                    return .failure(error)
                }
            }
            switch decoded {
            case .success(let hello): report(.clientHello(hello))
            case .failure(let problem): report(.problem(problem))
            }
            return
        }
        // SERVER-HELLO (SSL 2.0 spec, Appendix A): type, session-id-hit, certificate type, version
        // (2), certificate length (2), cipher-specs length (2), connection-id length (2), then the
        // certificate (type 1: one X.509 certificate).
        var certificates: [TLSCertificate]?
        if type == 4, buffer.count >= 11, buffer[2] == 1 {
            let length = Int(buffer[5]) << 8 | Int(buffer[6])
            if length > 0, 11 + length <= buffer.count {
                certificates = (try? TLSCertificate.decode(der: buffer[11..<11 + length])).map { [$0] } ?? []
            }
        }
        report(.sslv2(SSLv2Record(messageType: type, length: recordLength, certificates: certificates)))
        // CLIENT-MASTER-KEY and SERVER-HELLO are the last cleartext messages of each side.
        if type == 2 || type == 4 { encrypted = true }
    }

    // MARK: Handshake protocol

    /// Handshake bytes: messages are 1-byte type, 3-byte length, body (RFC 8446 §4). A message
    /// wholly inside `range` is decoded in place; one split across records or segments is
    /// assembled in `buffer` first.
    mutating func consumeHandshake(_ bytes: RawSpan, _ range: Range<Int>) {
        var offset = range.lowerBound
        while offset < range.upperBound && !encrypted {
            if skipping > 0 {
                let count = min(skipping, range.upperBound - offset)
                skipping -= count
                offset += count
                continue
            }
            if buffer.isEmpty {
                messageRecordVersion = recordVersion
                if range.upperBound - offset >= 4 {
                    let type = bytes.u8(offset)
                    let length = Int(bytes.u8(offset + 1)) << 16 | Int(bytes.be16(offset + 2))
                    if length > Self.maximumHandshakeLength {
                        report(.problem(.handshakeTooLong(type: type, length: length)))
                        skipping = length
                        offset += 4
                        continue
                    }
                    if range.upperBound - offset >= 4 + length {
                        handleHandshake(type: type, bytes, body: offset + 4..<offset + 4 + length)
                        offset += 4 + length
                        continue
                    }
                }
            }
            // Assemble: the header first, then as many body bytes as the message still needs.
            let wanted = buffer.count < 4 ? 4 - buffer.count : 4 + bufferedLength - buffer.count
            let count = min(wanted, range.upperBound - offset)
            buffer.append(bytes, offset..<offset + count)
            offset += count
            guard buffer.count >= 4 else { continue }
            if bufferedLength > Self.maximumHandshakeLength {
                report(.problem(.handshakeTooLong(type: buffer[0], length: bufferedLength)))
                skipping = bufferedLength
                buffer.removeAll(keepingCapacity: true)
            } else if buffer.count == 4 + bufferedLength {
                let type = buffer[0]
                var message = [UInt8]()
                swap(&message, &buffer)
                message.withUnsafeBytes { raw in
                    handleHandshake(type: type, raw.bytes, body: 4..<raw.count)
                }
                swap(&message, &buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
    }

    /// The body length in the buffered message header.
    var bufferedLength: Int { Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3]) }

    /// One complete handshake message.
    mutating func handleHandshake(type: UInt8, _ bytes: RawSpan, body: Range<Int>) {
        var problems: [TLSProblem] = []
        do throws(TLSProblem) {
            switch type {
            case 1:
                let hello = try TLSClientHello.decode(bytes, body: body, recordVersion: messageRecordVersion,
                                                      problems: &problems)
                report(.clientHello(hello))
            case 2:
                let hello = try TLSServerHello.decode(bytes, body: body, recordVersion: messageRecordVersion,
                                                      problems: &problems)
                report(.serverHello(hello))
                if Self.isTLS13(hello.negotiatedVersion) {
                    tls13 = true
                    // After a ServerHello (not a HelloRetryRequest) TLS 1.3 encrypts the rest.
                    if !hello.isHelloRetryRequest { encrypted = true }
                }
            case 11 where !tls13:
                let chain = decodeCertificates(bytes, body: body)
                report(.handshake(TLSHandshake(type: type, length: body.count, certificateCount: chain.count,
                                               certificates: chain.certificates)))
                problems += chain.problems
            case 22 where !tls13:
                let status = decodeCertificateStatus(bytes, body: body)
                report(.handshake(TLSHandshake(type: type, length: body.count, ocspResponse: status.response)))
                problems += status.problems
            default:
                report(.handshake(TLSHandshake(type: type, length: body.count)))
            }
        } catch {
            problems.append(error)
        }
        for problem in problems { report(.problem(problem)) }
    }
}

extension TLSMessage {
    /// `{"kind": "client_hello", …the hello's fields}`: see `TaggedCase`.
    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .clientHello(let hello): try tagged.encode("clientHello", merging: hello)
        case .serverHello(let hello): try tagged.encode("serverHello", merging: hello)
        case .handshake(let message): try tagged.encode("handshake", merging: message)
        case .changeCipherSpec: try tagged.encode("changeCipherSpec")
        case .alert(let alert): try tagged.encode("alert", merging: alert)
        case .record(let record): try tagged.encode("record", merging: record)
        case .sslv2(let record): try tagged.encode("sslv2", merging: record)
        case .problem(let problem): try tagged.encode("problem", ["problem": problem])
        }
    }
}

extension TLSProblem {
    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .notTLS(let byte): try tagged.encode("notTLS", ["firstByte": byte])
        case .unknownContentType(let type): try tagged.encode("unknownContentType", ["contentType": type])
        case .unknownRecordVersion(let version): try tagged.encode("unknownRecordVersion", ["version": version])
        case .recordTooLong(let length): try tagged.encode("recordTooLong", ["length": length])
        case .truncated(let message, let field, let needed, let available):
            try tagged.encode("truncated", ["message": message, "field": field, "needed": needed, "available": available])
        case .vectorPastEnd(let message, let field, let length, let available):
            try tagged.encode("vectorPastEnd", ["message": message, "field": field, "length": length,
                                                "available": available])
        case .alertLength(let length): try tagged.encode("alertLength", ["length": length])
        case .certificateEncoding(let index): try tagged.encode("certificateEncoding", ["index": index])
        case .certificateUnreadable(let index, let reason):
            try tagged.encode("certificateUnreadable", ["index": index, "reason": reason])
        case .handshakeTooLong(let type, let length): try tagged.encode("handshakeTooLong", ["type": type, "length": length])
        case .ocspResponseUnreadable(let reason): try tagged.encode("ocspResponseUnreadable", ["reason": reason])
        }
    }
}
