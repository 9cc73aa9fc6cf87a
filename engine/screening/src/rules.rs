//! The rule lists as hash sets, built once per [`crate::Screener`].

use crate::builtin;
use crate::lexicon::lower;
use rustc_hash::FxHashSet;

/// Compiled rule lists (see [`crate::builtin`] for what each means).
#[derive(Debug, Clone)]
pub struct Rules {
    pub function: FxHashSet<String>,
    pub name_words: FxHashSet<String>,
    pub titles: FxHashSet<String>,
    pub towns: FxHashSet<String>,
    pub institutions: FxHashSet<String>,
    pub street_suffixes: Vec<String>,
}

fn set(list: &'static str) -> FxHashSet<String> {
    builtin::words(list).map(lower).collect()
}

impl Rules {
    pub fn new() -> Rules {
        let mut street_suffixes: Vec<String> = builtin::words(builtin::STREET_SUFFIXES).map(lower).collect();
        street_suffixes.sort_by_key(|s| std::cmp::Reverse(s.len()));
        street_suffixes.dedup();
        Rules {
            function: set(builtin::FUNCTION_WORDS),
            name_words: set(builtin::NAME_WORDS),
            titles: set(builtin::TITLES),
            towns: set(builtin::TOWNS),
            institutions: set(builtin::INSTITUTION_WORDS),
            street_suffixes,
        }
    }

    /// Whether a lower-case word ends like a street name ("solsikkevej").
    /// `exact` also accepts the bare suffix ("vej").
    pub fn street_like(&self, w: &str, exact: bool) -> bool {
        self.street_suffixes
            .iter()
            .any(|s| w.ends_with(s.as_str()) && (exact || w.len() > s.len() + 2))
    }

    /// Whether a lower-case word is unmistakably a street word ("vej",
    /// "solsikkevej", "allé"): a name run before it belongs to a street.
    pub fn street_word(&self, w: &str) -> bool {
        const STRICT: &[&str] = &[
            "vej", "vejen", "gade", "gaden", "allé", "alle", "stræde", "strædet", "boulevard", "plads",
            "pladsen", "torv", "torvet", "vænge", "vænget", "passage", "promenade", "kaj", "kajen",
            "brygge", "bryggen", "stien", "parken",
        ];
        STRICT.iter().any(|s| w == *s || (w.ends_with(s) && w.len() > s.len() + 2))
    }

    /// Whether a lower-case word names an institution ("kommune",
    /// "familieafdelingen").
    pub fn institution(&self, w: &str) -> bool {
        if self.institutions.contains(w) {
            return true;
        }
        const SUFFIX: &[&str] = &[
            "afdeling", "afdelingen", "forvaltning", "forvaltningen", "centret", "centeret", "center",
            "styrelsen", "styrelse", "ministeriet", "hospital", "hospitalet", "sygehus", "sygehuset",
            "skole", "skolen", "institution", "institutionen", "kommune", "kommunen", "udvalget",
            "udvalg", "tilsyn", "tilsynet", "rådet", "retten", "huset", "klinik", "klinikken",
            "børnehave", "børnehaven", "gymnasium", "gymnasiet", "sekretariat", "sekretariatet",
            "enhed", "enheden", "team", "teamet", "tjeneste", "tjenesten", "kontor", "kontoret",
        ];
        SUFFIX.iter().any(|s| w.ends_with(s))
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules::new()
    }
}
