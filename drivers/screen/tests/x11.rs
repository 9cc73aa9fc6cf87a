//! X11 backend against a real Xvfb and xterm: capture + OCR, typing with XTEST (including
//! æøå via keycode remapping), clicking, and the failure modes (no server, window closed,
//! text that never appears).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use marc_screen::{parse_keys, wait_text, Ocr, OcrOptions, Screen, ScreenError, X11Screen, Xvfb};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::ConnectionExt;

/// A child process killed (and reaped) when the test ends, pass or fail.
struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn xterm(display: &str, title: &str, script: &str) -> Proc {
    let child = Command::new("xterm")
        .env("DISPLAY", display)
        .env("LC_ALL", "C.UTF-8")
        .args([
            "-u8",
            "-fa",
            "DejaVu Sans Mono",
            "-fs",
            "14",
            "-geometry",
            "80x24+0+0",
            "-bg",
            "black",
            "-fg",
            "green",
            "-T",
            title,
            "-e",
            "sh",
            "-c",
            script,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xterm (Debian package xterm)");
    Proc(child)
}

fn ocr() -> Ocr {
    Ocr::new(OcrOptions::default()).expect("tesseract dan+eng")
}

#[test]
fn capture_an_xterm_and_read_it() {
    let x = Xvfb::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("screen.txt");
    std::fs::write(
        &f,
        "KOMMUNENS SAGSSYSTEM\nCPR-søgning: Åse Ørsted Kærgaard\nPF8 = næste side   PF3 = tilbage\n",
    )
    .unwrap();
    let _t = xterm(
        x.display(),
        "marc-test-term",
        &format!("cat '{}'; sleep 60", f.display()),
    );
    let mut s =
        X11Screen::connect_window(x.display(), "marc-test-term", Duration::from_secs(10)).unwrap();
    assert!(s.describe().contains("marc-test-term"));
    let ocr = ocr();
    let res = wait_text(&mut s, &ocr, "næste side", Duration::from_secs(10)).unwrap();
    assert!(res.text.contains("Åse Ørsted Kærgaard"), "{}", res.text);
    let img = s.capture().unwrap();
    // 80 columns of a 14 pt font: several hundred pixels wide, not the whole 1280 display.
    assert!(
        img.width() > 400 && img.width() < 1280,
        "{}×{}",
        img.width(),
        img.height()
    );
    let m = marc_screen::find_text(&mut s, &ocr, "PF3 = tilbage")
        .unwrap()
        .expect("found");
    assert!(m.y > 20 && m.x > 100, "{m:?}");

    // The text never shows: the error says what the screen did show.
    let err = wait_text(&mut s, &ocr, "Slet alle sager", Duration::from_millis(500)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ScreenError::TextTimeout { .. }), "{msg}");
    assert!(
        msg.contains("KOMMUNENS SAGSSYSTEM") && msg.contains("Slet alle sager"),
        "{msg}"
    );
}

#[test]
fn type_danish_text_into_an_xterm() {
    let x = Xvfb::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("typed.txt");
    let script = format!(
        "read x; printf '%s' \"$x\" > '{}.tmp' && mv '{0}.tmp' '{0}'",
        out.display()
    );
    let _t = xterm(x.display(), "marc-typer", &script);
    let mut s =
        X11Screen::connect_window(x.display(), "marc-typer", Duration::from_secs(10)).unwrap();
    // Give the shell a moment to reach `read`: keys typed earlier are buffered by the tty anyway.
    std::thread::sleep(Duration::from_millis(300));
    let typed = "Hej Åse! æøå ÆØÅ 123 {{x}} @#$%~";
    s.keys(&parse_keys(&format!("{typed}{{Enter}}")).unwrap())
        .unwrap();
    let got = wait_file(&out, Duration::from_secs(10));
    assert_eq!(got, "Hej Åse! æøå ÆØÅ 123 {x} @#$%~");
}

fn wait_file(p: &Path, timeout: Duration) -> String {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(s) = std::fs::read_to_string(p) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} was not written within {timeout:?}", p.display());
}

#[test]
fn click_moves_the_pointer_to_window_coordinates() {
    let x = Xvfb::start().unwrap();
    let _t = xterm(x.display(), "marc-click", "sleep 60");
    let mut s =
        X11Screen::connect_window(x.display(), "marc-click", Duration::from_secs(10)).unwrap();
    let (conn, n) = x11rb::connect(Some(x.display())).unwrap();
    let root = conn.setup().roots[n].root;
    let mut at = Vec::new();
    for (cx, cy) in [(50, 40), (300, 120)] {
        s.click_at(cx, cy).unwrap();
        let p = conn.query_pointer(root).unwrap().reply().unwrap();
        at.push((i32::from(p.root_x) - cx, i32::from(p.root_y) - cy));
    }
    // The xterm sits at +0+0 (no window manager) inside a 1-pixel border: window coordinates
    // are root coordinates shifted by the border, the same shift for every click.
    assert_eq!(at[0], at[1]);
    assert!(at[0].0.abs() <= 2 && at[0].1.abs() <= 2, "{at:?}");
    let err = s.click_at(5000, 5).unwrap_err().to_string();
    assert!(err.contains("outside"), "{err}");
}

#[test]
fn a_closed_window_is_a_clear_error() {
    let x = Xvfb::start().unwrap();
    let mut t = xterm(x.display(), "marc-closing", "sleep 60");
    let mut s =
        X11Screen::connect_window(x.display(), "marc-closing", Duration::from_secs(10)).unwrap();
    s.capture().unwrap();
    let _ = t.0.kill();
    let _ = t.0.wait();
    let start = Instant::now();
    let err = loop {
        match s.capture() {
            Err(e) => break e,
            Ok(_) if start.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Ok(_) => panic!("window still captured 5 s after its program was killed"),
        }
    };
    assert!(matches!(err, ScreenError::WindowGone { .. }), "{err}");
    assert!(err.to_string().contains("marc-closing"));
    let err = s.keys(&parse_keys("a").unwrap()).unwrap_err();
    assert!(matches!(err, ScreenError::WindowGone { .. }), "{err}");
    // Asking for a window that does not exist lists the ones that do.
    let err = X11Screen::connect_window(x.display(), "no-such-window", Duration::from_millis(200))
        .unwrap_err();
    assert!(matches!(err, ScreenError::NoSuchWindow { .. }), "{err}");
}

#[test]
fn no_x_server_is_a_clear_error_not_a_hang() {
    let n = (400..900)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .unwrap();
    let start = Instant::now();
    let err = X11Screen::connect(&format!(":{n}")).expect_err("no server there");
    assert!(start.elapsed() < Duration::from_secs(6));
    assert!(matches!(err, ScreenError::NoDisplay { .. }), "{err}");
    assert!(err.to_string().contains(&format!(":{n}")), "{err}");
    assert!(X11Screen::connect("").is_err());
}
