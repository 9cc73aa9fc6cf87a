//! marc-screen: how a robot touches a system that has no DOM — terminals, Citrix, old
//! desktop clients, canvases. It looks at the screen ([`Screen::capture`]), reads it with
//! OCR ([`Ocr`], tesseract), and types and clicks ([`Screen::keys`], [`Screen::click_at`]).
//!
//! Two backends implement [`Screen`]: [`X11Screen`] here (X11 + XTEST, with [`Xvfb`] to start
//! a display), and the browser-canvas backend in the engine (WebDriver screenshots and
//! actions). The high-level operations robots use — [`find_text`], [`click_text`],
//! [`wait_text`] — work on any `Screen`.

mod error;
mod keys;
mod ocr;
mod x11;

use std::time::{Duration, Instant};

pub use error::{excerpt, ScreenError};
pub use keys::{parse_keys, webdriver_text, Key};
pub use ocr::{
    decode, document_prep, ocr_document_image, parse_tsv, prepare, tessdata_dir, Line, Ocr,
    OcrOptions, OcrResult, Prep, Prepared, Word, PSM_AUTO, PSM_SINGLE_BLOCK,
};
pub use x11::{char_keysym, keysym_for, X11Screen, Xvfb, CONNECT_TIMEOUT};

/// A screen a robot can look at and type into. Object-safe and `Send`, so the engine can
/// hold a `Box<dyn Screen>` per robot thread whatever the backend.
pub trait Screen: Send {
    /// The current picture of the screen (or the bound window).
    fn capture(&mut self) -> Result<image::RgbaImage, ScreenError>;
    /// Press keys in order (characters are typed, named keys pressed).
    fn keys(&mut self, keys: &[Key]) -> Result<(), ScreenError>;
    /// Left-click at a point in the coordinates of [`Screen::capture`]'s image.
    fn click_at(&mut self, x: i32, y: i32) -> Result<(), ScreenError>;
    /// What this screen is, for logs and session recordings.
    fn describe(&self) -> String;
}

/// Where a piece of text was found on the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct TextMatch {
    /// The OCR text of the words that matched (whole words, so may be longer than the needle).
    pub text: String,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    /// Mean confidence of the matched words, 0–1.
    pub conf: f32,
    /// Index of the line in [`OcrResult::lines`].
    pub line: usize,
}

impl TextMatch {
    /// The centre of the box, where a click goes.
    pub fn center(&self) -> (i32, i32) {
        (self.x + self.w / 2, self.y + self.h / 2)
    }
}

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Find `needle` in an OCR result: case-insensitive, whitespace-normalised, may span several
/// words of one line and may be part of a word (`"PF8"` in `"PF8=næste"`). First match in
/// reading order.
pub fn locate(res: &OcrResult, needle: &str) -> Option<TextMatch> {
    let needle = normalize(needle);
    if needle.is_empty() {
        return None;
    }
    for (li, line) in res.lines.iter().enumerate() {
        // Build the line's lowercase text, remembering each word's char span.
        let mut hay = String::new();
        let mut spans = Vec::with_capacity(line.words.len());
        for (i, w) in line.words.iter().enumerate() {
            if i > 0 {
                hay.push(' ');
            }
            let start = hay.len();
            hay.push_str(&w.text.to_lowercase());
            spans.push((start, hay.len()));
        }
        let Some(pos) = hay.find(&needle) else {
            continue;
        };
        let end = pos + needle.len();
        let hit: Vec<&Word> = line
            .words
            .iter()
            .zip(&spans)
            .filter(|(_, (s, e))| *s < end && *e > pos)
            .map(|(w, _)| w)
            .collect();
        if hit.is_empty() {
            continue;
        }
        let x0 = hit.iter().map(|w| w.x).min().unwrap_or(0);
        let y0 = hit.iter().map(|w| w.y).min().unwrap_or(0);
        let x1 = hit.iter().map(|w| w.x + w.w).max().unwrap_or(0);
        let y1 = hit.iter().map(|w| w.y + w.h).max().unwrap_or(0);
        return Some(TextMatch {
            text: hit
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
            conf: hit.iter().map(|w| w.conf).sum::<f32>() / hit.len() as f32,
            line: li,
        });
    }
    None
}

