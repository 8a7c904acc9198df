#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Sends through `SmtpMailer` to a real SMTP server (aiosmtpd, storing into a maildir) and
//! reads back what arrived with our own `parse`.

use aftercare_testkit::smtp::{SmtpSink, free_port};

use aftercare_app::ports::Mailer;
use aftercare_mail::{Security, SmtpConfig, SmtpMailer, parse};
use mail_parser::MimeHeaders;

fn plain_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".to_string(),
        port,
        security: Security::None,
        username: None,
        password: None,
        from: "售后服务中心 <Service@Aftercare.example.com>".to_string(),
    }
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

#[tokio::test]
async fn chinese_mail_sent_by_smtp_arrives_intact() {
    let server = SmtpSink::start();
    let mailer = SmtpMailer::new(plain_config(server.port)).unwrap();

    let subject = "关于您的报修单 [SR-2026-000123]：师傅明天上午到";
    // A line longer than a mail line, to go through the transfer encoding's line breaks.
    let body = "王先生您好：\n\n\
        您报修的空调（型号 KFR-35GW）已安排师傅于 3 月 6 日上午 9:00—12:00 上门检修，\
        届时请保持电话畅通；如需改约，请直接回复本邮件或致电 400-800-1234。\n\n\
        售后服务中心\n";
    mailer
        .send("Wang.XM@Example.com", subject, body)
        .await
        .unwrap();

    let delivered = server.delivered();
    assert_eq!(delivered.len(), 1, "server log: {}", server.log());
    let raw = &delivered[0];
    let text = String::from_utf8_lossy(raw);
    // The headers are ASCII on the wire: the subject went as RFC 2047 words.
    assert!(
        header(&text, "Subject").is_some_and(|s| s.is_ascii() && s.contains("=?utf-8?")),
        "{text}"
    );
    assert_eq!(
        header(&text, "X-RcptTo"),
        Some("Wang.XM@Example.com"),
        "{text}"
    );
    assert_eq!(
        header(&text, "X-MailFrom"),
        Some("Service@Aftercare.example.com"),
        "{text}"
    );

    let mail = parse(raw).unwrap();
    assert_eq!(mail.subject, subject);
    assert_eq!(mail.body, body.trim_end());
    assert_eq!(mail.from_email, "service@aftercare.example.com");
    assert_eq!(mail.from_name.as_deref(), Some("售后服务中心"));
    assert!(mail.message_id.is_some_and(|id| id.contains('@')), "{text}");
    assert!(mail.attachments.is_empty());

    let parsed = mail_parser::MessageParser::new().parse(raw).unwrap();
    let to = parsed.to().and_then(|a| a.first()).unwrap();
    assert_eq!(to.address(), Some("Wang.XM@Example.com"));
    let ct = parsed.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("plain")));
    assert_eq!(
        ct.attribute("charset").map(str::to_lowercase).as_deref(),
        Some("utf-8")
    );
}

#[tokio::test]
async fn a_server_that_is_not_there_is_an_error() {
    let mailer = SmtpMailer::new(plain_config(free_port())).unwrap();
    let err = mailer
        .send("someone@example.com", "测试", "正文")
        .await
        .unwrap_err();
    assert!(err.starts_with("smtp: "), "{err}");
}

#[test]
fn a_bad_sender_is_refused() {
    let mut cfg = plain_config(25);
    cfg.from = "not an address".to_string();
    let err = SmtpMailer::new(cfg).unwrap_err();
    assert!(err.contains("invalid sender address"), "{err}");
}

#[tokio::test]
async fn a_bad_recipient_is_refused() {
    let mailer = SmtpMailer::new(plain_config(free_port())).unwrap();
    let err = mailer.send("王先生", "测试", "正文").await.unwrap_err();
    assert!(err.contains("invalid recipient address"), "{err}");
}
