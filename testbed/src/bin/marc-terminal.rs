//! `marc-terminal`: the testbed's terminal case system in a real terminal
//! (front end B, e.g. `xterm -u8 -e marc-terminal` under Xvfb), so the X11
//! screen driver meets the same screens as the canvas front end.
//!
//! ```text
//! marc-terminal [--seed N] [--expire-after N] [--log FILE] [--light]
//! ```
//! Exits on F3 from the menu or on Ctrl-C.

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{execute, terminal};
use marc_testbed::terminal::render_ansi;
use marc_testbed::{RequestLog, TermKey, TerminalApp, TerminalConfig, World, DEMO_SEED};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Command-line options.
#[derive(Debug, PartialEq)]
struct Args {
    seed: u64,
    expire_after: Option<u32>,
    log: Option<PathBuf>,
    light: bool,
}

const USAGE: &str = "usage: marc-terminal [--seed N] [--expire-after N] [--log FILE] [--light]";

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        seed: DEMO_SEED,
        expire_after: None,
        log: None,
        light: false,
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--seed" => {
                let v = value("--seed")?;
                a.seed = v
                    .parse()
                    .map_err(|_| format!("--seed {v}: not a whole number\n{USAGE}"))?;
            }
            "--expire-after" => {
                let v = value("--expire-after")?;
                a.expire_after = Some(v.parse().map_err(|_| {
                    format!("--expire-after {v}: not a whole number (0 = never)\n{USAGE}")
                })?);
            }
            "--log" => a.log = Some(PathBuf::from(value("--log")?)),
            "--light" => a.light = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
}

/// What a key press means: a key for the app, quit (Ctrl-C), or nothing.
#[derive(Debug, PartialEq)]
enum Input {
    Key(TermKey),
    Quit,
    Ignore,
}

fn map_key(k: &KeyEvent) -> Input {
    if k.kind == KeyEventKind::Release {
        return Input::Ignore;
    }
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    match k.code {
        KeyCode::Char('c') if ctrl => Input::Quit,
        KeyCode::Char(_) if ctrl => Input::Ignore,
        KeyCode::Char(c) => Input::Key(TermKey::Char(c)),
        KeyCode::Enter => Input::Key(TermKey::Enter),
        KeyCode::Tab => Input::Key(TermKey::Tab),
        KeyCode::Backspace => Input::Key(TermKey::Backspace),
        KeyCode::Esc => Input::Key(TermKey::Escape),
        KeyCode::PageUp => Input::Key(TermKey::PageUp),
        KeyCode::PageDown => Input::Key(TermKey::PageDown),
        KeyCode::F(n @ 1..=12) => Input::Key(TermKey::F(n)),
        _ => Input::Ignore,
    }
}

fn run(args: Args) -> Result<(), String> {
    let log = RequestLog::new(args.log.as_deref()).map_err(|e| e.to_string())?;
    let mut cfg = TerminalConfig::default();
    if let Some(n) = args.expire_after {
        cfg.expire_after = n;
    }
    let mut app = TerminalApp::new(Arc::new(World::generate(args.seed)), cfg).with_log(log);
    let mut out = std::io::stdout();
    terminal::enable_raw_mode().map_err(|e| {
        format!("cannot switch the terminal to raw mode ({e}); run marc-terminal in a real terminal, e.g. xterm -u8 -e marc-terminal")
    })?;
    let result = (|| -> std::io::Result<()> {
        execute!(out, terminal::EnterAlternateScreen)?;
        loop {
            out.write_all(render_ansi(&app.screen(), args.light).as_bytes())?;
            out.flush()?;
            match event::read()? {
                Event::Key(k) => match map_key(&k) {
                    Input::Key(k) => app.key(k),
                    Input::Quit => return Ok(()),
                    Input::Ignore => {}
                },
                Event::Resize(..) => {
                    write!(out, "\x1b[0m\x1b[2J")?;
                }
                _ => {}
            }
            if app.wants_exit() {
                return Ok(());
            }
        }
    })();
    let _ = write!(out, "\x1b[0m");
    let _ = execute!(out, terminal::LeaveAlternateScreen);
    let _ = terminal::disable_raw_mode();
    result.map_err(|e| format!("terminal I/O failed: {e}"))
}

fn main() {
    let code = match parse_args(std::env::args().skip(1)).and_then(run) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("marc-terminal: {e}");
            2
        }
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse_args(s.split_whitespace().map(str::to_string))
    }

    #[test]
    fn parses_arguments() {
        let a = args("--seed 7 --expire-after 0 --log /tmp/x.jsonl --light").unwrap();
        assert_eq!(
            a,
            Args {
                seed: 7,
                expire_after: Some(0),
                log: Some(PathBuf::from("/tmp/x.jsonl")),
                light: true
            }
        );
        assert_eq!(args("").unwrap().seed, DEMO_SEED);
        assert!(args("--seed x").unwrap_err().contains("not a whole number"));
        assert!(args("--log").unwrap_err().contains("needs a value"));
        assert!(args("--bogus").unwrap_err().contains("unknown argument"));
    }

    #[test]
    fn maps_keys() {
        let k = |code, m| map_key(&KeyEvent::new(code, m));
        assert_eq!(
            k(KeyCode::Char('ø'), KeyModifiers::NONE),
            Input::Key(TermKey::Char('ø'))
        );
        assert_eq!(k(KeyCode::Char('c'), KeyModifiers::CONTROL), Input::Quit);
        assert_eq!(
            k(KeyCode::F(8), KeyModifiers::NONE),
            Input::Key(TermKey::F(8))
        );
        assert_eq!(
            k(KeyCode::PageDown, KeyModifiers::NONE),
            Input::Key(TermKey::PageDown)
        );
        assert_eq!(
            k(KeyCode::Enter, KeyModifiers::NONE),
            Input::Key(TermKey::Enter)
        );
        assert_eq!(k(KeyCode::F(13), KeyModifiers::NONE), Input::Ignore);
    }
}
