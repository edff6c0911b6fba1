import NetsiftCapture

/// Resource record TYPE values (IANA "Resource Record (RR) TYPEs").
public enum DNSType {
    public static let a: UInt16 = 1
    public static let ns: UInt16 = 2
    public static let cname: UInt16 = 5
    public static let soa: UInt16 = 6
    public static let ptr: UInt16 = 12
    public static let mx: UInt16 = 15
    public static let txt: UInt16 = 16
    public static let aaaa: UInt16 = 28
    public static let srv: UInt16 = 33
    public static let dname: UInt16 = 39
    public static let opt: UInt16 = 41
    public static let ds: UInt16 = 43
    public static let rrsig: UInt16 = 46
    public static let nsec: UInt16 = 47
    public static let dnskey: UInt16 = 48
    public static let nsec3: UInt16 = 50
    public static let svcb: UInt16 = 64
    public static let https: UInt16 = 65
    public static let any: UInt16 = 255
    public static let caa: UInt16 = 257

    /// The mnemonic, or `TYPEnnn` for a type without one (RFC 3597 §5).
    public static func name(_ type: UInt16) -> String {
        switch type {
        case 1: "A"
        case 2: "NS"
        case 5: "CNAME"
        case 6: "SOA"
        case 12: "PTR"
        case 13: "HINFO"
        case 15: "MX"
        case 16: "TXT"
        case 17: "RP"
        case 18: "AFSDB"
        case 24: "SIG"
        case 25: "KEY"
        case 28: "AAAA"
        case 29: "LOC"
        case 33: "SRV"
        case 35: "NAPTR"
        case 36: "KX"
        case 37: "CERT"
        case 39: "DNAME"
        case 41: "OPT"
        case 42: "APL"
        case 43: "DS"
        case 44: "SSHFP"
        case 45: "IPSECKEY"
        case 46: "RRSIG"
        case 47: "NSEC"
        case 48: "DNSKEY"
        case 49: "DHCID"
        case 50: "NSEC3"
        case 51: "NSEC3PARAM"
        case 52: "TLSA"
        case 53: "SMIMEA"
        case 55: "HIP"
        case 59: "CDS"
        case 60: "CDNSKEY"
        case 61: "OPENPGPKEY"
        case 62: "CSYNC"
        case 63: "ZONEMD"
        case 64: "SVCB"
        case 65: "HTTPS"
        case 99: "SPF"
        case 249: "TKEY"
        case 250: "TSIG"
        case 251: "IXFR"
        case 252: "AXFR"
        case 253: "MAILB"
        case 254: "MAILA"
        case 255: "ANY"
        case 256: "URI"
        case 257: "CAA"
        default: "TYPE\(type)"
        }
    }
}

/// CLASS values (RFC 1035 §3.2.4, RFC 2136 §1.1).
public enum DNSClass {
    public static let internet: UInt16 = 1
    public static let chaos: UInt16 = 3
    public static let hesiod: UInt16 = 4
    public static let none: UInt16 = 254
    public static let any: UInt16 = 255
}

/// RCODE mnemonics (RFC 6895 §2.3), extended codes included.
public enum DNSResponseCode {
    public static let noError: UInt16 = 0
    public static let formatError: UInt16 = 1
    public static let serverFailure: UInt16 = 2
    public static let nameError: UInt16 = 3
    public static let refused: UInt16 = 5

    public static func name(_ code: UInt16) -> String {
        switch code {
        case 0: "NoError"
        case 1: "FormErr"
        case 2: "ServFail"
        case 3: "NXDomain"
        case 4: "NotImp"
        case 5: "Refused"
        case 6: "YXDomain"
        case 7: "YXRRSet"
        case 8: "NXRRSet"
        case 9: "NotAuth"
        case 10: "NotZone"
        case 11: "DSOTYPENI"
        case 16: "BADVERS"
        case 17: "BADKEY"
        case 18: "BADTIME"
        case 19: "BADMODE"
        case 20: "BADNAME"
        case 21: "BADALG"
        case 22: "BADTRUNC"
        case 23: "BADCOOKIE"
        default: "RCODE\(code)"
        }
    }
}

