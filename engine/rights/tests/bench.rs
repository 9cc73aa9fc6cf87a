//! Bounded proxy overhead benchmark (ignored by default; prints figures):
//! µs per request directly and through the proxy, over HTTP and over HTTPS
//! (where the proxy terminates the browser's TLS with its per-run CA and
//! opens its own, verified TLS to the system), side by side in one run.
//! `cargo test -p marc-rights --test bench -- --ignored --nocapture`

mod common;

use std::time::{Duration, Instant};

use common::{empty, full, start_upstream, start_upstream_tls, ProxyConn, Upstream};
use marc_rights::{parse_manifest_rights, Proxy, ProxyOptions};

const N: usize = 1000;

async fn proxy_for(up: &Upstream) -> Proxy {
    let mut profile = parse_manifest_rights(
        "[rights]\norigins = [\"$base\"]\nallow_paths = [\"/cases*\", \"/big\"]\ndeny_paths = [\"*/delete*\"]\n",
    )
    .expect("profile")
    .resolve(&up.base)
    .expect("resolve");
    profile.tls_ca = up.ca.clone();
    // As the engine runs it: with the request's CPR, so URLs are scanned.
    let opts = ProxyOptions {
        cpr: Some("070761-4285".into()),
        ..Default::default()
    };
    Proxy::start_with(profile, opts).await.expect("proxy")
}

/// µs per request of `N` sequential GETs of `path` on one keep-alive connection.
async fn per_request(c: &mut ProxyConn, path: &str) -> f64 {
    for _ in 0..50 {
        c.get(path).await;
    }
    let t = Instant::now();
    for _ in 0..N {
        assert_eq!(c.get(path).await.status, 200);
    }
    t.elapsed().as_micros() as f64 / N as f64
}

fn row(what: &str, direct: f64, via: f64) {
    println!(
        "{what:<6} small GET, {N} sequential on one keep-alive connection: direct {direct:>5.0} µs/req, via proxy {via:>5.0} µs/req (overhead {:>5.0} µs/req, {:.1}×)",
        via - direct,
        via / direct
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn proxy_overhead() {
    let up = start_upstream().await;
    let tls_up = start_upstream_tls().await;
    let proxy = proxy_for(&up).await;
    let tls_proxy = proxy_for(&tls_up).await;
    let ca_pem = std::fs::read_to_string(tls_up.ca.as_ref().expect("CA")).expect("CA file");
    let target = format!("127.0.0.1:{}", tls_up.port);

    let mut direct = ProxyConn::open(format!("127.0.0.1:{}", up.port).parse().expect("addr")).await;
    let mut via = ProxyConn::open(proxy.addr()).await;
    let mut direct_tls = ProxyConn::open_tls_direct(&target, &ca_pem).await;
    let mut via_tls =
        ProxyConn::open_tls(tls_proxy.addr(), &target, &tls_proxy.ca_certificate_pem()).await;

    let url = format!("{}/cases", up.base);
    let http = (
        per_request(&mut direct, "/cases").await,
        per_request(&mut via, &url).await,
    );
    let https = (
        per_request(&mut direct_tls, "/cases").await,
        per_request(&mut via_tls, "/cases").await,
    );
    row("http", http.0, http.1);
    row("https", https.0, https.1);

    // A fresh tunnel per request: CONNECT, the leaf (cached after the
    // first), two TLS handshakes.
    let t = Instant::now();
    const FRESH: usize = 100;
    for _ in 0..FRESH {
        let mut c =
            ProxyConn::open_tls(tls_proxy.addr(), &target, &tls_proxy.ca_certificate_pem()).await;
        assert_eq!(c.get("/cases").await.status, 200);
    }
    let fresh = t.elapsed();
    let t = Instant::now();
    for _ in 0..FRESH {
        let mut c = ProxyConn::open_tls_direct(&target, &ca_pem).await;
        assert_eq!(c.get("/cases").await.status, 200);
    }
    let fresh_direct = t.elapsed();
    println!(
        "https  new connection + GET, {FRESH} sequential: direct {:.0} µs, via proxy {:.0} µs",
        fresh_direct.as_micros() as f64 / FRESH as f64,
        fresh.as_micros() as f64 / FRESH as f64
    );

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
    let mib = |d: Duration| bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64();
    println!(
        "refused POST: {:.0} µs/req; 20 × 5 MiB over http: direct {:.0} MiB/s, via proxy {:.0} MiB/s",
        refused.as_micros() as f64 / N as f64,
        mib(big_direct),
        mib(big)
    );
    assert_eq!(up.count("POST /doc/delete"), 0);
    proxy.stop().await;
    tls_proxy.stop().await;
}
