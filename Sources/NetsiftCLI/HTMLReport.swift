#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Netsift
import NetsiftCharts
import Plot

/// `--html FILE`: the analysis as one self-contained page — capture summary and verdict, every
/// finding with its evidence (as the text report), the capture's timeline with the findings placed
/// in it, a time-sequence graph with throughput and round-trip times for the conversations the
/// findings name and the top ones, DNS response times per server, TLS and HTTP outcomes. Inline
/// SVG and CSS only: no script, no fetch, so it opens from disk, mails, and prints.
///
/// Every number the JSON report also has carries a `data-json` attribute with its path there
/// ("capture.packets", "findings.2.count"), so a test can check the page against the JSON.
struct HTMLReport {
    let report: AnalysisReport
    let series: CaptureSeries?
    let outcomes: Outcomes
    /// The TCP conversations drawn: those the findings name (the first two of each, in the
    /// findings' order), then the top ones; at most `conversationLimit`.
    let drawnStreams: [Int]
    /// Conversations drawn at most.
    static let conversationLimit = 12
    /// Findings marked on the timeline at most (the first, in the report's order).
    static let eventLimit = 40

    init(report: AnalysisReport, series: CaptureSeries?, outcomes: Outcomes) {
        self.report = report
        self.series = series
        self.outcomes = outcomes
        var streams: [Int] = []
        let named = report.findings.lazy.flatMap { $0.flows.filter { $0.transport == "tcp" }.prefix(2).map(\.stream) }
        for stream in Array(named) + report.topFlows.filter({ $0.transport == "tcp" }).map(\.stream)
        where !streams.contains(stream) && streams.count < Self.conversationLimit {
            streams.append(stream)
        }
        drawnStreams = streams
    }

    typealias Body = Node<HTML.BodyContext>

    /// Writes the page to `path`; false (and a one-line error said) when it cannot.
    func write(to path: String) -> Bool {
        var page = render()
        guard let file = fopen(path, "w") else {
            warn("--html \(path): \(String(cString: strerror(errno)))")
            return false
        }
        let written = page.withUTF8 { fwrite($0.baseAddress, 1, $0.count, file) == $0.count }
        let closed = fclose(file) == 0
        if !written || !closed {
            warn("--html \(path): write failed: \(String(cString: strerror(errno)))")
            return false
        }
        return true
    }

    func render() -> String {
        let title = "netsift — \(report.capture.file)"
        let page = HTML(
            .head(.meta(.charset(.utf8)), .element(named: "title", text: title),
                  .meta(.name("viewport"), .content("width=device-width, initial-scale=1")),
                  .style(Self.styleSheet)),
            .body(.group(sections()))
        )
        return page.render()
    }

    /// Seconds since the capture's first packet.
    var origin: Int64 { report.capture.firstPacket ?? series?.timeline?.start ?? 0 }
    func seconds(_ time: Int64) -> Double { Double(time &- origin) / 1e9 }

    func sections() -> [Body] {
        [.h1(.text("Netsift report")), summary(), verdict(), timeline(), findings(), conversations(), dns(), tls(), http(),
         topFlows(),
         .footer(.p(.text("Made by netsift analyze --html from \(report.capture.file). Graphs are drawn from bounded "
                          + "series recorded in the one pass over the capture; long series are thinned evenly.")))]
    }

    // MARK: Numbers tied to the JSON report

    func number(_ value: Int, _ path: String) -> Body {
        .span(.class("number"), .attribute(named: "data-json", value: path), .text(grouped(value)))
    }

    func decimal(_ value: Double, _ digits: Int, _ path: String) -> Body {
        .span(.class("number"), .attribute(named: "data-json", value: path), .text(fixed(value, digits)))
    }

    // MARK: Summary and verdict

