//! `marc serve` under load, on the testbed with the real robots:
//!
//! 1. requests per hour with 1, 2 and 4 requests submitted at once
//!    (`--workers 4`; each system keeps to its `max_sessions` of 2), from
//!    submission to "Sendt" on the citizens' own status pages;
//! 2. the status page's latency (p50/p99) under a bounded load: `wrk`, 8
//!    connections for `SECONDS` (default 20) as a logged-in citizen, once
//!    with the server idle and once while four requests run.
//!
//! Run with `make bench-serve` (installs wrk; the server under test is the
//! release build, `MARC_BIN`), or `cargo test -p marc-e2e --bench serve
//! [-- SECONDS]` after `cargo build -p marc --features testbed`.

#[allow(dead_code)]
#[path = "../web/support.rs"]
mod support;

use std::process::Command;
use std::time::Instant;
use support::{Browser, Served};

/// The browsers (citizens) that submit `n` requests at once: the demo
/// has three test citizens, so the fourth request is the first citizen's
/// second.
fn plan(browsers: &[Browser], n: usize) -> Vec<&Browser> {
    (0..n).map(|i| &browsers[i % browsers.len()]).collect()
}

/// Submits one request per browser of `who` (all topics), then waits
/// until every one is answered; returns the ids and the seconds it took.
fn round(s: &Served, who: &[&Browser]) -> (Vec<String>, f64) {
    let t0 = Instant::now();
    let ids = submit(s, who);
    wait_answered(s, who, &ids);
    (ids, t0.elapsed().as_secs_f64())
}

fn submit(s: &Served, who: &[&Browser]) -> Vec<String> {
    who.iter()
        .map(|b| {
            b.go(&s.url("/ny"));
            b.submit("form[action='/ny']");
            b.text("dl dd").trim().to_string()
        })
        .collect()
}

fn wait_answered(s: &Served, who: &[&Browser], ids: &[String]) {
    for (b, id) in who.iter().zip(ids) {
        b.go(&s.url(&format!("/anmodning/{id}")));
        let mut seen = Default::default();
        let st = b.wait_for_state(
            &mut seen,
            &["Sendt", "Under behandling hos en sagsbehandler"],
            900,
        );
        assert_eq!(st, "Sendt", "{id} was not answered");
    }
}

/// p50 and p99 in ms and requests per second, from wrk's `--latency` report.
fn wrk(url: &str, cookie: &str, secs: u64) -> (f64, f64, f64) {
    let out = Command::new("wrk")
        .args(["-t2", "-c8", &format!("-d{secs}s"), "--latency", "-H"])
        .arg(format!("Cookie: {cookie}"))
        .arg(url)
        .output()
        .expect("wrk is missing: run `make bench-serve`, which installs it");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx"),
        "the status page did not answer 200 throughout: {text}"
    );
    let ms = |label: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in wrk's report: {text}"));
        let v = line.split_whitespace().nth(1).unwrap_or_default();
        let (n, unit) = v.split_at(v.find(|c: char| c.is_alphabetic()).unwrap_or(v.len()));
        let n: f64 = n.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => n / 1000.0,
            "ms" => n,
            "s" => n * 1000.0,
            _ => f64::NAN,
        }
    };
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    (ms("50%"), ms("99%"), rps)
}

fn main() {
    let secs: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20);
    let s = Served::start(support::Backing::Sled, &["--workers", "4"]);
    let people = s.identities_persons();
    let browsers: Vec<Browser> = people
        .iter()
        .map(|who| {
            let b = s.browser();
            b.go(&s.url("/login"));
            b.login_as(who);
            b
        })
        .collect();
    println!(
        "requests at once   seconds   requests/hour   (--workers 4, max_sessions 2 per system)"
    );
    let mut last = Vec::new();
    for n in [1, 2, 4] {
        let (ids, t) = round(&s, &plan(&browsers, n));
        println!("{n:>16} {t:>9.1} {:>15.0}", n as f64 / t * 3600.0);
        last = ids;
    }

    // The first citizen's status page, with their session.
    let url = s.url(&format!("/anmodning/{}", last[0]));
    let cookie = browsers[0].cookie_header();
    let check = reqwest::blocking::Client::new()
        .get(&url)
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(check.status(), 200);
    assert!(check.text().unwrap().contains(&last[0]));
    println!("\nstatus page, wrk -t2 -c8 -d{secs}s      p50 ms   p99 ms   requests/s");
    let (p50, p99, rps) = wrk(&url, &cookie, secs);
    println!("{:<34} {p50:>8.2} {p99:>8.2} {rps:>12.0}", "server idle");
    // Again while four requests run.
    let four = plan(&browsers, 4);
    let busy = submit(&s, &four);
    let (p50, p99, rps) = wrk(&url, &cookie, secs);
    println!(
        "{:<34} {p50:>8.2} {p99:>8.2} {rps:>12.0}",
        "while 4 requests run"
    );
    wait_answered(&s, &four, &busy);
}
