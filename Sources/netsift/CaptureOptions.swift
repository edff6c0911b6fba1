import ArgumentParser
import NetsiftCapture

/// The options every command that reads packets shares.
struct FilterOption: ParsableArguments {
    @Option(name: [.customShort("f"), .long], help: ArgumentHelp(
        "Only packets matching this BPF filter (libpcap syntax, as tcpdump), e.g. \"tcp port 443\".",
        valueName: "expression"))
    var filter: String?

    /// The compiled filter, or nil when none was given. A syntax error is reported before reading.
    func compiled() throws -> PacketFilter? {
        guard let filter else { return nil }
        do {
            return try PacketFilter(expression: filter)
        } catch {
            warn(error.description)
            throw ExitCode(ExitStatus.usage.rawValue)
        }
    }
}

/// `netsift interfaces`: what libpcap can capture on.
struct Interfaces: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "interfaces", abstract: "List the interfaces live capture can use.")

    func run() throws {
        let interfaces: [(name: String, description: String?, loopback: Bool, up: Bool)]
        do {
            interfaces = try LiveCapture.interfaces()
        } catch {
            warn(error.description)
            throw ExitCode(ExitStatus.unreadable.rawValue)
        }
        let width = interfaces.map(\.name.count).max() ?? 0
        for interface in interfaces {
            var notes: [String] = [interface.up ? "up" : "down"]
            if interface.loopback { notes.append("loopback") }
            if let description = interface.description { notes.append(description) }
            print(interface.name.padding(width) + "  " + notes.joined(separator: ", "))
        }
    }
}

extension String {
    /// Left-aligned in a column of `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
