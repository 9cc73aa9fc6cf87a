//! Drawing a [`Screen`] on a real terminal with ANSI escape sequences.
//!
//! A pure function so the `marc-terminal` binary stays a thin loop and the
//! drawing is unit-tested without a terminal.

use super::app::{Screen, COLS};

/// Draws the whole screen: every line at its absolute position (padded to 80
/// columns, so nothing of an older screen survives), in green on black, or
/// black on white when `light` (which OCRs better), then shows the cursor.
pub fn render_ansi(screen: &Screen, light: bool) -> String {
    let colours = if light { "\x1b[30;107m" } else { "\x1b[92;40m" };
    let mut out = String::with_capacity(24 * 100);
    out.push_str("\x1b[?25l");
    out.push_str(colours);
    for (row, line) in screen.lines.iter().enumerate() {
        let line: String = line.chars().take(COLS).collect();
        let pad = COLS.saturating_sub(line.chars().count());
        out.push_str(&format!("\x1b[{};1H{line}{}", row + 1, " ".repeat(pad)));
    }
    out.push_str(&format!(
        "\x1b[{};{}H\x1b[?25h",
        screen.cursor.0 + 1,
        screen.cursor.1 + 1
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_line_at_its_row_and_the_cursor() {
        let mut lines = vec![" ".repeat(COLS); 24];
        lines[0] = format!("{:<80}", "SAGSYS/3270 – KOMMUNAL SAGSBEHANDLING");
        lines[5] = "kort linje æøå".to_string();
        let s = Screen {
            lines,
            cursor: (21, 9),
        };
        let dark = render_ansi(&s, false);
        assert!(dark.contains("\x1b[92;40m") && !dark.contains("\x1b[30;107m"));
        assert!(dark.contains(&format!("\x1b[1;1H{}", s.lines[0])));
        assert!(dark.contains(&format!("\x1b[6;1Hkort linje æøå{}", " ".repeat(66))));
        assert!(dark.contains("\x1b[24;1H"));
        assert!(dark.ends_with("\x1b[22;10H\x1b[?25h"));
        assert!(render_ansi(&s, true).contains("\x1b[30;107m"));
    }
}
