//! Serves the testbed until Ctrl-C (for trying the systems in a browser):
//! `cargo run -p marc-testbed --example serve [SEED]`.
use marc_testbed::{Testbed, TestbedConfig};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(marc_testbed::DEMO_SEED);
    let tb = Testbed::start(TestbedConfig {
        seed,
        ..Default::default()
    })
    .await?;
    let demo = tb.world.demo_citizen().clone();
    println!(
        "esdh   {}\nlegacy {}\ndemo citizen {} {}",
        tb.esdh_url, tb.legacy_url, demo.cpr, demo.name
    );
    for (s, u, p) in marc_testbed::CREDENTIALS {
        println!("login {s}: {u} / {p}");
    }
    tokio::signal::ctrl_c().await?;
    tb.stop().await;
    Ok(())
}
