//! Instants as text: proleptic Gregorian dates to and from days since 1970-01-01
//! (H. Hinnant's algorithms), the date-times trace archives and servers write (ISO 8601,
//! Fiddler timers, HTTP dates) and the forms every output shows. One place, so the UI, the
//! reports and the exports print the same instant the same way.

use crate::model::Ts;

/// The text of an unset Fiddler timer (`DateTime.MinValue`).
const FIDDLER_UNSET: &str = crate::model::saz::UNSET_TIME;

/// An instant's UTC calendar parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub nanos: i64,
}

impl Civil {
    pub fn of(ts: Ts) -> Civil {
        Civil::of_secs(
            ts.0.div_euclid(1_000_000_000),
            ts.0.rem_euclid(1_000_000_000),
        )
    }

    /// Seconds since 1970 (a [`Ts`] ends in 2262; certificates run to 9999).
    pub fn of_secs(secs: i64, nanos: i64) -> Civil {
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        Civil {
            year,
            month,
            day,
            hour: sod / 3600,
            minute: sod / 60 % 60,
            second: sod % 60,
            nanos,
        }
    }

    fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    fn clock(&self) -> String {
        format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

/// `2009-02-13 23:31:30.250` (with the date) or `23:31:30.250`: the UI's and reports' clock,
/// rounded to the millisecond as the relative times beside it are (`{:.3}`), so that a clock
/// and an offset from the origin never disagree by one in the last digit.
pub fn utc_time(ts: Ts, with_date: bool) -> String {
    let c = Civil::of(Ts(ts.0.saturating_add(500_000)));
    let clock = format!("{}.{:03}", c.clock(), c.nanos / 1_000_000);
    if with_date {
        format!("{} {clock}", c.date())
    } else {
        clock
    }
}

/// `2015-06-29 14:00:00.123 UTC`: the reports' instants.
pub fn utc_label(ts: Ts) -> String {
    format!("{} UTC", utc_time(ts, true))
}

/// `2015-06-29 14:00:00 UTC`: whole seconds, for findings' messages.
pub fn utc_seconds(ts: Ts) -> String {
    let c = Civil::of(ts);
    format!("{} {} UTC", c.date(), c.clock())
}

/// `2015-06-29T14:00:00Z` of seconds since 1970 (certificate validity).
pub fn rfc3339_seconds(secs: i64) -> String {
    let c = Civil::of_secs(secs, 0);
    format!("{}T{}Z", c.date(), c.clock())
}

/// IMF-fixdate, as servers write `Date:` (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(ts: Ts) -> String {
    let c = Civil::of(ts);
    let days = ts.0.div_euclid(1_000_000_000).div_euclid(86_400);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(c.month - 1) as usize];
    format!(
        "{weekday}, {:02} {month} {} {} GMT",
        c.day,
        c.year,
        c.clock()
    )
}

/// ISO 8601 in UTC with `Z` and as many fraction digits as needed (3, 6 or 9), as HAR writes
/// `startedDateTime`.
pub fn iso_utc(ts: Ts) -> String {
    let c = Civil::of(ts);
    let nanos = c.nanos;
    let frac = if nanos % 1_000_000 == 0 {
        format!("{:03}", nanos / 1_000_000)
    } else if nanos % 1000 == 0 {
        format!("{:06}", nanos / 1000)
    } else {
        format!("{nanos:09}")
    };
    format!("{}T{}.{frac}Z", c.date(), c.clock())
}

/// Fiddler's round-trip format (.NET "o"), in UTC with 7 fraction digits.
pub fn fiddler_time(ts: Ts) -> String {
    let c = Civil::of(ts);
    format!("{}T{}.{:07}+00:00", c.date(), c.clock(), c.nanos / 100)
}

/// A Fiddler SessionTimers value: ISO 8601 / XML dateTime
/// (`YYYY-MM-DDThh:mm:ss[.f{0,9}][Z|±hh:mm]`, no offset: UTC). `None` for the unset
/// `0001-01-01T00:00:00` and for bad text.
pub fn parse_fiddler_time(text: &str) -> Option<Ts> {
    let t = text.trim();
    if t == FIDDLER_UNSET {
        return None;
    }
    parse_iso8601(t)
}