/// One resource record (RFC 1035 §4.1.3) with its data decoded by type.
public struct DNSResourceRecord: Decodable, Hashable, Sendable, Encodable {
    public var name: DNSName
    public var type: UInt16
    /// The class; in mDNS without its top bit, which is `cacheFlush`. For OPT, the UDP payload size.
    public var rclass: UInt16
    /// mDNS's cache-flush bit (RFC 6762 §10.2). Always false otherwise.
    public var cacheFlush: Bool
    public var ttl: UInt32
    /// RDLENGTH.
    public var dataLength: Int
    public var data: DNSRecordData

    public init(name: DNSName, type: UInt16, rclass: UInt16 = DNSClass.internet, cacheFlush: Bool = false,
                ttl: UInt32, dataLength: Int, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.rclass = rclass
        self.cacheFlush = cacheFlush
        self.ttl = ttl
        self.dataLength = dataLength
        self.data = data
    }

    /// The type and data in a few words: `A 192.0.2.1`, `MX 10 mail.example.com`, `TYPE65534 (5 bytes)`.
    public var summary: String {
        let type = DNSType.name(self.type)
        switch data {
        case .a(let address), .aaaa(let address):
            return "\(type) \(address)"
        case .cname(let name), .ns(let name), .ptr(let name), .dname(let name):
            return "\(type) \(name)"
        case .mx(let preference, let exchange):
            return "\(type) \(preference) \(exchange)"
        case .txt(let strings):
            return type + strings.map { " \"\($0)\"" }.joined()
        case .soa(let soa):
            return "\(type) \(soa.primary) \(soa.mailbox) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .srv(let priority, let weight, let port, let target):
            return "\(type) \(priority) \(weight) \(port) \(target)"
        case .caa(let flags, let tag, let value):
            return "\(type) \(flags) \(tag) \"\(value)\""
        case .svcb(let binding):
            return "\(type) \(binding.priority) \(binding.target)" + binding.parameters.map { " \($0)" }.joined()
        case .ds(let keyTag, let algorithm, let digestType, let digest):
            return "\(type) \(keyTag) \(algorithm) \(digestType) \(digest)"
        case .dnskey(let key):
            return "\(type) \(key.flags) \(key.protocolNumber) \(key.algorithm) (key tag \(key.keyTag), \(key.publicKeyLength) bytes)"
        case .rrsig(let sig):
            return "\(type) \(DNSType.name(sig.typeCovered)) \(sig.algorithm) \(sig.labels) \(sig.originalTTL)"
                + " (key tag \(sig.keyTag), signer \(sig.signer))"
        case .nsec(let next, let types):
            return "\(type) \(next) (\(types.map(DNSType.name).joined(separator: " ")))"
        case .nsec3(let nsec3):
            return "\(type) \(nsec3.hashAlgorithm) \(nsec3.flags) \(nsec3.iterations) \(nsec3.salt.isEmpty ? "-" : nsec3.salt)"
                + " \(nsec3.nextHashedOwner) (\(nsec3.types.map(DNSType.name).joined(separator: " ")))"
        case .opt(let edns):
            return "\(type) \(edns)"
        case .unknown:
            return "\(type) (\(dataLength) bytes)"
        }
    }
}

