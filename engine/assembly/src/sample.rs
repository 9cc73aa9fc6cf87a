//! A realistic demo request (Danish documents mentioning other people), for
//! the demo PDF, tests and benchmarks.

use chrono::NaiveDate;
use marc_model::{Attachment, Document, Mark, MarkKind, Period, Subject};

use crate::{Access, AssemblyDoc, AssemblyInput, Authority, SystemInfo};

fn mark(text: &str, needle: &str, kind: MarkKind) -> Option<Mark> {
    let start = text.find(needle)?;
    Some(Mark {
        start,
        end: start + needle.len(),
        kind,
        text: needle.to_string(),
        confidence: 0.95,
        reason: "demo".into(),
        review: false,
    })
}

fn marks(text: &str, list: &[(&str, MarkKind)]) -> Vec<Mark> {
    let mut out = Vec::new();
    for (needle, kind) in list {
        let mut from = 0;
        while let Some(m) = text.get(from..).and_then(|t| mark(t, needle, *kind)) {
            out.push(Mark {
                start: m.start + from,
                end: m.end + from,
                ..m
            });
            from += m.end;
        }
    }
    out
}

/// The sending authority used in demos.
pub fn demo_authority() -> Authority {
    Authority {
        name: "Silkeborg Kommune".into(),
        cvr: "29189919".into(),
        address: "Søvejen 1, 8600 Silkeborg".into(),
        phone: "89 70 10 00".into(),
        email: "aktindsigt@silkeborg.dk".into(),
        complaint: String::new(),
    }
}

/// One generated document of about 1 KB with marks (used by the benchmark).
pub fn generated_doc(i: usize) -> AssemblyDoc {
    let other = [
        "Karen Østergaard",
        "Søren Æbelø",
        "Mette Kristensen",
        "Ahmad Nouri",
    ][i % 4];
    let cpr = format!(
        "{:02}{:02}{:02}-{:04}",
        1 + i % 28,
        1 + i % 12,
        50 + i % 40,
        1000 + i % 9000
    );
    let text = format!(
        "Journalnotat nr. {i}.\nBorgeren mødte op på rådhuset sammen med {other} (CPR {cpr}), som bor på \
         Åboulevarden {n}, 2. th., 8000 Aarhus C. Der blev talt om bolig, økonomi og skole. \
         {other} oplyste, at familien har haft det svært, og at der har været tale om misbrug.\n\
         Aftalt: ny samtale om fire uger. Sagsbehandleren sender referat til borgeren og til \
         skolen. Borgeren var enig i planen og fik udleveret pjecen om rådgivning. \
         Opfølgning: tjek indkomstoplysninger i eIndkomst og vurder behovet for hjælp efter \
         serviceloven § 11. Ingen yderligere bemærkninger på mødet, der varede cirka en time. \
         Referatet er godkendt af teamleder.\n\
         Supplerende oplysninger: skolen har meldt om fravær i efteråret, og sundhedsplejersken \
         har været på besøg to gange. Der er ikke behov for akut handling, men sagen følges tæt. \
         Borgeren ønsker at blive inddraget i alle beslutninger og har bedt om kopi af notatet.",
        n = 1 + i % 90
    );
    let addr = format!("Åboulevarden {}, 2. th., 8000 Aarhus C", 1 + i % 90);
    let m = marks(
        &text,
        &[
            (other, MarkKind::Name),
            (&cpr, MarkKind::Cpr),
            (&addr, MarkKind::Address),
            ("misbrug", MarkKind::Word),
        ],
    );
    AssemblyDoc {
        doc: Document {
            ocr_confidence: None,
            cpr: None,
            system: ["esdh", "legacy", "terminal"][i % 3].into(),
            case_id: format!("27.12.00-G01-{}-26", 1 + i % 7),
            doc_id: format!("D{i:05}"),
            title: format!("Journalnotat {i}: samtale"),
            date: format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
            kind: "journalnotat".into(),
            department: "Børn og Familie".into(),
            text,
            attachments: vec![],
        },
        marks: m,
        attachment_marks: vec![],
        access: Access::Partial,
        reason: String::new(),
    }
}

