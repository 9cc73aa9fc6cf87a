//! Font loading and metrics. We measure and map glyphs ourselves (ttf-parser)
//! so that line breaking uses exactly the advances that are written, and so
//! that every character that reaches the PDF is one the font can show.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use krilla::text::{Font, GlyphId, KrillaGlyph};

use crate::AssemblyError;

/// The Debian package that ships the default fonts.
pub const FONT_PACKAGE: &str = "fonts-dejavu-core";
/// Where Debian installs DejaVu.
pub const SYSTEM_FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";
const REGULAR: &str = "DejaVuSans.ttf";
const BOLD: &str = "DejaVuSans-Bold.ttf";

/// One font face with a char → (glyph id, advance in em) table.
pub(crate) struct Face {
    pub(crate) font: Font,
    map: HashMap<char, (u16, f32)>,
    /// The character drawn for anything the font cannot show.
    pub(crate) fallback: char,
    pub(crate) ascent: f32,
    pub(crate) descent: f32,
}

impl Face {
    fn load(path: &Path) -> Result<Face, AssemblyError> {
        let data = std::fs::read(path).map_err(|e| AssemblyError::FontMissing {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let (map, ascent, descent) = {
            let face =
                ttf_parser::Face::parse(&data, 0).map_err(|e| AssemblyError::FontInvalid {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
            let upem = f32::from(face.units_per_em().max(1));
            let mut map = HashMap::new();
            if let Some(cmap) = face.tables().cmap {
                for st in cmap.subtables {
                    if !st.is_unicode() {
                        continue;
                    }
                    st.codepoints(|cp| {
                        if let (Some(c), Some(g)) = (char::from_u32(cp), st.glyph_index(cp)) {
                            let adv = f32::from(face.glyph_hor_advance(g).unwrap_or(0)) / upem;
                            map.entry(c).or_insert((g.0, adv));
                        }
                    });
                }
            }
            (
                map,
                f32::from(face.ascender()) / upem,
                -f32::from(face.descender()) / upem,
            )
        };
        if !map.contains_key(&'a') || !map.contains_key(&'ø') {
            return Err(AssemblyError::FontInvalid {
                path: path.to_path_buf(),
                reason: "the font has no glyphs for Latin/Danish letters (a, ø)".into(),
            });
        }
        let fallback = if map.contains_key(&'\u{FFFD}') {
            '\u{FFFD}'
        } else {
            '?'
        };
        let font =
            Font::new(Arc::new(data).into(), 0).ok_or_else(|| AssemblyError::FontInvalid {
                path: path.to_path_buf(),
                reason: "the PDF writer could not read the font".into(),
            })?;
        Ok(Face {
            font,
            map,
            fallback,
            ascent,
            descent,
        })
    }

    /// Whether the font has a glyph for `c`.
    pub(crate) fn has(&self, c: char) -> bool {
        self.map.contains_key(&c)
    }

    fn advance(&self, c: char) -> f32 {
        self.map
            .get(&c)
            .or_else(|| self.map.get(&self.fallback))
            .map(|g| g.1)
            .unwrap_or(0.5)
    }

    /// Width of `s` at `size` points.
    pub(crate) fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.advance(c)).sum::<f32>() * size
    }

    /// Width of one char at `size` points.
    pub(crate) fn char_width(&self, c: char, size: f32) -> f32 {
        self.advance(c) * size
    }

    /// Glyphs for already sanitised text (every char is in the font).
    pub(crate) fn glyphs(&self, s: &str) -> Vec<KrillaGlyph> {
        s.char_indices()
            .map(|(i, c)| {
                let (gid, adv) = self
                    .map
                    .get(&c)
                    .or_else(|| self.map.get(&self.fallback))
                    .copied()
                    .unwrap_or((0, 0.5));
                KrillaGlyph::new(
                    GlyphId::new(u32::from(gid)),
                    adv,
                    0.0,
                    0.0,
                    0.0,
                    i..i + c.len_utf8(),
                    None,
                )
            })
            .collect()
    }
}

/// The fonts a PDF is written with: a regular and a bold face, embedded as
/// subsets. Load once and reuse for every request.
pub struct Fonts {
    pub(crate) regular: Face,
    pub(crate) bold: Face,
    dir: PathBuf,
}

impl Fonts {
    /// Loads `DejaVuSans.ttf` and `DejaVuSans-Bold.ttf` from `dir`.
    pub fn load(dir: &Path) -> Result<Fonts, AssemblyError> {
        Ok(Fonts {
            regular: Face::load(&dir.join(REGULAR))?,
            bold: Face::load(&dir.join(BOLD))?,
            dir: dir.to_path_buf(),
        })
    }

    /// Loads DejaVu from the Debian location; the error names the package to
    /// install when the fonts are missing.
    pub fn system() -> Result<Fonts, AssemblyError> {
        Fonts::load(Path::new(SYSTEM_FONT_DIR)).map_err(|e| match e {
            AssemblyError::FontMissing { path, reason } => AssemblyError::FontMissing {
                path,
                reason: format!("{reason}; install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})"),
            },
            other => other,
        })
    }

    /// The directory the fonts were read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn face(&self, bold: bool) -> &Face {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }
}

/// Makes text safe to draw: drops control and bidi-control characters, turns
/// tabs into spaces and anything the font lacks into its replacement glyph.
/// Newlines must have been split off by the caller.
pub(crate) fn sanitize(s: &str, face: &Face) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' | '\n' | '\u{00A0}' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if c.is_control() => {}
            '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}' => {}
            c if face.has(c) => out.push(c),
            _ => out.push(face.fallback),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn fonts_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<super::Fonts>();
    }
}
