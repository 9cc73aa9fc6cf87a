//! `marc replay --execute`: turn a recorded session back into a script of
//! the same actions, run it as a dry run (nothing is emitted), and find the
//! first step whose outcome differs from the recording.

use marc_recording::{Session, Step};

/// Commands that can be re-executed. `emit` is left out: a replay never
/// hands documents to marc. Window handles differ between runs, so window
/// switching is not replayed either.
pub const REPLAYABLE: &[&str] = &[
    "navigate",
    "click",
    "fill",
    "select",
    "text",
    "texts",
    "attr",
    "exists",
    "wait_for",
    "table",
    "frame",
    "parent_frame",
    "refresh",
    "download",
    "eval_js",
    "keys",
    "click_at",
];

/// The replayable steps of a session, renumbered from 0.
pub fn replayable(session: &Session) -> Session {
    let steps = session
        .steps
        .iter()
        .filter(|s| REPLAYABLE.contains(&s.command.as_str()))
        .enumerate()
        .map(|(i, s)| Step {
            index: i as u64,
            ..s.clone()
        })
        .collect();
    Session {
        meta: session.meta.clone(),
        steps,
    }
}

/// A Rhai string literal for `s`; a masked secret becomes `secret("name")`.
fn literal(s: &str) -> String {
    if let Some(name) = s.strip_prefix("«secret:").and_then(|r| r.strip_suffix('»')) {
        return format!("secret({})", quote(name));
    }
    quote(s)
}

fn quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The script that performs the session's replayable steps in order. Each
/// step is wrapped in `try`, so a step that failed in the recording fails
/// (and is recorded) in the replay too without ending it.
pub fn script(session: &Session) -> String {
    let mut out = format!("// Replay of session {} (generated).\n", session.meta.id);
    for s in replayable(session).steps {
        let args: Vec<String> = match s.command.as_str() {
            "wait_for" | "click_at" => s
                .args
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    if i == 0 && s.command == "wait_for" {
                        literal(a)
                    } else {
                        a.parse::<i64>()
                            .map(|n| n.to_string())
                            .unwrap_or_else(|_| "0".into())
                    }
                })
                .collect(),
            _ => s.args.iter().map(|a| literal(a)).collect(),
        };
        out.push_str(&format!(
            "try {{ {}({}); }} catch (e) {{ }}\n",
            s.command,
            args.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(command: &str, args: &[&str]) -> Step {
        Step {
            index: 0,
            time: String::new(),
            command: command.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            result: "ok".into(),
            ok: true,
            duration_ms: 1,
            url: None,
            rights: None,
            screenshot: None,
        }
    }

    #[test]
    fn script_replays_steps_and_secrets_by_name() {
        let session = Session {
            meta: marc_recording::SessionMeta::new("s1", "robot:esdh"),
            steps: vec![
                step("navigate", &["http://127.0.0.1:1/login"]),
                step("fill", &["input[name=password]", "«secret:esdh.password»"]),
                step("emit", &["esdh/S1/D1"]),
                step("wait_for", &["#x \"y\"", "10000"]),
            ],
        };
        let s = script(&session);
        assert!(
            s.contains("try { navigate(\"http://127.0.0.1:1/login\"); }"),
            "{s}"
        );
        assert!(
            s.contains("fill(\"input[name=password]\", secret(\"esdh.password\"))"),
            "{s}"
        );
        assert!(!s.contains("emit"), "{s}");
        assert!(s.contains("wait_for(\"#x \\\"y\\\"\", 10000)"), "{s}");
        assert_eq!(replayable(&session).steps.len(), 3);
    }
}