    func summary() -> Body {
        let c = report.capture
        var rows: [Node<HTML.TableContext>] = [
            row("File", .text(c.file)),
            row("Packets", number(c.packets, "capture.packets")),
            row("Duration", .group(decimal(c.durationSeconds, 3, "capture.duration_seconds"), .text(" s"))),
            row("Conversations", .group(number(c.tcpConversations, "capture.tcp_conversations"), .text(" TCP, "),
                                        number(c.udpConversations, "capture.udp_conversations"), .text(" UDP"))),
        ]
        if let first = c.firstPacket, let last = c.lastPacket {
            rows.append(row("Time (UTC)", .text("\(formatUTC(first)) to \(formatUTC(last))")))
        }
        if !c.tcpStates.isEmpty {
            let states = c.tcpStates.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            rows.append(row("TCP states", .group(states.enumerated().map { index, state in
                .group(.text(index == 0 ? "" : ", "), .code(.text(state.key)), .text(" "),
                       number(state.value, "capture.tcp_states.\(state.key)"))
            })))
        }
        if !c.applicationMessages.isEmpty {
            let messages = c.applicationMessages.sorted { $0.key < $1.key }
            rows.append(row("Messages", .group(messages.enumerated().map { index, message in
                .group(.text(index == 0 ? "" : ", "), number(message.value, "capture.application_messages.\(message.key)"),
                       .text(" " + message.key))
            })))
        }
        if let damage = c.damage { rows.append(row("Incomplete", .text(damage))) }
        return .section(.id("summary"), .h2(.text("Capture")), .table(.class("facts"), .group(rows)))
    }

    func row(_ name: String, _ value: Body) -> Node<HTML.TableContext> {
        .tr(.th(.text(name)), .td(value))
    }

    func verdict() -> Body {
        guard let verdict = report.verdict else {
            return .section(.id("verdict"), .h2(.text("Most likely problem")),
                            .p(.class("ok"), .text(report.findings.isEmpty
                                ? "No problems found: handshakes completed, no retransmissions, resets or stalls above the thresholds."
                                : "Nothing that harms the users stands out; the findings below are informational.")))
        }
        var nodes: [Body] = [
            .h2(.text("Most likely problem")),
            .p(.class("verdict " + verdict.severity.rawValue), severityBadge(verdict.severity), .text(" " + verdict.summary)),
            .p(.strong(.text("Next: ")), .text(verdict.nextStep)),
        ]
        if let caveat = report.verdictCaveat { nodes.append(.p(.class("caveat"), .text("Confidence lowered: " + caveat))) }
        return .section(.id("verdict"), .group(nodes))
    }

    func severityBadge(_ severity: Severity) -> Body {
        .span(.class("badge " + severity.rawValue), .text(severity.rawValue))
    }

    // MARK: Findings

    func findings() -> Body {
        var nodes: [Body] = [.h2(.text("Findings"))]
        if report.findings.isEmpty { nodes.append(.p(.text("No findings."))) }
        for layer in DiagnosisLayer.allCases {
            let indexed = report.findings.enumerated().filter { $0.element.layer == layer }
            guard !indexed.isEmpty else { continue }
            nodes.append(.h3(.text(layer.title)))
            nodes += indexed.map { finding($0.element, index: $0.offset) }
        }
        return .section(.id("findings"), .group(nodes))
    }

