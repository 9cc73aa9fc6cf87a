//! marc-assembly: the one PDF a citizen receives for an aktindsigt request.
//!
//! Cover page, reading guide (læsevejledning), document index (aktliste)
//! with links, outline (system → case → document), then the documents and
//! their attachments. Written with krilla as PDF/A-2b with embedded DejaVu
//! subsets, language da-DK.
//!
//! Redaction is real: a marked span is turned into a box before layout, so
//! its glyphs never reach the writer; marked strings in titles, the index,
//! the outline, headers and metadata are replaced by `[undtaget]`. After
//! writing, [`leak_check`] re-reads the file with an independent reader
//! (pdf-extract/lopdf) and looks for every marked string.

mod content;
mod fonts;
mod kinds;
mod layout;
mod leak;
mod matching;
mod redact;
mod render;
mod sample;

use std::collections::HashMap;

use marc_model::{Document, Mark, Period, Subject};
use serde::{Deserialize, Serialize};

pub use content::{OCR_CHECK_BELOW, TITLE_REDACTION};
pub use fonts::{Fonts, FONT_PACKAGE, SYSTEM_FONT_DIR};
#[doc(hidden)]
pub use sample::{demo_authority, generated_doc, sample_input};

/// How much of a document the requester gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// The whole document.
    Full,
    /// The document with redaction boxes.
    Partial,
    /// Listed in the index only (withheld entirely).
    None,
}

/// One document as it goes into the PDF, with the marks that survived review.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AssemblyDoc {
    pub doc: Document,
    /// Byte spans into `doc.text` to redact.
    pub marks: Vec<Mark>,
    /// Per attachment (same order as `doc.attachments`): spans into its text.
    #[serde(default)]
    pub attachment_marks: Vec<Vec<Mark>>,
    pub access: Access,
    /// Why access is partial or refused, in Danish; a default from the mark
    /// kinds is used when empty.
    #[serde(default)]
    pub reason: String,
}

/// A searched system as shown on the cover page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SystemInfo {
    pub id: String,
    pub name: String,
    /// False when the robot could not search the whole system: flagged on
    /// the cover and in the reading guide.
    pub complete: bool,
    #[serde(default)]
    pub note: String,
}

/// The sending authority (from configuration).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Authority {
    /// e.g. "Silkeborg Kommune".
    pub name: String,
    pub cvr: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    /// How to complain (klagevejledning); a default text is used when empty.
    #[serde(default)]
    pub complaint: String,
}

/// Everything one request's PDF is made from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AssemblyInput {
    pub request_id: String,
    pub subject: Subject,
    /// Who asked: the citizen or a third party.
    pub requester: String,
    pub period: Period,
    /// The letter's date (also the PDF's creation date, needed for PDF/A).
    pub created: chrono::NaiveDate,
    pub systems: Vec<SystemInfo>,
    pub authority: Authority,
    /// In any order; the PDF orders them by system, case, date, id.
    pub documents: Vec<AssemblyDoc>,
    /// Categories withheld entirely (named in the reading guide).
    #[serde(default)]
    pub withheld: Vec<String>,
}

/// A marked string found in the written PDF.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leak {
    /// The marked string.
    pub needle: String,
    /// How it appears in the re-read text.
    pub found_as: String,
    /// 1-based page, `None` for metadata, outline or other non-page strings.
    pub page: Option<usize>,
}

/// What can go wrong while assembling or checking.
#[derive(Debug, thiserror::Error)]
pub enum AssemblyError {
    #[error("font file {path} cannot be read: {reason}")]
    FontMissing {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("font file {path} is not usable: {reason}; point marc at a DejaVu Sans TrueType font")]
    FontInvalid {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error(
        "the PDF writer failed: {0}; this is a bug in marc-assembly, report it with the request id"
    )]
    Pdf(String),
    #[error("the written PDF could not be re-read for the leak check ({0}); hold the request for manual review")]
    Reread(String),
}

