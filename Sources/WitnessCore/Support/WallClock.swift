import Glibc

/// Converts the kernel's CLOCK_BOOTTIME timestamps into wall-clock time and formats
/// them as RFC 3339 with nanoseconds, as Falco's `time` field. The offset between
/// the two clocks is measured once; it moves only when the wall clock is stepped.
package struct WallClock: Sendable {
    /// Nanoseconds to add to a boot-time timestamp to get nanoseconds since the epoch.
    package let offset: Int64

    package init() {
        var boot = timespec()
        var real = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        clock_gettime(CLOCK_REALTIME, &real)
        offset = Self.nanoseconds(real) - Self.nanoseconds(boot)
    }

    package init(offset: Int64) {
        self.offset = offset
    }

    package func epochNanoseconds(boot: UInt64) -> Int64 {
        Int64(bitPattern: boot) &+ offset
    }

    /// Current CLOCK_BOOTTIME, comparable with event timestamps.
    package static func bootNow() -> UInt64 {
        var boot = timespec()
        clock_gettime(CLOCK_BOOTTIME, &boot)
        return UInt64(nanoseconds(boot))
    }

    static func nanoseconds(_ time: timespec) -> Int64 {
        Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// Appends `"<RFC 3339 time>",`: a JSON time value and the comma after it.
    package static func appendQuotedRFC3339(_ epochNanoseconds: Int64, to writer: inout JSONWriter) {
        writer.byte(UInt8(ascii: "\""))
        appendRFC3339(epochNanoseconds, to: &writer)
        writer.raw("\",")
    }

    /// Appends `2026-05-11T21:57:09.123456789Z` for `epochNanoseconds` (UTC).
    package static func appendRFC3339(_ time: Int64, to writer: inout JSONWriter) {
        // 1970 to 2262: what Int64 nanoseconds hold; a crafted timestamp (a recording)
        // is clamped there rather than overflowing the arithmetic below.
        let epochNanoseconds = min(max(time, 0), Int64.max - 1_000_000_000)
        let seconds =
            epochNanoseconds >= 0 ? epochNanoseconds / 1_000_000_000 : (epochNanoseconds - 999_999_999) / 1_000_000_000
        let nanos = Int(epochNanoseconds - seconds * 1_000_000_000)
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let secondOfDay = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        writer.padded(year, width: 4)
        writer.byte(UInt8(ascii: "-"))
        writer.padded(month, width: 2)
        writer.byte(UInt8(ascii: "-"))
        writer.padded(day, width: 2)
        writer.byte(UInt8(ascii: "T"))
        appendClock(secondOfDay: secondOfDay, nanos: nanos, fractionDigits: 9, to: &writer)
        writer.byte(UInt8(ascii: "Z"))
    }

    /// Appends `21:57:09.123` (fractionDigits 3) or with nanoseconds (9).
    /// `HH:MM:SS` and `digits` of fraction (UTC) of `epochNanoseconds`: the time of
    /// day alert outputs and text lines start with. A time before 1970 (only a
    /// crafted recording has one) is written as 1970's first instant.
    static func appendTimeOfDay(_ epochNanoseconds: Int64, digits: Int, to writer: inout JSONWriter) {
        let epoch = max(epochNanoseconds, 0)
        let seconds = epoch / 1_000_000_000
        appendClock(
            secondOfDay: Int(seconds % 86_400), nanos: Int(epoch % 1_000_000_000), fractionDigits: digits, to: &writer)
    }

    static func appendClock(secondOfDay: Int, nanos: Int, fractionDigits: Int, to writer: inout JSONWriter) {
        writer.padded(secondOfDay / 3600, width: 2)
        writer.byte(UInt8(ascii: ":"))
        writer.padded(secondOfDay / 60 % 60, width: 2)
        writer.byte(UInt8(ascii: ":"))
        writer.padded(secondOfDay % 60, width: 2)
        writer.byte(UInt8(ascii: "."))
        var fraction = nanos
        for _ in fractionDigits..<9 { fraction /= 10 }
        writer.padded(fraction, width: fractionDigits)
    }

    /// Proleptic Gregorian calendar date of a day count since 1970-01-01, by the
    /// era-based method (400-year eras of 146097 days).
    static func civilDate(daysSinceEpoch: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = daysSinceEpoch + 719_468  // days since 0000-03-01
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153  // March = 0
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
