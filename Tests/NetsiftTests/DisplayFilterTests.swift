import Foundation
import Testing
@testable import Netsift
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

@Suite struct DisplayFilterParserTests {
    @Test func notBindsTighterThanAndWhichBindsTighterThanOr() throws {
        let tree = try FilterParser.parse("a or b and not c or d")
        #expect(tree == .or([test("a", 1), .and([test("b", 6), .not(test("c", 16))]), test("d", 21)]))
        let grouped = try FilterParser.parse("(a || b) && !c")
        #expect(grouped == .and([.or([test("a", 2), test("b", 7)]), .not(test("c", 14))]))
    }

    @Test func comparisonsInBothSpellings() throws {
        for (symbol, word) in [("==", "eq"), ("!=", "ne"), ("<", "lt"), ("<=", "le"), (">", "gt"), (">=", "ge")] {
            let a = try FilterParser.parse("tcp.port \(symbol) 80"), b = try FilterParser.parse("tcp.port \(word) 80")
            guard case .test(let ta) = a, case .test(let tb) = b,
                  case .compare(let opA, let operandA) = ta.relation, case .compare(let opB, let operandB) = tb.relation else {
                Issue.record("\(symbol) / \(word): not a comparison")
                continue
            }
            #expect(opA == opB && opA.rawValue == symbol && operandA.text == operandB.text)
        }
    }

    @Test func setsTakeCommasSpacesAndRanges() throws {
        let tree = try FilterParser.parse("tcp.port in {80 443, 8000..8100}")
        guard case .test(let t) = tree, case .member(let members) = t.relation else { Issue.record("no set"); return }
        #expect(members.map(\.low.text) == ["80", "443", "8000"])
        #expect(members.map { $0.high?.text } == [nil, nil, "8100"])
        let addresses = try FilterParser.parse("ip.addr in {10.0.0.5..10.0.0.9}")
        guard case .test(let a) = addresses, case .member(let range) = a.relation else { Issue.record("no set"); return }
        #expect(range.first?.low.text == "10.0.0.5" && range.first?.high?.text == "10.0.0.9")
    }

    @Test func notInNegatesMembership() throws {
        guard case .not(.test(let t)) = try FilterParser.parse("tcp.port not in {80}"), case .member = t.relation else {
            Issue.record("not in is not a negated membership")
            return
        }
    }

