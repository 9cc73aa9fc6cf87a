use serde::{Deserialize, Serialize};

/// What kind of information a mark covers; each kind has its own legal basis
/// for redaction in the reading guide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarkKind {
    Cpr,
    Name,
    Address,
    Word,
}

impl MarkKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            MarkKind::Cpr => "cpr",
            MarkKind::Name => "name",
            MarkKind::Address => "address",
            MarkKind::Word => "word",
        }
    }
}

/// A span of a document's text that screening wants removed (or reviewed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// UTF-8 byte offset where the span starts.
    pub start: usize,
    /// UTF-8 byte offset one past the span.
    pub end: usize,
    pub kind: MarkKind,
    /// The matched text (the same as `text[start..end]`).
    pub text: String,
    /// 0–1; low values need a caseworker's eye.
    pub confidence: f32,
    /// A short human reason, e.g. "CPR with valid date and context word".
    #[serde(default)]
    pub reason: String,
    /// Whether a caseworker should look at it before delivery.
    #[serde(default)]
    pub review: bool,
}
