import Foundation
import NetsiftTestSupport

/// Runs the built `netsift` executable, as a user would, and collects what it printed.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `netsift` binary beside the test bundle in the build folder.
    static let executable: URL = {
        var url = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("netsift").path)
                && url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("netsift")
    }()

    static func run(_ arguments: [String], stdin: URL? = nil) throws -> Result {
        try runTool(executable.path, arguments, stdin: stdin)
    }

    /// Runs another program (such as setpriv running netsift) the same way.
    static func runTool(_ path: String, _ arguments: [String], stdin: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin { process.standardInput = try FileHandle(forReadingFrom: stdin) }
        try process.run()
        // Read both pipes before waiting, so a large output cannot fill a pipe and block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Parses stdout as JSON.
    static func json(_ arguments: [String]) throws -> Any {
        let result = try run(arguments)
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }
}
