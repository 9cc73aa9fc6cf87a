//! Addresses: a street (from the list, or a word with a street suffix) and a
//! house number, then optional letter, floor and side, postcode and town.

use crate::lexicon::{lower_into, street_key, Lexicon};
use crate::rules::Rules;
use crate::token::{Tok, TokKind};

/// An address found in a text.
#[derive(Clone, Debug)]
pub struct AddrHit {
    pub start: usize,
    pub end: usize,
    /// "street-key number[letter]", to compare with the parties' addresses
    /// and the allow-list.
    pub key: String,
    pub confidence: f32,
    pub reason: &'static str,
}

/// Danish month names: "2. juni" after a place is a date, not an address.
const MONTHS: &[&str] = &[
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "okt",
    "nov",
    "dec",
];

/// Words after a number that make it a count, not a house number.
const UNITS: &[&str] = &[
    "kr",
    "år",
    "årig",
    "gange",
    "gang",
    "dage",
    "dag",
    "timer",
    "time",
    "min",
    "minutter",
    "stk",
    "procent",
    "personer",
    "børn",
    "måneder",
    "måned",
    "uger",
    "uge",
    "km",
    "m",
    "meter",
    "kg",
    "t",
    "mio",
    "mia",
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "okt",
    "nov",
    "dec",
];

/// Builds the comparison key of a written address ("Vestergade 12B, 2. tv."
/// -> "vestergade 12b"). Returns None when there is no house number.
pub fn address_key(addr: &str) -> Option<String> {
    let mut toks = Vec::new();
    crate::token::tokenize(addr, &mut toks);
    let k = toks
        .iter()
        .position(|t| t.kind == TokKind::Number && t.start > 0)?;
    let mut key = String::new();
    street_key(&addr[..toks[k].start], &mut key);
    if let Some(x) = key.strip_suffix(" nr") {
        key = x.to_string();
    }
    if key.is_empty() {
        return None;
    }
    key.push(' ');
    // the letter ("12B") is left out: "Vestergade 12" and "Vestergade 12B"
    // are treated as the same address, so the subject's own is never marked
    key.push_str(toks[k].text(addr));
    Some(key)
}

