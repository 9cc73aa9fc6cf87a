//! Addresses: a street (from the list, or a word with a street suffix) and a
//! house number, then optional letter, floor and side, postcode and town.

use crate::lexicon::{lower_into, street_first_word, street_key, Lexicon};
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
    /// Floor, side and door ([`address_key_unit`]).
    pub unit: String,
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
    key_of_tokens(addr, &toks)
}

/// [`address_key`] of an address and its unit: the floor, side and door,
/// normalised ("Møllegade 3, 1. th. i Haderslev" -> "1th", "12B, stuen
/// tv." -> "sttv"; empty when none is written): two flats of one house are
/// two addresses. The address is tokenized once.
pub(crate) fn address_key_unit(addr: &str) -> Option<(String, String)> {
    let mut toks = Vec::new();
    crate::token::tokenize(addr, &mut toks);
    let key = key_of_tokens(addr, &toks)?;
    let k = toks
        .iter()
        .position(|t| t.kind == TokKind::Number && t.start > 0)?;
    Some((key, unit_after(addr, &toks, k)))
}

/// [`address_key`] of an address's tokens.
fn key_of_tokens(addr: &str, toks: &[Tok]) -> Option<String> {
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

/// The unit of an address whose house number is token `k` and whose last
/// token is the last of `toks` (see [`address_key_unit`]).
fn unit_after(addr: &str, toks: &[Tok], k: usize) -> String {
    let mut unit = String::new();
    let mut i = k + 1;
    // the letter of "12B" / "12 B" is not part of the unit
    if toks
        .get(i)
        .is_some_and(|t| t.is_word() && t.end - t.start == 1 && !is_side(t.text(addr)))
    {
        i += 1;
    }
    for t in &toks[i..] {
        match t.kind {
            TokKind::Number if t.end - t.start <= 2 => unit.push_str(t.text(addr)),
            TokKind::Number => break,
            TokKind::Word => {
                let w = t.text(addr).to_lowercase();
                match w.as_str() {
                    "st" | "stuen" | "stue" | "parterre" => unit.push_str("st"),
                    "kl" | "kld" | "kælder" => unit.push_str("kl"),
                    "sal" | "lejl" | "lejlighed" | "kv" | "apt" | "nr" => {}
                    w if is_side(w) => unit.push_str(match w {
                        "t" | "th" | "h" => "th",
                        "v" | "tv" => "tv",
                        _ => w,
                    }),
                    _ => break,
                }
            }
            _ => {}
        }
    }
    unit
}

/// Whether two addresses (key, unit) are the same: street and number
/// equal, and one unit the start of the other ("st" and "sttv"; an empty
/// unit fits any): "Møllegade 3, 1. th." is not "Møllegade 3, 2. tv.".
pub fn same_address(a: (&str, &str), b: (&str, &str)) -> bool {
    a.0 == b.0 && (a.1.starts_with(b.1) || b.1.starts_with(a.1))
}

/// Finds addresses in one tokenized text.
pub fn find(s: &str, toks: &[Tok], lex: &Lexicon, rules: &Rules) -> Vec<AddrHit> {
    let mut out = Vec::new();
    let mut key = String::new();
    let mut first = String::new();
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
                // (the whole key only when its first word starts a street)
                street_first_word(&s[t.start..street_end], &mut first);
                if lex.is_street_first_word(&first) {
                    street_key(&s[t.start..street_end], &mut key);
                    if lex.is_street(&key) {
                        best = Some(m);
                    }
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
                    // "vul. Franka 48", "rue de Rivoli 12": a street type before the name
                    if let Some(m) = street_type_before(s, toks, last) {
                        (m, 0.75, "street type, street name and house number")
                    } else if let Some(m) = (prev_word.cap && !prev_word.all_caps)
                        .then(|| unknown_street_start(s, toks, last, rules, &mut buf))
                        .flatten()
                        .filter(|_| postcode_follows(s, toks, k))
                    {
                        // "Aqqusinersuaq 18, lejl. 4, 3900 Nuuk": any street
                        // name with a house number, a postcode and a town
                        (m, 0.75, "street name, house number, postcode and town")
                    } else {
                        k += 1;
                        continue;
                    }
                } else {
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
                // "lejl. 4", "lejlighed 12", "kv. 9", "apt. 3"
                if matches!(buf.as_str(), "lejl" | "lejlighed" | "kv" | "apt" | "leil") {
                    let mut h = g + 1;
                    if toks
                        .get(h)
                        .is_some_and(|t| t.is_punct('.') && !t.space_before)
                    {
                        h += 1;
                    }
                    if let Some(n) = toks.get(h).filter(|n| {
                        n.kind == TokKind::Number && n.end - n.start <= 4 && !n.newline_before
                    }) {
                        end = n.end;
                        e = h + 1;
                        g = e;
                    }
                }
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
        } else if let Some(n) = toks.get(p + 1).filter(|n| {
            toks[p].is_word()
                && toks[p].cap
                && !toks[p].newline_before
                && n.kind == TokKind::Number
                && n.end - n.start >= 5
                && n.end - n.start <= 6
                && !n.newline_before
                && p > e
        }) {
            // "Kharkiv 61023, Ukraine": the town before the postcode
            end = n.end;
            with_town = true;
            if let Some(c) = country_after(s, toks, p + 2) {
                end = c;
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
            unit: unit_after(s, &toks[..toks.partition_point(|t| t.start < end)], k),
            confidence: conf.min(0.98),
            reason,
        });
        // "Adresse: Tjørnevej 15B, stue tv.\nPostnr. og by: 8210, Århus V":
        // the postcode and town in a field of their own on the next line
        if !with_town {
            if let Some(h) = postcode_field_after(s, toks, end) {
                let last = &out[out.len() - 1];
                let (key, unit) = (last.key.clone(), last.unit.clone());
                out.push(AddrHit {
                    start: h.0,
                    end: h.1,
                    key,
                    unit,
                    confidence: 0.8,
                    reason: "postcode and town in a field after an address",
                });
                end = h.1;
            }
        }
        // continue after the address
        while k < toks.len() && toks[k].start < end {
            k += 1;
        }
    }
    number_first(s, toks, rules, &mut out);
    out
}

