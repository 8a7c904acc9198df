//! Customer value through the real use cases over the real store, on SQLite and on
//! PostgreSQL: a full recompute, incremental rescoring from the change log, tiers that
//! drive the desk, stages with history, segments, the funnel, Pareto, referrals, settings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::desk::{RequestInput, RequestPatch, TierInput};
use aftercare_app::input::*;
use aftercare_app::service::Principal;
use aftercare_app::value::*;
use aftercare_app::{App, AppError};
use aftercare_domain::CustomerId;
use aftercare_insight::value::ValueSettings;
use aftercare_testkit::{BOTH, Kind, ManualClock, TestDb, customer, order, product, staff};
use jiff::civil::date;

/// 2026-06-30, noon in Shanghai.
const NOW: &str = "2026-06-30T04:00:00Z";

async fn recompute(app: &App, p: &Principal) -> ModelView {
    let job = app.start_recompute(p).await.unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let view = app
        .run_recompute(&p.actor(), job.id, None, &|done, total| {
            seen.lock().unwrap().push((done, total))
        })
        .await
        .unwrap();
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen.last().map(|s| s.0),
        seen.last().map(|s| s.1),
        "{seen:?}"
    );
    let job = app.value_job(p, job.id).await.unwrap();
    assert_eq!((job.stage.as_str(), job.done), ("done", job.total));
    view
}

async fn value(app: &App, p: &Principal, id: CustomerId) -> ValueView {
    let view = app.customer_value(p, id).await.unwrap();
    // The customer page reads the same view, and the model behind it, in its batch.
    let page = app.customer_page(p, id, None).await.unwrap();
    let (paged, model) = page.value.expect("the customer page's value panel");
    assert_eq!(format!("{paged:?}"), format!("{view:?}"));
    assert_eq!(
        format!("{model:?}"),
        format!("{:?}", app.value_model(p).await.unwrap())
    );
    view
}