/// Finds addresses in one tokenized text.
pub fn find(s: &str, toks: &[Tok], lex: &Lexicon, rules: &Rules) -> Vec<AddrHit> {
    let mut out = Vec::new();
    let mut key = String::new();
    let mut buf = String::new();
    let maxw = lex.max_street_words().min(8);
    let mut k = 1;
    while k < toks.len() {
        let num = toks[k];
        if num.kind != TokKind::Number || !num.space_before || num.end - num.start > 4 {
            k += 1;
            continue;
        }
        // "Engvej\n133, 2. tv.": a house number opening the next line counts
        // when the street word ends the line before and address parts follow
        if num.newline_before && !number_on_next_line(s, toks, k) {
            k += 1;
            continue;
        }
        // the street's last word: "Vestergade 4", "Aqq. 174" (an
        // abbreviation's dot ends it), "Vestergade nr. 4"
        let prev = toks[k - 1];
        let (last, street_end) =
            if prev.is_punct('.') && k >= 3 && toks[k - 2].text(s).eq_ignore_ascii_case("nr") {
                (k - 3, toks[k - 3].end)
            } else if prev.is_punct('.') && k >= 2 && toks[k - 2].end == prev.start {
                (k - 2, prev.end)
            } else {
                (k - 1, prev.end)
            };
        let prev_word = toks[last];
        if !prev_word.is_word() {
            k += 1;
            continue;
        }
        // longest known street ending right before the number
        let mut best: Option<usize> = None; // token index where the street starts
        let mut words = 0;
        let mut m = last + 1;
        street_key(prev_word.text(s), &mut key);
        let could_be_listed = lex.is_street_last_word(&key);
        // bounded in tokens too: numbers and dots between words ("10.
        // Februar Vej") count, or a line of digits would be walked over at
        // every house number (quadratic)
        let mut steps = 0;
        while could_be_listed && m > 0 && words < maxw + 2 && steps < 2 * maxw + 4 {
            m -= 1;
            steps += 1;
            let t = toks[m];
            match t.kind {
                TokKind::Word => words += 1,
                TokKind::Number | TokKind::Punct('.') | TokKind::Punct('-') => {}
                _ => break,
            }
            let first_ok = (t.is_word() && (t.cap || t.all_caps)) || t.kind == TokKind::Number;
            if first_ok {
                street_key(&s[t.start..street_end], &mut key);
                if lex.is_street(&key) {
                    best = Some(m);
                }
            }
            if toks[m].newline_before {
                break;
            }
        }
        let (street_start, mut conf, reason) = match best {
            Some(m) => (m, 0.9f32, "street from the street list and house number"),
            None => {
                lower_into(prev_word.text(s), &mut buf);
                if !prev_word.cap || !rules.street_like(&buf, false) && !rules.street_word(&buf) {
                    k += 1;
                    continue;
                }
                // "Solsikkevej 4"; "Mølle Allé 4", "Peter Bangs Vej 4": take capitalised words before a bare suffix
                let mut m = last;
                if rules.street_word(&buf) && buf.chars().count() <= 9 {
                    let mut back = 0;
                    while m > 0 && back < 3 {
                        let t = toks[m - 1];
                        if !(t.is_word() && t.cap && !toks[m].newline_before) {
                            break;
                        }
                        lower_into(t.text(s), &mut buf);
                        if rules.is_function(buf.as_str()) {
                            break;
                        }
                        m -= 1;
                        back += 1;
                    }
                }
                (m, 0.72, "street-like word and house number")
            }
        };
        // the house number must not be a count or a date
        let mut e = k + 1;
        if let Some(n) = toks.get(e) {
            if n.is_word() {
                lower_into(n.text(s), &mut buf);
                if UNITS.contains(&buf.as_str()) {
                    k += 1;
                    continue;
                }
            }
            if n.is_punct('%') {
                k += 1;
                continue;
            }
            // "Fårvang 2. juni 2023": a place and a date in a letter's head
            if n.is_punct('.')
                && toks.get(e + 1).is_some_and(|m| {
                    m.is_word() && {
                        lower_into(m.text(s), &mut buf);
                        MONTHS.contains(&buf.as_str())
                    }
                })
            {
                k += 1;
                continue;
            }
        }
        let mut end = num.end;
        let number_key = num.text(s);
        // letter: "12B", "12 B"
        if let Some(n) = toks.get(e) {
            let glued = n.start == num.end;
            if n.is_word()
                && n.end - n.start == 1
                && (glued
                    || (n.cap
                        && !toks
                            .get(e + 1)
                            .is_some_and(|x| x.is_punct('.') && !x.space_before)))
            {
                end = n.end;
                e += 1;
            }
        }
        // range "12-14"
        if toks
            .get(e)
            .is_some_and(|t| t.is_punct('-') && !t.space_before)
            && toks
                .get(e + 1)
                .is_some_and(|t| t.kind == TokKind::Number && !t.space_before)
        {
            end = toks[e + 1].end;
            e += 2;
        }
        // floor and side: ", 2. tv.", " st. th.", ", 1. sal", ", 3 mf", ", kl."
        let mut f = e;
        if toks.get(f).is_some_and(|t| t.is_punct(',')) {
            f += 1;
        }
        let mut floor_end = None;
        let mut g = f;
        if let Some(t) = toks.get(g) {
            if t.kind == TokKind::Number && t.end - t.start <= 2 && !t.newline_before {
                g += 1;
                if toks
                    .get(g)
                    .is_some_and(|t| t.is_punct('.') && !t.space_before)
                {
                    floor_end = Some(toks[g].end);
                    g += 1;
                } else if toks
                    .get(g)
                    .is_some_and(|t| t.is_word() && is_side(&s[t.start..t.end]))
                {
                    floor_end = Some(toks[g - 1].end);
                }
            } else if t.is_word() && !t.newline_before {
                lower_into(t.text(s), &mut buf);
                if matches!(
                    buf.as_str(),
                    "st" | "stuen" | "stue" | "kl" | "kælder" | "kld" | "sal" | "parterre"
                ) {
                    g += 1;
                    floor_end = Some(toks[g - 1].end);
                    if toks
                        .get(g)
                        .is_some_and(|t| t.is_punct('.') && !t.space_before)
                    {
                        floor_end = Some(toks[g].end);
                        g += 1;
                    }
                }
            }
        }
        if let Some(fe) = floor_end {
            end = fe;
            // "sal", side, door number
            let mut h = g;
            if toks.get(h).is_some_and(|t| t.is_punct(',')) {
                h += 1;
            }
            if let Some(t) = toks.get(h) {
                let w = t.text(s);
                if t.is_word() && (is_side(w) || w.eq_ignore_ascii_case("sal")) {
                    end = t.end;
                    h += 1;
                    if toks
                        .get(h)
                        .is_some_and(|t| t.is_punct('.') && !t.space_before)
                    {
                        end = toks[h].end;
                        h += 1;
                    }
                    // "1. sal tv."
                    if let Some(t2) = toks.get(h) {
                        if t2.is_word() && is_side(t2.text(s)) && w.eq_ignore_ascii_case("sal") {
                            end = t2.end;
                            h += 1;
                            if toks
                                .get(h)
                                .is_some_and(|t| t.is_punct('.') && !t.space_before)
                            {
                                end = toks[h].end;
                                h += 1;
                            }
                        }
                    }
                } else if t.kind == TokKind::Number && t.end - t.start <= 3 && !t.newline_before {
                    end = t.end; // door number "2. 3"
                    h += 1;
                }
            }
            e = h;
        }
        // postcode and town: ", 8600 Silkeborg", "DK-8600 Silkeborg C", a
        // village before them (", Bårup, 4370 St. Merløse"), "8210, Århus V",
        // foreign codes ("111 22 Stockholm", "10115 Berlin"), a country line
        let mut p = e;
        if toks.get(p).is_some_and(|t| t.is_punct(',')) {
            p += 1;
        }
        if let Some(v) = village_before_postcode(s, toks, p) {
            p = v;
        }
        if toks.get(p).is_some_and(|t| {
            t.is_word() && (t.text(s) == "DK" || t.text(s) == "S" || t.text(s) == "D")
        }) && toks.get(p + 1).is_some_and(|t| t.is_punct('-'))
        {
            p += 2;
        }
        let mut with_town = false;
        if let Some((town_at, _)) = postcode_at(s, toks, p) {
            if let Some(town_end) = town_from(s, toks, town_at) {
                end = town_end.0;
                with_town = true;
                if let Some(c) = country_after(s, toks, town_end.1) {
                    end = c;
                }
            }
        } else if toks
            .get(p)
            .is_some_and(|t| t.text(s) == "i" && !t.newline_before && p == e)
            && toks
                .get(p + 1)
                .is_some_and(|t| t.is_word() && t.cap && !t.newline_before)
        {
            // "Søndergade 45 i Odense", "Møllegade 3, 1. th. i Haderslev"
            if let Some(town_end) = town_from(s, toks, p + 1) {
                end = town_end.0;
                with_town = true;
            }
        } else if let Some(t) = toks.get(p) {
            if t.is_word() && t.cap && !t.newline_before && p > e {
                // ", Silkeborg" without a postcode: only a known town
                lower_into(t.text(s), &mut buf);
                if rules.flags(&buf) & crate::rules::TOWN != 0 {
                    end = t.end;
                    with_town = true;
                }
            }
        }
        if floor_end.is_some() {
            conf += 0.03;
        }
        if with_town {
            conf += 0.05;
        }
        street_key(&s[toks[street_start].start..street_end], &mut key);
        let full_key = format!("{key} {number_key}");
        out.push(AddrHit {
            start: toks[street_start].start,
            end,
            key: full_key,
            confidence: conf.min(0.98),
            reason,
        });
        // continue after the address
        while k < toks.len() && toks[k].start < end {
            k += 1;
        }
    }
    out
}

