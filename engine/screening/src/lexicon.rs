//! The name and street lists: the Danmarks Statistik name lists and the
//! street list shipped in `engine/screening/lists/` (compiled into the
//! binary, so a clone and a release build are complete), or the same files
//! from a directory the municipality maintains.

use crate::builtin;
use crate::ScreenError;
use rustc_hash::{FxHashMap, FxHashSet};
use std::path::Path;

/// What the lists say about one lower-cased word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NameInfo {
    /// 1-based rank in the first-name lists (most common first); 0 = absent.
    pub first_rank: u32,
    /// 1-based rank in the surname list; 0 = absent.
    pub sur_rank: u32,
}

impl NameInfo {
    /// A name common enough that a capitalised occurrence is a person even at
    /// a sentence start.
    pub fn is_common_name(&self) -> bool {
        (self.first_rank > 0 && self.first_rank <= 3000)
            || (self.sur_rank > 0 && self.sur_rank <= 1500)
    }
}

/// First names, surnames and street names, keyed by their Unicode
/// lower-case form (Aho-Corasick and hashing fold only ASCII, so Æ/Ø/Å are
/// folded here, once, on both sides).
#[derive(Clone, Debug, Default)]
pub struct Lexicon {
    names: FxHashMap<Box<str>, NameInfo>,
    streets: FxHashSet<Box<str>>,
    /// The last word of every street key: most words before a number are
    /// not, and then no longer key needs building.
    street_last: FxHashSet<Box<str>>,
    /// The first word of every street key: a span whose first word is
    /// none of these is no listed street, and its whole key need not be
    /// built.
    street_first: FxHashSet<Box<str>>,
    max_street_words: usize,
    /// The most common first names (lower case): small enough to stay in
    /// the cache, for the test run at every lower-case word.
    common_first: FxHashSet<Box<str>>,
    /// A one-hash Bloom filter over `common_first` (65,536 bits): most
    /// lower-case words are ruled out by one bit before any hashing of the
    /// whole word. Empty = not built (every word is looked up).
    common_first_bits: Vec<u64>,
}

/// The bit of a word in [`Lexicon::common_first_bits`]: its length, first
/// two and last byte, mixed.
#[inline]
fn common_first_bit(w: &[u8]) -> usize {
    let (Some(&a), Some(&z)) = (w.first(), w.last()) else {
        return 0;
    };
    let b = w.get(1).copied().unwrap_or(0);
    common_first_bit_of([a, b, z], w.len())
}

