//! The municipality's sensitive words, with Danish inflections and
//! multi-word phrases.
//!
//! Aho-Corasick finds the stem of each phrase's first word in the original
//! text (in lower, Capitalised and UPPER form, because its case folding is
//! ASCII-only); each hit is widened to its word and checked against the
//! inflection rules, then the phrase's further words are checked in turn.

use crate::lexicon::lower;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};

/// Danish noun and verb endings accepted after a word.
const SUFFIXES: &[&str] = &[
    "", "e", "en", "et", "er", "erne", "ene", "es", "s", "ens", "ets", "ers", "ernes", "enes",
    "ende", "ede", "ed", "te", "t", "r", "n", "ne", "rne", "ns", "rs", "nes", "rnes", "de", "ts",
    "ing", "inger", "ingen", "ingerne", "ingens", "ig", "ige", "lig", "lige", "elig", "elige",
    "eligt", "ligt", "ts", "tes", "ne", "ede", "edes",
];

/// A compiled word list.
#[derive(Clone, Debug)]
pub struct WordMatcher {
    ac: Option<AhoCorasick>,
    /// Bytes of the longest pattern.
    max_len: usize,
    /// For each pattern, the phrase it opens.
    pattern_phrase: Vec<usize>,
    phrases: Vec<Vec<String>>,
}

/// How well a lower-case word matches a list word.
fn word_match(tok: &str, w: &str) -> Option<f32> {
    if tok == w {
        return Some(0.97);
    }
    let stems: [Option<&str>; 2] = [Some(w), w.strip_suffix('e')];
    for stem in stems.into_iter().flatten() {
        if let Some(rest) = tok.strip_prefix(stem) {
            if SUFFIXES.contains(&rest) {
                return Some(0.95);
            }
            // doubled consonant: "sygdom" -> "sygdommen"
            if let Some(last) = stem.chars().last() {
                if let Some(r2) = rest.strip_prefix(last) {
                    if !r2.is_empty() && SUFFIXES.contains(&r2) {
                        return Some(0.93);
                    }
                }
            }
        }
    }
    // compounds: "stofmisbrug", "anbringelsessag"
    if w.chars().count() >= 5 && tok.contains(w.strip_suffix('e').unwrap_or(w)) {
        return Some(0.8);
    }
    None
}

fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || c == '-'
}

