//! Other identifiers of a person: telephone numbers, e-mail addresses and
//! bank accounts (Danish registration + account number, IBAN).
//!
//! Hand-written scanners over bytes, each bounded in how far it looks
//! around a hit, so the whole pass stays linear. Whether an identifier
//! belongs to a person, an institution or the requester is decided later
//! (`lib.rs`), where the names and institutions of the text are known.

use marc_model::MarkKind;

/// An identifier found in a text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ContactHit {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) kind: MarkKind,
    pub(crate) confidence: f32,
    pub(crate) reason: &'static str,
    /// For e-mail: the local part's lower-case words ("louise",
    /// "frederiksen"), to compare with names.
    pub(crate) local: Option<String>,
    /// The writer gives their own (an institution's) number or address:
    /// "kontakt os på", "vores telefon"; or a switchboard number.
    pub(crate) ours: bool,
    /// A word before it says it reaches a person ("direkte", "mobil"):
    /// even after an institution's name it is a staff member's line.
    pub(crate) personal: bool,
}

/// Words before a phone number that say it reaches a person.
const PERSONAL_LINE: Words = words(&[
    "direkte",
    "dir",
    "mobil",
    "mobilnr",
    "mobilnummer",
    "privat",
    "sms",
]);

/// Whether a Danish number looks like a switchboard: it ends in "00"
/// ("89 70 10 00"), or repeats one pair ("76 16 16 16"), and no word such as
/// "mobil" or "direkte" says it reaches a person.
fn switchboard(s: &str, h: &ContactHit) -> bool {
    if h.kind != MarkKind::Phone {
        return false;
    }
    let d: Vec<u8> = s[h.start..h.end]
        .bytes()
        .filter(u8::is_ascii_digit)
        .collect();
    if d.len() < 8 {
        return false;
    }
    let n = &d[d.len() - 8..];
    let round = n[6..] == *b"00";
    // "76 16 16 16", or two pairs twice ("33 66 33 66"): chosen numbers
    let repeated = n[2..4] == n[4..6] && n[4..6] == n[6..8] || n[..4] == n[4..];
    let personal = context_has(
        s,
        h.start,
        &const {
            words(&[
                "mobil",
                "mobilnr",
                "mobilnummer",
                "direkte",
                "dir",
                "privat",
                "sms",
            ])
        },
    );
    (round || repeated) && !personal
}

/// Whether a Danish phone number is a service number no person has: the
/// 70, 80 and 90 ranges are issued to companies and hotlines only.
pub(crate) fn service_number(s: &str, start: usize, end: usize) -> bool {
    let d: Vec<u8> = s[start..end].bytes().filter(u8::is_ascii_digit).collect();
    let n = match d.len() {
        8 => &d[..],
        10 if d.starts_with(b"45") => &d[2..],
        12 if d.starts_with(b"0045") => &d[4..],
        _ => return false,
    };
    matches!(&n[..2], b"70" | b"80" | b"90")
}

/// Phrases before a contact detail that make it the writing institution's
/// own ("Kontakt os på tlf. …", "vores e-mail").
const OURS: &[&str] = &[
    " os på",
    " os via",
    " os pr",
    " os:",
    " os,",
    " os i",
    "vores telefon",
    "vores tlf",
    "vores mail",
    "vores e-mail",
    "vores nummer",
    "vores hovednummer",
    "vores hotline",
];

/// Whether the writer's own number or address follows (see [`OURS`]).
fn ours_before(s: &str, start: usize) -> bool {
    let mut from = start.saturating_sub(32);
    while from > 0 && !s.is_char_boundary(from) {
        from -= 1;
    }
    let ctx = s[from..start].to_lowercase();
    OURS.iter()
        .any(|p| ctx.contains(p) || p.strip_prefix(' ').is_some_and(|q| ctx.starts_with(q)))
}

/// Words right before a number that make it a phone number.
const PHONE_CONTEXT: Words = words(&[
    "tlf",
    "tlf.nr",
    "tlfnr",
    "telefon",
    "telefonnr",
    "telefonnummer",
    "telefonnumre",
    "mobil",
    "mobilnr",
    "mobilnummer",
    "mob",
    "fax",
    "ring",
    "ringe",
    "ringes",
    "sms",
    "direkte",
    "dir",
    "tel",
    "phone",
    "mobile",
    "telephone",
]);