/// [`common_first_bit`] from a word's first two and last byte (0 for a
/// missing second) and its length.
#[inline]
fn common_first_bit_of([a, b, z]: [u8; 3], len: usize) -> usize {
    let x = a as u32 | (b as u32) << 8 | (z as u32) << 16 | (len as u32 & 0xFF) << 24;
    (x.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

/// First names up to this rank count as common in lower case ("mette").
const COMMON_FIRST_RANK: u32 = 300;

/// Normalises a street name for lookup: lower case, dots as spaces, single
/// spaces ("H.C. Andersens Boulevard" = "H. C. Andersens  boulevard").
pub fn street_key(s: &str, out: &mut String) {
    out.clear();
    let mut pending_space = false;
    for c in s.chars() {
        if c == '.' || c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        push_lower(c, out);
    }
}

/// The first word of [`street_key`]`(s)`, without building the rest.
pub fn street_first_word(s: &str, out: &mut String) {
    out.clear();
    for c in s.chars() {
        if c == '.' || c.is_whitespace() {
            if out.is_empty() {
                continue;
            }
            break;
        }
        push_lower(c, out);
    }
}

/// Pushes the lower case of one character: ASCII and Latin-1 (æ, ø, å, é,
/// ü ...) without the general Unicode tables, which cost more than the
/// rest of a word's lookup.
#[inline(always)]
fn push_lower(c: char, out: &mut String) {
    match c {
        'A'..='Z' => out.push(c.to_ascii_lowercase()),
        '\0'..='\u{7F}' | '\u{DF}'..='\u{FF}' => out.push(c),
        '\u{C0}'..='\u{DE}' if c != '\u{D7}' => {
            out.push(char::from_u32(c as u32 + 32).unwrap_or(c));
        }
        _ => out.extend(c.to_lowercase()),
    }
}

impl Lexicon {
    /// Loads `names/first_names_female.jsonl`, `names/first_names_male.jsonl`,
    /// `names/surnames.jsonl` and `streets/street_names.jsonl` (one JSON
    /// string per line) from `dir`, and adds the built-in fallback entries so
    /// that names missing from the statistics are still known.
    pub fn load(dir: &Path) -> Result<Lexicon, ScreenError> {
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path).map_err(|e| ScreenError::Open { path, source: e })
        };
        Lexicon::from_lists(
            Lists {
                female: &read(FEMALE)?,
                male: &read(MALE)?,
                surnames: &read(SURNAMES)?,
                streets: &read(STREETS)?,
            },
            dir,
        )
    }

    /// The lists shipped with marc (`engine/screening/lists/`, public
    /// statistics under MPL-2.0, see its SOURCE.md), compiled in.
    pub fn bundled() -> Lexicon {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/lists"));
        // The files are fixed at compile time and checked by a unit test.
        Lexicon::from_lists(BUNDLED, dir).unwrap_or_else(|_| Lexicon::builtin())
    }

    fn from_lists(lists: Lists<'_>, dir: &Path) -> Result<Lexicon, ScreenError> {
        let mut lex = Lexicon::builtin();
        // the built-in ranks are placeholders: the real lists decide ranks
        let builtin_names = std::mem::take(&mut lex.names);
        for (file, text) in [(FEMALE, lists.female), (MALE, lists.male)] {
            parse_jsonl_strings(&dir.join(file), text, |rank, s| {
                let e = lex.names.entry(lower(s).into()).or_default();
                if e.first_rank == 0 || rank < e.first_rank {
                    e.first_rank = rank;
                }
            })?;
        }
        parse_jsonl_strings(&dir.join(SURNAMES), lists.surnames, |rank, s| {
            let e = lex.names.entry(lower(s).into()).or_default();
            if e.sur_rank == 0 || rank < e.sur_rank {
                e.sur_rank = rank;
            }
        })?;
        for (k, v) in builtin_names {
            let e = lex.names.entry(k).or_default();
            if e.first_rank == 0 && v.first_rank > 0 {
                e.first_rank = v.first_rank;
            }
            if e.sur_rank == 0 && v.sur_rank > 0 {
                e.sur_rank = v.sur_rank;
            }
        }
        lex.index_common_first();
        let mut key = String::new();
        parse_jsonl_strings(&dir.join(STREETS), lists.streets, |_, s| {
            street_key(s, &mut key);
            if !key.is_empty() {
                lex.add_street(&key);
            }
        })?;
        Ok(lex)
    }

    /// The compiled-in fallback: a few hundred common Danish names and
    /// streets. Used when no data directory is configured.
    pub fn builtin() -> Lexicon {
        let mut lex = Lexicon::default();
        for (list, first) in [
            (builtin::FIRST_NAMES_FEMALE, true),
            (builtin::FIRST_NAMES_MALE, true),
            (builtin::SURNAMES, false),
        ] {
            for (i, w) in builtin::words(list).enumerate() {
                // builtin names are common ones: give them a common rank
                let rank = (i as u32 / 4) + 1;
                let e = lex.names.entry(lower(w).into()).or_default();
                if first {
                    if e.first_rank == 0 {
                        e.first_rank = rank;
                    }
                } else if e.sur_rank == 0 {
                    e.sur_rank = rank;
                }
            }
        }
        lex.index_common_first();
        let mut key = String::new();
        for line in builtin::STREETS.lines() {
            for s in line.split('|') {
                street_key(s, &mut key);
                if !key.is_empty() {
                    lex.add_street(&key);
                }
            }
        }
        lex
    }

    fn index_common_first(&mut self) {
        self.common_first = self
            .names
            .iter()
            .filter(|(_, i)| i.first_rank > 0 && i.first_rank <= COMMON_FIRST_RANK)
            .map(|(k, _)| k.clone())
            .collect();
        let mut bits = vec![0u64; 1 << 10];
        for k in &self.common_first {
            let i = common_first_bit(k.as_bytes());
            bits[i / 64] |= 1 << (i % 64);
        }
        self.common_first_bits = bits;
    }

    fn add_street(&mut self, key: &str) {
        self.max_street_words = self.max_street_words.max(key.split(' ').count());
        if let Some(last) = key.rsplit(' ').next() {
            self.street_last.insert(last.into());
        }
        if let Some(first) = key.split(' ').next() {
            self.street_first.insert(first.into());
        }
        self.streets.insert(key.into());
    }

    /// Whether a lower-case word is one of the most common first names.
    pub(crate) fn is_common_first(&self, lower: &str) -> bool {
        if let Some(&word) = self
            .common_first_bits
            .get(common_first_bit(lower.as_bytes()) / 64)
        {
            if word >> (common_first_bit(lower.as_bytes()) % 64) & 1 == 0 {
                return false;
            }
        }
        self.common_first.contains(lower)
    }

    /// For a word whose lower case changes at most its ASCII letters:
    /// whether its lower case may be one of the most common first names
    /// (`false`: it is not; the Bloom filter of [`Lexicon::is_common_first`]
    /// on the ASCII lower case of the bytes it reads).
    pub(crate) fn may_be_common_first_ascii(&self, w: &[u8]) -> bool {
        let (Some(&a), Some(&z)) = (w.first(), w.last()) else {
            return true;
        };
        let b = w.get(1).copied().unwrap_or(0);
        let low = [
            a.to_ascii_lowercase(),
            b.to_ascii_lowercase(),
            z.to_ascii_lowercase(),
        ];
        let i = common_first_bit_of(low, w.len());
        match self.common_first_bits.get(i / 64) {
            Some(&word) => word >> (i % 64) & 1 != 0,
            None => true,
        }
    }

    /// Whether some street key starts with this word (see
    /// [`street_first_word`]).
    pub fn is_street_first_word(&self, w: &str) -> bool {
        self.street_first.contains(w)
    }

    /// Whether some street name ends with this lower-case word.
    pub fn is_street_last_word(&self, w: &str) -> bool {
        self.street_last.contains(w)
    }

    /// What the lists know about a lower-cased word.
    pub fn name(&self, lower: &str) -> Option<NameInfo> {
        self.names.get(lower).copied()
    }

    /// Whether a street key (see [`street_key`]) is a known street.
    pub fn is_street(&self, key: &str) -> bool {
        self.streets.contains(key)
    }

    /// The longest street name in words.
    pub fn max_street_words(&self) -> usize {
        self.max_street_words.max(1)
    }

    /// Number of distinct name words and street names.
    pub fn len(&self) -> (usize, usize) {
        (self.names.len(), self.streets.len())
    }

    /// Whether both lists are empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.streets.is_empty()
    }
}

