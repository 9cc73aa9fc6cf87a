//! Turns a text and its marks into paragraphs of [`Seg`]s. A marked span
//! becomes a `Seg::Redacted` that keeps only the span's text for measuring;
//! the renderer never draws it.

use marc_model::{Mark, MarkKind};

use crate::layout::Seg;

/// Byte ranges to remove, merged and aligned to char boundaries.
pub(crate) fn redaction_ranges(text: &str, marks: &[Mark]) -> Vec<(usize, usize, MarkKind)> {
    let mut ranges: Vec<(usize, usize, MarkKind)> = Vec::new();
    for m in marks {
        let span_ok = m.start < m.end
            && m.end <= text.len()
            && text.is_char_boundary(m.start)
            && text.is_char_boundary(m.end)
            && (m.text.is_empty() || text[m.start..m.end] == m.text);
        if span_ok {
            ranges.push((m.start, m.end, m.kind));
            continue;
        }
        // The span does not fit the text (stale offsets, wrong encoding):
        // fall back to removing every occurrence of the marked text, and the
        // clamped span too, so nothing marked survives by accident.
        if !m.text.is_empty() {
            for (i, _) in text.match_indices(m.text.as_str()) {
                ranges.push((i, i + m.text.len(), m.kind));
            }
        }
        let mut s = m.start.min(text.len());
        let mut e = m.end.min(text.len());
        while s > 0 && !text.is_char_boundary(s) {
            s -= 1;
        }
        while e < text.len() && !text.is_char_boundary(e) {
            e += 1;
        }
        if s < e {
            ranges.push((s, e, m.kind));
        }
    }
    ranges.sort_by_key(|r| (r.0, r.1));
    let mut merged: Vec<(usize, usize, MarkKind)> = Vec::new();
    for r in ranges {
        if let Some(last) = merged.last_mut() {
            if r.0 <= last.1 {
                last.1 = last.1.max(r.1);
                // a personal-data kind wins over a word, for the label
                if last.2 == MarkKind::Word {
                    last.2 = r.2;
                }
                continue;
            }
        }
        merged.push(r);
    }
    merged
}

/// Paragraphs (split at newlines) with redacted spans as boxes.
pub(crate) fn paragraphs(text: &str, marks: &[Mark]) -> Vec<Vec<Seg>> {
    let ranges = redaction_ranges(text, marks);
    let mut paras: Vec<Vec<Seg>> = vec![Vec::new()];
    let push_text = |paras: &mut Vec<Vec<Seg>>, t: &str| {
        let mut first = true;
        for line in t.split('\n') {
            if !first {
                paras.push(Vec::new());
            }
            first = false;
            if !line.is_empty() {
                if let Some(p) = paras.last_mut() {
                    p.push(Seg::Text(line.to_string()));
                }
            }
        }
    };
    let mut pos = 0;
    for (s, e, kind) in ranges {
        push_text(&mut paras, &text[pos..s]);
        if let Some(p) = paras.last_mut() {
            p.push(Seg::Redacted {
                width_of: text[s..e].replace(['\n', '\r'], " "),
                kind,
            });
        }
        pos = e;
    }
    push_text(&mut paras, &text[pos..]);
    // drop trailing empty paragraphs
    while paras.len() > 1 && paras.last().is_some_and(|p| p.is_empty()) {
        paras.pop();
    }
    paras
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(text: &str, s: usize, e: usize, kind: MarkKind) -> Mark {
        Mark {
            start: s,
            end: e,
            kind,
            text: text.into(),
            confidence: 1.0,
            reason: String::new(),
            review: false,
        }
    }

    fn visible(paras: &[Vec<Seg>]) -> String {
        paras
            .iter()
            .map(|p| {
                p.iter()
                    .filter_map(|s| {
                        if let Seg::Text(t) = s {
                            Some(t.as_str())
                        } else {
                            None
                        }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn spans_and_bad_offsets() {
        let t = "Mødt: Jens Hansen, 010190-1234.\nØvrigt: misbrug";
        let s = t.find("Jens").unwrap();
        let marks = vec![
            mark("Jens Hansen", s, s + 11, MarkKind::Name),
            // wrong offsets: found by text instead
            mark("010190-1234", 999, 1010, MarkKind::Cpr),
            // offsets inside a multi-byte char: widened, never panics
            mark("", 1, 2, MarkKind::Word),
            mark("misbrug", t.len() - 7, t.len(), MarkKind::Word),
        ];
        let p = paragraphs(t, &marks);
        let v = visible(&p);
        assert!(!v.contains("Jens"), "{v}");
        assert!(!v.contains("1234"), "{v}");
        assert!(!v.contains("misbrug"), "{v}");
        assert!(!v.contains('ø'), "the widened span covers ø: {v}");
        assert_eq!(p.len(), 2);
    }
}
