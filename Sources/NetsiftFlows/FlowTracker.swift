import NetsiftDissect

/// What the tracker says about one TCP segment or UDP datagram: its conversation and, for TCP,
/// Wireshark's sequence analysis.
public struct TrackedPacket: Sendable, Equatable {
    public var transport: Transport
    /// The conversation's number, as tshark's `tcp.stream` / `udp.stream`.
    public var stream: Int
    /// Empty for UDP.
    public var flags: TCPAnalysisFlags
    /// For a duplicate ACK, as Wireshark numbers it: the frame of the ACK it repeats and which
    /// repetition it is (`[TCP Dup ACK 12#2]`); 0 otherwise.
    public var duplicateAckFrame = 0
    public var duplicateAckNumber = 0
    /// TCP: `tcp.analysis.ack_rtt` (ns; 0 when the segment acknowledges no segment's end) and
    /// `tcp.analysis.bytes_in_flight` (nil when Wireshark shows none).
    public var ackRTT: Int64 = 0
    public var bytesInFlight: Int?

    public init(transport: Transport = .tcp, stream: Int, flags: TCPAnalysisFlags = []) {
        self.transport = transport
        self.stream = stream
        self.flags = flags
    }
}

/// A conversation that is over: closed and quiet, idle past its limit, evicted to make room, or
/// still open when the capture ended.
public enum FinishedFlow: Decodable, Sendable {
    case tcp(TCPConversation)
    case udp(UDPConversation)
}

extension FinishedFlow {
    /// TCP before UDP, then by stream number.
    public var order: (Int, Int) {
        switch self {
        case .tcp(let c): (0, c.stream)
        case .udp(let c): (1, c.stream)
        }
    }
}

/// Which conversations a tracker follows when several trackers share one capture, each on its
/// own thread, each seeing every packet: those whose key hashes to `index` modulo `count`. The
/// high half of the hash is used, so a shard's keys still spread over its table's slots (which
/// take the low bits).
public struct FlowShard: Sendable, Equatable {
    public let index: Int
    public let count: Int

    public init(index: Int = 0, count: Int = 1) {
        precondition(count > 0 && (0..<count).contains(index), "shard \(index) of \(count)")
        self.index = index
        self.count = count
    }

    @inlinable @inline(__always)   // every packet, and usually one shard: no hash, no call
    public func owns(_ key: FlowKey) -> Bool {
        count == 1 || Int((key.hashValue64 >> 32) % UInt64(count)) == index
    }
}

/// How many flows the tracker followed, and what the limits cost.
public struct FlowCounters: Sendable, Equatable, Codable {
    public var tcpConversations = 0
    public var udpConversations = 0
    /// Conversations ended early because `maximumFlows` were active.
    public var evicted = 0
    /// The most conversations active at once.
    public var peakActive = 0
    /// Conversations whose reassembly dropped bytes at a limit.
    public var reassemblyOverflows = 0

    public init() {}

    /// Adds another shard's counts (threads, or shard outputs): all but `peakActive`, which only
    /// the merged order of events tells.
    public mutating func add(_ other: FlowCounters) {
        tcpConversations += other.tcpConversations
        udpConversations += other.udpConversations
        evicted += other.evicted
        reassemblyOverflows += other.reassemblyOverflows
    }
}

/// Follows every TCP and UDP conversation: finds its entry through an open-addressing index,
/// numbers it as tshark does (`tcp.stream`, `udp.stream`), negotiates window scaling from the
/// handshake, runs Wireshark's sequence analysis on each segment, and hands the reassembled streams
/// of the conversations whose protocol we parse to their application parsers. DNS over UDP goes
/// straight to its parser. Conversations that are over are handed to the caller through `drain`;
/// only active ones are kept.
public struct FlowTracker {
    var tcp = FlowTable<TCPConversation>()
    /// TCP conversations that have only begun (a SYN, its answers): kept compact until they prove real.
    var requests = FlowTable<TCPRequest>()
    var udp = FlowTable<UDPConversation>()
    /// UDP conversations of one datagram so far: kept compact until a second one comes.
    var datagrams = FlowTable<LoneDatagram>()
    @usableFromInline var finished: [FinishedFlow] = []
    public let decodeAs: DecodeAs
    public let reassemblyLimits: ReassemblyLimits
    public let flowLimits: FlowLimits
    /// Out-of-order bytes all conversations hold now.
    public private(set) var heldBytes = 0
    public private(set) var counters = FlowCounters()
    /// Capture time of the last sweep for idle flows (one a second of capture time).
    var lastSweep: Int64 = .min
    /// The conversations this tracker follows when several share a capture (one per thread).
    public let shard: FlowShard

