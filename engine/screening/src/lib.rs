//! marc-screening: finds what must be blacked out of a document before it is
//! handed out under access to records — other people's CPR numbers, names,
//! private addresses, and the municipality's sensitive words — while never
//! marking the requesting citizen's (or a consented party's) own data.
//!
//! Pure functions over text: build a [`Screener`] once (lists loaded, rules
//! compiled), share it between threads, and call [`Screener::screen`] or
//! [`Screener::screen_request`]. The only I/O is [`Lexicon::load`] and the
//! JSON Lines driver [`screen_jsonl`].

mod address;
pub mod builtin;
pub mod corpus;
mod cpr;
mod jsonl;
mod lexicon;
mod names;
mod rules;
mod token;
mod words;

/// The CPR scanner, shared with the rights proxy (which refuses other
/// people's CPR numbers in a robot's URLs and form values).
pub use cpr::{digits_of as cpr_digits, scan as scan_cpr, CprHit};
pub use jsonl::{screen_jsonl, JsonlReport};
pub use lexicon::{Lexicon, NameInfo};
pub use marc_model::{Mark, MarkKind, Subject};
pub use words::WordMatcher;

use names::NameFinder;
use rules::Rules;
use rustc_hash::FxHashSet;
use std::path::PathBuf;
use token::Tok;

/// Why the lists could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    #[error("cannot open screening list {path}: {source}; point `lists_dir` at a folder with names/ and streets/ laid out like engine/screening/lists (see its SOURCE.md), or unset it to use the lists built into marc")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("screening list {path} line {line} is not one JSON string: {reason}; each line must look like \"JENSEN\"")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("screening list {0} is empty; the screener would miss every name or street in it")]
    Empty(PathBuf),
}

/// The municipality's settings for screening.
#[derive(Clone, Debug)]
pub struct ScreenConfig {
    /// Sensitive words and phrases ("anbringelse", "psykisk sygdom");
    /// inflections are matched.
    pub words: Vec<String>,
    /// Addresses never marked, e.g. the municipality's own
    /// ("Søvej 1, 8600 Silkeborg"); compared by street and house number.
    pub allow_addresses: Vec<String>,
    /// Marks below this confidence are flagged for a caseworker's review.
    pub review_threshold: f32,
}

impl Default for ScreenConfig {
    fn default() -> Self {
        ScreenConfig {
            words: Vec::new(),
            allow_addresses: Vec::new(),
            review_threshold: 0.6,
        }
    }
}

/// A person whose own data must not be marked: the requesting citizen or a
/// consented party.
#[derive(Clone, Debug, Default)]
pub struct Party {
    cpr: Option<[u8; 10]>,
    /// Lower-case name words, hyphenated names also split.
    tokens: FxHashSet<String>,
    first: Option<String>,
    last: Option<String>,
    address: Option<String>,
}

impl Party {
    /// Builds a party from a request subject (CPR in any format, name,
    /// address; any may be empty).
    pub fn from_subject(s: &Subject) -> Party {
        let mut tokens = FxHashSet::default();
        let words: Vec<String> = s
            .name
            .split(|c: char| c.is_whitespace() || c == ',')
            .map(|w| lexicon::lower(w.trim_matches('.')))
            .filter(|w| !w.is_empty())
            .collect();
        for w in &words {
            for p in std::iter::once(w.as_str()).chain(w.split('-')) {
                tokens.insert(p.to_string());
                tokens.insert(format!("{p}s"));
            }
        }
        Party {
            cpr: cpr::digits_of(&s.cpr),
            first: words.first().cloned(),
            last: if words.len() > 1 {
                words.last().cloned()
            } else {
                None
            },
            tokens,
            address: address::address_key(&s.address),
        }
    }

    fn has_token(&self, k: &str) -> bool {
        if k.is_empty() {
            return false;
        }
        // `tokens` also holds each name word with a genitive "s"
        self.tokens.contains(k)
            || k.strip_suffix('\'')
                .is_some_and(|x| self.tokens.contains(x))
            || k.strip_suffix('s').is_some_and(|x| self.tokens.contains(x))
            || self.tokens.contains(&format!("{k}s")) // "Thoma" from an unknown "Thomas"
    }

