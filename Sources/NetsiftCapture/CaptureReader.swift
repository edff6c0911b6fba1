#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Reads a capture file, standard input (`-`) or a FIFO, and hands out every packet as a view into
/// its bytes. A regular file is memory-mapped and walked in place; anything else is read through one
/// reusable buffer. Either way nothing is allocated or copied per packet.
///
///     var reader = try CaptureReader(path: "trace.pcapng")
///     let end = reader.forEachPacket { packet in count += 1 }
public struct CaptureReader: ~Copyable {
    public let path: String
    /// The parser's view of the file so far: format, sections, interfaces, counters.
    public var parser: CaptureParser { state }
    @usableFromInline var state = CaptureParser()
    @usableFromInline var source: Source
    /// The mapped file's walker this reader is, while a walk is paused part-way
    /// (`forEachPacket(until:)`): it keeps the pages from its place on mapped.
    @usableFromInline var walker: Int?

    @usableFromInline enum Source {
        case mapped(MappedFile)
        case stream(StreamBuffer)
    }

    /// How reading ended.
    public enum End: Sendable, Equatable {
        /// Every record was read.
        case finished
        /// The packets before the damage were delivered; the rest of the file cannot be trusted.
        case damaged(CaptureDamage)
        /// Not a capture we can read; no packet was delivered.
        case rejected(CaptureError)
    }

    /// Opens `path` (`-` for standard input). Throws only when the file cannot be opened; whether it
    /// is a capture is found out while reading.
    public init(path: String) throws(CaptureError) {
        self.path = path
        if path == "-" {
            source = .stream(StreamBuffer(fd: 0, closeWhenDone: false))
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CaptureError(path: path, kind: Self.errnoKind()) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let kind = Self.errnoKind()
            close(fd)
            throw CaptureError(path: path, kind: kind)
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw CaptureError(path: path, kind: .cannotOpen(errno: EISDIR, reason: "is a directory"))
        }
        if (status.st_mode & S_IFMT) == S_IFREG, status.st_size > 0,
           let mapping = MappedFile(fd: fd, size: Int(status.st_size)) {
            close(fd)   // the mapping keeps the file's pages reachable on its own
            source = .mapped(mapping)
        } else {
            source = .stream(StreamBuffer(fd: fd, closeWhenDone: true))
        }
    }

    /// True when the input is a regular file read through a mapping: another reader can open
    /// it and read it at the same time (what a pipe cannot).
    public var isMappedFile: Bool {
        if case .mapped = source { return true }
        return false
    }

    /// A second reader of the same file over `other`'s mapping, for another thread: each reader
    /// walks the whole file on its own, and no page is mapped twice; pages are released once the
    /// slowest reader is past them. nil when `other` does not read a mapped file.
    public init?(sharingMappingOf other: borrowing CaptureReader) {
        guard case .mapped(let mapping) = other.source else { return nil }
        path = other.path
        source = .mapped(mapping)
    }

    deinit {
        if let walker, case .mapped(let mapping) = source { mapping.leave(walker) }
    }

    static func errnoKind() -> CaptureError.Kind {
        let code = errno
        return .cannotOpen(errno: code, reason: String(cString: strerror(code)))
    }

    /// Calls `body` with each packet in file order. Stops early only if `body` throws.
    @inlinable
    public mutating func forEachPacket<E: Error>(_ body: (CapturedPacket) throws(E) -> Void) throws(E) -> End {
        try forEachPacket { (packet, _) throws(E) in try body(packet) }
    }

    /// `forEachPacket` that also hands `body` the interfaces described so far (`parser` itself
    /// cannot be read while the reader is reading), for `CaptureWriter.write(_:from:)`.
    ///
    ///     let copy = try CaptureWriter(path: "selected.pcapng", like: &reader)
    ///     let end = reader.forEachPacket { packet, interfaces in
    ///         if keep(packet) { copy.write(packet, from: interfaces) }
    ///     }
    ///     copy.close()
    @inlinable
    public mutating func forEachPacket<E: Error>(
        _ body: (CapturedPacket, [InterfaceDescription]) throws(E) -> Void
    ) throws(E) -> End {
        switch try forEachPacket(until: .max, body) {
        case .ended(let end): return end
        case .reached: return .finished   // no packet is later than Int64.max
        }
    }

    /// How reading up to a time limit stopped.
    public enum Step: Sendable, Equatable {
        /// The next packet is later than the limit; its time. It is left unread.
        case reached(Int64)
        /// Reading is over.
        case ended(End)
    }

    /// `forEachPacket` that stops before the first packet later than `limit` (ns since the
    /// epoch), leaving it for the next call: what merging several files by time needs
    /// (`CaptureSet`). `until: Int64.min` reads up to the first packet and tells its time.
    @inlinable
    public mutating func forEachPacket<E: Error>(
        until limit: Int64, _ body: (CapturedPacket, [InterfaceDescription]) throws(E) -> Void
    ) throws(E) -> Step {
        switch source {
        case .mapped(let mapping):
            return try mapping.walk(&state, path: path, until: limit, walker: &walker, body)
        case .stream(let buffer):
            return try buffer.walk(&state, path: path, until: limit, body)
        }
    }

