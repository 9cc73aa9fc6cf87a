//! The request lifecycle (SPEC §3): received → exemption check → robots in
//! parallel → documents stored → screening → assembly → leak check → ready
//! (or held).
//!
//! Every state change is written to the store and flushed before it is acted
//! on, so a killed marc resumes a request where it stopped: documents already
//! stored are not extracted twice (the robot's `emit` de-duplicates), and a
//! request whose robots all finished is not run again.

mod delivery;
pub mod exemptions;
mod records;
mod robots;

pub use delivery::{deliver, forward, send_receipt};

pub use records::{RequestRecord, RequestState, RunState, RunStatus};
pub use robots::{Progress, Recording, RobotRunner, RunnerOptions};

use anyhow::{bail, Context, Result};
use marc_audit::{AuditLog, NewEntry};
use marc_model::{Cpr, Document, Mark, Period, Subject};
use marc_store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a request asks for.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    pub cpr: Cpr,
    pub period: Period,
    /// System ids; empty means every connected system.
    pub systems: Vec<String>,
    pub topics: Vec<String>,
    /// The subject's own name and address (from the CPR register or the
    /// citizen's login): never redacted.
    pub name: String,
    pub address: String,
    /// Who asked (the citizen, or a third party with consent).
    pub requester: String,
}

/// Settings of one marc installation that a request needs.
pub struct Settings {
    pub store: Store,
    pub audit: AuditLog,
    pub robots_dir: PathBuf,
    pub scripts_dir: PathBuf,
    /// Directory with the name and street lists; `None` uses the lists built into marc.
    pub lists_dir: Option<PathBuf>,
    pub words: Vec<String>,
    pub allow_addresses: Vec<String>,
    pub authority: marc_assembly::Authority,
    pub actor: String,
    /// Digital Post outbox (MeMo messages), exactly once per message.
    pub outbox: marc_delivery::Outbox,
    /// Control level "review": every request waits for a caseworker.
    pub review_all: bool,
}

/// The result of running a request.
#[derive(Debug)]
pub struct Outcome {
    pub record: RequestRecord,
    pub documents: usize,
    pub marks: usize,
    pub pdf: Option<PathBuf>,
    /// `documents.jsonl`; `None` when nothing was collected (manual handling).
    pub jsonl: Option<PathBuf>,
}

const REQUESTS: &str = "requests";
const DOCUMENTS: &str = "documents";

/// Creates and persists a new request (state `received`), audited.
pub fn create_request(
    settings: &Settings,
    spec: &RequestSpec,
    systems: &[String],
) -> Result<RequestRecord> {
    let n = settings.store.next_id()? + 1;
    let now = chrono::Utc::now();
    // The counter is per data directory; the suffix keeps ids (and the
    // MeMo message ids derived from them) unique across installations.
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..4];
    let id = format!("AI-{}-{:06}-{suffix}", now.format("%Y"), n % 1_000_000);
    let rec = RequestRecord {
        id: id.clone(),
        cpr: spec.cpr.formatted(),
        name: spec.name.clone(),
        address: spec.address.clone(),
        requester: spec.requester.clone(),
        period_from: spec.period.from,
        period_to: spec.period.to,
        topics: spec.topics.clone(),
        systems: systems.to_vec(),
        created: now,
        deadline: records::deadline(now.date_naive(), 7),
        state: RequestState::Received,
        runs: systems
            .iter()
            .map(|s| (s.clone(), RunState::default()))
            .collect(),
        pdf: None,
        marks: 0,
        documents: 0,
        note: String::new(),
        leaks: 0,
        delivery: None,
    };
    save(settings, &rec)?;
    settings.audit.append(
        NewEntry::user(&settings.actor, "request.received")
            .request(&id)
            .detail(serde_json::json!({"systems": systems, "period": [spec.period.from, spec.period.to]})),
    )?;
    Ok(rec)
}

/// Writes a request record and flushes.
pub fn save(settings: &Settings, rec: &RequestRecord) -> Result<()> {
    settings.store.table(REQUESTS)?.put_json(&rec.id, rec)?;
    settings.store.flush()?;
    Ok(())
}

pub fn load(store: &Store, id: &str) -> Result<Option<RequestRecord>> {
    Ok(store.table(REQUESTS)?.get_json(id)?)
}

/// All requests, oldest first.
pub fn list(store: &Store) -> Result<Vec<RequestRecord>> {
    let mut v: Vec<RequestRecord> = store
        .table(REQUESTS)?
        .scan_json("")?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    v.sort_by_key(|r| r.created);
    Ok(v)
}

