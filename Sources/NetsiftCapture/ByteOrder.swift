// Integer loads from a RawSpan at a byte offset. `unsafeLoadUnaligned` is bounds-checked by RawSpan
// (the "unsafe" is about the type: any bit pattern is a valid integer), so a wrong offset traps
// rather than reading past the bytes; callers validate lengths first so it never does.

extension RawSpan {
    @inlinable public func u8(_ offset: Int) -> UInt8 {
        unsafeLoad(fromByteOffset: offset, as: UInt8.self)
    }
    @inlinable public func be16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inlinable public func be32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inlinable public func be64(_ offset: Int) -> UInt64 {
        UInt64(bigEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    @inlinable public func le16(_ offset: Int) -> UInt16 {
        UInt16(littleEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inlinable public func le32(_ offset: Int) -> UInt32 {
        UInt32(littleEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inlinable public func le64(_ offset: Int) -> UInt64 {
        UInt64(littleEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
    /// A 16-bit integer in the byte order a file header declared.
    @inlinable public func u16(_ offset: Int, bigEndian: Bool) -> UInt16 {
        bigEndian ? be16(offset) : le16(offset)
    }
    @inlinable public func u32(_ offset: Int, bigEndian: Bool) -> UInt32 {
        bigEndian ? be32(offset) : le32(offset)
    }
    @inlinable public func u64(_ offset: Int, bigEndian: Bool) -> UInt64 {
        bigEndian ? be64(offset) : le64(offset)
    }
}

extension Array where Element == UInt8 {
    /// Appends the bytes of `range` within `bytes`, in one copy.
    @inlinable public mutating func append(_ bytes: RawSpan, _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        bytes.withUnsafeBytes { raw in append(contentsOf: raw[range]) }
    }
}
