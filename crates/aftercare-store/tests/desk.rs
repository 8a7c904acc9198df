//! The service desk through the real use cases over the real store, on SQLite and on
//! PostgreSQL, with a clock the tests move: requests, routing, SLA clocks and the sweep,
//! visits, warranty decisions, ratings, visibility and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::desk::*;
use aftercare_app::input::*;
use aftercare_app::network_model::OutletInput;
use aftercare_app::ports::{OpeningQuery, OpeningReads, RequestFilter, stamp};
use aftercare_app::service::Principal;
use aftercare_app::{Actor, App, AppError};
use aftercare_domain::{AssetId, CustomerId, Money, OrderId, UserId};
use aftercare_testkit::{BOTH, Kind, ManualClock, TestDb, customer, order_input, staff_named};

/// Monday 2026-11-23, 10:00 in Shanghai: inside office hours.
const MONDAY_10: &str = "2026-11-23T02:00:00Z";

async fn fresh(kind: Kind) -> TestDb {
    eprintln!("---- running on {kind:?}");
    TestDb::new(kind).await
}

struct World {
    admin: Principal,
    agent: Principal,
    tech: Principal,
    customer: CustomerId,
    asset: AssetId,
}

/// An admin, an agent (consultations), a technician (repairs, Shanghai), a customer in
/// Shanghai with an email, and an air conditioner bought today with the statutory 三包.
async fn world(app: &App) -> World {
    let admin = staff_named(app, "admin@example.cn", "管理员", "admin").await;
    let agent = staff_named(app, "agent@example.cn", "客服小李", "agent").await;
    let tech = staff_named(app, "tech@example.cn", "王师傅", "technician").await;
    app.set_staff_profile(
        &admin,
        agent.user.id,
        &StaffProfileInput {
            skills: vec!["consultation".into(), "complaint".into()],
            capacity: 20,
            auto_assign: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.set_staff_profile(
        &admin,
        tech.user.id,
        &StaffProfileInput {
            skills: vec!["repair".into(), "installation".into()],
            regions: vec!["上海".into()],
            capacity: 20,
            auto_assign: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let customer = app
        .create_customer(
            &admin,
            &CustomerInput {
                name: "张伟".into(),
                emails: vec![EmailInput {
                    address: "zhang.wei@example.cn".into(),
                    primary: true,
                }],
                addresses: vec![AddressInput {
                    city: Some("上海".into()),
                    street: "人民路 1 号".into(),
                    primary: true,
                    ..Default::default()
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let policy = app
        .create_policy(
            &admin,
            &PolicyInput {
                name: "国家三包".into(),
                return_days: 7,
                exchange_days: 15,
                repair_months: 12,
                repair_limit: 2,
                void_conditions: vec!["misuse".into()],
            },
        )
        .await
        .unwrap();
    let category = app
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
                category_id: category,
                policy_id: None,
                price: "3999.00".into(),
                currency: None,
                serialized: true,
                strategy: None,
            },
        )
        .await
        .unwrap();
    let order = app
        .create_order(&admin, &order_input(customer, product, 1, &["GR2026A0001"]))
        .await
        .unwrap();
    let asset = app.store.assets_of(customer).await.unwrap()[0].id;
    let _ = order;
    World {
        admin,
        agent,
        tech,
        customer,
        asset,
    }
}

fn repair(w: &World) -> RequestInput {
    RequestInput {
        customer_id: w.customer,
        asset_id: Some(w.asset),
        service_type: "repair".into(),
        subject: "空调不制冷".into(),
        description: "开机半小时后出风不冷。".into(),
        ..Default::default()
    }
}

fn conflict_code<T: std::fmt::Debug>(r: Result<T, AppError>) -> &'static str {
    match r {
        Err(AppError::Conflict { code, .. }) => code,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn invalid_fields<T: std::fmt::Debug>(r: Result<T, AppError>) -> Vec<(String, &'static str)> {
    match r {
        Err(AppError::Invalid(i)) => i.0.into_iter().map(|e| (e.field, e.code)).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

async fn outbox(db: &TestDb) -> Vec<(String, String)> {
    sqlx::query_as::<_, (String, String)>("SELECT recipient, subject FROM outbox ORDER BY id")
        .fetch_all(&db.db.read)
        .await
        .unwrap()
}

async fn a_repair_goes_from_portal_to_rating(kind: Kind) {
    let db = fresh(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;

    let (id, number) = app.open_request(&w.agent, &repair(&w)).await.unwrap();
    assert_eq!(number, "SR-2026-000001");
    let d = app.request_detail(&w.agent, id).await.unwrap();
    let r = &d.request;
    // Routed by skill and region to the technician; in warranty, so free.
    assert_eq!(r.assignee_id, Some(w.tech.user.id));
    assert_eq!(r.routed.as_deref(), Some("matched"));
    assert_eq!(r.status.code(), "assigned");
    assert_eq!(r.phase.code(), "after_sale");
    assert_eq!(
        (r.charge.map(|c| c.code()), r.charge_reason.as_deref()),
        (Some("free"), Some("repair_window"))
    );
    // Standard policy: 4 working hours to respond, 22.5 to resolve, from Monday 10:00.
    assert_eq!(d.sla.policy.as_deref(), Some("Standard"));
    assert_eq!(
        r.response_due.map(stamp).as_deref(),
        Some("2026-11-23T07:30:00.000000Z")
    );
    assert_eq!(
        r.resolution_due.map(stamp).as_deref(),
        Some("2026-11-26T02:00:00.000000Z")
    );
    assert_eq!(
        outbox(&db).await,
        vec![(
            "zhang.wei@example.cn".into(),
            "[SR-2026-000001] 空调不制冷".into()
        )]
    );

    // The state machine refuses a jump and says so.
    let jump = app
        .transition(
            &w.agent,
            id,
            &TransitionInput {
                status: "closed".into(),
                version: r.version,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(conflict_code(jump), "transition_not_allowed");
    // A stale version is refused.
    let stale = app
        .transition(
            &w.agent,
            id,
            &TransitionInput {
                status: "in_progress".into(),
                version: r.version - 1,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(conflict_code(stale), "version_conflict");

    // The first public reply meets the response target.
    clock.advance(std::time::Duration::from_secs(30 * 60));
    app.add_message(
        &w.tech,
        id,
        &MessageInput {
            kind: "reply".into(),
            body: "您好，我们明天上门。".into(),
            attachments: vec![],
        },
    )
    .await
    .unwrap();
    app.add_message(
        &w.tech,
        id,
        &MessageInput {
            kind: "note".into(),
            body: "可能是缺氟".into(),
            attachments: vec![],
        },
    )
    .await
    .unwrap();
    let d = app.request_detail(&w.agent, id).await.unwrap();
    assert_eq!(d.sla.response, "met");
    assert_eq!(
        d.messages
            .iter()
            .map(|m| m.kind.as_str())
            .collect::<Vec<_>>(),
        ["reply", "note"]
    );

    // Waiting for the customer stops the resolution clock; it resumes with what was left.
    let v = d.request.version;
    app.transition(
        &w.tech,
        id,
        &TransitionInput {
            status: "waiting_customer".into(),
            version: v,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let r = app.request_detail(&w.agent, id).await.unwrap().request;
    assert_eq!(r.resolution_due, None);
    // 22.5 h less the 30 min used.
    assert_eq!(r.resolution_left, Some(22 * 3600));
    clock.set("2026-11-24T01:00:00Z"); // Tuesday 09:00
    app.transition(
        &w.tech,
        id,
        &TransitionInput {
            status: "in_progress".into(),
            version: r.version,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let r = app.request_detail(&w.agent, id).await.unwrap().request;
    // Tuesday 7.5 + Wednesday 7.5 + Thursday 7 → Thursday 17:30.
    assert_eq!(
        r.resolution_due.map(stamp).as_deref(),
        Some("2026-11-26T09:30:00.000000Z")
    );

    // A visit; a clashing one for the same technician is refused.
    let visit = app
        .book_visit(
            &w.agent,
            id,
            &VisitInput {
                technician_id: w.tech.user.id,
                starts_at: "2026-11-25T10:00".into(),
                ends_at: "2026-11-25T12:00".into(),
                address: Some("上海市人民路 1 号".into()),
            },
        )
        .await
        .unwrap();
    let clash = app
        .book_visit(
            &w.agent,
            id,
            &VisitInput {
                technician_id: w.tech.user.id,
                starts_at: "2026-11-25T11:30".into(),
                ends_at: "2026-11-25T13:00".into(),
                address: None,
            },
        )
        .await;
    assert_eq!(conflict_code(clash), "visit_clash");
    let d = app.request_detail(&w.agent, id).await.unwrap();
    assert_eq!(d.request.status.code(), "scheduled");
    assert_eq!(d.visits.len(), 1);
    let ics = app.visits_ics(&w.tech, w.tech.user.id).await.unwrap();
    assert!(ics.contains("DTSTART:20261125T020000Z"), "{ics}");

    // Repairs are held to a checklist: a report must mark every item, done or not.
    app.set_standard(
        &w.admin,
        "repair",
        &["准时到达".into(), "穿鞋套".into(), "清理现场".into()],
    )
    .await
    .unwrap();
    use aftercare_domain::standards::ChecklistMark;
    let mark = |item: &str, done: bool| ChecklistMark {
        item: item.into(),
        done,
    };
    let mut report = VisitReportInput {
        work_done: "补充冷媒，更换阀门".into(),
        parts: Some("阀门 x1".into()),
        minutes_spent: 90,
        confirmed_by: "张伟".into(),
        checklist: vec![mark("准时到达", true)],
        arrived_at: None,
    };
    assert_eq!(
        invalid_fields(app.report_visit(&w.tech, visit, &report).await),
        vec![("checklist".to_string(), "checklist_incomplete")]
    );
    report.checklist = vec![
        mark("清理现场", false),
        mark("准时到达", true),
        mark("穿鞋套", true),
    ];
    app.report_visit(&w.tech, visit, &report).await.unwrap();
    let d = app.request_detail(&w.admin, id).await.unwrap();
    assert_eq!(
        d.visits[0].checklist,
        vec![
            mark("准时到达", true),
            mark("穿鞋套", true),
            mark("清理现场", false)
        ]
    );
    let missed = d
        .history
        .iter()
        .find(|h| h.kind == "standard_missed")
        .unwrap();
    assert_eq!(missed.to.as_deref(), Some("清理现场"));
    // A free repair counts toward the 三包 repair limit.
    let asset = app.asset(&w.admin, w.asset).await.unwrap();
    assert_eq!(
        asset.events.iter().filter(|e| e.kind == "repair").count(),
        1
    );

    let r = app.request_detail(&w.agent, id).await.unwrap().request;
    app.transition(
        &w.tech,
        id,
        &TransitionInput {
            status: "in_progress".into(),
            version: r.version,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let r = app.request_detail(&w.agent, id).await.unwrap().request;
    app.patch_request(
        &w.tech,
        id,
        &RequestPatch {
            version: r.version,
            parts_cost: Some("35.50".into()),
            labour_cost: Some("0".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let r = app.request_detail(&w.agent, id).await.unwrap().request;
    assert_eq!((r.parts_cost, r.labour_cost), (Money(35_50), Money(0)));

    // Rating before resolution is refused; after it, once.
    let early = app
        .rate_request(
            w.customer,
            &Actor::system("portal"),
            id,
            &RatingInput {
                stars: 5,
                comment: None,
            },
        )
        .await;
    assert_eq!(conflict_code(early), "not_resolved_yet");
    app.transition(
        &w.tech,
        id,
        &TransitionInput {
            status: "resolved".into(),
            version: r.version,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let d = app.request_detail(&w.agent, id).await.unwrap();
    assert_eq!(
        (d.sla.response.as_str(), d.sla.resolution.as_str()),
        ("met", "met")
    );
    app.rate_request(
        w.customer,
        &Actor::system("portal"),
        id,
        &RatingInput {
            stars: 4,
            comment: Some("师傅很专业".into()),
        },
    )
    .await
    .unwrap();
    let again = app
        .rate_request(
            w.customer,
            &Actor::system("portal"),
            id,
            &RatingInput {
                stars: 1,
                comment: None,
            },
        )
        .await;
    assert_eq!(conflict_code(again), "already_rated");
    // Someone else's customer cannot rate it (it does not exist for them).
    assert!(matches!(
        app.rate_request(
            CustomerId(w.customer.get() + 1000),
            &Actor::system("portal"),
            id,
            &RatingInput {
                stars: 1,
                comment: None
            }
        )
        .await,
        Err(AppError::NotFound("request"))
    ));

    // The customer's timeline tells the story, with the SLA outcome and the rating.
    let tl = app
        .store
        .timeline(w.customer, None, None, 50)
        .await
        .unwrap()
        .items;
    let kinds: Vec<&str> = tl.iter().map(|t| t.kind.as_str()).collect();
    for k in [
        "request",
        "request_reply",
        "visit",
        "request_resolved",
        "rating",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let rating = tl.iter().find(|t| t.kind == "rating").unwrap();
    assert!(
        rating.summary.contains("4/5") && rating.summary.contains("resolution met"),
        "{}",
        rating.summary
    );
    let resolved = tl.iter().find(|t| t.kind == "request_resolved").unwrap();
    assert!(
        resolved.summary.contains("SR-2026-000001"),
        "{}",
        resolved.summary
    );

    // The second request of the year gets the next number.
    let (_, n2) = app.open_request(&w.agent, &repair(&w)).await.unwrap();
    assert_eq!(n2, "SR-2026-000002");

    // Who pays is decided again when a request is moved to an item, and when its type
    // changes, as it is when a request of that type on that item is opened.
    let charge_of = |id| {
        let app = &app;
        let agent = &w.agent;
        async move {
            let r = app.request_detail(agent, id).await.unwrap().request;
            (r.charge.map(|c| c.code()), r.charge_reason, r.version)
        }
    };
    let no_item = RequestInput {
        asset_id: None,
        ..repair(&w)
    };
    let (moved, _) = app.open_request(&w.agent, &no_item).await.unwrap();
    let (charge, reason, version) = charge_of(moved).await;
    assert_eq!((charge, reason), (None, None));
    app.patch_request(
        &w.agent,
        moved,
        &RequestPatch {
            version,
            asset_id: Some(w.asset),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let (charge, reason, version) = charge_of(moved).await;
    assert_eq!(
        (charge, reason.as_deref()),
        (Some("free"), Some("repair_window"))
    );
    app.patch_request(
        &w.agent,
        moved,
        &RequestPatch {
            version,
            service_type: Some("maintenance".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let maintenance = RequestInput {
        service_type: "maintenance".into(),
        ..repair(&w)
    };
    let (opened, _) = app.open_request(&w.agent, &maintenance).await.unwrap();
    let (charge, reason, _) = charge_of(moved).await;
    assert_eq!(
        (charge, reason.as_deref()),
        (Some("partial"), Some("parts_covered_labour_charged"))
    );
    let (charge_opened, reason_opened, _) = charge_of(opened).await;
    assert_eq!((charge, reason), (charge_opened, reason_opened));

    // What opening a request reads in one batch (one hand-off on SQLite) is what the
    // separate reads give: the item here has a policy and a resolved repair.
    let order = app
        .store
        .orders(&OrderQuery {
            customer_id: Some(w.customer),
            ..Default::default()
        })
        .await
        .unwrap()
        .items[0]
        .id;
    for (customer_id, asset_id, order_id) in [
        (w.customer, Some(w.asset), Some(order)),
        (w.customer, Some(w.asset), None),
        (w.customer, None, Some(order)),
        (w.customer, None, None),
        (
            CustomerId(999_999),
            Some(AssetId(999_999)),
            Some(OrderId(999_999)),
        ),
    ] {
        for (who_pays, last_repair) in [(true, true), (true, false), (false, true), (false, false)]
        {
            let q = OpeningQuery {
                customer_id,
                asset_id,
                order_id,
                who_pays,
                last_repair,
            };
            assert_opening_reads_are_the_separate_reads(&app, &q).await;
        }
    }
    let q = OpeningQuery {
        customer_id: w.customer,
        asset_id: Some(w.asset),
        order_id: Some(order),
        who_pays: true,
        last_repair: true,
    };
    let reads = app.store.opening_reads(&q).await.unwrap();
    assert!(reads.facts.is_some() && reads.asset.is_some() && reads.product.is_some());
    assert!(reads.policy.is_some(), "the item is under the 三包 policy");
    assert!(reads.last_repair.is_some(), "the item was repaired above");
    assert_eq!(reads.order_customer, Some(w.customer));
    db.cleanup().await;
}

/// Compares [`RequestStore::opening_reads`] with the reads it stands for, one by one.
async fn assert_opening_reads_are_the_separate_reads(app: &App, q: &OpeningQuery) {
    let s = &app.store;
    let batch = s.opening_reads(q).await.unwrap();
    let asset = match q.asset_id {
        Some(a) => s.asset(a).await.unwrap(),
        None => None,
    };
    let product = match &asset {
        Some(a) => s.product(a.product_id).await.unwrap(),
        None => None,
    };
    let item = |on: bool| q.asset_id.filter(|_| on);
    let policy = match item(q.who_pays) {
        Some(a) => s.asset_policies(&[a]).await.unwrap().pop().map(|(_, p)| p),
        None => None,
    };
    let contracts = match item(q.who_pays) {
        Some(a) => s.contracts(None, Some(a.get())).await.unwrap(),
        None => vec![],
    };
    let last_repair = match item(q.last_repair) {
        Some(a) => s.last_repair(a).await.unwrap(),
        None => None,
    };
    let order_customer = match q.order_id {
        Some(o) => s.order(o).await.unwrap().map(|o| o.customer_id),
        None => None,
    };
    let categories = match q.asset_id {
        Some(_) => s.categories().await.unwrap(),
        None => vec![],
    };
    let separate = OpeningReads {
        facts: s.service_facts(q.customer_id).await.unwrap(),
        asset,
        order_customer,
        outlets: s.outlets().await.unwrap(),
        staff: s.staff_profiles().await.unwrap(),
        config: s.desk_config().await.unwrap(),
        product,
        categories,
        policy,
        contracts,
        last_repair,
    };
    assert_eq!(format!("{batch:?}"), format!("{separate:?}"), "{q:?}");
}

async fn breaches_escalate_and_the_sweep_reports_each_once(kind: Kind) {
    let db = fresh(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;
    let manager = staff_named(&app, "boss@example.cn", "服务经理", "manager").await;
    // A high-value customer whose account manager is the agent.
    app.set_customer_tier(
        &w.admin,
        w.customer,
        &TierInput {
            tier: "high".into(),
        },
    )
    .await
    .unwrap();
    let mut c = app.customer(&w.admin, w.customer).await.unwrap();
    c.account_manager_id = Some(w.agent.user.id);
    let mut input = CustomerInput {
        name: c.name.clone(),
        account_manager_id: Some(w.agent.user.id),
        emails: vec![EmailInput {
            address: "zhang.wei@example.cn".into(),
            primary: true,
        }],
        addresses: vec![AddressInput {
            city: Some("上海".into()),
            street: "人民路 1 号".into(),
            primary: true,
            ..Default::default()
        }],
        ..Default::default()
    };
    input.name = c.name;
    app.update_customer(&w.admin, w.customer, &input, None)
        .await
        .unwrap();

    let (id, _) = app.open_request(&w.agent, &repair(&w)).await.unwrap();
    // A second one at the same instant: the sweep handles them together (its bulk path).
    let (twin, _) = app.open_request(&w.agent, &repair(&w)).await.unwrap();
    let r = app.request_detail(&w.agent, id).await.unwrap().request;
    // Green channel: the account manager, at least high priority, the high-value policy.
    assert_eq!(r.assignee_id, Some(w.agent.user.id));
    assert_eq!(r.routed.as_deref(), Some("account_manager"));
    assert_eq!(r.priority.code(), "high");
    assert_eq!(r.tier.code(), "high");
    // 1 working hour to respond, 7.5 to resolve (warn 1 h before): Tuesday 10:00.
    assert_eq!(
        r.response_due.map(stamp).as_deref(),
        Some("2026-11-23T03:00:00.000000Z")
    );
    assert_eq!(
        r.resolution_due.map(stamp).as_deref(),
        Some("2026-11-24T02:00:00.000000Z")
    );

    assert_eq!(app.sla_sweep().await.unwrap().examined, 0);
    clock.set("2026-11-23T03:00:00Z");
    let s = app.sla_sweep().await.unwrap();
    assert_eq!((s.examined, s.response_breaches, s.escalations), (2, 2, 2));
    let r = app.request_detail(&w.agent, id).await.unwrap().request;
    assert!(r.escalated && r.response_breached);
    assert_eq!(r.priority.code(), "urgent", "raised one step");
    assert_eq!(app.sla_sweep().await.unwrap().examined, 0, "reported once");
    // Warning an hour before the resolution target (Tuesday 09:00), then the breach,
    // which reassigns away from the account manager.
    clock.set("2026-11-24T01:00:00Z");
    assert_eq!(app.sla_sweep().await.unwrap().warnings, 2);
    clock.set("2026-11-24T02:00:00Z");
    let s = app.sla_sweep().await.unwrap();
    assert_eq!(s.resolution_breaches, 2);
    let t = app.request_detail(&w.agent, twin).await.unwrap();
    assert_eq!(t.request.assignee_id, Some(w.tech.user.id));
    assert!(t.request.escalated && t.request.resolution_breached);
    assert_eq!(
        t.history
            .iter()
            .filter(|h| h.kind == "sla_resolution_breached")
            .count(),
        1
    );
    let d = app.request_detail(&w.agent, id).await.unwrap();
    assert_eq!(d.request.assignee_id, Some(w.tech.user.id));
    assert_eq!(d.sla.resolution, "breached");
    let kinds: Vec<&str> = d.history.iter().map(|h| h.kind.as_str()).collect();
    for k in [
        "sla_response_breached",
        "sla_warning",
        "sla_resolution_breached",
        "escalated",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    // Managers get one summary per sweep that found breaches, not one per request.
    let notified: Vec<(String, Option<String>)> = app
        .notifications(&manager)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.kind, n.detail))
        .collect();
    let summary = ("sla_breaches".to_string(), Some("2".to_string()));
    assert_eq!(notified, vec![summary.clone(), summary]);
    db.cleanup().await;
}

async fn queues_visibility_and_bad_input(kind: Kind) {
    let db = fresh(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;
    let own = app
        .save_outlet(
            &w.admin,
            None,
            &OutletInput {
                name: "上海服务中心".into(),
                kind: "own".into(),
                city: Some("上海".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let partner = app
        .save_outlet(
            &w.admin,
            None,
            &OutletInput {
                name: "浦东特约维修站".into(),
                kind: "partner".into(),
                city: Some("上海".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let partner_tech = staff_named(&app, "partner@example.cn", "特约师傅", "technician").await;
    app.set_staff_profile(
        &w.admin,
        partner_tech.user.id,
        &StaffProfileInput {
            outlet_id: Some(partner),
            capacity: 20,
            auto_assign: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // Bad input names every field and writes nothing.
    let bad = app
        .open_request(
            &w.agent,
            &RequestInput {
                customer_id: CustomerId(999_999),
                asset_id: Some(w.asset),
                service_type: "haircut".into(),
                priority: Some("asap".into()),
                subject: " ".into(),
                ..Default::default()
            },
        )
        .await;
    let fields = invalid_fields(bad);
    for f in [
        ("service_type", "service_type_unknown"),
        ("priority", "priority_unknown"),
        ("subject", "required"),
        ("customer_id", "reference_not_found"),
        ("asset_id", "asset_of_another_customer"),
    ] {
        assert!(
            fields.contains(&(f.0.to_string(), f.1)),
            "{f:?} not in {fields:?}"
        );
    }
    let bad_file = app
        .open_request(&w.agent, &repair(&w))
        .await
        .map(|(id, _)| id)
        .unwrap();
    let refused = app
        .add_message(
            &w.agent,
            bad_file,
            &MessageInput {
                kind: "reply".into(),
                body: "见附件".into(),
                attachments: vec![AttachmentInput {
                    filename: "photo.png".into(),
                    content_type: "image/png".into(),
                    content_base64: "TVqQAAMAAAAEAAAA".into(),
                }],
            },
        )
        .await;
    assert_eq!(
        invalid_fields(refused),
        vec![("attachments[0]".into(), "attachment_content_mismatch")]
    );
    assert!(
        app.request_detail(&w.agent, bad_file)
            .await
            .unwrap()
            .messages
            .is_empty()
    );
    assert_eq!(
        app.request_detail(&w.agent, bad_file)
            .await
            .unwrap()
            .sla
            .response,
        "pending",
        "nothing written"
    );
    // A good photo is kept and read back byte for byte.
    let png = b"\x89PNG\r\n\x1a\n0000";
    use base64::Engine;
    app.add_message(
        &w.agent,
        bad_file,
        &MessageInput {
            kind: "note".into(),
            body: "照片".into(),
            attachments: vec![AttachmentInput {
                filename: "外机.png".into(),
                content_type: "image/png".into(),
                content_base64: base64::engine::general_purpose::STANDARD.encode(png),
            }],
        },
    )
    .await
    .unwrap();
    let m = app
        .request_detail(&w.agent, bad_file)
        .await
        .unwrap()
        .messages;
    let (meta, bytes) = app
        .attachment(&w.agent, m[0].attachments[0].id)
        .await
        .unwrap();
    assert_eq!(
        (meta.filename.as_str(), bytes.as_slice()),
        ("外机.png", &png[..])
    );

    // A complaint cannot be resolved without root cause and remedy.
    let (complaint, _) = app
        .open_request(
            &w.agent,
            &RequestInput {
                customer_id: w.customer,
                service_type: "complaint".into(),
                subject: "师傅迟到两小时".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let c = app
        .request_detail(&w.agent, complaint)
        .await
        .unwrap()
        .request;
    assert_eq!(
        c.assignee_id,
        Some(w.agent.user.id),
        "complaints go to the agent with the skill"
    );
    // A complaint about service is after a sale, though it names no item.
    assert_eq!(c.phase.code(), "after_sale");
    let r = app
        .transition(
            &w.agent,
            complaint,
            &TransitionInput {
                status: "resolved".into(),
                version: c.version,
                ..Default::default()
            },
        )
        .await;
    let fields = invalid_fields(r);
    assert!(fields.contains(&("root_cause".into(), "required_for_complaint")));
    app.transition(
        &w.agent,
        complaint,
        &TransitionInput {
            status: "resolved".into(),
            version: c.version,
            root_cause: Some("排班冲突".into()),
            remedy: Some("致歉并赠送保养一次".into()),
            note: None,
        },
    )
    .await
    .unwrap();

    // Triage corrects what a mail could not say: the type and the item; who pays follows.
    let (mailed, _) = app
        .open_request(
            &w.agent,
            &RequestInput {
                customer_id: w.customer,
                service_type: "consultation".into(),
                subject: "空调坏了".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let m = app.request_detail(&w.agent, mailed).await.unwrap().request;
    assert_eq!(
        (m.phase.code(), m.charge.map(|c| c.code())),
        ("pre_sale", None)
    );
    app.patch_request(
        &w.agent,
        mailed,
        &RequestPatch {
            version: m.version,
            service_type: Some("repair".into()),
            asset_id: Some(w.asset),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let m = app.request_detail(&w.agent, mailed).await.unwrap();
    assert_eq!(
        (m.request.service_type.code(), m.request.phase.code()),
        ("repair", "after_sale")
    );
    assert_eq!(m.request.charge.map(|c| c.code()), Some("free"));
    assert!(m.history.iter().any(|h| h.kind == "service_type"));
    // A type changed at triage takes its phase along, when nobody set one by hand.
    let (asked, _) = app
        .open_request(
            &w.agent,
            &RequestInput {
                customer_id: w.customer,
                service_type: "consultation".into(),
                subject: "新空调什么时候装".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let v = app
        .request_detail(&w.agent, asked)
        .await
        .unwrap()
        .request
        .version;
    app.patch_request(
        &w.agent,
        asked,
        &RequestPatch {
            version: v,
            service_type: Some("installation".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let a = app.request_detail(&w.agent, asked).await.unwrap().request;
    assert_eq!(a.phase.code(), "in_sale");
    app.transition(
        &w.agent,
        asked,
        &TransitionInput {
            status: "cancelled".into(),
            version: a.version,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // A cancelled request owes no answer: it leaves the sweep.
    let (gone, _) = app.open_request(&w.agent, &repair(&w)).await.unwrap();
    let g = app.request_detail(&w.agent, gone).await.unwrap().request;
    assert!(g.sla_next.is_some());
    app.transition(
        &w.agent,
        gone,
        &TransitionInput {
            status: "cancelled".into(),
            version: g.version,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app.request_detail(&w.agent, gone)
            .await
            .unwrap()
            .request
            .sla_next,
        None
    );

    // The complaint measures: one opened and resolved, its root cause counted.
    let report = app.complaint_report(&w.agent, None, None).await.unwrap();
    assert_eq!((report.opened, report.resolved), (1, 1));
    assert_eq!(report.resolution_median_minutes, Some(0));
    assert_eq!(report.resolution_on_time_pct, Some(100.0));
    assert_eq!(report.root_causes, vec![("排班冲突".to_string(), 1)]);
    let backwards = app
        .complaint_report(&w.agent, Some("2026-12-01"), Some("2026-11-01"))
        .await;
    assert_eq!(
        invalid_fields(backwards),
        vec![("from".into(), "from_after_to")]
    );

    // Partner staff see only their outlet's requests.
    let (theirs, _) = app
        .open_request(
            &w.agent,
            &RequestInput {
                outlet_id: Some(partner),
                ..repair(&w)
            },
        )
        .await
        .unwrap();
    let (_ours, _) = app
        .open_request(
            &w.agent,
            &RequestInput {
                outlet_id: Some(own),
                ..repair(&w)
            },
        )
        .await
        .unwrap();
    let seen = app
        .requests(&partner_tech, &RequestQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(seen.iter().map(|r| r.id).collect::<Vec<_>>(), vec![theirs]);
    assert!(matches!(
        app.request_detail(&partner_tech, bad_file).await,
        Err(AppError::NotFound(_))
    ));
    let theirs_detail = app
        .request_detail(&partner_tech, theirs)
        .await
        .unwrap()
        .request;
    assert_eq!(
        theirs_detail.assignee_id,
        Some(partner_tech.user.id),
        "routed within the outlet"
    );
    // Nor do they read other outlets' requests anywhere else: the customer's timeline and
    // 360 hold only what concerns their outlet's request, a technician's visits only
    // their outlet's, and they open requests for their own outlet only.
    let tl = app
        .timeline(&partner_tech, w.customer, None, Some(100))
        .await
        .unwrap();
    assert!(!tl.items.is_empty());
    assert!(
        tl.items.iter().all(|e| e.ref_id == Some(theirs.get())),
        "{:?}",
        tl.items
    );
    let full = app
        .timeline(&w.admin, w.customer, None, Some(100))
        .await
        .unwrap();
    assert!(full.items.len() > tl.items.len());
    let c360 = app
        .customer_360(&partner_tech, w.customer, None)
        .await
        .unwrap();
    assert!(
        c360.orders.is_empty(),
        "the brand's sales are not the outlet's"
    );
    assert!(
        c360.timeline
            .items
            .iter()
            .all(|e| e.ref_id == Some(theirs.get()))
    );
    // The pages' care and offers, from the 360 in hand, are what the API's own reads give,
    // for the outlet's staff as for the brand's (pages with offers in them: the web tests).
    for who in [&partner_tech, &w.admin] {
        let c360 = app.customer_360(who, w.customer, None).await.unwrap();
        assert_eq!(
            serde_json::to_value(app.care_on(who, &c360).await.unwrap()).unwrap(),
            serde_json::to_value(app.customer_care(who, w.customer).await.unwrap()).unwrap()
        );
        assert_eq!(
            serde_json::to_value(app.offers_on(who, &c360).await.unwrap()).unwrap(),
            serde_json::to_value(app.offers_for(who, w.customer).await.unwrap()).unwrap()
        );
        // The customer page reads the same parts in one batch after its 360.
        let page = app.customer_page(who, w.customer, None).await.unwrap();
        assert_eq!(
            serde_json::to_value(&page.v).unwrap(),
            serde_json::to_value(&c360).unwrap()
        );
        assert_eq!(
            serde_json::to_value(&page.care).unwrap(),
            serde_json::to_value(app.customer_care(who, w.customer).await.unwrap()).unwrap()
        );
        assert_eq!(
            serde_json::to_value(&page.offers).unwrap(),
            serde_json::to_value(app.offers_for(who, w.customer).await.unwrap()).unwrap()
        );
        assert_eq!(page.expert, app.expert(who, w.customer).await.unwrap());
    }
    // The 360, its reads batched (one hand-off on SQLite), is what the separate reads
    // give: the customer, their items with today's warranty, orders, the timeline.
    for who in [&partner_tech, &w.admin] {
        let c360 = app.customer_360(who, w.customer, None).await.unwrap();
        let mut items = Vec::new();
        for a in app.store.assets_of(w.customer).await.unwrap() {
            items.push(app.asset(&w.admin, a.id).await.unwrap());
        }
        assert!(
            items.iter().any(|a| a.warranty.is_some()),
            "the world's item is under warranty"
        );
        let orders = if std::ptr::eq(who, &w.admin) {
            let q = OrderQuery {
                customer_id: Some(w.customer),
                limit: Some(50),
                ..Default::default()
            };
            app.store.orders(&q).await.unwrap().items
        } else {
            vec![]
        };
        assert_eq!(
            serde_json::to_value(&c360.customer).unwrap(),
            serde_json::to_value(app.customer(who, w.customer).await.unwrap()).unwrap()
        );
        assert_eq!(
            serde_json::to_value(&c360.assets).unwrap(),
            serde_json::to_value(&items).unwrap()
        );
        assert_eq!(
            serde_json::to_value(&c360.orders).unwrap(),
            serde_json::to_value(&orders).unwrap()
        );
        assert_eq!(
            serde_json::to_value(&c360.timeline).unwrap(),
            serde_json::to_value(app.timeline(who, w.customer, None, Some(50)).await.unwrap())
                .unwrap()
        );
    }
    assert_eq!(
        conflict_code(
            app.customer_360(&w.admin, w.customer, Some("not-a-cursor"))
                .await
        ),
        "cursor_invalid"
    );
    for cursor in [None, Some("not-a-cursor")] {
        assert!(matches!(
            app.customer_360(&w.admin, CustomerId(999_999), cursor)
                .await,
            Err(AppError::NotFound("customer"))
        ));
    }
    let stranger = customer(&app, &w.agent, "陌生人").await;
    assert!(matches!(
        app.customer_360(&partner_tech, stranger, None).await,
        Err(AppError::NotFound(_))
    ));
    let visits = app
        .visits_of(&partner_tech, w.tech.user.id, &VisitQuery::default())
        .await
        .unwrap();
    assert!(visits.iter().all(|v| v.request_id == theirs), "{visits:?}");
    assert!(matches!(
        app.visits_of(&w.admin, UserId(999_999), &VisitQuery::default())
            .await,
        Err(AppError::NotFound("technician"))
    ));
    assert_eq!(
        invalid_fields(
            app.open_request(
                &partner_tech,
                &RequestInput {
                    outlet_id: Some(own),
                    ..repair(&w)
                },
            )
            .await
        ),
        vec![("outlet_id".into(), "outlet_not_yours")]
    );

    // Queues and their counts; a keyset page walk sees every row once.
    let counts = app.queue_counts(&w.tech).await.unwrap();
    let count = |q: &str| counts.iter().find(|c| c.queue == q).unwrap().count;
    assert_eq!(count("all"), 4, "{counts:?}");
    assert_eq!(count("mine"), 1, "{counts:?}");
    // The own outlet's request waits for its own people: nobody there takes work yet.
    assert_eq!(count("unassigned"), 1, "{counts:?}");
    let mut seen = vec![];
    let mut cursor = None;
    loop {
        let page = app
            .requests(
                &w.admin,
                &RequestQuery {
                    queue: Some("all".into()),
                    cursor,
                    limit: Some(1),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|r| r.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 4);
    let unknown = app
        .requests(
            &w.admin,
            &RequestQuery {
                queue: Some("everything".into()),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        invalid_fields(unknown),
        vec![("queue".into(), "queue_unknown")]
    );
    let capped = app
        .store
        .count_requests(
            &RequestFilter {
                limit: 50,
                ..Default::default()
            },
            2,
        )
        .await
        .unwrap();
    assert_eq!(capped, 2, "counting stops at the cap");
    db.cleanup().await;
}

async fn returns_and_exchanges_follow_the_three_guarantees(kind: Kind) {
    let db = fresh(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;
    let boss = staff_named(&app, "boss@example.cn", "服务经理", "manager").await;
    use aftercare_app::rma::{RmaInput, RmaStepInput};
    let step = |status: &str| RmaStepInput {
        status: status.into(),
        ..Default::default()
    };

    // Day 0: an exchange is within the window; one open authorisation per item.
    let (id, _) = app
        .open_request(
            &w.agent,
            &RequestInput {
                service_type: "exchange".into(),
                ..repair(&w)
            },
        )
        .await
        .unwrap();
    let rma = app
        .create_rma(
            &w.agent,
            id,
            &RmaInput {
                kind: "exchange".into(),
                reason: "开箱即损".into(),
            },
        )
        .await
        .unwrap();
    let again = app
        .create_rma(
            &w.agent,
            id,
            &RmaInput {
                kind: "return".into(),
                reason: "x".into(),
            },
        )
        .await;
    assert_eq!(conflict_code(again), "rma_open_for_item");
    // Only a manager approves; steps come in order.
    assert!(matches!(
        app.rma_step(&w.agent, rma, &step("approved")).await,
        Err(AppError::Forbidden)
    ));
    app.rma_step(
        &boss,
        rma,
        &RmaStepInput {
            note: Some("同意换新".into()),
            ..step("approved")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        conflict_code(app.rma_step(&w.agent, rma, &step("completed")).await),
        "rma_step_not_allowed"
    );
    app.rma_step(&w.agent, rma, &step("received"))
        .await
        .unwrap();
    let missing = app.rma_step(&w.agent, rma, &step("completed")).await;
    assert_eq!(
        invalid_fields(missing),
        vec![("replacement_serial".into(), "required")]
    );
    let done = app
        .rma_step(
            &w.agent,
            rma,
            &RmaStepInput {
                replacement_serial: Some("GR2026B0002".into()),
                ..step("completed")
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (done.status.code(), done.decided_by.as_deref()),
        ("completed", Some("服务经理"))
    );
    assert_eq!(done.replacement_serial.as_deref(), Some("GR2026B0002"));
    // The new item is the customer's, its guarantees from today; the old one says so.
    let assets = app.store.assets_of(w.customer).await.unwrap();
    let new = assets.iter().find(|a| a.serial == "GR2026B0002").unwrap();
    assert_eq!(new.purchased_on.to_string(), "2026-11-23");
    let old = app.asset(&w.admin, w.asset).await.unwrap();
    assert!(old.events.iter().any(|e| {
        e.kind == "exchanged_out"
            && e.note
                .as_deref()
                .is_some_and(|n| n.ends_with("→ GR2026B0002"))
    }));
    // The old item has no guarantees left, and is not exchanged, returned or refunded
    // again, however the new request is opened; the new one is covered.
    let w_old = old.warranty.as_ref().unwrap();
    assert_eq!(w_old.coverage.code(), "expired");
    assert_eq!(w_old.exchange.reason.code(), "exchanged_out");
    let new_now = app.asset(&w.admin, new.id).await.unwrap();
    assert_eq!(
        new_now.warranty.as_ref().map(|w| w.coverage.code()),
        Some("in_warranty")
    );
    let (second, _) = app
        .open_request(
            &w.agent,
            &RequestInput {
                service_type: "exchange".into(),
                ..repair(&w)
            },
        )
        .await
        .unwrap();
    for kind in ["exchange", "return", "refund"] {
        let again = app
            .create_rma(
                &w.agent,
                second,
                &RmaInput {
                    kind: kind.into(),
                    reason: "又坏了".into(),
                },
            )
            .await;
        assert_eq!(
            invalid_fields(again),
            vec![("kind".into(), "item_exchanged")],
            "{kind}"
        );
    }
    let d = app.request_detail(&w.agent, id).await.unwrap();
    assert_eq!(d.rmas.len(), 1);
    assert!(d.history.iter().any(|h| h.kind == "rma_completed"));

    // Day 10: the new item's return window is over; a goodwill refund is the manager's call.
    clock.set("2026-12-03T02:00:00Z");
    let (late, _) = app
        .open_request(
            &w.agent,
            &RequestInput {
                asset_id: Some(new.id),
                service_type: "return".into(),
                ..repair(&w)
            },
        )
        .await
        .unwrap();
    let refused = app
        .create_rma(
            &w.agent,
            late,
            &RmaInput {
                kind: "return".into(),
                reason: "不想要了".into(),
            },
        )
        .await;
    assert_eq!(
        invalid_fields(refused),
        vec![("kind".into(), "return_window_closed")]
    );
    let refund = app
        .create_rma(
            &w.agent,
            late,
            &RmaInput {
                kind: "refund".into(),
                reason: "安装延误补偿".into(),
            },
        )
        .await
        .unwrap();
    app.rma_step(&boss, refund, &step("approved"))
        .await
        .unwrap();
    let bad = app
        .rma_step(
            &w.agent,
            refund,
            &RmaStepInput {
                refund_amount: Some("-5".into()),
                ..step("completed")
            },
        )
        .await;
    assert!(matches!(bad, Err(AppError::Invalid(_))));
    let r = app
        .rma_step(
            &w.agent,
            refund,
            &RmaStepInput {
                refund_amount: Some("200.00".into()),
                ..step("completed")
            },
        )
        .await
        .unwrap();
    assert_eq!(r.refund_amount, Some(Money(200_00)));
    db.cleanup().await;
}

/// The world's customer, signed in to the portal.
fn portal_account(w: &World) -> aftercare_app::ports::PortalAccount {
    aftercare_app::ports::PortalAccount {
        id: 0,
        customer_id: w.customer,
        email: "zhang.wei@example.cn".into(),
        name: "张伟".into(),
        lang: None,
    }
}

async fn customers_book_a_free_slot_with_their_technician(kind: Kind) {
    let db = fresh(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;
    let me = portal_account(&w);
    let (first, _) = app.open_request(&w.agent, &repair(&w)).await.unwrap();
    let slots = app.portal_slots(&me, first).await.unwrap();
    // From tomorrow (Tuesday) in office hours: 09:00, 13:30 and 15:30 Shanghai.
    assert_eq!(
        slots[0],
        (
            "2026-11-24T01:00:00.000000Z".to_string(),
            "2026-11-24T03:00:00.000000Z".to_string()
        )
    );
    assert_eq!(slots[1].0, "2026-11-24T05:30:00.000000Z");
    assert_eq!(
        slots.len(),
        15,
        "three a day, five working days in the next seven"
    );
    let bad = app
        .portal_book_slot(&me, first, "2026-11-24T02:00:00.000000Z")
        .await;
    assert_eq!(
        invalid_fields(bad),
        vec![("starts_at".into(), "slot_not_offered")]
    );
    app.portal_book_slot(&me, first, &slots[0].0).await.unwrap();
    let d = app.request_detail(&w.agent, first).await.unwrap();
    assert_eq!(d.request.status.code(), "scheduled");
    assert_eq!(d.visits[0].technician_id, w.tech.user.id);
    assert!(
        app.portal_slots(&me, first).await.unwrap().is_empty(),
        "booked already"
    );
    // Cancelled: the request goes back to assigned and the time is offered again.
    app.cancel_visit(&w.agent, d.visits[0].id, Some("客户临时有事"))
        .await
        .unwrap();
    let d = app.request_detail(&w.agent, first).await.unwrap();
    assert_eq!(
        (d.request.status.code(), d.visits[0].status.code()),
        ("assigned", "cancelled")
    );
    assert_eq!(
        conflict_code(app.cancel_visit(&w.agent, d.visits[0].id, None).await),
        "visit_not_booked"
    );
    assert_eq!(app.portal_slots(&me, first).await.unwrap()[0], slots[0]);
    app.portal_book_slot(&me, first, &slots[0].0).await.unwrap();
    // Another request: the technician's booked time is no longer offered.
    let (second, _) = app.open_request(&w.agent, &repair(&w)).await.unwrap();
    let again = app.portal_slots(&me, second).await.unwrap();
    assert_eq!(again[0].0, "2026-11-24T05:30:00.000000Z");
    // Someone else's request offers them nothing.
    let other = aftercare_app::ports::PortalAccount {
        customer_id: CustomerId(w.customer.get() + 1000),
        ..me.clone()
    };
    assert!(matches!(
        app.portal_slots(&other, second).await,
        Err(AppError::NotFound(_))
    ));
    db.cleanup().await;
}

/// A new database's calendar knows mainland China's public days, so the portal does not
/// offer a visit on National Day; next year's notice is loaded from a file.
async fn china_public_days_are_known_and_next_years_are_loaded(kind: Kind) {
    let db = fresh(kind).await;
    // Tuesday 29 September 2026, 10:00 in Shanghai.
    let clock = ManualClock::at("2026-09-29T02:00:00Z");
    let app = db.app_at(&clock);
    let w = world(&app).await;
    let cal = app.calendars(&w.admin).await.unwrap().remove(0);
    assert!(cal.body.holidays.contains(&"2026-10-01".to_string()));
    assert!(cal.body.makeup_workdays.contains(&"2026-10-10".to_string()));
    let me = portal_account(&w);
    let (id, _) = app.open_request(&w.agent, &repair(&w)).await.unwrap();
    let slots = app.portal_slots(&me, id).await.unwrap();
    // The next seven days are 30 September (worked) and 1–6 October (holidays).
    let days: std::collections::BTreeSet<&str> = slots.iter().map(|s| &s.0[..10]).collect();
    assert_eq!(days.into_iter().collect::<Vec<_>>(), ["2026-09-30"]);

    let notice = "date,kind\n2028-01-01,休\n2028-01-29,班\n2028-01-31,holiday\n";
    let added = app
        .add_calendar_days(&w.admin, cal.id, notice.as_bytes())
        .await
        .unwrap();
    assert_eq!((added.holidays_added, added.makeup_workdays_added), (2, 1));
    let again = app
        .add_calendar_days(&w.admin, cal.id, notice.as_bytes())
        .await
        .unwrap();
    assert_eq!((again.holidays_added, again.makeup_workdays_added), (0, 0));
    let after = app.calendars(&w.admin).await.unwrap().remove(0);
    assert_eq!(after.body.holidays.len(), cal.body.holidays.len() + 2);
    assert!(
        after
            .body
            .makeup_workdays
            .contains(&"2028-01-29".to_string())
    );
    // A bad line names itself and adds nothing; an agent may not load days at all.
    let bad = app
        .add_calendar_days(
            &w.admin,
            cal.id,
            b"2028-10-01,holiday\n2028-10-32,holiday\n",
        )
        .await;
    assert_eq!(
        invalid_fields(bad),
        vec![("days[2]".into(), "date_invalid")]
    );
    assert!(matches!(
        app.add_calendar_days(&w.agent, cal.id, notice.as_bytes())
            .await,
        Err(AppError::Forbidden)
    ));
    assert_eq!(
        app.calendars(&w.admin).await.unwrap()[0].body.holidays,
        after.body.holidays
    );
    assert!(matches!(
        app.add_calendar_days(&w.admin, 999, notice.as_bytes())
            .await,
        Err(AppError::NotFound(_))
    ));
    db.cleanup().await;
}

/// A text promising a reply within two hours, against 25 requests: 15 answered after 30
/// minutes, 5 after three hours, 5 not yet after three hours. Ten broke it: flagged. A
/// text promising a fix within 30 days cannot be judged yet; a text without a time
/// promises nothing.
async fn the_promise_check_flags_what_the_desk_does_not_keep(kind: Kind) {
    let db = fresh(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;
    let text = |name: &str, hans: &str, en: &str| aftercare_app::desk_model::MessageTextInput {
        name: name.into(),
        body_zh_hans: hans.into(),
        body_zh_hant: hans.into(),
        body_en: en.into(),
        status: Some("approved".into()),
        ..Default::default()
    };
    let reply = app
        .create_message_text(
            &w.admin,
            &text(
                "两小时回复",
                "{customer_name}您好，我们承诺 2 小时内回复您。",
                "We reply within 2 hours.",
            ),
        )
        .await
        .unwrap();
    let fix = app
        .create_message_text(
            &w.admin,
            &text("月内修好", "30天内解决您的问题。", "Resolved in 30 days."),
        )
        .await
        .unwrap();
    app.create_message_text(&w.admin, &text("感谢", "感谢您的支持。", "Thank you."))
        .await
        .unwrap();
    let mut ids = vec![];
    for _ in 0..25 {
        ids.push(app.open_request(&w.agent, &repair(&w)).await.unwrap().0);
    }
    let answer = |id| {
        let app = &app;
        let admin = &w.admin;
        async move {
            app.add_message(
                admin,
                id,
                &MessageInput {
                    kind: "reply".into(),
                    body: "您好，已收到。".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        }
    };
    clock.advance(std::time::Duration::from_secs(30 * 60));
    for id in &ids[..15] {
        answer(*id).await;
    }
    clock.advance(std::time::Duration::from_secs(150 * 60));
    for id in &ids[15..20] {
        answer(*id).await;
    }
    // The brand's figures: not for an agent.
    assert!(matches!(
        app.promise_checks(&w.agent).await,
        Err(AppError::Forbidden)
    ));
    let checks = app.promise_checks(&w.admin).await.unwrap();
    assert_eq!(checks.len(), 2, "{checks:?}");
    let r = checks.iter().find(|c| c.text_id == reply).unwrap();
    assert_eq!(
        (r.kind.code(), r.minutes, r.measured, r.broken, r.flagged),
        ("response", 120, 25, 10, true)
    );
    assert_eq!(r.share, Some(0.4));
    assert_eq!(r.phrase, "我们承诺 2 小时内回复您");
    let f = checks.iter().find(|c| c.text_id == fix).unwrap();
    assert_eq!(
        (f.kind.code(), f.minutes, f.measured, f.flagged),
        ("resolution", 30 * 24 * 60, 0, false)
    );
    assert_eq!(f.share, None, "not enough to say");
    db.cleanup().await;
}

/// A request's number is drawn and written in the statement that inserts it: the year's
/// sequence, six digits and more past 999,999, as `request_number` writes them.
async fn request_numbers_go_past_six_digits(kind: Kind) {
    let db = fresh(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;
    let (_, first) = app.open_request(&w.agent, &repair(&w)).await.unwrap();
    assert_eq!(first, "SR-2026-000001");
    assert_eq!(
        db.count("UPDATE request_numbers SET last = 999998 WHERE year = 2026 RETURNING last")
            .await,
        999_998
    );
    let mut numbers = vec![];
    for _ in 0..2 {
        let (id, number) = app.open_request(&w.agent, &repair(&w)).await.unwrap();
        let stored = app
            .request_detail(&w.agent, id)
            .await
            .unwrap()
            .request
            .number;
        assert_eq!(stored, number);
        numbers.push(number);
    }
    assert_eq!(
        numbers,
        [
            aftercare_domain::request::request_number(2026, 999_999),
            aftercare_domain::request::request_number(2026, 1_000_000),
        ]
    );
    assert_eq!(numbers, ["SR-2026-999999", "SR-2026-1000000"]);
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
    on_both!(
        a_repair_goes_from_portal_to_rating,
        breaches_escalate_and_the_sweep_reports_each_once,
        queues_visibility_and_bad_input,
        returns_and_exchanges_follow_the_three_guarantees,
        customers_book_a_free_slot_with_their_technician,
        china_public_days_are_known_and_next_years_are_loaded,
        the_promise_check_flags_what_the_desk_does_not_keep,
        request_numbers_go_past_six_digits,
    );
    use super::BOTH;
}
