//! The testbed's world: citizens, cases and documents, generated from a seed.
//!
//! Everything here is deterministic (ChaCha8 seeded with the given seed), so a
//! seed names one exact data set and its ground truth. The generated text is
//! Danish and deliberately mentions *other* people (names, CPR numbers in three
//! spellings, addresses) so that screening has real work to do; every such
//! mention is recorded in [`TbDocument::pii`] as the exact substring used.

use chrono::{Datelike, Duration, NaiveDate};
use marc_model::Cpr;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The seed `marc demo` uses; also the default of `marc testbed truth`.
pub const DEMO_SEED: u64 = 2018;

/// The ids of the simulated case systems that hold documents.
pub const SYSTEMS: [&str; 3] = ["esdh", "legacy", "terminal"];

/// The departments cases belong to.
pub const DEPARTMENTS: [&str; 5] = [
    "Jobcenter",
    "Sygedagpenge",
    "Børn og Unge",
    "Borgerservice",
    "Handicap",
];

/// The document kinds the generator writes.
pub const KINDS: [&str; 4] = ["journalnotat", "brev", "afgørelse", "mail"];

/// How many citizens a world holds.
const N_CITIZENS: usize = 40;
/// How many people exist only as mentions (never a citizen with cases).
const N_OUTSIDERS: usize = 80;

/// A citizen registered in the world; cases and documents belong to one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citizen {
    /// `DDMMYY-SSSS`.
    pub cpr: String,
    pub name: String,
    /// `Street 12, 2. tv., 8600 Silkeborg`.
    pub address: String,
}

/// A case in one system, belonging to one citizen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub system: String,
    pub case_id: String,
    /// The citizen the case is about, `DDMMYY-SSSS`.
    pub cpr: String,
    pub title: String,
    pub department: String,
    /// `YYYY-MM-DD`.
    pub opened: String,
}

/// One mention of another person: what it is and the exact text used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pii {
    /// `cpr`, `name` or `address`.
    pub kind: String,
    /// The exact substring as it appears in the document or attachment text.
    pub text: String,
}

/// A PDF attachment of a document; its text is the PDF's text layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TbAttachment {
    pub att_id: String,
    /// File name shown to users, e.g. `Lægeerklæring.pdf`.
    pub name: String,
    /// Always `application/pdf` for now.
    pub mime: String,
    /// Paragraphs separated by a blank line.
    pub text: String,
}

/// A document in one system, with its ground truth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TbDocument {
    pub system: String,
    pub doc_id: String,
    pub case_id: String,
    /// The citizen the document belongs to (the case's citizen), `DDMMYY-SSSS`.
    pub cpr: String,
    pub title: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `journalnotat`, `brev`, `afgørelse` or `mail`.
    pub kind: String,
    pub department: String,
    /// Paragraphs separated by exactly `"\n\n"`; no other newlines, no tabs,
    /// no double spaces (so HTML rendering round-trips).
    pub text: String,
    /// Every mention of another person, in the text *and* in the attachments.
    pub pii: Vec<Pii>,
    pub attachments: Vec<TbAttachment>,
}

/// Ground truth as written by `marc testbed truth`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truth {
    pub seed: u64,
    pub documents: Vec<TbDocument>,
}

/// What kind of case system a testbed system is: which server serves it,
/// which robot script reads it and which accounts it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemKind {
    /// The modern ESDH system.
    Esdh,
    /// The old system full of traps.
    Legacy,
    /// The terminal-style system with no DOM text.
    Terminal,
}

impl SystemKind {
    /// `esdh`, `legacy` or `terminal`: the id of the standard testbed's
    /// system of this kind, its script's name and its credential prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            SystemKind::Esdh => "esdh",
            SystemKind::Legacy => "legacy",
            SystemKind::Terminal => "terminal",
        }
    }
}

/// One case system of a world: its id (the `system` of its cases and
/// documents) and its kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TbSystem {
    pub id: String,
    pub kind: SystemKind,
}

/// The shape of a load world ([`World::generate_load`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSpec {
    /// How many web systems, ESDH and legacy alternating (`esdh01`,
    /// `legacy01`, `esdh02`, …).
    pub systems: usize,
    /// How many documents the load citizen has, spread evenly over the systems.
    pub documents: usize,
}

/// At most this many of the load citizen's documents share one case, so
/// legacy cases page (5 per page) and ESDH case lists grow with the load.
const LOAD_DOCS_PER_CASE: usize = 8;

/// A whole generated data set.
#[derive(Clone, Debug)]
pub struct World {
    pub seed: u64,
    /// The systems holding its cases, in order.
    pub systems: Vec<TbSystem>,
    pub citizens: Vec<Citizen>,
    pub cases: Vec<Case>,
    pub documents: Vec<TbDocument>,
}

/// True when `a` and `b` hold the same digits (so `DDMMYY-SSSS` equals `DDMMYYSSSS`).
fn same_digits(a: &str, b: &str) -> bool {
    a.chars()
        .filter(char::is_ascii_digit)
        .eq(b.chars().filter(char::is_ascii_digit))
}

/// The systems of a load world: ESDH and legacy alternating, each kind
/// numbered from 01.
pub(crate) fn load_systems(n: usize) -> Vec<TbSystem> {
    (0..n)
        .map(|i| {
            let kind = if i % 2 == 0 {
                SystemKind::Esdh
            } else {
                SystemKind::Legacy
            };
            TbSystem {
                id: format!("{}{:02}", kind.as_str(), i / 2 + 1),
                kind,
            }
        })
        .collect()
}

impl World {
    /// Generates the world for `seed`. Same seed, same world, on every machine.
    pub fn generate(seed: u64) -> World {
        let systems = [SystemKind::Esdh, SystemKind::Legacy, SystemKind::Terminal]
            .map(|kind| TbSystem {
                id: kind.as_str().to_string(),
                kind,
            })
            .to_vec();
        Generator::new(seed).run(systems, None)
    }

    /// A world for load tests: `spec.systems` web systems, ESDH and legacy
    /// alternating (`esdh01`, `legacy01`, `esdh02`, …), and a load citizen
    /// ([`World::load_citizen`]) with exactly `spec.documents` documents
    /// spread evenly over them; the other citizens have cases as usual.
    /// Deterministic from `seed`, and unlike [`World::generate`]'s.
    pub fn generate_load(seed: u64, spec: &LoadSpec) -> World {
        Generator::new(seed).run(load_systems(spec.systems), Some(spec.documents))
    }

    /// The citizen whose documents a load world ([`World::generate_load`])
    /// piles up. In the standard world it is the demo citizen.
    pub fn load_citizen(&self) -> &Citizen {
        &self.citizens[0]
    }

