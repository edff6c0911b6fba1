import Foundation

// libFuzzer's entry point when the program keeps its own `main` (SwiftPM renames an executable's
// `main`, so libFuzzer's would never run): it parses libFuzzer's flags and calls `test` per input.
@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// What one input is read as (`NETSIFT_FUZZ_TARGET`).
enum FuzzTarget: String, CaseIterable {
    /// A whole capture file through the reader, the dissector, the flow tracker and the diagnosis.
    case capture
    /// One conversation's application bytes, in chunks, through one application parser.
    case stream
}

let selectedTarget = getenv("NETSIFT_FUZZ_TARGET").flatMap { FuzzTarget(rawValue: String(cString: $0)) }

/// `NETSIFT_FUZZ_TARGET=capture|stream NetsiftFuzz [libFuzzer flags] [corpus dirs]` fuzzes;
/// `NetsiftFuzz --make-seeds DIR CAPTURE...` writes `stream` seeds (each conversation's
/// reassembled bytes) from captures into DIR.
@main
enum NetsiftFuzz {
    static func main() {
        let arguments = CommandLine.arguments
        if arguments.count >= 3 && arguments[1] == "--make-seeds" {
            let written = Seeds.write(to: arguments[2], from: Array(arguments.dropFirst(3)))
            print("wrote \(written) stream seeds to \(arguments[2])")
            return
        }
        guard selectedTarget != nil else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            FileHandle.standardError.write(Data("set NETSIFT_FUZZ_TARGET=\(names)\n".utf8))
            exit(64)
        }
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, count in
            let input = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : count)
            switch selectedTarget! {
            case .capture: CaptureTarget.run(input)
            case .stream: StreamTarget.run(input)
            }
            return 0
        })
    }
}