/// A second, different document under a key already stored: never
/// skipped, because one of the two would be lost.
#[derive(Debug, thiserror::Error)]
#[error("a different document is already stored as {key} ({what} differ); the robot must give each document its own doc_id")]
pub struct DocumentConflict {
    pub key: String,
    pub what: String,
}

/// Stores one document of a request: `true` when new, `false` when the
/// same document is already there (a resumed run), and a
/// [`DocumentConflict`] error when a different one is.
pub fn store_document(store: &Store, request: &str, doc: &Document) -> Result<bool> {
    let t = store.table(DOCUMENTS)?;
    let key = format!("{request}/{}", doc.key());
    let bytes = serde_json::to_vec(doc)?;
    if t.compare_and_swap(&key, None, Some(&bytes))? {
        store.flush()?;
        return Ok(true);
    }
    let stored: Document = t
        .get_json(&key)?
        .with_context(|| format!("the document {key} vanished while it was stored"))?;
    match differences(&stored, doc) {
        None => Ok(false),
        Some(what) => Err(DocumentConflict {
            key: doc.key(),
            what,
        }
        .into()),
    }
}

/// Which fields of two documents under one key differ, if any. OCR
/// confidence is left out: it says how a text was read, not what it is.
fn differences(a: &Document, b: &Document) -> Option<String> {
    let mut d = Vec::new();
    for (name, x, y) in [
        ("title", &a.title, &b.title),
        ("date", &a.date, &b.date),
        ("kind", &a.kind, &b.kind),
        ("department", &a.department, &b.department),
        ("text", &a.text, &b.text),
    ] {
        if x != y {
            d.push(name);
        }
    }
    let att = |x: &Document| -> Vec<(String, String)> {
        x.attachments
            .iter()
            .map(|a| (a.name.clone(), a.text.clone()))
            .collect()
    };
    if att(a) != att(b) {
        d.push("attachments");
    }
    (!d.is_empty()).then(|| d.join(", "))
}

/// The documents of a request in index order: system, case, date, doc id.
pub fn documents(store: &Store, request: &str) -> Result<Vec<Document>> {
    let mut docs: Vec<Document> = store
        .table(DOCUMENTS)?
        .scan_json::<Document>(format!("{request}/"))?
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    docs.sort_by(|a, b| {
        (
            a.system.as_str(),
            a.case_id.as_str(),
            a.date.as_str(),
            a.doc_id.as_str(),
        )
            .cmp(&(
                b.system.as_str(),
                b.case_id.as_str(),
                b.date.as_str(),
                b.doc_id.as_str(),
            ))
    });
    Ok(docs)
}

/// The exemption check (SPEC §3): a new request of an exempt citizen goes
/// to state `manual_handling`, persisted and audited; others are unchanged.
/// Idempotent, so callers may ask before deciding to start a browser.
pub fn check_exemption(settings: &Settings, mut rec: RequestRecord) -> Result<RequestRecord> {
    if rec.state != RequestState::Received {
        return Ok(rec);
    }
    if let Some(e) = exemptions::find(&settings.store, &rec.cpr)? {
        rec.state = RequestState::ManualHandling;
        rec.note = "exempt from automatic handling: a caseworker handles this request by hand (`marc exempt list`)".into();
        save(settings, &rec)?;
        settings.audit.append(
            NewEntry::system_actor("exemption check", "request.exempt")
                .request(&rec.id)
                .detail(serde_json::json!({"exempted_by": e.by, "since": e.added})),
        )?;
    }
    Ok(rec)
}