    /// The kind of the system with this id.
    pub fn system_kind(&self, id: &str) -> Option<SystemKind> {
        self.systems.iter().find(|s| s.id == id).map(|s| s.kind)
    }

    /// The citizen with this CPR number (any accepted spelling), if any.
    pub fn citizen(&self, cpr: &str) -> Option<&Citizen> {
        self.citizens.iter().find(|c| same_digits(&c.cpr, cpr))
    }

    /// A citizen with at least four documents in each system and at least one
    /// attachment: the one `marc demo` asks about.
    pub fn demo_citizen(&self) -> &Citizen {
        self.citizens
            .iter()
            .find(|c| {
                SYSTEMS
                    .iter()
                    .all(|s| self.documents_for(s, &c.cpr).count() >= 4)
                    && self
                        .documents
                        .iter()
                        .any(|d| d.cpr == c.cpr && !d.attachments.is_empty())
            })
            // The generator forces citizen 0 to qualify.
            .unwrap_or(&self.citizens[0])
    }

    /// The cases of one citizen in one system, in id order.
    pub fn cases_for<'a>(
        &'a self,
        system: &'a str,
        cpr: &'a str,
    ) -> impl Iterator<Item = &'a Case> {
        self.cases
            .iter()
            .filter(move |c| c.system == system && same_digits(&c.cpr, cpr))
    }

    /// The documents of one citizen in one system.
    pub fn documents_for<'a>(
        &'a self,
        system: &'a str,
        cpr: &'a str,
    ) -> impl Iterator<Item = &'a TbDocument> {
        self.documents
            .iter()
            .filter(move |d| d.system == system && same_digits(&d.cpr, cpr))
    }

    /// The documents of one case, oldest first.
    pub fn documents_of_case<'a>(
        &'a self,
        case_id: &'a str,
    ) -> impl Iterator<Item = &'a TbDocument> {
        self.documents.iter().filter(move |d| d.case_id == case_id)
    }

    /// The case with this id, in any system (ids are unique across systems).
    pub fn case(&self, case_id: &str) -> Option<&Case> {
        self.cases.iter().find(|c| c.case_id == case_id)
    }

    /// The document with this id (ids are unique across systems).
    pub fn document(&self, doc_id: &str) -> Option<&TbDocument> {
        self.documents.iter().find(|d| d.doc_id == doc_id)
    }

    /// The attachment with this id and the document that carries it.
    pub fn attachment(&self, att_id: &str) -> Option<(&TbDocument, &TbAttachment)> {
        self.documents.iter().find_map(|d| {
            d.attachments
                .iter()
                .find(|a| a.att_id == att_id)
                .map(|a| (d, a))
        })
    }

    /// Ground truth: every document (of one citizen when `cpr` is given).
    pub fn truth(&self, cpr: Option<&str>) -> Truth {
        let documents = self
            .documents
            .iter()
            .filter(|d| cpr.is_none_or(|c| same_digits(&d.cpr, c)))
            .cloned()
            .collect();
        Truth {
            seed: self.seed,
            documents,
        }
    }
}

// ---------------------------------------------------------------- word lists

const MALE: &[&str] = &[
    "Peter",
    "Jens",
    "Lars",
    "Michael",
    "Henrik",
    "Thomas",
    "Søren",
    "Jan",
    "Niels",
    "Christian",
    "Martin",
    "Anders",
    "Jesper",
    "Morten",
    "Rasmus",
    "Mads",
    "Kasper",
    "Jørgen",
    "Frederik",
    "Mikkel",
    "Bjørn",
    "Ole",
    "Torben",
    "Poul",
    "Emil",
    "Oliver",
    "Magnus",
    "Kristian",
    "Bent",
    "Steen",
    "Flemming",
    "Gunnar",
];
const FEMALE: &[&str] = &[
    "Anne",
    "Kirsten",
    "Hanne",
    "Mette",
    "Anna",
    "Helle",
    "Susanne",
    "Lene",
    "Maria",
    "Marianne",
    "Lone",
    "Camilla",
    "Pia",
    "Louise",
    "Charlotte",
    "Tina",
    "Gitte",
    "Inge",
    "Bente",
    "Karen",
    "Ida",
    "Sofie",
    "Freja",
    "Cecilie",
    "Birgitte",
    "Åse",
    "Signe",
    "Line",
    "Mathilde",
    "Dorthe",
    "Sørine",
    "Mia",
];
const MALE_DOUBLE: &[&str] = &[
    "Hans Christian",
    "Jens Peter",
    "Niels Erik",
    "Karl-Johan",
    "Per Ole",
];
const FEMALE_DOUBLE: &[&str] = &[
    "Anne Marie",
    "Anne-Sofie",
    "Karen Margrethe",
    "Eva-Lotte",
    "Lise Lotte",
];
const SURNAMES: &[&str] = &[
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Petersen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
    "Christiansen",
    "Poulsen",
    "Johansen",
    "Møller",
    "Mortensen",
    "Knudsen",
    "Jakobsen",
    "Mikkelsen",
    "Frederiksen",
    "Laursen",
    "Østergaard",
    "Lund",
    "Holm",
    "Schmidt",
    "Kjær",
    "Bech",
    "Dahl",
    "Bak",
    "Skov",
    "Vestergaard",
    "Søndergaard",
    "Brøndum",
    "Kragh",
    "Friis",
    "Bøgh",
];
const MIDDLE: &[&str] = &[
    "Holm", "Lund", "Bach", "Skov", "Dam", "Bruun", "Krogh", "Juhl", "Vind", "Høj", "Damgaard",
];
const IMM_MALE: &[&str] = &[
    "Mohammed", "Ahmad", "Ali", "Hassan", "Omar", "Mustafa", "Piotr", "Tomasz", "Yusuf",
];
const IMM_FEMALE: &[&str] = &[
    "Fatima",
    "Aisha",
    "Leyla",
    "Zeynep",
    "Agnieszka",
    "Amal",
    "Maryam",
    "Hiba",
];
const IMM_SURNAMES: &[&str] = &[
    "Hussein", "Khan", "Yilmaz", "Ahmadi", "Nowak", "Kowalski", "Abdi", "Demir", "Said", "Rahimi",
];

