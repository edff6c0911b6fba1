import Foundation
import Netsift

/// The `stream` target's input: which application parser, then one conversation in the chunks the
/// stream reassembler would hand over, so the fuzzer chooses where the bytes are split and which
/// side sent them.
///
///     byte 0     bits 0-1: the parser (0 DNS over UDP, 1 DNS over TCP, 2 TLS, 3 HTTP/2);
///                bits 2-3: the DNS flavor (DNS, mDNS, LLMNR); bit 4: TLS after STARTTLS
///     chunks     a big-endian u16, bit 15 set when the server sent it, bits 0-14 the length,
///                then that many bytes (fewer at the end of the input); length 0 is a gap (over
///                UDP: an empty datagram)
enum Transcript {
    enum Parser: UInt8, CaseIterable { case dnsUDP, dnsTCP, tls, http2 }
    static let maximumChunk = 0x7FFF

    /// Appends one chunk (split when longer than a chunk may be).
    static func append(_ bytes: some Collection<UInt8>, fromServer: Bool, to transcript: inout [UInt8]) {
        var rest = bytes[...]
        repeat {
            let piece = rest.prefix(maximumChunk)
            let header = UInt16(piece.count) | (fromServer ? 0x8000 : 0)
            transcript += [UInt8(header >> 8), UInt8(header & 0xFF)]
            transcript += piece
            rest = rest.dropFirst(piece.count)
        } while !rest.isEmpty
    }

    /// Calls `body` with each chunk: who sent it, and its bytes (empty for a gap).
    static func forEachChunk(_ input: UnsafeRawBufferPointer,
                             _ body: (_ fromServer: Bool, _ bytes: UnsafeRawBufferPointer) -> Void) {
        var cursor = 1
        while input.count - cursor >= 2 {
            let header = Int(input[cursor]) << 8 | Int(input[cursor + 1])
            let start = cursor + 2
            let end = min(input.count, start + (header & maximumChunk))
            body(header & 0x8000 != 0, UnsafeRawBufferPointer(rebasing: input[start..<end]))
            cursor = end
        }
    }
}

/// The input is one conversation's application bytes (see `Transcript`), fed to the parser the
/// first byte names, each direction to its own parser as `ApplicationParsers` does, every message
/// turned into its `netsift packets` line and its JSON, DNS messages paired by `DNSTransactions`.
enum StreamTarget {
    static let client = Endpoint(address: IPAddress(ipv4: 0x0A00_0001), port: 49152)
    static let server = Endpoint(address: IPAddress(ipv4: 0x0A00_0002), port: 53)

    static func run(_ input: UnsafeRawBufferPointer) {
        guard let selector = input.first, let parser = Transcript.Parser(rawValue: selector & 3) else { return }
        let flavor = [DNSFlavor.dns, .mdns, .llmnr][Int(selector >> 2 & 3) % 3]
        let startTLS = selector & 0x10 != 0
        var dns = [DNSStreamParser(flavor: flavor), DNSStreamParser(flavor: flavor)]
        var tls = [TLSStreamParser(), TLSStreamParser()]
        var http2 = HTTP2Connection()
        var transactions = DNSTransactions(maximumOutstanding: 16)
        var frame = 0
        var time: Int64 = 0
        let encoder = JSONEncoder()

        func check<Message: Encodable>(_ message: Message, _ line: String) {
            do {
                _ = try encoder.encode(message)
            } catch {
                fatalError("\(line): cannot be encoded as JSON: \(error)")
            }
        }
        func paired(_ message: DNSMessage, fromServer: Bool, transport: Transport) {
            check(message, message.summaryLine)
            transactions.add(message, frame: frame, time: time, client: client, server: server,
                             transport: transport) { check($0, "transaction") }
        }

        Transcript.forEachChunk(input) { fromServer, chunk in
            frame += 1
            time += 250_000_000
            let side = fromServer ? 1 : 0
            switch parser {
            case .dnsUDP:
                guard chunk.count > 0 else { return }
                paired(DNSMessage(chunk.bytes, wireLength: chunk.count, flavor: flavor), fromServer: fromServer,
                       transport: .udp)
            case .dnsTCP:
                guard chunk.count > 0 else { return dns[side].gap() }
                dns[side].consume(chunk.bytes, frame: frame, time: time) {
                    paired($0, fromServer: fromServer, transport: .tcp)
                }
                if dns[side].bufferedByteCount > 2 + 65_535 {
                    fatalError("DNS over TCP buffers \(dns[side].bufferedByteCount) bytes")
                }
            case .tls:
                guard chunk.count > 0 else { return tls[side].gap() }
                if startTLS { tls[side].awaitSTARTTLS() }
                var direction = tls[side]   // out of the array while the other side may change
                direction.consume(chunk.bytes, frame: frame, time: time) { message in
                    if case .serverHello(let hello) = message { tls[1 - side].peerSent(hello) }
                    check(message, message.summaryLine)
                }
                tls[side] = direction
            case .http2:
                if frame == 1 { _ = HTTP2Connection.detect(firstBytes: chunk.bytes) }
                let emit = { (message: HTTP2Message) in check(message, message.summaryLine) }
                if chunk.count == 0 {
                    http2.gap(fromClient: !fromServer, frame: frame, time: time, emit: emit)
                } else {
                    http2.consume(fromClient: !fromServer, chunk.bytes, frame: frame, time: time, emit: emit)
                }
            }
        }
        for stream in http2.openStreams { check(stream, stream.summaryLine) }
        transactions.finish { check($0, "transaction") }
    }
}