    /// Whether a name with these words is this party's.
    fn owns_name(&self, keys: &[String], rules: &Rules) -> bool {
        if keys.is_empty() || self.tokens.is_empty() {
            return false;
        }
        if keys.iter().all(|k| self.has_token(k)) {
            return true; // also "Max" for a subject called Max
        }
        // "Jensen-familien": judge the parts of a hyphenated word, not
        // counting ordinary words
        let keys: Vec<String> = keys
            .iter()
            .filter(|k| !rules.is_function(k) && (!k.contains('-') || self.has_token(k)))
            .cloned()
            .collect();
        if keys.is_empty() {
            return false;
        }
        if keys.iter().all(|k| self.has_token(k)) {
            return true;
        }
        // "Anna Marie Jensen" for a subject registered as "Anna Jensen"
        keys.len() >= 2
            && self
                .first
                .as_deref()
                .is_some_and(|f| self.last.is_some() && (keys[0] == f))
            && self
                .last
                .as_deref()
                .is_some_and(|l| keys.last().is_some_and(|k| k == l || format!("{k}s") == l))
    }
}

/// The screening engine: lists and rules compiled once; `Send + Sync`.
#[derive(Debug)]
pub struct Screener {
    lex: Lexicon,
    rules: Rules,
    config: ScreenConfig,
    words: WordMatcher,
    allow: Vec<String>,
}

/// Per-document working state between the two passes of a request.
struct Doc {
    toks: Vec<Tok>,
    marks: Vec<Mark>,
    /// Spans of the parties' own data and allow-listed addresses.
    protected: Vec<(usize, usize)>,
    names: Vec<names::NameCand>,
}

/// A set of spans answering "does this span overlap any of them?" in
/// O(log n), for documents of any size.
pub(crate) struct SpanSet {
    starts: Vec<usize>,
    /// The largest end among the spans up to each index.
    max_end: Vec<usize>,
}

impl SpanSet {
    pub(crate) fn new(mut spans: Vec<(usize, usize)>) -> SpanSet {
        spans.sort_unstable();
        let mut m = 0;
        let max_end = spans
            .iter()
            .map(|s| {
                m = m.max(s.1);
                m
            })
            .collect();
        SpanSet {
            starts: spans.iter().map(|s| s.0).collect(),
            max_end,
        }
    }

    /// Whether some span starts before `x` ends and ends after `x` starts.
    pub(crate) fn overlaps(&self, x: (usize, usize)) -> bool {
        let i = self.starts.partition_point(|&s| s < x.1);
        i > 0 && self.max_end[i - 1] > x.0
    }
}

fn priority(k: MarkKind) -> u8 {
    match k {
        MarkKind::Cpr => 4,
        MarkKind::Address => 3,
        MarkKind::Name => 2,
        MarkKind::Word => 1,
    }
}

impl Screener {
    /// Compiles the rules and the configured word list.
    pub fn new(lexicon: Lexicon, config: ScreenConfig) -> Screener {
        let words = WordMatcher::new(&config.words);
        let allow = config
            .allow_addresses
            .iter()
            .filter_map(|a| address::address_key(a))
            .collect();
        Screener {
            lex: lexicon,
            rules: Rules::new(),
            config,
            words,
            allow,
        }
    }

    /// The configuration this screener was built with.
    pub fn config(&self) -> &ScreenConfig {
        &self.config
    }

    /// Screens one text. `known` = the unmarked parties (the subject first,
    /// then consented parties). Marks are sorted and do not overlap.
    pub fn screen(&self, text: &str, known: &[Subject]) -> Vec<Mark> {
        self.screen_request(&[text], known)
            .pop()
            .unwrap_or_default()
    }

    /// Screens all documents of one request together, so that a first name
    /// alone is marked when that person is named in full elsewhere in the
    /// request.
    pub fn screen_request(&self, texts: &[&str], known: &[Subject]) -> Vec<Vec<Mark>> {
        self.screen_request_with(texts, known, None)
    }

    /// As [`Screener::screen_request`], with extra words for this request
    /// only (a JSON Lines line's `words`).
    pub fn screen_request_with(
        &self,
        texts: &[&str],
        known: &[Subject],
        extra: Option<&WordMatcher>,
    ) -> Vec<Vec<Mark>> {
        let parties: Vec<Party> = known.iter().map(Party::from_subject).collect();
        let mut docs: Vec<Doc> = texts
            .iter()
            .map(|t| self.first_pass(t, &parties, extra))
            .collect();
        // people named in full anywhere in the request
        let mut people: FxHashSet<String> = FxHashSet::default();
        for d in &docs {
            for c in &d.names {
                if c.words >= 2 && c.confidence >= 0.7 {
                    for k in &c.keys {
                        if !parties.iter().any(|p| p.has_token(k)) && !self.rules.is_function(k) {
                            people.insert(k.clone());
                        }
                    }
                }
            }
        }
        texts
            .iter()
            .zip(docs.iter_mut())
            .map(|(t, d)| self.second_pass(t, d, &people, &parties))
            .collect()
    }

