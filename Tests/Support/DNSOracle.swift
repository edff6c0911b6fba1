import Foundation
import NetsiftDissect

/// How the tshark oracle (`oracle.py`'s dns section, built from tshark's `dns.*` fields) describes a
/// DNS message, so that ours can be compared with it field by field.
public enum DNSOracle {
    public static let fields = ["id", "is_response", "rcode", "truncated", "qname", "qtype", "questions", "answer_count",
                                "authority_count", "additional_count", "rr_types", "edns_udp_payload_size"]

    /// Our message in the oracle's terms.
    public static func fields(of m: DNSMessage) -> [String: Any] {
        func name(_ n: DNSName) -> String {
            switch n.fault {
            case .tooLong: "<Name too long>"
            case .compressionLoop: "<Name contains a pointer that loops>"
            case nil: n.isRoot ? "<Root>" : n.text
            }
        }
        // tshark lists each record's type, and after an NSEC or NSEC3 record the types of its
        // bitmap, under the same field (dns.resp.type).
        var types: [Int] = []
        for record in m.records {
            types.append(Int(record.type))
            switch record.data {
            case .nsec(_, let bitmap): types += bitmap.map(Int.init)
            case .nsec3(let nsec3): types += nsec3.types.map(Int.init)
            default: break
            }
        }
        // The first OPT record anywhere gives dns.rr.udp_payload_size.
        let payloadSize = m.records.first { $0.type == DNSType.opt }.map { Int($0.rclass) }
        var fields: [String: Any] = [
            "id": Int(m.header.id), "is_response": m.header.isResponse, "truncated": m.header.truncated,
            "answer_count": m.header.answerCount, "authority_count": m.header.authorityCount,
            "additional_count": m.header.additionalCount, "rr_types": types,
            // tshark shows the reply code of responses only.
            "rcode": m.header.isResponse ? Int(m.header.rcode) as Any : NSNull(),
            "qname": m.questions.first.map { name($0.name) as Any } ?? NSNull(),
            "qtype": m.questions.first.map { Int($0.type) as Any } ?? NSNull(),
            "edns_udp_payload_size": payloadSize.map { $0 as Any } ?? NSNull(),
        ]
        if m.questions.count > 1 { fields["questions"] = m.questions.map { [name($0.name), Int($0.type)] as [Any] } }
        return fields
    }

    /// The fields to compare: those the oracle records for the message (it leaves out rr_types and
    /// edns_udp_payload_size when a frame holds several messages), and the question list when
    /// either side has more than one question.
    public static func compared(ours: [String: Any], theirs: [String: Any]) -> [String] {
        fields.filter { theirs.keys.contains($0) || ($0 == "questions" && ours.keys.contains($0)) }
    }

    /// Equality of two JSON-like values (numbers, strings, booleans, null, arrays).
    public static func same(_ a: Any?, _ b: Any?) -> Bool {
        switch (a, b) {
        case (nil, nil), (is NSNull, nil), (nil, is NSNull), (is NSNull, is NSNull): return true
        case (let x as [Any], let y as [Any]): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (let x as Bool, let y as Bool): return x == y
        case (let x as Int, let y as Int): return x == y
        case (let x as String, let y as String): return x == y
        default: return false
        }
    }
}
