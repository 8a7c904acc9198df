//! Scorecards and quality reviews through the real use cases over the real store, on
//! SQLite and on PostgreSQL: the monthly figures summed from requests written in bulk (a
//! month's history, laid down like an import) and from requests worked through the desk,
//! the case mix on the hand-worked example of the domain's tests, what each reader may
//! see, refreshing after a change, and reviews sampled, scored and answered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::desk::*;
use aftercare_app::input::*;
use aftercare_app::quality_model::*;
use aftercare_app::service::Principal;
use aftercare_app::{App, AppError};
use aftercare_domain::standards::ChecklistMark;
use aftercare_domain::{AssetId, CategoryId, CustomerId, RequestId};
use aftercare_testkit::{BOTH, Kind, ManualClock, TestDb, order_input, staff_named};

/// Monday 2026-11-23, 10:00 in Shanghai.
const MONDAY_10: &str = "2026-11-23T02:00:00Z";

struct World {
    admin: Principal,
    agent: Principal,
    li: Principal,
    wang: Principal,
    aircon: CategoryId,
    customer: CustomerId,
    asset: AssetId,
}

async fn world(app: &App) -> World {
    let admin = staff_named(app, "admin@example.cn", "管理员", "admin").await;
    let agent = staff_named(app, "agent@example.cn", "客服小李", "agent").await;
    let li = staff_named(app, "li@example.cn", "李师傅", "technician").await;
    let wang = staff_named(app, "wang@example.cn", "王师傅", "technician").await;
    let policy = app
        .create_policy(
            &admin,
            &PolicyInput {
                name: "国家三包".into(),
                return_days: 7,
                exchange_days: 15,
                repair_months: 12,
                repair_limit: 2,
                void_conditions: vec![],
            },
        )
        .await
        .unwrap();
    let aircon = app
        .create_category(
            &admin,
            &CategoryInput {
                name: "空调".into(),
                parent_id: None,
                policy_id: Some(policy),
            },
        )
        .await
        .unwrap();
    let product = app
        .create_product(
            &admin,
            &ProductInput {
                sku: "KFR-35GW".into(),
                name: "格力云佳 1.5匹".into(),
                category_id: aircon,
                policy_id: None,
                price: "3999.00".into(),
                currency: None,
                serialized: true,
                strategy: None,
            },
        )
        .await
        .unwrap();
    let customer = aftercare_testkit::customer(app, &admin, "陈静").await;
    app.create_order(&admin, &order_input(customer, product, 1, &["GR-1"]))
        .await
        .unwrap();
    let asset = app.store.assets_of(customer).await.unwrap()[0].id;
    World {
        admin,
        agent,
        li,
        wang,
        aircon,
        customer,
        asset,
    }
}

/// Lays down `count` resolved requests of November, `ok` of them within their target.
#[allow(clippy::too_many_arguments)]
async fn history(
    db: &TestDb,
    w: &World,
    tag: &str,
    user: Option<&Principal>,
    service_type: &str,
    count: i64,
    ok: i64,
    rating: Option<i64>,
) {
    for n in 0..count {
        sqlx::query(
            "INSERT INTO requests (number, customer_id, service_type, phase, status, active, priority, \
             priority_rank, channel, subject, description, tier, created_at, updated_at, assignee_id, \
             category_id, resolved_at, resolution_breached, rating) \
             VALUES ($1, $2, $3, 'after_sale', 'resolved', 0, 'normal', 2, 'phone', '历史', '', 'medium', \
             $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(format!("SR-H-{tag}-{n}"))
        .bind(w.customer.get())
        .bind(service_type)
        .bind("2026-11-10T02:00:00Z")
        .bind("2026-11-12T02:00:00Z")
        .bind(user.map(|p| p.user.id.get()))
        .bind(w.aircon.get())
        .bind("2026-11-12T02:00:00Z")
        .bind(i64::from(n >= ok))
        .bind(rating.filter(|_| n == 0))
        .execute(&db.db.write)
        .await
        .unwrap();
    }
}

fn measure<'a>(card: &'a Scorecard, code: &str) -> &'a MeasureView {
    card.measures.iter().find(|m| m.code == code).unwrap()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

