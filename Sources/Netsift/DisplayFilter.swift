import NetsiftDissect
import NetsiftFlows

/// A Wireshark display filter (`-Y`), compiled once and then tested against packets or
/// conversations: `tcp.analysis.retransmission and ip.addr == 10.0.0.0/8`,
/// `dns.qry.name contains "example"`, `tcp.port in {80, 443, 8000..8100}`.
///
/// The expression is parsed, checked against the field table (each field known, usable in the
/// scope, each literal of the field's type, each operator allowed for it) and compiled into a tree
/// of tests whose field readers fetch only the fields the filter names. Semantics are tshark
/// 4.0's: a comparison holds when any value of a multi-valued field satisfies it (`ip.addr ==`),
/// except `!=`, which holds when every value differs (and there is at least one), and a missing
/// field fails every comparison. docs/display-filter.md lists the fields and the differences.
public struct DisplayFilter: Sendable {
    /// What the filter is tested against: single packets (`netsift packets`), or whole
    /// conversations (`netsift flows`), whose fields are the conversation's (ip.src is the
    /// originator's address) plus Netsift's own `conn.*`.
    public enum Scope: Sendable { case packet, conversation }

    public let expression: String
    public let scope: Scope
    let program: FilterProgram

    /// - Throws: `DisplayFilterError` with the column and what is wrong: a syntax error, an unknown
    ///   field, a field that does not exist in this scope, a literal or operator the field does
    ///   not take, nesting too deep.
    public init(_ expression: String, scope: Scope = .packet) throws(DisplayFilterError) {
        self.expression = expression
        self.scope = scope
        program = try FilterCompiler(scope: scope).compile(FilterParser.parse(expression))
    }

    /// Whether a packet, as `Pipeline.decode` hands it out, passes the filter.
    public func matches(_ summary: borrowing PacketSummary, bytes: RawSpan, details: PacketDetails) -> Bool {
        program.matches(summary, bytes, details)
    }

    /// Whether a conversation passes the filter (a packet-scope filter passes none).
    public func matches(_ conversation: FlowSummary) -> Bool {
        let none: [UInt8] = []
        return program.matches(conversation, none.span.bytes)
    }
}

/// A filter that cannot be compiled: where (the column, from 1, counting Unicode scalars) and why.
public struct DisplayFilterError: Error, Sendable, Equatable, CustomStringConvertible {
    public let column: Int
    public let message: String

    public init(column: Int, _ message: String) {
        self.column = column
        self.message = message
    }

    /// `column 5: "tcp.prot" is not a field Netsift knows (see docs/display-filter.md)`.
    public var description: String { "column \(column): \(message)" }
}

// MARK: - The compiled program

/// The tree the filter compiles to; `and` and `or` stop at the first term that decides them.
indirect enum FilterProgram: Sendable {
    case test(CompiledTest)
    case not(FilterProgram)
    case and([FilterProgram])
    case or([FilterProgram])

    func matches(_ s: borrowing PacketSummary, _ bytes: RawSpan, _ d: PacketDetails) -> Bool {
        switch self {
        case .test(let test): return test.matches(s, bytes, d)
        case .not(let inner): return !inner.matches(s, bytes, d)
        case .and(let terms):
            // Loops, not allSatisfy / contains: their closures may not capture the borrowed summary.
            for term in terms where !term.matches(s, bytes, d) { return false }
            return true
        case .or(let terms):
            for term in terms where term.matches(s, bytes, d) { return true }
            return false
        }
    }

    func matches(_ f: FlowSummary, _ bytes: RawSpan) -> Bool {
        switch self {
        case .test(let test): test.matches(f, bytes)
        case .not(let inner): !inner.matches(f, bytes)
        case .and(let terms): terms.allSatisfy { $0.matches(f, bytes) }
        case .or(let terms): terms.contains { $0.matches(f, bytes) }
        }
    }
}

/// Whether a value satisfies a relation; `bytes` are the packet's, for byte-string fields.
typealias ValuePredicate = @Sendable (FieldValue, RawSpan) -> Bool

/// One field test: the field's reader for the scope, and what its values must satisfy.
struct CompiledTest: Sendable {
    enum Check: Sendable {
        case exists
        /// At least one value satisfies the predicate.
        case any(ValuePredicate)
        /// There is a value, and every value satisfies the predicate.
        case all(ValuePredicate)
    }

    /// A comparison with another field (`frame.cap_len < frame.len`): its readers, and the
    /// operator. Its values are gathered first, then stand for the constant.
    struct OtherField: Sendable {
        let packet: PacketValues?
        let conversation: ConversationValues?
        let op: ComparisonOperator
    }

    let packet: PacketValues?
    let conversation: ConversationValues?
    let check: Check
    var other: OtherField?