    public init(decodeAs: DecodeAs = DecodeAs(), reassemblyLimits: ReassemblyLimits = ReassemblyLimits(),
                flowLimits: FlowLimits = FlowLimits(), shard: FlowShard = FlowShard()) {
        self.decodeAs = decodeAs
        self.reassemblyLimits = reassemblyLimits
        self.flowLimits = flowLimits
        self.shard = shard
        tcp = FlowTable(reservation: flowLimits.maximumFlows)
        requests = FlowTable(reservation: flowLimits.maximumFlows)
        udp = FlowTable(reservation: flowLimits.maximumFlows)
        datagrams = FlowTable(reservation: flowLimits.maximumFlows)
    }

    /// The conversations active now (a list of them all: for tests and small captures).
    public var activeTCP: [TCPConversation] {
        var all: [TCPConversation] = []
        forEachActiveTCP { all.append($0) }
        return all
    }

    /// Each TCP conversation active now, one at a time (the requests replayed as they come, never
    /// gathered: a flood holds `maximumFlows` of them).
    public func forEachActiveTCP(_ body: (TCPConversation) -> Void) {
        for conversation in tcp.entries { body(conversation) }
        for request in requests.entries { body(request.replayed(decodeAs: decodeAs, limits: reassemblyLimits)) }
    }

    /// How many conversations are active now.
    public var activeCount: Int { tcp.count + requests.count + udp.count + datagrams.count }

    /// Each UDP conversation active now, one at a time (lone datagrams replayed as they come).
    public func forEachActiveUDP(_ body: (UDPConversation) -> Void) {
        for conversation in udp.entries { body(conversation) }
        for datagram in datagrams.entries { body(datagram.replayed(decodeAs: decodeAs)) }
    }

    /// Tracks one packet. `bytes` are the bytes the summary's ranges refer to; application messages
    /// found in the packet go to `events`. Returns the packet's conversation and TCP analysis, or nil
    /// when it has no TCP or UDP header (or another shard's tracker follows its conversation). The summary is only read: it is `inout` here and below so that it is used where
    /// the dissector left it, never copied (see `Dissector.dissect`).
    public mutating func track(_ s: inout PacketSummary, bytes: RawSpan, frame: Int, time: Int64, wireLength: Int,
                               events: (ApplicationEvent) -> Void) -> TrackedPacket? {
        advance(to: time)
        if s.layers.contains(.udp) && !s.transportHeader.isEmpty {
            return trackDatagram(&s, bytes: bytes, frame: frame, time: time, wireLength: wireLength, events: events)
        }
        if let quoted = s.embedded, quoted.ipProtocol == 6 {
            noteICMPError(about: quoted, mtu: s.icmpMTU, tunnel: Self.tunnelKey(&s), frame: frame)
            return nil
        }
        guard s.layers.contains(.tcp), !s.transportHeader.isEmpty else { return nil }
        let source = Endpoint(address: s.source, port: s.sourcePort)
        let destination = Endpoint(address: s.destination, port: s.destinationPort)
        let (key, _) = FlowKey.make(source: source, destination: destination, ipProtocol: 6,
                                    tunnel: Self.tunnelKey(&s))
        guard shard.owns(key) else { return nil }
        let syn = s.tcpFlags.contains(.syn), ack = s.tcpFlags.contains(.ack)
        let fromLow = source == key.low

        // A key is in one table or the other: the full conversations, followed at every packet, first.
        var position = tcp.find(key)
        if position == nil, let request = requests.find(key) {
            // A request answered: followed in full (replayed), and kept compact while it can be.
            let bare = BareSegment(&s, frame: frame, after: requests.entries[request].firstFrame, time: time,
                                   wireLength: wireLength, fromLow: fromLow)
            var conversation = requests.entries[request].replayed(decodeAs: decodeAs, limits: reassemblyLimits)
            if !(syn && !ack) {
                let (result, change) = conversation.follow(&s, bytes: bytes, from: source, frame: frame, time: time,
                                                           wireLength: wireLength, reusedPorts: false, decodeAs: decodeAs,
                                                           limits: reassemblyLimits, heldBytes: heldBytes, events: events)
                account(held: change, overflowedBefore: false, overflowed: conversation.reassemblyOverflowed)
                if let bare, requests.entries[request].keep(bare, after: conversation) { return result }
                requests.remove(at: request)
                _ = tcp.insert(conversation)
                return result
            }
            // A new SYN: the full conversation decides whether it reuses the ports.
            requests.remove(at: request)
            position = tcp.insert(conversation)
        }

        var reused = false
        if let existing = position, syn && !ack {
            // A SYN with a new initial sequence number on a known port pair: the ports were
            // reused for a new connection, which gets a new stream number; the old one is over.
            let me = tcp.entries[existing].side(of: source)   // read in place: a conversation is large
            if tcp.entries[existing][me].analysis.hasBaseSeq && tcp.entries[existing][me].analysis.baseSeq != s.sequenceNumber {
                heldBytes += tcp.entries[existing].releaseStreams()
                finished.append(.tcp(tcp.remove(at: existing)))
                position = nil
                reused = true
            }
        }
        if position == nil {
            if tcp.count + requests.count >= flowLimits.maximumFlows { evictTCP() }
            let stream = counters.tcpConversations
            counters.tcpConversations += 1
            defer { counters.peakActive = max(counters.peakActive, activeCount) }
            // A bare SYN opens a request: its analysis is empty (a first segment with SYN set
            // raises none of Wireshark's flags), so nothing more is needed until an answer comes.
            if syn && !ack && !s.tcpFlags.contains(.rst) && !s.tcpFlags.contains(.fin),
               let bare = BareSegment(&s, frame: frame, after: frame, time: time, wireLength: wireLength, fromLow: fromLow) {
                _ = requests.insert(TCPRequest(stream: stream, key: key, first: bare, firstFrame: frame, reusedPorts: reused))
                return TrackedPacket(stream: stream, flags: reused ? .reusedPorts : [])
            }
            var conversation = TCPConversation(stream: stream, key: key, first: source,
                                               second: destination, frame: frame, time: time)
            conversation.tunnel = s.encapsulation.map(FlowTunnel.init)
            position = tcp.insert(conversation)
        }
        let number = position!
        let overflowedBefore = tcp.entries[number].reassemblyOverflowed
        let (result, change) = tcp.entries[number].follow(&s, bytes: bytes, from: source, frame: frame, time: time,
                                                          wireLength: wireLength, reusedPorts: reused, decodeAs: decodeAs,
                                                          limits: reassemblyLimits, heldBytes: heldBytes, events: events)
        account(held: change, overflowedBefore: overflowedBefore, overflowed: tcp.entries[number].reassemblyOverflowed)
        return result
    }