/// Words that make a phone number only when right before it ("ring på
/// 20304050", "nummer 20 30 40 50").
const PHONE_BEFORE: Words = words(&["nummer", "nr", "på", "til"]);

/// Words before a number that make it something other than a phone number.
const NOT_PHONE: Words = words(&[
    "cvr",
    "cvr-nr",
    "se-nr",
    "p-nr",
    "sagsnr",
    "sag",
    "j.nr",
    "jnr",
    "journalnr",
    "faktura",
    "fakturanr",
    "ordrenr",
    "kundenr",
    "konto",
    "kontonr",
    "reg",
    "regnr",
    "reg.nr",
    "postboks",
    "kr",
    "dkk",
    "beløb",
    "ean",
    "id",
    "ref",
    "bilag",
    "løbenr",
    "dok.nr",
    "varenr",
    "pin",
]);

/// Words before a number that make it a bank account.
const ACCOUNT_CONTEXT: Words = words(&[
    "konto",
    "kontonr",
    "kontonummer",
    "kontonummeret",
    "bankkonto",
    "nemkonto",
    "reg",
    "regnr",
    "reg.nr",
    "reg. nr",
    "registreringsnummer",
    "registreringsnr",
    "bank",
    "banken",
    "iban",
    "account",
]);

/// E-mail local parts that name a function, not a person.
const ROLE_LOCAL: &[&str] = &[
    "post",
    "info",
    "kontakt",
    "contact",
    "mail",
    "email",
    "aktindsigt",
    "borgerservice",
    "jobcenter",
    "noreply",
    "no-reply",
    "donotreply",
    "support",
    "admin",
    "service",
    "sekretariat",
    "sekretariatet",
    "kommune",
    "raadhus",
    "radhus",
    "digitalpost",
    "kundeservice",
    "salg",
    "sales",
    "faktura",
    "bogholderi",
    "regnskab",
    "hr",
    "presse",
    "press",
    "redaktion",
    "webmaster",
    "postmaster",
    "booking",
    "reception",
    "kontoret",
    "skole",
    "skolen",
    "ydelse",
    "ydelsesservice",
    "familie",
    "familieafdelingen",
    "boern",
    "born",
    "socialforvaltningen",
    "sundhed",
    "ombudsmanden",
    "klage",
    "klager",
    "office",
    "hello",
    "hej",
    "team",
    "it",
    "help",
    "hjaelp",
    "drift",
    "dpo",
    "databeskyttelse",
    "persondata",
    "gdpr",
];

/// The word (letters, digits, dots, hyphens) ending right before `end`,
/// skipping spaces, ':' '.' '(' and '#'; bounded to 24 bytes.
fn word_before(s: &str, end: usize) -> &str {
    let b = s.as_bytes();
    let mut e = end;
    let mut skipped = 0;
    while e > 0 && skipped < 4 && matches!(b[e - 1], b' ' | b':' | b'.' | b'(' | b'#' | b'\t') {
        e -= 1;
        skipped += 1;
    }
    // NBSP
    if e >= 2 && &b[e - 2..e] == "\u{A0}".as_bytes() {
        e -= 2;
    }
    let mut st = e;
    while st > 0 && e - st < 24 {
        let c = b[st - 1];
        if c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'+' || c >= 0x80 {
            st -= 1;
        } else {
            break;
        }
    }
    while st < e && !s.is_char_boundary(st) {
        st += 1;
    }
    s[st..e].trim_matches('.')
}

/// A word list with the lengths and (ASCII-lower-cased) first bytes of
/// its words, so that most words are ruled out by two bit tests before
/// any comparison (this runs at every word before every number).
struct Words {
    list: &'static [&'static str],
    /// Bit `len` (63 for any length from 63 on).
    lens: u64,
    /// Bit per first byte.
    firsts: [u64; 4],
}

