//! Real headless Chromium routed through the proxy: a page's own
//! `fetch('/doc/delete', {method: 'POST'})` is stopped at the proxy and never
//! reaches the upstream. A control run without the proxy shows the same page
//! does reach the upstream, so the test can tell the difference.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{start_upstream, start_upstream_tls};
use marc_rights::{parse_manifest_rights, Proxy};

const CHROMIUM: &str = "/usr/bin/chromium";

async fn dump_dom(url: &str, extra: &[String]) -> String {
    let profile_dir = tempfile::tempdir().expect("tmp dir");
    let mut cmd = tokio::process::Command::new(CHROMIUM);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--virtual-time-budget=10000",
    ])
    .arg(format!("--user-data-dir={}", profile_dir.path().display()))
    .args(extra)
    .arg("--dump-dom")
    .arg(url)
    .kill_on_drop(true)
    .stdin(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("chromium finished within 90 s")
        .expect("chromium ran");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_fetch_post_is_stopped_at_the_proxy() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("skipping: {CHROMIUM} not installed");
        return;
    }
    let up = start_upstream().await;
    let profile = parse_manifest_rights(
        "[rights]\norigins = [\"$base\"]\ndeny_paths = [\"*/delete*\"]\nmethods = [\"GET\", \"HEAD\"]\n",
    )
    .expect("profile")
    .resolve(&up.base)
    .expect("resolve");
    let proxy = Proxy::start(profile).await.expect("proxy");
    let page = format!("{}/", up.base);

    let mut args = proxy.chromium_args();
    if std::env::var("QUIET").is_ok() {
        args.extend(
            marc_rights::QUIET_CHROMIUM_ARGS
                .iter()
                .map(|s| s.to_string()),
        );
    }
    let dom = dump_dom(&page, &args).await;
    let refusals = proxy.refusals();
    eprintln!(
        "DOM: {dom}\nrefusals: {refusals:#?}\nupstream saw: {:?}",
        up.seen()
    );

    assert!(
        dom.contains("status=403 refused-by-marc"),
        "the page's fetch got marc's 403: {dom}"
    );
    assert!(
        refusals
            .iter()
            .any(|r| r.method == "POST" && r.url == format!("{}/doc/delete", up.base)),
        "refusal recorded"
    );
    for r in &refusals {
        let is_delete = r.url.ends_with("/doc/delete");
        assert_eq!(r.stops_robot(), is_delete, "classification of {r:?}");
    }
    assert!(
        up.count("GET /") >= 1,
        "the page itself came through the proxy"
    );
    assert!(proxy.stats().allowed >= 1);
    assert_eq!(
        up.count("POST /doc/delete"),
        0,
        "the upstream never saw the POST"
    );
    proxy.stop().await;

    // Control: without the proxy the same page's POST does reach the upstream.
    let dom = dump_dom(&page, &[]).await;
    assert!(dom.contains("status=200 not-refused"), "control run: {dom}");
    assert_eq!(up.count("POST /doc/delete"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_page_reaches_nothing_forbidden() {
    hostile_page(false).await;
}

/// The same over https: the proxy intercepts TLS with its per-run CA, which
/// only this Chromium accepts (by the SPKI hash in `chromium_args`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_page_reaches_nothing_forbidden_over_https() {
    hostile_page(true).await;
}

async fn hostile_page(https: bool) {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("skipping: {CHROMIUM} not installed");
        return;
    }
    let (up, other) = if https {
        (start_upstream_tls().await, start_upstream_tls().await)
    } else {
        (start_upstream().await, start_upstream().await)
    };
    let mut profile = parse_manifest_rights(
        "[rights]\norigins = [\"$base\"]\nallow_paths = [\"/hostile\", \"/favicon.ico\"]\ndeny_paths = [\"*/delete*\"]\n",
    )
    .expect("profile")
    .resolve(&up.base)
    .expect("resolve");
    profile.tls_ca = up.ca.clone();
    let proxy = Proxy::start(profile).await.expect("proxy");
    let page = format!("{}/hostile?{}", up.base, other.base);
    let dom = dump_dom(&page, &proxy.chromium_args()).await;
    let refusals: Vec<_> = proxy
        .refusals()
        .into_iter()
        .filter(|r| r.stops_robot())
        .collect();
    eprintln!(
        "DOM: {dom}\nrefusals: {refusals:#?}\nupstream saw: {:?}",
        up.seen()
    );

    let delete_posts = |via: &str| {
        refusals
            .iter()
            .filter(|r| r.method == "POST" && r.url.contains(&format!("/doc/delete{via}")))
            .count()
    };
    assert_eq!(delete_posts("?via=xhr"), 1, "XHR refused");
    assert_eq!(delete_posts("?via=beacon"), 1, "sendBeacon refused");
    assert_eq!(
        refusals
            .iter()
            .filter(|r| r.method == "POST" && r.url.ends_with("/doc/delete"))
            .count(),
        1,
        "the form submitted by clicking the delete button was refused"
    );
    if https {
        // Another https origin is refused at the tunnel, before any TLS.
        let target = format!("127.0.0.1:{}", other.port);
        assert!(
            refusals
                .iter()
                .any(|r| r.method == "CONNECT" && r.url == target),
            "tunnel to another origin refused"
        );
        // A WebSocket to the system's own origin is read and refused inside.
        assert!(
            refusals
                .iter()
                .any(|r| r.url.ends_with("/hostile?via=ws") && r.reason.contains("WebSocket")),
            "wss:// WebSocket refused"
        );
    } else {
        assert!(
            refusals
                .iter()
                .any(|r| r.url.starts_with(&other.base) && r.url.contains("via=img")),
            "image from another origin refused"
        );
        assert!(
            refusals
                .iter()
                .any(|r| r.url.starts_with(&other.base) && r.url.contains("via=fetch")),
            "fetch to another origin refused"
        );
        // ws:// goes through CONNECT, which an http origin never gets.
        let target = format!("127.0.0.1:{}", up.port);
        assert!(
            refusals
                .iter()
                .any(|r| r.method == "CONNECT" && r.url == target),
            "ws:// WebSocket refused"
        );
    }
    assert!(
        dom.contains("Afvist af marc: POST /doc/delete"),
        "the browser shows marc's page: {dom}"
    );
    assert!(
        up.seen()
            .iter()
            .all(|s| s == "GET /hostile" || s == "GET /favicon.ico"),
        "nothing forbidden reached the system: {:?}",
        up.seen()
    );
    assert_eq!(up.count("GET /hostile"), 1);
    assert!(other.seen().is_empty(), "nothing reached the other origin");
    assert_eq!(proxy.stats().intercepted > 0, https);
    proxy.stop().await;
}
