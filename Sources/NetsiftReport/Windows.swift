import NetsiftDissect
import NetsiftFlows

/// Receive-window stalls: a receiver announcing a zero window (its application does not read fast
/// enough) and senders filling the receiver's whole window (the window, not the network, limits
/// throughput). Grouped by the receiver: its service when it serves, its host when it is the client
/// side (one client stalling its senders over dozens of ephemeral ports is one finding).
struct WindowDetector {
    var zero: [String: EndpointGroup] = [:]
    var full: [String: EndpointGroup] = [:]

    mutating func add(_ c: TCPConversation) {
        for me in 0...1 {
            let side = c[me], peer = c[1 - me]
            if side.zeroWindows > 0 {
                zero[zero.bounded(c.subject(me)), default: EndpointGroup()].add(
                    c, peer: peer.endpoint, frames: side.firstZeroWindowFrame.map { [$0] } ?? [], value: side.zeroWindows)
            }
            if side.windowFulls > 0 {
                full[full.bounded(c.subject(1 - me)), default: EndpointGroup()].add(
                    c, peer: side.endpoint, frames: side.firstWindowFullFrame.map { [$0] } ?? [], value: side.windowFulls)
            }
        }
    }

    func findings() -> [Finding] {
        zero.map { receiver, g in
            Finding(kind: .zeroWindow, severity: .warning, endpoint: receiver, peers: g.peers, count: g.total,
                    countUnit: "zero-window segments", flows: g.flows, frames: g.frames,
                    facts: ["conversations": .int(g.count)],
                    summary: "\(receiver) announced a zero receive window \(plural(g.total, "time")) in \(plural(g.count, "conversation")), stalling its senders.",
                    explanation: "A zero window means the receiver's buffer is full: the sender must stop until the application reads.",
                    likelyCause: "The application on \(host(receiver)) reads too slowly (CPU-bound, blocked on disk or a lock, a slow consumer).",
                    nextStep: "Look at the receiving process on \(host(receiver)): CPU, I/O wait, `ss -tmi` (Recv-Q); consider larger buffers only after the reader is fixed.")
        } + full.map { receiver, g in
            Finding(kind: .windowFull, severity: .info, endpoint: receiver, peers: g.peers, count: g.total,
                    countUnit: "segments", flows: g.flows, frames: g.frames,
                    facts: ["conversations": .int(g.count)],
                    summary: "Senders filled \(receiver)'s receive window \(plural(g.total, "time")) in \(plural(g.count, "conversation")).",
                    explanation: "The sender had to wait for the window to open: the receive window, not the network, limits throughput.",
                    likelyCause: "A small receive buffer or window scaling off on \(host(receiver)), or a slow reader.",
                    nextStep: "Check window scaling in the SYNs (`netsift flows`) and `net.ipv4.tcp_rmem` on \(host(receiver)).")
        }
    }
}
