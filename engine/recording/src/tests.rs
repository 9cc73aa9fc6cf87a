use super::*;
use crate::png::{chunk, insert_after_ihdr};

const SECRET: &str = "Hemmelig#Kode 2026";

fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x as u8).wrapping_add(seed), y as u8, seed])
    });
    let mut buf = std::io::Cursor::new(Vec::new());
    img.write_to(&mut buf, image::ImageFormat::Png).unwrap();
    buf.into_inner()
}

fn redactor() -> Redactor {
    Redactor::new([SECRET.to_string()])
}

fn demo(store: &Store, id: &str) -> (Recorder, String) {
    let rec = Recorder::start(
        store,
        SessionMeta::new(id, "aktindsigt-sbsys")
            .system("sbsys")
            .request("req-42"),
        redactor(),
    )
    .unwrap();
    let shot = rec.screenshot(&png(64, 40, 1)).unwrap().unwrap();
    rec.step(NewStep {
        url: Some("https://sbsys.example/login".into()),
        rights: Some("allowed".into()),
        duration_ms: 120,
        screenshot: Some(shot.clone()),
        ..NewStep::new("navigate", vec!["https://sbsys.example/login".into()])
    })
    .unwrap();
    rec.step(NewStep {
        result: "typed 18 characters".into(),
        url: Some("https://sbsys.example/login".into()),
        rights: Some("allowed".into()),
        duration_ms: 30,
        ..NewStep::new("type", vec!["#password".into(), "***".into()])
    })
    .unwrap();
    rec.step(NewStep {
        ok: false,
        result: "refused by the rights profile: <script>alert(1)</script> & more".into(),
        rights: Some("refused: click on #delete is forbidden".into()),
        duration_ms: 2,
        screenshot: Some(shot.clone()),
        ..NewStep::new("click", vec!["#delete".into()])
    })
    .unwrap();
    (rec, shot)
}

#[test]
fn roundtrip_and_listing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path()).unwrap();
        let (rec, shot) = demo(&s, "sess-1");
        rec.finish("refused: click on #delete").unwrap();
        rec.finish("ignored second call").unwrap();
        assert!(matches!(
            rec.step(NewStep::new("x", vec![])),
            Err(RecordingError::Finished(_))
        ));
        let _ = shot;
    }
    let s = Store::open(dir.path()).unwrap();
    let sess = load_session(&s, "sess-1").unwrap();
    assert_eq!(sess.meta.robot, "aktindsigt-sbsys");
    assert_eq!(sess.meta.request.as_deref(), Some("req-42"));
    assert_eq!(
        sess.meta.outcome.as_deref(),
        Some("refused: click on #delete")
    );
    assert!(sess.meta.finished.is_some());
    assert_eq!(
        sess.steps.iter().map(|s| s.index).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(sess.steps[0].command, "navigate");
    assert_eq!(sess.steps[0].duration_ms, 120);
    assert!(sess.steps[2]
        .rights
        .as_deref()
        .unwrap()
        .starts_with("refused"));
    assert!(!sess.steps[2].ok);
    let hash = sess.steps[0].screenshot.clone().unwrap();
    let back = load_screenshot(&s, &hash).unwrap();
    assert_eq!(
        image::load_from_memory(&back).unwrap().to_rgb8(),
        image::load_from_memory(&png(64, 40, 1)).unwrap().to_rgb8()
    );
    Recorder::start(&s, SessionMeta::new("sess-0", "other"), Redactor::default()).unwrap();
    let list = list_sessions(&s).unwrap();
    assert_eq!(
        list.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        vec!["sess-1", "sess-0"]
    );
    assert!(matches!(
        Recorder::start(&s, SessionMeta::new("sess-1", "x"), Redactor::default()),
        Err(RecordingError::SessionExists(_))
    ));
    assert!(matches!(
        load_session(&s, "nope"),
        Err(RecordingError::NoSession(_))
    ));
    assert!(matches!(
        load_session(&s, "../etc"),
        Err(RecordingError::BadId { .. })
    ));
}

