import Foundation
import Testing
import NetsiftCapture
import NetsiftTestSupport

/// Wireshark's encapsulation numbers (`frame.encap_type`, WTAP_ENCAP_*) for the LINKTYPE_ values in
/// the corpus, so our per-link-type counts can be set beside the oracle's `frames_per_encap_type`.
let wiresharkEncapsulation: [UInt16: String] = [
    0: "15",     // null -> WTAP_ENCAP_NULL
    1: "1",      // ethernet -> WTAP_ENCAP_ETHERNET
    101: "7",    // raw -> WTAP_ENCAP_RAW_IP
    113: "25",   // linux-sll -> WTAP_ENCAP_SLL
    228: "129",  // ipv4 -> WTAP_ENCAP_RAW_IP4
    229: "130",  // ipv6 -> WTAP_ENCAP_RAW_IP6
    276: "210",  // linux-sll2 -> WTAP_ENCAP_SLL2
]

struct CorpusRead {
    var summary = CaptureSummary()
    var perEncapsulation: [String: Int] = [:]
    var perLocalInterface: [String: Int] = [:]
    var end: CaptureReader.End
    var parser: CaptureParser

    init(path: String) throws {
        var reader = try CaptureReader(path: path)
        var summary = CaptureSummary()
        var perLinkType: [UInt16: Int] = [:]
        var perInterface: [Int: Int] = [:]
        end = reader.forEachPacket { packet in
            summary.add(packet)
            perLinkType[packet.linkType.rawValue, default: 0] += 1
            perInterface[packet.interface, default: 0] += 1
        }
        parser = reader.parser
        self.summary = summary
        for (linkType, count) in perLinkType {
            perEncapsulation[wiresharkEncapsulation[linkType] ?? "linktype-\(linkType)", default: 0] += count
        }
        // Wireshark 4.0 reports a pcapng packet's section-local interface id (see the allowlist).
        let firstOfSection = Dictionary(grouping: parser.interfaces.indices, by: { parser.interfaces[$0].section })
            .mapValues { $0.min()! }
        for (interface, count) in perInterface {
            let local = interface - firstOfSection[parser.interfaces[interface].section]!
            perLocalInterface[String(local), default: 0] += count
        }
    }
}

@Suite struct ReaderCorpusTests {
    @Test func everyCaptureReadsAsWiresharkReadsIt() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        let names = Corpus.captureNames
        #expect(!names.isEmpty)
        var agreed = 0
        for name in names {
            let oracle = try #require(Corpus.oracle(name), "no oracle for \(name)")
            let read = try CorpusRead(path: Corpus.path(name)!)
            if case .rejected(let error) = read.end {
                Issue.record("\(name): rejected: \(error)")
                continue
            }
            let encapsulations = (oracle["frames_per_encap_type"] as? [String: Int] ?? [:]).filter { !$0.key.isEmpty }
            let expectedPackets = encapsulations.values.reduce(0, +)
            if let reason = Allowlist.reason(name, "packet_count") {
                print("allowlisted \(name) packet_count (ours \(read.summary.packets), tshark \(oracle["packet_count"]!)): \(reason)")
            } else {
                #expect(read.summary.packets == expectedPackets, "\(name): packets")
                #expect(read.perEncapsulation == encapsulations, "\(name): frames per link type")
                let interfaces = oracle["frames_per_interface_id"] as? [String: Int] ?? [:]
                if !interfaces.isEmpty {
                    #expect(read.perLocalInterface == interfaces, "\(name): frames per interface")
                }
                #expect(read.summary.cutPackets == oracle["snaplen_truncated_frames"] as? Int, "\(name): cut")
            }
            let capinfos = oracle["capinfos"] as? [String: String] ?? [:]
            if let fileType = capinfos["File type"] {
                #expect(read.parser.format?.name == fileType, "\(name): file type")
            }
            if read.parser.format?.name != "pcapng", let limit = capinfos["Packet size limit"], let snaplen = Int(limit) {
                #expect(read.parser.interfaces.first?.snaplen == snaplen, "\(name): snaplen")
            }
            // Files tshark calls damaged must end damaged here too, after the same packets.
            let damaged = (oracle["tshark_errors"] as? [String] ?? []).contains { $0.contains("damaged or corrupt") }
            switch read.end {
            case .damaged(let damage):
                #expect(damaged, "\(name): we found damage tshark did not: \(damage)")
                if Allowlist.reason(name, "packet_count") == nil {
                    #expect(damage.packetsRead == expectedPackets, "\(name): packets before the damage")
                }
            case .finished:
                #expect(!damaged, "\(name): tshark found damage we did not")
            case .rejected:
                break
            }
            agreed += 1
        }
        print("reader corpus: \(agreed) of \(names.count) captures read and compared with tshark")
    }

    /// Streaming the same bytes through a pipe must give exactly what the mapped file gives.
    @Test func standardInputReadsTheCorpusLikeTheMappedFile() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        for name in Corpus.captureNames {
            let path = Corpus.path(name)!
            let mapped = try CorpusRead(path: path)
            let chunked = try Data(contentsOf: URL(fileURLWithPath: path))
            let streamed = readChunked(Array(chunked), chunks: [1, 5, 64, 1500, 7])
            var summary = CaptureSummary()
            _ = streamed.packets.count
            for packet in streamed.packets {
                packet.bytes.withUnsafeBytes { raw in
                    summary.add(CapturedPacket(bytes: raw.bytes, originalLength: packet.originalLength,
                                               timestamp: packet.timestamp, hasTimestamp: packet.hasTimestamp,
                                               interface: packet.interface, linkType: packet.linkType))
                }
            }
            #expect(summary == mapped.summary, "\(name)")
        }
    }
}
