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
mod bytes;
mod contact;
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

/// What is known of a party beyond [`Subject`] (CPR, name, current
/// address): the party's own phone numbers, e-mail addresses, bank accounts,
/// former addresses and former names, in any writing. None of them is ever
/// marked. Every field may be left out (`marc screen` reads them from a
/// subject's `phones`, `emails`, `accounts`, `addresses`, `names`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PartyData {
    #[serde(default)]
    pub phones: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Former (or other) addresses.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Former names ("Camilla Bak Fjeldsø" before a marriage).
    #[serde(default)]
    pub names: Vec<String>,
}

/// The digits of a phone number as compared: the last eight (a Danish
/// number with or without `+45`/`0045`), or all of a shorter one.
fn phone_key(s: &str) -> String {
    let d: String = s.chars().filter(char::is_ascii_digit).collect();
    let n = d.len();
    if n > 8 && (d.starts_with("45") || d.starts_with("0045")) {
        d[n - 8..].to_string()
    } else {
        d
    }
}

/// A person whose own data must not be marked: the requesting citizen or a
/// consented party.
#[derive(Clone, Debug, Default)]
pub struct Party {
    cpr: Option<[u8; 10]>,
    /// Lower-case name words, hyphenated names also split.
    tokens: FxHashSet<String>,
    /// Name words ending in "s" without it ("thoma" for "Thomas"), so an
    /// unknown "Thomas" read as the genitive of "Thoma" is still found.
    stems: FxHashSet<String>,
    first: Option<String>,
    last: Option<String>,
    /// The given names (all name words but the last) of a name of three or
    /// more words: with another surname after them it is the party's
    /// former or maiden name ("Camilla Bak Fjeldsø" for "Camilla Bak Iversen").
    given: Vec<String>,
    /// Street key and unit ([`address::address_key_unit`]).
    address: Option<(String, String)>,
    /// Given from [`PartyData`]: phone keys ([`phone_key`]), lower-case
    /// e-mail addresses, account digits, address keys, former names.
    phones: Vec<String>,
    emails: Vec<String>,
    accounts: Vec<String>,
    addresses: Vec<(String, String)>,
    former: Vec<Party>,
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
                let mut genitive = String::with_capacity(p.len() + 1);
                genitive.push_str(p);
                genitive.push('s');
                tokens.insert(genitive);
                // e-mail addresses spell æ, ø, å in ASCII ("hoejgaard@",
                // "hojgaard@"): those forms are the party's too
                if !p.is_ascii() {
                    for (ae, oe, aa) in [("ae", "oe", "aa"), ("a", "o", "a")] {
                        let mut t = String::with_capacity(p.len() + 4);
                        for c in p.chars() {
                            match c {
                                'æ' => t.push_str(ae),
                                'ø' => t.push_str(oe),
                                'å' => t.push_str(aa),
                                'é' => t.push('e'),
                                'ü' => t.push('u'),
                                'ö' => t.push('o'),
                                'ä' => t.push('a'),
                                _ => t.push(c),
                            }
                        }
                        tokens.insert(t);
                    }
                }
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
            stems: tokens
                .iter()
                .filter_map(|w| w.strip_suffix('s'))
                .map(str::to_string)
                .collect(),
            tokens,
            given: if words.len() >= 3 {
                words[..words.len() - 1].to_vec()
            } else {
                Vec::new()
            },
            address: address::address_key_unit(&s.address),
            ..Party::default()
        }
    }

    /// Builds a party from a subject and what else is known of it.
    pub fn from_subject_with(s: &Subject, d: &PartyData) -> Party {
        let mut p = Party::from_subject(s);
        p.phones = d
            .phones
            .iter()
            .map(|x| phone_key(x))
            .filter(|k| k.len() >= 6)
            .collect();
        p.emails = d.emails.iter().map(|e| e.trim().to_lowercase()).collect();
        p.accounts = d
            .accounts
            .iter()
            .map(|a| {
                a.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
            })
            .filter(|k| k.len() >= 6)
            .map(|k| k.to_ascii_uppercase())
            .collect();
        p.addresses = d
            .addresses
            .iter()
            .filter_map(|a| address::address_key_unit(a))
            .collect();
        p.former = d
            .names
            .iter()
            .map(|n| {
                Party::from_subject(&Subject {
                    name: n.clone(),
                    ..Subject::default()
                })
            })
            .collect();
        p
    }

    /// Whether a phone number, e-mail address or account (as written) is
    /// one the party is known to have.
    fn owns_contact(&self, kind: MarkKind, text: &str) -> bool {
        match kind {
            MarkKind::Phone => {
                let k = phone_key(text);
                !k.is_empty() && self.phones.contains(&k)
            }
            MarkKind::Email => self.emails.iter().any(|e| e.eq_ignore_ascii_case(text)),
            MarkKind::Account => {
                let k: String = text
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .map(|c| c.to_ascii_uppercase())
                    .collect();
                // a registration number or account number alone is part of one
                k.len() >= 4
                    && self.accounts.iter().any(|a| {
                        *a == k
                            || (k.len() >= 7 && (a.ends_with(&k) || a.starts_with(&k)))
                            || (k.len() == 4 && a.starts_with(&k) && a.len() > 4)
                    })
            }
            _ => false,
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
            || self.stems.contains(k) // "Thoma" from an unknown "Thomas"
    }

    /// Whether an e-mail address's local part (lower-case letter words,
    /// "anna jensen" for `anna.jensen85@`) is built from this party's name:
    /// its words, or first and last name run together, either one perhaps
    /// shortened to an initial ("ajensen", "annaj").
    fn owns_email_local(&self, local: &str) -> bool {
        let words: Vec<&str> = local.split(' ').filter(|w| w.chars().count() > 1).collect();
        if words.is_empty() {
            return false;
        }
        if words.iter().all(|w| self.has_token(w)) {
            return true;
        }
        let (Some(first), Some(last)) = (self.first.as_deref(), self.last.as_deref()) else {
            return false;
        };
        let joined: String = words.concat();
        let part_of = |rest: &str, name: &str| !rest.is_empty() && name.starts_with(rest);
        joined
            .strip_prefix(first)
            .is_some_and(|r| r.is_empty() || part_of(r, last))
            || joined.strip_suffix(last).is_some_and(|r| part_of(r, first))
            || joined.strip_prefix(last).is_some_and(|r| part_of(r, first))
    }

    /// Whether a name with these words is this party's.
    fn owns_name(&self, keys: &[String], rules: &Rules) -> bool {
        if keys.is_empty() || self.tokens.is_empty() {
            return false;
        }
        if keys.iter().all(|k| self.has_token(k)) {
            return true; // also "Max" for a subject called Max
        }
        if self.former.iter().any(|f| f.owns_name(keys, rules)) {
            return true;
        }
        // "Birgitte Kaliehauge" for "Birgitte Kallehauge": the first name
        // and a surname one letter off (OCR, a typing error) are the party's
        if keys.len() >= 2 {
            if let (Some(f), Some(l), Some(k)) =
                (self.first.as_deref(), self.last.as_deref(), keys.last())
            {
                if keys[0] == f
                    && l.chars().count() >= 6
                    && one_letter_off(k, l)
                    && keys[1..keys.len() - 1].iter().all(|m| self.has_token(m))
                {
                    return true;
                }
            }
        }
        // the party's given names with another surname: a former name
        if !self.given.is_empty()
            && keys.len() == self.given.len() + 1
            && keys[..self.given.len()] == self.given[..]
        {
            return true;
        }
        // "Jensen-familien": judge the parts of a hyphenated word, not
        // counting ordinary words (walked without copying the keys)
        let mut kept = keys
            .iter()
            .filter(|k| !rules.is_function(k) && (!k.contains('-') || self.has_token(k)));
        let Some(first) = kept.next() else {
            return false;
        };
        let mut n = 1;
        let mut last = first;
        let mut all = self.has_token(first);
        for k in kept {
            n += 1;
            last = k;
            all = all && self.has_token(k);
        }
        if all {
            return true;
        }
        // "Anna Marie Jensen" for a subject registered as "Anna Jensen"
        n >= 2
            && self
                .first
                .as_deref()
                .is_some_and(|f| self.last.is_some() && (first == f))
            && self
                .last
                .as_deref()
                .is_some_and(|l| last == l || l.strip_suffix('s') == Some(last.as_str()))
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

/// Per-document working state between the two passes of a request: only
/// what the second pass needs, never the tokens (a document is tokenized one
/// window at a time, so memory stays bounded by the window, not the text).
#[derive(Default)]
struct Doc {
    marks: Vec<Mark>,
    /// Spans of the parties' own data and allow-listed addresses.
    protected: Vec<(usize, usize)>,
    names: Vec<names::NameCand>,
    /// Capitalised words outside any name, street or institution, for the
    /// request-level rule ("Xaviero" alone after "Xaviero Bundgaard").
    loose: Vec<(usize, usize)>,
}

/// A document's marks and protected spans, between the two passes.
type MarksAndSpans = (Vec<Mark>, Vec<(usize, usize)>);

/// Bytes of text screened at a time. Rules look at most a few lines around
/// a word, so windows cut at line breaks with a margin on each side give
/// the same marks as the whole text, in memory bounded by the window.
const WINDOW: usize = 256 * 1024;
/// Text before and after a window that the rules may look at.
const MARGIN: usize = 4 * 1024;

/// The windows of a text: `(from, to)` ranges that tile it, cut at a blank
/// line, a line break or a space where there is one near the cut.
fn windows(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(s.len() / WINDOW + 1);
    let mut from = 0;
    while from < s.len() {
        let target = from + WINDOW;
        if target >= s.len() {
            out.push((from, s.len()));
            break;
        }
        let lo = floor_boundary(s, target - WINDOW / 4);
        let hi = floor_boundary(s, target);
        let zone = &s[lo..hi];
        let cut = zone
            .rfind("\n\n")
            .map(|i| i + 2)
            .or_else(|| zone.rfind('\n').map(|i| i + 1))
            .or_else(|| zone.rfind(' ').map(|i| i + 1))
            .map_or(hi, |i| lo + i);
        out.push((from, cut));
        from = cut;
    }
    out
}

/// The largest char boundary at or before `i`.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The text around a window that its rules may look at: up to [`MARGIN`]
/// bytes on each side, widened or narrowed to a line break.
fn with_margin(s: &str, (from, to): (usize, usize)) -> (usize, usize) {
    let mut ws = floor_boundary(s, from.saturating_sub(MARGIN));
    if ws > 0 {
        if let Some(i) = s[ws..from].find('\n') {
            ws += i + 1;
        }
    }
    let mut we = floor_boundary(s, to.saturating_add(MARGIN));
    if we < s.len() {
        if let Some(i) = s[to..we].rfind('\n') {
            we = to + i;
        }
    }
    (ws, we)
}

/// Something a contact detail can belong to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Owner {
    /// The requester or a consented party.
    Party,
    /// Another person.
    Person,
    /// An institution, authority or company.
    Org,
}

/// Where a contact detail's owner is looked for: this many bytes before it,
/// in the same paragraph.
const OWNER_REACH: usize = 160;

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

    /// The largest end among the spans that start at or before `x` (0 when
    /// none does).
    pub(crate) fn max_end_from_before(&self, x: usize) -> usize {
        let i = self.starts.partition_point(|&s| s <= x);
        if i == 0 {
            0
        } else {
            self.max_end[i - 1]
        }
    }

    /// Whether some span starts before `x` ends and ends after `x` starts.
    pub(crate) fn overlaps(&self, x: (usize, usize)) -> bool {
        let i = self.starts.partition_point(|&s| s < x.1);
        i > 0 && self.max_end[i - 1] > x.0
    }

    /// As [`SpanSet::overlaps`], for spans asked in order of their ends:
    /// `at` ((0, 0) at first) carries the count of starts before the last
    /// end asked and that end, so the spans are walked once instead of
    /// searched each time (a span asked out of order is searched).
    #[inline]
    pub(crate) fn overlaps_in_order(&self, x: (usize, usize), at: &mut (usize, usize)) -> bool {
        if x.1 < at.1 {
            return self.overlaps(x);
        }
        at.1 = x.1;
        while at.0 < self.starts.len() && self.starts[at.0] < x.1 {
            at.0 += 1;
        }
        at.0 > 0 && self.max_end[at.0 - 1] > x.0
    }
}