/// Group an OCR reading into the text rows of a fixed character grid (a terminal's 24 rows):
/// each OCR line goes to the row under its vertical centre, lines on one row are joined with a
/// space. `height` is the captured image's height and `border` the padding above the first
/// row (xterm: 2 px). Lets a terminal robot say "row 0 is the header, rows 5–20 the body"
/// instead of guessing from OCR line order, which skips empty rows.
pub fn grid_rows(res: &OcrResult, height: u32, rows: usize, border: i32) -> Vec<String> {
    let rows = rows.max(1);
    let mut out = vec![String::new(); rows];
    let cell = (height as f32 - 2.0 * border as f32).max(1.0) / rows as f32;
    for l in &res.lines {
        let centre = (l.y + l.h / 2 - border) as f32;
        let row = (centre / cell).floor().clamp(0.0, (rows - 1) as f32) as usize;
        if !out[row].is_empty() {
            out[row].push(' ');
        }
        out[row].push_str(&l.text);
    }
    out
}

/// Capture the screen and read it.
pub fn ocr_screen(screen: &mut dyn Screen, ocr: &Ocr) -> Result<OcrResult, ScreenError> {
    let img = screen.capture()?;
    ocr.recognize(&image::DynamicImage::ImageRgba8(img))
}

/// Capture, read, and find `needle` (see [`locate`] for the matching rules).
pub fn find_text(
    screen: &mut dyn Screen,
    ocr: &Ocr,
    needle: &str,
) -> Result<Option<TextMatch>, ScreenError> {
    let res = ocr_screen(screen, ocr)?;
    Ok(locate(&res, needle))
}

/// Mean OCR confidence below which a document read from a screen or a scan should be flagged
/// for a caseworker to check. Clean screens read at 0.93–0.95 here; 0.80 leaves room for
/// ordinary variation and catches bad scans and misread screens.
pub const LOW_CONFIDENCE_THRESHOLD: f32 = 0.80;

/// How much of the screen text goes into error messages.
pub const SCREEN_EXCERPT_CHARS: usize = 300;

/// Find `needle` and click the centre of its box. Not found → an error that shows what the
/// screen did say.
pub fn click_text(
    screen: &mut dyn Screen,
    ocr: &Ocr,
    needle: &str,
) -> Result<TextMatch, ScreenError> {
    let res = ocr_screen(screen, ocr)?;
    match locate(&res, needle) {
        Some(m) => {
            let (x, y) = m.center();
            screen.click_at(x, y)?;
            Ok(m)
        }
        None => Err(ScreenError::TextNotFound {
            needle: needle.into(),
            screen: excerpt(&res.text, SCREEN_EXCERPT_CHARS),
        }),
    }
}

/// Poll the screen until `needle` shows, and return the reading that contained it. Gives up
/// after `timeout` with an error carrying the first ~300 characters of the last reading.
/// Always reads at least once, so a zero timeout is a plain check.
pub fn wait_text(
    screen: &mut dyn Screen,
    ocr: &Ocr,
    needle: &str,
    timeout: Duration,
) -> Result<OcrResult, ScreenError> {
    let start = Instant::now();
    loop {
        let img = screen.capture()?;
        let res = ocr.recognize(&image::DynamicImage::ImageRgba8(img.clone()))?;
        if locate(&res, needle).is_some() {
            // Only a settled screen counts: a terminal may still be drawing
            // the rest of it. If it changed while it was read, read it again.
            if screen.capture()? == img || start.elapsed() >= timeout {
                return Ok(res);
            }
            continue;
        }
        if start.elapsed() >= timeout {
            return Err(ScreenError::TextTimeout {
                needle: needle.into(),
                waited_ms: start.elapsed().as_millis(),
                screen: excerpt(&res.text, SCREEN_EXCERPT_CHARS),
            });
        }
        std::thread::sleep(Duration::from_millis(100).min(timeout.saturating_sub(start.elapsed())));
    }
}

