//! Benchmark: OCR time per 80×24 terminal screen through marc (`Ocr::recognize_bytes`, one
//! engine initialised once and reused) versus the `tesseract` command on the same saved PNGs,
//! in the same run, interleaved so machine load hits both alike. Then end to end on X11:
//! an xterm under Xvfb, capture + OCR per screen.
//!
//! Run: `cargo run --release -p marc-screen --example ocr_bench [rounds]`
//!
//! Baselines (the command line is used here only, never in the library):
//! - `cli`: `tesseract prepared.png - -l dan+eng --dpi 300 --psm 6` with `OMP_THREAD_LIMIT=1`
//!   on the same image marc's engine sees after its preprocessing (grey, inverted if dark, 3×
//!   upscale) and with marc's settings, so both do the same recognition work; the difference
//!   is process start + model load.
//! - `cli-naive`: the command on the raw screenshot with default settings (what a quick
//!   script would do): faster or slower, but reads worse; its CER is printed too.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use image::DynamicImage;
use marc_screen::{char_error_rate, normalize_for_cer, prepare, Ocr, OcrOptions, Screen};

fn pages() -> Vec<(Vec<String>, [u8; 3], [u8; 3])> {
    let base: Vec<String> = common::TERMINAL_PAGE
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut other = base.clone();
    other[0] = "KOMMUNENS SAGSSYSTEM  --  SAGSLISTE                            Side 1 af 1".into();
    for (i, l) in other.iter_mut().enumerate().skip(6).take(10) {
        *l = format!(
            "{:>2}  2023-{:04}  Ansøgning om tilskud til bolig      {:02}.0{}.2023  Åben",
            i - 5,
            100 + i * 7,
            10 + i,
            1 + i % 9
        );
    }
    vec![
        (base.clone(), [51, 255, 51], [0, 0, 0]),
        (base, [20, 20, 20], [250, 250, 250]),
        (other.clone(), [51, 255, 51], [0, 0, 0]),
        (other, [20, 20, 20], [250, 250, 250]),
    ]
}