/// A record's data, decoded by its type. Types without a case here are `.unknown`; the record
/// keeps their type and data length.
public enum DNSRecordData: Decodable, Hashable, Sendable, Encodable {
    case a(address: IPAddress)
    case aaaa(address: IPAddress)
    case cname(name: DNSName)
    case ns(name: DNSName)
    case ptr(name: DNSName)
    case dname(name: DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    /// The character-strings, as text (see `DNSName` for how bytes are shown).
    case txt(strings: [String])
    case soa(DNSStartOfAuthority)
    /// RFC 2782.
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    /// RFC 8659.
    case caa(flags: UInt8, tag: String, value: String)
    /// SVCB and HTTPS (RFC 9460): the record's `type` tells which.
    case svcb(DNSServiceBinding)
    /// RFC 4034 §5; the digest in hex.
    case ds(keyTag: UInt16, algorithm: UInt8, digestType: UInt8, digest: String)
    case dnskey(DNSKey)
    case rrsig(DNSSignature)
    /// RFC 4034 §4: the next owner name and the types present at this one.
    case nsec(next: DNSName, types: [UInt16])
    case nsec3(DNSNextSecure3)
    case opt(DNSEDNS)
    case unknown
}

/// SOA data (RFC 1035 §3.3.13).
public struct DNSStartOfAuthority: Decodable, Hashable, Sendable, Encodable {
    /// MNAME, the zone's primary server, and RNAME, the mailbox of who is responsible for it.
    public var primary: DNSName
    public var mailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    /// The negative-caching TTL (RFC 2308 §4).
    public var minimum: UInt32
}

/// SVCB / HTTPS data (RFC 9460 §2.2). Priority 0 is AliasMode; the target "." means the owner.
public struct DNSServiceBinding: Decodable, Hashable, Sendable, Encodable {
    public var priority: UInt16
    public var target: DNSName
    public var parameters: [DNSServiceParameter]
}

/// One SvcParam (RFC 9460 §7, §14.3.2).
public enum DNSServiceParameter: Decodable, Hashable, Sendable, Encodable, CustomStringConvertible {
    case mandatory(keys: [UInt16])
    case alpn(protocols: [String])
    case noDefaultALPN
    case port(UInt16)
    case ipv4Hint(addresses: [IPAddress])
    /// An ECHConfigList (RFC 9460 §14.3.2, key 5): its length.
    case ech(length: Int)
    case ipv6Hint(addresses: [IPAddress])
    case other(key: UInt16, length: Int)

    public static func keyName(_ key: UInt16) -> String {
        switch key {
        case 0: "mandatory"
        case 1: "alpn"
        case 2: "no-default-alpn"
        case 3: "port"
        case 4: "ipv4hint"
        case 5: "ech"
        case 6: "ipv6hint"
        case 7: "dohpath"
        case 8: "ohttp"
        default: "key\(key)"
        }
    }

    public var description: String {
        switch self {
        case .mandatory(let keys): "mandatory=" + keys.map(Self.keyName).joined(separator: ",")
        case .alpn(let protocols): "alpn=" + protocols.joined(separator: ",")
        case .noDefaultALPN: "no-default-alpn"
        case .port(let port): "port=\(port)"
        case .ipv4Hint(let addresses): "ipv4hint=" + addresses.map(\.description).joined(separator: ",")
        case .ech(let length): "ech=(\(length) bytes)"
        case .ipv6Hint(let addresses): "ipv6hint=" + addresses.map(\.description).joined(separator: ",")
        case .other(let key, let length): "\(Self.keyName(key))=(\(length) bytes)"
        }
    }
}

/// DNSKEY data (RFC 4034 §2): the key itself is summed up by its tag and length.
public struct DNSKey: Decodable, Hashable, Sendable, Encodable {
    public var flags: UInt16
    public var protocolNumber: UInt8
    public var algorithm: UInt8
    /// The key tag (RFC 4034 Appendix B) that DS and RRSIG records name this key by.
    public var keyTag: UInt16
    public var publicKeyLength: Int
}

/// RRSIG data (RFC 4034 §3); times are seconds since the epoch (mod 2^32, §3.1.5).
public struct DNSSignature: Decodable, Hashable, Sendable, Encodable {
    public var typeCovered: UInt16
    public var algorithm: UInt8
    public var labels: UInt8
    public var originalTTL: UInt32
    public var expiration: UInt32
    public var inception: UInt32
    public var keyTag: UInt16
    public var signer: DNSName
    public var signatureLength: Int
}

/// NSEC3 data (RFC 5155 §3.2): salt in hex, the next hashed owner in base32hex (§3.3).
public struct DNSNextSecure3: Decodable, Hashable, Sendable, Encodable {
    public var hashAlgorithm: UInt8
    public var flags: UInt8
    public var iterations: UInt16
    public var salt: String
    public var nextHashedOwner: String
    public var types: [UInt16]
}

/// The OPT pseudo-record's meaning (RFC 6891 §6.1.2–6.1.3).
public struct DNSEDNS: Decodable, Hashable, Sendable, Encodable, CustomStringConvertible {
    /// The requestor's UDP payload size (the record's CLASS).
    public var udpPayloadSize: UInt16
    /// The upper 8 bits of the 12-bit response code (the TTL's first byte).
    public var extendedRcode: UInt8
    public var version: UInt8
    /// DO: DNSSEC records wanted (RFC 3225).
    public var dnssecOK: Bool
    /// The other 15 flag bits, reserved.
    public var z: UInt16
    public var options: [DNSEDNSOption]

