//! A small CSS selector subset, enough to decide whether a clicked element
//! matches a `never_click` rule without asking the browser.
//!
//! Supported: type (`button`, `*`), `#id`, `.class`, attribute selectors
//! (`[a]`, `[a=v]`, `[a="v"]`, `~=`, `^=`, `$=`, `*=`, `|=`, optional ` i`
//! flag), selector lists (`a, b`) and combinators (` `, `>`, `+`, `~`).
//! Only the rightmost compound of a complex selector can be checked against a
//! single element, so `form.x button` matches every `button`: that errs on
//! the side of refusing. Pseudo-classes are rejected at load time, because a
//! rule that silently never matches would be worse than an error.

use std::fmt;

/// The key under which the engine passes the element's tag name in
/// `element_attrs` (it is not a valid HTML attribute name, so it cannot clash).
pub const TAG_KEY: &str = ":tag";

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AttrOp {
    Exists,
    Equals,
    Includes,
    Prefix,
    Suffix,
    Substring,
    DashMatch,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Simple {
    Tag(String),
    Id(String),
    Class(String),
    Attr {
        name: String,
        op: AttrOp,
        value: String,
        ci: bool,
    },
}

/// One compound selector (no combinators), e.g. `button.danger[name=delete]`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Compound(pub Vec<Simple>);

/// A parsed selector list: for each complex selector, its rightmost compound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SelectorList(pub Vec<Compound>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError(pub String);

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '-' || c == '_' || !c.is_ascii()
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    src: &'a str,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, what: &str) -> Result<T, SelectorError> {
        Err(SelectorError(format!(
            "selector {:?}: {what} at character {}",
            self.src,
            self.pos + 1
        )))
    }
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        self.pos > start
    }
    fn ident(&mut self) -> Result<String, SelectorError> {
        let start = self.pos;
        while self.peek().is_some_and(is_ident_char) {
            self.pos += 1;
        }
        if self.pos == start {
            return self.err("expected a name");
        }
        Ok(self.chars[start..self.pos].iter().collect())
    }
    fn value(&mut self) -> Result<String, SelectorError> {
        match self.peek() {
            Some(q @ ('"' | '\'')) => {
                self.pos += 1;
                let mut out = String::new();
                loop {
                    match self.peek() {
                        None => return self.err("unterminated quoted value"),
                        Some('\\') => {
                            self.pos += 1;
                            if let Some(c) = self.peek() {
                                out.push(c);
                                self.pos += 1;
                            }
                        }
                        Some(c) if c == q => {
                            self.pos += 1;
                            return Ok(out);
                        }
                        Some(c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            _ => self.ident(),
        }
    }
    fn attr(&mut self) -> Result<Simple, SelectorError> {
        // after '['
        self.skip_ws();
        let name = self.ident()?.to_lowercase();
        self.skip_ws();
        let op = match (self.peek(), self.chars.get(self.pos + 1).copied()) {
            (Some(']'), _) => {
                self.pos += 1;
                return Ok(Simple::Attr {
                    name,
                    op: AttrOp::Exists,
                    value: String::new(),
                    ci: false,
                });
            }
            (Some('='), _) => {
                self.pos += 1;
                AttrOp::Equals
            }
            (Some(c), Some('=')) => {
                let op = match c {
                    '~' => AttrOp::Includes,
                    '^' => AttrOp::Prefix,
                    '$' => AttrOp::Suffix,
                    '*' => AttrOp::Substring,
                    '|' => AttrOp::DashMatch,
                    _ => return self.err("unknown attribute operator"),
                };
                self.pos += 2;
                op
            }
            _ => return self.err("expected ']' or an attribute operator"),
        };
        self.skip_ws();
        let value = self.value()?;
        self.skip_ws();
        let mut ci = false;
        if matches!(self.peek(), Some('i' | 'I')) {
            ci = true;
            self.pos += 1;
            self.skip_ws();
        } else if matches!(self.peek(), Some('s' | 'S')) {
            self.pos += 1;
            self.skip_ws();
        }
        if self.peek() != Some(']') {
            return self.err("expected ']'");
        }
        self.pos += 1;
        Ok(Simple::Attr {
            name,
            op,
            value,
            ci,
        })
    }
    fn compound(&mut self) -> Result<Compound, SelectorError> {
        let mut out = Vec::new();
        if self.peek() == Some('*') {
            self.pos += 1;
        } else if self.peek().is_some_and(is_ident_char) {
            out.push(Simple::Tag(self.ident()?.to_lowercase()));
        }
        loop {
            match self.peek() {
                Some('#') => {
                    self.pos += 1;
                    out.push(Simple::Id(self.ident()?));
                }
                Some('.') => {
                    self.pos += 1;
                    out.push(Simple::Class(self.ident()?));
                }
                Some('[') => {
                    self.pos += 1;
                    out.push(self.attr()?);
                }
                Some(':') => {
                    return self.err(
                        "pseudo-classes are not supported in never_click; use an attribute, \
                         class or id selector, or a text: pattern",
                    )
                }
                _ => break,
            }
        }
        Ok(Compound(out))
    }
}

/// Parses a selector list and keeps the rightmost compound of each complex
/// selector. Errors name the character position.
pub(crate) fn parse(src: &str) -> Result<SelectorList, SelectorError> {
    let mut p = Parser {
        chars: src.chars().collect(),
        pos: 0,
        src,
    };
    let mut list = Vec::new();
    loop {
        p.skip_ws();
        let last = loop {
            let start = p.pos;
            let c = p.compound()?;
            if p.pos == start {
                return p.err("expected a selector");
            }
            let had_ws = p.skip_ws();
            match p.peek() {
                Some('>' | '+' | '~') => {
                    p.pos += 1;
                    p.skip_ws();
                }
                Some(',') | None => break c,
                Some(_) if had_ws => {}
                Some(_) => return p.err("unexpected character"),
            }
        };
        list.push(last);
        match p.peek() {
            Some(',') => p.pos += 1,
            None => break,
            Some(_) => return p.err("unexpected character"),
        }
    }
    if list.is_empty() {
        return p.err("empty selector");
    }
    Ok(SelectorList(list))
}

fn attr_value<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Simple {
    fn matches(&self, attrs: &[(String, String)]) -> bool {
        match self {
            Simple::Tag(t) => attr_value(attrs, TAG_KEY).is_some_and(|v| v.eq_ignore_ascii_case(t)),
            Simple::Id(id) => attr_value(attrs, "id") == Some(id.as_str()),
            Simple::Class(c) => {
                attr_value(attrs, "class").is_some_and(|v| v.split_whitespace().any(|x| x == c))
            }
            Simple::Attr {
                name,
                op,
                value,
                ci,
            } => {
                let Some(actual) = attr_value(attrs, name) else {
                    return false;
                };
                let (a, v) = if *ci {
                    (actual.to_lowercase(), value.to_lowercase())
                } else {
                    (actual.to_string(), value.clone())
                };
                match op {
                    AttrOp::Exists => true,
                    AttrOp::Equals => a == v,
                    AttrOp::Includes => a.split_whitespace().any(|x| x == v),
                    AttrOp::Prefix => !v.is_empty() && a.starts_with(&v),
                    AttrOp::Suffix => !v.is_empty() && a.ends_with(&v),
                    AttrOp::Substring => !v.is_empty() && a.contains(&v),
                    AttrOp::DashMatch => a == v || a.starts_with(&format!("{v}-")),
                }
            }
        }
    }
}

impl Compound {
    /// Does this compound match an element described by its attributes
    /// (tag name under [`TAG_KEY`])? An empty compound (`*`) matches everything.
    pub(crate) fn matches(&self, attrs: &[(String, String)]) -> bool {
        self.0.iter().all(|s| s.matches(attrs))
    }

    /// Does every element selected by `self` necessarily also match `rule`?
    /// True when each simple selector of `rule` appears in `self`: a static
    /// check on the script's selector that works even without element data.
    pub(crate) fn implies(&self, rule: &Compound) -> bool {
        rule.0
            .iter()
            .all(|r| self.0.iter().any(|s| simple_eq(s, r)))
    }
}

fn simple_eq(a: &Simple, b: &Simple) -> bool {
    match (a, b) {
        (
            Simple::Attr {
                name: n1,
                op: o1,
                value: v1,
                ci: c1,
            },
            Simple::Attr {
                name: n2,
                op: o2,
                value: v2,
                ci: c2,
            },
        ) => {
            n1 == n2
                && (o2 == &AttrOp::Exists
                    || (o1 == o2
                        && if *c1 || *c2 {
                            v1.to_lowercase() == v2.to_lowercase()
                        } else {
                            v1 == v2
                        }))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(tag: &str, attrs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v = vec![(TAG_KEY.to_string(), tag.to_string())];
        v.extend(attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        v
    }

    #[test]
    fn parses_and_matches() {
        let s = parse("button[name=delete]").expect("parse");
        assert!(s.0[0].matches(&el("BUTTON", &[("name", "delete")])));
        assert!(!s.0[0].matches(&el("button", &[("name", "save")])));
        assert!(!s.0[0].matches(&el("input", &[("name", "delete")])));

        let s = parse("#slet").expect("parse");
        assert!(s.0[0].matches(&el("a", &[("id", "slet")])));
        assert!(!s.0[0].matches(&el("a", &[("id", "sletx")])));

        let s = parse("form.case  >  button.btn-danger, a[href*='/delete' i]").expect("parse");
        assert_eq!(s.0.len(), 2);
        assert!(s.0[0].matches(&el("button", &[("class", "btn btn-danger")])));
        assert!(s.0[1].matches(&el("a", &[("href", "/doc/DELETE?id=3")])));
        assert!(!s.0[1].matches(&el("a", &[("href", "/doc/view")])));

        let s = parse("[data-action^=\"del\"]").expect("parse");
        assert!(s.0[0].matches(&el("div", &[("data-action", "delete-case")])));
    }

    #[test]
    fn rejects_unsupported() {
        assert!(parse("button:hover").is_err());
        assert!(parse("").is_err());
        assert!(parse("a[href").is_err());
        assert!(parse("a,").is_err());
    }

    #[test]
    fn implication() {
        let rule = parse("button[name=delete]").expect("parse").0.remove(0);
        let script = parse("form#f button.x[name=\"delete\"]")
            .expect("parse")
            .0
            .remove(0);
        assert!(script.implies(&rule));
        let script = parse("button[name=save]").expect("parse").0.remove(0);
        assert!(!script.implies(&rule));
    }
}
