//! Handing documents to marc (`emit`), and turning files into text.
//!
//! Nothing is lost without a word: a document must carry a usable id (the
//! system's own, or `content_id(doc)` for a system without ids), and a
//! rejected document ends the robot with a termination the script cannot
//! catch, so no `try` skips it silently.

use super::RResult;
use crate::runtime::files::FileHandle;
use crate::runtime::{Failure, FailureKind, RobotEnv};
use marc_model::{Attachment, Document};
use rhai::{Array, Blob, Dynamic, Engine, Map};
use sha2::Digest;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

impl RobotEnv {
    /// An attachment of an emitted document, from a `File`, `#{name, file}`,
    /// `#{name, url}` or `#{name, mime, bytes}`.
    fn attachment(&self, a: Dynamic) -> RResult<Attachment> {
        if let Some(f) = a.clone().try_cast::<FileHandle>() {
            return Ok(convert(&f.data().name, &f));
        }
        let Some(a) = a.try_cast::<Map>() else {
            return self.fail_as(
                FailureKind::Document,
                "emit: each attachment must be a File or a map #{name, file}, #{name, url} or #{name, mime, bytes}",
            );
        };
        let name = a
            .get("name")
            .map(|v| v.to_string())
            .unwrap_or_else(|| "bilag".into());
        if let Some(f) = a
            .get("file")
            .and_then(|f| f.clone().try_cast::<FileHandle>())
        {
            return Ok(convert(&name, &f));
        }
        if let Some(b) = a
            .get("bytes")
            .and_then(|b| b.read_lock::<Blob>().map(|x| x.clone()))
        {
            let mime = a.get("mime").map(|v| v.to_string()).unwrap_or_default();
            return Ok(crate::convert::attachment_to_text(&name, &mime, &b));
        }
        if let Some(url) = a.get("url") {
            let f = self.download(&url.to_string())?;
            return Ok(convert(&name, &f));
        }
        self.fail_as(
            FailureKind::Document,
            format!("emit: attachment {name:?} has neither `file`, `url` nor `bytes`"),
        )
    }

    fn emit(&self, m: Map) -> RResult<bool> {
        let get = |k: &str| -> String {
            m.get(k)
                .map(|v| {
                    if v.is_unit() {
                        String::new()
                    } else {
                        v.to_string()
                    }
                })
                .unwrap_or_default()
        };
        let reject =
            |why: String| self.fail_as::<bool>(FailureKind::Document, format!("emit: {why}"));
        let body = m
            .get("body")
            .and_then(|b| b.clone().try_cast::<FileHandle>());
        if m.contains_key("body") && body.is_none() {
            return reject("`body` must be a File (from download() or screenshot())".into());
        }
        for required in ["case_id", "doc_id", "title", "date"] {
            if !m.contains_key(required) {
                return reject(format!(
                    "the document has no `{required}` field{}",
                    if required == "doc_id" { NO_ID_HINT } else { "" }
                ));
            }
        }
        match (m.contains_key("text"), &body) {
            (false, None) => return reject("the document has neither `text` nor `body`".into()),
            (true, Some(_)) => {
                return reject(
                    "give the document's text either as `text` or as `body`, not both".into(),
                )
            }
            _ => {}
        }
        let doc_id = get("doc_id");
        if let Some(why) = unusable_id(&doc_id) {
            return reject(format!("the doc_id {doc_id:?} {why}{NO_ID_HINT}"));
        }
        let raw_date = get("date");
        let Some(date) = iso_date(&raw_date) else {
            return reject(format!("date {raw_date:?} is not a date (use YYYY-MM-DD)"));
        };
        if self.documents_emitted() >= self.limits.max_documents {
            return self.fail_as(
                FailureKind::Budget,
                format!(
                    "emit: refused by the rights profile: the robot may extract at most {} documents",
                    self.limits.max_documents
                ),
            );
        }
        let mut attachments = Vec::new();
        if let Some(list) = m.get("attachments") {
            let Some(list) = list.read_lock::<Array>().map(|a| a.clone()) else {
                return reject("`attachments` must be an array".into());
            };
            for a in list {
                attachments.push(self.attachment(a)?);
            }
        }
        let mut ocr_confidence = self
            .screen
            .as_ref()
            .and_then(|s| s.lock().ok().map(|mut s| s.take_min_confidence()))
            .filter(|c| *c < 1.0);
        if let Some(c) = self.run.ocr_conf.lock().ok().and_then(|mut c| c.take()) {
            ocr_confidence = Some(ocr_confidence.map_or(c, |o: f32| o.min(c)));
        }
        let text = match &body {
            Some(f) => {
                let a = convert(&f.data().name, f);
                if let Some(c) = a.ocr_confidence {
                    ocr_confidence = Some(ocr_confidence.map_or(c, |o| o.min(c)));
                }
                a.text
            }
            None => get("text"),
        };
        let doc = Document {
            system: self.system.clone(),
            case_id: get("case_id"),
            doc_id,
            title: get("title"),
            date,
            kind: get("kind"),
            department: get("department"),
            text,
            attachments,
            ocr_confidence,
            cpr: Some(get("cpr")).filter(|c| !c.is_empty()),
        };
        let key = doc.key();
        match (self.sink)(doc) {
            Ok(new) => {
                self.run.emitted.fetch_add(1, Ordering::Relaxed);
                self.record_step(
                    "emit",
                    &[&key],
                    true,
                    if new { "stored" } else { "already stored" },
                    None,
                );
                Ok(new)
            }
            Err(f) => {
                self.record_step(
                    "emit",
                    &[&key],
                    false,
                    &format!("rejected: {}", f.message),
                    None,
                );
                self.raise(Failure::new(f.kind, format!("emit: {}", f.message)))
            }
        }
    }

