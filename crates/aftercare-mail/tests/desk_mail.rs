#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Mail through the service desk, on SQLite and on PostgreSQL: real GBK and Big5 messages
//! become requests or replies threaded by number, attachments kept; the outbox is delivered
//! to a real SMTP server, and a failed delivery is retried later.

use aftercare_app::desk::{RequestInput, RequestQuery, TransitionInput};
use aftercare_app::input::{CustomerInput, EmailInput};
use aftercare_app::service::Principal;
use aftercare_app::{Actor, App};
use aftercare_domain::account::Role;
use aftercare_mail::{ImapConfig, Security, SmtpConfig, SmtpMailer, parse, poll_imap};
use aftercare_testkit::imap::ImapServer;
use aftercare_testkit::smtp::{SmtpSink, free_port};
use aftercare_testkit::{BOTH, Kind, ManualClock, TestDb};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

fn smtp(port: u16) -> SmtpMailer {
    SmtpMailer::new(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        username: None,
        password: None,
        from: "售后服务中心 <service@aftercare.example.com>".into(),
    })
    .unwrap()
}

async fn agent(app: &App) -> Principal {
    let user = app
        .add_user(
            &Actor::system("test"),
            "agent@example.cn",
            "客服小李",
            "correct horse battery",
            "agent",
        )
        .await
        .unwrap();
    Principal {
        user,
        role: Role::Agent,
        scopes: None,
    }
}

