//! The enforcing proxy against a real local upstream (axum).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{
    big_body, chunked, empty, full, sha, start_upstream, start_upstream_tls, ProxyConn, Upstream,
};
use marc_rights::{parse_manifest_rights, Proxy, ProxyOptions, RightsProfile};

fn profile_for(base: &str, extra: &str) -> RightsProfile {
    let manifest = format!(
        r#"[rights]
origins = ["$base"{extra}]
allow_paths = ["/", "/cases*", "/big", "/chunked", "/headers"]
deny_paths = ["*/delete*"]
methods = ["GET", "HEAD"]
submit = ["POST /echo"]
"#
    );
    parse_manifest_rights(&manifest)
        .expect("profile")
        .resolve(base)
        .expect("resolve")
}

#[tokio::test]
async fn allowed_get_passes_with_body_intact() {
    let up = start_upstream().await;
    let proxy = Proxy::start(profile_for(&up.base, ""))
        .await
        .expect("proxy");
    let mut c = ProxyConn::open(proxy.addr()).await;

    // Several requests on one keep-alive connection.
    let r = c.get(&format!("{}/cases", up.base)).await;
    assert_eq!((r.status, r.text().as_str()), (200, "sager: 17, 18"));

    let r = c.get(&format!("{}/big", up.base)).await;
    assert_eq!(r.status, 200);
    let expected = big_body(5 * 1024 * 1024 + 7);
    assert_eq!(r.body.len(), expected.len());
    assert_eq!(sha(&r.body), sha(&expected));

    let r = c.get(&format!("{}/chunked", up.base)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 300 * 10_000);
    assert!(
        r.headers.get("content-length").is_none(),
        "streamed, not buffered"
    );
    assert_eq!(&r.body[..3], b"nnn", "first chunk first (299 % 26 = n)");

    // A submit grant with a Content-Length body and with a chunked body.
    let payload = big_body(1_000_003);
    let r = c
        .send("POST", &format!("{}/echo", up.base), full(payload.clone()))
        .await;
    assert_eq!(r.text(), format!("{} {}", payload.len(), sha(&payload)));
    let r = c
        .send("POST", &format!("{}/echo", up.base), chunked(50, 4096))
        .await;
    assert!(
        r.text().starts_with(&format!("{} ", 50 * 4096)),
        "{}",
        r.text()
    );

    // Hop-by-hop and proxy headers do not reach the upstream; Host is the checked one.
    let req_uri = format!("{}/headers", up.base);
    let r = c.get(&req_uri).await;
    let t = r.text();
    assert!(!t.contains("proxy-"), "{t}");
    assert!(t.ends_with(&format!("host=127.0.0.1:{}", up.port)), "{t}");

    assert_eq!(up.count("GET /big"), 1);
    let stats = proxy.stats();
    assert_eq!(stats.requests, 6);
    assert_eq!(stats.allowed, 6);
    assert_eq!(stats.refused, 0);
    assert!(stats.bytes_down > 8_000_000, "{stats:?}");
    assert!(stats.bytes_up >= 1_000_003 + 50 * 4096, "{stats:?}");
    assert!(proxy.refusals().is_empty());
    proxy.stop().await;
}