    /// What following a segment did to reassembly: `change` held bytes, and whether its
    /// conversation's reassembly overflowed for the first time.
    mutating func account(held change: Int, overflowedBefore: Bool, overflowed: Bool) {
        heldBytes += change
        if !overflowedBefore && overflowed { counters.reassemblyOverflows += 1 }
    }

    /// The key of the tunnel around a packet. Most packets have none, and then only the optional's
    /// tag is read: copying the whole `encapsulation` out of a summary the dissector has just
    /// written field by field stalls on store forwarding (12% of a small-packet run).
    @inline(__always)
    static func tunnelKey(_ s: inout PacketSummary) -> TunnelKey {
        s.encapsulation?.depth == nil ? .none : TunnelKey(s.encapsulation)
    }

    /// An ICMP error quoting a TCP segment: counted on the conversation it is about.
    mutating func noteICMPError(about quoted: EmbeddedFlow, mtu: UInt32?, tunnel: TunnelKey, frame: Int) {
        let (key, _) = FlowKey.make(source: Endpoint(address: quoted.source, port: quoted.sourcePort),
                                    destination: Endpoint(address: quoted.destination, port: quoted.destinationPort),
                                    ipProtocol: 6, tunnel: tunnel)
        if let request = requests.find(key) { promote(request) }
        guard let position = tcp.find(key) else { return }
        tcp.entries[position].icmpErrors += 1
        if tcp.entries[position].firstICMPFrame == nil { tcp.entries[position].firstICMPFrame = frame }
        if let mtu { tcp.entries[position].icmpMTU = min(mtu, tcp.entries[position].icmpMTU ?? mtu) }
    }

    /// Capture time is now `time`: the conversations idle past their limits are ended (checked
    /// once a second of capture time). `track` does this for every packet; a tracker that skips a
    /// packet another tracker follows calls it instead, so that all end flows at the same packets.
    public mutating func advance(to time: Int64) {
        // Time going back only moves the clock back (no flow becomes idle by it): sweeping then
        // would make every packet of a capture whose timestamps decrease walk every flow; and the
        // difference must not wrap near Int64's ends.
        let (elapsed, overflow) = time.subtractingReportingOverflow(lastSweep)
        if time < lastSweep {
            lastSweep = time
        } else if overflow || elapsed >= 1_000_000_000 {
            sweep(now: time)
        }
    }