    /// The check against the other field's values: a value passes when it satisfies the operator
    /// with any of them (with each of them, for `!=` and `===`, Wireshark's all-quantified ones).
    func check(against values: [FilterConstant]) -> Check {
        guard let other else { return check }
        let predicates = values.map { FilterCompiler.predicate(other.op, $0) }
        let all = other.op.quantifier == .all
        let predicate: ValuePredicate = { v, b in
            all ? predicates.allSatisfy { $0(v, b) } : predicates.contains { $0(v, b) }
        }
        if case .all = check { return .all(predicate) }
        return .any(predicate)
    }

    func matches(_ s: borrowing PacketSummary, _ bytes: RawSpan, _ d: PacketDetails) -> Bool {
        guard let packet else { return false }
        var check = self.check
        if let otherValues = other?.packet {
            var values: [FilterConstant] = []
            otherValues(s, bytes, d) { v in values.append(FilterConstant(v, bytes)); return true }
            guard !values.isEmpty else { return false }
            check = self.check(against: values)
        }
        var state = Tally()
        switch check {
        case .exists: packet(s, bytes, d) { _ in state.found = true; return false }
        case .any(let p): packet(s, bytes, d) { v in state.found = p(v, bytes); return !state.found }
        case .all(let p): packet(s, bytes, d) { v in state.record(p(v, bytes)) }
        }
        return state.result(check)
    }

    func matches(_ f: FlowSummary, _ bytes: RawSpan) -> Bool {
        guard let conversation else { return false }
        var check = self.check
        if let otherValues = other?.conversation {
            var values: [FilterConstant] = []
            otherValues(f) { v in values.append(FilterConstant(v, bytes)); return true }
            guard !values.isEmpty else { return false }
            check = self.check(against: values)
        }
        var state = Tally()
        switch check {
        case .exists: conversation(f) { _ in state.found = true; return false }
        case .any(let p): conversation(f) { v in state.found = p(v, bytes); return !state.found }
        case .all(let p): conversation(f) { v in state.record(p(v, bytes)) }
        }
        return state.result(check)
    }

    /// What the values said so far.
    struct Tally {
        var found = false
        var failed = false

        /// For `all`: one more value, and whether to go on.
        mutating func record(_ satisfied: Bool) -> Bool {
            found = true
            failed = failed || !satisfied
            return satisfied
        }

        func result(_ check: Check) -> Bool {
            if case .all = check { return found && !failed }
            return found
        }
    }
}

// MARK: - Semantic check and compilation

/// Turns the syntax tree into a program: every field looked up, every literal read as the
/// field's type, every operator checked against it.
struct FilterCompiler {
    let scope: DisplayFilter.Scope

    func compile(_ syntax: FilterSyntax) throws(DisplayFilterError) -> FilterProgram {
        switch syntax {
        case .test(let test): return .test(try compile(test))
        case .not(let inner): return .not(try compile(inner))
        case .and(let terms): return .and(try terms.map { (term) throws(DisplayFilterError) in try compile(term) })
        case .or(let terms): return .or(try terms.map { (term) throws(DisplayFilterError) in try compile(term) })
        }
    }

    func field(_ name: String, column: Int) throws(DisplayFilterError) -> DisplayFilterField {
        guard let field = DisplayFilterFields.byName[name] else {
            throw DisplayFilterError(column: column, "\"\(name)\" is not a field Netsift knows (see docs/display-filter.md)")
        }
        switch scope {
        case .packet where field.packet == nil:
            throw DisplayFilterError(column: column, "\"\(name)\" is a field of conversations, not of packets")
        case .conversation where field.conversation == nil:
            throw DisplayFilterError(column: column, "\"\(name)\" is a field of single packets: it cannot filter conversations")
        default:
            return field
        }
    }

