//! Drawing a [`ScreenView`] on an ANSI terminal (green on black), and reading keys from one.

use crate::machine::{Input, ScreenView, COLS};

/// The escape sequence that draws a whole screen: home, green on black, every row padded to
/// 80 columns, then the cursor placed. Pure, so it is tested without a terminal.
pub fn frame(view: &ScreenView) -> String {
    let mut out = String::from("\x1b[H\x1b[1;32;40m");
    for (i, line) in view.lines.iter().enumerate() {
        out.push_str(&format!("\x1b[{};1H", i + 1));
        out.push_str(line);
        let n = line.chars().count();
        if n < COLS {
            out.push_str(&" ".repeat(COLS - n));
        }
    }
    out.push_str(&format!(
        "\x1b[{};{}H",
        view.cursor.0 + 1,
        view.cursor.1 + 1
    ));
    out
}

/// Map a crossterm key event to an [`Input`].
pub fn input_of(code: crossterm::event::KeyCode) -> Option<Input> {
    use crossterm::event::KeyCode as K;
    Some(match code {
        K::Char(c) => Input::Char(c),
        K::Enter => Input::Enter,
        K::Tab => Input::Tab,
        K::Backspace => Input::Backspace,
        K::Esc => Input::Escape,
        K::F(n) if (1..=12).contains(&n) => Input::F(n),
        K::PageUp => Input::PageUp,
        K::PageDown => Input::PageDown,
        _ => return None,
    })
}
