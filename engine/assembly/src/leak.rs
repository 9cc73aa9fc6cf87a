//! The leak check: re-reads the finished PDF with a reader that shares no
//! code with the writer (pdf-extract on lopdf, versus krilla on pdf-writer)
//! and searches the page text and every string/metadata stream in the file
//! for the marked strings, separator- and case-insensitively.

use std::collections::HashMap;

use pdf_extract::{Document as LoDoc, Object};

use crate::matching::{normalize_needle, Haystack, Needles};
use crate::{AssemblyError, Leak};

/// Text read back from a PDF: one string per page, then the other strings
/// (document info, XMP, outline titles, annotation texts).
pub(crate) struct Reread {
    pub(crate) pages: Vec<String>,
    pub(crate) other: Vec<String>,
}

fn decode_pdf_string(b: &[u8]) -> String {
    if b.len() >= 2 && b[0] == 0xFE && b[1] == 0xFF {
        let units: Vec<u16> = b[2..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(&b[3..]).into_owned()
    } else {
        // PDFDocEncoding is Latin-1 for the characters that matter here
        b.iter().map(|&c| char::from(c)).collect()
    }
}

fn collect_strings(o: &Object, out: &mut Vec<String>, depth: usize) {
    if depth > 32 {
        return;
    }
    match o {
        Object::String(b, _) => out.push(decode_pdf_string(b)),
        Object::Array(a) => a.iter().for_each(|x| collect_strings(x, out, depth + 1)),
        Object::Dictionary(d) => d
            .iter()
            .for_each(|(_, v)| collect_strings(v, out, depth + 1)),
        Object::Stream(s) => {
            s.dict
                .iter()
                .for_each(|(_, v)| collect_strings(v, out, depth + 1));
            let is_meta = matches!(s.dict.get(b"Type"), Ok(Object::Name(n)) if n == b"Metadata");
            if is_meta {
                let bytes = s
                    .decompressed_content()
                    .unwrap_or_else(|_| s.content.clone());
                out.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        _ => {}
    }
}

/// Reads a PDF back: one lopdf load, page text by pdf-extract (pages split
/// over the available cores), then every string object. Panics inside the
/// reader are caught and reported as an error, so a file we cannot check is
/// never treated as clean.
pub(crate) fn reread(pdf: &[u8]) -> Result<Reread, AssemblyError> {
    std::panic::catch_unwind(|| reread_inner(pdf))
        .map_err(|_| AssemblyError::Reread("the PDF reader crashed".into()))?
}

fn reread_inner(pdf: &[u8]) -> Result<Reread, AssemblyError> {
    let doc = LoDoc::load_mem(pdf).map_err(|e| AssemblyError::Reread(e.to_string()))?;
    if doc.is_encrypted() {
        return Err(AssemblyError::Reread("the PDF is encrypted".into()));
    }
    let n = doc.get_pages().len() as u32;
    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1)
        .clamp(1, 4) as u32;
    let chunk = n.div_ceil(threads).max(1);
    let doc_ref = &doc;
    let parts: Vec<Result<Vec<String>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || -> Result<Vec<String>, String> {
                    let mut out = Vec::new();
                    for page in (t * chunk + 1)..=((t + 1) * chunk).min(n) {
                        let mut text = String::new();
                        let mut dev = pdf_extract::PlainTextOutput::new(&mut text);
                        pdf_extract::output_doc_page(doc_ref, &mut dev, page)
                            .map_err(|e| format!("page {page}: {e}"))?;
                        out.push(text);
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("the PDF text extractor crashed".into()))
            })
            .collect()
    });
    let mut pages = Vec::with_capacity(n as usize);
    for p in parts {
        pages.extend(p.map_err(AssemblyError::Reread)?);
    }
    let mut other = Vec::new();
    for o in doc.objects.values() {
        collect_strings(o, &mut other, 0);
    }
    collect_strings(&Object::Dictionary(doc.trailer.clone()), &mut other, 0);
    Ok(Reread { pages, other })
}