    func compile(_ test: FieldTest) throws(DisplayFilterError) -> CompiledTest {
        let field = try field(test.field, column: test.column)
        func make(_ check: CompiledTest.Check) -> CompiledTest {
            CompiledTest(packet: scope == .packet ? field.packet : nil,
                         conversation: scope == .conversation ? field.conversation : nil, check: check)
        }
        guard let relation = test.relation else { return make(.exists) }
        if field.type == .protocolName || field.type == .label {
            let what = field.type == .protocolName ? "a protocol" : "a flag without a value"
            throw DisplayFilterError(column: test.column, "\"\(field.name)\" is \(what): it can only be tested for existence (write it alone)")
        }
        let predicate: ValuePredicate
        var quantifier = Quantifier.any
        switch relation {
        case .compare(let op, let operand) where !operand.quoted && DisplayFilterFields.byName[operand.text] != nil:
            let right = try self.field(operand.text, column: operand.column)
            guard right.type == field.type, field.type != .bytes else {
                throw DisplayFilterError(column: operand.column, "\(field.name) (\(field.type.rawValue)) cannot be compared with \(right.name) (\(right.type.rawValue))")
            }
            var test = make(op.quantifier == .all ? .all({ _, _ in false }) : .any({ _, _ in false }))
            test.other = CompiledTest.OtherField(packet: scope == .packet ? right.packet : nil,
                                                 conversation: scope == .conversation ? right.conversation : nil, op: op)
            return test
        case .compare(let op, let operand):
            let constant = try FilterConstant(operand, for: field)
            if op != .equal && op != .notEqual && op != .allEqual && op != .anyNotEqual {
                guard field.type != .bytes else {
                    throw DisplayFilterError(column: operand.column, "\(field.name) is \(field.type.withArticle): it can be compared with == and != only")
                }
            }
            predicate = Self.predicate(op, constant)
            quantifier = op.quantifier
        case .member(let members):
            let ranges = try members.map { (member) throws(DisplayFilterError) -> (FilterConstant, FilterConstant?) in
                (try FilterConstant(member.low, for: field), try member.high.map { (high) throws(DisplayFilterError) in try FilterConstant(high, for: field) })
            }
            if field.type == .bytes, let range = members.first(where: { $0.high != nil }) {
                throw DisplayFilterError(column: range.low.column, "a range needs ordered values; \(field.name) is \(field.type.withArticle)")
            }
            predicate = { value, bytes in
                ranges.contains { low, high in
                    guard let high else { return low.equals(value, bytes) }
                    return (low.order(value, bytes) ?? 1) <= 0 && (high.order(value, bytes) ?? -1) >= 0
                }
            }
        case .contains(let operand):
            guard field.type == .string || field.type == .bytes else {
                throw DisplayFilterError(column: operand.column, "\"contains\" needs a string or byte field; \(field.name) is \(field.type.withArticle)")
            }
            let needle = try FilterConstant(operand, for: field).needle
            predicate = { value, bytes in FilterConstant.value(value, contains: needle, bytes) }
        case .matches(let operand):
            guard field.type == .string else {
                throw DisplayFilterError(column: operand.column, "\"matches\" needs a string field; \(field.name) is \(field.type.withArticle)")
            }
            guard operand.quoted else {
                throw DisplayFilterError(column: operand.column, "a regular expression must be a quoted string")
            }
            let pattern = try FilterPattern(operand)
            predicate = { value, _ in pattern.matches(value) }
        }
        switch test.quantifier ?? quantifier {
        case .any: return make(.any(predicate))
        case .all: return make(.all(predicate))
        }
    }

    static func predicate(_ op: ComparisonOperator, _ c: FilterConstant) -> ValuePredicate {
        switch op {
        case .equal, .allEqual: { v, b in c.equals(v, b) }
        case .notEqual, .anyNotEqual: { v, b in !c.equals(v, b) }
        // `order` compares the constant with the value: the value is less when the constant is greater.
        case .less: { v, b in c.order(v, b).map { $0 > 0 } ?? false }
        case .lessOrEqual: { v, b in c.order(v, b).map { $0 >= 0 } ?? false }
        case .greater: { v, b in c.order(v, b).map { $0 < 0 } ?? false }
        case .greaterOrEqual: { v, b in c.order(v, b).map { $0 <= 0 } ?? false }
        }
    }
}

/// A literal read as its field's type.
enum FilterConstant: Sendable {
    case integer(Int64)
    case network(FilterNetwork)
    case text(String)
    case bytes([UInt8])

    init(_ operand: Operand, for field: DisplayFilterField) throws(DisplayFilterError) {
        func fail(_ expected: String) -> DisplayFilterError {
            DisplayFilterError(column: operand.column, "\(field.name) takes \(expected); \"\(operand.text)\" is not one")
        }
        let text = operand.text
        switch field.type {
        case .protocolName, .label:
            throw fail("no value")
        case .unsigned:
            guard !operand.quoted, let v = FilterLiteral.integer(text), v >= 0 else { throw fail("an unsigned integer (decimal, 0x hex, 0b binary, 0 octal)") }
            self = .integer(v)
        case .boolean:
            guard !operand.quoted, let v = FilterLiteral.boolean(text) else { throw fail("a boolean (1, 0, true, false)") }
            self = .integer(v)
        case .time:
            guard !operand.quoted, let v = FilterLiteral.seconds(text) else { throw fail("a time in seconds (such as 1.25)") }
            self = .integer(v)
        case .ethernet:
            guard !operand.quoted, let v = FilterLiteral.ethernet(text) else { throw fail("an Ethernet address (aa:bb:cc:dd:ee:ff)") }
            self = .integer(v)
        case .ipv4:
            guard !operand.quoted, let n = FilterLiteral.network(text, ipv6: false) else { throw fail("an IPv4 address or network (10.0.0.1, 10.0.0.0/8)") }
            self = .network(n)
        case .ipv6:
            guard !operand.quoted, let n = FilterLiteral.network(text, ipv6: true) else { throw fail("an IPv6 address or network (2001:db8::1, 2001:db8::/32)") }
            self = .network(n)
        case .string:
            // Unquoted words are taken as strings too, as Wireshark 4.0 still does.
            self = .text(text)
        case .bytes:
            if operand.quoted {
                self = .bytes(Array(text.utf8))
            } else {
                let parts = text.split(separator: ":", omittingEmptySubsequences: false)
                let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
                guard bytes.count == parts.count else { throw fail("a quoted string or hex bytes (47:45:54)") }
                self = .bytes(bytes)
            }
        }
    }

