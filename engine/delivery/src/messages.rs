//! Builders for the messages marc sends. Message UUIDs are derived
//! from the delivery key (UUID v5), so a message rebuilt after a restart
//! has the same UUID as the first attempt.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::memo::{MemoMessage, RecipientId};

/// UUID namespace for marc's message UUIDs.
const MARC_NS: Uuid = Uuid::from_u128(0x6d61_7263_2d64_656c_6976_6572_792d_6e73);

/// The message UUID for a delivery key (stable across restarts).
pub fn message_uuid_for(delivery_key: &str) -> Uuid {
    Uuid::new_v5(&MARC_NS, delivery_key.as_bytes())
}

/// The delivery key of a request's response, receipt or forwarding.
pub fn delivery_key(kind: &str, request_id: &str) -> String {
    format!("{kind}/{request_id}")
}

/// The sender of every message: the municipality.
#[derive(Clone, Debug)]
pub struct Sender {
    pub cvr: String,
    /// e.g. "Silkeborg Kommune".
    pub label: String,
}

fn safe_file_part(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.chars().take(80).collect()
}

fn dk(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// What every message shares: the municipality as sender, Danish, and
/// the message UUID derived from its delivery key.
struct Letter<'a> {
    key: &'a str,
    label: String,
    filename: String,
    body: Vec<u8>,
    format: &'a str,
}

impl Letter<'_> {
    fn to(self, recipient: RecipientId, sender: &Sender, created: DateTime<Utc>) -> MemoMessage {
        MemoMessage {
            message_uuid: message_uuid_for(self.key),
            label: self.label,
            sender_cvr: sender.cvr.clone(),
            sender_label: sender.label.clone(),
            recipient,
            created,
            filename: self.filename,
            pdf: self.body,
            encoding_format: self.format.into(),
            language: "da".into(),
        }
    }
}

/// The answer: the assembled PDF to the requester (citizen by CPR, or a
/// third party by CPR/CVR). Delivery key: `response/<request id>`.
pub fn response_message(
    request_id: &str,
    recipient: RecipientId,
    sender: &Sender,
    pdf: Vec<u8>,
    created: DateTime<Utc>,
) -> MemoMessage {
    Letter {
        key: &delivery_key("response", request_id),
        label: format!("Svar på anmodning om aktindsigt ({request_id})"),
        filename: format!("aktindsigt-{}.pdf", safe_file_part(request_id)),
        body: pdf,
        format: "application/pdf",
    }
    .to(recipient, sender, created)
}

/// The receipt sent when a request arrives: request id and deadline, as a
/// short plain-text main document. Delivery key: `receipt/<request id>`.
pub fn receipt_message(
    request_id: &str,
    recipient: RecipientId,
    sender: &Sender,
    received: NaiveDate,
    deadline: NaiveDate,
    created: DateTime<Utc>,
) -> MemoMessage {
    let text = format!(
        "Kvittering for din anmodning om aktindsigt\n\n\
         Vi har modtaget din anmodning om aktindsigt den {}.\n\
         Anmodnings-id: {request_id}\n\n\
         Du får svar senest den {}. Kan vi ikke nå det, skriver vi til dig, hvorfor, \
         og hvornår du kan forvente svar (offentlighedsloven § 36).\n\n\
         Oplys anmodnings-id {request_id}, hvis du kontakter os om sagen.\n\n\
         Venlig hilsen\n{}\n",
        dk(received),
        dk(deadline),
        sender.label
    );
    Letter {
        key: &delivery_key("receipt", request_id),
        label: format!("Kvittering: anmodning om aktindsigt ({request_id})"),
        filename: format!("kvittering-{}.txt", safe_file_part(request_id)),
        body: text.into_bytes(),
        format: "text/plain",
    }
    .to(recipient, sender, created)
}

