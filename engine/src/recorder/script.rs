//! Recorded events → a Rhai robot script. Pure: no browser, no I/O.
//!
//! What makes a recording a robot rather than a transcript:
//! - typed secrets become `secret(...)` calls (password fields always; other
//!   values when they equal one of the robot's secrets), so no value is ever
//!   written;
//! - a CPR number typed or seen in a URL becomes `request.cpr`, so a workflow
//!   recorded for one test citizen runs for every request;
//! - after an action that leaves the page, the next step waits for its
//!   element, so the replay does not race the page load;
//! - actions the robot's rights profile would refuse are kept as comments.

use serde::{Deserialize, Serialize};

/// One thing the person did, as the page's recorder saw it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `click`, `fill`, `select`, `navigate`, or `window_open` (a popup
    /// opened and the work moved into it) and `window_close` (it closed and
    /// the work went back to the window that opened it).
    pub kind: String,
    /// The most robust selector found (id, name, label, text, CSS path).
    #[serde(default)]
    pub selector: String,
    /// Typed or chosen value; absent for secrets (password fields).
    #[serde(default)]
    pub value: Option<String>,
    /// A password field: the value was never captured.
    #[serde(default)]
    pub secret: bool,
    /// The page the event happened on (the target, for `navigate`).
    #[serde(default)]
    pub url: String,
    /// Selectors of the frames the element is in, outermost first.
    #[serde(default)]
    pub frame: Vec<String>,
    /// The element's visible text and attributes, for the rights check.
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub attrs: Vec<(String, String)>,
}

/// What the generator needs to know besides the events.
pub struct Context<'a> {
    pub system: &'a str,
    pub base_url: &'a str,
    /// The manifest's credential name (`esdh` → `esdh.user`, `esdh.password`).
    pub credential: &'a str,
    /// `(name, value)` of the robot's secrets known to marc, to recognise
    /// typed ones. Values are compared, never written.
    pub secrets: &'a [(String, String)],
    /// Why the rights profile would refuse an event, if it would.
    pub refused: &'a dyn Fn(&Event) -> Option<String>,
    /// A header line (who recorded, when).
    pub header: &'a str,
}

