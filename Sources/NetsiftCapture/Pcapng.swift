// pcapng (IETF draft-ietf-opsawg-pcapng): a sequence of blocks, each `type, length, body, length`.
// A Section Header Block starts a section, sets its byte order and forgets the interfaces before it;
// Interface Description Blocks describe interfaces 0, 1, ... of the section; packets arrive in
// Enhanced (EPB), Simple (SPB) or obsolete Packet (PB) blocks. Everything else is counted and skipped.

extension CaptureParser {
    @usableFromInline enum BlockType {
        @usableFromInline static let sectionHeader: UInt32 = 0x0A0D_0D0A
        @usableFromInline static let interfaceDescription: UInt32 = 1
        @usableFromInline static let packet: UInt32 = 2              // obsolete
        @usableFromInline static let simplePacket: UInt32 = 3
        @usableFromInline static let nameResolution: UInt32 = 4
        @usableFromInline static let interfaceStatistics: UInt32 = 5
        @usableFromInline static let enhancedPacket: UInt32 = 6
        @usableFromInline static let decryptionSecrets: UInt32 = 0x0A
        @usableFromInline static let custom: UInt32 = 0x0000_0BAD
        @usableFromInline static let customNoCopy: UInt32 = 0x4000_0BAD
    }

    @inlinable
    mutating func parsePcapngBlocks<E: Error>(
        _ window: RawSpan, isFinal: Bool, offset: inout Int, until timeLimit: Int64, _ body: (CapturedPacket, [InterfaceDescription]) throws(E) -> Void
    ) throws(E) -> Outcome {
        let end = window.byteCount
        while true {
            let available = end - offset
            if available == 0 { return isFinal ? .finished : .needMore(12) }
            if available < 12 { return shortOutcome(needed: 12, available: available, at: offset, isFinal: isFinal) }
            let type = window.u32(offset, bigEndian: bigEndian)
            if type == BlockType.sectionHeader {
                // The block type reads the same in both orders; the byte-order magic decides.
                switch window.le32(offset + 8) {
                case 0x1A2B_3C4D: bigEndian = false
                case 0x4D3C_2B1A: bigEndian = true
                case let magic:
                    if bytesConsumed + offset == 0 {
                        return .rejected(.notACapture(
                            what: "pcapng section header with byte-order magic 0x\(String(magic, radix: 16))"))
                    }
                    return damage(.badByteOrderMagic(magic), at: offset)
                }
            }
            let length = Int(window.u32(offset + 4, bigEndian: bigEndian))
            guard length >= 12, length & 3 == 0, length <= Self.maximumRecordLength else {
                return damage(.badBlockLength(length), at: offset)
            }
            if available < length {
                return shortOutcome(needed: length, available: available, at: offset, isFinal: isFinal)
            }
            let trailing = Int(window.u32(offset + length - 4, bigEndian: bigEndian))
            guard trailing == length else {
                return damage(.blockLengthMismatch(leading: length, trailing: trailing), at: offset)
            }
            switch type {
            case BlockType.enhancedPacket, BlockType.packet:
                // EPB: interface u32, timestamp high, low, captured, original, data, options.
                // PB:  interface u16, drops u16, then the same.
                guard length >= 32 else { return damage(.badBlockLength(length), at: offset) }
                let id = type == BlockType.enhancedPacket
                    ? Int(window.u32(offset + 8, bigEndian: bigEndian))
                    : Int(window.u16(offset + 8, bigEndian: bigEndian))
                guard id < interfaces.count - sectionBase else {
                    return damage(.unknownInterface(id), at: offset)
                }
                let interface = sectionBase + id
                let captured = Int(window.u32(offset + 20, bigEndian: bigEndian))
                let room = length - 32
                guard captured <= room else {
                    return damage(.packetPastBlock(capturedLength: captured, room: room), at: offset)
                }
                let ticks = UInt64(window.u32(offset + 12, bigEndian: bigEndian)) << 32
                    | UInt64(window.u32(offset + 16, bigEndian: bigEndian))
                let timestamp = scales[interface].nanoseconds(ticks: ticks)
                if timestamp > timeLimit { return .reached(timestamp) }
                let original = Int(window.u32(offset + 24, bigEndian: bigEndian))
                let optionsStart = offset + 28 + ((captured + 3) & ~3)
                if optionsStart < offset + length - 4 {
                    countPacketComment(window, from: optionsStart, to: offset + length - 4)
                }
                let start = offset + 28
                lastTimestamp = timestamp
                offset += length
                Self.prefetchRecord(window, at: offset, headerLength: 28)
                _packetsRead += 1
                try body(CapturedPacket(bytes: window.extracting(start..<start + captured),
                                        originalLength: original, timestamp: timestamp,
                                        interface: interface, linkType: interfaces[interface].linkType), interfaces)
                continue
            case BlockType.simplePacket:
                // SPB: original length, data. It belongs to interface 0 and carries no timestamp (it
                // gets the previous packet's, so time never jumps back to 1970); its captured length is what the block holds, at most the interface's snaplen.
                guard length >= 16 else { return damage(.badBlockLength(length), at: offset) }
                guard sectionBase < interfaces.count else { return damage(.unknownInterface(0), at: offset) }
                if lastTimestamp > timeLimit { return .reached(lastTimestamp) }
                let original = Int(window.u32(offset + 8, bigEndian: bigEndian))
                let snaplen = interfaces[sectionBase].snaplen
                var captured = min(original, length - 16)
                if snaplen > 0 { captured = min(captured, snaplen) }
                let start = offset + 12
                offset += length
                _packetsRead += 1
                try body(CapturedPacket(bytes: window.extracting(start..<start + captured),
                                        originalLength: original, timestamp: lastTimestamp, hasTimestamp: false,
                                        interface: sectionBase, linkType: interfaces[sectionBase].linkType), interfaces)
                continue
            case BlockType.sectionHeader:
                guard sections.count < Self.maximumSections else {
                    return damage(.tooManyBlocks(kind: "sections", limit: Self.maximumSections), at: offset)
                }
                readSectionHeader(window, block: offset, length: length)
            case BlockType.interfaceDescription:
                guard interfaces.count < Self.maximumInterfaces else {
                    return damage(.tooManyBlocks(kind: "interfaces", limit: Self.maximumInterfaces), at: offset)
                }
                readInterfaceDescription(window, block: offset, length: length)
            case BlockType.interfaceStatistics:
                readInterfaceStatistics(window, block: offset, length: length)
            case BlockType.nameResolution: _otherBlocks.nameResolution += 1
            case BlockType.decryptionSecrets: _otherBlocks.decryptionSecrets += 1
            case BlockType.custom, BlockType.customNoCopy: _otherBlocks.custom += 1
            default: _otherBlocks.unknown += 1
            }
            offset += length
        }
    }