const STREETS: &[&str] = &[
    "Søndergade",
    "Vestergade",
    "Østergade",
    "Nørregade",
    "Algade",
    "Skolevej",
    "Kirkevej",
    "Møllevej",
    "Bøgevej",
    "Egevej",
    "Birkevej",
    "Ahornvej",
    "Rosenvænget",
    "Åboulevarden",
    "Vesterbrogade",
    "Frederiksberg Allé",
    "Hans Tausens Gade",
    "Kong Christians Allé",
    "Strandvejen",
    "Grønnegade",
    "Nørre Allé",
    "Ågade",
    "Fælledvej",
    "Tværgade",
    "Præstevænget",
    "Skovbrynet",
    "Lærkevej",
    "Engvej",
    "Bakkedraget",
    "Tøndervej",
    "Århusvej",
    "Højagervej",
];
const TOWNS: &[(&str, &str)] = &[
    ("8600", "Silkeborg"),
    ("8000", "Aarhus C"),
    ("5000", "Odense C"),
    ("9000", "Aalborg"),
    ("7100", "Vejle"),
    ("8800", "Viborg"),
    ("2100", "København Ø"),
    ("2200", "København N"),
    ("6700", "Esbjerg"),
    ("4000", "Roskilde"),
    ("8700", "Horsens"),
    ("7400", "Herning"),
    ("8900", "Randers"),
    ("3000", "Helsingør"),
    ("2800", "Kongens Lyngby"),
    ("8660", "Skanderborg"),
    ("8620", "Kjellerup"),
    ("7500", "Holstebro"),
];
const FLOORS: &[&str] = &[
    "st. tv.", "st. th.", "1. tv.", "1. th.", "2. tv.", "2. th.", "3. mf.", "1.", "4. tv.",
];

const MONTHS: [&str; 12] = [
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
];

/// Case titles per department (index matches [`DEPARTMENTS`]).
const CASE_TITLES: [&[&str]; 5] = [
    &[
        "Ressourceforløb",
        "Jobafklaringsforløb",
        "Kontanthjælp",
        "Virksomhedspraktik",
        "Revalidering",
        "Fleksjob, visitation",
    ],
    &[
        "Sygedagpenge, opfølgning",
        "Sygedagpenge, forlængelse",
        "Delvis raskmelding",
        "Refusion til arbejdsgiver",
    ],
    &[
        "Børnefaglig undersøgelse",
        "Forebyggende foranstaltning",
        "Underretning",
        "Aflastning",
        "Samvær",
    ],
    &[
        "Boligstøtte",
        "Personligt tillæg",
        "Flytning og adresseændring",
        "Sygesikring",
        "Enkeltydelse",
    ],
    &[
        "Merudgifter",
        "Hjælpemidler",
        "Ledsageordning",
        "Støtte til bil",
        "Boligindretning",
    ],
];

/// Journal note topics per department.
const NOTE_TOPICS: [&[&str]; 5] = [
    &[
        "samtale om jobplan",
        "opfølgning på praktik",
        "telefonsamtale med borger",
        "status på forløbet",
    ],
    &[
        "opfølgningssamtale",
        "status fra arbejdsgiver",
        "lægeattest modtaget",
        "rundbordssamtale",
    ],
    &[
        "hjemmebesøg",
        "møde med skolen",
        "underretning modtaget",
        "børnesamtale",
    ],
    &[
        "henvendelse i borgerservice",
        "telefonisk henvendelse",
        "dokumentation modtaget",
    ],
    &[
        "hjemmebesøg",
        "ergoterapeutisk vurdering",
        "samtale om behov",
    ],
];

/// Neutral sentences per department (no one is named in them).
const FILLER: [&[&str]; 5] = [
    &[
        "Der er lagt en plan for de næste tre måneder med fokus på opkvalificering.",
        "Borgeren ønsker at arbejde inden for lager og logistik.",
        "Det blev aftalt, at der søges om en virksomhedspraktik i en mindre butik.",
        "Næste samtale afholdes om fire uger.",
        "Borgeren har deltaget aktivt i de aftalte aktiviteter.",
        "Der er drøftet muligheden for et kursus i dansk og it.",
        "Jobcentret vurderer, at borgeren er tæt på at kunne tage et ordinært job.",
    ],
    &[
        "Den praktiserende læge vurderer, at sygemeldingen forventes at vare otte til tolv uger.",
        "Der er indhentet en statusattest fra egen læge.",
        "Arbejdsgiveren er positiv over for en gradvis tilbagevenden.",
        "Borgeren oplever fortsat smerter i ryggen og kan ikke løfte tungt.",
        "Der er aftalt en delvis raskmelding med ti timer om ugen.",
        "Sagen revurderes, når der foreligger svar fra speciallægen.",
        "Borgeren er orienteret om reglerne for forlængelse af sygedagpenge.",
    ],
    &[
        "Barnet trives i skolen, men har et stort fravær.",
        "Familien har fået tilbudt en familiebehandler.",
        "Der er afholdt netværksmøde med skole og sundhedsplejerske.",
        "Forældrene er enige i, at der iværksættes aflastning hver anden weekend.",
        "Barnets egne ønsker er drøftet ved en børnesamtale.",
        "Skolen oplyser, at barnet har fået det bedre efter sommerferien.",
        "Der følges op på indsatsen om tre måneder.",
    ],
    &[
        "Der er modtaget dokumentation for husstandens indkomst.",
        "Ansøgningen er behandlet ud fra de oplysninger, der står i folkeregistret.",
        "Boligstøtten er beregnet ud fra en husleje på 6.850 kr. om måneden.",
        "Borgeren er vejledt om muligheden for at søge digitalt.",
        "Sagen er afsluttet i borgerservice.",
        "Der mangler en kopi af lejekontrakten, før sagen kan færdigbehandles.",
        "Borgeren har fået udleveret et nyt sundhedskort.",
    ],
    &[
        "Ergoterapeuten har vurderet behovet for hjælpemidler i hjemmet.",
        "Der er bevilget ledsagelse svarende til femten timer om måneden.",
        "Merudgifterne er opgjort til 1.250 kr. om måneden.",
        "Borgeren har behov for en kørestol til udendørs brug.",
        "Boligen er ikke egnet, og der er søgt om boligændring.",
        "Der er aftalt et nyt hjemmebesøg, når hjælpemidlet er leveret.",
        "Borgeren er orienteret om muligheden for at klage.",
    ],
];

/// How another person relates to the citizen, by the other person's sex.
const RELATIONS_MALE: &[&str] = &[
    "samlever",
    "ægtefælle",
    "bror",
    "far",
    "nabo",
    "kollega",
    "tidligere samlever",
    "svigerfar",
    "fætter",
    "ven",
    "udlejer",
];
const RELATIONS_FEMALE: &[&str] = &[
    "samlever",
    "ægtefælle",
    "søster",
    "mor",
    "nabo",
    "kollega",
    "tidligere samlever",
    "svigermor",
    "kusine",
    "veninde",
    "udlejer",
];

const ATTACHMENT_NAMES: &[&str] = &[
    "Lægeerklæring.pdf",
    "Statusattest.pdf",
    "Ansøgning.pdf",
    "Skoleudtalelse.pdf",
    "Lejekontrakt.pdf",
    "Partshøringssvar.pdf",
    "Udtalelse fra arbejdsgiver.pdf",
];

// ---------------------------------------------------------------- generator

