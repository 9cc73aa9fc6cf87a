//! Person names: runs of capitalised words classified by the name lists and
//! the evidence rules.
//!
//! Danish writes common nouns in lower case, so a capital in the middle of a
//! sentence already says "proper noun"; the rules then decide between a
//! person, a place, an institution and a street, and ask for more evidence
//! where a word is also an ordinary word ("Storm", "Skov") or opens a
//! sentence.

use crate::lexicon::{lower_into, Lexicon};
use crate::rules::Rules;
use crate::token::{Tok, TokKind};

/// How a capitalised word relates to names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// "hr", "Fru", "Kontaktperson": the next capitalised words are a name.
    Title,
    /// A function or common word: never a name by itself.
    Function,
    /// Ends a run: institution, street word, acronym.
    Breaker,
    /// A street word ("Vej", "Solsikkevej"): the run before it is a street.
    Street,
    /// A common first name or surname.
    Strong,
    /// In the lists but rare (the lists' tail holds many non-names).
    Rare,
    /// A name that is also an ordinary word or a town.
    Weak,
    /// A single-letter initial ("H." in "H.C. Andersen").
    Initial,
    /// A lower-case particle inside a name ("van", "bin").
    Particle,
    /// Not in any list.
    Unknown,
}

/// One word of a run of capitalised words.
#[derive(Clone, Debug)]
struct RunTok {
    start: usize,
    end: usize,
    class: Class,
    /// Byte range of the lower-case key in the finder's arena.
    key: (u32, u32),
    sent: bool,
    all_caps: bool,
}

/// A name found in a text.
#[derive(Clone, Debug)]
pub struct NameCand {
    pub start: usize,
    pub end: usize,
    /// Lower-case words of the name without genitive "s" (hyphenated parts
    /// included), for the party and request-level rules.
    pub keys: Vec<String>,
    /// Number of name words (not initials) in the run.
    pub words: usize,
    pub confidence: f32,
    pub reason: &'static str,
    /// The span names an institution, authority or company (confidence
    /// below 0): its contact details are not a person's.
    pub org: bool,
}

pub struct NameFinder<'a> {
    pub lex: &'a Lexicon,
    pub rules: &'a Rules,
}