const fn words(list: &'static [&'static str]) -> Words {
    let mut lens = 0u64;
    let mut firsts = [0u64; 4];
    let mut i = 0;
    while i < list.len() {
        let b = list[i].as_bytes();
        let l = if b.len() < 63 { b.len() } else { 63 };
        lens |= 1 << l;
        if !b.is_empty() {
            let f = b[0].to_ascii_lowercase() as usize;
            firsts[f / 64] |= 1 << (f % 64);
        }
        i += 1;
    }
    Words { list, lens, firsts }
}

/// Whether `w` is one of `list` (ASCII case ignored; no allocation, this
/// runs at every number).
fn one_of(w: &str, words: &Words) -> bool {
    let wb = w.as_bytes();
    let Some(&f) = wb.first() else {
        return false;
    };
    let f = f.to_ascii_lowercase();
    if words.lens >> wb.len().min(63) & 1 == 0 || words.firsts[f as usize / 64] >> (f % 64) & 1 == 0
    {
        return false;
    }
    let list = words.list;
    // (length and first letter first: most words fail there)
    list.iter().any(|x| {
        let xb = x.as_bytes();
        xb.len() == wb.len() && xb[0].to_ascii_lowercase() == f && xb.eq_ignore_ascii_case(wb)
    })
}

/// Whether one of `words` stands in the 40 bytes before `start` (as a whole
/// word, possibly followed by ':' or '.').
fn context_has(s: &str, start: usize, words: &Words) -> bool {
    context_words(s, start, |w| one_of(w, words))
}

/// Calls `f` with each word (letters, digits, '.' and '-', those two
/// trimmed) of the 40 bytes before `start`, until it returns true.
fn context_words(s: &str, start: usize, mut f: impl FnMut(&str) -> bool) -> bool {
    let mut from = start.saturating_sub(40);
    while from > 0 && !s.is_char_boundary(from) {
        from -= 1;
    }
    // (a byte scanner: this runs several times at every number)
    let t = &s[from..start];
    let b = t.as_bytes();
    let word_char = |i: usize| -> (bool, usize) {
        let c = b[i];
        if c < 0x80 {
            (c.is_ascii_alphanumeric() || c == b'.' || c == b'-', 1)
        } else {
            let ch = t[i..].chars().next().unwrap_or(' ');
            (ch.is_alphanumeric(), ch.len_utf8())
        }
    };
    let mut i = 0;
    while i < b.len() {
        let (w, l) = word_char(i);
        if !w {
            i += l;
            continue;
        }
        let ws = i;
        while i < b.len() {
            let (w, l) = word_char(i);
            if !w {
                break;
            }
            i += l;
        }
        // ('.' and '-' are single bytes: trimmed as bytes)
        let (mut a, mut z) = (ws, i);
        while a < z && matches!(b[a], b'.' | b'-') {
            a += 1;
        }
        while z > a && matches!(b[z - 1], b'.' | b'-') {
            z -= 1;
        }
        if a < z && f(&t[a..z]) {
            return true;
        }
    }
    false
}

/// A group of digits at `i` and its end.
fn digits_at(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    j
}

/// Separator between digit groups of a phone or account number: one space,
/// NBSP, '-', '.', or '/' (at most 3 bytes), followed by a digit.
fn group_sep(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    let rest = &b[i..];
    let len = if rest.starts_with("\u{A0}".as_bytes()) || rest.starts_with("\u{202F}".as_bytes()) {
        if rest.starts_with("\u{A0}".as_bytes()) {
            2
        } else {
            3
        }
    } else if matches!(rest.first(), Some(b' ' | b'-' | b'.' | b'/')) {
        // " - " as one separator
        if rest.len() >= 3 && rest[0] == b' ' && rest[1] == b'-' && rest[2] == b' ' {
            3
        } else {
            1
        }
    } else {
        return None;
    };
    b.get(i + len)
        .filter(|c| c.is_ascii_digit())
        .map(|_| i + len)
}

/// Finds phone numbers, e-mail addresses and account numbers in `s`.
pub(crate) fn scan(s: &str) -> Vec<ContactHit> {
    let mut out = Vec::new();
    scan_numbers(s, &mut out);
    scan_emails(s, &mut out);
    for h in &mut out {
        h.personal = h.kind == MarkKind::Phone && context_has(s, h.start, &PERSONAL_LINE);
        h.ours = ours_before(s, h.start) || switchboard(s, h);
    }
    out.sort_by_key(|h| h.start);
    out
}

