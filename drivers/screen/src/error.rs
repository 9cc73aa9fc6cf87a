//! The one error type of the screen driver. Every variant says what is missing and what to do,
//! because a robot author reading a failed run should not need to read this crate.

use std::path::PathBuf;

/// Everything that can go wrong while looking at a screen, typing into it or reading it.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    /// The traineddata file for an OCR language is not installed.
    #[error(
        "OCR language data '{lang}' is missing: no {path} (install the Debian package \
         tesseract-ocr-{lang}, or point TESSDATA_PREFIX at a directory holding {lang}.traineddata)"
    )]
    MissingLanguage { lang: String, path: PathBuf },

    /// The tesseract engine refused to start (bad language string, broken data file …).
    #[error("tesseract failed to initialise for languages '{languages}': {reason}")]
    OcrInit { languages: String, reason: String },

    /// Recognition itself failed.
    #[error("OCR failed: {0}")]
    Ocr(String),

    /// Bytes handed in are not a PNG or JPEG we can decode.
    #[error("cannot decode image ({0}); only PNG and JPEG are accepted")]
    Decode(String),

    /// A key specification such as `"abc{Entr}"` could not be parsed.
    #[error("bad key specification at character {pos}: {reason} (known names: Enter, Tab, Escape, Backspace, F1–F12, PageUp, PageDown, Up, Down, Left, Right, Home, End, {{ and }} for literal braces)")]
    KeySpec { pos: usize, reason: String },

    /// No X server answers on the display.
    #[error("cannot connect to X display '{display}': {reason} (is an X server / Xvfb running there? marc can start one itself with --display auto)")]
    NoDisplay { display: String, reason: String },

    /// The X server lacks an extension we need.
    #[error("X display '{display}' lacks the {extension} extension, needed to {purpose}")]
    MissingExtension {
        display: String,
        extension: &'static str,
        purpose: &'static str,
    },

    /// The window the screen was bound to no longer exists.
    #[error("window '{name}' (id 0x{id:x}) is gone: it was closed or its program exited")]
    WindowGone { name: String, id: u32 },

    /// No window with the requested name.
    #[error("no window named '{name}' on display '{display}' (windows seen: {seen})")]
    NoSuchWindow {
        name: String,
        display: String,
        seen: String,
    },

    /// A character has no keysym we could type.
    #[error("cannot type character {0:?}: no keysym for it and no spare keycode to remap")]
    Untypable(char),

    /// Any other X11 protocol failure.
    #[error("X11 error on display '{display}': {reason}")]
    X11 { display: String, reason: String },

    /// The pixel format of the X server is not one we decode.
    #[error("unsupported X11 pixel format: {0} (only 24/32-bit TrueColor is supported)")]
    PixelFormat(String),

    /// The Xvfb binary is not installed.
    #[error("Xvfb is not installed (install the Debian package xvfb): {0}")]
    XvfbMissing(String),

    /// Xvfb started but never became ready.
    #[error("Xvfb did not start: {0}")]
    XvfbStart(String),

    /// `wait_text` gave up. Carries what *was* on the screen so the author can see why.
    #[error("text {needle:?} did not appear within {waited_ms} ms; the screen showed: {screen:?}")]
    TextTimeout {
        needle: String,
        waited_ms: u128,
        screen: String,
    },

    /// `click_text` found nothing to click.
    #[error("text {needle:?} is not on the screen; the screen showed: {screen:?}")]
    TextNotFound { needle: String, screen: String },

    /// The screen backend failed in its own way (e.g. the WebDriver backend in the engine).
    #[error("screen backend failed: {0}")]
    Backend(String),
}

/// The first `n` characters of `s` (on char boundaries), with "…" when cut; used to put the
/// current screen text into error messages without flooding logs.
pub fn excerpt(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}