    /// Hands out the conversations that are over. Those that ended at the same packet come TCP
    /// first, then in stream order: an order that does not depend on where they sat in the table,
    /// so trackers sharing a capture hand them out as one tracker would.
    @inlinable
    public mutating func drain(_ body: (FinishedFlow) -> Void) {
        if !finished.isEmpty { drainFinished(body) }   // inlined: called for every packet
    }

    @usableFromInline
    mutating func drainFinished(_ body: (FinishedFlow) -> Void) {
        if finished.count > 1 { finished.sort { $0.order < $1.order } }
        for flow in finished { body(flow) }
        finished.removeAll(keepingCapacity: true)
    }

    /// The capture ended: every conversation still active is over too. They are handed out one at
    /// a time in `drain`'s order, never gathered into one list: a flood leaves `maximumFlows` of
    /// them, and a list of finished conversations is some 2 kB each.
    public mutating func finish(_ body: (FinishedFlow) -> Void) {
        enum Place { case finished(Int), tcp(Int), request(Int), udp(Int), datagram(Int) }
        var order: [(key: (Int, Int), place: Place)] = []
        order.reserveCapacity(finished.count + activeCount)
        for (i, flow) in finished.enumerated() { order.append((flow.order, .finished(i))) }
        for (i, c) in tcp.entries.enumerated() { order.append(((0, c.stream), .tcp(i))) }
        for (i, r) in requests.entries.enumerated() { order.append(((0, r.stream), .request(i))) }
        for (i, c) in udp.entries.enumerated() { order.append(((1, c.stream), .udp(i))) }
        for (i, d) in datagrams.entries.enumerated() { order.append(((1, d.stream), .datagram(i))) }
        order.sort { $0.key < $1.key }
        for (_, place) in order {
            switch place {
            case .finished(let i): body(finished[i])
            case .tcp(let i):
                var conversation = tcp.entries[i]
                heldBytes += conversation.releaseStreams()
                body(.tcp(conversation))
            case .request(let i): body(.tcp(requests.entries[i].replayed(decodeAs: decodeAs, limits: reassemblyLimits)))
            case .udp(let i): body(.udp(udp.entries[i]))
            case .datagram(let i): body(.udp(datagrams.entries[i].replayed(decodeAs: decodeAs)))
            }
        }
        finished.removeAll()
        tcp = FlowTable(reservation: flowLimits.maximumFlows)
        requests = FlowTable(reservation: flowLimits.maximumFlows)
        udp = FlowTable(reservation: flowLimits.maximumFlows)
        datagrams = FlowTable(reservation: flowLimits.maximumFlows)
    }

    /// Ends the conversations idle past their limits.
    mutating func sweep(now: Int64) {
        lastSweep = now
        var ended: [FinishedFlow] = []
        var released = 0
        tcp.expire(now: now, limits: flowLimits) { conversation in
            var conversation = conversation
            released += conversation.releaseStreams()
            ended.append(.tcp(conversation))
        }
        requests.expire(now: now, limits: flowLimits) {
            ended.append(.tcp($0.replayed(decodeAs: decodeAs, limits: reassemblyLimits)))
        }
        udp.expire(now: now, limits: flowLimits) { ended.append(.udp($0)) }
        datagrams.expire(now: now, limits: flowLimits) { ended.append(.udp($0.replayed(decodeAs: decodeAs))) }
        heldBytes += released
        finished += ended
    }

    /// The request at `position` becomes a full conversation.
    mutating func promote(_ position: Int) {
        let conversation = requests.remove(at: position).replayed(decodeAs: decodeAs, limits: reassemblyLimits)
        _ = tcp.insert(conversation)
    }

    /// Makes room for one more TCP conversation by ending the idlest of a sample: of the requests
    /// while there are any (a kernel drops half-open requests first), so that a flood of SYNs does
    /// not push out the conversations that are real.
    mutating func evictTCP() {
        if requests.count > 0 {
            // Replayed straight into the list (a request holds no bytes to release).
            requests.evictIdlest { finished.append(.tcp($0.replayed(decodeAs: decodeAs, limits: reassemblyLimits))) }
        } else {
            var released = 0
            tcp.evictIdlest { conversation in
                var conversation = conversation
                released = conversation.releaseStreams()
                finished.append(.tcp(conversation))
            }
            heldBytes += released
        }
        counters.evicted += 1
    }

    /// Makes room for one more UDP conversation: of those with one datagram while there are any.
    mutating func evictUDP() {
        if datagrams.count > 0 {
            datagrams.evictIdlest { finished.append(.udp($0.replayed(decodeAs: decodeAs))) }
        } else {
            udp.evictIdlest { finished.append(.udp($0)) }
        }
        counters.evicted += 1
    }


