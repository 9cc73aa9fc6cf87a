//! Keys a robot can press, and the `"text{Enter}{F8}"` syntax robot scripts use to say them.

use crate::error::ScreenError;

/// One key press. Characters are typed as text; the named keys are the ones case systems
/// use for navigation (function keys for PF keys, paging keys, arrows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Char(char),
    Enter,
    Tab,
    Escape,
    Backspace,
    /// Function key F1–F12 (PF1–PF12 on a 3270-style system).
    F(u8),
    PageUp,
    PageDown,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
}

impl Key {
    /// The name used inside `{…}` (and by the WebDriver backend's key mapping).
    pub fn name(&self) -> String {
        match self {
            Key::Char(c) => c.to_string(),
            Key::Enter => "Enter".into(),
            Key::Tab => "Tab".into(),
            Key::Escape => "Escape".into(),
            Key::Backspace => "Backspace".into(),
            Key::F(n) => format!("F{n}"),
            Key::PageUp => "PageUp".into(),
            Key::PageDown => "PageDown".into(),
            Key::Up => "Up".into(),
            Key::Down => "Down".into(),
            Key::Left => "Left".into(),
            Key::Right => "Right".into(),
            Key::Home => "Home".into(),
            Key::End => "End".into(),
        }
    }

    /// The W3C WebDriver key code point for this key (for `Actions`/`send_keys`), so the
    /// browser-canvas backend maps keys the same way as X11.
    pub fn webdriver_char(&self) -> char {
        match self {
            Key::Char(c) => *c,
            Key::Enter => '\u{E007}',
            Key::Tab => '\u{E004}',
            Key::Escape => '\u{E00C}',
            Key::Backspace => '\u{E003}',
            Key::F(n) => char::from_u32(0xE031 + u32::from(n.saturating_sub(1)).min(11))
                .unwrap_or('\u{E031}'),
            Key::PageUp => '\u{E00E}',
            Key::PageDown => '\u{E00F}',
            Key::Up => '\u{E013}',
            Key::Down => '\u{E015}',
            Key::Left => '\u{E012}',
            Key::Right => '\u{E014}',
            Key::Home => '\u{E011}',
            Key::End => '\u{E010}',
        }
    }
}

/// The keys as one string for WebDriver `send_keys` / key actions (named keys become their
/// W3C code points), so the browser-canvas backend types exactly what the X11 backend types.
pub fn webdriver_text(keys: &[Key]) -> String {
    keys.iter().map(Key::webdriver_char).collect()
}

fn named(name: &str) -> Option<Key> {
    let lower = name.to_ascii_lowercase();
    let k = match lower.as_str() {
        "enter" | "return" | "ret" => Key::Enter,
        "tab" => Key::Tab,
        "escape" | "esc" => Key::Escape,
        "backspace" | "bs" => Key::Backspace,
        "pageup" | "pgup" | "prior" => Key::PageUp,
        "pagedown" | "pgdn" | "next" => Key::PageDown,
        "up" => Key::Up,
        "down" => Key::Down,
        "left" => Key::Left,
        "right" => Key::Right,
        "home" => Key::Home,
        "end" => Key::End,
        "space" => Key::Char(' '),
        _ => {
            let n = lower
                .strip_prefix('f')
                .or_else(|| lower.strip_prefix("pf"))?;
            let n: u8 = n.parse().ok()?;
            if (1..=12).contains(&n) {
                Key::F(n)
            } else {
                return None;
            }
        }
    };
    Some(k)
}

/// Parse `"hello{Enter}{F8}{Tab}"`: plain characters are typed, `{Name}` is a named key
/// (case-insensitive; `PF8` is accepted for `F8`), `{{` and `}}` are literal braces.
/// An unknown `{Name}` is an error naming it, so a typo never types the literal text.
pub fn parse_keys(spec: &str) -> Result<Vec<Key>, ScreenError> {
    let mut out = Vec::new();
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '{' if chars.get(i + 1) == Some(&'{') => {
                out.push(Key::Char('{'));
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                out.push(Key::Char('}'));
                i += 2;
            }
            '{' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or_else(|| ScreenError::KeySpec {
                        pos: i,
                        reason: "'{' without a closing '}' (write {{ for a literal brace)".into(),
                    })?;
                let name: String = chars[i + 1..i + 1 + end].iter().collect();
                let key = named(name.trim()).ok_or_else(|| ScreenError::KeySpec {
                    pos: i,
                    reason: format!("unknown key name {{{name}}}"),
                })?;
                out.push(key);
                i += end + 2;
            }
            '}' => {
                return Err(ScreenError::KeySpec {
                    pos: i,
                    reason: "'}' without an opening '{' (write }} for a literal brace)".into(),
                })
            }
            '\n' => {
                out.push(Key::Enter);
                i += 1;
            }
            '\t' => {
                out.push(Key::Tab);
                i += 1;
            }
            c => {
                out.push(Key::Char(c));
                i += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_named_keys() {
        let k = parse_keys("æb{Enter}{f8}{PF12}{{x}}{pagedown}").unwrap();
        assert_eq!(
            k,
            vec![
                Key::Char('æ'),
                Key::Char('b'),
                Key::Enter,
                Key::F(8),
                Key::F(12),
                Key::Char('{'),
                Key::Char('x'),
                Key::Char('}'),
                Key::PageDown
            ]
        );
    }

    #[test]
    fn unknown_names_and_unbalanced_braces_are_errors() {
        let e = parse_keys("ab{Entr}").unwrap_err().to_string();
        assert!(e.contains("{Entr}") && e.contains("character 2"), "{e}");
        assert!(parse_keys("{F25}").is_err());
        assert!(parse_keys("{Enter").is_err());
        assert!(parse_keys("a}b").is_err());
    }

    #[test]
    fn webdriver_codes() {
        assert_eq!(Key::F(1).webdriver_char(), '\u{E031}');
        assert_eq!(Key::F(12).webdriver_char(), '\u{E03C}');
        assert_eq!(Key::Enter.webdriver_char(), '\u{E007}');
        assert_eq!(webdriver_text(&parse_keys("æ{F8}").unwrap()), "æ\u{E038}");
    }
}
