//! Another citizen's CPR number in a robot's request (issue 12 §15).
//!
//! A robot works for one request, about one citizen. A script that searches
//! for another CPR number would collect another person's documents and have
//! them delivered to this citizen, so the proxy refuses any request whose
//! URL (path and query) or body carries a CPR number other than the
//! request's. Numbers are found by the screener's own scanner (every
//! separator of SPEC §4, date validation) in the text as sent, with `+` read
//! as a space, and percent-decoded once and twice, so `010190%2D1234`,
//! `010190+1234` and a double-encoded `%252D` are seen too.

use percent_encoding::percent_decode_str;

/// The request's CPR number as ten digits; `None` if `cpr` does not have
/// exactly ten digits (then nothing can be compared and nothing is checked).
pub(crate) fn own_digits(cpr: &str) -> Option<[u8; 10]> {
    marc_screening::cpr_digits(cpr)
}

/// The forms `text` may be read in: as sent, `+` as space, and up to two
/// rounds of percent-decoding (stopping when nothing changes).
fn readings(text: &str) -> Vec<String> {
    let mut out = vec![text.to_string()];
    let mut cur = text.replace('+', " ");
    for _ in 0..3 {
        if !out.contains(&cur) {
            out.push(cur.clone());
        }
        let next = percent_decode_str(&cur).decode_utf8_lossy().into_owned();
        if next == cur {
            break;
        }
        cur = next.replace('+', " ");
    }
    out
}

/// The first CPR number in `text` (in any of its [`readings`]) that is not
/// `own`, masked for messages as `DDMMYY-xxxx`.
pub(crate) fn foreign_cpr(own: &[u8; 10], text: &str) -> Option<String> {
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    readings(text).iter().find_map(|r| {
        marc_screening::scan_cpr(r)
            .into_iter()
            .find(|h| &h.digits != own)
            .map(|h| {
                let d: String = h.digits[..6].iter().map(|x| char::from(b'0' + x)).collect();
                format!("{d}-xxxx")
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "070761-4285";

    fn other(text: &str) -> Option<String> {
        foreign_cpr(&own_digits(OWN).unwrap(), text)
    }

    #[test]
    fn the_requests_own_number_passes_in_any_writing() {
        for t in [
            "/cases?cpr=0707614285",
            "/cases?cpr=070761-4285",
            "/cases?cpr=070761%2D4285",
            "/cases?cpr=070761+4285",
            "/cases?cpr=070761%204285",
            "/list?q=07.07.61-4285",
            "/cases?page=12&id=2023-0042",
            "/documents/ESDH-2019-000123",
        ] {
            assert_eq!(other(t), None, "{t}");
        }
    }

    #[test]
    fn another_number_is_found_in_any_common_writing() {
        for t in [
            "/cases?cpr=0101901234",
            "/cases?cpr=010190-1234",
            "/cases?cpr=010190%2D1234",
            "/cases?cpr=010190%2d1234",
            "/cases?cpr=010190+1234",
            "/cases?cpr=010190%201234",
            "/cases?cpr=010190%E2%80%931234",
            "/cases?cpr=010190%C2%A01234",
            "/cases?cpr=010190%252D1234",
            "/citizens/010190-1234/cases",
            "username=x&cpr=01.01.90-1234",
            "/cases?cpr=0707614285&also=0101901234",
        ] {
            assert_eq!(other(t).as_deref(), Some("010190-xxxx"), "{t}");
        }
    }

    #[test]
    fn impossible_dates_and_longer_numbers_are_not_cpr_numbers() {
        for t in ["/x?n=3213901234", "/x?t=1712345678901", "/x?n=12345"] {
            assert_eq!(other(t), None, "{t}");
        }
    }
}