    /// A UDP datagram: its conversation, and DNS (by port or decode-as rule), one message per datagram.
    mutating func trackDatagram(_ s: inout PacketSummary, bytes: RawSpan, frame: Int, time: Int64, wireLength: Int,
                                events: (ApplicationEvent) -> Void) -> TrackedPacket? {
        let source = Endpoint(address: s.source, port: s.sourcePort)
        let destination = Endpoint(address: s.destination, port: s.destinationPort)
        let (key, _) = FlowKey.make(source: source, destination: destination, ipProtocol: 17,
                                    tunnel: Self.tunnelKey(&s))
        guard shard.owns(key) else { return nil }
        var position = udp.find(key)
        if position == nil, let lone = datagrams.find(key) {
            // A second datagram: the conversation takes its full form.
            position = udp.insert(datagrams.remove(at: lone).replayed(decodeAs: decodeAs))
        }
        let stream: Int, fromOriginator: Bool, proto: ApplicationProtocol?
        if let number = position {
            fromOriginator = udp.entries[number].add(from: source, frame: frame, time: time, wireLength: wireLength,
                                                     payload: s.payloadWireLength)
            stream = udp.entries[number].stream
            let parsedAs = udp.entries[number].parsedAs
            proto = fromOriginator ? parsedAs.fromFirst : parsedAs.fromSecond
            if let proto { udp.entries[number].application = proto }
        } else {
            if udp.count + datagrams.count >= flowLimits.maximumFlows { evictUDP() }
            stream = counters.udpConversations
            counters.udpConversations += 1
            fromOriginator = true
            if let lone = LoneDatagram(&s, key: key, stream: stream, frame: frame, time: time, wireLength: wireLength,
                                       fromLow: source == key.low) {
                _ = datagrams.insert(lone)
                proto = decodeAs.udpProtocol(source: source.port, destination: destination.port)
            } else {
                var conversation = UDPConversation(stream: stream, key: key, from: source, to: destination, frame: frame,
                                                   time: time, wireLength: wireLength, payload: s.payloadWireLength,
                                                   decodeAs: decodeAs)
                conversation.tunnel = s.encapsulation.map(FlowTunnel.init)
                proto = conversation.parsedAs.fromFirst
                _ = udp.insert(conversation)
            }
            counters.peakActive = max(counters.peakActive, activeCount)
        }
        let tracked = TrackedPacket(transport: .udp, stream: stream)
        guard let proto else { return tracked }
        let context = ApplicationContext(frame: frame, time: time, transport: .udp, stream: stream,
                                         source: source, destination: destination, fromClient: fromOriginator)
        // The protocol parsers plug in here (DNS over UDP: one message per datagram).
        switch proto {
        case .dns:
            // An empty datagram holds no message (Wireshark hands it to no dissector either).
            guard s.payloadWireLength > 0 else { return tracked }
            let flavor = DNSFlavor(sourcePort: s.sourcePort, destinationPort: s.destinationPort) ?? .dns
            let message = DNSMessage(bytes.extracting(s.payload), wireLength: s.payloadWireLength, flavor: flavor)
            events(ApplicationEvent(context: context, message: .dns(message)))
        case .tls, .http2, .http1:
            _ = (context, bytes.extracting(s.payload), events)
        }
        return tracked
    }
}

extension TCPConversation {
    /// One segment of this conversation, as the tracker follows every one: tunnel costs, the
    /// analysis, the reuse of its ports (for the first segment of a conversation that reuses
    /// them), reassembly. Returns the segment's analysis and the change in held out-of-order bytes.
    mutating func follow(_ s: inout PacketSummary, bytes: RawSpan, from source: Endpoint, frame: Int, time: Int64,
                         wireLength: Int, reusedPorts: Bool, decodeAs: DecodeAs, limits: ReassemblyLimits,
                         heldBytes: Int, events: (ApplicationEvent) -> Void) -> (TrackedPacket, Int) {
        if let tunnels = s.encapsulation { noteTunnel(tunnels, innerLength: s.ipLength) }
        var result = add(&s, from: source, frame: frame, time: time, wireLength: wireLength)
        if reusedPorts {
            result.flags.insert(.reusedPorts)
            countFlags(.reusedPorts)
        }
        guard reassembling else { return (result, 0) }
        let change = reassemble(&s, bytes: bytes, from: source, frame: frame, time: time, decodeAs: decodeAs,
                                limits: limits, heldBytes: heldBytes, events: events)
        return (result, change)
    }

