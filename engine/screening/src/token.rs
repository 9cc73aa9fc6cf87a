//! A single-pass tokenizer: words, numbers and punctuation with the facts the
//! rules need (capitalised? first word of a sentence? line break before?).
//!
//! One pass over the bytes, no regex and no allocation per token, because
//! it runs over every byte of every document.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokKind {
    /// Letters, with inner hyphens or apostrophes ("Anne-Marie", "O'Brien").
    Word,
    /// ASCII digits.
    Number,
    /// Any other non-space character.
    Punct(char),
}

/// One token with byte offsets into the text.
#[derive(Clone, Copy, Debug)]
pub struct Tok {
    pub start: usize,
    pub end: usize,
    pub kind: TokKind,
    /// First character is upper case.
    pub cap: bool,
    /// Every letter is upper case (and there are at least two).
    pub all_caps: bool,
    /// Whitespace separates this token from the previous one.
    pub space_before: bool,
    /// A line break separates this token from the previous one.
    pub newline_before: bool,
    /// The word opens a sentence, a line, or a quotation: its capital says
    /// nothing about it being a name.
    pub sent_start: bool,
}

impl Tok {
    pub fn text<'a>(&self, s: &'a str) -> &'a str {
        &s[self.start..self.end]
    }
    #[inline]
    pub fn is_word(&self) -> bool {
        matches!(self.kind, TokKind::Word)
    }
    #[inline]
    pub fn is_punct(&self, c: char) -> bool {
        matches!(self.kind, TokKind::Punct(x) if x == c)
    }
}

/// Abbreviations after which a full stop does not end a sentence.
#[cfg(test)]
const ABBREV: &[&str] = &[
    "hr", "fru", "frk", "dr", "nr", "ca", "jf", "mht", "bl", "a", "f", "eks", "kl", "st", "tv",
    "th", "mf", "pga", "evt", "inkl", "ekskl", "vedr", "tlf", "att", "div", "osv", "mv", "ang",
    "iht", "mr", "mrs", "ms", "fam", "stk", "pkt", "nb", "tel", "sal", "bd", "vol", "ref", "cand",
    "mag", "jur", "psych", "scient", "med", "lic", "ph", "d", "sr", "jr", "sct", "skt", "ll",
    "mfl", "o", "lign", "dvs",
];

fn is_abbrev(w: &str) -> bool {
    // (one character: initials "H." and list letters "a.")
    if w.len() == 1 || (w.len() <= 4 && w.chars().count() == 1) {
        return true;
    }
    // (every abbreviation is short ASCII: lower-case it on the stack)
    if w.len() > 6 || !w.is_ascii() {
        return false;
    }
    let mut buf = [0u8; 6];
    buf[..w.len()].copy_from_slice(w.as_bytes());
    buf.make_ascii_lowercase();
    // (the list `ABBREV`, as one match: the test checks they agree)
    matches!(
        &buf[..w.len()],
        b"hr"
            | b"fru"
            | b"frk"
            | b"dr"
            | b"nr"
            | b"ca"
            | b"jf"
            | b"mht"
            | b"bl"
            | b"a"
            | b"f"
            | b"eks"
            | b"kl"
            | b"st"
            | b"tv"
            | b"th"
            | b"mf"
            | b"pga"
            | b"evt"
            | b"inkl"
            | b"ekskl"
            | b"vedr"
            | b"tlf"
            | b"att"
            | b"div"
            | b"osv"
            | b"mv"
            | b"ang"
            | b"iht"
            | b"mr"
            | b"mrs"
            | b"ms"
            | b"fam"
            | b"stk"
            | b"pkt"
            | b"nb"
            | b"tel"
            | b"sal"
            | b"bd"
            | b"vol"
            | b"ref"
            | b"cand"
            | b"mag"
            | b"jur"
            | b"psych"
            | b"scient"
            | b"med"
            | b"lic"
            | b"ph"
            | b"d"
            | b"sr"
            | b"jr"
            | b"sct"
            | b"skt"
            | b"ll"
            | b"mfl"
            | b"o"
            | b"lign"
            | b"dvs"
    )
}

