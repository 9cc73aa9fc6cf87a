//! Citizens exempt from automatic handling (SPEC §3), e.g. during a fraud
//! investigation or in a placement case. Their requests are received and
//! receipted like any other, but no robot runs and nothing is assembled or
//! sent: the request goes straight to a caseworker. The list is kept in the
//! data directory and every change to it is audited.

use anyhow::Result;
use marc_audit::{AuditLog, NewEntry};
use marc_model::Cpr;
use marc_store::Store;
use serde::{Deserialize, Serialize};

const EXEMPT: &str = "exempt";

/// One exempt citizen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Exemption {
    /// `DDMMYY-SSSS`.
    pub cpr: String,
    /// Why (staff only; never shown to the citizen).
    pub reason: String,
    pub added: chrono::DateTime<chrono::Utc>,
    /// The staff member who added it.
    pub by: String,
}

/// Exempts `cpr` (replacing an earlier reason), audited as `actor`.
pub fn add(
    store: &Store,
    audit: &AuditLog,
    actor: &str,
    cpr: &Cpr,
    reason: &str,
) -> Result<Exemption> {
    let e = Exemption {
        cpr: cpr.formatted(),
        reason: reason.trim().to_string(),
        added: chrono::Utc::now(),
        by: actor.to_string(),
    };
    store.table(EXEMPT)?.put_json(&e.cpr, &e)?;
    store.flush()?;
    audit.append(
        NewEntry::user(actor, "exemption.added")
            .detail(serde_json::json!({"cpr": e.cpr, "reason": e.reason})),
    )?;
    Ok(e)
}

/// Lifts the exemption of `cpr`; `false` if there was none.
pub fn remove(store: &Store, audit: &AuditLog, actor: &str, cpr: &Cpr) -> Result<bool> {
    let t = store.table(EXEMPT)?;
    let key = cpr.formatted();
    if t.get(&key)?.is_none() {
        return Ok(false);
    }
    t.remove(&key)?;
    store.flush()?;
    audit.append(
        NewEntry::user(actor, "exemption.removed").detail(serde_json::json!({"cpr": key})),
    )?;
    Ok(true)
}

/// Every exemption, by CPR number.
pub fn list(store: &Store) -> Result<Vec<Exemption>> {
    Ok(store
        .table(EXEMPT)?
        .scan_json("")?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// The exemption of `cpr` (formatted `DDMMYY-SSSS`), if any.
pub fn find(store: &Store, cpr: &str) -> Result<Option<Exemption>> {
    Ok(store.table(EXEMPT)?.get_json(cpr)?)
}
