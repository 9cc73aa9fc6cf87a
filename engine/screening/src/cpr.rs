//! CPR numbers: a hand-written scanner over digit groups, every separator of
//! SPEC §4, date validation with the century from the 7th digit, modulus 11
//! and context words as confidence, and the look-alikes (phone, case and
//! journal numbers, amounts) held apart.

use crate::token::{Tok, TokKind};
use marc_model::Cpr;

/// A CPR-shaped number found in a text.
#[derive(Clone, Debug, PartialEq)]
pub struct CprHit {
    pub start: usize,
    pub end: usize,
    pub digits: [u8; 10],
    pub confidence: f32,
    pub reason: String,
}

/// Separators allowed between digit groups: hyphen, en/em dash,
/// non-breaking hyphen, minus, slash, dot, and all kinds of space.
fn sep_char(c: char) -> Option<bool> {
    // Some(true) = a visible separator, Some(false) = a space
    match c {
        '-' | '\u{2013}' | '\u{2014}' | '\u{2011}' | '\u{2010}' | '\u{2212}' | '/' | '.' => {
            Some(true)
        }
        // a line break inside the number: OCR'd and wrapped text
        ' ' | '\u{A0}' | '\u{202F}' | '\u{2009}' | '\u{2007}' | '\n' | '\r' => Some(false),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug)]
struct Group {
    start: usize,
    end: usize,
    /// The separator text before this group (for groups after the first).
    sep_start: usize,
    /// The visible separator char before this group, if any.
    sep: Option<char>,
    /// A line break before this group.
    newline: bool,
}

/// Reads a separator (at most 3 chars: spaces around at most one visible
/// separator) at `i`, followed by a digit. Returns (digit position, visible
/// sep, line break).
fn read_sep(s: &str, i: usize) -> Option<(usize, Option<char>, bool)> {
    let mut j = i;
    let mut visible: Option<char> = None;
    let mut count = 0;
    let mut newline = false;
    for c in s[i..].chars() {
        if c.is_ascii_digit() {
            break;
        }
        newline |= c == '\n';
        if sep_char(c)? {
            if visible.is_some() {
                return None;
            }
            visible = Some(c);
        }
        count += 1;
        if count > 3 {
            return None;
        }
        j += c.len_utf8();
    }
    if count == 0 || j >= s.len() || !s.as_bytes()[j].is_ascii_digit() {
        return None;
    }
    Some((j, visible, newline))
}

fn digit_run(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    j
}

/// Words before a number that make it a CPR number.
const POSITIVE: &[&str] = &[
    "cpr",
    "personnummer",
    "personnr",
    "person nr",
    "cpr-nr",
    "cprnr",
    "født",
    "fødselsdato",
    "cpr.nr",
    "personnumre",
    "cpr-numre",
    "cpr numre",
    "cpr-nummer",
];

/// Words right before a number that make it something else.
const NEGATIVE: &[&str] = &[
    "tlf",
    "telefon",
    "telefonnr",
    "telefonnummer",
    "mobil",
    "mobilnr",
    "mobilnummer",
    "fax",
    "sagsnr",
    "sags nr",
    "sagsnummer",
    "sag nr",
    "j.nr",
    "j nr",
    "jnr",
    "journalnr",
    "journalnummer",
    "journal nr",
    "konto",
    "kontonr",
    "kontonummer",
    "reg.nr",
    "regnr",
    "faktura",
    "fakturanr",
    "fakturanummer",
    "ordrenr",
    "ordre",
    "cvr",
    "cvr-nr",
    "cvr.nr",
    "p-nr",
    "p-nummer",
    "pnr",
    "p.nr",
    "lønnr",
    "lønnummer",
    "medarbejdernr",
    "kundenr",
    "kundenummer",
    "ean-nummer",
    "varenr",
    "serienr",
    "se-nr",
    "ean",
    "ean-nr",
    "kr",
    "dkk",
    "beløb",
    "ref",
    "ref.nr",
    "referencenr",
    "referencenummer",
    "dok.nr",
    "dokumentnr",
    "bilagsnr",
    "id-nr",
    "løbenr",
    "kvitteringsnr",
    "betalingsid",
    "+45",
    "+",
    "postboks",
    "tel",
    "phone",
    "sms",
];

