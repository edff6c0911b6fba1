import NetsiftDissect
import NetsiftFlows

/// HTTP/1.x trouble, per server: 5xx answers (the gateway statuses explained, with how long the
/// proxy waited), 4xx rates per path, redirect loops, refused CONNECTs. (Slow responses, for
/// HTTP/1.x and HTTP/2 alike, are `ResponseTimeDetector`'s.)
struct HTTP1Detector {
    /// Responses of one server with one status class, by detail ("504 GET /api").
    struct Group {
        var count = 0
        var flows: Set<FlowReference> = []
        var frames: [Int] = []
        var peers: [String] = []
        var details: [String: Int] = [:]
        /// The longest time a request waited for its answer (ns), and the shortest.
        var longestWait: Int64 = 0
        var shortestWait: Int64 = .max

        mutating func add(_ context: ApplicationContext, peer: Endpoint, detail: String, wait: Int64?) {
            count += 1
            if flows.count < Finding.listLimit { flows.insert(FlowReference(transport: "tcp", stream: context.stream)) }
            if frames.count < Finding.listLimit { frames.append(context.frame) }
            peers.addPeer(peer)
            if details.count < 50 || details[detail] != nil { details[detail, default: 0] += 1 }
            if let wait {
                longestWait = max(longestWait, wait)
                shortestWait = min(shortestWait, wait)
            }
        }

        var detailText: String {
            details.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(5)
                .map { "\($0.key) ×\(grouped($0.value))" }.joined(separator: ", ")
        }
    }
    var serverErrors: [String: Group] = [:]
    var connectFailures: [String: Group] = [:]

    /// Requests and 4xx answers per server and path (the path without its query).
    struct PathCount {
        var requests = 0
        var clientErrors = 0
        var statuses: [Int: Int] = [:]
        var flows: Set<FlowReference> = []
        var frames: [Int] = []
    }
    var paths: [String: [String: PathCount]] = [:]
    static let pathLimit = 200

    /// Final responses by status, per server (`Outcomes`).
    var statuses: [String: [Int: Int]] = [:]

    /// Redirects each client followed, to find a Location chain that comes back to where it began.
    struct Redirects {
        var hops: [String: String] = [:]
        var order: [String] = []
    }
    var redirects: [String: Redirects] = [:]
    var loops: [String: Group] = [:]
    static let redirectMemory = 32

    mutating func add(_ message: HTTP1Message, context: ApplicationContext) {
        guard case .response(let head, _, let request, let firstByteTime) = message, let status = head.status,
              !(100...199).contains(status), let request else { return }
        let server = context.source, client = context.destination
        let serverKey = "\(server)"
        let path = request.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.target
        let wait = firstByteTime - request.time
        statuses[statuses.bounded(serverKey), default: [:]][status, default: 0] += 1

        if request.method == "CONNECT" && !(200...299).contains(status) {
            connectFailures[connectFailures.bounded(serverKey), default: Group()].add(
                context, peer: client, detail: "\(status) CONNECT \(request.target)", wait: wait)
        } else if (500...599).contains(status) {
            serverErrors[serverErrors.bounded(serverKey), default: Group()].add(
                context, peer: client, detail: "\(status) \(request.method) \(path)", wait: wait)
        }

        let key = paths.bounded(serverKey)
        var perPath = paths[key, default: [:]]
        let pathKey = perPath[path] != nil || perPath.count < Self.pathLimit ? path : "(other paths)"
        var count = perPath[pathKey, default: PathCount()]
        count.requests += 1
        if (400...499).contains(status) {
            count.clientErrors += 1
            count.statuses[status, default: 0] += 1
            if count.flows.count < Finding.listLimit { count.flows.insert(FlowReference(transport: "tcp", stream: context.stream)) }
            if count.frames.count < Finding.listLimit && count.frames.last != context.frame {
                count.frames.append(context.frame)
            }
        }
        perPath[pathKey] = count
        paths[key] = perPath

        if (300...399).contains(status), let location = head.field("location") {
            let host = request.host ?? serverKey
            let from = request.target.hasPrefix("http") ? request.target : "http://\(host)\(request.target)"
            let to = location.hasPrefix("/") ? "http://\(host)\(location)" : location
            addRedirect(from: from, to: to, client: "\(client.address)", context: context, peer: client)
        }
    }

