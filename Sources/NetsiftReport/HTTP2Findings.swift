import NetsiftDissect
import NetsiftFlows

/// HTTP/2 trouble, per server: GOAWAY with an error code, streams reset (RST_STREAM) by code,
/// a missing or wrong connection preface, 4xx/5xx responses and gRPC error statuses per path.
struct HTTP2Detector {
    struct Group {
        var count = 0
        var flows: Set<FlowReference> = []
        var frames: [Int] = []
        var details: [String: Int] = [:]

        mutating func add(_ context: ApplicationContext, frame: Int, detail: String) {
            count += 1
            if flows.count < Finding.listLimit { flows.insert(FlowReference(transport: "tcp", stream: context.stream)) }
            if frames.count < Finding.listLimit { frames.append(frame) }
            if details.count < 50 || details[detail] != nil { details[detail, default: 0] += 1 }
        }

        var detailText: String {
            details.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(5)
                .map { "\($0.key) ×\(grouped($0.value))" }.joined(separator: ", ")
        }
    }
    var goAways: [String: Group] = [:]
    /// Final responses by status, per server (`Outcomes`).
    var statuses: [String: [Int: Int]] = [:]
    var resets: [String: Group] = [:]
    var prefaces: [String: Group] = [:]
    var httpErrors: [String: Group] = [:]
    var grpcErrors: [String: Group] = [:]

