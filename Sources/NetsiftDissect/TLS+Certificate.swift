import SwiftASN1
import X509

/// One X.509 certificate (RFC 5280 §4.1) from a TLS Certificate message: the fields Zeek's
/// `x509.log` and Wireshark's `x509af`/`x509ce`/`x509sat` fields show, decoded by swift-asn1 and
/// swift-certificates (names, extensions, subject alternative names).
///
/// The certificate is read field by field rather than through `Certificate(derEncoded:)`, because
/// that initialiser also builds a usable public key and refuses what a validator should refuse —
/// RSA keys under 2048 bits, DSA keys — which are exactly the certificates worth reporting here.
public struct TLSCertificate: Decodable, Sendable, Equatable, Encodable {
    /// One attribute of a distinguished name: its type's OID ("2.5.4.3" for the common name) and
    /// its value as text.
    public struct Attribute: Decodable, Sendable, Equatable, Encodable {
        public var oid: String
        public var value: String

        public init(oid: String, value: String) {
            self.oid = oid
            self.value = value
        }
    }

    /// 1, 2 or 3.
    public var version: Int
    /// The serial number's bytes as tshark prints them: "00:f2:8e:…".
    public var serialNumber: String
    public var subject: [Attribute]
    public var issuer: [Attribute]
    /// The validity period, in seconds since 1970 (UTC).
    public var notBefore: Int64
    public var notAfter: Int64
    /// Subject alternative names (2.5.29.17): DNS names, and IP addresses as text.
    public var dnsNames: [String]
    public var ipAddresses: [String]
    /// "rsa", "ec", "ed25519", "ed448", "dsa", or the algorithm's OID.
    public var publicKeyAlgorithm: String
    /// The key's size in bits (RSA modulus, EC curve), when known.
    public var publicKeyBits: Int?
    /// The EC curve ("P-256"), or its OID.
    public var curve: String?
    /// "sha256WithRSAEncryption", "ecdsa-with-SHA256", …, or the algorithm's OID.
    public var signatureAlgorithm: String
    /// Basic constraints (2.5.29.19): true for a CA, false for an end entity, nil when absent.
    public var isCertificateAuthority: Bool?

    public init(version: Int, serialNumber: String, subject: [Attribute], issuer: [Attribute], notBefore: Int64,
                notAfter: Int64, dnsNames: [String] = [], ipAddresses: [String] = [], publicKeyAlgorithm: String,
                publicKeyBits: Int? = nil, curve: String? = nil, signatureAlgorithm: String,
                isCertificateAuthority: Bool? = nil) {
        self.version = version
        self.serialNumber = serialNumber
        self.subject = subject
        self.issuer = issuer
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.publicKeyAlgorithm = publicKeyAlgorithm
        self.publicKeyBits = publicKeyBits
        self.curve = curve
        self.signatureAlgorithm = signatureAlgorithm
        self.isCertificateAuthority = isCertificateAuthority
    }

    /// The first common name (2.5.4.3) of the subject, or of the issuer.
    public var subjectCommonName: String? { subject.first { $0.oid == "2.5.4.3" }?.value }
    public var issuerCommonName: String? { issuer.first { $0.oid == "2.5.4.3" }?.value }

    /// Subject and issuer are the same name: a root, or a self-signed server certificate.
    public var isSelfIssued: Bool { !subject.isEmpty && subject == issuer }

    /// Signed with MD2, MD5 or SHA-1, whose collisions let a forger make another certificate with
    /// the same signature.
    public var hasWeakSignature: Bool {
        let name = signatureAlgorithm.lowercased()
        return name.hasPrefix("md2") || name.hasPrefix("md5") || name.hasPrefix("sha1") || name.hasSuffix("sha1")
    }

    /// An RSA or DSA key shorter than 2048 bits (NIST SP 800-131A has disallowed them since 2014).
    public var hasWeakKey: Bool {
        guard let bits = publicKeyBits, publicKeyAlgorithm == "rsa" || publicKeyAlgorithm == "dsa" else { return false }
        return bits < 2048
    }

    /// "CN=www.example.com, O=Example" in certificate order, short names for the usual types.
    public static func text(_ name: [Attribute]) -> String {
        name.map { "\(shortName($0.oid))=\($0.value)" }.joined(separator: ", ")
    }

    static func shortName(_ oid: String) -> String {
        switch oid {
        case "2.5.4.3": "CN"
        case "2.5.4.6": "C"
        case "2.5.4.7": "L"
        case "2.5.4.8": "ST"
        case "2.5.4.10": "O"
        case "2.5.4.11": "OU"
        case "2.5.4.5": "serialNumber"
        case "1.2.840.113549.1.9.1": "emailAddress"
        case "0.9.2342.19200300.100.1.25": "DC"
        default: oid
        }
    }