fn scan_numbers(s: &str, out: &mut Vec<ContactHit>) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Only a digit, '+' or '(' can start a number, and an IBAN has
        // digits two bytes after its start: jump (eight bytes at a time)
        // to two bytes before the next such byte; nothing before it can
        // start anything
        let next = crate::bytes::next_number_byte(b, i);
        if next >= b.len() {
            break;
        }
        i = i.max(next.saturating_sub(2));
        let c = b[i];
        // IBAN: two capital letters, two digits, then 11-30 alphanumerics in groups
        if c.is_ascii_uppercase()
            && i + 4 < b.len()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        {
            if let Some(end) = iban_at(s, i) {
                out.push(ContactHit {
                    start: i,
                    end,
                    kind: MarkKind::Account,
                    confidence: 0.95,
                    reason: "IBAN with a valid check number",
                    local: None,
                    ours: false,
                    personal: false,
                });
                i = end;
                continue;
            }
        }
        let plus = c == b'+' && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        let paren_plus = c == b'(' && b.get(i + 1) == Some(&b'+');
        if !(c.is_ascii_digit() || plus || paren_plus) {
            i += 1;
            continue;
        }
        // a number glued to letters or other digits is a code ("A12", "x2")
        if i > 0
            && (b[i - 1].is_ascii_alphanumeric()
                // "BS-2211/2024", "3-1234": a case or code number
                || b[i - 1] == b'-' && i > 1 && b[i - 2].is_ascii_alphanumeric())
        {
            i = digits_at(b, i + (!c.is_ascii_digit()) as usize).max(i + 1);
            continue;
        }
        let start = i;
        // country code
        let mut j = i;
        let mut cc: Option<&str> = None;
        if paren_plus {
            // "(+45)"
            let e = digits_at(b, i + 2);
            if e > i + 2 && e - (i + 2) <= 3 && b.get(e) == Some(&b')') {
                cc = Some(&s[i + 2..e]);
                j = e + 1;
                while j < b.len() && b[j] == b' ' {
                    j += 1;
                }
            } else {
                i += 1;
                continue;
            }
        } else if plus {
            let e = digits_at(b, i + 1);
            let len = e - (i + 1);
            if (1..=3).contains(&len) {
                cc = Some(&s[i + 1..e]);
                j = group_sep(s, e).unwrap_or(e);
            } else if len >= 8 {
                // "+4520304050"
                let code_len = if s[i + 1..].starts_with("45") {
                    2
                } else {
                    len - 8
                };
                cc = Some(&s[i + 1..i + 1 + code_len.min(3)]);
                j = i + 1 + code_len.min(3);
            } else {
                i += 1;
                continue;
            }
        } else if s[i..].starts_with("0045") {
            cc = Some("45");
            j = group_sep(s, i + 4).unwrap_or(i + 4);
        }
        // digit groups
        // (on the stack: this runs at every number)
        let mut group_buf = [(0usize, 0usize); 7];
        let mut n_groups = 0;
        let mut k = j;
        loop {
            if k >= b.len() || !b[k].is_ascii_digit() {
                break;
            }
            let e = digits_at(b, k);
            group_buf[n_groups] = (k, e);
            n_groups += 1;
            if n_groups >= group_buf.len() {
                break;
            }
            match group_sep(s, e) {
                Some(n) => k = n,
                None => break,
            }
        }
        if n_groups == 0 {
            i = j.max(i + 1);
            continue;
        }
        let groups = &group_buf[..n_groups];
        let mut len_buf = [0usize; 7];
        for (l, g) in len_buf.iter_mut().zip(groups) {
            *l = g.1 - g.0;
        }
        let lens = &len_buf[..n_groups];
        let total: usize = lens.iter().sum();
        let last_end = groups[groups.len() - 1].1;
        // a digit glued after the number makes it a code
        if b.get(last_end).is_some_and(|c| c.is_ascii_alphabetic()) {
            i = last_end;
            continue;
        }
        // fewer than six digits is a date, a time or an amount, unless a
        // country code or "reg.nr." says otherwise (cheap test first: this
        // runs at every number)
        let worth = total >= 6
            || cc.is_some()
            || lens[0] == 4
                && word_before(s, start)
                    .get(..3)
                    .is_some_and(|r| r.eq_ignore_ascii_case("reg"));
        if !worth {
            i = groups[0].1.max(i + 1);
            continue;
        }
        if let Some(hit) = classify_number(s, start, groups, lens, total, cc) {
            i = hit.end;
            out.push(hit);
            continue;
        }
        // not a whole match: move past the first group only, so a later
        // group can still start a number
        i = groups[0].1.max(i + 1);
    }
}