    mutating func addRedirect(from: String, to: String, client: String, context: ApplicationContext, peer: Endpoint) {
        let key = redirects.bounded(client)
        var memory = redirects[key, default: Redirects()]
        if memory.hops[from] == nil {
            memory.order.append(from)
            if memory.order.count > Self.redirectMemory { memory.hops[memory.order.removeFirst()] = nil }
        }
        memory.hops[from] = to
        // Follow the Location chain from `to`: back at `from` within a few hops is a loop.
        var chain = [from, to]
        var next = to
        while let hop = memory.hops[next], chain.count <= 10 {
            if next == from { break }
            chain.append(hop)
            next = hop
        }
        if next == from && chain.count > 2 || to == from {
            let server = "\(context.source)"
            loops[loops.bounded(server), default: Group()].add(
                context, peer: peer, detail: chain.prefix(6).joined(separator: " → "), wait: nil)
        }
        redirects[key] = memory
    }

    func findings() -> [Finding] {
        var out: [Finding] = []
        for (server, g) in serverErrors {
            out.append(serverErrorFinding(server, g))
        }
        for (server, g) in connectFailures {
            out.append(Finding(
                kind: .httpConnectFailed, severity: .error, endpoint: server, peers: g.peers, count: g.count,
                countUnit: "CONNECT requests", flows: g.flows.sorted { $0.stream < $1.stream }, frames: g.frames,
                facts: ["details": .string(g.detailText)],
                summary: "The proxy \(server) refused \(plural(g.count, "CONNECT request")): \(g.detailText).",
                explanation: "A CONNECT asks a proxy for a tunnel (usually for HTTPS); without a 2xx answer no tunnel exists and the client's TLS never starts.",
                likelyCause: "407: the proxy wants credentials (Proxy-Authorization); 403: its policy forbids that destination or port; 502/503/504: the proxy could not reach the destination.",
                nextStep: "Check the proxy's access log and ACLs for those destinations, and the client's proxy credentials (`curl -v -x http://\(server) https://DEST`)."))
        }
        for (server, perPath) in paths {
            var worst: [(path: String, count: PathCount)] = perPath.filter { $0.value.clientErrors > 0 }
                .map { ($0.key, $0.value) }
            guard !worst.isEmpty else { continue }
            worst.sort { $0.count.clientErrors != $1.count.clientErrors ? $0.count.clientErrors > $1.count.clientErrors : $0.path < $1.path }
            let errors = worst.reduce(0) { $0 + $1.count.clientErrors }
            let requests = perPath.values.reduce(0) { $0 + $1.requests }
            let text = worst.prefix(5).map { item in
                let codes = item.count.statuses.sorted { $0.key < $1.key }.map { "\($0.key)" }.joined(separator: "/")
                let rate = Int((Double(item.count.clientErrors) * 100 / Double(item.count.requests)).rounded())
                return "\(codes) \(item.path) \(grouped(item.count.clientErrors))/\(grouped(item.count.requests)) (\(rate) %)"
            }.joined(separator: ", ")
            let rate = Double(errors) * 100 / Double(requests)
            out.append(Finding(
                kind: .httpClientErrors, severity: rate >= 50 && errors >= 10 ? .warning : .info, endpoint: server,
                count: errors, countUnit: "responses",
                flows: Array(Set(worst.flatMap { $0.count.flows })).sorted { $0.stream < $1.stream },
                frames: worst.flatMap { $0.count.frames },
                facts: ["rate_percent": .double((rate * 10).rounded() / 10), "requests": .int(requests),
                        "paths": .string(text)],
                summary: "\(server) answered \(grouped(errors)) of \(plural(requests, "HTTP/1.x request")) with 4xx (\(Int(rate.rounded())) %): \(text).",
                explanation: "4xx says the request was refused as sent: a path that does not exist (404), missing or wrong credentials (401/403), a malformed request (400).",
                likelyCause: "Clients calling a path that moved or was never deployed, expired credentials, or a proxy or ingress routing to the wrong backend.",
                nextStep: "Compare those paths with the routes the server (or ingress) has; look them up in its access log."))
        }
        for (server, g) in loops {
            out.append(Finding(
                kind: .httpRedirectLoop, severity: .error, endpoint: server, peers: g.peers, count: g.count,
                countUnit: "redirects", flows: g.flows.sorted { $0.stream < $1.stream }, frames: g.frames,
                facts: ["chain": .string(g.detailText)],
                summary: "\(server) sends clients round a redirect loop: \(g.detailText).",
                explanation: "Each Location leads back to a URL already redirected: the client gives up (too many redirects) without ever getting content.",
                likelyCause: "An HTTP→HTTPS redirect behind a TLS-terminating proxy that does not pass X-Forwarded-Proto, a www/non-www rule pair that disagree, or a login redirect that never sets its cookie.",
                nextStep: "Follow it with `curl -sIL --max-redirs 5 URL` and check the redirect rules of the server and of the proxy in front of it."))
        }
        return out
    }

