//! MeMo 1.1 (namespace `https://DigitalPost.dk/MeMo-1`): writing and reading
//! the subset marc uses — MessageHeader (messageType, messageUUID, label,
//! Sender, Recipient) and MessageBody (createdDateTime, MainDocument/File).
//! Written with quick-xml; read with roxmltree (namespace-aware, no DTDs).

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DeliveryError;

/// The MeMo namespace.
pub const MEMO_NS: &str = "https://DigitalPost.dk/MeMo-1";
/// Longest label MeMo accepts.
pub const MAX_LABEL: usize = 256;

/// Who receives a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecipientId {
    /// A citizen (10 digits).
    Cpr(String),
    /// A company, a third party's organisation or another municipality (8 digits).
    Cvr(String),
}

impl RecipientId {
    /// The id without separators.
    pub fn id(&self) -> String {
        let s = match self {
            RecipientId::Cpr(s) | RecipientId::Cvr(s) => s,
        };
        s.chars().filter(|c| c.is_ascii_digit()).collect()
    }

    /// `CPR` or `CVR`, as MeMo's idType.
    pub fn id_type(&self) -> &'static str {
        match self {
            RecipientId::Cpr(_) => "CPR",
            RecipientId::Cvr(_) => "CVR",
        }
    }
}

/// One Digital Post message with one main document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoMessage {
    pub message_uuid: Uuid,
    /// The title the recipient sees (max 256 characters).
    pub label: String,
    pub sender_cvr: String,
    pub sender_label: String,
    pub recipient: RecipientId,
    pub created: DateTime<Utc>,
    pub filename: String,
    /// The main document's bytes (a PDF, or text for receipts).
    pub pdf: Vec<u8>,
    /// MIME type, e.g. `application/pdf`.
    pub encoding_format: String,
    /// e.g. `da`.
    pub language: String,
}

/// Checks what MeMo and SF1601 insist on, so a bad message fails before it
/// is recorded in the ledger.
pub fn validate(msg: &MemoMessage) -> Result<(), DeliveryError> {
    let bad = |s: String| Err(DeliveryError::Invalid(s));
    let digits = |s: &str| s.chars().filter(|c| c.is_ascii_digit()).count();
    if digits(&msg.sender_cvr) != 8 || msg.sender_cvr.chars().any(|c| c.is_alphabetic()) {
        return bad(format!("sender CVR {:?} must be 8 digits", msg.sender_cvr));
    }
    match &msg.recipient {
        RecipientId::Cpr(s) if digits(s) != 10 || s.chars().any(|c| c.is_alphabetic()) => {
            return bad(format!("recipient CPR {s:?} must be 10 digits"));
        }
        RecipientId::Cvr(s) if digits(s) != 8 || s.chars().any(|c| c.is_alphabetic()) => {
            return bad(format!("recipient CVR {s:?} must be 8 digits"));
        }
        _ => {}
    }
    if msg.label.trim().is_empty() {
        return bad("the label (title) is empty".into());
    }
    if msg.filename.trim().is_empty() || msg.filename.contains(['/', '\\']) {
        return bad(format!(
            "filename {:?} must be a plain file name",
            msg.filename
        ));
    }
    if msg.pdf.is_empty() {
        return bad("the main document is empty".into());
    }
    if msg.encoding_format.trim().is_empty() {
        return bad("encodingFormat (MIME type) is empty".into());
    }
    Ok(())
}