/// A person who can be mentioned: a citizen or an outsider.
#[derive(Clone, Debug)]
struct Person {
    cpr: Cpr,
    name: String,
    address: String,
    male: bool,
}

/// Text under construction plus the other-person mentions in it.
#[derive(Default)]
struct Body {
    paragraphs: Vec<String>,
    pii: Vec<Pii>,
}

impl Body {
    /// Length in bytes (an upper bound of the length in characters).
    fn len(&self) -> usize {
        self.paragraphs.iter().map(|p| p.len() + 2).sum()
    }
    fn text(&self) -> String {
        self.paragraphs.join("\n\n")
    }
}

struct Generator {
    seed: u64,
    rng: ChaCha8Rng,
    used_cprs: std::collections::HashSet<[u8; 10]>,
    seq: u32,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Generator {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            used_cprs: Default::default(),
            seq: 0,
        }
    }

    fn relation(&mut self, other: &Person) -> &'static str {
        self.pick(if other.male {
            RELATIONS_MALE
        } else {
            RELATIONS_FEMALE
        })
    }

    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs.choose(&mut self.rng).copied().unwrap_or("")
    }

    /// A fresh, valid, unique CPR number. Mostly modulus 11; about one in
    /// eight without it (such numbers are issued since 2007).
    fn cpr(&mut self, male: bool, born: (i32, i32)) -> Cpr {
        loop {
            let start = ymd(born.0, 1, 1);
            let span = (ymd(born.1, 12, 31) - start).num_days();
            let birth = start + Duration::days(self.rng.gen_range(0..=span));
            let year = birth.year();
            let yy = (year % 100) as u8;
            // Century digit consistent with the CPR office's table.
            let seventh: u8 = if year >= 2000 {
                *[4u8, 9, 5, 6, 7, 8].choose(&mut self.rng).unwrap_or(&4)
            } else if yy >= 37 && self.rng.gen_bool(0.1) {
                *[4u8, 9].choose(&mut self.rng).unwrap_or(&4)
            } else {
                self.rng.gen_range(0..=3)
            };
            let mut d = [
                (birth.day() / 10) as u8,
                (birth.day() % 10) as u8,
                (birth.month() / 10) as u8,
                (birth.month() % 10) as u8,
                yy / 10,
                yy % 10,
                seventh,
                0,
                0,
                0,
            ];
            let want_mod11 = !self.rng.gen_bool(0.125);
            let mut found = None;
            for _ in 0..200 {
                d[7] = self.rng.gen_range(0..10);
                d[8] = self.rng.gen_range(0..10);
                let last: u8 = self.rng.gen_range(0..5) * 2 + u8::from(male);
                d[9] = last;
                let Ok(c) = Cpr::from_digits(d) else { break };
                if c.mod11_ok() == want_mod11 && Cpr::century_year(&d) == year {
                    found = Some(c);
                    break;
                }
            }
            if let Some(c) = found {
                if self.used_cprs.insert(c.digits()) {
                    return c;
                }
            }
        }
    }

    fn name(&mut self, male: bool) -> String {
        if self.rng.gen_bool(0.15) {
            let first = self.pick(if male { IMM_MALE } else { IMM_FEMALE });
            let last = self.pick(IMM_SURNAMES);
            return format!("{first} {last}");
        }
        let first = if self.rng.gen_bool(0.15) {
            self.pick(if male { MALE_DOUBLE } else { FEMALE_DOUBLE })
        } else {
            self.pick(if male { MALE } else { FEMALE })
        };
        let mut last = self.pick(SURNAMES).to_string();
        if self.rng.gen_bool(0.08) {
            last = format!("{}-{}", self.pick(MIDDLE), last);
        } else if self.rng.gen_bool(0.25) {
            last = format!("{} {}", self.pick(MIDDLE), last);
        }
        format!("{first} {last}")
    }

    fn address(&mut self) -> String {
        let street = self.pick(STREETS);
        let mut num = self.rng.gen_range(1..=148).to_string();
        if self.rng.gen_bool(0.1) {
            num.push(*['A', 'B', 'C'].choose(&mut self.rng).unwrap_or(&'A'));
        }
        let &(zip, town) = TOWNS.choose(&mut self.rng).unwrap_or(&TOWNS[0]);
        if self.rng.gen_bool(0.45) {
            let floor = self.pick(FLOORS);
            format!("{street} {num}, {floor}, {zip} {town}")
        } else {
            format!("{street} {num}, {zip} {town}")
        }
    }

    /// A person born in the years `born` (inclusive).
    fn person(&mut self, born: (i32, i32)) -> Person {
        let male = self.rng.gen_bool(0.5);
        let cpr = self.cpr(male, born);
        let name = self.name(male);
        let address = self.address();
        Person {
            cpr,
            name,
            address,
            male,
        }
    }

    /// A CPR number written one of the three common ways.
    fn cpr_text(&mut self, c: &Cpr) -> String {
        let s = c.compact();
        match self.rng.gen_range(0..10) {
            0..=5 => c.formatted(),
            6..=7 => s,
            _ => format!("{} {}", &s[..6], &s[6..]),
        }
    }

    fn date_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let days = (to - from).num_days().max(0);
        from + Duration::days(self.rng.gen_range(0..=days))
    }

    /// Generates citizens and their cases in `systems`. With `load`, citizen
    /// 0 gets exactly that many documents spread over the systems; without,
    /// citizen 0 is the demo citizen. The standard world's sequence of random
    /// draws must never change: seeds name data sets tests depend on.
    fn run(mut self, systems: Vec<TbSystem>, load: Option<usize>) -> World {
        // Citizens with cases are adults; people mentioned may be any age
        // (children's CPR numbers exercise the 2000s century digits).
        let people: Vec<Person> = (0..N_CITIZENS + N_OUTSIDERS)
            .map(|i| {
                self.person(if i < N_CITIZENS {
                    (1945, 1999)
                } else {
                    (1940, 2020)
                })
            })
            .collect();
        let citizens: Vec<Citizen> = people[..N_CITIZENS]
            .iter()
            .map(|p| Citizen {
                cpr: p.cpr.formatted(),
                name: p.name.clone(),
                address: p.address.clone(),
            })
            .collect();
        let mut cases = Vec::new();
        let mut documents = Vec::new();
        // Case numbers count per kind, so ids stay unique across systems.
        let mut counters: std::collections::HashMap<SystemKind, u32> = Default::default();
        for ci in 0..N_CITIZENS {
            let me = people[ci].clone();
            // Each citizen has a small circle of people who recur in their
            // documents across systems, plus occasional strangers.
            let circle: Vec<(Person, &str)> = (0..self.rng.gen_range(2..=4))
                .map(|_| {
                    let p = self.other_person(&people, &me);
                    let rel = self.relation(&p);
                    (p, rel)
                })
                .collect();
            for (si, system) in systems.iter().enumerate() {
                let demo = ci == 0 && load.is_none();
                // The load citizen's share of documents in this system, in
                // cases of at most LOAD_DOCS_PER_CASE.
                let load_docs = load
                    .filter(|_| ci == 0)
                    .map(|total| total / systems.len() + usize::from(si < total % systems.len()));
                // i32, as it always was: the type decides how many random
                // bits gen_range draws, and so every later draw.
                let n_cases: i32 = if demo {
                    2
                } else if let Some(docs) = load_docs {
                    i32::try_from(docs.div_ceil(LOAD_DOCS_PER_CASE)).unwrap_or(i32::MAX)
                } else if self.rng.gen_bool(0.3) {
                    0
                } else {
                    self.rng.gen_range(1..=3)
                };
                for k in 0..n_cases {
                    let n = {
                        let c = counters.entry(system.kind).or_default();
                        *c += 1;
                        *c
                    };
                    let dept_i = self.rng.gen_range(0..DEPARTMENTS.len());
                    let opened = self.date_between(ymd(2015, 1, 1), ymd(2024, 6, 30));
                    let case_id = match system.kind {
                        SystemKind::Esdh => format!("SAG-{}-{:05}", opened.year(), 100 + n * 7),
                        SystemKind::Legacy => format!("{}", 880_000 + n * 13),
                        SystemKind::Terminal => format!("T{:05}", 20_000 + n * 11),
                    };
                    let case = Case {
                        system: system.id.clone(),
                        case_id: case_id.clone(),
                        cpr: me.cpr.formatted(),
                        title: self.pick(CASE_TITLES[dept_i]).to_string(),
                        department: DEPARTMENTS[dept_i].to_string(),
                        opened: opened.to_string(),
                    };
                    // The demo citizen gets a long legacy case (two pages) and
                    // enough documents everywhere.
                    let n_docs: i32 = match (demo, system.kind, k, load_docs) {
                        (true, SystemKind::Legacy, 0, _) => 7,
                        (true, _, _, _) => 3,
                        (_, _, _, Some(docs)) => {
                            let before = k as usize * LOAD_DOCS_PER_CASE;
                            docs.saturating_sub(before).min(LOAD_DOCS_PER_CASE) as i32
                        }
                        _ => self.rng.gen_range(1..=7),
                    };
                    let until = (opened + Duration::days(900)).min(ymd(2025, 12, 31));
                    let mut dates: Vec<NaiveDate> = (0..n_docs)
                        .map(|_| self.date_between(opened, until))
                        .collect();
                    dates.sort();
                    for (j, date) in dates.into_iter().enumerate() {
                        let force_att =
                            demo && system.kind != SystemKind::Terminal && k == 0 && j == 1;
                        let doc = self.document(
                            &case,
                            system.kind,
                            dept_i,
                            date,
                            &me,
                            &circle,
                            &people,
                            force_att,
                        );
                        documents.push(doc);
                    }
                    cases.push(case);
                }
            }
        }
        World {
            seed: self.seed,
            systems,
            citizens,
            cases,
            documents,
        }
    }

    /// Someone other than `me` whose name and CPR cannot be confused with theirs.
    fn other_person(&mut self, people: &[Person], me: &Person) -> Person {
        loop {
            let p = if self.rng.gen_bool(0.4) {
                people[self.rng.gen_range(0..N_CITIZENS)].clone()
            } else {
                people[self.rng.gen_range(N_CITIZENS..people.len())].clone()
            };
            if p.cpr != me.cpr
                && !p.name.contains(&me.name)
                && !me.name.contains(&p.name)
                && p.address != me.address
            {
                return p;
            }
        }
    }

    fn next_id(&mut self, kind: SystemKind, att: bool) -> String {
        self.seq += 1;
        let n = self.seq;
        match (kind, att) {
            (SystemKind::Esdh, false) => format!("DOK-{:06}", 10_000 + n),
            (SystemKind::Esdh, true) => format!("BIL-{:06}", 50_000 + n),
            (SystemKind::Legacy, false) => format!("{}", 5_000_000 + n),
            (SystemKind::Legacy, true) => format!("{}", 9_000_000 + n),
            (SystemKind::Terminal, false) => format!("TD{:06}", 30_000 + n),
            (SystemKind::Terminal, true) => format!("TA{:06}", 60_000 + n),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn document(
        &mut self,
        case: &Case,
        kind_of_system: SystemKind,
        dept_i: usize,
        date: NaiveDate,
        me: &Person,
        circle: &[(Person, &str)],
        people: &[Person],
        force_att: bool,
    ) -> TbDocument {
        let kind = self.pick(&KINDS).to_string();
        let dept = DEPARTMENTS[dept_i];
        let title = match kind.as_str() {
            "journalnotat" => format!("Journalnotat: {}", self.pick(NOTE_TOPICS[dept_i])),
            "brev" => format!(
                "Brev: {}",
                self.pick(&[
                    "indkaldelse til samtale",
                    "partshøring",
                    "anmodning om oplysninger",
                    "kvittering for ansøgning",
                ])
            ),
            "afgørelse" => format!("Afgørelse: {}", case.title.to_lowercase()),
            _ => format!(
                "Mail: {}",
                self.pick(&[
                    "spørgsmål til sagen",
                    "ny dokumentation",
                    "aflysning af møde",
                    "svar på henvendelse"
                ])
            ),
        };
        let mut body = Body::default();
        let when = dansk_dato(date);
        let own_cpr = self.cpr_text(&me.cpr);
        let han = if me.male { "han" } else { "hun" };
        // Opening.
        match kind.as_str() {
            "journalnotat" => {
                let s = if self.rng.gen_bool(0.5) {
                    format!("Samtale med {} den {when}.", me.name)
                } else {
                    format!(
                        "{} (CPR {own_cpr}) henvendte sig til {dept} den {when}.",
                        me.name
                    )
                };
                body.paragraphs.push(s);
            }
            "brev" => {
                body.paragraphs.push(format!("{}, {}", me.name, me.address));
                body.paragraphs.push(format!("Kære {}", me.name));
                body.paragraphs.push(format!(
                    "Vi skriver til dig, fordi vi behandler din sag om {}.",
                    case.title.to_lowercase()
                ));
            }
            "afgørelse" => {
                body.paragraphs.push(format!(
                    "Afgørelse vedrørende {}, CPR-nr. {own_cpr}.",
                    me.name
                ));
                body.paragraphs.push(format!(
                    "Du har søgt om {}, og vi har nu truffet afgørelse i sagen den {when}.",
                    case.title.to_lowercase()
                ));
            }
            _ => {
                body.paragraphs.push(format!(
                    "Kære {}. Tak for din mail om din sag om {}. Her er en kort status fra {dept}.",
                    me.name,
                    case.title.to_lowercase()
                ));
            }
        }
        // Middle: neutral sentences mixed with mentions of other people.
        let target = self.rng.gen_range(420..1150);
        let mut mentions = 0;
        let mut guard = 0;
        // No sentence twice in one document.
        let mut used = std::collections::HashSet::new();
        while body.len() < target && guard < 30 {
            guard += 1;
            let n_sent = self.rng.gen_range(1..=3);
            let mut par = Vec::new();
            let mut pii = Vec::new();
            for _ in 0..n_sent {
                let (s, p) = if self.rng.gen_bool(0.4) || (mentions == 0 && self.rng.gen_bool(0.5))
                {
                    let (other, rel) = if self.rng.gen_bool(0.75) {
                        let (p, r) = &circle[self.rng.gen_range(0..circle.len())];
                        (p.clone(), *r)
                    } else {
                        let p = self.other_person(people, me);
                        let rel = self.relation(&p);
                        (p, rel)
                    };
                    self.mention(me, &other, rel, dept_i)
                } else if self.rng.gen_bool(0.25) {
                    (self.self_sentence(me, han), Vec::new())
                } else {
                    (self.pick(FILLER[dept_i]).to_string(), Vec::new())
                };
                // Same words with the CPR number spelt differently is still a repeat.
                if used.insert(sentence_key(&s)) {
                    mentions += usize::from(!p.is_empty());
                    par.push(s);
                    pii.extend(p);
                }
            }
            if par.is_empty() {
                continue;
            }
            let p = par.join(" ");
            if body.len() + p.len() > 1350 {
                break;
            }
            body.paragraphs.push(p);
            body.pii.extend(pii);
        }
        // Closing.
        match kind.as_str() {
            "brev" => {
                body.paragraphs.push(format!(
                    "Har du spørgsmål, er du velkommen til at kontakte {dept} på telefon 89 70 10 00."
                ));
                body.paragraphs.push(format!("Med venlig hilsen {dept}, Silkeborg Kommune"));
            }
            "afgørelse" => body.paragraphs.push(format!(
                "Du kan klage over afgørelsen inden fire uger. Klagen sendes til {dept}, som genvurderer sagen, før den sendes videre til Ankestyrelsen."
            )),
            "mail" => body.paragraphs.push(format!("Venlig hilsen {dept}")),
            _ => {}
        }
        let mut text = body.text();
        if text.chars().count() > 1500 {
            // Drop middle paragraphs until it fits (keeps opening and closing).
            while body.paragraphs.len() > 3 && body.text().chars().count() > 1500 {
                let i = body.paragraphs.len() - 2;
                body.paragraphs.remove(i);
            }
            text = body.text();
            let t = text.clone();
            body.pii.retain(|p| t.contains(&p.text));
        }
        let mut pii = body.pii;
        // Attachments (web systems only).
        let mut attachments = Vec::new();
        if kind_of_system != SystemKind::Terminal && (force_att || self.rng.gen_bool(0.22)) {
            let (att, att_pii) =
                self.attachment(kind_of_system, me, circle, dept_i, date, force_att);
            attachments.push(att);
            pii.extend(att_pii);
        }
        TbDocument {
            system: case.system.clone(),
            doc_id: self.next_id(kind_of_system, false),
            case_id: case.case_id.clone(),
            cpr: me.cpr.formatted(),
            title,
            date: date.to_string(),
            kind,
            department: dept.to_string(),
            text,
            pii,
            attachments,
        }
    }

    fn self_sentence(&mut self, me: &Person, han: &str) -> String {
        match self.rng.gen_range(0..4) {
            0 => format!(
                "{} oplyser, at {han} gerne vil deltage i et nyt møde.",
                me.name
            ),
            1 => format!(
                "Det blev aftalt med {}, at sagen genoptages efter næste lægebesøg.",
                me.name
            ),
            2 => {
                let c = self.cpr_text(&me.cpr);
                format!(
                    "Oplysningerne er registreret under {}s CPR-nummer {c}.",
                    me.name
                )
            }
            _ => format!(
                "{} er orienteret om, at {han} kan få aktindsigt i sagen.",
                me.name
            ),
        }
    }

    /// One sentence mentioning `o`, and the exact mentions it contains.
    fn mention(&mut self, me: &Person, o: &Person, rel: &str, dept_i: usize) -> (String, Vec<Pii>) {
        let c = &me.name;
        let on = &o.name;
        let oa = &o.address;
        let oc = self.cpr_text(&o.cpr);
        let name = || Pii {
            kind: "name".into(),
            text: on.clone(),
        };
        let cpr = || Pii {
            kind: "cpr".into(),
            text: oc.clone(),
        };
        let addr = || Pii {
            kind: "address".into(),
            text: oa.clone(),
        };
        let parent = if o.male { "far" } else { "mor" };
        let han = if me.male { "han" } else { "hun" };
        let choice = if dept_i == 2 && self.rng.gen_bool(0.4) {
            9
        } else {
            self.rng.gen_range(0..12)
        };
        match choice {
            0 => (format!("{c} oplyser, at {rel} {on} er flyttet ind på adressen."), vec![name()]),
            1 => (format!("{c} bor sammen med sin {rel}, {on}, CPR-nr. {oc}."), vec![name(), cpr()]),
            2 => (
                format!("Der er modtaget en henvendelse fra {on}, {oa}, som er bekymret for {c}."),
                vec![name(), addr()],
            ),
            3 => (format!("{on} ({oc}) deltog i mødet som bisidder for {c}."), vec![name(), cpr()]),
            4 => (
                format!("Ifølge folkeregistret er {on} med CPR {oc} også tilmeldt adressen {oa}."),
                vec![name(), cpr(), addr()],
            ),
            5 => (
                format!("{c} har oplyst, at {han} hjælper sin {rel} {on}, der bor på {oa}, med indkøb."),
                vec![name(), addr()],
            ),
            6 => (
                format!("Sagen har tidligere været behandlet sammen med en sag om {on} (cpr.nr. {oc}), men de to sager er nu adskilt."),
                vec![name(), cpr()],
            ),
            7 => (
                format!("Arbejdsgiveren har oplyst, at kollegaen {on} har overtaget opgaverne under sygdommen."),
                vec![name()],
            ),
            8 => (
                format!("Udbetalingen er ved en fejl sendt til {on}, {oa}, og beløbet er nu krævet tilbage."),
                vec![name(), addr()],
            ),
            9 => (
                format!("Barnets {parent}, {on}, {oc}, er orienteret om sagens forløb."),
                vec![name(), cpr()],
            ),
            10 => (
                format!("Oplysninger om personen med CPR-nummer {oc} er fjernet fra sagen, da de var journaliseret forkert."),
                vec![cpr()],
            ),
            _ => (format!("Mødet blev holdt hos en bekendt på {oa} efter ønske fra {c}."), vec![addr()]),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn attachment(
        &mut self,
        system: SystemKind,
        me: &Person,
        circle: &[(Person, &str)],
        dept_i: usize,
        date: NaiveDate,
        force_mention: bool,
    ) -> (TbAttachment, Vec<Pii>) {
        let name = self.pick(ATTACHMENT_NAMES).to_string();
        let heading = name.trim_end_matches(".pdf").to_string();
        let own = self.cpr_text(&me.cpr);
        let mut paragraphs = vec![
            heading,
            format!("Vedrørende: {}, CPR-nr. {own}, {}", me.name, me.address),
            format!("Dato: {}", dansk_dato(date)),
        ];
        let mut pii = Vec::new();
        for i in 0..self.rng.gen_range(2..=4) {
            let (s, p) = if (i == 0 && force_mention) || self.rng.gen_bool(0.4) {
                let (o, rel) = {
                    let (p, r) = &circle[self.rng.gen_range(0..circle.len())];
                    (p.clone(), *r)
                };
                self.mention(me, &o, rel, dept_i)
            } else {
                (self.pick(FILLER[dept_i]).to_string(), Vec::new())
            };
            if !paragraphs.contains(&s) {
                paragraphs.push(s);
                pii.extend(p);
            }
        }
        paragraphs.push("Underskrevet digitalt.".to_string());
        let att = TbAttachment {
            att_id: self.next_id(system, true),
            name,
            mime: "application/pdf".to_string(),
            text: paragraphs.join("\n\n"),
        };
        (att, pii)
    }
}

/// FNV-1a over a sentence's bytes, skipping digits, spaces and hyphens:
/// two sentences that differ only in how a CPR number is written collide.
fn sentence_key(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in s.as_bytes() {
        if !matches!(b, b' ' | b'-' | b'0'..=b'9') {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// `12. marts 2019`.
pub fn dansk_dato(d: NaiveDate) -> String {
    format!("{}. {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

/// `YYYY-MM-DD` → `DD.MM.YYYY` (the legacy system's format); other input unchanged.
pub fn legacy_date(iso: &str) -> String {
    match NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
        Ok(d) => d.format("%d.%m.%Y").to_string(),
        Err(_) => iso.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic() {
        let a = World::generate(DEMO_SEED);
        let b = World::generate(DEMO_SEED);
        assert_eq!(a.citizens, b.citizens);
        assert_eq!(a.cases, b.cases);
        assert_eq!(a.documents, b.documents);
        let c = World::generate(DEMO_SEED + 1);
        assert_ne!(a.citizens, c.citizens);
    }

    #[test]
    fn fast() {
        let t = std::time::Instant::now();
        let w = World::generate(7);
        let ms = t.elapsed().as_millis();
        assert!(!w.documents.is_empty());
        // Debug build; the release figure is far lower.
        assert!(ms < 500, "World::generate took {ms} ms");
    }

    #[test]
    fn cprs_are_valid_and_unique() {
        for seed in [DEMO_SEED, 1, 99] {
            let w = World::generate(seed);
            assert_eq!(w.citizens.len(), N_CITIZENS);
            let mut seen = std::collections::HashSet::new();
            let mut mod11 = 0;
            for c in &w.citizens {
                let cpr: Cpr = c.cpr.parse().expect("valid CPR");
                assert_eq!(cpr.formatted(), c.cpr);
                assert!(seen.insert(c.cpr.clone()), "duplicate {}", c.cpr);
                mod11 += usize::from(cpr.mod11_ok());
            }
            assert!(mod11 * 10 >= N_CITIZENS * 7, "mostly modulus 11: {mod11}");
            for d in &w.documents {
                for p in d.pii.iter().filter(|p| p.kind == "cpr") {
                    let c: Cpr = p.text.parse().unwrap_or_else(|e| panic!("{e}"));
                    assert_ne!(c.formatted(), d.cpr, "own CPR recorded as pii");
                }
            }
        }
    }

    #[test]
    fn pii_is_exact_substring() {
        let w = World::generate(DEMO_SEED);
        let mut kinds = std::collections::HashMap::new();
        let mut cpr_forms = [0; 3];
        for d in &w.documents {
            let me = w.citizen(&d.cpr).expect("owner exists");
            for p in &d.pii {
                let found = d.text.contains(&p.text)
                    || d.attachments.iter().any(|a| a.text.contains(&p.text));
                assert!(found, "{:?} not in {}", p, d.doc_id);
                assert_ne!(p.text, me.name);
                *kinds.entry(p.kind.clone()).or_insert(0) += 1;
                if p.kind == "cpr" {
                    let i = match p.text.as_bytes().get(6) {
                        Some(b'-') => 0,
                        Some(b' ') => 2,
                        _ => 1,
                    };
                    cpr_forms[i] += 1;
                }
            }
        }
        for k in ["cpr", "name", "address"] {
            assert!(kinds.get(k).copied().unwrap_or(0) > 20, "{k}: {kinds:?}");
        }
        assert!(cpr_forms.iter().all(|n| *n > 5), "{cpr_forms:?}");
    }

    /// Splits at ". " followed by a capital letter (not inside "2. th., 8000").
    fn sentences_of(p: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, _) in p.match_indices(". ") {
            if p[i + 2..].chars().next().is_some_and(char::is_uppercase) {
                out.push(&p[start..i + 1]);
                start = i + 2;
            }
        }
        out.push(&p[start..]);
        out
    }

    #[test]
    fn text_shape() {
        for seed in [DEMO_SEED, 3, 4, 5] {
            text_shape_for(seed);
        }
    }

    fn text_shape_for(seed: u64) {
        let w = World::generate(seed);
        let mut att = 0;
        let mut aeoeaa = 0;
        for d in &w.documents {
            let n = d.text.chars().count();
            assert!((300..=1500).contains(&n), "{} has {n} chars", d.doc_id);
            assert!(!d.text.contains('\t') && !d.text.contains("  ") && !d.text.contains("\n\n\n"));
            let mut sentences = std::collections::HashSet::new();
            for p in d.text.split("\n\n") {
                assert!(!p.contains('\n') && p.trim() == p && !p.is_empty());
                for s in sentences_of(p) {
                    let key: String = s.chars().filter(|c| c.is_alphabetic()).collect();
                    assert!(sentences.insert(key), "{} repeats {s:?}", d.doc_id);
                }
            }
            if d.system == "terminal" {
                assert!(d.attachments.is_empty());
                assert!(
                    d.text
                        .chars()
                        .all(|c| c.is_ascii() || "æøåÆØÅé".contains(c)),
                    "{}",
                    d.text
                );
            }
            aeoeaa += usize::from(d.text.contains(['æ', 'ø', 'å']));
            att += d.attachments.len();
            assert!(d.date.as_str() >= "2015-01-01" && d.date.as_str() <= "2025-12-31");
        }
        assert!(aeoeaa * 10 > w.documents.len() * 9);
        assert!(att > 20);
    }

    /// Every CPR-shaped number in a document is the owner's or recorded as pii.
    #[test]
    fn every_cpr_is_accounted_for() {
        let w = World::generate(DEMO_SEED);
        let mut n = 0;
        for d in &w.documents {
            let texts = std::iter::once(d.text.as_str())
                .chain(d.attachments.iter().map(|a| a.text.as_str()));
            for t in texts {
                let b: Vec<char> = t.chars().collect();
                let mut i = 0;
                while i + 10 <= b.len() {
                    let digits = |r: std::ops::Range<usize>| {
                        r.clone().all(|k| k < b.len() && b[k].is_ascii_digit())
                    };
                    let len = if digits(i..i + 10) {
                        10
                    } else if digits(i..i + 6)
                        && (b[i + 6] == '-' || b[i + 6] == ' ')
                        && digits(i + 7..i + 11)
                    {
                        11
                    } else {
                        i += 1;
                        continue;
                    };
                    let s: String = b[i..i + len].iter().collect();
                    let own = same_digits(&s, &d.cpr);
                    assert!(
                        own || d.pii.iter().any(|p| p.kind == "cpr" && p.text == s),
                        "{} has unrecorded {s}",
                        d.doc_id
                    );
                    n += 1;
                    i += len;
                }
            }
        }
        assert!(n > 200, "{n}");
    }

    #[test]
    fn demo_citizen_everywhere() {
        let w = World::generate(DEMO_SEED);
        let c = w.demo_citizen();
        for s in SYSTEMS {
            assert!(w.documents_for(s, &c.cpr).count() >= 4, "{s}");
        }
        let compact = c.cpr.replace('-', "");
        assert!(w.cases_for("legacy", &compact).count() >= 2);
        assert!(w
            .documents_for("esdh", &c.cpr)
            .any(|d| !d.attachments.is_empty()));
        assert!(w
            .documents_for("legacy", &c.cpr)
            .any(|d| !d.attachments.is_empty()));
        let t = w.truth(Some(&compact));
        assert!(t.documents.iter().all(|d| d.cpr == c.cpr));
        assert_eq!(w.truth(None).documents.len(), w.documents.len());
        let json = serde_json::to_value(&t).expect("serialises");
        assert_eq!(json["seed"], DEMO_SEED);
        assert!(json["documents"][0]["pii"].is_array());
    }

    /// FNV-1a over the JSON of a world's data: a fingerprint of the data set.
    fn fingerprint(w: &World) -> u64 {
        let json = serde_json::to_string(&(&w.citizens, &w.cases, &w.documents)).expect("json");
        json.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// Seeds name data sets that many tests (and people's notes) depend on:
    /// a change to the generator must not change them.
    #[test]
    fn standard_worlds_are_unchanged() {
        for (seed, want) in [
            (DEMO_SEED, 11_831_857_881_619_367_373u64),
            (1, 7_250_505_243_660_498_909),
            (99, 12_205_632_686_131_831_467),
        ] {
            let w = World::generate(seed);
            assert_eq!(
                fingerprint(&w),
                want,
                "World::generate({seed}) changed: keep the order and types of random draws"
            );
            let ids: Vec<_> = w.systems.iter().map(|s| s.id.as_str()).collect();
            assert_eq!(ids, SYSTEMS);
        }
    }

    #[test]
    fn load_world_gives_the_load_citizen_its_documents() {
        let spec = LoadSpec {
            systems: 12,
            documents: 500,
        };
        let w = World::generate_load(7, &spec);
        let ids: Vec<_> = w.systems.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(&ids[..4], ["esdh01", "legacy01", "esdh02", "legacy02"]);
        assert_eq!(ids.len(), 12);
        assert_eq!(ids[11], "legacy06");
        let me = w.load_citizen();
        let mut total = 0;
        for s in &w.systems {
            let n = w.documents_for(&s.id, &me.cpr).count();
            assert!((41..=42).contains(&n), "{}: {n}", s.id);
            total += n;
            for c in w.cases_for(&s.id, &me.cpr) {
                let docs = w.documents_of_case(&c.case_id).count();
                assert!((1..=LOAD_DOCS_PER_CASE).contains(&docs), "{}", c.case_id);
            }
            let kind = w.system_kind(&s.id).expect("known system");
            for d in w.documents.iter().filter(|d| d.system == s.id) {
                let prefix = kind == SystemKind::Esdh;
                assert_eq!(d.doc_id.starts_with("DOK-"), prefix, "{}", d.doc_id);
            }
        }
        assert_eq!(total, 500);
        assert_eq!(w.truth(Some(&me.cpr)).documents.len(), 500);
        // The other citizens have cases too, in many systems.
        let others = w.documents.iter().filter(|d| d.cpr != me.cpr).count();
        assert!(others > 500, "{others}");
        // Ids stay unique across all instances of a kind.
        let mut seen = std::collections::HashSet::new();
        for c in &w.cases {
            assert!(seen.insert(c.case_id.clone()), "{}", c.case_id);
        }
        for d in &w.documents {
            assert!(seen.insert(d.doc_id.clone()), "{}", d.doc_id);
            for a in &d.attachments {
                assert!(seen.insert(a.att_id.clone()), "{}", a.att_id);
            }
            for p in &d.pii {
                assert!(
                    d.text.contains(&p.text)
                        || d.attachments.iter().any(|a| a.text.contains(&p.text)),
                    "{p:?} not in {}",
                    d.doc_id
                );
            }
        }
        // Same seed, same world; another seed, another.
        let again = World::generate_load(7, &spec);
        assert_eq!(fingerprint(&w), fingerprint(&again));
        assert_ne!(
            fingerprint(&w),
            fingerprint(&World::generate_load(8, &spec))
        );
        // Few documents: every system still gets its share.
        let small = World::generate_load(
            3,
            &LoadSpec {
                systems: 4,
                documents: 6,
            },
        );
        let counts: Vec<usize> = small
            .systems
            .iter()
            .map(|s| {
                small
                    .documents_for(&s.id, &small.load_citizen().cpr)
                    .count()
            })
            .collect();
        assert_eq!(counts, [2, 2, 1, 1]);
    }

    #[test]
    fn ids_unique() {
        let w = World::generate(DEMO_SEED);
        let mut ids = std::collections::HashSet::new();
        for d in &w.documents {
            assert!(ids.insert(d.doc_id.clone()));
            for a in &d.attachments {
                assert!(ids.insert(a.att_id.clone()));
            }
        }
        for c in &w.cases {
            assert!(ids.insert(c.case_id.clone()));
        }
    }
}