    /// Another field's value, as the constant it is compared with.
    init(_ value: FieldValue, _ packet: RawSpan) {
        switch value {
        case .integer(let v): self = .integer(v)
        case .address(let a): self = .network(FilterNetwork(a, prefix: 128))
        case .text(let t): self = .text(t)
        case .bytes(let range):
            self = .bytes(range.upperBound <= packet.byteCount
                ? range.map { packet.unsafeLoad(fromByteOffset: $0, as: UInt8.self) } : [])
        }
    }

    func equals(_ value: FieldValue, _ packet: RawSpan) -> Bool {
        switch (self, value) {
        case (.integer(let k), .integer(let v)): return k == v
        case (.network(let n), .address(let a)): return n.contains(a)
        case (.text(let k), .text(let v)): return k.utf8.elementsEqual(v.utf8)
        case (.bytes(let k), .bytes(let range)):
            guard range.count == k.count, range.upperBound <= packet.byteCount else { return false }
            return k.indices.allSatisfy { packet.unsafeLoad(fromByteOffset: range.lowerBound + $0, as: UInt8.self) == k[$0] }
        default: return false
        }
    }

    /// The constant against the value: negative when the constant is smaller, 0 equal,
    /// positive greater; nil when they do not compare.
    func order(_ value: FieldValue, _ packet: RawSpan) -> Int? {
        func sign<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : a == b ? 0 : 1 }
        switch (self, value) {
        case (.integer(let k), .integer(let v)): return sign(k, v)
        case (.network(let n), .address(let a)): return sign(n.address, a)
        case (.text(let k), .text(let v)):
            if k.utf8.elementsEqual(v.utf8) { return 0 }
            return k.utf8.lexicographicallyPrecedes(v.utf8) ? -1 : 1
        default: return nil
        }
    }

    /// The bytes `contains` looks for.
    var needle: [UInt8] {
        switch self {
        case .text(let text): Array(text.utf8)
        case .bytes(let bytes): bytes
        case .integer, .network: []
        }
    }

    /// For `contains`: whether the value holds `needle`.
    static func value(_ value: FieldValue, contains needle: [UInt8], _ packet: RawSpan) -> Bool {
        switch value {
        case .text(let text):
            return find(needle, in: text.utf8)
        case .bytes(let range):
            guard range.upperBound <= packet.byteCount, needle.count <= range.count else { return false }
            for start in range.lowerBound...(range.upperBound - needle.count) {
                var j = 0
                while j < needle.count, packet.unsafeLoad(fromByteOffset: start + j, as: UInt8.self) == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            return false
        case .integer, .address:
            return false
        }
    }

    /// A plain search over a string's bytes: the fields are short, and nothing is allocated.
    static func find<C: Collection<UInt8>>(_ needle: [UInt8], in haystack: C) -> Bool {
        if needle.isEmpty { return true }
        var start = haystack.startIndex
        while start != haystack.endIndex {
            var i = start, j = 0
            while j < needle.count, i != haystack.endIndex, haystack[i] == needle[j] {
                i = haystack.index(after: i)
                j += 1
            }
            if j == needle.count { return true }
            start = haystack.index(after: start)
        }
        return false
    }
}

/// `matches` / `~`: a regular expression, case-insensitive unless it says otherwise, as in
/// Wireshark (whose PCRE2 syntax Swift's Regex shares for the common constructs).
struct FilterPattern: @unchecked Sendable {
    // Regex is not declared Sendable; this one is built once and only read afterwards.
    let regex: Regex<AnyRegexOutput>

    init(_ operand: Operand) throws(DisplayFilterError) {
        do {
            regex = try Regex(operand.text).ignoresCase()
        } catch {
            throw DisplayFilterError(column: operand.column, "\"\(operand.text)\" is not a regular expression Netsift reads: \(error)")
        }
    }

    func matches(_ value: FieldValue) -> Bool {
        guard case .text(let text) = value else { return false }
        return (try? regex.firstMatch(in: text)) != nil
    }
}