    func finding(_ f: Finding, index: Int) -> Body {
        let path = "findings.\(index)"
        var evidence: [Node<HTML.TableContext>] = [
            row("Count", .group(number(f.count, path + ".count"), .text(" " + f.countUnit))),
        ]
        if let endpoint = f.endpoint { evidence.append(row(f.endpointKind == .host ? "Host" : "Service", .code(.text(endpoint)))) }
        if !f.peers.isEmpty { evidence.append(row("Peers", .text(f.peers.joined(separator: ", ")))) }
        if !f.flows.isEmpty {
            evidence.append(row("Conversations", .group(f.flows.enumerated().map { offset, flow in
                let text = "\(flow.transport).stream \(flow.stream)"
                let drawn = flow.transport == "tcp" && drawnStreams.contains(flow.stream)
                return .group(.text(offset == 0 ? "" : ", "),
                              drawn ? .a(.href("#tcp-stream-\(flow.stream)"), .text(text)) : .text(text))
            })))
        }
        if !f.frames.isEmpty { evidence.append(row("Frames", .text(f.frames.map(String.init).joined(separator: ", ")))) }
        for (key, value) in f.facts.sorted(by: { $0.key < $1.key }) {
            let shown: Body = switch value {
            case .int(let n): number(n, "\(path).facts.\(key)")
            case .double(let d): .span(.class("number"), .attribute(named: "data-json", value: "\(path).facts.\(key)"),
                                       .text(compact(d)))
            case .string(let s): .text(s)
            }
            evidence.append(row(key, shown))
        }
        if let file = f.evidence { evidence.append(row("Evidence capture", .code(.text(file)))) }
        return .div(.class("finding " + f.severity.rawValue), .id("finding-\(index + 1)"),
                    .h4(.span(.class("marker"), .text("F\(index + 1)")), .text(" "), severityBadge(f.severity),
                        .text(" "), .code(.text(f.kind.rawValue))),
                    .p(.class("summary"), .text(f.summary)),
                    .p(.text(f.explanation)),
                    .p(.strong(.text("Why: ")), .text(f.likelyCause)),
                    .p(.strong(.text("Next: ")), .text(f.nextStep)),
                    .table(.class("evidence"), .group(evidence)))
    }

    /// When a finding happened: its first frame's time, else its first recorded conversation's start.
    func time(of finding: Finding) -> Int64? {
        guard let series else { return nil }
        if let frame = finding.frames.first, let time = series.time(ofFrame: frame) { return time }
        for flow in finding.flows where flow.transport == "tcp" {
            if let conversation = series.conversations[flow.stream] { return conversation.start }
        }
        return nil
    }

    // MARK: Timeline

    func timeline() -> Body {
        guard let timeline = series?.timeline, !timeline.values.isEmpty else {
            return .section(.id("timeline"), .h2(.text("Timeline")), .p(.text("No packets.")))
        }
        let width = Double(timeline.width) / 1e9
        let starts = timeline.values.indices.map { seconds(timeline.time(of: $0)) }
        let end = max(starts.last! + width, seconds(report.capture.lastPacket ?? origin))
        let domain = min(0, starts.first!)...end
        let events = report.findings.prefix(Self.eventLimit).enumerated().compactMap { index, finding in
            time(of: finding).map { Event(x: seconds($0), label: "F\(index + 1)", detail: finding.summary) }
        }
        func counts(_ value: (TimelineCounts) -> Int) -> [Point] {
            zip(starts, timeline.values).map { Point($0, Double(value($1))) }
        }
        let packets = counts(\.packets), bytes = counts(\.bytes)
        var packetChart = Chart(title: "Packets per \(AxisFormat.seconds.text(width))", x: domain,
                                y: 0...(packets.map(\.y).max() ?? 1))
        packetChart.marks = [.columns(packets, width: width, style: "packets")]
        packetChart.events = events
        var byteChart = Chart(title: "Bytes per \(AxisFormat.seconds.text(width))", x: domain,
                              y: 0...(bytes.map(\.y).max() ?? 1), yFormat: .bytes)
        byteChart.marks = [.columns(bytes, width: width, style: "bytes")]
        byteChart.events = events
        var nodes: [Body] = [.h2(.text("Timeline")),
                             .p(.text("Seconds since the first packet; findings are marked F1, F2… (the first \(Self.eventLimit)) "
                                      + "where their first frame was seen.")),
                             packetChart.svg(), byteChart.svg()]
        let troubles = [("retransmissions", counts(\.retransmissions)), ("resets", counts(\.resets)),
                        ("DNS errors", counts(\.dnsErrors))]
        let highest = troubles.flatMap { $0.1.map(\.y) }.max() ?? 0
        if highest > 0 {
            var troubleChart = Chart(title: "Retransmissions, resets and DNS errors per \(AxisFormat.seconds.text(width))",
                                     x: domain, y: 0...highest)
            troubleChart.marks = troubles.filter { $0.1.contains { $0.y > 0 } }.map { name, points in
                .steps(points + [Point(end, points.last?.y ?? 0)], style: name.replacingOccurrences(of: " ", with: "-"))
            }
            troubleChart.legend = troubles.map { ($0.0, $0.0.replacingOccurrences(of: " ", with: "-")) }
            troubleChart.events = events
            nodes.append(troubleChart.svg())
        } else {
            nodes.append(.p(.text("No retransmissions, resets or DNS errors.")))
        }
        return .section(.id("timeline"), .group(nodes))
    }