/// Decides what a run of digit groups is: a phone number, an account, or
/// nothing this module knows.
fn classify_number(
    s: &str,
    start: usize,
    groups: &[(usize, usize)],
    lens: &[usize],
    total: usize,
    cc: Option<&str>,
) -> Option<ContactHit> {
    let before = word_before(s, start);
    let near_ctx = one_of(before, &PHONE_BEFORE) || one_of(before, &PHONE_CONTEXT);
    // (both lists in one pass over the words before the number)
    let (mut phone_words, mut account_words) = (false, false);
    context_words(s, start, |w| {
        phone_words = phone_words || one_of(w, &PHONE_CONTEXT);
        account_words = account_words || one_of(w, &ACCOUNT_CONTEXT);
        phone_words && account_words
    });
    let phone_ctx = near_ctx || phone_words;
    let account_ctx = account_words;
    let not_phone = one_of(before, &NOT_PHONE);
    // (a few characters only: lower-casing the rest of the text would make
    // the scan quadratic)
    let after: String = s[groups[groups.len() - 1].1..]
        .trim_start_matches([' ', '\u{A0}'])
        .chars()
        .take(3)
        .flat_map(char::to_lowercase)
        .collect();
    let amount = after.starts_with("kr")
        || after.starts_with(",-")
        || after.starts_with(',') && after[1..].starts_with(|c: char| c.is_ascii_digit())
        || after.starts_with("dkk")
        || after.starts_with('%');
    if amount {
        return None;
    }
    let hit = |n: usize, kind, confidence, reason| {
        Some(ContactHit {
            start,
            end: groups[n - 1].1,
            kind,
            confidence,
            reason,
            local: None,
            ours: false,
            personal: false,
        })
    };
    // bank account: "1234-1234567890", "1234 0001234567", or after "konto"
    if account_ctx && !phone_ctx {
        if lens.len() >= 2 && lens[0] == 4 && (6..=10).contains(&lens[1]) {
            return hit(
                2,
                MarkKind::Account,
                0.92,
                "registration and account number",
            );
        }
        if (6..=10).contains(&lens[0])
            && cc.is_none()
            && lens.len() == 1
            && one_of(before, &ACCOUNT_CONTEXT)
        {
            return hit(
                1,
                MarkKind::Account,
                0.85,
                "account number after an account word",
            );
        }
        if lens[0] == 4
            && lens.len() == 1
            && before
                .get(..3)
                .is_some_and(|r| r.eq_ignore_ascii_case("reg"))
        {
            return hit(1, MarkKind::Account, 0.85, "bank registration number");
        }
        // "konto 1234 567 890": an account written in groups
        if (8..=14).contains(&total) && groups.len() >= 2 && lens.iter().all(|&l| l >= 3) {
            return hit(
                groups.len(),
                MarkKind::Account,
                0.85,
                "account number in groups after an account word",
            );
        }
    }
    if lens.len() == 2 && lens[0] == 4 && lens[1] == 10 && cc.is_none() {
        let year = s[groups[0].0..groups[0].1].starts_with("19")
            || s[groups[0].0..groups[0].1].starts_with("20");
        if !year && !not_phone {
            return hit(
                2,
                MarkKind::Account,
                0.6,
                "registration + account number shape",
            );
        }
    }
    if not_phone && cc.is_none() {
        return None;
    }
    // Danish numbers: 8 digits, first 2-9, written 2-2-2-2, 4-4 or 8; other
    // groupings ("22.03.2023" is a date, "12 500 000" a count) only after
    // a phone word or a country code
    let first = s.as_bytes()[groups[0].0];
    let sure = cc.is_some() || near_ctx;
    let dotted = groups.windows(2).any(|w| s[w[0].1..w[1].0].contains('.'));
    let dk_shape = |n: usize| -> bool {
        match &lens[..n] {
            [8] | [2, 2, 2, 2] | [4, 4] => !dotted || sure,
            [3, 3, 2] | [2, 2, 4] | [4, 2, 2] | [2, 3, 3] | [3, 2, 3] => sure,
            _ => false,
        }
    };
    if cc.is_none() || cc == Some("45") {
        for n in (1..=lens.len().min(4)).rev() {
            if lens[..n].iter().sum::<usize>() == 8 && dk_shape(n) {
                if lens.len() > n && cc.is_none() && !phone_ctx {
                    // more groups follow: a longer code
                    return None;
                }
                if first == b'0' || first == b'1' {
                    return None;
                }
                let (conf, reason) = if cc.is_some() {
                    (0.93, "phone number with country code")
                } else if context_has(s, start, &PERSONAL_LINE) {
                    (
                        0.92,
                        "phone number after a word for a direct or mobile line",
                    )
                } else if phone_ctx {
                    (0.92, "phone number after a phone word")
                } else if n > 1 {
                    (0.75, "eight digits grouped like a phone number")
                } else {
                    (0.5, "eight digits that may be a phone number: review")
                };
                return hit(n, MarkKind::Phone, conf, reason);
            }
        }
        return None;
    }
    // foreign: country code and 6-12 more digits
    if (6..=12).contains(&total) {
        return hit(
            groups.len(),
            MarkKind::Phone,
            0.88,
            "phone number with a foreign country code",
        );
    }
    None
}

