//! Tuning aid: OCR accuracy of the rendered 80×24 test page across font sizes, colours,
//! upscale factors and resampling filters. Run: `cargo run --release -p marc-screen --example ocr_tune`.
#[path = "../tests/common/mod.rs"]
mod common;
use image::{imageops::FilterType, DynamicImage};
use marc_screen::*;
fn main() {
    let reference = normalize_for_cer(&common::TERMINAL_PAGE.join("\n"));
    let ocr = Ocr::new(OcrOptions {
        scale: 1,
        ..OcrOptions::default()
    })
    .unwrap();
    for px in [13.0f32, 15.0, 17.0] {
        for (fg, bg) in [
            ([20u8, 20, 20], [250u8, 250, 250]),
            ([51, 255, 51], [0, 0, 0]),
        ] {
            let img = DynamicImage::ImageRgba8(common::render(
                &common::TERMINAL_PAGE,
                px,
                fg,
                bg,
                80,
                24,
            ));
            for scale in [2u32, 3] {
                for filter in [
                    FilterType::Triangle,
                    FilterType::CatmullRom,
                    FilterType::Lanczos3,
                ] {
                    let up = DynamicImage::ImageRgba8(image::imageops::resize(
                        &img,
                        img.width() * scale,
                        img.height() * scale,
                        filter,
                    ));
                    let t = std::time::Instant::now();
                    let r = ocr.recognize(&up).unwrap();
                    let cer = char_error_rate(&reference, &normalize_for_cer(&r.text));
                    let diff: Vec<String> = r
                        .text
                        .lines()
                        .zip(
                            common::TERMINAL_PAGE
                                .iter()
                                .filter(|l| !l.trim().is_empty()),
                        )
                        .filter(|(a, b)| normalize_for_cer(a) != normalize_for_cer(b))
                        .map(|(a, _)| a.to_string())
                        .collect();
                    println!("px {px} bg {:?} scale {scale} {filter:?}: CER {cer:.4} conf {:.3} {:?} {:?}", bg[0], r.mean_conf, t.elapsed(), diff);
                }
            }
        }
    }
}