async fn mail_scenario(kind: Kind, sink: &SmtpSink) {
    eprintln!("---- running on {kind:?}");
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at("2026-03-05T01:00:00Z");
    let app = db.app_at(&clock);
    let agent = agent(&app).await;
    let wang = app
        .create_customer(
            &agent,
            &CustomerInput {
                name: "王小明".into(),
                emails: vec![EmailInput {
                    address: "wangxm@example.com".into(),
                    primary: true,
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (id, number) = app
        .open_request(
            &agent,
            &RequestInput {
                customer_id: wang,
                service_type: "repair".into(),
                subject: "空调不制冷".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(number, "SR-2026-000001");
    let v = app
        .request_detail(&agent, id)
        .await
        .unwrap()
        .request
        .version;
    app.transition(
        &agent,
        id,
        &TransitionInput {
            status: "waiting_customer".into(),
            version: v,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // A GBK reply naming the request, from its customer: threaded, the photo kept, and
    // the request is back at work.
    let reply = parse(&fixture("gbk-reply.eml")).unwrap();
    let o = app.receive_mail(&reply).await.unwrap();
    assert_eq!(
        (o.request_id, o.threaded, o.new_customer),
        (id, true, false)
    );
    let d = app.request_detail(&agent, id).await.unwrap();
    assert_eq!(d.request.status.code(), "in_progress");
    let m = d.messages.last().unwrap();
    assert_eq!(
        (m.kind.as_str(), m.channel.as_str(), m.author.as_str()),
        ("customer", "email", "王小明")
    );
    assert!(m.body.starts_with("补充：外机有异响"), "{}", m.body);
    assert_eq!(m.attachments[0].filename, "外机.png");
    let (_, bytes) = app.attachment(&agent, m.attachments[0].id).await.unwrap();
    assert_eq!(bytes, fixture("gbk-photo.png"));
    // A reply that only carries a photo is kept, but says nothing to analyse: it does
    // not become feedback (it once became a negative item "(1 attachment(s))").
    app.capture_feedback().await.unwrap();
    let mut photo_only = reply.clone();
    photo_only.body = String::new();
    photo_only.message_id = Some("<photo-only@example.cn>".into());
    assert!(app.receive_mail(&photo_only).await.unwrap().threaded);
    assert_eq!(app.capture_feedback().await.unwrap().items, 0);
    let d = app.request_detail(&agent, id).await.unwrap();
    assert_eq!(d.messages.last().unwrap().attachments.len(), 1);
    // The same mail delivered again (a mail server retrying) is taken in once.
    let messages = d.messages.len();
    let again = app.receive_mail(&reply).await.unwrap();
    assert_eq!((again.request_id, again.duplicate), (id, true));
    assert_eq!(
        app.request_detail(&agent, id).await.unwrap().messages.len(),
        messages
    );

    // Once the request is closed, the same reply opens a new request instead.
    for st in ["resolved", "closed"] {
        let v = app
            .request_detail(&agent, id)
            .await
            .unwrap()
            .request
            .version;
        app.transition(
            &agent,
            id,
            &TransitionInput {
                status: st.into(),
                version: v,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let mut later = reply.clone();
    later.message_id = Some("<202603061015.1@example.com>".into());
    let o = app.receive_mail(&later).await.unwrap();
    assert!(!o.threaded && !o.new_customer && !o.duplicate);
    assert_ne!(o.request_id, id);
    assert_eq!(
        app.request_detail(&agent, id)
            .await
            .unwrap()
            .request
            .status
            .code(),
        "closed"
    );

    // A Big5 mail from someone unknown: a new customer and a new request, waiting for
    // triage; the same mail replayed with a subject naming someone else's request does
    // not get into that request.
    let big5 = parse(&fixture("big5.eml")).unwrap();
    let o = app.receive_mail(&big5).await.unwrap();
    assert!(!o.threaded && o.new_customer);
    assert_eq!(o.number, "SR-2026-000003");
    let r = app
        .request_detail(&agent, o.request_id)
        .await
        .unwrap()
        .request;
    assert_eq!(
        (r.subject.as_str(), r.channel.code(), r.status.code()),
        ("冷氣機不冷，請派師傅", "email", "new")
    );
    assert!(
        r.description.contains("冷氣機開了一整天都不冷"),
        "{}",
        r.description
    );
    assert_eq!(r.customer_name, "陳大文");
    let mut stranger = big5.clone();
    stranger.subject = format!("Re: [{number}] 冷氣機");
    stranger.message_id = Some("<20260306150000.1@mail.example.com.tw>".into());
    let o = app.receive_mail(&stranger).await.unwrap();
    assert!(
        !o.threaded,
        "a stranger cannot write into another customer's request"
    );

    // The outbox: acknowledgements to both senders. A server that is down: retried later.
    let down = smtp(free_port());
    let first = app.deliver_outbox(&down).await.unwrap();
    assert!(first.failed >= 3 && first.sent == 0, "{first:?}");
    assert_eq!(
        app.deliver_outbox(&down).await.unwrap().failed,
        0,
        "not before the retry time"
    );
    clock.advance(std::time::Duration::from_secs(61));
    let before = sink.delivered().len();
    // Two deliverers at once (the server's worker and `aftercare mail-out`): each mail
    // goes out once.
    let (m1, m2) = (smtp(sink.port), smtp(sink.port));
    let (a, b) = tokio::join!(app.deliver_outbox(&m1), app.deliver_outbox(&m2));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.sent + b.sent, a.failed + b.failed), (first.failed, 0));
    assert_eq!(
        sink.delivered().len() - before,
        first.failed,
        "each mail once"
    );
    let arrived: Vec<_> = sink.delivered()[before..]
        .iter()
        .map(|raw| parse(raw).unwrap())
        .collect();
    assert!(
        arrived
            .iter()
            .any(|m| m.subject == "[SR-2026-000003] 冷氣機不冷，請派師傅"),
        "{:?}",
        arrived.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    assert!(
        arrived
            .iter()
            .all(|m| m.from_email == "service@aftercare.example.com")
    );

    // Mail with a charset label that is no IANA name is read; a body no charset makes
    // sense of becomes a request without text, its bytes kept as they came.
    let wild = app
        .receive_mail(&parse(&fixture("label-x-gbk.eml")).unwrap())
        .await
        .unwrap();
    let r = app
        .request_detail(&agent, wild.request_id)
        .await
        .unwrap()
        .request;
    assert_eq!(r.subject, "冰箱不制冷了");
    assert!(r.description.contains("压缩机一直响"), "{}", r.description);
    let junk = app
        .receive_mail(&parse(&fixture("undecodable.eml")).unwrap())
        .await
        .unwrap();
    let d = app.request_detail(&agent, junk.request_id).await.unwrap();
    assert_eq!(d.request.description, "(—)");

    // A subject naming a request that does not exist opens a new request, which tells the
    // agent so (a system message the page shows in the reader's language).
    let mut stray = parse(&fixture("label-x-gbk.eml")).unwrap();
    stray.subject = "Re: [SR-2026-009999] 冰箱".into();
    stray.message_id = Some("stray-1@example.cn".into());
    let o = app.receive_mail(&stray).await.unwrap();
    assert!(!o.threaded);
    let msgs = app
        .request_detail(&agent, o.request_id)
        .await
        .unwrap()
        .messages;
    let note = msgs
        .iter()
        .find(|m| m.kind == "system")
        .unwrap_or_else(|| panic!("{msgs:?}"));
    let v: serde_json::Value = serde_json::from_str(&note.body).unwrap();
    assert_eq!(
        (v["t"].as_str(), v["number"].as_str()),
        (Some("mail_unknown_request"), Some("SR-2026-009999"))
    );
    assert!(
        d.messages
            .iter()
            .flat_map(|m| &m.attachments)
            .any(|a| a.filename == "original-body.txt"),
        "{:?}",
        d.messages
    );
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_becomes_requests_and_replies_and_the_outbox_is_delivered_on_both_databases() {
    let sink = SmtpSink::start();
    for kind in BOTH {
        mail_scenario(kind, &sink).await;
    }
}

/// Puts mail into the server's INBOX as a mail server would, unread.
async fn deliver(server: &ImapServer, mails: &[Vec<u8>]) -> u32 {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap().unwrap();
    let mut session = client
        .login(server.user, server.password)
        .await
        .map_err(|(e, _)| e)
        .unwrap();
    for raw in mails {
        session.append("INBOX", None, None, raw).await.unwrap();
    }
    let exists = session.select("INBOX").await.unwrap().exists;
    session.logout().await.unwrap();
    exists
}

async fn imap_scenario(kind: Kind) {
    eprintln!("---- running on {kind:?}");
    let server = ImapServer::start();
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at("2026-03-05T01:00:00Z");
    let app = db.app_at(&clock);
    let agent = agent(&app).await;
    let cfg = ImapConfig {
        host: "127.0.0.1".into(),
        port: server.port,
        security: Security::None,
        username: server.user.into(),
        password: server.password.into(),
        mailbox: "INBOX".into(),
        every_seconds: 60,
        delete_after: false,
        ca_file: None,
    };

    // A GBK mail, a Big5 mail and one with no sender: two requests, one mail refused
    // (and not tried again).
    deliver(
        &server,
        &[
            fixture("gbk.eml"),
            fixture("big5.eml"),
            fixture("no-from.eml"),
        ],
    )
    .await;
    let r = poll_imap(&app, &cfg).await.unwrap();
    assert_eq!(
        (r.fetched, r.received, r.duplicates, r.rejected),
        (3, 2, 0, 1),
        "{}",
        server.log()
    );
    let all = app
        .requests(&agent, &RequestQuery::default())
        .await
        .unwrap()
        .items;
    let mut subjects: Vec<_> = all.iter().map(|r| r.subject.as_str()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        ["冷氣機不冷，請派師傅", "回复：[SR-2026-000123] 空调不制冷"]
    );
    assert!(
        all.iter().all(|r| r.status.code() == "new"),
        "self-service mail waits for triage"
    );

    // Nothing unread is left: the next round finds nothing.
    assert_eq!(poll_imap(&app, &cfg).await.unwrap(), Default::default());

    // A mail taken in whose mark was lost (a crash between the two) comes back unread:
    // it is marked, not taken in twice.
    deliver(&server, &[fixture("big5.eml")]).await;
    let r = poll_imap(&app, &cfg).await.unwrap();
    assert_eq!((r.fetched, r.received, r.duplicates), (1, 0, 1));
    let count = app
        .requests(&agent, &RequestQuery::default())
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(count, 2);

    // delete_after: taken-in mail leaves the mailbox.
    let mut reply = fixture("gbk.eml");
    let at = reply
        .windows(12)
        .position(|w| w == b"Message-ID: ")
        .unwrap();
    reply.splice(at + 12..at + 12, b"<x".iter().copied());
    assert_eq!(deliver(&server, &[reply]).await, 5);
    let deleting = ImapConfig {
        delete_after: true,
        ..cfg.clone()
    };
    let r = poll_imap(&app, &deleting).await.unwrap();
    assert_eq!((r.fetched, r.received), (1, 1));
    assert_eq!(deliver(&server, &[]).await, 4, "the taken-in mail is gone");

    // A wrong password is an error naming the step, and changes nothing.
    let wrong = ImapConfig {
        password: "nope".into(),
        ..cfg.clone()
    };
    let e = poll_imap(&app, &wrong).await.unwrap_err();
    assert!(e.to_string().starts_with("imap login"), "{e}");
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imap_mailbox_is_polled_into_requests_once_each_on_both_databases() {
    for kind in BOTH {
        imap_scenario(kind).await;
    }
}

/// STARTTLS against a server with a certificate of its own CA: trusted through `ca_file`,
/// refused with the public roots, and a missing `ca_file` named in the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imap_mailbox_is_polled_over_starttls_with_the_servers_own_ca() {
    let dir = std::env::temp_dir().join(format!("aftercare-imap-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ca.cert.pem()).unwrap();
    std::fs::write(&key, ca.signing_key.serialize_pem()).unwrap();
    let server = ImapServer::start_tls(&cert, &key);
    let db = TestDb::new(Kind::Sqlite).await;
    let clock = ManualClock::at("2026-03-05T01:00:00Z");
    let app = db.app_at(&clock);
    let cfg = ImapConfig {
        host: "localhost".into(),
        port: server.port,
        security: Security::StartTls,
        username: server.user.into(),
        password: server.password.into(),
        mailbox: "INBOX".into(),
        every_seconds: 60,
        delete_after: false,
        ca_file: Some(cert.clone()),
    };
    assert_eq!(deliver(&server, &[fixture("big5.eml")]).await, 1);
    // With the public roots the certificate is not trusted.
    let public = ImapConfig {
        ca_file: None,
        ..cfg.clone()
    };
    let e = poll_imap(&app, &public).await.unwrap_err();
    assert!(e.to_string().starts_with("imap tls"), "{e}");
    // With its CA: the Big5 mail is taken in over the encrypted connection.
    let r = poll_imap(&app, &cfg).await.unwrap();
    assert_eq!((r.fetched, r.received), (1, 1), "{}", server.log());
    let missing = ImapConfig {
        ca_file: Some(dir.join("missing.pem")),
        ..cfg.clone()
    };
    let e = poll_imap(&app, &missing).await.unwrap_err();
    assert!(e.to_string().contains("ca_file"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    db.cleanup().await;
}