async fn timeline(app: &App, p: &Principal, id: CustomerId) -> Vec<String> {
    app.timeline(p, id, None, Some(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| format!("{} {}", e.kind, e.summary))
        .collect()
}

async fn scenario(kind: Kind) {
    eprintln!("---- running on {kind:?}");
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at(NOW);
    let app = db.app_at(&clock);
    let admin = staff(&app, "admin@example.cn", "admin").await;
    let analyst = staff(&app, "analyst@example.cn", "analyst").await;
    let agent = staff(&app, "agent@example.cn", "agent").await;
    let product = product(&app, &admin, "净水器", "filter", "滤芯", "100.00").await;

    // Before any run there is nothing to refresh and nothing scored.
    assert_eq!(app.refresh_values().await.unwrap(), Refresh::default());

    // A population: 40 buyers with different habits.
    let mut crowd = Vec::new();
    for i in 0..40u32 {
        let id = customer(&app, &admin, &format!("顾客{i:02}")).await;
        let orders = 1 + i % 5;
        for k in 0..orders {
            let month = 1 + (k * 2 + i % 3) % 12;
            let year = if k % 2 == 0 { 2025 } else { 2026 };
            let month = if year == 2026 { month.min(6) } else { month };
            order(
                &app,
                &admin,
                id,
                product,
                &format!("{year}-{month:02}-{:02}", 1 + i % 27),
                1 + i % 3,
                None,
            )
            .await;
        }
        crowd.push(id);
    }
    // A big, frequent buyer; a buyer whose repairs cost more than they bring; someone who
    // only asked questions.
    let big = customer(&app, &admin, "大客户").await;
    for m in 1..=6 {
        order(
            &app,
            &admin,
            big,
            product,
            &format!("2026-{m:02}-15"),
            30,
            None,
        )
        .await;
    }
    let costly = customer(&app, &admin, "维修多").await;
    order(&app, &admin, costly, product, "2026-03-01", 1, None).await;
    let (rid, _) = app
        .open_request(
            &agent,
            &RequestInput {
                customer_id: costly,
                service_type: "repair".into(),
                subject: "漏水".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let v = app
        .request_detail(&agent, rid)
        .await
        .unwrap()
        .request
        .version;
    app.patch_request(
        &agent,
        rid,
        &RequestPatch {
            version: v,
            parts_cost: Some("80.00".into()),
            labour_cost: Some("50.00".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let asker = customer(&app, &admin, "咨询者").await;
    for s in ["价格", "安装"] {
        app.add_interaction(
            &agent,
            asker,
            &InteractionInput {
                touchpoint: "phone".into(),
                direction: None,
                subject: s.into(),
                body: None,
            },
        )
        .await
        .unwrap();
    }

    // A few customers' facts, read in one batch (a page's value panel, an incremental
    // round), are what the read of everyone gives them.
    {
        let (as_of, s) = (date(2026, 6, 30), ValueSettings::default());
        let named = [big, costly, asker, crowd[3]];
        let all = app.store.customer_facts(as_of, &s, None).await.unwrap();
        let some = app
            .store
            .customer_facts(as_of, &s, Some(&named))
            .await
            .unwrap();
        assert_eq!(some.len(), named.len());
        for f in &some {
            assert_eq!(Some(f), all.iter().find(|x| x.customer_id == f.customer_id));
        }
        assert!(some.iter().any(|f| f.purchases == 6));
        assert!(some.iter().any(|f| f.service_cost > 0.0));
        assert!(some.iter().any(|f| f.contacts >= 2));
    }
    // Only analysts (and managers) run it.
    assert!(matches!(
        app.start_recompute(&agent).await,
        Err(AppError::Forbidden)
    ));
    let view = recompute(&app, &analyst).await;
    let m = &view.model;
    assert_eq!((m.customers, m.buyers), (43, 42));
    assert_eq!(m.calibration_end, date(2026, 6, 30));
    assert_eq!(m.calibration_start, Some(date(2025, 1, 1)));
    assert_eq!(m.unit_days, 7);
    assert!(
        m.bgnbd.is_some() && m.gamma_gamma.is_some(),
        "{:?}",
        m.fit_error
    );
    assert!(m.bgnbd.unwrap().log_likelihood < 0.0);
    // A second run while one is going is refused.
    let running = app.start_recompute(&analyst).await.unwrap();
    assert!(matches!(
        app.start_recompute(&analyst).await,
        Err(AppError::Conflict {
            code: "recompute_running",
            ..
        })
    ));
    app.run_recompute(&analyst.actor(), running.id, None, &|_, _| {})
        .await
        .unwrap();

    let b = value(&app, &agent, big).await;
    let bv = b.value.clone().unwrap();
    assert_eq!((bv.class.code(), bv.tier.code()), ("mvc", "high"));
    assert_eq!(
        b.tier.map(|t| t.code()),
        Some("high"),
        "the computed tier is in force"
    );
    assert_eq!((bv.r, bv.f, bv.m), (Some(5), Some(5), Some(5)));
    assert_eq!(bv.purchases, 6);
    assert_eq!(bv.revenue, 6.0 * 30.0 * 10_000.0);
    assert!(bv.p_alive.unwrap() > 0.5 && bv.clv > 0.0);
    assert_eq!(
        bv.stage.code(),
        "accepting",
        "6 purchases, no promoter rating or referral yet"
    );
    let c = value(&app, &agent, costly).await.value.unwrap();
    assert_eq!((c.class.code(), c.tier.code()), ("bz", "low"));
    assert_eq!(c.service_cost, 13_000.0);
    let a = value(&app, &agent, asker).await;
    let av = a.value.unwrap();
    assert_eq!((av.stage.code(), av.r, av.purchases), ("familiar", None, 0));
    assert_eq!(a.stages.len(), 1, "the first stage is recorded");

    // The tier drives the desk: the big customer's next request is opened at high tier.
    let (rid, _) = app
        .open_request(
            &agent,
            &RequestInput {
                customer_id: big,
                service_type: "consultation".into(),
                subject: "再买十个".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let r = app.request_detail(&agent, rid).await.unwrap().request;
    assert_eq!(r.tier.code(), "high");

    // Incremental: the asker buys a lot; within a round they are rescored, their stage
    // and tier change, and both are on the timeline.
    order(&app, &agent, asker, product, "2026-06-29", 100, None).await;
    let round = app.refresh_values().await.unwrap();
    assert!(round.customers >= 1 && round.events >= 1, "{round:?}");
    let a = value(&app, &agent, asker).await;
    let av = a.value.clone().unwrap();
    assert_eq!((av.purchases, av.stage.code()), (1, "trusting"));
    assert_eq!(
        (av.class.code(), a.tier.map(|t| t.code())),
        ("mvc", Some("high"))
    );
    assert_eq!(a.stages[0].from_stage.map(|s| s.code()), Some("familiar"));
    assert_eq!(a.stages[0].to_stage.code(), "trusting");
    let t = timeline(&app, &agent, asker).await;
    assert!(
        t.contains(&"stage stage familiar → trusting".to_string()),
        "{t:?}"
    );
    assert!(t.contains(&"tier tier low → high".to_string()), "{t:?}");
    // Nothing new: nothing to do.
    assert_eq!(app.refresh_values().await.unwrap().customers, 0);

    // A referral counts toward the referrer's stage: the big buyer becomes dependent.
    app.add_referral(
        &agent,
        big,
        &ReferralInput {
            referred_id: asker,
            note: Some("朋友介绍".into()),
        },
    )
    .await
    .unwrap();
    let again = app
        .add_referral(
            &agent,
            costly,
            &ReferralInput {
                referred_id: asker,
                note: None,
            },
        )
        .await;
    assert!(matches!(
        again,
        Err(AppError::Conflict {
            code: "already_referred",
            ..
        })
    ));
    let own = app
        .add_referral(
            &agent,
            big,
            &ReferralInput {
                referred_id: big,
                note: None,
            },
        )
        .await;
    assert!(matches!(own, Err(AppError::Invalid(_))));
    app.refresh_values().await.unwrap();
    assert_eq!(
        value(&app, &agent, big).await.value.unwrap().stage.code(),
        "dependent"
    );

    // A tier set by hand stays through a recompute until it is released.
    app.set_customer_tier(
        &agent,
        costly,
        &TierInput {
            tier: "high".into(),
        },
    )
    .await
    .unwrap();
    recompute(&app, &analyst).await;
    let c = value(&app, &agent, costly).await;
    assert_eq!(
        (c.tier.map(|t| t.code()), c.tier_pinned),
        (Some("high"), true)
    );
    assert_eq!(
        c.value.unwrap().tier.code(),
        "low",
        "the computed tier is still shown"
    );
    app.unpin_tier(&agent, costly).await.unwrap();
    let c = value(&app, &agent, costly).await;
    assert_eq!(
        (c.tier.map(|t| t.code()), c.tier_pinned),
        (Some("low"), false)
    );

    // Segments: filter, page, count, save; bad filters name the field.
    let mvc = SegmentFilter {
        class: Some("mvc".into()),
        ..Default::default()
    };
    let page = app.segment(&agent, &mvc, None, 2).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.items[0].customer_id, big,
        "ordered by CLV, highest first"
    );
    assert!(page.items[0].clv >= page.items[1].clv);
    let stats = app.segment_stats(&agent, &mvc).await.unwrap();
    assert!(stats.count >= 2);
    assert_eq!(stats.classes[0].key, "mvc");
    assert_eq!(stats.classes[0].count, stats.count);
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let p = app
            .segment(&agent, &SegmentFilter::default(), cursor.as_deref(), 7)
            .await
            .unwrap();
        all.extend(p.items.into_iter().map(|r| r.customer_id));
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 43, "paging sees everyone once");
    let bad = SegmentFilter {
        tier: Some("gold".into()),
        r_min: Some(9),
        ..Default::default()
    };
    match app.segment(&agent, &bad, None, 10).await {
        Err(AppError::Invalid(e)) => {
            let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(fields, ["tier", "r_min"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        app.save_segment(
            &agent,
            &SegmentInput {
                name: "x".into(),
                filter: mvc.clone()
            }
        )
        .await,
        Err(AppError::Forbidden)
    ));
    let sid = app
        .save_segment(
            &analyst,
            &SegmentInput {
                name: "最有价值".into(),
                filter: mvc.clone(),
            },
        )
        .await
        .unwrap();
    let saved = app.segments(&agent).await.unwrap();
    assert_eq!((saved[0].id, saved[0].name.as_str()), (sid, "最有价值"));
    assert_eq!(saved[0].filter, mvc);
    app.delete_segment(&analyst, sid).await.unwrap();
    assert!(app.segments(&agent).await.unwrap().is_empty());

    // The funnel and Pareto.
    let f = app.funnel(&agent, Some("2026-06-01"), None).await.unwrap();
    let total: i64 = f.stages.iter().map(|b| b.count).sum();
    assert_eq!(total, 43);
    assert!(
        f.moves.iter().any(|m| m.key == "familiar>trusting"),
        "{:?}",
        f.moves
    );
    let p = app.pareto(&agent, 20.0).await.unwrap();
    assert_eq!(p.top_customers, 9);
    assert!(p.revenue_share > 0.5, "{p:?}");
    assert!(matches!(
        app.pareto(&agent, 0.0).await,
        Err(AppError::Invalid(_))
    ));

    // Settings: checked by field, kept, used by the next run.
    let wrong = ValueSettings {
        margin: 2.0,
        ..ValueSettings::default()
    };
    match app.set_value_settings(&analyst, &wrong).await {
        Err(AppError::Invalid(e)) => assert_eq!(e.0[0].field, "margin"),
        other => panic!("{other:?}"),
    }
    let thin = ValueSettings {
        margin: 0.05,
        ..ValueSettings::default()
    };
    app.set_value_settings(&analyst, &thin).await.unwrap();
    assert_eq!(app.value_settings(&agent).await.unwrap(), thin);
    let view = recompute(&app, &analyst).await;
    assert_eq!(view.settings.margin, 0.05);
    let model = app.value_model(&agent).await.unwrap().unwrap();
    assert_eq!(model.settings.margin, 0.05);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_value_is_scored_refreshed_and_explored_on_both_databases() {
    for kind in BOTH {
        scenario(kind).await;
    }
}