/// A new deadline: the authority cannot answer in time and says why and
/// when it will (offentlighedsloven § 36, stk. 2). Delivery key:
/// `deadline/<request id>/<new deadline>`, so each extension is one letter.
pub fn deadline_message(
    request_id: &str,
    recipient: RecipientId,
    sender: &Sender,
    new_deadline: NaiveDate,
    reason: &str,
    created: DateTime<Utc>,
) -> MemoMessage {
    let key = format!("deadline/{request_id}/{new_deadline}");
    let text = format!(
        "Ny frist for svar på din anmodning om aktindsigt\n\nVi kan ikke nå at besvare din anmodning ({request_id}) inden for den sædvanlige frist.\n\nBegrundelse:\n{reason}\n\nDu kan forvente svar senest den {}.\n\nVenlig hilsen\n{}\n",
        dk(new_deadline),
        sender.label
    );
    Letter {
        key: &key,
        label: format!("Ny frist: anmodning om aktindsigt ({request_id})"),
        filename: format!("frist-{}.txt", safe_file_part(request_id)),
        body: text.into_bytes(),
        format: "text/plain",
    }
    .to(recipient, sender, created)
}

/// A refusal ("afslag"): the decision, its reason and how to complain, as
/// a plain-text letter. Delivery key: `refusal/<request id>`.
pub fn refusal_message(
    request_id: &str,
    recipient: RecipientId,
    sender: &Sender,
    reason: &str,
    complaint: &str,
    created: DateTime<Utc>,
) -> MemoMessage {
    let text = format!(
        "Afgørelse om aktindsigt\n\nVi har behandlet din anmodning om aktindsigt ({request_id}) og giver afslag.\n\nBegrundelse:\n{reason}\n\nKlagevejledning:\n{complaint}\n\nVenlig hilsen\n{}\n",
        sender.label
    );
    Letter {
        key: &delivery_key("refusal", request_id),
        label: format!("Afgørelse: afslag på aktindsigt ({request_id})"),
        filename: format!("afslag-{}.txt", safe_file_part(request_id)),
        body: text.into_bytes(),
        format: "text/plain",
    }
    .to(recipient, sender, created)
}

/// Forwarding a request's documents to another municipality (by CVR),
/// e.g. when the citizen has moved. Delivery key:
/// `forward/<request id>/<recipient cvr>`.
pub fn forward_message(
    request_id: &str,
    to_cvr: &str,
    to_label: &str,
    sender: &Sender,
    pdf: Vec<u8>,
    created: DateTime<Utc>,
) -> MemoMessage {
    Letter {
        key: &forward_key(request_id, to_cvr),
        label: format!("Videresendt til {to_label}: dokumenter i aktindsigtssag {request_id}"),
        filename: format!("videresendt-{}.pdf", safe_file_part(request_id)),
        body: pdf,
        format: "application/pdf",
    }
    .to(RecipientId::Cvr(to_cvr.to_string()), sender, created)
}

/// The delivery key for forwarding to one municipality.
pub fn forward_key(request_id: &str, to_cvr: &str) -> String {
    format!("forward/{request_id}/{to_cvr}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_read_as_letters() {
        let sender = Sender {
            cvr: "29189919".into(),
            label: "Testkommune".into(),
        };
        let r = || RecipientId::Cvr("12345678".into());
        let d = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap_or_default();
        let now = Utc::now();
        for m in [
            receipt_message("AI-1", r(), &sender, d, d, now),
            deadline_message("AI-1", r(), &sender, d, "Høring.", now),
            refusal_message("AI-1", r(), &sender, "§ 30.", "Klag inden 4 uger.", now),
        ] {
            let text = String::from_utf8(m.pdf).unwrap();
            assert!(
                text.lines().all(|l| !l.starts_with(' ')),
                "a line of {} starts with spaces:\n{text}",
                m.label
            );
            assert!(
                text.contains("AI-1") && text.ends_with("Testkommune\n"),
                "{text}"
            );
        }
    }
}