/// Every marked string of the input: the marks' texts and the spans they
/// point at (if those differ, both are needles), and the other plain forms
/// of the same value ([`marc_model::MarkKind::plain_forms`]: a CPR number
/// marked as OCR'd or spelled out, a phone number without its country
/// code), so the value is also caught where it stands unmarked in another
/// spelling.
pub fn marked_strings(input: &AssemblyInput) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |text: &str, m: &Mark| {
        if !m.text.trim().is_empty() {
            out.push(m.text.clone());
            out.extend(m.kind.plain_forms(&m.text));
        }
        if let Some(s) = text.get(m.start..m.end) {
            if !s.trim().is_empty() && s != m.text {
                out.push(s.to_string());
            }
        }
    };
    for d in &input.documents {
        for m in &d.marks {
            add(&d.doc.text, m);
        }
        for (k, marks) in d.attachment_marks.iter().enumerate() {
            let text = d
                .doc
                .attachments
                .get(k)
                .map(|a| a.text.as_str())
                .unwrap_or("");
            for m in marks {
                add(text, m);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The citizen's own data, which is never redacted (SPEC §4).
fn own_strings(input: &AssemblyInput) -> Vec<String> {
    let s = &input.subject;
    [&s.name, &s.address, &s.cpr]
        .iter()
        .filter(|x| !x.trim().is_empty())
        .map(|x| x.to_string())
        .collect()
}

struct Assembled {
    pdf: Vec<u8>,
    trusted: Vec<String>,
    pages: usize,
}

fn assemble_inner(
    input: &AssemblyInput,
    fonts: &Fonts,
    opts: content::Options,
) -> Result<Assembled, AssemblyError> {
    let marked = marked_strings(input);
    let norm: Vec<String> = marked
        .iter()
        .map(|m| matching::normalize_needle(m))
        .collect();
    let needles = matching::Needles::new(&norm).map_err(AssemblyError::Pdf)?;
    let built = content::build(input, fonts, &needles, opts);
    let pdf = render::render(&built, fonts, input.created)?;
    // trusted text, page by page, for the leak check's allowance
    let mut trusted: Vec<String> = built
        .pages
        .iter()
        .map(|p| {
            p.ops
                .iter()
                .filter_map(|o| match o {
                    layout::Op::Text {
                        text,
                        trusted: true,
                        ..
                    } => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    // metadata appears twice (document info and XMP); fixed outline entries once
    for _ in 0..2 {
        trusted.extend([
            built.title.clone(),
            built.author.clone(),
            built.description.clone(),
        ]);
    }
    Ok(Assembled {
        pdf,
        trusted,
        pages: built.pages.len(),
    })
}

/// Writes the request's PDF and returns its bytes. Never writes a marked
/// span's text; see the crate docs. Deterministic for the same input.
pub fn assemble(input: &AssemblyInput, fonts: &Fonts) -> Result<Vec<u8>, AssemblyError> {
    Ok(assemble_inner(
        input,
        fonts,
        content::Options {
            redact_titles: true,
        },
    )?
    .pdf)
}

/// Re-reads the PDF with an extractor independent of the writer and looks
/// for every marked string, also without separators/whitespace and
/// case-folded. Strict: every occurrence is reported, so a string that also
/// legitimately appears (e.g. in the citizen's own name) is reported too;
/// [`assemble_checked`] knows which text is trusted and allows for it.
pub fn leak_check(pdf: &[u8], marked: &[String]) -> Result<Vec<Leak>, AssemblyError> {
    let r = leak::reread(pdf)?;
    leak::find_leaks(&r, marked, &HashMap::new(), &[])
}

/// Assembles, then leak-checks all marked strings of the input. A non-empty
/// leak list means the caller must hold the request for manual review and
/// not deliver the PDF. Occurrences inside trusted text (cover, guide,
/// labels, footers: configuration and fixed wording, never document text)
/// are allowed as often as they were written there.
pub fn assemble_checked(
    input: &AssemblyInput,
    fonts: &Fonts,
) -> Result<(Vec<u8>, Vec<Leak>), AssemblyError> {
    checked(
        input,
        fonts,
        content::Options {
            redact_titles: true,
        },
    )
}

fn checked(
    input: &AssemblyInput,
    fonts: &Fonts,
    opts: content::Options,
) -> Result<(Vec<u8>, Vec<Leak>), AssemblyError> {
    let a = assemble_inner(input, fonts, opts)?;
    let marked = marked_strings(input);
    let own = own_strings(input);
    let allowed = leak::allowance(&a.trusted, &marked, &own)?;
    let r = leak::reread(&a.pdf)?;
    if r.pages.len() != a.pages {
        return Err(AssemblyError::Reread(format!(
            "the reader found {} pages, the writer wrote {}",
            r.pages.len(),
            a.pages
        )));
    }
    let leaks = leak::find_leaks(&r, &marked, &allowed, &own)?;
    Ok((a.pdf, leaks))
}

/// Test hook: like [`assemble_checked`] but with title redaction switched
/// off, so a marked string in a title reaches the PDF. Exists only to prove
/// that the leak check catches what the redactor misses; never use it to
/// deliver anything.
#[doc(hidden)]
pub fn assemble_unredacted_title_for_test(
    input: &AssemblyInput,
    fonts: &Fonts,
) -> Result<(Vec<u8>, Vec<Leak>), AssemblyError> {
    checked(
        input,
        fonts,
        content::Options {
            redact_titles: false,
        },
    )
}

/// Number of pages in a PDF written by [`assemble`] (for benchmarks and
/// reports), read with the independent reader.
pub fn page_count(pdf: &[u8]) -> Result<usize, AssemblyError> {
    let doc =
        pdf_extract::Document::load_mem(pdf).map_err(|e| AssemblyError::Reread(e.to_string()))?;
    Ok(doc.get_pages().len())
}
