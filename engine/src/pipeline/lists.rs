//! Lists an administrator keeps in the store, on top of those in
//! `marc.toml`: the municipality's sensitive words, allow-listed addresses
//! (institutions, never a person's), and the departments whose answers
//! always wait for a caseworker (control level `review` per department),
//! and the systems switched off (requests do not search them meanwhile).
//! Changed from the administration page while marc runs; the next request
//! screened uses them.

use anyhow::{Context, Result};
use marc_store::Store;

const LISTS: &str = "lists";

/// Which list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Words,
    AllowAddresses,
    ReviewDepartments,
    DisabledSystems,
}

impl List {
    pub const ALL: [List; 4] = [
        List::Words,
        List::AllowAddresses,
        List::ReviewDepartments,
        List::DisabledSystems,
    ];

    /// The name in forms, the store and the audit log.
    pub fn as_str(&self) -> &'static str {
        match self {
            List::Words => "words",
            List::AllowAddresses => "allow_addresses",
            List::ReviewDepartments => "review_departments",
            List::DisabledSystems => "disabled_systems",
        }
    }

    pub fn parse(s: &str) -> Option<List> {
        List::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// The items of a list, in the order they were added.
pub fn get(store: &Store, list: List) -> Result<Vec<String>> {
    Ok(store
        .table(LISTS)?
        .get_json::<Vec<String>>(list.as_str())
        .with_context(|| format!("the stored list {} is unreadable", list.as_str()))?
        .unwrap_or_default())
}

/// Adds or removes an item (compared case-insensitively, trimmed); says
/// whether the list changed.
pub fn change(store: &Store, list: List, item: &str, add: bool) -> Result<bool> {
    let item = item.trim();
    let t = store.table(LISTS)?;
    loop {
        let old = t.get(list.as_str())?;
        let mut items: Vec<String> = match &old {
            Some(b) => serde_json::from_slice(b)
                .with_context(|| format!("the stored list {} is unreadable", list.as_str()))?,
            None => Vec::new(),
        };
        let at = items
            .iter()
            .position(|x| x.to_lowercase() == item.to_lowercase());
        match (add, at) {
            (true, None) => items.push(item.to_string()),
            (false, Some(i)) => {
                items.remove(i);
            }
            _ => return Ok(false),
        }
        let new = serde_json::to_vec(&items)?;
        if t.compare_and_swap(list.as_str(), old.as_deref(), Some(&new))? {
            store.flush()?;
            return Ok(true);
        }
    }
}

/// The configured items and the stored ones together, without repeats.
pub fn merged(configured: &[String], store: &Store, list: List) -> Result<Vec<String>> {
    let mut all = configured.to_vec();
    for item in get(store, list)? {
        if !all.iter().any(|x| x.to_lowercase() == item.to_lowercase()) {
            all.push(item);
        }
    }
    Ok(all)
}

/// The working days from receipt to the deadline: the administrator's
/// setting if there is one, else `configured` (marc.toml).
pub fn deadline_days(store: &Store, configured: u32) -> Result<u32> {
    Ok(store
        .table(LISTS)?
        .get_json::<u32>(DEADLINE_DAYS)
        .context("the stored deadline setting is unreadable")?
        .unwrap_or(configured))
}

/// Sets the working days to the deadline of requests received from now on.
pub fn set_deadline_days(store: &Store, days: u32) -> Result<()> {
    store.table(LISTS)?.put_json(DEADLINE_DAYS, &days)?;
    store.flush()?;
    Ok(())
}

const DEADLINE_DAYS: &str = "deadline_days";

/// Forms of `word` that screening will mark: its inflections as the
/// word list's own matcher accepts them (so the preview cannot disagree
/// with what is marked).
pub fn inflections(word: &str) -> Vec<String> {
    let word = word.trim().to_lowercase();
    if word.chars().count() < 2 {
        return Vec::new();
    }
    const ENDINGS: &[&str] = &[
        "", "e", "en", "et", "er", "erne", "ene", "es", "s", "ens", "ets", "ers", "ernes", "ende",
        "ede", "t", "r", "n", "ne", "rne", "ing", "inger", "ingen", "ige", "lig", "lige",
    ];
    let matcher = marc_screening::WordMatcher::new(std::slice::from_ref(&word));
    let stems = {
        let mut s = vec![word.clone()];
        if let Some(w) = word.strip_suffix('e') {
            s.push(w.to_string());
        }
        if let Some(last) = word.chars().last().filter(|c| !"aeiouyæøå".contains(*c)) {
            s.push(format!("{word}{last}"));
        }
        s
    };
    let mut out: Vec<String> = Vec::new();
    for stem in &stems {
        for e in ENDINGS {
            let form = format!("{stem}{e}");
            let mut hits = Vec::new();
            matcher.find(&form, &mut hits);
            let whole = hits.iter().any(|(s, e, _)| *s == 0 && *e == form.len());
            if whole && !out.contains(&form) {
                out.push(form);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_change_once_and_merge_with_the_configuration() {
        let store = Store::temporary().unwrap();
        assert!(change(&store, List::Words, " Misbrug ", true).unwrap());
        assert!(
            !change(&store, List::Words, "misbrug", true).unwrap(),
            "already there"
        );
        assert_eq!(get(&store, List::Words).unwrap(), ["Misbrug"]);
        let m = merged(&["misbrug".into(), "gæld".into()], &store, List::Words).unwrap();
        assert_eq!(m, ["misbrug", "gæld"]);
        assert!(change(&store, List::Words, "MISBRUG", false).unwrap());
        assert!(get(&store, List::Words).unwrap().is_empty());
        assert!(get(&store, List::AllowAddresses).unwrap().is_empty());
        assert_eq!(deadline_days(&store, 7).unwrap(), 7);
        set_deadline_days(&store, 10).unwrap();
        assert_eq!(deadline_days(&store, 7).unwrap(), 10);
    }

    #[test]
    fn the_preview_shows_what_the_matcher_marks() {
        let forms = inflections("sygdom");
        for f in ["sygdom", "sygdommen", "sygdomme"] {
            assert!(forms.contains(&f.to_string()), "{f} missing from {forms:?}");
        }
        assert!(!forms.iter().any(|f| f == "sygdomx"));
        assert!(inflections(" ").is_empty());
    }
}
