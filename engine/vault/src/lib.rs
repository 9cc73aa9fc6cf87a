//! marc-vault: the robots' credentials, encrypted at rest, and the [`Redactor`]
//! that keeps their values out of every log, recording and error message.
//!
//! Why it looks like this:
//! - Municipalities hand a robot a system user; its password must not be readable
//!   from a copy of the data directory. Each value is sealed with XChaCha20-Poly1305
//!   (RustCrypto `chacha20poly1305`) under a random 24-byte nonce, with the secret's
//!   name as associated data, so ciphertexts cannot be swapped between names.
//! - The 32-byte key lives *outside* the data directory: in a file named by
//!   `MARC_VAULT_KEY_FILE` or in `MARC_VAULT_KEY` (hex or base64). A key file inside
//!   the data directory is refused, because a backup of the data would then carry
//!   its own key.
//! - A check record sealed with the key lets [`Vault::open`] tell "wrong key" apart
//!   from "damaged record", and a key id (a hash of the key, not the key) tells the
//!   operator which key the vault expects.
//! - [`Secret`] prints as `***` and wipes its memory on drop, so an accidental
//!   `{:?}` or panic message cannot show the value.

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use marc_store::{Store, StoreError, Table};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::{Zeroize, Zeroizing};

/// Environment variable naming a file that holds the vault key.
pub const KEY_FILE_ENV: &str = "MARC_VAULT_KEY_FILE";
/// Environment variable holding the vault key itself (64 hex digits or base64).
pub const KEY_ENV: &str = "MARC_VAULT_KEY";
/// The marc_store table holding the vault.
pub const TABLE: &str = "vault";

const SECRET_PREFIX: &[u8] = b"s/";
const CHECK_KEY: &[u8] = b"\0check";
const KEY_ID_KEY: &[u8] = b"\0key-id";
const CHECK_PLAINTEXT: &[u8] = b"marc-vault-check-v1";
const CHECK_AAD: &[u8] = b"marc-vault-check";
const RECORD_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
/// Longest accepted secret name.
pub const MAX_NAME_LEN: usize = 128;

/// What can go wrong with the vault. Messages never contain a secret value or key.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("no vault key: set {KEY_FILE_ENV} to a file outside the data directory holding a 32-byte key (64 hex digits, base64, or 32 raw bytes; create one with `openssl rand -hex 32 > /etc/marc/vault.key && chmod 600 /etc/marc/vault.key`), or set {KEY_ENV} to the key itself")]
    NoKey,
    #[error("the vault key from {source_desc} is not usable: {reason}. It must be 32 bytes written as 64 hex digits or as base64 (a key file may also hold the 32 raw bytes)")]
    BadKey { source_desc: String, reason: String },
    #[error("cannot read the vault key file {path}: {reason}. Check {KEY_FILE_ENV} and the file's permissions")]
    KeyFile { path: PathBuf, reason: String },
    #[error(
        "the vault key file {path} can be read by other users; restrict it with `chmod 600 {path}`"
    )]
    KeyFileTooOpen { path: PathBuf },
    #[error("the vault key file {key} lies inside the data directory {data}; move it outside (a copy of the data must not carry its own key) and point {KEY_FILE_ENV} at the new place")]
    KeyInsideData { key: PathBuf, data: PathBuf },
    #[error("the vault key does not match the vault (the vault was created with key id {expected}, the key given has id {given}); use the key this vault was created with, or move the data directory's vault aside to start a new one")]
    WrongKey { expected: String, given: String },
    #[error("no secret named {0:?} in the vault; add it with `marc secret set {0}`")]
    NotFound(String),
    #[error("invalid secret name {name:?}: {reason}")]
    BadName { name: String, reason: String },
    #[error("the secret {0:?} cannot be empty")]
    Empty(String),
    #[error("the vault record {name:?} cannot be decrypted ({reason}); it was changed or damaged: set the secret again with `marc secret set {name}`")]
    Damaged { name: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, VaultError>;

/// Where a key came from; used to refuse key files kept inside the data directory
/// and to say in errors which key was meant (never what it is).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(PathBuf),
    Generated,
    Bytes,
}

