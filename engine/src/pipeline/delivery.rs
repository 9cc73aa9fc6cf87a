//! Delivery of a request's answer, its receipt and forwarding, through the
//! Digital Post outbox. The outbox's ledger makes each message exactly-once;
//! the request record says what happened.

use super::{save, RequestRecord, RequestState, Settings};
use anyhow::{bail, Context, Result};
use marc_audit::NewEntry;
use marc_delivery::{RecipientId, Sender};

fn sender(settings: &Settings) -> Sender {
    Sender {
        cvr: settings.authority.cvr.clone(),
        label: settings.authority.name.clone(),
    }
}

/// Sends the receipt ("kvittering") to the requester: request id and deadline.
pub fn send_receipt(settings: &Settings, rec: &RequestRecord) -> Result<()> {
    let msg = marc_delivery::receipt_message(
        &rec.id,
        RecipientId::Cpr(rec.cpr.replace('-', "")),
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

/// Delivers the assembled PDF to the requester. Refuses requests that are
/// incomplete or whose PDF failed the leak check; a failure leaves the
/// request in state `delivery_failed` with the reason.
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
    let Some(pdf_path) = rec.pdf.clone() else {
        bail!("request {} has no PDF", rec.id)
    };
    let pdf =
        std::fs::read(&pdf_path).with_context(|| format!("cannot read the PDF {pdf_path}"))?;
    let msg = marc_delivery::response_message(
        &rec.id,
        RecipientId::Cpr(rec.cpr.replace('-', "")),
        &sender(settings),
        pdf,
        chrono::Utc::now(),
    );
    let key = marc_delivery::delivery_key("response", &rec.id);
    let result = if rec.state == RequestState::DeliveryFailed {
        settings.outbox.retry(&key, &msg)
    } else {
        settings.outbox.deliver(&key, &msg)
    };
    match result {
        Ok(r) => {
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

/// Forwards a request's PDF to another municipality (by CVR).
pub fn forward(
    settings: &Settings,
    rec: &RequestRecord,
    cvr: &str,
    label: &str,
) -> Result<marc_delivery::DeliveryReceipt> {
    if cvr.len() != 8 || !cvr.chars().all(|c| c.is_ascii_digit()) {
        bail!("--cvr must be 8 digits, got {cvr:?}");
    }
    if rec.leaks > 0 || rec.state == RequestState::Incomplete {
        bail!(
            "request {} is {}; it cannot be forwarded",
            rec.id,
            rec.state.as_str()
        );
    }
    let Some(pdf_path) = rec.pdf.clone() else {
        bail!("request {} has no PDF yet", rec.id)
    };
    let pdf =
        std::fs::read(&pdf_path).with_context(|| format!("cannot read the PDF {pdf_path}"))?;
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
        NewEntry::user(&settings.actor, "request.forwarded")
            .request(&rec.id)
            .detail(serde_json::json!({"to_cvr": cvr, "to": label, "message": r.message_uuid.to_string()})),
    )?;
    Ok(r)
}