/// Context before a number, lower-cased, without trailing spaces and ":#.-".
fn context_before(s: &str, start: usize, max: usize) -> String {
    let mut from = start.saturating_sub(max);
    while from > 0 && !s.is_char_boundary(from) {
        from -= 1;
    }
    // (trimmed before lower-casing, so one string is made: no letter
    // lower-cases to whitespace or one of these marks, they lower-case to
    // themselves, and none is a cased letter for a final sigma)
    s[from..start]
        .trim_end_matches(|c: char| {
            c.is_whitespace() || matches!(c, ':' | '#' | '.' | '-' | '(' | ',')
        })
        .to_lowercase()
}

fn ends_with_word(ctx: &str, w: &str) -> bool {
    if !ctx.ends_with(w) {
        return false;
    }
    let before = &ctx[..ctx.len() - w.len()];
    match before.chars().last() {
        None => true,
        Some(c) => !c.is_alphanumeric() || w.starts_with('+'),
    }
}

fn amount_after(s: &str, end: usize) -> bool {
    let rest = &s[end..];
    let rest = rest.trim_start_matches([' ', '\u{A0}']);
    let l: String = rest.chars().take(4).collect::<String>().to_lowercase();
    l.starts_with("kr")
        || l.starts_with(",-")
        || l.starts_with(",00")
        || l.starts_with("dkk")
        || l.starts_with("€")
}

/// Finds every CPR-shaped number in `s` that the rules do not rule out:
/// written with digits (also over a line break), with letters an OCR engine
/// confuses with digits ("O1O19O-l234"), or in words (`scan_words`).
pub fn scan(s: &str) -> Vec<CprHit> {
    let mut hits = Vec::new();
    scan_view(s, s, 0, false, &mut hits);
    scan_ocr(s, &mut hits);
    hits.sort_by_key(|h| h.start);
    hits
}

/// Scans `view` (the text at `orig[base..]`, possibly with OCR look-alike
/// letters replaced by digits byte for byte) for CPR numbers; context words
/// come from `orig`. With `ocr`, only hits covering a replaced letter count.
fn scan_view(orig: &str, view: &str, base: usize, ocr: bool, hits: &mut Vec<CprHit>) {
    let s = view;
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        // (eight bytes at a time to the next digit: most text has few)
        i = crate::bytes::next_digit(b, i);
        if i >= b.len() {
            break;
        }
        // a digit run starts here; collect up to 4 groups
        let e = digit_run(b, i);
        let mut buf = [Group {
            start: i,
            end: e,
            sep_start: i,
            sep: None,
            newline: false,
        }; 4];
        let mut count = 1;
        let mut j = e;
        while count < 4 {
            match read_sep(s, j) {
                Some((d, sep, newline)) => {
                    let e2 = digit_run(b, d);
                    buf[count] = Group {
                        start: d,
                        end: e2,
                        sep_start: j,
                        sep,
                        newline,
                    };
                    count += 1;
                    j = e2;
                }
                None => break,
            }
        }
        let groups = &buf[..count];
        let mut lens_buf = [0usize; 4];
        for (l, g) in lens_buf.iter_mut().zip(groups) {
            *l = g.end - g.start;
        }
        let lens = &lens_buf[..count];
        let used = if lens[0] == 10 {
            Some(1)
        } else if lens.len() >= 2 && lens[0] == 6 && lens[1] == 4 {
            Some(2)
        } else if lens.len() >= 4
            && lens[..4] == [2, 2, 2, 4]
            && groups[1].sep == groups[2].sep
            && (groups[1].sep.is_some()
                || POSITIVE
                    .iter()
                    .any(|w| context_before(orig, base + i, 48).contains(w)))
        {
            // "01.01.90-1234"; "01 01 90 1234" only after a CPR context word
            Some(4)
        } else {
            None
        };
        let Some(used) = used else {
            // skip this run only; a later group may start a CPR ("nr. 12 010190-1234")
            i = e;
            continue;
        };
        let start = groups[0].start;
        let end = groups[used - 1].end;
        let mut digits = [0u8; 10];
        let mut k = 0;
        for g in &groups[..used] {
            for &c in &b[g.start..g.end] {
                digits[k] = c - b'0';
                k += 1;
            }
        }
        // part of a longer code? ("2023-010190-1234", "010190-1234-02", "1.234.567.890")
        let glued_after =
            groups.len() > used && groups[used].sep.is_some() && groups[used].sep_start == end;
        let glued_before = start >= 2 && {
            let p = b[start - 1];
            (p == b'-' || p == b'/' || p == b'.') && b[start - 2].is_ascii_digit()
        };
        let ctx = context_before(orig, base + start, 48);
        let positive = POSITIVE.iter().any(|w| ctx.contains(w));
        let near = context_before(orig, base + start, 24);
        let negative = NEGATIVE.iter().any(|w| ends_with_word(&near, w))
            || amount_after(s, end)
            || (start > 0 && b[start - 1] == b'+');
        let replaced = ocr && orig.as_bytes()[base + start..base + end] != b[start..end];
        let wrapped = groups[1..used].iter().any(|g| g.newline);
        if ocr && !replaced {
            i = end;
            continue;
        }
        let sep = if used == 1 {
            None
        } else {
            groups[used - 1].sep
        };
        let next_i = end;
        // an impossible date is not a CPR number, whatever the context
        // (issue 3: "ten digits with an impossible date ... are not marked")
        if let Ok(cpr) = Cpr::from_digits(digits) {
            let mod11 = cpr.mod11_ok();
            let mut conf: f32 = match (used, sep) {
                (1, _) => 0.55,
                (_, Some('-')) | (_, Some('\u{2013}')) => 0.7,
                _ => 0.6,
            };
            let mut why = vec!["CPR-shaped number with a valid date"];
            if replaced {
                conf -= 0.1;
                why.push("letters read as digits (OCR)");
            }
            if wrapped && sep.is_none() {
                conf -= 0.1;
                why.push("over a line break");
            }
            if mod11 {
                conf += 0.25;
                why.push("modulus 11");
            } else if is_non_mod11_date(&cpr) {
                conf += 0.1;
                why.push("a 1 January date where numbers without modulus 11 are issued");
            }
            if positive {
                conf += 0.25;
                why.push("context word");
            }
            if negative && !positive {
                if !mod11 {
                    i = next_i;
                    continue; // a phone, case number or amount
                }
                conf = 0.35;
                why.push("but looks like a phone, case number or amount: review");
            }
            if glued_after || glued_before {
                conf = conf.min(0.4);
                why.push("but part of a longer code: review");
            }
            hits.push(CprHit {
                start: base + start,
                end: base + end,
                digits,
                confidence: conf.min(0.99),
                reason: why.join(", "),
            });
        }
        i = next_i;
    }
}

