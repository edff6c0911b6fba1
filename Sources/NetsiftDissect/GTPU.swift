import NetsiftCapture

/// GTP-U header (3GPP TS 29.281 §5.1): version (3 bits, 1), protocol type (1 for GTP), flags E
/// (extension header), S (sequence number), PN (N-PDU number), the message type (255 is a G-PDU,
/// which carries a user packet), a length, the TEID. When any of E, S, PN is set four more bytes
/// follow (sequence, N-PDU number, next extension header type), then the extension headers, each
/// a length in 4-byte words and ending with the next one's type.
public struct GTPUHeader: ~Escapable {
    public static let minimumLength = 8
    /// Longer chains of extension headers are reported rather than followed.
    public static let maximumExtensionHeaders = 8
    public static let gPDU: UInt8 = 0xFF
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy payload)
    public init(_ payload: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.minimumLength, captured: payload.byteCount, wire: wire, layer: .gtpU)
        let version = Int(payload.u8(0) >> 5)
        guard version == 1 else { throw DissectError(.gtpU, .wrongVersion(version)) }
        var length = Self.minimumLength
        if payload.u8(0) & 0x07 != 0 {
            length += 4
            try require(length, captured: payload.byteCount, wire: wire, layer: .gtpU)
            var next = payload.u8(length - 1)
            var count = 0
            if payload.u8(0) & 0x04 != 0 {
                while next != 0 {
                    guard count < Self.maximumExtensionHeaders else {
                        throw DissectError(.gtpU, .chainTooLong(limit: Self.maximumExtensionHeaders))
                    }
                    try require(length + 1, captured: payload.byteCount, wire: wire, layer: .gtpU)
                    let words = Int(payload.u8(length))
                    guard words > 0 else {
                        throw DissectError(.gtpU, .lengthBelowMinimum(field: .extensionLength, value: 0, minimum: 1))
                    }
                    length += words * 4
                    try require(length, captured: payload.byteCount, wire: wire, layer: .gtpU)
                    next = payload.u8(length - 1)
                    count += 1
                }
            }
        }
        bytes = payload.extracting(first: length)
    }

    @inlinable public var headerLength: Int { bytes.byteCount }
    @inlinable public var messageType: UInt8 { bytes.u8(1) }
    @inlinable public var teid: UInt32 { bytes.be32(4) }
}
