//! The voice of the customer through the real use cases over the real store, on SQLite
//! and on PostgreSQL: feedback given by hand and captured from requests, replies, calls
//! and visits; analysis kept or flagged; corrections that retrain; the dictionary; the
//! backlog per product with its status and the customers to tell; the customer alliance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::AppError;
use aftercare_app::desk::RequestInput;
use aftercare_app::feedback::*;
use aftercare_app::input::*;
use aftercare_domain::{CustomerId, ProductId};
use aftercare_testkit::{BOTH, Kind, ManualClock, TestDb, customer, order_input, product, staff};

const NOW: &str = "2026-06-30T04:00:00Z";

fn said(source: &str, body: &str, customer: CustomerId, product: ProductId) -> FeedbackInput {
    FeedbackInput {
        source: source.into(),
        body: body.into(),
        customer_id: Some(customer),
        product_id: Some(product),
        ..Default::default()
    }
}

async fn scenario(kind: Kind) {
    eprintln!("---- running on {kind:?}");
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at(NOW);
    let app = db.app_at(&clock);
    let admin = staff(&app, "admin@example.cn", "admin").await;
    let pm = staff(&app, "pm@example.cn", "product_manager").await;
    let agent = staff(&app, "agent@example.cn", "agent").await;
    let fridge = product(&app, &admin, "冰箱", "BX-500", "星云双门冰箱", "3299.00").await;
    let wang = customer(&app, &admin, "王芳").await;
    let li = customer(&app, &admin, "李雷").await;
    let chen = customer(&app, &admin, "陈静").await;

    // Given by hand: analysed, classified, with the words behind each label, in the backlog.
    let a = app
        .add_feedback(
            &agent,
            &said(
                "call",
                "冰箱密封条变形了，门关不严一直报警，太失望了",
                wang,
                fridge,
            ),
        )
        .await
        .unwrap();
    assert_eq!(a.analysis, "analysed");
    assert_eq!(a.sentiment.map(|v| v.code()), Some("negative"));
    assert!(a.sentiment_score.unwrap() < 0.0);
    assert_eq!(a.topic.as_deref(), Some("密封条"));
    assert!(
        !a.evidence["ladder"].as_array().unwrap().is_empty(),
        "{:?}",
        a.evidence
    );
    assert_eq!(a.customer_name.as_deref(), Some("王芳"));
    let entry = a
        .improvement_id
        .expect("negative feedback about a part is backlog material");
    let b = app
        .add_feedback(
            &agent,
            &said(
                "review",
                "冰箱的密封條用了半年就鬆了，冷氣一直跑出來",
                li,
                fridge,
            ),
        )
        .await
        .unwrap();
    assert_eq!(b.script.as_deref(), Some("hant"));
    assert_eq!(
        b.topic.as_deref(),
        Some("密封条"),
        "traditional folded to the same topic"
    );
    assert_eq!(
        b.improvement_id,
        Some(entry),
        "same product, topic and kind: one entry"
    );
    // Praise is kept but is not backlog material.
    let praise = app
        .add_feedback(
            &agent,
            &said("survey", "师傅很专业，态度也好，谢谢", chen, fridge),
        )
        .await
        .unwrap();
    assert_eq!(praise.sentiment.map(|v| v.code()), Some("positive"));
    assert_eq!(praise.improvement_id, None);

    // Nothing is dropped: a text without words is kept and flagged.
    let odd = app
        .add_feedback(&agent, &said("review", "👍👍👍！！", chen, fridge))
        .await
        .unwrap();
    assert_eq!(odd.analysis, "failed");
    assert!(odd.analysis_error.is_some());
    let failed = app
        .feedback(
            &agent,
            &FeedbackQuery {
                failed: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        failed.items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![odd.id]
    );

    // The same origin twice is one item.
    let mut review = said("review", "物流很快，包装完好", chen, fridge);
    review.origin = Some("review:jd:7788".into());
    review.rating = Some(5);
    let first = app.add_feedback(&agent, &review).await.unwrap();
    let again = app.add_feedback(&agent, &review).await.unwrap();
    assert_eq!(first.id, again.id);

    // Bad input names the field and changes nothing.
    let before = app
        .feedback(&agent, &FeedbackQuery::default())
        .await
        .unwrap()
        .items
        .len();
    let bad = FeedbackInput {
        source: "fax".into(),
        body: "  ".into(),
        rating: Some(9),
        ..Default::default()
    };
    match app.add_feedback(&agent, &bad).await {
        Err(AppError::Invalid(inv)) => {
            let fields: Vec<&str> = inv.0.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, vec!["source", "body", "rating"]);
        }
        other => panic!("{other:?}"),
    }
    match app
        .add_feedback(&agent, &said("call", "好用", CustomerId(999_999), fridge))
        .await
    {
        Err(AppError::Conflict { code, field }) => {
            assert_eq!(
                (code, field.as_deref()),
                ("reference_not_found", Some("customer_id"))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        app.feedback(&agent, &FeedbackQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        before
    );

    // Corrections: agents may not; a product manager corrects, the change is kept, and
    // the same words are classified the corrected way from then on.
    let fix = LabelsInput {
        ladder: Some("quality".into()),
        ..Default::default()
    };
    assert!(matches!(
        app.correct_feedback(&agent, a.id, &fix).await,
        Err(AppError::Forbidden)
    ));
    let fixed = app.correct_feedback(&pm, a.id, &fix).await.unwrap();
    assert_eq!(fixed.ladder.map(|v| v.code()), Some("quality"));
    assert!(fixed.corrected);
    assert_eq!(
        fixed.improvement_id,
        Some(entry),
        "still negative about the seal"
    );
    let history = app.corrections(&agent, a.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].label.as_str(), history[0].to_value.as_str()),
        ("ladder", "quality")
    );
    let bad_label = LabelsInput {
        ladder: Some("rocket".into()),
        ..Default::default()
    };
    assert!(matches!(
        app.correct_feedback(&pm, a.id, &bad_label).await,
        Err(AppError::Invalid(_))
    ));
    // A fresh app (another process) learns the correction from the store.
    let fresh = db.app_at(&clock);
    let again = fresh
        .add_feedback(
            &agent,
            &said(
                "call",
                "冰箱密封条变形了，门关不严一直报警，太失望了",
                li,
                fridge,
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        again.ladder.map(|v| v.code()),
        Some("quality"),
        "{:?}",
        again.evidence
    );

    // The dictionary: a new part word segments whole and becomes the topic.
    let word = DictionaryWord {
        word: "製冰盒".into(),
        kind: "part".into(),
        added_by: String::new(),
        added_at: jiff::Timestamp::default(),
    };
    assert!(matches!(
        app.add_dictionary_word(&agent, &word).await,
        Err(AppError::Forbidden)
    ));
    let added = app.add_dictionary_word(&pm, &word).await.unwrap();
    assert_eq!(added.word, "制冰盒");
    assert!(matches!(
        app.add_dictionary_word(&pm, &word).await,
        Err(AppError::Conflict {
            code: "word_exists",
            ..
        })
    ));
    let ice = app
        .add_feedback(
            &agent,
            &said("visit", "制冰盒裂了，希望能单独买一个换上", chen, fridge),
        )
        .await
        .unwrap();
    assert_eq!(ice.topic.as_deref(), Some("制冰盒"));
    assert!(
        app.dictionary(&agent)
            .await
            .unwrap()
            .iter()
            .any(|w| w.word == "制冰盒")
    );

    // The customer alliance: experts' suggestions are shown apart.
    app.set_expert(
        &pm,
        chen,
        &ExpertInput {
            field: Some("厨房电器".into()),
        },
    )
    .await
    .unwrap();
    let experts = app
        .feedback(
            &agent,
            &FeedbackQuery {
                expert: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!experts.items.is_empty());
    assert!(
        experts
            .items
            .iter()
            .all(|i| i.customer_id == Some(chen) && i.expert)
    );
    assert_eq!(
        app.expert(&agent, chen)
            .await
            .unwrap()
            .unwrap()
            .0
            .as_deref(),
        Some("厨房电器")
    );
    assert_eq!(
        app.customer_page(&agent, chen, None).await.unwrap().expert,
        app.expert(&agent, chen).await.unwrap(),
        "the customer page reads the same in its batch"
    );

    // The backlog of the product, ranked by customers touched; shipping it gives the list
    // of customers to tell.
    let backlog = app.backlog(&agent, Some(fridge), None).await.unwrap();
    let top = &backlog[0];
    assert_eq!(
        (top.id, top.topic.as_str(), top.kind.as_str()),
        (entry, "密封条", "defect")
    );
    assert_eq!((top.customers, top.items, top.status.code()), (2, 3, "new"));
    assert!(
        backlog
            .iter()
            .any(|i| i.topic == "制冰盒" && i.experts == 1)
    );
    let bad_status = ImprovementInput {
        status: "done".into(),
        note: None,
    };
    assert!(matches!(
        app.set_improvement_status(&pm, entry, &bad_status).await,
        Err(AppError::Invalid(_))
    ));
    let shipped = app
        .set_improvement_status(
            &pm,
            entry,
            &ImprovementInput {
                status: "shipped".into(),
                note: Some("新密封条 2026-07 起".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(shipped.status.code(), "shipped");
    assert!(shipped.shipped_at.is_some());
    let tell = app.raised_by(&agent, entry).await.unwrap();
    assert_eq!(
        tell.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["王芳", "李雷"]
    );
    assert!(
        app.backlog(&agent, Some(fridge), Some("planned"))
            .await
            .unwrap()
            .is_empty()
    );

    // Capture from the rest of Aftercare: a complaint request, the customer's reply and
    // a call note become feedback items once, linked to the customer.
    let (rid, _) = app
        .open_request(
            &agent,
            &RequestInput {
                customer_id: li,
                service_type: "complaint".into(),
                subject: "安装师傅迟到".into(),
                description: "约好上午十点，师傅下午三点才到，也没有提前打电话".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.add_interaction(
        &agent,
        wang,
        &InteractionInput {
            touchpoint: "phone".into(),
            direction: None,
            subject: "回访".into(),
            body: Some("客户说冰箱很安静，制冷也快，很满意".into()),
        },
    )
    .await
    .unwrap();
    let round = app.capture_feedback().await.unwrap();
    assert_eq!(round.items, 2, "{round:?}");
    assert_eq!(
        app.capture_feedback().await.unwrap().items,
        0,
        "nothing twice"
    );
    // A round of many, more than one of its transactions takes: each request's item
    // names the product of the request's item (read for all of them at once).
    let category_id = app
        .store
        .product(fridge)
        .await
        .unwrap()
        .unwrap()
        .category_id;
    let freezer = app
        .create_product(
            &admin,
            &ProductInput {
                sku: "BX-700".into(),
                name: "星云冰柜".into(),
                category_id,
                policy_id: None,
                price: "4599.00".into(),
                currency: None,
                serialized: true,
                strategy: None,
            },
        )
        .await
        .unwrap();
    app.create_order(&admin, &order_input(li, freezer, 1, &["BX2026A0001"]))
        .await
        .unwrap();
    let asset = app.store.assets_of(li).await.unwrap()[0].id;
    for n in 0..55 {
        app.open_request(
            &agent,
            &RequestInput {
                customer_id: li,
                asset_id: Some(asset),
                service_type: "repair".into(),
                subject: format!("冰箱不制冷（第 {n} 次报修）"),
                description: "冷藏室温度一直降不下来，食物都坏了".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let round = app.capture_feedback().await.unwrap();
    assert_eq!(round.items, 55, "{round:?}");
    let mut repairs = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .feedback(
                &agent,
                &FeedbackQuery {
                    source: Some("request".into()),
                    customer_id: Some(li),
                    cursor,
                    limit: Some(50),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        repairs.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(repairs.len(), 55);
    assert!(
        repairs
            .iter()
            .all(|i| i.product_id == Some(freezer) && i.asset_id == Some(asset)),
        "{:?}",
        repairs.iter().find(|i| i.product_id != Some(freezer))
    );
    assert_eq!(app.capture_feedback().await.unwrap().items, 0);
    let complaint = app
        .feedback(
            &agent,
            &FeedbackQuery {
                source: Some("complaint".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(complaint.items.len(), 1);
    assert_eq!(complaint.items[0].request_id, Some(rid));
    assert_eq!(
        complaint.items[0].sentiment.map(|v| v.code()),
        Some("negative")
    );
    let call = app
        .feedback(
            &agent,
            &FeedbackQuery {
                source: Some("call".into()),
                customer_id: Some(wang),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        call.items
            .iter()
            .any(|i| i.body.contains("很满意") && i.sentiment.map(|v| v.code()) == Some("positive"))
    );

    // Paging.
    let page = app
        .feedback(
            &agent,
            &FeedbackQuery {
                limit: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 3);
    let next = app
        .feedback(
            &agent,
            &FeedbackQuery {
                limit: Some(3),
                cursor: page.next_cursor.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(next.items.iter().all(|i| i.id < page.items[2].id));
    // The analyser's doubts: an item it is unsure of is "to confirm" (below the threshold
    // on a label), listed apart, and leaves the list once someone labels it.
    let vague = app
        .add_feedback(&agent, &said("call", "嗯，那个，再说吧", li, fridge))
        .await
        .unwrap();
    let least = ["sentiment", "ladder", "need"]
        .iter()
        .map(|k| vague.confidence[k].as_f64().unwrap())
        .fold(f64::MAX, f64::min);
    assert_eq!(
        vague.uncertain,
        least < aftercare_insight::text::LOW_CONFIDENCE,
        "{:?}",
        vague.confidence
    );
    let to_confirm = |q: Option<bool>| {
        let app = &app;
        let pm = &pm;
        async move {
            app.feedback(
                pm,
                &FeedbackQuery {
                    uncertain: q,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items
        }
    };
    let listed = to_confirm(Some(true)).await;
    assert!(listed.iter().all(|i| i.uncertain));
    assert!(to_confirm(Some(false)).await.iter().all(|i| !i.uncertain));
    if vague.uncertain {
        assert!(listed.iter().any(|i| i.id == vague.id));
        app.correct_feedback(
            &pm,
            vague.id,
            &LabelsInput {
                sentiment: Some("neutral".into()),
                ladder: Some("function".into()),
                need: Some("current".into()),
            },
        )
        .await
        .unwrap();
        assert!(
            !to_confirm(Some(true))
                .await
                .iter()
                .any(|i| i.id == vague.id),
            "labelled: no longer to confirm"
        );
    }
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_is_kept_analysed_corrected_and_ranked_on_both_databases() {
    for kind in BOTH {
        scenario(kind).await;
    }
}
