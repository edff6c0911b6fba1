import Foundation
import Testing
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport
import NetsiftTestSupport

/// What `netsift analyze` gets from a capture, run as the command runs it: every packet through
/// the dissector and the flow tracker, every message and finished conversation into the diagnosis.
struct Analysis {
    var end: CaptureReader.End
    var packets = 0
    /// Each packet's first problem, by frame number.
    var problems: [Int: DissectError] = [:]
    var events: [ApplicationEvent] = []
    var counters: FlowCounters
    var fragments: FragmentStatistics
    var findings: [Finding]
    var report: AnalysisReport

    init(_ url: URL, thresholds: DiagnosisThresholds = DiagnosisThresholds(), flowLimits: FlowLimits = FlowLimits(),
         fragmentLimits: FragmentLimits = FragmentLimits()) throws {
        var reader = try CaptureReader(path: url.path)
        var dissector = Dissector(fragmentLimits: fragmentLimits)
        var tracker = FlowTracker(flowLimits: flowLimits)
        var diagnosis = Diagnosis(thresholds: thresholds)
        var topFlows = TopFlows()
        var packets = 0
        var problems: [Int: DissectError] = [:]
        var events: [ApplicationEvent] = []
        var first: Int64?, last: Int64?
        func finished(_ flow: FinishedFlow) {
            diagnosis.add(flow)
            topFlows.add(FlowSummary(flow))
        }
        end = reader.forEachPacket { packet in
            packets += 1
            let frame = packets, time = packet.timestamp, wire = packet.originalLength
            if first == nil { first = time }
            last = time
            dissector.dissect(packet) { summary, bytes in
                if let problem = summary.problem { problems[frame] = problem }
                diagnosis.add(frame: frame, summary)
                _ = tracker.track(&summary, bytes: bytes, frame: frame, time: time, wireLength: wire) { event in
                    events.append(event)
                    diagnosis.add(event)
                }
            }
            tracker.drain(finished)
        }
        tracker.finish(finished)
        var damage: String?
        if case .damaged(let d) = end { damage = d.description }
        self.packets = packets
        self.problems = problems
        self.events = events
        counters = tracker.counters
        fragments = dissector.fragments.statistics
        findings = diagnosis.findings(start: first, end: last, counters: counters, fragments: fragments,
                                      fragmentLimits: fragmentLimits, damage: damage)
        let capture = AnalysisReport.Capture(file: url.path, packets: packets, firstPacket: first, lastPacket: last,
                                             damage: damage, counters: counters, tcpStates: [:], applicationMessages: [:])
        report = AnalysisReport(capture: capture, findings: findings, topFlows: topFlows.top(),
                                thresholds: thresholds)
    }

    init(_ bytes: [UInt8], suffix: String = "pcap", flowLimits: FlowLimits = FlowLimits(),
         fragmentLimits: FragmentLimits = FragmentLimits()) throws {
        let url = try Build.file(bytes, suffix: suffix)
        defer { try? FileManager.default.removeItem(at: url) }
        try self.init(url, flowLimits: flowLimits, fragmentLimits: fragmentLimits)
    }

    func finding(_ kind: FindingKind) -> Finding? { findings.first { $0.kind == kind } }

    var dnsMessages: [DNSMessage] {
        events.compactMap { if case .dns(let message) = $0.message { message } else { nil } }
    }
    var tlsMessages: [TLSMessage] {
        events.compactMap { if case .tls(let message) = $0.message { message } else { nil } }
    }
    var http2Messages: [(stream: Int, message: HTTP2Message)] {
        events.compactMap { if case .http2(let message) = $0.message { ($0.context.stream, message) } else { nil } }
    }
}

/// A classic pcap of Ethernet frames, one a second from 1,700,000,000 (2023-11-14) on.
func pcap(_ frames: [[UInt8]]) -> [UInt8] {
    var bytes = Build.pcapHeader()
    for (index, frame) in frames.enumerated() { bytes += Build.pcapRecord(frame, seconds: 1_700_000_000 + UInt32(index)) }
    return bytes
}

