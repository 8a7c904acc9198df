#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Surveys end to end, on SQLite and on PostgreSQL, through a real SMTP server: a resolved
//! request's survey is mailed to a customer who agreed to email (with a signed link) and
//! kept for the portal of one who did not; the quiet period holds back a second survey; an
//! unanswered survey is reminded once; the answer from the link becomes feedback; an
//! altered link finds nothing and an expired one is refused.

use aftercare_app::desk::{RequestInput, TransitionInput};
use aftercare_app::feedback::FeedbackQuery;
use aftercare_app::input::{CategoryInput, CustomerInput, EmailInput, ProductInput};
use aftercare_app::service::Principal;
use aftercare_app::survey::{ScoreQuery, SurveyAnswer};
use aftercare_app::{App, AppError};
use aftercare_domain::{CustomerId, RequestId};
use aftercare_mail::{Security, SmtpConfig, SmtpMailer, parse};
use aftercare_testkit::smtp::SmtpSink;
use aftercare_testkit::{BOTH, Kind, ManualClock, TestDb, order, staff};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(24 * 3600);

async fn customer(
    app: &App,
    p: &Principal,
    name: &str,
    email: &str,
    consent: &[&str],
) -> CustomerId {
    app.create_customer(
        p,
        &CustomerInput {
            name: name.into(),
            emails: vec![EmailInput {
                address: email.into(),
                primary: true,
            }],
            consent: consent.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn resolved_request(
    app: &App,
    p: &Principal,
    customer_id: CustomerId,
    subject: &str,
) -> RequestId {
    let (id, _) = app
        .open_request(
            p,
            &RequestInput {
                customer_id,
                service_type: "repair".into(),
                subject: subject.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    for st in ["in_progress", "resolved"] {
        let version = app.request_detail(p, id).await.unwrap().request.version;
        app.transition(
            p,
            id,
            &TransitionInput {
                status: st.into(),
                version,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    id
}

/// The mails the sink received after the first `skip`, decoded: (to, subject, body).
fn mails(sink: &SmtpSink, skip: usize) -> Vec<(String, String, String)> {
    sink.delivered()
        .into_iter()
        .skip(skip)
        .map(|raw| {
            let text = String::from_utf8_lossy(&raw).to_string();
            let to = text
                .lines()
                .find_map(|l| l.strip_prefix("To: "))
                .unwrap_or_default()
                .to_owned();
            let m = parse(&raw).unwrap();
            (to, m.subject, m.body)
        })
        .collect()
}

fn link_in(body: &str) -> String {
    let start = body
        .find("http://service.example.test/s/")
        .expect("a survey link");
    body[start..].split_whitespace().next().unwrap().to_owned()
}

async fn scenario(kind: Kind, sink: &SmtpSink) {
    eprintln!("---- running on {kind:?}");
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at("2026-06-01T02:00:00Z");
    let app = db
        .app_at(&clock)
        .with_public_url("http://service.example.test/");
    let admin = staff(&app, "admin@example.cn", "admin").await;
    let agent = staff(&app, "agent@example.cn", "agent").await;
    let mailer = SmtpMailer::new(SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.port,
        security: Security::None,
        username: None,
        password: None,
        from: "售后服务中心 <service@aftercare.example.com>".into(),
    })
    .unwrap();
    let before = sink.delivered().len();

    let wang = customer(
        &app,
        &agent,
        "王芳",
        "wangfang@example.com",
        &["email", "sms"],
    )
    .await;
    let li = customer(&app, &agent, "李雷", "lilei@example.com", &["sms"]).await;
    let zhang = customer(&app, &agent, "张伟", "zhangwei@example.com", &["email"]).await;

    // Resolved requests: Wang agreed to email, Li did not.
    let r1 = resolved_request(&app, &agent, wang, "空调不制冷").await;
    resolved_request(&app, &agent, li, "洗衣机漏水").await;
    let round = app.survey_round().await.unwrap();
    assert_eq!((round.created, round.mailed), (2, 1), "{round:?}");
    let d = app.deliver_outbox(&mailer).await.unwrap();
    assert_eq!(d.failed, 0);
    let sent: Vec<_> = mails(sink, before)
        .into_iter()
        .filter(|m| m.1.contains("评价"))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].0.contains("wangfang@example.com"),
        "{:?}",
        sent[0].0
    );
    assert!(
        // In her language only (none chosen: simplified Chinese), not in two at once.
        sent[0].2.contains("王芳") && sent[0].2.contains("您好") && !sent[0].2.contains("Hello"),
        "{}",
        sent[0].2
    );
    let link = link_in(&sent[0].2);
    let token = link.rsplit('/').next().unwrap().to_owned();

    // Li's survey waits in the portal only; nothing twice for the same request.
    assert_eq!(app.survey_round().await.unwrap().created, 0);
    // The quiet period: Wang's next resolved request brings no second survey.
    resolved_request(&app, &agent, wang, "空调又坏了").await;
    let round = app.survey_round().await.unwrap();
    assert_eq!((round.created, round.quiet), (0, 1), "{round:?}");

    // A purchase surveys Zhang; four days on, unanswered, he is reminded once.
    let cat = app
        .create_category(
            &admin,
            &CategoryInput {
                name: "冰箱".into(),
                parent_id: None,
                policy_id: None,
            },
        )
        .await
        .unwrap();
    let fridge = app
        .create_product(
            &admin,
            &ProductInput {
                sku: "BX-1".into(),
                name: "星云冰箱".into(),
                category_id: cat,
                policy_id: None,
                price: "2999.00".into(),
                currency: None,
                serialized: false,
                strategy: None,
            },
        )
        .await
        .unwrap();
    order(&app, &agent, zhang, fridge, "2026-06-01", 1, None).await;
    let round = app.survey_round().await.unwrap();
    assert_eq!((round.created, round.mailed), (1, 1), "{round:?}");
    clock.advance(4 * DAY);
    let round = app.survey_round().await.unwrap();
    assert_eq!(
        round.reminded, 2,
        "Wang and Zhang, mailed and unanswered: {round:?}"
    );
    assert_eq!(app.survey_round().await.unwrap().reminded, 0, "once");
    app.deliver_outbox(&mailer).await.unwrap();
    let reminders: Vec<_> = mails(sink, before)
        .into_iter()
        .filter(|m| m.1.contains("提醒"))
        .collect();
    assert_eq!(reminders.len(), 2);
    let zhang_link = reminders
        .iter()
        .find(|m| m.0.contains("zhangwei"))
        .map(|m| link_in(&m.2))
        .unwrap();
    let zhang_token = zhang_link.rsplit('/').next().unwrap().to_owned();

    // An altered link finds nothing.
    let mut forged = token.clone();
    forged.replace_range(0..1, if forged.starts_with('9') { "8" } else { "9" });
    assert!(matches!(
        app.survey_by_token(&forged).await,
        Err(AppError::NotFound(_))
    ));
    let form = app.survey_by_token(&token).await.unwrap();
    assert!(!form.expired && form.survey.answered_at.is_none());
    assert_eq!(form.survey.request_id, Some(r1));

    // Answering from the link: scores checked, the comment becomes negative feedback.
    let bad = SurveyAnswer {
        csat: Some(9),
        ..Default::default()
    };
    assert!(matches!(
        app.answer_survey(&token, &bad).await,
        Err(AppError::Invalid(_))
    ));
    let answer = SurveyAnswer {
        csat: Some(2),
        nps: Some(3),
        ces: Some(2),
        comment: Some("师傅迟到了两个小时，修完空调还是不太凉，很失望".into()),
        ..Default::default()
    };
    let done = app.answer_survey(&token, &answer).await.unwrap();
    assert_eq!((done.csat, done.nps, done.ces), (Some(2), Some(3), Some(2)));
    // One answer: the survey's CSAT is the request's rating.
    assert_eq!(
        app.request_detail(&agent, r1).await.unwrap().request.rating,
        Some(2)
    );
    let item = app
        .feedback_item(&agent, done.feedback_id.expect("the comment is feedback"))
        .await
        .unwrap();
    assert_eq!(
        (item.source.code(), item.customer_id, item.request_id),
        ("survey", Some(wang), Some(r1))
    );
    assert_eq!(item.sentiment.map(|s| s.code()), Some("negative"));
    assert!(matches!(
        app.answer_survey(&token, &answer).await,
        Err(AppError::Conflict {
            code: "survey_answered",
            ..
        })
    ));
    let surveys = app
        .feedback(
            &agent,
            &FeedbackQuery {
                source: Some("survey".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(surveys.items.len(), 1);

    // Past its lifetime the link is refused.
    clock.advance(11 * DAY);
    assert!(app.survey_by_token(&zhang_token).await.unwrap().expired);
    assert!(matches!(
        app.answer_survey(
            &zhang_token,
            &SurveyAnswer {
                nps: Some(10),
                ..Default::default()
            }
        )
        .await,
        Err(AppError::Conflict {
            code: "survey_expired",
            ..
        })
    ));

    // The trend: one answer in June (China time), NPS −100 (a detractor).
    let scores = app
        .survey_scores(&agent, &ScoreQuery::default())
        .await
        .unwrap();
    assert_eq!(scores.len(), 1, "{scores:?}");
    assert_eq!(
        (
            scores[0].period.as_str(),
            scores[0].answers,
            scores[0].nps,
            scores[0].csat
        ),
        ("2026-06", 1, Some(-100.0), Some(2.0))
    );
    assert!(matches!(
        app.survey_scores(
            &agent,
            &ScoreQuery {
                group: Some("colour".into()),
                ..Default::default()
            }
        )
        .await,
        Err(AppError::Invalid(_))
    ));

    // Stars given in the portal are the answer: no survey follows, and an open survey
    // is answered by them.
    let account = |customer_id: CustomerId, email: &str| aftercare_app::ports::PortalAccount {
        id: 0,
        customer_id,
        email: email.into(),
        name: "客户".into(),
        lang: None,
    };
    let zhao = customer(&app, &agent, "赵敏", "zhaomin@example.com", &["email"]).await;
    let rz = resolved_request(&app, &agent, zhao, "冰箱结霜").await;
    let stars = |n| aftercare_app::desk::RatingInput {
        stars: n,
        comment: None,
    };
    app.portal_rate(&account(zhao, "zhaomin@example.com"), rz, &stars(5))
        .await
        .unwrap();
    let round = app.survey_round().await.unwrap();
    assert_eq!(
        (round.created, round.mailed, round.rated),
        (0, 0, 1),
        "{round:?}"
    );
    // Nothing is asked, and the stars count as the survey's CSAT.
    assert!(
        app.portal_surveys(&account(zhao, "zhaomin@example.com"))
            .await
            .unwrap()
            .is_empty()
    );
    let qian = customer(&app, &agent, "钱进", "qianjin@example.com", &["email"]).await;
    let rq = resolved_request(&app, &agent, qian, "油烟机异响").await;
    let round = app.survey_round().await.unwrap();
    assert_eq!(round.created, 1, "{round:?}");
    let q = account(qian, "qianjin@example.com");
    assert_eq!(app.portal_surveys(&q).await.unwrap().len(), 1);
    app.portal_rate(&q, rq, &stars(4)).await.unwrap();
    assert!(app.portal_surveys(&q).await.unwrap().is_empty());
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn surveys_are_mailed_reminded_answered_and_kept_quiet_on_both_databases() {
    let sink = SmtpSink::start();
    for kind in BOTH {
        scenario(kind, &sink).await;
    }
}
