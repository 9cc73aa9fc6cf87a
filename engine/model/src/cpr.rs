use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Danish personal identification number (CPR), validated for shape and
/// birth date. Modulus 11 is *not* required: numbers without it have been
/// issued since 2007.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cpr([u8; 10]);

/// Why a string is not a CPR number.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CprError {
    #[error("a CPR number has 10 digits, written DDMMYY-SSSS or DDMMYYSSSS; got {0:?}")]
    Shape(String),
    #[error("{0:?} is not a valid CPR number: its first six digits are not a real date (DDMMYY)")]
    Date(String),
}

impl Cpr {
    /// Builds a CPR from ten digit values (0–9), checking the date.
    pub fn from_digits(d: [u8; 10]) -> Result<Self, CprError> {
        let c = Cpr(d);
        if d.iter().any(|x| *x > 9) {
            return Err(CprError::Shape(c.compact()));
        }
        if c.birth_date().is_none() {
            return Err(CprError::Date(c.formatted()));
        }
        Ok(c)
    }

    /// The ten digits.
    pub fn digits(&self) -> [u8; 10] {
        self.0
    }

    /// `DDMMYY-SSSS`, the way Danes write it.
    pub fn formatted(&self) -> String {
        let s = self.compact();
        format!("{}-{}", &s[..6], &s[6..])
    }

    /// `DDMMYYSSSS`, no separator.
    pub fn compact(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }

    /// The full birth year from the two year digits and the 7th digit
    /// (the CPR office's century table).
    pub fn century_year(digits: &[u8; 10]) -> i32 {
        let yy = (digits[4] * 10 + digits[5]) as i32;
        let c = digits[6];
        let century = match c {
            0..=3 => 1900,
            4 | 9 => {
                if yy <= 36 {
                    2000
                } else {
                    1900
                }
            }
            _ => {
                if yy <= 57 {
                    2000
                } else {
                    1800
                }
            }
        };
        century + yy
    }

    /// The birth date encoded in the number, if it is a real date.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        let d = &self.0;
        let day = (d[0] * 10 + d[1]) as u32;
        let month = (d[2] * 10 + d[3]) as u32;
        NaiveDate::from_ymd_opt(Self::century_year(d), month, day)
    }

    /// Whether the classic modulus-11 check holds (raises confidence only).
    pub fn mod11_ok(&self) -> bool {
        const W: [u32; 10] = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];
        self.0
            .iter()
            .zip(W)
            .map(|(d, w)| *d as u32 * w)
            .sum::<u32>()
            % 11
            == 0
    }

    /// Odd last digit means male in the CPR system.
    pub fn is_male(&self) -> bool {
        self.0[9] % 2 == 1
    }
}

impl FromStr for Cpr {
    type Err = CprError;

    /// Accepts `DDMMYY-SSSS`, `DDMMYYSSSS` and `DDMMYY SSSS`; nothing else.
    fn from_str(s: &str) -> Result<Self, CprError> {
        let t = s.trim();
        let digits: Vec<u8> = t
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        let seps: Vec<char> = t.chars().filter(|c| !c.is_ascii_digit()).collect();
        let sep_ok = seps.is_empty()
            || (seps.len() == 1
                && matches!(seps[0], '-' | ' ' | '\u{2013}')
                && t.chars().nth(6) == Some(seps[0]));
        if digits.len() != 10 || !sep_ok {
            return Err(CprError::Shape(s.to_string()));
        }
        let mut d = [0u8; 10];
        d.copy_from_slice(&digits);
        Cpr::from_digits(d)
    }
}

impl TryFrom<String> for Cpr {
    type Error = CprError;
    fn try_from(s: String) -> Result<Self, CprError> {
        s.parse()
    }
}

impl From<Cpr> for String {
    fn from(c: Cpr) -> String {
        c.formatted()
    }
}

impl fmt::Display for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.formatted())
    }
}

impl fmt::Debug for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cpr({})", self.formatted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let a: Cpr = "070761-4285".parse().unwrap();
        let b: Cpr = "0707614285".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.formatted(), "070761-4285");
        assert_eq!(a.birth_date().unwrap().to_string(), "1961-07-07");
    }

    #[test]
    fn century_from_seventh_digit() {
        let c: Cpr = "010105-4000".parse().unwrap();
        assert_eq!(c.birth_date().unwrap().to_string(), "2005-01-01");
        let c: Cpr = "010160-5000".parse().unwrap();
        assert_eq!(c.birth_date().unwrap().to_string(), "1860-01-01");
        let c: Cpr = "010160-9000".parse().unwrap();
        assert_eq!(c.birth_date().unwrap().to_string(), "1960-01-01");
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            "310299-1234".parse::<Cpr>(),
            Err(CprError::Date(_))
        ));
        assert!(matches!("12345".parse::<Cpr>(), Err(CprError::Shape(_))));
        assert!(matches!(
            "0707-61-4285".parse::<Cpr>(),
            Err(CprError::Shape(_))
        ));
        assert!(matches!(
            "abcdefghij".parse::<Cpr>(),
            Err(CprError::Shape(_))
        ));
    }

    #[test]
    fn mod11() {
        assert!("070761-4285".parse::<Cpr>().unwrap().mod11_ok());
        assert!(!"070761-4286".parse::<Cpr>().unwrap().mod11_ok());
    }
}
