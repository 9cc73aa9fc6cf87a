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
    pub fn is_word(&self) -> bool {
        self.kind == TokKind::Word
    }
    pub fn is_punct(&self, c: char) -> bool {
        self.kind == TokKind::Punct(c)
    }
}

/// Abbreviations after which a full stop does not end a sentence.
const ABBREV: &[&str] = &[
    "hr", "fru", "frk", "dr", "nr", "ca", "jf", "mht", "bl", "a", "f", "eks", "kl", "st", "tv",
    "th", "mf", "pga", "evt", "inkl", "ekskl", "vedr", "tlf", "att", "div", "osv", "mv", "ang",
    "iht", "mr", "mrs", "ms", "fam", "stk", "pkt", "nb", "tel", "sal", "bd", "vol", "ref", "cand",
    "mag", "jur", "psych", "scient", "med", "lic", "ph", "d", "sr", "jr", "sct", "skt", "ll",
    "mfl", "o", "lign", "dvs",
];

fn is_abbrev(w: &str) -> bool {
    if w.chars().count() == 1 {
        return true; // initials "H." and list letters "a."
    }
    // (every abbreviation is short ASCII: lower-case it on the stack)
    if w.len() > 6 || !w.is_ascii() {
        return false;
    }
    let mut buf = [0u8; 6];
    buf[..w.len()].copy_from_slice(w.as_bytes());
    buf.make_ascii_lowercase();
    let l = &buf[..w.len()];
    ABBREV.iter().any(|a| a.as_bytes() == l)
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
                let ascii_letter = class == C_LOWER || class == C_UPPER;
                let ch = if ascii_letter {
                    c0 as char
                } else {
                    decode(s, i)
                };
                if ascii_letter || ch.is_alphabetic() {
                    cap = class == C_UPPER
                        || (!ascii_letter && ch.is_uppercase())
                        // "d'Udekem", "l'Estrange": a particle before a capital
                        || (matches!(c0, b'd' | b'l')
                            && matches!(b.get(i + 1), Some(b'\''))
                            && s[i + 2..].chars().next().is_some_and(char::is_uppercase));
                    let (end, caps) = word_end(s, i);
                    i = end;
                    all_caps = caps;
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

/// The end of the word starting with a letter at `i`, and whether all its
/// letters are capitals (at least two).
#[inline]
fn word_end(s: &str, mut i: usize) -> (usize, bool) {
    let b = s.as_bytes();
    let n = b.len();
    let mut letters = 0usize;
    let mut upper = 0usize;
    loop {
        // a run of letters
        while i < n {
            let c = b[i];
            match CLASS[c as usize] {
                C_LOWER => {
                    letters += 1;
                    i += 1;
                }
                C_UPPER => {
                    letters += 1;
                    upper += 1;
                    i += 1;
                }
                C_HIGH => {
                    let ch = decode(s, i);
                    if ch.is_alphabetic() {
                        letters += 1;
                        upper += ch.is_uppercase() as usize;
                        i += ch.len_utf8();
                    } else {
                        break;
                    }
                }
                _ => break,
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
    (i, letters >= 2 && upper == letters)
}

fn decode(s: &str, i: usize) -> char {
    s[i..].chars().next().unwrap_or(' ')
}

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
