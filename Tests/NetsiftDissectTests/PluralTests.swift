import Testing
import NetsiftDissect

/// One pluralisation for every sentence: counts and words agree.
@Suite struct PluralTests {
    @Test func regularAndIrregularNouns() {
        #expect(plural(1, "stream") == "1 stream")
        #expect(plural(3, "stream") == "3 streams")
        #expect(plural(3, "query") == "3 queries")
        #expect(plural(2, "key") == "2 keys")
        #expect(plural(2, "address") == "2 addresses")
        #expect(plural(2, "box") == "2 boxes")
        #expect(plural(2, "match") == "2 matches")
        #expect(plural(0, "child") == "0 children")
        #expect(plural(4, "person") == "4 people")
        #expect(plural(2, "analysis") == "2 analyses")
        #expect(plural(5, "series") == "5 series")
        #expect(plural(2, "SYN") == "2 SYNs")
        #expect(plural(2, "connection attempt") == "2 connection attempts")
        #expect(plural(2, "HTTP/2 stream") == "2 HTTP/2 streams")
        #expect(plural(1, "query") == "1 query")
    }

    @Test func verbsAgreeWithTheCount() {
        #expect("\(plural(1, "stream")) \(verb(1, "was")) reset" == "1 stream was reset")
        #expect("\(plural(3, "stream")) \(verb(3, "was")) reset" == "3 streams were reset")
        #expect(verb(2, "is") == "are")
        #expect(verb(2, "has") == "have")
        #expect(verb(1, "has") == "has")
    }
}
