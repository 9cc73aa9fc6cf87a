//! OCR through tesseract (Debian's libtesseract 5 via the `tesseract` crate's plumbing).
//!
//! Why a pool: a tesseract engine takes ~100–300 ms to initialise (it loads the traineddata)
//! and is `Send` but not `Sync`. [`Ocr`] initialises engines once and hands one to each
//! concurrent caller, so a robot pays initialisation once per process, not once per screen.
//!
//! Why preprocessing: screens use small bitmap-ish fonts that tesseract (trained on ~300 dpi
//! print) reads badly at 1:1; a 3× upscale fixes most of it. Terminals are often light text on
//! a dark background, which tesseract's binariser handles worse than dark on light, so dark
//! images are inverted first.

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use image::{DynamicImage, GrayImage, Luma};
use tesseract::plumbing::tesseract_sys::TessPageSegMode;
use tesseract::plumbing::TessBaseApi;

use crate::error::ScreenError;

/// One recognised word, in the coordinates of the image given to [`Ocr::recognize`].
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    /// Confidence 0–1 as reported by tesseract.
    pub conf: f32,
    /// Index into [`OcrResult::lines`].
    pub line: usize,
}

/// One recognised text line: its words joined by single spaces, and the union of their boxes.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    /// Mean confidence of the line's words, 0–1.
    pub conf: f32,
    pub words: Vec<Word>,
}

/// The result of reading one image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OcrResult {
    pub words: Vec<Word>,
    pub lines: Vec<Line>,
    /// Mean word confidence 0–1 (0 when nothing was read). Below ~0.8 a caseworker should check.
    pub mean_conf: f32,
    /// The lines' text joined with `\n`, top to bottom.
    pub text: String,
}

/// How to set up the engines and prepare images.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrOptions {
    /// Tesseract language string, e.g. `"dan+eng"`.
    pub languages: String,
    /// Integer upscale before recognition; 3 suits screen fonts, 1 suits 300 dpi scans.
    pub scale: u32,
    /// Binarise (Otsu) before recognition. Helps on noisy scans, rarely on clean screens.
    pub threshold: bool,
    /// Tesseract page segmentation mode (0–13). `None` = 6 (one uniform block of text), the
    /// API's default, which reads a screen line by line across columns; 3 (automatic layout,
    /// the `tesseract` command's default) suits multi-column scanned pages better.
    pub psm: Option<u32>,
    /// Invert images whose mean brightness is below half (light-on-dark terminals).
    pub invert_if_dark: bool,
}

impl Default for OcrOptions {
    /// Settings for screens: Danish + English, 3× upscale, invert dark screens.
    fn default() -> Self {
        OcrOptions {
            languages: "dan+eng".into(),
            scale: 3,
            threshold: false,
            psm: None,
            invert_if_dark: true,
        }
    }
}

impl OcrOptions {
    /// Settings for scanned documents (already ~300 dpi): no upscale, no inversion,
    /// automatic page layout.
    pub fn document() -> Self {
        OcrOptions {
            scale: 1,
            invert_if_dark: false,
            psm: Some(PSM_AUTO),
            ..OcrOptions::default()
        }
    }
}

/// Per-call image preparation, so one engine pool can read both screens and scans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prep {
    pub scale: u32,
    pub threshold: bool,
    pub invert_if_dark: bool,
    /// Page segmentation mode for this call (see [`OcrOptions::psm`]).
    pub psm: u32,
}

/// Page segmentation: one uniform block of text (tesseract API default; screens).
pub const PSM_SINGLE_BLOCK: u32 = 6;
/// Page segmentation: fully automatic layout (the `tesseract` command's default; scans).
pub const PSM_AUTO: u32 = 3;

/// A pool of initialised tesseract engines; `Send + Sync`, share it behind an `Arc`.
pub struct Ocr {
    opts: OcrOptions,
    datapath: Option<PathBuf>,
    idle: Mutex<Pool>,
    freed: Condvar,
    max: usize,
}

struct Pool {
    engines: Vec<TessBaseApi>,
    created: usize,
}

impl std::fmt::Debug for Ocr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ocr")
            .field("opts", &self.opts)
            .field("datapath", &self.datapath)
            .field("max", &self.max)
            .finish()
    }
}

