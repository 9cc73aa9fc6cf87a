//! Screens for robots without a DOM: a canvas in the browser (captured and
//! typed into through WebDriver) or an X11 display (captured, XTEST input),
//! both read with the OCR pool of `marc-screen`.

use crate::runtime::{ScreenAccess, ScreenText};
use marc_screen::{Key, Ocr, Screen, ScreenError};
use marc_webdriver::Browser;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The OCR engines, started once per process on first use (tesseract's
/// start-up costs about a second); shared by screen robots and attachments.
pub fn shared_ocr() -> Result<Arc<Ocr>, String> {
    static OCR: std::sync::OnceLock<Result<Arc<Ocr>, String>> = std::sync::OnceLock::new();
    OCR.get_or_init(|| {
        Ocr::new(marc_screen::OcrOptions::default())
            .map(Arc::new)
            .map_err(|e| e.to_string())
    })
    .clone()
}

/// A `<canvas>` in a browser page.
pub struct CanvasScreen {
    pub browser: Arc<Browser>,
    pub handle: tokio::runtime::Handle,
    /// CSS selector of the canvas.
    pub selector: String,
}

impl CanvasScreen {
    /// The page's redraw counter (`data-frame`), if it has one.
    fn frame(&self) -> Option<String> {
        let b = self.browser.clone();
        let sel = self.selector.clone();
        self.handle
            .block_on(async move { b.attr(&sel, "data-frame").await.ok().flatten() })
    }
}

fn driver_err(e: marc_webdriver::DriverError) -> ScreenError {
    ScreenError::Backend(format!("browser: {e}"))
}

impl Screen for CanvasScreen {
    /// The canvas's own pixels: the whole screen, whatever the window shows.
    fn capture(&mut self) -> Result<image::RgbaImage, ScreenError> {
        let b = self.browser.clone();
        let sel = self.selector.clone();
        let shot = self
            .handle
            .block_on(async move { b.capture_element(&sel).await })
            .map_err(driver_err)?;
        Ok(marc_screen::decode(&shot.png)?.to_rgba8())
    }

    fn keys(&mut self, keys: &[Key]) -> Result<(), ScreenError> {
        let before = self.frame();
        let text = marc_screen::webdriver_text(keys);
        let b = self.browser.clone();
        let sel = self.selector.clone();
        self.handle
            .block_on(async move { b.send_keys(&sel, &text).await })
            .map_err(driver_err)?;
        // Wait until the page has redrawn after the last key (at most 3 s).
        let deadline = Instant::now() + Duration::from_secs(3);
        while before.is_some() && self.frame() == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(30));
        }
        std::thread::sleep(Duration::from_millis(60));
        Ok(())
    }

    fn click_at(&mut self, x: i32, y: i32) -> Result<(), ScreenError> {
        let b = self.browser.clone();
        let sel = self.selector.clone();
        self.handle
            .block_on(async move { b.click_in(&sel, x, y).await })
            .map_err(driver_err)
    }

    fn describe(&self) -> String {
        format!(
            "canvas {} in {}",
            self.selector,
            self.browser.webdriver_url()
        )
    }
}

/// Adapts any [`Screen`] and the OCR pool to the robot API.
pub struct OcrScreen {
    pub screen: Box<dyn Screen>,
    pub ocr: Arc<Ocr>,
    /// Rows of the character grid (24 for a terminal) for `screen_rows()`.
    pub rows: usize,
    /// Pixels above the first row.
    pub border: i32,
    /// Lowest mean OCR confidence seen since the last `take_min_confidence`.
    pub min_conf: f32,
    /// Check that the screen did not change while it was read (a capture is
    /// cheap on X11; a canvas says itself when it has redrawn).
    pub settle: bool,
}

impl OcrScreen {
    pub fn new(screen: Box<dyn Screen>, ocr: Arc<Ocr>) -> OcrScreen {
        OcrScreen {
            screen,
            ocr,
            rows: 24,
            border: 0,
            min_conf: 1.0,
            settle: false,
        }
    }
}