    public var description: String {
        var text = "udp=\(udpPayloadSize)"
        if version != 0 { text += " version=\(version)" }
        if dnssecOK { text += " DO" }
        return text + options.map { " \($0)" }.joined()
    }
}

/// One EDNS option (RFC 6891 §6.1.2).
public enum DNSEDNSOption: Decodable, Hashable, Sendable, Encodable, CustomStringConvertible {
    /// Client subnet (RFC 7871 §6): family 1 IPv4, 2 IPv6; the address holds only the prefix's
    /// bytes on the wire and is given here padded with zeros (nil for another family).
    case clientSubnet(family: UInt16, sourcePrefixLength: UInt8, scopePrefixLength: UInt8, address: IPAddress?)
    /// DNS cookie (RFC 7873 §4): the 8-byte client cookie and the server's (8 to 32 bytes), in hex.
    case cookie(client: String, server: String?)
    /// Extended DNS Error (RFC 8914 §2): the info code and its text.
    case extendedError(infoCode: UInt16, extraText: String)
    /// Padding (RFC 7830): its length.
    case padding(length: Int)
    case other(code: UInt16, length: Int)

    public static let clientSubnetCode: UInt16 = 8
    public static let cookieCode: UInt16 = 10
    public static let paddingCode: UInt16 = 12
    public static let extendedErrorCode: UInt16 = 15

    public var description: String {
        switch self {
        case .clientSubnet(let family, let source, let scope, let address):
            "ecs=\(address.map(\.description) ?? "family\(family)")/\(source)/\(scope)"
        case .cookie(let client, let server): "cookie=\(client)" + (server.map { "/\($0)" } ?? "")
        case .extendedError(let code, let text): "ede=\(code)" + (text.isEmpty ? "" : " \"\(text)\"")
        case .padding(let length): "padding=\(length)"
        case .other(let code, let length): "option\(code)=(\(length) bytes)"
        }
    }
}

// MARK: Decoding record data

extension DNSReader {
    /// Data that ends before what its type needs: malformed.
    func truncated(_ reason: String) -> DNSProblem.Kind { .truncatedRecordData(type: recordType, reason: reason) }
    /// Data holding a value its type forbids, within its length: invalid.
    func invalid(_ reason: String) -> DNSProblem.Kind { .invalidRecordData(type: recordType, reason: reason) }