/// 10.0.0.1:49152 -> 10.0.0.2:53 (a query) or back (a response), over UDP.
func dnsDatagram(_ message: [UInt8], response: Bool = false) -> [UInt8] {
    let udp = response ? Build.udp(53, 49152, message) : Build.udp(49152, 53, message)
    return Build.ethernet(0x0800, response ? Build.ipv4(0x0A00_0002, 0x0A00_0001, protocol: 17, udp)
                                           : Build.ipv4(0x0A00_0001, 0x0A00_0002, protocol: 17, udp))
}

/// RFC 1035 §4.1: ID 0x1234, flags 0x0100 (RD), one question: 07 example 03 com 00, A, IN.
let exampleQuery = Build.hex("1234 0100 0001 0000 0000 0000 07 6578616d706c65 03 636f6d 00 0001 0001")

/// Each hostile capture must end in a clear outcome (malformed, a finding, a counted limit), stay
/// bounded, and leave what follows it analysed wherever the format allows.
@Suite struct HostileCaptureTests {
    /// Found by fuzzing (capture target): timestamps are the capture's word, and pcapng's
    /// `if_tsoffset` can put them anywhere in Int64. A packet near Int64.max followed by one near
    /// Int64.min made the flow table's idle sweep overflow (`now - last`) and trap; the same
    /// subtraction sat in conversation durations, the handshake RTT, DNS latency and expiry,
    /// CLOSE_WAIT and TIME_WAIT durations and the report's duration. They now wrap: a wrong
    /// time, never a trap.
    @Test func timestampsAtBothEndsOfInt64() throws {
        // Interface 0 adds 9,223,372,035 s to every timestamp (just under Int64.max ns), interface
        // 1 subtracts 9,223,372,036 s (just above Int64.min ns); microsecond ticks of 0 and 1.
        var bytes = Build.pcapngSection() + Build.pcapngInterface(timestampOffsetSeconds: 9_223_372_035)
            + Build.pcapngInterface(timestampOffsetSeconds: -9_223_372_036)
        let conversation = Build.tcpConversation(clientPort: 40000, serverPort: 80, [(true, Array("GET /".utf8))])
        let frames = conversation + [dnsDatagram(exampleQuery), dnsDatagram(exampleQuery, response: true)]
        for (index, frame) in frames.enumerated() {
            bytes += Build.pcapngPacket(frame, interface: UInt32(index % 2), ticks: UInt64(index))
        }
        let analysis = try Analysis(bytes, suffix: "pcapng")
        #expect(analysis.end == .finished)
        #expect(analysis.packets == frames.count)
        #expect(analysis.counters.tcpConversations == 1 && analysis.counters.udpConversations == 1)
        #expect(analysis.dnsMessages.count == 2)
        #expect(try JSONEncoder().encode(analysis.report).count > 0)
    }