impl NameFinder<'_> {
    /// Classifies one capitalised word; returns the class and the key under
    /// which it was recognised.
    pub fn classify(&self, w: &str, all_caps: bool, buf: &mut String) -> (Class, usize) {
        use crate::rules::{FUNCTION, INSTITUTION, NAME_WORD, TITLE, TOWN};
        lower_into(w, buf);
        let full: &str = buf.as_str();
        let flags = self.rules.flags(full);
        if flags & TITLE != 0 {
            return (Class::Title, full.len());
        }
        let bare = w
            .strip_suffix("'s")
            .or_else(|| w.strip_suffix("\u{2019}s"))
            .unwrap_or(w);
        if all_caps && bare.chars().count() <= 3 && !is_roman(bare) {
            return (Class::Breaker, full.len()); // acronyms: CPR, PPR, SFO
        }
        if flags & INSTITUTION != 0 || self.rules.institution_suffixes.matches(full, 0) {
            return (Class::Breaker, full.len());
        }
        // "Skagen Kirkes", "Askov Højskoles": an institution in the genitive
        if let Some(g) = full.strip_suffix('s').filter(|g| g.len() > 3) {
            if self.rules.flags(g) & INSTITUTION != 0
                || self.rules.institution_suffixes.matches(g, 0)
            {
                return (Class::Breaker, full.len());
            }
        }
        if self.rules.street_word(full) {
            return (Class::Street, full.len());
        }
        if flags & FUNCTION != 0 {
            return (Class::Function, full.len());
        }
        // (the flags of `full` are known already: `k_flags`)
        let known = |k: &str, k_flags: u8| -> Option<Class> {
            if k_flags & (NAME_WORD | TOWN) != 0 {
                return Some(Class::Weak);
            }
            self.lex.name(k).map(|info| {
                if info.is_common_name() {
                    Class::Strong
                } else {
                    Class::Rare
                }
            })
        };
        if let Some(c) = known(full, flags) {
            return (c, full.len());
        }
        // without a genitive ending: "Peters", "Lars'", "Anna's"
        let stripped = full
            .strip_suffix("'s")
            .or_else(|| full.strip_suffix("\u{2019}s"))
            .or_else(|| full.strip_suffix('\''))
            .or_else(|| {
                if full.len() > 3 {
                    full.strip_suffix('s')
                } else {
                    None
                }
            });
        if let Some(st) = stripped {
            if let Some(c) = known(st, self.rules.flags(st)) {
                return (c, st.len());
            }
        }
        let key = stripped.unwrap_or(full);
        // hyphenated: "Hansen-Møller", "Al-Rashid", "Anne-Marie"
        if key.contains('-') {
            let mut best = Class::Unknown;
            for part in key.split('-') {
                // "P-nummer": a one-letter part is no name
                if part.chars().count() < 2 {
                    continue;
                }
                let p2 = if part.len() > 3 {
                    part.strip_suffix('s')
                } else {
                    None
                };
                for k in std::iter::once(part).chain(p2) {
                    if let Some(info) = self.lex.name(k) {
                        if info.is_common_name() {
                            best = Class::Strong;
                        } else if best != Class::Strong {
                            best = Class::Rare;
                        }
                    }
                }
            }
            if best != Class::Unknown {
                return (best, key.len());
            }
        }
        if self.rules.flags(key) & FUNCTION != 0 {
            return (Class::Function, key.len());
        }
        // (checked last: it runs only on words no list knows)
        if is_role(key) {
            return (Class::Title, key.len());
        }
        (Class::Unknown, key.len())
    }

    /// Finds name candidates in one tokenized text.
    /// `blocked` are spans already taken (addresses): no name runs into one.
    pub fn find(&self, s: &str, toks: &[Tok], blocked: &crate::SpanSet) -> Vec<NameCand> {
        // (asked in token order: the blocked spans are walked once)
        let mut at = (0, 0);
        let mut inside = |t: &Tok| blocked.overlaps_in_order((t.start, t.end), &mut at);
        let mut out = Vec::with_capacity(toks.len() / 16);
        let mut buf = String::new();
        let mut arena = String::with_capacity(64);
        let mut run: Vec<RunTok> = Vec::with_capacity(8);
        let mut k = 0;
        while k < toks.len() {
            let t = toks[k];
            if !(t.is_word() && t.cap)
                || glued_to_digit(s, &t)
                || inside(&t)
                || date_word(s, toks, k)
            {
                k += 1;
                continue;
            }
            // collect the run of capitalised words k..
            run.clear();
            arena.clear();
            let mut j = k;
            loop {
                let tj = toks[j];
                let w = tj.text(s);
                let single = one_char(w);
                // "Erik Sv. Bjerregaard", "Hans Chr. Madsen": an abbreviated
                // given name between names
                let abbrev = !run.is_empty()
                    && is_name_abbrev(w)
                    && toks
                        .get(j + 2)
                        .is_some_and(|n| n.is_word() && n.cap && !n.newline_before);
                if (single || abbrev)
                    && j + 1 < toks.len()
                    && toks[j + 1].is_punct('.')
                    && !toks[j + 1].space_before
                {
                    run.push(RunTok {
                        start: tj.start,
                        end: toks[j + 1].end,
                        class: Class::Initial,
                        key: (0, 0),
                        sent: tj.sent_start,
                        all_caps: false,
                    });
                    j += 2;
                } else if single || glued_to_digit(s, &tj) {
                    break;
                } else {
                    // "Hansen-familien": the name ends before a lower-case part
                    let name_len = lower_part_at(w).unwrap_or(w.len());
                    let w = &w[..name_len];
                    if w.is_empty() || one_char(w) {
                        break; // "P-nummer"
                    }
                    // "AM-bidrag": the capitals of the cut word count
                    let caps = if name_len < tj.end - tj.start {
                        !(w.is_empty() || one_char(w))
                            && w.chars().all(|c| !c.is_alphabetic() || c.is_uppercase())
                    } else {
                        tj.all_caps
                    };
                    let (c, klen) = self.classify(w, caps, &mut buf);
                    let ks = arena.len() as u32;
                    arena.push_str(&buf[..klen]);
                    let key = (ks, arena.len() as u32);
                    run.push(RunTok {
                        start: tj.start,
                        end: tj.start + name_len,
                        class: c,
                        key,
                        sent: tj.sent_start,
                        all_caps: caps,
                    });
                    j += 1;
                }
                // continue with the next capitalised word on the same line,
                // or over a lower-case particle ("van", "bin") to one
                if j >= toks.len() || toks[j].newline_before {
                    break;
                }
                let nx = toks[j];
                if inside(&nx) {
                    break;
                }
                // a table's columns ("Ruth Ebbesen      Ægtefælle"): two spaces
                // or a tab between words end the run
                if column_gap(&s[toks[j - 1].end..nx.start]) {
                    break;
                }
                if nx.is_word()
                    && nx.cap
                    && !glued_to_digit(s, &nx)
                    && (nx.space_before || run.last().map(|r| r.class) == Some(Class::Initial))
                {
                    continue;
                }
                let after_name = matches!(
                    run.last().map(|r| r.class),
                    Some(Class::Strong | Class::Rare | Class::Unknown | Class::Weak)
                );
                // 'Cecilie "Cille" Brøndum': a nickname in quotes between names
                if after_name
                    && nx.space_before
                    && is_quote(nx.kind)
                    && toks
                        .get(j + 1)
                        .is_some_and(|w| w.is_word() && w.cap && w.start == nx.end)
                    && toks
                        .get(j + 2)
                        .is_some_and(|q| is_quote(q.kind) && q.start == toks[j + 1].end)
                    && toks.get(j + 3).is_some_and(|w| {
                        w.is_word() && w.cap && w.space_before && !w.newline_before
                    })
                {
                    run.push(RunTok {
                        start: nx.start,
                        end: toks[j + 2].end,
                        class: Class::Particle,
                        key: (0, 0),
                        sent: false,
                        all_caps: false,
                    });
                    j += 3;
                    continue;
                }
                // "Ali Akbar al-Rahimi", "Rania al-Masri": an Arabic article
                // glued to a surname
                if after_name
                    && nx.is_word()
                    && !nx.cap
                    && nx.space_before
                    && arabic_article(nx.text(s))
                {
                    let ks = arena.len() as u32;
                    lower_into(nx.text(s), &mut buf);
                    arena.push_str(&buf);
                    run.push(RunTok {
                        start: nx.start,
                        end: nx.end,
                        class: Class::Unknown,
                        key: (ks, arena.len() as u32),
                        sent: false,
                        all_caps: false,
                    });
                    j += 1;
                    if j < toks.len()
                        && !toks[j].newline_before
                        && toks[j].is_word()
                        && toks[j].cap
                        && toks[j].space_before
                        && !column_gap(&s[toks[j - 1].end..toks[j].start])
                    {
                        continue;
                    }
                    break;
                }
                if nx.is_word()
                    && !nx.cap
                    && nx.space_before
                    && j + 1 < toks.len()
                    && is_particle(nx.text(s))
                {
                    // A name goes on over one particle ("bin Laden") or two
                    // ("van der Berg") to a capitalised word on the same line,
                    // when a name word came before.
                    let name_at =
                        |t: &Tok| t.is_word() && t.cap && t.space_before && !t.newline_before;
                    let second = toks[j + 1];
                    let particles = if second.is_word()
                        && !second.cap
                        && is_particle(second.text(s))
                        && j + 2 < toks.len()
                        && name_at(&toks[j + 2])
                    {
                        2
                    } else if name_at(&second) {
                        1
                    } else {
                        0
                    };
                    if after_name && particles > 0 {
                        run.push(RunTok {
                            start: nx.start,
                            end: toks[j + particles - 1].end,
                            class: Class::Particle,
                            key: (0, 0),
                            sent: false,
                            all_caps: false,
                        });
                        j += particles;
                        continue;
                    }
                }
                break;
            }
            let next = j;
            // the word before the run: a lower-case title ("hr.", "fru", "mor")
            let mut title_before = false;
            // an honorific title before the run is part of the name's span
            let mut title_start: Option<usize> = None;
            if k >= 2 && toks[k - 1].is_punct(':') && toks[k - 2].is_word() {
                // a form field: "Navn: Zarkhan Oduya", "Deltagere: ..."
                lower_into(toks[k - 2].text(s), &mut buf);
                let label = is_label(&buf) || self.rules.flags(&buf) & crate::rules::TITLE != 0;
                title_before = label && !(run.len() == 1 && run[0].class == Class::Unknown);
            } else if k > 0 {
                // "fru van der Berg", "hr. de Neergaard": the title stands
                // before the particles
                let mut k0 = k;
                while k0 > 0
                    && k - k0 < 2
                    && !toks[k0].newline_before
                    && toks[k0 - 1].is_word()
                    && !toks[k0 - 1].cap
                    && is_particle(toks[k0 - 1].text(s))
                {
                    k0 -= 1;
                }
                if k0 < k
                    && !(k0 > 0 && {
                        let q = if toks[k0 - 1].is_punct('.') && k0 >= 2 {
                            k0 - 2
                        } else {
                            k0 - 1
                        };
                        toks[q].is_word() && is_honorific(&toks[q].text(s).to_lowercase())
                    })
                {
                    k0 = k;
                }
                let mut p = k0 - 1;
                let dotted = toks[p].is_punct('.') && p > 0;
                if dotted {
                    p -= 1;
                }
                let pt = toks[p];
                if pt.is_word() {
                    // (a word with no capital is its own lower case)
                    let pw = pt.text(s);
                    let b: &str = if no_capital(pw.as_bytes()) {
                        pw
                    } else {
                        lower_into(pw, &mut buf);
                        buf.as_str()
                    };
                    title_before = if matches!(b, "hilsen" | "mvh" | "vh") {
                        // the line after "Med venlig hilsen" is a signature,
                        // but "Venlig hilsen Borgerservice" is a department:
                        // one unknown word is not enough
                        !(run.len() == 1 && run[0].class == Class::Unknown)
                    } else if toks[k].newline_before {
                        false
                    } else if dotted {
                        matches!(
                            b,
                            "hr" | "fru" | "frk" | "dr" | "att" | "mr" | "mrs" | "ms" | "fam"
                        )
                    } else {
                        self.rules.flags(b) & crate::rules::TITLE != 0
                    };
                    // (royal and role words stay outside: "kong Philippe af Belgien")
                    if title_before && is_honorific(b) {
                        title_start = Some(pt.start);
                    }
                }
            }
            if run.is_empty() {
                k = j.max(k + 1);
                continue;
            }
            // words that are ordinary words but also names ("Sine", "Dag",
            // "Lang"): a name when capitalised mid-sentence or beside a name;
            // a title word after a name is a surname ("Anne Farfar")
            for i in 0..run.len() {
                let next_is_name = run.get(i + 1).is_some_and(|r| {
                    matches!(
                        r.class,
                        Class::Strong | Class::Rare | Class::Weak | Class::Unknown
                    )
                });
                let prev_is_name =
                    i > 0 && matches!(run[i - 1].class, Class::Strong | Class::Rare | Class::Weak);
                match run[i].class {
                    Class::Function => {
                        let info = self.lex.name(key_of(&arena, &run[i]));
                        let common = info.is_some_and(|n| n.is_common_name());
                        // "Gordana Jul": any listed name after a name
                        if (common && (!run[i].sent || next_is_name))
                            || (info.is_some() && prev_is_name)
                        {
                            run[i].class = Class::Weak;
                        }
                    }
                    Class::Title if prev_is_name && !run[i].sent => run[i].class = Class::Unknown,
                    // "Mildred Vejen", "Anne Gade": a surname that is also a
                    // street word, after a first name (not after a genitive as
                    // in "Peter Bangs Vej")
                    Class::Street
                        if prev_is_name && !s[run[i - 1].start..run[i - 1].end].ends_with('s') =>
                    {
                        if let Some(info) = self.lex.name(key_of(&arena, &run[i])) {
                            run[i].class = if info.is_common_name() {
                                Class::Strong
                            } else {
                                Class::Rare
                            };
                        } else if run
                            .get(i + 1)
                            .is_some_and(|r| matches!(r.class, Class::Strong | Class::Rare))
                            && !run[i].sent
                        {
                            // "Villads Bro Thomsen": a street word between a
                            // first name and a surname is a middle name
                            run[i].class = Class::Unknown;
                        }
                    }
                    _ => {}
                }
            }
            // "Valdemars forældre", "Adams lærer": a common first name in the
            // genitive before a relation or role word is a person, also
            // opening a sentence
            if run.len() == 1 && run[0].class != Class::Initial {
                let w = &s[run[0].start..run[0].end];
                if let (Some(stem), Some(n)) = (w.strip_suffix('s'), toks.get(next)) {
                    lower_into(stem, &mut buf);
                    let common_first = self
                        .lex
                        .name(&buf)
                        .is_some_and(|i| i.first_rank > 0 && i.first_rank <= 3000);
                    let stem_key = buf.clone();
                    lower_into(n.text(s), &mut buf);
                    if common_first
                        && !self.rules.is_function(&stem_key)
                        && n.is_word()
                        && !n.cap
                        && !n.newline_before
                        && (self.rules.flags(&buf) & crate::rules::TITLE != 0
                            || matches!(
                                buf.as_str(),
                                "forældre" | "forældrene" | "klasse" | "klasselærer"
                            ))
                    {
                        out.push(NameCand {
                            start: run[0].start,
                            end: run[0].end,
                            keys: vec![stem_key],
                            words: 1,
                            confidence: 0.85,
                            reason: "first name in the genitive before a relation word",
                            org: false,
                        });
                        k = next.max(k + 1);
                        continue;
                    }
                }
            }
            // "i Gjern", "ved Funder": after the prepositions "i" and "ved"
            // a single capitalised word is a place, not a person
            let after_i = k > 0
                && toks[k - 1].is_word()
                && matches!(toks[k - 1].text(s), "i" | "ved")
                && !toks[k].newline_before;
            if after_i && run.len() == 1 && !title_before {
                out.push(not_person(
                    run[0].start,
                    run[0].end,
                    "place after \"i\"",
                    false,
                ));
                k = next.max(k + 1);
                continue;
            }
            // "Boligselskabet Sct. Jørgen", "Skt. Olai Skole", "Sankt Hans":
            // a saint's name names a place, church, school or company
            if k >= 1 && !toks[k].newline_before && {
                let p = if toks[k - 1].is_punct('.') && k >= 2 {
                    k - 2
                } else {
                    k - 1
                };
                toks[p].is_word()
                    && matches!(
                        toks[p].text(s),
                        "Sct" | "Skt" | "Sankt" | "sct" | "skt" | "sankt"
                    )
            } {
                out.push(org_cand(run[0].start, run[run.len() - 1].end));
                k = next.max(k + 1);
                continue;
            }
            // "stormen Bodil", "færgen Peter Wessel", "M/S Dronning Ingrid",
            // "Ingrid Marie-æbler", "Charles de Gaulle-lufthavnen": storms,
            // ships and things named after a person are no person
            let thing_before = k > 0 && !toks[k].newline_before && {
                // (over an opening quote: 'lokale "Skovlund"', 'kutteren "Storm Petrel"')
                let q = if k >= 2
                    && matches!(
                        toks[k - 1].kind,
                        TokKind::Punct('"' | '\u{201C}' | '\u{201E}' | '\u{BB}')
                    ) {
                    k - 1
                } else {
                    k
                };
                let p = toks[q - 1];
                (p.is_word() && {
                    lower_into(p.text(s), &mut buf);
                    is_thing_word(&buf)
                }) || (p.is_word()
                    && q >= 3
                    && p.text(s) == "S"
                    && toks[q - 2].is_punct('/')
                    && toks[q - 3].is_word()
                    && matches!(toks[q - 3].text(s), "M" | "m"))
            };
            let compound_after = run.len() >= 2 && {
                let last = &run[run.len() - 1];
                s.as_bytes().get(last.end) == Some(&b'-')
                    && s[last.end + 1..]
                        .chars()
                        .next()
                        .is_some_and(char::is_lowercase)
            };
            // ("Stormen Otto lammer ...", "Færgen Margrete Læsø" open a sentence)
            let thing_first = run.len() >= 2 && is_thing_word(key_of(&arena, &run[0]));
            if thing_before || compound_after || thing_first {
                out.push(not_person(
                    run[0].start,
                    run[run.len() - 1].end,
                    "a storm, ship or thing named after a person",
                    false,
                ));
                k = next.max(k + 1);
                continue;
            }
            // "9220 Aalborg Øst", "Postnr. og by: 2000 Frederiksberg": words
            // after a postcode on the same line are a town, unless a common
            // first name is among them
            let after_postcode = k > 0
                && !toks[k].newline_before
                && toks[k - 1].kind == TokKind::Number
                && toks[k - 1].end - toks[k - 1].start == 4
                && toks[k - 1].end < toks[k].start
                && run.len() <= 3
                && run.iter().all(|r| {
                    !self
                        .lex
                        .name(key_of(&arena, r))
                        .is_some_and(|n| n.first_rank > 0 && n.first_rank <= 3000)
                });
            if after_postcode && !title_before {
                out.push(not_person(
                    run[0].start,
                    run[run.len() - 1].end,
                    "town after a postcode",
                    false,
                ));
                k = next.max(k + 1);
                continue;
            }
            // the run follows a lower-case word on the same line: truly mid-sentence
            let after_lower =
                k > 0 && toks[k - 1].is_word() && !toks[k - 1].cap && !toks[k].newline_before;
            // "… job hos Hansen\nEntreprise A/S", "fra Lund\nRevision": in
            // hard-wrapped prose a run after a lower-case word continues on the
            // next line with an institution word or a legal form (a signature's
            // name starts its own line and is not taken)
            let wrapped_org = after_lower
                && toks.get(next).is_some_and(|t| {
                    t.newline_before
                        && t.is_word()
                        && t.cap
                        && !s[run[run.len() - 1].end..t.start].contains("\n\n")
                        && (legal_form_at(s, toks, next + 1)
                            || self.classify(t.text(s), t.all_caps, &mut buf).0 == Class::Breaker)
                });
            // "Kjeldsen VVS ApS", "Lund Holding": a legal form inside the run
            let legal_word = run.iter().skip(1).any(|r| {
                matches!(
                    key_of(&arena, r),
                    "aps" | "ivs" | "amba" | "smba" | "gmbh" | "ltd" | "inc" | "llc" | "holding"
                )
            });
            // "Bager Sørensen I/S", "Salling Group A/S": a legal form after the run
            if wrapped_org || legal_word || legal_form_at(s, toks, next) {
                out.push(org_cand(run[0].start, run[run.len() - 1].end));
                k = next.max(k + 1);
                continue;
            }
            // "Vester Nebel", "Store Heddinge", "Nørre Lyndelse": a run opening
            // with a Danish place-name prefix is a place
            if run.len() >= 2 && is_place_prefix(key_of(&arena, &run[0])) {
                out.push(not_person(
                    run[0].start,
                    run[run.len() - 1].end,
                    "place name (Vester, Nørre, Store ...)",
                    false,
                ));
                k = next.max(k + 1);
                continue;
            }
            // "Hansen & Søn", "Bech & Holm Advokater": a company
            if toks.get(next).is_some_and(|t| t.is_punct('&'))
                && self.company_after(s, toks, next + 1, &mut buf)
            {
                out.push(org_cand(run[0].start, run[run.len() - 1].end));
                k = next.max(k + 1);
                continue;
            }
            // "Tandlægerne Skovgaard & Brix", "Advokatfirmaet Rye & Krogh":
            // names joined by "&" after a practice or firm word are the
            // firm's name, the words after "&" included
            if toks.get(next).is_some_and(|t| t.is_punct('&')) && {
                let first_breaker = run[0].class == Class::Breaker && run.len() >= 2;
                let before_breaker = k > 0
                    && !toks[k].newline_before
                    && toks[k - 1].is_word()
                    && toks[k - 1].cap
                    && self
                        .classify(toks[k - 1].text(s), toks[k - 1].all_caps, &mut buf)
                        .0
                        == Class::Breaker;
                first_breaker || before_breaker
            } {
                let mut end = run[run.len() - 1].end;
                let mut m = next + 1;
                while let Some(t) = toks.get(m) {
                    if !(t.is_word() && t.cap) || t.newline_before || m > next + 3 {
                        break;
                    }
                    end = t.end;
                    m += 1;
                }
                out.push(org_cand(run[0].start, end));
                k = m.max(k + 1);
                continue;
            }
            // "Børn og Unge", "Teknik og Miljø": two capitalised words that are
            // no names, joined by "og", name a department
            if run.len() == 1
                && !run[0].sent
                && matches!(
                    run[0].class,
                    Class::Function | Class::Unknown | Class::Breaker
                )
                && toks.get(next).is_some_and(|t| t.text(s) == "og")
                && toks
                    .get(next + 1)
                    .is_some_and(|t| t.is_word() && t.cap && !t.newline_before)
                && matches!(
                    self.classify(toks[next + 1].text(s), toks[next + 1].all_caps, &mut buf)
                        .0,
                    Class::Function | Class::Unknown | Class::Breaker
                )
            {
                out.push(org_cand(run[0].start, toks[next + 1].end));
                k = next + 2;
                continue;
            }
            // "TV2 Nord", "P4 Midt": a word after a name glued to a digit belongs to it
            if run.len() == 1
                && k >= 2
                && toks[k - 1].kind == TokKind::Number
                && toks[k - 2].is_word()
                && toks[k - 2].end == toks[k - 1].start
                && !toks[k].newline_before
            {
                out.push(org_cand(run[0].start, run[0].end));
                k = next.max(k + 1);
                continue;
            }
            let before = out.len();
            self.decide(&run, &arena, title_before, after_lower, &mut out);
            // a regnal number belongs to the name ("Margrethe II", "Frederik X")
            let run_end = run[run.len() - 1].end;
            if let Some(n) = toks.get(next).filter(|t| {
                t.is_word() && t.space_before && !t.newline_before && is_roman(t.text(s))
            }) {
                if let Some(c) = out[before..]
                    .iter_mut()
                    .rev()
                    .find(|c| c.end == run_end && c.confidence > 0.0)
                {
                    c.end = n.end;
                }
            }
            if let Some(c) = out[before..]
                .iter_mut()
                .find(|c| c.confidence > 0.0 && c.start == run[0].start)
            {
                if let Some(ts) = title_start {
                    c.start = ts;
                }
            }
            k = next.max(k + 1);
        }
        out
    }

    fn decide(
        &self,
        run: &[RunTok],
        arena: &str,
        title_before: bool,
        after_lower: bool,
        out: &mut Vec<NameCand>,
    ) {
        // split into segments at titles and breakers
        let mut seg_start = 0;
        let mut evidence = title_before;
        let mut pending_title: Option<usize> = None;
        let mut i = 0;
        while i <= run.len() {
            let boundary = i == run.len()
                || matches!(
                    run[i].class,
                    Class::Title | Class::Function | Class::Breaker | Class::Street
                );
            if boundary {
                let seg = &run[seg_start..i];
                let after = run.get(i).map(|r| r.class);
                // a segment right before a street word or an institution is part of its name
                let part_of_other = match after {
                    Some(Class::Street) => true,
                    // (an acronym such as "SFO" ends a run, but "HERNING KOMMUNE" is one name)
                    Some(Class::Breaker) => !(run[i].all_caps && run[i].end - run[i].start <= 3),
                    _ => false,
                } || (seg_start > 0
                    && run[seg_start - 1].class == Class::Function
                    && !run[seg_start - 1].sent
                    && (seg_start > 1 || after_lower));
                // ("Digital Post": a capitalised ordinary word mid-sentence opens a proper noun)
                // "Jobcenter Herning", "Hospitalet Lillebælt": the words after an
                // institution word belong to it, unless they hold a person's name
                let after_institution = seg_start > 0
                    && run[seg_start - 1].class == Class::Breaker
                    && !(run[seg_start - 1].all_caps
                        && run[seg_start - 1].end - run[seg_start - 1].start <= 3)
                    && (!seg
                        .iter()
                        .any(|r| matches!(r.class, Class::Strong | Class::Rare))
                        // "Lægehuset Hjortshøj", "Hospice Søholm": one word
                        // that is no common first name names the place
                        || (seg.len() == 1
                            && !self
                                .lex
                                .name(key_of(arena, &seg[0]))
                                .is_some_and(|n| n.first_rank > 0 && n.first_rank <= 3000)));
                if !seg.is_empty() && after_institution {
                    let end = match after {
                        Some(Class::Breaker) => run[i].end,
                        _ => seg[seg.len() - 1].end,
                    };
                    out.push(org_cand(run[seg_start - 1].start, end));
                } else if !seg.is_empty() {
                    if part_of_other {
                        // part of a street or institution name: block the request-level rule too
                        out.push(not_person(
                            seg[0].start,
                            run.get(i).map_or(seg[seg.len() - 1].end, |r| r.end),
                            "part of a street or institution name",
                            after == Some(Class::Breaker),
                        ));
                    } else {
                        let before = out.len();
                        self.segment(seg, arena, evidence, out);
                        if let (Some(ts), Some(c)) = (pending_title, out.get_mut(before)) {
                            c.start = ts;
                        }
                    }
                } else if after == Some(Class::Breaker)
                    && !(run[i].all_caps && run[i].end - run[i].start <= 3)
                {
                    // an institution word on its own ("kontakte Jobcenter")
                    out.push(org_cand(run[i].start, run[i].end));
                }
                evidence = i < run.len() && run[i].class == Class::Title;
                let title_word = i < run.len() && evidence && {
                    let k = key_of(arena, &run[i]);
                    is_honorific(k)
                };
                if title_word && i + 1 < run.len() {
                    // the span of the name after it starts at the title
                    pending_title = Some(run[i].start);
                } else {
                    pending_title = None;
                }
                seg_start = i + 1;
            }
            i += 1;
        }
    }

    fn segment(&self, seg: &[RunTok], arena: &str, evidence: bool, out: &mut Vec<NameCand>) {
        let mut seg = seg;
        // a particle or an initial does not end a name
        while let Some(l) = seg.last() {
            if matches!(l.class, Class::Particle | Class::Initial) {
                seg = &seg[..seg.len() - 1];
            } else {
                break;
            }
        }
        if seg.is_empty() {
            return;
        }
        let names = |s: &[RunTok]| {
            s.iter()
                .filter(|r| matches!(r.class, Class::Strong | Class::Rare | Class::Weak))
                .count()
        };
        // a sentence-initial word gets no credit for its capital
        if seg[0].sent && !evidence {
            let first = seg[0].class;
            let drop_first = match first {
                // "AUKEN Margrete": a surname in capitals before a first name
                Class::Unknown => {
                    !(seg[0].all_caps && seg[0].end - seg[0].start > 3 && names(&seg[1..]) > 0)
                }
                Class::Weak | Class::Rare => names(&seg[1..]) == 0 && seg.len() == 1,
                _ => false,
            };
            if drop_first {
                seg = &seg[1..];
                if seg.is_empty() {
                    return;
                }
                // the rest does not start a sentence; fall through
            }
        }
        let n_words = seg
            .iter()
            .filter(|r| !matches!(r.class, Class::Initial | Class::Particle))
            .count();
        if n_words == 0 {
            return;
        }
        let strong = seg.iter().filter(|r| r.class == Class::Strong).count();
        let rare = seg.iter().filter(|r| r.class == Class::Rare).count();
        let weak = seg.iter().filter(|r| r.class == Class::Weak).count();
        let weak_names = seg
            .iter()
            .filter(|r| {
                r.class == Class::Weak
                    && self.rules.flags(key_of(arena, r)) & crate::rules::TOWN == 0
            })
            .count();
        let sent = seg[0].sent;
        // one word in capitals with no name beside it is an acronym or a
        // letterhead ("SIRI", "EDI", "AULA"), kept as a candidate only
        let lone_caps = n_words == 1 && seg.len() == 1 && seg[0].all_caps;
        let (conf, reason): (f32, &'static str) = if lone_caps && !evidence {
            (0.0, "a single word in capitals (an acronym?)")
        } else if evidence {
            (0.85, "capitalised word(s) after a title or relation word")
        } else if strong > 0 {
            if n_words >= 2 {
                (0.92, "full name (name lists)")
            } else {
                (0.82, "name from the name lists")
            }
        } else if rare > 0 {
            if n_words >= 2 {
                (0.8, "full name (rare name in the lists)")
            } else if !sent {
                (0.62, "capitalised word in the name lists (rare name)")
            } else {
                return;
            }
        } else if weak > 0 {
            if n_words >= 2 && weak_names > 0 {
                (0.72, "capitalised words that are also names, side by side")
            } else {
                // a word that is also an ordinary word or a place, alone or
                // beside a place ("Storm", "Herning Station"): measured on
                // the independent corpus these were nearly all places,
                // organisations and words; kept as candidates for the
                // request-level rule (marked when the person is named in
                // full elsewhere)
                (
                    0.0,
                    "capitalised word that is also an ordinary word or a place",
                )
            }
        } else {
            // only unknown words: two or more in a row are far more often an
            // organisation, a place or a title ("Dansk Fisk", "Nordic Sugar")
            // than a person; kept as a candidate for the request-level rule
            (0.0, "capitalised unknown word(s)")
        };
        let start = seg[0].start;
        let end = seg[seg.len() - 1].end;
        let mut keys = Vec::with_capacity(seg.len());
        for r in seg {
            let key = key_of(arena, r);
            if key.is_empty() {
                continue;
            }
            keys.push(key.to_string());
            if key.contains('-') {
                keys.extend(key.split('-').map(str::to_string));
            }
        }
        out.push(NameCand {
            start,
            end,
            keys,
            words: n_words,
            confidence: conf,
            reason,
            org: false,
        });
    }
}

