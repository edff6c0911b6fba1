// Classic libpcap records (tcpdump.org/manpages/pcap-savefile.5.html): after the 24-byte file header,
// each record is a 16-byte header (seconds, fraction, captured length, original length) and the
// captured bytes. The modified format adds 8 bytes (ifindex, protocol, packet type, padding).

extension CaptureParser {
    @inlinable
    mutating func parsePcapRecords<E: Error>(
        _ window: RawSpan, isFinal: Bool, offset: inout Int, until timeLimit: Int64, _ body: (CapturedPacket, [InterfaceDescription]) throws(E) -> Void
    ) throws(E) -> Outcome {
        let headerLength = recordHeaderLength
        let bigEndian = self.bigEndian
        let scale = scales[0]
        let linkType = interfaces[0].linkType
        let limit = maximumCapturedLength
        let end = window.byteCount
        while true {
            let available = end - offset
            if available == 0 { return isFinal ? .finished : .needMore(headerLength) }
            if available < headerLength {
                return shortOutcome(needed: headerLength, available: available, at: offset, isFinal: isFinal)
            }
            let captured = Int(window.u32(offset + 8, bigEndian: bigEndian))
            if captured > limit {
                return damage(.impossibleRecordLength(captured, limit: limit), at: offset)
            }
            let recordLength = headerLength + captured
            if available < recordLength {
                return shortOutcome(needed: recordLength, available: available, at: offset, isFinal: isFinal)
            }
            let timestamp = scale.nanoseconds(seconds: window.u32(offset, bigEndian: bigEndian),
                                              fraction: window.u32(offset + 4, bigEndian: bigEndian))
            if timestamp > timeLimit { return .reached(timestamp) }
            let original = Int(window.u32(offset + 12, bigEndian: bigEndian))
            let start = offset + headerLength
            offset += recordLength
            Self.prefetchRecord(window, at: offset, headerLength: headerLength)
            _packetsRead += 1
            try body(CapturedPacket(bytes: window.extracting(start..<start + captured),
                                    originalLength: original, timestamp: timestamp,
                                    interface: 0, linkType: linkType), interfaces)
        }
    }
}
