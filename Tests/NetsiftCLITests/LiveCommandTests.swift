import Foundation
import Testing
import NetsiftTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `netsift live` on the loopback interface, with traffic the test makes itself while the capture
/// runs: connections to a port nobody listens on (refused) and to a listener the test runs. What
/// the report says is checked against what the test did; the --write file is read back with
/// `netsift info` and `netsift flows`. Capturing needs root (or CAP_NET_RAW): without it these
/// tests say so and stop; with it, a capture that fails is a failure. Every wait is bounded, and
/// every process a test starts is ended when the test does, whatever happens.
@Suite(.serialized) struct LiveCommandTests {
    /// Why live capture cannot be tested here (no permission), a failure of the command itself, or
    /// neither.
    enum Availability { case available, skipped(String), failed(String) }
    static let availability: Availability = {
        if geteuid() != 0 { return .skipped("not root: live capture on lo needs root or CAP_NET_RAW") }
        guard let probe = try? CLI.run(["live", "-i", "lo", "--count", "1", "--duration", "0.2", "--interval", "0"]) else {
            return .failed("netsift could not be run")
        }
        let message = probe.stderr.trimmingCharacters(in: .newlines)
        if probe.status == 0 { return .available }
        // Root without CAP_NET_RAW (a container's bounding set) is a machine that cannot capture.
        if message.contains("no permission to capture") { return .skipped(message) }
        return .failed("live -i lo exited \(probe.status) as root: \(message)")
    }()

    /// True when the test cannot run here: skipped with a line saying why, or recorded as failed
    /// when the command itself is broken.
    static func skip() -> Bool {
        switch availability {
        case .available: return false
        case .skipped(let reason): print("⚠︎ \(reason); live capture tests skipped")
        case .failed(let failure): Issue.record("\(failure)")
        }
        return true
    }

