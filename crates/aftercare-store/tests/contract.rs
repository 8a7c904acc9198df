//! The storage contract: one suite of scenarios, each run through the real use cases over
//! the real store, on SQLite and on PostgreSQL. A scenario is an `async fn` taking the app;
//! each test runs it on a fresh database of each kind and removes the database afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::input::*;
use aftercare_app::model::*;
use aftercare_app::service::Principal;
use aftercare_app::{Actor, App, AppError, StoreError};
use aftercare_domain::account::{Permission, Role, Scope};
use aftercare_domain::catalog::VoidCondition;
use aftercare_domain::warranty::{Coverage, Reason};
use aftercare_domain::{
    AssetId, CategoryId, CustomerId, Money, OrderId, PolicyId, ProductId, UserId,
};
use aftercare_testkit::{BOTH, Kind, TestDb, order_input};
use jiff::ToSpan;

const ADMIN_EMAIL: &str = "admin@example.cn";
const ADMIN_PASSWORD: &str = "correct horse battery";

// ---- helpers ------------------------------------------------------------------------

async fn fresh(kind: Kind) -> TestDb {
    eprintln!("---- running on {kind:?}");
    TestDb::new(kind).await
}

/// Creates the admin account and the principal a signed-in admin would have.
async fn admin(app: &App) -> Principal {
    let user = app
        .add_user(
            &Actor::system("test"),
            ADMIN_EMAIL,
            "管理员",
            ADMIN_PASSWORD,
            "admin",
        )
        .await
        .unwrap();
    Principal {
        user,
        role: Role::Admin,
        scopes: None,
    }
}

fn person(name: &str) -> CustomerInput {
    CustomerInput {
        name: name.into(),
        ..Default::default()
    }
}

fn phone(number: &str) -> PhoneInput {
    PhoneInput {
        number: number.into(),
        ..Default::default()
    }
}

fn email(address: &str) -> EmailInput {
    EmailInput {
        address: address.into(),
        ..Default::default()
    }
}

fn in_city(city: &str) -> AddressInput {
    AddressInput {
        city: Some(city.into()),
        street: "人民路 1 号".into(),
        ..Default::default()
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The fields and codes of an `Invalid` error; panics on any other outcome.
fn invalid_fields<T: std::fmt::Debug>(r: Result<T, AppError>) -> Vec<(String, &'static str)> {
    match r {
        Err(AppError::Invalid(inv)) => inv.0.iter().map(|f| (f.field.clone(), f.code)).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// The code of a `Conflict` error; panics on any other outcome.
fn conflict_code<T: std::fmt::Debug>(r: Result<T, AppError>) -> &'static str {
    match r {
        Err(AppError::Conflict { code, .. }) => code,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

async fn all_events(app: &App) -> Vec<ChangeEvent> {
    app.store.events(0, 1000).await.unwrap()
}

fn policy_input() -> PolicyInput {
    PolicyInput {
        name: "国家三包".into(),
        return_days: 7,
        exchange_days: 15,
        repair_months: 12,
        repair_limit: 2,
        void_conditions: strings(&["misuse", "unauthorized_repair"]),
    }
}

fn product_input(
    sku: &str,
    name: &str,
    category_id: CategoryId,
    price: &str,
    serialized: bool,
) -> ProductInput {
    ProductInput {
        sku: sku.into(),
        name: name.into(),
        category_id,
        policy_id: None,
        price: price.into(),
        currency: None,
        serialized,
        strategy: None,
    }
}

struct Catalogue {
    policy: PolicyId,
    category: CategoryId,
    /// Serial-numbered, 3999.00.
    product: ProductId,
}

async fn catalogue(app: &App, p: &Principal) -> Catalogue {
    let policy = app.create_policy(p, &policy_input()).await.unwrap();
    let category = app
        .create_category(
            p,
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
            p,
            &product_input("kfr-35gw", "格力云佳 1.5匹", category, "3999.00", true),
        )
        .await
        .unwrap();
    Catalogue {
        policy,
        category,
        product,
    }
}

fn event_input(kind: &str, void_condition: Option<&str>) -> AssetEventInput {
    AssetEventInput {
        kind: kind.into(),
        day: None,
        void_condition: void_condition.map(str::to_string),
        note: None,
    }
}

/// Every timeline entry of a customer, walked two at a time.
async fn whole_timeline(app: &App, p: &Principal, id: CustomerId) -> Vec<TimelineEntry> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = app
            .timeline(p, id, cursor.as_deref(), Some(2))
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(out.len() < 1000, "timeline paging does not end");
    }
    out
}

async fn list(app: &App, p: &Principal, q: CustomerQuery) -> Vec<CustomerRow> {
    let page = app
        .customers(
            p,
            &CustomerQuery {
                limit: Some(200),
                ..q
            },
        )
        .await
        .unwrap();
    assert!(page.next_cursor.is_none());
    page.items
}

async fn names(app: &App, p: &Principal, q: CustomerQuery) -> Vec<String> {
    list(app, p, q).await.into_iter().map(|c| c.name).collect()
}

fn search(q: &str) -> CustomerQuery {
    CustomerQuery {
        q: Some(q.into()),
        ..Default::default()
    }
}

/// The ids of a customer list walked `limit` rows at a time, following the cursors.
async fn walk(app: &App, p: &Principal, q: CustomerQuery, limit: u32) -> Vec<CustomerId> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = app
            .customers(
                p,
                &CustomerQuery {
                    cursor: cursor.clone(),
                    limit: Some(limit),
                    ..q.clone()
                },
            )
            .await
            .unwrap();
        assert!(page.items.len() <= limit as usize);
        ids.extend(page.items.iter().map(|c| c.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(ids.len() < 1000, "paging does not end");
    }
    ids
}

struct People {
    zhang_wei: CustomerId,
    zhang_min: CustomerId,
    an_na: CustomerId,
    chen_jing: CustomerId,
    haier: CustomerId,
}

async fn seed_people(app: &App, p: &Principal) -> People {
    let create = async |c: CustomerInput| app.create_customer(p, &c).await.unwrap();
    let zhang_wei = create(CustomerInput {
        phones: vec![phone("13800138000")],
        emails: vec![email("Zhang.Wei@Example.com")],
        addresses: vec![in_city("北京")],
        tags: strings(&["VIP"]),
        ..person("张伟")
    })
    .await;
    let zhang_min = create(CustomerInput {
        phones: vec![phone("13900139000")],
        addresses: vec![in_city("上海")],
        ..person("张敏")
    })
    .await;
    let an_na = create(CustomerInput {
        phones: vec![phone("13700137000")],
        emails: vec![email("anna@example.cn")],
        addresses: vec![in_city("北京")],
        tags: strings(&["VIP"]),
        ..person("安娜")
    })
    .await;
    let chen_jing = create(CustomerInput {
        addresses: vec![in_city("广州")],
        tags: strings(&["空调"]),
        ..person("陈静")
    })
    .await;
    let haier = create(CustomerInput {
        kind: Some("organisation".into()),
        addresses: vec![in_city("青岛")],
        tags: strings(&["VIP"]),
        ..person("海尔商用")
    })
    .await;
    People {
        zhang_wei,
        zhang_min,
        an_na,
        chen_jing,
        haier,
    }
}

// ---- scenarios ----------------------------------------------------------------------

async fn migrations_are_applied_once(db: &TestDb, app: &App) {
    app.health().await.unwrap();
    let again = aftercare_store::migrate(&db.db).await.unwrap();
    assert!(again.is_empty(), "a second run applied {again:?}");
    let recorded: Vec<String> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&db.db.read)
            .await
            .unwrap();
    let expected: Vec<String> = aftercare_store::MIGRATIONS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(recorded, expected);
    for table in [
        "users",
        "sessions",
        "login_attempts",
        "api_tokens",
        "idempotency_keys",
        "audit_log",
        "events",
        "outlets",
        "customers",
        "customer_phones",
        "customer_emails",
        "customer_addresses",
        "customer_family",
        "customer_dates",
        "customer_tags",
        "duplicate_dismissals",
        "warranty_policies",
        "product_categories",
        "products",
        "orders",
        "order_items",
        "assets",
        "asset_events",
        "interactions",
        "timeline",
        "purchase_blocks",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&db.db.read)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} is not empty in a new database");
    }
}

