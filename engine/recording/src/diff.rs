//! Comparing a replayed run with its recording, for `marc replay SESSION --execute`.
//! Times, durations, screenshots and volatile identifiers (UUIDs, long hex ids,
//! timestamps, session/token parameters) differ on every run and are ignored; the
//! command, its arguments, its result and whether it succeeded must match.

use crate::{Session, Step};
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

/// The first step where a replay did something other than the recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// Step index (1-based) in the recording.
    pub step: u64,
    /// Which part differs: `command`, `args`, `result`, `ok`, `missing step`, `extra step`.
    pub field: String,
    pub expected: String,
    pub actual: String,
}

static VOLATILE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let rules: [(&str, &'static str); 5] = [
        (
            r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "<uuid>",
        ),
        (
            r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b",
            "<time>",
        ),
        (r"\b\d{2}:\d{2}:\d{2}(\.\d+)?\b", "<time>"),
        (
            r"(?i)\b(session|sessionid|jsessionid|sid|token|csrf|csrf_token|xsrf|nonce|state|_)=([^&\s;,\x22']+)",
            "$1=<volatile>",
        ),
        (r"(?i)\b[0-9a-f]{16,}\b", "<hex>"),
    ];
    rules
        .iter()
        .filter_map(|(p, r)| Regex::new(p).ok().map(|re| (re, *r)))
        .collect()
});

/// Replaces volatile identifiers in `s` by placeholders (`<uuid>`, `<time>`, `<hex>`,
/// `name=<volatile>` for session/token parameters).
pub fn normalize_volatile(s: &str) -> String {
    let mut out = s.to_string();
    for (re, rep) in VOLATILE.iter() {
        out = re.replace_all(&out, *rep).into_owned();
    }
    out
}

fn describe(s: &Step) -> String {
    format!(
        "{}({}) -> {}{}",
        s.command,
        s.args.join(", "),
        if s.ok { "" } else { "FAILED: " },
        s.result
    )
}

/// The first step whose command, arguments, result or success differs (ignoring
/// times, durations, screenshots and volatile ids), or a step missing from either
/// run; `None` if the replay matches the recording.
pub fn diff_replay(recorded: &Session, replayed: &Session) -> Option<Divergence> {
    let n = recorded.steps.len().max(replayed.steps.len());
    for i in 0..n {
        let (a, b) = match (recorded.steps.get(i), replayed.steps.get(i)) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => {
                return Some(Divergence {
                    step: a.index,
                    field: "missing step".into(),
                    expected: describe(a),
                    actual: "(the replay ended here)".into(),
                })
            }
            (None, Some(b)) => {
                return Some(Divergence {
                    step: b.index,
                    field: "extra step".into(),
                    expected: "(the recording ended here)".into(),
                    actual: describe(b),
                })
            }
            (None, None) => return None,
        };
        let nv = normalize_volatile;
        let field = if a.command != b.command {
            Some(("command", a.command.clone(), b.command.clone()))
        } else if a
            .args
            .iter()
            .map(|x| nv(x))
            .ne(b.args.iter().map(|x| nv(x)))
        {
            Some(("args", a.args.join(", "), b.args.join(", ")))
        } else if a.ok != b.ok {
            Some(("ok", describe(a), describe(b)))
        } else if nv(&a.result) != nv(&b.result) {
            Some(("result", a.result.clone(), b.result.clone()))
        } else {
            None
        };
        if let Some((f, e, x)) = field {
            return Some(Divergence {
                step: a.index,
                field: f.into(),
                expected: e,
                actual: x,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionMeta;

    fn step(i: u64, cmd: &str, args: &[&str], result: &str) -> Step {
        Step {
            index: i,
            time: format!("2026-11-23T10:00:0{i}.000Z"),
            command: cmd.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            result: result.into(),
            ok: true,
            duration_ms: 10 * i,
            url: None,
            rights: Some("allowed".into()),
            screenshot: None,
        }
    }

    fn session(id: &str, steps: Vec<Step>) -> Session {
        Session {
            meta: SessionMeta::new(id, "r"),
            steps,
        }
    }

    #[test]
    fn ignores_volatile_and_finds_first_difference() {
        let a = session(
            "a",
            vec![
                step(
                    1,
                    "navigate",
                    &["https://sbsys.example/sag?sid=abc123&id=7"],
                    "loaded at 2026-11-23T10:00:01Z",
                ),
                step(
                    2,
                    "text",
                    &["#title"],
                    "Sag 7 (ref 3f2a9c1e-5b6d-4e8f-9a0b-1c2d3e4f5a6b)",
                ),
                step(3, "text", &["#count"], "12 dokumenter"),
            ],
        );
        let mut b = a.clone();
        b.steps[0].args[0] = "https://sbsys.example/sag?sid=zz999&id=7".into();
        b.steps[0].result = "loaded at 2026-11-24T08:13:44.5+01:00".into();
        b.steps[0].duration_ms = 999;
        b.steps[1].result = "Sag 7 (ref 00000000-1111-2222-3333-444444444444)".into();
        assert_eq!(diff_replay(&a, &b), None);
        b.steps[2].result = "11 dokumenter".into();
        let d = diff_replay(&a, &b).unwrap();
        assert_eq!((d.step, d.field.as_str()), (3, "result"));
        assert_eq!(d.expected, "12 dokumenter");
        b.steps[0].args[0] = "https://sbsys.example/sag?sid=zz999&id=8".into();
        assert_eq!(diff_replay(&a, &b).unwrap().step, 1);
    }

    #[test]
    fn length_and_ok_differences() {
        let a = session(
            "a",
            vec![step(1, "click", &["#x"], ""), step(2, "click", &["#y"], "")],
        );
        let mut b = a.clone();
        b.steps.pop();
        let d = diff_replay(&a, &b).unwrap();
        assert_eq!((d.step, d.field.as_str()), (2, "missing step"));
        let d = diff_replay(&b, &a).unwrap();
        assert_eq!((d.step, d.field.as_str()), (2, "extra step"));
        let mut c = a.clone();
        c.steps[1].ok = false;
        assert_eq!(diff_replay(&a, &c).unwrap().field, "ok");
        let mut c = a.clone();
        c.steps[0].command = "double_click".into();
        assert_eq!(diff_replay(&a, &c).unwrap().field, "command");
    }
}
