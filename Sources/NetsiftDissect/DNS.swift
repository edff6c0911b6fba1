import NetsiftCapture

/// The protocols that share DNS's wire format (RFC 1035 §4), told apart by port: DNS on 53,
/// multicast DNS on 5353 (RFC 6762), LLMNR on 5355 (RFC 4795). The flavor changes how two bits
/// read: in mDNS the top bit of a question's class asks for a unicast reply (QU, §5.4) and the top
/// bit of a record's class is cache-flush (§10.2); in LLMNR the AA and RD header bits are C
/// (conflict) and T (tentative) (RFC 4795 §2.1.1).
public enum DNSFlavor: String, Decodable, Sendable, Equatable, Encodable {
    case dns, mdns, llmnr

    public static let dnsPort: UInt16 = 53
    public static let mdnsPort: UInt16 = 5353
    public static let llmnrPort: UInt16 = 5355

    /// The flavor a port pair carries, trying the lower port first as Wireshark does; nil for none.
    @inlinable
    public init?(sourcePort: UInt16, destinationPort: UInt16) {
        let low = min(sourcePort, destinationPort), high = max(sourcePort, destinationPort)
        guard let flavor = Self(port: low) ?? Self(port: high) else { return nil }
        self = flavor
    }

    @inlinable
    public init?(port: UInt16) {
        switch port {
        case Self.dnsPort: self = .dns
        case Self.mdnsPort: self = .mdns
        case Self.llmnrPort: self = .llmnr
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .dns: "DNS"
        case .mdns: "mDNS"
        case .llmnr: "LLMNR"
        }
    }
}

/// The fixed 12-byte header (RFC 1035 §4.1.1), with the AD and CD bits of RFC 4035 §3.2. The
/// counts are what the header declares, even when the message holds fewer records.
public struct DNSHeader: Decodable, Sendable, Equatable, Encodable {
    public static let length = 12

    public var id: UInt16 = 0
    /// The flags word as sent: QR, Opcode, AA, TC, RD, RA, Z, AD, CD, RCODE.
    public var flags: UInt16 = 0
    public var questionCount = 0
    public var answerCount = 0
    public var authorityCount = 0
    public var additionalCount = 0

    public init() {}

    init(_ bytes: RawSpan) {
        id = bytes.be16(0)
        flags = bytes.be16(2)
        questionCount = Int(bytes.be16(4))
        answerCount = Int(bytes.be16(6))
        authorityCount = Int(bytes.be16(8))
        additionalCount = Int(bytes.be16(10))
    }

    public var isResponse: Bool { flags & 0x8000 != 0 }
    public var opcode: UInt8 { UInt8(flags >> 11 & 0xF) }
    /// AA; in LLMNR this bit is C, "conflict".
    public var authoritative: Bool { flags & 0x0400 != 0 }
    public var truncated: Bool { flags & 0x0200 != 0 }
    /// RD; in LLMNR this bit is T, "tentative".
    public var recursionDesired: Bool { flags & 0x0100 != 0 }
    public var recursionAvailable: Bool { flags & 0x0080 != 0 }
    /// The reserved Z bit (must be zero).
    public var z: Bool { flags & 0x0040 != 0 }
    public var authenticData: Bool { flags & 0x0020 != 0 }
    public var checkingDisabled: Bool { flags & 0x0010 != 0 }
    /// The header's 4-bit RCODE; `DNSMessage.responseCode` adds EDNS's upper bits.
    public var rcode: UInt8 { UInt8(flags & 0xF) }

    public var opcodeName: String {
        switch opcode {
        case 0: "Query"
        case 1: "IQuery"
        case 2: "Status"
        case 4: "Notify"
        case 5: "Update"
        case 6: "DSO"
        default: "Opcode\(opcode)"
        }
    }