impl ScreenAccess for OcrScreen {
    fn ocr(&mut self) -> Result<ScreenText, String> {
        let mut img = self.screen.capture().map_err(|e| e.to_string())?;
        let mut r = self
            .ocr
            .recognize(&image::DynamicImage::ImageRgba8(img.clone()))
            .map_err(|e| e.to_string())?;
        // A terminal may still be drawing: read again (up to twice) while the
        // screen changed during the reading.
        for _ in 0..2 {
            if !self.settle {
                break;
            }
            let now = self.screen.capture().map_err(|e| e.to_string())?;
            if now == img {
                break;
            }
            img = now;
            r = self
                .ocr
                .recognize(&image::DynamicImage::ImageRgba8(img.clone()))
                .map_err(|e| e.to_string())?;
        }
        let height = img.height();
        self.min_conf = self.min_conf.min(r.mean_conf);
        let rows = marc_screen::grid_rows(&r, height, self.rows, self.border);
        Ok(ScreenText::from_ocr(&r, rows))
    }

    fn keys(&mut self, spec: &str) -> Result<(), String> {
        marc_screen::type_keys(self.screen.as_mut(), spec).map_err(|e| e.to_string())
    }

    fn click_at(&mut self, x: i32, y: i32) -> Result<(), String> {
        self.screen.click_at(x, y).map_err(|e| e.to_string())
    }

    fn screenshot(&mut self) -> Result<Vec<u8>, String> {
        let img = self.screen.capture().map_err(|e| e.to_string())?;
        let mut png = Vec::new();
        image::DynamicImage::ImageRgba8(img)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| e.to_string())?;
        Ok(png)
    }

    fn take_min_confidence(&mut self) -> f32 {
        std::mem::replace(&mut self.min_conf, 1.0)
    }
}

/// An X11 screen robot's desktop: the display (an Xvfb marc started, if
/// any) and the program showing the system; both stop when dropped.
pub struct X11Desktop {
    program: std::process::Child,
    _xvfb: Option<marc_screen::Xvfb>,
}

impl Drop for X11Desktop {
    fn drop(&mut self) {
        let _ = self.program.kill();
        let _ = self.program.wait();
    }
}

/// Starts `program` on an X11 display (`None` or "auto": an Xvfb started
/// here) and binds its window titled `window`. `{marc}` in the program is
/// this marc binary.
pub fn x11_screen(
    program: &[String],
    window: &str,
    display: Option<&str>,
) -> Result<(OcrScreen, X11Desktop), String> {
    if program.is_empty() {
        return Err("no program to start on the X11 display".into());
    }
    let xvfb = match display.unwrap_or("auto") {
        "auto" => Some(marc_screen::Xvfb::start().map_err(|e| e.to_string())?),
        _ => None,
    };
    let display = xvfb
        .as_ref()
        .map(|x| x.display().to_string())
        .unwrap_or_else(|| display.unwrap_or_default().to_string());
    let me = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "marc".into());
    let args: Vec<String> = program.iter().map(|a| a.replace("{marc}", &me)).collect();
    let mut cmd = std::process::Command::new(&args[0]);
    // SAFETY: prctl is async-signal-safe. The program dies with the thread
    // that started it, even if this (robot) process is killed outright.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let child = cmd
        .args(&args[1..])
        .env("DISPLAY", &display)
        .env("LC_ALL", "C.UTF-8")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {:?} on display {display}: {e}", args[0]))?;
    let desktop = X11Desktop {
        program: child,
        _xvfb: xvfb,
    };
    let screen = marc_screen::X11Screen::connect_window(&display, window, Duration::from_secs(20))
        .map_err(|e| e.to_string())?;
    let ocr = shared_ocr()?;
    let mut s = OcrScreen::new(Box::new(screen), ocr);
    s.border = 2; // xterm pads its character grid by 2 px
    s.settle = true;
    Ok((s, desktop))
}