/// A small but complete demo request: three systems (one incomplete), a
/// document with an attachment, one withheld document, marks of every kind,
/// a marked name in a title.
pub fn sample_input() -> AssemblyInput {
    let subject = Subject {
        cpr: "0101901234".into(),
        name: "Jens Åge Nørgaard".into(),
        address: "Vestergade 3, 8600 Silkeborg".into(),
    };
    let t1 = "Notat fra hjemmebesøg hos Jens Åge Nørgaard.\n\nTil stede: Jens, hans nabo Karen Østergaard (CPR 120345-1234) \
              og sagsbehandler. Karen Østergaard bor på Lindevej 7, 1. tv., 8600 Silkeborg.\nDer blev talt om misbrug i familien.\n\
              Æbler, øl og ål – æøå ÆØÅ er med.";
    let a1 = "Lægeerklæring vedrørende Jens Åge Nørgaard. Oplysningerne er givet af Søren Æbelø, tlf. 12 34 56 78.";
    let t2 = "Afgørelse om hjælp efter serviceloven. Du har fået bevilget hjælp. Venlig hilsen Silkeborg Kommune.";
    let t3 = "Mail fra Karen Østergaard om naboskabet.";
    let docs = vec![
        AssemblyDoc {
            doc: Document {
                ocr_confidence: None,
                cpr: None,
                system: "esdh".into(),
                case_id: "27.12.00-G01-1-26".into(),
                doc_id: "D1".into(),
                title: "Notat om besøg – Karen Østergaard deltog".into(),
                date: "2025-03-14".into(),
                kind: "journalnotat".into(),
                department: "Børn og Familie".into(),
                text: t1.into(),
                attachments: vec![Attachment {
                    name: "laegeerklaering.pdf".into(),
                    mime: "application/pdf".into(),
                    text: a1.into(),
                    method: "ocr".into(),
                    ocr_confidence: Some(0.91),
                }],
            },
            marks: marks(
                t1,
                &[
                    ("Karen Østergaard", MarkKind::Name),
                    ("120345-1234", MarkKind::Cpr),
                    ("Lindevej 7, 1. tv., 8600 Silkeborg", MarkKind::Address),
                    ("misbrug", MarkKind::Word),
                ],
            ),
            attachment_marks: vec![marks(a1, &[("Søren Æbelø", MarkKind::Name), ("12 34 56 78", MarkKind::Phone)])],
            access: Access::Partial,
            reason: String::new(),
        },
        AssemblyDoc {
            doc: Document {
                ocr_confidence: None,
                cpr: None,
                system: "legacy".into(),
                case_id: "S-2019-001".into(),
                doc_id: "L7".into(),
                title: "Afgørelse om hjælp".into(),
                date: "2024-11-02".into(),
                kind: "afgørelse".into(),
                department: "Social".into(),
                text: t2.into(),
                attachments: vec![],
            },
            marks: vec![],
            attachment_marks: vec![],
            access: Access::Full,
            reason: String::new(),
        },
        AssemblyDoc {
            doc: Document {
                ocr_confidence: None,
                cpr: None,
                system: "esdh".into(),
                case_id: "27.12.00-G01-1-26".into(),
                doc_id: "D2".into(),
                title: "Mail fra Karen Østergaard".into(),
                date: "2025-04-01".into(),
                kind: "mail".into(),
                department: String::new(),
                text: t3.into(),
                attachments: vec![],
            },
            marks: marks(t3, &[("Karen Østergaard", MarkKind::Name)]),
            attachment_marks: vec![],
            access: Access::None,
            reason: "Dokumentet handler alene om en anden persons forhold (offentlighedsloven § 30, nr. 1)".into(),
        },
    ];
    AssemblyInput {
        request_id: "AI-2026-000123".into(),
        subject,
        requester: "Jens Åge Nørgaard (borgeren selv)".into(),
        period: Period {
            from: NaiveDate::from_ymd_opt(2019, 1, 1).unwrap_or_default(),
            to: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
        },
        created: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default(),
        systems: vec![
            SystemInfo {
                id: "esdh".into(),
                name: "ESDH (Acadre-lignende)".into(),
                complete: true,
                note: String::new(),
            },
            SystemInfo {
                id: "legacy".into(),
                name: "Gammelt sagssystem".into(),
                complete: true,
                note: String::new(),
            },
            SystemInfo {
                id: "terminal".into(),
                name: "Terminalsystem".into(),
                complete: false,
                note: "systemet svarede ikke efter 3 forsøg".into(),
            },
        ],
        authority: demo_authority(),
        documents: docs,
        withheld: vec!["Sager om politianmeldelse".into()],
    }
}