async fn transition(app: &App, p: &Principal, id: RequestId, to: &str) {
    let v = app.request_detail(p, id).await.unwrap().request.version;
    app.transition(
        p,
        id,
        &TransitionInput {
            status: to.into(),
            version: v,
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

async fn scorecards_hold_people_to_account(kind: Kind) {
    eprintln!("---- running on {kind:?}");
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;
    // The domain's hand-worked example: everyone's installations resolve in time 90 of
    // 100, compressor repairs 30 of 60; Li takes mostly repairs, Wang installations.
    history(&db, &w, "li-i", Some(&w.li), "installation", 10, 9, None).await;
    history(&db, &w, "li-r", Some(&w.li), "repair", 40, 22, Some(1)).await;
    history(
        &db,
        &w,
        "wang-i",
        Some(&w.wang),
        "installation",
        40,
        34,
        Some(2),
    )
    .await;
    history(&db, &w, "wang-r", Some(&w.wang), "repair", 10, 2, None).await;
    history(&db, &w, "x-i", None, "installation", 50, 47, None).await;
    history(&db, &w, "x-r", None, "repair", 10, 6, None).await;

    let q = ScorecardQuery {
        from: Some("2026-11".into()),
        ..Default::default()
    };
    // Figures are as of the last refresh: none yet.
    assert!(app.scorecards(&w.admin, &q).await.unwrap().as_of.is_none());
    assert!(matches!(
        app.refresh_scorecards_now(&w.li).await,
        Err(AppError::Forbidden)
    ));
    assert_eq!(app.refresh_scorecards_now(&w.admin).await.unwrap(), 1);
    // Nothing changed since: nothing summed again.
    assert_eq!(app.refresh_scorecards().await.unwrap(), 0);
    let r = app.scorecards(&w.admin, &q).await.unwrap();
    assert!(r.as_of.is_some());
    assert_eq!(
        (r.from.as_str(), r.to.as_str(), r.of.as_str()),
        ("2026-11", "2026-11", "people")
    );
    let names: Vec<&str> = r.cards.iter().map(|c| c.name.as_str()).collect();
    // Ranked by the case-mix adjusted rate: Li, on the hard work, above Wang; the agent,
    // with nothing, last.
    assert_eq!(names, vec!["李师傅", "王师傅", "客服小李"], "{names:?}");
    let li = &r.cards[0];
    let m = measure(li, "resolution_in_sla");
    assert_eq!(m.n, 50);
    assert!(
        close(m.value, 0.62) && close(m.expected, 0.58) && close(m.adjusted, 0.79),
        "{m:?}"
    );
    assert_eq!(m.meets, Some(false));
    let m = measure(&r.cards[1], "resolution_in_sla");
    assert!(
        close(m.value, 0.72) && close(m.expected, 0.82) && close(m.adjusted, 0.65),
        "{m:?}"
    );
    // Too few cases: not enough data, not a misleading percentage.
    let agent = &r.cards[2];
    assert_eq!(measure(agent, "resolution_in_sla").value, None);
    assert_eq!(measure(li, "csat").value, None);
    assert_eq!(measure(li, "csat").n, 1);
    // Li sees his own card only; the agent cannot read outlets' cards.
    let own = app.scorecards(&w.li, &q).await.unwrap();
    assert_eq!(own.cards.len(), 1);
    assert_eq!(own.cards[0].name, "李师傅");
    let outlets = ScorecardQuery {
        of: Some("outlets".into()),
        ..q.clone()
    };
    assert!(matches!(
        app.scorecards(&w.agent, &outlets).await,
        Err(AppError::Forbidden)
    ));
    // Bad periods name the field.
    let bad = app
        .scorecards(
            &w.admin,
            &ScorecardQuery {
                from: Some("2026-13".into()),
                to: Some("2020-01".into()),
                of: Some("teams".into()),
            },
        )
        .await;
    match bad {
        Err(AppError::Invalid(i)) => {
            let f: Vec<(&str, &str)> = i.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
            assert_eq!(f, vec![("from", "month_invalid"), ("of", "out_of_range")]);
        }
        other => panic!("{other:?}"),
    }

    // Worked through the desk: a repair Li visits on time, keeping all but one item of
    // the standard, resolves; the item comes back within 30 days.
    app.set_standard(&w.admin, "repair", &["准时到达".into(), "清理现场".into()])
        .await
        .unwrap();
    let open = |who: Principal| {
        let app = app.clone();
        let (customer, asset) = (w.customer, w.asset);
        async move {
            app.open_request(
                &who,
                &RequestInput {
                    customer_id: customer,
                    asset_id: Some(asset),
                    service_type: "repair".into(),
                    subject: "空调不制冷".into(),
                    assignee_id: None,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .0
        }
    };
    let first = open(w.agent.clone()).await;
    let v = app
        .request_detail(&w.admin, first)
        .await
        .unwrap()
        .request
        .version;
    app.patch_request(
        &w.admin,
        first,
        &RequestPatch {
            version: v,
            assignee_id: Some(w.li.user.id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let visit = app
        .book_visit(
            &w.li,
            first,
            &VisitInput {
                technician_id: w.li.user.id,
                starts_at: "2026-11-23T09:00".into(),
                ends_at: "2026-11-23T09:45".into(),
                address: None,
            },
        )
        .await
        .unwrap();
    let report = |arrived: &str| VisitReportInput {
        work_done: "补充冷媒".into(),
        parts: None,
        minutes_spent: 40,
        confirmed_by: "陈静".into(),
        checklist: vec![
            ChecklistMark {
                item: "准时到达".into(),
                done: true,
            },
            ChecklistMark {
                item: "清理现场".into(),
                done: false,
            },
        ],
        arrived_at: Some(arrived.into()),
    };
    // An arrival later than now is a typing mistake.
    match app
        .report_visit(&w.li, visit, &report("2026-11-23T18:00"))
        .await
    {
        Err(AppError::Invalid(i)) => assert_eq!(i.0[0].code, "arrival_out_of_range"),
        other => panic!("{other:?}"),
    }
    app.report_visit(&w.li, visit, &report("2026-11-23T09:10"))
        .await
        .unwrap();
    let status = app
        .request_detail(&w.li, first)
        .await
        .unwrap()
        .request
        .status;
    if status.code() == "scheduled" {
        transition(&app, &w.li, first, "in_progress").await;
    }
    transition(&app, &w.li, first, "resolved").await;
    clock.advance(std::time::Duration::from_secs(3 * 86_400));
    let again = open(w.agent.clone()).await;
    assert_ne!(again, first);
    // The customer complains: laid at the door of who served them last (Li, three days
    // ago), not of those who served them before.
    let complaint = app
        .open_request(
            &w.agent,
            &RequestInput {
                customer_id: w.customer,
                service_type: "complaint".into(),
                subject: "师傅没有清理现场".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .0;
    let laid = app
        .complaints_laid(&w.admin, &q, w.li.user.id.get())
        .await
        .unwrap();
    assert_eq!(laid.len(), 1);
    assert_eq!(
        (laid[0].complaint_id, laid[0].request_id),
        (Some(complaint), first)
    );
    assert_eq!(laid[0].root_cause, None);
    assert!(
        app.complaints_laid(&w.admin, &q, w.wang.user.id.get())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        app.complaints_laid(&w.wang, &q, w.li.user.id.get()).await,
        Err(AppError::NotFound(_))
    ));
    // November changed: summed again (December, where complaints about it could fall, has
    // not begun).
    assert_eq!(app.refresh_scorecards().await.unwrap(), 1);
    let r = app.scorecards(&w.admin, &q).await.unwrap();
    let li = r.cards.iter().find(|c| c.name == "李师傅").unwrap();
    assert_eq!(measure(li, "resolution_in_sla").n, 51);
    let visits = measure(li, "visits_on_time");
    assert_eq!((visits.n, visits.value), (1, None));
    assert_eq!(measure(li, "standards_kept").n, 2);
    let repeat = measure(li, "repeat_repair");
    assert_eq!(repeat.n, 41);
    assert!(close(repeat.value, 1.0 / 41.0), "{repeat:?}");
    let ftf = measure(li, "first_time_fix");
    assert_eq!((ftf.n, ftf.value), (1, None));
    assert_eq!(measure(li, "complaints").value, Some(1.0));
    let wang = r.cards.iter().find(|c| c.name == "王师傅").unwrap();
    assert_eq!(measure(wang, "complaints").value, Some(0.0));

    // Reviews: per person, every low rating and three at random.
    assert!(matches!(
        app.sample_reviews(&w.li, "2026-11").await,
        Err(AppError::Forbidden)
    ));
    let added = app.sample_reviews(&w.admin, "2026-11").await.unwrap();
    assert_eq!(app.sample_reviews(&w.admin, "2026-11").await.unwrap(), 0);
    let all = app
        .reviews(&w.admin, &ReviewQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), added);
    let lis: Vec<&Review> = all.iter().filter(|r| r.user_id == w.li.user.id).collect();
    assert_eq!(
        lis.len(),
        5,
        "the complaint, the low rating and three at random"
    );
    assert!(
        lis.iter()
            .any(|r| r.reason == "complaint" && r.request_id == first)
    );
    assert_eq!(lis.iter().filter(|r| r.reason == "low_rating").count(), 1);
    let wangs = all.iter().filter(|r| r.user_id == w.wang.user.id).count();
    assert_eq!(wangs, 4, "a 2-star rating is low too, and three at random");
    let review = lis.iter().find(|r| r.reason == "low_rating").unwrap();
    // Li sees his reviews, not Wang's.
    assert_eq!(
        app.reviews(&w.li, &ReviewQuery::default())
            .await
            .unwrap()
            .len(),
        5
    );
    let wang_review = all.iter().find(|r| r.user_id == w.wang.user.id).unwrap();
    assert!(matches!(
        app.review(&w.li, wang_review.id).await,
        Err(AppError::NotFound(_))
    ));
    // Scored against the rubric: every criterion, 0–5.
    let mut scores: std::collections::BTreeMap<String, i64> = aftercare_domain::scorecard::RUBRIC
        .iter()
        .map(|c| (c.to_string(), 3))
        .collect();
    scores.insert("diagnosis".into(), 7);
    let input = |scores: std::collections::BTreeMap<String, i64>, version| ReviewInput {
        scores,
        comment: Some("诊断不够细".into()),
        version,
    };
    match app
        .save_review(&w.admin, review.id, &input(scores.clone(), 1))
        .await
    {
        Err(AppError::Invalid(i)) => {
            assert_eq!(i.0[0].field, "scores.diagnosis");
            assert_eq!(i.0[0].code, "out_of_range");
        }
        other => panic!("{other:?}"),
    }
    scores.insert("diagnosis".into(), 4);
    assert!(matches!(
        app.save_review(&w.li, review.id, &input(scores.clone(), 1))
            .await,
        Err(AppError::Forbidden)
    ));
    app.save_review(&w.admin, review.id, &input(scores, 1))
        .await
        .unwrap();
    let done = app.review(&w.li, review.id).await.unwrap();
    assert_eq!((done.status.as_str(), done.score), ("done", Some(64)));
    app.answer_review(
        &w.li,
        review.id,
        &ReviewAnswer {
            answer: "已复查，电容老化".into(),
            version: done.version,
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        app.answer_review(
            &w.wang,
            review.id,
            &ReviewAnswer {
                answer: "不是我的".into(),
                version: done.version + 1,
            },
        )
        .await,
        Err(AppError::NotFound(_))
    ));
    // The score enters Li's card (reviews are read as they are).
    let r = app.scorecards(&w.admin, &q).await.unwrap();
    let li = r.cards.iter().find(|c| c.name == "李师傅").unwrap();
    let qs = measure(li, "quality_score");
    assert_eq!((qs.n, qs.value), (1, Some(64.0)));

    // The management overview: November's resolved requests, ratings and buyers, for
    // everyone and per product line; technicians do not read it.
    let nov = OverviewQuery {
        from: Some("2026-11".into()),
        to: Some("2026-11".into()),
        by: None,
    };
    assert!(matches!(
        app.overview(&w.li, &nov).await,
        Err(AppError::Forbidden)
    ));
    let o = app.overview(&w.admin, &nov).await.unwrap();
    assert_eq!(o.groups.len(), 1);
    let m = &o.groups[0].months[0];
    // 160 laid down and one worked through the desk; two rated (1 and 2 stars).
    assert_eq!((m.month.as_str(), m.resolved), ("2026-11", 161));
    assert_eq!(m.rating, Some(1.5));
    // One customer bought (the test's order), for the first time.
    assert_eq!((m.buyers, m.repeat_share), (1, Some(0.0)));
    assert_eq!(m.reached, 1);
    // Bad experiences: 40 resolved late and the two low ratings (both in time); good ones
    // tell 8 people, bad ones 25.
    let bad = (1 + 18 + 6 + 8 + 3 + 4) + 2;
    let good = 161 - bad;
    assert_eq!(m.word_of_mouth, good * 8 - bad * 25);
    let per_line = app
        .overview(
            &w.admin,
            &OverviewQuery {
                by: Some("line".into()),
                ..nov.clone()
            },
        )
        .await
        .unwrap();
    let aircon = per_line
        .groups
        .iter()
        .find(|g| g.id == w.aircon.get())
        .unwrap();
    assert_eq!(aircon.months[0].resolved, 161);
    assert_eq!(aircon.months[0].buyers, 1);
    assert!(matches!(
        app.overview(
            &w.admin,
            &OverviewQuery {
                by: Some("region".into()),
                ..nov.clone()
            }
        )
        .await,
        Err(AppError::Invalid(_))
    ));
    // The last month a calendar has is no month of this business (no month after it).
    match app
        .overview(
            &w.admin,
            &OverviewQuery {
                from: Some("9999-12".into()),
                to: Some("9999-12".into()),
                by: None,
            },
        )
        .await
    {
        Err(AppError::Invalid(i)) => assert_eq!(i.0[0].code, "date_out_of_range"),
        other => panic!("{other:?}"),
    }
    // A partner's marketer (who may analyse) does not read the brand's overview.
    let marketer = staff_named(&app, "mkt@example.cn", "特约市场", "marketer").await;
    let outlet = app
        .save_outlet(
            &w.admin,
            None,
            &aftercare_app::network_model::OutletInput {
                name: "特约站".into(),
                kind: "partner".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.set_staff_profile(
        &w.admin,
        marketer.user.id,
        &StaffProfileInput {
            outlet_id: Some(outlet),
            capacity: 20,
            auto_assign: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        app.overview(&marketer, &nov).await,
        Err(AppError::Forbidden)
    ));
    db.cleanup().await;
}

macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                for kind in BOTH {
                    super::$name(kind).await;
                }
            }
        )+
    };
}

mod on_sqlite_and_postgres {
    on_both!(scorecards_hold_people_to_account);
    use super::BOTH;
}
