//! The evaluation corpus: gold markup, a seeded generator of Danish case
//! documents, and the scoring used by `tests/evaluation.rs` and the
//! benchmark.
//!
//! Gold is written inline: `{{name|Peter Hansen}}`, `{{cpr|010190-1234}}`,
//! `{{addr|Nørregade 4, 2. tv.}}`, `{{word|anbringelsen}}` must be marked;
//! `{{own|Anna}}` (the subject's or a consented party's data) and
//! `{{not|sagsnr. 2023-004711}}` (look-alikes) must not be; `{{phone|..}}`,
//! `{{email|..}}` and `{{account|..}}` mark other identifiers of a person.
//!
//! The generator draws names and streets from the same data files the
//! product loads (read here independently of [`crate::Lexicon`]), and adds
//! what no list holds — made-up foreign names after titles or beside a known
//! first name, made-up streets with a street suffix — so the evidence rules
//! are tested, not just the lists.

use crate::{Mark, MarkKind, PartyData, Screener, Subject};
use std::path::Path;

/// What a gold span is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GoldKind {
    Cpr,
    Name,
    Address,
    Phone,
    Email,
    Account,
    Word,
    /// The subject's or a consented party's own data: must not be marked.
    Own,
    /// A look-alike: must not be marked.
    Not,
}

impl GoldKind {
    /// The kinds that must be marked, in the order of [`Score::recall`].
    pub const MARKED: [GoldKind; 7] = [
        GoldKind::Cpr,
        GoldKind::Name,
        GoldKind::Address,
        GoldKind::Phone,
        GoldKind::Email,
        GoldKind::Account,
        GoldKind::Word,
    ];

    fn parse(s: &str) -> Option<GoldKind> {
        Some(match s {
            "cpr" => GoldKind::Cpr,
            "name" => GoldKind::Name,
            "addr" | "address" => GoldKind::Address,
            "phone" => GoldKind::Phone,
            "email" => GoldKind::Email,
            "account" => GoldKind::Account,
            "word" => GoldKind::Word,
            "own" => GoldKind::Own,
            "not" => GoldKind::Not,
            _ => return None,
        })
    }
    /// Whether the span must be marked.
    pub fn must_mark(&self) -> bool {
        !matches!(self, GoldKind::Own | GoldKind::Not)
    }
    pub fn label(&self) -> &'static str {
        match self {
            GoldKind::Cpr => "cpr",
            GoldKind::Name => "name",
            GoldKind::Address => "address",
            GoldKind::Phone => "phone",
            GoldKind::Email => "email",
            GoldKind::Account => "account",
            GoldKind::Word => "word",
            GoldKind::Own => "own",
            GoldKind::Not => "not",
        }
    }
    /// Whether a mark of kind `k` is the right kind for this span (strict
    /// precision).
    pub fn matches(&self, k: MarkKind) -> bool {
        matches!(
            (self, k),
            (GoldKind::Cpr, MarkKind::Cpr)
                | (GoldKind::Name, MarkKind::Name)
                | (GoldKind::Address, MarkKind::Address)
                | (GoldKind::Phone, MarkKind::Phone)
                | (GoldKind::Email, MarkKind::Email)
                | (GoldKind::Account, MarkKind::Account)
                | (GoldKind::Word, MarkKind::Word)
        )
    }
}

/// A labelled span (UTF-8 byte offsets into the plain text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gold {
    pub start: usize,
    pub end: usize,
    pub kind: GoldKind,
}

/// One labelled document.
#[derive(Clone, Debug)]
pub struct Case {
    pub id: String,
    /// Documents with the same request id are screened together.
    pub request: String,
    pub text: String,
    pub gold: Vec<Gold>,
    pub subject: Subject,
    /// What else is known of the subject (the independent format's
    /// `requester-phone`, `requester-email`, `requester-account`,
    /// `requester-former-address`, `requester-former-name`).
    pub subject_data: PartyData,
    pub consented: Vec<Subject>,
    pub words: Vec<String>,
    /// Where the text comes from (the independent corpus's `source:`).
    pub source: String,
}

/// Strips `{{kind|text}}` markup, returning the plain text and gold spans.
pub fn parse_markup(m: &str) -> Result<(String, Vec<Gold>), String> {
    let mut out = String::with_capacity(m.len());
    let mut gold = Vec::new();
    let mut rest = m;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let close = after.find("}}").ok_or_else(|| {
            format!(
                "unclosed '{{{{' near {:?}",
                &rest[i..rest.len().min(i + 30)]
            )
        })?;
        let inner = &after[..close];
        let (kind, text) = inner
            .split_once('|')
            .ok_or_else(|| format!("gold {inner:?} lacks 'kind|'"))?;
        let kind = GoldKind::parse(kind).ok_or_else(|| format!("unknown gold kind {kind:?}"))?;
        let start = out.len();
        out.push_str(text);
        gold.push(Gold {
            start,
            end: out.len(),
            kind,
        });
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok((out, gold))
}