/// Whether the house number at token `k`, first on its line, belongs to the
/// street word ending the line before: address parts must follow it (a
/// comma, a floor, a postcode) or it must end its line.
fn number_on_next_line(s: &str, toks: &[Tok], k: usize) -> bool {
    let prev = toks[k - 1];
    if !prev.is_word() || !prev.cap {
        return false;
    }
    match toks.get(k + 1) {
        None => true,
        Some(n) => {
            n.newline_before
                || n.is_punct(',')
                || (n.is_word() && n.start == toks[k].end && n.end - n.start == 1)
                || n.kind == TokKind::Number
                    && n.end - n.start == 4
                    && !s[n.start..].starts_with('0')
        }
    }
}

/// Where the town starts after a postcode at token `p`: "8600 Silkeborg",
/// "8210, Århus V", "111 22 Stockholm", "10115 Berlin". Returns (town token,
/// postcode end).
fn postcode_at(s: &str, toks: &[Tok], p: usize) -> Option<(usize, usize)> {
    let t = toks.get(p)?;
    if t.kind != TokKind::Number {
        return None;
    }
    let pc = t.text(s);
    let mut q = p + 1;
    let ok = match pc.len() {
        4 | 5 => !pc.starts_with('0') || pc.len() == 5,
        // Swedish "111 22"
        3 => toks
            .get(q)
            .is_some_and(|n| n.kind == TokKind::Number && n.end - n.start == 2 && !n.newline_before)
            .then(|| q += 1)
            .is_some(),
        _ => false,
    };
    if !ok {
        return None;
    }
    if toks
        .get(q)
        .is_some_and(|n| n.is_punct(',') && !n.newline_before)
    {
        q += 1;
    }
    let town = toks.get(q)?;
    (town.is_word() && town.cap && !town.newline_before).then_some((q, toks[q - 1].end))
}

