//! Separator- and case-insensitive search for marked strings.
//!
//! Both sides are reduced to their lowercase letters and digits, so
//! "010190-1234", "0101901234" and "010190 1234" are the same needle, and
//! "Jens Hansen" also matches "JENS\nHANSEN" or "JensHansen". To keep short
//! needles (a first name such as "Bo") from matching inside other words, a
//! hit must start where a word starts in the original text and end where a
//! word ends (a Danish genitive "s" is allowed after it). Needles of
//! [`LONG_NEEDLE`] letters/digits or more may end inside a word, so an
//! extractor that glues words together cannot hide a long name or a CPR.

use aho_corasick::{AhoCorasick, MatchKind};

/// Needles at least this long (in letters/digits) may end inside a word.
pub(crate) const LONG_NEEDLE: usize = 8;

/// Lowercase letters and digits of `s`.
pub(crate) fn normalize_needle(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .filter(|c| c.is_alphanumeric())
        .collect()
}

#[derive(Clone, Copy)]
struct NChar {
    /// Byte range of the original char this normalised char came from.
    orig_start: usize,
    orig_end: usize,
    word_start: bool,
    word_end: bool,
}

/// A text reduced for matching, with the way back to the original.
pub(crate) struct Haystack {
    norm: String,
    chars: Vec<NChar>,
    /// normalised byte offset → index into `chars`.
    byte_to_char: Vec<u32>,
}

impl Haystack {
    pub(crate) fn new(text: &str) -> Haystack {
        let mut norm = String::with_capacity(text.len());
        let mut chars: Vec<NChar> = Vec::with_capacity(text.len());
        let mut byte_to_char = Vec::with_capacity(text.len());
        let mut prev_alnum = false;
        let mut iter = text.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            let alnum = c.is_alphanumeric();
            let next_alnum = iter
                .peek()
                .map(|(_, n)| n.is_alphanumeric())
                .unwrap_or(false);
            if alnum {
                let first = chars.len();
                for lc in c.to_lowercase().filter(|l| l.is_alphanumeric()) {
                    for _ in 0..lc.len_utf8() {
                        byte_to_char.push(chars.len() as u32);
                    }
                    norm.push(lc);
                    chars.push(NChar {
                        orig_start: i,
                        orig_end: i + c.len_utf8(),
                        word_start: false,
                        word_end: false,
                    });
                }
                if chars.len() > first {
                    chars[first].word_start = !prev_alnum;
                    let last = chars.len() - 1;
                    chars[last].word_end = !next_alnum;
                }
            }
            prev_alnum = alnum;
        }
        Haystack {
            norm,
            chars,
            byte_to_char,
        }
    }
}

/// One occurrence of a needle in a haystack, in original byte offsets.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    pub(crate) needle: usize,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// A compiled set of normalised needles.
pub(crate) struct Needles {
    ac: Option<AhoCorasick>,
    lens: Vec<usize>,
}

impl Needles {
    /// `needles` must be normalised; empty ones never match.
    pub(crate) fn new(needles: &[String]) -> Result<Needles, String> {
        let lens = needles.iter().map(|n| n.chars().count()).collect();
        let pats: Vec<&str> = needles
            .iter()
            .map(|s| if s.is_empty() { "\u{0}" } else { s.as_str() })
            .collect();
        let ac = if pats.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&pats)
                    .map_err(|e| e.to_string())?,
            )
        };
        Ok(Needles { ac, lens })
    }

    /// All hits that respect the word-boundary rules (see module docs).
    pub(crate) fn find(&self, hay: &Haystack) -> Vec<Hit> {
        let Some(ac) = &self.ac else {
            return Vec::new();
        };
        let mut hits = Vec::new();
        for m in ac.find_overlapping_iter(&hay.norm) {
            let idx = m.pattern().as_usize();
            let first = hay.byte_to_char[m.start()] as usize;
            let last = hay.byte_to_char[m.end() - 1] as usize;
            let fc = hay.chars[first];
            let lc = hay.chars[last];
            if !fc.word_start {
                continue;
            }
            let mut end = lc.orig_end;
            if !lc.word_end {
                // Danish genitive: "Hansens".
                let genitive = hay
                    .chars
                    .get(last + 1)
                    .filter(|n| n.word_end && hay.norm.as_bytes().get(m.end()) == Some(&b's'));
                if let Some(g) = genitive {
                    end = g.orig_end;
                } else if self.lens[idx] < LONG_NEEDLE {
                    continue;
                }
            }
            hits.push(Hit {
                needle: idx,
                start: fc.orig_start,
                end,
            });
        }
        hits
    }
}

/// Replaces every occurrence of the needles in `s` by `replacement`
/// (longest first, overlapping hits merged). Used for titles and other short
/// strings that are shown whole.
pub(crate) fn replace_all(s: &str, needles: &Needles, replacement: &str) -> String {
    let hay = Haystack::new(s);
    let mut hits = needles.find(&hay);
    if hits.is_empty() {
        return s.to_string();
    }
    hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.end)));
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    for h in hits {
        if h.end <= pos {
            continue;
        }
        if h.start >= pos {
            out.push_str(&s[pos..h.start]);
            out.push_str(replacement);
        }
        pos = h.end;
    }
    out.push_str(&s[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: &[&str]) -> Needles {
        Needles::new(&v.iter().map(|s| normalize_needle(s)).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn separators_case_and_boundaries() {
        let ns = n(&["010190-1234", "Jens Hansen", "Bo"]);
        let count = |t: &str| ns.find(&Haystack::new(t)).len();
        assert_eq!(count("cpr 0101901234."), 1);
        assert_eq!(count("CPR: 010190 1234"), 1);
        assert_eq!(count("JENS\nHANSEN kom"), 1);
        assert_eq!(count("jenshansen"), 1);
        assert_eq!(count("Jens Hansens sag"), 1);
        assert_eq!(count("Bolig og Bo."), 1);
        assert_eq!(count("han sendte"), 0);
        // long needles may be glued to the next word by an extractor
        assert_eq!(count("JensHansenhar"), 1);
        assert_eq!(count("Bohar"), 0);
    }

    #[test]
    fn replace_in_titles() {
        let ns = n(&["Jens Hansen", "Hansen"]);
        assert_eq!(
            replace_all("Brev til Jens Hansens advokat", &ns, "[undtaget]"),
            "Brev til [undtaget] advokat"
        );
        assert_eq!(
            replace_all("Møde med HANSEN", &ns, "[undtaget]"),
            "Møde med [undtaget]"
        );
        assert_eq!(replace_all("Ingen navne", &ns, "[undtaget]"), "Ingen navne");
    }
}
