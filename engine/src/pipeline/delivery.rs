//! Delivery of a request's answer, its receipt and forwarding, through the
//! Digital Post outbox. The outbox's ledger makes each message exactly-once;
//! the request record says what happened. A delivery that may or may not have
//! arrived (marc stopped during the POST) is never sent again on its own: an
//! operator confirms it ([`confirm`]) or retries it ([`retry`]) after checking
//! the receiving side.

use super::{save, RequestRecord, RequestState, Settings};
use crate::config::DeliveryConfig;
use anyhow::{anyhow, bail, Context, Result};
use marc_audit::NewEntry;
use marc_delivery::{ClientIdentity, DeliveryReceipt, EndpointConfig, Outbox, RecipientId, Sender};
use std::path::Path;

fn sender(settings: &Settings) -> Sender {
    Sender {
        cvr: settings.authority.cvr.clone(),
        label: settings.authority.name.clone(),
    }
}

/// The outbox `[delivery]` configures: `outbox` (default `<data>/outbox`),
/// `endpoint` with its CA and client certificate (a PKCS#12 password is a
/// secret in the vault, named by `client_pkcs12_password`).
pub fn open_outbox(cfg: &DeliveryConfig, data: &Path, store: &marc_store::Store) -> Result<Outbox> {
    let dir = cfg.outbox.clone().unwrap_or_else(|| data.join("outbox"));
    let identity = match (&cfg.client_cert, &cfg.client_key, &cfg.client_pkcs12) {
        (None, None, None) => None,
        (Some(cert), Some(key), None) => Some(ClientIdentity::Pem {
            cert: cert.clone(),
            key: key.clone(),
        }),
        (None, None, Some(file)) => {
            let name = cfg.client_pkcs12_password.as_deref().ok_or_else(|| {
                anyhow!("[delivery] client_pkcs12 needs client_pkcs12_password: the name of the vault secret that holds its password")
            })?;
            let key = marc_vault::VaultKey::from_env()
                .context("the PKCS#12 password is kept in the vault")?;
            let vault = marc_vault::Vault::open(store, key)?;
            let password = vault.get(name)?;
            Some(ClientIdentity::Pkcs12 {
                file: file.clone(),
                password: password.expose().to_string().into(),
            })
        }
        _ => bail!(
            "[delivery]: give the client certificate either as client_cert and client_key (PEM), or as client_pkcs12 (with client_pkcs12_password), not a mix"
        ),
    };
    let endpoint = cfg.endpoint.as_ref().map(|url| EndpointConfig {
        url: url.clone(),
        ca: cfg.ca.clone(),
        identity,
    });
    Outbox::new(dir.clone(), endpoint, store.clone())
        .with_context(|| format!("cannot open the outbox {}", dir.display()))
}

/// Whom a request's letters go to: the requester, which is the citizen, or
/// the third party who asked under the citizen's consent.
pub(crate) fn recipient_id(rec: &RequestRecord) -> RecipientId {
    match rec.recipient() {
        marc_request::Party::Cpr(cpr) => RecipientId::Cpr(cpr.replace('-', "")),
        marc_request::Party::Cvr(cvr) => RecipientId::Cvr(cvr),
    }
}

/// Tells the requester of a new deadline and why (one letter per new date).
pub fn send_deadline(settings: &Settings, rec: &RequestRecord, reason: &str) -> Result<()> {
    let msg = marc_delivery::deadline_message(
        &rec.id,
        recipient_id(rec),
        &sender(settings),
        rec.deadline,
        reason,
        chrono::Utc::now(),
    );
    let key = format!("deadline/{}/{}", rec.id, rec.deadline);
    let r = settings
        .outbox
        .deliver(&key, &msg)
        .context("the letter about the new deadline could not be delivered")?;
    settings.audit.append(
        NewEntry::system_actor("delivery", "deadline.sent")
            .request(&rec.id)
            .detail(serde_json::json!({"message": r.message_uuid.to_string()})),
    )?;
    Ok(())
}