    /// A packet of this conversation came through tunnels: what they cost it in bytes.
    mutating func noteTunnel(_ tunnels: Encapsulation, innerLength: Int) {
        largestInnerPacket = max(largestInnerPacket, innerLength)
        if tunnels.underlayFragmented {
            underlayFragmentedPackets += 1
        } else if tunnels.underlayIPLength > innerLength {
            tunnelOverhead = max(tunnelOverhead, tunnels.underlayIPLength - innerLength)
        }
    }

    /// Puts the segment's payload in sequence order and feeds it to the application parsers,
    /// deciding the protocol at the first payload. Returns the change in held out-of-order bytes.
    mutating func reassemble(_ s: inout PacketSummary, bytes: RawSpan, from source: Endpoint, frame: Int, time: Int64,
                             decodeAs: DecodeAs, limits: ReassemblyLimits, heldBytes: Int,
                             events: (ApplicationEvent) -> Void) -> Int {
        let me = side(of: source), peer = 1 - me
        let fromClient = me == clientSide
        let context = ApplicationContext(frame: frame, time: time, transport: .tcp, stream: stream, source: source,
                                         destination: self[peer].endpoint, fromClient: fromClient)
        // Moved out (a swap moves; `var parsers = application` copied, retaining every buffer the
        // parsers hold), so `parsers` is the only copy: no copy-on-write of parser state.
        var parsers = ApplicationParsers.unparsed
        swap(&parsers, &application)
        var detected: ApplicationProtocol?
        // Everything the parsers say goes to the caller; the conversation keeps the TLS server name.
        // (Closures written out where they are passed: a nested function capturing `serverName`
        // and captured in turn by the closures below made the compiler box it, an allocation on
        // every call.)
        var serverName = self.serverName
        var change = 0
        let ports = (self[0].endpoint.port, self[1].endpoint.port)
        // The reassemblers are changed in place (`self[side].stream`): a copy would share the held
        // segments, and the next change to them would copy the whole list.
        // The peer's ACK tells this side's reassembler which holes will never fill.
        if s.tcpFlags.contains(.ack) {
            let peerContext = ApplicationContext(frame: frame, time: time, transport: .tcp, stream: stream,
                                                 source: self[peer].endpoint, destination: source, fromClient: !fromClient)
            change += self[peer].stream.acknowledged(s.acknowledgmentNumber) { chunk in
                parsers.consume(chunk, context: peerContext) { event in
                    Self.keepServerName(event, in: &serverName)
                    events(event)
                }
            }
        }
        let budget = min(limits.bytesPerDirection,
                         self[me].stream.pendingBytes + max(0, limits.totalBytes - heldBytes - change))
        change += self[me].stream.add(seq: s.sequenceNumber, syn: s.tcpFlags.contains(.syn), fin: s.tcpFlags.contains(.fin),
                             payload: bytes.extracting(s.payload),
                             wireLength: s.payloadWireLength, budget: budget) { chunk in
            if case .undecided = parsers, let chunk {
                guard let proto = ApplicationParsers.detect(ports: ports, firstBytes: chunk, decodeAs: decodeAs) else {
                    parsers = .unparsed
                    return
                }
                parsers = ApplicationParsers.start(proto, ports: ports)
                detected = proto
            }
            parsers.consume(chunk, context: context) { event in
                Self.keepServerName(event, in: &serverName)
                events(event)
            }
        }
        let wantsBytes = parsers.wantsBytes
        if s.tcpFlags.contains(.rst) || !wantsBytes {
            // Reset, or nothing to parse: what is held will never be read.
            change += self[me].stream.reset()
            change += self[peer].stream.reset()
        }
        swap(&parsers, &application)
        reassembling = wantsBytes
        if let detected { applicationProtocol = detected }
        self.serverName = serverName
        return change
    }

    /// The first ClientHello's server name (SNI) is the conversation's.
    static func keepServerName(_ event: ApplicationEvent, in serverName: inout String?) {
        if serverName == nil, case .tls(.clientHello(let hello)) = event.message { serverName = hello.serverName }
    }

