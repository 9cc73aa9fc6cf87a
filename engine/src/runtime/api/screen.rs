//! Screen functions (robots without a DOM) and OCR of any canvas, image
//! element or image file (any robot).

use super::{driver_failure, to_dynamic, RResult, Summary};
use crate::runtime::files::FileHandle;
use crate::runtime::{Failure, FailureKind, RobotEnv, ScreenAccess, ScreenText, ScreenWord};
use rhai::{Array, Dynamic, Engine, Map};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl RobotEnv {
    /// Runs `f` on the robot's screen and records it as the step `cmd`.
    fn with_screen<T: Summary>(
        &self,
        cmd: &str,
        args: &[&str],
        f: impl FnOnce(&mut dyn ScreenAccess) -> Result<T, String>,
    ) -> RResult<T> {
        let Some(s) = &self.screen else {
            return self.fail_as(
                FailureKind::Script,
                format!("{cmd}: this robot has no screen (its manifest's driver is not screen-canvas or screen-x11); to read a canvas or an image in a web page use ocr(selector)"),
            );
        };
        let t0 = Instant::now();
        let mut guard = match s.lock() {
            Ok(g) => g,
            Err(_) => {
                return self.fail_as(
                    FailureKind::Driver,
                    "the screen driver failed earlier in this run",
                )
            }
        };
        let r = f(guard.as_mut()).map_err(|m| Failure::new(FailureKind::Driver, m));
        drop(guard);
        self.act_since(t0, cmd, args, None, async move { r })
    }

    /// Reads a document image with OCR, keeping the lowest confidence for
    /// the next emitted document.
    fn ocr_image(&self, png: &[u8]) -> Result<ScreenText, Failure> {
        let driver = |m: String| Failure::new(FailureKind::Driver, m);
        let ocr = crate::screens::shared_ocr().map_err(driver)?;
        let img = marc_screen::decode(png).map_err(|e| driver(e.to_string()))?;
        // Line by line across the whole width: a scan or a form drawn on a
        // canvas, not a newspaper page in columns.
        let prep = marc_screen::Prep {
            psm: marc_screen::PSM_SINGLE_BLOCK,
            ..marc_screen::document_prep(&img)
        };
        let r = ocr
            .recognize_with(&img, prep)
            .map_err(|e| driver(e.to_string()))?;
        if let Ok(mut c) = self.run.ocr_conf.lock() {
            *c = Some(c.map_or(r.mean_conf, |c| c.min(r.mean_conf)));
        }
        Ok(ScreenText::from_ocr(&r, Vec::new()))
    }

    /// The whole of an element in the page, read with OCR.
    fn ocr_element(&self, sel: &str) -> RResult<ScreenText> {
        let b = self.web()?;
        let t0 = Instant::now();
        let s = sel.to_string();
        let shot = self
            .handle
            .block_on(async move { b.capture_element(&s).await })
            .map_err(driver_failure);
        let r = shot.and_then(|c| self.ocr_image(&c.png));
        self.act_since(t0, "ocr", &[sel], None, async move { r })
    }

    fn ocr_file(&self, f: &FileHandle) -> RResult<ScreenText> {
        let t0 = Instant::now();
        let name = f.describe();
        let r = if f.is_image() {
            self.ocr_image(&f.data().bytes)
        } else {
            Err(Failure::new(
                FailureKind::Script,
                format!("{name} is not an image; for a PDF use pdf_text(file)"),
            ))
        };
        self.act_since(t0, "ocr", &[&name], None, async move { r })
    }
}

fn text_map(t: &ScreenText) -> RResult<Map> {
    let mut m = Map::new();
    m.insert("text".into(), Dynamic::from(t.text.clone()));
    m.insert("conf".into(), Dynamic::from(t.mean_conf as f64));
    m.insert("words".into(), to_dynamic(&t.words)?);
    Ok(m)
}