/// Whether an OCR engine may have read this digit as this letter.
fn confusable(c: u8) -> bool {
    c < 0x80 && marc_model::ocr_digit(c as char).is_some()
}

/// CPR numbers with OCR look-alike letters inside digit groups: each run of
/// digits and look-alikes (with at least as many digits as letters) is read
/// as digits, then scanned like any other number.
fn scan_ocr(s: &str, hits: &mut Vec<CprHit>) {
    let b = s.as_bytes();
    // chunks of ASCII letters, digits, '|' and '!' that mix digits and
    // look-alikes; found from their digits (most text has few), each chunk
    // read once
    let is_part = |c: u8| c.is_ascii_alphanumeric() || c == b'|' || c == b'!';
    let mut chunks: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    loop {
        i = crate::bytes::next_digit(b, i);
        if i >= b.len() {
            break;
        }
        let mut st = i;
        while st > 0 && is_part(b[st - 1]) {
            st -= 1;
        }
        let mut e = i;
        while e < b.len() && is_part(b[e]) {
            e += 1;
        }
        let (mut digits, mut looks, mut other) = (0, 0, 0);
        for &c in &b[st..e] {
            if c.is_ascii_digit() {
                digits += 1;
            } else if confusable(c) {
                looks += 1;
            } else {
                other += 1;
            }
        }
        // a letter glued to the chunk (non-ASCII) makes it a word
        let glued = e < b.len() && b[e] >= 0x80 || st > 0 && b[st - 1] >= 0x80;
        if other == 0 && looks > 0 && digits >= looks && !glued {
            chunks.push((st, e));
        }
        i = e;
    }
    let mut found = Vec::new();
    let mut k = 0;
    while k < chunks.len() {
        // a window around this chunk and the ones near it
        let mut from = chunks[k].0.saturating_sub(16);
        while !s.is_char_boundary(from) {
            from -= 1;
        }
        let mut last = k;
        while last + 1 < chunks.len() && chunks[last + 1].0 < chunks[last].1 + 16 {
            last += 1;
        }
        let mut to = (chunks[last].1 + 16).min(b.len());
        while !s.is_char_boundary(to) {
            to += 1;
        }
        let mut view = s.as_bytes()[from..to].to_vec();
        for &(cs, ce) in &chunks[k..=last] {
            for p in cs..ce {
                if let Some(d) = marc_model::ocr_digit(b[p] as char) {
                    view[p - from] = b'0' + d;
                }
            }
        }
        // only ASCII bytes were replaced by ASCII bytes: still UTF-8
        if let Ok(v) = std::str::from_utf8(&view) {
            scan_view(s, v, from, true, &mut found);
        }
        k = last + 1;
    }
    // a hit the plain scan found too is not a second hit
    let plain: rustc_hash::FxHashSet<(usize, usize)> =
        hits.iter().map(|h| (h.start, h.end)).collect();
    found.retain(|h| !plain.contains(&(h.start, h.end)));
    found.sort_by_key(|h| (h.start, h.end));
    found.dedup_by_key(|h| (h.start, h.end));
    hits.extend(found);
}

