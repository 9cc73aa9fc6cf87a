//! A caseworker's review of what screening marked: marks rejected or
//! added, terms marked everywhere, documents left out with a legal reason
//! or added by hand. Decisions are kept as a log, not applied to the
//! documents, so each stays reversible (undone, not deleted) until the
//! answer is sent, and the answer is assembled again from the screening's
//! marks and the decisions that stand ([`apply`]).
//!
//! Every change names the revision it was made on: a change made on a page
//! another caseworker has changed since is refused
//! ([`ReviewError::Conflict`]) instead of overwriting theirs.

use chrono::{DateTime, Utc};
use marc_model::{Document, Mark, MarkKind};
use serde::{Deserialize, Serialize};

/// The decisions on one request's answer, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// Raised by every change; a change must name the revision it saw.
    pub revision: u64,
    pub decisions: Vec<Decision>,
}

/// One decision, and whether it was undone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// 1, 2, … in the order they were made.
    pub id: u64,
    pub at: DateTime<Utc>,
    pub by: String,
    pub action: Action,
    #[serde(default)]
    pub undone: Option<Undone>,
}

/// Who undid a decision, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Undone {
    pub at: DateTime<Utc>,
    pub by: String,
}

/// What a caseworker decided. `doc` is a document's key
/// (`system/case/document`); `part` 0 is its text, `n` its n-th attachment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// This span is not to be removed.
    RejectMark {
        doc: String,
        part: usize,
        start: usize,
        end: usize,
        text: String,
    },
    /// No mark whose text is this (case-insensitively) is to be removed,
    /// anywhere in the answer: the bulk form of [`Action::RejectMark`].
    RejectAll { text: String },
    /// This span is to be removed too.
    AddMark {
        doc: String,
        part: usize,
        start: usize,
        end: usize,
        kind: MarkKind,
        text: String,
    },
    /// Every occurrence of this term, in every document, is to be removed.
    MarkAll { term: String, kind: MarkKind },
    /// The document is withheld entirely, for this reason
    /// ([`EXCLUSION_REASONS`]'s code).
    Exclude { doc: String, reason: String },
    /// A document the caseworker added (uploaded); stored with the
    /// request's documents under this key.
    AddDocument { doc: String, title: String },
}

/// A caseworker's change to a review, as the edges ask for it.
#[derive(Clone, Debug)]
pub enum ReviewChange {
    /// A decision named in full.
    Decide(Action),
    /// Marks the selected text: the occurrence in part `part` of `doc`
    /// nearest to character `near` (where the browser says it was).
    MarkSelection {
        doc: String,
        part: usize,
        selected: String,
        near: Option<usize>,
        kind: MarkKind,
    },
    /// Undoes one decision, or the latest that stands.
    Undo(Option<u64>),
    /// Adds a document: a PDF or plain text.
    Upload {
        file_name: String,
        title: String,
        bytes: Vec<u8>,
    },
}

impl Action {
    /// The audit log's name for it.
    pub fn audit_name(&self) -> &'static str {
        match self {
            Action::RejectMark { .. } => "review.mark_rejected",
            Action::RejectAll { .. } => "review.marks_rejected",
            Action::AddMark { .. } => "review.mark_added",
            Action::MarkAll { .. } => "review.term_marked",
            Action::Exclude { .. } => "review.document_excluded",
            Action::AddDocument { .. } => "review.document_added",
        }
    }

    /// The document it is about, if one.
    pub fn doc(&self) -> Option<&str> {
        match self {
            Action::RejectMark { doc, .. }
            | Action::AddMark { doc, .. }
            | Action::Exclude { doc, .. }
            | Action::AddDocument { doc, .. } => Some(doc),
            Action::RejectAll { .. } | Action::MarkAll { .. } => None,
        }
    }

    /// In Danish, for the page's list of decisions. Marked text is not
    /// repeated here: the list is shown beside the documents it names.
    pub fn dansk(&self) -> String {
        match self {
            Action::RejectMark { text, .. } => format!("Markering fjernet: »{text}«"),
            Action::RejectAll { text } => format!("Alle markeringer af »{text}« fjernet"),
            Action::AddMark { text, kind, .. } => {
                format!("Markering tilføjet ({}): »{text}«", kind_dansk(*kind))
            }
            Action::MarkAll { term, kind } => {
                format!(
                    "Alle forekomster af »{term}« markeret ({})",
                    kind_dansk(*kind)
                )
            }
            Action::Exclude { doc, reason } => format!(
                "Dokument {doc} undtaget: {}",
                exclusion_reason(reason).map_or(reason.as_str(), |r| r.label)
            ),
            Action::AddDocument { title, .. } => format!("Dokument tilføjet: {title}"),
        }
    }
}

