#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Parses the mails that `tests/fixtures/make.py` wrote, as Chinese mail clients send them.

use std::path::PathBuf;

use aftercare_mail::{ParseError, parse};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn gbk_reply_is_decoded_with_its_attachments() {
    let mail = parse(&fixture("gbk.eml")).unwrap();

    assert_eq!(mail.from_email, "wangxm@example.com");
    assert_eq!(mail.from_name.as_deref(), Some("王小明"));
    assert_eq!(mail.subject, "回复：[SR-2026-000123] 空调不制冷");
    assert_eq!(
        mail.body,
        "您好：\n\n空调开机半小时还是不制冷，外机不转。照片见附件。\n\n王小明"
    );
    assert_eq!(
        mail.message_id.as_deref(),
        Some("202603050930121234567@example.com")
    );
    assert_eq!(mail.in_reply_to, None);

    let files: Vec<_> = mail
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.content_type.as_str()))
        .collect();
    assert_eq!(
        files,
        [
            ("外机照片.png", "image/png"),
            ("报修单.txt", "text/plain"),
            ("attachment-3.pdf", "application/pdf"),
        ]
    );
    assert_eq!(mail.attachments[0].content, fixture("gbk-photo.png"));
    assert!(
        mail.attachments[0]
            .content
            .starts_with(b"\x89PNG\r\n\x1a\n")
    );
    // A text file keeps its own bytes (GBK), it is not converted to UTF-8.
    assert_eq!(mail.attachments[1].content, fixture("gbk-report.txt"));
    assert_eq!(mail.attachments[2].content, fixture("gbk-unnamed.pdf"));
}

#[test]
fn big5_alternative_gives_the_text_part_and_the_thread_ids() {
    let mail = parse(&fixture("big5.eml")).unwrap();

    assert_eq!(mail.from_email, "chen.dawen@example.com.tw");
    assert_eq!(mail.from_name.as_deref(), Some("陳大文"));
    assert_eq!(mail.subject, "冷氣機不冷，請派師傅");
    assert_eq!(
        mail.body,
        "你好：\n\n冷氣機開了一整天都不冷，請派師傅來看看。\n\n陳大文"
    );
    assert_eq!(
        mail.message_id.as_deref(),
        Some("20260306140245.4821@mail.example.com.tw")
    );
    assert_eq!(
        mail.in_reply_to.as_deref(),
        Some("sr-2026-000123.1@aftercare.example.com")
    );
    assert!(mail.attachments.is_empty(), "{:?}", mail.attachments);
}

#[test]
fn gb18030_decodes_characters_gbk_lacks() {
    let mail = parse(&fixture("gb18030.eml")).unwrap();

    assert_eq!(mail.from_email, "li.na@example.cn");
    assert_eq!(mail.from_name, None);
    assert_eq!(mail.subject, "𠮷野家门店买的冰箱");
    assert_eq!(
        mail.body,
        "您好，我在𠮷野家附近的门店买的冰箱不制冷了。\n电话 138 0013 8000"
    );
    assert_eq!(mail.message_id.as_deref(), Some("gb18030-0001@example.cn"));
    assert!(mail.attachments.is_empty());
}

#[test]
fn html_only_mail_becomes_text_and_keeps_its_inline_image() {
    let mail = parse(&fixture("html-only.eml")).unwrap();

    assert_eq!(mail.from_email, "support@shop.example.com");
    assert_eq!(mail.from_name.as_deref(), Some("客服中心"));
    assert_eq!(
        mail.subject,
        "洗衣机漏水，麻烦尽快安排师傅上门维修（型号 XQG100-14B）"
    );
    // Paragraphs become lines; the style sheet and the tags are gone.
    assert_eq!(mail.body, "您好，\n洗衣机漏水了，请尽快上门。");
    assert_eq!(
        mail.message_id.as_deref(),
        Some("html-only-0001@shop.example.com")
    );

    assert_eq!(mail.attachments.len(), 1, "{:?}", mail.attachments);
    let sig = &mail.attachments[0];
    assert_eq!(sig.filename, "签名.png");
    assert_eq!(sig.content_type, "image/png");
    assert_eq!(sig.content, fixture("html-signature.png"));
}

#[test]
fn mail_without_a_sender_is_refused() {
    let err = parse(&fixture("no-from.eml")).unwrap_err();
    assert_eq!(err, ParseError::NoSender);
    assert!(err.to_string().contains("From"), "{err}");
}

#[test]
fn bytes_that_are_no_mail_are_refused() {
    assert_eq!(parse(b""), Err(ParseError::NotAMessage));
}

/// Mail as it arrives from the wild (tests/fixtures/make_charsets.py): charset labels that
/// are not IANA names, in the body and in encoded words of the headers.
#[test]
fn charset_labels_from_the_wild_are_decoded() {
    let hans = "你好，家里的冰箱从昨天开始不制冷，压缩机一直响。请尽快安排师傅上门。";
    let hant = "您好，家裡的冷氣從昨天開始不冷，室外機一直響。請盡快安排師傅到府維修。";
    for (file, subject, body) in [
        ("label-x-gbk.eml", "冰箱不制冷了", hans),
        ("label-cp936.eml", "冰箱不制冷了", hans),
        ("label-gb2312-80.eml", "冰箱不制冷了", hans),
        ("label-mac.eml", "冰箱不制冷了", hans),
        ("label-big5-tw.eml", "冷氣不冷了", hant),
    ] {
        let mail = parse(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(mail.subject, subject, "{file}");
        assert_eq!(mail.from_name.as_deref(), Some("李女士"), "{file}");
        assert_eq!(mail.body, body, "{file}");
        assert!(!mail.body_undecodable, "{file}");
    }
}

/// A body labelled Latin-1 but written in GBK, and one with no label at all: the charset
/// is detected.
#[test]
fn a_wrong_or_missing_charset_is_detected() {
    for file in ["wrong-label.eml", "no-label.eml"] {
        let mail = parse(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            mail.body, "你好，家里的冰箱从昨天开始不制冷，压缩机一直响。请尽快安排师傅上门。",
            "{file}"
        );
        assert_eq!(mail.subject, "冰箱不制冷了", "{file}");
    }
}

/// Bytes no charset makes sense of are kept as they came and flagged, never passed on as
/// text to be analysed.
#[test]
fn an_undecodable_body_is_kept_raw_and_flagged() {
    let raw = fixture("undecodable.eml");
    let mail = parse(&raw).unwrap();
    assert!(mail.body_undecodable);
    assert_eq!(mail.body, "");
    assert_eq!(mail.subject, "冰箱不制冷了");
    let kept = mail
        .attachments
        .iter()
        .find(|a| a.filename == "original-body.txt")
        .expect("the body is kept");
    let expected: Vec<u8> = (0..600u32).map(|i| ((i * 151 + 7) % 256) as u8).collect();
    assert_eq!(kept.content, expected);
}
