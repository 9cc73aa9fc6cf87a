//! What the PDF says, in Danish: cover, reading guide, document index and the
//! documents themselves, laid out into pages.

/// OCR readings below this mean confidence are flagged for a check.
pub const OCR_CHECK_BELOW: f32 = 0.80;

use chrono::NaiveDate;
use marc_model::MarkKind;

use crate::kinds;
use crate::layout::{
    Anchor, BlockKind, Layout, Op, PageOut, Seg, Style, ARTIFACT_BLOCK, BODY, BODY_BOLD, H1, H2,
    H3, MARGIN_X, PAGE_H, SMALL, SMALL_BOLD, TEXT_W,
};
use crate::matching::{replace_all, Needles};
use crate::redact::paragraphs;
use crate::{Access, AssemblyDoc, AssemblyInput, Fonts};

/// What replaces a marked string in titles, the index, the outline and headers.
pub const TITLE_REDACTION: &str = "[undtaget]";

/// Options that only tests change.
#[derive(Clone, Copy)]
pub(crate) struct Options {
    /// Redact marked strings in titles and other short fields. Turned off only
    /// by the test hook that proves the leak check catches what the
    /// redactor misses.
    pub(crate) redact_titles: bool,
}

/// An outline entry.
pub(crate) struct ONode {
    pub(crate) title: String,
    pub(crate) dest: Anchor,
    pub(crate) children: Vec<ONode>,
}

/// The laid-out document, ready to render.
pub(crate) struct Built {
    pub(crate) pages: Vec<PageOut>,
    pub(crate) blocks: Vec<BlockKind>,
    pub(crate) outline: Vec<ONode>,
    /// First page of each document (by position in `input.documents`);
    /// `None` for documents shown in the index only.
    pub(crate) doc_anchor: Vec<Option<Anchor>>,
    pub(crate) title: String,
    pub(crate) author: String,
    pub(crate) description: String,
}

/// Danish date, e.g. 23.11.2026.
pub(crate) fn dk_date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// A document's ISO date shown the Danish way when it parses.
fn dk_iso(s: &str) -> String {
    match NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d") {
        Ok(d) => dk_date(d),
        Err(_) => s.to_string(),
    }
}

/// CPR shown as DDMMYY-SSSS when it is ten digits.
fn dk_cpr(s: &str) -> String {
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() == 10 {
        format!("{}-{}", &digits[..6], &digits[6..])
    } else {
        s.to_string()
    }
}

/// A short reason for the index when the caller gave none: one per kind of
/// mark in the document, in the reading guide's order.
fn default_reason(d: &AssemblyDoc) -> String {
    match d.access {
        Access::Full => String::new(),
        Access::None => "Undtaget i sin helhed".into(),
        Access::Partial => {
            let kinds = kinds_in(std::iter::once(d));
            let mut parts: Vec<&str> = Vec::new();
            for k in kinds {
                let r = kinds::text(k).index;
                if !parts.contains(&r) {
                    parts.push(r);
                }
            }
            if parts.is_empty() {
                "Dele af dokumentet er undtaget".into()
            } else {
                parts.join("; ")
            }
        }
    }
}

/// The kinds of mark in these documents, in the reading guide's order.
fn kinds_in<'a>(docs: impl Iterator<Item = &'a AssemblyDoc>) -> Vec<MarkKind> {
    let mut present = std::collections::BTreeSet::new();
    for d in docs {
        present.extend(
            d.marks
                .iter()
                .chain(d.attachment_marks.iter().flatten())
                .map(|m| m.kind),
        );
    }
    MarkKind::ALL
        .into_iter()
        .filter(|k| present.contains(k))
        .collect()
}

fn access_word(a: Access) -> &'static str {
    match a {
        Access::Full => "Fuld",
        Access::Partial => "Delvis",
        Access::None => "Ingen",
    }
}

/// Shortens a (redacted) string for places with a fixed size: index
/// cells, outline entries (PDF strings are limited to 32,767 bytes in PDF/A).
fn clip(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(max_chars).collect();
        c.push('…');
        c
    }
}

fn t(s: impl Into<String>) -> Vec<Seg> {
    vec![Seg::Text(s.into())]
}

