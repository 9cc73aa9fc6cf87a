//! The key that authenticates audit entries.
//!
//! HMAC-SHA256 under a key derived (HKDF-SHA256) from the vault key: the
//! operator keeps one key outside the data directory, and whoever can write
//! the data directory but does not hold that key cannot write an entry (or a
//! checkpoint) that verifies. Derivation rather than a second key of its own:
//! a second key would have to be kept, backed up and rotated exactly like the
//! vault key, by the same people, on the same machine, for no gain (the marc
//! process that writes entries holds both either way); the derived key reveals
//! nothing about the vault key.

use crate::{AuditError, Result};
use hmac::{Hmac, Mac};
use marc_vault::{VaultError, VaultKey};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// The HKDF info string of the audit key: changing it changes every MAC.
pub const KEY_PURPOSE: &str = "marc audit log HMAC-SHA256 v2";

/// The audit log's MAC key. `Debug` shows only its id; wiped on drop.
#[derive(Clone)]
pub struct AuditKey {
    bytes: Zeroizing<[u8; 32]>,
    id: String,
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey(id {})", self.id)
    }
}

impl AuditKey {
    /// The audit key of an installation whose vault key is `k`.
    pub fn from_vault_key(k: &VaultKey) -> AuditKey {
        let bytes = k.derive(KEY_PURPOSE);
        let mut h = Sha256::new();
        h.update(b"marc-audit-key-id\0");
        h.update(bytes.as_ref());
        let id = hex::encode(&h.finalize()[..6]);
        AuditKey { bytes, id }
    }

    /// The key as an operator configures it (`MARC_VAULT_KEY_FILE`, else
    /// `MARC_VAULT_KEY`), for the data directory `data`: a key file inside it
    /// is refused. Without a key marc writes no audit entry at all.
    pub fn from_env(data: &Path) -> Result<AuditKey> {
        let k = VaultKey::from_env().map_err(|e| match e {
            VaultError::NoKey => AuditError::NoKey,
            other => AuditError::Key(other),
        })?;
        k.check_outside(data).map_err(AuditError::Key)?;
        Ok(AuditKey::from_vault_key(&k))
    }

    /// A short public name of the key (a hash, not the key), stored in each
    /// entry so a wrong key is told apart from a forged entry.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// HMAC-SHA256 of `data`, hex.
    pub(crate) fn mac(&self, data: &[u8]) -> String {
        hex::encode(self.hmac(data).finalize().into_bytes())
    }

    /// Whether `mac_hex` is the MAC of `data` (compared in constant time), in
    /// the one spelling marc writes (64 lowercase hex digits): the chain links
    /// by the string, so an upper-case copy must not pass as the same MAC.
    pub(crate) fn verify(&self, data: &[u8], mac_hex: &str) -> bool {
        let canonical = mac_hex.len() == 64
            && mac_hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !canonical {
            return false;
        }
        match hex::decode(mac_hex) {
            Ok(m) => self.hmac(data).verify_slice(&m).is_ok(),
            Err(_) => false,
        }
    }

    fn hmac(&self, data: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut m = <HmacSha256 as Mac>::new_from_slice(self.bytes.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(data);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_from_the_vault_key_and_never_equal_to_it() {
        let v = VaultKey::from_bytes([7u8; 32]);
        let a = AuditKey::from_vault_key(&v);
        let b = AuditKey::from_vault_key(&VaultKey::from_bytes([7u8; 32]));
        assert_eq!(a.id(), b.id());
        assert_eq!(a.mac(b"x"), b.mac(b"x"));
        assert_ne!(a.bytes.as_ref(), &[7u8; 32]);
        let c = AuditKey::from_vault_key(&VaultKey::from_bytes([8u8; 32]));
        assert_ne!(a.id(), c.id());
        assert!(a.verify(b"x", &a.mac(b"x")));
        assert!(!c.verify(b"x", &a.mac(b"x")));
        assert!(!a.verify(b"y", &a.mac(b"x")));
        assert!(!a.verify(b"x", "not hex"));
        assert!(!a.verify(b"x", &a.mac(b"x").to_uppercase()));
        assert!(!format!("{a:?}").contains(&hex::encode(a.bytes.as_ref())));
    }
}