    fn first_pass(&self, s: &str, parties: &[Party], extra: Option<&WordMatcher>) -> Doc {
        let mut toks = Vec::new();
        token::tokenize(s, &mut toks);
        let mut marks = Vec::new();
        let mut protected = Vec::new();
        for h in cpr::scan(s) {
            if parties.iter().any(|p| p.cpr == Some(h.digits)) {
                protected.push((h.start, h.end));
                continue;
            }
            marks.push(self.mark(s, h.start, h.end, MarkKind::Cpr, h.confidence, h.reason));
        }
        let addrs = address::find(s, &toks, &self.lex, &self.rules);
        let blocked: Vec<(usize, usize)> = addrs.iter().map(|a| (a.start, a.end)).collect();
        // "… 8000 Aarhus C. Peter kom": the full stop after an address ends a sentence
        for &(_, e) in &blocked {
            let i = toks.partition_point(|t| t.start < e);
            if i + 1 < toks.len() && toks[i].is_punct('.') && toks[i + 1].is_word() {
                toks[i + 1].sent_start = true;
            }
        }
        for a in addrs {
            if parties
                .iter()
                .any(|p| p.address.as_deref() == Some(a.key.as_str()))
                || self.allow.contains(&a.key)
            {
                protected.push((a.start, a.end));
                continue;
            }
            marks.push(self.mark(
                s,
                a.start,
                a.end,
                MarkKind::Address,
                a.confidence,
                a.reason.to_string(),
            ));
        }
        let finder = NameFinder {
            lex: &self.lex,
            rules: &self.rules,
        };
        let mut names = finder.find(s, &toks, &SpanSet::new(blocked.clone()));
        names.retain(|c| {
            if parties.iter().any(|p| p.owns_name(&c.keys, &self.rules)) {
                protected.push((c.start, c.end));
                false
            } else {
                true
            }
        });
        let mut w = Vec::new();
        self.words.find(s, &mut w);
        if let Some(x) = extra {
            x.find(s, &mut w);
        }
        for (a, b, c) in w {
            marks.push(self.mark(
                s,
                a,
                b,
                MarkKind::Word,
                c,
                "word from the municipality's list".into(),
            ));
        }
        Doc {
            toks,
            marks,
            protected,
            names,
        }
    }

    fn second_pass(
        &self,
        s: &str,
        d: &mut Doc,
        people: &FxHashSet<String>,
        parties: &[Party],
    ) -> Vec<Mark> {
        let mut marks = std::mem::take(&mut d.marks);
        let mut named: Vec<(usize, usize)> = Vec::new();
        for c in &d.names {
            let mut conf = c.confidence;
            let mut reason = c.reason.to_string();
            if conf < 0.7 && !c.keys.is_empty() && c.keys.iter().all(|k| people.contains(k)) {
                conf = 0.8;
                reason = "name of a person named in full elsewhere in the request".into();
            }
            if conf < 0.0 {
                named.push((c.start, c.end)); // part of a street or institution
            } else if conf > 0.0 {
                named.push((c.start, c.end));
                marks.push(self.mark(s, c.start, c.end, MarkKind::Name, conf, reason));
            }
        }
        if !people.is_empty() {
            let mut buf = String::new();
            let named = SpanSet::new(std::mem::take(&mut named));
            for t in &d.toks {
                if !names::is_cap_word(t) || named.overlaps((t.start, t.end)) {
                    continue;
                }
                lexicon::lower_into(t.text(s), &mut buf);
                let full = buf.as_str();
                if self.rules.is_function(full) {
                    continue;
                }
                let stripped = full.strip_suffix('s').or_else(|| full.strip_suffix('\''));
                let hit = people.contains(full) || stripped.is_some_and(|k| people.contains(k));
                if hit && !parties.iter().any(|p| p.has_token(full)) {
                    marks.push(self.mark(
                        s,
                        t.start,
                        t.end,
                        MarkKind::Name,
                        0.8,
                        "name of a person named in full elsewhere in the request".into(),
                    ));
                }
            }
        }
        let protected = std::mem::take(&mut d.protected);
        let protected = SpanSet::new(protected);
        marks.retain(|m| !protected.overlaps((m.start, m.end)));
        resolve(marks)
    }

    fn mark(
        &self,
        s: &str,
        start: usize,
        end: usize,
        kind: MarkKind,
        confidence: f32,
        reason: String,
    ) -> Mark {
        Mark {
            start,
            end,
            kind,
            text: s[start..end].to_string(),
            confidence,
            reason,
            review: confidence < self.config.review_threshold,
        }
    }
}