/// A mark kind in Danish, as the review page and the reading guide name it.
pub fn kind_dansk(k: MarkKind) -> &'static str {
    match k {
        MarkKind::Cpr => "CPR-nummer",
        MarkKind::Name => "navn",
        MarkKind::Address => "adresse",
        MarkKind::Word => "følsomt ord",
        MarkKind::Phone => "telefonnummer",
        MarkKind::Email => "e-mailadresse",
        MarkKind::Account => "kontonummer",
    }
}

/// A legal reason a whole document may be withheld, as the caseworker
/// picks it and as the answer's index names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExclusionReason {
    pub code: &'static str,
    /// Shown to the caseworker and, in the answer, to the requester.
    pub label: &'static str,
}

/// The reasons a caseworker picks from (forvaltningsloven for a party's
/// access, offentlighedsloven for anyone's).
pub const EXCLUSION_REASONS: &[ExclusionReason] = &[
    ExclusionReason {
        code: "intern",
        label: "Internt arbejdsdokument (forvaltningslovens § 12, offentlighedslovens § 23)",
    },
    ExclusionReason {
        code: "andre-personer",
        label: "Hensyn til andre personers private forhold (forvaltningslovens § 15 a, offentlighedslovens § 30, nr. 1)",
    },
    ExclusionReason {
        code: "lovovertraedelser",
        label: "Hensyn til forebyggelse, efterforskning og forfølgning af lovovertrædelser (forvaltningslovens § 15 b, nr. 3, offentlighedslovens § 33, nr. 1)",
    },
    ExclusionReason {
        code: "raadgiver",
        label: "Brevveksling med sagkyndig rådgiver til brug for en retssag (offentlighedslovens § 27, nr. 4)",
    },
    ExclusionReason {
        code: "ikke-omfattet",
        label: "Dokumentet vedrører ikke den, der har bedt om aktindsigt",
    },
];

/// The reason with this code.
pub fn exclusion_reason(code: &str) -> Option<&'static ExclusionReason> {
    EXCLUSION_REASONS.iter().find(|r| r.code == code)
}

/// A change refused because the review changed since the page was shown.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReviewError {
    #[error(
        "the review was changed by {by} meanwhile (revision {found}, the page showed {seen}); \
         nothing was changed: look at the case again"
    )]
    Conflict { seen: u64, found: u64, by: String },
    /// Refused as it stands, with the reason in Danish (the caseworker
    /// reads it).
    #[error("{0}")]
    Invalid(String),
}

