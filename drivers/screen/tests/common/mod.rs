//! Test helpers: render text with a real TrueType font (DejaVu Sans Mono), so OCR tests read
//! pixels drawn the way a terminal or a canvas draws them.
#![allow(dead_code)]

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{Rgba, RgbaImage};

pub const MONO: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";

pub fn font() -> FontVec {
    let bytes = std::fs::read(MONO).expect("DejaVu Sans Mono (Debian package fonts-dejavu-core)");
    FontVec::try_from_vec(bytes).expect("valid font")
}

/// Draw `lines` in a monospace grid (like an 80×24 terminal), `px` pixels per em.
pub fn render(
    lines: &[&str],
    px: f32,
    fg: [u8; 3],
    bg: [u8; 3],
    cols: usize,
    rows: usize,
) -> RgbaImage {
    let font = font();
    let scale = PxScale::from(px);
    let sf = font.as_scaled(scale);
    let cell_w = sf.h_advance(font.glyph_id('M')).ceil() as u32;
    let cell_h = (sf.height() + sf.line_gap()).ceil() as u32 + 2;
    let margin = 8;
    let mut img = RgbaImage::from_pixel(
        cell_w * cols as u32 + 2 * margin,
        cell_h * rows as u32 + 2 * margin,
        Rgba([bg[0], bg[1], bg[2], 255]),
    );
    for (row, line) in lines.iter().enumerate().take(rows) {
        for (col, ch) in line.chars().enumerate().take(cols) {
            let x = margin as f32 + col as f32 * cell_w as f32;
            let y = margin as f32 + row as f32 * cell_h as f32 + sf.ascent();
            let glyph = font
                .glyph_id(ch)
                .with_scale_and_position(scale, ab_glyph::point(x, y));
            if let Some(og) = font.outline_glyph(glyph) {
                let b = og.px_bounds();
                og.draw(|gx, gy, c| {
                    let px_x = b.min.x as i32 + gx as i32;
                    let px_y = b.min.y as i32 + gy as i32;
                    if px_x < 0
                        || px_y < 0
                        || px_x as u32 >= img.width()
                        || px_y as u32 >= img.height()
                    {
                        return;
                    }
                    let p = img.get_pixel_mut(px_x as u32, px_y as u32);
                    for i in 0..3 {
                        let v = bg[i] as f32 * (1.0 - c) + fg[i] as f32 * c;
                        p.0[i] = v.round().clamp(0.0, 255.0) as u8;
                    }
                });
            }
        }
    }
    img
}

/// A green-screen case-system page, 80×24, used by the OCR tests and the benchmark.
pub const TERMINAL_PAGE: [&str; 24] = [
    "KOMMUNENS SAGSSYSTEM  --  DOKUMENTVISNING                      Side 2 af 5",
    "",
    "Sag:      2024-0117      Afdeling:  Børn og Unge",
    "Borger:   Søren Ærøskøbing Hansen",
    "Dokument: Notat om hjemmebesøg             Dato: 14.03.2024",
    "",
    "Ved besøget på Østergade 17, 2. tv., 8000 Århus C, mødte jeg",
    "borgeren og hendes søster. Økonomien er svær, og der er behov",
    "for hjælp til husleje i de næste måneder. Sagsbehandleren",
    "aftalte et nyt møde den 28. marts kl. 10.30 på rådhuset.",
    "",
    "Familien ønsker støtte til fritidsaktiviteter for børnene.",
    "Der er søgt om tilskud efter servicelovens regler.",
    "Jørgen fra Åbyhøj deltog også i mødet som bisidder.",
    "",
    "Vurdering: Ansøgningen kan behandles, når lønsedler for",
    "januar og februar er modtaget fra arbejdsgiveren.",
    "",
    "",
    "",
    "",
    "",
    "",
    "PF3 = Tilbage   PF7 = Forrige side   PF8 = Næste side   PF12 = Afslut",
];
