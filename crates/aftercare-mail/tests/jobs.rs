#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Two servers on one PostgreSQL database, each running every background job, as two
//! `aftercare serve` processes would: each shared job's effects happen once (one survey
//! and one mail per occasion, one feedback item per request), a correction made on one
//! server changes the other's classification within seconds, and when one server stops
//! the other takes its shared jobs over. And a server builds its text analyser as its jobs
//! start.

use aftercare_app::App;
use aftercare_app::desk::{RequestInput, TransitionInput};
use aftercare_app::feedback::{FeedbackInput, LabelsInput};
use aftercare_app::input::{CustomerInput, EmailInput};
use aftercare_app::jobs::{Runner, Running, app_jobs};
use aftercare_app::service::Principal;
use aftercare_domain::feedback::{Ladder, Sentiment};
use aftercare_insight::text::Analyzer;
use aftercare_mail::{Security, SmtpConfig, SmtpMailer};
use aftercare_testkit::smtp::SmtpSink;
use aftercare_testkit::{Kind, TestDb, staff};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

const COMPLAINT: &str = "冰箱密封条变形了，门关不严一直报警，太失望了";

async fn resolved_request(app: &App, p: &Principal, n: usize) {
    let customer_id = app
        .create_customer(
            p,
            &CustomerInput {
                name: format!("顾客{n}"),
                emails: vec![EmailInput {
                    address: format!("customer{n}@example.com"),
                    primary: true,
                }],
                consent: vec!["email".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (id, _) = app
        .open_request(
            p,
            &RequestInput {
                customer_id,
                service_type: "repair".into(),
                subject: format!("洗衣机漏水 {n}"),
                description: "洗衣机底部一直漏水，地板都湿了".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for status in ["in_progress", "resolved"] {
        let version = app.request_detail(p, id).await.unwrap().request.version;
        app.transition(
            p,
            id,
            &TransitionInput {
                status: status.into(),
                version,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
}

fn server(app: &App, sink: &SmtpSink) -> Running {
    let mailer = SmtpMailer::new(SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.port,
        security: Security::None,
        username: None,
        password: None,
        from: "service@aftercare.example.com".into(),
    })
    .unwrap();
    Runner::new(app.store.clone(), app.clock.clone())
        .with_all(app_jobs(app, Some(Arc::new(mailer))))
        .start()
}

/// Survey mails the sink received, by recipient.
fn survey_mails(sink: &SmtpSink, skip: usize) -> Vec<String> {
    let mut to: Vec<String> = sink
        .delivered()
        .into_iter()
        .skip(skip)
        .filter_map(|raw| {
            let m = aftercare_mail::parse(&raw).unwrap();
            m.subject.contains("评价").then(|| {
                String::from_utf8_lossy(&raw)
                    .lines()
                    .find_map(|l| l.strip_prefix("To: "))
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .collect();
    to.sort();
    to
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ladder_of(analyzer: &RwLock<Analyzer>) -> Ladder {
    analyzer
        .read()
        .unwrap()
        .analyze(COMPLAINT)
        .unwrap()
        .ladder
        .label
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_do_each_shared_round_once() {
    let sink = SmtpSink::start();
    let before = sink.delivered().len();
    let db = TestDb::new(Kind::Postgres).await;
    let a = db.app().with_public_url("http://service.example.test/");
    let b = db
        .another_app()
        .await
        .with_public_url("http://service.example.test/");
    let agent = staff(&a, "agent@example.cn", "agent").await;
    let pm = staff(&a, "pm@example.cn", "product_manager").await;
    for n in 0..6 {
        resolved_request(&a, &agent, n).await;
    }
    // Both servers have their text model built before the correction below.
    let (model_a, model_b) = (a.analyzer().await.unwrap(), b.analyzer().await.unwrap());
    let (server_a, server_b) = (server(&a, &sink), server(&b, &sink));

    wait_for("six survey mails", Duration::from_secs(40), async || {
        survey_mails(&sink, before).len() >= 6
    })
    .await;
    // Another round of every shared job on both servers: nothing more may happen.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let expected: Vec<String> = (0..6).map(|n| format!("customer{n}@example.com")).collect();
    let mailed = survey_mails(&sink, before);
    assert_eq!(mailed.len(), 6, "each survey mailed once: {mailed:?}");
    for (got, want) in mailed.iter().zip(&expected) {
        assert!(got.contains(want.as_str()), "{got} is not {want}");
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM surveys").await, 6);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM feedback_items WHERE origin LIKE 'request:%'")
            .await,
        6,
        "each request taken in as feedback once"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")
            .await,
        0
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM outbox WHERE attempts <> 1")
            .await,
        0,
        "each queued mail sent in one attempt, by one server"
    );

    // A correction on server A reaches server B's classifier within 5 s.
    assert_ne!(ladder_of(&model_b), Ladder::Quality);
    let item = a
        .add_feedback(
            &agent,
            &FeedbackInput {
                source: "call".into(),
                body: COMPLAINT.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    a.correct_feedback(
        &pm,
        item.id,
        &LabelsInput {
            ladder: Some("quality".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ladder_of(&model_a), Ladder::Quality);
    wait_for(
        "the correction on the other server",
        Duration::from_secs(5),
        async || ladder_of(&model_b) == Ladder::Quality,
    )
    .await;

    // Server A stops; server B takes its shared jobs over.
    server_a.shutdown().await;
    resolved_request(&b, &agent, 6).await;
    wait_for(
        "the survey after A stopped",
        Duration::from_secs(40),
        async || survey_mails(&sink, before).len() >= 7,
    )
    .await;
    server_b.shutdown().await;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM job_leases").await,
        0,
        "leases given up"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM surveys").await, 7);
    db.cleanup().await;
}

/// The text analyser is built when a server's jobs start, not by the first text that
/// needs it: nothing here asks for it, and it is there, reading a complaint as negative.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_builds_its_text_analyser_at_start() {
    let sink = SmtpSink::start();
    let db = TestDb::new(Kind::Sqlite).await;
    let app = db.app();
    assert!(!app.text_model_built());
    let running = server(&app, &sink);
    wait_for("the analyser built", Duration::from_secs(60), async || {
        app.text_model_built()
    })
    .await;
    let analyzer = app.analyzer().await.unwrap();
    let read = analyzer.read().unwrap().analyze(COMPLAINT).unwrap();
    assert_eq!(read.sentiment.label, Sentiment::Negative);
    running.shutdown().await;
}