/// A span that is no person's name (a place, a street, an institution):
/// never marked, and it blocks the request-level rule; `org` makes it the
/// owner of the contact details after it.
fn not_person(start: usize, end: usize, reason: &'static str, org: bool) -> NameCand {
    NameCand {
        start,
        end,
        keys: Vec::new(),
        words: 0,
        confidence: -1.0,
        reason,
        org,
    }
}

/// A span that names an institution or company.
fn org_cand(start: usize, end: usize) -> NameCand {
    not_person(start, end, "institution or company name", true)
}

/// Whether a word is one character (without counting the characters of
/// a longer one).
#[inline]
fn one_char(w: &str) -> bool {
    w.len() == 1 || (w.len() <= 4 && w.chars().nth(1).is_none() && !w.is_empty())
}

/// The lower-case key of a run word.
fn key_of<'a>(arena: &'a str, r: &RunTok) -> &'a str {
    &arena[r.key.0 as usize..r.key.1 as usize]
}

/// Byte offset of the hyphen before the first lower-case part of a
/// hyphenated word ("Hansen-familien" -> 6), if any.
fn lower_part_at(w: &str) -> Option<usize> {
    if !w.as_bytes().contains(&b'-') {
        return None;
    }
    let mut off = 0;
    for (i, part) in w.split('-').enumerate() {
        if i > 0 && part.chars().next().is_some_and(char::is_lowercase) {
            return Some(off - 1);
        }
        off += part.len() + 1;
    }
    None
}