/// CPR numbers written in words ("nul en nul en halvfems, tolv
/// fireogtredive"): a run of Danish number words and digit groups, separated
/// by spaces, commas or dashes, that spells exactly ten digits with a valid
/// date. Leading words that make the run too long ("en") are dropped.
pub fn scan_words(s: &str, toks: &[Tok]) -> Vec<CprHit> {
    let mut hits = Vec::new();
    // the run so far: (token start, token end, digits it spells), the
    // digits on the stack (this runs at every word)
    let mut run: Vec<(usize, usize, Digits)> = Vec::new();
    let mut words_in_run = 0;
    for t in toks {
        match t.kind {
            TokKind::Word => {
                // (the cheap tests on the bytes, before the word is sliced)
                if !may_be_number_word(&s.as_bytes()[t.start..t.end]) {
                    // (not a number word: ends the run below)
                } else if let Some(d) = word_digits(t.text(s)) {
                    run.push((t.start, t.end, d));
                    // "nul-ni-nul-to-fem-otte" is six number words
                    words_in_run += t.text(s).split('-').count();
                    continue;
                }
            }
            TokKind::Number if t.end - t.start <= 4 && !run.is_empty() => {
                let mut d = Digits::default();
                for c in t.text(s).bytes() {
                    d.push(c - b'0');
                }
                run.push((t.start, t.end, d));
                continue;
            }
            TokKind::Punct(',' | '-' | '\u{2013}' | '/') if !run.is_empty() => continue,
            _ => {}
        }
        if !run.is_empty() {
            flush_words(s, &run, words_in_run, &mut hits);
            run.clear();
            words_in_run = 0;
        }
    }
    flush_words(s, &run, words_in_run, &mut hits);
    hits
}

/// Up to 16 digits, on the stack.
#[derive(Clone, Copy, Default)]
struct Digits {
    d: [u8; 16],
    n: u8,
}

impl Digits {
    fn push(&mut self, x: u8) -> bool {
        if (self.n as usize) < self.d.len() {
            self.d[self.n as usize] = x;
            self.n += 1;
            true
        } else {
            false
        }
    }
    fn as_slice(&self) -> &[u8] {
        &self.d[..self.n as usize]
    }
}

/// For each first letter (ASCII lower case), the second letters (bit
/// `letter - 0x60`) with which a Danish number word starts: nu ni, en et ee
/// el, to tr ti ty, fi fe fj fy, se sy, ot, at, ha.
static NUMBER_WORD_STARTS: [u32; 256] = {
    const fn bits(letters: &[u8]) -> u32 {
        let mut m = 0;
        let mut i = 0;
        while i < letters.len() {
            m |= 1 << (letters[i] - 0x60);
            i += 1;
        }
        m
    }
    let mut t = [0u32; 256];
    t[b'n' as usize] = bits(b"ui");
    t[b'e' as usize] = bits(b"ntel");
    t[b't' as usize] = bits(b"oriy");
    t[b'f' as usize] = bits(b"iejy");
    t[b's' as usize] = bits(b"ey");
    t[b'o' as usize] = bits(b"t");
    t[b'a' as usize] = bits(b"t");
    t[b'h' as usize] = bits(b"a");
    t
};

