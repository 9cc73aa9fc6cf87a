//! Who may see a request. Every page and every download asks [`may_view`];
//! a request someone may not see is answered as if it did not exist, so its
//! id reveals nothing.

use crate::consent::Party;
use crate::record::RequestRecord;
use serde::{Deserialize, Serialize};

/// A staff member's role (SPEC §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reviews, decides and sends requests.
    Caseworker,
    /// Follows volumes, deadlines and outcomes.
    Manager,
    /// Configures systems, lists and accounts.
    Admin,
    /// Reads the audit log and robot sessions.
    Auditor,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Caseworker => "caseworker",
            Role::Manager => "manager",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// The role's name in the staff pages.
    pub fn dansk(&self) -> &'static str {
        match self {
            Role::Caseworker => "sagsbehandler",
            Role::Manager => "leder",
            Role::Admin => "administrator",
            Role::Auditor => "revisor",
        }
    }
}

/// Someone using marc, as authenticated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Principal {
    /// A citizen logged in through the identity provider (MitID).
    Citizen { cpr: String, name: String },
    /// A person or organisation asking on a citizen's behalf, with consent.
    ThirdParty { party: Party, name: String },
    /// A member of staff.
    Staff { user: String, role: Role },
}

impl Principal {
    /// The party this principal acts as, for citizens and third parties.
    pub fn party(&self) -> Option<Party> {
        match self {
            Principal::Citizen { cpr, .. } => Some(Party::Cpr(cpr.clone())),
            Principal::ThirdParty { party, .. } => Some(party.clone()),
            Principal::Staff { .. } => None,
        }
    }

    /// The name shown for this principal (and written as the audit actor).
    pub fn name(&self) -> &str {
        match self {
            Principal::Citizen { name, .. } | Principal::ThirdParty { name, .. } => name,
            Principal::Staff { user, .. } => user,
        }
    }

    /// The audit log's actor for this principal: never a CPR number.
    pub fn actor(&self) -> String {
        match self {
            Principal::Citizen { name, .. } => format!("citizen:{name}"),
            Principal::ThirdParty { party, name } => match party {
                Party::Cvr(cvr) => format!("third-party:CVR {cvr} {name}"),
                Party::Cpr(_) => format!("third-party:{name}"),
            },
            Principal::Staff { user, .. } => format!("staff:{user}"),
        }
    }
}

/// Whether `who` may see `rec` (its status, and its answer once sent):
/// - a citizen: requests about themselves, whoever asked, and those they
///   made for someone else under a consent;
/// - a third party: only the requests they made themselves;
/// - staff: caseworkers and auditors (managers see statistics, not cases;
///   administrators configure).
pub fn may_view(who: &Principal, rec: &RequestRecord) -> bool {
    match who {
        Principal::Citizen { cpr, .. } => {
            &rec.cpr == cpr || rec.requested_by.as_ref() == Some(&Party::Cpr(cpr.clone()))
        }
        Principal::ThirdParty { party, .. } => rec.requested_by.as_ref() == Some(party),
        Principal::Staff { role, .. } => matches!(role, Role::Caseworker | Role::Auditor),
    }
}

/// Whom a list of requests shows to someone, as tags ([`viewer_tags`]):
/// what [`may_view`] decides record by record, said once for a whole list
/// so a store can answer it with an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Viewers {
    /// Every request.
    All,
    /// Requests with at least one of these tags (none: no request).
    AnyTag(Vec<String>),
}

fn cpr_tag(cpr: &str) -> String {
    format!("cpr:{cpr}")
}

fn party_tag(p: &Party) -> String {
    match p {
        Party::Cpr(c) => format!("by-cpr:{c}"),
        Party::Cvr(c) => format!("by-cvr:{c}"),
    }
}

/// The tags of a request that [`viewers`] asks for: the person it is about
/// and the party who asked.
pub fn viewer_tags(rec: &RequestRecord) -> Vec<String> {
    let mut tags = vec![cpr_tag(&rec.cpr)];
    tags.extend(rec.requested_by.as_ref().map(party_tag));
    tags
}

