//! marc-rights: a robot's rights profile and the enforcing HTTP proxy its
//! browser is routed through.
//!
//! Municipalities let a robot into a case system only because it behaves
//! like an employee with a fixed user profile. The profile (`[rights]` in
//! `robot.toml`) is therefore enforced by the engine, not by the script:
//!
//! * [`RightsProfile`] holds the rules and answers [`RightsProfile::check_request`],
//!   [`RightsProfile::check_navigation`], [`RightsProfile::check_click`] and
//!   [`RightsProfile::check_script`] with a [`Decision`];
//! * [`Proxy`] is a forward proxy on 127.0.0.1 that Chromium is started behind
//!   (`--proxy-server=… --proxy-bypass-list=<-loopback>`, see
//!   [`Proxy::chromium_args`]). Every request the browser makes — navigations,
//!   form posts, page `fetch`/XHR, subresources — is checked; refused requests
//!   never reach the system and are reported through [`Proxy::subscribe`], an
//!   `on_refusal` callback and [`Proxy::refusals`].

mod cpr;
mod glob;
mod profile;
mod proxy;
mod selector;
mod tls;

pub use glob::{glob_match, path_forms};
pub use profile::{
    parse_manifest_rights, ClickRule, Decision, Method, OriginPattern, PathGlob, RightsError,
    RightsProfile, SubmitRule, BASE_PLACEHOLDER,
};
pub use proxy::{
    classify, Initiator, Proxy, ProxyOptions, ProxyStats, Refusal, RefusalCallback,
    MAX_CHECKED_BODY, QUIET_CHROMIUM_ARGS,
};
pub use selector::TAG_KEY;
pub use tls::TlsError;
