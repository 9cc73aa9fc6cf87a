//! Attachments to text: a PDF's text layer, plain text as is. Images and
//! image-only PDFs go through OCR where the screen driver is available.

use marc_model::Attachment;

/// Converts an attachment's bytes to text, saying how in `method`.
pub fn attachment_to_text(name: &str, mime: &str, bytes: &[u8]) -> Attachment {
    let is_pdf = mime.contains("pdf") || bytes.starts_with(b"%PDF");
    let (text, method) = if is_pdf {
        match pdf_extract::extract_text_from_mem(bytes) {
            Ok(t) if !t.trim().is_empty() => (tidy(&t), "pdf-text"),
            Ok(_) => (String::new(), "pdf-no-text"),
            Err(e) => (format!("[bilaget kunne ikke læses: {e}]"), "error"),
        }
    } else if mime.starts_with("text/") {
        (String::from_utf8_lossy(bytes).into_owned(), "text")
    } else {
        (String::new(), "unsupported")
    };
    Attachment {
        name: name.to_string(),
        mime: if is_pdf {
            "application/pdf".into()
        } else {
            mime.to_string()
        },
        text,
        method: method.into(),
        ocr_confidence: None,
    }
}

/// Collapses the extractor's layout whitespace into paragraphs.
fn tidy(t: &str) -> String {
    let mut out = String::new();
    for para in t
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
    {
        if para.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&para);
    }
    out
}