/// Writes the script for `events`.
pub fn generate(events: &[Event], cx: &Context<'_>) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "// Robot script for {} recorded with `marc record`.\n// {}\n\
         // Review it before use; run `marc check` on it, then `marc run --systems {}`.\n\n",
        cx.system, cx.header, cx.system
    ));
    let mut page = String::new();
    let mut left_page = false;
    let mut frames: Vec<String> = Vec::new();
    // Windows: the one the robot starts in, then each popup on top of the
    // window that opened it.
    let mut windows = vec!["main_window".to_string()];
    let mut popups = 0;
    if events.iter().any(|e| e.kind == "window_open") {
        out.push_str("let main_window = current_window();\n");
    }
    for (i, e) in events.iter().enumerate() {
        if events.get(i + 1).is_some_and(|n| n.kind == "window_open") {
            // The windows open before the step that opens a popup.
            out.push_str(&format!("let before_{} = windows();\n", popups + 1));
        }
        if e.kind == "window_open" {
            popups += 1;
            let w = format!("popup_{popups}");
            out.push_str(&format!(
                "let {w} = wait_new_window(before_{popups}, 10000);\nswitch_window({w});\n"
            ));
            windows.push(w);
            frames.clear();
            left_page = true;
            continue;
        }
        if e.kind == "window_close" {
            if windows.len() > 1 {
                let w = windows.pop().unwrap_or_default();
                let back = windows.last().cloned().unwrap_or_default();
                out.push_str(&format!(
                    "if {w} in windows() {{ switch_window({w}); close_window(); }}\nswitch_window({back});\n"
                ));
            }
            frames.clear();
            left_page = true;
            page.clear();
            continue;
        }
        if e.kind == "navigate" {
            // Navigating puts WebDriver back in the top document.
            frames.clear();
        } else if e.frame != frames {
            let common = frames
                .iter()
                .zip(&e.frame)
                .take_while(|(a, b)| a == b)
                .count();
            for _ in common..frames.len() {
                out.push_str("parent_frame();\n");
            }
            for f in &e.frame[common..] {
                out.push_str(&format!("frame({});\n", quote(f)));
            }
            frames = e.frame.clone();
        }
        if left_page && e.kind != "navigate" && !e.selector.is_empty() && e.url != page {
            out.push_str(&format!("wait_for({}, 10000);\n", quote(&e.selector)));
        }
        let line = match e.kind.as_str() {
            "navigate" => format!("navigate({});", url_expr(&relative(&e.url, cx.base_url))),
            "click" => format!("click({});", quote(&e.selector)),
            "select" => format!(
                "select({}, {});",
                quote(&e.selector),
                value_expr(e.value.as_deref().unwrap_or_default(), cx)
            ),
            "fill" => {
                let value = if e.secret {
                    format!("secret({})", quote(&secret_name(e, cx)))
                } else {
                    value_expr(e.value.as_deref().unwrap_or_default(), cx)
                };
                format!("fill({}, {value});", quote(&e.selector))
            }
            other => format!("// not replayable: a {other} event"),
        };
        match (cx.refused)(e) {
            Some(reason) => out.push_str(&format!(
                "// REFUSED by the rights profile ({reason}):\n// {line}\n"
            )),
            None => out.push_str(&format!("{line}\n")),
        }
        // A click on a link or a submit, or a navigation, may leave the page:
        // the next step on another page waits for its element.
        left_page = matches!(e.kind.as_str(), "click" | "navigate");
        page = if e.kind == "navigate" {
            absolute(&e.url, cx.base_url)
        } else {
            e.url.clone()
        };
    }
    out
}

/// The secret a password field stands for: `<credential>.password`, or
/// the known secret whose name the field's name suggests.
fn secret_name(e: &Event, cx: &Context<'_>) -> String {
    let field = e
        .attrs
        .iter()
        .find(|(k, _)| k == "name" || k == "id")
        .map(|(_, v)| v.to_lowercase())
        .unwrap_or_default();
    cx.secrets
        .iter()
        .map(|(n, _)| n)
        .find(|n| {
            let last = n.rsplit('.').next().unwrap_or_default().to_lowercase();
            !field.is_empty() && (field.contains(&last) || last.contains(&field))
        })
        .cloned()
        .unwrap_or_else(|| format!("{}.password", cx.credential))
}

/// A typed value as a Rhai expression: a secret by name, CPR numbers as
/// `request.cpr`, otherwise the literal.
fn value_expr(v: &str, cx: &Context<'_>) -> String {
    if let Some((name, _)) = cx.secrets.iter().find(|(_, s)| !s.is_empty() && s == v) {
        return format!("secret({})", quote(name));
    }
    url_expr(v)
}

/// A string as a Rhai expression with every CPR number in it replaced by
/// `request.cpr` (or `request.cpr_compact` when written without the dash).
fn url_expr(s: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = s;
    while let Some((start, end, dashed)) = find_cpr(rest) {
        if start > 0 {
            parts.push(quote(&rest[..start]));
        }
        parts.push(if dashed {
            "request.cpr".into()
        } else {
            "request.cpr_compact".into()
        });
        rest = &rest[end..];
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(quote(rest));
    }
    parts.join(" + ")
}

/// The first CPR number in `s` (`DDMMYY-SSSS` or ten digits, a real date),
/// as a byte range and whether it had the dash.
fn find_cpr(s: &str) -> Option<(usize, usize, bool)> {
    let b = s.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    for start in 0..b.len() {
        if !digit(start) || (start > 0 && digit(start - 1)) {
            continue;
        }
        if !(0..6).all(|k| digit(start + k)) {
            continue;
        }
        let dashed = b.get(start + 6) == Some(&b'-');
        let tail = start + 6 + usize::from(dashed);
        if !(0..4).all(|k| digit(tail + k)) || digit(tail + 4) {
            continue;
        }
        let end = tail + 4;
        if s[start..end].parse::<marc_model::Cpr>().is_ok() {
            return Some((start, end, dashed));
        }
    }
    None
}