/// The words `marc_model::number_word` reads, in lower case (of the
/// compounds "fireogtredive" only the part before "og" with it: their first
/// three letters are what [`NUMBER_WORD_THIRD`] needs; "én" and "ét" are let
/// through by their first byte).
const NUMBER_WORDS: &[&str] = &[
    "nul",
    "en",
    "to",
    "tre",
    "fire",
    "fem",
    "seks",
    "syv",
    "otte",
    "ni",
    "ti",
    "elleve",
    "tolv",
    "tretten",
    "fjorten",
    "femten",
    "seksten",
    "sytten",
    "atten",
    "nitten",
    "tyve",
    "tredive",
    "fyrre",
    "halvtreds",
    "tres",
    "halvfjerds",
    "firs",
    "halvfems",
    "et",
    "een",
    "fyrretyve",
    "halvtredsindstyve",
    "tresindstyve",
    "halvfjerdsindstyve",
    "firsindstyve",
    "halvfemsindstyve",
    "tredve",
    "enog",
    "etog",
    "toog",
    "treog",
    "fireog",
    "femog",
    "seksog",
    "syvog",
    "otteog",
    "niog",
];

/// For each first two letters of a number word (`a`..`z` twice), its
/// possible third letters (bit `letter - 'a'`; bit 26: the word ends
/// there): "han", "har", "til", "at" and "selv" stop here, before the
/// lower-casing and list lookups of `number_word`.
static NUMBER_WORD_THIRD: [u32; 26 * 26] = {
    let mut t = [0u32; 26 * 26];
    let mut i = 0;
    while i < NUMBER_WORDS.len() {
        let w = NUMBER_WORDS[i].as_bytes();
        let bit = if w.len() == 2 { 26 } else { w[2] - b'a' };
        t[(w[0] - b'a') as usize * 26 + (w[1] - b'a') as usize] |= 1 << bit;
        i += 1;
    }
    t
};

/// The digits a word spells ("nul", "fireogtredive", "nul-et-nul"), if it
/// is made of Danish number words.
fn word_digits(w: &str) -> Option<Digits> {
    if !may_be_number_word(w.as_bytes()) {
        return None;
    }
    let mut d = Digits::default();
    for part in w.split('-') {
        let x = marc_model::number_word(part)?;
        if x >= 10 && !d.push(x / 10) || !d.push(x % 10) {
            return None;
        }
    }
    Some(d)
}

/// The cheap tests of [`word_digits`] on a word's bytes: its length and its
/// first three letters (`false`: no number word).
#[inline]
fn may_be_number_word(b: &[u8]) -> bool {
    // cheap test first: the first two letters of every number word
    if b.len() < 2 || b.len() > 40 {
        return false;
    }
    // (a table of the second letters allowed after each first letter, both
    // ASCII-lower-cased: one lookup instead of a chain of comparisons)
    let (x, y) = (b[0] | 0x20, b[1] | 0x20);
    let starts = (0x60..0x80).contains(&y) && NUMBER_WORD_STARTS[x as usize] >> (y - 0x60) & 1 != 0
        || b[0] == 0xc3 && (b[1] == 0xa9 || b[1] == 0x89);
    if !starts {
        return false;
    }
    // then the third letter, for words opening with two ASCII letters
    // (`x` and `y` are lower-case letters when the table let them through)
    if b[0] != 0xc3 {
        let third = match b.get(2) {
            None | Some(b'-') => 26,
            Some(&z) if z >= 0x80 => 27, // (not decided here)
            Some(&z) if (z | 0x20).is_ascii_lowercase() => (z | 0x20) - b'a',
            Some(_) => return false,
        };
        if third < 27
            && NUMBER_WORD_THIRD[(x - b'a') as usize * 26 + (y - b'a') as usize] >> third & 1 == 0
        {
            return false;
        }
    }
    true
}