impl Review {
    /// The decisions that stand (not undone).
    pub fn standing(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|d| d.undone.is_none())
    }

    /// Checks that `seen` is the current revision.
    pub fn check(&self, seen: u64) -> Result<(), ReviewError> {
        if seen == self.revision {
            return Ok(());
        }
        let by = self
            .decisions
            .iter()
            .flat_map(|d| {
                std::iter::once((d.at, &d.by)).chain(d.undone.iter().map(|u| (u.at, &u.by)))
            })
            .max_by_key(|(at, _)| *at)
            .map(|(_, by)| by.clone())
            .unwrap_or_else(|| "another caseworker".into());
        Err(ReviewError::Conflict {
            seen,
            found: self.revision,
            by,
        })
    }

    /// Adds a decision made on revision `seen`; returns its id.
    pub fn decide(
        &mut self,
        seen: u64,
        by: &str,
        at: DateTime<Utc>,
        action: Action,
    ) -> Result<u64, ReviewError> {
        self.check(seen)?;
        validate(&action)?;
        let duplicate = self.standing().any(|d| d.action == action);
        if duplicate {
            return Err(ReviewError::Invalid(
                "den beslutning er allerede truffet".into(),
            ));
        }
        let id = self.decisions.len() as u64 + 1;
        self.decisions.push(Decision {
            id,
            at,
            by: by.to_string(),
            action,
            undone: None,
        });
        self.revision += 1;
        Ok(id)
    }

    /// Undoes decision `id` (`None`: the latest that stands), made on
    /// revision `seen`; returns the decision undone.
    pub fn undo(
        &mut self,
        seen: u64,
        id: Option<u64>,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Decision, ReviewError> {
        self.check(seen)?;
        let d = match id {
            Some(id) => self.decisions.iter_mut().find(|d| d.id == id),
            None => self.decisions.iter_mut().rev().find(|d| d.undone.is_none()),
        }
        .ok_or_else(|| ReviewError::Invalid("beslutningen findes ikke".into()))?;
        if d.undone.is_some() {
            return Err(ReviewError::Invalid(
                "beslutningen er allerede fortrudt".into(),
            ));
        }
        d.undone = Some(Undone {
            at,
            by: by.to_string(),
        });
        let done = d.clone();
        self.revision += 1;
        Ok(done)
    }

    /// Why the document is withheld, if a standing decision says so.
    pub fn excluded(&self, doc: &str) -> Option<&'static ExclusionReason> {
        self.standing().find_map(|d| match &d.action {
            Action::Exclude { doc: k, reason } if k == doc => exclusion_reason(reason),
            _ => None,
        })
    }

    /// The keys of the documents added by hand that stand.
    pub fn added_documents(&self) -> Vec<&str> {
        self.standing()
            .filter_map(|d| match &d.action {
                Action::AddDocument { doc, .. } => Some(doc.as_str()),
                _ => None,
            })
            .collect()
    }
}

fn validate(a: &Action) -> Result<(), ReviewError> {
    let bad = |m: &str| Err(ReviewError::Invalid(m.into()));
    match a {
        Action::RejectMark { start, end, .. } | Action::AddMark { start, end, .. }
            if start >= end =>
        {
            bad("en markering skal dække noget tekst")
        }
        Action::MarkAll { term, .. } if term.trim().chars().count() < 2 => {
            bad("et ord, der skal markeres, skal have mindst to tegn")
        }
        Action::RejectAll { text } if text.trim().is_empty() => {
            bad("der er ikke angivet nogen tekst")
        }
        Action::Exclude { reason, .. } if exclusion_reason(reason).is_none() => {
            bad("vælg en begrundelse fra listen")
        }
        _ => Ok(()),
    }
}

/// Where a mark on the review page comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// Screening, with its rule (the mark's reason).
    Screening,
    /// A caseworker's [`Action::AddMark`] or [`Action::MarkAll`] (decision id).
    Caseworker(u64),
}

/// A mark as the review shows it: where it came from, and whether a
/// standing decision rejected it (and which, so it can be undone).
#[derive(Clone, Debug, PartialEq)]
pub struct Reviewed {
    pub mark: Mark,
    pub origin: Origin,
    pub rejected_by: Option<u64>,
}