    /// Adds one segment from `source`: handshake facts, per-side counters, and the analysis.
    mutating func add(_ s: inout PacketSummary, from source: Endpoint, frame: Int, time: Int64,
                      wireLength: Int) -> TrackedPacket {
        let me = side(of: source), peer = 1 - me
        let flags = s.tcpFlags
        let syn = flags.contains(.syn), ack = flags.contains(.ack)
        if sides.0.packets + sides.1.packets == 0 {
            // Zeek's originator: a SYN/ACK seen first means its receiver opened the conversation.
            originator = syn && ack ? peer : me
            if syn && ack { historyRecorder.flipped() }
        }
        lastFrame = frame
        last = max(last, time)   // a timestamp that jumps back must not make the flow look idle
        if syn && !ack {
            if client == nil { client = me }
            synTime = time
        } else if !syn, ack, handshakeRTT == 0, client == me, self[peer].sentSYNACK {
            handshakeRTT = max(1, time &- synTime)   // wrapping: timestamps are the capture's word
        }
        // The sides are changed in place: a copy would share their arrays, and the next append
        // would then copy the array (an allocation per packet).
        let fromClient = me == clientSide
        let result = me == 0
            ? Self.add(&s, frame: frame, time: time, wireLength: wireLength, handshakeRTT: handshakeRTT, start: start,
                       fromClient: fromClient, sender: &sides.0, receiver: &sides.1, responses: &responseTimes)
            : Self.add(&s, frame: frame, time: time, wireLength: wireLength, handshakeRTT: handshakeRTT, start: start,
                       fromClient: fromClient, sender: &sides.1, receiver: &sides.0, responses: &responseTimes)
        let analysis = result.flags
        historyRecorder.record(fromOriginator: me == originator, flags: flags, seq: s.sequenceNumber,
                               payload: s.payloadWireLength, window: s.windowSize, analysis: analysis)
        countFlags(analysis)
        var tracked = TrackedPacket(stream: stream, flags: analysis)
        tracked.ackRTT = result.ackRTT
        tracked.bytesInFlight = result.bytesInFlight
        if analysis.contains(.duplicateAck) {
            tracked.duplicateAckFrame = self[me].lastNonDuplicateAckFrame
            tracked.duplicateAckNumber = self[me].analysis.duplicateAcks
        }
        return tracked
    }