/// Keeps the strongest of overlapping marks (CPR > address > name > word,
/// then longer) and sorts by position. A name that runs into an address
/// ("… 8000 Aarhus C. Connor Smith") keeps the part outside it.
fn resolve(mut marks: Vec<Mark>) -> Vec<Mark> {
    let strong: Vec<(usize, usize)> = marks
        .iter()
        .filter(|m| m.kind == MarkKind::Address || m.kind == MarkKind::Cpr)
        .map(|m| (m.start, m.end))
        .collect();
    for m in marks.iter_mut().filter(|m| m.kind == MarkKind::Name) {
        for &(a, b) in &strong {
            if a <= m.start && m.start < b && b < m.end {
                // keep the tail after the address, from its first letter
                let tail = &m.text[b - m.start..];
                if let Some(off) = tail.find(|c: char| c.is_alphabetic()) {
                    let cut = b - m.start + off;
                    let tail_text = m.text[cut..].to_string();
                    if tail_text.chars().next().is_some_and(|c| c.is_uppercase())
                        && tail_text.chars().count() > 1
                    {
                        m.start += cut;
                        m.text = tail_text;
                    }
                }
            }
        }
    }
    marks.sort_by(|a, b| {
        priority(b.kind)
            .cmp(&priority(a.kind))
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Mark> = Vec::with_capacity(marks.len());
    let mut spans: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    for m in marks {
        let clash = spans
            .range(..m.end)
            .next_back()
            .is_some_and(|(_, &e)| e > m.start);
        if !clash {
            spans.insert(m.start, m.end);
            kept.push(m);
        }
    }
    kept.sort_by_key(|m| m.start);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screener() -> Screener {
        Screener::new(
            Lexicon::builtin(),
            ScreenConfig {
                words: vec!["anbringelse".into(), "misbrug".into()],
                ..Default::default()
            },
        )
    }

    fn subject() -> Subject {
        Subject {
            cpr: "0707614285".into(),
            name: "Anna Jensen".into(),
            address: "Vestergade 12, 8600 Silkeborg".into(),
        }
    }

    #[test]
    fn subject_is_never_marked() {
        let s = "Anna Jensen (070761-4285), Vestergade 12, 8600 Silkeborg. Anna sagde at Jensen var syg.";
        let m = screener().screen(s, &[subject()]);
        assert!(m.is_empty(), "{m:?}");
    }

    #[test]
    fn others_are_marked() {
        let s =
            "Faderen Peter Hansen, cpr 010190-1235, bor på Nørregade 4, 2. tv., 8000 Aarhus C. \
                 Anbringelsen skyldes misbruget. Peter kom ikke.";
        let m = screener().screen(s, &[subject()]);
        let texts: Vec<&str> = m.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Peter Hansen",
                "010190-1235",
                "Nørregade 4, 2. tv., 8000 Aarhus C",
                "Anbringelsen",
                "misbruget",
                "Peter"
            ]
        );
    }

    #[test]
    fn never_panics_and_spans_are_sound() {
        // random text from a pool of awkward pieces: digits, separators,
        // multi-byte letters, apostrophes, dots, names, line breaks
        const PIECES: &[&str] = &[
            "0",
            "1",
            "2",
            "9",
            "-",
            "\u{2013}",
            "\u{A0}",
            "/",
            ".",
            " ",
            "\n",
            "'",
            "\u{2019}",
            "s",
            "Å",
            "ø",
            "Æ",
            "é",
            "Peter",
            "Hansen",
            "hr.",
            "Vej",
            "12B",
            "kr.",
            "cpr",
            "tlf",
            "A",
            "-Marie",
            ",",
            "(",
            "\"",
            "Vestergade",
            "st.",
            "tv",
            "8600",
            "Silkeborg",
            "misbrug",
            "\u{1F600}",
            "ß",
            "İ",
        ];
        let sc = screener();
        let mut r = corpus::Rng::new(7);
        for _ in 0..3000 {
            let n = r.below(40);
            let text: String = (0..n).map(|_| PIECES[r.below(PIECES.len())]).collect();
            let marks = sc.screen(&text, &[subject()]);
            let mut last = 0;
            for m in &marks {
                assert!(
                    m.start >= last && m.start < m.end && m.end <= text.len(),
                    "{text:?} {m:?}"
                );
                assert_eq!(&text[m.start..m.end], m.text);
                last = m.end;
            }
        }
    }

    #[test]
    fn large_documents_scale() {
        // 500 kB in one document, dense with marks and with the subject
        let unit = "Anna Jensen og Peter Hansen (010190-1235) bor på Nørregade 4, 2. tv. Peter har et misbrug. ";
        let text = unit.repeat(500_000 / unit.len());
        let t = std::time::Instant::now();
        let m = screener().screen(&text, &[subject()]);
        assert!(m.len() > 20_000);
        assert!(t.elapsed().as_secs() < 60, "took {:?}", t.elapsed());
    }

    #[test]
    fn screener_is_send_and_sync() {
        fn f<T: Send + Sync>() {}
        f::<Screener>();
    }
}
