import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport

/// The records `netsift export` writes for an engine that is not Netsift (DuckDB, Spark, a
/// warehouse): one kind per file, one JSON object a line, in the JSON convention (docs/json.md;
/// schemas in docs/schema/export.schema.json). Flows and findings are the objects `flows` and
/// `analyze` print; DNS transactions, TLS handshakes and HTTP transactions are built here from
/// the application messages, each once it is complete.
public enum ExportRecord: Sendable {
    case flow(FlowSummary)
    case finding(Finding)
    case dns(DNSTransaction)
    case tls(TLSHandshakeRecord)
    case http(HTTPTransactionRecord)

    /// The file each kind goes to.
    public var fileName: String {
        switch self {
        case .flow: "flows.ndjson"
        case .finding: "findings.ndjson"
        case .dns: "dns.ndjson"
        case .tls: "tls.ndjson"
        case .http: "http.ndjson"
        }
    }

    /// Every file, in the order above.
    public static let fileNames = ["flows.ndjson", "findings.ndjson", "dns.ndjson", "tls.ndjson", "http.ndjson"]
}

/// One TLS connection's handshake, as far as it went in the clear: what the client offered, what
/// the server chose, the certificates it sent (TLS 1.2 and earlier), the first alert.
public struct TLSHandshakeRecord: Sendable, Encodable {
    /// The conversation (`tcp.stream`).
    public var stream: Int
    public var client: String
    public var server: String
    public var clientHelloFrame: Int?
    /// When the ClientHello went (ns since the epoch).
    public var timeNs: Int64?
    public var serverName: String?
    /// The highest version the client offered, and the one the server chose (TLS1.2, TLS1.3).
    public var offeredVersion: String?
    public var version: String?
    public var cipherSuite: UInt16?
    /// The protocol the server chose by ALPN.
    public var alpn: String?
    public var ja3Hash: String?
    public var ja4: String?
    /// The server answered with a ServerHello.
    public var serverHello = false
    public var alert: Alert?
    public var certificates: [Certificate] = []

    public struct Alert: Sendable, Encodable {
        public var description: Int
        public var name: String
        /// "client" or "server".
        public var sender: String
        public var frame: Int
    }

    /// A certificate of the chain the server sent, leaf first.
    public struct Certificate: Sendable, Encodable {
        public var subject: String
        public var issuer: String
        public var commonName: String?
        public var dnsNames: [String]
        public var notBeforeSeconds: Int64
        public var notAfterSeconds: Int64
        public var serialNumber: String
        public var signatureAlgorithm: String
        public var publicKeyAlgorithm: String
        public var publicKeyBits: Int?

        init(_ c: TLSCertificate) {
            subject = TLSCertificate.text(c.subject)
            issuer = TLSCertificate.text(c.issuer)
            commonName = c.subjectCommonName
            dnsNames = c.dnsNames
            notBeforeSeconds = c.notBefore
            notAfterSeconds = c.notAfter
            serialNumber = c.serialNumber
            signatureAlgorithm = c.signatureAlgorithm
            publicKeyAlgorithm = c.publicKeyAlgorithm
            publicKeyBits = c.publicKeyBits
        }
    }
}

/// One HTTP/1.x request and its response, or one HTTP/2 stream's (`version` "HTTP/2").
public struct HTTPTransactionRecord: Sendable, Encodable {
    /// The conversation (`tcp.stream`).
    public var stream: Int
    /// HTTP/2: the stream's identifier in its connection (`http2.streamid`).
    public var http2StreamID: UInt32?
    public var client: String
    public var server: String
    public var method: String
    public var target: String
    public var host: String?
    public var status: Int
    public var reason: String?
    public var version: String
    /// HTTP/1.x: the request's last byte; HTTP/2: the stream's first frame (the request's HEADERS).
    public var requestFrame: Int
    /// When the request was all sent (HTTP/2: the client's END_STREAM).
    public var requestTimeNs: Int64
    public var responseFrame: Int
    /// When the response's first byte went by.
    public var firstByteTimeNs: Int64
    /// `firstByteTimeNs` less `requestTimeNs`.
    public var timeToFirstByteNs: Int64
    public var responseBodyBytes: Int
}

/// Builds the export records from what the pipeline hands out (`Pipeline.run`): flows as they end,
/// DNS transactions as they complete, a TLS handshake when its conversation ends, an HTTP
/// transaction with its response. `finish` gives the rest once the capture is read.
public struct ExportRecorder {
    var dns = DNSTransactions()
    var handshakes: [Int: TLSHandshakeRecord] = [:]

    public init() {}