pub(super) fn register(engine: &mut Engine, env: Arc<RobotEnv>) {
    let e = env.clone();
    api!(engine, "ocr", ["Map"], "Screen robots: captures the screen and reads it with OCR: #{text, conf, words: [#{text, x, y, w, h, conf, line}]}.", move || -> RResult<Map> {
        let t = e.with_screen("ocr", &[], |s| s.ocr())?;
        text_map(&t)
    });
    let e = env.clone();
    api!(engine, "ocr", ["selector: &str", "Map"], "Any web robot: reads a canvas or image element with OCR, the whole element even when it is taller than the window (a canvas or same-origin image from its own pixels, anything else captured with the window enlarged); an error, never a partial reading, when it cannot be captured whole. Returns #{text, conf, words} like `ocr()`; the lowest confidence is kept as the next emitted document's `ocr_confidence`.", move |sel: &str| -> RResult<Map> {
        let t = e.ocr_element(sel)?;
        text_map(&t)
    });
    let e = env.clone();
    api!(engine, "ocr", ["image: File", "Map"], "Reads an image file (a `screenshot()` or a downloaded scan) with OCR: #{text, conf, words}.", move |f: FileHandle| -> RResult<Map> {
        let t = e.ocr_file(&f)?;
        text_map(&t)
    });
    let e = env.clone();
    api!(engine, "screen_rows", ["Array"], "Captures the screen and returns the OCR text of each row of the character grid (24 for a terminal); empty rows are empty strings.", move || -> RResult<Array> {
        let t = e.with_screen("ocr", &[], |s| s.ocr())?;
        Ok(t.rows.into_iter().map(Dynamic::from).collect())
    });
    let e = env.clone();
    api!(
        engine,
        "screen_text",
        ["String"],
        "Captures the screen and returns the OCR text, lines separated by newlines.",
        move || -> RResult<String> { Ok(e.with_screen("ocr", &[], |s| s.ocr())?.text) }
    );
    let e = env.clone();
    api!(
        engine,
        "keys",
        ["spec: &str", "()"],
        "Types keys: plain text plus named keys in braces, e.g. \"12345{Enter}{F8}{Tab}\".",
        move |spec: &str| -> RResult<()> { e.with_screen("keys", &[spec], |s| s.keys(spec)) }
    );
    let e = env.clone();
    api!(
        engine,
        "click_at",
        ["x: i64", "y: i64", "()"],
        "Clicks at screen coordinates.",
        move |x: i64, y: i64| -> RResult<()> {
            e.with_screen("click_at", &[&x.to_string(), &y.to_string()], |s| {
                s.click_at(x as i32, y as i32)
            })
        }
    );
    let e = env.clone();
    api!(engine, "find_text", ["text: &str", "Dynamic"], "Finds text on the screen (case-insensitive, phrases allowed): #{text, x, y, w, h, conf} or ().", move |needle: &str| -> RResult<Dynamic> {
        let t = e.with_screen("find_text", &[needle], |s| s.ocr())?;
        match find_phrase(&t, needle) {
            Some(w) => to_dynamic(&w),
            None => Ok(Dynamic::UNIT),
        }
    });
    let e = env.clone();
    api!(engine, "click_text", ["text: &str", "()"], "Finds text on the screen with OCR and clicks its centre; an error saying what was on the screen if it is not there.", move |needle: &str| -> RResult<()> {
        let t = e.with_screen("click_text", &[needle], |s| s.ocr())?;
        match find_phrase(&t, needle) {
            Some(w) => e.with_screen("click_at", &[needle], |s| s.click_at(w.x + w.w / 2, w.y + w.h / 2)),
            None => e.fail_as(FailureKind::System, format!("click_text: {needle:?} is not on the screen; it shows: {}", excerpt(&t.text))),
        }
    });
    let e = env;
    api!(engine, "wait_text", ["text: &str", "ms: i64", "Map"], "Waits up to `ms` milliseconds until text appears on the screen; returns the OCR result, or an error that quotes what the screen showed.", move |needle: &str, ms: i64| -> RResult<Map> {
        let deadline = Instant::now() + Duration::from_millis(ms.clamp(0, 600_000) as u64);
        loop {
            let t = e.with_screen("wait_text", &[needle], |s| s.ocr())?;
            if find_phrase(&t, needle).is_some() || t.text.to_lowercase().contains(&needle.to_lowercase()) {
                return text_map(&t);
            }
            if Instant::now() >= deadline {
                return e.fail_as(FailureKind::System, format!("wait_text: {needle:?} did not appear within {ms} ms; the screen shows: {}", excerpt(&t.text)));
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    });
}

fn excerpt(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.chars().take(300).collect()
}

/// Finds a phrase in OCR words: consecutive words on one line whose text,
/// case-folded, matches the phrase's words.
pub fn find_phrase(t: &ScreenText, needle: &str) -> Option<ScreenWord> {
    let want: Vec<String> = needle
        .split_whitespace()
        .map(|w| w.to_lowercase())
        .collect();
    if want.is_empty() {
        return None;
    }
    let words = &t.words;
    for i in 0..words.len() {
        let mut ok = true;
        for (k, w) in want.iter().enumerate() {
            match words.get(i + k) {
                Some(x) if x.line == words[i].line && norm(&x.text).contains(&norm(w)) => {}
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            let last = &words[i + want.len() - 1];
            let first = &words[i];
            return Some(ScreenWord {
                text: needle.to_string(),
                x: first.x,
                y: first.y.min(last.y),
                w: last.x + last.w - first.x,
                h: first.h.max(last.h),
                conf: first.conf.min(last.conf),
                line: first.line,
            });
        }
    }
    None
}

fn norm(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '=')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrase_search() {
        let w = |t: &str, x: i32, line: usize| ScreenWord {
            text: t.into(),
            x,
            y: 0,
            w: 10,
            h: 10,
            conf: 0.9,
            line,
        };
        let t = ScreenText {
            text: String::new(),
            mean_conf: 0.9,
            words: vec![
                w("PF8", 0, 1),
                w("=", 20, 1),
                w("Næste", 40, 1),
                w("side", 60, 1),
            ],
            rows: vec![],
        };
        let hit = find_phrase(&t, "næste side").unwrap();
        assert_eq!((hit.x, hit.w), (40, 30));
        assert!(find_phrase(&t, "forrige side").is_none());
    }

    /// A page with a canvas far taller than the window, holding `lines`.
    fn tall_canvas_page(lines: &[String]) -> String {
        use base64::Engine as _;
        let js_lines = serde_json::to_string(lines).unwrap();
        let html = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"margin:0\"><p>Scanning</p>\
             <canvas id=\"scan\" width=\"900\" height=\"{h}\"></canvas><script>\
             const g = document.getElementById('scan').getContext('2d');\
             g.font = '26px DejaVu Sans'; g.fillStyle = 'black';\
             {js_lines}.forEach((t, i) => g.fillText(t, 30, 60 + i * 48));\
             </script><div id=\"notes\" style=\"font: 26px DejaVu Sans; width: 900px; background: white\">{divs}</div></body></html>",
            divs = lines.iter().map(|l| format!("<p>{l}</p>")).collect::<String>(),
            h = 60 + lines.len() * 48
        );
        format!(
            "data:text/html;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(html)
        )
    }

    #[test]
    fn ocr_reads_the_whole_of_a_canvas_taller_than_the_window() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let driver = rt
            .block_on(marc_webdriver::Chromedriver::start(None))
            .expect("chromedriver");
        let opts = marc_webdriver::BrowserOptions {
            window: (1000, 600),
            ..Default::default()
        };
        let browser = Arc::new(
            rt.block_on(marc_webdriver::Browser::open(driver.url(), &opts))
                .unwrap(),
        );
        let words = [
            "Borgeren", "har", "søgt", "om", "hjælp", "til", "bolig", "og", "kørsel",
        ];
        let lines: Vec<String> = (1..=36)
            .map(|i| {
                format!(
                    "Linje {i:02}: {} {}",
                    words[i % words.len()],
                    words[(i * 5) % words.len()]
                )
            })
            .collect();
        let docs = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut env = RobotEnv::for_check(rt.handle().clone());
        env.browser = Some(browser.clone());
        let d2 = docs.clone();
        env.sink = Box::new(move |d| {
            d2.lock().unwrap().push(d);
            Ok(true)
        });
        let env = Arc::new(env);
        let url = tall_canvas_page(&lines);
        let src = format!(
            "navigate({url:?});\nwait_for(\"#scan\", 5000);\nlet t = ocr(\"#scan\");\n\
             let shot = screenshot();\nlet v = ocr(shot);\n\
             emit(#{{case_id: \"S\", doc_id: \"scan\", title: \"Scanning\", date: \"2020-01-01\", text: t.text, attachments: [shot]}});\n\
             if !v.text.contains(\"Scanning\") {{ fail(\"the screenshot handle did not read\"); }}\n\
             let n = ocr(\"#notes\");\n\
             if !n.text.contains(\"Linje 36\") {{ fail(\"the div was not read whole: \" + n.text); }}"
        );
        let r = std::thread::scope(|s| {
            s.spawn(|| {
                crate::runtime::run_script(
                    env.clone(),
                    &crate::runtime::Script::inline("t.rhai", &src),
                )
            })
            .join()
            .unwrap()
        });
        drop(env);
        if let Ok(b) = Arc::try_unwrap(browser) {
            let _ = rt.block_on(b.close());
        }
        rt.block_on(driver.stop());
        r.unwrap();
        let docs = docs.lock().unwrap();
        let text = &docs[0].text;
        let found = lines.iter().filter(|l| text.contains(l.as_str())).count();
        let cer = marc_screen::char_error_rate(&lines.join("\n"), text);
        assert!(
            found >= lines.len() - 2 && cer < 0.03,
            "read {found} of {} lines (CER {cer:.3}) of a canvas taller than the window:\n{text}",
            lines.len()
        );
        // The last lines are far below the window's 600 px.
        assert!(text.contains("Linje 36"), "{text}");
        assert_eq!(docs[0].attachments[0].method, "ocr");
        assert!(docs[0].ocr_confidence.is_some_and(|c| c > 0.5));
    }
}
