//! Bounded proxy overhead benchmark (ignored by default; prints figures).
//! `CARGO_TARGET_DIR=/work/target-rights cargo test -p marc-rights --test bench -- --ignored --nocapture`

mod common;

use std::time::Instant;

use common::{empty, full, start_upstream, ProxyConn};
use marc_rights::{parse_manifest_rights, Proxy};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn proxy_overhead() {
    const N: usize = 1000;
    let up = start_upstream().await;
    let profile = parse_manifest_rights(
        "[rights]\norigins = [\"$base\"]\nallow_paths = [\"/cases*\", \"/big\"]\ndeny_paths = [\"*/delete*\"]\n",
    )
    .expect("profile")
    .resolve(&up.base)
    .expect("resolve");
    let proxy = Proxy::start(profile).await.expect("proxy");
    let url = format!("{}/cases", up.base);

    let mut direct = ProxyConn::open(format!("127.0.0.1:{}", up.port).parse().expect("addr")).await;
    let mut via = ProxyConn::open(proxy.addr()).await;
    for _ in 0..50 {
        direct.get("/cases").await;
        via.get(&url).await;
    }
    let t = Instant::now();
    for _ in 0..N {
        assert_eq!(direct.get("/cases").await.status, 200);
    }
    let d = t.elapsed();
    let t = Instant::now();
    for _ in 0..N {
        assert_eq!(via.get(&url).await.status, 200);
    }
    let v = t.elapsed();
    let t = Instant::now();
    for _ in 0..N {
        let r = via
            .send(
                "POST",
                &format!("{}/doc/delete", up.base),
                full(b"id=7".to_vec()),
            )
            .await;
        assert_eq!(r.status, 403);
    }
    let refused = t.elapsed();
    let t = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..20 {
        bytes += via
            .send("GET", &format!("{}/big", up.base), empty())
            .await
            .body
            .len();
    }
    let big = t.elapsed();
    let t = Instant::now();
    for _ in 0..20 {
        direct.send("GET", "/big", empty()).await;
    }
    let big_direct = t.elapsed();
    println!(
        "small GET, {N} sequential on one keep-alive connection: direct {:.0} µs/req, via proxy {:.0} µs/req (overhead {:.0} µs/req)",
        d.as_micros() as f64 / N as f64,
        v.as_micros() as f64 / N as f64,
        (v.as_micros() as f64 - d.as_micros() as f64) / N as f64
    );
    println!(
        "refused POST: {:.0} µs/req; 20 × 5 MiB: direct {:.0} MiB/s, via proxy {:.0} MiB/s",
        refused.as_micros() as f64 / N as f64,
        bytes as f64 / (1024.0 * 1024.0) / big_direct.as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0) / big.as_secs_f64()
    );
    assert_eq!(up.count("POST /doc/delete"), 0);
    proxy.stop().await;
}
