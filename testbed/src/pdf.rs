//! A tiny, dependency-free PDF writer for attachments.
//!
//! Real case systems hand out PDFs with a text layer; the robots and the
//! assembly must cope with them. This writer produces small valid PDF 1.4 files
//! (standard Helvetica with WinAnsiEncoding, so æ/ø/å survive, text drawn with
//! `Tj`) whose text `pdftotext` extracts again. Line wrapping never splits a CPR
//! number written `DDMMYY SSSS` and keeps runs of capitalised words (names)
//! together where they fit, so ground-truth mentions stay on one line.

use crate::world::TbAttachment;

const PAGE_W: u32 = 595;
const PAGE_H: u32 = 842;
const MARGIN: u32 = 56;
const FONT_SIZE: u32 = 10;
const LEADING: u32 = 13;
/// Helvetica at 10 pt averages ~5 pt per character; 86 keeps lines inside
/// the 483 pt text width even with many capitals.
const MAX_CHARS: usize = 86;

/// The PDF served for an attachment: its text, wrapped onto A4 pages.
pub fn attachment_pdf(att: &TbAttachment) -> Vec<u8> {
    text_pdf(&att.name, &att.text)
}

/// A PDF whose text layer holds `text` (paragraphs separated by blank lines).
pub fn text_pdf(title: &str, text: &str) -> Vec<u8> {
    let lines = wrap(text, MAX_CHARS);
    let per_page = ((PAGE_H - 2 * MARGIN) / LEADING) as usize;
    let pages: Vec<&[String]> = if lines.is_empty() {
        vec![&[]]
    } else {
        lines.chunks(per_page).collect()
    };
    // Object numbers: 1 catalog, 2 pages, 3 font, 4 info, then page/content pairs.
    let n_pages = pages.len();
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..n_pages).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            n_pages
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(
        format!(
            "<< /Title {} /Producer (marc-testbed) >>",
            utf16_string(title)
        )
        .into_bytes(),
    );
    for (i, page) in pages.iter().enumerate() {
        let content = 6 + 2 * i;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
                 /Resources << /Font << /F1 3 0 R >> >> /Contents {content} 0 R >>"
            )
            .into_bytes(),
        );
        let mut s = format!(
            "BT\n/F1 {FONT_SIZE} Tf\n{LEADING} TL\n{MARGIN} {} Td\n",
            PAGE_H - MARGIN - FONT_SIZE
        )
        .into_bytes();
        for line in page.iter() {
            if !line.is_empty() {
                s.extend_from_slice(&pdf_string(line));
                s.extend_from_slice(b" Tj ");
            }
            s.extend_from_slice(b"T*\n");
        }
        s.extend_from_slice(b"ET\n");
        let mut obj = format!("<< /Length {} >>\nstream\n", s.len()).into_bytes();
        obj.extend_from_slice(&s);
        obj.extend_from_slice(b"endstream");
        objects.push(obj);
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 4 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// The WinAnsiEncoding byte for a character (`?` when it has none).
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        _ => b'?',
    }
}

/// A PDF literal string in WinAnsi, with non-ASCII bytes as octal escapes so
/// the content stream stays 7-bit.
fn pdf_string(s: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in s.chars() {
        let b = win_ansi(c);
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
        }
    }
    out.push(b')');
    out
}

/// A text string for the document information dictionary (UTF-16BE hex).
fn utf16_string(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for u in s.encode_utf16() {
        out.push_str(&format!("{u:04X}"));
    }
    out.push('>');
    out
}

/// Greedy word wrap; paragraphs (blank-line separated) are kept apart by an
/// empty line. Units that must stay together are joined first.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for (pi, para) in text.split("\n\n").enumerate() {
        if pi > 0 {
            lines.push(String::new());
        }
        for raw in para.split('\n') {
            let mut line = String::new();
            for unit in units(raw) {
                let ul = unit.chars().count();
                let ll = line.chars().count();
                if ll > 0 && ll + 1 + ul > width {
                    lines.push(std::mem::take(&mut line));
                }
                if ul > width {
                    // A unit too long for a line: split it on word boundaries.
                    for w in unit.split(' ') {
                        let ll = line.chars().count();
                        if ll > 0 && ll + 1 + w.chars().count() > width {
                            lines.push(std::mem::take(&mut line));
                        }
                        if !line.is_empty() {
                            line.push(' ');
                        }
                        line.push_str(w);
                    }
                    continue;
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&unit);
            }
            lines.push(line);
        }
    }
    lines
}

/// Words, with `DDMMYY SSSS` and runs of capitalised words joined into one unit.
fn units(line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').filter(|w| !w.is_empty()).collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let mut unit = w.to_string();
        i += 1;
        let six = w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit());
        if six {
            if let Some(n) = words.get(i) {
                if n.len() >= 4 && n.bytes().take(4).all(|b| b.is_ascii_digit()) {
                    unit.push(' ');
                    unit.push_str(n);
                    i += 1;
                }
            }
        } else if capitalised(w) && !w.ends_with([',', '.', ')']) {
            while let Some(n) = words.get(i) {
                if !capitalised(n) {
                    break;
                }
                unit.push(' ');
                unit.push_str(n);
                i += 1;
                if n.ends_with([',', '.', ')']) {
                    break;
                }
            }
        }
        out.push(unit);
    }
    out
}

fn capitalised(w: &str) -> bool {
    w.trim_start_matches('(')
        .chars()
        .next()
        .is_some_and(char::is_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_without_splitting_cpr() {
        let t = "a ".repeat(40) + "010203 1234 og Anne Marie Holm Jensen bor der";
        for l in wrap(&t, 86) {
            assert!(l.chars().count() <= 86);
        }
        let joined = wrap(&t, 86).join("\n");
        assert!(joined.contains("010203 1234"));
        assert!(joined.contains("Anne Marie Holm Jensen"));
    }

    #[test]
    fn escapes() {
        assert_eq!(pdf_string("a(b)\\æ"), b"(a\\(b\\)\\\\\\346)".to_vec());
    }
}
