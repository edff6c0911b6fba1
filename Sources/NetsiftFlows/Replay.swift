import NetsiftDissect

/// What the merge of shard outputs (`netsift merge`) reads back: finished conversations, application
/// messages and unusual packets written whole, so that the merge feeds the detectors exactly what
/// a single run would have fed them.
///
/// `ReplayJSON.encode` writes any value by reflection in the shape Swift's synthesized `Decodable`
/// reads: a struct or class as an object of its stored properties (a nil optional left out), an
/// enum case as `{"case": {"_0": …}}` (its payload's labels where it has them), a raw-value type
/// as its raw value, a dictionary keyed by strings or integers as an object and any other as
/// `[key, value, key, value…]`, a range as `[lower, upper]`, a tuple as an array. The keys are the
/// Swift names: this is the merge's own record, not a document for other readers (docs/shards.md).
public enum ReplayJSON {
    public static func encode(_ value: Any) -> String {
        var text = ""
        write(value, to: &text)
        return text
    }

    static func write(_ value: Any, to text: inout String) {
        // The common leaves and arrays first, by their concrete types: a cast to a protocol, and
        // reflection, cost far more (a finished conversation holds some 500 values).
        switch value {
        case let integer as Int: text += String(integer)
        case let bool as Bool: text += bool ? "true" : "false"
        case let integer as Int64: text += String(integer)
        case let integer as UInt32: text += String(integer)
        case let integer as UInt64: text += String(integer)
        case let integer as UInt16: text += String(integer)
        case let integer as UInt8: text += String(integer)
        case let string as String: writeString(string, to: &text)
        case let integers as [UInt32]: writeIntegers(integers, to: &text)
        case let integers as [Int]: writeIntegers(integers, to: &text)
        case let integers as [UInt8]: writeIntegers(integers, to: &text)
        case let written as Written: text += written.text
        case let optional as any OptionalValue: write(optional.wrapped ?? Written("null"), to: &text)
        case let integer as any BinaryInteger: text += "\(integer)"
        case let number as Double:
            precondition(number.isFinite, "a replay record holds \(number)")
            text += "\(number)"
        case let range as Range<Int>: text += "[\(range.lowerBound),\(range.upperBound)]"
        case let raw as any RawRepresentable: write(raw.rawValue, to: &text)
        default: writeReflected(value, to: &text)
        }
    }

    static func writeReflected(_ value: Any, to text: inout String) {
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            if let some = mirror.children.first { write(some.value, to: &text) } else { text += "null" }
        case .collection, .tuple:
            writeArray(mirror.children.map(\.value), to: &text)
        case .set:
            // In a fixed order (a set's own order changes from one process to the next).
            writeArray(mirror.children.map { encode($0.value) }.sorted().map(Written.init), to: &text)
        case .dictionary:
            let pairs = mirror.children.map { pair in Mirror(reflecting: pair.value).children.map(\.value) }
            if let keyed = value as? any KeyTyped, keyed.keysAreCodingKeys {
                writeObject(pairs.map { ("\($0[0])", $0[1]) }.sorted { $0.0 < $1.0 }, to: &text)
            } else {
                let written = pairs.map { (encode($0[0]), encode($0[1])) }.sorted { $0.0 < $1.0 }
                writeArray(written.flatMap { [Written($0.0), Written($0.1)] }, to: &text)
            }
        case .enum:
            guard let payload = mirror.children.first, let name = payload.label else {
                // A case without payload, by its name (not its `description`: many describe themselves).
                writeObject([(caseName(value), Members([]))], to: &text)
                return
            }
            let fields = Mirror(reflecting: payload.value)
            let members = fields.displayStyle == .tuple
                ? fields.children.enumerated().map { index, field in
                    (field.label.map { $0.hasPrefix(".") ? "_\(index)" : $0 } ?? "_\(index)", field.value) }
                : [("_0", payload.value)]
            writeObject([(name, Members(members))], to: &text)
        default:
            writeObject(mirror.children.compactMap { child in child.label.map { ($0, child.value) } }, to: &text)
        }
    }

    /// The name of an enum value's case, as the runtime knows it (what `print` shows of an enum
    /// that does not describe itself).
    static func caseName(_ value: Any) -> String {
        func name<Value>(_ value: Value) -> String {
            enumCaseName(value).map { String(cString: $0) } ?? String(describing: value)
        }
        return _openExistential(value, do: name)
    }

    /// A value already written.
    struct Written { let text: String; init(_ text: String) { self.text = text } }

    /// An enum payload's fields, written as an object.
    struct Members { let fields: [(String, Any)]; init(_ fields: [(String, Any)]) { self.fields = fields } }

    static func writeObject(_ fields: [(String, Any)], to text: inout String) {
        text += "{"
        var first = true
        for (key, value) in fields {
            if let members = value as? Members {
                if !first { text += "," }
                first = false
                writeKey(key, to: &text)
                writeObject(members.fields, to: &text)
                continue
            }
            if let optional = value as? any OptionalValue, optional.wrapped == nil { continue }
            if !first { text += "," }
            first = false
            writeKey(key, to: &text)
            write(value, to: &text)
        }
        text += "}"
    }

    static func writeIntegers<Integer: BinaryInteger>(_ values: [Integer], to text: inout String) {
        text += "["
        for (index, value) in values.enumerated() {
            if index > 0 { text += "," }
            text += String(value)
        }
        text += "]"
    }

    static func writeArray(_ values: [Any], to text: inout String) {
        text += "["
        for (index, value) in values.enumerated() {
            if index > 0 { text += "," }
            write(value, to: &text)
        }
        text += "]"
    }

    /// `"key":`: a Swift name or a number needs no escape; a dictionary's string key may.
    static func writeKey(_ key: String, to text: inout String) {
        if key.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
                                 || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) {
            text += "\"" + key + "\":"
        } else {
            writeString(key, to: &text)
            text += ":"
        }
    }

    static func writeString(_ string: String, to text: inout String) { text += jsonQuoted(string) }
}