impl KeySource {
    fn describe(&self) -> String {
        match self {
            KeySource::Env => KEY_ENV.to_string(),
            KeySource::File(p) => format!("the file {}", p.display()),
            KeySource::Generated => "a generated key".into(),
            KeySource::Bytes => "the given bytes".into(),
        }
    }
}

/// The 32-byte vault key. Wiped from memory on drop; `Debug` shows only its id.
#[derive(Clone)]
pub struct VaultKey {
    bytes: Zeroizing<[u8; 32]>,
    source: KeySource,
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VaultKey(id {}, from {})",
            self.id(),
            self.source.describe()
        )
    }
}

impl VaultKey {
    /// Reads the key as an operator configures it: `MARC_VAULT_KEY_FILE` first,
    /// then `MARC_VAULT_KEY`.
    pub fn from_env() -> Result<VaultKey> {
        if let Some(p) = std::env::var_os(KEY_FILE_ENV).filter(|v| !v.is_empty()) {
            return VaultKey::from_file(PathBuf::from(p));
        }
        match std::env::var(KEY_ENV) {
            Ok(v) if !v.trim().is_empty() => {
                let v = Zeroizing::new(v);
                parse_key_text(&v, KeySource::Env)
            }
            Ok(_) | Err(std::env::VarError::NotPresent) => Err(VaultError::NoKey),
            Err(std::env::VarError::NotUnicode(_)) => Err(VaultError::BadKey {
                source_desc: KEY_ENV.into(),
                reason: "it is not valid text".into(),
            }),
        }
    }

    /// Reads a key file: 64 hex digits, base64, or exactly 32 raw bytes. On Unix a
    /// file readable by other users is refused.
    pub fn from_file(p: impl AsRef<Path>) -> Result<VaultKey> {
        let path = p.as_ref().to_path_buf();
        let err = |e: std::io::Error| VaultError::KeyFile {
            path: path.clone(),
            reason: e.to_string(),
        };
        let meta = std::fs::metadata(&path).map_err(err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o004 != 0 {
                return Err(VaultError::KeyFileTooOpen { path });
            }
        }
        if !meta.is_file() {
            return Err(VaultError::KeyFile {
                path,
                reason: "it is not a regular file".into(),
            });
        }
        let raw = Zeroizing::new(std::fs::read(&path).map_err(err)?);
        let source = KeySource::File(path);
        if let Ok(text) = std::str::from_utf8(&raw) {
            if let Ok(k) = parse_key_text(text, source.clone()) {
                return Ok(k);
            }
        }
        if raw.len() == 32 {
            let mut bytes = Zeroizing::new([0u8; 32]);
            bytes.copy_from_slice(&raw);
            return Ok(VaultKey { bytes, source });
        }
        Err(VaultError::BadKey {
            source_desc: source.describe(),
            reason: format!(
                "it holds {} bytes that are neither 64 hex digits, base64 of 32 bytes, nor 32 raw bytes",
                raw.len()
            ),
        })
    }

    /// A fresh random key, for `marc secret keygen` and tests.
    pub fn generate() -> VaultKey {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        VaultKey {
            bytes,
            source: KeySource::Generated,
        }
    }

    /// A key from bytes held elsewhere (e.g. a secrets manager).
    pub fn from_bytes(b: [u8; 32]) -> VaultKey {
        VaultKey {
            bytes: Zeroizing::new(b),
            source: KeySource::Bytes,
        }
    }

