//! `marc-terminal`: the testbed's green-screen case system.
//!
//!     marc-terminal [--seed N]              run in this terminal (e.g. inside xterm)
//!     marc-terminal --web [--port P] [--seed N]   serve the canvas version on 127.0.0.1

use std::io::Write;
use std::sync::Arc;

use crossterm::event::{self, Event, KeyEventKind, KeyModifiers};
use crossterm::{execute, terminal};
use marc_testbed::World;
use marc_testbed_terminal::{ansi, Terminal};

fn usage() -> ! {
    eprintln!("usage: marc-terminal [--seed N] [--web [--port P]]");
    std::process::exit(2)
}

fn main() {
    let mut seed = marc_testbed::DEMO_SEED;
    let mut web = false;
    let mut port: u16 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => {
                seed = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--port" => {
                port = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--web" => web = true,
            _ => usage(),
        }
    }
    let world = Arc::new(World::generate(seed));
    let result = if web {
        run_web(world, port)
    } else {
        run_tty(world)
    };
    if let Err(e) = result {
        eprintln!("marc-terminal: {e}");
        std::process::exit(1);
    }
}

fn run_web(world: Arc<World>, port: u16) -> std::io::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let (url, task) = marc_testbed_terminal::web::serve(world, port).await?;
        println!("{url}");
        task.await.map_err(std::io::Error::other)?
    })
}

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

fn run_tty(world: Arc<World>) -> std::io::Result<()> {
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