/// An optional, asked for its value without reflection.
protocol OptionalValue { var wrapped: Any? { get } }

extension Optional: OptionalValue {
    var wrapped: Any? { map { $0 as Any } }
}

/// A dictionary, asked whether `Codable` writes it as an object (its keys are strings or integers)
/// or as a flat array of keys and values.
protocol KeyTyped { var keysAreCodingKeys: Bool { get } }

extension Dictionary: KeyTyped {
    var keysAreCodingKeys: Bool { Key.self == String.self || Key.self == Int.self }
}

/// A key of a replay record's object, by its Swift name.
struct ReplayKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where Key == ReplayKey {
    /// Decodes the property named as `path`'s last part into `root`.
    func fill<Root, Value: Decodable>(_ root: inout Root, _ path: WritableKeyPath<Root, Value>, _ name: String) throws {
        root[keyPath: path] = try decode(Value.self, forKey: ReplayKey(name))
    }

    func fill<Root, Value: Decodable>(_ root: inout Root, _ path: WritableKeyPath<Root, Value?>, _ name: String) throws {
        root[keyPath: path] = try decodeIfPresent(Value.self, forKey: ReplayKey(name))
    }
}

// Types holding tuples (which `Codable` cannot synthesize for) decode by hand, in the shape
// `ReplayJSON` writes them.

extension TCPConversation: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: ReplayKey.self)
        var pair = try c.nestedUnkeyedContainer(forKey: ReplayKey("sides"))
        let first = try pair.decode(TCPSide.self), second = try pair.decode(TCPSide.self)
        self.init(stream: try c.decode(Int.self, forKey: ReplayKey("stream")), key: try c.decode(FlowKey.self, forKey: ReplayKey("key")),
                  first: first.endpoint, second: second.endpoint, frame: 0, time: 0)
        sides = (first, second)
        try c.fill(&self, \.client, "client")
        try c.fill(&self, \.firstFrame, "firstFrame")
        try c.fill(&self, \.lastFrame, "lastFrame")
        try c.fill(&self, \.start, "start")
        try c.fill(&self, \.last, "last")
        try c.fill(&self, \.synTime, "synTime")
        try c.fill(&self, \.handshakeRTT, "handshakeRTT")
        try c.fill(&self, \.icmpErrors, "icmpErrors")
        try c.fill(&self, \.icmpMTU, "icmpMTU")
        try c.fill(&self, \.firstICMPFrame, "firstICMPFrame")
        try c.fill(&self, \.tunnelOverhead, "tunnelOverhead")
        try c.fill(&self, \.largestInnerPacket, "largestInnerPacket")
        try c.fill(&self, \.underlayFragmentedPackets, "underlayFragmentedPackets")
        try c.fill(&self, \.analysisCounts, "analysisCounts")
        try c.fill(&self, \.responseTimes, "responseTimes")
        try c.fill(&self, \.reassembling, "reassembling")
        try c.fill(&self, \.applicationProtocol, "applicationProtocol")
        try c.fill(&self, \.serverName, "serverName")
        try c.fill(&self, \.originator, "originator")
        try c.fill(&self, \.historyRecorder, "historyRecorder")
        try c.fill(&self, \.tunnel, "tunnel")
        // A conversation that is over parses nothing more: its parsers were released (`releaseStreams`).
        application = .unparsed
    }
}

