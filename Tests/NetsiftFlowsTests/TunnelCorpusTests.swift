import Foundation
import Testing
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// The tunnel captures of the `next/` corpus against the `encapsulation` section of their oracles:
/// which frames hold each tunnel, the identifiers they carry, and how many TCP streams run inside.
/// (Protocol counts and TCP analysis of the same captures are compared by DissectCorpusTests and
/// TCPCorpusTests, which read them beside the rest of the corpus.)
@Suite struct TunnelCorpusTests {
    /// The oracle's identifier list for each kind.
    static let identifierKeys: [TunnelKind: String] = [
        .vxlan: "vnis", .geneve: "vnis", .gre: "keys", .erspan: "span_ids", .mpls: "labels", .gtpU: "teids",
    ]

    struct Decapsulated {
        var frames: [TunnelKind: [Int]] = [:]
        var identifiers: [TunnelKind: Set<Int>] = [:]
        var maximumDepth: [TunnelKind: Int] = [:]
        var erspanVersions: Set<Int> = []
    }

    static func decapsulate(_ path: String, tunnelPorts: TunnelPorts) throws -> Decapsulated {
        var reader = try CaptureReader(path: path)
        var dissector = Dissector(tunnelPorts: tunnelPorts)
        var result = Decapsulated()
        var frame = 0
        _ = reader.forEachPacket { packet in
            frame += 1
            dissector.dissect(packet) { summary, _ in
                guard let e = summary.encapsulation else { return }
                for kind in TunnelKind.allCases where e.kinds.contains(kind) {
                    result.frames[kind, default: []].append(frame)
                }
                let carried: [(TunnelKind, UInt32?)] = [
                    (.vxlan, e.vxlanVNI), (.geneve, e.geneveVNI), (.gre, e.greKey),
                    (.erspan, e.erspanSpanID.map(UInt32.init)), (.mpls, e.mplsLabel), (.gtpU, e.gtpTEID),
                ]
                for case let (kind, value?) in carried { result.identifiers[kind, default: []].insert(Int(value)) }
                // Type I (version 0 here) has no header, and so no version in tshark's tree.
                if let version = e.erspanVersion, version > 0 { result.erspanVersions.insert(Int(version)) }
                if e.kinds.contains(.mpls) {
                    result.maximumDepth[.mpls] = max(result.maximumDepth[.mpls] ?? 0, Int(e.mplsStackDepth))
                }
            }
        }
        return result
    }

    @Test func encapsulationAgreesWithTshark() throws {
        guard Corpus.directory != nil else {
            print("⚠︎ \(Corpus.missingMessage)")
            return
        }
        var compared = 0
        for name in Corpus.tunnelCaptureNames {
            guard let oracle = Corpus.oracle(name), let encapsulation = oracle["encapsulation"] as? [String: [String: Any]]
            else { continue }
            let file = String(name.dropFirst("next/".count))
            let decodeAs = try #require(DecodeAs(rules: Corpus.decodeAs[file] ?? []))
            let ours = try Self.decapsulate(Corpus.path(name)!, tunnelPorts: decodeAs.tunnelPorts)
            let run = try PipelineRun(path: Corpus.path(name)!)
            for (kindName, expected) in encapsulation {
                let kind = try #require(TunnelKind.allCases.first { $0.name == kindName }, "\(kindName)")
                let label = "\(name) \(kindName)"
                #expect(ours.frames[kind] ?? [] == expected["frames"] as? [Int], "\(label): frames")
                if let key = Self.identifierKeys[kind], let theirs = expected[key] as? [Int] {
                    // We keep the innermost tunnel of each kind: with nested tunnels of one kind (the
                    // oracle's max_layers_in_frame above 1) only those are ours.
                    let nested = (expected["max_layers_in_frame"] as? Int ?? 1) > 1
                    let mine = ours.identifiers[kind] ?? []
                    if nested {
                        #expect(mine.isSubset(of: Set(theirs)) && !mine.isEmpty, "\(label): \(key) ours \(mine.sorted()), tshark \(theirs)")
                    } else {
                        #expect(mine == Set(theirs), "\(label): \(key) ours \(mine.sorted()), tshark \(theirs)")
                    }
                }
                if kind == .erspan, let versions = expected["versions"] as? [Int] {
                    #expect(ours.erspanVersions == Set(versions), "\(label): versions ours \(ours.erspanVersions), tshark \(versions)")
                }
                if kind == .mpls, let depth = expected["max_label_stack_depth"] as? Int {
                    #expect(ours.maximumDepth[.mpls] == depth, "\(label): label stack depth")
                }
                let inner = run.tcpConversations.filter { $0.tunnel?.kinds.contains(kind) == true }.map(\.stream)
                let innerExpected = expected["inner_tcp_streams"] as? [Int] ?? []
                #expect(inner.sorted() == innerExpected, "\(label): inner TCP streams ours \(inner.sorted()), tshark \(innerExpected)")
                compared += 1
            }
        }
        // 14 captures, 16 tunnel sections.
        #expect(compared >= 16, "only \(compared) tunnel sections compared")
    }
}