    // MARK: Conversations

    func conversations() -> Body {
        var nodes: [Body] = [.h2(.text("Conversations")),
                             .p(.text("Time-sequence graphs (Stevens / tcptrace): the data direction's segments as vertical strokes, "
                                      + "the receiver's ACK and window edge as lines; retransmissions, SACK blocks, zero windows "
                                      + "and resets marked."))]
        let streams = drawnStreams
        if streams.isEmpty { nodes.append(.p(.text("No TCP conversations."))) }
        if let unrecorded = series?.unrecorded, unrecorded > 0 {
            nodes.append(.p(.class("note"), .text("\(grouped(unrecorded)) conversations began while the most that are "
                                                  + "recorded at once were active, and were not recorded.")))
        }
        for stream in streams {
            let flow = report.topFlows.first { $0.transport == "tcp" && $0.stream == stream }
            nodes.append(conversation(stream, flow: flow))
        }
        return .section(.id("conversations"), .group(nodes))
    }

    func conversation(_ stream: Int, flow: FlowSummary?) -> Body {
        guard let c = series?.conversations[stream] else {
            return .div(.class("conversation"), .id("tcp-stream-\(stream)"), .h3(.text("tcp.stream \(stream)")),
                        .p(.text("Not recorded: the series of the most troubled and largest conversations are kept, "
                                 + "and this one was not among them (or began while too many were active).")))
        }
        let data = c.direction(c.dataSide), other = c.direction(1 - c.dataSide)
        var heading = "tcp.stream \(stream): \(data.endpoint) → \(other.endpoint)"
        if let flow { heading += " · \(flow.state.rawValue) · \(AxisFormat.bytes.text(Double(flow.bytes)))" }
        var nodes: [Body] = [.h3(.text(heading))]
        nodes.append(sequenceGraph(c))
        nodes.append(throughput(c))
        nodes.append(roundTrips(c))
        return .div(.class("conversation"), .id("tcp-stream-\(stream)"), .group(nodes))
    }

    func sequenceGraph(_ c: ConversationSeries) -> Body {
        let data = c.direction(c.dataSide), other = c.direction(1 - c.dataSide)
        let segments = data.points.elements.filter { $0.length > 0 }
            .map { Span(x: seconds($0.time), low: Double($0.sequence), high: Double($0.sequence + Int64($0.length))) }
        let acknowledged = other.points.elements.compactMap { p in p.acknowledgment.map { (seconds(p.time), $0, p.window) } }
        let acks = acknowledged.map { Point($0.0, Double($0.1)) }
        // The data sets the scale (tcptrace's): a window edge far above it is drawn along the top.
        let sent = max(segments.map(\.high).max() ?? 0, acks.map(\.y).max() ?? 0)
        let highest = max(1, sent * 1.25)
        let windows = acknowledged.map { Point($0.0, min(highest, Double($0.1 + $0.2))) }
        func marks(_ kind: SegmentMark.Kind) -> [SegmentMark] { data.marks.elements.filter { $0.kind == kind } }
        var chart = Chart(title: "Time-sequence graph (\(data.endpoint) sends)",
                          x: seconds(c.start)...seconds(c.end), y: 0...highest, yFormat: .bytes)
        chart.height = 300
        chart.marks = [
            .steps(windows, style: "window"),
            .steps(acks, style: "ack"),
            .spans(segments, style: "segment"),
            .spans(marks(.sack).map { Span(x: seconds($0.time), low: Double($0.start), high: Double($0.end)) }, style: "sack"),
            .spans(marks(.retransmission).map { Span(x: seconds($0.time), low: Double($0.start), high: Double($0.end)) },
                   style: "retransmission"),
            .dots(marks(.retransmission).map { Point(seconds($0.time), Double($0.end)) }, style: "retransmission"),
            .dots(marks(.zeroWindow).map { Point(seconds($0.time), Double($0.start)) }, style: "zero-window"),
            .dots(marks(.reset).map { Point(seconds($0.time), Double($0.start)) }, style: "reset"),
        ]
        chart.legend = [("data", "segment"), ("ACK", "ack"), ("window", "window"), ("retransmission", "retransmission"),
                        ("SACK", "sack"), ("zero window", "zero-window"), ("reset", "reset")]
        return chart.svg()
    }

