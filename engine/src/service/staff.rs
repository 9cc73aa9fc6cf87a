//! Staff accounts: caseworkers, managers, administrators and auditors, who
//! log in with a password (argon2id; the hash is all that is stored) and
//! act in their own name in the audit log. The first administrator is made
//! on the command line (`marc staff add NAME --role admin`).

use super::ServiceError;
use crate::pipeline::Settings;
use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use marc_audit::NewEntry;
use marc_request::access::Role;
use marc_request::Principal;
use serde::{Deserialize, Serialize};

const STAFF: &str = "staff";

/// Passwords shorter than this are refused.
pub const MIN_PASSWORD: usize = 12;

/// A staff member as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Account {
    /// The login name (lower case letters, digits, `.`, `-`, `_`).
    pub user: String,
    pub role: Role,
    /// The password's argon2id hash (PHC string), never the password.
    pub hash: String,
    pub created: chrono::DateTime<chrono::Utc>,
}

/// Why an account could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("{0:?} is not a login name: use 2-32 lower-case letters, digits, '.', '-' or '_'")]
    BadName(String),
    #[error("the password is too short: use at least {MIN_PASSWORD} characters")]
    ShortPassword,
    #[error("there is already a staff member called {0:?}")]
    Exists(String),
    #[error("no staff member called {0:?}")]
    Unknown(String),
    #[error("unknown role {0:?}; the roles are caseworker, manager, admin, auditor")]
    BadRole(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Parses a role as written on the command line.
pub fn role(s: &str) -> Result<Role, StaffError> {
    Ok(match s.to_lowercase().as_str() {
        "caseworker" | "sagsbehandler" => Role::Caseworker,
        "manager" | "leder" => Role::Manager,
        "admin" | "administrator" => Role::Admin,
        "auditor" | "revisor" => Role::Auditor,
        _ => return Err(StaffError::BadRole(s.to_string())),
    })
}

fn valid_name(user: &str) -> bool {
    (2..=32).contains(&user.len())
        && user
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
}

fn hash(password: &str) -> Result<String, StaffError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| anyhow::anyhow!("cannot make a salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?
        .to_string())
}

/// Makes a staff account; audited as `actor`.
pub fn add(
    settings: &Settings,
    actor: &str,
    user: &str,
    role: Role,
    password: &str,
) -> Result<Account, StaffError> {
    if !valid_name(user) {
        return Err(StaffError::BadName(user.to_string()));
    }
    if password.chars().count() < MIN_PASSWORD {
        return Err(StaffError::ShortPassword);
    }
    let account = Account {
        user: user.to_string(),
        role,
        hash: hash(password)?,
        created: chrono::Utc::now(),
    };
    let bytes = serde_json::to_vec(&account).context("cannot encode the account")?;
    let table = settings.store.table(STAFF).context("the staff table")?;
    if !table
        .compare_and_swap(user, None, Some(&bytes))
        .context("cannot store the account")?
    {
        return Err(StaffError::Exists(user.to_string()));
    }
    settings.store.flush().context("cannot store the account")?;
    settings
        .audit
        .append(
            NewEntry::user(actor, "staff.added")
                .detail(serde_json::json!({"user": user, "role": role})),
        )
        .context("cannot audit the new account")?;
    Ok(account)
}

/// Every staff account, by name.
pub fn list(settings: &Settings) -> anyhow::Result<Vec<Account>> {
    Ok(settings
        .store
        .table(STAFF)?
        .scan_json::<Account>("")?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

/// Removes a staff account; audited as `actor`.
pub fn remove(settings: &Settings, actor: &str, user: &str) -> Result<(), StaffError> {
    let table = settings.store.table(STAFF).context("the staff table")?;
    if table.get(user).context("the staff table")?.is_none() {
        return Err(StaffError::Unknown(user.to_string()));
    }
    table.remove(user).context("cannot remove the account")?;
    settings
        .store
        .flush()
        .context("cannot remove the account")?;
    settings
        .audit
        .append(NewEntry::user(actor, "staff.removed").detail(serde_json::json!({"user": user})))
        .context("cannot audit the removal")?;
    Ok(())
}

/// A PHC hash of a password nobody has, checked when the user is unknown
/// so that a wrong name takes as long as a wrong password.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$Ymd9ZqrK1qYqC7t0n8W1lQk6gq9m6o4dP3G8wzY2a1s";

/// The staff member with this name and password, or `None`. Every attempt
/// is audited (`staff.login` or `staff.login_refused`), without the password.
/// The role an account has now, `None` when there is no such account.
pub fn current_role(settings: &Settings, user: &str) -> anyhow::Result<Option<Role>> {
    Ok(settings
        .store
        .table(STAFF)?
        .get_json::<Account>(user)?
        .map(|a| a.role))
}

pub fn login(
    settings: &Settings,
    user: &str,
    password: &str,
) -> Result<Option<Principal>, ServiceError> {
    let user = user.trim().to_lowercase();
    let account: Option<Account> = settings
        .store
        .table(STAFF)
        .and_then(|t| t.get_json(&user))
        .map_err(|e| ServiceError::Internal(e.into()))?;
    let phc = account.as_ref().map(|a| a.hash.as_str()).unwrap_or(DECOY);
    let ok = PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false);
    let (action, who) = match (&account, ok) {
        (Some(a), true) => (
            "staff.login",
            Some(Principal::Staff {
                user: a.user.clone(),
                role: a.role,
            }),
        ),
        _ => ("staff.login_refused", None),
    };
    settings
        .audit
        .append(NewEntry::user(format!("staff:{user}"), action))
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("cannot audit the login: {e}")))?;
    Ok(who)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roles_and_the_decoy() {
        assert!(valid_name("kim.b") && valid_name("k2"));
        assert!(!valid_name("Kim") && !valid_name("k") && !valid_name("kim b"));
        assert_eq!(role("Sagsbehandler").unwrap(), Role::Caseworker);
        assert!(role("boss").is_err());
        // The decoy parses, so an unknown name costs a full verification.
        assert!(PasswordHash::new(DECOY).is_ok());
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong", &parsed)
            .is_err());
    }
}