/// The end of a valid IBAN starting at `i` ("DK50 0040 0440 1162 43").
fn iban_at(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut chars: Vec<u8> = Vec::with_capacity(34);
    let mut j = i;
    let mut end = i;
    while j < b.len() && chars.len() < 34 {
        let c = b[j];
        if c.is_ascii_alphanumeric() {
            chars.push(c.to_ascii_uppercase());
            j += 1;
            end = j;
        } else if c == b' '
            && j + 1 < b.len()
            && b[j + 1].is_ascii_alphanumeric()
            && chars.len() >= 4
        {
            // a group must be 4 wide except the last
            j += 1;
        } else {
            break;
        }
    }
    // trim trailing characters until the check passes (a word may follow)
    while chars.len() >= 15 {
        if iban_valid(&chars) {
            // end at the last alphanumeric of the accepted length
            let mut count = 0;
            let mut k = i;
            while k < end {
                if b[k].is_ascii_alphanumeric() {
                    count += 1;
                    if count == chars.len() {
                        return Some(k + 1);
                    }
                }
                k += 1;
            }
            return Some(end);
        }
        chars.pop();
    }
    None
}

/// The IBAN check (ISO 13616, mod 97 = 1).
fn iban_valid(c: &[u8]) -> bool {
    if c.len() < 15 || !c[2].is_ascii_digit() || !c[3].is_ascii_digit() {
        return false;
    }
    let mut r: u32 = 0;
    for &x in c[4..].iter().chain(&c[..4]) {
        let v = if x.is_ascii_digit() {
            (x - b'0') as u32
        } else if x.is_ascii_uppercase() {
            (x - b'A') as u32 + 10
        } else {
            return false;
        };
        r = if v >= 10 {
            (r * 100 + v) % 97
        } else {
            (r * 10 + v) % 97
        };
    }
    r == 1
}

fn email_local_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'+' | b'%') || c >= 0x80
}