    @Test func stringEscapes() throws {
        guard case .test(let t) = try FilterParser.parse(#"dns.qry.name == "a\"b\\c\x41\101\u00e9""#),
              case .compare(_, let operand) = t.relation else { Issue.record("no comparison"); return }
        #expect(operand.text == "a\"b\\cAAé")
        guard case .test(let raw) = try FilterParser.parse(#"dns.qry.name == r"a\d""#),
              case .compare(_, let rawOperand) = raw.relation else { Issue.record("no comparison"); return }
        #expect(rawOperand.text == #"a\d"#)
    }

    @Test func longChainsStayFlat() throws {
        let chain = Array(repeating: "tcp", count: 50_000).joined(separator: " or ")
        let filter = try DisplayFilter(chain)
        #expect(filter.expression.count == chain.count)
    }

    /// Every error, with the column it points at (from 1).
    @Test(arguments: [
        ("", 1, "the filter is empty"),
        ("tcp.prot == 80", 1, #""tcp.prot" is not a field Netsift knows"#),
        ("tcp and tcp.prot", 9, #""tcp.prot" is not a field"#),
        ("tcp.port == ", 13, "expected a value after \"==\""),
        ("tcp.port = 80", 10, "compare with \"==\""),
        ("(tcp", 5, "is not closed"),
        ("tcp)", 4, "unexpected \")\""),
        ("tcp.port == 80 udp", 16, "after a complete expression"),
        ("tcp.port contains \"x\"", 19, "\"contains\" needs a string or byte field"),
        ("tcp.port == \"80\"", 13, "tcp.port takes an unsigned integer"),
        ("tcp.port == 0x", 13, "tcp.port takes an unsigned integer"),
        ("ip.addr == 10.0.0.256", 12, "IPv4 address"),
        ("ip.addr == 10.0.0.0/33", 12, "IPv4 address"),
        ("ipv6.addr == 1.2.3.4", 14, "IPv6 address"),
        ("eth.src == 00:11:22", 12, "Ethernet address"),
        ("tcp == 1", 1, "can only be tested for existence"),
        ("tcp.analysis.retransmission == 1", 1, "can only be tested for existence"),
        ("tcp.flags.syn == maybe", 18, "boolean"),
        ("dns.qry.name == \"abc", 17, "not closed"),
        (#"dns.qry.name == "\q""#, 18, "unknown escape"),
        ("tcp.port in {}", 14, "the set is empty"),
        ("tcp.port in {80", 16, "not closed"),
        ("tcp.port in 80", 13, "expected \"{\""),
        ("frame[0] == 1", 6, "slices"),
        ("tcp.port & 1", 10, "bitwise"),
        ("tcp.port#2 == 1", 9, "layer"),
        ("tcp.port + 1 == 2", 10, "arithmetic"),
        ("== 80", 1, "expected a field name"),
        ("and", 1, "expected a field name"),
        ("tcp.len ~ \"x\"", 11, "\"matches\" needs a string field"),
        ("dns.qry.name matches x", 22, "quoted string"),
        ("dns.qry.name matches \"(\"", 22, "not a regular expression"),
        ("tcp.payload > \"a\"", 15, "with == and != only"),
        ("conn.state == \"SF\"", 1, "a field of conversations, not of packets"),
        ("frame.time_epoch > 1.5x", 20, "time in seconds"),
        ("tcp.port == ip.src", 13, "cannot be compared with ip.src"),
    ])
    func errors(expression: String, column: Int, message: String) {
        do {
            _ = try DisplayFilter(expression)
            Issue.record("\(expression) compiled")
        } catch {
            #expect(error.column == column, "\(expression): \(error)")
            #expect(error.message.contains(message), "\(expression): \(error)")
            #expect(error.description == "column \(error.column): \(error.message)")
        }
    }

    @Test func deepNestingIsRefusedNotCrashed() {
        for deep in [String(repeating: "(", count: 100_000) + "tcp", String(repeating: "not ", count: 100_000) + "tcp",
                     String(repeating: "!", count: 100_000) + "tcp"] {
            #expect(throws: DisplayFilterError.self) { try DisplayFilter(deep) }
        }
        let allowed = String(repeating: "(", count: 150) + "tcp" + String(repeating: ")", count: 150)
        #expect((try? DisplayFilter(allowed)) != nil)
    }

    @Test func conversationScopeRefusesPacketFields() {
        do {
            _ = try DisplayFilter("tcp.flags.syn == 1", scope: .conversation)
            Issue.record("compiled")
        } catch {
            #expect(error.column == 1 && error.message.contains("single packets"))
        }
    }

    private func test(_ field: String, _ column: Int) -> FilterSyntax {
        .test(FieldTest(field: field, column: column))
    }
}

@Suite struct DisplayFilterConversationTests {
    static let flow = FlowSummary.sample

    @Test(arguments: [
        ("tcp", true), ("udp", false), ("ip", true), ("ipv6", false),
        ("ip.src == 10.0.0.1", true), ("ip.dst == 10.0.0.1", false), ("ip.addr == 192.0.2.0/24", true),
        ("ip.addr != 10.0.0.1", false), ("ip.addr !== 10.0.0.1", true),
        ("tcp.port == 443", true), ("tcp.srcport == 443", false), ("udp.port == 443", false),
        ("tcp.stream == 7", true), ("tcp.stream in {1..6}", false),
        ("conn.state == \"REJ\"", true), ("conn.state in {\"SF\", \"S0\"}", false), ("conn.service == \"tls\"", true),
        ("tls", true), ("dns", false), ("conn.duration > 1.5", true), ("conn.duration > 2.5", false),
        ("conn.bytes >= 300", true), ("conn.history contains \"Sr\"", true),
        ("tcp.analysis.retransmission", true), ("tcp.analysis.duplicate_ack", false), ("tcp.analysis.flags", true),
        ("tls.handshake.extensions_server_name matches \"EXAMPLE\\\\.com$\"", true),
        ("tcp.options.mss_val == 1460", true), ("all tcp.options.mss_val == 1460", false),
    ])
    func conversationFields(expression: String, expected: Bool) throws {
        let filter = try DisplayFilter(expression, scope: .conversation)
        #expect(filter.matches(Self.flow) == expected, "\(expression)")
    }
}

extension FlowSummary {
    /// A rejected TLS conversation from 10.0.0.1:51000 to 192.0.2.7:443, built from JSON so that
    /// the test needs no tracker.
    static let sample: FlowSummary = {
        let json = """
        {"transport":"tcp","stream":7,"originator":{"address":"10.0.0.1","port":51000,"packets":2,"bytes":200,
         "payloadBytes":0,"retransmittedBytes":0,"mss":1460},
         "responder":{"address":"192.0.2.7","port":443,"packets":1,"bytes":100,"payloadBytes":0,"mss":1400},
         "start":0,"durationNanoseconds":2000000000,"firstFrame":1,"lastFrame":3,"state":"REJ","history":"ShSr",
         "service":"tls","serverName":"www.example.com","analysis":{"retransmission":1},"reassemblyOverflow":false}
        """
        return try! JSONDecoder().decode(FlowSummary.self, from: Data(json.utf8))
    }()
}

/// Every row of display-filter-oracle.tsv (what `tshark -2 -Y` selected; scripts/display-filter-oracle
/// writes it) against what the filter selects from the same capture through `Pipeline.decode`.
@Suite struct DisplayFilterCorpusTests {
    struct Row: Sendable, CustomStringConvertible {
        let capture, expression: String
        let frames: [Int]
        var description: String { "\(capture) -Y \(expression)" }
    }

    static let rows: [Row] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("display-filter-oracle.tsv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            if line.hasPrefix("#") { return nil }
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { return nil }
            return Row(capture: parts[0], expression: parts[1], frames: parts[2].split(separator: ",").compactMap { Int($0) })
        }
    }()

    @Test func everyOracleRowAgreesWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        #expect(Self.rows.count >= 100)
        var agreed = 0, allowlisted = 0
        for (capture, rows) in Dictionary(grouping: Self.rows, by: \.capture).sorted(by: { $0.key < $1.key }) {
            let filters = try rows.map { try DisplayFilter($0.expression) }
            let selected = try Self.run(capture, filters)
            for (row, ours) in zip(rows, selected) {
                if ours == row.frames { agreed += 1; continue }
                if let reason = Allowlist.reason(capture, "-Y \(row.expression)") {
                    allowlisted += 1
                    print("allowlisted \(row): \(reason)")
                    continue
                }
                let mine = Set(ours), theirs = Set(row.frames)
                Issue.record("\(row): only ours \(mine.subtracting(theirs).sorted()), only tshark's \(theirs.subtracting(mine).sorted())")
            }
        }
        print("display filters: \(agreed) of \(Self.rows.count) rows agree with tshark -2, \(allowlisted) allowlisted")
    }

    /// The frames each filter selects, in one pass over the capture.
    static func run(_ capture: String, _ filters: [DisplayFilter]) throws -> [[Int]] {
        var options = AnalysisOptions()
        options.decodeAs = DecodeAs(rules: Corpus.decodeAs[capture] ?? []) ?? DecodeAs()
        var pipeline = try Pipeline(options: options)
        var reader = try CaptureReader(path: Corpus.path(capture)!)
        var selected = Array(repeating: [Int](), count: filters.count)
        _ = reader.forEachPacket { packet in
            pipeline.decode(packet) { summary, bytes, details in
                for (i, filter) in filters.enumerated() where filter.matches(summary, bytes: bytes, details: details) {
                    selected[i].append(details.frame)
                }
            }
        }
        return selected
    }
}
