import Testing
import NetsiftDissect
import NetsiftTestSupport

/// A certificate made by `openssl req -x509 -newkey rsa:1024 -sha1 -days 30 -set_serial 0x00c0ffee
/// -subj "/C=DE/O=Netsift Test/CN=test.example" -addext "subjectAltName=DNS:test.example,
/// DNS:*.test.example,IP:192.0.2.7" -addext "basicConstraints=critical,CA:FALSE"` (DER, 626 bytes).
/// The expected values are what `openssl x509 -noout -serial -dates -subject -ext subjectAltName`
/// printed for it.
let opensslCertificate =
    "3082026e308201d7a003020102020400c0ffee300d06092a864886f70d0101050500303b310b300906035504061302444531153013060355040a0c0c4e65747369667420546573743115301306035504030c0c746573742e6578616d706c65301e170d3236313230373231303731335a170d3237303130363231303731335a303b310b300906035504061302444531153013060355040a0c0c4e65747369667420546573743115301306035504030c0c746573742e6578616d706c6530819f300d06092a864886f70d010101050003818d0030818902818100d3c1accb8d7e1a7a2a757212a3e0459828a1008bd89d545eece887e63fef139317aa9279e47823f692fddca63512f5177a86e29654b9a3ed525d9aaa636dc79f6a781917d8f31d3d1d6ed5e64f12589914c7ebbaf4fb34d150e0c7ba635eabd32c2a491997e28783ccbd1c1e95d59eb8b974518a6a85b3139141842cac03fd970203010001a37f307d301d0603551d0e041604145a0a1c71b5bd0c2195d276396af6a587d351eb39301f0603551d230418301680145a0a1c71b5bd0c2195d276396af6a587d351eb39302d0603551d1104263024820c746573742e6578616d706c65820e2a2e746573742e6578616d706c658704c0000207300c0603551d130101ff04023000300d06092a864886f70d0101050500038181004320c5f011df02de613de6f545fa437ebef5c14dfada3dad041156384755bdf5e89904bf85982ed907712193b34c5146616183958707874e798f564952eac3b59b0646fdc38395660adad2759710a0bc8694106e4777b09d82a3bc3c318064d25ce7365b7729d3ab1978dc1c24a296a23d43f6326646116203f273ebf75994be"

@Suite struct CertificateTests {
    @Test func certificateFieldsAsOpenSSLPrintsThem() throws {
        let c = try TLSCertificate.decode(der: hex(opensslCertificate)[...])
        #expect(c.version == 3)
        #expect(c.serialNumber == "00:c0:ff:ee")   // openssl: serial=C0FFEE (DER keeps the sign byte)
        #expect(c.subject == [.init(oid: "2.5.4.6", value: "DE"), .init(oid: "2.5.4.10", value: "Netsift Test"),
                              .init(oid: "2.5.4.3", value: "test.example")])
        #expect(c.issuer == c.subject && c.isSelfIssued)
        #expect(UTCTimestamp.iso(c.notBefore) == "2026-12-07T21:07:13Z")
        #expect(UTCTimestamp.iso(c.notAfter) == "2027-01-06T21:07:13Z")
        #expect(c.dnsNames == ["test.example", "*.test.example"])
        #expect(c.ipAddresses == ["192.0.2.7"])
        #expect(c.publicKeyAlgorithm == "rsa" && c.publicKeyBits == 1024)
        #expect(c.signatureAlgorithm == "sha1WithRSAEncryption")
        #expect(c.isCertificateAuthority == false)
        #expect(c.hasWeakKey && c.hasWeakSignature)
    }

    @Test func certificateMessageAcrossRecordsAndSegments() {
        // Certificate (11) of 632 bytes: certificate_list of 629, one certificate of 626, split
        // over two records and delivered 7 bytes at a time.
        let body = "0b000278" + "000275" + "000272" + opensslCertificate
        let bytes = hex(body)
        let first = bytes.prefix(300), second = bytes.dropFirst(300)
        let records = hex("160303012c") + first + hex("1603030" + String(second.count, radix: 16)) + second
        var parser = TLSStreamParser()
        let messages = tlsMessages(Array(records), chunk: 7, parser: &parser)
        guard case .handshake(let handshake) = messages.first else {
            Issue.record("no handshake: \(messages)")
            return
        }
        #expect(handshake.certificateCount == 1)
        #expect(handshake.certificates?.first?.subjectCommonName == "test.example")
        #expect(messages.count == 1)
    }

    @Test func epochArithmeticRoundTrips() {
        for (text, seconds) in [("1970-01-01T00:00:00Z", Int64(0)), ("2000-02-29T12:34:56Z", 951_827_696),
                                ("2049-12-31T23:59:59Z", 2_524_607_999), ("1950-01-01T00:00:00Z", -631_152_000)] {
            #expect(UTCTimestamp.iso(seconds) == text)
        }
        #expect(UTCTimestamp.seconds(year: 2000, month: 2, day: 29, hours: 12, minutes: 34, seconds: 56) == 951_827_696)
    }
}
