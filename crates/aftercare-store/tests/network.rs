//! The service network through the real use cases over the real store, on SQLite and on
//! PostgreSQL: outlets set up and retired, requests going to the outlet covering them,
//! certificates routing asks for, their warnings, and outlets imported from a file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::desk::*;
use aftercare_app::input::*;
use aftercare_app::network_model::{CertificateInput, OutletInput};
use aftercare_app::service::Principal;
use aftercare_app::transfer::{Format, Kind as FileKind, import_file};
use aftercare_app::{App, AppError};
use aftercare_domain::{AssetId, CategoryId, CustomerId, OutletId, RequestId, UserId};
use aftercare_testkit::{BOTH, Kind, ManualClock, TestDb, order_input, staff_named};

/// Monday 2026-11-23, 10:00 in Shanghai.
const MONDAY_10: &str = "2026-11-23T02:00:00Z";

struct World {
    admin: Principal,
    agent: Principal,
    tech: Principal,
    partner_tech: Principal,
    aircon: CategoryId,
    /// A customer in 苏州市 with an air conditioner.
    suzhou: CustomerId,
    suzhou_ac: AssetId,
    /// A customer in 上海 with an air conditioner.
    shanghai: CustomerId,
    shanghai_ac: AssetId,
}

async fn customer_in(app: &App, p: &Principal, name: &str, city: &str) -> CustomerId {
    app.create_customer(
        p,
        &CustomerInput {
            name: name.into(),
            addresses: vec![AddressInput {
                city: Some(city.into()),
                street: "人民路 1 号".into(),
                primary: true,
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn world(app: &App) -> World {
    let admin = staff_named(app, "admin@example.cn", "管理员", "admin").await;
    let agent = staff_named(app, "agent@example.cn", "客服小李", "agent").await;
    let tech = staff_named(app, "tech@example.cn", "王师傅", "technician").await;
    let partner_tech = staff_named(app, "partner@example.cn", "特约李师傅", "technician").await;
    app.set_staff_profile(
        &admin,
        agent.user.id,
        &StaffProfileInput {
            skills: vec!["consultation".into()],
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
            skills: vec!["repair".into()],
            capacity: 20,
            auto_assign: true,
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
                void_conditions: vec![],
            },
        )
        .await
        .unwrap();
    let appliances = app
        .create_category(
            &admin,
            &CategoryInput {
                name: "家电".into(),
                parent_id: None,
                policy_id: Some(policy),
            },
        )
        .await
        .unwrap();
    let aircon = app
        .create_category(
            &admin,
            &CategoryInput {
                name: "空调".into(),
                parent_id: Some(appliances),
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
    let suzhou = customer_in(app, &admin, "陈静", "苏州市").await;
    let shanghai = customer_in(app, &admin, "张伟", "上海").await;
    let mut assets = Vec::new();
    for (c, serial) in [(suzhou, "GR-SZ-1"), (shanghai, "GR-SH-1")] {
        app.create_order(&admin, &order_input(c, product, 1, &[serial]))
            .await
            .unwrap();
        assets.push(app.store.assets_of(c).await.unwrap()[0].id);
    }
    World {
        admin,
        agent,
        tech,
        partner_tech,
        aircon,
        suzhou,
        suzhou_ac: assets[0],
        shanghai,
        shanghai_ac: assets[1],
    }
}

fn repair(customer: CustomerId, asset: AssetId) -> RequestInput {
    RequestInput {
        customer_id: customer,
        asset_id: Some(asset),
        service_type: "repair".into(),
        subject: "空调不制冷".into(),
        ..Default::default()
    }
}

fn suzhou_partner(aircon: CategoryId) -> OutletInput {
    OutletInput {
        name: "苏州园区特约服务站".into(),
        kind: "partner".into(),
        city: Some("苏州".into()),
        address: Some("星湖街 328 号".into()),
        contact_name: Some("李站长".into()),
        contact_phone: Some("0512 6666 8888".into()),
        contact_email: Some("SZ@Example.cn".into()),
        regions: vec!["苏州".into(), " 昆山 ".into(), "苏州".into()],
        categories: vec![aircon],
        capacity: Some(1),
        response_minutes: Some(120),
        resolution_minutes: Some(1440),
        ..Default::default()
    }
}

fn invalid_fields<T: std::fmt::Debug>(r: Result<T, AppError>) -> Vec<(String, &'static str)> {
    match r {
        Err(AppError::Invalid(i)) => i.0.into_iter().map(|e| (e.field, e.code)).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

async fn open(app: &App, p: &Principal, i: &RequestInput) -> RequestId {
    app.open_request(p, i).await.unwrap().0
}

async fn outlets_requests_and_certificates(kind: Kind) {
    eprintln!("---- running on {kind:?}");
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;

    // Bad input names every field, in order, and writes nothing.
    let bad = app
        .save_outlet(
            &w.admin,
            None,
            &OutletInput {
                name: " ".into(),
                kind: "shop".into(),
                contact_email: Some("not-mail".into()),
                contact_phone: Some("12".into()),
                regions: vec!["苏\u{7}州".into()],
                categories: vec![CategoryId(99_999)],
                calendar_id: Some(99_999),
                capacity: Some(0),
                response_minutes: Some(600),
                resolution_minutes: Some(60),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        invalid_fields(bad),
        vec![
            ("name".to_string(), "required"),
            ("kind".into(), "outlet_kind_unknown"),
            ("contact_phone".into(), "phone_invalid"),
            ("contact_email".into(), "email_invalid"),
            ("regions[0]".into(), "control_character"),
            ("categories[0]".into(), "reference_not_found"),
            ("calendar_id".into(), "reference_not_found"),
            ("capacity".into(), "out_of_range"),
            ("resolution_minutes".into(), "resolution_before_response"),
        ]
    );
    assert!(app.outlets(&w.admin).await.unwrap().is_empty());
    // An agent may not set up outlets.
    assert!(matches!(
        app.save_outlet(&w.agent, None, &suzhou_partner(w.aircon))
            .await,
        Err(AppError::Forbidden)
    ));

    // A partner outlet covering 苏州 and 昆山 for air conditioners, one request at a time.
    let partner = app
        .save_outlet(&w.admin, None, &suzhou_partner(w.aircon))
        .await
        .unwrap();
    let o = app.outlet(&w.agent, partner).await.unwrap();
    assert_eq!(o.regions, vec!["苏州".to_string(), "昆山".into()]);
    assert_eq!(o.contact_email.as_deref(), Some("SZ@example.cn"));
    assert_eq!((o.kind.as_str(), o.active, o.version), ("partner", true, 1));
    // A second outlet of the same name is refused.
    assert_eq!(
        invalid_fields(
            app.save_outlet(&w.admin, None, &suzhou_partner(w.aircon))
                .await
        ),
        vec![("name".to_string(), "outlet_name_taken")]
    );
    app.set_staff_profile(
        &w.admin,
        w.partner_tech.user.id,
        &StaffProfileInput {
            outlet_id: Some(partner),
            capacity: 20,
            auto_assign: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // A repair in 苏州市 goes to the partner covering 苏州, and to its technician.
    let first = open(&app, &w.agent, &repair(w.suzhou, w.suzhou_ac)).await;
    let d = app.request_detail(&w.admin, first).await.unwrap();
    assert_eq!(d.request.outlet_id, Some(partner));
    assert_eq!(d.request.assignee_id, Some(w.partner_tech.user.id));
    let covered = d
        .history
        .iter()
        .find(|h| h.kind == "outlet_covered")
        .unwrap();
    assert_eq!(covered.to.as_deref(), Some("苏州园区特约服务站"));
    // The partner's technician sees it.
    app.request_detail(&w.partner_tech, first).await.unwrap();

    // A repair in 上海 is nobody's outlet's: the partner's technician, idle as he is,
    // does not get it (he could not even see it); the brand's own technician does.
    let sh = open(&app, &w.agent, &repair(w.shanghai, w.shanghai_ac)).await;
    let d = app.request_detail(&w.admin, sh).await.unwrap();
    assert_eq!(d.request.outlet_id, None);
    assert_eq!(d.request.assignee_id, Some(w.tech.user.id));

    // The outlet is full (capacity 1): the next 苏州 repair stays with the brand.
    let second = open(&app, &w.agent, &repair(w.suzhou, w.suzhou_ac)).await;
    let d = app.request_detail(&w.admin, second).await.unwrap();
    assert_eq!(d.request.outlet_id, None);
    assert_eq!(d.request.assignee_id, Some(w.tech.user.id));
    let loads = app.outlet_loads(&w.admin).await.unwrap();
    assert_eq!(
        loads
            .iter()
            .map(|l| (l.outlet_id, l.active, l.staff))
            .collect::<Vec<_>>(),
        vec![(partner, 1, 1)]
    );

    // Changing the outlet needs the version read; a stale one is refused.
    let mut change = suzhou_partner(w.aircon);
    change.capacity = Some(5);
    change.version = Some(1);
    app.save_outlet(&w.admin, Some(partner), &change)
        .await
        .unwrap();
    assert!(matches!(
        app.save_outlet(&w.admin, Some(partner), &change).await,
        Err(AppError::Conflict {
            code: "version_conflict",
            ..
        })
    ));
    assert!(matches!(
        app.save_outlet(&w.admin, Some(OutletId(99_999)), &change)
            .await,
        Err(AppError::NotFound(_))
    ));

    // Air conditioners need certification now (the parent line, 家电, does not).
    app.set_certification_required(&w.admin, w.aircon, true)
        .await
        .unwrap();
    // Nobody holds a certificate: a new 上海 repair waits unassigned.
    let third = open(&app, &w.agent, &repair(w.shanghai, w.shanghai_ac)).await;
    let d = app.request_detail(&w.admin, third).await.unwrap();
    assert_eq!(d.request.assignee_id, None);
    // Giving it to the uncertified technician by hand, or booking him, is refused.
    let patch = RequestPatch {
        version: d.request.version,
        assignee_id: Some(w.tech.user.id),
        ..Default::default()
    };
    assert_eq!(
        invalid_fields(app.patch_request(&w.admin, third, &patch).await),
        vec![("assignee_id".to_string(), "assignee_not_certified")]
    );
    let visit = VisitInput {
        technician_id: w.tech.user.id,
        starts_at: "2026-11-24T10:00".into(),
        ends_at: "2026-11-24T11:00".into(),
        address: None,
    };
    assert_eq!(
        invalid_fields(app.book_visit(&w.admin, third, &visit).await),
        vec![("technician_id".to_string(), "technician_not_certified")]
    );
    assert!(
        app.request_detail(&w.admin, third)
            .await
            .unwrap()
            .visits
            .is_empty()
    );
    // Opening one with him named is refused as well, and opens nothing.
    let mut named = repair(w.shanghai, w.shanghai_ac);
    named.assignee_id = Some(w.tech.user.id);
    assert_eq!(
        invalid_fields(app.open_request(&w.agent, &named).await),
        vec![("assignee_id".to_string(), "assignee_not_certified")]
    );

    // Certificates: bad input first.
    let bad = app
        .add_certificate(
            &w.admin,
            &CertificateInput {
                user_id: UserId(99_999),
                name: "".into(),
                category_id: Some(CategoryId(99_999)),
                skills: vec!["juggling".into()],
                issued_on: "2026-12-01".into(),
                valid_until: "2026-11-01".into(),
            },
        )
        .await;
    assert_eq!(
        invalid_fields(bad),
        vec![
            ("user_id".to_string(), "reference_not_found"),
            ("name".into(), "required"),
            ("category_id".into(), "reference_not_found"),
            ("skills[0]".into(), "service_type_unknown"),
            ("issued_on".into(), "date_in_future"),
            ("valid_until".into(), "valid_until_before_issued"),
        ]
    );
    // An installer's certificate does not cover repairs.
    let install_only = CertificateInput {
        user_id: w.tech.user.id,
        name: "空调安装上岗证".into(),
        category_id: Some(w.aircon),
        skills: vec!["installation".into()],
        issued_on: "2025-06-01".into(),
        valid_until: "2027-06-01".into(),
    };
    app.add_certificate(&w.admin, &install_only).await.unwrap();
    let d = app.request_detail(&w.admin, third).await.unwrap();
    let patch = RequestPatch {
        version: d.request.version,
        assignee_id: Some(UserId(0)),
        ..Default::default()
    };
    assert_eq!(
        invalid_fields(app.patch_request(&w.admin, third, &patch).await),
        vec![("assignee_id".to_string(), "nobody_available")]
    );
    // A repair certificate for the whole 家电 line, running out in ten days: routing
    // finds him now.
    let repair_cert = app
        .add_certificate(
            &w.admin,
            &CertificateInput {
                user_id: w.tech.user.id,
                name: "家电维修上岗证".into(),
                category_id: None,
                skills: vec!["repair".into()],
                issued_on: "2024-12-03".into(),
                valid_until: "2026-12-03".into(),
            },
        )
        .await
        .unwrap();
    app.patch_request(&w.admin, third, &patch).await.unwrap();
    let d = app.request_detail(&w.admin, third).await.unwrap();
    assert_eq!(d.request.assignee_id, Some(w.tech.user.id));
    assert_eq!(d.request.routed.as_deref(), Some("matched"));

    // The technician sees his own certificates only; the manager sees whose run out.
    let mine = app.certificates(&w.tech, None, false).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert!(
        app.certificates(&w.agent, Some(w.tech.user.id), false)
            .await
            .unwrap()
            .is_empty()
    );
    let states: Vec<(i64, String)> = app
        .certificates(&w.admin, None, false)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.state))
        .collect();
    assert!(
        states.contains(&(repair_cert, "expiring".into())),
        "{states:?}"
    );

    // Warned once: the holder and the administrators, then never again for it.
    assert_eq!(app.warn_expiring_certificates().await.unwrap(), 1);
    assert_eq!(app.warn_expiring_certificates().await.unwrap(), 0);
    for who in [&w.tech, &w.admin] {
        let notes = app.notifications(who).await.unwrap();
        let n = notes
            .iter()
            .find(|n| n.kind == "certificate_expiring")
            .unwrap();
        assert_eq!(
            n.detail.as_deref(),
            Some("王师傅 · 家电维修上岗证 · 2026-12-03")
        );
    }
    assert!(
        app.notifications(&w.agent)
            .await
            .unwrap()
            .iter()
            .all(|n| n.kind != "certificate_expiring")
    );

    // Ten days on, the certificate has run out: routing no longer finds anyone.
    clock.advance(std::time::Duration::from_secs(11 * 86_400));
    let fourth = open(&app, &w.agent, &repair(w.shanghai, w.shanghai_ac)).await;
    assert_eq!(
        app.request_detail(&w.admin, fourth)
            .await
            .unwrap()
            .request
            .assignee_id,
        None
    );
    let states = app.certificates(&w.admin, None, false).await.unwrap();
    assert_eq!(
        states.iter().find(|c| c.id == repair_cert).unwrap().state,
        "expired"
    );
    // Revoked certificates leave the list unless asked for.
    app.revoke_certificate(&w.admin, repair_cert).await.unwrap();
    assert!(matches!(
        app.revoke_certificate(&w.admin, repair_cert).await,
        Err(AppError::NotFound(_))
    ));
    assert_eq!(
        app.certificates(&w.admin, None, false).await.unwrap().len(),
        1
    );
    assert_eq!(
        app.certificates(&w.admin, None, true).await.unwrap().len(),
        2
    );

    // A retired outlet takes nothing new: neither by coverage nor by hand.
    app.set_certification_required(&w.admin, w.aircon, false)
        .await
        .unwrap();
    app.set_outlet_active(&w.admin, partner, false)
        .await
        .unwrap();
    let fifth = open(&app, &w.agent, &repair(w.suzhou, w.suzhou_ac)).await;
    assert_eq!(
        app.request_detail(&w.admin, fifth)
            .await
            .unwrap()
            .request
            .outlet_id,
        None
    );
    let mut given = repair(w.suzhou, w.suzhou_ac);
    given.outlet_id = Some(partner);
    assert_eq!(
        invalid_fields(app.open_request(&w.agent, &given).await),
        vec![("outlet_id".to_string(), "outlet_retired")]
    );
    // Back in service, and covering again.
    app.set_outlet_active(&w.admin, partner, true)
        .await
        .unwrap();
    let sixth = open(&app, &w.agent, &repair(w.suzhou, w.suzhou_ac)).await;
    assert_eq!(
        app.request_detail(&w.admin, sixth)
            .await
            .unwrap()
            .request
            .outlet_id,
        Some(partner)
    );
    db.cleanup().await;
}

async fn outlets_come_in_from_a_file(kind: Kind) {
    eprintln!("---- running on {kind:?}");
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;
    let aliases = aftercare_web_free_aliases();
    let csv = "name,kind,city,regions,categories,capacity,response_minutes,resolution_minutes\n\
               无锡特约站,partner,无锡,无锡、江阴,空调,40,120,1440\n\
               杭州自营店,own,杭州,杭州,,,,\n\
               南京站,shop,南京,南京,电视,many,,\n";
    let run = |dry| {
        import_file(
            &app,
            &w.admin,
            FileKind::Outlets,
            Format::Csv,
            csv.as_bytes(),
            dry,
            &aliases,
        )
    };
    let r = run(true).await.unwrap().unwrap();
    let errors: Vec<(usize, String, String)> = r
        .errors
        .iter()
        .map(|e| (e.row, e.field.clone(), e.code.clone()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (4, "categories".to_string(), "not_found".to_string()),
            (4, "capacity".into(), "not_a_number".into()),
        ]
    );
    // All or nothing: with a bad row, nothing is created even for real.
    let r = run(false).await.unwrap().unwrap();
    assert_eq!(r.created, 0);
    assert!(app.outlets(&w.admin).await.unwrap().is_empty());
    // Without it, both come in; the second time, their names are taken.
    let good: String = csv.lines().take(3).collect::<Vec<_>>().join("\n");
    let r = import_file(
        &app,
        &w.admin,
        FileKind::Outlets,
        Format::Csv,
        good.as_bytes(),
        false,
        &aliases,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((r.created, r.errors.len()), (2, 0));
    let outlets = app.outlets(&w.admin).await.unwrap();
    assert_eq!(outlets[0].regions, vec!["无锡".to_string(), "江阴".into()]);
    assert_eq!(outlets[0].categories, vec![w.aircon]);
    assert_eq!(
        (outlets[0].capacity, outlets[0].response_minutes),
        (Some(40), Some(120))
    );
    assert_eq!(
        (outlets[1].kind.as_str(), outlets[1].capacity),
        ("own", None)
    );
    let r = import_file(
        &app,
        &w.admin,
        FileKind::Outlets,
        Format::Csv,
        good.as_bytes(),
        false,
        &aliases,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(r.created, 0);
    assert_eq!(r.errors[0].code, "outlet_name_taken");
    // Agents may not import outlets: the file is not even read.
    assert!(matches!(
        import_file(
            &app,
            &w.agent,
            FileKind::Outlets,
            Format::Csv,
            b"\xff",
            false,
            &aliases
        )
        .await,
        Err(AppError::Forbidden)
    ));
    let _ = (
        w.tech,
        w.partner_tech,
        w.suzhou,
        w.suzhou_ac,
        w.shanghai,
        w.shanghai_ac,
    );
    db.cleanup().await;
}

async fn partners_claim_and_are_paid_by_statement(kind: Kind) {
    use aftercare_app::claims_model::*;
    eprintln!("---- running on {kind:?}");
    let db = TestDb::new(kind).await;
    let clock = ManualClock::at(MONDAY_10);
    let app = db.app_at(&clock);
    let w = world(&app).await;
    let mut outlet = suzhou_partner(w.aircon);
    outlet.capacity = None;
    let partner = app.save_outlet(&w.admin, None, &outlet).await.unwrap();
    app.set_staff_profile(
        &w.admin,
        w.partner_tech.user.id,
        &StaffProfileInput {
            outlet_id: Some(partner),
            capacity: 20,
            auto_assign: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = open(&app, &w.agent, &repair(w.suzhou, w.suzhou_ac)).await;
    let d = app.request_detail(&w.admin, id).await.unwrap();
    assert_eq!(d.request.outlet_id, Some(partner));
    assert_eq!(
        d.request.charge,
        Some(aftercare_domain::warranty::Charge::Free)
    );
    let claim = ClaimInput {
        parts_amount: "120.00".into(),
        labour_amount: "80".into(),
        note: Some("更换压缩机电容".into()),
        version: None,
    };
    // No visit report yet (and so no parts in one): refused, with the reasons.
    assert_eq!(
        invalid_fields(app.file_claim(&w.partner_tech, id, &claim).await),
        vec![
            ("request_id".to_string(), "claim_without_visit_report"),
            ("parts_amount".into(), "claim_parts_not_reported")
        ]
    );
    let visit = app
        .book_visit(
            &w.partner_tech,
            id,
            &VisitInput {
                technician_id: w.partner_tech.user.id,
                starts_at: "2026-11-24T10:00".into(),
                ends_at: "2026-11-24T11:00".into(),
                address: None,
            },
        )
        .await
        .unwrap();
    let mut report = VisitReportInput {
        work_done: "更换启动电容，试机正常".into(),
        parts: None,
        minutes_spent: 60,
        confirmed_by: "陈静".into(),
        checklist: vec![],
        arrived_at: None,
    };
    report.parts = Some("启动电容 x1".into());
    app.report_visit(&w.partner_tech, visit, &report)
        .await
        .unwrap();
    // The brand's agent may not file for a partner; the partner's technician does.
    assert!(matches!(
        app.file_claim(&w.agent, id, &claim).await,
        Err(AppError::Forbidden)
    ));
    let claim_id = app.file_claim(&w.partner_tech, id, &claim).await.unwrap();
    assert!(matches!(
        app.file_claim(&w.partner_tech, id, &claim).await,
        Err(AppError::Conflict {
            code: "claim_exists",
            ..
        })
    ));
    let k = app.claim(&w.partner_tech, claim_id).await.unwrap();
    assert_eq!(
        (k.claimed().fen(), k.warranty_reason.as_str()),
        (20_000, "repair_window")
    );
    // Only the brand decides; the partner sees its own claims only.
    let decision =
        |d: &str, amount: Option<&str>, note: Option<&str>, version| ClaimDecisionInput {
            decision: d.into(),
            approved_amount: amount.map(str::to_string),
            note: note.map(str::to_string),
            version,
        };
    assert!(matches!(
        app.decide_claim(
            &w.partner_tech,
            claim_id,
            &decision("approve", None, None, 1)
        )
        .await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        app.claims(&w.agent, &ClaimQuery::default()).await,
        Err(AppError::Forbidden)
    ));
    // A part approval needs an amount below the claim and a reason.
    assert_eq!(
        invalid_fields(
            app.decide_claim(
                &w.admin,
                claim_id,
                &decision("partly_approve", Some("250.00"), None, 1)
            )
            .await
        ),
        vec![
            ("approved_amount".to_string(), "claim_partial_amount"),
            ("note".into(), "required")
        ]
    );
    // Sent back, corrected, approved in part.
    app.decide_claim(
        &w.admin,
        claim_id,
        &decision("return", None, Some("工时费超标准"), 1),
    )
    .await
    .unwrap();
    let mut corrected = claim.clone();
    corrected.labour_amount = "60".into();
    corrected.version = Some(2);
    app.refile_claim(&w.partner_tech, claim_id, &corrected)
        .await
        .unwrap();
    assert!(matches!(
        app.refile_claim(&w.partner_tech, claim_id, &corrected)
            .await,
        Err(AppError::Invalid(_))
    ));
    // A decision on what was read before the correction is refused.
    assert!(matches!(
        app.decide_claim(&w.admin, claim_id, &decision("approve", None, None, 2))
            .await,
        Err(AppError::Conflict {
            code: "version_conflict",
            ..
        })
    ));
    app.decide_claim(
        &w.admin,
        claim_id,
        &decision(
            "partly_approve",
            Some("150.00"),
            Some("电容按标准价 90 元"),
            3,
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        invalid_fields(
            app.decide_claim(&w.admin, claim_id, &decision("approve", None, None, 4))
                .await
        ),
        vec![("decision".to_string(), "claim_not_open")]
    );
    let st = app
        .statement(&w.partner_tech, partner, "2026-11")
        .await
        .unwrap();
    assert_eq!(
        (
            st.claims.len(),
            st.claimed_total.fen(),
            st.approved_total.fen(),
            st.partly_count
        ),
        (1, 18_000, 15_000, 1)
    );
    assert!(
        app.statement(&w.partner_tech, partner, "2026-12")
            .await
            .unwrap()
            .claims
            .is_empty()
    );
    assert_eq!(
        invalid_fields(app.statement(&w.admin, partner, "2026-13").await),
        vec![("month".to_string(), "month_invalid")]
    );
    // Another outlet's statement is nothing to a partner's staff.
    assert!(matches!(
        app.statement(&w.partner_tech, OutletId(partner.get() + 1), "2026-11")
            .await,
        Err(AppError::NotFound(_))
    ));

    // Thirteen months on the air conditioner is out of 三包: a repair is paid by the
    // customer, and a claim for it is refused, saying so.
    clock.advance(std::time::Duration::from_secs(400 * 86_400));
    let late = open(&app, &w.agent, &repair(w.suzhou, w.suzhou_ac)).await;
    let visit = app
        .book_visit(
            &w.partner_tech,
            late,
            &VisitInput {
                technician_id: w.partner_tech.user.id,
                starts_at: "2027-12-28T10:00".into(),
                ends_at: "2027-12-28T11:00".into(),
                address: None,
            },
        )
        .await
        .unwrap();
    app.report_visit(&w.partner_tech, visit, &report)
        .await
        .unwrap();
    assert_eq!(
        invalid_fields(app.file_claim(&w.partner_tech, late, &claim).await),
        vec![("request_id".to_string(), "claim_warranty_expired")]
    );
    db.cleanup().await;
}

/// The import's other names of coded values come from the web layer's messages; the
/// codes themselves need none.
fn aftercare_web_free_aliases() -> aftercare_app::transfer::Aliases {
    Default::default()
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
        outlets_requests_and_certificates,
        outlets_come_in_from_a_file,
        partners_claim_and_are_paid_by_statement,
    );
    use super::BOTH;
}