/// The end of a town name starting at token `q` ("Aarhus C", "St.
/// Merløse", "Kgs. Lyngby", "Ny Ellebjerg") and the token after it.
fn town_from(s: &str, toks: &[Tok], q: usize) -> Option<(usize, usize)> {
    let first = toks.get(q)?;
    let mut end = first.end;
    let mut r = q + 1;
    let mut words = 1;
    // an abbreviation's dot: "St. Merløse"
    let abbrev = [
        "st", "kgs", "nr", "sdr", "gl", "skt", "sct", "ll", "vr", "ø", "v", "n", "s",
    ]
    .iter()
    .any(|a| a.eq_ignore_ascii_case(first.text(s)));
    if abbrev
        && toks
            .get(r)
            .is_some_and(|t| t.is_punct('.') && t.start == end)
        && toks
            .get(r + 1)
            .is_some_and(|t| t.is_word() && t.cap && !t.newline_before)
    {
        end = toks[r + 1].end;
        r += 2;
        words += 1;
    }
    while let Some(t) = toks.get(r) {
        if t.is_word() && t.cap && t.space_before && !t.newline_before && words < 3 {
            end = t.end;
            r += 1;
            words += 1;
        } else {
            break;
        }
    }
    Some((end, r))
}

/// A village between the house number and the postcode (", Bårup, 4370"):
/// capitalised words, a comma, then a postcode. Returns the postcode token.
fn village_before_postcode(s: &str, toks: &[Tok], p: usize) -> Option<usize> {
    let mut q = p;
    let mut words = 0;
    while let Some(t) = toks.get(q) {
        // the village may stand on a line of its own ("Skovbrynet 4\nBårup\n4370")
        if t.is_word() && t.cap && (!t.newline_before || q == p) && words < 3 {
            q += 1;
            words += 1;
        } else {
            break;
        }
    }
    if words == 0 {
        return None;
    }
    match toks.get(q) {
        Some(t) if t.is_punct(',') => postcode_at(s, toks, q + 1).map(|_| q + 1),
        // the postcode on the next line
        Some(t) if t.newline_before => postcode_at(s, toks, q).map(|_| q),
        _ => None,
    }
}

/// Countries written on the line after a town.
const COUNTRIES: &[&str] = &[
    "danmark",
    "denmark",
    "sverige",
    "sweden",
    "norge",
    "norway",
    "tyskland",
    "germany",
    "deutschland",
    "england",
    "uk",
    "storbritannien",
    "frankrig",
    "france",
    "spanien",
    "spain",
    "polen",
    "poland",
    "holland",
    "nederlandene",
    "netherlands",
    "belgien",
    "belgium",
    "italien",
    "italy",
    "schweiz",
    "østrig",
    "finland",
    "island",
    "iceland",
    "færøerne",
    "grønland",
    "greenland",
    "usa",
    "litauen",
    "letland",
    "estland",
    "rumænien",
    "bulgarien",
    "tyrkiet",
];

/// The end of a country right after a town (token `r`), on its own line
/// or after a comma ("…, 247 34 Södra Sandby, Sverige"), if any.
fn country_after(s: &str, toks: &[Tok], mut r: usize) -> Option<usize> {
    if toks
        .get(r)
        .is_some_and(|t| t.is_punct(',') && !t.newline_before)
    {
        let t = toks.get(r + 1)?;
        let known = COUNTRIES.iter().any(|c| c.eq_ignore_ascii_case(t.text(s)));
        return (t.is_word() && !t.newline_before && known).then_some(t.end);
    }
    let t = toks.get(r)?;
    r += 1;
    let single_line = toks.get(r).is_none_or(|n| n.newline_before);
    (t.is_word()
        && t.newline_before
        && single_line
        && COUNTRIES.iter().any(|c| c.eq_ignore_ascii_case(t.text(s))))
    .then_some(t.end)
}

fn is_side(w: &str) -> bool {
    matches!(
        w.to_ascii_lowercase().as_str(),
        "tv" | "th" | "mf" | "t" | "v" | "h"
    )
}