impl WordMatcher {
    /// Compiles a list of words and phrases (case is ignored).
    pub fn new<S: AsRef<str>>(words: &[S]) -> WordMatcher {
        let mut phrases: Vec<Vec<String>> = Vec::new();
        let mut pats: Vec<String> = Vec::new();
        let mut pattern_phrase = Vec::new();
        for w in words {
            let p: Vec<String> = lower(w.as_ref())
                .split_whitespace()
                .map(str::to_string)
                .collect();
            if p.is_empty() || phrases.contains(&p) {
                continue;
            }
            let first = &p[0];
            let stem = if first.chars().count() > 3 {
                first.strip_suffix('e').unwrap_or(first)
            } else {
                first
            };
            let idx = phrases.len();
            let mut cap = String::new();
            let mut chars = stem.chars();
            if let Some(c) = chars.next() {
                cap.extend(c.to_uppercase());
                cap.push_str(chars.as_str());
            }
            for v in [stem.to_string(), cap, stem.to_uppercase()] {
                pats.push(v);
                pattern_phrase.push(idx);
            }
            phrases.push(p);
        }
        let ac = if pats.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .build(&pats)
                .ok()
        };
        WordMatcher {
            ac,
            max_len: pats.iter().map(String::len).max().unwrap_or(0),
            pattern_phrase,
            phrases,
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// Finds the list's words in `s`: (start, end, confidence).
    ///
    /// The automaton ignores ASCII case, so it has no prefilter, and its
    /// overlapping walk (every match, in the order they end) is slow. So
    /// the fast walk for the first match looks for where matches are, and
    /// the overlapping walk runs only over a window around them: from the
    /// longest pattern's length before the end of the first match (no
    /// match starts earlier: it would have ended first) to that length
    /// after it (every match starting before its end has ended); windows
    /// that touch are joined, so each window holds every match that ends
    /// in it, in the order of a walk over the whole text.
    pub fn find(&self, s: &str, out: &mut Vec<(usize, usize, f32)>) {
        let Some(ac) = &self.ac else { return };
        let mut last_end = 0;
        let n = s.len();
        let max = self.max_len.max(1);
        let mut at = 0;
        let mut win: Option<(usize, usize)> = None;
        while at < n {
            let Some(m) = ac.find(Input::new(s).range(at..n)) else {
                break;
            };
            let e = m.end();
            let ws = at.max(e.saturating_sub(max));
            let we = (e + max - 1).min(n);
            win = match win {
                Some((a, b)) if ws < b => Some((a, b.max(we))),
                Some((a, b)) => {
                    self.find_in(ac, s, Input::new(s).range(a..b), &mut last_end, out);
                    Some((ws, we))
                }
                None => Some((ws, we)),
            };
            // (matches are never empty: `e` > `at`)
            at = e.max(at + 1);
        }
        if let Some((a, b)) = win {
            self.find_in(ac, s, Input::new(s).range(a..b), &mut last_end, out);
        }
    }

    /// The words whose first word's stem the automaton finds in `input`
    /// (part of `s`), every match in the order they end.
    fn find_in(
        &self,
        ac: &AhoCorasick,
        s: &str,
        input: Input<'_>,
        last_end: &mut usize,
        out: &mut Vec<(usize, usize, f32)>,
    ) {
        for m in ac.find_overlapping_iter(input) {
            if m.start() < *last_end {
                continue;
            }
            let phrase = &self.phrases[self.pattern_phrase[m.pattern().as_usize()]];
            // widen to the whole word
            let ws = s[..m.start()]
                .char_indices()
                .rev()
                .take_while(|(_, c)| is_word_char(*c))
                .last()
                .map(|(i, _)| i)
                .unwrap_or(m.start());
            let mut pos = ws;
            let mut conf = 1.0f32;
            let mut ok = true;
            for (n, w) in phrase.iter().enumerate() {
                if n > 0 {
                    // exactly whitespace between the words of a phrase
                    let rest = &s[pos..];
                    let skip = rest.len() - rest.trim_start().len();
                    if skip == 0 || rest[..skip].contains("\n\n") {
                        ok = false;
                        break;
                    }
                    pos += skip;
                }
                let we = s[pos..]
                    .char_indices()
                    .find(|(_, c)| !is_word_char(*c))
                    .map(|(i, _)| pos + i)
                    .unwrap_or(s.len());
                let tok = lower(s[pos..we].trim_end_matches('-'));
                match word_match(&tok, w) {
                    Some(c) => {
                        conf = conf.min(c);
                        pos = we;
                    }
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && pos > ws {
                out.push((ws, pos, conf));
                *last_end = pos;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_and_phrases() {
        let m = WordMatcher::new(&["anbringelse", "misbrug", "psykisk sygdom"]);
        let s = "Anbringelsen og anbringelser; misbruget, stofmisbrug og psykiske sygdomme. Anbringelsessagen.";
        let mut out = Vec::new();
        m.find(s, &mut out);
        let got: Vec<&str> = out.iter().map(|(a, b, _)| &s[*a..*b]).collect();
        assert_eq!(
            got,
            vec![
                "Anbringelsen",
                "anbringelser",
                "misbruget",
                "stofmisbrug",
                "psykiske sygdomme",
                "Anbringelsessagen"
            ]
        );
        let mut out = Vec::new();
        m.find("mis brugt og brug", &mut out);
        assert!(out.is_empty());
    }

    /// Every match of the automaton over the whole text, as before the
    /// windows (the reference).
    fn find_whole(m: &WordMatcher, s: &str) -> Vec<(usize, usize, f32)> {
        let mut out = Vec::new();
        let mut last_end = 0;
        if let Some(ac) = &m.ac {
            m.find_in(ac, s, Input::new(s), &mut last_end, &mut out);
        }
        out
    }

    #[test]
    fn windows_find_what_the_whole_walk_finds() {
        let words: Vec<&str> = crate::corpus::WORDS.iter().map(|(w, _)| *w).collect();
        let lists = vec![
            words.clone(),
            vec!["vold", "volden", "old", "ld", "bo", "æble", "Ølejr", "lde"],
            vec!["a", "anbringelse", "ab", "abcdefghij", "cd", "bcdef"],
        ];
        let mut texts = vec![
            "Anbringelsen og ANBRINGELSER; misbruget, stofmisbrug og psykiske sygdomme. aNbRiNgElSeSsAgEn".to_string(),
            "voldvoldvold VOLDEN vOLD øvold ÆBLE æblerne ølejren ØLEJR bo boede psykisk  sygdom\n\npsykisk sygdom".to_string(),
            "abcdefghij abcdefghi xabcdef abab cdcd aaaa abcd-efghij bo-old oldeolde".to_string(),
        ];
        for (_, forms) in crate::corpus::WORDS {
            texts.push(forms.join(" ").to_uppercase());
            texts.push(forms.concat());
        }
        for list in &lists {
            let m = WordMatcher::new(list);
            for t in &texts {
                for (i, _) in t.char_indices() {
                    let mut a = Vec::new();
                    m.find(&t[i..], &mut a);
                    assert_eq!(a, find_whole(&m, &t[i..]), "{list:?} {:?}", &t[i..]);
                }
            }
        }
    }
}
