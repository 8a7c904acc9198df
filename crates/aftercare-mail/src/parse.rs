//! Received mail to [`InboundMail`].

use aftercare_app::ports::{InboundMail, MailParser, NewAttachment};
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::html::html_to_text;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Encoding, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

/// Why a mail could not be taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not a mail message: no header found")]
    NotAMessage,
    #[error("the mail has no sender: its From header is missing or holds no address")]
    NoSender,
}

/// [`parse`] as the app's [`MailParser`] port.
#[derive(Debug, Clone, Copy, Default)]
pub struct RfcMailParser;

impl MailParser for RfcMailParser {
    fn parse(&self, raw: &[u8]) -> Result<InboundMail, String> {
        parse(raw).map_err(|e| e.to_string())
    }
}

/// Decodes a raw RFC 5322 message: headers from RFC 2047 words in any charset, the first
/// text part (or the HTML part made text) to UTF-8, and every attachment with its bytes.
pub fn parse(raw: &[u8]) -> Result<InboundMail, ParseError> {
    let msg = MessageParser::new()
        .parse(raw)
        .ok_or(ParseError::NotAMessage)?;

    let sender = msg
        .from()
        .and_then(|a| a.first())
        .ok_or(ParseError::NoSender)?;
    let from_email = sender
        .address()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .ok_or(ParseError::NoSender)?;
    let from_name = sender
        .name()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);

    Ok(InboundMail {
        from_email,
        from_name,
        subject: msg.subject().unwrap_or_default().trim().to_string(),
        body: body(&msg),
        message_id: msg.message_id().and_then(bare_id),
        in_reply_to: first_id(msg.in_reply_to()),
        attachments: attachments(&msg),
    })
}

/// The first text part, or the first HTML part as text; mail-parser lists an HTML part
/// among the text bodies when a message has no text/plain alternative.
fn body(msg: &Message<'_>) -> String {
    let text = msg
        .text_bodies()
        .find_map(|part| match &part.body {
            PartType::Text(text) => Some(text.to_string()),
            PartType::Html(html) => Some(html_to_text(html)),
            _ => None,
        })
        .unwrap_or_default();
    // Mail travels with CRLF; the app stores and shows plain newlines.
    text.replace("\r\n", "\n").trim_end().to_string()
}

fn bare_id(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// In-Reply-To may list several ids; the first is the message replied to.
fn first_id(value: &HeaderValue<'_>) -> Option<String> {
    match value {
        HeaderValue::Text(id) => bare_id(id),
        HeaderValue::TextList(ids) => ids.iter().find_map(|id| bare_id(id)),
        _ => None,
    }
}

fn attachments(msg: &Message<'_>) -> Vec<NewAttachment> {
    msg.attachments()
        .enumerate()
        .map(|(i, part)| {
            let content_type = content_type(part);
            let filename = part
                .attachment_name()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| match extension(&content_type) {
                    Some(ext) => format!("attachment-{}.{ext}", i + 1),
                    None => format!("attachment-{}", i + 1),
                });
            NewAttachment {
                filename,
                content_type,
                content: content(msg, part),
            }
        })
        .collect()
}

fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_lowercase(),
            None => ct.ctype().to_lowercase(),
        },
        None => match part.body {
            PartType::Text(_) => "text/plain".to_string(),
            PartType::Html(_) => "text/html".to_string(),
            PartType::Message(_) => "message/rfc822".to_string(),
            PartType::Binary(_) | PartType::InlineBinary(_) | PartType::Multipart(_) => {
                "application/octet-stream".to_string()
            }
        },
    }
}

/// The attachment's bytes as sent. mail-parser gives text parts converted to UTF-8; a text
/// file in GBK must stay GBK, so those are decoded again from the raw message.
fn content(msg: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    match &part.body {
        PartType::Text(_) | PartType::Html(_) => {
            let raw = msg
                .raw_message()
                .get(part.offset_body as usize..part.offset_end as usize);
            let decoded = raw.and_then(|raw| match part.encoding {
                Encoding::Base64 => base64_decode(raw),
                Encoding::QuotedPrintable => quoted_printable_decode(raw),
                Encoding::None => Some(raw.to_vec()),
            });
            decoded.unwrap_or_else(|| part.contents().to_vec())
        }
        PartType::Binary(_)
        | PartType::InlineBinary(_)
        | PartType::Message(_)
        | PartType::Multipart(_) => part.contents().to_vec(),
    }
}

/// A file extension for a content type, where there is an obvious one.
fn extension(content_type: &str) -> Option<&'static str> {
    Some(match content_type {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" | "image/pjpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/heic" => "heic",
        "image/tiff" => "tif",
        "image/svg+xml" => "svg",
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        "application/x-rar-compressed" | "application/vnd.rar" => "rar",
        "application/x-7z-compressed" => "7z",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/csv" => "csv",
        "text/calendar" => "ics",
        "message/rfc822" => "eml",
        "audio/mpeg" => "mp3",
        "audio/amr" => "amr",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn message_ids_lose_their_angle_brackets() {
        assert_eq!(bare_id(" <a.b@c> ").as_deref(), Some("a.b@c"));
        assert_eq!(bare_id("a.b@c").as_deref(), Some("a.b@c"));
        assert_eq!(bare_id("<>"), None);
    }

    #[test]
    fn a_part_without_a_name_is_named_by_its_position_and_type() {
        let raw = b"From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n\
--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
--x\r\nContent-Type: IMAGE/JPEG\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/\r\n\
--x\r\nContent-Type: application/x-unknown\r\n\r\nzz\r\n--x--\r\n";
        let mail = parse(raw).unwrap();
        let names: Vec<_> = mail
            .attachments
            .iter()
            .map(|a| (a.filename.as_str(), a.content_type.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("attachment-1.jpg", "image/jpeg"),
                ("attachment-2", "application/x-unknown")
            ]
        );
        assert_eq!(mail.attachments[0].content, [0xff, 0xd8, 0xff]);
        assert_eq!(mail.body, "hi");
    }

    #[test]
    fn a_from_without_an_address_is_refused() {
        let err = parse(b"From: undisclosed-recipients:;\r\nSubject: x\r\n\r\nbody\r\n");
        assert_eq!(err, Err(ParseError::NoSender));
    }
}
