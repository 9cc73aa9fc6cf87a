//! The caseworker's review as stored, and the request's documents as the
//! review shows them: screening's marks with the decisions applied
//! ([`marc_request::review`]), documents withheld or added by hand. The
//! answer is assembled from the same view ([`super::finish`]), so what the
//! caseworker saw is what is sent.

use super::{documents, screen_documents, screener, sort_documents, Settings, Sorted};
use anyhow::{Context, Result};
use marc_model::{Document, Subject};
use marc_request::review::{self, Action, Review, ReviewError, ReviewedDoc, ReviewedPart};
use marc_request::RequestRecord;
use marc_store::Store;

const REVIEWS: &str = "reviews";

/// The system name of documents a caseworker added: never a robot's, so
/// such a document is in the answer only while its decision stands.
pub const ADDED_BY_HAND: &str = "sagsbehandler";

/// A request's review (empty when nobody has decided anything).
pub fn load(store: &Store, request: &str) -> Result<Review> {
    Ok(store
        .table(REVIEWS)?
        .get_json::<Review>(request)
        .with_context(|| format!("the review of request {request} is unreadable"))?
        .unwrap_or_default())
}

/// Changes a request's review with compare-and-swap, so two caseworkers'
/// changes never overwrite each other; `change` sees the stored review and
/// may refuse ([`ReviewError::Conflict`] when the page was stale).
pub fn update<T>(
    store: &Store,
    request: &str,
    mut change: impl FnMut(&mut Review) -> std::result::Result<T, ReviewError>,
) -> Result<std::result::Result<(Review, T), ReviewError>> {
    let t = store.table(REVIEWS)?;
    loop {
        let old = t.get(request)?;
        let mut r: Review = match &old {
            Some(b) => serde_json::from_slice(b)
                .with_context(|| format!("the review of request {request} is unreadable"))?,
            None => Review::default(),
        };
        let out = match change(&mut r) {
            Ok(o) => o,
            Err(e) => return Ok(Err(e)),
        };
        let new = serde_json::to_vec(&r)?;
        if t.compare_and_swap(request, old.as_deref(), Some(&new))? {
            store.flush()?;
            return Ok(Ok((r, out)));
        }
    }
}

/// The documents of a request as the review shows them, with what
/// [`sort_documents`] left out (for the hold reasons).
pub(super) fn reviewed(
    settings: &Settings,
    rec: &RequestRecord,
    review: &Review,
) -> Result<(Vec<ReviewedDoc>, Sorted)> {
    let (robots, by_hand): (Vec<Document>, Vec<Document>) = documents(&settings.store, &rec.id)?
        .into_iter()
        .partition(|d| d.system != ADDED_BY_HAND);
    let mut sorted = sort_documents(robots, rec);
    let added = review.added_documents();
    let mut docs = std::mem::take(&mut sorted.included);
    let first_added = docs.len();
    docs.extend(by_hand.into_iter().filter(|d| {
        let k = d.key();
        added.iter().any(|a| *a == k)
    }));
    let subject = Subject {
        cpr: rec.cpr.clone(),
        name: rec.name.clone(),
        address: rec.address.clone(),
    };
    let screener = screener(settings)?;
    let (marks, attachment_marks) = screen_documents(&screener, &docs, &subject);
    let out = docs
        .into_iter()
        .zip(marks)
        .zip(attachment_marks)
        .enumerate()
        .map(|(i, ((mut doc, marks), att_marks))| {
            let key = doc.key();
            let mut parts = vec![ReviewedPart {
                name: String::new(),
                marks: review::apply(review, &key, 0, &doc.text, marks),
                text: std::mem::take(&mut doc.text),
            }];
            for (n, (a, m)) in doc.attachments.iter_mut().zip(att_marks).enumerate() {
                parts.push(ReviewedPart {
                    name: a.name.clone(),
                    marks: review::apply(review, &key, n + 1, &a.text, m),
                    text: std::mem::take(&mut a.text),
                });
            }
            ReviewedDoc {
                excluded: review.excluded(&key),
                added: i >= first_added,
                doc,
                parts,
            }
        })
        .collect();
    Ok((out, sorted))
}

/// The documents of a request as the review shows them.
pub fn reviewed_documents(
    settings: &Settings,
    rec: &RequestRecord,
) -> Result<(Review, Vec<ReviewedDoc>)> {
    let review = load(&settings.store, &rec.id)?;
    let (docs, _) = reviewed(settings, rec, &review)?;
    Ok((review, docs))
}

/// A document a caseworker uploads: a PDF (its text layer, else OCR) or
/// plain UTF-8 text. Anything else is refused by what it is, not by its
/// name.
pub fn uploaded_document(
    request: &str,
    number: u64,
    file_name: &str,
    title: &str,
    bytes: &[u8],
) -> std::result::Result<Document, String> {
    let text =
        if bytes.starts_with(b"%PDF") {
            let a = crate::convert::attachment_to_text(file_name, "application/pdf", bytes);
            if a.method == "error" {
                return Err(format!("PDF-filen kunne ikke læses: {}", a.text));
            }
            a.text
        } else {
            match std::str::from_utf8(bytes) {
                Ok(t) if !t.contains('\0') => t.to_string(),
                _ => return Err(
                    "Filen er hverken en PDF-fil eller en tekstfil (UTF-8); den er ikke tilføjet."
                        .into(),
                ),
            }
        };
    if text.trim().is_empty() {
        return Err("Filen indeholder ingen tekst; den er ikke tilføjet.".into());
    }
    let title = match title.trim() {
        "" => file_name.trim(),
        t => t,
    };
    Ok(Document {
        system: ADDED_BY_HAND.into(),
        case_id: request.into(),
        doc_id: format!("tilfoejet-{number}"),
        title: if title.is_empty() {
            format!("Tilføjet dokument {number}")
        } else {
            title.to_string()
        },
        date: chrono::Local::now().date_naive().to_string(),
        kind: "Tilføjet af sagsbehandler".into(),
        text,
        ..Default::default()
    })
}

/// The decision that adds an uploaded document, after storing it.
pub fn add_document(store: &Store, request: &str, doc: &Document) -> Result<Action> {
    super::store_document(store, request, doc)?;
    Ok(Action::AddDocument {
        doc: doc.key(),
        title: doc.title.clone(),
    })
}
