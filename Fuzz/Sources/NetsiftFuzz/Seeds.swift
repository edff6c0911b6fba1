import Foundation
import Netsift

/// Writes seeds for the `stream` target from captures: each TCP conversation a parser reads (DNS
/// by port, HTTP/2 and TLS by their first bytes) put back in order with its gaps, and each DNS
/// conversation over UDP datagram by datagram, as transcripts (see `Transcript`). At most
/// `perParser` conversations per parser and capture, each cut at about `maximumLength` bytes.
enum Seeds {
    static let perParser = 8
    static let maximumLength = 64 * 1024

    struct Conversation {
        var client: Endpoint
        var first: Int
        var parser: Transcript.Parser?
        var decided = false
        var transcript: [UInt8] = [0]
        var directions = [StreamReassembler(), StreamReassembler()]
    }

    static func write(to directory: String, from captures: [String]) -> Int {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written = 0
        for path in captures {
            guard var reader = try? CaptureReader(path: path) else { continue }
            var dissector = Dissector()
            var conversations: [FlowKey: Conversation] = [:]
            var frame = 0
            _ = reader.forEachPacket { packet in
                frame += 1
                dissector.dissect(packet) { summary, bytes in add(summary, bytes, frame: frame, to: &conversations) }
            }
            let name = path.split(separator: "/").last.map(String.init) ?? path
            var counts: [Transcript.Parser: Int] = [:]
            for conversation in conversations.values.sorted(by: { $0.first < $1.first }) {
                guard let parser = conversation.parser, conversation.transcript.count > 1,
                      counts[parser, default: 0] < perParser else { continue }
                counts[parser, default: 0] += 1
                let file = "\(directory)/\(name)-\(parser)-\(counts[parser]!)"
                if FileManager.default.createFile(atPath: file, contents: Data(conversation.transcript)) { written += 1 }
            }
        }
        return written
    }

    static func add(_ s: PacketSummary, _ bytes: RawSpan, frame: Int, to conversations: inout [FlowKey: Conversation]) {
        let udp = s.layers.contains(.udp)
        guard udp || s.layers.contains(.tcp), !s.transportHeader.isEmpty, s.problem == nil else { return }
        let source = Endpoint(address: s.source, port: s.sourcePort)
        let destination = Endpoint(address: s.destination, port: s.destinationPort)
        let key = FlowKey.make(source: source, destination: destination, ipProtocol: udp ? 17 : 6).key
        var conversation = conversations[key] ?? Conversation(client: source, first: frame)
        guard conversation.transcript.count < maximumLength else { return }
        let fromServer = source != conversation.client
        let dnsFlavor = DNSFlavor(sourcePort: s.sourcePort, destinationPort: s.destinationPort)
        func decide(_ firstBytes: RawSpan?) {
            guard !conversation.decided else { return }
            conversation.decided = true
            var flavorBits: UInt8 = 0
            if let dnsFlavor {
                conversation.parser = udp ? .dnsUDP : .dnsTCP
                flavorBits = dnsFlavor == .mdns ? 1 : dnsFlavor == .llmnr ? 2 : 0
            } else if let firstBytes, HTTP2Connection.detect(firstBytes: firstBytes) {
                conversation.parser = .http2
            } else if let firstBytes, TLSStreamParser.looksLikeTLS(firstBytes) {
                conversation.parser = .tls
            }
            conversation.transcript[0] = (conversation.parser?.rawValue ?? 0) | flavorBits << 2
        }
        let payload = bytes.extracting(s.payload)
        if udp {
            decide(payload)
            if conversation.parser != nil {
                Transcript.append(payload.withUnsafeBytes(Array.init), fromServer: fromServer, to: &conversation.transcript)
            }
        } else {
            var direction = conversation.directions[fromServer ? 1 : 0]
            direction.add(seq: s.sequenceNumber, syn: s.tcpFlags.contains(.syn), fin: s.tcpFlags.contains(.fin),
                          payload: payload, wireLength: s.payloadWireLength, budget: 1 << 20) { chunk in
                decide(chunk)
                guard conversation.parser != nil else { return }
                Transcript.append(chunk?.withUnsafeBytes(Array.init) ?? [], fromServer: fromServer,
                                  to: &conversation.transcript)
            }
            conversation.directions[fromServer ? 1 : 0] = direction
        }
        conversations[key] = conversation
    }
}
