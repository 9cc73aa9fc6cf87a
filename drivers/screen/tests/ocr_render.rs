//! OCR on text drawn with a real font: dark on light and green on black, Danish with æøå.
//! Fails if the character error rate is above 1 %.

mod common;

use image::DynamicImage;
use marc_screen::{char_error_rate, locate, normalize_for_cer, Ocr, OcrOptions, ScreenError};

fn reference() -> String {
    normalize_for_cer(&common::TERMINAL_PAGE.join("\n"))
}

fn check(fg: [u8; 3], bg: [u8; 3], label: &str) {
    let ocr = Ocr::new(OcrOptions::default()).expect("tesseract with dan+eng");
    let img = common::render(&common::TERMINAL_PAGE, 15.0, fg, bg, 80, 24);
    let res = ocr.recognize(&DynamicImage::ImageRgba8(img)).unwrap();
    let got = normalize_for_cer(&res.text);
    let cer = char_error_rate(&reference(), &got);
    eprintln!(
        "{label}: CER {:.4} mean conf {:.3}\n{}",
        cer, res.mean_conf, res.text
    );
    assert!(
        cer <= 0.01,
        "{label}: CER {cer:.4} > 1 %; read:\n{}",
        res.text
    );
    assert!(
        res.mean_conf > 0.8,
        "{label}: mean confidence {}",
        res.mean_conf
    );
    // Boxes are in the coordinates of the rendered image: "PF8" is on row 23 of 24.
    let m = locate(&res, "næste side").expect("phrase found");
    assert!(m.y > 300 && m.x > 100, "box {m:?}");
    assert!(res.words.iter().all(|w| w.conf >= 0.0 && w.conf <= 1.0));
}

#[test]
fn dark_on_light_danish_text() {
    check([20, 20, 20], [250, 250, 250], "dark on light");
}

#[test]
fn green_on_black_terminal() {
    check([51, 255, 51], [0, 0, 0], "green on black");
}

#[test]
fn missing_language_is_a_clear_error() {
    let err = Ocr::new(OcrOptions {
        languages: "xxx".into(),
        ..OcrOptions::default()
    })
    .unwrap_err();
    assert!(matches!(err, ScreenError::MissingLanguage { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("tesseract-ocr-xxx") && msg.contains("xxx.traineddata"),
        "{msg}"
    );
}

#[test]
fn document_ocr_reads_png_bytes_and_rejects_garbage() {
    let ocr = Ocr::new(OcrOptions::document()).unwrap();
    let img = common::render(
        &["Afgørelse om økonomisk hjælp", "Bevilget: 4.500 kr."],
        40.0,
        [0, 0, 0],
        [255, 255, 255],
        40,
        2,
    );
    let mut png = Vec::new();
    DynamicImage::ImageRgba8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let (text, conf) = marc_screen::ocr_document_image(&ocr, &png).unwrap();
    assert!(text.contains("Afgørelse om økonomisk hjælp"), "{text}");
    assert!(conf > 0.8);
    let err = marc_screen::ocr_document_image(&ocr, b"not an image").unwrap_err();
    assert!(matches!(err, ScreenError::Decode(_)), "{err}");
}

#[test]
fn the_pool_serves_threads_in_parallel() {
    let ocr = std::sync::Arc::new(Ocr::new(OcrOptions::default()).unwrap());
    let img = DynamicImage::ImageRgba8(common::render(
        &["Hej med dig, Åse"],
        15.0,
        [0, 0, 0],
        [255, 255, 255],
        20,
        1,
    ));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (ocr, img) = (ocr.clone(), img.clone());
            std::thread::spawn(move || ocr.recognize(&img).map(|r| r.text))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), "Hej med dig, Åse");
    }
}
