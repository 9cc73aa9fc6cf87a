//! `marc delivery status|confirm|retry`: the operator's hands on the Digital
//! Post ledger. A delivery interrupted during its POST is "in doubt": marc
//! will not guess whether it arrived, so the operator checks the receiving
//! side and either confirms it or retries it (same bytes, same message UUID).

use super::io::outln;
use super::{exit, Global};
use anyhow::Result;
use clap::Subcommand;
use marc_delivery::{DeliveryRecord, DeliveryState};

#[derive(Subcommand, Debug)]
pub enum DeliveryCommand {
    /// List deliveries: state (sending, in doubt, delivered, failed), message UUID, attempts, file.
    Status {
        /// A request id or a delivery key (default: all).
        which: Option<String>,
        /// JSON Lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Record that an in-doubt or failed delivery did arrive, after checking the receiving system.
    Confirm {
        /// Delivery key, e.g. `response/AI-2026-000001-ab12` (see `marc delivery status`).
        key: String,
        /// How you checked (kept in the ledger and the audit log).
        #[arg(long)]
        note: String,
    },
    /// Send an in-doubt or failed delivery again: the same outbox file, the same message UUID.
    Retry {
        /// Delivery key (see `marc delivery status`).
        key: String,
    },
}

fn matches(r: &DeliveryRecord, which: Option<&str>) -> bool {
    match which {
        None => true,
        Some(w) => r.delivery_key == w || r.delivery_key.split('/').nth(1) == Some(w),
    }
}

fn print_table(records: &[&DeliveryRecord]) {
    outln!(
        "{:<44} {:<9} {:<36} {:>8} {:>4}  {:<20} file",
        "delivery",
        "state",
        "message",
        "attempts",
        "http",
        "updated"
    );
    for r in records {
        outln!(
            "{:<44} {:<9} {:<36} {:>8} {:>4}  {:<20} {}",
            r.delivery_key,
            r.state.name(),
            r.message_uuid,
            r.attempts,
            r.http_status.map(|s| s.to_string()).unwrap_or_default(),
            r.updated.format("%Y-%m-%d %H:%M:%S"),
            r.file.display()
        );
        match &r.state {
            DeliveryState::Failed { reason } => outln!("    failed: {reason}"),
            DeliveryState::Posting { .. } => outln!(
                "    in doubt: check the receiver, then `marc delivery confirm {k} --note TEXT` or `marc delivery retry {k}`",
                k = r.delivery_key
            ),
            _ => {}
        }
        if let Some(n) = &r.note {
            outln!("    {n}");
        }
    }
}

pub fn run(g: &Global, c: DeliveryCommand) -> Result<i32> {
    let (settings, _) = super::request::settings(g, None, None)?;
    match c {
        DeliveryCommand::Status { which, json } => {
            let all = settings.outbox.records()?;
            let shown: Vec<&DeliveryRecord> = all
                .iter()
                .filter(|r| matches(r, which.as_deref()))
                .collect();
            if let (Some(w), true) = (&which, shown.is_empty()) {
                anyhow::bail!(
                    "no delivery of {w:?} in the ledger; `marc delivery status` lists them"
                );
            }
            if json {
                for r in shown {
                    outln!("{}", serde_json::to_string(r)?);
                }
            } else {
                print_table(&shown);
            }
            Ok(exit::OK)
        }
        DeliveryCommand::Confirm { key, note } => {
            let r = crate::pipeline::confirm(&settings, &key, &note)?;
            outln!(
                "{key}: delivered (confirmed by hand), message {}",
                r.message_uuid
            );
            Ok(exit::OK)
        }
        DeliveryCommand::Retry { key } => {
            let r = crate::pipeline::retry(&settings, &key)?;
            outln!(
                "{key}: delivered, message {}{}",
                r.message_uuid,
                r.http_status
                    .map(|s| format!(" (HTTP {s})"))
                    .unwrap_or_default()
            );
            Ok(exit::OK)
        }
    }
}
