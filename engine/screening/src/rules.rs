//! The rule lists as hash sets, built once per [`crate::Screener`].

use crate::builtin;
use crate::lexicon::lower;
use rustc_hash::FxHashMap;

pub const FUNCTION: u8 = 1;
pub const TITLE: u8 = 2;
pub const TOWN: u8 = 4;
pub const NAME_WORD: u8 = 8;
pub const INSTITUTION: u8 = 16;

const STREET_STRICT: &str =
    "vej vejen gade gaden allé alle stræde strædet boulevard plads pladsen torv \
    torvet vænge vænget passage promenade kaj kajen brygge bryggen stien parken bro broen";
const INSTITUTION_SUFFIXES: &str = "afdeling afdelingen forvaltning forvaltningen centret centeret center \
    institut institutet havn havnen lufthavn lufthavnen \
    styrelsen styrelse ministeriet hospital hospitalet sygehus sygehuset skole skolen institution \
    institutionen kommune kommunen udvalget udvalg tilsyn tilsynet rådet retten huset klinik klinikken \
    børnehave børnehaven gymnasium gymnasiet sekretariat sekretariatet enhed enheden team teamet \
    tjeneste tjenesten kontor kontoret plejen forretning forretningen forsamlingshus korshær \
    salen hjem hjemmet højskole højskolen airport konkurrence konkurrencen prisen";

/// Compiled rule lists (see [`crate::builtin`] for what each means).
#[derive(Debug, Clone)]
pub struct Rules {
    /// Every rule word with its flags (one hash lookup per word).
    words: FxHashMap<String, u8>,
    pub street_suffixes: SuffixSet,
    pub street_strict: SuffixSet,
    pub institution_suffixes: SuffixSet,
}

impl Rules {
    pub fn new() -> Rules {
        let mut words: FxHashMap<String, u8> = FxHashMap::default();
        for (list, flag) in [
            (builtin::FUNCTION_WORDS, FUNCTION),
            (builtin::TITLES, TITLE),
            (builtin::TOWNS, TOWN),
            (builtin::NAME_WORDS, NAME_WORD),
            (builtin::INSTITUTION_WORDS, INSTITUTION),
        ] {
            for w in builtin::words(list) {
                *words.entry(lower(w)).or_default() |= flag;
            }
        }
        Rules {
            words,
            street_suffixes: SuffixSet::new(builtin::words(builtin::STREET_SUFFIXES)),
            street_strict: SuffixSet::new(builtin::words(STREET_STRICT)),
            institution_suffixes: SuffixSet::new(builtin::words(INSTITUTION_SUFFIXES)),
        }
    }

    /// The rule flags of a lower-case word (0 = none).
    pub fn flags(&self, w: &str) -> u8 {
        self.words.get(w).copied().unwrap_or(0)
    }

    /// Whether a lower-case word is a function or common word.
    pub fn is_function(&self, w: &str) -> bool {
        self.flags(w) & FUNCTION != 0
    }

    /// Whether a lower-case word ends like a street name ("solsikkevej").
    /// `exact` also accepts the bare suffix ("vej").
    pub fn street_like(&self, w: &str, exact: bool) -> bool {
        self.street_suffixes.matches(w, if exact { 0 } else { 3 })
    }

    /// Whether a lower-case word is unmistakably a street word ("vej",
    /// "solsikkevej", "allé"): a name run before it belongs to a street.
    pub fn street_word(&self, w: &str) -> bool {
        self.street_strict.contains_exact(w) || self.street_strict.matches(w, 3)
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::new()
    }
}

/// Suffixes bucketed by their last byte, so a word is compared only with
/// the few suffixes that end like it (this runs on every capitalised word).
#[derive(Debug, Clone)]
pub struct SuffixSet {
    buckets: Vec<Vec<String>>,
}

impl SuffixSet {
    pub fn new<'a>(words: impl Iterator<Item = &'a str>) -> SuffixSet {
        let mut buckets = vec![Vec::new(); 256];
        for w in words {
            let w = lower(w);
            if let Some(&b) = w.as_bytes().last() {
                if !buckets[b as usize].contains(&w) {
                    buckets[b as usize].push(w);
                }
            }
        }
        SuffixSet { buckets }
    }

    /// Whether `w` ends with a suffix and has at least `extra` more bytes.
    pub fn matches(&self, w: &str, extra: usize) -> bool {
        let Some(&b) = w.as_bytes().last() else {
            return false;
        };
        self.buckets[b as usize]
            .iter()
            .any(|s| w.len() >= s.len() + extra && w.ends_with(s.as_str()))
    }

    /// Whether `w` is one of the suffixes itself.
    pub fn contains_exact(&self, w: &str) -> bool {
        let Some(&b) = w.as_bytes().last() else {
            return false;
        };
        self.buckets[b as usize].iter().any(|s| s == w)
    }
}
