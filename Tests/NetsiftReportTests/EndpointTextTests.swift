import Testing
@testable import NetsiftReport

/// Endpoints are written "address:port", with IPv6 addresses in brackets when a port follows
/// (RFC 3986 section 3.2.2); findings also name a bare address.
@Suite struct EndpointTextTests {
    @Test func hostOfEachForm() {
        #expect(host("10.0.0.2:443") == "10.0.0.2")
        #expect(host("10.0.0.2") == "10.0.0.2")
        #expect(host("[2001:db8::1]:443") == "2001:db8::1")
        #expect(host("2001:db8::1") == "2001:db8::1")
        #expect(host("::1") == "::1")
    }

    @Test func portOfEachForm() {
        #expect(port("10.0.0.2:443") == "443")
        #expect(port("[2001:db8::1]:53") == "53")
        #expect(port("2001:db8::1") == "2001:db8::1")
        #expect(port("10.0.0.2") == "10.0.0.2")
    }
}