/// Runs (or resumes) a request end to end and writes its files to `out`.
pub fn execute(
    settings: &Settings,
    runner: &RobotRunner,
    mut rec: RequestRecord,
    out: &std::path::Path,
) -> Result<Outcome> {
    // 0. Exempt citizens go straight to a caseworker: no robot, no PDF.
    rec = check_exemption(settings, rec)?;
    if rec.state == RequestState::ManualHandling {
        return Ok(Outcome {
            documents: 0,
            marks: 0,
            pdf: None,
            jsonl: None,
            record: rec,
        });
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the output directory {}", out.display()))?;
    let manifests =
        crate::robot::select(crate::robot::load_all(&settings.robots_dir)?, &rec.systems)?;

    // 1. Robots, in parallel; systems already complete are skipped on resume.
    if matches!(rec.state, RequestState::Received | RequestState::Collecting) {
        rec.state = RequestState::Collecting;
        save(settings, &rec)?;
        let pending: Vec<_> = manifests
            .into_iter()
            .filter(|m| {
                rec.runs
                    .get(&m.system)
                    .map(|r| r.status != RunStatus::Complete)
                    .unwrap_or(true)
            })
            .collect();
        let results = runner.run_all(settings, &rec, pending);
        for (system, run) in results {
            rec.runs.insert(system, run);
        }
        rec.state = RequestState::Collected;
        save(settings, &rec)?;
    }

    // 2. Documents → JSON Lines.
    let docs = documents(&settings.store, &rec.id)?;
    let jsonl = out.join("documents.jsonl");
    write_jsonl(&jsonl, &docs)?;

    // 3. Screening.
    let stage = |what: &str| {
        if let Some(p) = &runner.options.progress {
            p.stage(what)
        }
    };
    stage("screening");
    let subject = Subject {
        cpr: rec.cpr.clone(),
        name: rec.name.clone(),
        address: rec.address.clone(),
    };
    let screener = screener(settings)?;
    let (marks, attachment_marks) = screen_documents(&screener, &docs, &subject);
    let n_marks: usize = marks.iter().map(Vec::len).sum::<usize>()
        + attachment_marks
            .iter()
            .flatten()
            .map(Vec::len)
            .sum::<usize>();
    write_marks(&out.join("marks.jsonl"), &docs, &marks)?;
    settings.audit.append(
        NewEntry::system_actor("screening", "request.screened")
            .request(&rec.id)
            .detail(serde_json::json!({"documents": docs.len(), "marks": n_marks})),
    )?;

    // 4. Assembly + independent leak check.
    stage("assembling the PDF");
    let incomplete: Vec<String> = rec
        .runs
        .iter()
        .filter(|(_, r)| r.status != RunStatus::Complete)
        .map(|(s, _)| s.clone())
        .collect();
    let names = system_names(&settings.robots_dir);
    let input = assembly_input(settings, &rec, &docs, marks, attachment_marks, &names);
    let fonts = marc_assembly::Fonts::system().context("cannot load the fonts for the PDF")?;
    let (pdf, leaks) =
        marc_assembly::assemble_checked(&input, &fonts).context("assembling the PDF failed")?;
    let pdf_path = out.join(format!("aktindsigt-{}.pdf", rec.id));
    write_atomic(&pdf_path, &pdf)?;
    rec.pdf = Some(pdf_path.display().to_string());
    rec.documents = docs.len();
    rec.marks = n_marks;
    rec.leaks = leaks.len();
    rec.state = if !leaks.is_empty() {
        // The leaked text itself is personal data: name only where it is.
        let pages: Vec<String> = leaks
            .iter()
            .map(|l| {
                l.page
                    .map(|p| format!("page {p}"))
                    .unwrap_or_else(|| "metadata".into())
            })
            .collect();
        rec.note = format!(
            "held for manual review: the leak check found {} marked string(s) in the PDF ({})",
            leaks.len(),
            pages.join(", ")
        );
        RequestState::HeldForReview
    } else if !incomplete.is_empty() {
        rec.note = format!(
            "incomplete: {} failed; the PDF must not be delivered as complete",
            incomplete.join(", ")
        );
        RequestState::Incomplete
    } else if settings.review_all {
        rec.note = "control level \"review\": waiting for a caseworker (`marc deliver`)".into();
        RequestState::HeldForReview
    } else {
        RequestState::Ready
    };
    save(settings, &rec)?;
    settings.audit.append(
        NewEntry::system_actor("assembly", "request.assembled")
            .request(&rec.id)
            .detail(serde_json::json!({"pdf": pdf_path, "bytes": pdf.len(), "leaks": leaks.len(), "state": rec.state})),
    )?;
    // 5. Delivery, when nothing holds the request back.
    if rec.state == RequestState::Ready {
        stage("delivering");
        rec = deliver(settings, rec)?;
    }
    Ok(Outcome {
        documents: docs.len(),
        marks: n_marks,
        pdf: Some(pdf_path),
        jsonl: Some(jsonl),
        record: rec,
    })
}

/// Builds the screener from the configured lists (or the built-in ones).
pub fn screener(settings: &Settings) -> Result<marc_screening::Screener> {
    let lexicon = match &settings.lists_dir {
        Some(d) => marc_screening::Lexicon::load(d)
            .with_context(|| format!("cannot load the screening lists from {}", d.display()))?,
        None => marc_screening::Lexicon::bundled(),
    };
    let config = marc_screening::ScreenConfig {
        words: settings.words.clone(),
        allow_addresses: settings.allow_addresses.clone(),
        ..Default::default()
    };
    Ok(marc_screening::Screener::new(lexicon, config))
}

/// Screens all documents of a request together (texts and attachments), so
/// a first name alone is caught when the full name appears anywhere.
pub fn screen_documents(
    screener: &marc_screening::Screener,
    docs: &[Document],
    subject: &Subject,
) -> (Vec<Vec<Mark>>, Vec<Vec<Vec<Mark>>>) {
    let mut texts: Vec<&str> = Vec::new();
    for d in docs {
        texts.push(&d.text);
        for a in &d.attachments {
            texts.push(&a.text);
        }
    }
    let mut all = screener
        .screen_request(&texts, std::slice::from_ref(subject))
        .into_iter();
    let mut marks = Vec::new();
    let mut att = Vec::new();
    for d in docs {
        marks.push(all.next().unwrap_or_default());
        att.push(
            d.attachments
                .iter()
                .map(|_| all.next().unwrap_or_default())
                .collect(),
        );
    }
    (marks, att)
}

fn system_names(robots_dir: &std::path::Path) -> BTreeMap<String, String> {
    crate::robot::load_all(robots_dir)
        .map(|v| v.into_iter().map(|m| (m.system, m.name)).collect())
        .unwrap_or_default()
}

fn assembly_input(
    settings: &Settings,
    rec: &RequestRecord,
    docs: &[Document],
    marks: Vec<Vec<Mark>>,
    attachment_marks: Vec<Vec<Vec<Mark>>>,
    names: &BTreeMap<String, String>,
) -> marc_assembly::AssemblyInput {
    let documents = docs
        .iter()
        .cloned()
        .zip(marks)
        .zip(attachment_marks)
        .map(|((doc, marks), attachment_marks)| {
            let partial = !marks.is_empty() || attachment_marks.iter().any(|m| !m.is_empty());
            marc_assembly::AssemblyDoc {
                access: if partial {
                    marc_assembly::Access::Partial
                } else {
                    marc_assembly::Access::Full
                },
                // Empty: assembly writes the reason and legal basis per kind of mark.
                reason: String::new(),
                doc,
                marks,
                attachment_marks,
            }
        })
        .collect();
    marc_assembly::AssemblyInput {
        request_id: rec.id.clone(),
        subject: Subject {
            cpr: rec.cpr.clone(),
            name: rec.name.clone(),
            address: rec.address.clone(),
        },
        requester: rec.requester.clone(),
        period: Period {
            from: rec.period_from,
            to: rec.period_to,
        },
        created: chrono::Local::now().date_naive(),
        systems: rec
            .runs
            .iter()
            .map(|(id, run)| marc_assembly::SystemInfo {
                id: id.clone(),
                name: names.get(id).cloned().unwrap_or_else(|| id.clone()),
                complete: run.status == RunStatus::Complete,
                note: run.error.clone().unwrap_or_default(),
            })
            .collect(),
        authority: settings.authority.clone(),
        documents,
        withheld: Vec::new(),
    }
}

fn write_jsonl(path: &std::path::Path, docs: &[Document]) -> Result<()> {
    let mut s = String::new();
    for d in docs {
        s.push_str(&serde_json::to_string(d)?);
        s.push('\n');
    }
    write_atomic(path, s.as_bytes())
}

fn write_marks(path: &std::path::Path, docs: &[Document], marks: &[Vec<Mark>]) -> Result<()> {
    let mut s = String::new();
    for (d, m) in docs.iter().zip(marks) {
        s.push_str(&serde_json::to_string(
            &serde_json::json!({"id": d.key(), "marks": m}),
        )?);
        s.push('\n');
    }
    write_atomic(path, s.as_bytes())
}

/// Writes a file so that a crash never leaves half of it.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Checks that the requested systems exist before anything is stored.
pub fn resolve_systems(robots_dir: &std::path::Path, wanted: &[String]) -> Result<Vec<String>> {
    let all = crate::robot::load_all(robots_dir)?;
    if all.is_empty() {
        bail!(
            "no robots found in {}; pass --robots DIR",
            robots_dir.display()
        );
    }
    Ok(crate::robot::select(all, wanted)?
        .into_iter()
        .map(|m| m.system)
        .collect())
}