    func throughput(_ c: ConversationSeries) -> Body {
        let width = Double(c.buckets.width) / 1e9
        let starts = c.buckets.values.indices.map { seconds(c.buckets.time(of: $0)) }
        func rate(_ side: Int) -> [Point] {
            zip(starts, c.buckets.values).map { Point($0, Double(side == 0 ? $1.payload.0 : $1.payload.1) * 8 / width) }
        }
        let first = rate(0), second = rate(1)
        let highest = (first + second).map(\.y).max() ?? 0
        guard highest > 0 else { return .p(.class("note"), .text("No payload: no throughput to draw.")) }
        var chart = Chart(title: "Throughput (payload, per \(AxisFormat.seconds.text(width)))",
                          x: (starts.first ?? 0)...((starts.last ?? 0) + width), y: 0...highest, yFormat: .bitsPerSecond)
        chart.height = 180
        chart.marks = [.steps(first + [Point((starts.last ?? 0) + width, first.last?.y ?? 0)], style: "side-a"),
                       .steps(second + [Point((starts.last ?? 0) + width, second.last?.y ?? 0)], style: "side-b")]
        chart.legend = [(c.first.endpoint, "side-a"), (c.second.endpoint, "side-b")]
        return chart.svg()
    }

    func roundTrips(_ c: ConversationSeries) -> Body {
        let side = c.dataSide
        let width = Double(c.buckets.width) / 1e9
        var means: [Point] = [], worst: [Point] = []
        for (index, counts) in c.buckets.values.enumerated() {
            let samples = side == 0 ? counts.rtt.0 : counts.rtt.1
            guard let mean = samples.mean else { continue }
            let x = seconds(c.buckets.time(of: index)) + width / 2
            means.append(Point(x, Double(mean) / 1e6))
            worst.append(Point(x, Double(samples.most) / 1e6))
        }
        guard !means.isEmpty else {
            return .p(.class("note"), .text("No round-trip samples (no data segment acknowledged without a retransmission)."))
        }
        var chart = Chart(title: "Round-trip time of \(c.direction(side).endpoint)'s data (mean and highest per interval)",
                          x: seconds(c.start)...seconds(c.end), y: 0...(worst.map(\.y).max() ?? 1), yFormat: .milliseconds)
        chart.height = 180
        chart.marks = [.line(means, style: "rtt"), .dots(worst, style: "rtt-max")]
        chart.legend = [("mean", "rtt"), ("highest", "rtt-max")]
        return chart.svg()
    }

    // MARK: DNS, TLS, HTTP

