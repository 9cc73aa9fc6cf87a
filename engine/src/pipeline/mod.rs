//! The stages of a request (SPEC §3): exemption check → robots in parallel
//! ([`collect`]) → documents stored → screening, assembly and leak check,
//! and the control level's decision ([`finish`]) → delivery.
//!
//! Every state change is written to the store and flushed before it is acted
//! on, so a killed marc resumes a request where it stopped: documents already
//! stored are not extracted twice, and a request whose robots all finished is
//! not run again. Who calls the stages, and when, is the request service's
//! business ([`crate::service`]).

mod delivery;
pub mod exemptions;
pub mod lists;
pub mod review;
mod robots;

pub use delivery::{
    confirm, deliver, forward, open_outbox, retry, send_deadline, send_receipt, send_refusal,
};

pub use marc_request::{RequestRecord, RequestState, RunState, RunStatus};
pub use robots::{Progress, Recording, RobotRunner, RunnerOptions};

use anyhow::{bail, Context, Result};
use marc_audit::{AuditLog, NewEntry};
use marc_model::{Document, Mark, Period, Subject};
use marc_store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a request asks for.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    pub cpr: marc_model::Cpr,
    pub period: Period,
    /// System ids; empty means every connected system.
    pub systems: Vec<String>,
    pub topics: Vec<String>,
    /// The subject's own name and address (from the CPR register or the
    /// citizen's login): never redacted.
    pub name: String,
    pub address: String,
    /// Who asked, as shown (the citizen, or a third party with consent).
    pub requester: String,
    /// A third party asking with the citizen's consent (the answer goes to
    /// them), and that consent's id.
    pub requested_by: Option<marc_request::Party>,
    pub consent: Option<String>,
}

/// Settings of one marc installation that a request needs.
pub struct Settings {
    pub store: Store,
    pub audit: AuditLog,
    /// The data directory (absolute): answers are kept in `answers/` there.
    pub data_dir: PathBuf,
    pub robots_dir: PathBuf,
    pub scripts_dir: PathBuf,
    /// Directory with the name and street lists; `None` uses the lists built into marc.
    pub lists_dir: Option<PathBuf>,
    pub words: Vec<String>,
    pub allow_addresses: Vec<String>,
    pub authority: marc_assembly::Authority,
    /// Who acts when no person does (the CLI's operator).
    pub actor: String,
    /// Digital Post outbox (MeMo messages), exactly once per message.
    pub outbox: marc_delivery::Outbox,
    /// Control level "review": every request waits for a caseworker.
    pub review_all: bool,
    /// Hold a request whose attachments could not be converted or whose OCR
    /// confidence is low, instead of sending it automatically.
    pub hold_unreadable: bool,
    /// Working days from receipt to the deadline.
    pub deadline_days: u32,
}

/// The result of a request's last stage.
#[derive(Debug)]
pub struct Outcome {
    pub record: RequestRecord,
    /// Documents in the answer (after the period, topic and CPR checks).
    pub documents: usize,
    pub marks: usize,
    /// The assembled answer, in the data directory.
    pub pdf: Option<PathBuf>,
}

const DOCUMENTS: &str = "documents";

/// Creates and persists a new request (state `received`), audited. The id
/// (given, or the next from the counter) never overwrites an existing one.
pub fn create_request(
    settings: &Settings,
    spec: &RequestSpec,
    systems: &[String],
    actor: &str,
    id: Option<String>,
) -> Result<RequestRecord> {
    let now = chrono::Utc::now();
    let id = match id {
        Some(id) => id,
        None => crate::requests::new_id(&settings.store, chrono::Datelike::year(&now))?,
    };
    let mut rec = RequestRecord {
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
        deadline: marc_request::deadline(
            now.date_naive(),
            lists::deadline_days(&settings.store, settings.deadline_days)?,
        ),
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
        requested_by: spec.requested_by.clone(),
        consent: spec.consent.clone(),
        caseworker: None,
        history: Vec::new(),
        pdf_sha256: None,
        notes: vec![],
        test_run: false,
    };
    rec.set_state(RequestState::Received, now);
    crate::requests::insert(&settings.store, &rec)?;
    settings.audit.append(
        NewEntry::user(actor, "request.received")
            .request(&id)
            .detail(serde_json::json!({
                "systems": systems,
                "period": [spec.period.from, spec.period.to],
                "topics": spec.topics,
                "consent": spec.consent,
            })),
    )?;
    Ok(rec)
}

