use serde::{Deserialize, Serialize};

/// What kind of information a mark covers; each kind has its own label on
/// the redaction box and its own explanation and legal basis in the reading
/// guide, so the citizen can tell a removed phone number from a removed name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarkKind {
    /// Another person's CPR number (also misread by OCR, or written in words).
    Cpr,
    /// Another person's name (with a title such as "hr." or "fru").
    Name,
    /// Another person's private address.
    Address,
    /// A word from the municipality's list of sensitive words.
    Word,
    /// Another person's telephone number.
    Phone,
    /// Another person's e-mail address.
    Email,
    /// Another person's bank account number or IBAN.
    Account,
}

impl MarkKind {
    /// Every kind, in the order the reading guide explains them.
    pub const ALL: [MarkKind; 7] = [
        MarkKind::Name,
        MarkKind::Address,
        MarkKind::Cpr,
        MarkKind::Phone,
        MarkKind::Email,
        MarkKind::Account,
        MarkKind::Word,
    ];

    /// The name used in JSON and the CLI ("cpr", "phone", ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            MarkKind::Cpr => "cpr",
            MarkKind::Name => "name",
            MarkKind::Address => "address",
            MarkKind::Word => "word",
            MarkKind::Phone => "phone",
            MarkKind::Email => "email",
            MarkKind::Account => "account",
        }
    }

    /// Other plain forms of a marked text that the leak check must look for
    /// too, because the same value may stand unmarked elsewhere in another
    /// spelling: a CPR number misread by OCR or written in words as its ten
    /// digits, a phone number with a country code as its national digits, a
    /// Danish IBAN as its registration and account number, the local part of
    /// an e-mail address built from a name.
    pub fn plain_forms(&self, text: &str) -> Vec<String> {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        match self {
            MarkKind::Cpr => spelled_digits(text)
                .filter(|d| d.len() == 10 && *d != digits)
                .into_iter()
                .collect(),
            MarkKind::Phone => {
                let national = digits
                    .strip_prefix("0045")
                    .or_else(|| digits.strip_prefix("45").filter(|d| d.len() == 8));
                national.map(str::to_string).into_iter().collect()
            }
            MarkKind::Account => {
                let iban = text
                    .trim_start()
                    .get(..2)
                    .is_some_and(|c| c.eq_ignore_ascii_case("dk"));
                (iban && digits.len() == 16)
                    .then(|| digits[2..].to_string())
                    .into_iter()
                    .collect()
            }
            MarkKind::Email => text
                .split_once('@')
                .map(|(local, _)| local.trim())
                .filter(|l| l.chars().filter(|c| c.is_alphanumeric()).count() >= 8)
                .map(str::to_string)
                .into_iter()
                .collect(),
            MarkKind::Name | MarkKind::Address | MarkKind::Word => Vec::new(),
        }
    }
}

/// A span of a document's text that screening wants removed (or reviewed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// UTF-8 byte offset where the span starts.
    pub start: usize,
    /// UTF-8 byte offset one past the span.
    pub end: usize,
    pub kind: MarkKind,
    /// The matched text (the same as `text[start..end]`).
    pub text: String,
    /// 0–1; low values need a caseworker's eye.
    pub confidence: f32,
    /// A short human reason, e.g. "CPR with valid date and context word".
    #[serde(default)]
    pub reason: String,
    /// Whether a caseworker should look at it before delivery.
    #[serde(default)]
    pub review: bool,
}

/// The digit an OCR engine may have read as this letter ("O" for 0, "l"
/// for 1), shared by the CPR scanner and the leak check.
pub fn ocr_digit(c: char) -> Option<u8> {
    Some(match c {
        'O' | 'o' | 'D' | 'Q' => 0,
        'l' | 'I' | '|' | 'i' | '!' => 1,
        'Z' | 'z' => 2,
        'S' | 's' => 5,
        'G' | 'b' => 6,
        'B' => 8,
        'g' | 'q' => 9,
        _ => return None,
    })
}

