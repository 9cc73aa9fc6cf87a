//! Consent: a citizen lets a third party (a lawyer, a bisidder, an insurer,
//! another authority) ask for access on their behalf, within a scope — which
//! topics, which period of documents — and for a time. The citizen can
//! revoke it. A third party can only request inside a consent that is valid
//! on the day of the request; the answer then goes to the third party.

use chrono::{DateTime, NaiveDate, Utc};
use marc_model::{Cpr, Period};
use serde::{Deserialize, Serialize};

/// A person (CPR number) or an organisation (CVR number).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Party {
    /// A person, by CPR number written DDMMYY-SSSS.
    Cpr(String),
    /// An organisation, by its 8-digit CVR number.
    Cvr(String),
}

/// Why a text is not a party.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PartyError {
    #[error("{0}")]
    Cpr(String),
    #[error("{0:?} is not a CVR number: a CVR number has 8 digits")]
    Cvr(String),
}

impl Party {
    /// A CPR number (any usual writing) or an 8-digit CVR number.
    pub fn parse(s: &str) -> Result<Party, PartyError> {
        let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == 8 && digits.chars().all(|c| c.is_ascii_digit()) {
            return Ok(Party::Cvr(digits));
        }
        let cpr: Cpr = s
            .parse()
            .map_err(|e: marc_model::CprError| PartyError::Cpr(e.to_string()))?;
        Ok(Party::Cpr(cpr.formatted()))
    }

    /// The number, as written in records.
    pub fn id(&self) -> &str {
        match self {
            Party::Cpr(s) | Party::Cvr(s) => s,
        }
    }
}

/// A citizen's consent for a third party.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub id: String,
    /// Whose documents: the citizen who gave the consent (DDMMYY-SSSS).
    pub citizen_cpr: String,
    pub citizen_name: String,
    /// Who may ask.
    pub grantee: Party,
    pub grantee_name: String,
    /// Topics (departments) the third party may ask about; empty: all.
    pub topics: Vec<String>,
    /// The period of documents the consent covers.
    pub scope: Period,
    /// The days the consent can be used on, both inclusive.
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    pub granted: DateTime<Utc>,
    #[serde(default)]
    pub revoked: Option<DateTime<Utc>>,
}

/// Why a consent does not let a third party make a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConsentError {
    #[error("the consent is given to someone else")]
    NotYours,
    #[error("the consent was revoked on {0}")]
    Revoked(NaiveDate),
    #[error("the consent expired on {0}")]
    Expired(NaiveDate),
    #[error("the consent is valid only from {0}")]
    NotYet(NaiveDate),
    #[error("the consent does not cover the topic {0:?}")]
    Topic(String),
    #[error("the consent covers documents from {from} to {to} only")]
    Period { from: NaiveDate, to: NaiveDate },
    #[error("the consent must be valid for at least one day: from {from} is after to {to}")]
    Empty { from: NaiveDate, to: NaiveDate },
}

impl ConsentError {
    /// The refusal as the web app shows it, in Danish.
    pub fn dansk(&self) -> String {
        match self {
            ConsentError::NotYours => "Samtykket er givet til en anden.".into(),
            ConsentError::Revoked(d) => {
                format!("Samtykket blev tilbagekaldt den {}.", d.format("%d.%m.%Y"))
            }
            ConsentError::Expired(d) => format!("Samtykket udløb den {}.", d.format("%d.%m.%Y")),
            ConsentError::NotYet(d) => {
                format!("Samtykket gælder først fra den {}.", d.format("%d.%m.%Y"))
            }
            ConsentError::Topic(t) => format!("Samtykket dækker ikke emnet »{t}«."),
            ConsentError::Period { from, to } => format!(
                "Samtykket dækker kun dokumenter fra {} til {}.",
                from.format("%d.%m.%Y"),
                to.format("%d.%m.%Y")
            ),
            ConsentError::Empty { .. } => {
                "Samtykkets gyldighedsperiode er tom: »fra« ligger efter »til«.".into()
            }
        }
    }
}

impl Consent {
    /// Checks that the validity period is not empty (at grant time).
    pub fn check_validity(valid_from: NaiveDate, valid_to: NaiveDate) -> Result<(), ConsentError> {
        if valid_from > valid_to {
            return Err(ConsentError::Empty {
                from: valid_from,
                to: valid_to,
            });
        }
        Ok(())
    }

    /// Whether the consent can be used on `today` at all.
    pub fn usable(&self, today: NaiveDate) -> Result<(), ConsentError> {
        if let Some(r) = self.revoked {
            return Err(ConsentError::Revoked(r.date_naive()));
        }
        if today > self.valid_to {
            return Err(ConsentError::Expired(self.valid_to));
        }
        if today < self.valid_from {
            return Err(ConsentError::NotYet(self.valid_from));
        }
        Ok(())
    }