    /// "subject CN=… issued by CN=…, valid 2013-02-04T00:00:00Z to 2014-03-04T23:59:59Z".
    public var summaryLine: String {
        let who = subjectCommonName.map { "CN=\($0)" } ?? Self.text(subject)
        let by = issuerCommonName.map { "CN=\($0)" } ?? Self.text(issuer)
        return "\(who) issued by \(isSelfIssued ? "itself" : by), valid \(UTCTimestamp.iso(notBefore)) to \(UTCTimestamp.iso(notAfter))"
    }

    private enum OutputKeys: String, CodingKey {
        case version, serialNumber, subject, issuer, notBefore, notAfter, dnsNames, ipAddresses, publicKeyAlgorithm,
             publicKeyBits, curve, signatureAlgorithm, isCertificateAuthority, selfIssued
    }

    /// Times as ISO 8601 UTC text ("2014-03-04T23:59:59Z"), as tshark and Zeek print them.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: OutputKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(serialNumber, forKey: .serialNumber)
        try c.encode(subject, forKey: .subject)
        try c.encode(issuer, forKey: .issuer)
        try c.encode(UTCTimestamp.iso(notBefore), forKey: .notBefore)
        try c.encode(UTCTimestamp.iso(notAfter), forKey: .notAfter)
        try c.encode(dnsNames, forKey: .dnsNames)
        try c.encode(ipAddresses, forKey: .ipAddresses)
        try c.encode(publicKeyAlgorithm, forKey: .publicKeyAlgorithm)
        try c.encodeIfPresent(publicKeyBits, forKey: .publicKeyBits)
        try c.encodeIfPresent(curve, forKey: .curve)
        try c.encode(signatureAlgorithm, forKey: .signatureAlgorithm)
        try c.encodeIfPresent(isCertificateAuthority, forKey: .isCertificateAuthority)
        try c.encode(isSelfIssued, forKey: .selfIssued)
    }
}

extension TLSCertificate {
    /// Decodes one DER certificate. Throws what swift-asn1 or swift-certificates found wrong.
    public static func decode(der: ArraySlice<UInt8>) throws -> TLSCertificate {
        let root = try DER.parse(der)
        return try DER.sequence(root, identifier: .sequence) { nodes in
            guard let tbs = nodes.next() else { throw ASN1Error.invalidASN1Object(reason: "no tbsCertificate") }
            // signatureAlgorithm: AlgorithmIdentifier, the outer copy of the one inside tbsCertificate.
            let signature = try algorithmIdentifier(&nodes).oid
            _ = try ASN1BitString(derEncoded: &nodes)
            return try decodeTBS(tbs, signature: signature)
        }
    }