    /// The text of a file through marc's converters; an error when it
    /// cannot be read (a script decides what to do, nothing is made up).
    fn file_text(&self, command: &str, f: &FileHandle, pdf_only: bool) -> RResult<String> {
        let t0 = Instant::now();
        let name = f.describe();
        let r = if pdf_only && !f.is_pdf() {
            Err(Failure::new(
                FailureKind::Script,
                format!("{name} is not a PDF; use attachment_text(file)"),
            ))
        } else {
            let a = convert(&f.data().name, f);
            if let (Some(c), Ok(mut g)) = (a.ocr_confidence, self.run.ocr_conf.lock()) {
                *g = Some(g.map_or(c, |o| o.min(c)));
            }
            match a.method.as_str() {
                "error" | "unsupported" => Err(Failure::new(
                    FailureKind::System,
                    format!("{name} cannot be read: {}", a.text),
                )),
                _ => Ok(a.text),
            }
        };
        self.act_since(t0, command, &[&name], None, async move { r })
    }
}

/// What to do when a document has no usable id.
const NO_ID_HINT: &str = "; every document needs the system's own id (a document without one would be mistaken for another and lost), or `doc_id: content_id(doc)` for a system without ids";

/// Why a document id cannot identify a document, if it cannot.
fn unusable_id(id: &str) -> Option<&'static str> {
    if id.trim().is_empty() {
        Some("is empty")
    } else if id.chars().any(char::is_control) {
        Some("holds control characters")
    } else if id.len() > 512 {
        Some("is longer than 512 bytes")
    } else {
        None
    }
}

fn convert(name: &str, f: &FileHandle) -> Attachment {
    crate::convert::attachment_to_text(name, &f.data().mime, &f.data().bytes)
}

/// An id made of a document's content, for systems without document ids:
/// the same title, date and text give the same id, different ones differ.
fn content_id(m: &Map) -> String {
    let field = |k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
    let mut h = sha2::Sha256::new();
    for k in ["title", "date", "text"] {
        h.update(field(k).as_bytes());
        h.update([0u8]);
    }
    format!("sha256-{}", &hex::encode(h.finalize())[..24])
}

