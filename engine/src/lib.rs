//! marc: a software-robot engine and the access-to-records product built on it.
//!
//! Where things happen:
//! - [`runtime`]: the Rhai host and robot API (sandbox, `marc check`, DSL reference);
//! - [`worker`]: the robot process a script runs in (unprivileged, over a pipe);
//! - [`robot`]: robot manifests (`robots/<system>/robot.toml`);
//! - [`service`]: the request service (submit, status, cancel, resume,
//!   deliver) under the CLI and the web app, and the worker pool of `marc serve`;
//! - [`requests`]: the stored requests (a real counter, atomic updates);
//! - [`pipeline`]: the stages of a request (robots in parallel → screening → assembly);
//! - [`recorder`]: `marc record`, a person's browser work written as a robot script;
//! - [`convert`]: attachments to text;
//! - [`screens`]: canvas and X11 screens read by OCR;
//! - [`cli`]: the `marc` command line.
//!
//! Screening, assembly, delivery, audit, rights, vault and recordings are crates
//! of their own under `engine/`, the drivers under `drivers/`.

pub mod cli;
pub mod config;
pub mod convert;
pub mod pipeline;
pub mod recorder;
pub mod replay;
pub mod requests;
pub mod robot;
pub mod runtime;
pub mod screens;
pub mod service;
pub mod worker;