#[test]
fn screenshots_are_deduplicated_and_stripped() {
    let s = Store::temporary().unwrap();
    let rec = Recorder::start(&s, SessionMeta::new("d", "r"), Redactor::default()).unwrap();
    let a = png(200, 100, 3);
    let a_text = insert_after_ihdr(&a, &chunk(b"tEXt", b"Software\0something"));
    let h1 = rec.screenshot(&a).unwrap().unwrap();
    let h2 = rec.screenshot(&a).unwrap().unwrap();
    let h3 = rec.screenshot(&a_text).unwrap().unwrap();
    let h4 = rec.screenshot(&png(200, 100, 4)).unwrap().unwrap();
    assert_eq!(h1, h2);
    assert_eq!(h1, h3, "metadata does not change the content address");
    assert_ne!(h1, h4);
    assert_eq!(screenshot_stats(&s).unwrap().0, 2);
    assert!(matches!(
        rec.screenshot(b"not a png"),
        Err(RecordingError::BadPng(_))
    ));
    rec.set_screenshots(false);
    assert!(!rec.screenshots_enabled());
    assert_eq!(rec.screenshot(&png(10, 10, 9)).unwrap(), None);
    assert_eq!(screenshot_stats(&s).unwrap().0, 2);
    // a hash that is not a hash is not stored as a reference
    rec.step(NewStep {
        screenshot: Some("../../etc/passwd".into()),
        ..NewStep::new("x", vec![])
    })
    .unwrap();
    assert_eq!(load_session(&s, "d").unwrap().steps[0].screenshot, None);
    // damaged stored screenshot is reported, not returned
    let t = s.table(SCREENSHOTS_TABLE).unwrap();
    let mut rec_bytes = t.get(h4.as_bytes()).unwrap().unwrap();
    let n = rec_bytes.len() / 2;
    rec_bytes[n] ^= 0x55;
    t.put(h4.as_bytes(), &rec_bytes).unwrap();
    assert!(matches!(
        load_screenshot(&s, &h4),
        Err(RecordingError::DamagedScreenshot { .. })
    ));
}

/// Every byte stored for a session, screenshots decompressed.
fn all_stored_bytes(s: &Store) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for t in [SESSIONS_TABLE, STEPS_TABLE, SCREENSHOTS_TABLE] {
        for kv in s.table(t).unwrap().iter() {
            let (k, v) = kv.unwrap();
            out.push(k.clone());
            out.push(v);
            if t == SCREENSHOTS_TABLE {
                out.push(load_screenshot(s, std::str::from_utf8(&k).unwrap()).unwrap());
            }
        }
    }
    out
}

#[test]
fn secrets_are_never_stored() {
    let s = Store::temporary().unwrap();
    let meta = SessionMeta::new("leak", format!("robot-{SECRET}")).request(format!("r {SECRET}"));
    let rec = Recorder::start(&s, meta, redactor()).unwrap();
    let shot = insert_after_ihdr(
        &png(30, 20, 5),
        &chunk(b"tEXt", format!("Comment\0{SECRET}").as_bytes()),
    );
    let shot = insert_after_ihdr(
        &shot,
        &chunk(b"iTXt", format!("k\0\0\0\0\0{SECRET}").as_bytes()),
    );
    let h = rec.screenshot(&shot).unwrap().unwrap();
    let enc = SECRET.replace(' ', "%20").replace('#', "%23");
    rec.step(NewStep {
        result: format!("login ok for password {SECRET}"),
        url: Some(format!("https://sbsys.example/login?pw={enc}")),
        rights: Some(format!("allowed ({SECRET})")),
        screenshot: Some(h),
        ..NewStep::new(
            format!("type_{SECRET}"),
            vec!["#pw".into(), SECRET.into(), format!("x{SECRET}y")],
        )
    })
    .unwrap();
    rec.add_secret("otp-918273");
    rec.step(NewStep {
        result: "code otp-918273 accepted".into(),
        ..NewStep::new("type", vec!["otp-918273".into()])
    })
    .unwrap();
    rec.finish(&format!("failed: wrong password {SECRET}"))
        .unwrap();
    let needles = [
        SECRET.as_bytes().to_vec(),
        enc.as_bytes().to_vec(),
        b"Hemmelig".to_vec(),
    ];
    for b in all_stored_bytes(&s) {
        for n in &needles {
            assert!(
                !b.windows(n.len()).any(|w| w == &n[..]),
                "secret found in stored bytes: {}",
                String::from_utf8_lossy(&b)
            );
        }
    }
    let sess = load_session(&s, "leak").unwrap();
    assert_eq!(sess.steps[0].args, vec!["#pw", "***", "x***y"]);
    assert_eq!(
        sess.steps[0].url.as_deref(),
        Some("https://sbsys.example/login?pw=***")
    );
    let dir = tempfile::tempdir().unwrap();
    let index = write_html(&s, &sess, dir.path()).unwrap();
    let page = std::fs::read_to_string(index).unwrap();
    assert!(!page.contains("Hemmelig") && !render_terminal(&sess).contains("Hemmelig"));
}

#[test]
fn crashed_run_is_listed_as_unfinished() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path()).unwrap();
        let (_rec, _) = demo(&s, "crash");
        // dropped without finish(): like a SIGKILL after the last flushed step
    }
    let s = Store::open(dir.path()).unwrap();
    let sess = load_session(&s, "crash").unwrap();
    assert_eq!(sess.steps.len(), 3);
    assert_eq!(sess.meta.steps, 3);
    assert!(sess.meta.finished.is_none());
    assert!(render_terminal(&sess).contains("unfinished"));
}

