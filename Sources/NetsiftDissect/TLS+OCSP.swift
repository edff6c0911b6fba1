import SwiftASN1
import X509

/// A stapled OCSP response (RFC 6960 §4.2.1), from a TLS 1.2 CertificateStatus message (RFC 6066
/// §8): what the CA's responder said about the server's certificate, and when.
///
/// Read with swift-asn1's DER combinators and swift-certificates' public types (names,
/// extensions), as the certificate is: swift-certificates' own OCSP types are internal to it.
/// The signature is not verified (a capture holds no trust store); what is read is what the
/// server sent clients to rely on.
public struct TLSOCSPResponse: Decodable, Sendable, Equatable, Encodable {
    /// One certificate's status (SingleResponse).
    public struct Status: Decodable, Sendable, Equatable, Encodable {
        /// The certificate's serial number, as `TLSCertificate.serialNumber` prints it.
        public var serialNumber: String
        /// "good", "revoked" or "unknown".
        public var status: String
        public var revocationTime: Int64?
        /// CRLReason (RFC 5280 §5.3.1) by name, when the responder gave one, and its code.
        public var revocationReason: String?
        public var revocationReasonCode: Int?
        /// The time the status is known correct at, and the time newer information will be
        /// available by (seconds since 1970, UTC): a response past `nextUpdate` is stale.
        public var thisUpdate: Int64
        public var nextUpdate: Int64?

        public init(serialNumber: String, status: String, revocationTime: Int64? = nil, revocationReason: String? = nil,
                    thisUpdate: Int64, nextUpdate: Int64? = nil) {
            self.serialNumber = serialNumber
            self.status = status
            self.revocationTime = revocationTime
            self.revocationReason = revocationReason
            self.thisUpdate = thisUpdate
            self.nextUpdate = nextUpdate
        }

        /// CertStatus's choice: 0 good, 1 revoked, 2 unknown (Wireshark's `ocsp.certStatus`).
        public var statusCode: Int { status == "good" ? 0 : status == "revoked" ? 1 : 2 }

        private enum OutputKeys: String, CodingKey {
            case serialNumber, status, revocationTime, revocationReason, thisUpdate, nextUpdate
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: OutputKeys.self)
            try c.encode(serialNumber, forKey: .serialNumber)
            try c.encode(status, forKey: .status)
            try c.encodeIfPresent(revocationTime.map(UTCTimestamp.iso), forKey: .revocationTime)
            try c.encodeIfPresent(revocationReason, forKey: .revocationReason)
            try c.encode(UTCTimestamp.iso(thisUpdate), forKey: .thisUpdate)
            try c.encodeIfPresent(nextUpdate.map(UTCTimestamp.iso), forKey: .nextUpdate)
        }
    }

    /// OCSPResponseStatus by name: "successful", "malformedRequest", "internalError", "tryLater",
    /// "sigRequired", "unauthorized".
    public var responseStatus: String
    /// Its code (0 successful…).
    public var responseStatusCode: Int
    /// When the responder signed it (successful responses only).
    public var producedAt: Int64?
    /// The responder's name ("CN=…"), or "key " and its key hash.
    public var responder: String?
    public var statuses: [Status]

    public init(responseStatusCode: Int, producedAt: Int64? = nil, responder: String? = nil, statuses: [Status] = []) {
        self.responseStatusCode = responseStatusCode
        responseStatus = Self.statusName(responseStatusCode)
        self.producedAt = producedAt
        self.responder = responder
        self.statuses = statuses
    }

    /// "OCSP successful: serial 10:00 revoked at … (keyCompromise), this update …, next update …;
    /// produced …".
    public var summaryLine: String {
        var line = "OCSP \(responseStatus)"
        for (index, s) in statuses.enumerated() {
            line += (index == 0 ? ": " : "; ") + "serial \(s.serialNumber) \(s.status)"
            if let time = s.revocationTime { line += " at \(UTCTimestamp.iso(time))" }
            if let reason = s.revocationReason { line += " (\(reason))" }
            line += ", this update \(UTCTimestamp.iso(s.thisUpdate))"
            if let next = s.nextUpdate { line += ", next update \(UTCTimestamp.iso(next))" }
        }
        if let producedAt { line += "; produced \(UTCTimestamp.iso(producedAt))" }
        return line
    }

    private enum OutputKeys: String, CodingKey { case responseStatus, producedAt, responder, statuses }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: OutputKeys.self)
        try c.encode(responseStatus, forKey: .responseStatus)
        try c.encodeIfPresent(producedAt.map(UTCTimestamp.iso), forKey: .producedAt)
        try c.encodeIfPresent(responder, forKey: .responder)
        try c.encode(statuses, forKey: .statuses)
    }
}

extension TLSOCSPResponse {
    static let basicResponseType = "1.3.6.1.5.5.7.48.1.1"   // id-pkix-ocsp-basic

    static func statusName(_ value: Int) -> String {
        switch value {
        case 0: "successful"
        case 1: "malformedRequest"
        case 2: "internalError"
        case 3: "tryLater"
        case 5: "sigRequired"
        case 6: "unauthorized"
        default: "status \(value)"
        }
    }

    static func reasonName(_ value: Int) -> String {
        switch value {
        case 0: "unspecified"
        case 1: "keyCompromise"
        case 2: "cACompromise"
        case 3: "affiliationChanged"
        case 4: "superseded"
        case 5: "cessationOfOperation"
        case 6: "certificateHold"
        case 8: "removeFromCRL"
        case 9: "privilegeWithdrawn"
        case 10: "aACompromise"
        default: "reason \(value)"
        }
    }