    static func decodeTBS(_ node: ASN1Node, signature: ASN1ObjectIdentifier) throws -> TLSCertificate {
        try DER.sequence(node, identifier: .sequence) { nodes in
            let version = try DER.decodeDefaultExplicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific,
                                                                defaultValue: Int(0))
            // The serial's content octets as sent, sign byte included (tshark prints them so);
            // swift-asn1 checks it is an INTEGER and would drop that byte.
            let serialNode = try nodes.next().orThrow("serialNumber")
            _ = try ArraySlice<UInt8>(derEncoded: serialNode)
            guard case .primitive(let serial) = serialNode.content else {
                throw ASN1Error.invalidASN1Object(reason: "serialNumber is not primitive")
            }
            _ = try algorithmIdentifier(&nodes)
            let issuer = try DistinguishedName(derEncoded: nodes.next().orThrow("issuer"))
            let (notBefore, notAfter) = try DER.sequence(nodes.next().orThrow("validity"), identifier: .sequence) {
                validity in (try time(validity.next().orThrow("notBefore")), try time(validity.next().orThrow("notAfter")))
            }
            let subject = try DistinguishedName(derEncoded: nodes.next().orThrow("subject"))
            let key = try publicKey(nodes.next().orThrow("subjectPublicKeyInfo"))
            // issuerUniqueID [1] and subjectUniqueID [2] are skipped; extensions are [3].
            var extensions: [Certificate.Extension] = []
            while let next = nodes.next() {
                guard next.identifier == ASN1Identifier(tagWithNumber: 3, tagClass: .contextSpecific) else { continue }
                extensions = try DER.explicitlyTagged(next, tagNumber: 3, tagClass: .contextSpecific) {
                    try DER.sequence(of: Certificate.Extension.self, identifier: .sequence, rootNode: $0)
                }
            }
            var certificate = TLSCertificate(
                version: version + 1, serialNumber: hexColon(serial), subject: attributes(subject),
                issuer: attributes(issuer), notBefore: notBefore, notAfter: notAfter,
                publicKeyAlgorithm: key.algorithm, publicKeyBits: key.bits, curve: key.curve,
                signatureAlgorithm: signatureName(signature))
            certificate.addExtensions(extensions)
            return certificate
        }
    }

    mutating func addExtensions(_ extensions: [Certificate.Extension]) {
        for ext in extensions {
            // An extension swift-certificates cannot read is left out, as a browser ignores a
            // non-critical one it does not know; the rest of the certificate still counts.
            if ext.oid == .X509ExtensionID.subjectAlternativeName,
               let names = try? SubjectAlternativeNames(ext) {
                for name in names {
                    switch name {
                    case .dnsName(let dns): dnsNames.append(dns)
                    case .ipAddress(let octets): ipAddresses.append(Self.ipText(octets.bytes))
                    default: break
                    }
                }
            } else if ext.oid == .X509ExtensionID.basicConstraints, let constraints = try? BasicConstraints(ext) {
                if case .isCertificateAuthority = constraints { isCertificateAuthority = true } else {
                    isCertificateAuthority = false
                }
            }
        }
    }

    /// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }.
    static func algorithmIdentifier(_ nodes: inout ASN1NodeCollection.Iterator) throws
        -> (oid: ASN1ObjectIdentifier, parameters: ASN1Node?) {
        try DER.sequence(nodes.next().orThrow("AlgorithmIdentifier"), identifier: .sequence) { inner in
            (try ASN1ObjectIdentifier(derEncoded: &inner), inner.next())
        }
    }

    /// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }.
    static func publicKey(_ node: ASN1Node) throws -> (algorithm: String, bits: Int?, curve: String?) {
        try DER.sequence(node, identifier: .sequence) { nodes in
            let (oid, parameters) = try algorithmIdentifier(&nodes)
            let key = try ASN1BitString(derEncoded: &nodes).bytes
            switch oid.description {
            case "1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10":
                // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1).
                let modulus = try? DER.sequence(DER.parse(key), identifier: .sequence) { nodes in
                    let modulus = try ArraySlice<UInt8>(derEncoded: &nodes)
                    _ = try ArraySlice<UInt8>(derEncoded: &nodes)   // publicExponent
                    return modulus
                }
                return ("rsa", modulus.map(bitLength), nil)
            case "1.2.840.10045.2.1":
                let curveOID = parameters.flatMap { try? ASN1ObjectIdentifier(derEncoded: $0).description }
                let named = curveOID.map(curveName)
                return ("ec", named?.bits, named?.name ?? curveOID)
            case "1.2.840.10040.4.1":
                // Dss-Parms ::= SEQUENCE { p INTEGER, q INTEGER, g INTEGER }: the key is as long as p.
                let p = parameters.flatMap { node in
                    try? DER.sequence(node, identifier: .sequence) { nodes in
                        let p = try ArraySlice<UInt8>(derEncoded: &nodes)
                        _ = try ArraySlice<UInt8>(derEncoded: &nodes)   // q
                        _ = try ArraySlice<UInt8>(derEncoded: &nodes)   // g
                        return p
                    }
                }
                return ("dsa", p.map(bitLength), nil)
            case "1.3.101.112": return ("ed25519", 256, nil)
            case "1.3.101.113": return ("ed448", 456, nil)
            default: return (oid.description, nil, nil)
            }
        }
    }

    static func curveName(_ oid: String) -> (name: String, bits: Int?) {
        switch oid {
        case "1.2.840.10045.3.1.7": ("P-256", 256)
        case "1.3.132.0.34": ("P-384", 384)
        case "1.3.132.0.35": ("P-521", 521)
        case "1.2.840.10045.3.1.1": ("P-192", 192)
        case "1.3.132.0.33": ("P-224", 224)
        default: (oid, nil)
        }
    }

    /// The number of significant bits of a big-endian unsigned integer.
    static func bitLength(_ bytes: ArraySlice<UInt8>) -> Int {
        guard let first = bytes.firstIndex(where: { $0 != 0 }) else { return 0 }
        return (bytes.endIndex - first) * 8 - bytes[first].leadingZeroBitCount
    }

    /// The names Wireshark and OpenSSL give the usual signature algorithms.
    static func signatureName(_ oid: ASN1ObjectIdentifier) -> String {
        switch oid.description {
        case "1.2.840.113549.1.1.2": "md2WithRSAEncryption"
        case "1.2.840.113549.1.1.4": "md5WithRSAEncryption"
        case "1.2.840.113549.1.1.5": "sha1WithRSAEncryption"
        case "1.2.840.113549.1.1.10": "rsassa-pss"
        case "1.2.840.113549.1.1.11": "sha256WithRSAEncryption"
        case "1.2.840.113549.1.1.12": "sha384WithRSAEncryption"
        case "1.2.840.113549.1.1.13": "sha512WithRSAEncryption"
        case "1.2.840.113549.1.1.14": "sha224WithRSAEncryption"
        case "1.2.840.10045.4.1": "ecdsa-with-SHA1"
        case "1.2.840.10045.4.3.1": "ecdsa-with-SHA224"
        case "1.2.840.10045.4.3.2": "ecdsa-with-SHA256"
        case "1.2.840.10045.4.3.3": "ecdsa-with-SHA384"
        case "1.2.840.10045.4.3.4": "ecdsa-with-SHA512"
        case "1.2.840.10040.4.3": "dsa-with-sha1"
        case "2.16.840.1.101.3.4.3.2": "dsa-with-sha256"
        case "1.3.101.112": "ed25519"
        case "1.3.101.113": "ed448"
        case let other: other
        }
    }

    /// A Name as its attributes in certificate order (each RDN's attributes in turn).
    static func attributes(_ name: DistinguishedName) -> [Attribute] {
        name.flatMap { rdn in rdn.map { Attribute(oid: $0.type.description, value: text($0.value)) } }
    }

    /// An attribute's value as text: swift-certificates reads UTF8String, PrintableString and
    /// IA5String; the older string types are read here through swift-asn1 (TeletexString as
    /// Latin-1, BMPString as UTF-16, UniversalString as UTF-32, all big-endian).
    static func text(_ value: RelativeDistinguishedName.Attribute.Value) -> String {
        if let string = String(value) { return string }
        let any = ASN1Any(value)
        if let teletex = try? ASN1TeletexString(asn1Any: any) {
            return String(teletex.bytes.map { Character(Unicode.Scalar($0)) })
        }
        if let visible = try? ASN1VisibleString(asn1Any: any) { return String(decoding: visible.bytes, as: UTF8.self) }
        if let bmp = try? ASN1BMPString(asn1Any: any) {
            let units = stride(from: bmp.bytes.startIndex, to: bmp.bytes.endIndex - 1, by: 2).map {
                UInt16(bmp.bytes[$0]) << 8 | UInt16(bmp.bytes[$0 + 1])
            }
            return String(decoding: units, as: UTF16.self)
        }
        if let universal = try? ASN1UniversalString(asn1Any: any) {
            let scalars = stride(from: universal.bytes.startIndex, to: universal.bytes.endIndex - 3, by: 4).compactMap {
                let b = universal.bytes
                return Unicode.Scalar(UInt32(b[$0]) << 24 | UInt32(b[$0 + 1]) << 16 | UInt32(b[$0 + 2]) << 8 | UInt32(b[$0 + 3]))
            }
            return String(String.UnicodeScalarView(scalars))
        }
        return value.description
    }

    /// Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }, as seconds since 1970.
    static func time(_ node: ASN1Node) throws -> Int64 {
        if node.identifier == GeneralizedTime.defaultIdentifier {
            let t = try GeneralizedTime(derEncoded: node)
            return UTCTimestamp.seconds(year: t.year, month: t.month, day: t.day, hours: t.hours, minutes: t.minutes,
                                        seconds: t.seconds)
        }
        let t = try UTCTime(derEncoded: node)
        return UTCTimestamp.seconds(year: t.year, month: t.month, day: t.day, hours: t.hours, minutes: t.minutes,
                                    seconds: t.seconds)
    }

    static func hexColon(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }

    /// An iPAddress name: 4 bytes IPv4, 16 bytes IPv6 (RFC 5280 §4.2.1.6); other lengths in hex.
    static func ipText(_ bytes: ArraySlice<UInt8>) -> String {
        switch bytes.count {
        case 4: return bytes.map { String($0) }.joined(separator: ".")
        case 16:
            let b = Array(bytes)
            return "\(IPAddress(high: b[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, low: b[8..<16].reduce(0) { $0 << 8 | UInt64($1) }))"
        default: return hexColon(bytes)
        }
    }
}

extension Optional where Wrapped == ASN1Node {
    /// The node, or the error naming the field that is missing.
    func orThrow(_ field: String) throws -> ASN1Node {
        guard let self else { throw ASN1Error.invalidASN1Object(reason: "\(field) missing") }
        return self
    }
}
