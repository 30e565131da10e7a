import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A rate-limiting window: a calendar period in UTC (a month is a calendar month, not 30 days).
enum RateWindow: Int, CaseIterable, Sendable {
    case second, minute, hour, day, month, year

    init?(name: String) {
        guard let index = ["second", "minute", "hour", "day", "month", "year"].firstIndex(of: name) else { return nil }
        self.init(rawValue: index)
    }

    /// The word in `X-RateLimit-Limit-Minute` and the like.
    var headerWord: String {
        switch self {
        case .second: "Second"
        case .minute: "Minute"
        case .hour: "Hour"
        case .day: "Day"
        case .month: "Month"
        case .year: "Year"
        }
    }

    /// Start and end (seconds since 1970) of the period `now` falls in.
    func period(containing now: Double) -> (start: Int64, end: Int64) {
        let seconds = Int64(now)  // truncation: `now` is after 1970
        switch self {
        case .second: return (seconds, seconds + 1)
        case .minute: return Self.fixed(seconds, 60)
        case .hour: return Self.fixed(seconds, 3600)
        case .day: return Self.fixed(seconds, 86_400)
        case .month, .year:
            var time = time_t(seconds)
            var parts = tm()
            gmtime_r(&time, &parts)
            parts.tm_mday = 1
            parts.tm_hour = 0
            parts.tm_min = 0
            parts.tm_sec = 0
            if self == .year { parts.tm_mon = 0 }
            let start = Int64(timegm(&parts))
            if self == .year { parts.tm_year += 1 } else { parts.tm_mon += 1 }  // timegm carries month 12 over
            return (start, Int64(timegm(&parts)))
        }
    }

    private static func fixed(_ seconds: Int64, _ length: Int64) -> (start: Int64, end: Int64) {
        let start = seconds - seconds % length
        return (start, start + length)
    }
}

extension RateWindow {
    /// Seconds since 1970, from the kernel's coarse clock on Linux: it moves in ticks of a few
    /// milliseconds (as nginx's cached time does) and costs a fifth of the precise one, which
    /// windows of a second or longer do not need.
    static func now() -> Double {
        #if os(Linux)
        var time = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
        #else
        return Date().timeIntervalSince1970
        #endif
    }
}
