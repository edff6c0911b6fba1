// Classic pcap as `CaptureWriter` writes it (tcpdump.org/manpages/pcap-savefile.5.html): the 24-byte
// file header, then per packet a 16-byte record header and the captured bytes. Little-endian.

extension CaptureWriter {
    /// Magic (µs 0xa1b2c3d4 or ns 0xa1b23c4d), version 2.4, thiszone and sigfigs 0, snaplen, and the
    /// link-type word: the LINKTYPE_ value, and when the FCS length is known, bit 26 set and the
    /// length in 16-bit words in bits 28-31.
    func writePcapFileHeader(nanosecond: Bool, interface: InterfaceDescription) {
        var linkWord = UInt32(interface.linkType.rawValue)
        if let fcsLength = interface.fcsLength {
            linkWord |= 0x0400_0000 | (UInt32(clamping: fcsLength / 2) & 0xF) << 28
        }
        reserve(24)
        append(UInt32(nanosecond ? 0xA1B2_3C4D : 0xA1B2_C3D4))
        append(UInt16(2))
        append(UInt16(4))
        append(UInt32(0))   // thiszone
        append(UInt32(0))   // sigfigs
        append(UInt32(clamping: interface.snaplen))
        append(linkWord)
    }

    /// Seconds and fraction (µs or ns, as the magic says), captured and original lengths, bytes.
    /// A time before 1970 or after 2106 does not fit the 32-bit seconds and is cut to them.
    func writePcapRecord(_ packet: borrowing CapturedPacket) {
        guard packet.linkType == pcapLinkType else {
            packetsSkipped += 1
            return
        }
        let (seconds, nanoseconds) = TimestampScale.floorDivide(packet.timestamp, by: 1_000_000_000)
        reserve(16)
        append(UInt32(truncatingIfNeeded: seconds))
        append(UInt32(pcapNanosecond ? nanoseconds : nanoseconds / 1_000))
        append(UInt32(packet.capturedLength))
        append(UInt32(clamping: packet.originalLength))
        packet.bytes.withUnsafeBytes { append($0) }
        packetsWritten += 1
    }
}