/// Searches re-read text for needles. A needle is reported when it occurs
/// more often than `allowed` says (occurrences in trusted text such as the
/// authority's name on the cover page). Hits that lie inside an occurrence
/// of one of `own` (the citizen's own name, address, CPR — never redacted)
/// are not counted: another person's first name "Jens" inside the citizen's
/// own "Jens Åge Nørgaard" is not a leak.
pub(crate) fn find_leaks(
    reread: &Reread,
    marked: &[String],
    allowed: &HashMap<String, usize>,
    own: &[String],
) -> Result<Vec<Leak>, AssemblyError> {
    // unique normalised needles, remembering one original spelling
    let mut norm: Vec<String> = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    let mut seen = HashMap::new();
    for m in marked {
        let n = normalize_needle(m);
        if n.is_empty() || seen.contains_key(&n) {
            continue;
        }
        seen.insert(n.clone(), norm.len());
        norm.push(n);
        shown.push(m.clone());
    }
    let needles = Needles::new(&norm).map_err(AssemblyError::Reread)?;

    let mut text = String::new();
    let mut starts: Vec<(usize, Option<usize>)> = Vec::new();
    for (i, p) in reread.pages.iter().enumerate() {
        starts.push((text.len(), Some(i + 1)));
        text.push_str(p);
        text.push('\n');
    }
    for o in &reread.other {
        starts.push((text.len(), None));
        text.push_str(o);
        text.push('\n');
    }
    let hay = Haystack::new(&text);
    let own_norm: Vec<String> = own
        .iter()
        .map(|o| normalize_needle(o))
        .filter(|o| !o.is_empty())
        .collect();
    let own_hits = Needles::new(&own_norm)
        .map_err(AssemblyError::Reread)?
        .find(&hay);
    let inside_own = |s: usize, e: usize| own_hits.iter().any(|o| o.start <= s && e <= o.end);
    let hits: Vec<_> = needles
        .find(&hay)
        .into_iter()
        .filter(|h| !inside_own(h.start, h.end))
        .collect();
    let mut count = vec![0usize; norm.len()];
    for h in &hits {
        count[h.needle] += 1;
    }
    let mut leaks = Vec::new();
    for h in hits {
        let allow = allowed.get(&norm[h.needle]).copied().unwrap_or(0);
        if count[h.needle] <= allow {
            continue;
        }
        let page = match starts.binary_search_by(|(s, _)| s.cmp(&h.start)) {
            Ok(i) => starts[i].1,
            Err(0) => None,
            Err(i) => starts[i - 1].1,
        };
        leaks.push(Leak {
            needle: shown[h.needle].clone(),
            found_as: text[h.start..h.end].to_string(),
            page,
        });
    }
    Ok(leaks)
}

/// How often each needle occurs in trusted text (same matching rules).
pub(crate) fn allowance(
    trusted: &[String],
    marked: &[String],
    own: &[String],
) -> Result<HashMap<String, usize>, AssemblyError> {
    let mut norm: Vec<String> = marked
        .iter()
        .map(|m| normalize_needle(m))
        .filter(|n| !n.is_empty())
        .collect();
    norm.sort();
    norm.dedup();
    let needles = Needles::new(&norm).map_err(AssemblyError::Reread)?;
    let own_norm: Vec<String> = own
        .iter()
        .map(|o| normalize_needle(o))
        .filter(|o| !o.is_empty())
        .collect();
    let own_needles = Needles::new(&own_norm).map_err(AssemblyError::Reread)?;
    let mut map = HashMap::new();
    for t in trusted {
        let hay = Haystack::new(t);
        let own_hits = own_needles.find(&hay);
        for h in needles.find(&hay) {
            if own_hits
                .iter()
                .any(|o| o.start <= h.start && h.end <= o.end)
            {
                continue;
            }
            *map.entry(norm[h.needle].clone()).or_insert(0) += 1;
        }
    }
    Ok(map)
}
