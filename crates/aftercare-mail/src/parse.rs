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

    // Names and subjects in encoded words with labels mail-parser does not know
    // (=?x-gbk?B?…?=) are decoded here; the rest as mail-parser read them.
    let from_name = msg
        .header_raw("From")
        .and_then(|raw| raw.split('<').next())
        .and_then(decode_words)
        .map(|n| n.trim().trim_matches('"').trim().to_string())
        .filter(|n| !n.is_empty())
        .or(from_name);
    let subject = msg
        .header_raw("Subject")
        .and_then(decode_words)
        .unwrap_or_else(|| msg.subject().unwrap_or_default().to_string());
    let mut attachments = attachments(&msg);
    let (body, body_undecodable) = match body(&msg) {
        Body::Text(text) => (text, false),
        // No charset makes sense of it: kept as it came, and never read as language.
        Body::Undecodable(raw) => {
            attachments.push(NewAttachment {
                filename: "original-body.txt".into(),
                content_type: "text/plain".into(),
                content: raw,
            });
            (String::new(), true)
        }
    };
    Ok(InboundMail {
        from_email,
        from_name,
        subject: subject.trim().to_string(),
        body,
        body_undecodable,
        message_id: msg.message_id().and_then(bare_id),
        in_reply_to: first_id(msg.in_reply_to()),
        attachments,
    })
}

enum Body {
    Text(String),
    Undecodable(Vec<u8>),
}

/// The first text part, or the first HTML part as text (mail-parser lists an HTML part
/// among the text bodies when a message has no text/plain alternative), decoded from its
/// bytes by its charset label, or by detection when the label is missing, unknown or
/// wrong.
fn body(msg: &Message<'_>) -> Body {
    let Some(part) = msg
        .text_bodies()
        .find(|p| matches!(p.body, PartType::Text(_) | PartType::Html(_)))
    else {
        return Body::Text(String::new());
    };
    let label = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(str::to_string);
    let raw = content(msg, part);
    let Some(text) = decode_text(&raw, label.as_deref()) else {
        return Body::Undecodable(raw);
    };
    let text = match part.body {
        PartType::Html(_) => html_to_text(&text),
        _ => text,
    };
    // Mail travels with CRLF; the app stores and shows plain newlines.
    Body::Text(text.replace("\r\n", "\n").trim_end().to_string())
}

/// The encoding a charset label means, including the labels mail clients use that are not
/// IANA names. GBK and GB2312 are read as GB18030, which contains both; Big5 as Big5 with
/// the Hong Kong additions.
pub fn encoding_for(label: &str) -> Option<&'static encoding_rs::Encoding> {
    let l = label
        .trim()
        .trim_matches('"')
        .to_ascii_lowercase()
        .replace('_', "-");
    let bare = l.strip_prefix("x-").unwrap_or(&l);
    let chinese = match bare {
        "gbk" | "cp936" | "ms936" | "windows-936" | "gb2312" | "gb-2312" | "gb-2312-80"
        | "gb2312-80" | "euc-cn" | "csgb2312" | "mac-chinesesimp" | "chinese" | "gb18030"
        | "936" => Some(encoding_rs::GB18030),
        "big5" | "big5-tw" | "big5-hkscs" | "big5hkscs" | "cp950" | "ms950" | "windows-950"
        | "mac-chinesetrad" | "cn-big5" | "950" => Some(encoding_rs::BIG5),
        _ => None,
    };
    chinese.or_else(|| encoding_rs::Encoding::for_label(l.as_bytes()))
}

/// Text from bytes in the labelled charset; when the label is missing or unknown, does
/// not decode the bytes, or is a single-byte Western charset on bytes that read as
/// Chinese, the charset is detected. None when nothing decodes them cleanly.
pub fn decode_text(bytes: &[u8], label: Option<&str>) -> Option<String> {
    let clean = |enc: &'static encoding_rs::Encoding| {
        enc.decode_without_bom_handling_and_without_replacement(bytes)
            .map(|t| t.into_owned())
    };
    let declared = label.and_then(encoding_for);
    let ascii = bytes.is_ascii();
    let guess = || {
        let mut detector = chardetng::EncodingDetector::new();
        detector.feed(bytes, true);
        detector.guess(None, true)
    };
    match declared {
        Some(enc) if ascii => clean(enc),
        // A Western single-byte label decodes any bytes: trust it only when detection
        // does not find something better.
        Some(enc) if enc.is_single_byte() => {
            let detected = guess();
            if detected != enc && !detected.is_single_byte() {
                clean(detected).or_else(|| clean(enc))
            } else {
                clean(enc)
            }
        }
        Some(enc) => clean(enc).or_else(|| clean(guess())),
        None => clean(guess()),
    }
    .filter(|t| !looks_like_noise(t))
}

/// Text that decoded without errors but is not language: mostly control characters or
/// characters from private-use and rarely used blocks, as random bytes give.
fn looks_like_noise(text: &str) -> bool {
    let total = text.chars().count();
    if total < 8 {
        return false;
    }
    let odd = text
        .chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                || ('\u{E000}'..='\u{F8FF}').contains(c)
                || ('\u{80}'..='\u{24F}').contains(c)
        })
        .count();
    odd * 5 > total
}

/// A header made of RFC 2047 encoded words, decoded with [`decode_text`]; None when it
/// holds no encoded word or one that does not decode.
fn decode_words(raw: &str) -> Option<String> {
    if !raw.contains("=?") {
        return None;
    }
    let raw = raw.replace(['\r', '\n'], "");
    let mut out = String::new();
    let mut rest = raw.as_str();
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        // Whitespace between two encoded words is not part of the text.
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let inner = &rest[start + 2..];
        let mut pieces = inner.splitn(3, '?');
        let (Some(label), Some(kind), Some(tail)) = (pieces.next(), pieces.next(), pieces.next())
        else {
            return None;
        };
        let end = tail.find("?=")?;
        let data = &tail[..end];
        let bytes = match kind {
            "B" | "b" => base64_decode(data.as_bytes())?,
            "Q" | "q" => quoted_printable_decode(data.replace('_', " ").as_bytes())?,
            _ => return None,
        };
        // RFC 2231 allows a language after the label: gbk*zh.
        let label = label.split('*').next().unwrap_or(label);
        out.push_str(&decode_text(&bytes, Some(label))?);
        rest = &tail[end + 2..];
        last_was_word = true;
    }
    out.push_str(rest);
    Some(out)
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
