import Testing
import NetsiftDissect
@testable import NetsiftReport

/// RFC 6125 name matching and the chain checks, on certificates built in the test.
@Suite struct CertificateFindingTests {
    static func certificate(cn: String, issuer: String, dns: [String] = [], notBefore: Int64 = 0,
                            notAfter: Int64 = 2_000_000_000, bits: Int = 2048,
                            signature: String = "sha256WithRSAEncryption") -> TLSCertificate {
        TLSCertificate(version: 3, serialNumber: "01", subject: [.init(oid: "2.5.4.3", value: cn)],
                       issuer: [.init(oid: "2.5.4.3", value: issuer)], notBefore: notBefore, notAfter: notAfter,
                       dnsNames: dns, publicKeyAlgorithm: "rsa", publicKeyBits: bits, signatureAlgorithm: signature)
    }

    @Test(arguments: [
        ("*.example.com", "a.example.com", true), ("*.example.com", "A.Example.COM.", true),
        ("*.example.com", "example.com", false), ("*.example.com", "a.b.example.com", false),
        ("*.com", "example.com", false), ("www.example.com", "www.example.com", true),
        ("f*.example.com", "foo.example.com", false), ("lilawelt.net", "www.lilawelt.net", false),
    ])
    func wildcardsCoverOneLeftMostLabel(pattern: String, host: String, matches: Bool) {
        #expect(Self.certificate(cn: "x", issuer: "ca", dns: [pattern]).matches(hostName: host) == matches)
    }

    @Test func commonNameCountsOnlyWithoutSANs() {
        #expect(Self.certificate(cn: "host.example", issuer: "ca").matches(hostName: "host.example"))
        #expect(!Self.certificate(cn: "host.example", issuer: "ca", dns: ["other.example"]).matches(hostName: "host.example"))
    }

    @Test func chainProblems() {
        let day: Int64 = 86_400, now: Int64 = 1_700_000_000
        let leaf = Self.certificate(cn: "www.example", issuer: "Intermediate", dns: ["www.example"],
                                    notAfter: now - 9 * day)
        let intermediate = Self.certificate(cn: "Intermediate", issuer: "Root", notAfter: now + 10 * day)
        let kinds = CertificateDetector.problems([leaf, intermediate], at: now, serverName: "api.example")
            .map { "\($0.kind.rawValue)/\($0.severity.rawValue)/\($0.position)" }
        #expect(kinds == ["tls_certificate_expired/error/0", "tls_certificate_expiring/warning/1",
                          "tls_certificate_name_mismatch/error/0"])

        // A lone leaf from a CA: the intermediate is missing. A lone self-signed one is self-signed.
        let alone = CertificateDetector.problems([Self.certificate(cn: "a", issuer: "CA", dns: ["a"])], at: 0,
                                                 serverName: "a")
        #expect(alone.map(\.kind) == [.tlsCertificateChainIncomplete])
        let selfSigned = CertificateDetector.problems([Self.certificate(cn: "a", issuer: "a", dns: ["a"])], at: 0,
                                                      serverName: "a")
        #expect(selfSigned.map(\.kind) == [.tlsCertificateSelfSigned])
        // A chain whose last certificate's issuer (the root) is left out is complete.
        #expect(CertificateDetector.problems([leaf, intermediate], at: 0, serverName: nil).isEmpty)
        // Weak: SHA-1 on a CA-issued certificate, a 1024-bit key; a root's own MD5 does not count,
        // nor the signature of the chain's last certificate (clients may hold it as an anchor).
        let weak = CertificateDetector.problems(
            [Self.certificate(cn: "a", issuer: "b", signature: "sha1WithRSAEncryption"),
             Self.certificate(cn: "b", issuer: "r", bits: 1024),
             Self.certificate(cn: "r", issuer: "r", signature: "md5WithRSAEncryption")], at: 0, serverName: nil)
        #expect(weak.map(\.position) == [0, 1])
        let crossSigned = CertificateDetector.problems(
            [Self.certificate(cn: "a", issuer: "b"), Self.certificate(cn: "b", issuer: "old root", signature: "sha1WithRSAEncryption")],
            at: 0, serverName: nil)
        #expect(crossSigned.isEmpty)
        #expect(weak.allSatisfy { $0.kind == .tlsCertificateWeak })
    }
}