impl NameFinder<'_> {
    /// Whether the capitalised words from `k` on the same line name a
    /// company ("Søn", "Co", an institution or legal-form word such as
    /// "Advokater", "ApS").
    fn company_after(&self, s: &str, toks: &[Tok], mut k: usize, buf: &mut String) -> bool {
        let mut n = 0;
        while let Some(t) = toks.get(k) {
            // "Hansen & Jensen Byg A/S"
            if legal_form_at(s, toks, k) {
                return true;
            }
            if n >= 4 || t.newline_before || !(t.is_word() && t.cap) {
                break;
            }
            lower_into(t.text(s), buf);
            if matches!(
                buf.as_str(),
                "co" | "søn" | "sønner" | "partnere" | "partners"
            ) || self.classify(t.text(s), t.all_caps, buf).0 == Class::Breaker
            {
                return true;
            }
            k += 1;
            n += 1;
        }
        false
    }
}

/// Words before a user name in forum posts and chats ("Indlæg af",
/// "Svar fra", "Skrevet af").
const USER_BEFORE: &[&str] = &[
    "indlæg",
    "svar",
    "skrevet",
    "besked",
    "kommentar",
    "citat",
    "oprettet",
    "posted",
    "written",
    "reply",
    "opdateret",
    "redigeret",
];

