#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `aftercare value recompute` and `aftercare value model`, as an analyst runs them: a
//! progress bar on standard error, the fitted model on standard output, as JSON with
//! `--json`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(dir: &PathBuf, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("AFTERCARE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aftercare {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn value_recompute_prints_progress_and_the_fitted_model_as_json() {
    let dir = std::env::temp_dir().join(format!("aftercare-cli-value-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // Before any run there is no model to show.
    run(&dir, &["migrate"]);
    let none = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["value", "model"])
        .output()
        .unwrap();
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("aftercare value recompute"));

    run(&dir, &["demo", "--customers", "400", "--seed", "3"]);
    let out = run(&dir, &["value", "recompute", "--json"]);
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("100%"), "{progress}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &v["model"];
    assert_eq!(m["unit_days"], 7);
    assert!(m["customers"].as_u64().unwrap() >= 400);
    assert!(m["calibration_start"].is_string() && m["calibration_end"].is_string());
    for p in ["r", "alpha", "a", "b", "log_likelihood"] {
        assert!(m["bgnbd"][p].is_number(), "bgnbd.{p}: {v}");
    }
    for p in ["p", "q", "gamma", "log_likelihood"] {
        assert!(m["gamma_gamma"][p].is_number(), "gamma_gamma.{p}: {v}");
    }
    assert_eq!(v["settings"]["margin"], 0.3);

    // `value model` shows the same run; without --json, in words.
    let again: serde_json::Value =
        serde_json::from_slice(&run(&dir, &["value", "model", "--json"]).stdout).unwrap();
    assert_eq!(again["model"], v["model"]);
    let text = String::from_utf8_lossy(&run(&dir, &["value", "model"]).stdout).to_string();
    assert!(text.contains("BG/NBD      r="), "{text}");
    assert!(text.contains("time unit 7 days"), "{text}");
    let refresh = String::from_utf8_lossy(&run(&dir, &["value", "refresh"]).stdout).to_string();
    assert!(refresh.starts_with("events "), "{refresh}");

    // As of a day in the past: the model says so, and so does `value model`.
    // The binary runs on the real clock, and so does its demo data.
    #[allow(clippy::disallowed_methods)]
    let today = jiff::Zoned::now().date();
    let day = (today - jiff::Span::new().days(200)).to_string();
    let past: serde_json::Value = serde_json::from_slice(
        &run(&dir, &["value", "recompute", "--as-of", &day, "--json"]).stdout,
    )
    .unwrap();
    assert_eq!(past["model"]["as_of"], day.as_str());
    assert_eq!(past["model"]["calibration_end"], day.as_str());
    assert_eq!(past["model"]["as_of_fixed"], true);
    let shown: serde_json::Value =
        serde_json::from_slice(&run(&dir, &["value", "model", "--json"]).stdout).unwrap();
    assert_eq!(shown["model"]["as_of"], day.as_str());
    // A day that is not one is refused, naming the option's field, and changes nothing.
    let bad = Command::new(env!("CARGO_BIN_EXE_aftercare"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["value", "recompute", "--as-of", "2099-01-01"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let why = String::from_utf8_lossy(&bad.stderr);
    assert!(
        why.contains("as_of") && why.contains("date_in_future"),
        "{why}"
    );
    let still: serde_json::Value =
        serde_json::from_slice(&run(&dir, &["value", "model", "--json"]).stdout).unwrap();
    assert_eq!(still["model"]["as_of"], day.as_str());

    // The holdout check on the demo: the cohort up to the day, then up to today.
    let holdout: serde_json::Value = serde_json::from_slice(
        &run(
            &dir,
            &["value", "holdout", "--calibration-end", &day, "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(holdout["calibration_end"], day.as_str());
    assert!(holdout["cohort"].as_u64().unwrap() > 0, "{holdout}");
    assert!(holdout["tracking"].as_array().is_some(), "{holdout}");
    let text = String::from_utf8_lossy(
        &run(&dir, &["value", "holdout", "--calibration-end", &day]).stdout,
    )
    .to_string();
    assert!(text.contains("cohort"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The demo's voice of the customer is believable: a text linked to a product talks about
/// that kind of product, and a request that only books an installation or a yearly
/// maintenance is not taken in as feedback (it once topped the backlog as a defect).
#[test]
fn the_demos_feedback_talks_about_the_products_it_is_linked_to() {
    use aftercare_app::feedback::FeedbackQuery;
    use aftercare_app::ports::FeedbackStore;
    let dir = std::env::temp_dir().join(format!("aftercare-cli-demo-voc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    run(&dir, &["demo", "--customers", "200", "--seed", "5"]);
    let url = format!("sqlite://{}", dir.join("aftercare.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (items, backlog) = rt.block_on(async {
        let store = aftercare_store::SqlStore::new(aftercare_store::connect(&url).await.unwrap());
        let mut items = Vec::new();
        let mut cursor = None;
        loop {
            let q = FeedbackQuery {
                cursor,
                ..Default::default()
            };
            let page = store.feedback(&q, 200).await.unwrap();
            items.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        (items, store.backlog(None, None).await.unwrap())
    });
    assert!(items.len() >= 40, "{} items", items.len());
    let kinds: &[(&str, &[&str])] = &[
        ("空调", &["空调", "空調", "冷气", "冷氣"]),
        ("冰箱", &["冰箱", "雪柜", "雪櫃"]),
        ("洗衣机", &["洗衣机", "洗衣機"]),
        ("电视", &["电视", "電視"]),
        ("热水器", &["热水器", "熱水器"]),
    ];
    let mut linked = 0;
    for f in items
        .iter()
        .filter(|f| f.origin.as_deref().is_some_and(|o| o.starts_with("demo:")))
    {
        let Some(product) = &f.product_name else {
            continue;
        };
        linked += 1;
        let (_, words) = kinds.iter().find(|(k, _)| product.contains(k)).unwrap();
        assert!(
            words.iter().any(|w| f.body.contains(w)),
            "{product}: {}",
            f.body
        );
    }
    assert!(linked > 0, "no demo text was linked to a product");
    for booking in ["新空调预约安装", "热水器年度保养"] {
        assert!(
            !items.iter().any(|f| f.body.trim() == booking),
            "a bare booking became feedback: {booking}"
        );
    }
    // The backlog's top defects are real defects. Each text behind them is either one of
    // the labelled set's (the demo's texts come from it), labelled by hand as a complaint
    // about function or quality, or a request's own words, from a request that reports a
    // fault (a repair, exchange, return or complaint; not a booking or a question), or a
    // comment given with a low rating or survey score (two stars or fewer).
    use aftercare_app::ports::RequestStore;
    use aftercare_domain::feedback::{Ladder, Sentiment};
    use aftercare_domain::request::ServiceType;
    let labels: std::collections::HashMap<String, (Sentiment, Ladder)> =
        aftercare_insight::text::builtin_labelled()
            .into_iter()
            .map(|l| (l.example.text, (l.example.sentiment, l.example.ladder)))
            .collect();
    let top: Vec<_> = backlog
        .iter()
        .filter(|e| e.kind == "defect")
        .take(3)
        .collect();
    assert!(!top.is_empty(), "the demo's backlog has no defect");
    let store = rt.block_on(async {
        aftercare_store::SqlStore::new(aftercare_store::connect(&url).await.unwrap())
    });
    for entry in top {
        let behind: Vec<_> = items
            .iter()
            .filter(|f| f.improvement_id == Some(entry.id))
            .collect();
        assert!(!behind.is_empty(), "{}: nothing behind it", entry.topic);
        for f in behind {
            let real = if let Some((s, l)) = labels.get(f.body.trim()) {
                *s == Sentiment::Negative && matches!(l, Ladder::Function | Ladder::Quality)
            } else if f
                .origin
                .as_deref()
                .is_some_and(|o| o.starts_with("rating:") || o.starts_with("survey:"))
            {
                f.rating.is_some_and(|r| r <= 2)
            } else if let Some(id) = f
                .origin
                .as_deref()
                .and_then(|o| o.strip_prefix("request:"))
                .and_then(|id| id.parse().ok())
            {
                let r = rt
                    .block_on(store.request(aftercare_domain::RequestId(id)))
                    .unwrap()
                    .unwrap();
                matches!(
                    r.service_type,
                    ServiceType::Repair
                        | ServiceType::Exchange
                        | ServiceType::Return
                        | ServiceType::Complaint
                )
            } else {
                false
            };
            assert!(
                real,
                "{} ({:?}) is not a defect: {} ({:?})",
                entry.topic, entry.product_name, f.body, f.origin
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