    /// Decodes the data of a record of `recordType`; `self` spans exactly the record's data. Lists
    /// (strings, parameters, options, bitmaps) must fill the data exactly; bytes after a type's
    /// last field are ignored, as Wireshark does.
    mutating func recordData(rclass: UInt16, ttl: UInt32) throws(DNSProblem.Kind) -> DNSRecordData {
        func need(_ count: Int) throws(DNSProblem.Kind) {
            guard remaining >= count else { throw truncated("needs \(count) more bytes, \(remaining) left") }
        }
        let length = remaining
        switch recordType {
        case DNSType.a:
            try need(4)
            guard length == 4 else { throw invalid("must be 4 bytes, has \(length)") }
            return .a(address: IPAddress(ipv4: u32()))
        case DNSType.aaaa:
            try need(16)
            guard length == 16 else { throw invalid("must be 16 bytes, has \(length)") }
            return .aaaa(address: ipv6())
        case DNSType.cname: return .cname(name: try name())
        case DNSType.ns: return .ns(name: try name())
        case DNSType.ptr: return .ptr(name: try name())
        case DNSType.dname: return .dname(name: try name())
        case DNSType.mx:
            try need(2)
            let preference = u16()
            return .mx(preference: preference, exchange: try name())
        case DNSType.txt:
            var strings: [String] = []
            while remaining > 0 { strings.append(try characterString()) }
            return .txt(strings: strings)
        case DNSType.soa:
            let primary = try name(), mailbox = try name()
            try need(20)
            return .soa(DNSStartOfAuthority(primary: primary, mailbox: mailbox, serial: u32(), refresh: u32(),
                                            retry: u32(), expire: u32(), minimum: u32()))
        case DNSType.srv:
            try need(6)
            let priority = u16(), weight = u16(), port = u16()
            return .srv(priority: priority, weight: weight, port: port, target: try name())
        case DNSType.caa:
            try need(2)
            let flags = u8()
            let tagLength = Int(u8())
            try need(tagLength)
            let tag = escapedText(offset..<offset + tagLength, special: [])
            offset += tagLength
            let value = escapedText(offset..<end, special: [0x22, 0x5C])
            offset = end
            return .caa(flags: flags, tag: tag, value: value)
        case DNSType.svcb, DNSType.https:
            try need(2)
            let priority = u16()
            let target = try name()
            return .svcb(DNSServiceBinding(priority: priority, target: target, parameters: try serviceParameters()))
        case DNSType.ds:
            try need(4)
            let keyTag = u16(), algorithm = u8(), digestType = u8()
            return .ds(keyTag: keyTag, algorithm: algorithm, digestType: digestType, digest: hex(remaining))
        case DNSType.dnskey:
            try need(4)
            let start = offset
            let flags = u16(), protocolNumber = u8(), algorithm = u8()
            return .dnskey(DNSKey(flags: flags, protocolNumber: protocolNumber, algorithm: algorithm,
                                  keyTag: keyTag(start..<end, algorithm: algorithm), publicKeyLength: remaining))
        case DNSType.rrsig:
            try need(18)
            let typeCovered = u16(), algorithm = u8(), labels = u8(), originalTTL = u32()
            let expiration = u32(), inception = u32(), keyTag = u16()
            let signer = try name()
            return .rrsig(DNSSignature(typeCovered: typeCovered, algorithm: algorithm, labels: labels,
                                       originalTTL: originalTTL, expiration: expiration, inception: inception,
                                       keyTag: keyTag, signer: signer, signatureLength: remaining))
        case DNSType.nsec:
            let next = try name()
            return .nsec(next: next, types: try typeBitmap())
        case DNSType.nsec3:
            try need(5)
            let hashAlgorithm = u8(), flags = u8(), iterations = u16()
            let saltLength = Int(u8())
            try need(saltLength + 1)
            let salt = hex(saltLength)
            let hashLength = Int(u8())
            try need(hashLength)
            let owner = base32hex(hashLength)
            return .nsec3(DNSNextSecure3(hashAlgorithm: hashAlgorithm, flags: flags, iterations: iterations,
                                         salt: salt, nextHashedOwner: owner, types: try typeBitmap()))
        case DNSType.opt:
            return .opt(DNSEDNS(udpPayloadSize: rclass, extendedRcode: UInt8(ttl >> 24), version: UInt8(ttl >> 16 & 0xFF),
                                dnssecOK: ttl & 0x8000 != 0, z: UInt16(ttl & 0x7FFF), options: try ednsOptions()))
        default:
            return .unknown
        }
    }

    /// A 16-byte address.
    mutating func ipv6() -> IPAddress {
        defer { offset += 16 }
        return message.ipv6Address(offset)
    }