    /// The topics and period a request by `grantee` may have under this
    /// consent on `today`. Empty topics ask for everything the consent
    /// covers; a period reaching outside the consent's scope is refused
    /// (not silently cut, so the third party knows what they get), except
    /// that an open period (`None`) means the whole scope.
    pub fn narrow(
        &self,
        grantee: &Party,
        topics: &[String],
        period: Option<Period>,
        today: NaiveDate,
    ) -> Result<(Vec<String>, Period), ConsentError> {
        if grantee != &self.grantee {
            return Err(ConsentError::NotYours);
        }
        self.usable(today)?;
        let topics = if topics.is_empty() {
            self.topics.clone()
        } else {
            if !self.topics.is_empty() {
                if let Some(t) = topics.iter().find(|t| !self.topics.contains(t)) {
                    return Err(ConsentError::Topic(t.clone()));
                }
            }
            topics.to_vec()
        };
        let period = match period {
            None => self.scope,
            Some(p) if p.from >= self.scope.from && p.to <= self.scope.to => p,
            Some(_) => {
                return Err(ConsentError::Period {
                    from: self.scope.from,
                    to: self.scope.to,
                })
            }
        };
        Ok((topics, period))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn consent() -> Consent {
        Consent {
            id: "S-1".into(),
            citizen_cpr: "010203-1234".into(),
            citizen_name: "Jens Hansen".into(),
            grantee: Party::Cvr("12345678".into()),
            grantee_name: "Advokat ApS".into(),
            topics: vec!["Jobcenter".into(), "Sygedagpenge".into()],
            scope: Period::new(d(2020, 1, 1), d(2025, 12, 31)).unwrap(),
            valid_from: d(2026, 1, 1),
            valid_to: d(2026, 6, 30),
            granted: Utc::now(),
            revoked: None,
        }
    }

    #[test]
    fn parties_parse() {
        assert_eq!(Party::parse("1234 5678"), Ok(Party::Cvr("12345678".into())));
        assert_eq!(
            Party::parse("0102031234"),
            Ok(Party::Cpr("010203-1234".into()))
        );
        assert!(Party::parse("12345").is_err());
        assert!(Party::parse("320203-1234").is_err());
    }

    #[test]
    fn a_valid_consent_narrows_the_request() {
        let c = consent();
        let me = Party::Cvr("12345678".into());
        let (t, p) = c.narrow(&me, &[], None, d(2026, 3, 1)).unwrap();
        assert_eq!(t, c.topics);
        assert_eq!(p, c.scope);
        let one = vec!["Jobcenter".to_string()];
        let within = Period::new(d(2021, 1, 1), d(2022, 1, 1)).unwrap();
        assert_eq!(
            c.narrow(&me, &one, Some(within), d(2026, 6, 30)),
            Ok((one.clone(), within))
        );
    }

    #[test]
    fn refusals_say_why() {
        let mut c = consent();
        let me = Party::Cvr("12345678".into());
        let other = Party::Cvr("87654321".into());
        assert_eq!(
            c.narrow(&other, &[], None, d(2026, 3, 1)),
            Err(ConsentError::NotYours)
        );
        assert_eq!(
            c.narrow(&me, &[], None, d(2026, 7, 1)),
            Err(ConsentError::Expired(d(2026, 6, 30)))
        );
        assert_eq!(
            c.narrow(&me, &[], None, d(2025, 12, 31)),
            Err(ConsentError::NotYet(d(2026, 1, 1)))
        );
        assert_eq!(
            c.narrow(&me, &["Handicap".into()], None, d(2026, 3, 1)),
            Err(ConsentError::Topic("Handicap".into()))
        );
        let outside = Period::new(d(2019, 1, 1), d(2021, 1, 1)).unwrap();
        assert!(matches!(
            c.narrow(&me, &[], Some(outside), d(2026, 3, 1)),
            Err(ConsentError::Period { .. })
        ));
        c.revoked = Some(chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 2, 1, 12, 0, 0).unwrap());
        assert_eq!(
            c.narrow(&me, &[], None, d(2026, 3, 1)),
            Err(ConsentError::Revoked(d(2026, 2, 1)))
        );
        assert!(ConsentError::Revoked(d(2026, 2, 1))
            .dansk()
            .contains("tilbagekaldt"));
        assert!(Consent::check_validity(d(2026, 2, 1), d(2026, 1, 1)).is_err());
    }
}