#[tokio::test]
async fn refused_post_never_reaches_upstream() {
    let up = start_upstream().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let cb_calls = calls.clone();
    let proxy = Proxy::start_with(
        profile_for(&up.base, ""),
        ProxyOptions {
            on_refusal: Some(Arc::new(move |_r| {
                cb_calls.fetch_add(1, Ordering::SeqCst);
            })),
            ..ProxyOptions::default()
        },
    )
    .await
    .expect("proxy");
    let mut events = proxy.subscribe();
    let mut c = ProxyConn::open(proxy.addr()).await;

    let url = format!("{}/doc/delete", up.base);
    let r = c.send("POST", &url, full(b"id=7".to_vec())).await;
    assert_eq!(r.status, 403);
    assert!(
        r.text().contains("Afvist af marc: POST /doc/delete"),
        "{}",
        r.text()
    );
    assert_eq!(
        r.headers.get("x-marc-refused").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );

    // Also via encoding tricks and a method outside the rights.
    let r = c
        .send("POST", &format!("{}/doc/%64elete", up.base), empty())
        .await;
    assert_eq!(r.status, 403);
    let r = c
        .send("DELETE", &format!("{}/cases/17", up.base), empty())
        .await;
    assert_eq!(r.status, 403);
    let r = c.send("POST", &format!("{}/cases", up.base), empty()).await;
    assert!(
        r.text().contains("is not in the robot&#39;s submit rights"),
        "{}",
        r.text()
    );

    // The connection is still usable after refusals.
    let r = c.get(&format!("{}/cases", up.base)).await;
    assert_eq!(r.status, 200);

    let ev = tokio::time::timeout(Duration::from_secs(2), events.recv())
        .await
        .expect("event in time")
        .expect("event");
    assert_eq!(
        (ev.method.as_str(), ev.url.as_str()),
        ("POST", url.as_str())
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    let all = proxy.refusals();
    assert_eq!(all.len(), 4);
    assert_eq!(proxy.take_refusals_since(3).len(), 1);
    assert!(proxy.take_refusals_since(10).is_empty());
    assert!(all[0].reason.contains("deny_paths"));

    // The upstream saw only the one allowed GET.
    assert_eq!(up.seen(), vec!["GET /cases".to_string()]);
    assert_eq!(proxy.stats().refused, 4);
    proxy.stop().await;
}

#[tokio::test]
async fn other_origin_and_non_proxy_requests_refused() {
    let up = start_upstream().await;
    let other = start_upstream().await;
    let proxy = Proxy::start(profile_for(&up.base, ""))
        .await
        .expect("proxy");
    let mut c = ProxyConn::open(proxy.addr()).await;

    let r = c.get(&format!("{}/cases", other.base)).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("not among the robot"), "{}", r.text());
    let r = c.get("http://example.invalid/cases").await;
    assert_eq!(r.status, 403);
    let r = c.get(&format!("http://localhost:{}/cases", up.port)).await;
    assert_eq!(r.status, 403);
    // Origin-form: someone talking to the proxy as if it were a server.
    let r = c.get("/cases").await;
    assert_eq!(r.status, 403);

    assert!(other.seen().is_empty());
    assert!(up.seen().is_empty());
    assert_eq!(proxy.refusals().len(), 4);
    proxy.stop().await;
}

#[tokio::test]
async fn connect_refused_unless_https_origin_allowed() {
    let up = start_upstream().await;
    let proxy = Proxy::start(profile_for(&up.base, ""))
        .await
        .expect("proxy");
    let mut c = ProxyConn::open(proxy.addr()).await;
    let target = format!("127.0.0.1:{}", up.port);
    // The http origin is allowed, but a tunnel would hide paths: refused.
    let r = c.send("CONNECT", &target, empty()).await;
    assert_eq!(r.status, 403);
    let r = c.send("CONNECT", "example.invalid:443", empty()).await;
    assert_eq!(r.status, 403);
    assert_eq!(proxy.refusals().len(), 2);
    assert_eq!(proxy.refusals()[0].method, "CONNECT");
    assert!(up.seen().is_empty());
    proxy.stop().await;
}

/// An https system: the profile names it, `tls_ca` names the CA that signs
/// its certificate.
fn tls_profile(up: &Upstream) -> RightsProfile {
    let mut p = profile_for(&up.base, "");
    p.tls_ca = up.ca.clone();
    p
}

async fn tunnel(proxy: &Proxy, up: &Upstream) -> ProxyConn {
    ProxyConn::open_tls(
        proxy.addr(),
        &format!("127.0.0.1:{}", up.port),
        &proxy.ca_certificate_pem(),
    )
    .await
}

#[tokio::test]
async fn https_is_intercepted_and_every_rule_applies_inside() {
    let up = start_upstream_tls().await;
    let proxy = Proxy::start(tls_profile(&up)).await.expect("proxy");
    // The browser's side of the tunnel is the proxy itself, trusted only
    // through its per-run CA.
    let mut c = tunnel(&proxy, &up).await;
    let r = c.get("/cases").await;
    assert_eq!((r.status, r.text().as_str()), (200, "sager: 17, 18"));
    let body = big_body(300_000);
    let r = c.send("POST", "/echo", full(body.clone())).await;
    assert_eq!(
        r.text(),
        format!("{} {}", body.len(), sha(&body)),
        "submit grant"
    );

    // deny_paths, methods, allow_paths: as for http.
    let r = c.send("POST", "/doc/delete", full(b"id=7".to_vec())).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("Afvist af marc"), "{}", r.text());
    assert_eq!(c.get("/doc/delete").await.status, 403, "deny beats GET");
    assert_eq!(c.send("PUT", "/cases", empty()).await.status, 403, "method");
    assert_eq!(c.get("/admin").await.status, 403, "not in allow_paths");
    assert_eq!(
        c.get("/cases/../doc/delete").await.status,
        403,
        "dot segments"
    );
    // A WebSocket would be a channel the proxy cannot read.
    let r = c
        .send_with(
            "GET",
            "/cases",
            &[("upgrade", "websocket"), ("connection", "upgrade")],
            empty(),
        )
        .await;
    assert_eq!(r.status, 403);
    // The tunnel was checked for this origin only.
    let r = c
        .send_with("GET", "/cases", &[("host", "example.invalid")], empty())
        .await;
    assert_eq!(r.status, 403);

    let refused: Vec<String> = proxy
        .refusals()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url))
        .collect();
    let https = |m: &str, p: &str| format!("{m} https://127.0.0.1:{}{p}", up.port);
    for want in [
        https("POST", "/doc/delete"),
        https("GET", "/doc/delete"),
        https("PUT", "/cases"),
        https("GET", "/admin"),
    ] {
        assert!(refused.contains(&want), "{want} not among {refused:?}");
    }
    assert_eq!(refused.len(), 7, "{refused:?}");
    assert_eq!(
        up.seen(),
        vec!["GET /cases".to_string(), "POST /echo".to_string()],
        "nothing refused reached the system"
    );
    let st = proxy.stats();
    assert_eq!(st.intercepted, 1);
    assert_eq!((st.allowed, st.refused), (2, 7));
    proxy.stop().await;
}