/// Field labels before a user name ("Bruger: mette_1987").
const USER_LABEL: &[&str] = &[
    "bruger",
    "brugernavn",
    "user",
    "username",
    "nick",
    "profil",
    "alias",
];

/// Common first names that are also ordinary Danish words: never a name
/// in lower case.
pub(crate) const LOWER_STOP: &[&str] = &[
    "per", "bo", "mark", "liv", "sol", "ask", "karl", "lykke", "alma", "vera", "ane", "gry",
    "bent", "rune", "lise", "signe", "kaj", "ib", "ea", "maj", "juni", "august", "april", "stig",
    "finn", "kurt", "frank", "vibe", "dan", "tage", "mona", "nanna", "ole", "ulf",
];

/// Words around a lower-case first name that say it is one ("snakkede med
/// mette", "mette sagde").
const LOWER_BEFORE: &[&str] = &[
    "med", "til", "hos", "fra", "og", "hils", "ved", "om", "at", "kære", "hej", "kh", "knus",
    "kram",
];
const LOWER_AFTER: &[&str] = &[
    "sagde", "siger", "har", "havde", "er", "var", "kom", "ringede", "skrev", "fortalte", "og",
    "synes", "mener", "spurgte", "skal", "vil", "kan", "spørger", "skriver", "kommer", "ringer",
];