/// Records a CPR number spelled by a run of number words: at least three
/// words, leading ones dropped until exactly ten digits remain, a valid date.
fn flush_words(s: &str, run: &[(usize, usize, Digits)], words: usize, hits: &mut Vec<CprHit>) {
    if words < 3 {
        return;
    }
    let mut first = 0;
    let mut total: usize = run.iter().map(|r| r.2.n as usize).sum();
    while total > 10 && first < run.len() {
        total -= run[first].2.n as usize;
        first += 1;
    }
    if total != 10 || first >= run.len() {
        return;
    }
    let mut d = [0u8; 10];
    for (slot, x) in d
        .iter_mut()
        .zip(run[first..].iter().flat_map(|r| r.2.as_slice().iter()))
    {
        *slot = *x;
    }
    let Ok(cpr) = Cpr::from_digits(d) else {
        return;
    };
    let start = run[first].0;
    let end = run[run.len() - 1].1;
    let positive = POSITIVE
        .iter()
        .any(|w| context_before(s, start, 48).contains(w));
    let mut conf: f32 = 0.7;
    let mut why = vec!["a CPR number written in words, with a valid date"];
    if cpr.mod11_ok() {
        conf += 0.15;
        why.push("modulus 11");
    }
    if positive {
        conf += 0.2;
        why.push("context word");
    }
    hits.push(CprHit {
        start,
        end,
        digits: d,
        confidence: conf.min(0.99),
        reason: why.join(", "),
    });
}

/// Numbers written exactly like a CPR number (`DDMMYY-SSSS`) whose date is
/// impossible: not a CPR number on their own, but in OCR'd text a misread
/// digit ("116768-2940") turns a real one into this. The caller keeps the
/// ones beside a person's name or a CPR word, for review.
pub fn scan_bad_dates(s: &str) -> Vec<(usize, usize, bool)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        i = crate::bytes::next_digit(b, i);
        if i + 11 > b.len() {
            break;
        }
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'-') {
            i += 1;
            continue;
        }
        let e = digit_run(b, i);
        if e - i == 6 && b.get(e) == Some(&b'-') && digit_run(b, e + 1) == e + 5 {
            let end = e + 5;
            let glued = b
                .get(end)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-');
            let mut d = [0u8; 10];
            for (k, &c) in b[i..e].iter().chain(&b[e + 1..end]).enumerate() {
                d[k] = c - b'0';
            }
            if !glued && Cpr::from_digits(d).is_err() {
                let positive = POSITIVE
                    .iter()
                    .any(|w| context_before(s, i, 48).contains(w));
                out.push((i, end, positive));
            }
            i = end;
            continue;
        }
        i = e.max(i + 1);
    }
    out
}

/// Dates on which numbers without modulus 11 have been issued (1 January of
/// these years), per the CPR office.
fn is_non_mod11_date(c: &Cpr) -> bool {
    const YEARS: &[i32] = &[
        1960, 1962, 1964, 1965, 1966, 1967, 1969, 1970, 1974, 1975, 1978, 1980, 1981, 1982, 1983,
        1984, 1985, 1986, 1987, 1988, 1989, 1990, 1991, 1992, 1994, 1995,
    ];
    let d = c.digits();
    d[0] == 0 && d[1] == 1 && d[2] == 0 && d[3] == 1 && YEARS.contains(&Cpr::century_year(&d))
}