/// The number a Danish number word stands for ("nul" = 0, "tolv" = 12,
/// "fireogtredive" = 34), for CPR numbers written in words. Written with
/// digits it takes one digit below 10, two from 10 on ([`number_digits`]).
/// Allocation-free for lower-case words: it runs on every word of a text.
pub fn number_word(w: &str) -> Option<u8> {
    const ONES: [&str; 10] = [
        "nul", "en", "to", "tre", "fire", "fem", "seks", "syv", "otte", "ni",
    ];
    const TEENS: [&str; 10] = [
        "ti", "elleve", "tolv", "tretten", "fjorten", "femten", "seksten", "sytten", "atten",
        "nitten",
    ];
    const TENS: [&str; 8] = [
        "tyve",
        "tredive",
        "fyrre",
        "halvtreds",
        "tres",
        "halvfjerds",
        "firs",
        "halvfems",
    ];
    if w.len() < 2 || w.len() > 24 {
        return None;
    }
    // lower case in a buffer on the stack (the words are short)
    let mut buf = [0u8; 24];
    let mut n = 0;
    if w.is_ascii() {
        buf[..w.len()].copy_from_slice(w.as_bytes());
        buf[..w.len()].make_ascii_lowercase();
        n = w.len();
    } else {
        for c in w.chars() {
            for l in c.to_lowercase() {
                let len = l.len_utf8();
                if n + len > buf.len() {
                    return None;
                }
                l.encode_utf8(&mut buf[n..n + len]);
                n += len;
            }
        }
    }
    let w = std::str::from_utf8(&buf[..n]).ok()?;
    let w = match w {
        "et" | "én" | "ét" | "een" => "en",
        "fyrretyve" => "fyrre",
        "halvtredsindstyve" => "halvtreds",
        "tresindstyve" => "tres",
        "halvfjerdsindstyve" => "halvfjerds",
        "firsindstyve" => "firs",
        "halvfemsindstyve" => "halvfems",
        "tredve" => "tredive",
        x => x,
    };
    let at = |list: &[&str], x: &str| list.iter().position(|y| *y == x).map(|i| i as u8);
    if let Some(i) = at(&ONES, w) {
        return Some(i);
    }
    if let Some(i) = at(&TEENS, w) {
        return Some(10 + i);
    }
    if let Some(i) = at(&TENS, w) {
        return Some(20 + 10 * i);
    }
    // "fireogtredive" = 4 + 30
    if w.len() < 8 {
        return None;
    }
    let (one, ten) = w.split_once("og")?;
    let one = if one == "et" { 1 } else { at(&ONES, one)? };
    let ten = at(&TENS, ten)?;
    (one > 0).then_some(20 + 10 * ten + one)
}

/// A number word's digits: one below 10, two from 10 on ("nul" = "0",
/// "ti" = "10").
pub fn number_digits(n: u8, out: &mut String) {
    if n >= 10 {
        out.push(char::from(b'0' + n / 10));
    }
    out.push(char::from(b'0' + n % 10));
}

/// The digits of a number written with digits, OCR look-alikes inside digit
/// groups, or Danish number words; None when a word is neither.
fn spelled_digits(text: &str) -> Option<String> {
    let mut out = String::new();
    for part in text.split(|c: char| !c.is_alphanumeric() && c != '|' && c != '!') {
        if part.is_empty() {
            continue;
        }
        if part.chars().any(|c| c.is_ascii_digit()) || part.chars().all(|c| ocr_digit(c).is_some())
        {
            for c in part.chars() {
                match c.to_digit(10) {
                    Some(d) => out.push(char::from(b'0' + d as u8)),
                    None => out.push(char::from(b'0' + ocr_digit(c)?)),
                }
            }
        } else {
            number_digits(number_word(part)?, &mut out);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_match_as_str() {
        for k in MarkKind::ALL {
            let j = serde_json::to_string(&k).unwrap();
            assert_eq!(j, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<MarkKind>(&j).unwrap(), k);
        }
    }

    #[test]
    fn plain_forms_for_the_leak_check() {
        assert_eq!(MarkKind::Cpr.plain_forms("O1O19O-l234"), vec!["0101901234"]);
        assert_eq!(
            MarkKind::Cpr.plain_forms("nul en nul en halvfems tolv fireogtredive"),
            vec!["0101901234"]
        );
        assert!(MarkKind::Cpr.plain_forms("010190-1234").is_empty());
        assert_eq!(
            MarkKind::Phone.plain_forms("+45 20 30 40 50"),
            vec!["20304050"]
        );
        assert!(MarkKind::Phone.plain_forms("20 30 40 50").is_empty());
        assert_eq!(
            MarkKind::Account.plain_forms("DK50 0040 0440 1162 43"),
            vec!["00400440116243"]
        );
        assert_eq!(
            MarkKind::Email.plain_forms("louise.frederiksen@firma.dk"),
            vec!["louise.frederiksen"]
        );
        assert!(MarkKind::Email.plain_forms("pm@firma.dk").is_empty());
    }
}
