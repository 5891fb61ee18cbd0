//! Calendar arithmetic for the date-times trace archives write (Fiddler timers, HAR
//! `startedDateTime`): proleptic Gregorian dates to and from days since 1970-01-01
//! (H. Hinnant's algorithms), so no date crate is needed, and one ISO 8601 parser.

use crate::model::Ts;

/// Days since 1970-01-01 of year `y`, month `m` (1–12), day `d`.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a count of days since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
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
pub(crate) fn parse_iso8601(text: &str) -> Option<Ts> {
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
pub(crate) fn parse_http_date(text: &str) -> Option<Ts> {
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
}
