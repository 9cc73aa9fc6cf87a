//! The third testbed system (SPEC §9): a green-screen case system with no
//! DOM text, on the same [`World`](crate::World) as the web systems.
//!
//! * [`app`]: the program itself, a pure state machine ([`TerminalApp`]):
//!   keys in, 80×24 [`Screen`]s out (login, menu, CPR search, case list,
//!   paged document list, paged documents, session expiry).
//! * [`canvas`]: front end A, the screen drawn on an HTML `<canvas>`
//!   ([`start_terminal`]); nothing of the screen text is ever in the DOM.
//! * [`ansi`]: front end B's drawing, used by the `marc-terminal` binary that
//!   runs the same program in a real terminal (xterm under Xvfb).
//!
//! Account: `ROBOT03` / `TERM2018` (see [`CREDENTIALS`](crate::CREDENTIALS)).

pub mod ansi;
pub mod app;
pub mod canvas;

pub use ansi::render_ansi;
pub use app::{unwrap_text, wrap_text, Screen, TermKey, TerminalApp, TerminalConfig, END_MARKER};
pub use canvas::{serve_canvas, start_terminal, ShutdownHandle, TerminalServer};
