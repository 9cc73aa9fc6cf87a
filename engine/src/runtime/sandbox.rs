//! The limits every robot script runs under, and the raw engine they apply to.

use super::failure::{Failure, FailureKind, Raised};
use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Resource limits of the sandbox. Exceeding one stops the script with an
/// error that names the limit.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Rhai operations (stops `loop {}` even without a clock).
    pub max_operations: u64,
    /// Function call depth (stops runaway recursion).
    pub max_call_levels: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Wall-clock budget for the whole run (the rights profile's time budget).
    pub time_budget: Duration,
    /// Documents the robot may emit (the rights profile's max documents).
    pub max_documents: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 50_000_000,
            max_call_levels: 48,
            max_string_size: 16 * 1024 * 1024,
            max_array_size: 100_000,
            max_map_size: 10_000,
            time_budget: Duration::from_secs(900),
            max_documents: 5_000,
        }
    }
}

/// A Rhai engine with the standard package, no file module resolver, no
/// `eval`, strict variables, and the limits applied. The progress callback
/// stops the script on cancellation or when the time budget is spent, with
/// a termination the script cannot catch; `raised` learns which.
pub(crate) fn raw_engine(
    limits: &Limits,
    cancel: Arc<AtomicBool>,
    started: Instant,
    raised: Raised,
) -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(StandardPackage::new().as_shared_module());
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(64, 32);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine.set_max_modules(16);
    engine.set_strict_variables(true);
    engine.disable_symbol("eval");
    let budget = limits.time_budget;
    engine.on_progress(move |_ops| {
        let stop = if cancel.load(Ordering::Relaxed) {
            Failure::new(FailureKind::Cancelled, CANCELLED)
        } else if started.elapsed() > budget {
            budget_spent(budget)
        } else {
            return None;
        };
        let token = Dynamic::from(stop.message.clone());
        raised.set(stop);
        Some(token)
    });
    engine
}

/// The message of a run the engine stopped.
pub const CANCELLED: &str = "the robot run was cancelled";

/// The failure of a run whose time budget is spent.
pub(crate) fn budget_spent(budget: Duration) -> Failure {
    Failure::new(
        FailureKind::Budget,
        format!("the robot's time budget of {} s is spent", budget.as_secs()),
    )
}