#[tokio::test]
async fn the_systems_certificate_is_verified() {
    let up = start_upstream_tls().await;
    // Without tls_ca the system roots apply, and they do not know the
    // system's CA: the request fails at the proxy and reaches nothing.
    let proxy = Proxy::start(profile_for(&up.base, ""))
        .await
        .expect("proxy");
    let r = tunnel(&proxy, &up).await.get("/cases").await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.text().to_lowercase().contains("certificate"),
        "{}",
        r.text()
    );
    proxy.stop().await;
    // Nor does another CA named as tls_ca stand in for it.
    let other = start_upstream_tls().await;
    let mut p = profile_for(&up.base, "");
    p.tls_ca = other.ca.clone();
    let proxy = Proxy::start(p).await.expect("proxy");
    let r = tunnel(&proxy, &up).await.get("/cases").await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(proxy.stats().upstream_errors, 1);
    assert!(up.seen().is_empty(), "{:?}", up.seen());
    proxy.stop().await;
}

#[test]
fn a_bad_tls_ca_is_an_error_when_the_profile_loads() {
    let dir = tempfile::tempdir().expect("tmp");
    // The profile of a manifest in `dir` naming `file` as its tls_ca.
    let load = |file: &str| {
        parse_manifest_rights(&format!(
            "[rights]\norigins = [\"https://sag.example\"]\ntls_ca = \"{file}\"\n"
        ))
        .expect("profile")
        .resolve_files(dir.path())
    };
    std::fs::write(dir.path().join("empty.pem"), "not a certificate\n").expect("write");
    let e = load("empty.pem")
        .expect_err("no certificate in it")
        .to_string();
    assert!(
        e.contains("empty.pem") && e.contains("no CERTIFICATE"),
        "{e}"
    );
    let e = load("missing.pem").expect_err("missing").to_string();
    assert!(
        e.contains("missing.pem") && e.contains("cannot read"),
        "{e}"
    );
    // A relative path is the manifest folder's.
    let ca = marc_testbed::tls::TestCa::generate("x").expect("CA");
    std::fs::write(dir.path().join("ca.pem"), ca.ca_pem).expect("write");
    let p = load("ca.pem").expect("valid CA");
    assert_eq!(p.tls_ca, Some(dir.path().join("ca.pem")));
}

/// Other people's CPR numbers, in URLs and form values, over http and https.
#[tokio::test]
async fn cpr_numbers_other_than_the_requests_are_refused() {
    const OWN: &str = "070761-4285";
    for up in [start_upstream().await, start_upstream_tls().await] {
        let opts = ProxyOptions {
            cpr: Some(OWN.into()),
            ..Default::default()
        };
        let proxy = Proxy::start_with(tls_profile(&up), opts)
            .await
            .expect("proxy");
        let mut c = if up.ca.is_some() {
            tunnel(&proxy, &up).await
        } else {
            ProxyConn::open(proxy.addr()).await
        };
        let prefix = if up.ca.is_some() {
            String::new()
        } else {
            up.base.clone()
        };
        let url = |p: &str| format!("{prefix}{p}");
        for ok in [
            "/cases?cpr=0707614285",
            "/cases?cpr=070761-4285",
            "/cases?cpr=070761%2D4285",
        ] {
            assert_eq!(c.get(&url(ok)).await.status, 200, "{ok}");
        }
        for bad in [
            "/cases?cpr=0101901234",
            "/cases?cpr=010190-1234",
            "/cases?cpr=010190%2D1234",
            "/cases?q=010190+1234",
            "/cases/010190-1234",
        ] {
            assert_eq!(c.get(&url(bad)).await.status, 403, "{bad}");
        }
        let r = c
            .send(
                "POST",
                &url("/echo"),
                full(b"user=x&cpr=070761-4285".to_vec()),
            )
            .await;
        assert_eq!(r.status, 200, "own number in a form");
        let r = c
            .send(
                "POST",
                &url("/echo"),
                full(b"user=x&cpr=010190%2D1234".to_vec()),
            )
            .await;
        assert_eq!(r.status, 403, "another number in a form");
        assert!(r.text().contains("010190-xxxx"), "{}", r.text());
        let r = c.send("POST", &url("/echo"), chunked(3, 10)).await;
        assert_eq!(r.status, 200, "a chunked body without numbers passes");
        assert_eq!(proxy.stats().refused, 6);
        assert_eq!(up.count("POST /echo"), 2);
        assert!(
            up.seen().iter().all(|s| !s.contains("010190")),
            "{:?}",
            up.seen()
        );
        proxy.stop().await;
    }
}

