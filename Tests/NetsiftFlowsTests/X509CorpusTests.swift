import Foundation
import Testing
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// Every certificate of every cleartext Certificate message, against the oracle's `x509` section
/// (tshark -2's x509af / x509if / x509sat / x509ce fields): same frame and stream, chain position,
/// subject and issuer attribute by attribute, SAN DNS names, validity, serial number, self-issued.
@Suite struct X509CorpusTests {
    static let fields = ["tcp_stream", "chain_index", "subject", "issuer", "subject_cn", "issuer_cn",
                         "subject_equals_issuer", "san_dns_names", "not_before", "not_after", "serial_number"]

    /// Our certificates in the oracle's text form, in capture order.
    static func rows(_ events: [ApplicationEvent]) -> [(frame: Int, fields: [String: String])] {
        var out: [(frame: Int, fields: [String: String])] = []
        for event in events {
            let chain: [TLSCertificate]
            switch event.message {
            case .tls(.handshake(let handshake)): chain = handshake.certificates ?? []
            case .tls(.sslv2(let record)): chain = record.certificates ?? []   // SSL 2.0 SERVER-HELLO
            default: continue
            }
            for (index, c) in chain.enumerated() {
                out.append((event.context.frame, [
                    "tcp_stream": "\(event.context.stream)", "chain_index": "\(index)",
                    "subject": names(c.subject), "issuer": names(c.issuer),
                    "subject_cn": c.subjectCommonName ?? "null", "issuer_cn": c.issuerCommonName ?? "null",
                    "subject_equals_issuer": "\(c.isSelfIssued)",
                    "san_dns_names": "[" + c.dnsNames.joined(separator: ", ") + "]",
                    "not_before": UTCTimestamp.iso(c.notBefore), "not_after": UTCTimestamp.iso(c.notAfter),
                    "serial_number": c.serialNumber,
                ]))
            }
        }
        return out
    }

    static func names(_ attributes: [TLSCertificate.Attribute]) -> String {
        "[" + attributes.map { "\($0.oid)=\($0.value)" }.joined(separator: ", ") + "]"
    }

    static func oracleRow(_ row: [String: Any]) -> [String: String] {
        func name(_ value: Any?) -> String {
            let pairs = value as? [[Any]] ?? []
            return "[" + pairs.map { "\($0.first as? String ?? "null")=\($0.last as? String ?? "null")" }
                .joined(separator: ", ") + "]"
        }
        return [
            "tcp_stream": TLSRows.text(row["tcp_stream"]), "chain_index": TLSRows.text(row["chain_index"]),
            "subject": name(row["subject"]), "issuer": name(row["issuer"]),
            "subject_cn": TLSRows.text(row["subject_cn"]), "issuer_cn": TLSRows.text(row["issuer_cn"]),
            "subject_equals_issuer": "\(row["subject_equals_issuer"] as? Bool ?? false)",
            "san_dns_names": "[" + (row["san_dns_names"] as? [String] ?? []).joined(separator: ", ") + "]",
            "not_before": TLSRows.text(row["not_before"]), "not_after": TLSRows.text(row["not_after"]),
            "serial_number": TLSRows.text(row["serial_number"]),
        ]
    }

    @Test func certificatesAgreeWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var captures = 0, certificates = 0, compared = 0
        for name in Corpus.captureNames + Corpus.nextCaptureNames {
            guard let oracle = Corpus.oracle(name), let x509 = oracle["x509"] as? [String: Any] else { continue }
            let theirs = x509["certificates"] as? [[String: Any]] ?? []
            captures += 1
            let ours = Self.rows(try PipelineRun(path: Corpus.path(name)!).events)
            func check(_ field: String, _ label: String, ours: String?, theirs: String?) {
                compared += 1
                if ours == theirs { return }
                if let reason = Allowlist.reason(name, "x509.\(field)") {
                    print("allowlisted \(name) x509.\(field) \(label): ours \(ours ?? "none"), tshark \(theirs ?? "none"): \(reason)")
                } else {
                    Issue.record("\(name) \(label) x509.\(field): ours \(ours ?? "none"), tshark \(theirs ?? "none")")
                }
            }
            check("certificate_count", "", ours: "\(ours.count)", theirs: "\(theirs.count)")
            for (index, row) in theirs.enumerated() {
                certificates += 1
                let expected = Self.oracleRow(row)
                let frame = row["frame"] as? Int ?? 0
                let label = "frame \(frame) certificate \(expected["chain_index"]!)"
                guard index < ours.count else {
                    check("frame", label, ours: nil, theirs: "\(frame)")
                    continue
                }
                check("frame", label, ours: "\(ours[index].frame)", theirs: "\(frame)")
                for field in Self.fields {
                    check(field, label, ours: ours[index].fields[field], theirs: expected[field])
                }
            }
        }
        print("X.509 against tshark -2: \(certificates) certificates in \(captures) captures, \(compared) fields compared")
        // The oracles hold certificates in 14 captures (7 of ../ and 7 of next/), 36 in all.
        #expect(captures >= 14 && certificates >= 30, "\(captures) captures, \(certificates) certificates")
    }
}