/// The ten digits of a CPR written any way, if it has ten digits.
pub fn digits_of(s: &str) -> Option<[u8; 10]> {
    let v: Vec<u8> = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|c| c - b'0')
        .collect();
    if v.len() != 10 {
        return None;
    }
    let mut d = [0u8; 10];
    d.copy_from_slice(&v);
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `word_digits` before the third-letter table (the reference).
    fn word_digits_reference(w: &str) -> Option<Digits> {
        let b = w.as_bytes();
        if b.len() < 2 || b.len() > 40 {
            return None;
        }
        let (x, y) = (b[0] | 0x20, b[1] | 0x20);
        let starts = (0x60..0x80).contains(&y)
            && NUMBER_WORD_STARTS[x as usize] >> (y - 0x60) & 1 != 0
            || b[0] == 0xc3 && (b[1] == 0xa9 || b[1] == 0x89);
        if !starts {
            return None;
        }
        let mut d = Digits::default();
        for part in w.split('-') {
            let x = marc_model::number_word(part)?;
            if x >= 10 && !d.push(x / 10) || !d.push(x % 10) {
                return None;
            }
        }
        Some(d)
    }

    #[test]
    fn number_word_third_letters_lose_no_number_word() {
        let ones = [
            "en", "et", "to", "tre", "fire", "fem", "seks", "syv", "otte", "ni",
        ];
        let tens = [
            "tyve",
            "tredive",
            "fyrre",
            "halvtreds",
            "tres",
            "halvfjerds",
            "firs",
            "halvfems",
        ];
        let mut words: Vec<String> = NUMBER_WORDS.iter().map(|w| w.to_string()).collect();
        for o in ones {
            for t in tens {
                words.push(format!("{o}og{t}"));
            }
        }
        words.extend(
            ["én", "ét", "Én", "ÉT", "nul-et-nul", "to-tre", "en-", "ti-"].map(String::from),
        );
        let mut all = Vec::new();
        for w in &words {
            all.push(w.clone());
            all.push(w.to_uppercase());
            let mut c = w.chars();
            if let Some(f) = c.next() {
                all.push(f.to_uppercase().chain(c).collect());
            }
        }
        // and words made of their letters
        let letters: Vec<char> = "aeilnorstvyfhkdgjæøé-'\u{212A}".chars().collect();
        let mut r = crate::corpus::Rng::new(7);
        for _ in 0..20_000 {
            let n = 2 + r.below(10);
            all.push((0..n).map(|_| letters[r.below(letters.len())]).collect());
        }
        let mut numbers = 0;
        for w in &all {
            let (a, b) = (word_digits(w), word_digits_reference(w));
            assert_eq!(
                a.map(|d| d.as_slice().to_vec()),
                b.map(|d| d.as_slice().to_vec()),
                "{w}"
            );
            numbers += a.is_some() as usize;
        }
        assert!(numbers > 300, "{numbers}");
    }

    fn found(s: &str) -> Vec<&str> {
        scan(s)
            .into_iter()
            .map(|h| &s[h.start..h.end])
            .collect::<Vec<_>>()
    }

    #[test]
    fn every_separator() {
        for sep in ["-", "\u{2013}", " ", "\u{A0}", "/", ".", ""] {
            let s = format!("CPR {}{}{} bla", "070761", sep, "4285");
            assert_eq!(found(&s).len(), 1, "{s:?}");
        }
        assert_eq!(found("født 07.07.61-4285"), vec!["07.07.61-4285"]);
    }

    #[test]
    fn ocr_and_line_breaks() {
        assert_eq!(found("cpr O1O19O-l234 ok"), vec!["O1O19O-l234"]);
        assert_eq!(found("CPR: 0l0190-I234"), vec!["0l0190-I234"]);
        assert_eq!(found("født 010190-\n1234"), vec!["010190-\n1234"]);
        assert_eq!(found("cpr 010190\n1234"), vec!["010190\n1234"]);
        assert!(found("Ole 010l90 og SOS").is_empty());
        assert!(found("Sol 12345 IO").is_empty());
        let h = scan("O1O19O-l234");
        assert!(h[0].reason.contains("OCR"), "{h:?}");
    }

    #[test]
    fn in_words() {
        let words = |s: &str| {
            let mut t = Vec::new();
            crate::token::tokenize(s, &mut t);
            scan_words(s, &t)
                .into_iter()
                .map(|h| s[h.start..h.end].to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            words("Hans cpr er nul en nul en halvfems, tolv fireogtredive."),
            vec!["nul en nul en halvfems, tolv fireogtredive"]
        );
        assert_eq!(
            words("født en nul et nul et ni nul - et to tre fire"),
            vec!["nul et nul et ni nul - et to tre fire"]
        );
        assert!(words("en to tre fire fem seks syv otte").is_empty());
        assert!(
            words("tre en tre en ni nul en to tre fire").is_empty(),
            "31 March 90 is fine but 31.31 is not"
        );
    }

    #[test]
    fn look_alikes() {
        assert!(found("310299-1234").is_empty(), "impossible date");
        assert!(found("tlf. 12 34 56 78").is_empty());
        assert!(found("12345678901").is_empty(), "eleven digits");
        assert!(
            found("Sagsnr. 0707614286").is_empty(),
            "case number without mod 11"
        );
        assert!(found("beløb 0707614286 kr.").is_empty());
        let h = scan("Tlf. 0707614285");
        assert!(
            h.len() == 1 && h[0].confidence < 0.5,
            "doubt is reviewed, not dropped"
        );
    }
}