    /// Reads the file header before any packet, so that `parser.format` is known (and, for classic
    /// pcap, its one interface): a writer made `like:` this input needs it before the first packet.
    /// Reading packets afterwards goes on from there.
    /// - Throws: when the input is not a capture, or reading standard input or a FIFO fails.
    public mutating func readFormat() throws(CaptureError) -> CaptureFormat {
        let outcome = switch source {
        case .mapped(let mapping): mapping.readFileHeader(&state)
        case .stream(let buffer): buffer.readFileHeader(&state)
        }
        if case .rejected(let kind) = outcome { throw CaptureError(path: path, kind: kind) }
        if case .damaged(let damage) = outcome, case .readFailed(let code) = damage.kind {
            throw CaptureError(path: path, kind: .cannotOpen(errno: code, reason: String(cString: strerror(code))))
        }
        guard let format = state.format else {
            throw CaptureError(path: path, kind: .notACapture(what: "it ends before its file header"))
        }
        return format
    }
}

extension CaptureReader.Step {
    @inlinable
    init(_ outcome: CaptureParser.Outcome, path: String) {
        switch outcome {
        case .finished, .needMore: self = .ended(.finished)
        case .reached(let time): self = .reached(time)
        case .damaged(let damage): self = .ended(.damaged(damage))
        case .rejected(let kind): self = .ended(.rejected(CaptureError(path: path, kind: kind)))
        }
    }
}

/// A read-only private mapping of a whole file. It is walked in windows of `windowLength` bytes, and
/// the pages behind the window are released as it moves on, so resident memory stays at about one
/// window however large the file is (mapped pages count towards a process's RSS). Readers on
/// several threads may walk it at once (`CaptureReader(sharingMappingOf:)`): pages are then
/// released behind the slowest.
/// A class because it owns the mapping (one per open file, never per packet).
@usableFromInline
final class MappedFile {
    @usableFromInline let base: UnsafeRawPointer
    @usableFromInline let size: Int
    @usableFromInline static let windowLength = 4 << 20
    /// Where each walker has got to, and where the pages are released up to. Taken once a window.
    @usableFromInline let walkers = Mutex(Walkers())

    @usableFromInline struct Walkers: Sendable {
        var positions: [Int] = []
        var released = 0
    }

    init?(fd: Int32, size: Int) {
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            return nil
        }
        _ = madvise(address, size, MADV_SEQUENTIAL)
        self.base = UnsafeRawPointer(address)
        self.size = size
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    @inlinable
    func walk<E: Error>(_ parser: inout CaptureParser, path: String, until limit: Int64, walker slot: inout Int?,
                        _ body: (CapturedPacket, [InterfaceDescription]) throws(E) -> Void) throws(E) -> CaptureReader.Step {
        let walker = slot ?? join(at: parser.bytesConsumed)
        slot = walker
        // A walk paused before a later packet keeps its place (and the pages from there); one that
        // ended, or that `body` stopped, holds nothing back any more.
        var paused = false
        defer {
            if !paused {
                leave(walker)
                slot = nil
            }
        }
        var want = Self.windowLength
        while true {
            let start = parser.bytesConsumed
            let end = min(size, start + max(want, Self.windowLength))
            // The span covers bytes of the mapping, which outlives this call; it does not escape `parse`.
            let window = UnsafeRawBufferPointer(start: base + start, count: end - start)
            let outcome = try parser.parse(window.bytes, isFinal: end == size, until: limit, body)
            if case .reached = outcome { paused = true }
            guard case .needMore(let needed) = outcome else { return CaptureReader.Step(outcome, path: path) }
            want = needed
            releasePages(before: parser.bytesConsumed, walker: walker)
        }
    }

    func readFileHeader(_ parser: inout CaptureParser) -> CaptureParser.Outcome {
        // The whole file is a valid window: only the header's first bytes are touched.
        parser.parseFileHeader(UnsafeRawBufferPointer(start: base, count: size).bytes, isFinal: true)
    }

    /// A new walker starting at `offset`; returns its number (the place of one that is through, if
    /// any, so that walks paused and taken up again do not grow the list).
    @usableFromInline
    func join(at offset: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        return walkers.withLock { state -> Int in
            // Reading again pages released before: they come back from the file, to be released again.
            state.released = min(state.released, offset / page * page)
            if let free = state.positions.firstIndex(of: .max) {
                state.positions[free] = offset
                return free
            }
            state.positions.append(offset)
            return state.positions.count - 1
        }
    }