    /// A SYN flood from distinct source ports and addresses: the tracker follows at most
    /// `maximumFlows` conversations at once, ends the idlest of a sample for each new one, counts
    /// them, and the report says so (flow_limit). NETSIFT_SYN_FLOOD=N runs it with N SYNs
    /// (scripts/syn-flood runs two million through the release build).
    @Test func synFloodStaysWithinMaxFlows() throws {
        let environment = ProcessInfo.processInfo.environment
        let count = environment["NETSIFT_SYN_FLOOD"].flatMap { Int($0) } ?? 100_000
        let maximumFlows = environment["NETSIFT_SYN_FLOOD_MAX_FLOWS"].flatMap { Int($0) } ?? 5_000
        // SYNs 2 µs apart (a 100,000-SYN flood lasts 0.2 s, well inside every idle timeout), from
        // 10.1.x.y:1024-65535 to 10.0.0.2:80, each with its own source port and address pair.
        let url = try Build.pcapFile(count: count) { index in
            let source = 0x0A01_0000 | UInt32(index / 64_512 & 0xFFFF)
            let port = UInt16(1024 + index % 64_512)
            let syn = Build.tcp(port, 80, seq: UInt32(truncatingIfNeeded: index), flags: Build.syn)
            let time = 2 * index
            return (Build.ethernet(0x0800, Build.ipv4(source, 0x0A00_0002, protocol: 6, syn)),
                    1_700_000_000 + UInt32(time / 1_000_000), UInt32(time % 1_000_000))
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let analysis = try Analysis(url, flowLimits: FlowLimits(maximumFlows: maximumFlows))
        #expect(analysis.packets == count)
        #expect(analysis.counters.tcpConversations == count)
        #expect(analysis.counters.peakActive == maximumFlows)
        #expect(analysis.counters.evicted == count - maximumFlows)
        let limit = try #require(analysis.finding(.flowLimit))
        #expect(limit.count == count - maximumFlows)
        #expect(limit.facts["peak_active"] == .int(maximumFlows))
        // Every SYN went unanswered, evicted or not: all count towards the server's finding.
        #expect(analysis.finding(.synUnanswered)?.count == count)
    }

    /// A scan: one SYN to each of 20,000 endpoints (10.2.x.y, ports 1-20,000), none answered. The
    /// detectors keep the first 1,000 servers apart and count the rest together under "(other
    /// endpoints)": the diagnosis stays bounded however many addresses a capture holds, and every
    /// attempt is still counted.
    @Test func scanOfManyEndpointsIsGroupedPastTheEndpointLimit() throws {
        let count = 20_000
        let url = try Build.pcapFile(count: count) { index in
            let syn = Build.tcp(40000, UInt16(1 + index), seq: 1, flags: Build.syn)
            let frame = Build.ethernet(0x0800, Build.ipv4(0x0A00_0001, 0x0A02_0000 | UInt32(index), protocol: 6, syn))
            return (frame, 1_700_000_000, UInt32(index))
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let analysis = try Analysis(url)
        let unanswered = analysis.findings.filter { $0.kind == .synUnanswered }
        #expect(unanswered.count == Finding.endpointLimit + 1)
        #expect(unanswered.reduce(0) { $0 + $1.count } == count)
        #expect(unanswered.first { $0.endpoint == Finding.otherEndpoints }?.count == count - Finding.endpointLimit)
        #expect(try JSONEncoder().encode(analysis.report).count < 4 << 20)
    }

    /// Fragments that never complete: 1,000 first fragments of distinct datagrams. At most 64 are
    /// held (each new one evicts the oldest), the held ones expire 30 s after their last
    /// fragment, a datagram of 65 fragments has its 65th refused; a fragmented query after them
    /// is still reassembled and parsed, and the report counts every limit (fragment_limit).
    @Test func fragmentsThatNeverCompleteAreBoundedAndCounted() throws {
        let client: UInt32 = 0x0A00_0001, server: UInt32 = 0x0A00_0002
        func fragment(_ id: UInt16, offset: Int, more: Bool, _ payload: [UInt8]) -> [UInt8] {
            Build.ethernet(0x0800, Build.ipv4(client, server, protocol: 17, identification: id, offset: offset,
                                              moreFragments: more, payload))
        }
        var records = Build.pcapHeader()
        // t = 0 s: the first 8 bytes of datagrams 1...1000, more to come that never comes.
        for id in 1...1000 {
            records += Build.pcapRecord(fragment(UInt16(id), offset: 0, more: true, [UInt8](repeating: 0, count: 8)),
                                        seconds: 1_700_000_000)
        }
        // t = 40 s: datagram 2000, a UDP DNS query in two fragments (the UDP header, then the
        // message). Its first fragment expires the 64 held since t = 0.
        let datagram = Build.udp(49152, 53, exampleQuery)
        records += Build.pcapRecord(fragment(2000, offset: 0, more: true, Array(datagram[0..<8])), seconds: 1_700_000_040)
        records += Build.pcapRecord(fragment(2000, offset: 8, more: false, Array(datagram[8...])), seconds: 1_700_000_040)
        // t = 41 s: datagram 3000 in 65 fragments of 8 bytes, all "more to come": the 65th is refused.
        for index in 0..<65 {
            records += Build.pcapRecord(fragment(3000, offset: index * 8, more: true, [UInt8](repeating: 0, count: 8)),
                                        seconds: 1_700_000_041)
        }
        let analysis = try Analysis(records)
        #expect(analysis.end == .finished)
        #expect(analysis.packets == 1000 + 2 + 65)
        #expect(analysis.fragments.datagramsEvicted == 1000 - 64)
        #expect(analysis.fragments.datagramsExpired == 64)
        #expect(analysis.fragments.fragmentsRefused == 1)
        #expect(analysis.fragments.datagramsReassembled == 1)
        #expect(analysis.dnsMessages.map(\.header.id) == [0x1234])
        let limit = try #require(analysis.finding(.fragmentLimit))
        #expect(limit.count == 936 + 64 + 1)
        #expect(limit.facts == ["datagrams_evicted": .int(936), "datagrams_expired": .int(64), "fragments_refused": .int(1)])
    }

    /// An IPv6 extension-header chain that never ends (17 destination-options headers, each
    /// naming another) is cut at 16 and reported (a malformed packet in the report); the next
    /// packet is analysed as usual.
    @Test func ipv6ExtensionChainThatNeverEnds() throws {
        // Destination Options (RFC 8200 §4.6): next header 60 (another one), length 0 (8 bytes),
        // then a PadN option of 4 bytes (type 1, length 4, zeros).
        let options = [UInt8]([60, 0, 1, 4, 0, 0, 0, 0])
        let chain = Array([[UInt8]](repeating: options, count: 17).joined())
        let endless = Build.ethernet(0x86DD, Build.ipv6(1, 2, nextHeader: 60, chain + Build.udp(49152, 53, exampleQuery)))
        let query = Build.ethernet(0x86DD, Build.ipv6(1, 2, nextHeader: 17, Build.udp(49152, 53, exampleQuery)))
        let analysis = try Analysis(pcap([endless, query]))
        #expect(analysis.problems[1] == DissectError(.ipv6Extension, .chainTooLong(limit: 16)))
        #expect(analysis.problems[2] == nil)
        #expect(analysis.dnsMessages.count == 1)
        let malformed = try #require(analysis.finding(.malformedPackets))
        #expect(malformed.frames == [1] && malformed.facts == ["layer IPv6 extension": .int(1)])
    }

    /// DNS compression that loops (a name pointing at itself) or chains 200 pointers deep: each
    /// name is marked and bounded, the message and the next one parsed.
    @Test func dnsCompressionLoopsAndDeepChains() throws {
        // A response with one question whose name is c00c: a pointer to itself (offset 12).
        let loop = Build.hex("2222 8180 0001 0000 0000 0000 c00c 0001 0001")
        // One question whose name is c012, a pointer to offset 18, just after the question; from
        // there 200 pointers each point at the next (offset 18 + 2i -> 20 + 2i), and the last at
        // 01 'a' 00. A 255-byte name needs at most 127 pointers: the walk stops there.
        var deep = Build.hex("3333 8180 0001 0000 0000 0000 c012 0001 0001")
        for index in 0..<200 { deep += Build.be16(0xC000 | UInt16(20 + 2 * index)) }
        deep += [1, 0x61, 0]
        let analysis = try Analysis(pcap([dnsDatagram(loop, response: true), dnsDatagram(deep, response: true),
                                          dnsDatagram(exampleQuery)]))
        let messages = analysis.dnsMessages
        #expect(messages.map(\.header.id) == [0x2222, 0x3333, 0x1234])
        #expect(messages.first?.questions.first?.name.fault == .compressionLoop)
        #expect(messages.dropFirst().first?.questions.first?.name.fault == .tooLong)
        #expect(messages.last?.questions.first?.name.text == "example.com")
    }

    /// TLS lengths past what holds them: a record longer than TLS allows (2^14 + 2048) after a
    /// ClientHello stops that direction; a handshake message declaring 16 MiB is skipped without
    /// being buffered and counted (parser_limit); another connection after them is parsed. (A
    /// connection whose first record is too long is not taken for TLS at all.)
    @Test func tlsLengthsPastTheRecord() throws {
        // Record: content type 22 (handshake), version 3.1, length 0xffff (over 18,432).
        let hugeRecord = Build.hex("16 0301 ffff") + [UInt8](repeating: 0, count: 64)
        // Record: handshake, 3.1, length 8; message ClientHello (1), length 0xffffff, 4 bytes of it.
        let hugeMessage = Build.hex("16 0301 0008 01 ffffff 0303 0000")
        // A minimal ClientHello (RFC 8446 §4.1.2) in one record of 47 bytes: type 1, length 43,
        // legacy_version 3.3, 32 random bytes, no session id, one suite (TLS_AES_128_GCM_SHA256,
        // 1301), one compression method (null), an empty extensions block.
        let hello = Build.hex("16 0301 002f 01 00002b 0303") + [UInt8](repeating: 0xAB, count: 32) + Build.hex("00 0002 1301 01 00 0000")
        let frames = Build.tcpConversation(clientPort: 40001, serverPort: 443, [(true, hello), (true, hugeRecord)])
            + Build.tcpConversation(clientPort: 40002, serverPort: 443, [(true, hugeMessage)])
            + Build.tcpConversation(clientPort: 40003, serverPort: 443, [(true, hello)])
        let analysis = try Analysis(pcap(frames))
        let messages = analysis.tlsMessages
        #expect(messages.contains(.problem(.recordTooLong(length: 0xFFFF))))
        #expect(messages.contains(.problem(.handshakeTooLong(type: 1, length: 0xFF_FFFF))))
        #expect(messages.filter { if case .clientHello(let h) = $0 { h.cipherSuites == [0x1301] } else { false } }.count == 2)
        #expect(analysis.finding(.parserLimit)?.facts == ["tls_handshake_messages_over_limit": .int(1)])
    }

    /// HTTP/2 frames longer than the 256 KiB buffer are reported at their header and skipped
    /// without being buffered (parser_limit): one declaring 16 MiB - 1, the most a frame header
    /// can say, of which the capture holds 100 bytes; one of 300,000 bytes, after which the
    /// connection's next frame is parsed.
    @Test func http2FramesWithHugeDeclaredLengths() throws {
        // The client preface (RFC 9113 §3.4) and an empty SETTINGS frame (length 0, type 4,
        // flags 0, stream 0); then a DATA frame (type 0) on stream 1: length, type, flags, stream.
        let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + Build.hex("000000 04 00 00000000")
        let endless = Build.hex("ffffff 00 00 00000001") + [UInt8](repeating: 0, count: 100)
        // 300,000 = 0x0493e0 bytes of DATA in five segments, then a PING (type 6, length 8, stream 0).
        let long = Build.hex("0493e0 00 00 00000001")
        var segments: [(fromClient: Bool, payload: [UInt8])] = [(true, preface), (true, long)]
        for _ in 0..<5 { segments.append((true, [UInt8](repeating: 0, count: 60_000))) }
        segments.append((true, Build.hex("000008 06 00 00000000 0102030405060708")))
        let analysis = try Analysis(pcap(Build.tcpConversation(clientPort: 40000, serverPort: 8080, [(true, preface), (true, endless)])
                                         + Build.tcpConversation(clientPort: 40001, serverPort: 8080, segments)))
        let events = analysis.http2Messages.map(\.message.event)
        #expect(events.contains(.problem(.frameNotBuffered(type: .data, streamID: 1, length: 0xFF_FFFF,
                                                            limit: HTTP2Connection.frameBufferLimit))))
        #expect(events.contains(.problem(.frameNotBuffered(type: .data, streamID: 1, length: 300_000,
                                                            limit: HTTP2Connection.frameBufferLimit))))
        #expect(events.contains { if case .frame(let record) = $0 { record.info.type == .ping } else { false } })
        #expect(analysis.finding(.parserLimit)?.facts["http2_frames_not_buffered"] == .int(2))
    }

    /// pcapng blocks whose length is 0, or runs past the end of the file: the packets before are
    /// analysed and the damage is a finding. The format gives no way to find the next block after
    /// a bad length, so reading stops there.
    @Test(arguments: [
        // A block of type 6 (EPB) and length 0.
        Build.hex("06000000 00000000 00000000"),
        // An EPB whose length says 1,024 bytes where 36 remain.
        Build.hex("06000000 00040000 00000000 00000000 00000000 04000000 04000000 01020304 24000000"),
    ])
    func pcapngBadBlockLengthAfterAPacket(block: [UInt8]) throws {
        let good = Build.pcapngSection() + Build.pcapngInterface()
            + Build.pcapngPacket(dnsDatagram(exampleQuery), ticks: 1_700_000_000_000_000)
        let analysis = try Analysis(good + block, suffix: "pcapng")
        guard case .damaged(let damage) = analysis.end else { Issue.record("expected damage, got \(analysis.end)"); return }
        #expect(damage.offset == good.count && damage.packetsRead == 1)
        #expect(analysis.dnsMessages.count == 1)
        #expect(analysis.finding(.captureDamaged)?.facts["reason"] == .string(damage.description))
    }
}