    /// OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED, responseBytes [0] EXPLICIT
    /// ResponseBytes OPTIONAL }; ResponseBytes ::= SEQUENCE { responseType OID, response OCTET
    /// STRING } holding a BasicOCSPResponse.
    public static func decode(der: ArraySlice<UInt8>) throws -> TLSOCSPResponse {
        try DER.sequence(DER.parse(der), identifier: .sequence) { nodes in
            let code = try Int(derEncoded: nodes.next().orThrow("responseStatus"), withIdentifier: .enumerated)
            var response = TLSOCSPResponse(responseStatusCode: code)
            guard let bytes = nodes.next() else { return response }
            let (type, basic) = try DER.explicitlyTagged(bytes, tagNumber: 0, tagClass: .contextSpecific) { node in
                try DER.sequence(node, identifier: .sequence) { inner in
                    (try ASN1ObjectIdentifier(derEncoded: &inner), try ASN1OctetString(derEncoded: &inner))
                }
            }
            guard type.description == basicResponseType else {
                throw ASN1Error.invalidASN1Object(reason: "response type \(type) is not id-pkix-ocsp-basic")
            }
            try response.decodeBasic(basic.bytes)
            return response
        }
    }

    /// BasicOCSPResponse ::= SEQUENCE { tbsResponseData ResponseData, signatureAlgorithm,
    /// signature BIT STRING, certs [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }.
    mutating func decodeBasic(_ der: ArraySlice<UInt8>) throws {
        let data = try DER.sequence(DER.parse(der), identifier: .sequence) { nodes in
            let data = try nodes.next().orThrow("tbsResponseData")
            while nodes.next() != nil {}   // the signature and the responder's certificates: not verified here
            return data
        }
        // ResponseData ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1, responderID, producedAt
        // GeneralizedTime, responses SEQUENCE OF SingleResponse, responseExtensions [1] OPTIONAL }.
        try DER.sequence(data, identifier: .sequence) { nodes in
            var next = try nodes.next().orThrow("responderID")
            if next.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                next = try nodes.next().orThrow("responderID")
            }
            // ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }.
            if next.identifier == ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific) {
                let name = try DER.explicitlyTagged(next, tagNumber: 1, tagClass: .contextSpecific) {
                    try DistinguishedName(derEncoded: $0)
                }
                responder = TLSCertificate.text(TLSCertificate.attributes(name))
            } else if next.identifier == ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific) {
                let hash = try DER.explicitlyTagged(next, tagNumber: 2, tagClass: .contextSpecific) {
                    try ASN1OctetString(derEncoded: $0)
                }
                responder = "key " + TLSCertificate.hexColon(hash.bytes)
            }
            producedAt = try TLSCertificate.time(nodes.next().orThrow("producedAt"))
            statuses = try DER.sequence(nodes.next().orThrow("responses"), identifier: .sequence) { responses in
                var all: [Status] = []
                while let single = responses.next() { all.append(try Self.decodeSingle(single)) }
                return all
            }
            while nodes.next() != nil {}   // responseExtensions (the nonce) are not used
        }
    }

    /// SingleResponse ::= SEQUENCE { certID CertID, certStatus CertStatus, thisUpdate
    /// GeneralizedTime, nextUpdate [0] EXPLICIT GeneralizedTime OPTIONAL, singleExtensions [1] OPTIONAL }.
    static func decodeSingle(_ node: ASN1Node) throws -> Status {
        try DER.sequence(node, identifier: .sequence) { nodes in
            // CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash OCTET STRING, issuerKeyHash OCTET
            // STRING, serialNumber INTEGER }: the serial's content octets as the certificate's are shown.
            let serial = try DER.sequence(nodes.next().orThrow("certID"), identifier: .sequence) { id in
                _ = try TLSCertificate.algorithmIdentifier(&id)
                _ = try ASN1OctetString(derEncoded: &id)
                _ = try ASN1OctetString(derEncoded: &id)
                let serialNode = try id.next().orThrow("serialNumber")
                _ = try ArraySlice<UInt8>(derEncoded: serialNode)
                guard case .primitive(let bytes) = serialNode.content else {
                    throw ASN1Error.invalidASN1Object(reason: "serialNumber is not primitive")
                }
                return bytes
            }
            // CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo,
            // unknown [2] IMPLICIT NULL }; RevokedInfo ::= SEQUENCE { revocationTime
            // GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }.
            let statusNode = try nodes.next().orThrow("certStatus")
            var status = Status(serialNumber: TLSCertificate.hexColon(serial), status: "unknown", thisUpdate: 0)
            switch statusNode.identifier {
            case ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific): status.status = "good"
            case ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific):
                status.status = "revoked"
                try DER.sequence(statusNode, identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)) { info in
                    status.revocationTime = try TLSCertificate.time(info.next().orThrow("revocationTime"))
                    if let reason = info.next() {
                        let value = try DER.explicitlyTagged(reason, tagNumber: 0, tagClass: .contextSpecific) {
                            try Int(derEncoded: $0, withIdentifier: .enumerated)
                        }
                        status.revocationReasonCode = value
                        status.revocationReason = reasonName(value)
                    }
                }
            case ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific): status.status = "unknown"
            default: throw ASN1Error.invalidASN1Object(reason: "certStatus has an unknown tag")
            }
            status.thisUpdate = try TLSCertificate.time(nodes.next().orThrow("thisUpdate"))
            while let next = nodes.next() {
                if next.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
                    status.nextUpdate = try DER.explicitlyTagged(next, tagNumber: 0, tagClass: .contextSpecific) {
                        try TLSCertificate.time($0)
                    }
                }
            }
            return status
        }
    }
}
