#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Several capture files read as one capture: the pieces of a ring buffer (`tcpdump -C/-G/-W`,
/// dumpcap's ring files) or one capture per node. The files are ordered by their first packet's
/// time and, where their times overlap, merged packet by packet as `mergecap` merges them: the
/// next packet is always the earliest of the files' next packets (on a tie, the file that comes
/// first). Frame numbers count the merged packets, so conversations go on across files.
///
/// Each file keeps its own reader (mapped and walked in place, as alone), read up to the next
/// packet of the others (`CaptureReader.forEachPacket(until:)`): files that follow one another
/// are read each in one go, and only overlapping stretches alternate. Packets keep their bytes;
/// their interface is renumbered across the set in the order interfaces are first used, and
/// `body`'s interface list is the set's. Files of different link types or formats mix.
///
/// Damage in one file ends that file (the packets before it were delivered) and the others are
/// read on; `damages` names each damaged file. A file that is not a capture is refused before
/// any packet is read.
public struct CaptureSet: PacketSource, ~Copyable {
    /// One file of the set and where reading it has got to.
    public final class Member {
        public let path: String
        @usableFromInline var reader: CaptureReader
        /// The time of its next packet; nil once it is read to its end.
        @usableFromInline var next: Int64?
        /// Its first packet's time (nil: it holds none).
        public let firstTime: Int64?
        /// How reading it ended, once it has.
        public var end: CaptureReader.End? { _end }
        @usableFromInline var _end: CaptureReader.End?
        /// The set's number of each of its interfaces, by its own (-1: not used yet).
        @usableFromInline var interfaceNumbers: [Int] = []

        /// Opens `path` and reads up to its first packet.
        /// - Throws: when it cannot be opened or is not a capture.
        init(path: String, reader: consuming CaptureReader) throws(CaptureError) {
            self.path = path
            self.reader = reader
            let step = self.reader.forEachPacket(until: .min) { _, _ in }
            switch step {
            case .reached(let time):
                next = time
                firstTime = time
            case .ended(.rejected(let error)):
                throw error
            case .ended(let end):
                firstTime = nil
                _end = end
            }
        }

        /// What the parser found in the file so far (its format, interfaces, statistics).
        public var parser: CaptureParser { reader.parser }
    }

    /// The files, in the order they are read: by their first packet's time (files without a
    /// packet last), then as given.
    public let members: [Member]
    /// Every interface a packet came from so far, in the set's numbering.
    @usableFromInline var interfaces: [InterfaceDescription] = []

    /// Opens every file and reads each up to its first packet, to order them.
    /// - Throws: the first file that cannot be opened or is not a capture.
    public init(paths: [String]) throws(CaptureError) {
        var members: [Member] = []
        for path in paths { members.append(try Member(path: path, reader: CaptureReader(path: path))) }
        self.members = Self.ordered(members)
    }

    /// A second set over the same files, each read through `other`'s mapping (for another thread,
    /// as `CaptureReader(sharingMappingOf:)`); nil unless every file is mapped.
    public init?(sharingMappingOf other: borrowing CaptureSet) {
        var members: [Member] = []
        for member in other.members {
            guard let reader = CaptureReader(sharingMappingOf: member.reader),
                  let copy = try? Member(path: member.path, reader: reader) else { return nil }
            members.append(copy)
        }
        self.members = Self.ordered(members)
    }

    static func ordered(_ members: [Member]) -> [Member] {
        members.enumerated().sorted { a, b in
            switch (a.element.firstTime, b.element.firstTime) {
            case let (x?, y?) where x != y: x < y
            case (_?, nil): true
            case (nil, _?): false
            default: a.offset < b.offset
            }
        }.map(\.element)
    }

    /// True when every file is mapped, so that other threads can read the set too.
    public var isMappedFile: Bool { members.allSatisfy { $0.reader.isMappedFile } }

    /// The input as messages name it: the file's path ("standard input" for `-`), or for several
    /// the first and the last with their count.
    public var displayName: String {
        let names = members.map { inputName($0.path) }
        return names.count == 1 ? names[0] : "\(names[0]) … \(names[names.count - 1]) (\(names.count) files)"
    }

    /// The paths, in reading order.
    public var paths: [String] { members.map(\.path) }

    /// Each file that was damaged, with the damage, in reading order.
    public var damages: [(path: String, damage: CaptureDamage)] {
        members.compactMap { member in
            if case .damaged(let damage)? = member.end { return (member.path, damage) }
            return nil
        }
    }

    /// What stopped reading early, in words, each damaged file named; nil when every record was read.
    public var damageDescription: String? {
        let damages = self.damages
        if damages.isEmpty { return nil }
        if members.count == 1 { return damages[0].damage.description }
        return damages.map { "\(inputName($0.path)): \($0.damage.description)" }
            .joined(separator: "; ")
    }

    /// What every file's interface statistics say their recorders dropped (nil: none says).
    public var interfaceDrops: Int? {
        var total: Int?
        for member in members {
            if let drops = member.reader.parser.interfaceDrops {
                let (sum, overflow) = (total ?? 0).addingReportingOverflow(drops)
                total = overflow ? .max : sum
            }
        }
        return total
    }

    /// Calls `body` with each packet of the merged capture, in order. Returns `.finished` when every
    /// file was read to its end, or else the first damage (`damages` has them all).
    @inlinable
    public mutating func forEachPacket<E: Error>(_ body: (CapturedPacket) throws(E) -> Void) throws(E) -> CaptureReader.End {
        try forEachPacket { (packet, _) throws(E) in try body(packet) }
    }