    enum OutputKeys: String, CodingKey {
        case id, flags, isResponse, opcode, authoritative, truncated, recursionDesired, recursionAvailable, z,
             authenticData, checkingDisabled, rcode, questionCount, answerCount, authorityCount, additionalCount
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: OutputKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(flags, forKey: .flags)
        try c.encode(isResponse, forKey: .isResponse)
        try c.encode(opcode, forKey: .opcode)
        try c.encode(authoritative, forKey: .authoritative)
        try c.encode(truncated, forKey: .truncated)
        try c.encode(recursionDesired, forKey: .recursionDesired)
        try c.encode(recursionAvailable, forKey: .recursionAvailable)
        try c.encode(z, forKey: .z)
        try c.encode(authenticData, forKey: .authenticData)
        try c.encode(checkingDisabled, forKey: .checkingDisabled)
        try c.encode(rcode, forKey: .rcode)
        try c.encode(questionCount, forKey: .questionCount)
        try c.encode(answerCount, forKey: .answerCount)
        try c.encode(authorityCount, forKey: .authorityCount)
        try c.encode(additionalCount, forKey: .additionalCount)
    }
}

/// The part of a message a problem is in.
public enum DNSSection: String, Decodable, Sendable, Equatable, Encodable {
    case header, questions, answers, authorities, additionals
}

/// What went wrong in a message, and where. A malformed message (what Wireshark marks "Malformed
/// Packet": something runs past the end) stops the parse there: the records before it are kept, the
/// rest are missing (the header's counts still say how many there should have been). A snaplen
/// cut stops it too but is not malformed. Invalid record data (a value its type forbids, within
/// its length) does not stop it: that record's data is kept as `.unknown` (an invalid EDNS option
/// as `.other`, the rest of EDNS decoded).
public struct DNSProblem: Decodable, Sendable, Equatable, Encodable, CustomStringConvertible {
    /// Thrown while parsing, then placed by the section and index it happened in.
    public enum Kind: Decodable, Error, Sendable, Equatable {
        /// Fewer than 12 bytes: no header.
        case headerTooShort(length: Int)
        /// A name's labels or pointer run past the end of the message (or of the record data
        /// holding the name).
        case nameRunsPastEnd
        /// A compression pointer to an offset past the end of the message.
        case pointerPastEnd(target: Int)
        /// A label whose top two bits are 01 or 10: the extended label types RFC 6891 §5 retired.
        case reservedLabelType(UInt8)
        /// A question's or record's fixed fields (type, class, TTL, length) run past the end.
        case fieldsRunPastEnd(needed: Int, available: Int)
        /// A record's RDLENGTH runs past the end of the message.
        case recordDataRunsPastEnd(length: Int, available: Int)
        /// A record's data ends before what its type needs.
        case truncatedRecordData(type: UInt16, reason: String)
        /// A record's data holds a value its type forbids (an A record of 5 bytes, a cookie of 9).
        case invalidRecordData(type: UInt16, reason: String)
        /// The capture kept `captured` of the message's `length` bytes and the parse needed more.
        case cut(captured: Int, length: Int)
    }

    public var section: DNSSection
    /// The record's index in its section (0-based); 0 for the header.
    public var index: Int
    public var kind: Kind

    public init(_ section: DNSSection, _ index: Int, _ kind: Kind) {
        self.section = section
        self.index = index
        self.kind = kind
    }

    /// True when something runs past the end of the message (what Wireshark marks "Malformed
    /// Packet"); false for a snaplen cut and for invalid record data.
    public var isMalformed: Bool {
        switch kind {
        case .cut, .invalidRecordData: false
        default: true
        }
    }

    /// The word the CLI shows the problem with: malformed, cut or invalid.
    public var label: String {
        switch kind {
        case .cut: "cut"
        case .invalidRecordData: "invalid"
        default: "malformed"
        }
    }