    /// One segment's effect on the side that sent it and the side it went to: counters, handshake
    /// options, close facts, Wireshark's analysis, Zeek's endpoint states.
    static func add(_ s: inout PacketSummary, frame: Int, time: Int64, wireLength: Int, handshakeRTT: Int64,
                    start: Int64, fromClient: Bool, sender: inout TCPSide, receiver: inout TCPSide,
                    responses: inout ResponseTimes) -> TCPSegmentAnalysis {
        let flags = s.tcpFlags
        let syn = flags.contains(.syn), ack = flags.contains(.ack)
        sender.packets += 1
        sender.bytes += wireLength
        sender.payloadBytes += s.payloadWireLength
        if s.payloadWireLength > 0 {
            sender.dataSegments += 1
            if let peerMSS = receiver.synMSS, s.payloadWireLength > Int(peerMSS) {
                sender.segmentsAbovePeerMSS += 1
                if sender.firstSegmentAbovePeerMSS == nil { sender.firstSegmentAbovePeerMSS = frame }
            }
        }
        if syn {
            sender.synCount += 1
            if let mss = s.tcpOptions.mss {
                if sender.synMSS == nil { sender.synMSS = mss }
            }
            sender.sackPermitted = sender.sackPermitted || s.tcpOptions.sackPermitted
            sender.timestamps = sender.timestamps || s.tcpOptions.timestampValue != nil
            if let shift = s.tcpOptions.windowScale { sender.windowScaleShift = shift }
            // Window scaling (RFC 7323 §2.2): each SYN says whether its sender scales; scaling is
            // on only if both SYNs carried the option. Shifts above 14 count as 14.
            sender.analysis.windowScale = s.tcpOptions.windowScale.map { Int8(min($0, 14)) } ?? TCPDirectionState.noScale
            if ack {
                sender.sentSYNACK = true
                if sender.analysis.windowScale == TCPDirectionState.noScale
                    || receiver.analysis.windowScale == TCPDirectionState.noScale {
                    sender.analysis.windowScale = TCPDirectionState.noScale
                    receiver.analysis.windowScale = TCPDirectionState.noScale
                }
            } else {
                sender.sentSYN = true
            }
        }
        if flags.contains(.fin) && !sender.sentFIN {
            sender.sentFIN = true
            sender.firstFINTime = time
            sender.finEnd = s.sequenceNumber &+ UInt32(truncatingIfNeeded: s.payloadWireLength) &+ 1
        }
        // The other side's FIN is acknowledged: from now on this side holds a half-closed socket
        // (CLOSE_WAIT) until it sends its own FIN.
        if ack, let finEnd = receiver.finEnd, receiver.finAckedTime == nil,
           !seqLess(s.acknowledgmentNumber, finEnd) {
            receiver.finAckedTime = time
        }
        if flags.contains(.rst) && !sender.sentRST {
            sender.sentRST = true
            sender.firstRSTTime = time
        }

        let previousAck = sender.analysis.hasLastAck ? sender.analysis.lastAck : 0
        // Where each direction's data had reached, to size what the capture missed.
        let expectedSeq = sender.analysis.nextSeq, peerExpectedSeq = receiver.analysis.nextSeq
        let segment = TCPSegment(seq: s.sequenceNumber, ack: s.acknowledgmentNumber, flags: flags,
                                 window: s.windowSize, length: s.payloadWireLength, time: time,
                                 sackedBytes: s.tcpOptions.sackedBytes(firstBlocks: 3))
        let wasIdle = sender.analysis.unacked.isEmpty, peerHadUnacked = !receiver.analysis.unacked.isEmpty
        let result = TCPAnalyzer.analyze(segment, forward: &sender.analysis, reverse: &receiver.analysis,
                                         handshakeRTT: handshakeRTT)
        let analysis = result.flags
        if peerHadUnacked && receiver.analysis.unacked.isEmpty { receiver.transfer.allAckedTime = time }
        TCPConversation.measure(&s, result, time: time, start: start, handshakeRTT: handshakeRTT, wasIdle: wasIdle,
                                fromClient: fromClient, sender: &sender, receiver: &receiver, responses: &responses)
        // Data retransmissions (a repeated SYN or FIN is the handshake's or the close's business).
        if analysis.contains(.retransmission) && s.payloadWireLength > 0 {
            sender.retransmittedBytes += s.payloadWireLength
            sender.retransmissions += 1
            sender.countRetransmissionBurst(at: time)
            if analysis.contains(.fastRetransmission) { sender.fastRetransmissions += 1 }
            if analysis.contains(.spuriousRetransmission) { sender.spuriousRetransmissions += 1 }
            if sender.retransmissionFrames.count < 8 { sender.retransmissionFrames.append(frame) }
            let byTimeout = !analysis.contains(.fastRetransmission) && !analysis.contains(.spuriousRetransmission)
            if s.payloadWireLength > sender.analysis.largestAcked {
                sender.oversizeRetransmissions += 1
                if byTimeout { sender.oversizeTimeoutRetransmissions += 1 }
                sender.largestUnacknowledgedRetransmission = max(sender.largestUnacknowledgedRetransmission,
                                                                 s.payloadWireLength)
            }
            if byTimeout {
                sender.stall.retransmitted(seq: s.sequenceNumber, length: s.payloadWireLength, frame: frame, time: time)
            }
        }
        if analysis.contains(.lostSegment) {
            sender.noteNotCaptured(from: expectedSeq, to: s.sequenceNumber, frame: frame)
        }
        if analysis.contains(.ackedUnseenSegment) {
            receiver.noteNotCaptured(from: peerExpectedSeq, to: s.acknowledgmentNumber, frame: frame)
        }
        // Wireshark's reference frame for duplicate ACKs moves with the acknowledgment number
        // (its last ACK starts at 0, so a first ACK of 0 moves nothing).
        if s.acknowledgmentNumber != previousAck {
            sender.lastNonDuplicateAckFrame = frame
            if ack { sender.lastAckAdvanceTime = time }
        }
        if analysis.contains(.outOfOrder) && s.payloadWireLength > 0 { sender.outOfOrderSegments += 1 }
        if analysis.contains(.zeroWindow) {
            sender.zeroWindows += 1
            if sender.firstZeroWindowFrame == nil { sender.firstZeroWindowFrame = frame }
        }
        if analysis.contains(.windowFull) {
            sender.windowFulls += 1
            if sender.firstWindowFullFrame == nil { sender.firstWindowFullFrame = frame }
        }
        updateEndpointStates(flags, sender: &sender.state, receiver: &receiver.state)
        return result
    }
}

extension TCPConversation {
    /// Zeek's endpoint transitions: SYN → SYN sent, SYN/ACK → SYN/ACK sent, the handshake's ACK
    /// establishes both, a FIN closes its sender, a RST resets it; a first packet that is none of
    /// these finds its sender in the middle of things (partial).
    static func updateEndpointStates(_ flags: TCPFlags, sender: inout EndpointState, receiver: inout EndpointState) {
        if flags.contains(.rst) {
            sender = .reset
        } else if flags.contains(.syn) {
            if flags.contains(.ack) {
                if sender == .inactive || sender == .synSent || sender == .partial { sender = .synAckSent }
            } else if sender == .inactive || sender == .partial || sender == .closed {
                sender = .synSent
            }
            if flags.contains(.fin) { sender = .closed }
        } else {
            if flags.contains(.ack) && (sender == .synSent || sender == .synAckSent) {
                sender = .established
                if receiver == .synSent || receiver == .synAckSent { receiver = .established }
            } else if sender == .inactive {
                sender = .partial
            }
            if flags.contains(.fin) && sender != .reset { sender = .closed }
        }
    }
}