async fn customer_round_trip(app: &App) {
    let p = admin(app).await;
    let input = CustomerInput {
        kind: Some("person".into()),
        name: " 张伟 ".into(),
        company: Some("北京远景科技有限公司".into()),
        title: Some("采购经理".into()),
        birthday: Some("1985-06-15".into()),
        phones: vec![
            PhoneInput {
                number: "138 0013 8000".into(),
                label: Some("手机".into()),
                primary: false,
            },
            PhoneInput {
                number: "010-6552 9988".into(),
                label: Some("办公室".into()),
                primary: true,
            },
        ],
        emails: vec![email("Zhang.Wei@Example.COM"), email("zw@163.com")],
        addresses: vec![AddressInput {
            label: Some("家".into()),
            province: Some("北京市".into()),
            city: Some("北京".into()),
            district: Some("朝阳区".into()),
            street: "建国路 88 号 3 单元 1201".into(),
            postcode: Some("100022".into()),
            primary: true,
        }],
        family: vec![FamilyInput {
            name: "李娜".into(),
            relation: "配偶".into(),
            birthday: Some("1987-03-08".into()),
        }],
        important_dates: vec![DateInput {
            label: "结婚纪念日".into(),
            date: "2012-10-01".into(),
        }],
        consent: strings(&["sms", "email"]),
        account_manager_id: Some(p.user.id),
        tags: strings(&["VIP", "空调"]),
        habits: Some("周末上午方便".into()),
        preferences: Some("节能型号".into()),
        notes: Some("老客户，介绍过两位朋友".into()),
        source: Some("store_visit".into()),
        external_ref: None,
        referred_by_code: None,
    };
    let id = app.create_customer(&p, &input).await.unwrap();
    let c = app.customer(&p, id).await.unwrap();
    assert_eq!(c.id, id);
    assert_eq!(c.kind.code(), "person");
    assert_eq!(c.name, "张伟");
    assert_eq!(c.company.as_deref(), Some("北京远景科技有限公司"));
    assert_eq!(c.title.as_deref(), Some("采购经理"));
    assert_eq!(
        c.birthday.map(|b| b.to_string()).as_deref(),
        Some("1985-06-15")
    );
    assert_eq!(c.account_manager_id, Some(p.user.id));
    assert_eq!(c.account_manager_name.as_deref(), Some("管理员"));
    assert_eq!(c.habits.as_deref(), Some("周末上午方便"));
    assert_eq!(c.preferences.as_deref(), Some("节能型号"));
    assert_eq!(c.notes.as_deref(), Some("老客户，介绍过两位朋友"));
    assert_eq!(c.source.map(|s| s.code()), Some("store_visit"));
    assert_eq!(
        c.consent.iter().map(|c| c.code()).collect::<Vec<_>>(),
        ["sms", "email"]
    );
    assert_eq!(c.tags, strings(&["VIP", "空调"]));
    assert_eq!(c.merged_into, None);
    assert_eq!(c.version, 1);
    assert_eq!(c.created_at, c.updated_at);

    // Phones: the one marked primary is the only primary, listed first.
    assert_eq!(c.phones.len(), 2);
    assert_eq!(c.phones.iter().filter(|p| p.primary).count(), 1);
    assert_eq!(c.phones[0].number, "+861065529988");
    assert_eq!(c.phones[0].display, "01065529988");
    assert_eq!(c.phones[0].label.as_deref(), Some("办公室"));
    assert!(c.phones[0].primary);
    assert_eq!(c.phones[1].number, "+8613800138000");
    assert_eq!(c.phones[1].display, "138 0013 8000");
    assert_eq!(c.phones[1].label.as_deref(), Some("手机"));
    // Emails: none marked, so the first became the only primary; the domain is lower-cased.
    assert_eq!(c.emails.len(), 2);
    assert_eq!(c.emails.iter().filter(|e| e.primary).count(), 1);
    assert_eq!(c.emails[0].address, "Zhang.Wei@example.com");
    assert!(c.emails[0].primary);
    assert_eq!(c.emails[1].address, "zw@163.com");
    assert!(!c.emails[1].primary);

    assert_eq!(c.addresses.len(), 1);
    let a = &c.addresses[0];
    assert_eq!(a.label.as_deref(), Some("家"));
    assert_eq!(a.province.as_deref(), Some("北京市"));
    assert_eq!(a.city.as_deref(), Some("北京"));
    assert_eq!(a.district.as_deref(), Some("朝阳区"));
    assert_eq!(a.street, "建国路 88 号 3 单元 1201");
    assert_eq!(a.postcode.as_deref(), Some("100022"));
    assert!(a.primary);
    assert_eq!(c.family.len(), 1);
    assert_eq!(c.family[0].name, "李娜");
    assert_eq!(c.family[0].relation, "配偶");
    assert_eq!(c.family[0].birthday.as_deref(), Some("1987-03-08"));
    assert_eq!(c.important_dates.len(), 1);
    assert_eq!(c.important_dates[0].label, "结婚纪念日");
    assert_eq!(c.important_dates[0].date, "2012-10-01");

    // The list row shows the primary contacts and the city.
    let rows = list(app, &p, CustomerQuery::default()).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].primary_phone.as_deref(), Some("01065529988"));
    assert_eq!(
        rows[0].primary_email.as_deref(),
        Some("Zhang.Wei@example.com")
    );
    assert_eq!(rows[0].city.as_deref(), Some("北京"));
    assert_eq!(rows[0].tags, strings(&["VIP", "空调"]));

    // Update with the current version: applied, version goes up.
    let mut changed = input.clone();
    changed.phones = vec![
        phone("13800138000"),
        PhoneInput {
            number: "13900139000".into(),
            label: None,
            primary: true,
        },
    ];
    changed.notes = Some("已升级为年度合约客户".into());
    changed.tags = strings(&["VIP"]);
    app.update_customer(&p, id, &changed, Some(1))
        .await
        .unwrap();
    let c2 = app.customer(&p, id).await.unwrap();
    assert_eq!(c2.version, 2);
    assert_eq!(c2.notes.as_deref(), Some("已升级为年度合约客户"));
    assert_eq!(c2.tags, strings(&["VIP"]));
    assert_eq!(c2.phones.len(), 2);
    assert_eq!(c2.phones.iter().filter(|p| p.primary).count(), 1);
    assert_eq!(c2.phones[0].number, "+8613900139000");
    assert!(c2.phones[0].primary);
    assert_eq!(c2.created_at, c.created_at);
    assert!(c2.updated_at >= c.updated_at);
    // The family and dates were rewritten, not duplicated.
    assert_eq!(c2.family.len(), 1);
    assert_eq!(c2.important_dates.len(), 1);
    // The old tag no longer finds the customer.
    assert!(
        list(
            app,
            &p,
            CustomerQuery {
                tag: Some("空调".into()),
                ..Default::default()
            }
        )
        .await
        .is_empty()
    );

    // Update with a stale version: refused, nothing changed, no event.
    let events_before = all_events(app).await.len();
    let mut stale = input.clone();
    stale.notes = Some("不应写入".into());
    stale.phones = vec![phone("13700137000")];
    let r = app.update_customer(&p, id, &stale, Some(1)).await;
    assert!(
        matches!(
            &r,
            Err(AppError::Conflict {
                code: "stale_version",
                ..
            })
        ),
        "{r:?}"
    );
    let c3 = app.customer(&p, id).await.unwrap();
    assert_eq!(c3.version, 2);
    assert_eq!(c3.notes.as_deref(), Some("已升级为年度合约客户"));
    assert_eq!(c3.phones.len(), 2);
    assert_eq!(c3.updated_at, c2.updated_at);
    assert_eq!(all_events(app).await.len(), events_before);

    // An unknown customer is not found.
    let r = app
        .update_customer(&p, CustomerId(id.get() + 1000), &changed, None)
        .await;
    assert!(matches!(r, Err(AppError::NotFound(_))), "{r:?}");
}

async fn invalid_customer_writes_nothing(app: &App) {
    let p = admin(app).await;
    let events_before = all_events(app).await;

    let bad_phone = CustomerInput {
        phones: vec![phone("12345")],
        ..person("王芳")
    };
    let fields = invalid_fields(app.create_customer(&p, &bad_phone).await);
    assert_eq!(
        fields,
        vec![("phones[0].number".to_string(), "phone_invalid")]
    );

    let bad_email = CustomerInput {
        emails: vec![email("wang.fang@@example")],
        ..person("王芳")
    };
    let fields = invalid_fields(app.create_customer(&p, &bad_email).await);
    assert_eq!(
        fields,
        vec![("emails[0].address".to_string(), "email_invalid")]
    );

    // Every problem is reported at once, at its own path.
    let both = CustomerInput {
        phones: vec![phone("13800138000"), phone("12345")],
        emails: vec![email("ok@example.cn"), email("not-an-email")],
        ..person("")
    };
    let fields = invalid_fields(app.create_customer(&p, &both).await);
    assert!(
        fields.contains(&("phones[1].number".to_string(), "phone_invalid")),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("emails[1].address".to_string(), "email_invalid")),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("name".to_string(), "required")),
        "{fields:?}"
    );

    assert!(list(app, &p, CustomerQuery::default()).await.is_empty());
    let events_after = all_events(app).await;
    assert_eq!(events_after.len(), events_before.len());
    assert_eq!(
        events_after.last().map(|e| e.id),
        events_before.last().map(|e| e.id)
    );

    // An invalid update of an existing customer changes nothing either.
    let id = app
        .create_customer(
            &p,
            &CustomerInput {
                phones: vec![phone("13800138000")],
                ..person("王芳")
            },
        )
        .await
        .unwrap();
    let events_before = all_events(app).await.len();
    let fields = invalid_fields(app.update_customer(&p, id, &bad_phone, Some(1)).await);
    assert_eq!(
        fields,
        vec![("phones[0].number".to_string(), "phone_invalid")]
    );
    let c = app.customer(&p, id).await.unwrap();
    assert_eq!(c.version, 1);
    assert_eq!(c.phones[0].number, "+8613800138000");
    assert_eq!(all_events(app).await.len(), events_before);
}

