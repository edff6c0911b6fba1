import ArgumentParser

@main
struct NetsiftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netsift",
        abstract: "Packet-capture analysis: what went wrong on the network, layer by layer.",
        subcommands: [Analyze.self, Live.self, Check.self, Info.self, Packets.self, Flows.self, Export.self, Merge.self, Interfaces.self]
    )
}