/// Reads hand-written cases: one JSON object per line with `id`, `text`
/// (with markup), `subject`, optional `request`, `consented`, `words`.
pub fn load_cases(jsonl: &str) -> Result<Vec<Case>, String> {
    #[derive(serde::Deserialize)]
    struct Raw {
        id: String,
        #[serde(default)]
        request: Option<String>,
        text: String,
        subject: Subject,
        #[serde(default)]
        consented: Vec<Subject>,
        #[serde(default)]
        words: Vec<String>,
    }
    let mut v = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with("//") {
            continue;
        }
        let r: Raw =
            serde_json::from_str(line).map_err(|e| format!("hard case line {}: {e}", i + 1))?;
        let (text, gold) = parse_markup(&r.text)
            .map_err(|e| format!("hard case line {} ({}): {e}", i + 1, r.id))?;
        v.push(Case {
            request: r.request.unwrap_or_else(|| r.id.clone()),
            id: r.id,
            text,
            gold,
            subject: r.subject,
            subject_data: PartyData::default(),
            consented: r.consented,
            words: r.words,
            source: String::new(),
        });
    }
    Ok(v)
}

/// Recall per kind, character precision, own data marked, and marks on
/// documents that mention nobody else.
#[derive(Clone, Debug, Default)]
pub struct Score {
    /// (found, total) per kind, in the order of [`GoldKind::MARKED`]. A span
    /// is found when every non-space character of it is marked.
    pub recall: [(usize, usize); 7],
    /// Own-data spans with a marked character (must be 0).
    pub own_marked: usize,
    pub own_total: usize,
    /// Look-alike spans that were marked.
    pub not_marked: usize,
    pub not_total: usize,
    /// Non-space characters marked; of those inside a gold span that must
    /// be marked (lenient), and inside one of the mark's own kind (strict).
    pub marked_chars: usize,
    pub correct_chars: usize,
    pub strict_chars: usize,
    /// Documents, and documents whose gold has no other person in it
    /// (nothing to mark) and of those, the ones that got a mark anyway.
    pub docs: usize,
    pub clean_docs: usize,
    pub clean_docs_marked: usize,
    pub marks: usize,
    pub review_marks: usize,
    /// Human-readable misses and false marks (first few hundred).
    pub misses: Vec<String>,
    pub false_marks: Vec<String>,
}

impl Score {
    /// Recall of the `k`-th kind of [`GoldKind::MARKED`] (1.0 when absent).
    pub fn recall_of(&self, k: usize) -> f64 {
        let (f, t) = self.recall[k];
        if t == 0 {
            1.0
        } else {
            f as f64 / t as f64
        }
    }
    /// Recall of one kind.
    pub fn recall_kind(&self, k: GoldKind) -> f64 {
        GoldKind::MARKED
            .iter()
            .position(|x| *x == k)
            .map_or(1.0, |i| self.recall_of(i))
    }
    /// Lenient character precision: marked characters inside any span that
    /// must be marked.
    pub fn precision(&self) -> f64 {
        ratio(self.correct_chars, self.marked_chars)
    }
    /// Strict character precision: marked characters inside a span of the
    /// mark's own kind.
    pub fn strict_precision(&self) -> f64 {
        ratio(self.strict_chars, self.marked_chars)
    }
    /// Adds another score's counts (for totals over groups).
    pub fn merge(&mut self, o: &Score) {
        for (a, b) in self.recall.iter_mut().zip(o.recall) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.own_marked += o.own_marked;
        self.own_total += o.own_total;
        self.not_marked += o.not_marked;
        self.not_total += o.not_total;
        self.marked_chars += o.marked_chars;
        self.correct_chars += o.correct_chars;
        self.strict_chars += o.strict_chars;
        self.docs += o.docs;
        self.clean_docs += o.clean_docs;
        self.clean_docs_marked += o.clean_docs_marked;
        self.marks += o.marks;
        self.review_marks += o.review_marks;
        self.misses.extend(o.misses.iter().cloned());
        self.false_marks.extend(o.false_marks.iter().cloned());
    }
    /// One stable line per figure.
    pub fn report(&self, title: &str) -> String {
        let mut s = format!("== {title}\n");
        for (i, k) in GoldKind::MARKED.iter().enumerate() {
            let (f, t) = self.recall[i];
            if t > 0 {
                s += &format!(
                    "recall {:<8} {:>7.2}% ({f}/{t})\n",
                    k.label(),
                    100.0 * self.recall_of(i)
                );
            }
        }
        s += &format!(
            "char precision   {:>7.2}% ({}/{}), strict {:.2}% ({})\n",
            100.0 * self.precision(),
            self.correct_chars,
            self.marked_chars,
            100.0 * self.strict_precision(),
            self.strict_chars
        );
        s += &format!(
            "own data marked  {} of {}\n",
            self.own_marked, self.own_total
        );
        if self.not_total > 0 {
            s += &format!(
                "look-alikes marked {} of {}\n",
                self.not_marked, self.not_total
            );
        }
        s += &format!(
            "documents without another person that got a mark: {} of {}\n",
            self.clean_docs_marked, self.clean_docs
        );
        s += &format!("marks {} (review {})\n", self.marks, self.review_marks);
        s
    }

