//! Secret values in text: masking them in logs, recordings, URLs and errors,
//! and finding them in emitted documents.
//!
//! A strong secret is found in any case, reversed, and with anything that
//! is not a letter or digit between its characters (spaced, split with
//! dashes or line breaks, percent-encoded punctuation), and masked with its
//! whole span. A weak secret (short, a plain word or a plain number) would
//! also match ordinary text — masking the password `wrong` in "wrong user
//! name" tells the reader the password — so it is masked only where it
//! stands alone: a whole argument, or a whole URL parameter, path segment
//! or key-spec segment. `secret()` warns about weak secrets.

/// Placeholder for a masked secret in logs and recordings.
pub fn placeholder(name: &str) -> String {
    format!("«secret:{name}»")
}

/// Characters that delimit a value that stands alone (URL parts, key specs).
const SEGMENT_DELIMITERS: &[char] = &[
    '?', '&', '=', '{', '}', '/', '#', ';', ',', '"', '\'', '\t', '\n', '\r', '<', '>',
];

/// Why a secret value is weak, if it is.
pub fn weakness(value: &str) -> Option<&'static str> {
    let core = normalized(value);
    if core.len() < 6 {
        return Some("shorter than 6 letters and digits");
    }
    if core.len() < 10 && core.iter().all(|c| c.is_alphabetic()) {
        return Some("a single word of fewer than 10 letters");
    }
    if core.len() < 10 && core.iter().all(|c| c.is_numeric()) {
        return Some("a number of fewer than 10 digits");
    }
    None
}

/// The letters and digits of `s`, lower-cased: what a transformed secret
/// still has in common with the original.
fn normalized(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// The letters and digits of `s`, lower-cased, each with its byte span in
/// `s`. Percent escapes (`%2D`) count as separators, not as characters.
fn indexed(s: &str) -> Vec<(char, usize, usize)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if c == '%'
            && b.len() > i + 2
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            it.next();
            it.next();
            continue;
        }
        if c.is_alphanumeric() {
            out.push((c.to_lowercase().next().unwrap_or(c), i, i + c.len_utf8()));
        }
    }
    out
}

/// How a secret was found in a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// As it is, or in another case, or with separators between characters.
    Plain,
    Reversed,
}

/// Secrets to look for, with their names.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// `(name, value, weak)`, longest value first.
    items: Vec<(String, String, bool)>,
}

impl Secrets {
    pub fn new(pairs: &[(String, String)]) -> Secrets {
        let mut s = Secrets::default();
        for (n, v) in pairs {
            s.add(n, v);
        }
        s
    }

    /// Adds a secret (an empty value is ignored, a known one not repeated).
    pub fn add(&mut self, name: &str, value: &str) {
        if value.is_empty() || self.items.iter().any(|(_, v, _)| v == value) {
            return;
        }
        self.items.push((
            name.to_string(),
            value.to_string(),
            weakness(value).is_some(),
        ));
        self.items
            .sort_by_key(|(_, v, _)| std::cmp::Reverse(v.len()));
    }

    /// `s` with every secret replaced by its placeholder.
    pub fn mask(&self, s: &str) -> String {
        if self.items.is_empty() {
            return s.to_string();
        }
        if let Some((n, _, _)) = self.items.iter().find(|(_, v, _)| v == s) {
            return placeholder(n);
        }
        // Spans to replace, from every secret; overlaps keep the first.
        let mut spans: Vec<(usize, usize, &str)> = Vec::new();
        let idx = indexed(s);
        for (name, value, weak) in &self.items {
            if *weak {
                spans.extend(segments(s, value).map(|(a, b)| (a, b, name.as_str())));
            } else {
                spans.extend(
                    strong_hits(&idx, value)
                        .into_iter()
                        .map(|(a, b, _)| (a, b, name.as_str())),
                );
            }
        }
        if spans.is_empty() {
            return s.to_string();
        }
        spans.sort_by_key(|(a, b, _)| (*a, std::cmp::Reverse(*b)));
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for (a, b, name) in spans {
            if a < at {
                continue;
            }
            out.push_str(&s[at..a]);
            out.push_str(&placeholder(name));
            at = b;
        }
        out.push_str(&s[at..]);
        out
    }

