//! Progress bars for `marc run` and `marc demo`: one line per system with
//! the documents found so far, and one for the stage after the robots.
//! Drawn on stderr only when it is a terminal, so scripts and logs see
//! nothing of them.

use crate::pipeline::{Progress, RunState, RunStatus};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

/// The bars of one request.
pub struct Bars {
    multi: MultiProgress,
    robots: Mutex<BTreeMap<String, ProgressBar>>,
    stage: Mutex<Option<ProgressBar>>,
}

impl Bars {
    /// Bars for `systems`, or `None` when stderr is not a terminal or log
    /// lines (`-v`) would be interleaved with them.
    pub fn for_terminal(systems: &[String], verbose: bool) -> Option<Bars> {
        if verbose || !std::io::stderr().is_terminal() {
            return None;
        }
        Some(Bars::new(systems, ProgressDrawTarget::stderr()))
    }

    fn new(systems: &[String], target: ProgressDrawTarget) -> Bars {
        let multi = MultiProgress::with_draw_target(target);
        let style = ProgressStyle::with_template("{spinner} {prefix:<10} {msg} {elapsed:>4}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let robots = systems
            .iter()
            .map(|s| {
                let b = multi.add(ProgressBar::new_spinner());
                b.set_style(style.clone());
                b.set_prefix(s.clone());
                b.set_message("waiting");
                b.enable_steady_tick(Duration::from_millis(120));
                (s.clone(), b)
            })
            .collect();
        Bars {
            multi,
            robots: Mutex::new(robots),
            stage: Mutex::new(None),
        }
    }

    fn with_bar(&self, system: &str, f: impl FnOnce(&ProgressBar)) {
        if let Some(b) = self.robots.lock().ok().and_then(|m| m.get(system).cloned()) {
            f(&b);
        }
    }

    /// Clears every bar (before the summary is printed).
    pub fn finish(&self) {
        if let Ok(m) = self.robots.lock() {
            m.values().for_each(ProgressBar::finish_and_clear);
        }
        if let Some(b) = self.stage.lock().ok().and_then(|s| s.clone()) {
            b.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

/// "1 document" / "2 documents".
fn documents(n: u64) -> String {
    if n == 1 {
        "1 document".into()
    } else {
        format!("{n} documents")
    }
}

impl Progress for Bars {
    fn robot_started(&self, system: &str, attempt: u32) {
        self.with_bar(system, |b| {
            let attempt = if attempt > 1 {
                format!(" (attempt {attempt})")
            } else {
                String::new()
            };
            b.set_message(format!("{}{attempt}", documents(b.position())));
        });
    }

    fn document(&self, system: &str) {
        self.with_bar(system, |b| {
            b.inc(1);
            b.set_message(documents(b.position()));
        });
    }

    fn robot_finished(&self, system: &str, state: &RunState) {
        self.with_bar(system, |b| {
            let how = match state.status {
                RunStatus::Complete => "complete",
                _ => "FAILED",
            };
            b.finish_with_message(format!("{}  {how}", documents(state.documents as u64)));
        });
    }

    fn stage(&self, what: &str) {
        let Ok(mut stage) = self.stage.lock() else {
            return;
        };
        let b = stage.get_or_insert_with(|| {
            let b = self.multi.add(ProgressBar::new_spinner());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        b.set_message(what.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_count_documents_per_system_and_say_how_each_ended() {
        let bars = Bars::new(
            &["esdh".to_string(), "legacy".to_string()],
            ProgressDrawTarget::hidden(),
        );
        bars.robot_started("esdh", 1);
        bars.document("esdh");
        bars.document("esdh");
        bars.document("unknown"); // ignored, not a panic
        bars.robot_started("legacy", 2);
        let msg = |s: &str| bars.robots.lock().unwrap()[s].message();
        assert_eq!(msg("esdh"), "2 documents");
        assert_eq!(msg("legacy"), "0 documents (attempt 2)");
        bars.robot_finished(
            "legacy",
            &RunState {
                status: RunStatus::Failed,
                ..Default::default()
            },
        );
        assert_eq!(msg("legacy"), "0 documents  FAILED");
        bars.stage("screening");
        bars.finish();
    }
}