/// Parse `spec` (see [`parse_keys`]) and press the keys.
pub fn type_keys(screen: &mut dyn Screen, spec: &str) -> Result<(), ScreenError> {
    let keys = parse_keys(spec)?;
    screen.keys(&keys)
}

/// Character error rate: Levenshtein distance over characters divided by the reference
/// length (0 for a perfect reading; can exceed 1). Used by tests and by the extraction
/// check against testbed ground truth. Compare texts after the same normalisation
/// (e.g. [`normalize_for_cer`]) on both sides.
pub fn char_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let r: Vec<char> = reference.chars().collect();
    let h: Vec<char> = hypothesis.chars().collect();
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    let mut cur = vec![0; h.len() + 1];
    for (i, rc) in r.iter().enumerate() {
        cur[0] = i + 1;
        for (j, hc) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rc != hc);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[h.len()] as f64 / r.len() as f64
}

/// Collapse runs of whitespace (including line breaks) into single spaces and trim, so layout
/// differences between OCR output and source text do not count as character errors.
pub fn normalize_for_cer(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, x: i32, line: usize) -> Word {
        Word {
            text: text.into(),
            x,
            y: 10,
            w: 8 * text.chars().count() as i32,
            h: 12,
            conf: 0.9,
            line,
        }
    }

    fn result() -> OcrResult {
        let l0 = vec![word("CPR-søgning", 0, 0)];
        let l1 = vec![
            word("PF8=næste", 0, 1),
            word("side", 80, 1),
            word("PF3=Tilbage", 120, 1),
        ];
        let lines: Vec<Line> = [l0, l1]
            .into_iter()
            .map(|ws| Line {
                text: ws
                    .iter()
                    .map(|w| w.text.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
                x: 0,
                y: 10,
                w: 200,
                h: 12,
                conf: 0.9,
                words: ws,
            })
            .collect();
        OcrResult {
            words: lines.iter().flat_map(|l| l.words.clone()).collect(),
            text: lines
                .iter()
                .map(|l| l.text.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            lines,
            mean_conf: 0.9,
        }
    }

    #[test]
    fn locate_phrases_and_parts_of_words_case_insensitively() {
        let r = result();
        let m = locate(&r, "næste   SIDE").unwrap();
        assert_eq!(m.line, 1);
        assert_eq!(m.text, "PF8=næste side");
        assert_eq!((m.x, m.w), (0, 80 + 32));
        assert_eq!(locate(&r, "pf3").unwrap().x, 120);
        assert_eq!(locate(&r, "cpr-SØGNING").unwrap().line, 0);
        assert!(locate(&r, "slet").is_none());
        assert!(locate(&r, "  ").is_none());
    }

    #[test]
    fn lines_land_on_their_grid_rows() {
        let r = result(); // both lines at y 10, h 12 → centre 16
        let rows = grid_rows(&r, 24 * 20, 24, 0);
        assert_eq!(rows.len(), 24);
        assert_eq!(rows[0], "CPR-søgning PF8=næste side PF3=Tilbage");
        assert!(rows[1..].iter().all(String::is_empty));
        let rows = grid_rows(&r, 24 * 5, 24, 0);
        assert_eq!(rows[3], "CPR-søgning PF8=næste side PF3=Tilbage");
    }

    #[test]
    fn cer() {
        assert_eq!(char_error_rate("abc", "abc"), 0.0);
        assert!((char_error_rate("kærlig", "kaerlig") - 2.0 / 6.0).abs() < 1e-9);
        assert_eq!(char_error_rate("", ""), 0.0);
        assert_eq!(char_error_rate("ab", ""), 1.0);
        assert_eq!(normalize_for_cer(" a \n b\tc "), "a b c");
    }
}