    /// The key as 64 hex digits, to write into a key file. The returned string is
    /// not wiped: write it out and drop it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes.as_ref())
    }

    /// A short public identifier of the key (a hash, not the key), shown in errors
    /// so an operator can tell which key a vault expects.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"marc-vault-key-id\0");
        h.update(self.bytes.as_ref());
        hex::encode(&h.finalize()[..6])
    }

    /// Where the key came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// Refuses a key read from a file inside the data directory `data`: a copy
    /// of the data must not carry its own key.
    pub fn check_outside(&self, data: &Path) -> Result<()> {
        match &self.source {
            KeySource::File(kp) => check_key_outside(kp, data),
            _ => Ok(()),
        }
    }

    /// A 32-byte key for another purpose, derived with HKDF-SHA256 (RFC 5869)
    /// under `purpose` as the info string. The audit log's MAC key comes from
    /// here, so an operator keeps one key outside the data directory, and a
    /// derived key reveals nothing about the vault key or any other purpose's key.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"marc-key-derivation-v1"), self.bytes.as_ref());
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 255 * 32, so expand cannot fail.
        let _ = hk.expand(purpose.as_bytes(), out.as_mut());
        out
    }
}

fn parse_key_text(text: &str, source: KeySource) -> Result<VaultKey> {
    let t = text.trim();
    let decoded: Option<Zeroizing<Vec<u8>>> =
        if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).ok().map(Zeroizing::new)
        } else {
            let engines = [
                base64::engine::general_purpose::STANDARD,
                base64::engine::general_purpose::STANDARD_NO_PAD,
                base64::engine::general_purpose::URL_SAFE,
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            engines
                .iter()
                .find_map(|e| e.decode(t).ok())
                .map(Zeroizing::new)
        };
    match decoded {
        Some(v) if v.len() == 32 => {
            let mut bytes = Zeroizing::new([0u8; 32]);
            bytes.copy_from_slice(&v);
            Ok(VaultKey { bytes, source })
        }
        Some(v) => Err(VaultError::BadKey {
            source_desc: source.describe(),
            reason: format!("it decodes to {} bytes, not 32", v.len()),
        }),
        None => Err(VaultError::BadKey {
            source_desc: source.describe(),
            reason: format!(
                "its {} characters are neither 64 hex digits nor base64",
                t.chars().count()
            ),
        }),
    }
}

/// A secret value. Prints as `***` (Debug and Display) and is wiped on drop; the
/// value is reachable only through [`Secret::expose`], which makes every use visible
/// in review.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value (e.g. one typed at `marc secret set`).
    pub fn new(v: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(v.into()))
    }
    /// The plain value: pass it to the system that needs it, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Checks a secret name: 1–128 characters of ASCII letters, digits and `_ - . / : @`,
/// starting with a letter or digit (so names are safe in shells, Rhai strings and keys).
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(VaultError::BadName {
            name: name.chars().take(MAX_NAME_LEN).collect(),
            reason: reason.into(),
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad("it is longer than 128 characters");
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return bad("it must start with a letter or digit");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-./:@".contains(*c)))
    {
        return bad(&format!(
            "the character {c:?} is not allowed (use letters, digits and _ - . / : @)"
        ));
    }
    Ok(())
}

/// The encrypted secret store in a marc data directory (table `vault`).
#[derive(Clone)]
pub struct Vault {
    store: Store,
    table: Table,
    cipher: Arc<XChaCha20Poly1305>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Vault(..)")
    }
}

impl Vault {
    /// Opens the vault of `store` with `key`. A new vault is bound to the key; an
    /// existing one refuses any other key with [`VaultError::WrongKey`]. A key file
    /// inside the data directory is refused.
    pub fn open(store: &Store, key: VaultKey) -> Result<Vault> {
        key.check_outside(store.path())?;
        let table = store.table(TABLE)?;
        let cipher = XChaCha20Poly1305::new(key.bytes.as_ref().into());
        let given = key.id();
        match table.get(CHECK_KEY)? {
            Some(rec) => {
                if open_record(&cipher, &rec, CHECK_AAD).is_err() {
                    let expected = table
                        .get(KEY_ID_KEY)?
                        .map(|v| String::from_utf8_lossy(&v).into_owned())
                        .unwrap_or_else(|| "unknown".into());
                    return Err(VaultError::WrongKey { expected, given });
                }
            }
            None => {
                let rec = seal_record(&cipher, CHECK_PLAINTEXT, CHECK_AAD);
                if table.compare_and_swap(CHECK_KEY, None, Some(&rec))? {
                    table.put(KEY_ID_KEY, given.as_bytes())?;
                    store.flush()?;
                } else {
                    // Another handle created the vault at the same moment: check against it.
                    return Vault::open(store, key);
                }
            }
        }
        Ok(Vault {
            store: store.clone(),
            table,
            cipher: Arc::new(cipher),
        })
    }