#[tokio::test]
async fn upstream_down_gives_502_and_stop_closes_port() {
    let up = start_upstream().await;
    let base = up.base.clone();
    drop(up);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let proxy = Proxy::start(profile_for(&base, "")).await.expect("proxy");
    let addr = proxy.addr();
    let mut c = ProxyConn::open(addr).await;
    let r = c.get(&format!("{base}/cases")).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(proxy.stats().upstream_errors, 1);
    assert!(
        proxy.refusals().is_empty(),
        "a down system is not a refusal"
    );
    proxy.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn profile_can_be_swapped_at_run_time() {
    let up = start_upstream().await;
    let proxy = Proxy::start(profile_for(&up.base, ""))
        .await
        .expect("proxy");
    let mut c = ProxyConn::open(proxy.addr()).await;
    assert_eq!(c.get(&format!("{}/cases", up.base)).await.status, 200);
    let strict: RightsProfile =
        parse_manifest_rights("[rights]\norigins = [\"$base\"]\nallow_paths = [\"/login\"]\n")
            .expect("parse")
            .resolve(&up.base)
            .expect("resolve");
    proxy.set_profile(strict);
    assert_eq!(c.get(&format!("{}/cases", up.base)).await.status, 403);
    assert_eq!(up.count("GET /cases"), 1);
    proxy.stop().await;
}

#[test]
fn browser_background_traffic_is_classified_conservatively() {
    use hyper::header::{HeaderMap, HeaderValue};
    use marc_rights::{classify, Initiator};
    let bare = HeaderMap::new();
    assert_eq!(
        classify("POST", "update.googleapis.com", &bare),
        Initiator::Browser
    );
    assert_eq!(
        classify("CONNECT", "accounts.google.com", &bare),
        Initiator::Browser
    );
    assert_eq!(
        classify("GET", "clients2.google.com.", &bare),
        Initiator::Browser
    );
    // A non-vendor host is always the page's doing.
    assert_eq!(classify("GET", "evil.example", &bare), Initiator::Page);
    assert_eq!(classify("CONNECT", "notgoogle.com", &bare), Initiator::Page);
    // Page-like headers make even a vendor host count as the page's.
    let mut page = HeaderMap::new();
    page.insert("sec-fetch-mode", HeaderValue::from_static("cors"));
    assert_eq!(classify("POST", "www.google.com", &page), Initiator::Page);
    let mut page = HeaderMap::new();
    page.insert("referer", HeaderValue::from_static("http://127.0.0.1:1/"));
    assert_eq!(classify("GET", "www.google.com", &page), Initiator::Page);
}

#[tokio::test]
async fn requests_aimed_at_the_proxy_itself_are_refused() {
    // A port wildcard would otherwise let the proxy forward to itself forever.
    let profile: RightsProfile = parse_manifest_rights(
        "[rights]\norigins = [\"http://127.0.0.1:*\", \"http://localhost:*\"]\n",
    )
    .expect("parse");
    let proxy = Proxy::start(profile).await.expect("proxy");
    let port = proxy.addr().port();
    let mut c = ProxyConn::open(proxy.addr()).await;
    for host in ["127.0.0.1", "localhost"] {
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            c.get(&format!("http://{host}:{port}/x")),
        )
        .await
        .expect("answered at once, no loop");
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(r.text().contains("marc proxy itself"));
    }
    assert_eq!(proxy.stats().requests, 2);
    proxy.stop().await;
}

#[tokio::test]
async fn upstream_receives_the_checked_normalised_url() {
    let up = start_upstream().await;
    let proxy = Proxy::start(profile_for(&up.base, ""))
        .await
        .expect("proxy");
    let mut c = ProxyConn::open(proxy.addr()).await;
    let r = c.get(&format!("{}/big/../cases/./", up.base)).await;
    assert_eq!(r.status, 404, "axum has no /cases/ route, only /cases");
    let r = c.get(&format!("{}/big/../cases", up.base)).await;
    assert_eq!(r.text(), "sager: 17, 18");
    assert_eq!(
        up.seen(),
        vec!["GET /cases/".to_string(), "GET /cases".to_string()]
    );
    proxy.stop().await;
}
