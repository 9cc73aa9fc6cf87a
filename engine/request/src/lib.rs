//! marc-request: the nouns and rules of an aktindsigt request, shared by the
//! engine (which runs requests), the web app (which shows them) and the
//! stores (which keep them).
//!
//! - [`record`]: a request as stored — who asked, about whom, what period and
//!   topics, its state and each robot run's state;
//! - [`deadline`]: the due date in working days, skipping weekends and Danish
//!   public holidays;
//! - [`consent`]: a citizen's consent that lets a third party ask on their
//!   behalf, and whether it covers a request;
//! - [`access`]: who may see a request;
//! - [`worklist`]: the caseworkers' list (search, filter, sort, page) and
//!   how urgent each request is;
//! - [`stats`]: the managers' statistics over a period;
//! - [`review`]: a caseworker's decisions on the marks and documents of an
//!   answer, kept reversible until it is sent.
//!
//! Everything here is plain data and pure functions, so the rules are tested
//! without a browser, a store or a server.

pub mod access;
pub mod consent;
pub mod deadline;
pub mod record;
pub mod review;
pub mod stats;
pub mod worklist;

pub use access::{may_view, viewer_tags, viewers, Principal, Viewers};
pub use consent::{Consent, ConsentError, Party};
pub use deadline::{deadline, is_working_day};
pub use record::{InternalNote, RequestRecord, RequestState, RunState, RunStatus, StateChange};