/// A lower-case word folded as names are compared across writings: Latin
/// accents dropped ("andres" for "Andrés").
pub(crate) fn fold_accents(w: &str, out: &mut String) {
    out.clear();
    out.extend(w.chars().map(|c| unaccent(c).unwrap_or(c)));
}

/// Whether [`fold_accents`] changes `w`.
pub(crate) fn has_accent(w: &str) -> bool {
    !w.is_ascii() && w.chars().any(|c| unaccent(c).is_some())
}

fn unaccent(c: char) -> Option<char> {
    Some(match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        _ => return None,
    })
}

impl NameFinder<'_> {
    /// Names as informal text writes them: user names after "Indlæg af",
    /// "Bruger:" or "@", and common first names in lower case next to a
    /// word that says so ("snakkede med mette", review confidence).
    pub fn informal(&self, s: &str, toks: &[Tok]) -> Vec<NameCand> {
        let mut out = Vec::new();
        let mut buf = String::new();
        let b = s.as_bytes();
        for (k, t) in toks.iter().enumerate() {
            if !(t.is_word() || t.kind == TokKind::Number) {
                continue;
            }
            // user names (cheap tests first: this runs at every word)
            let is = |i: usize, list: &[&str]| {
                toks[i].is_word() && toks[i].end - toks[i].start <= 12 && {
                    let w = toks[i].text(s);
                    list.iter().any(|x| x.eq_ignore_ascii_case(w))
                }
            };
            // Initials and user names need a word in capitals, a byte glued
            // after the token (a digit, '_', a letter or symbol beyond
            // ASCII), or before it one of '@', ':', '/', '|' or a word that
            // may be "af", "fra" or "by"; any other token can only be a
            // lower-case first name (this runs at every token: most skip
            // the tests below)
            let special = t.all_caps
                || b.get(t.end)
                    .is_some_and(|&c| c >= 0x80 || c.is_ascii_alphanumeric() || c == b'_')
                || k >= 1 && {
                    let p = &toks[k - 1];
                    matches!(p.kind, TokKind::Punct('@' | ':' | '/' | '|'))
                        || p.is_word()
                            && (2..=3).contains(&(p.end - p.start))
                            && matches!(b[p.start] | 0x20, b'a' | b'f' | b'b')
                };
            if special {
                let after_user_word = || {
                    k >= 2
                        && toks[k - 1].end - toks[k - 1].start <= 3
                        && is(k - 1, &["af", "fra", "by"])
                        && is(k - 2, USER_BEFORE)
                };
                let after_label = || k >= 2 && toks[k - 1].is_punct(':') && is(k - 2, USER_LABEL);
                let after_at = k >= 1
                    && toks[k - 1].is_punct('@')
                    && toks[k - 1].end == t.start
                    && (k < 2 || toks[k - 1].space_before || toks[k - 1].newline_before);
                // a handle, not a word: a digit, '_', or a capital inside ("SørenK")
                let handle = || {
                    let w = t.text(s);
                    let tail = b
                        .get(t.end)
                        .is_some_and(|&c| c == b'_' || c.is_ascii_digit());
                    tail || w.bytes().any(|c| c.is_ascii_digit() || c == b'_')
                        || w.chars().skip(1).any(char::is_uppercase)
                };
                // a handle anywhere: letters joined by '_' ("mor_til_tre") or
                // letters and a number ("Sanne1979"), not a file name or a code
                let standalone_handle = t.is_word() && t.space_before && handle_at(s, toks, k);
                // staff initials as a signature: "/MKN", "Notat ved: LJ"
                let initials = t.is_word()
                    && t.all_caps
                    && (2..=4).contains(&(t.end - t.start))
                    && k >= 1
                    && (toks[k - 1].is_punct('/')
                        && toks[k - 1].end == t.start
                        && toks[k - 1].space_before
                        // a table's initials column: "| 03.03.2024 | Besøg | AKS |"
                        || toks[k - 1].is_punct('|')
                            && toks
                                .get(k + 1)
                                .is_none_or(|n| n.is_punct('|') || n.newline_before)
                            && !matches!(
                                t.text(s),
                                "OK" | "NB" | "PS" | "EU" | "DK" | "SFO" | "PPR" | "CPR" | "AKT"
                                    | "JA" | "NEJ" | "IKKE" | "ID" | "NR" | "TLF" | "KL"
                            )
                        || toks[k - 1].is_punct(':')
                            && k >= 2
                            && is(
                                k - 2,
                                &[
                                    "ved",
                                    "init",
                                    "initialer",
                                    "sagsbehandler",
                                    "udarbejdet",
                                    "notat",
                                    "referent",
                                    "skrevet",
                                    "journalført",
                                ],
                            )
                        // "Vores ref.: JGR"
                        || toks[k - 1].is_punct(':')
                            && k >= 3
                            && toks[k - 2].is_punct('.')
                            && is(k - 3, &["ref", "init"])
                        // a signature line of its own closing a note ("\n\nLS")
                        || t.newline_before && {
                            let rest = &s[t.end..];
                            let line_end = rest.find('\n').unwrap_or(rest.len());
                            rest[..line_end].trim().is_empty()
                                && (rest[line_end..].trim().is_empty()
                                    || rest[line_end..].starts_with("\n\n"))
                                && s[..t.start].ends_with("\n\n")
                                && !matches!(
                                    t.text(s),
                                    "OK" | "NB" | "PS" | "EU" | "DK" | "SFO" | "PPR" | "CPR" | "AKT"
                                )
                        });
                if initials {
                    out.push(NameCand {
                        start: t.start,
                        end: t.end,
                        keys: Vec::new(),
                        words: 1,
                        confidence: 0.75,
                        reason: "staff initials as a signature",
                        org: false,
                    });
                    continue;
                }
                if after_at || standalone_handle || (after_user_word() || after_label()) && handle()
                {
                    // ("@" is not part of the name: "@Kenneth", "@TorbenJ")
                    let start = t.start;
                    let mut e = t.end;
                    while e < b.len()
                        && (b[e].is_ascii_alphanumeric()
                            || matches!(b[e], b'_' | b'-' | b'.')
                            || b[e] >= 0x80
                                && s[e..].chars().next().is_some_and(char::is_alphanumeric))
                    {
                        e += s[e..].chars().next().map_or(1, char::len_utf8);
                    }
                    while e > t.end && matches!(b[e - 1], b'.' | b'-') {
                        e -= 1;
                    }
                    out.push(NameCand {
                        start,
                        end: e,
                        keys: Vec::new(),
                        words: 1,
                        confidence: 0.85,
                        reason: "user name",
                        org: false,
                    });
                    continue;
                }
            }
            // a common first name in lower case, beside a word that says so
            // (a line of a chat may open in lower case: "freja kan ikke")
            if !t.is_word() || t.cap || t.end - t.start < 3 || t.end - t.start > 12 {
                continue;
            }
            // (a word whose lower case changes at most its ASCII letters —
            // an ASCII word, or one with no capital — and that the common
            // first names' Bloom filter rules out stops here, before any
            // copy or hashing)
            let wb = &b[t.start..t.end];
            if (wb.is_ascii() || no_capital(wb)) && !self.lex.may_be_common_first_ascii(wb) {
                continue;
            }
            // (a word without capitals is its own lower case: no copy)
            let w = t.text(s);
            let as_is = w.bytes().all(|c| !c.is_ascii_uppercase())
                && (w.is_ascii() || !w.chars().any(char::is_uppercase));
            if as_is {
                if !self.lex.is_common_first(w) {
                    continue;
                }
                buf.clear();
                buf.push_str(w);
            } else {
                lower_into(w, &mut buf);
                if !self.lex.is_common_first(&buf) {
                    continue;
                }
            }
            if LOWER_STOP.contains(&buf.as_str())
                || self.rules.flags(&buf) != 0
                || !(k > 0 && is(k - 1, LOWER_BEFORE)
                    || k + 1 < toks.len() && is(k + 1, LOWER_AFTER))
            {
                continue;
            }
            out.push(NameCand {
                start: t.start,
                end: t.end,
                keys: vec![buf.clone()],
                words: 1,
                confidence: 0.55,
                reason: "common first name in lower case: review",
                org: false,
            });
        }
        out
    }
}

