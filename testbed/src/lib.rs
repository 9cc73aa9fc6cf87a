//! marc-testbed: simulated case systems for exercising marc end to end.
//!
//! * [`world`]: seeded, deterministic Danish citizens, cases and documents with
//!   ground truth ([`World::truth`]).
//! * [`server`]: two web case systems on 127.0.0.1 — a modern ESDH and a legacy
//!   system full of traps (frames, late JavaScript, pagination, popups, session
//!   expiry, transient 503s, a read-only role and a delete button) — with a
//!   request log that tests read.
//! * [`pdf`]: the small PDFs served as attachments.
//! * [`tls`]: the HTTPS mode's own CA and TLS listener.
//! * [`idp`]: the test OpenID provider (not MitID) citizens log in with in
//!   the demo and the tests, and its identities.

pub mod digital_post;
pub mod idp;
pub mod pdf;
pub mod server;
pub mod tls;
pub mod world;

pub use pdf::attachment_pdf;
pub use server::{LogEntry, RequestLog, ServedSystem, Testbed, TestbedConfig, CREDENTIALS};
pub use world::{
    Case, Citizen, LoadSpec, Pii, SystemKind, TbAttachment, TbDocument, TbSystem, Truth, World,
    DEMO_SEED, SYSTEMS,
};