/// Where tesseract will look for traineddata: `$TESSDATA_PREFIX` (with or without a trailing
/// `tessdata`), else the Debian locations.
pub fn tessdata_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TESSDATA_PREFIX") {
        let p = PathBuf::from(p);
        if p.join("tessdata").is_dir() {
            return Some(p.join("tessdata"));
        }
        return Some(p);
    }
    [
        "/usr/share/tesseract-ocr/5/tessdata",
        "/usr/share/tesseract-ocr/4.00/tessdata",
        "/usr/share/tessdata",
        "/usr/local/share/tessdata",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_dir())
}

/// Check that every language in `"dan+eng"` has a traineddata file, before tesseract prints
/// its own cryptic message and returns a bare failure.
fn check_languages(languages: &str, dir: &Path) -> Result<(), ScreenError> {
    for lang in languages.split('+').map(str::trim) {
        if lang.is_empty()
            || !lang
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ScreenError::OcrInit {
                languages: languages.into(),
                reason: format!("'{lang}' is not a language name (expected e.g. dan+eng)"),
            });
        }
        let path = dir.join(format!("{lang}.traineddata"));
        if !path.is_file() {
            return Err(ScreenError::MissingLanguage {
                lang: lang.into(),
                path,
            });
        }
    }
    Ok(())
}

/// Keep tesseract's OpenMP on the calling thread. Debian's libtesseract is built with OpenMP
/// and its LSTM code asks for fixed team sizes (`num_threads(…)` clauses), which ignore
/// `omp_set_num_threads`; libgomp reads `OMP_THREAD_LIMIT` only when it is loaded (before
/// `main`), so setting that variable at run time is too late. What does work at run time is
/// `omp_set_max_active_levels(0)`: every parallel region then runs on one thread. Measured
/// here on a loaded 2-core machine: 14 s per screen with OpenMP teams, 2.4 s without.
/// The setting is per thread in libgomp, so this runs once on every recognising thread.
/// Looked up with `dlsym`, so a libtesseract built without OpenMP still works.
fn limit_openmp_threads() {
    type SetInt = unsafe extern "C" fn(c_int);
    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }
    thread_local! {
        static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    // RTLD_DEFAULT is the null handle on glibc.
    // SAFETY: dlsym with NUL-terminated names; each symbol, if present, has the C signature
    // `void f(int)` (OpenMP 4.5 runtime API).
    unsafe {
        for (name, value) in [
            (c"omp_set_dynamic", 0),
            (c"omp_set_num_threads", 1),
            (c"omp_set_max_active_levels", 0),
        ] {
            let sym = dlsym(std::ptr::null_mut(), name.as_ptr());
            if !sym.is_null() {
                let f: SetInt = std::mem::transmute::<*mut c_void, SetInt>(sym);
                f(value);
            }
        }
    }
}

impl Ocr {
    /// Start the pool with one engine (created now, so a missing language fails here and not
    /// on the first screen). More engines are created on demand, up to the number of CPUs.
    pub fn new(opts: OcrOptions) -> Result<Ocr, ScreenError> {
        if opts.scale == 0 || opts.scale > 8 {
            return Err(ScreenError::OcrInit {
                languages: opts.languages.clone(),
                reason: format!("scale {} is out of range 1–8", opts.scale),
            });
        }
        if let Some(p) = opts.psm {
            if p > 13 {
                return Err(ScreenError::OcrInit {
                    languages: opts.languages.clone(),
                    reason: format!("page segmentation mode {p} is out of range 0–13"),
                });
            }
        }
        let datapath = tessdata_dir();
        match &datapath {
            Some(dir) => check_languages(&opts.languages, dir)?,
            None => {
                let lang = opts
                    .languages
                    .split('+')
                    .next()
                    .unwrap_or("dan")
                    .to_string();
                return Err(ScreenError::MissingLanguage {
                    path: PathBuf::from(format!(
                        "/usr/share/tesseract-ocr/5/tessdata/{lang}.traineddata"
                    )),
                    lang,
                });
            }
        }
        let max = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(1);
        let ocr = Ocr {
            opts,
            datapath,
            idle: Mutex::new(Pool {
                engines: Vec::new(),
                created: 0,
            }),
            freed: Condvar::new(),
            max,
        };
        let first = ocr.create_engine()?;
        {
            let mut pool = ocr.lock();
            pool.engines.push(first);
            pool.created = 1;
        }
        Ok(ocr)
    }

