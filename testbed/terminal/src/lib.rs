//! marc-testbed-terminal: the third testbed system of SPEC §9 — a green-screen case system
//! with no DOM text, read by OCR. One state machine ([`Terminal`]) with two front ends:
//! an ANSI terminal program (`marc-terminal`, run it in xterm under Xvfb) and an HTML
//! `<canvas>` page served over HTTP ([`web::router`]), where the text exists only as pixels.
//!
//! Data and ground truth come from [`marc_testbed::World`] (system id `terminal`); the robot
//! account is `ROBOT03` / `TERM2018` (see [`marc_testbed::CREDENTIALS`]).

pub mod ansi;
pub mod machine;
pub mod tty;
pub mod web;

pub use machine::{wrap_text, Input, ScreenView, Terminal, COLS, DOC_LINES, ROWS, WRAP};