    /// Stores (or replaces) a secret; durable when this returns.
    pub fn set(&self, name: &str, value: &str) -> Result<()> {
        validate_name(name)?;
        if value.is_empty() {
            return Err(VaultError::Empty(name.into()));
        }
        register_secret(value);
        let rec = seal_record(&self.cipher, value.as_bytes(), &aad(name));
        self.table.put(record_key(name), rec)?;
        self.store.flush()?;
        Ok(())
    }

    /// Decrypts a secret.
    pub fn get(&self, name: &str) -> Result<Secret> {
        validate_name(name)?;
        let rec = self
            .table
            .get(record_key(name))?
            .ok_or_else(|| VaultError::NotFound(name.into()))?;
        let plain =
            open_record(&self.cipher, &rec, &aad(name)).map_err(|reason| VaultError::Damaged {
                name: name.into(),
                reason,
            })?;
        match String::from_utf8(plain.to_vec()) {
            Ok(s) => {
                register_secret(&s);
                Ok(Secret::new(s))
            }
            Err(e) => {
                let mut b = e.into_bytes();
                b.zeroize();
                Err(VaultError::Damaged {
                    name: name.into(),
                    reason: "the value is not UTF-8".into(),
                })
            }
        }
    }

    /// The names of all secrets, sorted. Never values.
    pub fn list(&self) -> Result<Vec<String>> {
        Ok(self
            .table
            .scan_prefix(SECRET_PREFIX)?
            .into_iter()
            .map(|(k, _)| String::from_utf8_lossy(&k[SECRET_PREFIX.len()..]).into_owned())
            .collect())
    }

    /// Removes a secret; `false` if there was none. Durable when this returns.
    pub fn remove(&self, name: &str) -> Result<bool> {
        validate_name(name)?;
        let key = record_key(name);
        let existed = self.table.get(&key)?.is_some();
        if existed {
            self.table.remove(&key)?;
            self.store.flush()?;
        }
        Ok(existed)
    }

    /// A [`Redactor`] that masks every value in the vault: build it once per run and
    /// hand it to logging, recordings and error reporting.
    pub fn redactor(&self) -> Result<Redactor> {
        let mut values = Vec::new();
        for name in self.list()? {
            values.push(self.get(&name)?.expose().to_string());
        }
        let r = Redactor::new(values.iter().cloned());
        for mut v in values {
            v.zeroize();
        }
        Ok(r)
    }
}

fn record_key(name: &str) -> Vec<u8> {
    let mut k = SECRET_PREFIX.to_vec();
    k.extend_from_slice(name.as_bytes());
    k
}

fn aad(name: &str) -> Vec<u8> {
    let mut a = b"marc-vault-v1\0".to_vec();
    a.extend_from_slice(name.as_bytes());
    a
}

fn seal_record(cipher: &XChaCha20Poly1305, plain: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    // Encryption with a valid key and in-memory buffers cannot fail.
    let ct = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
        .unwrap_or_default();
    let mut rec = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    rec.push(RECORD_VERSION);
    rec.extend_from_slice(&nonce);
    rec.extend_from_slice(&ct);
    rec
}

fn open_record(
    cipher: &XChaCha20Poly1305,
    rec: &[u8],
    aad: &[u8],
) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
    if rec.len() < 1 + NONCE_LEN + 16 {
        return Err("the record is too short".into());
    }
    if rec[0] != RECORD_VERSION {
        return Err(format!("unknown record version {}", rec[0]));
    }
    let nonce = XNonce::from_slice(&rec[1..1 + NONCE_LEN]);
    cipher
        .decrypt(
            nonce,
            Payload {
                msg: &rec[1 + NONCE_LEN..],
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| "authentication failed".into())
}

