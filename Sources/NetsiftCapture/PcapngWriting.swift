// pcapng as `CaptureWriter` writes it (IETF draft-ietf-opsawg-pcapng): one Section Header Block,
// an Interface Description Block before the first packet of each interface used, then Enhanced
// (or Simple) Packet Blocks. Every block is `type, length, body, length`, padded to 4 bytes;
// little-endian throughout.

extension CaptureWriter {
    /// SHB: byte-order magic, version 1.0, section length unknown (-1), `shb_userappl`.
    func writeSectionHeader() {
        var options: [UInt8] = []
        options.appendOption(4, Array("Netsift".utf8))
        options.appendEndOfOptions()
        var block: [UInt8] = []
        block.appendLittleEndian(UInt32(0x1A2B_3C4D))
        block.appendLittleEndian(UInt16(1))
        block.appendLittleEndian(UInt16(0))
        block.appendLittleEndian(UInt64.max)
        appendBlock(type: 0x0A0D_0D0A, body: block + options)
    }

    /// Describes `interface` (input interface `input`) in an IDB and returns its output id. The
    /// options say what the reader understood: `if_name`, `if_description`, `if_tsresol` (when not
    /// the default microseconds), `if_fcslen`, `if_tsoffset` (when not 0).
    func describe(_ interface: InterfaceDescription, input: Int) -> Int {
        let scale = TimestampScale(interface)
        var options: [UInt8] = []
        if let name = interface.name, !name.isEmpty { options.appendOption(2, Array(name.utf8)) }
        if let description = interface.description, !description.isEmpty {
            options.appendOption(3, Array(description.utf8))
        }
        if scale.resolution != 6 { options.appendOption(9, [scale.resolution]) }
        if let fcsLength = interface.fcsLength { options.appendOption(13, [UInt8(clamping: fcsLength)]) }
        if interface.timestampOffset != 0 {
            var offset: [UInt8] = []
            offset.appendLittleEndian(UInt64(bitPattern: interface.timestampOffset))
            options.appendOption(14, offset)
        }
        if !options.isEmpty { options.appendEndOfOptions() }
        var block: [UInt8] = []
        block.appendLittleEndian(interface.linkType.rawValue)
        block.appendLittleEndian(UInt16(0))   // reserved
        block.appendLittleEndian(UInt32(clamping: interface.snaplen))
        appendBlock(type: 1, body: block + options)
        return interfaces.add(input: input, scale: scale, snaplen: interface.snaplen)
    }

    /// An SPB when the packet has no time of its own and one reads back the same, else an EPB.
    func writePacketBlock(_ packet: borrowing CapturedPacket, interface id: Int) {
        let captured = packet.capturedLength
        let padding = (4 - captured & 3) & 3
        if !packet.hasTimestamp && id == 0 && simplePacketKeeps(captured, of: packet.originalLength, padding: padding) {
            // SPB: original length, bytes.
            let length = 16 + captured + padding
            reserve(12)
            append(UInt32(3))
            append(UInt32(length))
            append(UInt32(clamping: packet.originalLength))
            packet.bytes.withUnsafeBytes { append($0) }
            reserve(padding + 4)
            appendZeros(padding)
            append(UInt32(length))
        } else {
            // EPB: interface id, timestamp high and low words, captured and original lengths, bytes.
            let ticks = interfaces.scales[id].ticks(nanoseconds: packet.timestamp)
            let length = 32 + captured + padding
            reserve(28)
            append(UInt32(6))
            append(UInt32(length))
            append(UInt32(id))
            append(UInt32(truncatingIfNeeded: ticks >> 32))
            append(UInt32(truncatingIfNeeded: ticks))
            append(UInt32(captured))
            append(UInt32(clamping: packet.originalLength))
            packet.bytes.withUnsafeBytes { append($0) }
            reserve(padding + 4)
            appendZeros(padding)
            append(UInt32(length))
        }
        packetsWritten += 1
    }

    /// An SPB states no captured length: a reader takes the original length, cut to the bytes the
    /// block holds (padding included) and to interface 0's snaplen. True when that is `captured`.
    private func simplePacketKeeps(_ captured: Int, of original: Int, padding: Int) -> Bool {
        var readBack = min(original, captured + padding)
        if interfaces.firstSnaplen > 0 { readBack = min(readBack, interfaces.firstSnaplen) }
        return readBack == captured
    }

    private func appendBlock(type: UInt32, body: [UInt8]) {
        let length = 12 + body.count   // bodies here are built of 4-byte multiples
        reserve(8)
        append(type)
        append(UInt32(length))
        body.withUnsafeBytes { append($0) }
        reserve(4)
        append(UInt32(length))
    }
}

extension Array where Element == UInt8 {
    fileprivate mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// An option: code, length, value padded to 4 bytes (a value longer than 65,535 bytes is cut).
    fileprivate mutating func appendOption(_ code: UInt16, _ value: [UInt8]) {
        let value = value.prefix(Int(UInt16.max))
        appendLittleEndian(code)
        appendLittleEndian(UInt16(value.count))
        append(contentsOf: value)
        append(contentsOf: repeatElement(0, count: (4 - value.count & 3) & 3))
    }

    fileprivate mutating func appendEndOfOptions() { appendLittleEndian(UInt32(0)) }
}
