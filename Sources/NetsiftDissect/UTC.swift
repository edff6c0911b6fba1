/// Calendar arithmetic in UTC, without Foundation: Howard Hinnant's days_from_civil and its inverse
/// (proleptic Gregorian calendar; years counted from March, so the leap day is last).
public enum UTCTimestamp {
    /// Seconds since the epoch of a civil date and time.
    public static func seconds(year: Int, month: Int, day: Int, hours: Int, minutes: Int, seconds: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = Int64(era) * 146_097 + Int64(dayOfEra) - 719_468
        return days * 86_400 + Int64(hours * 3600 + minutes * 60 + seconds)
    }

    /// The civil date and the second of the day of `seconds` since the epoch. Floor division, so
    /// that no time a capture can hold (Int64.min included) overflows.
    public static func civil(_ seconds: Int64) -> (year: Int64, month: Int64, day: Int64, secondOfDay: Int64) {
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
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day, secondOfDay)
    }

    /// "2014-03-04T23:59:59Z".
    public static func iso(_ seconds: Int64) -> String {
        let t = civil(seconds)
        return "\(padded(t.year, 4))-\(padded(t.month, 2))-\(padded(t.day, 2))T\(padded(t.secondOfDay / 3600, 2)):"
            + "\(padded(t.secondOfDay / 60 % 60, 2)):\(padded(t.secondOfDay % 60, 2))Z"
    }

    static func padded(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

extension UTCTimestamp {
    /// Nanoseconds since the epoch as whole seconds (floor) and the nanoseconds past them (0 up to
    /// a billion, also before the epoch).
    public static func seconds(ofNanoseconds nanoseconds: Int64) -> (seconds: Int64, nanos: Int64) {
        let seconds = nanoseconds / 1_000_000_000, nanos = nanoseconds % 1_000_000_000
        return nanos < 0 ? (seconds - 1, nanos + 1_000_000_000) : (seconds, nanos)
    }
}

/// Nanoseconds since the epoch as "2024-05-01 12:34:56.123456789 UTC".
public func formatUTC(_ nanoseconds: Int64) -> String {
    let (seconds, nanos) = UTCTimestamp.seconds(ofNanoseconds: nanoseconds)
    let t = UTCTimestamp.civil(seconds)
    let pad = UTCTimestamp.padded
    return "\(pad(t.year, 4))-\(pad(t.month, 2))-\(pad(t.day, 2)) \(pad(t.secondOfDay / 3600, 2)):"
        + "\(pad(t.secondOfDay / 60 % 60, 2)):\(pad(t.secondOfDay % 60, 2)).\(pad(nanos, 9)) UTC"
}
