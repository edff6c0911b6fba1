import Foundation

/// The third-party captures in `../shared/captures` (beside the project's checkout) and the
/// figures `tshark -2` computed for each of them (`oracle/NAME.json`). Tests that compare with
/// Wireshark read them from there and skip, saying why, when the folder is absent.
public enum Corpus {
    /// The project's root folder (the one holding Package.swift).
    public static let projectRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        // Tests/Support/Corpus.swift -> project root
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// `$NETSIFT_CAPTURES`, else `../shared/captures` next to the project, if it exists.
    public static let directory: URL? = {
        if let env = ProcessInfo.processInfo.environment["NETSIFT_CAPTURES"] {
            let url = URL(fileURLWithPath: env)
            return FileManager.default.fileExists(atPath: url.path) ? url : nil
        }
        let url = projectRoot.deletingLastPathComponent().appendingPathComponent("shared/captures")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }()

    public static let missingMessage =
        "../shared/captures not found beside the project (set NETSIFT_CAPTURES to point elsewhere): Wireshark comparison skipped"

    /// Every capture file in the corpus, sorted by name (empty when the corpus is absent).
    public static var captureNames: [String] {
        guard let dir = directory,
              let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return names.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted()
    }

    /// The tunnel captures of `next/` (container overlays, traffic mirroring, provider tunnels), named
    /// by their path below the corpus ("next/tunnel-vxlan-http.pcap"); their oracles are in
    /// `next/oracle/`.
    public static var tunnelCaptureNames: [String] {
        guard let dir = directory,
              let names = try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("next").path)
        else { return [] }
        return names.filter { $0.hasPrefix("tunnel-") && ($0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng")) }
            .sorted().map { "next/" + $0 }
    }

    /// The captures of `next/` (tunnels, certificates, HTTP/1.x), named `next/NAME`, sorted; they
    /// join the corpus tests capability by capability.
    public static var nextCaptureNames: [String] {
        guard let dir = directory?.appendingPathComponent("next"),
              let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return names.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted().map { "next/" + $0 }
    }

    public static func path(_ name: String) -> String? {
        directory?.appendingPathComponent(name).path
    }

    /// Every fixture of the project, then every capture of the corpus when it is there (paths).
    public static var fixturesAndCaptures: [String] {
        let fixtures = (FileManager.default.enumerator(atPath: fixturesDirectory.path)?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }
            .map { fixturesDirectory.appendingPathComponent($0).path }
        return fixtures.sorted() + captureNames.compactMap(path)
    }

    /// The oracle's JSON for one capture, as Foundation objects.
    public static func oracle(_ name: String) -> [String: Any]? {
        guard let dir = directory else { return nil }
        let url = name.hasPrefix("next/")
            ? dir.appendingPathComponent("next/oracle/\(name.dropFirst("next/".count)).json")
            : dir.appendingPathComponent("oracle/\(name).json")
        guard let data = try? Data(contentsOf: url) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// The project's own fixture folder.
    public static var fixturesDirectory: URL { projectRoot.appendingPathComponent("Fixtures") }

    /// Decode-As rules for captures whose ports tshark does not map by itself (`decode_as.tsv`):
    /// capture file name -> rules such as `tcp.port==8443,http2` (from the corpus's and `next/`'s).
    public static var decodeAs: [String: [String]] {
        guard let dir = directory else { return [:] }
        var rules: [String: [String]] = [:]
        for file in ["decode_as.tsv", "next/decode_as.tsv"] {
            guard let text = try? String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: "\t", maxSplits: 1)
                if parts.count == 2 { rules[String(parts[0]), default: []].append(String(parts[1])) }
            }
        }
        return rules
    }
}

/// Differences from Wireshark that we accept, each with the reason a Wireshark developer would
/// accept: `Tests/allowlist.tsv`, one `capture<TAB>field<TAB>reason` per line (`#` comments).
/// One file for the whole project, so the list of disagreements stays short and visible.
public enum Allowlist {
    public struct Entry: Sendable { public let capture, field, reason: String }

    public static let entries: [Entry] = {
        let url = Corpus.projectRoot.appendingPathComponent("Tests/allowlist.tsv")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            if line.hasPrefix("#") { return nil }
            let parts = line.split(separator: "\t", maxSplits: 2).map(String.init)
            return parts.count == 3 ? Entry(capture: parts[0], field: parts[1], reason: parts[2]) : nil
        }
    }()

    /// The reason `field` of `capture` may differ from the oracle, or nil when it must agree.
    public static func reason(_ capture: String, _ field: String) -> String? {
        entries.first { $0.capture == capture && $0.field == field }?.reason
    }
}

/// The oracle writes IPv6 endpoints as "2001:db8::1:443"; ours are "[2001:db8::1]:443".
public func bracketed(_ endpoint: String) -> String {
    let colons = endpoint.filter { $0 == ":" }.count
    guard colons > 1, let last = endpoint.lastIndex(of: ":") else { return endpoint }
    return "[\(endpoint[..<last])]\(endpoint[last...])"
}