/// Which requests `who` may see, as [`may_view`] decides: `may_view(who,
/// rec)` holds exactly when `viewers(who)` is `All` or shares a tag with
/// [`viewer_tags`]`(rec)`.
pub fn viewers(who: &Principal) -> Viewers {
    match who {
        Principal::Citizen { cpr, .. } => {
            Viewers::AnyTag(vec![cpr_tag(cpr), party_tag(&Party::Cpr(cpr.clone()))])
        }
        Principal::ThirdParty { party, .. } => Viewers::AnyTag(vec![party_tag(party)]),
        Principal::Staff { role, .. } => match role {
            Role::Caseworker | Role::Auditor => Viewers::All,
            Role::Manager | Role::Admin => Viewers::AnyTag(Vec::new()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RequestRecord;

    #[test]
    fn viewer_tags_decide_as_may_view_does() {
        let cprs = ["010203-1234", "020304-2345"];
        let parties = [
            None,
            Some(Party::Cpr("010203-1234".into())),
            Some(Party::Cpr("020304-2345".into())),
            Some(Party::Cvr("12345678".into())),
            // A CVR whose digits are a CPR's without its hyphen.
            Some(Party::Cvr("01020312".into())),
        ];
        let mut who: Vec<Principal> = cprs
            .iter()
            .map(|c| Principal::Citizen {
                cpr: c.to_string(),
                name: "x".into(),
            })
            .collect();
        who.extend(parties.iter().flatten().map(|p| Principal::ThirdParty {
            party: p.clone(),
            name: "y".into(),
        }));
        for role in [Role::Caseworker, Role::Manager, Role::Admin, Role::Auditor] {
            who.push(Principal::Staff {
                user: "s".into(),
                role,
            });
        }
        for w in &who {
            for c in cprs {
                for p in &parties {
                    let r = rec(c, p.clone());
                    let by_tags = match viewers(w) {
                        Viewers::All => true,
                        Viewers::AnyTag(want) => viewer_tags(&r).iter().any(|t| want.contains(t)),
                    };
                    assert_eq!(by_tags, may_view(w, &r), "{w:?} {c} {p:?}");
                }
            }
        }
    }

    fn rec(cpr: &str, by: Option<Party>) -> RequestRecord {
        let mut r = crate::record::tests_support::record("AI-1", cpr, "");
        r.requested_by = by;
        r
    }

    #[test]
    fn each_sees_only_their_own() {
        let anna = Principal::Citizen {
            cpr: "010203-1234".into(),
            name: "Anna".into(),
        };
        let bo = Principal::Citizen {
            cpr: "020304-2345".into(),
            name: "Bo".into(),
        };
        let lawyer = Party::Cvr("12345678".into());
        let firm = Principal::ThirdParty {
            party: lawyer.clone(),
            name: "Advokat ApS".into(),
        };
        let other_firm = Principal::ThirdParty {
            party: Party::Cvr("87654321".into()),
            name: "X".into(),
        };
        let own = rec("010203-1234", None);
        let by_lawyer = rec("010203-1234", Some(lawyer));
        assert!(may_view(&anna, &own) && may_view(&anna, &by_lawyer));
        assert!(!may_view(&bo, &own));
        // Bo as a bisidder under Anna's consent sees what he asked for.
        let by_bo = rec("010203-1234", Some(Party::Cpr("020304-2345".into())));
        assert!(may_view(&bo, &by_bo) && may_view(&anna, &by_bo));
        assert!(may_view(&firm, &by_lawyer) && !may_view(&firm, &own));
        assert!(!may_view(&other_firm, &by_lawyer));
        let manager = Principal::Staff {
            user: "m".into(),
            role: Role::Manager,
        };
        let caseworker = Principal::Staff {
            user: "c".into(),
            role: Role::Caseworker,
        };
        assert!(!may_view(&manager, &own) && may_view(&caseworker, &own));
        assert!(!anna.actor().contains("0102"));
    }
}
