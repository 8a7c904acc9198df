//! Customer value over an old order log, as a migrating user imports it, on SQLite and on
//! PostgreSQL: scored as of today nobody is in the RFM window (this answered 500 and the
//! background refresh failed every round), and scored as of a day in the log's past the
//! later purchases are left out and the day sticks to later rounds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::service::Principal;
use aftercare_app::value::*;
use aftercare_app::{App, AppError};
use aftercare_testkit::{BOTH, Kind, ManualClock, TestDb, customer, order, product, staff};
use jiff::civil::{Date, date};

/// 2026-06-30, noon in Shanghai.
const NOW: &str = "2026-06-30T04:00:00Z";

async fn recompute(app: &App, p: &Principal, as_of: Option<&str>) -> ModelView {
    let as_of = app.recompute_day(as_of).unwrap();
    let job = app.start_recompute(p).await.unwrap();
    app.run_recompute(&p.actor(), job.id, as_of, &|_, _| {})
        .await
        .unwrap()
}

fn field_code(e: AppError) -> (String, &'static str) {
    match e {
        AppError::Invalid(inv) => (inv.0[0].field.clone(), inv.0[0].code),
        e => panic!("not a field error: {e:?}"),
    }
}

async fn scenario(kind: Kind) {
    eprintln!("---- running on {kind:?}");
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at(NOW);
    let app = db.app_at(&clock);
    let admin = staff(&app, "admin@example.cn", "admin").await;
    let analyst = staff(&app, "analyst@example.cn", "analyst").await;
    let item = product(&app, &admin, "唱片", "cd", "CD", "15.00").await;

    // An order log of 1997–1998: 24 customers who started in early 1997, some buying
    // again (into the end of 1997), a third of them once more in 1998; and one who first
    // bought in 1998. `log` keeps (customer, day) of the early customers' orders.
    let mut early = Vec::new();
    let mut log: Vec<(aftercare_domain::CustomerId, String)> = Vec::new();
    for i in 0..24u32 {
        let id = customer(&app, &admin, &format!("老顾客{i:02}")).await;
        let mut days = vec![format!("1997-0{}-1{}", 1 + i % 3, i % 9)];
        for k in 0..(i % 4) {
            days.push(format!("1997-{:02}-0{}", 4 + (k * 3 + i) % 9, 1 + k));
        }
        if i % 3 == 0 {
            days.push("1998-03-02".into());
        }
        for (n, day) in days.into_iter().enumerate() {
            let quantity = if n == 0 { 1 + i % 2 } else { 1 };
            order(&app, &admin, id, item, &day, quantity, None).await;
            log.push((id, day));
        }
        early.push(id);
    }
    let late = customer(&app, &admin, "新顾客").await;
    order(&app, &admin, late, item, "1998-02-10", 3, None).await;
    order(&app, &admin, late, item, "1998-05-20", 1, None).await;

    // As of today: nobody bought within the RFM window. The run, the model, each value and
    // the refresh all answer.
    let today = recompute(&app, &analyst, None).await;
    assert_eq!(today.model.as_of, date(2026, 6, 30));
    assert!(!today.model.as_of_fixed);
    let b = &today.model.boundaries;
    assert!(
        b.recency.iter().chain(&b.frequency).all(|c| c.is_finite()),
        "{b:?}"
    );
    let stored = app
        .value_model(&analyst)
        .await
        .unwrap()
        .expect("the model reads back");
    assert_eq!(
        (
            stored.model.as_of,
            stored.model.buyers,
            stored.model.boundaries.recency.len()
        ),
        (today.model.as_of, today.model.buyers, 4)
    );
    for id in early.iter().chain([&late]) {
        let v = app
            .customer_value(&analyst, *id)
            .await
            .unwrap()
            .value
            .unwrap();
        assert_eq!(v.risk.map(|r| r.code()), Some("dormant"), "{id}");
        assert_eq!((v.r, v.f, v.m), (None, None, None));
        assert_ne!(
            v.class.code(),
            "mgc",
            "no current value and a small CLV is not most growable"
        );
    }
    order(&app, &admin, late, item, "1998-06-01", 1, None).await;
    let round = app.refresh_values().await.unwrap();
    assert!(round.customers >= 1, "{round:?}");

    // A day outside the log's reach or no day at all is refused, naming the field.
    for (bad, code) in [
        ("1989-12-31", "date_out_of_range"),
        ("2026-07-01", "date_in_future"),
        ("30/09/1997", "date_invalid"),
    ] {
        assert_eq!(
            field_code(app.recompute_day(Some(bad)).unwrap_err()),
            ("as_of".into(), code),
            "{bad}"
        );
    }

    // As of 1997-09-30: the 1998 purchases are left out, the late customer is no buyer.
    let past = recompute(&app, &analyst, Some("1997-09-30")).await;
    let day: Date = date(1997, 9, 30);
    assert_eq!((past.model.as_of, past.model.as_of_fixed), (day, true));
    assert_eq!(past.model.calibration_end, day);
    assert_eq!(past.model.buyers, early.len());
    let stored = app.value_model(&analyst).await.unwrap().unwrap();
    assert!(stored.model.as_of_fixed);
    let late_value = app
        .customer_value(&analyst, late)
        .await
        .unwrap()
        .value
        .unwrap();
    assert_eq!((late_value.purchases, late_value.as_of), (0, day));
    let first = app
        .customer_value(&analyst, early[0])
        .await
        .unwrap()
        .value
        .unwrap();
    assert_eq!(
        first.purchases, 1,
        "the 1998 order of customer 0 is after the day"
    );
    assert_ne!(
        first.risk.map(|r| r.code()),
        Some("dormant"),
        "bought in January, not dormant by September"
    );
    // One-time buyers have no probability of being active: not enough history.
    assert_eq!(first.p_alive, None);
    let repeat = app
        .customer_value(&analyst, early[3])
        .await
        .unwrap()
        .value
        .unwrap();
    assert!(repeat.purchases >= 3, "{repeat:?}");
    if past.model.bgnbd.is_some() {
        assert!(repeat.p_alive.is_some_and(|p| (0.0..=1.0).contains(&p)));
    }

    // A later change is scored as of the chosen day too.
    order(&app, &admin, early[1], item, "1997-08-08", 1, None).await;
    app.refresh_values().await.unwrap();
    let v = app
        .customer_value(&analyst, early[1])
        .await
        .unwrap()
        .value
        .unwrap();
    assert_eq!(v.as_of, day);

    // Holdout validation: fitted up to 1997-09-30, the cohort's days with a purchase after
    // it (to 1998-06-30) are the repeat purchases made afterwards.
    let made = log
        .iter()
        .filter(|(_, d)| d.as_str() > "1997-09-30" && d.as_str() <= "1998-06-30")
        .collect::<std::collections::BTreeSet<_>>()
        .len() as f64;
    assert!(made > 8.0, "{made}");
    let q = |cal: Option<&str>, end: Option<&str>| HoldoutQuery {
        calibration_end: cal.map(Into::into),
        end: end.map(Into::into),
    };
    let r = app
        .value_holdout(&analyst, &q(Some("1997-09-30"), Some("1998-06-30")))
        .await
        .unwrap();
    assert_eq!((r.calibration_end, r.end), (day, date(1998, 6, 30)));
    assert_eq!(r.cohort, early.len());
    match &r.bgnbd {
        Some(_) => {
            assert_eq!(r.actual, made);
            assert!(r.predicted > 0.0);
            assert_eq!(
                r.by_frequency.iter().map(|g| g.customers).sum::<usize>(),
                early.len()
            );
            assert_eq!(r.tracking.last().map(|p| p.day), Some(date(1998, 6, 30)));
            assert!(r.tracking.len() <= 13);
            assert!(
                r.tracking
                    .windows(2)
                    .all(|w| w[0].actual <= w[1].actual && w[0].predicted <= w[1].predicted)
            );
        }
        None => assert!(r.fit_error_code.is_some()),
    }
    for (query, field, code) in [
        (q(None, None), "calibration_end", "required"),
        (
            q(Some("1998-07-01"), Some("1998-06-30")),
            "calibration_end",
            "from_after_to",
        ),
        (
            q(Some("1997-09-30"), Some("2027-01-01")),
            "end",
            "date_in_future",
        ),
    ] {
        let e = app.value_holdout(&analyst, &query).await.unwrap_err();
        assert_eq!(field_code(e), (field.into(), code), "{query:?}");
    }
    let agent = staff(&app, "agent@example.cn", "agent").await;
    assert!(matches!(
        app.value_holdout(&agent, &q(Some("1997-09-30"), None))
            .await,
        Err(AppError::Forbidden)
    ));

    // A recompute without a day goes back to today.
    let again = recompute(&app, &analyst, None).await;
    assert!(!again.model.as_of_fixed);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_order_log_is_scored_as_of_today_and_as_of_its_past_on_both_databases() {
    for kind in BOTH {
        scenario(kind).await;
    }
}