/// `url` relative to the base URL's origin when it is on it.
fn relative(url: &str, base: &str) -> String {
    let origin = origin(base);
    match url.strip_prefix(&origin) {
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        Some("") => "/".into(),
        _ => url.to_string(),
    }
}

fn absolute(url: &str, base: &str) -> String {
    if url.starts_with('/') {
        format!("{}{url}", origin(base))
    } else {
        url.to_string()
    }
}

/// `scheme://host:port` of a URL.
fn origin(url: &str) -> String {
    let after = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after..].find('/') {
        Some(i) => url[..after + i].to_string(),
        None => url.to_string(),
    }
}

/// A Rhai string literal.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, selector: &str, value: Option<&str>, url: &str) -> Event {
        Event {
            kind: kind.into(),
            selector: selector.into(),
            value: value.map(String::from),
            url: url.into(),
            ..Default::default()
        }
    }

    fn gen(events: &[Event]) -> String {
        let secrets = vec![("esdh.user".to_string(), "marc-robot".to_string())];
        let refuse =
            |e: &Event| (e.text == "Slet").then(|| "never_click matches text:Slet".to_string());
        generate(
            events,
            &Context {
                system: "esdh",
                base_url: "http://127.0.0.1:8080/",
                credential: "esdh",
                secrets: &secrets,
                refused: &refuse,
                header: "test",
            },
        )
    }

    #[test]
    fn secrets_and_cpr_numbers_are_never_written() {
        let b = "http://127.0.0.1:8080";
        let mut pw = ev(
            "fill",
            "input[name=\"password\"]",
            None,
            &format!("{b}/login"),
        );
        pw.secret = true;
        pw.attrs = vec![("name".into(), "password".into())];
        let s = gen(&[
            ev("navigate", "", None, &format!("{b}/login")),
            ev(
                "fill",
                "input[name=\"username\"]",
                Some("marc-robot"),
                &format!("{b}/login"),
            ),
            pw,
            ev("click", "#login button", None, &format!("{b}/login")),
            ev(
                "fill",
                "input[name=\"cpr\"]",
                Some("070761-4285"),
                &format!("{b}/search"),
            ),
            ev(
                "navigate",
                "",
                None,
                &format!("{b}/cases?cpr=0707614285&x=1"),
            ),
        ]);
        assert!(s.contains("navigate(\"/login\");"), "{s}");
        assert!(
            s.contains("fill(\"input[name=\\\"username\\\"]\", secret(\"esdh.user\"));"),
            "{s}"
        );
        assert!(s.contains("secret(\"esdh.password\")"), "{s}");
        assert!(
            s.contains("wait_for(\"input[name=\\\"cpr\\\"]\", 10000);"),
            "{s}"
        );
        assert!(
            s.contains("fill(\"input[name=\\\"cpr\\\"]\", request.cpr);"),
            "{s}"
        );
        assert!(
            s.contains("navigate(\"/cases?cpr=\" + request.cpr_compact + \"&x=1\");"),
            "{s}"
        );
        assert!(!s.contains("marc-robot") && !s.contains("4285"), "{s}");
    }

    #[test]
    fn refused_actions_become_comments_and_odd_text_is_quoted() {
        let mut del = ev(
            "click",
            "button[name=\"delete\"]",
            None,
            "http://127.0.0.1:8080/d",
        );
        del.text = "Slet".into();
        let s = gen(&[
            del,
            ev(
                "fill",
                "#q",
                Some("a \"b\" \\ 1234567890"),
                "http://127.0.0.1:8080/d",
            ),
        ]);
        assert!(
            s.contains(
                "// REFUSED by the rights profile (never_click matches text:Slet):\n// click("
            ),
            "{s}"
        );
        // Not a valid CPR date (12/34): kept literally, quotes escaped.
        assert!(
            s.contains(r##"fill("#q", "a \"b\" \\ 1234567890");"##),
            "{s}"
        );
    }

    #[test]
    fn frames_are_entered_and_left_as_the_events_move() {
        let u = "http://127.0.0.1:8080/login";
        let mut a = ev("fill", "#user", Some("x"), u);
        a.frame = vec!["#main".into()];
        let mut b = ev("click", "#loginbtn", None, u);
        b.frame = vec!["#main".into()];
        let mut c = ev("click", "#x", None, "http://127.0.0.1:8080/find");
        c.frame = vec!["#main".into(), "iframe".into()];
        let d = ev("click", "#top", None, "http://127.0.0.1:8080/");
        let s = gen(&[
            ev("navigate", "", None, "http://127.0.0.1:8080/"),
            a,
            b,
            c,
            d,
        ]);
        let body: Vec<&str> = s
            .lines()
            .filter(|l| !l.starts_with("//") && !l.is_empty())
            .collect();
        assert_eq!(
            body,
            [
                "navigate(\"/\");",
                "frame(\"#main\");",
                "wait_for(\"#user\", 10000);",
                "fill(\"#user\", \"x\");",
                "click(\"#loginbtn\");",
                "frame(\"iframe\");",
                "wait_for(\"#x\", 10000);",
                "click(\"#x\");",
                "parent_frame();",
                "parent_frame();",
                "wait_for(\"#top\", 10000);",
                "click(\"#top\");",
            ]
        );
    }

    #[test]
    fn cpr_numbers_are_found_only_as_whole_valid_numbers() {
        assert_eq!(find_cpr("x 070761-4285 y"), Some((2, 13, true)));
        assert_eq!(find_cpr("0707614285"), Some((0, 10, false)));
        assert_eq!(find_cpr("10707614285"), None, "part of a longer number");
        assert_eq!(find_cpr("320761-4285"), None, "no 32nd day");
    }

    #[test]
    fn work_in_a_popup_is_followed_and_left() {
        let ev = |kind: &str, sel: &str, url: &str| Event {
            kind: kind.into(),
            selector: sel.into(),
            url: url.into(),
            ..Default::default()
        };
        let events = vec![
            ev("navigate", "", "http://h/case?id=1"),
            ev("click", "link:Brev", "http://h/case?id=1"),
            ev("window_open", "", ""),
            ev("click", "#vis", "http://h/doc?id=7"),
            ev("window_close", "", ""),
            ev("click", "#next", "http://h/case?id=1"),
        ];
        let refused = |_: &Event| None;
        let s = generate(
            &events,
            &Context {
                system: "legacy",
                base_url: "http://h",
                credential: "legacy",
                secrets: &[],
                refused: &refused,
                header: "",
            },
        );
        let want = [
            "let main_window = current_window();",
            "let before_1 = windows();\nclick(\"link:Brev\");",
            "let popup_1 = wait_new_window(before_1, 10000);\nswitch_window(popup_1);",
            "wait_for(\"#vis\", 10000);\nclick(\"#vis\");",
            "if popup_1 in windows() { switch_window(popup_1); close_window(); }\nswitch_window(main_window);",
            "wait_for(\"#next\", 10000);\nclick(\"#next\");",
        ];
        let mut at = 0;
        for w in want {
            let i = s[at..]
                .find(w)
                .unwrap_or_else(|| panic!("{w:?} missing after {at} in:\n{s}"));
            at += i + w.len();
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let engine = crate::runtime::check::check_engine(rt.handle().clone());
        let d = crate::runtime::check::check_source(&engine, "rec.rhai", &s, &[]);
        assert!(d.is_empty(), "{d:?}\n{s}");
    }
}
