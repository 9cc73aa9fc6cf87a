//! Save a screenshot of an X11 display or one window, and print what OCR reads on it.
//!
//!     cargo run -p marc-screen --example x11_shot -- :99 [window-title] [out.png]

use std::time::Duration;

use marc_screen::{Ocr, OcrOptions, Screen, X11Screen};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let display = args
        .next()
        .ok_or("usage: x11_shot DISPLAY [WINDOW] [OUT.png]")?;
    let window = args.next().filter(|w| !w.is_empty());
    let out = args.next().unwrap_or_else(|| "screen.png".into());
    let mut s = match &window {
        Some(w) => X11Screen::connect_window(&display, w, Duration::from_secs(5))?,
        None => X11Screen::connect(&display)?,
    };
    let img = s.capture()?;
    img.save(&out)?;
    let ocr = Ocr::new(OcrOptions::default())?;
    let res = ocr.recognize(&image::DynamicImage::ImageRgba8(img))?;
    println!(
        "{} → {out} (mean confidence {:.2})\n{}",
        s.describe(),
        res.mean_conf,
        res.text
    );
    Ok(())
}