/// Days since 1970-01-01 of year `y`, month `m` (1–12), day `d`.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a count of days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ISO 8601 / RFC 3339 date-time (HAR `startedDateTime`, Fiddler SessionTimers): 0–9
/// fraction digits (more are cut), `Z`, `±HH:MM`, `±HHMM` or no offset (taken as UTC).
pub fn parse_iso8601(text: &str) -> Option<Ts> {
    let b = text.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let s = b.get(from..from + len)?;
        s.iter()
            .all(u8::is_ascii_digit)
            .then(|| s.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut digits = 0;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if digits < 9 {
                nanos = nanos * 10 + i64::from(d - b'0');
                digits += 1;
            }
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        nanos *= 10i64.pow(9 - digits);
    }
    let offset_secs = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1, 2)?;
            let om = match (b.get(i + 3), b.len()) {
                (Some(b':'), n) if n == i + 6 => num(i + 4, 2)?,
                (_, n) if n == i + 5 => num(i + 3, 2)?,
                (None, _) => 0,
                _ => return None,
            };
            let off = oh * 3600 + om * 60;
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    Some(Ts::from_secs_nanos(secs, nanos))
}

/// RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and the dash form cookies use.
pub fn parse_http_date(text: &str) -> Option<Ts> {
    let rest = text.trim().split_once(',')?.1.trim();
    let mut parts = rest.split([' ', '-']).filter(|p| !p.is_empty());
    let day: i64 = parts.next()?.parse().ok()?;
    let mon = parts.next()?.to_ascii_lowercase();
    let month = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|m| mon.starts_with(m))? as i64
        + 1;
    let mut year: i64 = parts.next()?.parse().ok()?;
    if year < 100 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    if !(1..=9999).contains(&year) {
        return None;
    }
    let mut hms = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi, s) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(Ts::from_secs_nanos(
        days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + s,
        0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2000-03-01 is day 11017 (`date -d 2000-03-01 +%s` / 86400); 1970-01-01 is day 0.
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(11017), (2000, 3, 1));
        assert_eq!(days_from_civil(1, 1, 1), -719_162);
        for z in [-800_000i64, -1, 0, 59, 60, 18_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn utc_time_of_a_known_instant() {
        // 2009-02-13 23:31:30 UTC is Unix time 1234567890.
        let ts = Ts(1_234_567_890_250_000_000);
        assert_eq!(utc_time(ts, true), "2009-02-13 23:31:30.250");
        assert_eq!(utc_time(ts, false), "23:31:30.250");
        // Rounded like `{:.3}` of the same instant: 30.2496 → .250, 59.9996 → the next minute.
        assert_eq!(
            utc_time(Ts(1_234_567_890_249_600_000), false),
            "23:31:30.250"
        );
        assert_eq!(
            utc_time(Ts(1_234_567_919_999_600_000), false),
            "23:32:00.000"
        );
        assert_eq!(utc_seconds(ts), "2009-02-13 23:31:30 UTC");
        assert_eq!(iso_utc(ts), "2009-02-13T23:31:30.250Z");
        assert_eq!(rfc3339_seconds(1_234_567_890), "2009-02-13T23:31:30Z");
        // `date -u -d @1234567890 -R`: Fri, 13 Feb 2009 23:31:30 +0000
        assert_eq!(http_date(ts), "Fri, 13 Feb 2009 23:31:30 GMT");
        assert_eq!(
            parse_http_date(&http_date(ts)),
            Some(Ts(1_234_567_890_000_000_000))
        );
    }

    #[test]
    fn fiddler_timestamps() {
        // 1970-01-01T00:00:00Z is 0; offsets subtract; fractions of 0..9 digits.
        assert_eq!(parse_fiddler_time("1970-01-01T00:00:00Z"), Some(Ts(0)));
        assert_eq!(parse_fiddler_time("1970-01-01T01:00:00+01:00"), Some(Ts(0)));
        assert_eq!(
            parse_fiddler_time("1970-01-01T00:00:01.5-00:00"),
            Some(Ts(1_500_000_000))
        );
        assert_eq!(parse_fiddler_time(FIDDLER_UNSET), None);
        assert_eq!(parse_fiddler_time("2020-13-01T00:00:00Z"), None);
        // Python: datetime(2000,2,29,12,tzinfo=utc).timestamp() == 951825600
        assert_eq!(
            parse_fiddler_time("2000-02-29T12:00:00.0000001+00:00"),
            Some(Ts(951_825_600_000_000_100))
        );
        let t = Ts(951_825_600_000_000_100);
        assert_eq!(fiddler_time(t), "2000-02-29T12:00:00.0000001+00:00");
        assert_eq!(parse_fiddler_time(&fiddler_time(t)), Some(t));
    }
}