/// Writes a request record and flushes (one writer; see [`crate::requests::update`]).
pub fn save(settings: &Settings, rec: &RequestRecord) -> Result<()> {
    crate::requests::save(&settings.store, rec)
}

pub fn load(store: &Store, id: &str) -> Result<Option<RequestRecord>> {
    crate::requests::load(store, id)
}

/// All requests, oldest first.
pub fn list(store: &Store) -> Result<Vec<RequestRecord>> {
    crate::requests::list(store)
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
    if a.cpr != b.cpr {
        d.push("cpr");
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
pub fn check_exemption(settings: &Settings, rec: RequestRecord) -> Result<RequestRecord> {
    if rec.state != RequestState::Received {
        return Ok(rec);
    }
    let Some(e) = exemptions::find(&settings.store, &rec.cpr)? else {
        return Ok(rec);
    };
    let (rec, _) = crate::requests::update(&settings.store, &rec.id, |r| {
        if r.state == RequestState::Received {
            r.set_state(RequestState::ManualHandling, chrono::Utc::now());
            r.note = "exempt from automatic handling: a caseworker handles this request by hand (`marc exempt list`)".into();
        }
        Ok(())
    })?;
    settings.audit.append(
        NewEntry::system_actor("exemption check", "request.exempt")
            .request(&rec.id)
            .detail(serde_json::json!({"exempted_by": e.by, "since": e.added})),
    )?;
    Ok(rec)
}

/// Stage 1: runs the robots of every system not yet complete, in parallel,
/// and returns the request in state `collected`.
pub fn collect(
    settings: &Settings,
    runner: &RobotRunner,
    rec: RequestRecord,
) -> Result<RequestRecord> {
    if !matches!(rec.state, RequestState::Received | RequestState::Collecting) {
        return Ok(rec);
    }
    let (rec, _) = crate::requests::update(&settings.store, &rec.id, |r| {
        r.set_state(RequestState::Collecting, chrono::Utc::now());
        Ok(())
    })?;
    let manifests =
        crate::robot::select(crate::robot::load_all(&settings.robots_dir)?, &rec.systems)?;
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
    let (rec, _) = crate::requests::update(&settings.store, &rec.id, |r| {
        for (system, run) in &results {
            r.runs.insert(system.clone(), run.clone());
        }
        r.set_state(RequestState::Collected, chrono::Utc::now());
        Ok(())
    })?;
    Ok(rec)
}

/// Runs (or resumes) a request end to end in this process: exemption
/// check, robots, then [`finish`].
pub fn execute(settings: &Settings, runner: &RobotRunner, rec: RequestRecord) -> Result<Outcome> {
    let rec = check_exemption(settings, rec)?;
    if matches!(
        rec.state,
        RequestState::ManualHandling | RequestState::Cancelled | RequestState::Refused
    ) {
        return Ok(Outcome {
            documents: 0,
            marks: 0,
            pdf: None,
            record: rec,
        });
    }
    let rec = collect(settings, runner, rec)?;
    finish(settings, rec, runner.options.progress.as_deref())
}

/// Why documents are left out of the answer or hold it.
#[derive(Debug, Default)]
struct Sorted {
    included: Vec<Document>,
    outside_period: usize,
    outside_topics: usize,
    /// Documents that say they belong to another CPR number: never sent.
    foreign: Vec<String>,
}

/// Sorts stored documents into the answer: only the requested period and
/// topics, never a document whose own CPR number is someone else's, and
/// text without control characters (they could reorder or hide text in the
/// PDF). The engine does this itself; a robot's filtering is only a saving.
fn sort_documents(docs: Vec<Document>, rec: &RequestRecord) -> Sorted {
    let period = Period {
        from: rec.period_from,
        to: rec.period_to,
    };
    let own = rec.cpr.replace('-', "");
    let mut s = Sorted::default();
    for mut d in docs {
        if !period.contains_iso(&d.date) {
            s.outside_period += 1;
            continue;
        }
        if !marc_model::in_topics(&rec.topics, &d.department) {
            s.outside_topics += 1;
            continue;
        }
        if d.cpr.as_deref().is_some_and(|c| c.replace('-', "") != own) {
            s.foreign.push(d.key());
            continue;
        }
        d.sanitize();
        s.included.push(d);
    }
    s
}

/// Reasons a caseworker must look before the answer is sent: text that
/// could not be read (a failed attachment, OCR below the threshold).
fn unreadable(docs: &[Document]) -> Vec<String> {
    let low = |c: Option<f32>| c.is_some_and(|c| c < marc_assembly::OCR_CHECK_BELOW);
    let mut reasons = Vec::new();
    for d in docs {
        if low(d.ocr_confidence) {
            reasons.push(format!(
                "{} read by OCR with confidence {:.0} %",
                d.key(),
                d.ocr_confidence.unwrap_or(0.0) * 100.0
            ));
        }
        for a in &d.attachments {
            if matches!(a.method.as_str(), "error" | "unsupported") {
                reasons.push(format!(
                    "attachment {:?} of {} could not be read",
                    a.name,
                    d.key()
                ));
            } else if low(a.ocr_confidence) {
                reasons.push(format!(
                    "attachment {:?} of {} read by OCR with confidence {:.0} %",
                    a.name,
                    d.key(),
                    a.ocr_confidence.unwrap_or(0.0) * 100.0
                ));
            }
        }
    }
    reasons
}

/// Shows a found string's shape without its content: the first letter of
/// each word, the rest as dots ("J••• H•••••", "••••••-••••").
pub fn mask(s: &str) -> String {
    let mut out = String::new();
    let mut word_start = true;
    for c in s.chars() {
        if c.is_alphabetic() && word_start {
            out.push(c);
            word_start = false;
        } else if c.is_alphanumeric() {
            out.push('•');
            word_start = false;
        } else {
            out.push(c);
            word_start = true;
        }
    }
    out
}

/// Stage 2: screening, assembly, the independent leak check, and the
/// control level's decision; delivers when nothing holds the request back.
/// A caseworker's review decisions made so far are applied.
pub fn finish(
    settings: &Settings,
    rec: RequestRecord,
    progress: Option<&dyn Progress>,
) -> Result<Outcome> {
    let review = review::load(&settings.store, &rec.id)?;
    assemble(settings, rec, &review, None, progress)
}

/// A caseworker's approval: the answer is assembled again from screening
/// and `review` (the decisions the caseworker saw), checked for leaks, and
/// delivered unless it is incomplete or leaks. What the caseworker has seen
/// (the control level, unreadable text, left-out documents) no longer holds
/// it.
pub fn approve(
    settings: &Settings,
    rec: RequestRecord,
    review: &marc_request::review::Review,
    approver: &str,
) -> Result<Outcome> {
    assemble(settings, rec, review, Some(approver), None)
}

fn assemble(
    settings: &Settings,
    rec: RequestRecord,
    review: &marc_request::review::Review,
    approver: Option<&str>,
    progress: Option<&dyn Progress>,
) -> Result<Outcome> {
    let stage = |what: &str| {
        if let Some(p) = progress {
            p.stage(what)
        }
    };
    stage("screening");
    let (reviewed, sorted) = review::reviewed(settings, &rec, review)?;
    let effective: Vec<Vec<Vec<Mark>>> = reviewed.iter().map(|d| d.effective()).collect();
    let n_marks: usize = reviewed
        .iter()
        .zip(&effective)
        .filter(|(d, _)| d.excluded.is_none())
        .map(|(_, parts)| parts.iter().map(Vec::len).sum::<usize>())
        .sum();
    let n_excluded = reviewed.iter().filter(|d| d.excluded.is_some()).count();
    settings.audit.append(
        NewEntry::system_actor("screening", "request.screened")
            .request(&rec.id)
            .detail(serde_json::json!({
                "documents": reviewed.len(),
                "marks": n_marks,
                "outside_period": sorted.outside_period,
                "outside_topics": sorted.outside_topics,
                "foreign_cpr": sorted.foreign,
                "review_revision": review.revision,
                "excluded_by_caseworker": n_excluded,
            })),
    )?;

    stage("assembling the PDF");
    let incomplete: Vec<String> = rec
        .runs
        .iter()
        .filter(|(_, r)| r.status != RunStatus::Complete)
        .map(|(s, _)| s.clone())
        .collect();
    let names = system_names(&settings.robots_dir);
    let sent: Vec<Document> = reviewed
        .iter()
        .filter(|d| d.excluded.is_none())
        .map(marc_request::review::ReviewedDoc::to_document)
        .collect();
    let unreadable = unreadable(&sent);
    let input = assembly_input(settings, &rec, &reviewed, effective, &names);
    let fonts = marc_assembly::Fonts::system().context("cannot load the fonts for the PDF")?;
    let (pdf, leaks) =
        marc_assembly::assemble_checked(&input, &fonts).context("assembling the PDF failed")?;
    let pdf_path = answer_path(settings, &rec.id);
    write_private(&pdf_path, &pdf)?;

    // Every reason that holds the request, most serious first.
    let mut reasons: Vec<String> = Vec::new();
    if !incomplete.is_empty() {
        reasons.push(format!(
            "incomplete: {} failed; the PDF must not be delivered as complete",
            incomplete.join(", ")
        ));
    }
    if !leaks.is_empty() {
        let found: Vec<String> = leaks
            .iter()
            .map(|l| {
                format!(
                    "»{}« {}",
                    mask(&l.needle),
                    l.page
                        .map(|p| format!("on page {p}"))
                        .unwrap_or_else(|| "in the metadata".into())
                )
            })
            .collect();
        reasons.push(format!(
            "the leak check found {} marked string(s) in the PDF: {}",
            leaks.len(),
            found.join(", ")
        ));
    }
    // What a caseworker looks at; an approval means they have.
    let seen_by_a_caseworker = approver.is_some();
    if !sorted.foreign.is_empty() && !seen_by_a_caseworker {
        reasons.push(format!(
            "{} document(s) belong to another CPR number and were left out: {}",
            sorted.foreign.len(),
            sorted.foreign.join(", ")
        ));
    }
    if settings.hold_unreadable && !unreadable.is_empty() && !seen_by_a_caseworker {
        reasons.push(format!(
            "not everything could be read: {}",
            unreadable.join("; ")
        ));
    }
    // Control level "review" for a department: its documents always wait.
    let review_departments = lists::get(&settings.store, lists::List::ReviewDepartments)?;
    let mut waiting_departments: Vec<&str> = sent
        .iter()
        .map(|d| d.department.as_str())
        .filter(|d| review_departments.iter().any(|r| r.eq_ignore_ascii_case(d)))
        .collect();
    waiting_departments.sort_unstable();
    waiting_departments.dedup();
    if rec.test_run {
        reasons.push("an administrator's test run: never sent".into());
    }
    let state = if !incomplete.is_empty() {
        RequestState::Incomplete
    } else if !reasons.is_empty() {
        RequestState::HeldForReview
    } else if !waiting_departments.is_empty() && !seen_by_a_caseworker {
        reasons.push(format!(
            "control level \"review\" for {}: waiting for a caseworker",
            waiting_departments.join(", ")
        ));
        RequestState::HeldForReview
    } else if settings.review_all && !seen_by_a_caseworker {
        reasons.push("control level \"review\": waiting for a caseworker (`marc deliver`)".into());
        RequestState::HeldForReview
    } else {
        RequestState::Ready
    };
    let n_docs = reviewed.len() - n_excluded;
    let (mut rec, _) = crate::requests::update(&settings.store, &rec.id, |r| {
        r.pdf = Some(pdf_path.display().to_string());
        r.pdf_sha256 = Some(marc_delivery::sha256_hex(&pdf));
        r.documents = n_docs;
        r.marks = n_marks;
        r.leaks = leaks.len();
        r.note = reasons.join("; ");
        r.set_state(state, chrono::Utc::now());
        Ok(())
    })?;
    settings.audit.append(
        NewEntry::system_actor("assembly", "request.assembled")
            .request(&rec.id)
            .detail(serde_json::json!({"pdf": pdf_path, "bytes": pdf.len(), "leaks": leaks.len(), "state": rec.state, "approved_by": approver})),
    )?;
    if rec.state == RequestState::Ready {
        stage("delivering");
        rec = deliver(settings, rec)?;
    }
    Ok(Outcome {
        documents: n_docs,
        marks: n_marks,
        pdf: Some(pdf_path),
        record: rec,
    })
}

/// Where a request's answer is kept: `<data>/answers/<id>.pdf`, readable by
/// marc's user only.
pub fn answer_path(settings: &Settings, id: &str) -> PathBuf {
    settings.data_dir.join("answers").join(format!("{id}.pdf"))
}

/// Builds the screener from the configured lists (or the built-in ones).
pub fn screener(settings: &Settings) -> Result<marc_screening::Screener> {
    let lexicon = match &settings.lists_dir {
        Some(d) => marc_screening::Lexicon::load(d)
            .with_context(|| format!("cannot load the screening lists from {}", d.display()))?,
        None => marc_screening::Lexicon::bundled(),
    };
    // marc.toml's lists and those an administrator added while marc runs.
    let config = marc_screening::ScreenConfig {
        words: lists::merged(&settings.words, &settings.store, lists::List::Words)?,
        allow_addresses: lists::merged(
            &settings.allow_addresses,
            &settings.store,
            lists::List::AllowAddresses,
        )?,
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

fn system_names(robots_dir: &Path) -> BTreeMap<String, String> {
    crate::robot::load_all(robots_dir)
        .map(|v| v.into_iter().map(|m| (m.system, m.name)).collect())
        .unwrap_or_default()
}

fn assembly_input(
    settings: &Settings,
    rec: &RequestRecord,
    reviewed: &[marc_request::review::ReviewedDoc],
    effective: Vec<Vec<Vec<Mark>>>,
    names: &BTreeMap<String, String>,
) -> marc_assembly::AssemblyInput {
    let documents = reviewed
        .iter()
        .zip(effective)
        .map(|(d, mut parts)| {
            let marks = if parts.is_empty() {
                Vec::new()
            } else {
                parts.remove(0)
            };
            let partial = !marks.is_empty() || parts.iter().any(|m| !m.is_empty());
            let (access, reason) = match d.excluded {
                Some(why) => (marc_assembly::Access::None, why.label.to_string()),
                // Empty: assembly writes the reason and legal basis per kind of mark.
                None if partial => (marc_assembly::Access::Partial, String::new()),
                None => (marc_assembly::Access::Full, String::new()),
            };
            marc_assembly::AssemblyDoc {
                access,
                reason,
                doc: d.to_document(),
                marks,
                attachment_marks: parts,
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

/// Writes the request's documents and marks as JSON Lines into `dir`: an
/// explicit export (`--export-documents`), since they hold every third
/// party's data unredacted. The files are readable by marc's user only.
pub fn export_documents(settings: &Settings, rec: &RequestRecord, dir: &Path) -> Result<PathBuf> {
    let (_, docs) = review::reviewed_documents(settings, rec)?;
    let (mut d, mut m) = (String::new(), String::new());
    for rd in docs.iter().filter(|rd| rd.excluded.is_none()) {
        let doc = rd.to_document();
        let marks = rd.effective().into_iter().next().unwrap_or_default();
        d.push_str(&serde_json::to_string(&doc)?);
        d.push('\n');
        m.push_str(&serde_json::to_string(
            &serde_json::json!({"id": doc.key(), "marks": marks}),
        )?);
        m.push('\n');
    }
    let path = dir.join("documents.jsonl");
    write_private(&path, d.as_bytes())?;
    write_private(&dir.join("marks.jsonl"), m.as_bytes())?;
    Ok(path)
}

/// Writes a file atomically, readable and writable by marc's user only (it
/// holds personal data), creating its directory (0700) if needed.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    marc_store::write_private(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Checks that the requested systems exist before anything is stored.
pub fn resolve_systems(robots_dir: &Path, wanted: &[String]) -> Result<Vec<String>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, date: &str, dept: &str, cpr: Option<&str>, text: &str) -> Document {
        Document {
            system: "esdh".into(),
            case_id: "S1".into(),
            doc_id: id.into(),
            title: id.into(),
            date: date.into(),
            department: dept.into(),
            text: text.into(),
            cpr: cpr.map(str::to_string),
            ..Default::default()
        }
    }

    fn rec(topics: &[&str]) -> RequestRecord {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        RequestRecord {
            id: "AI-1".into(),
            cpr: "010203-1234".into(),
            name: String::new(),
            address: String::new(),
            requester: String::new(),
            period_from: d("2020-01-01"),
            period_to: d("2020-12-31"),
            topics: topics.iter().map(|s| s.to_string()).collect(),
            systems: vec![],
            created: chrono::Utc::now(),
            deadline: d("2021-01-10"),
            state: RequestState::Collected,
            runs: Default::default(),
            pdf: None,
            marks: 0,
            documents: 0,
            note: String::new(),
            leaks: 0,
            delivery: None,
            pdf_sha256: None,
            notes: vec![],
            test_run: false,
            requested_by: None,
            consent: None,
            caseworker: None,
            history: vec![],
        }
    }

    #[test]
    fn the_engine_keeps_to_the_period_topics_and_citizen() {
        let docs = vec![
            doc(
                "a",
                "2020-05-01",
                "Jobcenter",
                None,
                "ok\u{1b}[2J and \u{202e}drow",
            ),
            doc("b", "2019-12-31", "Jobcenter", None, "too early"),
            doc("c", "2020-05-01", "Handicap", None, "other topic"),
            doc(
                "d",
                "2020-05-01",
                "Jobcenter",
                Some("0203041234"),
                "someone else",
            ),
            doc("e", "2020-05-02", "Jobcenter", Some("010203-1234"), "own"),
        ];
        let s = sort_documents(docs.clone(), &rec(&["jobcenter"]));
        let kept: Vec<&str> = s.included.iter().map(|d| d.doc_id.as_str()).collect();
        assert_eq!(kept, ["a", "e"]);
        assert_eq!((s.outside_period, s.outside_topics), (1, 1));
        assert_eq!(s.foreign, ["esdh/S1/d"]);
        assert!(!s.included[0].text.contains('\u{1b}') && !s.included[0].text.contains('\u{202e}'));
        // No topics asked: every department.
        assert_eq!(sort_documents(docs, &rec(&[])).included.len(), 3);
    }

    #[test]
    fn unreadable_text_is_named() {
        let mut d = doc("a", "2020-05-01", "", None, "");
        d.attachments.push(marc_model::Attachment {
            name: "scan.pdf".into(),
            method: "error".into(),
            ..Default::default()
        });
        d.ocr_confidence = Some(0.5);
        let r = unreadable(&[d]);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[0].contains("50 %") && r[1].contains("scan.pdf"));
    }

    #[test]
    fn masks_keep_the_shape_only() {
        assert_eq!(mask("Jens Hansen"), "J••• H•••••");
        assert_eq!(mask("010203-1234"), "••••••-••••");
    }
}