/// Byte classes of the tokenizer: ASCII is classified by one table
/// lookup, only bytes from 0x80 on are decoded.
const C_SPACE: u8 = 0;
const C_NEWLINE: u8 = 1;
const C_DIGIT: u8 = 2;
const C_LOWER: u8 = 3;
const C_UPPER: u8 = 4;
const C_PUNCT: u8 = 5;
const C_HIGH: u8 = 6;

static CLASS: [u8; 256] = {
    let mut t = [C_HIGH; 256];
    let mut c = 0;
    while c < 0x80 {
        t[c] = match c as u8 {
            // (VT and FF are whitespace too: a space, not a line break)
            b' ' | b'\t' | b'\r' | 0x0B | 0x0C => C_SPACE,
            b'\n' => C_NEWLINE,
            b'0'..=b'9' => C_DIGIT,
            b'a'..=b'z' => C_LOWER,
            b'A'..=b'Z' => C_UPPER,
            _ => C_PUNCT,
        };
        c += 1;
    }
    t
};

/// Splits `s` into tokens.
pub fn tokenize(s: &str, out: &mut Vec<Tok>) {
    out.clear();
    out.reserve(s.len() / 5);
    let b = s.as_bytes();
    let n = b.len();
    let mut i = 0;
    let mut space = true;
    let mut newline = true;
    while i < n {
        let c0 = b[i];
        let start = i;
        let kind;
        let mut cap = false;
        let mut all_caps = false;
        match CLASS[c0 as usize] {
            C_SPACE => {
                space = true;
                i += 1;
                continue;
            }
            C_NEWLINE => {
                space = true;
                newline = true;
                i += 1;
                continue;
            }
            C_DIGIT => {
                i += 1;
                while i < n && b[i].is_ascii_digit() {
                    i += 1;
                }
                kind = TokKind::Number;
            }
            C_PUNCT => {
                i += 1;
                kind = TokKind::Punct(c0 as char);
            }
            class => {
                let letter = if class == C_HIGH {
                    letter_at(s, i)
                } else {
                    Some((class == C_UPPER, 1))
                };
                if let Some((upper, _)) = letter {
                    cap = upper
                        // "d'Udekem", "l'Estrange": a particle before a capital
                        || (matches!(c0, b'd' | b'l')
                            && matches!(b.get(i + 1), Some(b'\''))
                            && s[i + 2..].chars().next().is_some_and(char::is_uppercase));
                    let (end, caps) = word_end(s, i);
                    i = end;
                    all_caps = caps;
                    kind = TokKind::Word;
                } else {
                    let ch = decode(s, i);
                    i += ch.len_utf8();
                    if ch.is_whitespace() {
                        // NBSP and other Unicode spaces
                        space = true;
                        continue;
                    }
                    kind = TokKind::Punct(ch);
                }
            }
        }
        // (a word's sentence start is decided here from the tokens before
        // it, so no second pass over the tokens is needed)
        let sent_start = matches!(kind, TokKind::Word) && sentence_start(s, out, newline, space);
        out.push(Tok {
            start,
            end: i,
            kind,
            cap,
            all_caps,
            space_before: space,
            newline_before: newline,
            sent_start,
        });
        // (one space after a token, the usual case, without a turn of the loop)
        space = b.get(i) == Some(&b' ');
        i += space as usize;
        newline = false;
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Of eight bytes (little-endian), how many from the first are ASCII
/// letters, and whether any of those is lower case. Each byte is tested on
/// its own (no carry crosses a byte), so the answer is exact.
#[inline(always)]
fn ascii_letters8(w: u64) -> (usize, bool) {
    // the byte without its high bit, folded to lower case
    let folded = (w & !HI) | (LO * 0x20);
    // ('a' ..= 'z' after folding, and no high bit in the byte itself)
    let ge_a = folded.wrapping_add(LO * (0x80 - b'a' as u64));
    let gt_z = folded.wrapping_add(LO * (0x80 - b'z' as u64 - 1));
    let letter = ge_a & !gt_z & !w & HI;
    // a lower-case letter has bit 0x20 set: moved to the high bit of its byte
    let lower = letter & (w << 2);
    let other = !letter & HI;
    if other == 0 {
        return (8, lower != 0);
    }
    let k = (other.trailing_zeros() / 8) as usize;
    let below = (1u64 << (8 * k)) - 1;
    (k, lower & below != 0)
}

/// The letter at byte `i` (not ASCII): whether it is a capital, and its
/// length; `None` when it is no letter. Latin-1 letters (æ, ø, å, é ...)
/// without the Unicode tables.
#[inline]
fn letter_at(s: &str, i: usize) -> Option<(bool, usize)> {
    let b = s.as_bytes();
    if b[i] == 0xC3 {
        if let Some(&c1) = b.get(i + 1) {
            // U+00C0 ..= U+00FF: letters but for × and ÷, capitals up to Þ
            let cp = 0xC0 | (c1 & 0x3F);
            if cp == 0xD7 || cp == 0xF7 {
                return None;
            }
            return Some((cp <= 0xDE, 2));
        }
    }
    let ch = decode(s, i);
    if ch.is_alphabetic() {
        Some((ch.is_uppercase(), ch.len_utf8()))
    } else {
        None
    }
}

/// The end of the word starting with a letter at `i`, and whether all its
/// letters are capitals (at least two).
#[inline]
fn word_end(s: &str, mut i: usize) -> (usize, bool) {
    let b = s.as_bytes();
    let n = b.len();
    let mut letters = 0usize;
    // a letter that is no capital seen
    let mut not_upper = false;
    loop {
        // a run of letters: ASCII eight bytes at a time, others one by one
        loop {
            if let Some(c) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
                let (len, lower) = ascii_letters8(u64::from_le_bytes(*c));
                letters += len;
                not_upper |= lower;
                i += len;
                if len == 8 {
                    continue;
                }
            } else {
                while i < n {
                    match CLASS[b[i] as usize] {
                        C_LOWER => not_upper = true,
                        C_UPPER => {}
                        _ => break,
                    }
                    letters += 1;
                    i += 1;
                }
            }
            if i < n && b[i] >= 0x80 {
                if let Some((up, len)) = letter_at(s, i) {
                    letters += 1;
                    not_upper |= !up;
                    i += len;
                    continue;
                }
            }
            break;
        }
        // an inner hyphen or apostrophe followed by a letter continues the word
        if i < n {
            let (joiner, jl) = match b[i] {
                b'-' | b'\'' => (true, 1),
                0xE2 if s[i..].starts_with('\u{2019}') => (true, 3),
                _ => (false, 0),
            };
            if joiner && i + jl < n {
                let nc = decode(s, i + jl);
                if nc.is_alphabetic() {
                    i += jl;
                    continue;
                }
            }
        }
        break;
    }
    // genitive apostrophe after s/x/z: "Lars'", "Martens'"
    if i < n && matches!(b[i - 1], b's' | b'x' | b'z' | b'S' | b'X' | b'Z') {
        let al = if b[i] == b'\'' {
            1
        } else if s[i..].starts_with('\u{2019}') {
            3
        } else {
            0
        };
        if al > 0 && !(i + al < n && decode(s, i + al).is_alphanumeric()) {
            i += al;
        }
    }
    (i, letters >= 2 && !not_upper)
}

fn decode(s: &str, i: usize) -> char {
    s[i..].chars().next().unwrap_or(' ')
}

/// Whether a word opens a sentence, a line or a quotation, from the tokens
/// before it (`prev`) and the whitespace before it.
#[inline]
fn sentence_start(s: &str, prev: &[Tok], newline_before: bool, space_before: bool) -> bool {
    let k = prev.len();
    if k == 0 || newline_before {
        return true;
    }
    let p = prev[k - 1];
    match p.kind {
        TokKind::Punct('.') => {
            // "hr. Hansen", "H.C. Andersen", "2. sal": not a sentence end
            if k >= 2 && prev[k - 2].end == p.start {
                let pp = prev[k - 2];
                match pp.kind {
                    TokKind::Word => !is_abbrev(pp.text(s)),
                    // "bor i nr. 12. Peter kom": a capital after an
                    // ordinal opens a sentence (Danish writes "2. sal")
                    _ => true,
                }
            } else {
                true
            }
        }
        TokKind::Punct(c) => {
            matches!(
                c,
                '!' | '?'
                    | ':'
                    | ';'
                    | '"'
                    | '\u{201C}'
                    | '\u{201D}'
                    | '\u{201E}'
                    | '\u{AB}'
                    | '\u{BB}'
                    | '\u{2022}'
                    | '*'
                    | '\u{2013}'
                    | '\u{2014}'
                    | '>'
                    | '|'
                    // a checkbox "[X] Kun mig selv" opens a field
                    | ']'
            ) || (c == '-' && p.newline_before)
                // "… sagde han. - Hans bror": a quotation dash after a sentence
                || (c == '-'
                    && p.space_before
                    && space_before
                    && k >= 2
                    && matches!(
                        prev[k - 2].kind,
                        TokKind::Punct(
                            '.' | '!' | '?' | ':' | '"' | '\u{BB}' | '\u{AB}' | '\u{201D}'
                        )
                    ))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tokenizer before the byte-class table, kept as the reference.
    fn tokenize_reference(s: &str, out: &mut Vec<Tok>) {
        out.clear();
        out.reserve(s.len() / 5);
        let b = s.as_bytes();
        let n = b.len();
        let mut i = 0;
        let mut space = true;
        let mut newline = true;
        while i < n {
            let c0 = b[i];
            if c0 == b' ' || c0 == b'\t' || c0 == b'\r' {
                space = true;
                i += 1;
                continue;
            }
            if c0 == b'\n' {
                space = true;
                newline = true;
                i += 1;
                continue;
            }
            let start = i;
            let kind;
            let mut cap = false;
            let mut all_caps = false;
            if c0.is_ascii_digit() {
                while i < n && b[i].is_ascii_digit() {
                    i += 1;
                }
                kind = TokKind::Number;
            } else {
                let ch = decode(s, i);
                if ch.is_alphabetic() {
                    cap = ch.is_uppercase()
                        // "d'Udekem", "l'Estrange": a particle before a capital
                        || (matches!(c0, b'd' | b'l')
                            && matches!(b.get(i + 1), Some(b'\''))
                            && s[i + 2..].chars().next().is_some_and(char::is_uppercase));
                    let mut letters = 0usize;
                    let mut upper = 0usize;
                    loop {
                        // a run of letters
                        while i < n {
                            let c = b[i];
                            if c.is_ascii_alphabetic() {
                                letters += 1;
                                upper += c.is_ascii_uppercase() as usize;
                                i += 1;
                            } else if c >= 0x80 {
                                let ch = decode(s, i);
                                if ch.is_alphabetic() {
                                    letters += 1;
                                    upper += ch.is_uppercase() as usize;
                                    i += ch.len_utf8();
                                } else {
                                    break;
                                }
                            } else {
                                break;
                            }
                        }
                        // an inner hyphen or apostrophe followed by a letter continues the word
                        if i < n {
                            let (joiner, jl) = match b[i] {
                                b'-' | b'\'' => (true, 1),
                                0xE2 if s[i..].starts_with('\u{2019}') => (true, 3),
                                _ => (false, 0),
                            };
                            if joiner && i + jl < n {
                                let nc = decode(s, i + jl);
                                if nc.is_alphabetic() {
                                    i += jl;
                                    continue;
                                }
                            }
                        }
                        break;
                    }
                    // genitive apostrophe after s/x/z: "Lars'", "Martens'"
                    if i < n && matches!(b[i - 1], b's' | b'x' | b'z' | b'S' | b'X' | b'Z') {
                        let al = if b[i] == b'\'' {
                            1
                        } else if s[i..].starts_with('\u{2019}') {
                            3
                        } else {
                            0
                        };
                        if al > 0 && !(i + al < n && decode(s, i + al).is_alphanumeric()) {
                            i += al;
                        }
                    }
                    all_caps = letters >= 2 && upper == letters;
                    kind = TokKind::Word;
                } else {
                    i += ch.len_utf8();
                    if ch.is_whitespace() {
                        // NBSP and other Unicode spaces
                        space = true;
                        continue;
                    }
                    kind = TokKind::Punct(ch);
                }
            }
            out.push(Tok {
                start,
                end: i,
                kind,
                cap,
                all_caps,
                space_before: space,
                newline_before: newline,
                sent_start: false,
            });
            space = false;
            newline = false;
        }
        mark_sentence_starts(s, out);
    }

    /// The sentence starts as the tokenizer set them in a second pass
    /// before they were decided at each word.
    fn mark_sentence_starts(s: &str, toks: &mut [Tok]) {
        for k in 0..toks.len() {
            if toks[k].kind != TokKind::Word {
                continue;
            }
            let start = if k == 0 || toks[k].newline_before {
                true
            } else {
                match toks[k - 1].kind {
                    TokKind::Punct('.') => {
                        // "hr. Hansen", "H.C. Andersen", "2. sal": not a sentence end
                        if k >= 2 && toks[k - 2].end == toks[k - 1].start {
                            let prev = toks[k - 2];
                            match prev.kind {
                                TokKind::Word => !is_abbrev(prev.text(s)),
                                // "bor i nr. 12. Peter kom": a capital after an
                                // ordinal opens a sentence (Danish writes "2. sal")
                                _ => true,
                            }
                        } else {
                            true
                        }
                    }
                    TokKind::Punct(c) => {
                        matches!(
                            c,
                            '!' | '?'
                                | ':'
                                | ';'
                                | '"'
                                | '\u{201C}'
                                | '\u{201D}'
                                | '\u{201E}'
                                | '\u{AB}'
                                | '\u{BB}'
                                | '\u{2022}'
                                | '*'
                                | '\u{2013}'
                                | '\u{2014}'
                                | '>'
                                | '|'
                                // a checkbox "[X] Kun mig selv" opens a field
                                | ']'
                        ) || (c == '-' && toks[k - 1].newline_before)
                            // "… sagde han. - Hans bror": a quotation dash after a sentence
                            || (c == '-'
                                && toks[k - 1].space_before
                                && toks[k].space_before
                                && k >= 2
                                && matches!(
                                    toks[k - 2].kind,
                                    TokKind::Punct(
                                        '.' | '!' | '?' | ':' | '"' | '\u{BB}' | '\u{AB}' | '\u{201D}'
                                    )
                                ))
                    }
                    _ => false,
                }
            };
            toks[k].sent_start = start;
        }
    }

    fn same(a: &[Tok], b: &[Tok]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                (x.start, x.end, x.kind, x.cap, x.all_caps)
                    == (y.start, y.end, y.kind, y.cap, y.all_caps)
                    && (x.space_before, x.newline_before, x.sent_start)
                        == (y.space_before, y.newline_before, y.sent_start)
            })
    }

    #[test]
    fn same_tokens_as_the_reference() {
        let mut texts: Vec<String> = vec![
            "Hr. Hansen bor på H.C. Andersens Boulevard 12. Anne-Marie's bil.\nDet er 2. sal"
                .into(),
            "d'Udekem d'Acoz, l'Estrange; Lars' og Martens\u{2019} bil. O\u{2019}Brien \u{2013} ÆBLE ØL åen \u{A0}x\u{202F}y"
                .into(),
            "\u{b}\u{c}\u{1c}\u{85}a\tb\r\nc 1\u{2019}s x-\n-y SIRI EU's l' d'x 'hej' \u{1F37A} ½ ²3 Ω ß İ".into(),
            "Kære Sø\u{308}ren!\n\n- Hans tale? \u{201E}Ja\u{201C} | TJ | [X] Kun\n* Punkt: Peter\u{2022}Ole > Eva".into(),
        ];
        for (t, _) in crate::corpus::WORDS {
            texts.push(t.to_string());
        }
        // every suffix of each text too (a token may start anywhere)
        let mut all = Vec::new();
        for t in &texts {
            for (i, _) in t.char_indices() {
                all.push(t[i..].to_string());
            }
        }
        let (mut a, mut r) = (Vec::new(), Vec::new());
        for t in &all {
            tokenize(t, &mut a);
            tokenize_reference(t, &mut r);
            assert!(same(&a, &r), "{t:?}");
        }
    }

    #[test]
    fn abbreviations_match_the_list() {
        for a in ABBREV {
            assert!(is_abbrev(a) && is_abbrev(&a.to_uppercase()), "{a}");
        }
        for w in ["hrr", "fruen", "x1", "sagde", "Hansen", "ab", "æø"] {
            let listed = ABBREV.contains(&w.to_lowercase().as_str());
            assert_eq!(is_abbrev(w), listed || w.chars().count() == 1, "{w}");
        }
        assert!(is_abbrev("Ø") && is_abbrev("x"));
    }

    #[test]
    fn ascii_letters_eight_at_a_time() {
        for w in [
            "abcdefgh", "ABCdefGH", "abc defg", "Zz@[`{az", "æblerne", "a-b", "12345678", "hej\n",
        ] {
            let mut b = [b' '; 8];
            let n = w.len().min(8);
            b[..n].copy_from_slice(&w.as_bytes()[..n]);
            let len = b.iter().take_while(|c| c.is_ascii_alphabetic()).count();
            let lower = b[..len].iter().any(u8::is_ascii_lowercase);
            assert_eq!(ascii_letters8(u64::from_le_bytes(b)), (len, lower), "{w:?}");
        }
        for c in 0..=255u8 {
            let b = [c; 8];
            let want = (
                if c.is_ascii_alphabetic() { 8 } else { 0 },
                c.is_ascii_lowercase(),
            );
            assert_eq!(ascii_letters8(u64::from_le_bytes(b)), want, "{c}");
        }
    }

    #[test]
    fn latin1_letters_as_unicode() {
        for cp in 0xC0u32..=0xFF {
            let c = char::from_u32(cp).unwrap();
            let s = c.to_string();
            let want = c.is_alphabetic().then(|| (c.is_uppercase(), 2));
            assert_eq!(letter_at(&s, 0), want, "{c}");
        }
    }

    #[test]
    fn words_numbers_and_sentences() {
        let s = "Hr. Hansen bor på H.C. Andersens Boulevard 12. Anne-Marie's bil.\nDet er 2. sal";
        let mut t = Vec::new();
        tokenize(s, &mut t);
        let words: Vec<(&str, bool)> = t
            .iter()
            .filter(|t| t.is_word())
            .map(|x| (x.text(s), x.sent_start))
            .collect();
        assert_eq!(words[0], ("Hr", true));
        assert_eq!(words[1], ("Hansen", false));
        assert!(words.contains(&("Anne-Marie's", true)));
        assert!(words.contains(&("Det", true)));
        assert!(words.contains(&("Andersens", false)));
    }
}