fn cli(png: &Path, same_settings: bool) -> (Duration, String) {
    let mut c = Command::new("tesseract");
    c.arg(png).args(["-", "-l", "dan+eng"]);
    if same_settings {
        c.args(["--dpi", "300", "--psm", "6"]);
    }
    if same_settings {
        c.env("OMP_THREAD_LIMIT", "1");
    }
    let t = Instant::now();
    let out = c
        .output()
        .expect("tesseract command (Debian package tesseract-ocr)");
    (
        t.elapsed(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let ocr = Ocr::new(OcrOptions::default()).unwrap();
    let init = t0.elapsed();
    let prep = ocr.default_prep();

    let mut shots: Vec<(PathBuf, PathBuf, String)> = Vec::new();
    for (i, (lines, fg, bg)) in pages().into_iter().enumerate() {
        let refs: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
        let img = common::render(&refs, 15.0, fg, bg, 80, 24);
        let raw = dir.path().join(format!("screen{i}.png"));
        img.save(&raw).unwrap();
        let pre = dir.path().join(format!("screen{i}-prepared.png"));
        prepare(&DynamicImage::ImageRgba8(img), prep)
            .image
            .save(&pre)
            .unwrap();
        shots.push((raw, pre, normalize_for_cer(&lines.join("\n"))));
    }
    let size = image::image_dimensions(&shots[0].0).unwrap();
    println!(
        "{} screens of 80×24 ({}×{} px), {rounds} rounds; engine init {:.0} ms (once)",
        shots.len(),
        size.0,
        size.1,
        init.as_secs_f64() * 1e3
    );

    let (mut m, mut c, mut n) = (Vec::new(), Vec::new(), Vec::new());
    let (mut m_cer, mut c_cer, mut n_cer) = (0.0, 0.0, 0.0);
    for _ in 0..rounds {
        for (raw, pre, reference) in &shots {
            let bytes = std::fs::read(raw).unwrap();
            let t = Instant::now();
            let r = ocr.recognize_bytes(&bytes).unwrap();
            m.push(t.elapsed());
            m_cer += char_error_rate(reference, &normalize_for_cer(&r.text));
            let (d, text) = cli(pre, true);
            if std::env::var_os("BENCH_DEBUG").is_some() {
                eprintln!("--- marc:\n{}\n--- cli:\n{text}", r.text);
            }
            c.push(d);
            c_cer += char_error_rate(reference, &normalize_for_cer(&text));
            let (d, text) = cli(raw, false);
            n.push(d);
            n_cer += char_error_rate(reference, &normalize_for_cer(&text));
        }
    }
    let k = m.len() as f64;
    let (mm, cm, nm) = (median(&mut m), median(&mut c), median(&mut n));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "marc Ocr::recognize_bytes   median {:7.0} ms/screen  mean CER {:.4}",
        ms(mm),
        m_cer / k
    );
    println!(
        "tesseract cli (same image)  median {:7.0} ms/screen  mean CER {:.4}",
        ms(cm),
        c_cer / k
    );
    println!(
        "tesseract cli (naive, raw)  median {:7.0} ms/screen  mean CER {:.4}",
        ms(nm),
        n_cer / k
    );
    println!(
        "ratio marc/cli = {:.2} (marc overhead {:+.0} %), marc/cli-naive = {:.2}",
        ms(mm) / ms(cm),
        (ms(mm) / ms(cm) - 1.0) * 100.0,
        ms(mm) / ms(nm)
    );

    x11_end_to_end(&ocr, rounds);
}

fn x11_end_to_end(ocr: &Ocr, rounds: usize) {
    let Ok(x) = marc_screen::Xvfb::start() else {
        println!("x11: skipped (Xvfb not available)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("page.txt");
    std::fs::write(&f, common::TERMINAL_PAGE[..22].join("\n")).unwrap();
    let mut child = match Command::new("xterm")
        .env("DISPLAY", x.display())
        .env("LC_ALL", "C.UTF-8")
        .args([
            "-u8",
            "-fa",
            "DejaVu Sans Mono",
            "-fs",
            "12",
            "-geometry",
            "80x24+0+0",
        ])
        .args([
            "-bg",
            "black",
            "-fg",
            "green",
            "-T",
            "marc-bench",
            "-e",
            "sh",
            "-c",
        ])
        .arg(format!("cat '{}'; sleep 120", f.display()))
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            println!("x11: skipped (xterm: {e})");
            return;
        }
    };
    let run = || -> Result<(), marc_screen::ScreenError> {
        let mut s = marc_screen::X11Screen::connect_window(
            x.display(),
            "marc-bench",
            Duration::from_secs(10),
        )?;
        marc_screen::wait_text(&mut s, ocr, "Vurdering", Duration::from_secs(20))?;
        let reference = normalize_for_cer(&common::TERMINAL_PAGE[..22].join("\n"));
        let n = rounds * 4;
        let (mut cap, mut total, mut cer) = (Duration::ZERO, Duration::ZERO, 0.0);
        for _ in 0..n {
            let t = Instant::now();
            let img = s.capture()?;
            cap += t.elapsed();
            let r = ocr.recognize(&DynamicImage::ImageRgba8(img))?;
            total += t.elapsed();
            cer += char_error_rate(&reference, &normalize_for_cer(&r.text));
        }
        let size = s.capture()?.dimensions();
        println!(
            "x11 xterm {}×{} px: capture {:.1} ms, capture+OCR {:.0} ms/screen = {:.2} screens/s, mean CER {:.4}",
            size.0,
            size.1,
            cap.as_secs_f64() * 1e3 / n as f64,
            total.as_secs_f64() * 1e3 / n as f64,
            n as f64 / total.as_secs_f64(),
            cer / n as f64
        );
        Ok(())
    };
    if let Err(e) = run() {
        println!("x11: failed: {e}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
