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
    /// The CPR number the system files the document under, when the robot
    /// can read it: a document filed under another person is never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpr: Option<String>,
}

/// Whether a character may stay in text handed out: no control characters
/// but line breaks and tabs, no bidirectional overrides or zero-width
/// characters (they can reorder or hide text in the PDF a citizen reads).
fn keep_char(c: char) -> bool {
    match c {
        '\n' | '\t' => true,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}' => false,
        c => !c.is_control(),
    }
}

/// `s` without the characters [`keep_char`] drops; `\r\n` and `\r` become `\n`.
pub fn sanitize_text(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|&c| keep_char(c))
        .collect()
}

impl Document {
    /// Strips control and invisible formatting characters from every text
    /// field (see [`sanitize_text`]).
    pub fn sanitize(&mut self) {
        for s in [
            &mut self.title,
            &mut self.text,
            &mut self.kind,
            &mut self.department,
        ] {
            *s = sanitize_text(s);
        }
        for a in &mut self.attachments {
            a.name = sanitize_text(&a.name);
            a.text = sanitize_text(&a.text);
        }
    }

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

#[cfg(test)]
mod tests {
    #[test]
    fn sanitizing_drops_controls_and_overrides_but_keeps_lines() {
        let s = super::sanitize_text("a\u{1b}[31mb\r\nc\u{202e}d\te\u{200b}f\u{7}");
        assert_eq!(s, "a[31mb\ncd\tef");
    }
}
