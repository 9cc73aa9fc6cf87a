//! Cost of recording a robot step, with and without screenshots, in one run.
//! Run: `cargo run --release -p marc-recording --example record_cost [STEPS] [HTML_DIR]`
//! (default 1000 steps; 50 distinct 1280×800 PNGs cycled; on-disk store in a temp dir).
//! With HTML_DIR, the screenshot session is also written there as a trace page.

use marc_recording::{
    load_session, screenshot_stats, write_html, NewStep, Recorder, Redactor, SessionMeta,
};
use marc_store::Store;
use std::time::Instant;

/// A UI-like 1280×800 screen: header bar, a table with rows of "text" blocks whose
/// layout depends on `seed`, so each image differs but compresses like a real page.
fn screen(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(1280, 800, |x, y| {
        if y < 56 {
            return image::Rgb([0x1f, 0x4e, 0x79]);
        }
        let row = (y - 56) / 28;
        let in_text = (y - 56) % 28 > 8 && (y - 56) % 28 < 20;
        let word = (x / 9 + row * 7 + seed * 13) % 11;
        if in_text && x > 40 && x < 1240 && word < 8 && !(x / 3 + row + seed).is_multiple_of(5) {
            image::Rgb([40, 40, 40])
        } else if row % 2 == 0 {
            image::Rgb([0xf4, 0xf6, 0xf8])
        } else {
            image::Rgb([0xff, 0xff, 0xff])
        }
    });
    let mut buf = std::io::Cursor::new(Vec::new());
    img.write_to(&mut buf, image::ImageFormat::Png)
        .expect("encode png");
    buf.into_inner()
}

fn step(i: usize) -> NewStep {
    NewStep {
        result: format!("found 12 rows; first: Sag {i} – Aktindsigt i journal, Søren Ærø"),
        url: Some(format!("https://sbsys.example/sag/{i}?sid=abc")),
        rights: Some("allowed".into()),
        duration_ms: 5,
        ..NewStep::new(
            "click",
            vec![
                format!("#doc-list tr:nth-child({}) a", i % 20),
                "hunter2-password".into(),
            ],
        )
    }
}

fn run(store: &Store, id: &str, n: usize, shots: Option<&[Vec<u8>]>, flush: bool) -> f64 {
    let red = Redactor::new(["hunter2-password".to_string()]);
    let rec = Recorder::start(
        store,
        SessionMeta::new(id, "bench")
            .system("sbsys")
            .request("req-1"),
        red,
    )
    .expect("start");
    rec.set_flush_each_step(flush);
    let t = Instant::now();
    for i in 0..n {
        let mut s = step(i);
        if let Some(pngs) = shots {
            s.screenshot = rec.screenshot(&pngs[i % pngs.len()]).expect("screenshot");
        }
        rec.step(s).expect("step");
    }
    rec.finish("ok").expect("finish");
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let html = std::env::args().nth(2);
    let pngs: Vec<Vec<u8>> = (0..50).map(screen).collect();
    let avg_png = pngs.iter().map(|p| p.len()).sum::<usize>() / pngs.len();
    let dir = std::env::temp_dir().join(format!("marc-record-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Each configuration runs REPS times, interleaved, each in a fresh store (so the 50
    // screenshots are new every run); the median is reported, which damps the fsync
    // noise of a shared machine.
    const REPS: usize = 5;
    let configs: [(&str, bool, bool); 4] = [
        ("plain-flush", false, true),
        ("shots-flush", true, true),
        ("plain-noflush", false, false),
        ("shots-noflush", true, false),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut last_store = None;
    for rep in 0..REPS {
        for (c, (name, shots, flush)) in configs.iter().enumerate() {
            let store = Store::open(dir.join(format!("{name}-{rep}")))?;
            times[c].push(run(&store, name, n, shots.then_some(&pngs[..]), *flush));
            if rep + 1 == REPS && *name == "shots-flush" {
                last_store = Some(store);
            }
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let [plain_flush, shots_flush, plain_batch, shots_batch] =
        [0, 1, 2, 3].map(|i| med(&mut times[i]));
    let store = last_store.ok_or("no store")?;
    let (distinct, bytes) = screenshot_stats(&store)?;

    println!(
        "recording cost per step, {n} steps, 50 distinct 1280x800 PNGs (avg {} KiB), on-disk sled, median of {REPS}",
        avg_png / 1024
    );
    println!(
        "  flush every step : no screenshots {plain_flush:>8.1} µs/step | with screenshots {shots_flush:>8.1} µs/step | ratio {:.2}",
        shots_flush / plain_flush
    );
    println!(
        "  flush at finish  : no screenshots {plain_batch:>8.1} µs/step | with screenshots {shots_batch:>8.1} µs/step | ratio {:.2}",
        shots_batch / plain_batch
    );
    println!(
        "  screenshots stored: {distinct} distinct, {} KiB total (input {} KiB for {n} captures)",
        bytes / 1024,
        avg_png * n / 1024
    );
    println!(
        "  against a 5 ms WebDriver step (NOTES.md): +{:.1}% without, +{:.1}% with screenshots (flush every step)",
        plain_flush / 50.0,
        shots_flush / 50.0
    );
    if let Some(out) = html {
        let sess = load_session(&store, "shots-flush")?;
        let index = write_html(&store, &sess, std::path::Path::new(&out))?;
        println!("  trace page: {}", index.display());
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