    /// `forEachPacket` that also hands `body` the set's interfaces, which `packet.interface` indexes
    /// (for `CaptureWriter.write(_:from:)`).
    @inlinable
    public mutating func forEachPacket<E: Error>(
        _ body: (CapturedPacket, [InterfaceDescription]) throws(E) -> Void
    ) throws(E) -> CaptureReader.End {
        if members.count == 1 {
            // One file: read as alone, nothing renumbered.
            let member = members[0]
            if member._end == nil { member._end = try member.reader.forEachPacket(body) }
            return member._end!
        }
        while true {
            // The file whose next packet comes first, and how far it may be read: up to the next
            // packet of the others (a tie goes to the file that comes first).
            var first: Int?
            for (index, member) in members.enumerated() {
                if let time = member.next, first.map({ time < members[$0].next! }) ?? true { first = index }
            }
            guard let chosen = first else { break }
            var limit = Int64.max
            for (index, member) in members.enumerated() where index != chosen {
                if let time = member.next { limit = min(limit, index < chosen ? time - 1 : time) }
            }
            let member = members[chosen]
            let step = try member.reader.forEachPacket(until: limit) { (packet, own) throws(E) in
                let number = interfaceNumber(of: packet.interface, in: member, own: own)
                try body(CapturedPacket(bytes: packet.bytes, originalLength: packet.originalLength,
                                        timestamp: packet.timestamp, hasTimestamp: packet.hasTimestamp,
                                        interface: number, linkType: packet.linkType), interfaces)
            }
            switch step {
            case .reached(let time):
                member.next = time
            case .ended(let end):
                member.next = nil
                member._end = end
            }
        }
        for member in members { if case .damaged(let damage)? = member._end { return .damaged(damage) } }
        return .finished
    }

    /// The set's number for interface `local` of `member` (`own` its interfaces), given the first
    /// time a packet uses it.
    @inlinable
    mutating func interfaceNumber(of local: Int, in member: Member, own: [InterfaceDescription]) -> Int {
        if local < member.interfaceNumbers.count, member.interfaceNumbers[local] >= 0 {
            return member.interfaceNumbers[local]
        }
        while member.interfaceNumbers.count <= local { member.interfaceNumbers.append(-1) }
        let number = interfaces.count
        interfaces.append(own[local])   // the parser hands out only packets of interfaces it has described
        member.interfaceNumbers[local] = number
        return number
    }
}

extension CaptureSet {
    /// Capture files that a directory holds, recognised by their first bytes (so that tcpdump's
    /// ring files `trace.pcap1`, `trace.pcap2`, … are found whatever their names), sorted by name;
    /// hidden files and subdirectories are left out.
    /// - Throws: when the directory cannot be read.
    public static func captures(in directory: String) throws(CaptureError) -> [String] {
        guard let stream = opendir(directory) else { throw CaptureError(path: directory, kind: CaptureReader.errnoKind()) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(".") { continue }
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if isCapture(path) { names.append(path) }
        }
        return names.sorted()
    }

    /// Whether `path` is a regular file that starts with a pcap or pcapng magic number.
    static func isCapture(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return false }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var magic: UInt32 = 0
        guard read(fd, &magic, 4) == 4 else { return false }
        return CaptureParser.isCaptureMagic(UInt32(littleEndian: magic))
    }

    /// The files the command-line arguments name: a file as it is, a directory as the captures in
    /// it (`captures(in:)`), a pattern the shell left unexpanded (`ring/*.pcap`, quoted) as the files
    /// it matches, sorted. A file named twice (by any path) is read once.
    /// - Throws: a directory without a capture, or a pattern that matches nothing.
    public static func expand(_ arguments: [String]) throws(CaptureError) -> [String] {
        var paths: [String] = []
        var seen: Set<[UInt64]> = []
        for argument in arguments {
            var status = stat()
            let exists = argument == "-" || stat(argument, &status) == 0
            var found: [String]
            if argument != "-" && exists && status.st_mode & S_IFMT == S_IFDIR {
                found = try captures(in: argument)
                if found.isEmpty {
                    throw CaptureError(path: argument, kind: .cannotOpen(errno: ENOENT, reason: "no capture file in this folder"))
                }
            } else if !exists && argument.contains(where: { "*?[".contains($0) }) {
                found = try matches(argument)
            } else {
                found = [argument]   // opening it says what is wrong with it, if anything
            }
            for path in found {
                var status = stat()
                if path != "-" && stat(path, &status) == 0 {
                    guard seen.insert([UInt64(status.st_dev), UInt64(status.st_ino)]).inserted else { continue }
                }
                paths.append(path)
            }
        }
        return paths
    }

    /// The files `pattern` matches (glob(3)), sorted.
    static func matches(_ pattern: String) throws(CaptureError) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        let status = glob(pattern, 0, nil, &result)
        guard status == 0 else {
            throw CaptureError(path: pattern, kind: .cannotOpen(errno: ENOENT, reason: "no file matches this pattern"))
        }
        var paths: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[index] { paths.append(String(cString: path)) }
        }
        return paths.sorted()
    }
}

/// What the pipeline reads packets from: one capture (`CaptureReader`) or several as one
/// (`CaptureSet`). Generic code over it is specialised for each, so neither pays for the other.
public protocol PacketSource: ~Copyable {
    /// True when other threads can read the same input at the same time (mapped files).
    var isMappedFile: Bool { get }
    /// A second reader of the same input for another thread; nil when it cannot be.
    init?(sharingMappingOf other: borrowing Self)
    /// Every packet, in order, with the interfaces its `interface` indexes.
    mutating func forEachPacket<E: Error>(
        _ body: (CapturedPacket, [InterfaceDescription]) throws(E) -> Void
    ) throws(E) -> CaptureReader.End
}

extension CaptureReader: PacketSource {}