/// Index order: grouped by system (in the order of `input.systems`, unknown
/// systems after), then case, then date and document id. Stable.
pub(crate) fn index_order(input: &AssemblyInput) -> Vec<usize> {
    let sys_pos = |s: &str| {
        input
            .systems
            .iter()
            .position(|x| x.id == s)
            .unwrap_or(usize::MAX)
    };
    let mut order: Vec<usize> = (0..input.documents.len()).collect();
    order.sort_by(|&a, &b| {
        let (da, db) = (&input.documents[a].doc, &input.documents[b].doc);
        (
            sys_pos(&da.system),
            &da.system,
            &da.case_id,
            &da.date,
            &da.doc_id,
        )
            .cmp(&(
                sys_pos(&db.system),
                &db.system,
                &db.case_id,
                &db.date,
                &db.doc_id,
            ))
    });
    order
}

pub(crate) fn build(
    input: &AssemblyInput,
    fonts: &Fonts,
    needles: &Needles,
    opts: Options,
) -> Built {
    let red = |s: &str| -> String {
        if opts.redact_titles {
            replace_all(s, needles, TITLE_REDACTION)
        } else {
            s.to_string()
        }
    };
    let a = &input.authority;
    let order = index_order(input);
    let akt_no: Vec<usize> = {
        let mut v = vec![0; input.documents.len()];
        for (n, &i) in order.iter().enumerate() {
            v[i] = n + 1;
        }
        v
    };
    let sys_name = |id: &str| -> String {
        match input.systems.iter().find(|s| s.id == id) {
            Some(s) if !s.name.is_empty() => clip(&red(&s.name), 120),
            _ => clip(&red(id), 120),
        }
    };
    let period = format!(
        "{} – {}",
        dk_date(input.period.from),
        dk_date(input.period.to)
    );
    let cpr = dk_cpr(&input.subject.cpr);
    let (mut n_full, mut n_part, mut n_none) = (0, 0, 0);
    for d in &input.documents {
        match d.access {
            Access::Full => n_full += 1,
            Access::Partial => n_part += 1,
            Access::None => n_none += 1,
        }
    }
    let incomplete: Vec<_> = input.systems.iter().filter(|s| !s.complete).collect();

    let mut l = Layout::new(fonts);
    let mut outline = Vec::new();

    // ---------- cover ----------
    let cover = l.anchor();
    outline.push(ONode {
        title: "Forside".into(),
        dest: cover,
        children: vec![],
    });
    l.trusted(&red(&a.name), H3);
    l.space(40.0);
    l.trusted("Aktindsigt", H1);
    l.space(4.0);
    l.trusted("Svar på anmodning om aktindsigt", H2);
    l.space(18.0);
    let fields: Vec<(&str, String)> = vec![
        ("Anmodet af", red(&input.requester)),
        ("Vedrører", red(&input.subject.name)),
        ("CPR-nummer", cpr.clone()),
        ("Periode", period.clone()),
        ("Dato", dk_date(input.created)),
        ("Anmodnings-id", input.request_id.clone()),
        (
            "Antal akter",
            format!(
                "{} (fuld aktindsigt: {n_full}, delvis: {n_part}, ingen: {n_none})",
                input.documents.len()
            ),
        ),
    ];
    for (k, v) in &fields {
        l.field(k, &t(v.as_str()), true, BODY);
    }
    l.space(14.0);
    l.trusted("Søgte systemer", H3);
    if input.systems.is_empty() {
        l.trusted("Der er ikke angivet nogen systemer.", BODY);
    }
    for s in &input.systems {
        if s.complete {
            l.trusted(
                &format!("•  {} ({}) – gennemsøgt", red(&s.name), red(&s.id)),
                BODY,
            );
        } else {
            let note = if s.note.is_empty() {
                String::new()
            } else {
                format!(": {}", red(&s.note))
            };
            l.trusted(
                &format!("•  {} ({}) – UFULDSTÆNDIG{note}", red(&s.name), red(&s.id)),
                BODY_BOLD,
            );
        }
    }
    if !incomplete.is_empty() {
        l.space(8.0);
        l.trusted(
            "Bemærk: Svaret er ufuldstændigt. Et eller flere systemer kunne ikke gennemsøges helt. \
             Kommunen vender tilbage, når de manglende oplysninger er fundet.",
            BODY_BOLD,
        );
    }
    l.space(18.0);
    l.trusted("Afsender", H3);
    for line in [
        red(&a.name),
        red(&a.address),
        format!("CVR-nr. {}", a.cvr),
        format!("Telefon {}", red(&a.phone)),
        format!("E-mail {}", red(&a.email)),
    ] {
        l.trusted(&line, BODY);
    }

    // ---------- reading guide ----------
    l.new_page();
    let guide = l.anchor();
    outline.push(ONode {
        title: "Læsevejledning".into(),
        dest: guide,
        children: vec![],
    });
    l.trusted("Læsevejledning", H2);
    l.space(6.0);
    l.trusted("Hvad har vi søgt efter?", H3);
    let sys_list = if input.systems.is_empty() {
        "ingen systemer".to_string()
    } else {
        input
            .systems
            .iter()
            .map(|s| red(&s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    l.trusted(
        &format!(
            "Vi har søgt efter alle dokumenter om CPR-nummer {cpr} i perioden {period} i disse systemer: {sys_list}."
        ),
        BODY,
    );
    for s in &incomplete {
        let note = if s.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", red(&s.note))
        };
        l.trusted(
            &format!(
                "{} kunne ikke gennemsøges fuldt ud{note}. Svaret er derfor ufuldstændigt.",
                red(&s.name)
            ),
            BODY_BOLD,
        );
    }
    l.space(6.0);
    l.trusted("Sådan er svaret bygget op", H3);
    l.trusted(
        "Først kommer en aktliste over alle de dokumenter (akter), vi har fundet. For hver akt står titel, dato, \
         system, sag, om du får fuld, delvis eller ingen aktindsigt, og hvorfor. Klik på en akt i aktlisten for at \
         gå til dokumentet; bogmærkerne i din PDF-læser viser dokumenterne ordnet efter system og sag. \
         Derefter følger dokumenterne i aktlistens rækkefølge. Bilag står efter det dokument, de hører til. \
         Bilag, der var PDF-filer eller billeder, er gengivet som tekst, og ved hvert bilag står, om teksten er \
         hentet fra PDF-filens tekstlag eller læst ved tekstgenkendelse (OCR). Tekst fra OCR kan indeholde læsefejl.",
        BODY,
    );
    l.space(6.0);
    l.trusted("Hvad betyder de sorte felter?", H3);
    l.trusted(
        "Et sort felt viser, at oplysninger er undtaget fra aktindsigt. Teksten er fjernet fra filen og er ikke \
         blot skjult. Feltets påskrift fortæller, hvilken slags oplysning der er undtaget. I titler, aktliste og \
         bogmærker er undtagne oplysninger erstattet af [undtaget]. Hvis kun dele af et dokument er undtaget, får \
         du aktindsigt i resten (forvaltningsloven § 15 c og offentlighedsloven § 34).",
        BODY,
    );
    // every kind of box in this answer, with what it hides and why
    let mut shown = kinds_in(input.documents.iter());
    if shown.is_empty() {
        shown = vec![MarkKind::Name, MarkKind::Cpr];
    }
    for kind in shown {
        let k = kinds::text(kind);
        l.space(3.0);
        l.trusted(&format!("»{}«", k.labels[0]), BODY_BOLD);
        l.trusted(&format!("{}. Retsgrundlag: {}.", k.what, k.law), BODY);
    }
    l.space(3.0);
    l.trusted(
        "Aktindsigt »Ingen« i aktlisten betyder, at dokumentet er undtaget i sin helhed; begrundelsen står i \
         aktlisten, og dokumentet er ikke gengivet.",
        BODY,
    );
    l.space(6.0);
    l.trusted("Undtagne kategorier", H3);
    if input.withheld.is_empty() {
        l.trusted(
            "Ingen kategorier af dokumenter er undtaget i deres helhed.",
            BODY,
        );
    } else {
        l.trusted(
            "Følgende kategorier af dokumenter er undtaget fra aktindsigt i deres helhed:",
            BODY,
        );
        for w in &input.withheld {
            l.trusted(&format!("•  {}", red(w)), BODY);
        }
    }
    l.space(6.0);
    l.trusted("Sådan klager du", H3);
    let complaint = if a.complaint.trim().is_empty() {
        format!(
            "Du kan klage over afgørelsen til {}. Klagen skal være modtaget senest 4 uger efter, at du har \
             modtaget dette svar. Kommunen vurderer sagen igen, og fastholder vi afgørelsen, sender vi klagen \
             videre til klageinstansen.",
            red(&a.name)
        )
    } else {
        red(&a.complaint)
    };
    for p in complaint.split('\n') {
        l.trusted(p, BODY);
    }
    l.space(6.0);
    l.trusted("Kontakt", H3);
    l.trusted(&format!("{}, {}", red(&a.name), red(&a.address)), BODY);
    l.trusted(
        &format!(
            "Telefon {} · E-mail {} · CVR-nr. {}",
            red(&a.phone),
            red(&a.email),
            a.cvr
        ),
        BODY,
    );
    l.trusted(
        &format!(
            "Oplys anmodnings-id {}, når du henvender dig.",
            input.request_id
        ),
        BODY,
    );

    // ---------- index ----------
    l.new_page();
    let index = l.anchor();
    outline.push(ONode {
        title: "Aktliste".into(),
        dest: index,
        children: vec![],
    });
    l.trusted("Aktliste", H2);
    l.space(4.0);
    let cols: [(&str, f32); 7] = [
        ("Akt", 26.0),
        ("Titel", 132.0),
        ("Dato", 50.0),
        ("System", 62.0),
        ("Sag", 62.0),
        ("Indsigt", 48.0),
        ("Begrundelse", TEXT_W - 380.0),
    ];
    let header = |l: &mut Layout| {
        let y = l.y;
        let mut x = MARGIN_X;
        let mut h: f32 = 0.0;
        for (name, w) in cols {
            h = h.max(l.cell(&t(name), SMALL_BOLD, x, y, w - 4.0, true));
            x += w;
        }
        l.y += h + 2.0;
        l.rule();
    };
    if input.documents.is_empty() {
        l.trusted(
            "Der blev ikke fundet dokumenter om dig i de søgte systemer i den valgte periode.",
            BODY_BOLD,
        );
        if !incomplete.is_empty() {
            l.trusted(
                "Bemærk, at ikke alle systemer kunne gennemsøges; se forsiden.",
                BODY,
            );
        }
    } else {
        header(&mut l);
        for &i in &order {
            let d = &input.documents[i];
            let reason = if d.reason.trim().is_empty() {
                default_reason(d)
            } else {
                red(&d.reason)
            };
            let cells: [(Vec<Seg>, bool); 7] = [
                (t(akt_no[i].to_string()), true),
                (t(clip(&red(&d.doc.title), 300)), false),
                (t(dk_iso(&red(&d.doc.date))), false),
                (t(sys_name(&d.doc.system)), false),
                (t(clip(&red(&d.doc.case_id), 120)), false),
                (t(access_word(d.access)), true),
                (t(clip(&reason, 400)), false),
            ];
            let h = cells
                .iter()
                .zip(cols.iter())
                .map(|((c, _), (_, w))| l.measure(c, SMALL, w - 4.0))
                .fold(0.0f32, f32::max)
                + 3.0;
            let before = l.anchor();
            l.ensure(h);
            if l.anchor().page != before.page {
                header(&mut l);
            }
            let y = l.y;
            let mut x = MARGIN_X;
            for ((c, trusted), (_, w)) in cells.iter().zip(cols.iter()) {
                l.cell(c, SMALL, x, y, w - 4.0, *trusted);
                x += w;
            }
            if d.access != Access::None {
                l.push_op(Op::Link {
                    x: MARGIN_X,
                    y,
                    w: TEXT_W,
                    h: h - 1.0,
                    doc: i,
                });
            }
            l.y += h;
            l.push_op(Op::Rect {
                x: MARGIN_X,
                y: l.y - 1.5,
                w: TEXT_W,
                h: 0.3,
                gray: 190,
            });
        }
    }

    // ---------- documents ----------
    let mut doc_anchor: Vec<Option<Anchor>> = vec![None; input.documents.len()];
    let mut sys_nodes: Vec<(String, ONode)> = Vec::new();
    for &i in &order {
        let d = &input.documents[i];
        if d.access == Access::None {
            continue;
        }
        let doc = &d.doc;
        l.new_page();
        let anchor = l.anchor();
        doc_anchor[i] = Some(anchor);
        let title = red(&doc.title);
        let title = if title.trim().is_empty() {
            "(uden titel)".to_string()
        } else {
            title
        };
        l.untrusted(
            &[
                Seg::Text(format!("Akt {}: ", akt_no[i])),
                Seg::Text(title.clone()),
            ],
            H2,
        );
        l.space(2.0);
        let mut meta: Vec<(&str, String)> = vec![
            ("Dato", dk_iso(&red(&doc.date))),
            ("System", sys_name(&doc.system)),
            ("Sag", red(&doc.case_id)),
        ];
        if !doc.kind.is_empty() {
            meta.push(("Dokumenttype", red(&doc.kind)));
        }
        if !doc.department.is_empty() {
            meta.push(("Afdeling", red(&doc.department)));
        }
        if !doc.doc_id.is_empty() {
            meta.push(("Dokument-id", red(&doc.doc_id)));
        }
        let reason = if d.reason.trim().is_empty() {
            default_reason(d)
        } else {
            red(&d.reason)
        };
        let access = match d.access {
            Access::Full => "Fuld".to_string(),
            _ => format!("{} – {}", access_word(d.access), reason),
        };
        meta.push(("Aktindsigt", access));
        if let Some(c) = doc.ocr_confidence {
            // Read from a screen by OCR: say so, and how sure the reading was.
            let check = if c < OCR_CHECK_BELOW {
                " – kontrollér teksten"
            } else {
                ""
            };
            meta.push((
                "Tekst",
                format!(
                    "læst fra skærmbilleder ved tekstgenkendelse (OCR), sikkerhed {:.0} %{check}",
                    c * 100.0
                ),
            ));
        }
        for (k, v) in &meta {
            l.field(k, &t(v.as_str()), false, SMALL);
        }
        l.rule();
        l.space(4.0);
        let body = paragraphs(&doc.text, &d.marks);
        if doc.text.trim().is_empty() {
            l.trusted("(Dokumentet indeholder ingen tekst.)", BODY);
        }
        for p in &body {
            l.untrusted(p, BODY);
        }
        for (k, att) in doc.attachments.iter().enumerate() {
            l.space(10.0);
            l.ensure(60.0);
            l.untrusted(
                &[
                    Seg::Text(format!("Bilag {}.{}: ", akt_no[i], k + 1)),
                    Seg::Text(red(&att.name)),
                ],
                H3,
            );
            let note = match att.method.as_str() {
                "pdf-text" => "Bilaget er gengivet som tekst (PDF-tekstlag).".to_string(),
                "ocr" => match att.ocr_confidence {
                    Some(c) => format!(
                        "Bilaget er gengivet som tekst (OCR – kontrollér). Tekstgenkendelsens gennemsnitlige sikkerhed: {:.0} %.",
                        (c.clamp(0.0, 1.0) * 100.0)
                    ),
                    None => "Bilaget er gengivet som tekst (OCR – kontrollér).".to_string(),
                },
                _ => "Bilaget er gengivet som tekst.".to_string(),
            };
            l.trusted(
                &note,
                Style {
                    bold: false,
                    ..SMALL
                },
            );
            l.rule();
            let empty = Vec::new();
            let marks = d.attachment_marks.get(k).unwrap_or(&empty);
            if att.text.trim().is_empty() {
                l.trusted("(Bilaget indeholder ingen tekst.)", BODY);
            }
            for p in paragraphs(&att.text, marks) {
                l.untrusted(&p, BODY);
            }
        }
        // outline: system → case → document
        let sname = sys_name(&doc.system);
        if sys_nodes
            .last()
            .map(|(s, _)| s != &doc.system)
            .unwrap_or(true)
        {
            sys_nodes.push((
                doc.system.clone(),
                ONode {
                    title: sname,
                    dest: anchor,
                    children: vec![],
                },
            ));
        }
        if let Some((_, sys)) = sys_nodes.last_mut() {
            let case_title = format!("Sag {}", clip(&red(&doc.case_id), 120));
            if sys
                .children
                .last()
                .map(|c| c.title != case_title)
                .unwrap_or(true)
            {
                sys.children.push(ONode {
                    title: case_title,
                    dest: anchor,
                    children: vec![],
                });
            }
            if let Some(case) = sys.children.last_mut() {
                case.children.push(ONode {
                    title: format!(
                        "Akt {}: {} ({})",
                        akt_no[i],
                        clip(&title, 200),
                        clip(&dk_iso(&red(&doc.date)), 40)
                    ),
                    dest: anchor,
                    children: vec![],
                });
            }
        }
    }
    outline.extend(sys_nodes.into_iter().map(|(_, n)| n));

    // ---------- footers ----------
    let total = l.pages.len();
    let footer_name = red(&a.name);
    for (n, page) in l.pages.iter_mut().enumerate() {
        page.ops.push(Op::Rect {
            x: MARGIN_X,
            y: PAGE_H - 44.0,
            w: TEXT_W,
            h: 0.4,
            gray: 150,
        });
        page.ops.push(Op::Text {
            x: MARGIN_X,
            y: PAGE_H - 32.0,
            size: 7.5,
            bold: false,
            white: false,
            text: format!(
                "{} · Aktindsigt {} · Side {} af {total}",
                clip(&footer_name, 60),
                clip(&input.request_id, 40),
                n + 1
            ),
            trusted: true,
            block: ARTIFACT_BLOCK,
        });
    }

    Built {
        pages: l.pages,
        blocks: l.blocks,
        outline,
        doc_anchor,
        title: format!("Aktindsigt {}", clip(&input.request_id, 200)),
        author: clip(&red(&a.name), 200),
        description: format!(
            "Svar på anmodning om aktindsigt {} fra {}",
            clip(&input.request_id, 200),
            clip(&red(&a.name), 200)
        ),
    }
}