#[test]
fn long_results_are_truncated() {
    let s = Store::temporary().unwrap();
    let rec = Recorder::start(&s, SessionMeta::new("t", "r"), Redactor::default()).unwrap();
    rec.step(NewStep {
        result: "æ".repeat(MAX_RESULT_CHARS + 500),
        ..NewStep::new("text", vec![])
    })
    .unwrap();
    let r = &load_session(&s, "t").unwrap().steps[0].result;
    assert!(r.starts_with(&"æ".repeat(MAX_RESULT_CHARS)));
    assert!(
        r.ends_with("[500 more characters]"),
        "{}",
        &r[r.len() - 40..]
    );
}

#[test]
fn terminal_view_shows_steps() {
    let s = Store::temporary().unwrap();
    let (rec, _) = demo(&s, "term");
    rec.finish("ok").unwrap();
    let t = render_terminal(&load_session(&s, "term").unwrap());
    assert!(t.contains("session  term"));
    assert!(t.contains("#1") && t.contains("navigate(\"https://sbsys.example/login\")"));
    assert!(t.contains("REFUSED") && t.contains("refused: click on #delete is forbidden"));
    assert!(t.contains("outcome  ok"));
}

#[test]
fn html_contains_steps_and_images() {
    let s = Store::temporary().unwrap();
    let (rec, shot) = demo(&s, "html");
    rec.finish("ok").unwrap();
    let sess = load_session(&s, "html").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let index = write_html(&s, &sess, &dir.path().join("out")).unwrap();
    let page = std::fs::read_to_string(&index).unwrap();
    for needle in [
        "id=\"step-1\"",
        "id=\"step-2\"",
        "id=\"step-3\"",
        "navigate",
        "#password",
        "refused: click on #delete is forbidden",
    ] {
        assert!(page.contains(needle), "missing {needle}");
    }
    assert!(page.contains(&format!("src=\"shots/{shot}.png\"")));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
    assert!(!page.contains("<script>alert(1)"));
    for ext in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "@import",
        "url(",
    ] {
        assert!(!page.contains(ext), "external reference {ext}");
    }
    let file = dir.path().join("out/shots").join(format!("{shot}.png"));
    assert_eq!(
        std::fs::read(file).unwrap(),
        load_screenshot(&s, &shot).unwrap()
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("out/shots"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn html_lists_missing_screenshots() {
    let s = Store::temporary().unwrap();
    let (rec, shot) = demo(&s, "miss");
    rec.finish("ok").unwrap();
    s.table(SCREENSHOTS_TABLE)
        .unwrap()
        .remove(shot.as_bytes())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let page = std::fs::read_to_string(
        write_html(&s, &load_session(&s, "miss").unwrap(), dir.path()).unwrap(),
    )
    .unwrap();
    assert!(page.contains("missing from the data directory"));
    assert!(!page.contains(&format!("src=\"shots/{shot}.png\"")));
}

/// Opens the page in headless Chromium (when installed) and checks that the script ran,
/// the first step is current and every screenshot loaded.
#[test]
fn html_loads_in_headless_chromium() {
    let chromium = std::path::Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        eprintln!("skipped: /usr/bin/chromium not installed");
        return;
    }
    let s = Store::temporary().unwrap();
    let (rec, _) = demo(&s, "chrome");
    let big = rec.screenshot(&png(320, 200, 7)).unwrap();
    rec.step(NewStep {
        screenshot: big,
        ..NewStep::new("text", vec!["#title".into()])
    })
    .unwrap();
    rec.finish("ok").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let index = write_html(
        &s,
        &load_session(&s, "chrome").unwrap(),
        &dir.path().join("page"),
    )
    .unwrap();
    let profile = dir.path().join("profile");
    let out = std::process::Command::new("timeout")
        .arg("60")
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", index.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("data-loaded=\"1\""),
        "page did not finish loading; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dom.contains("data-broken=\"0\""),
        "a screenshot did not load: {}",
        &dom[..dom.len().min(600)]
    );
    assert!(
        dom.contains("class=\"js\"") || dom.contains(" js\""),
        "script did not run"
    );
    assert!(
        dom.contains("class=\"step ok current\""),
        "first step not selected"
    );
    assert!(dom.contains("step 1 of 4"));
}

#[test]
fn clones_on_several_threads_share_one_numbering() {
    let s = Store::temporary().unwrap();
    let rec = Recorder::start(&s, SessionMeta::new("mt", "r"), Redactor::default()).unwrap();
    rec.set_flush_each_step(false);
    let hs: Vec<_> = (0..4)
        .map(|t| {
            let r = rec.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    r.step(NewStep::new(format!("t{t}"), vec![i.to_string()]))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    rec.finish("ok").unwrap();
    let sess = load_session(&s, "mt").unwrap();
    assert_eq!(
        sess.steps.iter().map(|s| s.index).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<u64>>()
    );
    assert_eq!(sess.meta.steps, 100);
}
