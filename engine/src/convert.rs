//! Attachments to text: a PDF's text layer; scanned images and image-only
//! PDFs (pages rendered by poppler's `pdftoppm`) through marc's OCR engines.

use marc_model::Attachment;

/// Converts an attachment's bytes to text, saying how in `method`
/// (`pdf-text`, `ocr`, `text`, or `unsupported`/`error` with a note).
pub fn attachment_to_text(name: &str, mime: &str, bytes: &[u8]) -> Attachment {
    let is_pdf = mime.contains("pdf") || bytes.starts_with(b"%PDF");
    let is_image = mime.starts_with("image/")
        || bytes.starts_with(b"\x89PNG")
        || bytes.starts_with(b"\xff\xd8");
    let (text, method, conf) = if is_pdf {
        match pdf_extract::extract_text_from_mem(bytes) {
            Ok(t) if !t.trim().is_empty() => (tidy(&t), "pdf-text", None),
            // No text layer: a scan. Render the pages and read them.
            _ => match ocr_pdf(bytes) {
                Ok((t, c)) => (t, "ocr", Some(c)),
                Err(e) => (format!("[bilaget kunne ikke læses: {e}]"), "error", None),
            },
        }
    } else if is_image {
        match crate::screens::shared_ocr()
            .and_then(|o| marc_screen::ocr_document_image(&o, bytes).map_err(|e| e.to_string()))
        {
            Ok((t, c)) => (t, "ocr", Some(c)),
            Err(e) => (format!("[billedet kunne ikke læses: {e}]"), "error", None),
        }
    } else if mime.starts_with("text/") {
        (String::from_utf8_lossy(bytes).into_owned(), "text", None)
    } else {
        (
            format!("[bilag af typen {mime} kan ikke gengives som tekst]"),
            "unsupported",
            None,
        )
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
        ocr_confidence: conf,
    }
}

/// Renders each page with `pdftoppm` (150 dpi) and reads it with OCR;
/// returns the pages' text and their mean confidence.
fn ocr_pdf(bytes: &[u8]) -> Result<(String, f32), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, bytes).map_err(|e| e.to_string())?;
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "150", "-png"])
        .arg(&input)
        .arg(dir.path().join("page"))
        .output()
        .map_err(|e| format!("pdftoppm (Debian package poppler-utils) is missing: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pdftoppm: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    pages.sort();
    let ocr = crate::screens::shared_ocr()?;
    let (mut text, mut confs) = (Vec::new(), Vec::new());
    for p in pages {
        let png = std::fs::read(&p).map_err(|e| e.to_string())?;
        let (t, c) = marc_screen::ocr_document_image(&ocr, &png).map_err(|e| e.to_string())?;
        text.push(tidy(&t));
        confs.push(c);
    }
    if confs.is_empty() {
        return Err("the PDF has no pages".into());
    }
    let mean = confs.iter().sum::<f32>() / confs.len() as f32;
    Ok((text.join("\n\n"), mean))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_pdf() -> (Vec<u8>, String) {
        let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
        let (_, att) = world
            .documents
            .iter()
            .flat_map(|d| d.attachments.iter().map(move |a| (d, a)))
            .next()
            .expect("the testbed has attachments");
        (marc_testbed::attachment_pdf(att), att.text.clone())
    }

    #[test]
    fn pdf_text_layer_is_used() {
        let (pdf, text) = sample_pdf();
        let a = attachment_to_text("bilag.pdf", "application/pdf", &pdf);
        assert_eq!(a.method, "pdf-text");
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(squash(&a.text), squash(&text));
    }

    #[test]
    fn a_scanned_page_is_read_by_ocr() {
        // A real scan stand-in: the attachment rendered to a PNG by poppler.
        let (pdf, text) = sample_pdf();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.pdf"), &pdf).unwrap();
        let ok = std::process::Command::new("pdftoppm")
            .args(["-r", "150", "-png", "-singlefile"])
            .arg(dir.path().join("a.pdf"))
            .arg(dir.path().join("scan"))
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let png = std::fs::read(dir.path().join("scan.png")).unwrap();
        let a = attachment_to_text("scan.png", "image/png", &png);
        assert_eq!(a.method, "ocr", "{}", a.text);
        assert!(a.ocr_confidence.unwrap_or(0.0) > 0.5);
        let words: Vec<&str> = text
            .split_whitespace()
            .filter(|w| w.chars().count() > 4)
            .take(8)
            .collect();
        let found = words.iter().filter(|w| a.text.contains(*w)).count();
        assert!(
            found >= 6,
            "OCR read too little: {:?} vs {:?}",
            words,
            a.text
        );
    }
}