fn check_key_outside(key: &Path, data: &Path) -> Result<()> {
    if data.as_os_str().is_empty() {
        return Ok(()); // temporary store: no directory to protect
    }
    let k = key.canonicalize().map_err(|e| VaultError::KeyFile {
        path: key.to_path_buf(),
        reason: e.to_string(),
    })?;
    let d = data.canonicalize().unwrap_or_else(|_| data.to_path_buf());
    if k.starts_with(&d) {
        return Err(VaultError::KeyInsideData {
            key: key.to_path_buf(),
            data: data.to_path_buf(),
        });
    }
    Ok(())
}

/// Masks every known secret value in a string (for logs, recordings, error messages).
///
/// Besides each value as given, it masks the forms a value takes on its way through
/// the systems: percent-encoded (URLs, form bodies, `+` for space) and JSON-escaped.
/// Matching is a single leftmost-longest Aho-Corasick pass, so a secret that contains
/// another is masked whole. Cheap to clone (the automaton is shared).
#[derive(Clone, Default)]
pub struct Redactor {
    values: Vec<Zeroizing<String>>,
    matcher: Option<Arc<AhoCorasick>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} values)", self.values.len())
    }
}

/// The text a masked value is replaced with.
pub const MASK: &str = "***";

impl Redactor {
    /// A redactor for these values (empty strings are ignored).
    pub fn new(values: impl IntoIterator<Item = String>) -> Redactor {
        let mut r = Redactor::default();
        for v in values {
            if !v.is_empty() && !r.values.iter().any(|x| **x == v) {
                r.values.push(Zeroizing::new(v));
            }
        }
        r.rebuild();
        r
    }

    /// Adds a value (e.g. a secret fetched during the run).
    pub fn add(&mut self, v: impl Into<String>) {
        let v = v.into();
        if v.is_empty() || self.values.iter().any(|x| **x == v) {
            return;
        }
        self.values.push(Zeroizing::new(v));
        self.rebuild();
    }

    /// How many distinct values are masked.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Replaces each occurrence of a known value (or its encoded forms) by `***`.
    pub fn mask(&self, s: &str) -> String {
        let Some(m) = &self.matcher else {
            return s.to_string();
        };
        let mut out = String::with_capacity(s.len());
        m.replace_all_with(s, &mut out, |_, _, dst| {
            dst.push_str(MASK);
            true
        });
        out
    }

    /// Whether `s` contains any known value (for leak checks in tests and guards).
    pub fn contains_secret(&self, s: &str) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(s))
    }

    fn rebuild(&mut self) {
        let mut pats: Vec<String> = Vec::new();
        for v in &self.values {
            for p in variants(v) {
                if !pats.contains(&p) {
                    pats.push(p);
                }
            }
        }
        self.matcher = if pats.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&pats)
                .ok()
                .map(Arc::new)
        };
        for p in &mut pats {
            p.zeroize();
        }
    }
}

/// An `io::Write` that masks secrets before passing text on: wrap the log output
/// with it so no event can print a secret. It buffers up to each newline (a value
/// split across two `write` calls is still caught) and writes the rest on flush/drop.
///
/// With tracing-subscriber: `.with_writer(move || RedactingWriter::new(red.clone(), std::io::stderr()))`
/// (any `Fn() -> impl Write` is a `MakeWriter`).
pub struct RedactingWriter<W: std::io::Write> {
    /// `None`: the process's [`known_secrets`] at the time of each write.
    redactor: Option<Redactor>,
    inner: W,
    buf: Vec<u8>,
}

impl<W: std::io::Write> RedactingWriter<W> {
    /// Masks the values of `redactor`.
    pub fn new(redactor: Redactor, inner: W) -> Self {
        RedactingWriter {
            redactor: Some(redactor),
            inner,
            buf: Vec::new(),
        }
    }

