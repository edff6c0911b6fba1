extension Finding {
    /// Packets a live capture lost before netsift saw them (libpcap's `pcap_stats`): the kernel's
    /// buffer was full, or the interface dropped them. nil when none were lost.
    public static func packetsDropped(byKernel: Int, byInterface: Int, received: Int) -> Finding? {
        let dropped = byKernel + byInterface
        guard dropped > 0 else { return nil }
        return Finding(
            kind: .packetsDropped, severity: .warning, count: dropped, countUnit: "packets",
            facts: ["dropped_by_kernel": .int(byKernel), "dropped_by_interface": .int(byInterface),
                    "received": .int(received)],
            summary: "\(plural(dropped, "packet")) \(verb(dropped, "was")) dropped before netsift saw them (\(byKernel) by the kernel, \(byInterface) by the interface).",
            explanation: "What was analysed misses those packets: some retransmissions, gaps and unanswered segments may be the capture's, not the network's.",
            likelyCause: "Traffic faster than the capture drains its buffer (a busy link, a slow disk for --write), or a filter too wide.",
            nextStep: "Raise --buffer-size, narrow the capture with -f, or lower --snaplen; check that drops stop before trusting loss findings.")
    }
}