    /// Walks the options in `start..<end`: each is code u16, length u16, value padded to 4 bytes, and
    /// `opt_endofopt` (code 0) ends the list. A value running past the end stops the walk.
    func forEachOption(_ window: RawSpan, from start: Int, to end: Int,
                       _ body: (_ code: UInt16, _ value: Range<Int>) -> Void) {
        var cursor = start
        while end - cursor >= 4 {
            let code = window.u16(cursor, bigEndian: bigEndian)
            let length = Int(window.u16(cursor + 2, bigEndian: bigEndian))
            if code == 0 || end - cursor - 4 < length { return }
            body(code, cursor + 4..<cursor + 4 + length)
            cursor += 4 + ((length + 3) & ~3)
        }
    }

    /// A text option's value, its first `maximumOptionText` bytes at most.
    func string(_ window: RawSpan, _ range: Range<Int>) -> String {
        let range = range.lowerBound..<min(range.upperBound, range.lowerBound + Self.maximumOptionText)
        var bytes: [UInt8] = []
        bytes.append(window, range)
        while bytes.last == 0 { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    @usableFromInline
    mutating func countPacketComment(_ window: RawSpan, from start: Int, to end: Int) {
        var found = false
        forEachOption(window, from: start, to: end) { code, _ in if code == 1 { found = true } }
        if found { _otherBlocks.packetComments += 1 }
    }

    /// SHB: byte-order magic, version, section length, then options (comment, hardware, OS, application).
    @usableFromInline
    mutating func readSectionHeader(_ window: RawSpan, block: Int, length: Int) {
        if stage == .fileHeader { stage = .pcapngBlocks }
        sectionBase = interfaces.count
        var section = CaptureSection(bigEndian: bigEndian, version: (0, 0))
        if length >= 28 {
            section.version = (window.u16(block + 12, bigEndian: bigEndian), window.u16(block + 14, bigEndian: bigEndian))
            forEachOption(window, from: block + 24, to: block + length - 4) { code, value in
                switch code {
                case 1 where section.comments.count < Self.maximumCommentsPerSection:
                    section.comments.append(string(window, value))
                case 2: section.hardware = string(window, value)
                case 3: section.operatingSystem = string(window, value)
                case 4: section.application = string(window, value)
                default: break
                }
            }
        }
        sections.append(section)
    }

    /// IDB: link type u16, reserved u16, snaplen u32, options (name, description, tsresol, fcslen, tsoffset).
    @usableFromInline
    mutating func readInterfaceDescription(_ window: RawSpan, block: Int, length: Int) {
        var interface = InterfaceDescription(linkType: LinkType(rawValue: 0), snaplen: 0, section: max(sections.count - 1, 0))
        var resolution: UInt8 = 6
        var offsetSeconds: Int64 = 0
        if length >= 20 {
            interface.linkType = LinkType(rawValue: window.u16(block + 8, bigEndian: bigEndian))
            interface.snaplen = Int(window.u32(block + 12, bigEndian: bigEndian))
            forEachOption(window, from: block + 16, to: block + length - 4) { code, value in
                switch code {
                case 2: interface.name = string(window, value)
                case 3: interface.description = string(window, value)
                case 9 where value.count >= 1: resolution = window.u8(value.lowerBound)
                case 13 where value.count >= 1: interface.fcsLength = Int(window.u8(value.lowerBound))
                case 14 where value.count >= 8:
                    offsetSeconds = Int64(bitPattern: window.u64(value.lowerBound, bigEndian: bigEndian))
                default: break
                }
            }
        }
        let scale = TimestampScale(resolution: resolution, offsetSeconds: offsetSeconds)
        interface.ticksPerSecond = scale.ticksPerSecond
        interface.timestampOffset = offsetSeconds
        interfaces.append(interface)
        scales.append(scale)
    }

    /// ISB: interface u32, timestamp, options with the counters (received, dropped, accepted, ...).
    @usableFromInline
    mutating func readInterfaceStatistics(_ window: RawSpan, block: Int, length: Int) {
        _otherBlocks.interfaceStatistics += 1
        guard length >= 24 else { return }
        let id = Int(window.u32(block + 8, bigEndian: bigEndian))
        guard id < interfaces.count - sectionBase else { return }
        var statistics = InterfaceStatistics()
        forEachOption(window, from: block + 20, to: block + length - 4) { code, value in
            guard value.count >= 8 else { return }
            let counter = window.u64(value.lowerBound, bigEndian: bigEndian)
            switch code {
            case 4: statistics.received = counter
            case 5: statistics.droppedByInterface = counter
            case 6: statistics.acceptedByFilter = counter
            case 7: statistics.droppedByOS = counter
            case 8: statistics.deliveredToUser = counter
            default: break
            }
        }
        interfaces[sectionBase + id].statistics = statistics
    }
}