    /// Masks every secret registered in this process so far ([`register_secret`],
    /// every value the vault stored or returned), including those registered
    /// after the writer was made: marc's log output goes through this.
    pub fn known(inner: W) -> Self {
        RedactingWriter {
            redactor: None,
            inner,
            buf: Vec::new(),
        }
    }

    fn emit(&mut self, upto: usize) -> std::io::Result<()> {
        let chunk: Vec<u8> = self.buf.drain(..upto).collect();
        let text = String::from_utf8_lossy(&chunk);
        let masked = match &self.redactor {
            Some(r) => r.mask(&text),
            None => known_secrets().mask(&text),
        };
        self.inner.write_all(masked.as_bytes())
    }
}

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if let Some(pos) = self.buf.iter().rposition(|b| *b == b'\n') {
            self.emit(pos + 1)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let n = self.buf.len();
        if n > 0 {
            self.emit(n)?;
        }
        self.inner.flush()
    }
}

impl<W: std::io::Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = std::io::Write::flush(self);
        self.buf.zeroize();
    }
}

/// Replaces the panic hook with one that masks every secret known to the
/// process at the time of the panic ([`known_secrets`]) in the message and
/// location before printing them to stderr, then (like the default hook)
/// names the thread. Call once, at start-up.
pub fn install_panic_redaction() {
    std::panic::set_hook(Box::new(move |info| {
        let redactor = known_secrets();
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("<unnamed>");
        eprintln!(
            "thread '{}' {}",
            redactor.mask(name),
            redactor.mask(&info.to_string())
        );
    }));
}

/// The secret values this process has handled: the logs, the panic hook and
/// the audit log mask them all. Process-wide because those outputs are.
static KNOWN: std::sync::RwLock<Option<Redactor>> = std::sync::RwLock::new(None);

/// Adds `value` to the secrets this process masks in its log output, panic
/// messages and audit entries ([`known_secrets`]). The vault registers every
/// value it stores or returns; register values that come from elsewhere
/// (e.g. a `MARC_SECRET_*` variable) when they are read.
pub fn register_secret(value: &str) {
    if value.is_empty() {
        return;
    }
    let mut k = KNOWN.write().unwrap_or_else(|p| p.into_inner());
    let r = k.get_or_insert_with(Redactor::default);
    r.add(value);
}

/// A snapshot of the secrets registered so far (cheap: the matcher is shared).
pub fn known_secrets() -> Redactor {
    KNOWN
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default()
}