    public var description: String {
        let place = section == .header ? "header" : "\(section.rawValue)[\(index)]"
        switch kind {
        case .headerTooShort(let length):
            return "header needs 12 bytes, the message has \(length)"
        case .nameRunsPastEnd:
            return "\(place): a name runs past the end of its data"
        case .pointerPastEnd(let target):
            return "\(place): a compression pointer to offset \(target) is past the end of the message"
        case .reservedLabelType(let byte):
            return "\(place): reserved label type 0x\(String(byte, radix: 16))"
        case .fieldsRunPastEnd(let needed, let available):
            return "\(place): fixed fields need \(needed) bytes, \(available) left"
        case .recordDataRunsPastEnd(let length, let available):
            return "\(place): record data length \(length) runs past the \(available) bytes left"
        case .truncatedRecordData(let type, let reason), .invalidRecordData(let type, let reason):
            return "\(place): \(DNSType.name(type)) data \(reason)"
        case .cut(let captured, let length):
            return "\(place): the capture kept \(captured) of the message's \(length) bytes"
        }
    }

    enum OutputKeys: String, CodingKey { case section, index, label, description }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: OutputKeys.self)
        try c.encode(section, forKey: .section)
        try c.encode(index, forKey: .index)
        try c.encode(label, forKey: .label)
        try c.encode(description, forKey: .description)
    }
}

/// A domain name, decoded and owned. `text` is in presentation form without the final dot
/// ("www.example.com"; "." for the root), a label's dots and backslashes escaped, control bytes
/// and invalid UTF-8 as `\DDD` (RFC 1035 §5.1); valid UTF-8 is kept as it is (mDNS names are
/// UTF-8, RFC 6762 §16).
///
/// A name whose extent in the message is known but whose text cannot be whole carries a `fault`
/// and the text decoded up to it. Such a name does not end the parse (Wireshark reads on too):
/// the next field starts after the name's first pointer either way.
public struct DNSName: Decodable, Hashable, Sendable, Encodable, CustomStringConvertible {
    public enum Fault: String, Decodable, Sendable, Hashable, Encodable {
        /// A compression pointer leads back to where the name was already read (RFC 9267 §2).
        case compressionLoop
        /// Longer than 255 bytes (RFC 1035 §3.1), or more pointers than such a name could need.
        case tooLong
    }

    public static let maximumLength = 255
    public static let root = DNSName(text: ".")

    public var text: String
    public var fault: Fault?

    public init(text: String, fault: Fault? = nil) {
        self.text = text
        self.fault = fault
    }

    public var isRoot: Bool { text == "." && fault == nil }