    func dns() -> Body {
        guard !outcomes.dns.isEmpty else { return .empty }
        let names = ResponseTimeBuckets.bounds.map { AxisFormat.seconds.text($0) } + [">10 s"]
        var nodes: [Body] = [.h2(.text("DNS")), .table(.class("outcomes"),
            .tr(.th(.text("Server")), .th(.text("Queries")), .th(.text("Unanswered")), .th(.text("Answers by code"))),
            .group(outcomes.dns.map { server in
                .tr(.td(.code(.text(server.server))), .td(.text(grouped(server.queries))), .td(.text(grouped(server.unanswered))),
                    .td(.text(server.responseCodes.sorted { $0.key < $1.key }.map { "\($0.key) \(grouped($0.value))" }
                        .joined(separator: ", "))))
            }))]
        for server in outcomes.dns where server.responseTimes.count > 0 {
            let histogram = server.responseTimes
            var chart = Chart(title: "Response times of \(server.server) (\(grouped(histogram.count)) answers; each bar: up to its time)",
                              x: -0.5...(Double(names.count) - 0.5), y: 0...Double(histogram.counts.max() ?? 1),
                              xFormat: .labels(names))
            chart.height = 170
            chart.xTicks = names.count
            chart.marks = [.columns(histogram.counts.enumerated().map { Point(Double($0.offset) - 0.4, Double($0.element)) },
                                    width: 0.8, style: "dns")]
            nodes.append(chart.svg())
        }
        return .section(.id("dns"), .group(nodes))
    }