/// Words of a street type written before the street's name ("vul.
/// Franka", "ul. Portowa", "rue de Rivoli", "Via Roma", "calle Mayor").
const STREET_TYPES: &[&str] = &[
    "vul", "vulytsya", "ul", "ulica", "ulitsa", "rue", "via", "calle", "avenida", "rua", "strada",
    "viale", "piazza", "plac", "aleja", "al",
];

/// The token where a street starts when a street type stands before the
/// capitalised words ending at `last` ("vul. Franka 48": the "vul").
fn street_type_before(s: &str, toks: &[Tok], last: usize) -> Option<usize> {
    let mut m = last;
    let mut words = 0;
    loop {
        let t = toks[m];
        let particle = matches!(t.text(s), "de" | "la" | "del" | "di" | "da" | "du" | "des");
        if !(t.is_word() && (t.cap || particle)) || words >= 4 {
            return None;
        }
        words += 1;
        if m == 0 || t.newline_before {
            return None;
        }
        let mut q = m - 1;
        if toks[q].is_punct('.') && toks[q].start == toks[q.saturating_sub(1)].end && q > 0 {
            q -= 1;
        }
        let w = toks[q];
        if w.is_word()
            && STREET_TYPES
                .iter()
                .any(|x| x.eq_ignore_ascii_case(w.text(s)))
        {
            return Some(q);
        }
        m -= 1;
    }
}

/// The first of up to three capitalised words ending at `last` on one line
/// that may name a street nobody listed ("Aqqaluartaap Aqqutaa"): no
/// function word, town, institution word or post-office box.
fn unknown_street_start(
    s: &str,
    toks: &[Tok],
    last: usize,
    rules: &Rules,
    buf: &mut String,
) -> Option<usize> {
    let ok = |t: &Tok, buf: &mut String| {
        t.is_word() && t.cap && !t.all_caps && {
            lower_into(t.text(s), buf);
            rules.flags(buf)
                & (crate::rules::FUNCTION
                    | crate::rules::TOWN
                    | crate::rules::INSTITUTION
                    | crate::rules::TITLE)
                == 0
                && !matches!(
                    buf.as_str(),
                    "postboks"
                        | "boks"
                        | "box"
                        | "pb"
                        | "bilag"
                        | "side"
                        | "punkt"
                        | "afsnit"
                        | "kapitel"
                        | "bygning"
                        | "lokale"
                        | "mødelokale"
                        | "hus"
                )
        }
    };
    if !ok(&toks[last], buf) {
        return None;
    }
    let mut m = last;
    while m > 0 && last - m < 2 && !toks[m].newline_before && ok(&toks[m - 1], buf) {
        m -= 1;
    }
    Some(m)
}

