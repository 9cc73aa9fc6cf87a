//! Glob matching and path canonicalisation for rights checks.
//!
//! Kept as plain functions so they can be tested on their own and so the
//! proxy and the script API use exactly the same rules.

/// Matches `text` against a glob where `*` matches any run of characters
/// (including `/`) and `?` matches exactly one character. Everything else is
/// literal. Iterative with backtracking on the last `*`, so it runs in
/// O(len(pattern) * len(text)) in the worst case and never recurses.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Case-insensitive variant of [`glob_match`] (Unicode lowercase on both sides).
pub fn glob_match_ci(pattern: &str, text: &str) -> bool {
    glob_match(&pattern.to_lowercase(), &text.to_lowercase())
}

/// Decodes `%XX` escapes; invalid escapes are kept literally and invalid UTF-8
/// is replaced, so the result is always a string a server could also have seen.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes `.` and `..` segments and empty segments (`//`), treats `\` as a
/// separator, and keeps a trailing slash. The result always starts with `/`.
pub fn normalize_path(path: &str) -> String {
    let unified = path.replace('\\', "/");
    let mut segs: Vec<&str> = Vec::new();
    for seg in unified.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(&segs.join("/"));
    let trailing = unified.ends_with('/') || unified.ends_with("/.") || unified.ends_with("/..");
    if trailing && out.len() > 1 {
        out.push('/');
    }
    out
}

/// The forms of a request path that a server might act on: the path as sent
/// (already dot-normalised by the URL parser) and its percent-decoded,
/// re-normalised form. Rights checks deny if *any* form is denied and allow
/// only if *every* form is allowed, so encoding tricks such as
/// `/doc/%64elete` or `/cases/..%2Fdoc/delete` cannot slip past a pattern.
pub fn path_forms(raw_path: &str) -> Vec<String> {
    let raw = if raw_path.is_empty() { "/" } else { raw_path };
    let decoded = normalize_path(&percent_decode(raw));
    let mut forms = vec![raw.to_string()];
    if decoded != raw {
        forms.push(decoded);
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("/cases*", "/cases"));
        assert!(glob_match("/cases*", "/cases/12/docs"));
        assert!(!glob_match("/cases*", "/case"));
        assert!(glob_match("/documents/*", "/documents/1"));
        assert!(!glob_match("/documents/*", "/documents"));
        assert!(glob_match("*/delete*", "/doc/delete"));
        assert!(glob_match("*/delete*", "/a/b/delete/7"));
        assert!(!glob_match("*/delete*", "/doc/undelete"));
        assert!(glob_match("/a?c", "/abc"));
        assert!(!glob_match("/a?c", "/ac"));
        assert!(glob_match("*", ""));
        assert!(glob_match("/login", "/login"));
        assert!(!glob_match("/login", "/login2"));
        assert!(glob_match_ci("*/DELETE*", "/doc/delete"));
        // Pathological pattern stays fast.
        let text = "a".repeat(2000);
        assert!(!glob_match("*a*a*a*a*a*b", &text));
    }

    #[test]
    fn decoding_and_normalising() {
        assert_eq!(percent_decode("/doc/%64elete"), "/doc/delete");
        assert_eq!(percent_decode("/x%2"), "/x%2");
        assert_eq!(percent_decode("/x%zz"), "/x%zz");
        assert_eq!(percent_decode("%41"), "A");
        assert_eq!(normalize_path("/cases/../doc/delete"), "/doc/delete");
        assert_eq!(normalize_path("//doc//delete/"), "/doc/delete/");
        assert_eq!(normalize_path("/a\\..\\b"), "/b");
        assert_eq!(normalize_path("/../../"), "/");
        assert_eq!(
            path_forms("/cases/..%2Fdoc%2Fdelete"),
            vec![
                "/cases/..%2Fdoc%2Fdelete".to_string(),
                "/doc/delete".to_string()
            ]
        );
        assert_eq!(path_forms("/login"), vec!["/login".to_string()]);
    }
}