/// Sends a caseworker's refusal to the requester: the reason and how to
/// complain. Sent once (a second call finds it in the ledger).
pub fn send_refusal(settings: &Settings, rec: &RequestRecord, reason: &str) -> Result<()> {
    let complaint = if settings.authority.complaint.trim().is_empty() {
        "Du kan klage over afgørelsen til kommunen inden 4 uger."
    } else {
        settings.authority.complaint.as_str()
    };
    let msg = marc_delivery::refusal_message(
        &rec.id,
        recipient_id(rec),
        &sender(settings),
        reason,
        complaint,
        chrono::Utc::now(),
    );
    let key = marc_delivery::delivery_key("refusal", &rec.id);
    let r = settings
        .outbox
        .deliver(&key, &msg)
        .context("the refusal could not be delivered")?;
    settings.audit.append(
        NewEntry::system_actor("delivery", "refusal.sent")
            .request(&rec.id)
            .detail(serde_json::json!({"message": r.message_uuid.to_string()})),
    )?;
    Ok(())
}

/// Sends the receipt ("kvittering") to the requester: request id and deadline.
pub fn send_receipt(settings: &Settings, rec: &RequestRecord) -> Result<()> {
    let msg = marc_delivery::receipt_message(
        &rec.id,
        recipient_id(rec),
        &sender(settings),
        rec.created.date_naive(),
        rec.deadline,
        chrono::Utc::now(),
    );
    let key = marc_delivery::delivery_key("receipt", &rec.id);
    let r = settings
        .outbox
        .deliver(&key, &msg)
        .context("the receipt could not be delivered")?;
    settings.audit.append(
        NewEntry::system_actor("delivery", "receipt.sent")
            .request(&rec.id)
            .detail(serde_json::json!({"message": r.message_uuid.to_string(), "file": r.file})),
    )?;
    Ok(())
}

/// The request's PDF, as assembled: its SHA-256 must be the one recorded at
/// assembly, so a file changed or replaced since is never sent.
fn assembled_pdf(rec: &RequestRecord) -> Result<Vec<u8>> {
    let Some(pdf_path) = rec.pdf.clone() else {
        bail!("request {} has no PDF", rec.id)
    };
    let Some(want) = rec.pdf_sha256.as_deref() else {
        bail!(
            "request {} has no recorded checksum of its PDF (assembled by an older marc); assemble it again with `marc run --resume {}`",
            rec.id,
            rec.id
        )
    };
    let pdf =
        std::fs::read(&pdf_path).with_context(|| format!("cannot read the PDF {pdf_path}"))?;
    let found = marc_delivery::sha256_hex(&pdf);
    if found != want {
        bail!(
            "the PDF {pdf_path} of request {} is not the one assembled (SHA-256 {want} at assembly, {found} now); nothing was sent. Assemble it again with `marc run --resume {}`",
            rec.id,
            rec.id
        );
    }
    Ok(pdf)
}

/// Delivers the assembled PDF to the requester. Refuses requests that are
/// incomplete or whose PDF failed the leak check; a failure (or a delivery in
/// doubt) leaves the request in state `delivery_failed` with the reason, which
/// names the command that settles it.
pub fn deliver(settings: &Settings, mut rec: RequestRecord) -> Result<RequestRecord> {
    match rec.state {
        RequestState::Incomplete => bail!(
            "request {} is incomplete ({}); it is never delivered as complete. Run it again with `marc run --resume {}`",
            rec.id, rec.note, rec.id
        ),
        _ if rec.leaks > 0 => bail!(
            "the PDF of request {} failed the leak check; fix the marks and assemble again before delivery",
            rec.id
        ),
        RequestState::ManualHandling => bail!(
            "request {} is exempt from automatic handling; a caseworker answers it by hand, outside marc",
            rec.id
        ),
        RequestState::Ready | RequestState::HeldForReview | RequestState::DeliveryFailed | RequestState::Delivered => {}
        other => bail!("request {} is {}; it has no PDF to deliver yet", rec.id, other.as_str()),
    }
    let pdf = assembled_pdf(&rec)?;
    let msg = marc_delivery::response_message(
        &rec.id,
        recipient_id(&rec),
        &sender(settings),
        pdf,
        chrono::Utc::now(),
    );
    let key = marc_delivery::delivery_key("response", &rec.id);
    match settings.outbox.deliver(&key, &msg) {
        Ok(r) => {
            rec = delivered(settings, rec, &r)?;
        }
        Err(e) => {
            rec.state = RequestState::DeliveryFailed;
            rec.note = format!("delivery failed: {e}");
            save(settings, &rec)?;
            settings.audit.append(
                NewEntry::system_actor("delivery", "request.delivery_failed")
                    .request(&rec.id)
                    .detail(serde_json::json!({"error": e.to_string()})),
            )?;
        }
    }
    Ok(rec)
}