/// Whether a postcode and a town follow the house number at token `k`, on
/// its line or the next, with only a letter, floor, side, flat number or a
/// village between ("18, lejl. 4, 3900 Nuuk").
fn postcode_follows(s: &str, toks: &[Tok], k: usize) -> bool {
    let mut j = k + 1;
    let mut lines = 0;
    while let Some(t) = toks.get(j) {
        if j > k + 14 {
            return false;
        }
        if t.newline_before {
            lines += 1;
            if lines > 1 {
                return false;
            }
        }
        match t.kind {
            TokKind::Number if t.end - t.start >= 4 => {
                return t.end - t.start == 4
                    && postcode_at(s, toks, j).is_some()
                    && !toks.get(j + 1).is_some_and(|n| n.newline_before);
            }
            TokKind::Number => {}
            TokKind::Punct(',' | '.' | '-') => {}
            TokKind::Word => {
                let w = t.text(s).to_lowercase();
                let unit = t.end - t.start == 1
                    || matches!(
                        w.as_str(),
                        "st" | "stuen"
                            | "stue"
                            | "tv"
                            | "th"
                            | "mf"
                            | "sal"
                            | "lejl"
                            | "lejlighed"
                            | "kv"
                            | "apt"
                            | "kl"
                    );
                if !unit {
                    return false;
                }
            }
            _ => return false,
        }
        j += 1;
    }
    false
}

/// "Postnr. og by: 8210, Århus V" on the line after an address ending at
/// `end`: the postcode-and-town span.
fn postcode_field_after(s: &str, toks: &[Tok], end: usize) -> Option<(usize, usize)> {
    let i = toks.partition_point(|t| t.start < end);
    let t = toks.get(i)?;
    if !t.newline_before {
        // a full stop ending the address line may sit between
        if !(t.is_punct('.') && toks.get(i + 1).is_some_and(|n| n.newline_before)) {
            return None;
        }
    }
    let first = if t.newline_before { i } else { i + 1 };
    let label = toks.get(first)?;
    if !label.text(s).to_lowercase().starts_with("postn") {
        return None;
    }
    // the label ends at a colon on the same line
    let mut q = first + 1;
    while let Some(x) = toks.get(q) {
        if x.newline_before || q > first + 6 {
            return None;
        }
        q += 1;
        if x.is_punct(':') {
            break;
        }
    }
    let (town_at, _) = postcode_at(s, toks, q)?;
    let (town_end, _) = town_from(s, toks, town_at)?;
    Some((toks[q].start, town_end))
}

/// English street types: a house number before the street name ("14 Elm
/// Grove", "22 Church Lane", "221B Baker Street").
const ENGLISH_STREETS: &[&str] = &[
    "road",
    "rd",
    "street",
    "lane",
    "avenue",
    "ave",
    "grove",
    "close",
    "drive",
    "way",
    "place",
    "crescent",
    "gardens",
    "terrace",
    "court",
    "row",
    "square",
    "walk",
    "mews",
    "hill",
    "park",
    "boulevard",
];

/// Addresses written number first, as in English letters: "14 Elm Grove",
/// then perhaps a locality line, a line with a town and a British postcode
/// ("Bristol BS6 6AH") and a country line ("United Kingdom").
fn number_first(s: &str, toks: &[Tok], rules: &Rules, out: &mut Vec<AddrHit>) {
    let mut found = Vec::new();
    let mut k = 0;
    while k + 2 < toks.len() {
        let num = toks[k];
        let line_start = k == 0 || num.newline_before || toks[k - 1].is_punct(',');
        if num.kind != TokKind::Number || num.end - num.start > 4 || !line_start {
            k += 1;
            continue;
        }
        let mut j = k + 1;
        // "221B"
        if toks[j].is_word() && toks[j].start == num.end && toks[j].end - toks[j].start == 1 {
            j += 1;
        }
        let first = j;
        let mut street_end = None;
        while let Some(t) = toks.get(j) {
            if !(t.is_word() && t.cap) || t.newline_before || j - first >= 3 {
                break;
            }
            let w = t.text(s).to_lowercase();
            if j > first && ENGLISH_STREETS.contains(&w.as_str()) {
                street_end = Some(j);
                break;
            }
            if rules.is_function(&w) {
                break;
            }
            j += 1;
        }
        let Some(se) = street_end else {
            k += 1;
            continue;
        };
        let mut end = toks[se].end;
        let mut key = String::new();
        crate::lexicon::street_key(&s[toks[first].start..end], &mut key);
        key.push(' ');
        key.push_str(num.text(s));
        // the lines after it: up to two lines of capitalised words
        // (locality, town) ending in a British postcode, then a country
        let mut r = se + 1;
        let mut lines = 0;
        let mut got_postcode = false;
        while lines < 3 {
            let Some(t) = toks.get(r) else { break };
            if !(t.newline_before || (t.is_punct(',') && lines == 0)) {
                break;
            }
            if t.is_punct(',') {
                r += 1;
            }
            let line_from = r;
            let mut q = r;
            while toks
                .get(q)
                .is_some_and(|x| (q == line_from || !x.newline_before) && !x.is_punct(','))
            {
                q += 1;
            }
            let line = &toks[line_from..q];
            if line.is_empty() || line.len() > 6 || !line[0].is_word() || !line[0].cap {
                break;
            }
            let text = &s[line[0].start..line[line.len() - 1].end];
            let uk = uk_postcode_end(text);
            if let Some(pe) = uk {
                end = line[0].start + pe;
                got_postcode = true;
                r = q;
                break;
            }
            if !line.iter().all(|x| x.is_word() && x.cap) || line.len() > 3 {
                break;
            }
            end = line[line.len() - 1].end;
            r = q;
            lines += 1;
        }
        if got_postcode {
            if let Some(c) = country_after(s, toks, r) {
                end = c;
            }
        } else {
            end = toks[se].end;
        }
        found.push(AddrHit {
            start: num.start,
            end,
            key,
            unit: String::new(),
            confidence: if got_postcode { 0.85 } else { 0.7 },
            reason: "house number and street written number first",
        });
        k = se + 1;
        while k < toks.len() && toks[k].start < end {
            k += 1;
        }
    }
    if found.is_empty() {
        return;
    }
    // (the hits so far are sorted by start and do not overlap)
    let keep: Vec<AddrHit> = found
        .into_iter()
        .filter(|h| {
            let i = out.partition_point(|o| o.start < h.end);
            !(i > 0 && out[i - 1].end > h.start)
        })
        .collect();
    out.extend(keep);
    out.sort_by_key(|h| h.start);
}

