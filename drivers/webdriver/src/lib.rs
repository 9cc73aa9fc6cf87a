//! The WebDriver driver: how a marc robot touches a system that has a DOM.
//!
//! Two pieces, both independent of the engine:
//! - [`Chromedriver`] finds and starts `/usr/bin/chromedriver` on a free port,
//!   waits until it answers, and stops it when dropped (it also dies with marc
//!   through `PR_SET_PDEATHSIG`, so a killed marc leaves no orphan browser);
//! - [`Browser`] is one Chromium session with the robot-facing operations.
//!   Reads that would cost one round trip per cell (`table`, `texts`) are done
//!   in one `execute_script`; every command has a timeout, and every command
//!   is counted so benchmarks can report WebDriver commands per document.
//!
//! We use fantoccini (a small W3C client) rather than thirtyfour: we need only
//! the W3C commands, it builds without TLS for a loopback chromedriver, and
//! network enforcement happens in marc's own proxy, not through BiDi.

mod browser;
mod chromedriver;
mod error;

pub use browser::{
    end_session, Browser, BrowserOptions, Capture, Download, ElementInfo, ElementRef, Waited, Watch,
};
pub use chromedriver::{child_env, kill_all, robot_user, user_name, Chromedriver, ROBOT_USER};
pub use error::DriverError;