    /// The walker is through: it holds no page back any more. When no walker is left, the pages
    /// still resident (the last window) are released too: a set of many files read one after the
    /// other (`CaptureSet`) would otherwise keep a window of each until all are done.
    @usableFromInline
    func leave(_ walker: Int) {
        walkers.withLock { state in
            state.positions[walker] = .max
            guard state.positions.allSatisfy({ $0 == .max }), state.released < size else { return }
            _ = madvise(UnsafeMutableRawPointer(mutating: base + state.released), size - state.released, MADV_DONTNEED)
            state.released = size
        }
    }

    /// The walker is at `offset`: drops the pages wholly before every walker from this process
    /// (the page cache keeps them).
    @usableFromInline
    func releasePages(before offset: Int, walker: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        walkers.withLock { state in
            state.positions[walker] = offset
            let boundary = min(size, state.positions.min() ?? offset) / page * page
            guard boundary > state.released else { return }
            _ = madvise(UnsafeMutableRawPointer(mutating: base + state.released), boundary - state.released,
                        MADV_DONTNEED)
            state.released = boundary
        }
    }
}

/// One buffer that standard input or a FIFO is read into. Parsed records are dropped from its front
/// and the rest moved down before the next read; it grows only when one record is larger than it,
/// and never beyond the largest record the parser accepts.
/// A class because it owns the buffer and the descriptor (one per open input, never per packet).
@usableFromInline
final class StreamBuffer {
    @usableFromInline let fd: Int32
    @usableFromInline let closeWhenDone: Bool
    @usableFromInline var storage: UnsafeMutableRawBufferPointer
    @usableFromInline var filled = 0
    @usableFromInline var atEndOfInput = false

    init(fd: Int32, closeWhenDone: Bool) {
        self.fd = fd
        self.closeWhenDone = closeWhenDone
        storage = .allocate(byteCount: 1 << 20, alignment: 16)
        #if os(Linux)
        // A pipe holds 64 KiB by default; a larger one halves the reads per packet when a writer
        // (tcpdump -w -, cat) keeps up. Fails harmlessly on anything that is not a pipe.
        let setPipeSize: Int32 = 1031   // F_SETPIPE_SZ, which Glibc does not export to Swift
        _ = fcntl(fd, setPipeSize, Int32(1 << 20))
        #endif
    }

    deinit {
        storage.deallocate()
        if closeWhenDone { close(fd) }
    }

    @inlinable
    func walk<E: Error>(_ parser: inout CaptureParser, path: String, until limit: Int64,
                        _ body: (CapturedPacket, [InterfaceDescription]) throws(E) -> Void) throws(E) -> CaptureReader.Step {
        var needed = 1
        while true {
            if let failure = fill(atLeast: needed) {
                return .ended(.damaged(CaptureDamage(kind: .readFailed(errno: failure), offset: parser.bytesConsumed,
                                                     packetsRead: parser.packetsRead)))
            }
            let before = parser.bytesConsumed
            let window = UnsafeRawBufferPointer(start: storage.baseAddress, count: filled)
            let outcome = try parser.parse(window.bytes, isFinal: atEndOfInput, until: limit, body)
            dropFront(parser.bytesConsumed - before)
            guard case .needMore(let more) = outcome else { return CaptureReader.Step(outcome, path: path) }
            needed = more
        }
    }

    func readFileHeader(_ parser: inout CaptureParser) -> CaptureParser.Outcome {
        var needed = 1
        while true {
            if let failure = fill(atLeast: needed) {
                return .damaged(CaptureDamage(kind: .readFailed(errno: failure), offset: parser.bytesConsumed,
                                              packetsRead: parser.packetsRead))
            }
            let before = parser.bytesConsumed
            let window = UnsafeRawBufferPointer(start: storage.baseAddress, count: filled)
            let outcome = parser.parseFileHeader(window.bytes, isFinal: atEndOfInput)
            dropFront(parser.bytesConsumed - before)
            guard case .needMore(let more) = outcome else { return outcome }
            needed = more
        }
    }

    /// Moves the unparsed tail to the front of the buffer.
    @usableFromInline
    func dropFront(_ count: Int) {
        guard count > 0 else { return }
        let base = storage.baseAddress!
        if count < filled { memmove(base, base + count, filled - count) }
        filled -= count
    }

    /// Reads until the buffer holds `needed` bytes or the input ends; returns errno on a read error.
    @usableFromInline
    func fill(atLeast needed: Int) -> Int32? {
        if needed > storage.count {
            let grown = UnsafeMutableRawBufferPointer.allocate(
                byteCount: max(needed, min(storage.count * 2, CaptureParser.maximumRecordLength)), alignment: 16)
            grown.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: filled)
            storage.deallocate()
            storage = grown
        }
        while filled < needed && !atEndOfInput {
            let count = read(fd, storage.baseAddress! + filled, storage.count - filled)
            if count > 0 { filled += count }
            else if count == 0 { atEndOfInput = true }
            else if errno != EINTR { return errno }
        }
        return nil
    }
}