    /// A <character-string> (RFC 1035 §3.3): a length byte and that many bytes.
    mutating func characterString() throws(DNSProblem.Kind) -> String {
        let length = Int(u8())
        guard remaining >= length else { throw truncated("has a string of \(length) bytes with \(remaining) left") }
        defer { offset += length }
        return escapedText(offset..<offset + length, special: [0x22, 0x5C])
    }

    /// `count` bytes in lower-case hex.
    mutating func hex(_ count: Int) -> String {
        defer { offset += count }
        return hexDigits(message, offset..<offset + count)
    }

    /// `count` bytes in base32hex without padding (RFC 4648 §7), lower case as RFC 5155 shows it.
    mutating func base32hex(_ count: Int) -> String {
        let digits = Array("0123456789abcdefghijklmnopqrstuv".utf8)
        var out: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0
        for i in offset..<offset + count {
            buffer = buffer << 8 | UInt32(message.u8(i))
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(digits[Int(buffer >> UInt32(bits) & 0x1F)])
            }
            buffer &= (1 << UInt32(bits)) - 1
        }
        if bits > 0 { out.append(digits[Int(buffer << UInt32(5 - bits) & 0x1F)]) }
        offset += count
        return String(decoding: out, as: UTF8.self)
    }

    /// The key tag of DNSKEY data (RFC 4034 Appendix B): a ones'-complement-like sum of the data's
    /// 16-bit words; for algorithm 1 (RSA/MD5) the 16 bits before the modulus's last byte.
    func keyTag(_ range: Range<Int>, algorithm: UInt8) -> UInt16 {
        if algorithm == 1 {
            return range.count >= 4 ? message.be16(range.upperBound - 3) : 0
        }
        var sum: UInt32 = 0
        for i in range {
            let byte = UInt32(message.u8(i))
            sum &+= (i - range.lowerBound) & 1 == 0 ? byte << 8 : byte
        }
        sum &+= sum >> 16 & 0xFFFF
        return UInt16(sum & 0xFFFF)
    }

    /// Type bitmaps (RFC 4034 §4.1.2): blocks of window number, bitmap length (1 to 32) and bitmap,
    /// filling the rest of the data.
    mutating func typeBitmap() throws(DNSProblem.Kind) -> [UInt16] {
        var types: [UInt16] = []
        while remaining > 0 {
            guard remaining >= 2 else { throw truncated("has a type bitmap block cut after its window number") }
            let window = UInt16(u8())
            let length = Int(u8())
            guard remaining >= length else { throw truncated("has a type bitmap of \(length) bytes with \(remaining) left") }
            guard (1...32).contains(length) else { throw invalid("has a type bitmap of length \(length), not 1 to 32") }
            for index in 0..<length {
                let bits = u8()
                for bit in 0..<8 where bits & (0x80 >> UInt8(bit)) != 0 {
                    types.append(window << 8 | UInt16(index * 8 + bit))
                }
            }
        }
        return types
    }