/// The marks of one part of a document after the review: screening's marks
/// and the caseworkers' added ones, each with the decision that rejected it
/// if any, in text order. Added marks that overlap a screening mark are
/// kept separately here (the page shows both); [`effective`] merges them.
pub fn apply(
    review: &Review,
    doc: &str,
    part: usize,
    text: &str,
    screened: Vec<Mark>,
) -> Vec<Reviewed> {
    let mut out: Vec<Reviewed> = screened
        .into_iter()
        .map(|mark| Reviewed {
            mark,
            origin: Origin::Screening,
            rejected_by: None,
        })
        .collect();
    for d in review.standing() {
        match &d.action {
            Action::AddMark {
                doc: k,
                part: p,
                start,
                end,
                kind,
                ..
            } if k == doc && *p == part => {
                if let Some(m) = manual_mark(text, *start, *end, *kind, &d.by) {
                    out.push(Reviewed {
                        mark: m,
                        origin: Origin::Caseworker(d.id),
                        rejected_by: None,
                    });
                }
            }
            Action::MarkAll { term, kind } => {
                for (start, end) in occurrences(text, term) {
                    let already = out
                        .iter()
                        .any(|r| r.mark.start == start && r.mark.end == end);
                    if let (false, Some(m)) = (already, manual_mark(text, start, end, *kind, &d.by))
                    {
                        out.push(Reviewed {
                            mark: m,
                            origin: Origin::Caseworker(d.id),
                            rejected_by: None,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    for d in review.standing() {
        for r in out.iter_mut().filter(|r| r.rejected_by.is_none()) {
            let hit = match &d.action {
                Action::RejectMark {
                    doc: k,
                    part: p,
                    start,
                    end,
                    ..
                } => k == doc && *p == part && r.mark.start == *start && r.mark.end == *end,
                Action::RejectAll { text } => same_text(&r.mark.text, text),
                _ => false,
            };
            // A caseworker's own later mark is not undone by a bulk rejection
            // made before it.
            let later_own = matches!(r.origin, Origin::Caseworker(id) if id > d.id);
            if hit && !later_own {
                r.rejected_by = Some(d.id);
            }
        }
    }
    out.sort_by_key(|r| (r.mark.start, r.mark.end));
    out
}

/// The marks to remove in the answer: those not rejected, sorted, with
/// overlapping spans merged into one (the first one's kind), as assembly
/// wants them.
pub fn effective(reviewed: &[Reviewed], text: &str) -> Vec<Mark> {
    let mut marks: Vec<Mark> = reviewed
        .iter()
        .filter(|r| r.rejected_by.is_none())
        .map(|r| r.mark.clone())
        .collect();
    marks.sort_by_key(|m| (m.start, std::cmp::Reverse(m.end)));
    let mut out: Vec<Mark> = Vec::with_capacity(marks.len());
    for m in marks {
        match out.last_mut() {
            Some(last) if m.start < last.end => {
                if m.end > last.end {
                    last.end = m.end;
                    last.text = text.get(last.start..last.end).unwrap_or_default().into();
                }
            }
            _ => out.push(m),
        }
    }
    out
}

/// One part of a document (its text, or an attachment) with its marks.
#[derive(Clone, Debug)]
pub struct ReviewedPart {
    /// Empty for the document's own text, else the attachment's name.
    pub name: String,
    pub text: String,
    pub marks: Vec<Reviewed>,
}

/// A document as the review shows it.
#[derive(Clone, Debug)]
pub struct ReviewedDoc {
    pub doc: Document,
    /// Part 0 is the text, then the attachments in order.
    pub parts: Vec<ReviewedPart>,
    /// Withheld entirely, for this reason.
    pub excluded: Option<&'static ExclusionReason>,
    /// Added by a caseworker.
    pub added: bool,
}

impl ReviewedDoc {
    /// The marks of each part that will be removed in the answer.
    pub fn effective(&self) -> Vec<Vec<Mark>> {
        self.parts
            .iter()
            .map(|p| effective(&p.marks, &p.text))
            .collect()
    }

    /// Puts the document's texts back (the view moved them into its parts),
    /// for assembly.
    pub fn to_document(&self) -> Document {
        let mut doc = self.doc.clone();
        let mut parts = self.parts.iter();
        if let Some(p) = parts.next() {
            doc.text = p.text.clone();
        }
        for (a, p) in doc.attachments.iter_mut().zip(parts) {
            a.text = p.text.clone();
        }
        doc
    }
}

fn manual_mark(text: &str, start: usize, end: usize, kind: MarkKind, by: &str) -> Option<Mark> {
    let t = text.get(start..end)?;
    Some(Mark {
        start,
        end,
        kind,
        text: t.to_string(),
        confidence: 1.0,
        reason: format!("marked by {by}"),
        review: false,
    })
}

fn same_text(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// The byte spans where `term` stands as a whole word or words in `text`,
/// case-insensitively (so "Jensen" is not found in "Jensens" but is found
/// in "JENSEN").
pub fn occurrences(text: &str, term: &str) -> Vec<(usize, usize)> {
    let term = term.trim();
    if term.is_empty() {
        return Vec::new();
    }
    let needle: Vec<char> = term.chars().flat_map(char::to_lowercase).collect();
    let hay: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < hay.len() {
        if let Some(j) = match_at(&hay, i, &needle) {
            let before_ok = i == 0 || !hay[i - 1].1.is_alphanumeric();
            let after_ok = j == hay.len() || !hay[j].1.is_alphanumeric();
            if before_ok && after_ok {
                let end = hay.get(j).map_or(text.len(), |(b, _)| *b);
                out.push((hay[i].0, end));
                i = j;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Where a case-insensitive match of `needle` starting at char `i` ends.
fn match_at(hay: &[(usize, char)], i: usize, needle: &[char]) -> Option<usize> {
    let mut k = 0;
    let mut j = i;
    while k < needle.len() {
        let (_, c) = hay.get(j)?;
        for l in c.to_lowercase() {
            if needle.get(k) != Some(&l) {
                return None;
            }
            k += 1;
        }
        j += 1;
    }
    Some(j)
}

/// The span of `selected` in `text` nearest to the character offset `near`
/// (what a browser reports for a selection), so a selected word that occurs
/// twice marks the one the caseworker chose.
pub fn locate(text: &str, selected: &str, near: Option<usize>) -> Option<(usize, usize)> {
    let selected = selected.trim();
    if selected.is_empty() {
        return None;
    }
    let near_byte = near.map(|c| text.char_indices().nth(c).map_or(text.len(), |(b, _)| b));
    text.match_indices(selected)
        .map(|(b, s)| (b, b + s.len()))
        .min_by_key(|(b, _)| near_byte.map_or(*b, |n| b.abs_diff(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    fn mark(text: &str, word: &str, kind: MarkKind) -> Mark {
        let start = text.find(word).unwrap();
        Mark {
            start,
            end: start + word.len(),
            kind,
            text: word.into(),
            confidence: 0.9,
            reason: "rule".into(),
            review: false,
        }
    }

    const TEXT: &str = "Mødt: Hans Jensen og Jobcenter Vest. Naboen Ida Holm ringede. JENSEN igen.";

    #[test]
    fn rejected_marks_stay_listed_but_are_not_removed() {
        let screened = vec![
            mark(TEXT, "Hans Jensen", MarkKind::Name),
            mark(TEXT, "Jobcenter Vest", MarkKind::Name),
        ];
        let mut r = Review::default();
        let j = &screened[1];
        r.decide(
            0,
            "kim",
            at(),
            Action::RejectMark {
                doc: "d".into(),
                part: 0,
                start: j.start,
                end: j.end,
                text: j.text.clone(),
            },
        )
        .unwrap();
        let reviewed = apply(&r, "d", 0, TEXT, screened.clone());
        assert_eq!(reviewed.len(), 2);
        assert_eq!(reviewed[1].rejected_by, Some(1));
        let eff = effective(&reviewed, TEXT);
        assert_eq!(eff.len(), 1);
        assert_eq!(eff[0].text, "Hans Jensen");
        // Another document or part is not touched.
        assert!(apply(&r, "other", 0, TEXT, screened.clone())
            .iter()
            .all(|m| m.rejected_by.is_none()));
        assert!(apply(&r, "d", 1, TEXT, screened)
            .iter()
            .all(|m| m.rejected_by.is_none()));
    }

    #[test]
    fn added_marks_and_terms_everywhere_are_merged_with_screening() {
        let screened = vec![mark(TEXT, "Hans Jensen", MarkKind::Name)];
        let mut r = Review::default();
        let s = TEXT.find("Ida Holm").unwrap();
        r.decide(
            0,
            "kim",
            at(),
            Action::AddMark {
                doc: "d".into(),
                part: 0,
                start: s,
                end: s + "Ida Holm".len(),
                kind: MarkKind::Name,
                text: "Ida Holm".into(),
            },
        )
        .unwrap();
        r.decide(
            1,
            "kim",
            at(),
            Action::MarkAll {
                term: "jensen".into(),
                kind: MarkKind::Name,
            },
        )
        .unwrap();
        let reviewed = apply(&r, "d", 0, TEXT, screened);
        let eff = effective(&reviewed, TEXT);
        let texts: Vec<&str> = eff.iter().map(|m| m.text.as_str()).collect();
        // "Jensen" inside "Hans Jensen" merges into it; "JENSEN" is found.
        assert_eq!(texts, ["Hans Jensen", "Ida Holm", "JENSEN"]);
        assert!(eff.windows(2).all(|w| w[0].end <= w[1].start));
    }

    #[test]
    fn a_bulk_rejection_covers_every_mark_of_that_text_but_not_later_own_marks() {
        let t = "Jobcenter Vest skrev. Senere skrev Jobcenter Vest igen.";
        let first = mark(t, "Jobcenter Vest", MarkKind::Name);
        let second_start = t.rfind("Jobcenter Vest").unwrap();
        let second = Mark {
            start: second_start,
            end: second_start + 14,
            ..first.clone()
        };
        let mut r = Review::default();
        r.decide(
            0,
            "kim",
            at(),
            Action::RejectAll {
                text: "jobcenter vest".into(),
            },
        )
        .unwrap();
        let reviewed = apply(&r, "d", 0, t, vec![first.clone(), second.clone()]);
        assert!(reviewed.iter().all(|m| m.rejected_by == Some(1)));
        r.decide(
            1,
            "kim",
            at(),
            Action::AddMark {
                doc: "d".into(),
                part: 0,
                start: first.start,
                end: first.end,
                kind: MarkKind::Name,
                text: first.text.clone(),
            },
        )
        .unwrap();
        let eff = effective(&apply(&r, "d", 0, t, vec![first, second]), t);
        assert_eq!(eff.len(), 1);
        assert_eq!(eff[0].start, 0);
    }

    #[test]
    fn undo_restores_and_stale_pages_conflict() {
        let screened = vec![mark(TEXT, "Hans Jensen", MarkKind::Name)];
        let mut r = Review::default();
        let m = &screened[0];
        let reject = Action::RejectMark {
            doc: "d".into(),
            part: 0,
            start: m.start,
            end: m.end,
            text: m.text.clone(),
        };
        r.decide(0, "kim", at(), reject.clone()).unwrap();
        // The same decision twice is refused; so is one made on an old page.
        assert!(matches!(
            r.decide(1, "kim", at(), reject.clone()),
            Err(ReviewError::Invalid(_))
        ));
        let err = r
            .decide(
                0,
                "eva",
                at(),
                Action::Exclude {
                    doc: "d".into(),
                    reason: "intern".into(),
                },
            )
            .unwrap_err();
        assert_eq!(
            err,
            ReviewError::Conflict {
                seen: 0,
                found: 1,
                by: "kim".into()
            }
        );
        assert_eq!(r.decisions.len(), 1, "nothing changed by the refused one");
        let undone = r.undo(1, None, "eva", at()).unwrap();
        assert_eq!(undone.action, reject);
        assert!(apply(&r, "d", 0, TEXT, screened)
            .iter()
            .all(|m| m.rejected_by.is_none()));
        assert!(r.undo(2, Some(1), "eva", at()).is_err(), "already undone");
        assert_eq!(r.revision, 2);
        // Undone decisions may be made again.
        r.decide(2, "kim", at(), reject).unwrap();
    }

    #[test]
    fn exclusions_need_a_reason_from_the_list() {
        let mut r = Review::default();
        assert!(r
            .decide(
                0,
                "kim",
                at(),
                Action::Exclude {
                    doc: "d".into(),
                    reason: "fordi".into()
                }
            )
            .is_err());
        r.decide(
            0,
            "kim",
            at(),
            Action::Exclude {
                doc: "d".into(),
                reason: "intern".into(),
            },
        )
        .unwrap();
        assert_eq!(r.excluded("d").map(|x| x.code), Some("intern"));
        assert!(r.excluded("e").is_none());
    }

    #[test]
    fn occurrences_are_whole_words_in_any_case() {
        let t = "Ærø, ærø og Ærøskøbing; ÆRØ.";
        let found: Vec<&str> = occurrences(t, "ærø")
            .iter()
            .map(|(s, e)| &t[*s..*e])
            .collect();
        assert_eq!(found, ["Ærø", "ærø", "ÆRØ"]);
        assert!(occurrences(t, " ").is_empty());
    }

    #[test]
    fn a_selection_is_located_near_where_it_was_made() {
        let t = "Ida og Ida og Ida";
        assert_eq!(locate(t, "Ida", Some(7)), Some((7, 10)));
        assert_eq!(locate(t, "Ida", None), Some((0, 3)));
        assert_eq!(locate("æøå Ida æøå Ida", "Ida", Some(12)), Some((18, 21)));
        assert_eq!(locate(t, "Bo", Some(3)), None);
    }
}