/// Records a delivered answer in its request, then in the audit log.
fn delivered(
    settings: &Settings,
    mut rec: RequestRecord,
    r: &DeliveryReceipt,
) -> Result<RequestRecord> {
    rec.state = RequestState::Delivered;
    rec.delivery = Some(r.file.display().to_string());
    rec.note = if r.repeated {
        "delivered earlier; not sent again".into()
    } else {
        String::new()
    };
    save(settings, &rec)?;
    settings.audit.append(
        NewEntry::system_actor("delivery", "request.delivered")
            .request(&rec.id)
            .detail(serde_json::json!({"message": r.message_uuid.to_string(), "file": r.file, "posted": r.posted, "repeated": r.repeated})),
    )?;
    Ok(rec)
}

/// An operator's action on the delivery `key`, with the request it belongs
/// to (`response/<id>`, `receipt/<id>`, `forward/<id>/<cvr>`).
fn operator_entry(settings: &Settings, action: &str, key: &str) -> NewEntry {
    let e = NewEntry::user(&settings.actor, action);
    match key.split('/').nth(1) {
        Some(id) => e.request(id),
        None => e,
    }
}

/// An operator's word that an in-doubt (or failed) delivery did arrive, after
/// checking the receiving side; audited with who said so and why. A
/// response's request becomes `delivered`.
pub fn confirm(
    settings: &Settings,
    key: &str,
    note: &str,
) -> Result<marc_delivery::DeliveryRecord> {
    if note.trim().is_empty() {
        bail!("say how you checked that it arrived with --note (kept in the audit log)");
    }
    let d = settings
        .outbox
        .confirm_delivered(key, &settings.actor, note)?;
    settings
        .audit
        .append(operator_entry(settings, "delivery.confirmed", key).detail(
        serde_json::json!({"delivery": key, "message": d.message_uuid.to_string(), "note": note}),
    ))?;
    settle_response(settings, key, &d.file, "confirmed by hand as delivered")?;
    Ok(d)
}

/// Sends an in-doubt or failed delivery again, as the operator decided: the
/// same bytes under the same message UUID (see [`Outbox::retry`]); audited.
pub fn retry(settings: &Settings, key: &str) -> Result<DeliveryReceipt> {
    let r = settings.outbox.retry(key);
    let detail = match &r {
        Ok(r) => {
            serde_json::json!({"delivery": key, "message": r.message_uuid.to_string(), "http_status": r.http_status})
        }
        Err(e) => serde_json::json!({"delivery": key, "error": e.to_string()}),
    };
    settings
        .audit
        .append(operator_entry(settings, "delivery.retried", key).detail(detail))?;
    let r = r?;
    settle_response(settings, key, &r.file, "")?;
    Ok(r)
}

/// A response delivery that was settled by hand: its request is delivered.
fn settle_response(settings: &Settings, key: &str, file: &Path, note: &str) -> Result<()> {
    let Some(id) = key.strip_prefix("response/") else {
        return Ok(());
    };
    let Some(mut rec) = super::load(&settings.store, id)? else {
        return Ok(());
    };
    if rec.state != RequestState::Delivered {
        rec.state = RequestState::Delivered;
        rec.delivery = Some(file.display().to_string());
        rec.note = note.to_string();
        save(settings, &rec)?;
    }
    Ok(())
}

/// Forwards a request's PDF to another municipality (by CVR).
pub fn forward(
    settings: &Settings,
    actor: &str,
    rec: &RequestRecord,
    cvr: &str,
    label: &str,
) -> Result<DeliveryReceipt> {
    if cvr.len() != 8 || !cvr.chars().all(|c| c.is_ascii_digit()) {
        bail!("the receiving municipality's CVR number must be 8 digits, got {cvr:?}");
    }
    if rec.leaks > 0 || rec.state == RequestState::Incomplete {
        bail!(
            "request {} is {}; it cannot be forwarded",
            rec.id,
            rec.state.as_str()
        );
    }
    let pdf = assembled_pdf(rec)?;
    let msg = marc_delivery::forward_message(
        &rec.id,
        cvr,
        label,
        &sender(settings),
        pdf,
        chrono::Utc::now(),
    );
    let r = settings
        .outbox
        .deliver(&marc_delivery::forward_key(&rec.id, cvr), &msg)?;
    settings.audit.append(
        NewEntry::user(actor, "request.forwarded")
            .request(&rec.id)
            .detail(serde_json::json!({"to_cvr": cvr, "to": label, "message": r.message_uuid.to_string()})),
    )?;
    Ok(r)
}
