//! The canvas front end: the HTTP API drives the same state machine with per-browser sessions,
//! the page carries no screen text, and a real headless Chromium paints text that OCR reads.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use marc_testbed::World;
use tower::ServiceExt;

fn world() -> Arc<World> {
    Arc::new(World::generate(marc_testbed::DEMO_SEED))
}

async fn call(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, Option<String>, serde_json::Value, String) {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let cookie = r
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_string());
    let bytes = to_bytes(r.into_body(), 1 << 20).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, cookie, json, text)
}

fn keys(cookie: Option<&str>, keys: &[&str]) -> Request<Body> {
    let mut b = Request::post("/api/keys").header(header::CONTENT_TYPE, "application/json");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(serde_json::json!({ "keys": keys }).to_string()))
        .unwrap()
}

#[tokio::test]
async fn keys_drive_a_per_session_terminal() {
    let app = marc_testbed_terminal::web::router(world());
    let (st, cookie, v, _) = call(
        &app,
        Request::get("/api/screen").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["screen"], "KS001");
    let cookie = cookie.expect("a session cookie");
    let login = [
        "R", "O", "B", "O", "T", "0", "3", "Tab", "T", "E", "R", "M", "2", "0", "1", "8", "Enter",
        "F2",
    ];
    let (_, _, v, _) = call(&app, keys(Some(&cookie), &login)).await;
    assert_eq!(v["screen"], "KS100", "{v}");
    // Another browser (no cookie) starts at the login screen: sessions are separate.
    let (_, other, v, _) = call(&app, keys(None, &["F2"])).await;
    assert_eq!(v["screen"], "KS001");
    assert!(other.is_some() && other.as_deref() != Some(cookie.as_str()));
    // Unknown key names are ignored, as a terminal ignores keys it has no use for.
    let (_, _, v, _) = call(&app, keys(Some(&cookie), &["Shift", "F3"])).await;
    assert_eq!(v["screen"], "KS002");
    let (st, _, _, _) = call(
        &app,
        Request::post("/api/keys")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_page_holds_no_screen_text() {
    let app = marc_testbed_terminal::web::router(world());
    let (st, _, _, html) = call(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("<canvas"));
    for s in ["Log på", "KOMMUNENS", "Bruger", "ROBOT03"] {
        assert!(!html.contains(s), "{s} in the page source");
    }
}

/// A real browser paints the canvas; OCR reads it. Skipped (with a message) without Chromium.
#[test]
fn chromium_paints_text_that_ocr_reads() {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| {
        std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        eprintln!("skipped: no chromium");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, task) = rt
        .block_on(marc_testbed_terminal::web::serve(world(), 0))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("canvas.png");
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .args(["--window-size=800,480"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    task.abort();
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ocr = marc_screen::Ocr::new(marc_screen::OcrOptions::default()).unwrap();
    let res = ocr.recognize_bytes(&std::fs::read(&png).unwrap()).unwrap();
    assert!(
        res.text.contains("Log på med din bruger og adgangskode."),
        "{}",
        res.text
    );
    assert!(
        marc_screen::locate(&res, "PF3 = Afslut").is_some(),
        "{}",
        res.text
    );
}
