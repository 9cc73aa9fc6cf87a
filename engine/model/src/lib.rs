//! The nouns every marc crate shares: CPR numbers, request periods, extracted
//! documents and screening marks.
//!
//! This crate is deliberately tiny and dependency-light so that the testbed, the
//! drivers, screening and assembly can all agree on one vocabulary without
//! depending on the engine.

mod cpr;
mod document;
mod mark;
mod period;
mod topics;

pub use cpr::{Cpr, CprError};
pub use document::{sanitize_text, Attachment, Document, Subject};
pub use mark::{number_digits, number_word, ocr_digit, Mark, MarkKind};
pub use period::{Period, PeriodError};
pub use topics::in_topics;
