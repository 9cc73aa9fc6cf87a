//! The terminal front end: the state machine drawn with ANSI escapes in the
//! terminal this process runs in (e.g. an xterm under Xvfb), keys read raw.

use std::io::Write;
use std::sync::Arc;

use crossterm::event::{self, Event, KeyEventKind, KeyModifiers};
use crossterm::{execute, terminal};
use marc_testbed::World;

use crate::{ansi, Terminal};

/// Restores the terminal even if drawing fails half way.
struct RawMode;
impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = execute!(
            std::io::stdout(),
            terminal::LeaveAlternateScreen,
            crossterm::style::ResetColor
        );
        let _ = terminal::disable_raw_mode();
    }
}

/// Runs the system in this terminal until PF3 from the menu or Ctrl-C.
pub fn run_tty(world: Arc<World>) -> std::io::Result<()> {
    terminal::enable_raw_mode()?;
    let _guard = RawMode;
    let mut out = std::io::stdout();
    execute!(
        out,
        terminal::EnterAlternateScreen,
        terminal::Clear(terminal::ClearType::All)
    )?;
    let mut t = Terminal::new(world);
    loop {
        out.write_all(ansi::frame(&t.view()).as_bytes())?;
        out.flush()?;
        if t.closed() {
            return Ok(());
        }
        match event::read()? {
            Event::Key(k) if k.kind != KeyEventKind::Release => {
                if k.modifiers.contains(KeyModifiers::CONTROL)
                    && k.code == event::KeyCode::Char('c')
                {
                    return Ok(());
                }
                if let Some(i) = ansi::input_of(k.code) {
                    t.input(i);
                }
            }
            Event::Resize(..) => {
                execute!(out, terminal::Clear(terminal::ClearType::All))?;
            }
            _ => {}
        }
    }
}
