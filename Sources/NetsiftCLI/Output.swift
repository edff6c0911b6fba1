import Netsift
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The exit codes every command uses (documented in the README), worst wins.
enum ExitStatus: Int32, Comparable, Encodable {
    case success = 0
    /// `check`: an expectation did not hold.
    case expectationFailed = 1
    /// The input could not be read at all: no such file, no permission, not a capture.
    case unreadable = 2
    /// The capture is damaged or cut short; everything before the damage was analysed.
    case damaged = 3
    /// `merge`: the shard outputs are not every shard of one analysis (other captures, options
    /// or versions, a shard twice or missing).
    case shardsRefused = 4
    /// Wrong command-line usage (ArgumentParser's own code for it too), such as a bad filter.
    case usage = 64

    static func < (a: ExitStatus, b: ExitStatus) -> Bool { a.rawValue < b.rawValue }
}

/// One line on standard error, prefixed with the tool's name.
func warn(_ message: String) {
    writeStandardError("netsift: \(message)\n")
}

/// Text on standard error as it is (progress lines rewrite themselves with \r).
func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

/// A number with a fixed count of decimals, without Foundation's locale-dependent formatting.
func fixed(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    // Past what Int holds (a rate over a hostile nanosecond), the plain Double says it.
    guard value.isFinite, value.magnitude * scale < 9e18 else { return String(value) }
    let scaled = (value.magnitude * scale).rounded()
    let whole = Int(scaled / scale)
    var fraction = String(Int(scaled - Double(whole) * scale))
    while fraction.count < decimals { fraction = "0" + fraction }
    let sign = value < 0 && scaled > 0 ? "-" : ""
    return decimals == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
}