    /// SvcParams (RFC 9460 §2.2): key, length, value, to the end of the data.
    mutating func serviceParameters() throws(DNSProblem.Kind) -> [DNSServiceParameter] {
        var parameters: [DNSServiceParameter] = []
        while remaining > 0 {
            guard remaining >= 4 else { throw truncated("has a parameter cut in its key or length") }
            let key = u16()
            let length = Int(u16())
            guard remaining >= length else { throw truncated("has parameter \(key) of \(length) bytes with \(remaining) left") }
            let valueEnd = offset + length
            func wrong() -> DNSProblem.Kind { invalid("has \(DNSServiceParameter.keyName(key)) of impossible length \(length)") }
            switch key {
            case 0:
                guard length > 0 && length % 2 == 0 else { throw wrong() }
                var keys: [UInt16] = []
                while offset < valueEnd { keys.append(u16()) }
                parameters.append(.mandatory(keys: keys))
            case 1:
                guard length > 0 else { throw wrong() }
                var protocols: [String] = []
                while offset < valueEnd {
                    let idLength = Int(u8())
                    guard idLength > 0 && offset + idLength <= valueEnd else { throw wrong() }
                    protocols.append(escapedText(offset..<offset + idLength, special: [0x2C, 0x5C]))
                    offset += idLength
                }
                parameters.append(.alpn(protocols: protocols))
            case 2:
                guard length == 0 else { throw wrong() }
                parameters.append(.noDefaultALPN)
            case 3:
                guard length == 2 else { throw wrong() }
                parameters.append(.port(u16()))
            case 4:
                guard length > 0 && length % 4 == 0 else { throw wrong() }
                var addresses: [IPAddress] = []
                while offset < valueEnd { addresses.append(IPAddress(ipv4: u32())) }
                parameters.append(.ipv4Hint(addresses: addresses))
            case 5:
                parameters.append(.ech(length: length))
            case 6:
                guard length > 0 && length % 16 == 0 else { throw wrong() }
                var addresses: [IPAddress] = []
                while offset < valueEnd { addresses.append(ipv6()) }
                parameters.append(.ipv6Hint(addresses: addresses))
            default:
                parameters.append(.other(key: key, length: length))
            }
            offset = valueEnd
        }
        return parameters
    }

    /// EDNS options (RFC 6891 §6.1.2): code, length, data, to the end of the OPT data. An option
    /// holding an impossible value is kept as `.other` and noted in `invalidity`, so that the rest
    /// of EDNS (payload size, extended RCODE) stays.
    mutating func ednsOptions() throws(DNSProblem.Kind) -> [DNSEDNSOption] {
        var options: [DNSEDNSOption] = []
        while remaining > 0 {
            guard remaining >= 4 else { throw truncated("has an option cut in its code or length") }
            let code = u16()
            let length = Int(u16())
            guard remaining >= length else { throw truncated("has option \(code) of \(length) bytes with \(remaining) left") }
            let valueEnd = offset + length
            do throws(DNSProblem.Kind) {
                options.append(try ednsOption(code: code, length: length))
            } catch {
                guard case .invalidRecordData = error else { throw error }
                invalidity = invalidity ?? error
                options.append(.other(code: code, length: length))
            }
            offset = valueEnd
        }
        return options
    }

    /// One option's value, at `offset`, `length` bytes (which are there).
    mutating func ednsOption(code: UInt16, length: Int) throws(DNSProblem.Kind) -> DNSEDNSOption {
        switch code {
        case DNSEDNSOption.clientSubnetCode:
            guard length >= 4 else { throw truncated("has a client subnet option of \(length) bytes, under 4") }
            let family = u16(), source = u8(), scope = u8()
            let addressLength = length - 4
            guard family == 1 || family == 2 else {
                return .clientSubnet(family: family, sourcePrefixLength: source, scopePrefixLength: scope, address: nil)
            }
            // The address holds exactly the source prefix's bytes (RFC 7871 §6).
            guard Int(source) <= (family == 1 ? 32 : 128), addressLength == (Int(source) + 7) / 8 else {
                throw invalid("has a client subnet address of \(addressLength) bytes for a /\(source) prefix")
            }
            var bytes = [UInt8](repeating: 0, count: family == 1 ? 4 : 16)
            for i in 0..<addressLength { bytes[i] = message.u8(offset + i) }
            let address = bytes.withUnsafeBytes { raw in
                family == 1 ? IPAddress(ipv4: raw.bytes.be32(0)) : IPAddress(high: raw.bytes.be64(0), low: raw.bytes.be64(8))
            }
            return .clientSubnet(family: family, sourcePrefixLength: source, scopePrefixLength: scope, address: address)
        case DNSEDNSOption.cookieCode:
            guard length == 8 || (16...40).contains(length) else {
                throw invalid("has a cookie of \(length) bytes, not 8 or 16 to 40")
            }
            let client = hex(8)
            return .cookie(client: client, server: length > 8 ? hex(length - 8) : nil)
        case DNSEDNSOption.extendedErrorCode:
            guard length >= 2 else { throw truncated("has an extended error of \(length) bytes, under 2") }
            let infoCode = u16()
            return .extendedError(infoCode: infoCode, extraText: escapedText(offset..<offset + length - 2, special: [0x22, 0x5C]))
        case DNSEDNSOption.paddingCode:
            return .padding(length: length)
        default:
            return .other(code: code, length: length)
        }
    }
}

