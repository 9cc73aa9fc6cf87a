use serde::{Deserialize, Serialize};

/// One document a robot extracted from a case system, as emitted by a script.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// System id (the robot folder name), e.g. `esdh`.
    pub system: String,
    pub case_id: String,
    /// The system's own document id; with `system` it identifies the document.
    #[serde(default)]
    pub doc_id: String,
    pub title: String,
    /// ISO date `YYYY-MM-DD`.
    pub date: String,
    /// journal note, letter, decision, mail, ...
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub department: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Lowest mean OCR confidence (0–1) of the screens the text was read
    /// from, for robots without a DOM; a caseworker checks low values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_confidence: Option<f32>,
}

impl Document {
    /// A stable key for de-duplication and storage.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.system, self.case_id, self.doc_id)
    }
}

/// An attachment converted to text (PDF text layer, else OCR).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub mime: String,
    pub text: String,
    /// How the text was obtained: `pdf-text`, `ocr`, `text`.
    #[serde(default)]
    pub method: String,
    /// Mean OCR confidence 0–1 when `method` is `ocr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_confidence: Option<f32>,
}

/// The person a request is about: their own data is never redacted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub cpr: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: String,
}
