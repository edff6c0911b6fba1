import Testing
import NetsiftTestSupport
import NetsiftCapture
@testable import NetsiftDissect

// Packets built to break the dissectors, and what the fuzzer (scripts/fuzz) found in them.

@Suite struct HostileDNSTests {
    /// Found by fuzzing (capture target, a timeout): a 63 KB response of 10,000 questions whose
    /// names each lead, through a chain of pointers, to 255 bytes of labels that are not UTF-8
    /// took 0.45 s to decode in a release build (11 s under AddressSanitizer), nearly all of it
    /// allocating per escaped byte and in the standard library's generic UTF-8 validation. Names
    /// are now built in one buffer and validated by hand; the text must be what it was: valid
    /// UTF-8 kept, every byte of an invalid label as \DDD (RFC 4343 §2.1's escaping).
    @Test(arguments: [
        ("02 c3a9", "é"),                        // U+00E9, two bytes: valid
        ("03 e282ac", "€"),                      // U+20AC, three bytes: valid
        ("04 f09f9982", "🙂"),                   // U+1F642, four bytes: valid
        ("02 c0af", "\\192\\175"),               // overlong '/' (RFC 3629 §10): invalid
        ("03 eda080", "\\237\\160\\128"),        // U+D800, a surrogate: invalid
        ("04 f4908080", "\\244\\144\\128\\128"), // U+110000, past Unicode: invalid
        ("02 6180", "a\\128"),                  // a stray continuation byte escaped, the ASCII kept
        ("03 2e5c20", "\\.\\\\ "),               // dot and backslash escaped, space kept
        ("02 0a7f", "\\010\\127"),               // control bytes
    ])
    func labelBytesAsPresentationText(label: String, text: String) {
        // One question: the label, the root, type A, class IN.
        let m = dnsMessage("0001 0000 0001 0000 0000 0000" + label + "00 0001 0001")
        #expect(m.problem == nil)
        #expect(m.questions.first?.name.text == text)
    }
}
