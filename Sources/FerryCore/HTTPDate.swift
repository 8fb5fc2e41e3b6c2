#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// HTTP dates (RFC 9110 section 5.6.7): IMF-fixdate out; IMF-fixdate, RFC 850 and asctime in.
public enum HTTPDate {
    static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats whole seconds since 1970 as an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func format(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let civil = CivilTime(epochSeconds: seconds)
        let weekday = days[Int(((seconds / 86400) % 7 + 7) % 7)]
        return "\(weekday), \(pad(civil.day)) \(months[civil.month - 1]) \(civil.year) "
            + "\(pad(civil.hour)):\(pad(civil.minute)):\(pad(civil.second)) GMT"
    }

    /// Parses any of the three HTTP date formats; nil when invalid.
    public static func parse(_ text: String) -> Date? {
        let parts = text.trimmingSpaces.split(separator: " ", omittingEmptySubsequences: true)
        var day: Int?
        var month: Int?
        var year: Int?
        var time: Substring?
        if parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT" {
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            day = Int(parts[1])
            month = months.firstIndex(of: String(parts[2])).map { $0 + 1 }
            year = parts[3].count == 4 ? Int(parts[3]) : nil
            time = parts[4]
        } else if parts.count == 4, parts[0].hasSuffix(","), parts[3] == "GMT" {
            // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
            let dmy = parts[1].split(separator: "-")
            guard dmy.count == 3, let yy = Int(dmy[2]), dmy[2].count == 2 else { return nil }
            day = Int(dmy[0])
            month = months.firstIndex(of: String(dmy[1])).map { $0 + 1 }
            // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
            year = yy < 70 ? 2000 + yy : 1900 + yy
            time = parts[2]
        } else if parts.count == 5 {
            // asctime: Sun Nov  6 08:49:37 1994
            month = months.firstIndex(of: String(parts[1])).map { $0 + 1 }
            day = Int(parts[2])
            time = parts[3]
            year = parts[4].count == 4 ? Int(parts[4]) : nil
        }
        guard let day, let month, let year, let time, (1...31).contains(day) else { return nil }
        let hms = time.split(separator: ":")
        guard hms.count == 3, let h = Int(hms[0]), let m = Int(hms[1]), let s = Int(hms[2]),
            (0..<24).contains(h), (0..<60).contains(m), (0...60).contains(s)
        else { return nil }
        let civil = CivilTime(year: year, month: month, day: day, hour: h, minute: m, second: s)
        return Date(timeIntervalSince1970: TimeInterval(civil.epochSeconds))
    }

    /// RFC 3339 UTC with whole seconds, e.g. `2026-11-22T18:00:00Z` (the JSON time format).
    public static func rfc3339(_ date: Date) -> String {
        let c = CivilTime(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        return "\(c.year)-\(pad(c.month))-\(pad(c.day))T\(pad(c.hour)):\(pad(c.minute)):\(pad(c.second))Z"
    }

    /// Parses RFC 3339 (`Z` or `±hh:mm` offsets, optional fraction); nil when invalid.
    public static func parseRFC3339(_ text: String) -> Date? {
        let u = Array(text.utf8)
        func num(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= u.count else { return nil }
            var v = 0
            for i in range {
                guard u[i] >= 48 && u[i] <= 57 else { return nil }
                v = v * 10 + Int(u[i] - 48)
            }
            return v
        }
        guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"),
            u[10] == UInt8(ascii: "T") || u[10] == UInt8(ascii: "t"), u[13] == UInt8(ascii: ":"),
            u[16] == UInt8(ascii: ":"),
            let year = num(0..<4), let month = num(5..<7), let day = num(8..<10), let h = num(11..<13),
            let m = num(14..<16), let s = num(17..<19), (1...12).contains(month), (1...31).contains(day),
            h < 24, m < 60, s <= 60
        else { return nil }
        var i = 19
        var fraction = 0.0
        if u[i] == UInt8(ascii: ".") {
            var scale = 0.1
            i += 1
            while i < u.count, u[i] >= 48 && u[i] <= 57 {
                fraction += Double(u[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        guard i < u.count else { return nil }
        var offset = 0
        if u[i] == UInt8(ascii: "Z") || u[i] == UInt8(ascii: "z") {
            guard i + 1 == u.count else { return nil }
        } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
            guard i + 6 == u.count, u[i + 3] == UInt8(ascii: ":"), let oh = num(i + 1..<i + 3),
                let om = num(i + 4..<i + 6)
            else { return nil }
            offset = (oh * 3600 + om * 60) * (u[i] == UInt8(ascii: "+") ? 1 : -1)
        } else {
            return nil
        }
        let civil = CivilTime(year: year, month: month, day: day, hour: h, minute: m, second: s)
        return Date(timeIntervalSince1970: TimeInterval(civil.epochSeconds - Int64(offset)) + fraction)
    }

    static func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
}

/// Proleptic Gregorian calendar arithmetic in UTC (Howard Hinnant's days-from-civil algorithm),
/// so formatting dates needs no locale, calendar or formatter state.
public struct CivilTime: Sendable, Equatable {
    /// The calendar fields, in UTC.
    public var year, month, day, hour, minute, second: Int

    /// A time from its fields.
    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        (self.year, self.month, self.day, self.hour, self.minute, self.second) = (
            year, month, day, hour, minute, second
        )
    }

    /// The UTC time `epochSeconds` after 1970-01-01T00:00:00Z.
    public init(epochSeconds: Int64) {
        var days = epochSeconds / 86400
        var rem = epochSeconds % 86400
        if rem < 0 {
            rem += 86400
            days -= 1
        }
        hour = Int(rem / 3600)
        minute = Int(rem % 3600 / 60)
        second = Int(rem % 60)
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = Int(doy - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    public var epochSeconds: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return days * 86400 + Int64(hour * 3600 + minute * 60 + second)
    }
}
