//! `marc-terminal`: the testbed's green-screen case system.
//!
//!     marc-terminal [--seed N]              run in this terminal (e.g. inside xterm)
//!     marc-terminal --web [--port P] [--seed N]   serve the canvas version on 127.0.0.1

use std::sync::Arc;

use marc_testbed::World;
use marc_testbed_terminal::tty::run_tty;

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