/// Unicode lower case.
pub fn lower(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    lower_into(s, &mut o);
    o
}

/// Unicode lower case into a reused buffer.
pub fn lower_into(s: &str, out: &mut String) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
    } else {
        out.reserve(s.len());
        for c in s.chars() {
            push_lower(c, out);
        }
    }
}

/// The list files, relative to a lists directory.
const FEMALE: &str = "names/first_names_female.jsonl";
const MALE: &str = "names/first_names_male.jsonl";
const SURNAMES: &str = "names/surnames.jsonl";
const STREETS: &str = "streets/street_names.jsonl";

/// The four lists' texts (one JSON string per line).
#[derive(Clone, Copy)]
struct Lists<'a> {
    female: &'a str,
    male: &'a str,
    surnames: &'a str,
    streets: &'a str,
}

const BUNDLED: Lists<'static> = Lists {
    female: include_str!("../lists/names/first_names_female.jsonl"),
    male: include_str!("../lists/names/first_names_male.jsonl"),
    surnames: include_str!("../lists/names/surnames.jsonl"),
    streets: include_str!("../lists/streets/street_names.jsonl"),
};

/// Calls `f(rank, entry)` for each line of a list; `path` names it in errors.
fn parse_jsonl_strings(
    path: &Path,
    text: &str,
    mut f: impl FnMut(u32, &str),
) -> Result<(), ScreenError> {
    let mut rank = 0u32;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let s: String = serde_json::from_str(t).map_err(|e| ScreenError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        rank += 1;
        f(rank, s.trim());
    }
    if rank == 0 {
        return Err(ScreenError::Empty(path.to_path_buf()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, file: &str, body: &str) {
        let p = dir.join(file);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    #[test]
    fn loads_lists_and_names_a_broken_line() {
        let dir = std::env::temp_dir().join(format!("marc-screening-lex-{}", std::process::id()));
        write(
            &dir,
            "names/first_names_female.jsonl",
            "\"ANNE\"\n\"ÅSE\"\n",
        );
        write(&dir, "names/first_names_male.jsonl", "\"PETER\"\n");
        write(&dir, "names/surnames.jsonl", "\"JENSEN\"\n");
        write(
            &dir,
            "streets/street_names.jsonl",
            "\"H.C. Andersens Boulevard\"\n",
        );
        let lex = Lexicon::load(&dir).unwrap();
        assert_eq!(lex.name("åse").map(|n| n.first_rank), Some(2));
        assert!(lex.name("jensen").is_some_and(|n| n.sur_rank == 1));
        let mut k = String::new();
        street_key("h. c. andersens  Boulevard", &mut k);
        assert!(lex.is_street(&k));
        write(&dir, "names/surnames.jsonl", "\"JENSEN\"\nNIELSEN\n");
        let e = Lexicon::load(&dir).unwrap_err().to_string();
        assert!(e.contains("surnames.jsonl") && e.contains("line 2"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn lower_into_is_unicode_lower_case() {
        let mut o = String::new();
        for w in [
            "",
            "ABC",
            "Ærø",
            "ÆØÅ×÷ÞßÿÀ",
            "İstanbul",
            "ΣΑΣ",
            "Anne-Marie's",
            "æble\u{1F37A}X",
        ] {
            lower_into(w, &mut o);
            let want: String = w
                .chars()
                .map(|c| {
                    let mut t = String::new();
                    push_lower(c, &mut t);
                    t
                })
                .collect();
            assert_eq!(o, want, "{w}");
        }
        for cp in 0xC0u32..=0xFF {
            let c = char::from_u32(cp).unwrap();
            lower_into(&c.to_string(), &mut o);
            assert_eq!(o, c.to_lowercase().to_string(), "{c}");
        }
    }

    #[test]
    fn bundled_lists_parse_in_full() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/lists"));
        let lex = Lexicon::from_lists(BUNDLED, dir).unwrap();
        let (names, streets) = lex.len();
        assert!(names > 100_000 && streets > 50_000, "{names} {streets}");
        assert_eq!(Lexicon::bundled().len(), (names, streets));
    }
}
