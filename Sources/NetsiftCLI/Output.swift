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

/// 1234567 -> "1,234,567".
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return value < 0 ? "-" + out : out
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

/// Nanoseconds since the epoch as "2024-05-01 12:34:56.123456789 UTC" (proleptic Gregorian calendar).
func formatUTC(_ nanoseconds: Int64) -> String {
    // Floor division, written so that no timestamp a capture can hold (Int64.min included) overflows.
    var seconds = nanoseconds / 1_000_000_000
    var nanos = nanoseconds % 1_000_000_000
    if nanos < 0 {
        seconds -= 1
        nanos += 1_000_000_000
    }
    var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let secondOfDay = seconds - days * 86_400
    // Days since 1970-01-01 to a civil date, counting in 400-year eras of 146097 days from 0000-03-01.
    days += 719_468
    let era = (days >= 0 ? days : days - 146_096) / 146_097
    let dayOfEra = days - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(secondOfDay / 3600, 2)):"
        + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(nanos, 9)) UTC"
}

/// "1 packet", "2,000 packets": `plural` with the count grouped by thousands.
func counted(_ value: Int, _ noun: String) -> String {
    "\(grouped(value)) \(value == 1 ? noun : pluralForm(of: noun))"
}