async fn customer_search(app: &App) {
    let p = admin(app).await;
    let people = seed_people(app, &p).await;
    let cat = catalogue(app, &p).await;
    app.create_order(
        &p,
        &order_input(people.zhang_wei, cat.product, 1, &["SN-LIST-0001"]),
    )
    .await
    .unwrap();
    let ids = async |q: CustomerQuery| {
        list(app, &p, q)
            .await
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };

    // Name prefix, in characters and in pinyin.
    let mut zhang = names(app, &p, search("张")).await;
    zhang.sort();
    assert_eq!(zhang, vec!["张伟", "张敏"]);
    assert_eq!(names(app, &p, search("张伟")).await, vec!["张伟"]);
    assert_eq!(names(app, &p, search("zhang")).await, vec!["张敏", "张伟"]);
    assert_eq!(names(app, &p, search("Zhang Wei")).await, vec!["张伟"]);
    assert_eq!(names(app, &p, search("an")).await, vec!["安娜"]);
    assert!(names(app, &p, search("李")).await.is_empty());
    // A phone number in any spelling, or the start of one.
    for spelling in [
        "138 0013 8000",
        "13800138000",
        "+86 138-0013-8000",
        "0086 13800138000",
    ] {
        assert_eq!(
            ids(search(spelling)).await,
            vec![people.zhang_wei],
            "{spelling}"
        );
    }
    assert_eq!(ids(search("139 0013")).await, vec![people.zhang_min]);
    assert!(ids(search("13600136000")).await.is_empty());
    // An email, whatever its case, or its start.
    assert_eq!(
        ids(search("zhang.wei@example.com")).await,
        vec![people.zhang_wei]
    );
    assert_eq!(
        ids(search("ZHANG.WEI@EXAMPLE.COM")).await,
        vec![people.zhang_wei]
    );
    assert_eq!(ids(search("anna@")).await, vec![people.an_na]);
    // The start of an address without its `@`: a dot, an underscore or digits among
    // letters are never pinyin.
    assert_eq!(ids(search("Zhang.Wei")).await, vec![people.zhang_wei]);
    assert_eq!(ids(search("zhang.w")).await, vec![people.zhang_wei]);
    // The serial number of something the customer bought.
    assert_eq!(ids(search("sn-list-0001")).await, vec![people.zhang_wei]);
    assert!(ids(search("SN-NONE-0001")).await.is_empty());

    // Filters, alone and together.
    let q = |kind: Option<&str>, tag: Option<&str>, city: Option<&str>| CustomerQuery {
        kind: kind.map(str::to_string),
        tag: tag.map(str::to_string),
        city: city.map(str::to_string),
        ..Default::default()
    };
    assert_eq!(
        ids(q(Some("organisation"), None, None)).await,
        vec![people.haier]
    );
    assert_eq!(ids(q(Some("person"), None, None)).await.len(), 4);
    assert_eq!(
        names(app, &p, q(None, Some("VIP"), None)).await,
        vec!["安娜", "海尔商用", "张伟"]
    );
    assert_eq!(
        names(app, &p, q(None, None, Some("北京"))).await,
        vec!["安娜", "张伟"]
    );
    assert_eq!(
        names(app, &p, q(None, Some("VIP"), Some("北京"))).await,
        vec!["安娜", "张伟"]
    );
    assert_eq!(
        names(app, &p, q(Some("organisation"), None, Some("北京"))).await,
        Vec::<String>::new()
    );
    assert_eq!(
        names(app, &p, q(None, Some("空调"), None)).await,
        vec!["陈静"]
    );
    assert_eq!(
        names(
            app,
            &p,
            CustomerQuery {
                city: Some("上海".into()),
                ..search("张")
            }
        )
        .await,
        vec!["张敏"]
    );
    let fields = invalid_fields(app.customers(&p, &q(Some("robot"), None, None)).await);
    assert_eq!(fields, vec![("kind".to_string(), "kind_unknown")]);

    // Sorting: names by pinyin (安 < 陈 < 张), creation either way.
    let sorted = |s: &str| CustomerQuery {
        sort: Some(s.into()),
        ..Default::default()
    };
    let by_name = vec!["安娜", "陈静", "海尔商用", "张敏", "张伟"];
    assert_eq!(names(app, &p, CustomerQuery::default()).await, by_name);
    assert_eq!(names(app, &p, sorted("name")).await, by_name);
    let mut reversed = by_name.clone();
    reversed.reverse();
    assert_eq!(names(app, &p, sorted("-name")).await, reversed);
    let created = vec![
        people.zhang_wei,
        people.zhang_min,
        people.an_na,
        people.chen_jing,
        people.haier,
    ];
    assert_eq!(ids(sorted("created")).await, created);
    let mut newest_first = created.clone();
    newest_first.reverse();
    assert_eq!(ids(sorted("-created")).await, newest_first);
    assert_eq!(
        conflict_code(app.customers(&p, &sorted("bogus")).await),
        "sort_unknown"
    );
}