/// Drops characters XML 1.0 cannot carry at all (escaping is quick-xml's job).
fn xml_chars(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= '\u{20}' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect()
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

type XmlWriter = quick_xml::Writer<Vec<u8>>;

/// `<memo:{name}>{text}</memo:{name}>`, the text escaped by quick-xml.
fn leaf(w: &mut XmlWriter, name: &str, text: &str) -> std::io::Result<()> {
    w.create_element(format!("memo:{name}"))
        .write_text_content(quick_xml::events::BytesText::new(&xml_chars(text)))?;
    Ok(())
}

/// The message as MeMo 1.1 XML (prefix `memo`, which SF1601 expects), built
/// with quick-xml: well-formed for any input, text escaped, the document base64.
pub fn memo_xml(msg: &MemoMessage) -> Result<String, DeliveryError> {
    use quick_xml::events::{BytesDecl, Event};
    let content = base64::engine::general_purpose::STANDARD.encode(&msg.pdf);
    let created = msg.created.to_rfc3339_opts(SecondsFormat::Secs, true);
    let uuid = msg.message_uuid.hyphenated().to_string();
    let mut w =
        quick_xml::Writer::new_with_indent(Vec::with_capacity(content.len() + 2048), b' ', 1);
    let built = (|| -> std::io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.create_element("memo:Message")
            .with_attributes([
                ("xmlns:memo", MEMO_NS),
                ("memoVersion", "1.1"),
                ("memoSchVersion", "1.1.0"),
            ])
            .write_inner_content(|w| {
                w.create_element("memo:MessageHeader")
                    .write_inner_content(|w| {
                        leaf(w, "messageType", "DIGITALPOST")?;
                        leaf(w, "messageUUID", &uuid)?;
                        leaf(w, "label", &truncate(&msg.label, MAX_LABEL))?;
                        leaf(w, "mandatory", "false")?;
                        leaf(w, "legalNotification", "false")?;
                        w.create_element("memo:Sender").write_inner_content(|w| {
                            leaf(w, "senderID", &msg.sender_cvr)?;
                            leaf(w, "idType", "CVR")?;
                            leaf(w, "label", &truncate(&msg.sender_label, MAX_LABEL))
                        })?;
                        w.create_element("memo:Recipient")
                            .write_inner_content(|w| {
                                leaf(w, "recipientID", &msg.recipient.id())?;
                                leaf(w, "idType", msg.recipient.id_type())
                            })?;
                        Ok(())
                    })?;
                w.create_element("memo:MessageBody")
                    .write_inner_content(|w| {
                        leaf(w, "createdDateTime", &created)?;
                        w.create_element("memo:MainDocument")
                            .write_inner_content(|w| {
                                w.create_element("memo:File").write_inner_content(|w| {
                                    leaf(w, "encodingFormat", &msg.encoding_format)?;
                                    leaf(w, "filename", &msg.filename)?;
                                    leaf(w, "language", &msg.language)?;
                                    leaf(w, "content", &content)
                                })?;
                                Ok(())
                            })?;
                        Ok(())
                    })?;
                Ok(())
            })?;
        Ok(())
    })();
    built.map_err(|e| DeliveryError::Invalid(format!("cannot write the MeMo XML: {e}")))?;
    let mut xml = String::from_utf8(w.into_inner())
        .map_err(|e| DeliveryError::Invalid(format!("the MeMo XML is not UTF-8: {e}")))?;
    xml.push('\n');
    Ok(xml)
}

/// A MeMo message read back: every field marc writes, and the decoded
/// main document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParsedMemo {
    pub memo_version: String,
    pub message_type: String,
    pub message_uuid: Uuid,
    pub label: String,
    pub sender_id: String,
    pub sender_id_type: String,
    pub sender_label: String,
    pub recipient_id: String,
    pub recipient_id_type: String,
    pub created: DateTime<Utc>,
    pub encoding_format: String,
    pub filename: String,
    pub language: String,
    /// The decoded main document.
    pub content: Vec<u8>,
}

fn child<'a, 'i>(
    n: roxmltree::Node<'a, 'i>,
    name: &str,
) -> Result<roxmltree::Node<'a, 'i>, DeliveryError> {
    n.children()
        .find(|c| {
            c.is_element()
                && c.tag_name().name() == name
                && c.tag_name().namespace() == Some(MEMO_NS)
        })
        .ok_or_else(|| {
            DeliveryError::Parse(format!(
                "<{}> has no memo:{name} element",
                n.tag_name().name()
            ))
        })
}

fn text(n: roxmltree::Node, name: &str) -> Result<String, DeliveryError> {
    Ok(child(n, name)?.text().unwrap_or("").trim().to_string())
}

/// Parses a MeMo message (for tests and the outbox viewer).
pub fn parse_memo(xml: &str) -> Result<ParsedMemo, DeliveryError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, opts)
        .map_err(|e| DeliveryError::Parse(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Message" || root.tag_name().namespace() != Some(MEMO_NS) {
        return Err(DeliveryError::Parse(format!(
            "the root element is {:?} in namespace {:?}, expected Message in {MEMO_NS}",
            root.tag_name().name(),
            root.tag_name().namespace()
        )));
    }
    let header = child(root, "MessageHeader")?;
    let sender = child(header, "Sender")?;
    let recipient = child(header, "Recipient")?;
    let body = child(root, "MessageBody")?;
    let file = child(child(body, "MainDocument")?, "File")?;
    let uuid_s = text(header, "messageUUID")?;
    let created_s = text(body, "createdDateTime")?;
    let content_s: String = text(file, "content")?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Ok(ParsedMemo {
        memo_version: root.attribute("memoVersion").unwrap_or("").to_string(),
        message_type: text(header, "messageType")?,
        message_uuid: Uuid::parse_str(&uuid_s)
            .map_err(|e| DeliveryError::Parse(format!("messageUUID {uuid_s:?}: {e}")))?,
        label: text(header, "label")?,
        sender_id: text(sender, "senderID")?,
        sender_id_type: text(sender, "idType")?,
        sender_label: text(sender, "label")?,
        recipient_id: text(recipient, "recipientID")?,
        recipient_id_type: text(recipient, "idType")?,
        created: DateTime::parse_from_rfc3339(&created_s)
            .map_err(|e| DeliveryError::Parse(format!("createdDateTime {created_s:?}: {e}")))?
            .with_timezone(&Utc),
        encoding_format: text(file, "encodingFormat")?,
        filename: text(file, "filename")?,
        language: text(file, "language")?,
        content: base64::engine::general_purpose::STANDARD
            .decode(content_s.as_bytes())
            .map_err(|e| DeliveryError::Parse(format!("content is not base64: {e}")))?,
    })
}
