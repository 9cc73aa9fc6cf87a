use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The period a request covers, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Why a period is not usable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeriodError {
    #[error("{0:?} is not a date; write it as YYYY-MM-DD, e.g. 2019-01-31")]
    BadDate(String),
    #[error("the period starts ({from}) after it ends ({to}); swap --from and --to")]
    Reversed { from: NaiveDate, to: NaiveDate },
}

impl Period {
    /// From optional ends; a missing start means 1900-01-01, a missing end `today`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, PeriodError> {
        let p = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| PeriodError::BadDate(s.to_string()))
        };
        let from = match from {
            Some(s) => p(s)?,
            None => NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid constant date"),
        };
        let to = match to {
            Some(s) => p(s)?,
            None => today,
        };
        Period::new(from, to)
    }

    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if from > to {
            return Err(PeriodError::Reversed { from, to });
        }
        Ok(Period { from, to })
    }

    /// Whether an ISO date (YYYY-MM-DD) lies in the period; unparsable dates
    /// count as inside, so nothing is dropped for a formatting quirk.
    pub fn contains_iso(&self, date: &str) -> bool {
        match NaiveDate::parse_from_str(date.get(..10).unwrap_or(date), "%Y-%m-%d") {
            Ok(d) => d >= self.from && d <= self.to,
            Err(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_rules() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let p = Period::parse(Some("2019-01-01"), Some("2020-12-31"), today).unwrap();
        assert!(p.contains_iso("2019-05-05"));
        assert!(!p.contains_iso("2021-01-01"));
        assert!(matches!(
            Period::parse(Some("2021-01-01"), Some("2020-01-01"), today),
            Err(PeriodError::Reversed { .. })
        ));
        assert!(matches!(
            Period::parse(Some("1/1/2020"), None, today),
            Err(PeriodError::BadDate(_))
        ));
    }
}