    func serverErrorFinding(_ server: String, _ g: Group) -> Finding {
        let statuses = Set(g.details.keys.compactMap { Int($0.prefix(3)) })
        var facts: [String: FactValue] = ["details": .string(g.detailText)]
        if g.shortestWait != .max {
            facts["longest_wait_ms"] = .double(Self.rounded(Double(g.longestWait) / 1e6))
            facts["shortest_wait_ms"] = .double(Self.rounded(Double(g.shortestWait) / 1e6))
        }
        let waited = g.shortestWait == .max ? ""
            : g.shortestWait == g.longestWait ? " (the answer came \(Self.milliseconds(g.longestWait)) ms after the request)"
            : " (the answers came \(Self.milliseconds(g.shortestWait))–\(Self.milliseconds(g.longestWait)) ms after the requests)"
        var causes: [String] = []
        if statuses.contains(502) {
            causes.append("502 Bad Gateway: the proxy got no valid answer from its upstream — the upstream refused or reset the connection (not listening, crashed, restarting) or answered garbage")
        }
        if statuses.contains(503) {
            causes.append("503 Service Unavailable: no healthy upstream, maintenance, or load shedding (rate limit, queue full)")
        }
        if statuses.contains(504) {
            causes.append("504 Gateway Timeout: the upstream did not answer within the proxy's timeout (proxy_read_timeout in nginx, 60 s by default) — the wait above is that timeout")
        }
        if statuses.contains(where: { ![502, 503, 504].contains($0) }) {
            causes.append("500 and others: the application itself failed (an exception, a failing dependency)")
        }
        let gateway = statuses.contains(502) || statuses.contains(503) || statuses.contains(504)
        return Finding(
            kind: .httpServerErrors, severity: .error, endpoint: server, peers: g.peers, count: g.count,
            countUnit: "responses", flows: g.flows.sorted { $0.stream < $1.stream }, frames: g.frames, facts: facts,
            summary: "\(server) answered \(plural(g.count, "HTTP/1.x request")) with 5xx: \(g.detailText)\(waited).",
            explanation: "5xx says the server, or what is behind it, failed to handle a valid request.",
            likelyCause: causes.joined(separator: "; ") + ".",
            nextStep: gateway
                ? "Check the proxy's error log for the upstream it tried (nginx: \"upstream timed out\", \"connect() failed\", \"no live upstreams\"), then that upstream's health and logs; compare the wait with the proxy's timeouts."
                : "Look these requests up in the application's error log at the capture's times.")
    }

    static func milliseconds(_ ns: Int64) -> String {
        let ms = Double(ns) / 1e6
        return ms >= 100 ? "\(Int(ms.rounded()))" : "\(rounded(ms))"
    }

    static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
}
