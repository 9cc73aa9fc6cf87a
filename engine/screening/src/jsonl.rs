//! `marc screen` over JSON Lines: one request per line in, its marks out.

use crate::{PartyData, Screener, Subject, WordMatcher};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};

/// Counts from one run of [`screen_jsonl`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonlReport {
    /// Non-empty input lines.
    pub lines: usize,
    /// Lines that could not be processed (each reported to `errors`).
    pub failed: usize,
    /// Marks written.
    pub marks: usize,
}

/// A subject as the input gives it; every field may be left out.
#[derive(Deserialize, Default)]
struct InSubject {
    #[serde(default)]
    cpr: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address: Option<String>,
    /// The party's own phone numbers, e-mail addresses, accounts, former
    /// addresses and former names (`PartyData`), never marked.
    #[serde(flatten)]
    data: PartyData,
}

impl InSubject {
    fn split(self) -> (Subject, PartyData) {
        (
            Subject {
                cpr: self.cpr.unwrap_or_default(),
                name: self.name.unwrap_or_default(),
                address: self.address.unwrap_or_default(),
            },
            self.data,
        )
    }
}

#[derive(Deserialize)]
struct InLine {
    id: serde_json::Value,
    text: String,
    #[serde(default)]
    subject: Option<InSubject>,
    /// Consented parties (optional extension): never marked either.
    #[serde(default)]
    consented: Vec<InSubject>,
    #[serde(default)]
    words: Vec<String>,
}

#[derive(Serialize)]
struct OutMark<'a> {
    start: usize,
    end: usize,
    kind: &'static str,
    text: &'a str,
    confidence: f32,
    review: bool,
    reason: &'a str,
}

#[derive(Serialize)]
struct OutLine<'a> {
    id: &'a serde_json::Value,
    marks: Vec<OutMark<'a>>,
}

/// Screens JSON Lines: input `{"id","text","subject":{"name","cpr","address"},"words":[...]}`,
/// output `{"id","marks":[{"start","end","kind","text","confidence","review","reason"}]}`
/// with UTF-8 byte offsets. A malformed line is reported to `errors` with
/// its line number and reason and the rest are still processed; the caller
/// turns `failed > 0` into a failing exit code.
pub fn screen_jsonl(
    screener: &Screener,
    input: impl BufRead,
    mut output: impl Write,
    mut errors: impl Write,
) -> std::io::Result<JsonlReport> {
    let mut rep = JsonlReport::default();
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                rep.failed += 1;
                writeln!(errors, "line {n}: cannot read: {e} (is the file UTF-8?)")?;
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        rep.lines += 1;
        let req: InLine = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                rep.failed += 1;
                writeln!(
                    errors,
                    "line {n}: not a screening request ({e}); expected {{\"id\": ..., \"text\": \"...\", \"subject\": {{\"name\", \"cpr\", \"address\"}}, \"words\": [...]}}"
                )?;
                continue;
            }
        };
        let (known, data): (Vec<Subject>, Vec<PartyData>) = req
            .subject
            .into_iter()
            .chain(req.consented)
            .map(InSubject::split)
            .unzip();
        let extra = (!req.words.is_empty()).then(|| WordMatcher::new(&req.words));
        let marks = screener
            .screen_request_full(&[req.text.as_str()], &known, &data, extra.as_ref())
            .pop()
            .unwrap_or_default();
        rep.marks += marks.len();
        let out = OutLine {
            id: &req.id,
            marks: marks
                .iter()
                .map(|m| OutMark {
                    start: m.start,
                    end: m.end,
                    kind: m.kind.as_str(),
                    text: &m.text,
                    confidence: (m.confidence * 100.0).round() / 100.0,
                    review: m.review,
                    reason: &m.reason,
                })
                .collect(),
        };
        serde_json::to_writer(&mut output, &out)?;
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lexicon, ScreenConfig};

    #[test]
    fn reports_bad_lines_and_goes_on() {
        let s = Screener::new(Lexicon::builtin(), ScreenConfig::default());
        let input = "{\"id\":\"a\",\"text\":\"cpr 010190-1235 og misbrug\",\"subject\":{\"cpr\":\"\",\"name\":\"\"},\"words\":[\"misbrug\"]}\nnot json\n\n{\"id\":2,\"text\":\"ingen\"}\n";
        let mut out = Vec::new();
        let mut err = Vec::new();
        let rep = screen_jsonl(&s, input.as_bytes(), &mut out, &mut err).unwrap();
        assert_eq!(
            rep,
            JsonlReport {
                lines: 3,
                failed: 1,
                marks: 2
            }
        );
        let err = String::from_utf8(err).unwrap();
        assert!(err.starts_with("line 2:"), "{err}");
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.lines().count(), 2);
        assert!(out.contains("\"kind\":\"cpr\""));
    }

    #[test]
    fn invalid_utf8_line_is_reported_and_skipped() {
        let s = Screener::new(Lexicon::builtin(), ScreenConfig::default());
        let mut input = b"{\"id\":1,\"text\":\"a\"}\n".to_vec();
        input.extend_from_slice(b"\xff\xfe bad\n");
        input.extend_from_slice(b"{\"id\":3,\"text\":\"Peter Hansen\"}\n");
        let mut out = Vec::new();
        let mut err = Vec::new();
        let rep = screen_jsonl(&s, &input[..], &mut out, &mut err).unwrap();
        assert_eq!(rep.failed, 1);
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
        assert!(String::from_utf8(err).unwrap().starts_with("line 2:"));
    }
}
