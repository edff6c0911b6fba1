#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Netsift
import Prometheus
import Synchronization

/// The listener of `live --metrics`: a small HTTP/1.1 server on one thread of its own, answering
/// `GET /metrics` with the registry's text exposition and closing each connection after its
/// answer (a scraper asks once per interval: one connection at a time is plenty). It binds before
/// the capture starts, so an address in use or not allowed is said at once, and stops with it.
final class MetricsServer: Sendable {
    /// Where it listens, as given to it once resolved: "127.0.0.1:9464", "[::1]:9464".
    let address: String
    private let socket: Int32
    private let registry: PrometheusCollectorRegistry
    private let stopping = Atomic<Bool>(false)
    private let serving = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)

    /// How long a connection may take to send its request before it is closed.
    static let requestTimeoutSeconds = 2
    static let maximumRequestBytes = 8192

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// "PORT" (on loopback), "ADDRESS:PORT" or "[IPv6]:PORT", with numeric addresses ("localhost" is 127.0.0.1).
    static func parse(_ text: String) -> (host: String, port: UInt16)? {
        var host = "127.0.0.1", portText = Substring(text)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            guard text[text.index(after: close)...].hasPrefix(":") else { return nil }
            portText = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard let port = UInt16(portText), port > 0, !host.isEmpty else { return nil }
        return (host, port)
    }

    /// Binds and listens on `spec` (see `parse`).
    init(listening spec: String, registry: PrometheusCollectorRegistry) throws(Failure) {
        guard let (host, port) = Self.parse(spec) else {
            throw Failure(description: "--metrics \(spec): expected PORT, ADDRESS:PORT or [IPv6]:PORT with a numeric address")
        }
        var v4 = sockaddr_in(), v6 = sockaddr_in6()
        let family: Int32
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            family = AF_INET
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            family = AF_INET6
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
        } else {
            throw Failure(description: "--metrics \(spec): \(host) is not a numeric IPv4 or IPv6 address")
        }
        let descriptor = Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "--metrics \(spec): \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        // A restarted netsift may bind again while its last connections are in TIME_WAIT; a live
        // listener on the port still makes bind fail.
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = family == AF_INET
            ? withUnsafePointer(to: &v4) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            : withUnsafePointer(to: &v6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            let reason = switch errno {
            case EADDRINUSE: "address already in use"
            case EACCES: "permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)"
            case EADDRNOTAVAIL: "address not available on this host"
            default: String(cString: strerror(errno))
            }
            close(descriptor)
            throw Failure(description: "--metrics \(spec): cannot listen: \(reason)")
        }
        socket = descriptor
        address = family == AF_INET ? "\(host):\(port)" : "[\(host)]:\(port)"
        self.registry = registry
    }

    /// Serves on a thread of its own until `stop`.
    func start() throws(Failure) {
        serving.store(true, ordering: .relaxed)
        guard startThread(stackSize: 1 << 20, { self.serve() }) else {   // one accept loop: 1 MiB is plenty
            serving.store(false, ordering: .relaxed)
            close(socket)
            throw Failure(description: "--metrics \(address): cannot start the server's thread")
        }
    }

    /// Stops serving (a request being answered is finished first) and closes the socket.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        if serving.load(ordering: .relaxed) { stopped.wait() }
        close(socket)
    }

    private func serve() {
        defer { stopped.signal() }
        var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        while !stopping.load(ordering: .relaxed) {
            // Woken every 100 ms to see whether the capture stopped.
            guard poll(&poller, 1, 100) > 0 else { continue }
            let connection = accept(socket, nil, nil)
            guard connection >= 0 else { continue }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            answer(connection)
            close(connection)
        }
    }

    /// Reads one request (its head) and writes the answer.
    private func answer(_ connection: Int32) {
        var timeout = timeval(tv_sec: Self.requestTimeoutSeconds, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while request.count < Self.maximumRequestBytes && !Self.headEnds(request) {
            let count = read(connection, &chunk, chunk.count)
            guard count > 0 else { return }
            request += chunk[..<count]
        }
        let line = request.prefix { $0 != 13 && $0 != 10 }.split(separator: 32).map { String(decoding: $0, as: UTF8.self) }
        let response: [UInt8]
        if line.count == 3, line[0] == "GET" || line[0] == "HEAD",
           line[1] == "/metrics" || line[1].hasPrefix("/metrics?") {
            let body = registry.emitToBuffer()
            response = Self.head(status: "200 OK", type: "text/plain; version=0.0.4; charset=utf-8", length: body.count)
                + (line[0] == "HEAD" ? [] : body)
        } else if line.count == 3, line[0] != "GET" && line[0] != "HEAD" {
            let body = Array("Only GET and HEAD.\n".utf8)
            response = Self.head(status: "405 Method Not Allowed", type: "text/plain", length: body.count, allow: true) + body
        } else {
            let body = Array("netsift serves its metrics at /metrics.\n".utf8)
            response = Self.head(status: "404 Not Found", type: "text/plain", length: body.count) + body
        }
        var sent = 0
        while sent < response.count {
            let count = response[sent...].withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            sent += count
        }
    }

    static func headEnds(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes.indices.dropLast(3).contains { bytes[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }
            || bytes.count >= 2 && bytes.indices.dropLast(1).contains { bytes[$0] == 10 && bytes[$0 + 1] == 10 }
    }

    static func head(status: String, type: String, length: Int, allow: Bool = false) -> [UInt8] {
        Array(("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(length)\r\n"
               + (allow ? "Allow: GET, HEAD\r\n" : "") + "Connection: close\r\n\r\n").utf8)
    }
}
