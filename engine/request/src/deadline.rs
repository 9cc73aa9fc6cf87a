//! The deadline of a request: `n` working days after it was received
//! (offentlighedsloven § 36: a decision within 7 working days).
//!
//! A working day is Monday to Friday except the Danish public holidays and
//! the days authorities close as if they were (grundlovsdag, juleaftensdag,
//! nytårsaftensdag), the usual definition in Danish law ("Ved arbejdsdage
//! forstås mandag til fredag, bortset fra helligdage, juleaftensdag,
//! nytårsaftensdag og grundlovsdag"). The movable holidays follow Easter, which
//! is computed, so the calendar needs no yearly update.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Easter Sunday of `year` (Gregorian calendar; the anonymous algorithm of
/// Meeus, Jones and Butcher).
pub fn easter(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
}

/// The name of the Danish public holiday (or closing day) on `d`, if any.
pub fn holiday(d: NaiveDate) -> Option<&'static str> {
    let fixed = match (d.month(), d.day()) {
        (1, 1) => Some("nytårsdag"),
        (6, 5) => Some("grundlovsdag"),
        (12, 24) => Some("juleaftensdag"),
        (12, 25) => Some("juledag"),
        (12, 26) => Some("2. juledag"),
        (12, 31) => Some("nytårsaftensdag"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let e = easter(d.year())?;
    let offset = (d - e).num_days();
    match offset {
        -3 => Some("skærtorsdag"),
        -2 => Some("langfredag"),
        0 => Some("påskedag"),
        1 => Some("2. påskedag"),
        // Store bededag was abolished as a public holiday from 2024.
        26 if d.year() <= 2023 => Some("store bededag"),
        39 => Some("Kristi himmelfartsdag"),
        49 => Some("pinsedag"),
        50 => Some("2. pinsedag"),
        _ => None,
    }
}

/// Whether authorities work on `d`.
pub fn is_working_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && holiday(d).is_none()
}

/// The date `days` working days after `received` (the day of receipt does
/// not count; `days = 0` gives `received` itself).
pub fn deadline(received: NaiveDate, days: u32) -> NaiveDate {
    let mut d = received;
    let mut left = days;
    while left > 0 {
        d += Duration::days(1);
        if is_working_day(d) {
            left -= 1;
        }
    }
    d
}

/// Working days from `today` until `due`: 0 on the due date, negative when
/// it has passed. Counted the same way as [`deadline`].
pub fn working_days_left(today: NaiveDate, due: NaiveDate) -> i64 {
    let (from, to, sign) = if today <= due {
        (today, due, 1)
    } else {
        (due, today, -1)
    };
    let mut n = 0;
    let mut d = from;
    while d < to {
        d += Duration::days(1);
        if is_working_day(d) {
            n += 1;
        }
    }
    sign * n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_dates_match_the_almanac() {
        // Known Easter Sundays.
        for (y, m, d) in [
            (2000, 4, 23),
            (2008, 3, 23),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
        ] {
            assert_eq!(easter(y), Some(date(y, m, d)), "{y}");
        }
    }

    #[test]
    fn holidays_of_2026() {
        assert_eq!(holiday(date(2026, 4, 2)), Some("skærtorsdag"));
        assert_eq!(holiday(date(2026, 4, 3)), Some("langfredag"));
        assert_eq!(holiday(date(2026, 4, 6)), Some("2. påskedag"));
        assert_eq!(holiday(date(2026, 5, 14)), Some("Kristi himmelfartsdag"));
        assert_eq!(holiday(date(2026, 5, 25)), Some("2. pinsedag"));
        assert_eq!(holiday(date(2026, 6, 5)), Some("grundlovsdag"));
        // Store bededag (4th Friday after Easter) is an ordinary day since 2024.
        assert_eq!(holiday(date(2026, 5, 1)), None);
        assert_eq!(holiday(date(2023, 5, 5)), Some("store bededag"));
        assert_eq!(holiday(date(2026, 4, 7)), None);
    }

    #[test]
    fn seven_working_days_skip_weekends_and_holidays() {
        // Monday 23 Nov 2026: no holidays in the way.
        assert_eq!(deadline(date(2026, 11, 23), 7), date(2026, 12, 2));
        // Received Wednesday 1 April 2026, before Easter: skærtorsdag,
        // langfredag, the weekend and 2. påskedag do not count.
        assert_eq!(deadline(date(2026, 4, 1), 7), date(2026, 4, 15));
        // Around Christmas and New Year 2026/27.
        assert_eq!(deadline(date(2026, 12, 21), 7), date(2027, 1, 5));
        assert_eq!(deadline(date(2026, 12, 21), 0), date(2026, 12, 21));
    }

    #[test]
    fn days_left_counts_like_the_deadline() {
        let received = date(2026, 4, 1);
        let due = deadline(received, 7);
        assert_eq!(working_days_left(received, due), 7);
        assert_eq!(working_days_left(due, due), 0);
        assert_eq!(working_days_left(date(2026, 4, 17), due), -2);
    }
}