    public var description: String {
        switch fault {
        case nil: text
        case .compressionLoop: "<compression loop>"
        case .tooLong: "<name too long>"
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// One entry of the question section (RFC 1035 §4.1.2).
public struct DNSQuestion: Decodable, Hashable, Sendable, Encodable {
    public var name: DNSName
    public var type: UInt16
    /// The class; in mDNS without its top bit, which is `unicastResponse`.
    public var qclass: UInt16
    /// mDNS's QU bit (RFC 6762 §5.4): the querier asks for a unicast reply. Always false otherwise.
    public var unicastResponse: Bool

    public init(name: DNSName, type: UInt16, qclass: UInt16 = DNSClass.internet, unicastResponse: Bool = false) {
        self.name = name
        self.type = type
        self.qclass = qclass
        self.unicastResponse = unicastResponse
    }
}

/// One DNS message: header, the four sections, and what went wrong. Parsing never throws: a
/// broken message is kept with what was read before the fault and a `problem` that says where and
/// what, so every message can be shown and counted.
public struct DNSMessage: Decodable, Sendable, Equatable, Encodable {
    public var flavor: DNSFlavor
    public var header: DNSHeader
    public var questions: [DNSQuestion] = []
    public var answers: [DNSResourceRecord] = []
    public var authorities: [DNSResourceRecord] = []
    public var additionals: [DNSResourceRecord] = []
    /// The response code: the header's 4 bits, extended by the OPT record's upper 8 bits when there
    /// is one (RFC 6891 §6.1.3), so BADVERS (16) and BADCOOKIE (23) read as such.
    public var responseCode: UInt16 = 0
    /// The message's length in bytes (on the wire).
    public var length: Int
    /// The problem that ended the parse, else the first invalid record data, else nil.
    public var problem: DNSProblem?

    /// Parses one message: a UDP payload, or one message of a TCP stream without its length prefix.
    /// `wireLength` is the message's length on the wire when the capture kept less (snaplen), so
    /// that a message the capture cut is not called malformed.
    public init(_ bytes: RawSpan, wireLength: Int? = nil, flavor: DNSFlavor = .dns) {
        self.flavor = flavor
        length = wireLength ?? bytes.byteCount
        header = DNSHeader()
        guard bytes.byteCount >= DNSHeader.length else {
            problem = bytes.byteCount < length
                ? DNSProblem(.header, 0, .cut(captured: bytes.byteCount, length: length))
                : DNSProblem(.header, 0, .headerTooShort(length: bytes.byteCount))
            return
        }
        header = DNSHeader(bytes)
        var reader = DNSReader(bytes, flavor: flavor)
        var section = DNSSection.questions, index = 0
        do throws(DNSProblem.Kind) {
            while index < header.questionCount {
                questions.append(try reader.question())
                index += 1
            }
            for (next, count) in [(DNSSection.answers, header.answerCount), (.authorities, header.authorityCount),
                                  (.additionals, header.additionalCount)] {
                section = next
                index = 0
                while index < count {
                    let (record, invalid) = try reader.record()
                    if let invalid, problem == nil { problem = DNSProblem(section, index, invalid) }
                    switch next {
                    case .answers: answers.append(record)
                    case .authorities: authorities.append(record)
                    default: additionals.append(record)
                    }
                    index += 1
                }
            }
        } catch {
            // Running out of captured bytes is a cut, not a fault, when the wire had more.
            let kind = bytes.byteCount < length ? DNSProblem.Kind.cut(captured: bytes.byteCount, length: length) : error
            problem = DNSProblem(section, index, kind)
        }
        responseCode = UInt16(header.rcode)
        if let edns { responseCode |= UInt16(edns.extendedRcode) << 4 }
    }

    /// The EDNS pseudo-record (RFC 6891): the first OPT record of the additional section.
    public var edns: DNSEDNS? {
        for record in additionals { if case .opt(let edns) = record.data { return edns } }
        return nil
    }

    public var isMalformed: Bool { problem?.isMalformed ?? false }

    /// Every record, in message order.
    public var records: [DNSResourceRecord] { answers + authorities + additionals }

    /// The response code's mnemonic (RFC 6895 §2.3): NoError, NXDomain, ServFail, BADCOOKIE...
    public var responseCodeName: String { DNSResponseCode.name(responseCode) }

    /// One line in the spirit of tcpdump's:
    /// `DNS 0x1a2b+ A? www.example.com` for a query ("+" when recursion is desired),
    /// `DNS 0x1a2b NoError 2/0/1 A? www.example.com: CNAME web.example.com, A 192.0.2.1` for a
    /// response (answer/authority/additional counts, then the answers), with `[truncated]`, and
    /// `[malformed: ...]`, `[cut: ...]` or `[invalid: ...]` when there is a problem.
    public var summaryLine: String {
        var text = "\(flavor.name) 0x\(hexDigits(UInt32(header.id), width: 4))"
        if let problem, problem.section == .header { return text + " [\(problem.label): \(problem)]" }
        if !header.isResponse && header.recursionDesired && flavor == .dns { text += "+" }
        if header.opcode != 0 { text += " \(header.opcodeName)" }
        if header.isResponse {
            text += " \(responseCodeName) \(header.answerCount)/\(header.authorityCount)/\(header.additionalCount)"
        }
        if let question = questions.first {
            text += " \(DNSType.name(question.type))\(question.unicastResponse ? " (QU)" : "")? \(question.name)"
            if questions.count > 1 { text += " (+\(questions.count - 1) more)" }
        }
        if header.isResponse && !answers.isEmpty {
            // Without a question (mDNS announcements) the answers say whose they are.
            let shown = answers.prefix(4).map { questions.isEmpty ? "\($0.name) \($0.summary)" : $0.summary }
                .joined(separator: ", ")
            text += ": " + shown + (answers.count > 4 ? ", ..." : "")
        }
        if header.truncated { text += " [truncated]" }
        if let problem { text += " [\(problem.label): \(problem)]" }
        return text
    }
}


/// Reads a message's questions and records in order, each read checked against the end of the
/// message; the first fault throws. Names may point anywhere in the message (`message`), while a
/// name's own labels and a record's fields must fit within `end`.
struct DNSReader: ~Escapable {
    let message: RawSpan
    let flavor: DNSFlavor
    var offset = DNSHeader.length
    var end: Int
    /// The type of the record whose data is being read.
    var recordType: UInt16 = 0
    /// The first invalid value met in that data that did not stop its decoding.
    var invalidity: DNSProblem.Kind?

    @_lifetime(copy message)
    init(_ message: RawSpan, flavor: DNSFlavor) {
        self.message = message
        self.flavor = flavor
        end = message.byteCount
    }

    var remaining: Int { end - offset }

    func need(_ count: Int) throws(DNSProblem.Kind) {
        guard remaining >= count else { throw .fieldsRunPastEnd(needed: count, available: remaining) }
    }

    mutating func u8() -> UInt8 {
        defer { offset += 1 }
        return message.u8(offset)
    }

    mutating func u16() -> UInt16 {
        defer { offset += 2 }
        return message.be16(offset)
    }

    mutating func u32() -> UInt32 {
        defer { offset += 4 }
        return message.be32(offset)
    }

    mutating func question() throws(DNSProblem.Kind) -> DNSQuestion {
        let name = try name()
        try need(4)
        let type = u16()
        let qclass = u16()
        if flavor == .mdns {
            return DNSQuestion(name: name, type: type, qclass: qclass & 0x7FFF, unicastResponse: qclass & 0x8000 != 0)
        }
        return DNSQuestion(name: name, type: type, qclass: qclass)
    }

    /// The next record, and what is invalid in its data (kept as `.unknown` then).
    mutating func record() throws(DNSProblem.Kind) -> (DNSResourceRecord, DNSProblem.Kind?) {
        let name = try name()
        try need(10)
        let type = u16()
        var rclass = u16()
        let ttl = u32()
        let length = Int(u16())
        guard length <= remaining else { throw .recordDataRunsPastEnd(length: length, available: remaining) }
        // OPT's class is the UDP payload size, never a class with a cache-flush bit.
        var cacheFlush = false
        if flavor == .mdns && type != DNSType.opt {
            cacheFlush = rclass & 0x8000 != 0
            rclass &= 0x7FFF
        }
        var data = self
        data.end = offset + length
        data.recordType = type
        var decoded = DNSRecordData.unknown
        var invalid: DNSProblem.Kind?
        do {
            decoded = try data.recordData(rclass: rclass, ttl: ttl)
            invalid = data.invalidity
        } catch {
            guard case .invalidRecordData = error else { throw error }
            invalid = error
        }
        offset += length
        return (DNSResourceRecord(name: name, type: type, rclass: rclass, cacheFlush: cacheFlush, ttl: ttl,
                                  dataLength: length, data: decoded), invalid)
    }

    /// Reads the name at `offset` and moves past it. Its own labels must fit before `end`; a
    /// pointer ends it in place, and the labels it leads to may be anywhere in the message.
    /// Pointers that point forward are followed, as Wireshark and the resolvers' `dn_expand` do.
    ///
    /// Bounded whatever the bytes: the text stops growing past 255 bytes, at most 127 pointers are
    /// followed (a 255-byte name cannot need more), and a loop is caught by comparing each pointer
    /// with the one seen at the last power-of-two step (Brent's cycle detection, no memory needed).
    /// The text is built in one buffer: a message can hold ten thousand names that each lead,
    /// through pointers, to 255 bytes of labels, so the cost per label byte must stay small.
    mutating func name() throws(DNSProblem.Kind) -> DNSName {
        var position = offset
        var limit = end
        var nameEnd: Int?
        var length = 1                      // the root's zero byte
        var text: [UInt8] = []              // the labels in presentation form, dot-separated
        var pointers = 0
        var checkpoint = -1, nextCheckpoint = 1
        var fault: DNSName.Fault?
        func finish() -> DNSName {
            // Escaped labels are ASCII or whole valid UTF-8 sequences, so the decoding is exact.
            DNSName(text: text.isEmpty && fault == nil ? "." : String(decoding: text, as: UTF8.self), fault: fault)
        }
        while true {
            guard position < limit else { throw .nameRunsPastEnd }
            let byte = message.u8(position)
            switch byte >> 6 {
            case 0 where byte == 0:
                offset = nameEnd ?? position + 1
                return finish()
            case 0:
                let count = Int(byte)
                guard position + 1 + count <= limit else { throw .nameRunsPastEnd }
                length += 1 + count
                if length > DNSName.maximumLength {
                    fault = .tooLong
                    // Within the name's own bytes the scan goes on to find where it ends.
                    if let nameEnd {
                        offset = nameEnd
                        return finish()
                    }
                } else if fault == nil {
                    if !text.isEmpty { text.append(0x2E) }   // a dot between labels
                    appendEscaped(position + 1..<position + 1 + count, special: [0x2E, 0x5C], to: &text)
                }
                position += 1 + count
            case 3:
                guard position + 2 <= limit else { throw .nameRunsPastEnd }
                let target = Int(message.be16(position) & 0x3FFF)
                if nameEnd == nil { nameEnd = position + 2 }
                if fault != nil {
                    offset = nameEnd!
                    return finish()
                }
                guard target < message.byteCount else { throw .pointerPastEnd(target: target) }
                pointers += 1
                if target == checkpoint || pointers > DNSName.maximumLength / 2 {
                    fault = target == checkpoint ? .compressionLoop : .tooLong
                    offset = nameEnd!
                    return finish()
                }
                if pointers == nextCheckpoint {
                    checkpoint = target
                    nextCheckpoint *= 2
                }
                position = target
                limit = message.byteCount
            default:
                throw .reservedLabelType(byte)
            }
        }
    }

    /// Bytes as text: printable ASCII and valid UTF-8 as they are, `special` bytes after a
    /// backslash, control bytes and invalid UTF-8 as `\DDD`.
    func escapedText(_ range: Range<Int>, special: [UInt8]) -> String {
        var out: [UInt8] = []
        appendEscaped(range, special: special, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `range` of the message is well-formed UTF-8 (RFC 3629 §4): no stray continuation
    /// byte, no overlong form, no surrogate, nothing past U+10FFFF. Written out because the
    /// standard library's validation is generic, and names are validated label by label.
    func isValidUTF8(_ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        while i < range.upperBound {
            let lead = message.u8(i)
            if lead < 0x80 {
                i += 1
                continue
            }
            // The continuation bytes that follow, and the range the first of them must fall in.
            let count: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: count = 1
            case 0xE0: count = 2; low = 0xA0
            case 0xED: count = 2; high = 0x9F
            case 0xE1...0xEF: count = 2
            case 0xF0: count = 3; low = 0x90
            case 0xF4: count = 3; high = 0x8F
            case 0xF1...0xF3: count = 3
            default: return false
            }
            guard range.upperBound - i > count else { return false }
            let second = message.u8(i + 1)
            guard second >= low && second <= high else { return false }
            for j in stride(from: 2, through: count, by: 1) where message.u8(i + j) & 0xC0 != 0x80 { return false }
            i += 1 + count
        }
        return true
    }

    /// `escapedText`, appended to `out` (no allocation per byte: a name's labels share one buffer).
    func appendEscaped(_ range: Range<Int>, special: [UInt8], to out: inout [UInt8]) {
        let valid = isValidUTF8(range)
        out.reserveCapacity(out.count + range.count)
        for i in range {
            let byte = message.u8(i)
            if special.contains(byte) {
                out.append(0x5C)
                out.append(byte)
            } else if (byte >= 0x20 && byte < 0x7F) || (byte >= 0x80 && valid) {
                out.append(byte)
            } else {
                // \DDD: the byte in three decimal digits.
                out.append(0x5C)
                out.append(0x30 + byte / 100)
                out.append(0x30 + byte / 10 % 10)
                out.append(0x30 + byte % 10)
            }
        }
    }
}

/// DNS over TCP (RFC 1035 §4.2.2, RFC 7766 §8): each message behind a two-byte length. Splits one
/// direction's in-order bytes into messages, whatever the segmentation: several messages in one
/// segment are parsed in place, a message spread over segments is gathered first.
///
/// Bounded: the only buffer is the message being gathered, at most 2 + 65,535 bytes (the length
/// prefix cannot say more), released once the message is complete. A gap loses the message
/// boundaries for good (DNS has no marker to find the next length prefix), so the direction is no
/// longer parsed after one and `lostSync` says so.
public struct DNSStreamParser: Sendable {
    public let flavor: DNSFlavor
    /// The start of a message not yet complete, its length prefix included.
    var pending: [UInt8] = []
    /// True once a gap made the stream unparseable.
    public private(set) var lostSync = false
    /// Messages emitted so far.
    public private(set) var messageCount = 0

    public init(flavor: DNSFlavor = .dns) {
        self.flavor = flavor
    }

    /// Bytes of a message begun but not yet complete (a length prefix larger than what followed).
    public var bufferedByteCount: Int { pending.count }

    /// Feeds the next in-order bytes of one direction. Complete messages go to `emit` as soon as
    /// their last byte arrives, so the caller reports them at `frame` and `time`, those of the
    /// packet that carried these bytes (the messages themselves do not hold them).
    public mutating func consume(_ bytes: RawSpan, frame: Int, time: Int64, emit: (DNSMessage) -> Void) {
        guard !lostSync else { return }
        var offset = 0
        let count = bytes.byteCount
        if !pending.isEmpty {
            // Complete the prefix, then the message, from the front of these bytes.
            if pending.count < 2 {
                let take = min(2 - pending.count, count)
                pending.append(bytes, offset..<take)
                offset = take
                guard pending.count == 2 else { return }
            }
            let total = 2 + Int(UInt16(pending[0]) << 8 | UInt16(pending[1]))
            let take = min(total - pending.count, count - offset)
            pending.append(bytes, offset..<offset + take)
            offset += take
            guard pending.count == total else { return }
            let message = pending.withUnsafeBytes { raw in
                DNSMessage(raw.bytes.extracting(droppingFirst: 2), flavor: flavor)
            }
            pending = []
            messageCount += 1
            emit(message)
        }
        // Whole messages straight from these bytes, without copying them.
        while count - offset >= 2 {
            let length = Int(bytes.be16(offset))
            guard count - offset - 2 >= length else { break }
            messageCount += 1
            emit(DNSMessage(bytes.extracting(offset + 2..<offset + 2 + length), flavor: flavor))
            offset += 2 + length
        }
        pending.append(bytes, offset..<count)
    }

    /// Bytes of the stream were never captured: the partial message is dropped and, the message
    /// boundaries being lost, the direction is no longer parsed.
    public mutating func gap() {
        pending = []
        lostSync = true
    }
}