extension UDPConversation: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: ReplayKey.self)
        var pair = try c.nestedUnkeyedContainer(forKey: ReplayKey("sides"))
        let first = try pair.decode(UDPSide.self), second = try pair.decode(UDPSide.self)
        self.init(stream: try c.decode(Int.self, forKey: ReplayKey("stream")), key: try c.decode(FlowKey.self, forKey: ReplayKey("key")),
                  first: first.endpoint, second: second.endpoint, frame: 0, time: 0)
        sides = (first, second)
        try c.fill(&self, \.firstFrame, "firstFrame")
        try c.fill(&self, \.lastFrame, "lastFrame")
        try c.fill(&self, \.start, "start")
        try c.fill(&self, \.last, "last")
        try c.fill(&self, \.application, "application")
        try c.fill(&self, \.historyRecorder, "historyRecorder")
        try c.fill(&self, \.tunnel, "tunnel")
        var parsed = try c.nestedUnkeyedContainer(forKey: ReplayKey("parsedAs"))
        parsedAs = (try parsed.decodeIfPresent(ApplicationProtocol.self), try parsed.decodeIfPresent(ApplicationProtocol.self))
    }
}

@_silgen_name("swift_EnumCaseName")
private func enumCaseName<Value>(_ value: Value) -> UnsafePointer<CChar>?

extension TCPTransferStatistics: Decodable {
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: ReplayKey.self)
        try c.fill(&self, \.rtt, "rtt")
        try c.fill(&self, \.ackRTTSamples, "ackRTTSamples")
        try c.fill(&self, \.timestampRTTSamples, "timestampRTTSamples")
        try c.fill(&self, \.firstDataTime, "firstDataTime")
        try c.fill(&self, \.lastDataTime, "lastDataTime")
        try c.fill(&self, \.largestSegment, "largestSegment")
        try c.fill(&self, \.bytesInFlightMax, "bytesInFlightMax")
        try c.fill(&self, \.bytesInFlightTotal, "bytesInFlightTotal")
        try c.fill(&self, \.bytesInFlightSamples, "bytesInFlightSamples")
        try c.fill(&self, \.peerWindowTotal, "peerWindowTotal")
        try c.fill(&self, \.windowLimitedSegments, "windowLimitedSegments")
        try c.fill(&self, \.segmentsBeyondWindow, "segmentsBeyondWindow")
        try c.fill(&self, \.announcedWindowMin, "announcedWindowMin")
        try c.fill(&self, \.announcedWindowMax, "announcedWindowMax")
        try c.fill(&self, \.idleTime, "idleTime")
        try c.fill(&self, \.idlePauses, "idlePauses")
        try c.fill(&self, \.allAckedTime, "allAckedTime")
        try c.fill(&self, \.nagleStalls, "nagleStalls")
        try c.fill(&self, \.nagleDelayTotal, "nagleDelayTotal")
        try c.fill(&self, \.nagleDelayMax, "nagleDelayMax")
        try c.fill(&self, \.lastDataSegmentTime, "lastDataSegmentTime")
        try c.fill(&self, \.lastDataSegmentSmall, "lastDataSegmentSmall")
        try c.fill(&self, \.sentTimestampCount, "sentTimestampCount")
        try c.fill(&self, \.lastEchoSampled, "lastEchoSampled")
        try c.fill(&self, \.overTime, "overTime")
        try c.fill(&self, \.flights, "flights")
        if c.contains(ReplayKey("pendingDelayedAck")) {
            var pending = try c.nestedUnkeyedContainer(forKey: ReplayKey("pendingDelayedAck"))
            pendingDelayedAck = (try pending.decode(Int64.self), try pending.decode(Int64.self))
        }
        var sent = try c.nestedUnkeyedContainer(forKey: ReplayKey("sentTimestamps"))
        while !sent.isAtEnd {
            var pair = try sent.nestedUnkeyedContainer()
            sentTimestamps.append((try pair.decode(UInt32.self), try pair.decode(Int64.self)))
        }
    }
}