    /// The first secret found in `s`, and how: strong secrets in any of
    /// their forms, weak ones only when they are the whole text.
    pub fn find(&self, s: &str) -> Option<(&str, Form)> {
        let idx = indexed(s);
        for (name, value, weak) in &self.items {
            if *weak {
                if s.trim() == value {
                    return Some((name, Form::Plain));
                }
            } else if let Some(&(_, _, form)) = strong_hits(&idx, value).first() {
                return Some((name, form));
            }
        }
        None
    }
}

/// Spans of `value` standing alone between segment delimiters (or the ends).
fn segments<'a>(s: &'a str, value: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
    s.match_indices(value).filter_map(move |(i, m)| {
        let before = s[..i].chars().next_back();
        let after = s[i + m.len()..].chars().next();
        let alone = |c: Option<char>| c.is_none_or(|c| SEGMENT_DELIMITERS.contains(&c));
        (alone(before) && alone(after)).then_some((i, i + m.len()))
    })
}

/// Byte spans in the text behind `idx` where a strong secret occurs, in
/// either direction.
fn strong_hits(idx: &[(char, usize, usize)], value: &str) -> Vec<(usize, usize, Form)> {
    let needle = normalized(value);
    let mut hits = Vec::new();
    if needle.is_empty() || idx.len() < needle.len() {
        return hits;
    }
    let reversed: Vec<char> = needle.iter().rev().copied().collect();
    let mut i = 0;
    while i + needle.len() <= idx.len() {
        let window = idx[i..i + needle.len()].iter().map(|(c, _, _)| *c);
        let form = if window.clone().eq(needle.iter().copied()) {
            Some(Form::Plain)
        } else if window.eq(reversed.iter().copied()) {
            Some(Form::Reversed)
        } else {
            None
        };
        match form {
            Some(f) => {
                hits.push((idx[i].1, idx[i + needle.len() - 1].2, f));
                i += needle.len();
            }
            None => i += 1,
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pairs: &[(&str, &str)]) -> Secrets {
        Secrets::new(
            &pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_strong_secret_is_masked_in_every_form() {
        let m = s(&[("legacy.password", "LAES2018")]);
        let p = "«secret:legacy.password»";
        for form in [
            "LAES2018",
            "x LAES2018 y",
            "x laes2018 y",
            "x 8102SEAL y",
            "x L A E S 2 0 1 8 y",
            "x LAES-2018 y",
            "x LAES\n2018 y",
            "/cases?cpr=LAES%2D2018&x=1",
        ] {
            let out = m.mask(form);
            assert!(out.contains(p), "{form:?} → {out:?}");
            assert!(!out.to_lowercase().contains("laes"), "{form:?} → {out:?}");
            assert!(
                !out.contains("2018") || form.contains("cpr"),
                "{form:?} → {out:?}"
            );
        }
        assert_eq!(m.mask("nothing here 2018"), "nothing here 2018");
    }

    #[test]
    fn a_weak_secret_is_masked_only_where_it_stands_alone() {
        let m = s(&[("fagsag.password", "wrong")]);
        assert!(weakness("wrong").is_some());
        let msg = "login refused: wrong user name or password";
        assert_eq!(m.mask(msg), msg);
        assert_eq!(m.mask("wrong"), "«secret:fagsag.password»");
        assert_eq!(
            m.mask("/login?user=x&pass=wrong"),
            "/login?user=x&pass=«secret:fagsag.password»"
        );
        assert_eq!(
            m.mask("ROBOT{Tab}wrong{Enter}"),
            "ROBOT{Tab}«secret:fagsag.password»{Enter}"
        );
    }

    #[test]
    fn weak_and_strong() {
        assert!(weakness("1234").is_some());
        assert!(weakness("password").is_some());
        assert!(weakness("20180101").is_some());
        assert!(weakness("LAES2018").is_none());
        assert!(weakness("laes-kun-2018").is_none());
        assert!(weakness("hemmeligt-kodeord").is_none());
    }

    #[test]
    fn secrets_are_found_in_documents() {
        let m = s(&[("esdh.password", "laes-kun-2018")]);
        assert_eq!(
            m.find("Notat: LAES KUN 2018"),
            Some(("esdh.password", Form::Plain))
        );
        assert_eq!(
            m.find("8102-nuk-seal"),
            Some(("esdh.password", Form::Reversed))
        );
        assert_eq!(m.find("læs kun 2018"), None);
    }
}