/// Whether a word surely has no capital: ASCII letters in lower case and
/// Latin-1 letters from U+00DF on (`false` for anything else, capital or not).
fn no_capital(w: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&c) = w.get(i) {
        if c < 0x80 {
            if c.is_ascii_uppercase() {
                return false;
            }
            i += 1;
        } else if c == 0xC3 && w.get(i + 1).is_some_and(|&d| d >= 0x9F) {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

/// Whether the word at token `k` starts a user handle: letters joined to
/// more letters by '_' ("mor_til_tre", "VW_Kenneth"), or three or more
/// letters glued to two or more digits ("Sanne1979", "madmor1967"), and not
/// a file name ("budget_2023.xlsx").
fn handle_at(s: &str, toks: &[Tok], k: usize) -> bool {
    let b = s.as_bytes();
    let t = toks[k];
    // (most words end at a space or a punctuation mark: no handle)
    match b.get(t.end) {
        None => return false,
        Some(&c) if c < 0x80 && !c.is_ascii_alphanumeric() && c != b'_' => return false,
        _ => {}
    }
    let mut e = t.end;
    let mut underscore = false;
    while e < b.len()
        && (b[e].is_ascii_alphanumeric()
            || b[e] == b'_'
            || b[e] >= 0x80 && s[e..].chars().next().is_some_and(char::is_alphanumeric))
    {
        underscore |= b[e] == b'_';
        e += s[e..].chars().next().map_or(1, char::len_utf8);
    }
    if e < b.len() && b[e] == b'.' && b.get(e + 1).is_some_and(u8::is_ascii_alphabetic) {
        return false; // a file name
    }
    let rest = &s[t.end..e];
    let digits_after = rest.bytes().take_while(u8::is_ascii_digit).count();
    underscore && rest.bytes().any(|c| c.is_ascii_alphabetic() || c >= 0x80)
        || t.end - t.start >= 3 && digits_after >= 2 && !t.all_caps
}

/// The first words of Danish place names ("Vester Nebel", "Store
/// Heddinge", "Gl. Rye").
fn is_place_prefix(w: &str) -> bool {
    matches!(
        w,
        "vester"
            | "øster"
            | "nørre"
            | "sønder"
            | "store"
            | "lille"
            | "gammel"
            | "gl"
            | "ny"
            | "nye"
            | "over"
            | "neder"
            | "midt"
            | "vestre"
            | "østre"
            | "nordre"
            | "søndre"
    )
}

/// Whether a word is a Roman regnal number ("II", "X", "XIV").
fn is_roman(w: &str) -> bool {
    !w.is_empty() && w.len() <= 5 && w.bytes().all(|c| matches!(c, b'I' | b'V' | b'X'))
}

/// Whether a legal form follows at token `k` ("A/S", "I/S", "K/S", "P/S").
fn legal_form_at(s: &str, toks: &[Tok], k: usize) -> bool {
    let (Some(a), Some(sl), Some(b)) = (toks.get(k), toks.get(k + 1), toks.get(k + 2)) else {
        return false;
    };
    a.is_word()
        && matches!(a.text(s), "A" | "I" | "K" | "P")
        && sl.is_punct('/')
        && sl.start == a.end
        && b.is_word()
        && b.text(s) == "S"
        && b.start == sl.end
}

/// English month names: before or after a number they are a date ("May 6,
/// 2024", "6 June"), not a name.
const MONTHS_EN: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Whether token `k` is an English month name next to a number.
fn date_word(s: &str, toks: &[Tok], k: usize) -> bool {
    (toks.get(k + 1).is_some_and(|t| t.kind == TokKind::Number)
        || k > 0 && toks[k - 1].kind == TokKind::Number
        || k > 1 && toks[k - 1].is_punct(',') && toks[k - 2].is_word())
        && MONTHS_EN.contains(&toks[k].text(s))
        // "Ons 15.00 - Tor 08.00": an abbreviated weekday before a time
        || toks.get(k + 1).is_some_and(|t| t.kind == TokKind::Number)
            && matches!(
                toks[k].text(s),
                "Man" | "Tir" | "Ons" | "Tor" | "Fre" | "Lør" | "Søn"
            )
}

/// Role and job words ending like "politiassistent", "AKT-vejleder",
/// "sygeplejerske": a role stays outside a name's span and is evidence
/// for the name after it, as titles are.
pub(crate) fn is_role(w: &str) -> bool {
    let w = w.strip_suffix("en").filter(|r| r.len() > 6).unwrap_or(w);
    const ROLES: &[&str] = &[
        "assistent",
        "konsulent",
        "rådgiver",
        "behandler",
        "vejleder",
        "terapeut",
        "plejerske",
        "sygeplejerske",
        "koordinator",
        "inspektør",
        "betjent",
        "fuldmægtig",
        "chef",
        "direktør",
    ];
    w.len() > 6 && ROLES.iter().any(|r| w.ends_with(r) && w.len() >= r.len())
}

/// Nouns before a name that make it the name of a thing: storms, ships,
/// houses ("stormen Bodil", "færgen Peter Wessel", "landstedet Rolighed").
fn is_thing_word(w: &str) -> bool {
    matches!(
        w,
        "stormen"
            | "orkanen"
            | "storm"
            | "orkan"
            | "færgen"
            | "hurtigfærgen"
            | "skibet"
            | "fregatten"
            | "korvetten"
            | "kutteren"
            | "båden"
            | "skonnerten"
            | "fyrskibet"
            | "krydstogtskibet"
            | "landstedet"
            | "herregården"
            | "hotellet"
            | "restauranten"
            | "sorten"
            | "æblesorten"
            | "lokale"
            | "lokalet"
            | "mødelokale"
            | "mødelokalet"
            | "navnet"
    )
}

/// Whether the text between two words of a line is a table's column gap
/// (two spaces or more, or a tab).
fn column_gap(gap: &str) -> bool {
    gap.contains('\t') || gap.contains("  ")
}

/// Honorifics that are part of a name's span ("hr. Hansen", "fru Jensen").
fn is_honorific(w: &str) -> bool {
    matches!(
        w,
        "hr" | "herr"
            | "fru"
            | "frk"
            | "frøken"
            | "dr"
            | "mr"
            | "mrs"
            | "ms"
            | "miss"
            | "sir"
            | "lady"
            | "lord"
    )
}

/// Field labels after which (and a colon) a name follows.
fn is_label(w: &str) -> bool {
    matches!(
        w,
        "navn"
            | "fra"
            | "til"
            | "kontakt"
            | "deltagere"
            | "deltager"
            | "barn"
            | "forælder"
            | "forældre"
            | "part"
            | "parter"
            | "modtager"
            | "afsender"
            | "cc"
            | "underskrevet"
            | "klient"
            | "elev"
            | "referent"
            | "mødeleder"
            | "ordstyrer"
            | "vidne"
            | "vidner"
            | "anmelder"
            | "underretter"
            | "ansøger"
            | "borger"
            | "pårørende"
            | "tilstede"
            | "fremmødte"
            | "sagsbehandler"
    )
}

/// Abbreviated given names written with a dot inside a name ("Sv.",
/// "Chr.", "Joh.").
fn is_name_abbrev(w: &str) -> bool {
    matches!(
        w,
        "Sv" | "Chr" | "Joh" | "Vilh" | "Th" | "Kr" | "Jac" | "Ths" | "Fr" | "Wm" | "Jos" | "Aa"
    )
}

/// A quotation mark as a token.
fn is_quote(k: TokKind) -> bool {
    matches!(
        k,
        TokKind::Punct('"' | '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{BB}' | '\u{AB}' | '\'')
    )
}

/// "al-Masri", "el-Amin", "ad-Din": an Arabic article glued to a
/// capitalised surname.
fn arabic_article(w: &str) -> bool {
    [
        "al-", "el-", "ad-", "ar-", "as-", "ash-", "at-", "az-", "an-", "ul-",
    ]
    .iter()
    .any(|p| {
        w.strip_prefix(p)
            .is_some_and(|r| r.chars().next().is_some_and(char::is_uppercase))
    })
}

/// Lower-case particles inside a name ("van der Berg", "bin Laden").
fn is_particle(w: &str) -> bool {
    matches!(
        w,
        "bint"
            | "abu"
            | "van"
            | "von"
            | "der"
            | "den"
            | "de"
            | "al"
            | "el"
            | "bin"
            | "ibn"
            | "da"
            | "di"
            | "la"
            | "le"
            | "du"
            | "ten"
            | "ter"
    )
}

/// Whether a word touches a digit ("A00", "3B"): a code, not a name.
fn glued_to_digit(s: &str, t: &Tok) -> bool {
    let b = s.as_bytes();
    (t.start > 0 && b[t.start - 1].is_ascii_digit())
        || (t.end < b.len() && b[t.end].is_ascii_digit())
}

/// Whether a token is a capitalised word (for the request-level pass).
pub fn is_cap_word(t: &Tok) -> bool {
    t.kind == TokKind::Word && t.cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_capital_only_when_none() {
        for w in [
            "freja",
            "søren",
            "åse",
            "ærø",
            "Åse",
            "sØren",
            "abC",
            "straße",
            "ÿ",
            "÷x",
            "über",
            "Über",
            "émile",
            "Émile",
            "ı",
            "ǆ",
            "mette\u{1F37A}",
            "",
            "a-b",
            "x'y",
        ] {
            if no_capital(w.as_bytes()) {
                assert!(!w.chars().any(char::is_uppercase), "{w}");
                assert_eq!(w.to_lowercase(), w, "{w}");
            }
        }
        assert!(no_capital("søren".as_bytes()) && no_capital("straße".as_bytes()));
        assert!(!no_capital("sØren".as_bytes()) && !no_capital("ǆ".as_bytes()));
    }
}