    func tls() -> Body {
        guard !outcomes.tls.isEmpty else { return .empty }
        return .section(.id("tls"), .h2(.text("TLS handshakes")), .table(.class("outcomes"),
            .tr(.th(.text("Server")), .th(.text("Handshakes")), .th(.text("Completed")), .th(.text("Alerts")),
                .th(.text("Ended without ServerHello"))),
            .group(outcomes.tls.map { server in
                .tr(.td(.code(.text(server.server))), .td(.text(grouped(server.handshakes))),
                    .td(.text(grouped(server.completed))),
                    .td(.text(server.alerts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.description < $1.key.description }
                        .map { "\($0.key.name) from \($0.key.sender) ×\(grouped($0.value))" }.joined(separator: ", "))),
                    .td(.text(server.aborted.sorted { $0.key < $1.key }.map { "\($0.key) \(grouped($0.value))" }
                        .joined(separator: ", "))))
            })))
    }

    func http() -> Body {
        guard !outcomes.http.isEmpty else { return .empty }
        return .section(.id("http"), .h2(.text("HTTP responses")), .table(.class("outcomes"),
            .tr(.th(.text("Server")), .th(.text("Protocol")), .th(.text("Responses")), .th(.text("By status"))),
            .group(outcomes.http.map { server in
                .tr(.td(.code(.text(server.server))), .td(.text(server.protocolName == "http2" ? "HTTP/2" : "HTTP/1.x")),
                    .td(.text(grouped(server.responses))),
                    .td(.group(server.statuses.sorted { $0.key < $1.key }.map { status, count in
                        .span(.class("status s\(status / 100)xx"), .text("\(status) ×\(grouped(count))"))
                    })))
            })))
    }

    func topFlows() -> Body {
        guard !report.topFlows.isEmpty else { return .empty }
        return .section(.id("top-flows"), .h2(.text("Top conversations")), .table(.class("outcomes"),
            .tr(.th(.text("Stream")), .th(.text("Originator")), .th(.text("Responder")), .th(.text("State")),
                .th(.text("Packets →/←")), .th(.text("Bytes →/←")), .th(.text("Duration"))),
            .group(report.topFlows.enumerated().map { index, flow in
                let path = "top_flows.\(index)"
                return .tr(.td(.text("\(flow.transport).stream \(flow.stream)")),
                           .td(.code(.text(flow.originator.endpoint))), .td(.code(.text(flow.responder.endpoint))),
                           .td(.text(flow.state.rawValue)),
                           .td(number(flow.originator.packets, path + ".originator.packets"), .text(" / "),
                               number(flow.responder.packets, path + ".responder.packets")),
                           .td(number(flow.originator.bytes, path + ".originator.bytes"), .text(" / "),
                               number(flow.responder.bytes, path + ".responder.bytes")),
                           .td(.text(fixed(Double(flow.durationNanoseconds) / 1e9, 3) + " s")))
            })))
    }

    // MARK: Style

    static let styleSheet = """
    :root { --ink: #1d2430; --muted: #5c6775; --rule: #d5dae1; --error: #b3261e; --warning: #9a6700; --info: #2f6fb0; }
    body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink);
           max-width: 980px; margin: 0 auto; padding: 16px 24px 48px; background: #fff; }
    h1 { font-size: 26px; margin: 8px 0 4px; } h2 { font-size: 20px; margin: 28px 0 8px; border-bottom: 1px solid var(--rule); }
    h3 { font-size: 16px; margin: 18px 0 6px; } h4 { font-size: 15px; margin: 0 0 4px; }
    code { font: 13px ui-monospace, "DejaVu Sans Mono", monospace; }
    table { border-collapse: collapse; margin: 6px 0 12px; } th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }
    table.outcomes th { border-bottom: 1px solid var(--rule); } table.outcomes td { border-bottom: 1px solid #eef0f3; }
    table.facts th, table.evidence th { color: var(--muted); font-weight: normal; white-space: nowrap; }
    .number { font-variant-numeric: tabular-nums; }
    .badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 0 6px; border-radius: 3px; color: #fff; text-transform: uppercase; }
    .badge.error { background: var(--error); } .badge.warning { background: var(--warning); } .badge.info { background: var(--info); }
    .finding { border-left: 4px solid var(--rule); padding: 6px 0 2px 12px; margin: 10px 0 16px; }
    .finding.error { border-color: var(--error); } .finding.warning { border-color: var(--warning); } .finding.info { border-color: var(--info); }
    .finding p { margin: 2px 0; } .finding .summary { font-weight: 600; }
    .marker { color: var(--muted); } .verdict { font-size: 17px; font-weight: 600; } .caveat { color: var(--warning); }
    .ok { color: #1a7f37; } .note { color: var(--muted); font-style: italic; }
    .status { margin-right: 10px; } .s4xx { color: var(--warning); } .s5xx { color: var(--error); }
    svg.chart { display: block; width: 100%; height: auto; margin: 8px 0 14px; overflow: visible; }
    svg.chart text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: var(--muted); }
    svg.chart .chart-title { font-size: 12.5px; font-weight: 600; fill: var(--ink); }
    .grid { stroke: #eceff3; stroke-width: 1; fill: none; } .axis { stroke: #9aa4b0; fill: none; }
    .mark { fill: none; stroke-width: 1.4; }
    .packets { fill: #5b8fd0; stroke: none; } .bytes { fill: #7aa86a; stroke: none; } .dns { fill: #8b6cc4; stroke: none; }
    .retransmissions { stroke: #d1495b; } .resets { stroke: #edae49; } .DNS-errors { stroke: #8b6cc4; }
    .segment { stroke: #1d2430; stroke-width: 1.6; } .ack { stroke: #2a9d8f; } .window { stroke: #e9c46a; }
    .retransmission { stroke: #d1495b; stroke-width: 2.2; } .sack { stroke: #8b6cc4; stroke-width: 3; stroke-opacity: 0.55; }
    .zero-window { stroke: #f4a261; stroke-width: 7; stroke-linecap: round; } .reset { stroke: #000; stroke-width: 8; stroke-linecap: square; }
    .dots.retransmission, path.mark.retransmission[d*="h0"] { stroke-linecap: round; }
    .side-a { stroke: #2f6fb0; } .side-b { stroke: #d1495b; } .rtt { stroke: #2a9d8f; } .rtt-max { stroke: #d1495b; stroke-width: 4; stroke-linecap: round; }
    .event path { stroke: #b3261e; stroke-dasharray: 3 3; stroke-width: 1; } .event text { fill: #b3261e; font-weight: 600; }
    path.swatch { stroke-width: 6; stroke-linecap: butt; fill: none; }
    footer { margin-top: 36px; color: var(--muted); font-size: 13px; }
    @media print {
      body { max-width: none; padding: 0; font-size: 11pt; }
      section, .finding, .conversation, svg.chart { break-inside: avoid; }
      a { color: inherit; text-decoration: none; }
    }
    """
}