    /// Adds one document's result.
    pub fn add(&mut self, c: &Case, marks: &[Mark]) {
        let text = &c.text;
        // the mark over each byte (marks do not overlap)
        let mut cover: Vec<Option<MarkKind>> = vec![None; text.len()];
        for m in marks {
            for x in &mut cover[m.start.min(text.len())..m.end.min(text.len())] {
                *x = Some(m.kind);
            }
        }
        let covered = |a: usize, b: usize| -> bool {
            text[a..b]
                .char_indices()
                .all(|(i, ch)| ch.is_whitespace() || cover[a + i].is_some())
        };
        let touched = |a: usize, b: usize| {
            text[a..b]
                .char_indices()
                .any(|(i, ch)| !ch.is_whitespace() && cover[a + i].is_some())
        };
        self.docs += 1;
        if !c.gold.iter().any(|g| g.kind.must_mark()) {
            self.clean_docs += 1;
            if !marks.is_empty() {
                self.clean_docs_marked += 1;
            }
        }
        for g in &c.gold {
            let Some(idx) = GoldKind::MARKED.iter().position(|k| *k == g.kind) else {
                let (hit, total) = if g.kind == GoldKind::Own {
                    (&mut self.own_marked, &mut self.own_total)
                } else {
                    (&mut self.not_marked, &mut self.not_total)
                };
                *total += 1;
                if touched(g.start, g.end) {
                    *hit += 1;
                    if g.kind == GoldKind::Own {
                        self.false_marks.push(format!(
                            "{}: OWN marked {:?}",
                            c.id,
                            &text[g.start..g.end]
                        ));
                    }
                }
                continue;
            };
            self.recall[idx].1 += 1;
            if covered(g.start, g.end) {
                self.recall[idx].0 += 1;
            } else if self.misses.len() < 400 {
                self.misses.push(format!(
                    "{}: missed {} {:?} in {:?}",
                    c.id,
                    g.kind.label(),
                    &text[g.start..g.end],
                    context(text, g.start, g.end)
                ));
            }
        }
        // the gold span over each byte
        let mut gold: Vec<Option<GoldKind>> = vec![None; text.len()];
        for g in c.gold.iter().filter(|g| g.kind.must_mark()) {
            for x in &mut gold[g.start..g.end] {
                *x = Some(g.kind);
            }
        }
        for m in marks {
            self.marks += 1;
            self.review_marks += m.review as usize;
            let mut wrong = 0;
            for (i, ch) in text[m.start..m.end].char_indices() {
                if ch.is_whitespace() {
                    continue;
                }
                self.marked_chars += 1;
                match gold[m.start + i] {
                    Some(g) => {
                        self.correct_chars += 1;
                        if g.matches(m.kind) {
                            self.strict_chars += 1;
                        } else {
                            wrong += 1;
                        }
                    }
                    None => wrong += 1,
                }
            }
            if wrong > 0 && self.false_marks.len() < 400 {
                self.false_marks.push(format!(
                    "{}: false {} {:?} ({}{}) in {:?}",
                    c.id,
                    m.kind.as_str(),
                    m.text,
                    m.reason,
                    if m.review { ", review" } else { "" },
                    context(text, m.start, m.end)
                ));
            }
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Reads a corpus laid out as `<set>/<NNN>-<slug>.txt`, each file a header
/// (`source:`, `requester-name:`, `requester-cpr:`, `requester-address:`),
/// a line `---`, then the text with inline gold (`{{name|...}}`,
/// `{{cpr|...}}`, `{{address|...}}`, `{{phone|...}}`, `{{email|...}}`,
/// `{{account|...}}`, `{{own|...}}`). Ids are `<set>/<file stem>`, sorted;
/// each document is its own request.
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files = Vec::new();
    let sets = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for set in sets.flatten() {
        if !set.path().is_dir() {
            continue;
        }
        let inner =
            std::fs::read_dir(set.path()).map_err(|e| format!("{}: {e}", set.path().display()))?;
        for f in inner.flatten() {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "txt") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    for p in files {
        let raw = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let set = p
            .parent()
            .and_then(|d| d.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let id = format!("{set}/{stem}");
        out.push(parse_document(&id, &raw).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    Ok(out)
}

/// Parses one document of the directory format (see [`load_dir`]).
pub fn parse_document(id: &str, raw: &str) -> Result<Case, String> {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw
        .split_once("\n---\n")
        .or_else(|| raw.strip_prefix("---\n").map(|b| ("", b)))
        .ok_or("no line '---' between the header and the text")?;
    let mut subject = Subject::default();
    let mut data = PartyData::default();
    let mut source = String::new();
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim().to_string();
        match k.trim() {
            "source" => source = v,
            "requester-name" => subject.name = v,
            "requester-cpr" => subject.cpr = v,
            "requester-address" => subject.address = v,
            // several values separated by ";"
            "requester-phone"
            | "requester-email"
            | "requester-account"
            | "requester-former-address"
            | "requester-former-name" => {
                let list = match k.trim() {
                    "requester-phone" => &mut data.phones,
                    "requester-email" => &mut data.emails,
                    "requester-account" => &mut data.accounts,
                    "requester-former-address" => &mut data.addresses,
                    _ => &mut data.names,
                };
                list.extend(
                    v.split(';')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .map(str::to_string),
                );
            }
            _ => {}
        }
    }
    let (text, gold) = parse_markup(body)?;
    Ok(Case {
        id: id.to_string(),
        request: id.to_string(),
        text,
        gold,
        subject,
        subject_data: data,
        consented: Vec::new(),
        words: Vec::new(),
        source,
    })
}

/// Scores cases by group: one score per set (the id's first path part),
/// one per set and source, and the total.
pub fn evaluate_groups(screener: &Screener, cases: &[Case]) -> Vec<(String, Score)> {
    let mut groups: std::collections::BTreeMap<String, Score> = Default::default();
    let mut total = Score::default();
    for c in cases {
        let mut one = Score::default();
        let marks = screener.screen_with(
            &c.text,
            std::slice::from_ref(&c.subject),
            std::slice::from_ref(&c.subject_data),
        );
        one.add(c, &marks);
        let set = c.id.split('/').next().unwrap_or("").to_string();
        groups.entry(set.clone()).or_default().merge(&one);
        let src = if c.source.is_empty() { "?" } else { &c.source };
        groups
            .entry(format!("{set} · {src}"))
            .or_default()
            .merge(&one);
        total.merge(&one);
    }
    let mut out: Vec<(String, Score)> = groups.into_iter().collect();
    out.push(("all".to_string(), total));
    out
}

/// A Markdown table of group scores: recall per kind, strict and lenient
/// character precision, own data marked, and documents that mention nobody
/// else but got a mark.
pub fn table(groups: &[(String, Score)]) -> String {
    let pct = |s: &Score, k: usize| {
        let (f, t) = s.recall[k];
        if t == 0 {
            "–".to_string()
        } else {
            format!("{:.1} % ({f}/{t})", 100.0 * f as f64 / t as f64)
        }
    };
    let mut out = String::from(
        "| group | docs | CPR | names | addresses | phones | e-mails | accounts | precision strict | lenient | own marked | clean docs marked |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (g, s) in groups {
        out += &format!(
            "| {g} | {} | {} | {} | {} | {} | {} | {} | {:.1} % | {:.1} % | {} of {} | {} of {} |\n",
            s.docs,
            pct(s, 0),
            pct(s, 1),
            pct(s, 2),
            pct(s, 3),
            pct(s, 4),
            pct(s, 5),
            100.0 * s.strict_precision(),
            100.0 * s.precision(),
            s.own_marked,
            s.own_total,
            s.clean_docs_marked,
            s.clean_docs,
        );
    }
    out
}

fn context(t: &str, a: usize, b: usize) -> String {
    let mut s = a.saturating_sub(40);
    while !t.is_char_boundary(s) {
        s -= 1;
    }
    let mut e = (b + 40).min(t.len());
    while !t.is_char_boundary(e) {
        e += 1;
    }
    t[s..e].replace('\n', " ")
}

/// Screens cases request by request and scores them.
pub fn evaluate(screener: &Screener, cases: &[Case]) -> Score {
    let mut score = Score::default();
    let mut i = 0;
    while i < cases.len() {
        let mut j = i + 1;
        while j < cases.len() && cases[j].request == cases[i].request {
            j += 1;
        }
        let group = &cases[i..j];
        let texts: Vec<&str> = group.iter().map(|c| c.text.as_str()).collect();
        let mut known = vec![group[0].subject.clone()];
        known.extend(group[0].consented.iter().cloned());
        let extra: Vec<String> = group.iter().flat_map(|c| c.words.iter().cloned()).collect();
        let wm = (!extra.is_empty()).then(|| crate::WordMatcher::new(&extra));
        let marks = screener.screen_request_full(
            &texts,
            &known,
            std::slice::from_ref(&group[0].subject_data),
            wm.as_ref(),
        );
        for (c, m) in group.iter().zip(marks.iter()) {
            score.add(c, m);
        }
        i = j;
    }
    score
}

/// A small deterministic PRNG (SplitMix64) so the corpus is identical on
/// every machine without a dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// Names and streets for the generator.
#[derive(Clone, Debug, Default)]
pub struct Pools {
    pub first_female: Vec<String>,
    pub first_male: Vec<String>,
    /// Ranks 3001.. of the first-name lists (rare names), for full names.
    pub first_rare: Vec<String>,
    pub surnames: Vec<String>,
    pub streets: Vec<String>,
}

fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut up = true;
    for c in s.chars() {
        if up {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        up = c == '-' || c == ' ';
    }
    out
}

fn read_list(p: &Path) -> std::io::Result<Vec<String>> {
    let t = std::fs::read_to_string(p)?;
    Ok(t.lines()
        .filter_map(|l| serde_json::from_str::<String>(l.trim()).ok())
        .collect())
}

impl Pools {
    /// Reads the data directory the product loads (`names/`, `streets/`).
    pub fn from_dir(dir: &Path) -> std::io::Result<Pools> {
        let f = read_list(&dir.join("names/first_names_female.jsonl"))?;
        let m = read_list(&dir.join("names/first_names_male.jsonl"))?;
        let s = read_list(&dir.join("names/surnames.jsonl"))?;
        let st = read_list(&dir.join("streets/street_names.jsonl"))?;
        let ok = |n: &&String| {
            n.chars().count() >= 3 && n.chars().all(|c| c.is_alphabetic() || c == '-')
        };
        Ok(Pools {
            first_female: f
                .iter()
                .take(3000)
                .filter(ok)
                .map(|n| title_case(n))
                .collect(),
            first_male: m
                .iter()
                .take(3000)
                .filter(ok)
                .map(|n| title_case(n))
                .collect(),
            first_rare: f
                .iter()
                .chain(m.iter())
                .skip(3000)
                .step_by(7)
                .filter(ok)
                .map(|n| title_case(n))
                .collect(),
            surnames: s
                .iter()
                .take(2500)
                .filter(ok)
                .map(|n| title_case(n))
                .collect(),
            streets: st
                .into_iter()
                .filter(|x| {
                    x.chars().next().is_some_and(char::is_uppercase)
                        && !x.chars().any(|c| c.is_ascii_digit())
                })
                .collect(),
        })
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "zu", "mo", "ri", "ta", "lan", "oda", "yu", "sha", "kem", "bar", "tu", "ngo", "wa",
    "lei", "xo", "dri", "ema", "ko", "rash", "ib", "ulu", "zen", "far", "han", "dou", "mbe", "ke",
    "sy", "qui",
];
const MADE_UP_STREET_START: &[&str] = &[
    "Solsikke",
    "Kløverblad",
    "Hvidtjørn",
    "Mosebølle",
    "Fyrreskov",
    "Tranebær",
    "Lyngbakke",
    "Ravnsholt",
    "Gøgeurt",
    "Snerle",
    "Blåbær",
    "Perikon",
    "Stenhøj",
    "Kragelund",
    "Hestehave",
];
const MADE_UP_STREET_END: &[&str] = &[
    "vej", "gade", "stræde", "vænget", "parken", "allé", "bakken", "toften",
];
const TOWNS: &[(&str, &str)] = &[
    ("8600", "Silkeborg"),
    ("8000", "Aarhus C"),
    ("2300", "København S"),
    ("5000", "Odense C"),
    ("9000", "Aalborg"),
    ("7400", "Herning"),
    ("8700", "Horsens"),
    ("6000", "Kolding"),
    ("2000", "Frederiksberg"),
    ("4000", "Roskilde"),
    ("7100", "Vejle"),
    ("8800", "Viborg"),
];
/// The municipality's own address in generated documents (allow-listed).
pub const INSTITUTION_ADDRESS: &str = "Søvej 1, 8600 Silkeborg";
/// The word list used by the generated corpus, with inflected forms.
pub const WORDS: &[(&str, &[&str])] = &[
    (
        "anbringelse",
        &[
            "anbringelse",
            "anbringelsen",
            "anbringelser",
            "anbringelserne",
            "anbringelsens",
        ],
    ),
    ("misbrug", &["misbrug", "misbruget", "misbrugets"]),
    (
        "psykisk sygdom",
        &["psykisk sygdom", "psykiske sygdomme", "psykisk sygdom"],
    ),
    (
        "underretning",
        &[
            "underretning",
            "underretningen",
            "underretninger",
            "underretningerne",
        ],
    ),
    ("vold", &["vold", "volden", "voldelig", "voldelige"]),
    (
        "selvmordsforsøg",
        &["selvmordsforsøg", "selvmordsforsøget", "selvmordsforsøgene"],
    ),
    ("alkohol", &["alkohol", "alkoholen"]),
    (
        "tvangsfjernelse",
        &["tvangsfjernelse", "tvangsfjernelsen", "tvangsfjernelser"],
    ),
];

/// A random CPR number in one of the supported ways of writing it.
pub fn random_cpr(r: &mut Rng) -> String {
    loop {
        let year = 1925 + r.below(95) as i32;
        let month = 1 + r.below(12);
        let day = 1 + r.below(28);
        let yy = (year % 100) as u8;
        // 7th digit consistent with the century
        let c7: u8 = if year < 1937 {
            r.below(4) as u8
        } else if year < 2000 {
            *r.pick(&[0u8, 1, 2, 3, 4, 9])
        } else {
            *r.pick(&[4u8, 9, 5, 6, 7, 8])
        };
        let mut d = [
            (day / 10) as u8,
            (day % 10) as u8,
            (month / 10) as u8,
            (month % 10) as u8,
            yy / 10,
            yy % 10,
            c7,
            r.below(10) as u8,
            r.below(10) as u8,
            r.below(10) as u8,
        ];
        if r.chance(0.6) {
            // make modulus 11 hold by trying the last digit
            let w = [4u32, 3, 2, 7, 6, 5, 4, 3, 2];
            let s: u32 = d[..9].iter().zip(w).map(|(a, b)| *a as u32 * b).sum();
            let last = (11 - s % 11) % 11;
            if last == 10 {
                continue;
            }
            d[9] = last as u8;
        }
        let Ok(c) = marc_model::Cpr::from_digits(d) else {
            continue;
        };
        let x = c.compact();
        let (a, b) = x.split_at(6);
        return match r.below(9) {
            0..=2 => format!("{a}-{b}"),
            3 => format!("{a}\u{2013}{b}"),
            4 => format!("{a} {b}"),
            5 => format!("{a}\u{A0}{b}"),
            6 => format!("{a}/{b}"),
            7 => format!("{a}.{b}"),
            _ => x.clone(),
        };
    }
}

struct Person {
    first: String,
    full: String,
    cpr: String,
    address: String,
}

fn made_up_name(r: &mut Rng) -> String {
    let n = 2 + r.below(2);
    let s: String = (0..n).map(|_| *r.pick(SYLLABLES)).collect();
    title_case(&s)
}

fn random_address(r: &mut Rng, p: &Pools, made_up: bool) -> String {
    let street = if made_up || p.streets.is_empty() {
        format!(
            "{}{}",
            r.pick(MADE_UP_STREET_START),
            r.pick(MADE_UP_STREET_END)
        )
    } else {
        r.pick(&p.streets).clone()
    };
    let num = 1 + r.below(180);
    let letter = if r.chance(0.15) {
        ["A", "B", "C"][r.below(3)]
    } else {
        ""
    };
    let (pc, town) = *r.pick(TOWNS);
    match r.below(6) {
        0 => format!("{street} {num}{letter}"),
        1 => format!(
            "{street} {num}{letter}, {}. {}",
            1 + r.below(5),
            ["tv.", "th.", "mf."][r.below(3)]
        ),
        2 => format!(
            "{street} {num}, st. {}, {pc} {town}",
            ["tv.", "th."][r.below(2)]
        ),
        3 => format!("{street} {num}, {}. sal, {pc} {town}", 1 + r.below(4)),
        _ => format!("{street} {num}{letter}, {pc} {town}"),
    }
}

fn person(r: &mut Rng, p: &Pools, avoid: &[String]) -> Person {
    loop {
        let female = r.chance(0.5);
        let first = if r.chance(0.08) && !p.first_rare.is_empty() {
            r.pick(&p.first_rare).clone()
        } else if female {
            r.pick(&p.first_female).clone()
        } else {
            r.pick(&p.first_male).clone()
        };
        let mut full = first.clone();
        if r.chance(0.2) {
            full.push(' ');
            let mid: &String = if female {
                r.pick(&p.first_female)
            } else {
                r.pick(&p.first_male)
            };
            full.push_str(mid);
        }
        full.push(' ');
        let sur = if r.chance(0.07) {
            made_up_name(r)
        } else {
            r.pick(&p.surnames).clone()
        };
        full.push_str(&sur);
        if r.chance(0.08) {
            full.push('-');
            let s2: &String = r.pick(&p.surnames);
            full.push_str(s2);
        }
        let lower = full.to_lowercase();
        if avoid.iter().any(|a| {
            lower
                .split([' ', '-'])
                .any(|w| a.split([' ', '-']).any(|x| x == w))
        }) {
            continue;
        }
        let made_up = r.chance(0.15);
        return Person {
            first,
            full,
            cpr: random_cpr(r),
            address: random_address(r, p, made_up),
        };
    }
}

fn genitive(n: &str) -> String {
    if n.ends_with('s') || n.ends_with('x') || n.ends_with('z') {
        format!("{n}'")
    } else {
        format!("{n}s")
    }
}

/// Generates `n` labelled documents (each its own request) from `seed`.
pub fn generate(p: &Pools, seed: u64, n: usize) -> Vec<Case> {
    let mut r = Rng::new(seed);
    (0..n).map(|i| generate_one(&mut r, p, i)).collect()
}

fn generate_one(r: &mut Rng, p: &Pools, i: usize) -> Case {
    let subj = person(r, p, &[]);
    let avoid = vec![subj.full.to_lowercase()];
    let others: Vec<Person> = (0..3).map(|_| person(r, p, &avoid)).collect();
    // an immigrant with a made-up name
    let imm_first = made_up_name(r);
    let imm_sur = made_up_name(r);
    let (wbase, wforms) = WORDS[r.below(WORDS.len())];
    let (wbase2, wforms2) = WORDS[r.below(WORDS.len())];
    let mut words = vec![wbase.to_string()];
    if wbase2 != wbase {
        words.push(wbase2.to_string());
    }
    let subj_sur = subj.full.rsplit(' ').next().unwrap_or("").to_string();
    let mut doc = String::new();
    let sentences = 8 + r.below(8);
    let mut intro = [false; 3];
    for _ in 0..sentences {
        let k = r.below(others.len());
        let o = &others[k];
        let w = if r.chance(0.5) {
            *r.pick(wforms)
        } else {
            *r.pick(wforms2)
        };
        // a first name alone only after the person was introduced in full
        let of = if intro[k] {
            format!("{{{{name|{}}}}}", o.first)
        } else {
            format!("{{{{name|{}}}}}", o.full)
        };
        let fullg = format!("{{{{name|{}}}}}", o.full);
        let s = match r.below(30) {
            0 => format!("{fullg}, cpr-nr. {{{{cpr|{}}}}}, er barnets far.", o.cpr),
            1 => format!("Mødet blev holdt med {fullg} og {{{{own|{}}}}}.", subj.full),
            2 => format!(
                "{{{{own|{}}}}} oplyste, at {of} ikke havde været hjemme siden mandag.",
                subj.first
            ),
            3 => format!(
                "Sagsbehandler {fullg} ringede til {{{{own|{}}}}} den 12. marts.",
                subj.first
            ),
            4 => format!("Moderen {fullg} bor på {{{{addr|{}}}}}.", o.address),
            5 => format!(
                "Familien er flyttet fra {{{{own|{}}}}} til {{{{addr|{}}}}}.",
                subj.address, o.address
            ),
            6 => format!(
                "Der er modtaget en {{{{word|{w}}}}} fra skolen vedrørende {{{{name|{}}}}} søn.",
                genitive(&o.full)
            ),
            7 => format!("Der er tale om {{{{word|{w}}}}}, jf. journalnotat af 3. maj."),
            8 => format!(
                "Kontakt os på {{{{not|tlf. {}}}}} og oplys {{{{not|sagsnr. {}}}}}.",
                phone(r),
                case_no(r)
            ),
            9 => format!(
                "Beløbet på {{{{not|{} kr.}}}} blev udbetalt til {{{{own|{}}}}}.",
                amount(r),
                subj.full
            ),
            10 => format!(
                "Hun henviste til {{{{own|{}}}}} skole og til {{{{word|{w}}}}}.",
                genitive(&subj.first)
            ),
            11 => format!("{{{{own|{subj_sur}}}}} har tidligere haft kontakt med kommunen."),
            12 => format!(
                "{{{{own|{}}}}} ({{{{own|{}}}}}) er part i sagen.",
                subj.full, subj.cpr
            ),
            13 => format!("Kontaktperson {{{{name|{imm_first} {imm_sur}}}}} deltog også i mødet."),
            14 => format!("Desuden deltog {{{{name|hr. {imm_sur}}}}} fra tolkeservice."),
            15 => format!("{{{{name|{} {imm_sur}}}}} er barnets onkel.", o.first),
            16 => format!("Rådhuset ligger på {INSTITUTION_ADDRESS}, hvor mødet fandt sted."),
            17 => format!("{of} er født {{{{cpr|{}}}}} og bor i Silkeborg.", o.cpr),
            18 => format!("Ifølge {of} har der ikke været {{{{word|{w}}}}} i hjemmet."),
            19 => format!(
                "{{{{own|{}}}}} bor fortsat på {{{{own|{}}}}}.",
                subj.full, subj.address
            ),
            20 => format!("Samtalen med {of} handlede om {{{{word|{w}}}}} og skolegang."),
            21 => format!("Personnummer: {{{{cpr|{}}}}}", o.cpr),
            22 => {
                format!("Det blev aftalt, at {of} kontakter Familieafdelingen i Silkeborg Kommune.")
            }
            23 => format!("Morgenmødet den {{{{not|{}}}}} blev aflyst.", date(r)),
            24 => format!(
                "{fullg} og {{{{own|{}}}}} mødtes på {{{{addr|{}}}}}.",
                subj.first, o.address
            ),
            25 => format!(
                "{of} fortalte, at {{{{own|{}}}}} havde det godt.",
                subj.first
            ),
            26 => format!(
                "Der henvises til {{{{not|j.nr. {}}}}} og til bilag 3.",
                case_no(r)
            ),
            27 => format!("Borgerens cpr-nr. er {{{{own|{}}}}}.", subj.cpr),
            28 => format!(
                "I weekenden var {fullg} hos {{{{name|{}}}}} søster.",
                genitive(&o.first)
            ),
            _ => format!(
                "Med venlig hilsen\n{fullg}\nTlf. {{{{phone|{}}}}}",
                phone(r)
            ),
        };
        // a first name alone only once the person was named in full
        intro[k] |= s.contains(&format!("|{}", o.full));
        doc.push_str(&s);
        doc.push(if r.chance(0.25) { '\n' } else { ' ' });
    }
    let (text, gold) =
        parse_markup(&doc).unwrap_or_else(|e| (format!("generator markup error: {e}"), Vec::new()));
    Case {
        id: format!("gen-{i}"),
        request: format!("gen-{i}"),
        text,
        gold,
        subject: Subject {
            cpr: subj.cpr.clone(),
            name: subj.full.clone(),
            address: subj.address.clone(),
        },
        subject_data: PartyData::default(),
        consented: Vec::new(),
        words,
        source: "generated".into(),
    }
}

/// Ordinary case-work prose without personal data: the bulk of a real
/// journal. Any mark inside it is a false positive.
pub const FILLER: &[&str] = &[
    "Forvaltningen har behandlet sagen efter servicelovens § 50, stk. 1.",
    "Der blev afholdt et opfølgende møde på skolen den 14. september kl. 10.00.",
    "Barnet trives generelt godt i institutionen og har fået flere venner.",
    "Det blev aftalt, at der skal følges op på sagen inden for tre måneder.",
    "Skolen oplyser, at fraværet er faldet til 4 % i indeværende skoleår.",
    "Familien ønsker fortsat hjælp til struktur i hverdagen og praktiske opgaver.",
    "Sagen forelægges for Børne- og Ungeudvalget på næste møde.",
    "Ifølge handleplanen skal der evalueres hvert halve år.",
    "Bemærk at afgørelsen kan påklages til Ankestyrelsen inden for fire uger.",
    "Vi har modtaget jeres henvendelse og vender tilbage hurtigst muligt.",
    "Mødet sluttede kl. 11.30, og referatet sendes til alle deltagere.",
    "Der er bevilget 8 timers praktisk pædagogisk støtte om ugen.",
    "Kommunen vurderer, at betingelserne for at iværksætte foranstaltningen er opfyldt.",
    "Den unge går i 8. klasse og deltager i undervisningen tre dage om ugen.",
    "Efter samtalen blev der udarbejdet en ny plan for samværet.",
    "Sundhedsplejersken har været på besøg i hjemmet to gange i oktober.",
    "Psykologen anbefaler en udredning i børne- og ungdomspsykiatrien.",
    "Der er ikke modtaget nye oplysninger siden sidste statusmøde.",
    "Afgørelsen træder i kraft den 1. januar og gælder i et år.",
    "Ydelsen udbetales den sidste hverdag i måneden.",
    "Se vedlagte bilag 2 og 3 for en nærmere beskrivelse af forløbet.",
    "Familieafdelingen har kontaktet PPR med henblik på en pædagogisk vurdering.",
    "I perioden fra marts til juni har der været tæt kontakt med skolen.",
    "Hjemmet fremstod ryddeligt, og der var mad i køleskabet.",
    "Han fortalte, at han glæder sig til at starte på efterskole efter sommerferien.",
    "Hun oplyste, at hun har svært ved at sove og ofte er træt om morgenen.",
    "Der er aftalt et nyt møde i uge 42 med deltagelse af skolen og familien.",
    "Kontakten til netværket er god, og der er støtte fra bedsteforældrene.",
    "Det vurderes, at der ikke er grundlag for at ændre den nuværende indsats.",
    "Sagsbehandleren orienterede om reglerne for aktindsigt og partshøring.",
    "Sagen er oprettet på baggrund af en henvendelse fra skolen.",
    "Den samlede udgift til foranstaltningen udgør 12.500 kr. om måneden.",
    "Vurderingen bygger på samtaler, observationer og skriftligt materiale.",
    "Partshøringen blev sendt med Digital Post den 3. februar.",
    "Der er givet samtykke til, at kommunen må indhente oplysninger fra lægen.",
    "Næste statusudtalelse forventes at foreligge i slutningen af november.",
    "Kl. 9.15 ringede skolen og oplyste, at eleven ikke var mødt.",
    "Efter en samlet vurdering træffes afgørelse om at fortsætte indsatsen.",
    "Alle parter var enige om, at forløbet har været positivt.",
    "Sagen afsluttes, da der ikke længere er behov for støtte.",
];

/// Generates `n` documents for throughput runs: the labelled generator's
/// sentences mixed with `filler_per_doc` sentences of ordinary prose, which
/// is closer to a real journal's density of personal data.
pub fn generate_mixed(p: &Pools, seed: u64, n: usize, filler_per_doc: usize) -> Vec<Case> {
    let mut r = Rng::new(seed ^ 0x5EED);
    generate(p, seed, n)
        .into_iter()
        .map(|mut c| {
            let mut extra = String::new();
            for _ in 0..filler_per_doc {
                let f: &str = FILLER[r.below(FILLER.len())];
                extra.push_str(f);
                extra.push(if r.chance(0.2) { '\n' } else { ' ' });
            }
            // prose first, so the gold offsets shift by its length
            let shift = extra.len();
            extra.push_str(&c.text);
            c.text = extra;
            for g in &mut c.gold {
                g.start += shift;
                g.end += shift;
            }
            c
        })
        .collect()
}

fn phone(r: &mut Rng) -> String {
    let d: String = (0..8)
        .map(|i| char::from(b'0' + if i == 0 { 2 + r.below(8) } else { r.below(10) } as u8))
        .collect();
    if r.chance(0.5) {
        format!("{} {} {} {}", &d[0..2], &d[2..4], &d[4..6], &d[6..8])
    } else {
        d
    }
}

fn case_no(r: &mut Rng) -> String {
    match r.below(3) {
        0 => format!("27.12.08-A00-{}-{}", r.below(9), 10 + r.below(14)),
        1 => format!("2023-{:06}", r.below(999_999)),
        _ => format!(
            "{:02}.{:02}.{:02}-{:04}",
            10 + r.below(20),
            10 + r.below(3),
            10 + r.below(80),
            r.below(10_000)
        ),
    }
}

fn amount(r: &mut Rng) -> String {
    format!("{}.{:03}", 1 + r.below(90), r.below(1000))
}

fn date(r: &mut Rng) -> String {
    format!(
        "{:02}.{:02}.{}",
        1 + r.below(28),
        1 + r.below(12),
        2015 + r.below(9)
    )
}