    func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("netsift-live-\(getpid())-\(name)").path
    }

    /// JSON lines of `live --format jsonl`, by type.
    func lines(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test func refusedAndCompletedConnectionsOnLoopback() throws {
        if Self.skip() { return }
        let closed = try Loopback.unusedPort()
        let listener = try Loopback.Listener(accepting: 2)
        defer { listener.finish() }
        let file = temporary("duration.pcap")
        defer { unlink(file) }
        let live = try Running(["live", "-i", "lo", "--duration", "3", "--interval", "1", "--format", "jsonl",
                                "--buffer-size", "64", "--write", file,
                                "-f", "tcp port \(closed) or tcp port \(listener.port)"])
        defer { live.stop() }
        try #require(live.waitForStandardError("listening on", seconds: 10), "\(live.standardError)")
        for _ in 0..<3 { #expect(Loopback.connect(to: closed) == ECONNREFUSED) }
        for _ in 0..<2 { #expect(Loopback.connect(to: listener.port) == 0) }
        listener.finish()
        let status = try #require(live.wait(seconds: 15), "live did not stop after --duration")
        #expect(status == 0, "\(live.standardError)")

        let all = try lines(live.standardOutput)
        // Every line (interval, provisional finding, live statistics, the report) is valid against
        // its schema, checked by an independent validator.
        let saved = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-live-\(getpid()).jsonl")
        try Data(live.standardOutput.utf8).write(to: saved)
        defer { try? FileManager.default.removeItem(at: saved) }
        let validation = try CLI.runTool("/usr/bin/env", ["python3", Corpus.projectRoot.appendingPathComponent("scripts/validate-json").path,
            "--lines", Corpus.projectRoot.appendingPathComponent("docs/schema/analyze-line.schema.json").path, saved.path])
        #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
        let stats = try #require(all.first { $0["type"] as? String == "live" }?["live"] as? [String: Any])
        #expect(stats["stopped_by"] as? String == "duration")
        // Loopback traffic this small fits a 64 MiB buffer: had the kernel dropped any, the counts below could not hold.
        try #require(stats["dropped_by_kernel"] as? Int == 0, "kernel drops: \(stats)")
        let findings = all.filter { $0["type"] as? String == "finding" && $0["provisional"] == nil }
            .compactMap { $0["finding"] as? [String: Any] }
        let refused = findings.filter { $0["kind"] as? String == "connection_refused" }
        #expect(refused.map { $0["endpoint"] as? String } == ["127.0.0.1:\(closed)"])
        #expect(refused.first?["count"] as? Int == 3)
        #expect(findings.allSatisfy { $0["kind"] as? String == "connection_refused" }, "\(findings)")
        // Summaries every second, and the refusals announced before the end once a second old.
        #expect(all.filter { $0["type"] as? String == "interval" }.count >= 2)
        let provisional = all.filter { $0["provisional"] as? Bool == true }.compactMap { $0["finding"] as? [String: Any] }
        #expect(provisional.contains { $0["kind"] as? String == "connection_refused" })

        // The written file is a complete capture holding what was analysed: three refused
        // attempts and two connections both sides closed.
        let capture = try #require(all.first { $0["type"] as? String == "capture" }?["capture"] as? [String: Any])
        let info = try #require(try CLI.json(["info", "--json", file]) as? [String: Any])
        #expect(info["complete"] as? Bool == true)
        #expect(info["packets"] as? Int == capture["packets"] as? Int)
        let flows = try #require(try CLI.json(["flows", "--format", "json", file]) as? [[String: Any]])
        let states = flows.map { flow in
            ((flow["responder"] as? [String: Any])?["port"] as? Int ?? -1, flow["state"] as? String ?? "?")
        }
        #expect(states.filter { $0 == (Int(closed), "REJ") }.count == 3, "\(states)")
        #expect(states.filter { $0 == (Int(listener.port), "SF") }.count == 2, "\(states)")
        #expect(flows.count == 5)
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func signalEndsWithTheFullReportAndACompleteFile(signal: Int32) throws {
        if Self.skip() { return }
        let closed = try Loopback.unusedPort()
        let file = temporary("signal-\(signal).pcap")
        defer { unlink(file) }
        // --duration only as a bound: the signal ends it long before.
        let live = try Running(["live", "-i", "lo", "--interval", "0", "--buffer-size", "64", "--write", file,
                                "--duration", "60", "-f", "tcp port \(closed)"])
        defer { live.stop() }
        try #require(live.waitForStandardError("listening on", seconds: 10), "\(live.standardError)")
        #expect(Loopback.connect(to: closed) == ECONNREFUSED)
        // The capture reads the two packets within its 100 ms wait; give it time on a loaded machine.
        Thread.sleep(forTimeInterval: 0.5)
        kill(live.process.processIdentifier, signal)
        let status = try #require(live.wait(seconds: 10), "live did not stop on signal \(signal)")
        #expect(status == 0, "\(live.standardError)")
        #expect(live.standardOutput.contains("stopped by \(signal == SIGINT ? "SIGINT" : "SIGTERM")"))
        #expect(live.standardOutput.contains("127.0.0.1:\(closed) refused 1 connection attempt"))
        let info = try #require(try CLI.json(["info", "--json", file]) as? [String: Any])
        #expect(info["complete"] as? Bool == true)
        #expect(info["packets"] as? Int == 2)   // the SYN and the RST that refused it
    }

    @Test func countStopsAfterThatManyPackets() throws {
        if Self.skip() { return }
        let closed = try Loopback.unusedPort()
        let file = temporary("count.pcap")
        defer { unlink(file) }
        // --duration only as a bound: the count ends it long before.
        let live = try Running(["live", "-i", "lo", "--count", "3", "--interval", "0", "--buffer-size", "64",
                                "--duration", "60", "--format", "jsonl", "--write", file, "-f", "tcp port \(closed)"])
        defer { live.stop() }
        try #require(live.waitForStandardError("listening on", seconds: 10), "\(live.standardError)")
        // Two refused attempts: four packets, of which the capture keeps the first three.
        for _ in 0..<2 { #expect(Loopback.connect(to: closed) == ECONNREFUSED) }
        let status = try #require(live.wait(seconds: 10), "live did not stop after --count")
        #expect(status == 0, "\(live.standardError)")
        let stats = try lines(live.standardOutput).first { $0["type"] as? String == "live" }?["live"] as? [String: Any]
        #expect(stats?["stopped_by"] as? String == "count")
        #expect(stats?["packets"] as? Int == 3)
        let info = try #require(try CLI.json(["info", "--json", file]) as? [String: Any])
        #expect(info["packets"] as? Int == 3)
        #expect(info["complete"] as? Bool == true)
    }

    @Test func errorsAreOneLineWithTheirExitCodes() throws {
        if Self.skip() { return }
        let missing = try CLI.run(["live", "-i", "netsift-none0", "--duration", "1"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "netsift: netsift-none0: no such interface (netsift interfaces lists them)\n")
        let filter = try CLI.run(["live", "-i", "lo", "-f", "tcp prt 80", "--duration", "1"])
        #expect(filter.status == 64)
        #expect(filter.stderr == "netsift: lo: bad filter \"tcp prt 80\": can't parse filter expression: syntax error\n")
    }

    /// Without CAP_NET_RAW (root whose bounding set lacks it, through setpriv; or any other user):
    /// exit 2 and a line saying what is needed.
    @Test func noPermissionSaysWhatIsNeeded() throws {
        let result: CLI.Result
        if geteuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                print("⚠︎ root, and no /usr/bin/setpriv to drop CAP_NET_RAW: permission test skipped")
                return
            }
            result = try CLI.runTool("/usr/bin/setpriv", ["--bounding-set", "-net_raw,-net_admin", "--",
                                                          CLI.executable.path, "live", "-i", "lo", "--duration", "1"])
        } else {
            result = try CLI.run(["live", "-i", "lo", "--duration", "1"])
        }
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("netsift: lo: no permission to capture"))
        #expect(result.stderr.contains("run as root, or give netsift CAP_NET_RAW"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}

/// A `netsift` process left running while the test acts, its output collected as it comes.
final class Running: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var output = Data(), errors = Data()
    private let done = DispatchGroup()

    init(_ arguments: [String]) throws {
        process.executableURL = CLI.executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        collect(out.fileHandleForReading, standardError: false)
        collect(err.fileHandleForReading, standardError: true)
    }

    private func collect(_ handle: FileHandle, standardError: Bool) {
        done.enter()
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.withLock {
                    if standardError { errors.append(chunk) } else { output.append(chunk) }
                }
            }
            done.leave()
        }
    }

    var standardOutput: String { lock.withLock { String(decoding: output, as: UTF8.self) } }
    var standardError: String { lock.withLock { String(decoding: errors, as: UTF8.self) } }

    /// True once standard error holds `text`; false after `seconds`.
    func waitForStandardError(_ text: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if standardError.contains(text) { return true }
            if !process.isRunning { return standardError.contains(text) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// Ends the process if it still runs (a test that stopped early must not leave a capture behind).
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The exit status, with all output read; nil (and the process killed) after `seconds`.
    func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            stop()
            return nil
        }
        _ = done.wait(timeout: .now() + 5)
        return process.terminationStatus
    }
}

/// TCP on 127.0.0.1 through plain sockets: a port nobody listens on, connections, a listener.
enum Loopback {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
    }

    static func address(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    /// A socket bound to an ephemeral port of 127.0.0.1, and that port.
    static func bound() throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket") }
        var address = address(0)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw Failure("bind") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    /// A port the kernel just handed out and nobody listens on (the socket is closed again).
    static func unusedPort() throws -> UInt16 {
        let (fd, port) = try bound()
        close(fd)
        return port
    }

    /// Connects to 127.0.0.1:port and closes; 0 when the connection opened, else the errno.
    static func connect(to port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var address = address(port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result == 0 ? 0 : errno
    }

    /// Listens on an ephemeral port and serves `count` connections on a thread: accept, read until
    /// the client closes, close. Accepting gives up after 10 s.
    final class Listener: @unchecked Sendable {
        let port: UInt16
        private let fd: Int32
        private let served = DispatchSemaphore(value: 0)

        init(accepting count: Int) throws {
            (fd, port) = try bound()
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard listen(fd, 8) == 0 else { throw Failure("listen") }
            Thread.detachNewThread { [self] in
                var buffer = [UInt8](repeating: 0, count: 64)
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                for _ in 0..<count {
                    let client = accept(fd, nil, nil)
                    if client < 0 { break }
                    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                    while recv(client, &buffer, buffer.count, 0) > 0 {}
                    close(client)
                }
                served.signal()
            }
        }

        private var closed = false

        /// Waits (bounded) for the connections to be served and closes the socket; once.
        func finish() {
            guard !closed else { return }
            closed = true
            _ = served.wait(timeout: .now() + 10)
            close(fd)
        }
    }
}