fn variants(v: &str) -> Vec<String> {
    let mut out = vec![v.to_string()];
    let mut pct_upper = String::new();
    let mut form = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            pct_upper.push(b as char);
            form.push(b as char);
        } else {
            pct_upper.push_str(&format!("%{b:02X}"));
            if b == b' ' {
                form.push('+');
            } else {
                form.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let pct_lower = lower_pct(&pct_upper);
    let mut json = String::new();
    for c in v.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            c if (c as u32) < 0x20 => json.push_str(&format!("\\u{:04x}", c as u32)),
            c => json.push(c),
        }
    }
    for s in [pct_upper, pct_lower, form, json] {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn lower_pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_pct = 0;
    for c in s.chars() {
        if c == '%' {
            after_pct = 2;
            out.push(c);
        } else if after_pct > 0 {
            after_pct -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path().join("data")).unwrap();
        (dir, s)
    }

    #[test]
    fn roundtrip_list_remove() {
        let (_d, s) = store();
        let v = Vault::open(&s, VaultKey::generate()).unwrap();
        v.set("sbsys/password", "hemmeligt-Æøå 123").unwrap();
        v.set("kmd.user", "robot01").unwrap();
        assert_eq!(
            v.get("sbsys/password").unwrap().expose(),
            "hemmeligt-Æøå 123"
        );
        assert_eq!(
            v.list().unwrap(),
            vec!["kmd.user".to_string(), "sbsys/password".to_string()]
        );
        assert!(v.remove("kmd.user").unwrap());
        assert!(!v.remove("kmd.user").unwrap());
        let e = v.get("kmd.user").unwrap_err();
        assert!(e.to_string().contains("marc secret set kmd.user"), "{e}");
    }

    #[test]
    fn stored_bytes_do_not_contain_plaintext() {
        let (_d, s) = store();
        let v = Vault::open(&s, VaultKey::generate()).unwrap();
        let plain = "correct horse battery staple";
        v.set("pw", plain).unwrap();
        v.set("pw2", plain).unwrap();
        let t = s.table(TABLE).unwrap();
        let mut records = Vec::new();
        for kv in t.iter() {
            let (_k, val) = kv.unwrap();
            assert!(!val.windows(plain.len()).any(|w| w == plain.as_bytes()));
            assert!(!val.windows(6).any(|w| w == b"horse "));
            records.push(val);
        }
        // random nonce per value: the same plaintext gives different records
        let a = t.get(record_key("pw")).unwrap().unwrap();
        let b = t.get(record_key("pw2")).unwrap().unwrap();
        assert_ne!(a[1..25], b[1..25]);
        assert_ne!(a[25..], b[25..]);
    }

    #[test]
    fn wrong_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let k1 = VaultKey::generate();
        {
            let s = Store::open(&data).unwrap();
            Vault::open(&s, k1.clone())
                .unwrap()
                .set("pw", "x1")
                .unwrap();
        }
        let s = Store::open(&data).unwrap();
        let k2 = VaultKey::generate();
        let e = Vault::open(&s, k2.clone()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("the vault key does not match the vault"),
            "{msg}"
        );
        assert!(msg.contains(&k1.id()) && msg.contains(&k2.id()), "{msg}");
        assert!(!msg.contains(&k1.to_hex()) && !msg.contains(&k2.to_hex()));
        assert_eq!(
            Vault::open(&s, k1).unwrap().get("pw").unwrap().expose(),
            "x1"
        );
    }

    #[test]
    fn records_cannot_be_swapped_or_altered() {
        let (_d, s) = store();
        let v = Vault::open(&s, VaultKey::generate()).unwrap();
        v.set("a", "alpha-secret").unwrap();
        v.set("b", "beta-secret").unwrap();
        let t = s.table(TABLE).unwrap();
        let ra = t.get(record_key("a")).unwrap().unwrap();
        t.put(record_key("b"), &ra).unwrap();
        assert!(matches!(v.get("b"), Err(VaultError::Damaged { .. })));
        let mut bad = ra.clone();
        let n = bad.len() - 1;
        bad[n] ^= 1;
        t.put(record_key("a"), &bad).unwrap();
        assert!(matches!(v.get("a"), Err(VaultError::Damaged { .. })));
    }

    #[test]
    fn list_never_shows_values_and_secret_prints_mask() {
        let (_d, s) = store();
        let v = Vault::open(&s, VaultKey::generate()).unwrap();
        v.set("pw", "Sup3rS3cret!").unwrap();
        let listed = format!("{:?}", v.list().unwrap());
        assert!(!listed.contains("Sup3rS3cret!"));
        let sec = v.get("pw").unwrap();
        assert_eq!(format!("{sec}"), "***");
        assert_eq!(format!("{sec:?}"), "***");
        assert_eq!(format!("{:?}", Some(&sec)), "Some(***)");
    }

    #[test]
    fn key_parsing() {
        let k = VaultKey::generate();
        let hexk = k.to_hex();
        assert_eq!(parse_key_text(&hexk, KeySource::Env).unwrap().id(), k.id());
        let b64 = base64::engine::general_purpose::STANDARD.encode(k.bytes.as_ref());
        assert_eq!(
            parse_key_text(&format!(" {b64}\n"), KeySource::Env)
                .unwrap()
                .id(),
            k.id()
        );
        let e = parse_key_text("abcd", KeySource::Env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("32 bytes") && !e.contains("abcd"), "{e}");
        assert!(format!("{k:?}").contains(&k.id()) && !format!("{k:?}").contains(&hexk));
    }

    #[cfg(unix)]
    #[test]
    fn key_file_rules() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let s = Store::open(&data).unwrap();
        let k = VaultKey::generate();
        let inside = data.join("vault.key");
        std::fs::write(&inside, k.to_hex()).unwrap();
        std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = Vault::open(&s, VaultKey::from_file(&inside).unwrap()).unwrap_err();
        assert!(matches!(e, VaultError::KeyInsideData { .. }), "{e}");

        let outside = dir.path().join("vault.key");
        std::fs::write(&outside, k.to_hex()).unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            VaultKey::from_file(&outside),
            Err(VaultError::KeyFileTooOpen { .. })
        ));
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o600)).unwrap();
        let kf = VaultKey::from_file(&outside).unwrap();
        assert_eq!(kf.id(), k.id());
        Vault::open(&s, kf).unwrap();

        let raw = dir.path().join("raw.key");
        std::fs::write(&raw, [7u8; 32]).unwrap();
        std::fs::set_permissions(&raw, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            VaultKey::from_file(&raw).unwrap().id(),
            VaultKey::from_bytes([7u8; 32]).id()
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("sbsys/robot01:password").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("../x").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name(&"a".repeat(129)).is_err());
    }

    #[test]
    fn redactor_masks_all_forms() {
        let mut r = Redactor::new(["p@ss word\"1".to_string(), "".to_string()]);
        r.add("p@ss");
        r.add("p@ss"); // duplicate ignored
        assert_eq!(r.len(), 2);
        assert_eq!(r.mask("login p@ss word\"1 ok"), "login *** ok");
        assert_eq!(r.mask("short p@ss!"), "short ***!");
        assert_eq!(r.mask("u=p%40ss%20word%221&x"), "u=***&x");
        assert_eq!(r.mask("u=p%40ss+word%221"), "u=***");
        assert_eq!(
            r.mask("u=p%40ss%20word%221".to_lowercase().as_str()),
            "u=***"
        );
        assert_eq!(r.mask(r#"{"pw":"p@ss word\"1"}"#), r#"{"pw":"***"}"#);
        assert_eq!(r.mask("nothing here"), "nothing here");
        assert!(r.contains_secret("xx p@ss"));
        assert!(!r.contains_secret("xx pass"));
        assert_eq!(Redactor::default().mask("abc"), "abc");
        assert!(!format!("{r:?}").contains("p@ss"));
    }

    #[test]
    fn redacting_writer_masks_across_writes() {
        use std::io::Write;
        let r = Redactor::new(["topsecret".to_string()]);
        let mut out = Vec::new();
        {
            let mut w = RedactingWriter::new(r.clone(), &mut out);
            w.write_all(b"line one top").unwrap();
            w.write_all(b"secret here\nsecond topsecret").unwrap();
            // no newline at the end: written on drop
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "line one *** here\nsecond ***"
        );
    }

    #[test]
    fn the_vault_registers_what_it_handles_and_the_log_writer_masks_it() {
        use std::io::Write;
        let (_d, s) = store();
        let v = Vault::open(&s, VaultKey::generate()).unwrap();
        v.set("reg-a", "registered-by-set-Q1").unwrap();
        let mut out = Vec::new();
        {
            let mut w = RedactingWriter::known(&mut out);
            // registered after the writer was made
            register_secret("registered-later-Q2");
            writeln!(w, "a registered-by-set-Q1 b registered-later-Q2 c").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "a *** b *** c\n");
        assert!(known_secrets().contains_secret(v.get("reg-a").unwrap().expose()));
    }

    #[test]
    fn vault_redactor_covers_all_values() {
        let (_d, s) = store();
        let v = Vault::open(&s, VaultKey::generate()).unwrap();
        v.set("a", "alpha-secret").unwrap();
        v.set("b", "beta-secret").unwrap();
        let r = v.redactor().unwrap();
        assert_eq!(r.mask("alpha-secret/beta-secret"), "***/***");
    }
}