pub(super) fn register(engine: &mut Engine, env: Arc<RobotEnv>) {
    let e = env.clone();
    api!(engine, "emit", ["document: Map", "bool"], "Hands one document to marc: #{case_id, doc_id, title, date, kind, department, text, attachments, cpr}; `cpr` is the CPR number the system files the document under, when the robot can read it (a document of another person is never sent). `doc_id` is required and must be the system's own id (or `content_id(doc)`): a missing or empty id, an invalid date, or a different document under an id already stored stops the robot (no document is dropped silently). `date` is YYYY-MM-DD or a Danish date. Instead of `text`, `body: file` makes a downloaded PDF or image the document's text. `attachments` holds Files, #{name, file}, #{name, url} or #{name, mime, bytes}; each is turned into text (PDF text layer, else OCR). Returns false for the same document already stored (a resumed run). What marc stores: #{system, case_id, doc_id, title, date, kind, department, text, attachments: [#{name, mime, text, method: \"pdf-text\"|\"ocr\"|\"text\", ocr_confidence}], ocr_confidence} — a PDF-only document keeps `text: \"\"` with the PDF's text in `attachments[0].text`.", move |m: Map| -> RResult<bool> {
        e.emit(m)
    });
    api!(engine, "content_id", ["document: Map", "String"], "An id made from a document's title, date and text (`sha256-…`), for a system that shows no document ids: `doc.doc_id = content_id(doc)`.", |m: Map| -> String {
        content_id(&m)
    });
    let e = env.clone();
    api!(engine, "pdf_text", ["file: File", "String"], "The text of a PDF file (from `download`): its text layer, or OCR of its pages when it is a scan. An error when the file is not a PDF or cannot be read.", move |f: FileHandle| -> RResult<String> {
        e.file_text("pdf_text", &f, true)
    });
    let e = env;
    api!(engine, "attachment_text", ["file: File", "String"], "The text of any attachment marc can read: a PDF (text layer, else OCR), an image (OCR) or a text file; what `emit` does with attachments. An error when it cannot be read.", move |f: FileHandle| -> RResult<String> {
        e.file_text("attachment_text", &f, false)
    });
    api!(engine, "iso_date", ["date: &str", "String"], "Normalises a Danish date (DD.MM.YYYY, DD-MM-YYYY, DD/MM/YYYY) or an ISO date to YYYY-MM-DD.", |s: &str| -> RResult<String> {
        match iso_date(s) {
            Some(d) => Ok(d),
            None => Err(format!("iso_date: {s:?} is not a date").into()),
        }
    });
}

/// `DD.MM.YYYY`, `DD-MM-YYYY`, `DD/MM/YYYY` or `YYYY-MM-DD` → `YYYY-MM-DD`.
pub fn iso_date(s: &str) -> Option<String> {
    let s = s.trim();
    for fmt in [
        "%Y-%m-%d",
        "%d.%m.%Y",
        "%d-%m-%Y",
        "%d/%m/%Y",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s.get(..s.len().min(19)).unwrap_or(s), fmt)
        {
            return Some(d.format("%Y-%m-%d").to_string());
        }
        if let Some(head) = s.get(..10) {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(head, fmt) {
                return Some(d.format("%Y-%m-%d").to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso_date("07.03.2019").as_deref(), Some("2019-03-07"));
        assert_eq!(iso_date("2019-03-07").as_deref(), Some("2019-03-07"));
        assert_eq!(iso_date("31.02.2019"), None);
    }

    #[test]
    fn ids() {
        assert!(unusable_id("").is_some() && unusable_id("  ").is_some());
        assert!(unusable_id("D\u{1b}1").is_some());
        assert!(unusable_id("D-17").is_none());
        let mut m = Map::new();
        m.insert("title".into(), "Brev".into());
        m.insert("text".into(), "hej".into());
        let a = content_id(&m);
        m.insert("text".into(), "hej!".into());
        assert_ne!(a, content_id(&m));
        assert!(a.starts_with("sha256-") && a.len() == 31);
    }
}