fn priority(k: MarkKind) -> u8 {
    match k {
        MarkKind::Cpr => 7,
        MarkKind::Account => 6,
        MarkKind::Email => 5,
        MarkKind::Phone => 4,
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
        self.screen_request_full(texts, known, &[], extra)
    }

    /// As [`Screener::screen`], with what else is known of the parties:
    /// `data[i]` belongs to `known[i]` (missing entries are empty).
    pub fn screen_with(&self, text: &str, known: &[Subject], data: &[PartyData]) -> Vec<Mark> {
        self.screen_request_full(&[text], known, data, None)
            .pop()
            .unwrap_or_default()
    }

    /// As [`Screener::screen_request_with`], with what else is known of the
    /// parties (their own phone numbers, e-mail addresses, accounts, former
    /// addresses and names): `data[i]` belongs to `known[i]`.
    pub fn screen_request_full(
        &self,
        texts: &[&str],
        known: &[Subject],
        data: &[PartyData],
        extra: Option<&WordMatcher>,
    ) -> Vec<Vec<Mark>> {
        let empty = PartyData::default();
        let parties: Vec<Party> = known
            .iter()
            .enumerate()
            .map(|(i, s)| Party::from_subject_with(s, data.get(i).unwrap_or(&empty)))
            .collect();
        let mut docs: Vec<Doc> = texts
            .iter()
            .map(|t| self.first_pass(t, &parties, extra))
            .collect();
        // (the marks and protected spans go to the second pass; the names
        // stay in `docs`, and the people's words are borrowed from them)
        let found: Vec<MarksAndSpans> = docs
            .iter_mut()
            .map(|d| {
                (
                    std::mem::take(&mut d.marks),
                    std::mem::take(&mut d.protected),
                )
            })
            .collect();
        // people named in full anywhere in the request
        let mut people: FxHashSet<&str> = FxHashSet::default();
        for d in &docs {
            for c in &d.names {
                if c.words >= 2 && c.confidence >= 0.7 {
                    for k in &c.keys {
                        if !parties.iter().any(|p| p.has_token(k)) && !self.rules.is_function(k) {
                            people.insert(k);
                        }
                    }
                }
            }
        }
        texts
            .iter()
            .zip(&docs)
            .zip(found)
            .map(|((t, d), (marks, protected))| {
                self.second_pass(t, d, marks, protected, &people, &parties)
            })
            .collect()
    }

    /// Screens a document one window at a time; marks, names and protected
    /// spans are kept from the window whose range they start in.
    fn first_pass(&self, s: &str, parties: &[Party], extra: Option<&WordMatcher>) -> Doc {
        // (the token buffer is kept by the thread from document to
        // document: a document's tokens take about six times its bytes,
        // at most a window's, and allocating them anew was a tenth of the
        // cost of a short document)
        thread_local! {
            static TOKS: std::cell::RefCell<Vec<Tok>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        TOKS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut toks) => self.first_pass_with(s, parties, extra, &mut toks),
            Err(_) => self.first_pass_with(s, parties, extra, &mut Vec::new()),
        })
    }

    fn first_pass_with(
        &self,
        s: &str,
        parties: &[Party],
        extra: Option<&WordMatcher>,
        toks: &mut Vec<Tok>,
    ) -> Doc {
        let ws = windows(s);
        // one window (most documents): its findings are the document's
        if ws.len() == 1 && ws[0] == (0, s.len()) {
            return self.window(s, parties, extra, toks);
        }
        let mut doc = Doc::default();
        for (from, to) in ws {
            let (ws, we) = with_margin(s, (from, to));
            let keep = |start: usize| (from..to).contains(&(ws + start));
            let w = self.window(&s[ws..we], parties, extra, toks);
            let shift = |(a, b): (usize, usize)| (a + ws, b + ws);
            doc.marks
                .extend(w.marks.into_iter().filter(|m| keep(m.start)).map(|mut m| {
                    m.start += ws;
                    m.end += ws;
                    m
                }));
            doc.protected
                .extend(w.protected.into_iter().filter(|p| keep(p.0)).map(shift));
            doc.names
                .extend(w.names.into_iter().filter(|c| keep(c.start)).map(|mut c| {
                    c.start += ws;
                    c.end += ws;
                    c
                }));
            doc.loose
                .extend(w.loose.into_iter().filter(|p| keep(p.0)).map(shift));
        }
        doc
    }

    /// Everything found in one window of text (offsets into `s`).
    fn window(
        &self,
        s: &str,
        parties: &[Party],
        extra: Option<&WordMatcher>,
        toks: &mut Vec<Tok>,
    ) -> Doc {
        token::tokenize(s, toks);
        let toks: &mut [Tok] = toks;
        let mut marks = Vec::with_capacity(16);
        let mut protected = Vec::with_capacity(16);
        let contacts = contact::scan(s);
        let accounts = SpanSet::new(
            contacts
                .iter()
                .filter(|c| c.kind == MarkKind::Account)
                .map(|c| (c.start, c.end))
                .collect(),
        );
        let mut cprs = cpr::scan(s);
        cprs.extend(cpr::scan_words(s, toks));
        for h in cprs {
            if parties.iter().any(|p| p.cpr == Some(h.digits)) {
                protected.push((h.start, h.end));
                continue;
            }
            // "kontonr. 0707614285": the account mark covers it
            if h.confidence < self.config.review_threshold && accounts.overlaps((h.start, h.end)) {
                continue;
            }
            marks.push(self.mark(s, h.start, h.end, MarkKind::Cpr, h.confidence, h.reason));
        }
        let addrs = address::find(s, toks, &self.lex, &self.rules);
        let blocked: Vec<(usize, usize)> = addrs.iter().map(|a| (a.start, a.end)).collect();
        // "… 8000 Aarhus C. Peter kom": the full stop after an address ends a sentence
        for &(_, e) in &blocked {
            let i = toks.partition_point(|t| t.start < e);
            if i + 1 < toks.len() && toks[i].is_punct('.') && toks[i + 1].is_word() {
                toks[i + 1].sent_start = true;
            }
        }
        let finder = NameFinder {
            lex: &self.lex,
            rules: &self.rules,
        };
        let mut found = finder.find(s, toks, &SpanSet::new(blocked));
        found.extend(finder.informal(s, toks));
        // "[René 🍺] … lad vær rene", "[Signe kollega] … kh signe": a first
        // name written in lower case that the same text gives capitalised
        // as a name (accents aside) is that person, for review
        self.lower_case_names(s, toks, &mut found);
        // who each span belongs to, for the addresses and contact details after them
        let mut owners: Vec<(usize, usize, Owner)> = Vec::with_capacity(found.len());
        let mut names = Vec::with_capacity(found.len());
        for c in found {
            if parties.iter().any(|p| p.owns_name(&c.keys, &self.rules)) {
                protected.push((c.start, c.end));
                owners.push((c.start, c.end, Owner::Party));
            } else {
                if c.confidence > 0.0 {
                    owners.push((c.start, c.end, Owner::Person));
                } else if c.org {
                    owners.push((c.start, c.end, Owner::Org));
                }
                names.push(c);
            }
        }
        owners.sort_unstable_by_key(|o| o.0);
        let mut addr_owners: Vec<(usize, usize, Owner)> = Vec::with_capacity(addrs.len());
        for a in addrs {
            let hit = (a.key.as_str(), a.unit.as_str());
            if parties.iter().any(|p| {
                p.address
                    .iter()
                    .chain(&p.addresses)
                    .any(|(k, u)| address::same_address((k, u), hit))
            }) || self.allow.contains(&a.key)
            {
                protected.push((a.start, a.end));
                addr_owners.push((a.start, a.end, Owner::Party));
                continue;
            }
            // an institution's or company's address: its name right before
            // ("Jobcenter Herning\nTorvet 19", "Bech & Holm ApS, Åboulevarden 13"),
            // or an institution named earlier in the same sentence or
            // letterhead with no person in between ("Samtalen holdes i
            // Jobcentret, Fabriksvej 21, 1. sal")
            // "Tidligere adresse: …", "Fraflytningsadresse: …", "Fra: … / Til: …"
            // in a move: the address the party moved from, unless a person
            // is named in the same block
            if !parties.is_empty()
                && former_address_label(s, a.start, a.end)
                && !nearest_owner(s, &[&owners, &addr_owners], a.start)
                    .is_some_and(|(who, _)| who == Owner::Person)
            {
                protected.push((a.start, a.end));
                addr_owners.push((a.start, a.end, Owner::Party));
                continue;
            }
            let org =
                nearest_owner(s, &[&owners, &addr_owners], a.start).is_some_and(|(who, gap)| {
                    who == Owner::Org && !gap.chars().any(char::is_alphanumeric)
                }) || self.institution_before(s, toks, &[&owners, &addr_owners], a.start);
            if org {
                addr_owners.push((a.start, a.end, Owner::Org));
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
            addr_owners.push((a.start, a.end, Owner::Person));
        }
        // "Borgeren oplyste sit nye nummer", "Ansøger: ...": in a case
        // document the citizen of the case is the requester
        let citizen = citizen_words(s, toks);
        let mut last_own_end: Option<usize> = None;
        for h in contacts {
            // a phone number, e-mail address or account the party is known to have
            if parties
                .iter()
                .any(|p| p.owns_contact(h.kind, &s[h.start..h.end]))
            {
                protected.push((h.start, h.end));
                last_own_end = Some(h.end);
                continue;
            }
            let near = nearest_owner(s, &[&owners, &addr_owners, &citizen], h.start);
            // "Modtager: Kenneth Brix / Adresse: … / Udbetales til NemKonto:
            // 0400 …": an account in the party's own block of fields (no
            // blank line, at most two line breaks, no relation word between)
            if h.kind == MarkKind::Account {
                if let Some((Owner::Party, gap)) = near {
                    if gap.matches('\n').count() <= 2 && !self.has_title_word(gap) {
                        protected.push((h.start, h.end));
                        continue;
                    }
                }
                // "Ansøger: Danske Bank, reg. 3469 konto 11562047": a bank
                // only keeps the account; the party before it on the line owns it
                if let Some((Owner::Org, gap)) = near {
                    let bank_end = h.start - gap.len();
                    if !gap.contains('\n') && bank_before(s, &owners, bank_end) {
                        let i = owners.partition_point(|o| o.1 < bank_end);
                        let bank_start = owners.get(i).map_or(bank_end, |o| o.0);
                        let before =
                            nearest_owner(s, &[&owners, &addr_owners, &citizen], bank_start);
                        if let Some((Owner::Party, g)) = before {
                            if !g.contains('\n') && !self.has_title_word(g) {
                                protected.push((h.start, h.end));
                                continue;
                            }
                        }
                    }
                }
            }
            // "det er Dorthe Frimodt … jeg er hjemme hele dagen, nummeret er
            // 58 52 14 96": in a paragraph that the party opens (its words,
            // its letter or message), a number in a sentence in the first
            // person with no other person in it is the party's; "Beskeder fra
            // Kommunen til +45 51 90 24 36": messages sent to a number
            if h.kind != MarkKind::Account
                && !parties.is_empty()
                && (self.first_person_of_party(s, h.start, &[&owners, &addr_owners, &citizen])
                    || sent_to(s, h.start, &owners))
            {
                protected.push((h.start, h.end));
                last_own_end = Some(h.end);
                continue;
            }
            // an account in the same table row or line as its owner's name
            // with only account words between ("Lise Thorup   Ægtefælle
            // 5977-0001234109", "Advokathuset I/S, klientkonto, reg.nr. 2277"):
            // the requester's is never marked, an institution's neither
            if h.kind == MarkKind::Account {
                if let Some((who @ (Owner::Party | Owner::Org), gap)) = near {
                    let same_line = !gap.contains('\n');
                    let account_words = gap
                        .split(|c: char| !c.is_alphabetic())
                        .filter(|w| !w.is_empty())
                        .all(|w| {
                            let w = w.to_lowercase();
                            w.contains("konto")
                                || matches!(w.as_str(), "reg" | "regnr" | "nr")
                                || (who == Owner::Party && self.rules.flags(&w) & rules::TITLE != 0)
                        });
                    // (a bank before an account is only where it is kept:
                    // "Ægtefælle: Nordea, reg. 2222 konto ...")
                    let org_ok = who == Owner::Party
                        || gap.trim().is_empty()
                        || gap.to_lowercase().contains("klientkonto")
                        || (who == Owner::Org && !bank_before(s, &owners, h.start - gap.len()));
                    if same_line && account_words && org_ok {
                        if who == Owner::Party {
                            protected.push((h.start, h.end));
                        }
                        continue;
                    }
                }
            }
            let owner = if h.ours {
                Some(Owner::Org)
            } else {
                match near.map(|o| o.0) {
                    // a 70/80/90 number is a company's or a hotline's,
                    // unless it is written right after a person's name
                    Some(Owner::Person) => Some(Owner::Person),
                    _ if h.kind == MarkKind::Phone
                        && contact::service_number(s, h.start, h.end) =>
                    {
                        Some(Owner::Org)
                    }
                    o => o,
                }
            };
            // "konto 0004441236 (Guldborgsund Kommune, Opkrævning)",
            // "tlf. 70 11 22 55 (Flextrafik A/S)": an institution named in
            // brackets right after it owns it
            if h.kind != MarkKind::Email && self.institution_in_brackets(s, toks, &owners, h.end) {
                continue;
            }
            let own_email = h
                .local
                .as_deref()
                .is_some_and(|l| parties.iter().any(|p| p.owns_email_local(l)));
            // "Kontaktoplysninger: soeren.boegelund@gmail.com, +45 26 41 90 57":
            // a phone or e-mail listed right after the party's own (only
            // punctuation or "og"/"eller" between, same line) is the party's too
            let after_own = h.kind != MarkKind::Account
                && last_own_end.is_some_and(|e: usize| {
                    e <= h.start && {
                        let gap = &s[e..h.start];
                        !gap.contains('\n')
                            && gap.split(|c: char| !c.is_alphanumeric()).all(|w| {
                                w.is_empty() || matches!(w, "og" | "eller" | "tlf" | "mobil")
                            })
                    }
                });
            if own_email || after_own || owner == Some(Owner::Party) && h.kind != MarkKind::Account
            {
                protected.push((h.start, h.end));
                last_own_end = Some(h.end);
                continue;
            }
            let name_built = h.local.as_deref().is_some_and(|l| {
                l.split(' ').filter(|w| w.chars().count() > 1).any(|w| {
                    names
                        .iter()
                        .any(|c| c.confidence > 0.0 && c.keys.iter().any(|k| k == w))
                })
            });
            // after an institution's name, an e-mail address is a person's
            // only when its local part holds a name or is short like
            // initials ("krwe@", "lone.dahl@"), not "sygedagpenge@"
            if owner == Some(Owner::Org) && h.kind == MarkKind::Email && !name_built {
                let local = h.local.as_deref().unwrap_or("");
                let named = local
                    .split(' ')
                    .any(|w| self.lex.name(w).is_some_and(|n| n.is_common_name()));
                let initials = local.chars().filter(|c| c.is_alphabetic()).count() <= 5;
                let institution = local.split(' ').any(|w| {
                    self.rules.flags(w) & rules::INSTITUTION != 0
                        || self.rules.institution_suffixes.matches(w, 0)
                });
                if institution || !(named || initials) {
                    continue;
                }
            }
            let (conf, reason) = match owner {
                // the switchboard of an institution or company is not personal
                // (a staff member's direct line or personal e-mail after the
                // institution's name is still a person's)
                Some(Owner::Org) if !name_built && h.kind == MarkKind::Phone && !h.personal => {
                    continue
                }
                _ if name_built => (
                    0.95,
                    "e-mail address built from a name in the text".to_string(),
                ),
                Some(Owner::Person) => (
                    h.confidence.max(0.85),
                    format!("{}, after another person's name or address", h.reason),
                ),
                _ => (h.confidence, h.reason.to_string()),
            };
            marks.push(self.mark(s, h.start, h.end, h.kind, conf, reason));
        }
        // a phone number, e-mail address or account that is the party's in
        // one place is the party's everywhere ("Ringet tilbage på 98 92 14 63")
        let own_keys: FxHashSet<String> = protected
            .iter()
            .filter_map(|&(a, b)| contact_key(&s[a..b]))
            .collect();
        if !own_keys.is_empty() {
            marks.retain(|m| {
                let own = matches!(
                    m.kind,
                    MarkKind::Phone | MarkKind::Email | MarkKind::Account
                ) && contact_key(&m.text).is_some_and(|k| own_keys.contains(&k));
                if own {
                    protected.push((m.start, m.end));
                }
                !own
            });
        }
        // "Alberte Bro Thomsen 116768-2940": a CPR number with a misread
        // digit, beside a name or after a CPR word: review
        for (a, b, positive) in cpr::scan_bad_dates(s) {
            // the requester's own number with a misread digit or two
            let own = cpr::digits_of(&s[a..b]).is_some_and(|d| {
                parties.iter().any(|p| {
                    p.cpr.is_some_and(|c| {
                        c.iter().zip(d.iter()).filter(|(x, y)| x != y).count() <= 2
                    })
                })
            });
            if own {
                protected.push((a, b));
                continue;
            }
            let by_name = nearest_owner(s, &[&owners], a).is_some_and(|(who, gap)| {
                who != Owner::Org && gap.len() <= 40 && !gap.contains('\n')
            });
            if positive || by_name {
                marks.push(self.mark(
                    s,
                    a,
                    b,
                    MarkKind::Cpr,
                    0.3,
                    "CPR-shaped number with an impossible date (a misread digit?) beside a name or a CPR word: review".into(),
                ));
            }
        }
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
        // capitalised words outside every name, street or institution
        // (an unknown word kept only for the request-level rule stays loose)
        let named = SpanSet::new(
            names
                .iter()
                .filter(|c| c.confidence != 0.0)
                .map(|c| (c.start, c.end))
                .collect(),
        );
        // (token ends only grow: the spans are walked once)
        let mut at = (0, 0);
        let mut loose = Vec::with_capacity(toks.len() / 8);
        for t in toks.iter() {
            if names::is_cap_word(t) && !named.overlaps_in_order((t.start, t.end), &mut at) {
                loose.push((t.start, t.end));
            }
        }
        Doc {
            marks,
            protected,
            names,
            loose,
        }
    }

    fn second_pass(
        &self,
        s: &str,
        d: &Doc,
        mut marks: Vec<Mark>,
        protected: Vec<(usize, usize)>,
        people: &FxHashSet<&str>,
        parties: &[Party],
    ) -> Vec<Mark> {
        for c in &d.names {
            let mut conf = c.confidence;
            let mut reason = c.reason;
            if conf < 0.7
                && !c.keys.is_empty()
                && c.keys.iter().all(|k| people.contains(k.as_str()))
            {
                conf = 0.8;
                reason = "name of a person named in full elsewhere in the request";
            }
            if conf > 0.0 {
                marks.push(self.mark(s, c.start, c.end, MarkKind::Name, conf, reason.into()));
            }
        }
        if !people.is_empty() {
            // (the byte lengths of the people's words: an ASCII word keeps
            // its length in lower case, and is a person's word only with
            // that length, or one less without a genitive ending; and their
            // first bytes, which an ASCII word keeps too)
            let mut lens = 0u64;
            let mut firsts = [false; 256];
            for k in people {
                lens |= 1 << k.len().min(63);
                if let Some(&c) = k.as_bytes().first() {
                    firsts[c as usize] = true;
                }
            }
            let mut buf = String::new();
            for &(a, b) in &d.loose {
                let n = b - a;
                let w = &s.as_bytes()[a..b];
                if (1..63).contains(&n)
                    && (lens >> (n - 1) & 0b11 == 0 || !firsts[w[0].to_ascii_lowercase() as usize])
                    && w.is_ascii()
                {
                    continue;
                }
                lexicon::lower_into(&s[a..b], &mut buf);
                let full = buf.as_str();
                // (towns are never taken for a person's name named
                // elsewhere: "Anne Aalborg" does not make "9000 Aalborg" one)
                if self.rules.flags(full) & (rules::FUNCTION | rules::TOWN) != 0 {
                    continue;
                }
                let stripped = full.strip_suffix('s').or_else(|| full.strip_suffix('\''));
                let hit = people.contains(full) || stripped.is_some_and(|k| people.contains(k));
                if hit && !parties.iter().any(|p| p.has_token(full)) {
                    marks.push(self.mark(
                        s,
                        a,
                        b,
                        MarkKind::Name,
                        0.8,
                        "name of a person named in full elsewhere in the request".into(),
                    ));
                }
            }
        }
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

/// Whether two words of the same length differ in exactly one letter.
fn one_letter_off(a: &str, b: &str) -> bool {
    let mut diff = 0;
    let (mut x, mut y) = (a.chars(), b.chars());
    loop {
        match (x.next(), y.next()) {
            (None, None) => return diff == 1,
            (Some(p), Some(q)) => {
                if p != q {
                    diff += 1;
                    if diff > 1 {
                        return false;
                    }
                }
            }
            _ => return false,
        }
    }
}

/// The key a phone number, e-mail address or account is compared by
/// ([`phone_key`] digits, or the lower-case e-mail address); `None` for
/// anything shorter than eight digits.
fn contact_key(t: &str) -> Option<String> {
    if t.contains('@') {
        return Some(t.to_lowercase());
    }
    let k = phone_key(t);
    (k.len() >= 8).then_some(k)
}

/// The text of the line before `at` (from the last line break, at most
/// `max` bytes back).
fn line_before(s: &str, at: usize, max: usize) -> &str {
    let from = floor_boundary(s, at.saturating_sub(max));
    let t = &s[from..at];
    match t.rfind('\n') {
        Some(i) => &t[i + 1..],
        None => t,
    }
}

/// Whether the address at `start..end` follows a label that names a former
/// address ("Tidligere adresse:", "Fraflytningsadresse:", "Tidligere
/// bopæl", or "Fra:" opening a line with "Til:" opening one of the next two).
fn former_address_label(s: &str, start: usize, end: usize) -> bool {
    let line = line_before(s, start, 80).to_lowercase();
    let label = line.trim_end_matches(|c: char| c.is_whitespace() || c == ':');
    if label.ends_with("fraflytningsadresse")
        || label.ends_with("tidligere adresse")
        || label.ends_with("tidligere bopæl")
        || label.ends_with("tidl. adresse")
    {
        return true;
    }
    if label.trim() == "fra" {
        let next = &s[end..floor_boundary(s, end.saturating_add(200))];
        return next
            .split('\n')
            .skip(1)
            .take(2)
            .any(|l| l.trim_start().to_lowercase().starts_with("til:"));
    }
    false
}

/// Whether a bank's name ends at `end` ("Nordea, reg. 2222 …": a bank
/// before an account only keeps it).
fn bank_before(s: &str, owners: &[(usize, usize, Owner)], end: usize) -> bool {
    let i = owners.partition_point(|o| o.0 < end);
    owners[i.saturating_sub(4)..i]
        .iter()
        .filter(|o| o.1 == end)
        .any(|o| {
            let t = s[o.0..o.1].to_lowercase();
            [
                "bank",
                "sparekasse",
                "nordea",
                "nykredit",
                "realkredit",
                "jyske",
                "danske",
            ]
            .iter()
            .any(|b| t.contains(b))
        })
}

/// "Beskeder fra \"HolbaekKom\" til +45 51 90 24 36", "SMS sendt fra
/// Jobcentret til 40 81 27 66": a number that messages from someone were
/// sent to, on a line that names no person, is the citizen's.
fn sent_to(s: &str, at: usize, owners: &[(usize, usize, Owner)]) -> bool {
    let line = line_before(s, at, 160);
    let Some(before) = line.trim_end().strip_suffix("til") else {
        return false;
    };
    if !before.ends_with(|c: char| c.is_whitespace()) {
        return false;
    }
    let lower = before.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let from = at - line.len();
    let i = owners.partition_point(|o| o.0 < from);
    words.contains(&"fra")
        && words.iter().any(|w| {
            w.starts_with("besked") || w.starts_with("sms") || *w == "sendt" || *w == "afsendt"
        })
        && !owners[i..]
            .iter()
            .take_while(|o| o.0 < at)
            .any(|o| o.2 != Owner::Org)
}

/// "borgeren", "ansøger": words that name the citizen of the case (the
/// requester), as owners of the contact details after them.
fn citizen_words(s: &str, toks: &[Tok]) -> Vec<(usize, usize, Owner)> {
    toks.iter()
        .filter(|t| {
            t.is_word()
                // (6 to 10 bytes: "borger" .. "ansøgeren")
                && (6..=10).contains(&(t.end - t.start))
                && matches!(s.as_bytes()[t.start], b'b' | b'B' | b'a' | b'A')
                && matches!(
                    t.text(s),
                    "borger"
                        | "borgeren"
                        | "Borger"
                        | "Borgeren"
                        | "ansøger"
                        | "ansøgeren"
                        | "Ansøger"
                        | "Ansøgeren"
                )
        })
        .map(|t| (t.start, t.end, Owner::Party))
        .collect()
}

impl Screener {
    /// Adds lower-case writings of first names the text names with a
    /// capital (see `window`).
    fn lower_case_names(&self, s: &str, toks: &[Tok], found: &mut Vec<names::NameCand>) {
        // the name words of the text, folded (borrowed when folding changes
        // nothing); cheap filters first: byte length and first byte
        let mut folded: Vec<String> = Vec::new();
        let mut firsts: FxHashSet<&str> = FxHashSet::default();
        let mut lens = 0u64;
        let mut first_bytes = [false; 256];
        let plain = |k: &str| !names::has_accent(k);
        for c in found.iter().filter(|c| c.confidence > 0.0 && !c.org) {
            for k in &c.keys {
                if k.len() < 3 || k.len() >= 64 {
                    continue;
                }
                if !plain(k) {
                    let mut f = String::new();
                    names::fold_accents(k, &mut f);
                    folded.push(f);
                }
            }
        }
        for k in found
            .iter()
            .filter(|c| c.confidence > 0.0 && !c.org)
            .flat_map(|c| c.keys.iter())
            .map(String::as_str)
            .filter(|k| k.len() >= 3 && k.len() < 64 && plain(k))
            .chain(folded.iter().map(String::as_str))
        {
            lens |= 1 << k.len();
            first_bytes[k.as_bytes()[0] as usize] = true;
            firsts.insert(k);
        }
        if firsts.is_empty() {
            return;
        }
        let mut add = Vec::new();
        let mut low_buf = String::new();
        let bytes = s.as_bytes();
        for t in toks {
            if !t.is_word() || t.cap || t.end - t.start < 3 {
                continue;
            }
            // (a word whose first byte is ASCII keeps it when folded: most
            // words stop at this byte)
            let b0 = bytes[t.start];
            if b0 < 0x80 && !first_bytes[b0 as usize] {
                continue;
            }
            let w = t.text(s);
            // (an accent changes the byte length by one: "andrés"/"andres")
            let n = w.len();
            let len_ok = (n < 64 && lens & (1 << n) != 0) || (n < 65 && lens & (1 << (n - 1)) != 0);
            if !len_ok
                || !first_bytes[w.as_bytes()[0] as usize] && w.is_ascii()
                || w.bytes().any(|c| c.is_ascii_uppercase())
            {
                continue;
            }
            let low: &str = if !names::has_accent(w) {
                w
            } else {
                names::fold_accents(w, &mut low_buf);
                &low_buf
            };
            if firsts.contains(low)
                && self.rules.flags(low) == 0
                && !names::LOWER_STOP.contains(&low)
                && self.lex.name(low).is_some_and(|i| i.first_rank > 0)
            {
                add.push(names::NameCand {
                    start: t.start,
                    end: t.end,
                    keys: vec![w.to_string()],
                    words: 1,
                    confidence: 0.55,
                    reason: "first name in lower case, named with a capital in the text: review",
                    org: false,
                });
            }
        }
        found.extend(add);
    }

    /// Whether a title or relation word ("Ægtefælle", "mor") is in `t`.
    fn has_title_word(&self, t: &str) -> bool {
        t.split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .any(|w| self.rules.flags(&lexicon::lower(w)) & rules::TITLE != 0)
    }

    /// Whether the contact detail at `at` is given by the party in its own
    /// words: the paragraph's first owner is the party ("det er Dorthe
    /// Frimodt …", "Borger oplyste: …"), and the sentence of the number is
    /// in the first person (`jeg`, `mig`, `mit`, `min`) with no other person,
    /// relation word or third-person pronoun in it.
    fn first_person_of_party(
        &self,
        s: &str,
        at: usize,
        lists: &[&[(usize, usize, Owner)]],
    ) -> bool {
        // the sentence before the number, at most 200 bytes
        let from = floor_boundary(s, at.saturating_sub(200));
        let t = &s[from..at];
        let cut = t
            .char_indices()
            .rev()
            .find(|&(i, c)| {
                matches!(c, '.' | '!' | '?' | '"' | '“' | '”' | '»' | '«')
                    && t[i + c.len_utf8()..].starts_with(char::is_whitespace)
                    || (c == '\n' && t[i + 1..].starts_with('\n'))
            })
            .map_or(0, |(i, c)| i + c.len_utf8());
        let sentence = &t[cut..];
        let sent_from = from + cut;
        let mut first_person = false;
        for w in sentence.split(|c: char| !c.is_alphanumeric()) {
            match w {
                "jeg" | "Jeg" | "mig" | "mit" | "min" | "Mit" | "Min" => first_person = true,
                "han" | "hun" | "ham" | "hende" | "hans" | "hendes" | "Han" | "Hun" | "Hans"
                | "Hendes" | "de" | "dem" | "deres" | "sin" | "sit" => return false,
                _ => {}
            }
        }
        if !first_person || self.has_title_word(sentence) {
            return false;
        }
        for owners in lists {
            let i = owners.partition_point(|o| o.0 < sent_from);
            if owners[i..]
                .iter()
                .take_while(|o| o.0 < at)
                .any(|o| o.2 == Owner::Person)
            {
                return false;
            }
        }
        // the paragraph's first owner, at most 1500 bytes back
        let pfrom = floor_boundary(s, at.saturating_sub(1500));
        let para = pfrom + s[pfrom..at].rfind("\n\n").map_or(0, |i| i + 2);
        let mut first: Option<(usize, Owner)> = None;
        for owners in lists {
            let i = owners.partition_point(|o| o.0 < para);
            if let Some(o) = owners.get(i).filter(|o| o.0 < at) {
                if first.is_none_or(|f| o.0 < f.0) {
                    first = Some((o.0, o.2));
                }
            }
        }
        first.is_some_and(|f| f.1 == Owner::Party)
    }

    /// Whether "(" and an institution's name follow `at` on the same line.
    fn institution_in_brackets(
        &self,
        s: &str,
        toks: &[Tok],
        owners: &[(usize, usize, Owner)],
        at: usize,
    ) -> bool {
        let mut i = toks.partition_point(|t| t.start < at);
        // over the rest of the account ("reg.nr. 0216 kontonr. 4069137722 (Rigspolitiet)")
        let mut n = 0;
        while let Some(t) = toks.get(i) {
            let skip = !t.newline_before
                && n < 6
                && (t.kind == token::TokKind::Number
                    || t.is_punct('.')
                    || t.is_punct(':')
                    || t.is_word()
                        && matches!(t.text(s), "konto" | "kontonr" | "kontonummer" | "nr"));
            if !skip {
                break;
            }
            i += 1;
            n += 1;
        }
        let (Some(open), Some(w)) = (toks.get(i), toks.get(i + 1)) else {
            return false;
        };
        if !open.is_punct('(') || s[at..open.start].contains("\n\n") || !w.is_word() || !w.cap {
            return false;
        }
        let j = owners.partition_point(|o| o.0 <= w.start);
        if owners[j.saturating_sub(4)..j]
            .iter()
            .any(|o| o.0 <= w.start && w.end <= o.1)
        {
            return owners[j.saturating_sub(4)..j]
                .iter()
                .any(|o| o.0 <= w.start && w.end <= o.1 && o.2 == Owner::Org);
        }
        // the institution word may come second ("Guldborgsund Kommune")
        let mut buf = String::new();
        toks[i + 1..].iter().take(3).any(|t| {
            t.is_word() && t.cap && {
                lexicon::lower_into(t.text(s), &mut buf);
                self.rules.flags(&buf) & rules::INSTITUTION != 0
                    || self.rules.institution_suffixes.matches(&buf, 0)
            }
        })
    }

    /// Whether an institution's name (an institution word in capitals or an
    /// institution span) comes before `at` in the same sentence, or in the
    /// same letterhead block, with no person, title or relation word in
    /// between: the address at `at` is the institution's.
    fn institution_before(
        &self,
        s: &str,
        toks: &[Tok],
        lists: &[&[(usize, usize, Owner)]],
        at: usize,
    ) -> bool {
        let mut i = toks.partition_point(|t| t.start < at);
        let mut words = 0;
        let mut buf = String::new();
        // the start of the text already looked at (each gap is scanned once)
        let mut seen = at;
        let in_brackets = i > 0 && toks[i - 1].is_punct('(');
        let mut after_v = false;
        let mut ends: Vec<usize> = lists
            .iter()
            .map(|o| o.partition_point(|x| x.0 < at))
            .collect();
        while i > 0 {
            i -= 1;
            let t = toks[i];
            if at - t.start > 300 || words > 30 || s[t.end..seen].contains("\n\n") {
                return false;
            }
            seen = t.start;
            // a sentence ended before this point
            if t.is_punct('.') || t.is_punct('!') || t.is_punct('?') {
                if toks.get(i + 1).is_some_and(|n| n.sent_start && n.cap) {
                    return false;
                }
                continue;
            }
            if !t.is_word() {
                continue;
            }
            words += 1;
            // a name or an address before it decides ("flyttet fra
            // Engvej 4 til Søvej 9": the first address is no institution),
            // except the owner of a practice after "v/" ("Lægepraksis v/
            // Vibeke Lorentzen, Hestetorvet 2")
            let mut decided = None;
            for (owners, j) in lists.iter().zip(ends.iter_mut()) {
                // (walking backwards: move each list's end down once, not a
                // binary search per word)
                while *j > 0 && owners[*j - 1].0 > t.start {
                    *j -= 1;
                }
                let j = *j;
                if let Some(o) = owners[j.saturating_sub(4)..j]
                    .iter()
                    .rev()
                    .find(|o| o.0 <= t.start && t.end <= o.1)
                {
                    decided = Some(*o);
                    break;
                }
            }
            if let Some((start, _, who)) = decided {
                let v_slash = s[..start].trim_end().ends_with("v/");
                if !(who == Owner::Person && v_slash) {
                    return who == Owner::Org;
                }
                // skip the owner's name and go on with the practice (which
                // may be written in lower case: "speciallægepraksis v/ …")
                while i > 0 && toks[i - 1].start >= start {
                    i -= 1;
                }
                after_v = true;
                continue;
            }
            lexicon::lower_into(t.text(s), &mut buf);
            let flags = self.rules.flags(&buf);
            // "klage til kommunens Borgerrådgiver, Frederiksgade 9": a role
            // capitalised mid-sentence right before the address is an office
            // (mid-sentence: after a lower-case word, also over a line break)
            if t.cap
                && i > 0
                && toks[i - 1].is_word()
                && !toks[i - 1].cap
                && (flags & rules::TITLE != 0 || names::is_role(&buf))
                && !s[t.end..at].chars().any(char::is_alphanumeric)
            {
                return true;
            }
            if flags & rules::TITLE != 0 {
                return false;
            }
            // where someone lives is a residence, even in a sentence that
            // names the municipality ("Kommunen har truffet afgørelse om,
            // at du skal anbringes på opholdsstedet Solbakken, Skovvej 2")
            if matches!(
                buf.as_str(),
                "bor"
                    | "boede"
                    | "bosat"
                    | "bopæl"
                    | "anbragt"
                    | "anbringes"
                    | "flytter"
                    | "flyttet"
                    | "flyttede"
                    | "opholder"
            ) {
                return false;
            }
            // a meeting room is in an institution ("i mødelokale 2.14 på
            // 2. sal, Søvej 3")
            if matches!(
                buf.as_str(),
                "mødelokale" | "mødelokalet" | "lokale" | "receptionen"
            ) {
                return true;
            }
            // an address in brackets describes the place named before it
            // ("til afdelingen i Them (Vestergade 7, 8653 Them)"): there a
            // lower-case institution word counts too (not "kommunen", an area)
            let institution =
                flags & rules::INSTITUTION != 0 || self.rules.institution_suffixes.matches(&buf, 0);
            if institution
                && (t.cap
                    || after_v
                    || in_brackets && !matches!(buf.as_str(), "kommune" | "kommunen"))
            {
                return true;
            }
        }
        false
    }
}

/// The owner of the nearest name, address or institution before `at`
/// (within [`OWNER_REACH`] bytes and the same paragraph), and the text
/// between them. Each list is sorted by start.
fn nearest_owner<'a>(
    s: &'a str,
    lists: &[&[(usize, usize, Owner)]],
    at: usize,
) -> Option<(Owner, &'a str)> {
    let mut best: Option<(usize, Owner)> = None;
    for owners in lists {
        let i = owners.partition_point(|o| o.0 < at);
        // the nearest by end among the last few (spans do not nest deeply)
        if let Some(o) = owners[i.saturating_sub(4)..i]
            .iter()
            .filter(|o| o.1 <= at)
            .max_by_key(|o| o.1)
        {
            if best.is_none_or(|b| o.1 > b.0) {
                best = Some((o.1, o.2));
            }
        }
    }
    let (end, who) = best?;
    let gap = &s[end..at];
    (at - end <= OWNER_REACH && !gap.contains("\n\n")).then_some((who, gap))
}

/// Keeps the strongest of overlapping marks (CPR > address > name > word,
/// then longer) and sorts by position. A name that runs into an address
/// ("… 8000 Aarhus C. Connor Smith") keeps the part outside it.
fn resolve(mut marks: Vec<Mark>) -> Vec<Mark> {
    let strong = SpanSet::new(
        marks
            .iter()
            .filter(|m| m.kind != MarkKind::Name && m.kind != MarkKind::Word)
            .map(|m| (m.start, m.end))
            .collect(),
    );
    for m in marks.iter_mut().filter(|m| m.kind == MarkKind::Name) {
        let b = strong.max_end_from_before(m.start);
        if b > m.start && b < m.end {
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

    /// CPU time of this thread (the machine is shared: wall time would
    /// measure the neighbours). Linux only; None elsewhere.
    fn thread_cpu() -> Option<f64> {
        let t = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        Some(t.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
    }

    /// Text dense with everything the screener looks for, in paragraphs.
    const DENSE: &str = "Anna Jensen og Peter Hansen (010190-1235) bor på Nørregade 4, 2. tv., \
        8000 Aarhus C, tlf. 20 30 40 50, peter.hansen@mail.dk. Peter har et misbrug. Hansen \
        Transport ApS, Jobcenter Silkeborg, konto 9570-0012345678, fru Karen Holm, \
        Engvej 133, 7480 Vildbjerg, O1O19O-l234.\n\n";

    #[test]
    fn time_is_linear_in_dense_text() {
        // the same dense text at two sizes, 16x apart: linear time gives a
        // ratio near 16; the old quadratic resolve gave over 30
        let sc = screener();
        let cost = |bytes: usize| {
            let text = DENSE.repeat(bytes / DENSE.len());
            (0..2)
                .map(|_| {
                    let c0 = thread_cpu();
                    let t0 = std::time::Instant::now();
                    let n = sc.screen(&text, &[subject()]).len();
                    assert!(n > bytes / 40, "{n} marks");
                    match (c0, thread_cpu()) {
                        (Some(a), Some(b)) if b > a => b - a,
                        _ => t0.elapsed().as_secs_f64(),
                    }
                })
                .fold(f64::MAX, f64::min)
        };
        let small = cost(100_000);
        let large = cost(1_600_000);
        let ratio = large / small;
        assert!(
            ratio < 24.0,
            "16x the text took {ratio:.1}x the time ({small:.3}s, {large:.3}s)"
        );
    }

    #[test]
    fn windows_give_the_same_marks_as_the_parts() {
        // a text longer than several windows: its marks are exactly the
        // marks of each paragraph, shifted, so no window cut loses or
        // changes a mark
        let sc = screener();
        let unit = sc.screen(DENSE, &[subject()]);
        let reps = 3 * WINDOW / DENSE.len();
        let text = DENSE.repeat(reps);
        let marks = sc.screen(&text, &[subject()]);
        assert_eq!(marks.len(), unit.len() * reps);
        for (i, m) in marks.iter().enumerate() {
            let u = &unit[i % unit.len()];
            let off = (i / unit.len()) * DENSE.len();
            assert_eq!(
                (m.start, m.end, m.kind),
                (u.start + off, u.end + off, u.kind)
            );
        }
        // one line without breaks is cut at spaces, and still screened whole
        let line = DENSE.replace('\n', " ").repeat(reps);
        assert!(sc.screen(&line, &[subject()]).len() >= unit.len() * reps * 9 / 10);
    }

    #[test]
    fn spans_asked_in_order_as_searched() {
        let mut r = crate::corpus::Rng::new(3);
        for _ in 0..200 {
            let spans: Vec<(usize, usize)> = (0..r.below(12))
                .map(|_| {
                    let a = r.below(100);
                    (a, a + 1 + r.below(15))
                })
                .collect();
            let set = SpanSet::new(spans);
            let mut at = (0, 0);
            let mut x = 0;
            while x < 120 {
                let y = (x + 1 + r.below(6), x + r.below(3));
                let q = (y.1, y.0);
                assert_eq!(set.overlaps_in_order(q, &mut at), set.overlaps(q), "{q:?}");
                // now and then one out of order
                let back = (
                    q.0.saturating_sub(r.below(20)),
                    q.1.saturating_sub(r.below(20)),
                );
                let back = (back.0.min(back.1), back.1);
                assert_eq!(
                    set.overlaps_in_order(back, &mut at),
                    set.overlaps(back),
                    "{back:?}"
                );
                x = q.1;
            }
        }
    }

    #[test]
    fn screener_is_send_and_sync() {
        fn f<T: Send + Sync>() {}
        f::<Screener>();
    }
}