    /// The options this pool was built with.
    pub fn options(&self) -> &OcrOptions {
        &self.opts
    }

    /// The preparation used by [`Ocr::recognize`].
    pub fn default_prep(&self) -> Prep {
        Prep {
            scale: self.opts.scale,
            threshold: self.opts.threshold,
            invert_if_dark: self.opts.invert_if_dark,
            psm: self.opts.psm.unwrap_or(PSM_SINGLE_BLOCK),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pool> {
        // A panic while holding the lock leaves a plain Vec behind: still usable.
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn create_engine(&self) -> Result<TessBaseApi, ScreenError> {
        let init_err = |reason: &str| ScreenError::OcrInit {
            languages: self.opts.languages.clone(),
            reason: reason.into(),
        };
        let lang = CString::new(self.opts.languages.as_str())
            .map_err(|_| init_err("language string contains NUL"))?;
        let dp = match &self.datapath {
            Some(p) => Some(
                CString::new(p.to_string_lossy().as_bytes())
                    .map_err(|_| init_err("tessdata path contains NUL"))?,
            ),
            None => None,
        };
        let mut api = TessBaseApi::create();
        api.init_2(dp.as_deref(), Some(&lang)).map_err(|_| {
            init_err("TessBaseAPI::Init returned an error (is the traineddata file complete?)")
        })?;
        // Silence tesseract's chatter on stderr (resolution estimates, etc.).
        let _ = api.set_variable(c"debug_file", c"/dev/null");
        Ok(api)
    }

    /// Borrow an engine: an idle one, a new one if below the limit, else wait for one.
    fn checkout(&self) -> Result<TessBaseApi, ScreenError> {
        let mut pool = self.lock();
        loop {
            if let Some(e) = pool.engines.pop() {
                return Ok(e);
            }
            if pool.created < self.max {
                pool.created += 1;
                drop(pool);
                return self.create_engine().inspect_err(|_| {
                    self.lock().created -= 1;
                });
            }
            pool = self.freed.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn checkin(&self, e: TessBaseApi) {
        self.lock().engines.push(e);
        self.freed.notify_one();
    }

    /// Read an image with the pool's default preparation.
    pub fn recognize(&self, img: &DynamicImage) -> Result<OcrResult, ScreenError> {
        self.recognize_with(img, self.default_prep())
    }

    /// Decode a PNG or JPEG and read it with the default preparation.
    pub fn recognize_bytes(&self, png_or_jpeg: &[u8]) -> Result<OcrResult, ScreenError> {
        let img = decode(png_or_jpeg)?;
        self.recognize(&img)
    }

    /// Read an image with an explicit preparation (e.g. a scan at scale 1 through a screen pool).
    pub fn recognize_with(&self, img: &DynamicImage, prep: Prep) -> Result<OcrResult, ScreenError> {
        if img.width() == 0 || img.height() == 0 {
            return Ok(OcrResult::default());
        }
        let prepared = prepare(img, prep);
        let scale = prepared.scale as i32;
        let mut engine = self.checkout()?;
        let out = run_engine(&mut engine, &prepared.image, prep.psm.min(13));
        match out {
            Ok(tsv) => {
                self.checkin(engine);
                Ok(parse_tsv(&tsv, scale, PAD as i32))
            }
            Err(e) => {
                // The engine may be in a bad state: drop it and let the pool make a new one.
                self.lock().created -= 1;
                self.freed.notify_one();
                Err(e)
            }
        }
    }
}

fn run_engine(engine: &mut TessBaseApi, img: &GrayImage, psm: u32) -> Result<String, ScreenError> {
    limit_openmp_threads();
    engine.set_page_seg_mode(psm as TessPageSegMode);
    let (w, h) = (img.width() as c_int, img.height() as c_int);
    engine
        .set_image(img.as_raw(), w, h, 1, w)
        .map_err(|e| ScreenError::Ocr(format!("set image: {e}")))?;
    // Screens carry no resolution; tell tesseract something plausible so it does not guess.
    engine.set_source_resolution(300);
    engine
        .recognize()
        .map_err(|_| ScreenError::Ocr("tesseract Recognize failed".into()))?;
    let tsv = engine
        .get_tsv_text(0)
        .map_err(|_| ScreenError::Ocr("tesseract returned no TSV text".into()))?;
    Ok(tsv.as_ref().to_string_lossy().into_owned())
}

/// Decode PNG or JPEG bytes.
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, ScreenError> {
    image::load_from_memory(bytes).map_err(|e| ScreenError::Decode(e.to_string()))
}

/// Border (in source pixels) added around the image: tesseract misses text touching the edge.
const PAD: u32 = 6;

/// A prepared image: grey, maybe inverted, padded, scaled, maybe binarised.
pub struct Prepared {
    pub image: GrayImage,
    pub inverted: bool,
    /// The upscale actually applied (the requested one, lowered for very large images).
    pub scale: u32,
}

/// Longest side, in pixels, an upscaled image may have: beyond it the scale is lowered, so a
/// 4K screenshot does not become a 75-megapixel image that takes tesseract minutes.
pub const MAX_SCALED_SIDE: u32 = 6000;

/// Prepare an image for tesseract. Public so tests and tools can look at what the engine sees.
pub fn prepare(img: &DynamicImage, prep: Prep) -> Prepared {
    let mut grey = img.to_luma8();
    let mean = if grey.is_empty() {
        255.0
    } else {
        grey.as_raw().iter().map(|&v| v as f64).sum::<f64>() / grey.as_raw().len() as f64
    };
    let inverted = prep.invert_if_dark && mean < 128.0;
    if inverted {
        image::imageops::invert(&mut grey);
    }
    let (w, h) = grey.dimensions();
    let mut padded = GrayImage::from_pixel(w + 2 * PAD, h + 2 * PAD, Luma([255]));
    image::imageops::replace(&mut padded, &grey, PAD as i64, PAD as i64);
    let longest = padded.width().max(padded.height()).max(1);
    let scale = prep.scale.clamp(1, (MAX_SCALED_SIDE / longest).max(1));
    let mut out = if scale == 1 {
        padded
    } else {
        image::imageops::resize(
            &padded,
            padded.width() * scale,
            padded.height() * scale,
            image::imageops::FilterType::CatmullRom,
        )
    };
    if prep.threshold {
        let t = otsu_level(&out);
        for p in out.pixels_mut() {
            p.0[0] = if p.0[0] > t { 255 } else { 0 };
        }
    }
    Prepared {
        image: out,
        inverted,
        scale,
    }
}

/// Otsu's threshold over a grey image.
fn otsu_level(img: &GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for p in img.as_raw() {
        hist[*p as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w_b, mut sum_b, mut best, mut level) = (0u64, 0f64, 0f64, 127u8);
    for (t, &c) in hist.iter().enumerate() {
        w_b += c;
        if w_b == 0 {
            continue;
        }
        let w_f = total - w_b;
        if w_f == 0 {
            break;
        }
        sum_b += t as f64 * c as f64;
        let m_b = sum_b / w_b as f64;
        let m_f = (sum_all - sum_b) / w_f as f64;
        let between = w_b as f64 * w_f as f64 * (m_b - m_f).powi(2);
        if between > best {
            best = between;
            level = t as u8;
        }
    }
    level
}

/// Parse tesseract's TSV output (level, page, block, par, line, word, left, top, width,
/// height, conf, text) into words and lines, mapping boxes back through padding and scale.
pub fn parse_tsv(tsv: &str, scale: i32, pad: i32) -> OcrResult {
    let scale = scale.max(1);
    let mut res = OcrResult::default();
    let mut current: Option<(u32, u32, u32)> = None;
    for row in tsv.lines() {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<i64>().unwrap_or(0);
        let text = cols[11].trim();
        if text.is_empty() {
            continue;
        }
        let conf = cols[10].trim().parse::<f32>().unwrap_or(-1.0);
        if conf < 0.0 {
            continue;
        }
        let key = (num(2) as u32, num(3) as u32, num(4) as u32);
        let map = |v: i64| ((v as i32) / scale - pad).max(0);
        let x = map(num(6));
        let y = map(num(7));
        let w = ((num(8) as i32) + scale - 1) / scale;
        let h = ((num(9) as i32) + scale - 1) / scale;
        if current != Some(key) {
            current = Some(key);
            res.lines.push(Line {
                text: String::new(),
                x,
                y,
                w: 0,
                h: 0,
                conf: 0.0,
                words: Vec::new(),
            });
        }
        let line_idx = res.lines.len() - 1;
        let word = Word {
            text: text.to_string(),
            x,
            y,
            w,
            h,
            conf: (conf / 100.0).clamp(0.0, 1.0),
            line: line_idx,
        };
        res.lines[line_idx].words.push(word.clone());
        res.words.push(word);
    }
    for line in &mut res.lines {
        let x0 = line.words.iter().map(|w| w.x).min().unwrap_or(0);
        let y0 = line.words.iter().map(|w| w.y).min().unwrap_or(0);
        let x1 = line.words.iter().map(|w| w.x + w.w).max().unwrap_or(0);
        let y1 = line.words.iter().map(|w| w.y + w.h).max().unwrap_or(0);
        line.x = x0;
        line.y = y0;
        line.w = x1 - x0;
        line.h = y1 - y0;
        line.text = line
            .words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        line.conf = line.words.iter().map(|w| w.conf).sum::<f32>() / line.words.len().max(1) as f32;
    }
    if !res.words.is_empty() {
        res.mean_conf = res.words.iter().map(|w| w.conf).sum::<f32>() / res.words.len() as f32;
    }
    res.text = res
        .lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    res
}

/// OCR for attachments (scanned images; image-only PDFs rendered to images by the caller):
/// plain text and mean confidence 0–1. Small images (phone photos of a screen, thumbnails)
/// are upscaled 2×, page-sized scans are read as they are, with automatic page layout.
pub fn ocr_document_image(ocr: &Ocr, bytes: &[u8]) -> Result<(String, f32), ScreenError> {
    let img = decode(bytes)?;
    let res = ocr.recognize_with(&img, document_prep(&img))?;
    Ok((res.text, res.mean_conf))
}

/// How to read a document image (a scan, a page drawn on a canvas): small
/// ones upscaled 2×, page-sized ones as they are, automatic page layout.
pub fn document_prep(img: &DynamicImage) -> Prep {
    let scale = if img.width().max(img.height()) < 1400 {
        2
    } else {
        1
    };
    Prep {
        scale,
        threshold: false,
        invert_if_dark: true,
        psm: PSM_AUTO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_rows_become_words_and_lines_in_source_coordinates() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t300\t300\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t30\t30\t30\t15\t96.5\tHej\n\
                   5\t1\t1\t1\t1\t2\t90\t30\t60\t15\t90\tverden\n\
                   5\t1\t1\t1\t2\t1\t30\t60\t30\t15\t80\tæøå\n";
        let r = parse_tsv(tsv, 3, 6);
        assert_eq!(r.words.len(), 3);
        assert_eq!(r.lines.len(), 2);
        assert_eq!(r.text, "Hej verden\næøå");
        assert_eq!(
            (r.words[0].x, r.words[0].y, r.words[0].w, r.words[0].h),
            (4, 4, 10, 5)
        );
        assert_eq!(r.lines[0].w, (90 / 3 - 6) + 60 / 3 - 4);
        assert_eq!(r.words[2].line, 1);
        assert!((r.mean_conf - (0.965 + 0.9 + 0.8) / 3.0).abs() < 1e-4);
    }

    #[test]
    fn dark_images_are_inverted_and_padded_and_scaled() {
        let img = DynamicImage::ImageLuma8(GrayImage::from_pixel(10, 5, Luma([10])));
        let p = prepare(
            &img,
            Prep {
                scale: 3,
                threshold: true,
                invert_if_dark: true,
                psm: 6,
            },
        );
        assert!(p.inverted);
        assert_eq!(p.image.dimensions(), ((10 + 12) * 3, (5 + 12) * 3));
        let wide = DynamicImage::ImageLuma8(GrayImage::from_pixel(3000, 10, Luma([200])));
        let p = prepare(
            &wide,
            Prep {
                scale: 3,
                threshold: false,
                invert_if_dark: true,
                psm: 6,
            },
        );
        assert_eq!((p.scale, p.image.width()), (1, 3012));
        let light = DynamicImage::ImageLuma8(GrayImage::from_pixel(10, 5, Luma([200])));
        assert!(
            !prepare(
                &light,
                Prep {
                    scale: 1,
                    threshold: false,
                    invert_if_dark: true,
                    psm: PSM_SINGLE_BLOCK,
                }
            )
            .inverted
        );
    }

    #[test]
    fn missing_language_names_the_debian_package() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_languages("dan+xxx", dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains("tesseract-ocr-dan"), "{err}");
        assert!(check_languages("../etc", dir.path()).is_err());
    }
}