async fn customer_paging(app: &App) {
    let p = admin(app).await;
    let people = seed_people(app, &p).await;
    let mut everyone = vec![
        people.zhang_wei,
        people.zhang_min,
        people.an_na,
        people.chen_jing,
        people.haier,
    ];
    everyone.sort();
    for sort in [
        None,
        Some("name"),
        Some("-name"),
        Some("created"),
        Some("-created"),
    ] {
        let q = CustomerQuery {
            sort: sort.map(str::to_string),
            ..Default::default()
        };
        let unpaged: Vec<CustomerId> = list(app, &p, q.clone())
            .await
            .into_iter()
            .map(|c| c.id)
            .collect();
        for limit in [1, 2, 3] {
            let walked = walk(app, &p, q.clone(), limit).await;
            assert_eq!(walked, unpaged, "sort {sort:?}, limit {limit}");
            let mut seen = walked.clone();
            seen.sort();
            seen.dedup();
            assert_eq!(
                seen, everyone,
                "sort {sort:?}, limit {limit}: every row exactly once"
            );
        }
    }
    // Paging within a search and a filter.
    let unpaged: Vec<CustomerId> = list(app, &p, search("张"))
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(unpaged.len(), 2);
    assert_eq!(walk(app, &p, search("张"), 1).await, unpaged);
    assert_eq!(
        walk(app, &p, search("zhang"), 1).await,
        vec![people.zhang_min, people.zhang_wei]
    );
    let vip = CustomerQuery {
        tag: Some("VIP".into()),
        ..Default::default()
    };
    assert_eq!(
        walk(app, &p, vip, 2).await,
        vec![people.an_na, people.haier, people.zhang_wei]
    );
    // Exactly a full page: no cursor to an empty page.
    let page = app
        .customers(
            &p,
            &CustomerQuery {
                limit: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(page.next_cursor.is_none());
    let page = app
        .customers(
            &p,
            &CustomerQuery {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.next_cursor.is_some());

    // A garbage cursor is a client error, never a panic or a server error.
    for garbage in ["garbage!!", "Zm9v", "eyJhIjoxfQ", "WyJ4Il0", "%%%"] {
        let q = CustomerQuery {
            cursor: Some(garbage.into()),
            ..Default::default()
        };
        let r = app.customers(&p, &q).await;
        assert!(
            matches!(
                &r,
                Err(AppError::Conflict {
                    code: "cursor_invalid",
                    ..
                })
            ),
            "{garbage}: {r:?}"
        );
        let r = app
            .timeline(&p, people.zhang_wei, Some(garbage), None)
            .await;
        assert!(
            matches!(
                &r,
                Err(AppError::Conflict {
                    code: "cursor_invalid",
                    ..
                })
            ),
            "{garbage}: {r:?}"
        );
        let r = app
            .orders(
                &p,
                &OrderQuery {
                    cursor: Some(garbage.into()),
                    ..Default::default()
                },
            )
            .await;
        assert!(
            matches!(
                &r,
                Err(AppError::Conflict {
                    code: "cursor_invalid",
                    ..
                })
            ),
            "{garbage}: {r:?}"
        );
        let r = app
            .products(
                &p,
                &ProductQuery {
                    cursor: Some(garbage.into()),
                    ..Default::default()
                },
            )
            .await;
        assert!(
            matches!(
                &r,
                Err(AppError::Conflict {
                    code: "cursor_invalid",
                    ..
                })
            ),
            "{garbage}: {r:?}"
        );
    }
}

async fn catalogue_scenario(app: &App) {
    let p = admin(app).await;
    let cat = catalogue(app, &p).await;
    let policies = app.policies(&p).await.unwrap();
    assert_eq!(policies.len(), 1);
    let pol = &policies[0];
    assert_eq!(pol.id, cat.policy);
    assert_eq!(pol.name, "国家三包");
    assert_eq!(
        (
            pol.return_days,
            pol.exchange_days,
            pol.repair_months,
            pol.repair_limit
        ),
        (7, 15, 12, 2)
    );
    assert_eq!(
        pol.void_conditions
            .iter()
            .map(|v| v.code())
            .collect::<Vec<_>>(),
        ["misuse", "unauthorized_repair"]
    );

    let categories = app.categories(&p).await.unwrap();
    assert_eq!(categories.len(), 1);
    assert_eq!(categories[0].id, cat.category);
    assert_eq!(categories[0].name, "空调");
    assert_eq!(categories[0].parent_id, None);
    assert_eq!(categories[0].policy_id, Some(cat.policy));

    let prod = app.product(&p, cat.product).await.unwrap();
    assert_eq!(prod.sku, "KFR-35GW");
    assert_eq!(prod.name, "格力云佳 1.5匹");
    assert_eq!(prod.category_id, cat.category);
    assert_eq!(prod.category_name, "空调");
    assert_eq!(
        prod.policy_id,
        Some(cat.policy),
        "the product inherits its category's policy"
    );
    assert_eq!(prod.price, Money(399_900));
    assert_eq!(prod.currency, "CNY");
    assert!(prod.serialized);
    assert_eq!(prod.strategy.code(), "comprehensive");
    assert!(prod.active);

    // The SKU is unique whatever its case; the refused product is not written.
    let events_before = all_events(app).await.len();
    let dup = product_input(" KFR-35gw ", "另一款", cat.category, "1.00", false);
    let r = app.create_product(&p, &dup).await;
    assert!(
        matches!(
            &r,
            Err(AppError::Conflict {
                code: "sku_taken",
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(
        app.products(&p, &ProductQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(all_events(app).await.len(), events_before);

    // A subcategory, and a product in an unknown category.
    let sub = app
        .create_category(
            &p,
            &CategoryInput {
                name: "挂机".into(),
                parent_id: Some(cat.category),
                policy_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        app.categories(&p)
            .await
            .unwrap()
            .iter()
            .find(|c| c.id == sub)
            .unwrap()
            .parent_id,
        Some(cat.category)
    );
    let r = app
        .create_product(
            &p,
            &product_input(
                "X-1",
                "无类别",
                CategoryId(cat.category.get() + 1000),
                "1.00",
                false,
            ),
        )
        .await;
    assert!(matches!(&r, Err(AppError::Conflict { .. })), "{r:?}");

    // Search by SKU prefix and by name.
    let found = app
        .products(
            &p,
            &ProductQuery {
                q: Some("kfr".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![cat.product]
    );
    let found = app
        .products(
            &p,
            &ProductQuery {
                q: Some("格力".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![cat.product]
    );
}

async fn order_creates_asset(app: &App) {
    let p = admin(app).await;
    let cat = catalogue(app, &p).await;
    let today = app.clock.today();
    let cid = app
        .create_customer(
            &p,
            &CustomerInput {
                phones: vec![phone("13800138000")],
                ..person("张伟")
            },
        )
        .await
        .unwrap();
    let other = app.create_customer(&p, &person("李娜")).await.unwrap();

    let order_id = app
        .create_order(&p, &order_input(cid, cat.product, 1, &["sn-2026-0001"]))
        .await
        .unwrap();
    let order = app.order(&p, order_id).await.unwrap();
    assert_eq!(order.number, format!("SO-{}-{order_id:06}", today.year()));
    assert_eq!(order.customer_id, cid);
    assert_eq!(order.customer_name, "张伟");
    assert_eq!(order.channel.code(), "store");
    assert_eq!(order.status.code(), "placed");
    assert_eq!(order.ordered_on, today);
    assert_eq!(order.currency, "CNY");
    assert_eq!(
        order.total,
        Money(399_900),
        "the catalogue price fills a missing unit price"
    );
    assert_eq!(order.items.len(), 1);
    assert_eq!(order.items[0].sku, "KFR-35GW");
    assert_eq!(order.items[0].unit_price, Money(399_900));
    assert_eq!(order.items[0].serials, strings(&["SN-2026-0001"]));

    // The serial became an asset of the customer, in warranty from today.
    let asset_id = app
        .store
        .asset_by_serial("SN-2026-0001")
        .await
        .unwrap()
        .expect("asset created");
    let asset = app.asset(&p, asset_id).await.unwrap();
    assert_eq!(asset.serial, "SN-2026-0001");
    assert_eq!(asset.customer_id, cid);
    assert_eq!(asset.product_id, cat.product);
    assert_eq!(asset.order_id, Some(order_id));
    assert_eq!(asset.order_number.as_deref(), Some(order.number.as_str()));
    assert_eq!(asset.purchased_on, today);
    let w = asset.warranty.expect("the category has a policy");
    assert_eq!(w.coverage, Coverage::InWarranty);
    assert_eq!(w.coverage.code(), "in_warranty");
    assert_eq!(w.on, today);
    assert_eq!(w.starts, today);
    assert!(w.return_.applies && w.exchange.applies && w.repair.applies);
    assert_eq!(w.return_.until, Some(today.checked_add(7.days()).unwrap()));
    assert_eq!(
        w.exchange.until,
        Some(today.checked_add(15.days()).unwrap())
    );
    assert_eq!(
        w.repair.until,
        Some(today.checked_add(12.months()).unwrap())
    );
    assert_eq!(w.repairs_used, 0);

    // The customer 360 shows the order, the asset and the order on the timeline, newest first.
    let c360 = app.customer_360(&p, cid, None).await.unwrap();
    assert_eq!(c360.customer.id, cid);
    assert_eq!(
        c360.orders.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![order_id]
    );
    assert_eq!(c360.orders[0].total, Money(399_900));
    assert_eq!(c360.assets.len(), 1);
    assert_eq!(c360.assets[0].serial, "SN-2026-0001");
    assert_eq!(
        c360.assets[0].warranty.as_ref().map(|w| w.coverage),
        Some(Coverage::InWarranty)
    );
    let tl = &c360.timeline.items;
    assert_eq!(
        tl.iter().map(|t| t.kind.as_str()).collect::<Vec<_>>(),
        vec!["order", "created"]
    );
    assert_eq!(tl[0].ref_id, Some(order_id.get()));
    assert!(
        tl[0].touchpoint.is_some(),
        "the sale's touchpoint is recorded"
    );
    assert!(tl[0].summary.contains(&order.number), "{}", tl[0].summary);
    assert_eq!(tl[0].actor_name.as_deref(), Some("管理员"));
    assert!(
        tl.windows(2).all(|w| w[0].at >= w[1].at),
        "timeline is newest first"
    );
    // The order is found by its number and by the serial.
    let by_number = app
        .orders(
            &p,
            &OrderQuery {
                q: Some(order.number.to_lowercase()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        by_number.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![order_id]
    );
    let by_serial = app
        .orders(
            &p,
            &OrderQuery {
                q: Some("sn-2026-0001".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        by_serial.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![order_id]
    );

    let events_before = all_events(app).await.len();
    let orders_before = app
        .orders(&p, &OrderQuery::default())
        .await
        .unwrap()
        .items
        .len();
    let nothing_written = async || {
        assert_eq!(
            all_events(app).await.len(),
            events_before,
            "a refused order wrote events"
        );
        assert_eq!(
            app.orders(&p, &OrderQuery::default())
                .await
                .unwrap()
                .items
                .len(),
            orders_before
        );
        assert!(app.store.assets_of(other).await.unwrap().is_empty());
        assert!(
            app.customer_360(&p, other, None)
                .await
                .unwrap()
                .orders
                .is_empty()
        );
    };

    // The same serial again, in any case, for anyone: refused.
    let fields = invalid_fields(
        app.create_order(&p, &order_input(other, cat.product, 1, &["SN-2026-0001"]))
            .await,
    );
    assert_eq!(
        fields,
        vec![("items[0].serials[0]".to_string(), "serial_taken")]
    );
    let fields = invalid_fields(
        app.create_order(&p, &order_input(other, cat.product, 1, &["sn-2026-0001"]))
            .await,
    );
    assert_eq!(
        fields,
        vec![("items[0].serials[0]".to_string(), "serial_taken")]
    );
    nothing_written().await;
    assert_eq!(app.asset(&p, asset_id).await.unwrap().customer_id, cid);

    // Serial counts must match the quantity of a serial-numbered product.
    let fields = invalid_fields(
        app.create_order(&p, &order_input(other, cat.product, 2, &["SN-2026-0002"]))
            .await,
    );
    assert_eq!(
        fields,
        vec![("items[0].serials".to_string(), "serial_count_mismatch")]
    );
    let fields = invalid_fields(
        app.create_order(&p, &order_input(other, cat.product, 1, &[]))
            .await,
    );
    assert_eq!(
        fields,
        vec![("items[0].serials".to_string(), "serial_count_mismatch")]
    );
    let fields = invalid_fields(
        app.create_order(
            &p,
            &order_input(other, cat.product, 2, &["SN-2026-0003", "sn-2026-0003"]),
        )
        .await,
    );
    assert_eq!(
        fields,
        vec![("items[0].serials[1]".to_string(), "duplicate")]
    );
    // A product without serial numbers takes none.
    let filter = app
        .create_product(
            &p,
            &product_input("FLT-01", "滤网", cat.category, "99.00", false),
        )
        .await
        .unwrap();
    let events_before = all_events(app).await.len();
    let fields = invalid_fields(
        app.create_order(&p, &order_input(other, filter, 1, &["SN-2026-0004"]))
            .await,
    );
    assert_eq!(
        fields,
        vec![("items[0].serials".to_string(), "not_serialized")]
    );
    // Unknown customer and product.
    let fields = invalid_fields(
        app.create_order(
            &p,
            &order_input(
                CustomerId(other.get() + 1000),
                ProductId(filter.get() + 1000),
                1,
                &[],
            ),
        )
        .await,
    );
    assert!(
        fields.contains(&("customer_id".to_string(), "not_found")),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("items[0].product_id".to_string(), "not_found")),
        "{fields:?}"
    );
    assert_eq!(all_events(app).await.len(), events_before);
    for s in ["SN-2026-0002", "SN-2026-0003", "SN-2026-0004"] {
        assert_eq!(app.store.asset_by_serial(s).await.unwrap(), None, "{s}");
    }

    // A serial taken between the check and the write: the store refuses it and the whole
    // batch rolls back, including an order before it that was fine on its own.
    let fine = order_input(other, cat.product, 1, &["SN-2026-0005"])
        .validate(today)
        .unwrap();
    let taken = order_input(other, cat.product, 1, &["SN-2026-0001"])
        .validate(today)
        .unwrap();
    let r = app
        .store
        .create_orders(&p.actor(), &[fine, taken], app.now())
        .await;
    assert!(
        matches!(
            &r,
            Err(StoreError::Conflict {
                code: "serial_taken",
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(
        app.store.asset_by_serial("SN-2026-0005").await.unwrap(),
        None
    );
    assert_eq!(all_events(app).await.len(), events_before);
    assert!(
        app.customer_360(&p, other, None)
            .await
            .unwrap()
            .orders
            .is_empty()
    );
    assert_eq!(
        app.customer_360(&p, other, None)
            .await
            .unwrap()
            .timeline
            .items
            .len(),
        1
    );
}

async fn void_event_voids_warranty(app: &App) {
    let p = admin(app).await;
    let cat = catalogue(app, &p).await;
    let today = app.clock.today();
    let cid = app.create_customer(&p, &person("张伟")).await.unwrap();
    app.create_order(&p, &order_input(cid, cat.product, 1, &["SN-VOID-0001"]))
        .await
        .unwrap();
    let asset = app
        .store
        .asset_by_serial("SN-VOID-0001")
        .await
        .unwrap()
        .unwrap();

    // A void without its condition is refused.
    let fields = invalid_fields(
        app.add_asset_event(&p, asset, &event_input("void", None))
            .await,
    );
    assert_eq!(fields, vec![("void_condition".to_string(), "required")]);

    let mut misuse = event_input("void", Some("misuse"));
    misuse.note = Some("进水导致主板损坏".into());
    app.add_asset_event(&p, asset, &misuse).await.unwrap();
    let a = app.asset(&p, asset).await.unwrap();
    assert_eq!(a.events.len(), 1);
    assert_eq!(a.events[0].kind, "void");
    assert_eq!(a.events[0].day, today);
    assert_eq!(a.events[0].void_condition.map(|v| v.code()), Some("misuse"));
    assert_eq!(a.events[0].note.as_deref(), Some("进水导致主板损坏"));
    let w = a.warranty.unwrap();
    assert_eq!(w.coverage, Coverage::Void);
    for r in [&w.return_, &w.exchange, &w.repair] {
        assert!(!r.applies);
        assert_eq!(
            r.reason,
            Reason::Voided {
                condition: VoidCondition::Misuse,
                since: today
            }
        );
    }
    // The 360 agrees, and the timeline records it.
    let c360 = app.customer_360(&p, cid, None).await.unwrap();
    assert_eq!(
        c360.assets[0].warranty.as_ref().map(|w| w.coverage),
        Some(Coverage::Void)
    );
    assert_eq!(c360.timeline.items[0].kind, "asset");
    assert_eq!(c360.timeline.items[0].ref_id, Some(asset.get()));
    assert!(c360.timeline.items[0].summary.contains("misuse"));
    // The 360's warranty (the customer's items and their policies, read together) and the
    // desk's check (the one item, read alone) agree.
    assert_eq!(
        c360.assets[0].warranty,
        app.warranty_on(asset, None).await.unwrap()
    );
    // A second void on the same day: the first recorded still names the reason, on both
    // paths.
    app.add_asset_event(&p, asset, &event_input("void", Some("commercial_use")))
        .await
        .unwrap();
    let c360 = app.customer_360(&p, cid, None).await.unwrap();
    let w = c360.assets[0].warranty.clone().unwrap();
    assert_eq!(
        w.repair.reason,
        Reason::Voided {
            condition: VoidCondition::Misuse,
            since: today
        }
    );
    assert_eq!(Some(w), app.warranty_on(asset, None).await.unwrap());

    // An unknown asset.
    let r = app
        .add_asset_event(&p, AssetId(asset.get() + 1000), &event_input("note", None))
        .await;
    assert!(matches!(r, Err(AppError::NotFound("asset"))), "{r:?}");
}

async fn repairs_reach_the_limit(app: &App) {
    let p = admin(app).await;
    let cat = catalogue(app, &p).await;
    let today = app.clock.today();
    let cid = app.create_customer(&p, &person("张伟")).await.unwrap();
    app.create_order(&p, &order_input(cid, cat.product, 1, &["SN-REP-0001"]))
        .await
        .unwrap();
    let asset = app
        .store
        .asset_by_serial("SN-REP-0001")
        .await
        .unwrap()
        .unwrap();

    app.add_asset_event(&p, asset, &event_input("repair", None))
        .await
        .unwrap();
    let w = app.asset(&p, asset).await.unwrap().warranty.unwrap();
    assert_eq!(w.repairs_used, 1);
    assert!(w.repair.applies);
    assert_eq!(w.exchange.reason, Reason::WithinWindow);

    app.add_asset_event(&p, asset, &event_input("repair", None))
        .await
        .unwrap();
    let a = app.asset(&p, asset).await.unwrap();
    assert_eq!(a.events.iter().filter(|e| e.kind == "repair").count(), 2);
    let w = a.warranty.unwrap();
    assert_eq!(w.repairs_used, 2);
    assert_eq!(w.coverage, Coverage::InWarranty);
    assert!(!w.repair.applies);
    assert!(w.exchange.applies);
    assert_eq!(
        w.exchange.reason,
        Reason::RepairLimitReached {
            repairs: 2,
            limit: 2
        }
    );
    assert_eq!(w.exchange.reason.code(), "repair_limit_reached");
    assert_eq!(
        w.exchange.until,
        Some(today.checked_add(12.months()).unwrap())
    );
    // Notes and services do not count as repairs.
    app.add_asset_event(&p, asset, &event_input("service", None))
        .await
        .unwrap();
    app.add_asset_event(&p, asset, &event_input("note", None))
        .await
        .unwrap();
    assert_eq!(
        app.asset(&p, asset)
            .await
            .unwrap()
            .warranty
            .unwrap()
            .repairs_used,
        2
    );
    let c360 = app.customer_360(&p, cid, None).await.unwrap();
    assert_eq!(c360.assets[0].warranty.as_ref().unwrap().repairs_used, 2);
    assert_eq!(
        c360.assets[0].warranty,
        app.warranty_on(asset, None).await.unwrap()
    );
}

async fn duplicates_and_merge(app: &App) {
    let p = admin(app).await;
    let cat = catalogue(app, &p).await;
    let keep = app
        .create_customer(
            &p,
            &CustomerInput {
                phones: vec![phone("13800138000")],
                emails: vec![email("zhang.wei@example.com")],
                tags: strings(&["VIP"]),
                ..person("张伟")
            },
        )
        .await
        .unwrap();
    let drop = app
        .create_customer(
            &p,
            &CustomerInput {
                phones: vec![phone("+86 138-0013-8000"), phone("13900139000")],
                addresses: vec![in_city("上海")],
                tags: strings(&["空调"]),
                company: Some("远景科技".into()),
                ..person("张伟")
            },
        )
        .await
        .unwrap();
    let bystander = app
        .create_customer(
            &p,
            &CustomerInput {
                phones: vec![phone("13700137000")],
                ..person("安娜")
            },
        )
        .await
        .unwrap();
    let keep_order = app
        .create_order(&p, &order_input(keep, cat.product, 1, &["SN-KEEP-0001"]))
        .await
        .unwrap();
    let drop_order = app
        .create_order(&p, &order_input(drop, cat.product, 1, &["SN-DROP-0001"]))
        .await
        .unwrap();
    app.add_interaction(
        &p,
        drop,
        &InteractionInput {
            touchpoint: "phone".into(),
            direction: None,
            subject: "咨询安装时间".into(),
            body: None,
        },
    )
    .await
    .unwrap();

    // The pair sharing a phone is proposed, the bystander is not.
    let pairs = app.duplicates(&p).await.unwrap();
    let pair = pairs
        .iter()
        .find(|d| d.a.id == keep && d.b.id == drop)
        .expect("the pair is proposed");
    assert_eq!(pair.reason, "phone");
    assert_eq!(pair.value, "138 0013 8000");
    assert!(
        pairs
            .iter()
            .all(|d| d.a.id != bystander && d.b.id != bystander)
    );
    assert_eq!(pairs.len(), 1);

    let keep_tl = whole_timeline(app, &p, keep).await;
    let drop_tl = whole_timeline(app, &p, drop).await;
    assert_eq!(keep_tl.len(), 2, "created, order");
    assert_eq!(drop_tl.len(), 3, "created, order, interaction");

    app.merge(&p, keep, drop).await.unwrap();

    // Everything of both is on the kept customer.
    let merged_tl = whole_timeline(app, &p, keep).await;
    assert_eq!(merged_tl.len(), keep_tl.len() + drop_tl.len() + 1);
    let mut ids: Vec<i64> = merged_tl.iter().map(|t| t.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), merged_tl.len(), "no timeline entry twice");
    for t in keep_tl.iter().chain(&drop_tl) {
        assert!(
            merged_tl.iter().any(|m| m.id == t.id),
            "entry {} ({}) kept",
            t.id,
            t.kind
        );
    }
    let merges: Vec<_> = merged_tl.iter().filter(|t| t.kind == "merge").collect();
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0].ref_id, Some(drop.get()));
    assert_eq!(merged_tl[0].kind, "merge", "the merge is the newest entry");
    assert!(
        merged_tl
            .windows(2)
            .all(|w| (&w[0].at, w[0].id) >= (&w[1].at, w[1].id))
    );

    let c360 = app.customer_360(&p, keep, None).await.unwrap();
    let mut order_ids: Vec<OrderId> = c360.orders.iter().map(|o| o.id).collect();
    order_ids.sort();
    assert_eq!(order_ids, vec![keep_order, drop_order]);
    let mut serials: Vec<&str> = c360.assets.iter().map(|a| a.serial.as_str()).collect();
    serials.sort();
    assert_eq!(serials, vec!["SN-DROP-0001", "SN-KEEP-0001"]);
    assert_eq!(app.order(&p, drop_order).await.unwrap().customer_id, keep);
    let kept = &c360.customer;
    assert_eq!(kept.phones.len(), 2, "the shared phone is not doubled");
    assert_eq!(kept.phones.iter().filter(|p| p.primary).count(), 1);
    assert_eq!(kept.phones[0].number, "+8613800138000");
    assert!(kept.phones.iter().any(|p| p.number == "+8613900139000"));
    let mut tags = kept.tags.clone();
    tags.sort();
    assert_eq!(tags, strings(&["VIP", "空调"]));
    assert_eq!(
        kept.company.as_deref(),
        Some("远景科技"),
        "blanks are filled from the merged record"
    );
    assert_eq!(kept.addresses.len(), 1);
    assert_eq!(kept.addresses.iter().filter(|a| a.primary).count(), 1);
    assert!(kept.version > 1);

    // The dropped one points at the kept one and is gone from lists and searches.
    let dropped = app.customer(&p, drop).await.unwrap();
    assert_eq!(dropped.merged_into, Some(keep));
    assert!(whole_timeline(app, &p, drop).await.is_empty());
    let listed: Vec<CustomerId> = list(app, &p, CustomerQuery::default())
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&keep) && listed.contains(&bystander) && !listed.contains(&drop));
    let found: Vec<CustomerId> = list(app, &p, search("13900139000"))
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(found, vec![keep]);
    let found: Vec<CustomerId> = list(app, &p, search("SN-DROP-0001"))
        .await
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(found, vec![keep]);
    assert!(app.duplicates(&p).await.unwrap().is_empty());

    // The audit log has the merge on the kept customer and the other side on the dropped one.
    let audit = app
        .audit(&p, Some("customer"), Some(keep.get()), None)
        .await
        .unwrap();
    let merge = audit
        .iter()
        .find(|a| a.action == "merge")
        .expect("a merge entry");
    assert_eq!(merge.actor, ADMIN_EMAIL);
    assert_eq!(
        merge
            .after
            .as_ref()
            .and_then(|v| v.get("merged"))
            .and_then(|v| v.as_i64()),
        Some(drop.get())
    );
    let audit = app
        .audit(&p, Some("customer"), Some(drop.get()), None)
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "merged_into"));

    // A merged customer cannot be merged or edited again; nobody merges with themselves.
    assert_eq!(
        conflict_code(app.merge(&p, keep, drop).await),
        "customer_merged"
    );
    assert_eq!(
        conflict_code(app.merge(&p, bystander, drop).await),
        "customer_merged"
    );
    assert_eq!(
        conflict_code(app.update_customer(&p, drop, &person("张伟"), None).await),
        "customer_merged"
    );
    let fields = invalid_fields(app.merge(&p, keep, keep).await);
    assert_eq!(fields, vec![("drop".to_string(), "same_customer")]);
    let r = app.merge(&p, keep, CustomerId(drop.get() + 1000)).await;
    assert!(matches!(r, Err(AppError::NotFound("customer"))), "{r:?}");
}

async fn change_log_in_order(app: &App) {
    let p = admin(app).await;
    let start = all_events(app)
        .await
        .last()
        .map(|e| e.id)
        .expect("creating the admin is an event");

    let cid = app
        .create_customer(
            &p,
            &CustomerInput {
                phones: vec![phone("13800138000")],
                ..person("张伟")
            },
        )
        .await
        .unwrap();
    app.update_customer(
        &p,
        cid,
        &CustomerInput {
            notes: Some("VIP".into()),
            ..person("张伟")
        },
        Some(1),
    )
    .await
    .unwrap();
    let cat = catalogue(app, &p).await;
    let order = app
        .create_order(&p, &order_input(cid, cat.product, 1, &["SN-LOG-0001"]))
        .await
        .unwrap();
    let asset = app
        .store
        .asset_by_serial("SN-LOG-0001")
        .await
        .unwrap()
        .unwrap();
    let event = app
        .add_asset_event(&p, asset, &event_input("installed", None))
        .await
        .unwrap();
    let interaction = app
        .add_interaction(
            &p,
            cid,
            &InteractionInput {
                touchpoint: "wechat_is_not_one".into(),
                direction: None,
                subject: "x".into(),
                body: None,
            },
        )
        .await;
    assert!(
        matches!(interaction, Err(AppError::Invalid(_))),
        "a refused write"
    );
    let interaction = app
        .add_interaction(
            &p,
            cid,
            &InteractionInput {
                touchpoint: "chat".into(),
                direction: Some("outbound".into()),
                subject: "回访".into(),
                body: None,
            },
        )
        .await
        .unwrap();

    let events = app.store.events(start, 1000).await.unwrap();
    let got: Vec<(&str, i64)> = events
        .iter()
        .map(|e| (e.kind.as_str(), e.entity_id))
        .collect();
    assert_eq!(
        got,
        vec![
            ("customer.create", cid.get()),
            ("customer.update", cid.get()),
            ("warranty_policy.create", cat.policy.get()),
            ("category.create", cat.category.get()),
            ("product.create", cat.product.get()),
            ("asset.create", asset.get()),
            ("order.create", order.get()),
            ("asset_event.create", event),
            ("interaction.create", interaction),
        ]
    );
    assert!(
        events.windows(2).all(|w| w[0].id < w[1].id),
        "ids strictly increase"
    );
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "times never go back"
    );
    assert!(events.iter().all(|e| e.id > start));
    assert!(
        events
            .iter()
            .all(|e| e.payload.get("actor").and_then(|a| a.as_str()) == Some(ADMIN_EMAIL))
    );
    assert_eq!(events[0].entity, "customer");
    assert_eq!(
        events[6].payload["after"]["serials"],
        serde_json::json!(["SN-LOG-0001"])
    );

    // Reading from a cursor in the middle returns exactly the rest.
    for mid in 0..events.len() {
        let rest = app.store.events(events[mid].id, 1000).await.unwrap();
        let rest_ids: Vec<i64> = rest.iter().map(|e| e.id).collect();
        let expected: Vec<i64> = events[mid + 1..].iter().map(|e| e.id).collect();
        assert_eq!(rest_ids, expected, "after event {}", events[mid].id);
    }
    // Small pages walk the whole log once.
    let mut walked = Vec::new();
    let mut cursor = 0;
    loop {
        let page = app.store.events(cursor, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        cursor = last.id;
        walked.extend(page.iter().map(|e| e.id));
    }
    let everything: Vec<i64> = all_events(app).await.iter().map(|e| e.id).collect();
    assert_eq!(walked, everything);
    // The admin read goes through the same log.
    let first_three: Vec<i64> = app
        .events(&p, start, Some(3))
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(
        first_three,
        events[..3].iter().map(|e| e.id).collect::<Vec<_>>()
    );

    // A consumer reads only the entities it looks at; the others are passed over and
    // still move its cursor.
    let latest = everything.last().copied().unwrap();
    let orders: Vec<i64> = all_events(app)
        .await
        .iter()
        .filter(|e| e.id > start && e.entity == "order")
        .map(|e| e.id)
        .collect();
    assert!(!orders.is_empty());
    let read = app.store.changes_of(start, 100, &["order"]).await.unwrap();
    assert_eq!(read.events.iter().map(|e| e.id).collect::<Vec<_>>(), orders);
    assert!(
        read.events
            .iter()
            .all(|e| e.entity == "order" && e.payload.is_object())
    );
    assert_eq!((read.last, read.more), (latest, false));
    let one = app.store.changes_of(start, 1, &["order"]).await.unwrap();
    assert_eq!(one.events.len(), 1);
    assert_eq!((one.last, one.more), (orders[0], true));
    let none = app
        .store
        .changes_of(start, 100, &["nothing"])
        .await
        .unwrap();
    assert!(none.events.is_empty());
    assert_eq!((none.last, none.more), (latest, false));
    // A round passes over at most 25 ids per event it may take: the cursor stops at the
    // window's end, and says whether more is waiting.
    let narrow = app.store.changes_of(0, 1, &["nothing"]).await.unwrap();
    assert!(narrow.events.is_empty());
    assert_eq!((narrow.last, narrow.more), (latest.min(25), latest > 25));
}

async fn login_and_throttling(app: &App) {
    let p = admin(app).await;
    let (secret, csrf, user) = app
        .login(" Admin@Example.cn ", ADMIN_PASSWORD, "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(user.id, p.user.id);
    let (principal, session_csrf) = app
        .session(&secret)
        .await
        .unwrap()
        .expect("the session resolves");
    assert_eq!(principal.user.id, p.user.id);
    assert_eq!(principal.role, Role::Admin);
    assert!(principal.scopes.is_none());
    assert_eq!(session_csrf, csrf);
    assert!(app.session("s_not-a-session").await.unwrap().is_none());
    assert!(app.session(&format!("{secret}x")).await.unwrap().is_none());
    app.logout(&secret).await.unwrap();
    assert!(app.session(&secret).await.unwrap().is_none(), "signed out");

    // Unknown accounts are refused like wrong passwords.
    let r = app
        .login("nobody@example.cn", ADMIN_PASSWORD, "10.0.0.9")
        .await;
    assert!(matches!(r, Err(AppError::Unauthenticated)), "{r:?}");

    for i in 0..5 {
        let r = app.login(ADMIN_EMAIL, "wrong password", "10.0.0.1").await;
        assert!(
            matches!(r, Err(AppError::Unauthenticated)),
            "attempt {i}: {r:?}"
        );
    }
    let r = app.login(ADMIN_EMAIL, ADMIN_PASSWORD, "10.0.0.1").await;
    assert!(matches!(r, Err(AppError::Throttled)), "{r:?}");
    let r = app.login(ADMIN_EMAIL, ADMIN_PASSWORD, "192.168.1.1").await;
    assert!(
        matches!(r, Err(AppError::Throttled)),
        "the limit is per account, from any address: {r:?}"
    );

    // Another account from the same office address still signs in.
    app.add_user(
        &Actor::system("test"),
        "agent@example.cn",
        "客服",
        "another good password",
        "agent",
    )
    .await
    .unwrap();
    let (secret, _, user) = app
        .login("agent@example.cn", "another good password", "10.0.0.1")
        .await
        .unwrap();
    assert_eq!(user.role.code(), "agent");
    let (principal, _) = app.session(&secret).await.unwrap().unwrap();
    assert_eq!(principal.role, Role::Agent);
    assert!(principal.require(Permission::Admin).is_err());
}

async fn api_token_is_stored_hashed(db: &TestDb, app: &App) {
    let p = admin(app).await;
    let t = app
        .create_token(&p.actor(), ADMIN_EMAIL, "数据同步", &strings(&["read"]))
        .await
        .unwrap();
    assert!(t.token.starts_with("ac_"));
    assert_eq!(t.scopes, strings(&["read"]));
    assert_eq!(t.name, "数据同步");

    let principal = app
        .token_principal(&t.token)
        .await
        .unwrap()
        .expect("the token resolves");
    assert_eq!(principal.user.id, p.user.id);
    assert_eq!(principal.role, Role::Admin);
    assert_eq!(principal.scopes, Some(vec![Scope::Read]));
    assert!(principal.require(Permission::Read).is_ok());
    assert!(matches!(
        principal.require(Permission::WriteCustomers),
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        app.create_customer(&principal, &person("张伟")).await,
        Err(AppError::Forbidden)
    ));
    assert!(app.token_principal("ac_0000").await.unwrap().is_none());
    assert!(
        app.token_principal(&t.token[..t.token.len() - 1])
            .await
            .unwrap()
            .is_none()
    );

    // Only the hash is stored; the token itself is nowhere in the database's tables.
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1")
        .bind(t.token.clone())
        .fetch_one(&db.db.read)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT name, token_hash, scopes FROM api_tokens")
            .fetch_all(&db.db.read)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, aftercare_app::auth::hash_secret(&t.token));
    assert!(
        rows.iter().all(|(a, b, c)| !a.contains(&t.token)
            && !b.contains(&t.token)
            && !c.contains(&t.token))
    );
    let hex = t.token.trim_start_matches("ac_");
    for (table, column) in [("audit_log", "after_json"), ("events", "payload")] {
        let texts: Vec<Option<String>> =
            sqlx::query_scalar(&format!("SELECT {column} FROM {table}"))
                .fetch_all(&db.db.read)
                .await
                .unwrap();
        assert!(
            texts.iter().flatten().all(|s| !s.contains(hex)),
            "the token leaked into {table}"
        );
    }

    // Bad scopes are refused.
    let fields = invalid_fields(
        app.create_token(&p.actor(), ADMIN_EMAIL, "x", &strings(&["everything"]))
            .await,
    );
    assert!(
        fields.contains(&("scopes[0]".to_string(), "scope_unknown")),
        "{fields:?}"
    );

    // A token found valid is taken as valid for a second without asking the database
    // (decision 0024). Revoked through this server, it is refused at once; another server
    // on the same database refuses it within that second.
    let other = db.another_app().await;
    let t2 = app
        .create_token(&p.actor(), ADMIN_EMAIL, "报表", &strings(&["read"]))
        .await
        .unwrap();
    for a in [app, &other] {
        assert!(a.token_principal(&t2.token).await.unwrap().is_some());
    }
    app.revoke_token(&p, t2.id).await.unwrap();
    assert!(app.token_principal(&t2.token).await.unwrap().is_none());
    tokio::time::sleep(aftercare_app::service::TOKEN_FRESH).await;
    assert!(other.token_principal(&t2.token).await.unwrap().is_none());
    // A user deactivated, or whose language changed, through this server: their tokens
    // answer for what they are now, at once.
    let agent = app
        .add_user(
            &p.actor(),
            "api@example.cn",
            "接口账号",
            "a good password",
            "agent",
        )
        .await
        .unwrap();
    let t3 = app
        .create_token(&p.actor(), "api@example.cn", "同步", &strings(&["read"]))
        .await
        .unwrap();
    let as_agent = app.token_principal(&t3.token).await.unwrap().unwrap();
    assert_eq!(as_agent.user.lang, None);
    app.set_lang(&as_agent, Some(aftercare_domain::lang::Lang::En))
        .await
        .unwrap();
    assert_eq!(
        app.token_principal(&t3.token)
            .await
            .unwrap()
            .unwrap()
            .user
            .lang
            .as_deref(),
        Some("en")
    );
    app.update_user(
        &p,
        agent.id,
        &UserPatch {
            active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(app.token_principal(&t3.token).await.unwrap().is_none());
}

async fn amounts_sort_numerically(app: &App) {
    let p = admin(app).await;
    let cat = catalogue(app, &p).await;
    let cheap = app
        .create_product(
            &p,
            &product_input("FLT-01", "滤网", cat.category, "99.00", false),
        )
        .await
        .unwrap();
    let middle = app
        .create_product(
            &p,
            &product_input("KFR-26GW", "美的酷省电", cat.category, "1299.50", true),
        )
        .await
        .unwrap();
    let expensive = cat.product; // 3999.00
    let walk_products = async |sort: &str| {
        let mut ids = Vec::new();
        let mut cursor = None;
        loop {
            let page = app
                .products(
                    &p,
                    &ProductQuery {
                        sort: Some(sort.into()),
                        cursor,
                        limit: Some(1),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            ids.extend(page.items.iter().map(|x| x.id));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        ids
    };
    assert_eq!(walk_products("price").await, vec![cheap, middle, expensive]);
    assert_eq!(
        walk_products("-price").await,
        vec![expensive, middle, cheap]
    );

    let cid = app.create_customer(&p, &person("张伟")).await.unwrap();
    let o_expensive = app
        .create_order(&p, &order_input(cid, expensive, 1, &["SN-SORT-0001"]))
        .await
        .unwrap();
    let o_cheap = app
        .create_order(&p, &order_input(cid, cheap, 3, &[]))
        .await
        .unwrap();
    let o_middle = app
        .create_order(&p, &order_input(cid, middle, 1, &["SN-SORT-0002"]))
        .await
        .unwrap();
    assert_eq!(app.order(&p, o_cheap).await.unwrap().total, Money(29_700));
    let walk_orders = async |sort: &str| {
        let mut ids = Vec::new();
        let mut cursor = None;
        loop {
            let page = app
                .orders(
                    &p,
                    &OrderQuery {
                        sort: Some(sort.into()),
                        cursor,
                        limit: Some(1),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            ids.extend(page.items.iter().map(|x| x.id));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        ids
    };
    assert_eq!(
        walk_orders("total").await,
        vec![o_cheap, o_middle, o_expensive]
    );
    assert_eq!(
        walk_orders("-total").await,
        vec![o_expensive, o_middle, o_cheap]
    );
    // All ordered today: newest first by default, oldest first when asked.
    assert_eq!(
        walk_orders("-ordered").await,
        vec![o_middle, o_cheap, o_expensive]
    );
    assert_eq!(
        walk_orders("ordered").await,
        vec![o_expensive, o_cheap, o_middle]
    );
}

async fn partial_phones_digit_serials_and_chinese_names(app: &App) {
    let p = admin(app).await;
    let mut landline = person("北京办公室");
    landline.phones = vec![phone("010-6552 9988")];
    let landline = app.create_customer(&p, &landline).await.unwrap();
    let mut hk = person("Wong Ka Ming");
    hk.phones = vec![phone("+852 2345 6789")];
    let hk = app.create_customer(&p, &hk).await.unwrap();
    let mut names = Vec::new();
    for n in ["张敏", "张伟", "章华", "张安"] {
        names.push(app.create_customer(&p, &person(n)).await.unwrap());
    }
    let cat = catalogue(app, &p).await;
    app.create_order(&p, &order_input(names[1], cat.product, 1, &["20260001"]))
        .await
        .unwrap();

    let ids = |rows: Vec<CustomerRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(list(app, &p, search("010 6552")).await), vec![landline]);
    assert_eq!(ids(list(app, &p, search("+852 2345")).await), vec![hk]);
    assert_eq!(ids(list(app, &p, search("20260001")).await), vec![names[1]]);
    // Chinese input finds only names that start with it, in pinyin order.
    assert_eq!(
        names_of(list(app, &p, search("张")).await),
        vec!["张安", "张敏", "张伟"]
    );
    // Pinyin input finds 章 beside 张, all in pinyin order.
    assert_eq!(
        names_of(list(app, &p, search("zhang")).await),
        vec!["张安", "章华", "张敏", "张伟"]
    );
}

fn names_of(rows: Vec<CustomerRow>) -> Vec<String> {
    rows.into_iter().map(|r| r.name).collect()
}

async fn idempotency_claims(app: &App) {
    let p = admin(app).await;
    let uid = p.user.id;
    let store = &app.store;
    let t0 = ts("2026-11-25T10:00:00.000000Z");
    let t1 = ts("2026-11-25T10:00:30.000000Z");
    let stale_before_t1 = ts("2026-11-25T09:59:30.000000Z");
    assert!(
        store
            .idempotent_claim(uid, "k1", "h", t0, ts("2000-01-01T00:00:00Z"))
            .await
            .unwrap()
            .is_none()
    );
    // A second request while the first runs sees it in progress.
    assert_eq!(
        store
            .idempotent_claim(uid, "k1", "h", t1, stale_before_t1)
            .await
            .unwrap(),
        Some(("h".to_string(), 0, String::new()))
    );
    store
        .idempotent_finish(uid, "k1", 201, "{\"id\":7}")
        .await
        .unwrap();
    assert_eq!(
        store
            .idempotent_claim(uid, "k1", "h", t1, stale_before_t1)
            .await
            .unwrap(),
        Some(("h".to_string(), 201, "{\"id\":7}".to_string()))
    );
    // A failed request gives its key back.
    assert!(
        store
            .idempotent_claim(uid, "k2", "h", t0, ts("2000-01-01T00:00:00Z"))
            .await
            .unwrap()
            .is_none()
    );
    store.idempotent_release(uid, "k2").await.unwrap();
    assert!(
        store
            .idempotent_claim(uid, "k2", "h", t0, ts("2000-01-01T00:00:00Z"))
            .await
            .unwrap()
            .is_none()
    );
    // A claim left unfinished for longer than the stale limit is taken over.
    assert!(
        store
            .idempotent_claim(
                uid,
                "k2",
                "h2",
                ts("2026-11-25T10:05:00.000000Z"),
                ts("2026-11-25T10:04:00.000000Z")
            )
            .await
            .unwrap()
            .is_none()
    );
    // Keys older than a day are forgotten: the same key then starts afresh.
    store.idempotent_finish(uid, "k2", 201, "{}").await.unwrap();
    let two_days_later = ts("2026-11-27T10:06:00.000000Z");
    assert!(
        store
            .idempotent_claim(uid, "k9", "h", two_days_later, ts("2000-01-01T00:00:00Z"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .idempotent_claim(
                uid,
                "k2",
                "other",
                two_days_later,
                ts("2000-01-01T00:00:00Z")
            )
            .await
            .unwrap()
            .is_none()
    );
    // Keys are per user.
    assert!(
        store
            .idempotent_claim(
                UserId(uid.get() + 1),
                "k1",
                "h",
                t1,
                ts("2000-01-01T00:00:00Z")
            )
            .await
            .unwrap()
            .is_none()
    );
}

/// Many writes at once share commits (group commit on SQLite); one failing write in the
/// crowd fails alone and leaves nothing behind, the others all land.
async fn concurrent_writes_fail_alone(app: &App) {
    let p = admin(app).await;
    let cat = catalogue(app, &p).await;
    let customer = app.create_customer(&p, &person("并发客户")).await.unwrap();
    // Drafts are validated up front, so the clash is only found inside the store.
    let mut drafts = Vec::new();
    for i in 0..24 {
        let serial = if i == 11 {
            "SN-CLASH-0001".to_string()
        } else {
            format!("SN-CONC-{i:04}")
        };
        drafts.push(
            app.prepare_order(&order_input(customer, cat.product, 1, &[serial.as_str()]))
                .await
                .unwrap(),
        );
    }
    drafts.push(
        app.prepare_order(&order_input(customer, cat.product, 1, &["SN-CLASH-0001"]))
            .await
            .unwrap(),
    );
    let actor = p.actor();
    let now = app.now();
    let results = futures_join_all(drafts.iter().map(|d| {
        let (store, actor, now, d) = (app.store.clone(), actor.clone(), now, d.clone());
        async move { store.create_orders(&actor, &[d], now).await }
    }))
    .await;
    let failed: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert_eq!(
        failed.len(),
        1,
        "exactly one of the two orders with the same serial fails"
    );
    assert!(matches!(
        failed[0],
        Err(StoreError::Conflict {
            code: "serial_taken",
            ..
        })
    ));
    let orders = app
        .orders(
            &p,
            &OrderQuery {
                customer_id: Some(customer),
                limit: Some(200),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(orders.items.len(), 24);
    let assets = app.store.assets_of(customer).await.unwrap();
    assert_eq!(assets.len(), 24);
    let order_events = all_events(app)
        .await
        .into_iter()
        .filter(|e| e.kind == "order.create")
        .count();
    assert_eq!(
        order_events, 24,
        "the failed order left no change-log entry"
    );
}

/// Runs the futures as concurrent tasks and collects their outputs in order.
async fn futures_join_all<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn duplicates_follow_edits(app: &App) {
    let p = admin(app).await;
    let mut a = person("刘洋");
    a.phones = vec![phone("13900001111")];
    let a_id = app.create_customer(&p, &a).await.unwrap();
    let mut b = person("刘洋（网店）");
    b.phones = vec![phone("13900002222")];
    b.emails = vec![email("liu@example.cn")];
    let b_id = app.create_customer(&p, &b).await.unwrap();
    assert!(app.duplicates(&p).await.unwrap().is_empty());

    // An edit that gives B the same phone as A proposes the pair…
    b.phones = vec![phone("139 0000 1111")];
    app.update_customer(&p, b_id, &b, None).await.unwrap();
    let d = app.duplicates(&p).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].a.id, d[0].b.id, d[0].reason.as_str()),
        (a_id, b_id, "phone")
    );

    // …and an edit that takes it away withdraws it.
    b.phones = vec![phone("13900003333")];
    app.update_customer(&p, b_id, &b, None).await.unwrap();
    assert!(app.duplicates(&p).await.unwrap().is_empty());

    // A third customer with B's email, in another case, is proposed with B.
    let mut c = person("Liu Yang");
    c.emails = vec![email("LIU@example.cn")];
    let c_id = app.create_customer(&p, &c).await.unwrap();
    let d = app.duplicates(&p).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].a.id, d[0].b.id, d[0].reason.as_str()),
        (b_id, c_id, "email")
    );
}

// ---- tests: each scenario on both databases ----------------------------------------

#[tokio::test]
async fn migrations_build_the_schema_and_a_second_run_applies_nothing() {
    for kind in BOTH {
        let db = fresh(kind).await;
        migrations_are_applied_once(&db, &db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn customer_with_several_phones_keeps_one_primary() {
    for kind in BOTH {
        let db = fresh(kind).await;
        customer_round_trip(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn invalid_phone_or_email_names_the_field_and_writes_nothing() {
    for kind in BOTH {
        let db = fresh(kind).await;
        invalid_customer_writes_nothing(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn customers_are_found_by_name_pinyin_phone_email_or_serial_and_filtered_and_sorted() {
    for kind in BOTH {
        let db = fresh(kind).await;
        customer_search(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn paging_customers_walks_every_row_once_and_a_garbage_cursor_is_refused() {
    for kind in BOTH {
        let db = fresh(kind).await;
        customer_paging(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn catalogue_keeps_policy_category_and_product_and_refuses_a_taken_sku() {
    for kind in BOTH {
        let db = fresh(kind).await;
        catalogue_scenario(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_order_with_a_serial_creates_an_asset_in_warranty_and_a_taken_serial_is_refused() {
    for kind in BOTH {
        let db = fresh(kind).await;
        order_creates_asset(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_misuse_void_event_voids_the_warranty() {
    for kind in BOTH {
        let db = fresh(kind).await;
        void_event_voids_warranty(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn two_repairs_turn_the_next_fault_into_an_exchange() {
    for kind in BOTH {
        let db = fresh(kind).await;
        repairs_reach_the_limit(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn customers_sharing_a_phone_are_proposed_and_merging_keeps_everything_of_both() {
    for kind in BOTH {
        let db = fresh(kind).await;
        duplicates_and_merge(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn every_write_appends_to_the_change_log_in_order() {
    for kind in BOTH {
        let db = fresh(kind).await;
        change_log_in_order(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_right_password_opens_a_session_and_five_wrong_ones_lock_the_account() {
    for kind in BOTH {
        let db = fresh(kind).await;
        login_and_throttling(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_read_token_resolves_with_read_scope_and_is_stored_only_hashed() {
    for kind in BOTH {
        let db = fresh(kind).await;
        api_token_is_stored_hashed(&db, &db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn products_sort_by_price_and_orders_by_total_as_numbers() {
    for kind in BOTH {
        let db = fresh(kind).await;
        amounts_sort_numerically(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn partial_phones_all_digit_serials_and_chinese_names_are_found() {
    for kind in BOTH {
        let db = fresh(kind).await;
        partial_phones_digit_serials_and_chinese_names(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_idempotency_key_is_claimed_once_finished_released_or_taken_over_when_stale() {
    for kind in BOTH {
        let db = fresh(kind).await;
        idempotency_claims(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_writes_share_commits_and_a_failing_one_fails_alone() {
    for kind in BOTH {
        let db = fresh(kind).await;
        concurrent_writes_fail_alone(&db.app()).await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn duplicate_proposals_follow_edits_of_phones_and_emails() {
    for kind in BOTH {
        let db = fresh(kind).await;
        duplicates_follow_edits(&db.app()).await;
        db.cleanup().await;
    }
}

/// An instant written as in the stored rows.
fn ts(s: &str) -> jiff::Timestamp {
    s.parse().expect("a test instant")
}