/// The end of a British postcode ending `line` ("Bristol BS6 6AH",
/// "Oxford OX3 9JT"), if it has one.
fn uk_postcode_end(line: &str) -> Option<usize> {
    let t = line.trim_end();
    let mut parts = t.rsplitn(3, ' ');
    let inward = parts.next()?;
    let outward = parts.next()?;
    let b = inward.as_bytes();
    let o = outward.as_bytes();
    let inward_ok = b.len() == 3
        && b[0].is_ascii_digit()
        && b[1].is_ascii_uppercase()
        && b[2].is_ascii_uppercase();
    let outward_ok = (2..=4).contains(&o.len())
        && o[0].is_ascii_uppercase()
        && o.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && o.iter().any(u8::is_ascii_digit);
    (inward_ok && outward_ok).then_some(t.len())
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
    // "69OO Skjern": OCR read zeros as letters
    if let Some(n) = toks.get(p + 1).filter(|n| {
        n.is_word()
            && n.start == t.end
            && t.end - t.start >= 2
            && (t.end - t.start) + (n.end - n.start) == 4
            && n.text(s).bytes().all(|c| matches!(c, b'O' | b'o'))
            && !s[t.start..].starts_with('0')
    }) {
        let town = toks.get(p + 2)?;
        return (town.is_word() && town.cap && !town.newline_before).then_some((p + 2, n.end));
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
    "ukraine",
    "ukraina",
    "kalaallit nunaat",
    "united kingdom",
    "great britain",
    "scotland",
    "wales",
    "ireland",
    "irland",
    "føroyar",
    "norden",
    "united states",
];

/// The end of a country name of one or two words at token `r`.
fn country_at(s: &str, toks: &[Tok], r: usize) -> Option<usize> {
    let t = toks.get(r)?;
    if !t.is_word() {
        return None;
    }
    if let Some(n) = toks
        .get(r + 1)
        .filter(|n| n.is_word() && n.space_before && !n.newline_before)
    {
        let two = format!("{} {}", t.text(s), n.text(s)).to_lowercase();
        if COUNTRIES.contains(&two.as_str()) {
            return Some(n.end);
        }
    }
    COUNTRIES
        .iter()
        .any(|c| c.eq_ignore_ascii_case(t.text(s)))
        .then_some(t.end)
}

/// The end of a country right after a town (token `r`), on its own line
/// or after a comma ("…, 247 34 Södra Sandby, Sverige"), if any.
fn country_after(s: &str, toks: &[Tok], r: usize) -> Option<usize> {
    if toks
        .get(r)
        .is_some_and(|t| t.is_punct(',') && !t.newline_before)
    {
        let t = toks.get(r + 1)?;
        return if t.newline_before {
            None
        } else {
            country_at(s, toks, r + 1)
        };
    }
    let t = toks.get(r)?;
    if !t.newline_before {
        return None;
    }
    let end = country_at(s, toks, r)?;
    let next = toks.partition_point(|x| x.start < end);
    toks.get(next)
        .is_none_or(|n| n.newline_before)
        .then_some(end)
}

fn is_side(w: &str) -> bool {
    matches!(
        w.to_ascii_lowercase().as_str(),
        "tv" | "th" | "mf" | "t" | "v" | "h"
    )
}