extension DNSRecordData {
    /// `{"kind": "mx", "preference": 10, "exchange": "mail.example.com"}`: see `TaggedCase`.
    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .a(let address): try tagged.encode("a", ["address": address])
        case .aaaa(let address): try tagged.encode("aaaa", ["address": address])
        case .cname(let name): try tagged.encode("cname", ["name": name])
        case .ns(let name): try tagged.encode("ns", ["name": name])
        case .ptr(let name): try tagged.encode("ptr", ["name": name])
        case .dname(let name): try tagged.encode("dname", ["name": name])
        case .mx(let preference, let exchange): try tagged.encode("mx", ["preference": preference, "exchange": exchange])
        case .txt(let strings): try tagged.encode("txt", ["strings": strings])
        case .soa(let soa): try tagged.encode("soa", merging: soa)
        case .srv(let priority, let weight, let port, let target):
            try tagged.encode("srv", ["priority": priority, "weight": weight, "port": port, "target": target])
        case .caa(let flags, let tag, let value): try tagged.encode("caa", ["flags": flags, "tag": tag, "value": value])
        case .svcb(let binding): try tagged.encode("svcb", merging: binding)
        case .ds(let keyTag, let algorithm, let digestType, let digest):
            try tagged.encode("ds", ["keyTag": keyTag, "algorithm": algorithm, "digestType": digestType, "digest": digest])
        case .dnskey(let key): try tagged.encode("dnskey", merging: key)
        case .rrsig(let signature): try tagged.encode("rrsig", merging: signature)
        case .nsec(let next, let types): try tagged.encode("nsec", ["next": next, "types": types])
        case .nsec3(let record): try tagged.encode("nsec3", merging: record)
        case .opt(let edns): try tagged.encode("opt", merging: edns)
        case .unknown: try tagged.encode("unknown")
        }
    }
}

extension DNSServiceParameter {
    /// `{"kind": "alpn", "protocols": ["h2"]}`: see `TaggedCase`.
    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .mandatory(let keys): try tagged.encode("mandatory", ["keys": keys])
        case .alpn(let protocols): try tagged.encode("alpn", ["protocols": protocols])
        case .noDefaultALPN: try tagged.encode("noDefaultALPN")
        case .port(let port): try tagged.encode("port", ["port": port])
        case .ipv4Hint(let addresses): try tagged.encode("ipv4Hint", ["addresses": addresses])
        case .ech(let length): try tagged.encode("ech", ["length": length])
        case .ipv6Hint(let addresses): try tagged.encode("ipv6Hint", ["addresses": addresses])
        case .other(let key, let length): try tagged.encode("other", ["key": key, "length": length])
        }
    }
}

extension DNSEDNSOption {
    /// `{"kind": "client_subnet", "family": 1, …}`: see `TaggedCase`.
    public func encode(to encoder: any Encoder) throws {
        let tagged = TaggedCase(encoder)
        switch self {
        case .clientSubnet(let family, let sourcePrefixLength, let scopePrefixLength, let address):
            try tagged.encode("clientSubnet", ["family": family, "sourcePrefixLength": sourcePrefixLength,
                                               "scopePrefixLength": scopePrefixLength, "address": address])
        case .cookie(let client, let server): try tagged.encode("cookie", ["client": client, "server": server])
        case .extendedError(let infoCode, let extraText):
            try tagged.encode("extendedError", ["infoCode": infoCode, "extraText": extraText])
        case .padding(let length): try tagged.encode("padding", ["length": length])
        case .other(let code, let length): try tagged.encode("other", ["code": code, "length": length])
        }
    }
}