    mutating func add(_ message: HTTP2Message, context: ApplicationContext) {
        // Formatted only for the frames that make a finding, not for every frame.
        var server: String { "\(message.fromClient ? context.destination : context.source)" }
        switch message.event {
        case .frame(let record):
            if case .decoded(.goAway(let last, let code, _, let text)) = record.payload, code != .noError {
                let who = message.fromClient ? "client" : "server"
                goAways[goAways.bounded(server), default: Group()].add(
                    context, frame: message.frame,
                    detail: "\(code) from \(who) (last stream \(last)\(text.isEmpty ? "" : ", \"\(text.prefix(60))\""))")
            }
        case .streamEnded(let stream):
            let path = stream.path ?? stream.authority ?? "?"
            if let status = stream.status { statuses[statuses.bounded(server), default: [:]][status, default: 0] += 1 }
            if let reset = stream.reset, reset.errorCode != .noError {
                resets[resets.bounded(server), default: Group()].add(
                    context, frame: reset.frame,
                    detail: "\(reset.errorCode) by \(reset.byClient ? "client" : "server") on \(path)")
            }
            if let status = stream.status, status >= 400 {
                httpErrors[httpErrors.bounded(server), default: Group()].add(
                    context, frame: stream.lastFrame,
                    detail: "\(status) \(stream.method ?? "") \(path)")
            }
            if let grpc = stream.grpcStatus, grpc != "0" {
                let name = grpcStatusName(grpc)
                grpcErrors[grpcErrors.bounded(server), default: Group()].add(
                    context, frame: stream.lastFrame,
                    detail: "\(name) on \(path)" + (stream.grpcMessage.map { " (\"\($0.prefix(60))\")" } ?? ""))
            }
        case .problem(let problem):
            switch problem {
            case .missingPreface, .prefaceMismatch, .notHTTP2:
                prefaces[prefaces.bounded(server), default: Group()].add(context, frame: message.frame, detail: "\(problem)")
            default: break
            }
        default: break
        }
    }

    func findings() -> [Finding] {
        var out: [Finding] = []
        func finding(_ kind: FindingKind, _ severity: Severity, _ server: String, _ g: Group, unit: String,
                     summary: String, explanation: String, cause: String, next: String) -> Finding {
            Finding(kind: kind, severity: severity, endpoint: server, count: g.count, countUnit: unit,
                    flows: g.flows.sorted { $0.stream < $1.stream }, frames: g.frames,
                    facts: ["details": .string(g.detailText)], summary: summary, explanation: explanation,
                    likelyCause: cause, nextStep: next)
        }
        for (server, g) in goAways {
            out.append(finding(.http2GoAway, .error, server, g, unit: "GOAWAY frames",
                summary: "HTTP/2 connections with \(server) were shut down with an error: \(g.detailText).",
                explanation: "A GOAWAY with an error code ends the whole connection; streams above its last stream ID were never processed.",
                cause: "ENHANCE_YOUR_CALM: a rate limit or abuse protection; PROTOCOL_ERROR / COMPRESSION_ERROR: an implementation bug on one side; INTERNAL_ERROR: the server failed.",
                next: "Read the server's logs at those times; for ENHANCE_YOUR_CALM check the client's request rate and the server's limits (max concurrent streams, request rate)."))
        }
        for (server, g) in resets {
            out.append(finding(.http2StreamReset, .warning, server, g, unit: "streams",
                summary: "\(plural(g.count, "HTTP/2 stream")) with \(server) \(verb(g.count, "was")) reset: \(g.detailText).",
                explanation: "RST_STREAM ends one request without an answer (or cuts its answer short).",
                cause: "REFUSED_STREAM: the server was at its concurrency limit (safe to retry); CANCEL: the client gave up (timeouts); INTERNAL_ERROR: the server failed mid-response.",
                next: "Check the server's concurrency limit (SETTINGS_MAX_CONCURRENT_STREAMS) and error logs; for CANCEL, the client's timeouts."))
        }
        for (server, g) in httpErrors {
            let serverErrors = g.details.filter { $0.key.hasPrefix("5") }.values.reduce(0, +)
            out.append(finding(.httpErrorStatus, serverErrors > 0 ? .warning : .info, server, g, unit: "responses",
                summary: "\(server) answered \(plural(g.count, "HTTP/2 request")) with an error status: \(g.detailText).",
                explanation: "4xx: the request was refused as sent (not found, unauthorised, bad request); 5xx: the server or what is behind it failed.",
                cause: serverErrors > 0 ? "5xx: the application or an upstream it depends on is failing or overloaded (503: unavailable, 502/504: upstream errors or timeouts)."
                    : "4xx: wrong paths, missing credentials or malformed requests from the clients.",
                next: "Look up these paths in the server's access and error logs at the capture's times."))
        }
        for (server, g) in grpcErrors {
            out.append(finding(.grpcErrorStatus, .warning, server, g, unit: "calls",
                summary: "\(plural(g.count, "gRPC call")) to \(server) failed: \(g.detailText).",
                explanation: "The HTTP/2 exchange completed but the call's grpc-status says it failed.",
                cause: "UNAVAILABLE (14): the service or its backend is down or shedding load; DEADLINE_EXCEEDED (4): too slow; others: application errors.",
                next: "Check the service's logs and health for those methods; retry UNAVAILABLE with backoff."))
        }
        for (server, g) in prefaces {
            let onlyMissing = g.details.keys.allSatisfy { $0.contains("preface") && !$0.contains("mismatch") }
            out.append(finding(.http2BadPreface, onlyMissing ? .info : .warning, server, g, unit: "connections",
                summary: "HTTP/2 connections with \(server) did not start with the client preface: \(g.detailText).",
                explanation: "An HTTP/2 connection must open with \"PRI * HTTP/2.0\" from the client; without it the frames cannot be trusted to start where they seem to.",
                cause: onlyMissing ? "Usually the capture started in the middle of the connection." : "A client speaking something else to an HTTP/2 port, or a broken h2c upgrade.",
                next: "Capture from before the connection opens; check the client's protocol settings for that port."))
        }
        return out
    }
}

/// gRPC status codes (grpc/doc/statuscodes.md) by name.
func grpcStatusName(_ code: String) -> String {
    let names = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
                 "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
                 "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]
    guard let value = Int(code), names.indices.contains(value) else { return "grpc-status \(code)" }
    return "\(names[value]) (\(value))"
}