fn scan_emails(s: &str, out: &mut Vec<ContactHit>) {
    let b = s.as_bytes();
    let mut last_end = 0;
    for at in crate::bytes::positions(b, b'@') {
        if at < last_end || at == 0 {
            continue;
        }
        // local part, at most 64 bytes back
        let mut st = at;
        while st > last_end && at - st < 64 && email_local_char(b[st - 1]) {
            st -= 1;
        }
        while st < at && (b[st] == b'.' || !s.is_char_boundary(st)) {
            st += 1;
        }
        if st == at {
            continue;
        }
        // domain: labels of [a-z0-9-] separated by dots, at most 255 bytes
        let mut e = at + 1;
        let mut last_dot = None;
        while e < b.len() && e - at < 255 {
            let c = b[e];
            if c.is_ascii_alphanumeric()
                || c == b'-'
                || c >= 0x80
                    && s.is_char_boundary(e)
                    && s[e..].chars().next().is_some_and(char::is_alphabetic)
            {
                e += if c >= 0x80 {
                    s[e..].chars().next().map_or(1, char::len_utf8)
                } else {
                    1
                };
            } else if c == b'.' && e + 1 < b.len() && b[e + 1].is_ascii_alphanumeric() {
                last_dot = Some(e);
                e += 1;
            } else {
                break;
            }
        }
        let Some(dot) = last_dot else { continue };
        let tld = &s[dot + 1..e];
        if tld.len() < 2 || !tld.bytes().all(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        let local = s[st..at].to_lowercase();
        let words: Vec<&str> = local
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .collect();
        let role = words.is_empty()
            || ROLE_LOCAL.contains(&local.as_str())
            || words.iter().all(|w| ROLE_LOCAL.contains(w) || w.len() <= 1);
        last_end = e;
        if role {
            continue;
        }
        out.push(ContactHit {
            start: st,
            end: e,
            kind: MarkKind::Email,
            confidence: 0.85,
            reason: "e-mail address",
            local: Some(words.join(" ")),
            ours: false,
            personal: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<(&str, &'static str)> {
        scan(s)
            .into_iter()
            .map(|h| (&s[h.start..h.end], h.kind.as_str()))
            .collect()
    }

    #[test]
    fn phones() {
        assert_eq!(
            found("Ring på tlf. 86 12 34 56 i dag"),
            vec![("86 12 34 56", "phone")]
        );
        assert_eq!(found("mobil 20304050."), vec![("20304050", "phone")]);
        assert_eq!(found("+45 20 30 40 50"), vec![("+45 20 30 40 50", "phone")]);
        assert_eq!(found("(+45) 2030 4050"), vec![("(+45) 2030 4050", "phone")]);
        assert_eq!(
            found("+46 8 123 456 78"),
            vec![("+46 8 123 456 78", "phone")]
        );
        assert_eq!(found("0045 20304050"), vec![("0045 20304050", "phone")]);
        assert!(found("CVR 29189919").is_empty());
        assert!(found("beløb 12 500 000 kr.").is_empty());
        assert!(found("sagsnr. 2023-004711 og 12.03.2023").is_empty());
        assert!(found("nr. 12345678901234").is_empty());
        assert!(found("postnr 8600, kl. 10.30").is_empty());
        let h = scan("koden 20304050 virker");
        assert!(h[0].confidence < 0.6, "bare eight digits are reviewed");
    }

    #[test]
    fn accounts() {
        assert_eq!(
            found("IBAN DK50 0040 0440 1162 43 tak"),
            vec![("DK50 0040 0440 1162 43", "account")]
        );
        assert_eq!(
            found("DK5000400440116243"),
            vec![("DK5000400440116243", "account")]
        );
        assert!(found("DK5000400440116244").is_empty(), "bad check digits");
        assert_eq!(
            found("reg.nr. 1234 kontonr. 0012345678"),
            vec![("1234", "account"), ("0012345678", "account")]
        );
        assert_eq!(
            found("konto 9570-0012345678"),
            vec![("9570-0012345678", "account")]
        );
        assert_eq!(
            found("overført til 9570 0012345678"),
            vec![("9570 0012345678", "account")]
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            found("skriv til louise.frederiksen@firma.dk."),
            vec![("louise.frederiksen@firma.dk", "email")]
        );
        assert_eq!(
            found("<pm@silkeborg.dk>"),
            vec![("pm@silkeborg.dk", "email")]
        );
        assert!(found("post@silkeborg.dk og aktindsigt@kommune.dk").is_empty());
        assert!(found("a@b og @mention").is_empty());
        assert_eq!(
            found("søren.ærø@mail.dk"),
            vec![("søren.ærø@mail.dk", "email")]
        );
    }
}
