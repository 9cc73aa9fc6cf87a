//! PNG metadata stripping: a screenshot must not carry text chunks (tEXt, iTXt, zTXt,
//! eXIf, iCCP names, private chunks) into the recording, where a secret could travel
//! unmasked. Keeping a whitelist of chunks that only describe pixels is exact and far
//! cheaper than decoding and re-encoding a 1280×800 image.

/// Chunks that only describe pixels; everything else is dropped.
const KEEP: [&[u8; 4]; 9] = [
    b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"cHRM", b"sRGB", b"pHYs",
];
const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Returns the PNG with only pixel-describing chunks, or why it is not a usable PNG.
/// Checks the signature, chunk bounds and CRCs, IHDR first, at least one IDAT and an
/// IEND; bytes after IEND are dropped.
pub fn strip_png(png: &[u8]) -> Result<Vec<u8>, String> {
    if png.len() < SIGNATURE.len() || &png[..8] != SIGNATURE {
        return Err("it does not start with the PNG signature".into());
    }
    let mut out = Vec::with_capacity(png.len());
    out.extend_from_slice(SIGNATURE);
    let mut pos = 8usize;
    let mut first = true;
    let mut idat = false;
    loop {
        if pos + 8 > png.len() {
            return Err("it ends before its IEND chunk (truncated)".into());
        }
        let len = u32::from_be_bytes([png[pos], png[pos + 1], png[pos + 2], png[pos + 3]]) as usize;
        let ty: [u8; 4] = [png[pos + 4], png[pos + 5], png[pos + 6], png[pos + 7]];
        let end = pos
            .checked_add(12)
            .and_then(|p| p.checked_add(len))
            .filter(|e| *e <= png.len())
            .ok_or_else(|| {
                format!(
                    "chunk {} at byte {pos} runs past the end",
                    String::from_utf8_lossy(&ty)
                )
            })?;
        let crc_stored =
            u32::from_be_bytes([png[end - 4], png[end - 3], png[end - 2], png[end - 1]]);
        if crc32fast::hash(&png[pos + 4..end - 4]) != crc_stored {
            return Err(format!(
                "chunk {} at byte {pos} has a wrong CRC (damaged)",
                String::from_utf8_lossy(&ty)
            ));
        }
        if first && &ty != b"IHDR" {
            return Err("its first chunk is not IHDR".into());
        }
        first = false;
        if KEEP.iter().any(|k| **k == ty) {
            out.extend_from_slice(&png[pos..end]);
        }
        idat |= &ty == b"IDAT";
        pos = end;
        if &ty == b"IEND" {
            break;
        }
    }
    if !idat {
        return Err("it has no image data (IDAT)".into());
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) fn chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(ty);
    c.extend_from_slice(data);
    let mut crc_in = ty.to_vec();
    crc_in.extend_from_slice(data);
    c.extend_from_slice(&crc32fast::hash(&crc_in).to_be_bytes());
    c
}

/// Inserts a chunk right after IHDR (for tests that smuggle text into a PNG).
#[cfg(test)]
pub(crate) fn insert_after_ihdr(png: &[u8], c: &[u8]) -> Vec<u8> {
    let ihdr_end = 8 + 12 + 13;
    let mut out = png[..ihdr_end].to_vec();
    out.extend_from_slice(c);
    out.extend_from_slice(&png[ihdr_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_png() -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(4, 3, |x, y| image::Rgb([x as u8 * 60, y as u8 * 80, 7]));
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, image::ImageFormat::Png).unwrap();
        buf.into_inner()
    }

    #[test]
    fn strips_text_chunks_and_keeps_pixels() {
        let png = tiny_png();
        let with_text = insert_after_ihdr(&png, &chunk(b"tEXt", b"Comment\0password=hunter2"));
        let with_text = insert_after_ihdr(
            &with_text,
            &chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0hunter2"),
        );
        let mut with_tail = with_text.clone();
        with_tail.extend_from_slice(b"hunter2 after IEND");
        let s = strip_png(&with_tail).unwrap();
        assert!(!s.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(strip_png(&png).unwrap(), s, "stripping is canonical");
        let a = image::load_from_memory(&s).unwrap().to_rgb8();
        let b = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_non_png_and_damage() {
        assert!(strip_png(b"GIF89a....").is_err());
        let png = tiny_png();
        assert!(strip_png(&png[..png.len() - 12])
            .unwrap_err()
            .contains("truncated"));
        let mut bad = png.clone();
        bad[20] ^= 1; // inside IHDR data
        assert!(strip_png(&bad).unwrap_err().contains("CRC"));
    }
}