    public mutating func add(_ event: ApplicationEvent, _ emit: (ExportRecord) -> Void) {
        let context = event.context
        switch event.message {
        case .dns(let message):
            let client = message.header.isResponse ? context.destination : context.source
            let server = message.header.isResponse ? context.source : context.destination
            dns.add(message, frame: context.frame, time: context.time, client: client, server: server,
                    transport: context.transport) { emit(.dns($0)) }
        case .tls(let message):
            add(message, context: context)
        case .http1(.response(let head, let bodyBytes, let request?, let firstByteTime)):
            guard let status = head.status, status >= 200 else { return }   // 1xx: still waiting
            emit(.http(HTTPTransactionRecord(
                stream: context.stream, client: context.destination.description, server: context.source.description,
                method: request.method, target: request.target, host: request.host, status: status,
                reason: head.reason, version: head.version, requestFrame: request.frame, requestTimeNs: request.time,
                responseFrame: context.frame, firstByteTimeNs: firstByteTime,
                timeToFirstByteNs: firstByteTime &- request.time, responseBodyBytes: bodyBytes)))
        case .http2(let message):
            guard case .streamEnded(let s) = message.event, let method = s.method, let status = s.status,
                  let requestEnd = s.requestEndTime, let firstByte = s.responseTime, let responseFrame = s.responseFrame
            else { return }
            let client = message.fromClient ? context.source : context.destination
            let server = message.fromClient ? context.destination : context.source
            emit(.http(HTTPTransactionRecord(
                stream: context.stream, http2StreamID: s.streamID, client: client.description,
                server: server.description, method: method, target: s.path ?? s.authority ?? "", host: s.authority,
                status: status, version: "HTTP/2", requestFrame: s.firstFrame, requestTimeNs: requestEnd,
                responseFrame: responseFrame, firstByteTimeNs: firstByte, timeToFirstByteNs: firstByte &- requestEnd,
                responseBodyBytes: s.responseDataBytes)))
        default:
            break
        }
    }

    mutating func add(_ message: TLSMessage, context: ApplicationContext) {
        let stream = context.stream
        if handshakes[stream] == nil {
            let server = context.fromClient ? context.destination : context.source
            let client = context.fromClient ? context.source : context.destination
            handshakes[stream] = TLSHandshakeRecord(stream: stream, client: client.description,
                                                    server: server.description)
        }
        switch message {
        case .clientHello(let hello) where handshakes[stream]!.clientHelloFrame == nil:
            handshakes[stream]!.clientHelloFrame = context.frame
            handshakes[stream]!.timeNs = context.time
            handshakes[stream]!.serverName = hello.serverName
            handshakes[stream]!.offeredVersion = TLSNames.version(hello.highestVersion)
            handshakes[stream]!.ja3Hash = hello.ja3Hash
            handshakes[stream]!.ja4 = hello.ja4
        case .serverHello(let hello) where !hello.isHelloRetryRequest:
            handshakes[stream]!.serverHello = true
            handshakes[stream]!.version = TLSNames.version(hello.selectedVersion ?? hello.legacyVersion)
            handshakes[stream]!.cipherSuite = hello.cipherSuite
            handshakes[stream]!.alpn = hello.alpn
        case .handshake(let handshake) where !context.fromClient && handshake.type == 11:
            if handshakes[stream]!.certificates.isEmpty {
                handshakes[stream]!.certificates = (handshake.certificates ?? []).map(TLSHandshakeRecord.Certificate.init)
            }
        case .alert(let alert) where handshakes[stream]!.alert == nil && !alert.encrypted:
            guard let description = alert.description else { return }
            handshakes[stream]!.alert = .init(description: Int(description), name: TLSNames.alertDescription(description),
                                             sender: context.fromClient ? "client" : "server", frame: context.frame)
        default:
            break
        }
    }

    /// A conversation is over: its record, and its TLS handshake if it had one.
    public mutating func add(_ flow: FlowSummary, _ emit: (ExportRecord) -> Void) {
        emit(.flow(flow))
        if flow.transport == "tcp", let handshake = handshakes.removeValue(forKey: flow.stream) { emit(.tls(handshake)) }
    }

    /// The capture is read: the DNS queries still waiting, the handshakes of conversations not seen to end.
    public mutating func finish(findings: [Finding], _ emit: (ExportRecord) -> Void) {
        dns.finish { emit(.dns($0)) }
        for stream in handshakes.keys.sorted() { emit(.tls(handshakes[stream]!)) }
        handshakes = [:]
        for finding in findings { emit(.finding(finding)) }
    }
}
