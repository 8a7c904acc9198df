//! The REST API and the staff pages end to end: a real server on port 0 over a fresh
//! database, driven over HTTP as a client would. Every scenario runs on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aftercare_app::Actor;
use aftercare_domain::lang::Lang;
use aftercare_testkit::{TestApp, spawn_app};
use jiff::ToSpan;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

// ---- helpers ---------------------------------------------------------------------------

/// Declares a test that runs `scenario` on each database kind, each on a fresh database that
/// is removed afterwards even when the scenario fails.
macro_rules! on_both_databases {
    ($name:ident => $scenario:ident) => {
        #[tokio::test]
        async fn $name() {
            for kind in aftercare_testkit::BOTH {
                eprintln!("-- {} on {kind:?}", stringify!($scenario));
                let app = Arc::new(spawn_app(kind).await);
                let shared = Arc::clone(&app);
                let outcome = tokio::spawn(async move { $scenario(&shared).await }).await;
                match Arc::try_unwrap(app) {
                    Ok(app) => app.cleanup().await,
                    Err(_) => panic!("the test app is still shared after the scenario"),
                }
                if let Err(e) = outcome {
                    if e.is_panic() {
                        std::panic::resume_unwind(e.into_panic());
                    }
                    panic!("{} on {kind:?} did not finish: {e}", stringify!($scenario));
                }
            }
        }
    };
}

/// What came back from the server.
struct Reply {
    status: u16,
    headers: HeaderMap,
    text: String,
    /// The body as JSON, `Null` when it is not JSON.
    json: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The API's error code.
    fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }

    fn id(&self) -> i64 {
        self.json["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {} {}", self.status, self.text))
    }

    fn items(&self) -> &Vec<Value> {
        self.json["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items in {} {}", self.status, self.text))
    }

    /// Asserts the status, showing the body when it differs.
    fn expect(self, status: u16) -> Self {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        self
    }
}

async fn send(rb: RequestBuilder) -> Reply {
    let r = rb.send().await.expect("the request reaches the server");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("a readable body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

fn url(app: &TestApp, path: &str) -> String {
    format!("{}{path}", app.base)
}

/// An API token of the admin user with these scopes.
async fn token(app: &TestApp, scopes: &[&str]) -> String {
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    app.app
        .create_token(&Actor::system("test"), &app.admin_email, "t", &scopes)
        .await
        .expect("a token for the admin")
        .token
}

/// A request with the bearer token.
fn api(app: &TestApp, method: Method, path: &str, tok: &str) -> RequestBuilder {
    Client::new()
        .request(method, url(app, path))
        .header("Authorization", format!("Bearer {tok}"))
}

async fn get_json(app: &TestApp, tok: &str, path: &str) -> Reply {
    send(api(app, Method::GET, path, tok)).await
}

async fn post_json(app: &TestApp, tok: &str, path: &str, body: &Value) -> Reply {
    send(api(app, Method::POST, path, tok).json(body)).await
}

async fn put_json(app: &TestApp, tok: &str, path: &str, body: &Value) -> Reply {
    send(api(app, Method::PUT, path, tok).json(body)).await
}

/// How many change events the database holds: unchanged means nothing was written.
async fn events_count(app: &TestApp) -> usize {
    app.app.store.events(0, 10_000).await.unwrap().len()
}

/// The ids of every customer listed.
async fn customer_ids(app: &TestApp, tok: &str) -> Vec<i64> {
    get_json(app, tok, "/api/v1/customers?limit=200")
        .await
        .expect(200)
        .items()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

fn person(name: &str, phone: &str) -> Value {
    json!({"name": name, "phones": [{"number": phone}]})
}

async fn create_customer(app: &TestApp, tok: &str, body: &Value) -> i64 {
    post_json(app, tok, "/api/v1/customers", body)
        .await
        .expect(201)
        .id()
}

/// A 三包 policy (7-day return, 15-day exchange, 12-month repair, 2 repairs), a category under
/// it and a serial-numbered product in it; returns the product's id.
async fn seed_product(app: &TestApp, tok: &str) -> i64 {
    let policy = post_json(
        app,
        tok,
        "/api/v1/policies",
        &json!({"name": "家电三包", "return_days": 7, "exchange_days": 15,
                "repair_months": 12, "repair_limit": 2}),
    )
    .await
    .expect(201)
    .id();
    let category = post_json(
        app,
        tok,
        "/api/v1/categories",
        &json!({"name": "空调", "policy_id": policy}),
    )
    .await
    .expect(201)
    .id();
    post_json(
        app,
        tok,
        "/api/v1/products",
        &json!({"sku": "KFR-35GW", "name": "变频空调 1.5 匹", "category_id": category,
                "price": "3999.00", "serialized": true}),
    )
    .await
    .expect(201)
    .id()
}

fn order(customer: i64, product: i64, serial: &str, on: &str) -> Value {
    json!({"customer_id": customer, "channel": "store", "ordered_on": on,
           "items": [{"product_id": product, "quantity": 1, "serials": [serial]}]})
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// The CSRF token of a page's form.
fn scrape_csrf(html: &str) -> String {
    let start = html
        .find(r#"name="_csrf" value=""#)
        .expect("the page has a CSRF field")
        + r#"name="_csrf" value=""#.len();
    let len = html[start..].find('"').unwrap();
    html[start..start + len].to_string()
}

/// A browser: keeps cookies, does not follow redirects.
fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn login(app: &TestApp, b: &Client, password: &str) -> Reply {
    send(
        b.post(url(app, "/login"))
            .form(&[("email", app.admin_email.as_str()), ("password", password)]),
    )
    .await
}

// ---- scenarios -------------------------------------------------------------------------

async fn dates_and_money_are_bounded(app: &TestApp) {
    let tok = token(app, &["write", "admin"]).await;
    let product = seed_product(app, &tok).await;
    let cid = create_customer(app, &tok, &json!({"name": "周敏"})).await;
    let before = events_count(app).await;
    let field = |r: &Reply| {
        (
            r.json["fields"][0]["field"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            r.json["fields"][0]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        )
    };
    // A year-0 or year-9999 order is a mistake, not history (one would move every
    // customer's value model).
    for on in ["0000-01-01", "1989-12-31", "9999-12-31"] {
        let r = post_json(
            app,
            &tok,
            "/api/v1/orders",
            &order(cid, product, "SN-DATE-0001", on),
        )
        .await
        .expect(422);
        assert_eq!(
            field(&r),
            ("ordered_on".into(), "date_out_of_range".into()),
            "{on}"
        );
    }
    // Commas group thousands and nothing else; a discount cannot exceed what it discounts.
    let mut o = order(cid, product, "SN-DATE-0002", "2026-11-20");
    o["items"][0]["unit_price"] = json!("3,2,9");
    let r = post_json(app, &tok, "/api/v1/orders", &o).await.expect(422);
    assert_eq!(
        field(&r),
        ("items[0].unit_price".into(), "amount_invalid".into())
    );
    let mut o = order(cid, product, "SN-DATE-0003", "2026-11-20");
    o["discount"] = json!("5000.00");
    let r = post_json(app, &tok, "/api/v1/orders", &o).await.expect(422);
    assert_eq!(
        field(&r),
        ("discount".into(), "discount_exceeds_amount".into())
    );
    let mut o = order(cid, product, "SN-DATE-0004", "2026-11-20");
    o["items"][0]["discount"] = json!("4000.00");
    let r = post_json(app, &tok, "/api/v1/orders", &o).await.expect(422);
    assert_eq!(
        field(&r),
        ("items[0].discount".into(), "discount_exceeds_amount".into())
    );
    assert_eq!(events_count(app).await, before, "refused orders wrote");
    // Far dates on the reports are refused, not a 500.
    for path in [
        "/api/v1/reports/complaints?to=9999-12-31",
        "/api/v1/surveys/scores?to=9999-12-31",
        "/api/v1/voc/dashboard?to=9999-12-31",
        "/api/v1/reports/complaints?from=0001-01-01",
    ] {
        let r = get_json(app, &tok, path).await.expect(422);
        assert_eq!(field(&r).1, "date_out_of_range", "{path}: {}", r.text);
    }
    // A sound order still goes through.
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(cid, product, "SN-DATE-0005", "2026-11-20"),
    )
    .await
    .expect(201);
}

async fn hostile_text_is_refused_alike_and_every_answer_is_hardened(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let before = events_count(app).await;

    // A NUL (PostgreSQL cannot store one) or another control character is refused before
    // any work, naming the field, on both databases alike.
    let r = post_json(
        app,
        &tok,
        "/api/v1/customers",
        &json!({"name": "王\u{0}芳"}),
    )
    .await
    .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "name", "{}", r.text);
    assert_eq!(r.json["fields"][0]["code"], "control_character");
    let r = post_json(
        app,
        &tok,
        "/api/v1/customers",
        &json!({"name": "王芳", "phones": [{"number": "138\u{1b}00138000"}]}),
    )
    .await
    .expect(422);
    assert_eq!(
        r.json["fields"][0]["field"], "phones[0].number",
        "{}",
        r.text
    );
    let r = get_json(app, &tok, "/api/v1/customers?q=%E7%8E%8B%00")
        .await
        .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "q", "{}", r.text);
    let r = get_json(app, &tok, "/api/v1/search?q=%00")
        .await
        .expect(422);
    assert_eq!(r.json["fields"][0]["code"], "control_character");
    // A name made only of zero-width characters is no name.
    let r = post_json(
        app,
        &tok,
        "/api/v1/customers",
        &json!({"name": "\u{200B}\u{FEFF}"}),
    )
    .await
    .expect(422);
    assert_eq!(r.json["fields"][0]["code"], "required", "{}", r.text);
    // A file with a NUL is refused with its place in the file.
    let r = send(
        api(app, Method::POST, "/api/v1/import/customers", &tok)
            .header("Content-Type", "text/csv")
            .body("name,phone\n王芳,13800138000\n张\u{0}伟,13900139000\n"),
    )
    .await
    .expect(422);
    assert!(r.text.contains("file_control_character"), "{}", r.text);
    // A quote opened and never closed would swallow the rest of the file into one field.
    let r = send(
        api(app, Method::POST, "/api/v1/import/customers", &tok)
            .header("Content-Type", "text/csv")
            .body("name,phone\n王芳,13800138000\n\"张伟,13900139000\n李四,13700137000\n"),
    )
    .await
    .expect(422);
    assert!(r.text.contains("file_unterminated_quote"), "{}", r.text);
    // Lists are counted before any entry is looked at: 100,000 tags or 30,000 emails are
    // refused at once, naming the list.
    let tags: Vec<String> = (0..100_000).map(|i| format!("t{i}")).collect();
    let r = post_json(
        app,
        &tok,
        "/api/v1/customers",
        &json!({"name": "王芳", "tags": tags}),
    )
    .await
    .expect(422);
    assert_eq!(
        (&r.json["fields"][0]["field"], &r.json["fields"][0]["code"]),
        (&json!("tags"), &json!("too_many"))
    );
    let emails: Vec<Value> = (0..30_000)
        .map(|i| json!({ "address": format!("x{i}@example.cn") }))
        .collect();
    let r = post_json(
        app,
        &tok,
        "/api/v1/customers",
        &json!({"name": "王芳", "emails": emails}),
    )
    .await
    .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "emails", "{}", r.text);
    assert_eq!(events_count(app).await, before, "refused input wrote");

    // Forms and sign-in pages drop control characters instead of failing.
    let b = browser();
    let r = send(b.post(url(app, "/login")).form(&[
        ("email", "nobody\u{0}@example.cn"),
        ("password", "wrong\u{0}"),
    ]))
    .await;
    assert!(r.status < 500, "{} {}", r.status, r.text);
    let r = send(b.post(url(app, "/portal/login")).form(&[
        ("email", "nobody\u{0}@example.cn"),
        ("password", "wrong\u{0}"),
    ]))
    .await;
    assert!(r.status < 500, "{} {}", r.status, r.text);

    // Mail keeps its text, less the NUL.
    let raw = "From: qian.qi@example.cn\r\nTo: service@example.cn\r\n\
               Subject: fridge\r\nMessage-ID: <nul-1@example.cn>\r\n\
               Content-Type: text/plain; charset=utf-8\r\n\r\n冰箱不制冷\u{0}，请派人。\r\n";
    let r = send(
        api(app, Method::POST, "/api/v1/mail/inbound", &tok)
            .header("Content-Type", "message/rfc822")
            .body(raw),
    )
    .await
    .expect(200);
    let id = r.json["request_id"].as_i64().unwrap();
    let d = get_json(app, &tok, &format!("/api/v1/requests/{id}"))
        .await
        .expect(200);
    assert!(
        d.text.contains("冰箱不制冷，请派人。"),
        "the mail's text, without its NUL: {}",
        d.text
    );

    // Exported cells never start a formula a spreadsheet would run.
    create_customer(
        app,
        &tok,
        &json!({"name": "=HYPERLINK(\"http://evil.example\",\"点我\")", "phones": [{"number": "+86 137 0013 7009"}]}),
    )
    .await;
    let r = send(api(app, Method::GET, "/api/v1/export/customers.csv", &tok))
        .await
        .expect(200);
    assert!(r.text.contains("\"'=HYPERLINK("), "{}", r.text);
    assert!(!r.text.contains(",=HYPERLINK") && !r.text.contains("\"=HYPERLINK"));

    // Every answer says it may not be framed, sniffed, cached or leak its address, and
    // where its content may come from.
    for (path, authed) in [
        ("/login", false),
        ("/portal/login", false),
        ("/healthz", false),
        ("/api/v1/customers", true),
        ("/api/v1/nope", true),
    ] {
        let rb = if authed {
            api(app, Method::GET, path, &tok)
        } else {
            Client::new().get(url(app, path))
        };
        let r = send(rb).await;
        assert_eq!(r.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("referrer-policy"), Some("same-origin"), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
        let csp = r.header("content-security-policy").unwrap_or("");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
            "{path}: {csp}"
        );
    }
    // A page of nothing is refused, not read as a page of one.
    let r = get_json(app, &tok, "/api/v1/customers?limit=0")
        .await
        .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "limit", "{}", r.text);
    // A malformed id in the path answers in the API's error shape too, not plain text.
    let r = get_json(app, &tok, "/api/v1/customers/abc")
        .await
        .expect(400);
    assert_eq!(r.code(), "invalid_path", "{}", r.text);
    assert!(!r.text.contains("Cannot parse"), "{}", r.text);
    let r = send(
        api(app, Method::GET, "/api/v1/requests/999999", &tok).header("Accept-Language", "zh-CN"),
    )
    .await
    .expect(404);
    assert_eq!(r.json["message"], "找不到该服务请求。", "{}", r.text);
    // Pages too: a malformed or unknown number answers a page in the user's language.
    let b = browser();
    login(app, &b, &app.admin_password).await;
    for (path, says) in [
        ("/requests/abc", "没有这个页面"),
        ("/customers/12x", "没有这个页面"),
        ("/requests/999999", "找不到该服务请求。"),
        ("/customers/999999", "找不到该客户。"),
    ] {
        let page = send(b.get(url(app, path)).header("Accept-Language", "zh-CN"))
            .await
            .expect(404);
        assert!(page.text.contains(says), "{path}: {}", page.text);
        assert!(
            !page.text.contains("Cannot parse") && !page.text.contains("request:"),
            "{path}: {}",
            page.text
        );
    }
    let css = send(Client::new().get(url(app, "/static/app.css")))
        .await
        .expect(200);
    assert_eq!(css.header("cache-control"), Some("public, max-age=3600"));
}

async fn health_openapi_and_docs(app: &TestApp) {
    let r = send(Client::new().get(url(app, "/healthz")))
        .await
        .expect(200);
    assert_eq!(r.text, "ok");

    let spec = send(Client::new().get(url(app, "/api/v1/openapi.json")))
        .await
        .expect(200)
        .json;
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        spec["openapi"]
    );
    let paths = spec["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/customers",
        "/api/v1/orders",
        "/api/v1/assets/{id}/warranty",
        "/api/v1/import/{kind}",
        "/api/v1/export/{file}",
    ] {
        assert!(paths.contains_key(p), "the document lacks {p}");
    }
    let scheme = &spec["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");

    let docs = send(Client::new().get(url(app, "/api/docs/")))
        .await
        .expect(200);
    assert!(
        docs.header("content-type")
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        docs.header("content-type")
    );
    assert!(docs.text.to_lowercase().contains("swagger"));
}

async fn callers_need_a_bearer_token_with_the_right_scope(app: &TestApp) {
    let read = token(app, &["read"]).await;
    let write = token(app, &["write"]).await;
    let before = events_count(app).await;

    let r = send(Client::new().get(url(app, "/api/v1/customers")))
        .await
        .expect(401);
    assert_eq!(r.code(), "unauthenticated");
    assert!(!r.json["message"].as_str().unwrap().is_empty());
    assert_eq!(r.json["fields"], json!([]));

    // An unknown token, and a real token not sent as a bearer token.
    let r = get_json(app, "ac_not_a_real_token", "/api/v1/customers")
        .await
        .expect(401);
    assert_eq!(r.code(), "unauthenticated");
    let r = send(
        Client::new()
            .get(url(app, "/api/v1/customers"))
            .header("Authorization", format!("Token {read}")),
    )
    .await
    .expect(401);
    assert_eq!(r.code(), "unauthenticated");

    // Read may read, not write, and not see the admin logs.
    let r = get_json(app, &read, "/api/v1/customers").await.expect(200);
    assert!(r.items().is_empty());
    assert!(r.json["next_cursor"].is_null());
    let r = post_json(
        app,
        &read,
        "/api/v1/customers",
        &person("张三", "13800138000"),
    )
    .await
    .expect(403);
    assert_eq!(r.code(), "forbidden");
    assert_eq!(r.json["fields"], json!([]));
    get_json(app, &read, "/api/v1/audit").await.expect(403);
    let me = get_json(app, &read, "/api/v1/me").await.expect(200);
    assert_eq!(me.json["email"], app.admin_email.as_str());
    assert_eq!(events_count(app).await, before, "a refused call wrote");

    create_customer(app, &write, &person("张三", "13800138000")).await;
    assert_eq!(customer_ids(app, &read).await.len(), 1);
    get_json(app, &write, "/api/v1/events?after=0")
        .await
        .expect(403);
}

async fn customers_are_created_read_and_updated_with_versions(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let body = json!({
        "kind": "person",
        "name": "王小明",
        "company": "明辉贸易",
        "title": "经理",
        "birthday": "1985-06-01",
        "phones": [
            {"number": "138 0013 8000", "label": "手机", "primary": true},
            {"number": "010-6552 9988", "label": "办公"}
        ],
        "emails": [{"address": "wang.xm@example.cn"}],
        "addresses": [{"province": "北京市", "city": "北京市", "district": "朝阳区",
                       "street": "建国路 88 号", "postcode": "100022", "primary": true}],
        "family": [{"name": "李娜", "relation": "配偶", "birthday": "1987-03-12"}],
        "important_dates": [{"label": "结婚纪念日", "date": "2012-10-01"}],
        "consent": ["sms", "wechat"],
        "tags": ["VIP", "空调客户"],
        "source": "store_visit",
        "notes": "喜欢上午联系"
    });
    let r = post_json(app, &tok, "/api/v1/customers", &body)
        .await
        .expect(201);
    let id = r.id();

    let c = get_json(app, &tok, &format!("/api/v1/customers/{id}"))
        .await
        .expect(200)
        .json;
    assert_eq!(c["id"], id);
    assert_eq!(c["name"], "王小明");
    assert_eq!(c["kind"], "person");
    assert_eq!(c["company"], "明辉贸易");
    assert_eq!(c["birthday"], "1985-06-01");
    let phones = c["phones"].as_array().unwrap();
    assert_eq!(phones.len(), 2);
    assert_eq!(phones[0]["number"], "+8613800138000");
    assert_eq!(phones[0]["primary"], true);
    assert_eq!(phones[0]["label"], "手机");
    assert_eq!(phones[1]["primary"], false);
    assert_eq!(c["emails"][0]["address"], "wang.xm@example.cn");
    assert_eq!(c["emails"][0]["primary"], true);
    assert_eq!(c["addresses"][0]["district"], "朝阳区");
    assert_eq!(c["addresses"][0]["postcode"], "100022");
    assert_eq!(c["family"][0]["relation"], "配偶");
    assert_eq!(c["family"][0]["birthday"], "1987-03-12");
    assert_eq!(c["important_dates"][0]["date"], "2012-10-01");
    let consent: HashSet<&str> = c["consent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(consent, HashSet::from(["sms", "wechat"]));
    let tags: HashSet<&str> = c["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(tags, HashSet::from(["VIP", "空调客户"]));
    assert_eq!(c["source"], "store_visit");
    assert_eq!(c["version"], 1);

    let mut changed = body.clone();
    changed["name"] = json!("王晓明");
    let r = put_json(
        app,
        &tok,
        &format!("/api/v1/customers/{id}?version=1"),
        &changed,
    )
    .await
    .expect(200);
    assert_eq!(r.json["version"], 2);
    assert_eq!(r.json["name"], "王晓明");

    // Someone who read version 1 cannot overwrite version 2.
    let before = events_count(app).await;
    let mut stale = body.clone();
    stale["name"] = json!("王大明");
    let r = put_json(
        app,
        &tok,
        &format!("/api/v1/customers/{id}?version=1"),
        &stale,
    )
    .await
    .expect(409);
    assert_eq!(r.code(), "stale_version");
    assert_eq!(events_count(app).await, before);
    let c = get_json(app, &tok, &format!("/api/v1/customers/{id}"))
        .await
        .expect(200)
        .json;
    assert_eq!(c["name"], "王晓明");
    assert_eq!(c["version"], 2);

    let r = get_json(app, &tok, "/api/v1/customers/999999")
        .await
        .expect(404);
    assert_eq!(r.code(), "not_found");
    let r = put_json(app, &tok, "/api/v1/customers/999999?version=1", &changed)
        .await
        .expect(404);
    assert_eq!(r.code(), "not_found");
}

async fn bad_input_is_refused_and_changes_nothing(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let before = events_count(app).await;
    let post = |body: Vec<u8>, content_type: Option<&str>, lang: &str| {
        let mut rb = api(app, Method::POST, "/api/v1/customers", &tok)
            .header("Accept-Language", lang)
            .body(body);
        if let Some(ct) = content_type {
            rb = rb.header("Content-Type", ct);
        }
        send(rb)
    };
    let json_ct = Some("application/json");

    let r = post(br#"{"name": "x","#.to_vec(), json_ct, "en").await;
    assert_eq!((r.status, r.code()), (400, "malformed_json"), "{}", r.text);

    let r = post(br#"{"name": 5}"#.to_vec(), json_ct, "en").await;
    assert_eq!((r.status, r.code()), (422, "invalid_body"), "{}", r.text);

    let r = post(br#"{"name": "x", "nickname": "y"}"#.to_vec(), json_ct, "en").await;
    assert_eq!((r.status, r.code()), (422, "invalid_body"), "{}", r.text);
    assert!(r.json["message"].as_str().unwrap().contains("nickname"));

    let r = post(br#"{"name": "x"}"#.to_vec(), None, "en").await;
    assert_eq!(r.status, 415, "{}", r.text);
    assert_eq!(r.json["fields"], json!([]));

    let huge = serde_json::to_vec(&json!({"name": "a".repeat(1024 * 1024 + 100)})).unwrap();
    let r = post(huge, json_ct, "en").await;
    assert_eq!(
        (r.status, r.code()),
        (413, "payload_too_large"),
        "{}",
        r.text
    );

    let bad_phone = serde_json::to_vec(&person("李四", "12345")).unwrap();
    for lang in ["zh-CN", "en"] {
        let r = post(bad_phone.clone(), json_ct, lang).await;
        assert_eq!((r.status, r.code()), (422, "invalid_input"), "{}", r.text);
        let f = &r.json["fields"][0];
        assert_eq!(f["field"], "phones[0].number");
        assert_eq!(f["code"], "phone_invalid");
        let messages = [
            r.json["message"].as_str().unwrap(),
            f["message"].as_str().unwrap(),
        ];
        for m in messages {
            assert!(!m.is_empty());
            if lang == "en" {
                assert!(m.is_ascii() && !has_cjk(m), "not English: {m}");
            } else {
                assert!(has_cjk(m), "not Chinese: {m}");
            }
        }
    }

    // Several errors come back together, each with its path.
    let r = post(
        serde_json::to_vec(&json!({"name": " ", "emails": [{"address": "nope"}],
                                   "birthday": "1990-13-01"}))
        .unwrap(),
        json_ct,
        "en",
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let fields: HashSet<&str> = r.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.is_superset(&HashSet::from(["name", "emails[0].address", "birthday"])),
        "{fields:?}"
    );

    assert_eq!(events_count(app).await, before, "bad input was written");
    assert!(customer_ids(app, &tok).await.is_empty());
}

async fn a_retried_creation_with_the_same_idempotency_key_creates_once(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let body = person("赵六", "13900139000");
    let create = |key: &'static str, body: Value| {
        send(
            api(app, Method::POST, "/api/v1/customers", &tok)
                .header("Idempotency-Key", key)
                .json(&body),
        )
    };

    let first = create("retry-1", body.clone()).await.expect(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let second = create("retry-1", body.clone()).await.expect(201);
    assert_eq!(second.id(), first.id());
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(customer_ids(app, &tok).await, vec![first.id()]);
    // The same input spelled another way (keys in another order, other spacing) is the
    // same request: replayed, not refused as another one.
    let respelled = format!(
        "{{{}}}",
        body.as_object()
            .unwrap()
            .iter()
            .rev()
            .map(|(k, v)| format!("\n  {}  :  {v}", Value::String(k.clone())))
            .collect::<Vec<_>>()
            .join(",")
    );
    let third = send(
        api(app, Method::POST, "/api/v1/customers", &tok)
            .header("Idempotency-Key", "retry-1")
            .header("content-type", "application/json")
            .body(respelled),
    )
    .await
    .expect(201);
    assert_eq!(third.id(), first.id());
    assert_eq!(third.header("idempotent-replayed"), Some("true"));

    let before = events_count(app).await;
    let r = create("retry-1", person("赵七", "13900139001"))
        .await
        .expect(409);
    assert_eq!(r.code(), "idempotency_key_reused");
    assert_eq!(events_count(app).await, before);
    assert_eq!(customer_ids(app, &tok).await, vec![first.id()]);

    // Another key is another creation.
    let fourth = create("retry-2", body).await.expect(201);
    assert_ne!(fourth.id(), first.id());
    assert_eq!(customer_ids(app, &tok).await.len(), 2);
}

async fn an_order_makes_an_asset_with_its_warranty(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let product = seed_product(app, &tok).await;
    let p = get_json(app, &tok, &format!("/api/v1/products/{product}"))
        .await
        .expect(200)
        .json;
    assert_eq!(p["price"], 399_900);
    assert_eq!(p["serialized"], true);
    assert!(p["policy_id"].is_i64(), "the category's policy applies");

    let customer = create_customer(app, &tok, &person("孙丽", "13700137000")).await;
    let today = app.app.clock.today();
    let order_id = post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(customer, product, "SN2024A0001", &today.to_string()),
    )
    .await
    .expect(201)
    .id();
    let o = get_json(app, &tok, &format!("/api/v1/orders/{order_id}"))
        .await
        .expect(200)
        .json;
    assert_eq!(o["customer_id"], customer);
    assert_eq!(o["total"], 399_900);
    assert_eq!(o["items"][0]["serials"], json!(["SN2024A0001"]));

    let v = get_json(app, &tok, &format!("/api/v1/customers/{customer}/360"))
        .await
        .expect(200)
        .json;
    assert_eq!(v["customer"]["id"], customer);
    let assets = v["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0]["serial"], "SN2024A0001");
    assert_eq!(assets[0]["order_id"], order_id);
    assert_eq!(assets[0]["warranty"]["coverage"], "in_warranty");
    let asset = assets[0]["id"].as_i64().unwrap();
    assert_eq!(v["orders"].as_array().unwrap().len(), 1);
    assert_eq!(v["orders"][0]["id"], order_id);
    let timeline = v["timeline"]["items"].as_array().unwrap();
    assert!(!timeline.is_empty());
    assert_eq!(timeline[0]["kind"], "order", "newest first: {timeline:?}");

    // On day 8 the 7-day return is over; the 15-day exchange still applies.
    let day8 = today.checked_add(8.days()).unwrap();
    let w = get_json(
        app,
        &tok,
        &format!("/api/v1/assets/{asset}/warranty?on={day8}"),
    )
    .await
    .expect(200)
    .json;
    assert_eq!(w["on"], day8.to_string());
    assert_eq!(w["return"]["applies"], false);
    assert_eq!(w["return"]["reason"]["code"], "window_ended");
    assert_eq!(w["exchange"]["applies"], true);
    assert_eq!(w["repair"]["applies"], true);
    assert_eq!(w["coverage"], "in_warranty");
    let r = get_json(
        app,
        &tok,
        &format!("/api/v1/assets/{asset}/warranty?on=someday"),
    )
    .await
    .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "on");
    get_json(app, &tok, "/api/v1/assets/999999/warranty")
        .await
        .expect(404);

    // A serial belongs to one item.
    let before = events_count(app).await;
    let other = create_customer(app, &tok, &person("周强", "13700137001")).await;
    let before_order = events_count(app).await;
    assert!(before_order > before);
    let r = post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(other, product, "sn2024a0001", &today.to_string()),
    )
    .await
    .expect(422);
    assert_eq!(r.code(), "invalid_input");
    assert!(
        r.json["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "serial_taken" && f["field"] == "items[0].serials[0]"),
        "{}",
        r.text
    );
    assert_eq!(events_count(app).await, before_order);
    let orders = get_json(app, &tok, "/api/v1/orders").await.expect(200);
    assert_eq!(orders.items().len(), 1);
}

async fn customers_are_found_by_name_phone_and_serial_and_paged(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let zsf = create_customer(app, &tok, &person("张三丰", "13800138001")).await;
    let zwj = create_customer(app, &tok, &person("张无忌", "13800138002")).await;
    let lxh = create_customer(app, &tok, &person("李寻欢", "13800138003")).await;
    let ann = create_customer(app, &tok, &person("Ann Lee", "13800138004")).await;
    let product = seed_product(app, &tok).await;
    let today = app.app.clock.today().to_string();
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(lxh, product, "SN7A0001", &today),
    )
    .await
    .expect(201);

    let found = |q: &'static str| {
        let tok = tok.clone();
        async move {
            let r = send(api(app, Method::GET, "/api/v1/customers", &tok).query(&[("q", q)]))
                .await
                .expect(200);
            r.items()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("张三").await, vec![zsf]);
    let mut zhang = found("张").await;
    zhang.sort();
    assert_eq!(zhang, vec![zsf, zwj]);
    assert_eq!(found("zhang san").await, vec![zsf], "pinyin");
    assert_eq!(found("ann").await, vec![ann]);
    assert_eq!(found("+86 138-0013-8003").await, vec![lxh]);
    assert_eq!(found("138 0013 8002").await, vec![zwj]);
    assert_eq!(found("sn7a0001").await, vec![lxh]);
    assert_eq!(found("SN7A0001").await, vec![lxh]);
    assert!(found("王").await.is_empty());

    // One at a time to the end, with nothing seen twice.
    let all = customer_ids(app, &tok).await;
    assert_eq!(all.len(), 4);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "1".to_string())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let r = send(api(app, Method::GET, "/api/v1/customers", &tok).query(&query))
            .await
            .expect(200);
        assert_eq!(r.items().len(), 1);
        seen.push(r.items()[0]["id"].as_i64().unwrap());
        match r.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(seen.len() <= all.len(), "paging does not end: {seen:?}");
    }
    assert_eq!(seen, all, "pages in the same order as one list");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());

    let r = get_json(app, &tok, "/api/v1/customers?cursor=garbage!!")
        .await
        .expect(400);
    assert_eq!(r.code(), "cursor_invalid");
    let r = get_json(app, &tok, "/api/v1/customers?sort=shoe_size").await;
    assert!(r.status == 400 || r.status == 422, "{}", r.text);
}

async fn customers_are_imported_all_or_nothing_and_exported(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let good = "name,phone,email,city,tags\n\
                陈一,13700137001,chen1@example.cn,杭州,VIP\n\
                陈二,13700137002,chen2@example.cn,宁波,\n\
                陈三,13700137003,chen3@example.cn,温州,VIP;老客户\n";
    let import = |path: &'static str, body: Vec<u8>| {
        send(
            api(app, Method::POST, path, &tok)
                .header("Content-Type", "text/csv")
                .body(body),
        )
    };
    let before = events_count(app).await;

    let r = import(
        "/api/v1/import/customers?dry_run=true",
        good.as_bytes().to_vec(),
    )
    .await
    .expect(200);
    assert_eq!(r.json["dry_run"], true);
    assert_eq!(r.json["rows"], 3);
    assert_eq!(r.json["created"], 0);
    assert_eq!(r.json["errors"], json!([]));
    // Row by row, what the import would do.
    let plan = r.json["plan"].as_array().unwrap();
    let rows: Vec<i64> = plan.iter().map(|a| a["row"].as_i64().unwrap()).collect();
    assert_eq!(rows, vec![2, 3, 4]);
    assert!(plan.iter().all(|a| a["action"] == "create"));
    assert_eq!(plan[0]["summary"], "陈一 137 0013 7001");
    assert_eq!(events_count(app).await, before, "a dry run wrote");

    let bad = good.replace("13700137002", "12345");
    let r = import("/api/v1/import/customers", bad.into_bytes())
        .await
        .expect(422);
    assert_eq!(r.json["created"], 0);
    let errors = r.json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{}", r.text);
    assert_eq!(errors[0]["row"], 3);
    assert_eq!(errors[0]["column"], "phone");
    assert!(!errors[0]["message"].as_str().unwrap().is_empty());
    assert_eq!(events_count(app).await, before, "a failed import wrote");

    // What Chinese Excel saves (GBK), what Taiwan's and Hong Kong's save (Big5), and
    // UTF-8 with a byte-order mark are all read as the text they hold.
    let mut gbk = b"name,phone\n".to_vec();
    gbk.extend_from_slice(b"\xb3\xc2\xd2\xbb\xb6\xfe\xc8\xfd,13700137009\n"); // 陈一二三
    let mut big5 = b"name,phone\n".to_vec();
    big5.extend_from_slice(b"\xb3\xaf\xa4\x40\xa4\x47\xa4\x54,13700137009\n"); // 陳一二三
    let bom = "\u{feff}name,phone\n陈一二三,13700137009\n"
        .as_bytes()
        .to_vec();
    for (file, name) in [(gbk, "陈一二三"), (big5, "陳一二三"), (bom, "陈一二三")] {
        let r = import("/api/v1/import/customers?dry_run=true", file)
            .await
            .expect(200);
        let summary = r.json["plan"][0]["summary"].as_str().unwrap();
        assert!(summary.starts_with(name), "{}", r.text);
    }
    // The template of each kind: its columns and an example row, coded values by name.
    for kind in ["customers", "products", "orders", "reviews"] {
        let r = get_json(app, &tok, &format!("/api/v1/import/templates/{kind}.csv"))
            .await
            .expect(200);
        assert!(r.text.starts_with('\u{feff}'), "a BOM for Excel");
        let header = r
            .text
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert!(header.split(',').count() >= 7, "{header}");
    }
    let t = get_json(app, &tok, "/api/v1/import/templates/customers.csv")
        .await
        .expect(200)
        .text;
    assert!(t.contains("短信、邮件") && t.contains("个人"), "{t}");
    let r = import("/api/v1/import/customers?dry_run=true", t.into_bytes()).await;
    assert_eq!(r.status, 200, "the template imports as it is: {}", r.text);
    get_json(app, &tok, "/api/v1/import/templates/invoices.csv")
        .await
        .expect(404);

    // Coded columns take the value's name as people write it, in any of the languages.
    let named = "name,phone,source,consent,kind\n王网站,13700137021,网站,短信、邮件,个人\n\
                 陳網站,13700137022,網站,電郵,\nAnn Web,13700137023,Web,SMS,\n";
    let r = import(
        "/api/v1/import/customers?dry_run=true",
        named.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A value that is no code and no name is refused with the allowed ones listed.
    let r = import(
        "/api/v1/import/customers?dry_run=true",
        "name,phone,source\n李朋友,13700137024,朋友圈\n"
            .as_bytes()
            .to_vec(),
    )
    .await
    .expect(422);
    let e = &r.json["errors"][0];
    assert_eq!(e["column"], "source", "{}", r.text);
    let told = e["message"].as_str().unwrap();
    assert!(
        told.contains("网站 (web)") && told.contains("口碑 (word_of_mouth)"),
        "{told}"
    );

    // Bytes no Chinese or Unicode encoding reads are refused, in the reader's language.
    let r = import(
        "/api/v1/import/customers",
        b"name,phone\n\x81\x7f\xff,13700137009\n".to_vec(),
    )
    .await
    .expect(422);
    assert_eq!(r.code(), "import_invalid");
    assert_eq!(
        r.json["fields"][0]["code"], "file_encoding_unknown",
        "{}",
        r.text
    );
    let told = r.json["fields"][0]["message"].as_str().unwrap();
    assert!(told.contains("GBK") && has_cjk(told), "{told}");
    assert_eq!(events_count(app).await, before, "an unreadable file wrote");
    assert!(customer_ids(app, &tok).await.is_empty());

    let r = import("/api/v1/import/customers", good.as_bytes().to_vec())
        .await
        .expect(200);
    assert_eq!(r.json["dry_run"], false);
    assert_eq!(r.json["created"], 3);
    let list = get_json(app, &tok, "/api/v1/customers").await.expect(200);
    assert_eq!(list.items().len(), 3);
    let chen1 = list.items().iter().find(|c| c["name"] == "陈一").unwrap();
    assert_eq!(chen1["city"], "杭州");
    assert_eq!(chen1["primary_email"], "chen1@example.cn");
    assert_eq!(chen1["tags"], json!(["VIP"]));

    let r = send(api(app, Method::GET, "/api/v1/export/customers.csv", &tok))
        .await
        .expect(200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    for name in ["陈一", "陈二", "陈三", "137 0013 7001"] {
        assert!(r.text.contains(name), "the export lacks {name}: {}", r.text);
    }
    // The export reads back in as an import.
    let before = events_count(app).await;
    let again = import(
        "/api/v1/import/customers?dry_run=true",
        r.text.clone().into_bytes(),
    )
    .await
    .expect(200);
    assert_eq!(again.json["rows"], 3);
    assert_eq!(events_count(app).await, before);

    let xlsx = api(app, Method::GET, "/api/v1/export/customers.xlsx", &tok)
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status().as_u16(), 200);
    let bytes = xlsx.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"PK"),
        "not a zip: {:?}",
        &bytes[..bytes.len().min(8)]
    );
    get_json(app, &tok, "/api/v1/export/customers.pdf")
        .await
        .expect(404);

    // Reading is not enough to import.
    let read = token(app, &["read"]).await;
    let r = send(
        api(app, Method::POST, "/api/v1/import/customers", &read)
            .header("Content-Type", "text/csv")
            .body(good),
    )
    .await
    .expect(403);
    assert_eq!(r.code(), "forbidden");
    // Nor is a file read for a caller who may not import it: what is not a spreadsheet is
    // refused as forbidden, not examined.
    let r = send(
        api(
            app,
            Method::POST,
            "/api/v1/import/customers?format=xlsx",
            &read,
        )
        .header(
            "Content-Type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(b"PK\x03\x04 not a spreadsheet".to_vec()),
    )
    .await
    .expect(403);
    assert_eq!(r.code(), "forbidden");
}

async fn duplicates_are_listed_and_merged_with_an_audit_trail(app: &TestApp) {
    let tok = token(app, &["admin"]).await;
    let keep = create_customer(app, &tok, &person("周杰", "13600136000")).await;
    let drop = create_customer(app, &tok, &person("周杰 先生", "136-0013-6000")).await;
    let other = create_customer(app, &tok, &person("吴敏", "13600136001")).await;

    let dups = get_json(app, &tok, "/api/v1/duplicates").await.expect(200);
    let pairs = dups.json.as_array().unwrap();
    let pair = pairs
        .iter()
        .find(|p| {
            let ids = HashSet::from([p["a"]["id"].as_i64(), p["b"]["id"].as_i64()]);
            ids == HashSet::from([Some(keep), Some(drop)])
        })
        .unwrap_or_else(|| panic!("the pair is not listed: {}", dups.text));
    assert_eq!(pair["reason"], "phone");
    assert!(
        !pairs
            .iter()
            .any(|p| p["a"]["id"] == other || p["b"]["id"] == other)
    );

    let read = token(app, &["read"]).await;
    post_json(
        app,
        &read,
        "/api/v1/merges",
        &json!({"keep": keep, "drop": drop}),
    )
    .await
    .expect(403);
    post_json(
        app,
        &tok,
        "/api/v1/merges",
        &json!({"keep": keep, "drop": keep}),
    )
    .await
    .expect(422);
    let r = send(
        api(app, Method::POST, "/api/v1/merges", &tok).json(&json!({"keep": keep, "drop": drop})),
    )
    .await
    .expect(204);
    assert!(r.text.is_empty());

    let ids = customer_ids(app, &tok).await;
    assert!(ids.contains(&keep) && !ids.contains(&drop), "{ids:?}");
    let dropped = get_json(app, &tok, &format!("/api/v1/customers/{drop}")).await;
    if dropped.status == 200 {
        assert_eq!(dropped.json["merged_into"], keep);
    } else {
        assert_eq!(dropped.status, 404, "{}", dropped.text);
    }
    let dups = get_json(app, &tok, "/api/v1/duplicates").await.expect(200);
    assert!(
        !dups
            .json
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["a"]["id"] == drop || p["b"]["id"] == drop),
        "{}",
        dups.text
    );

    let audit = get_json(
        app,
        &tok,
        &format!("/api/v1/audit?entity=customer&entity_id={keep}"),
    )
    .await
    .expect(200);
    let entries = audit.json.as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["action"] == "merge"),
        "{}",
        audit.text
    );
    assert!(entries.iter().all(|e| e["entity_id"] == keep));

    let events = get_json(app, &tok, "/api/v1/events?after=0")
        .await
        .expect(200);
    let ids: Vec<i64> = events
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.len() >= 4, "{}", events.text);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let last = ids[ids.len() - 2];
    let tail = get_json(app, &tok, &format!("/api/v1/events?after={last}"))
        .await
        .expect(200);
    assert_eq!(tail.json.as_array().unwrap().len(), 1);
}

async fn pages_need_a_session_and_a_csrf_token(app: &TestApp) {
    let b = browser();
    let r = send(b.get(url(app, "/customers"))).await;
    assert!((300..400).contains(&r.status), "{} {}", r.status, r.text);
    assert_eq!(r.header("location"), Some("/login"));
    send(b.get(url(app, "/login"))).await.expect(200);

    let r = login(app, &b, &app.admin_password).await;
    assert!((300..400).contains(&r.status), "{} {}", r.status, r.text);
    assert_eq!(r.header("location"), Some("/"));
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("aftercare_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    send(b.get(url(app, "/customers"))).await.expect(200);

    let page = send(b.get(url(app, "/customers/new"))).await.expect(200);
    let csrf = scrape_csrf(&page.text);
    assert!(!csrf.is_empty());
    let before = events_count(app).await;

    let form = |csrf: Option<&str>, phone: &str| {
        let mut f = vec![
            ("name".to_string(), "钱七".to_string()),
            ("phones[0].number".to_string(), phone.to_string()),
            ("primary_phone".to_string(), "0".to_string()),
        ];
        if let Some(c) = csrf {
            f.push(("_csrf".to_string(), c.to_string()));
        }
        f
    };
    send(
        b.post(url(app, "/customers/new"))
            .form(&form(None, "13500135000")),
    )
    .await
    .expect(403);
    send(
        b.post(url(app, "/customers/new"))
            .form(&form(Some("forged"), "13500135000")),
    )
    .await
    .expect(403);

    let r = send(
        b.post(url(app, "/customers/new"))
            .form(&form(Some(&csrf), "12345")),
    )
    .await
    .expect(422);
    let message = aftercare_web::i18n::field_message(Lang::ZhHans, "phone_invalid");
    assert!(r.text.contains(&message), "no inline error: {}", r.text);
    assert!(r.text.contains(r#"data-field="phones[0].number""#));
    assert!(r.text.contains(r#"value="钱七""#), "the input is kept");
    let r = send(
        b.post(url(app, "/customers/new"))
            .header("Accept-Language", "en")
            .form(&form(Some(&csrf), "12345")),
    )
    .await
    .expect(422);
    let message = aftercare_web::i18n::field_message(Lang::En, "phone_invalid");
    assert!(r.text.contains(&message), "no English error: {}", r.text);
    assert_eq!(events_count(app).await, before, "a refused form wrote");

    let r = send(
        b.post(url(app, "/customers/new"))
            .form(&form(Some(&csrf), "13500135000")),
    )
    .await;
    assert!((300..400).contains(&r.status), "{} {}", r.status, r.text);
    let location = r.header("location").unwrap().to_string();
    assert!(location.starts_with("/customers/"), "{location}");
    assert!(location.ends_with("?done=created"), "{location}");
    let location = location.trim_end_matches("?done=created").to_string();
    let page = send(b.get(url(app, &location))).await.expect(200);
    assert!(page.text.contains("钱七"));

    // The same phone number again, written another way: the known customer is shown
    // first and nothing is written; "create anyway" goes on.
    let before_again = events_count(app).await;
    let r = send(
        b.post(url(app, "/customers/new"))
            .form(&form(Some(&csrf), "135 0013 5000")),
    )
    .await
    .expect(200);
    assert!(r.text.contains("id=\"known\""), "{}", r.text);
    assert!(
        r.text.contains(&format!("href=\"{location}\"")),
        "{}",
        r.text
    );
    assert!(r.text.contains(r#"value="钱七""#), "the input is kept");
    assert_eq!(events_count(app).await, before_again, "nothing written");
    let mut anyway = form(Some(&csrf), "135 0013 5000");
    anyway.push(("create_anyway".into(), "1".into()));
    let r = send(b.post(url(app, "/customers/new")).form(&anyway)).await;
    assert!((300..400).contains(&r.status), "{} {}", r.status, r.text);
    assert_ne!(r.header("location").unwrap(), location, "a second customer");

    // "New request" names the customer by name, phone or serial, not by number: two
    // customers share this phone, so the agent picks one; an unknown one is refused.
    let page = send(b.get(url(app, "/requests/new"))).await.expect(200);
    assert!(page.text.contains("name=\"customer_q\""), "{}", page.text);
    let ask = |typed: &str, pick: Option<&str>| {
        let mut f = vec![
            ("_csrf".to_string(), csrf.clone()),
            ("customer_q".to_string(), typed.to_string()),
            ("service_type".to_string(), "repair".to_string()),
            ("subject".to_string(), "空调不制冷".to_string()),
        ];
        if let Some(id) = pick {
            f.push(("customer_id".to_string(), id.to_string()));
        }
        f
    };
    let r = send(
        b.post(url(app, "/requests/new"))
            .form(&ask("135-0013-5000", None)),
    )
    .await
    .expect(200);
    assert!(r.text.contains("id=\"choices\""), "{}", r.text);
    assert!(
        r.text.contains(r#"value="空调不制冷""#),
        "the subject is kept"
    );
    let first = location.trim_start_matches("/customers/");
    assert!(r.text.contains(&format!("value=\"{first}\"")), "{}", r.text);
    let r = send(
        b.post(url(app, "/requests/new"))
            .form(&ask("135-0013-5000", Some(first))),
    )
    .await;
    assert!((300..400).contains(&r.status), "{} {}", r.status, r.text);
    assert!(r.header("location").unwrap().starts_with("/requests/"));
    let r = send(
        b.post(url(app, "/requests/new"))
            .form(&ask("查无此人", None)),
    )
    .await
    .expect(422);
    assert!(r.text.contains(r#"value="查无此人""#), "{}", r.text);

    // The API accepts the session too, but writes need the CSRF header.
    let r = send(
        b.post(url(app, "/api/v1/customers"))
            .json(&person("孙八", "13500135001")),
    )
    .await
    .expect(403);
    assert_eq!(r.code(), "csrf");
    send(
        b.post(url(app, "/api/v1/customers"))
            .header("X-CSRF-Token", &csrf)
            .json(&person("孙八", "13500135001")),
    )
    .await
    .expect(201);

    // Five wrong passwords, and then even the right one is refused for a while.
    let attacker = browser();
    for _ in 0..5 {
        let r = login(app, &attacker, "wrong password").await.expect(401);
        assert!(r.header("set-cookie").is_none());
    }
    let r = login(app, &attacker, &app.admin_password).await.expect(429);
    assert!(r.header("set-cookie").is_none());
}

async fn admins_create_staff_accounts_and_tokens(app: &TestApp) {
    let admin = token(app, &["admin"]).await;
    let writer = token(app, &["write"]).await;
    let body = json!({"email": "Agent.Li@Example.cn", "name": "李客服", "password": "agent-password", "role": "agent"});
    // Only an admin token may create accounts.
    post_json(app, &writer, "/api/v1/users", &body)
        .await
        .expect(403);
    let created = post_json(app, &admin, "/api/v1/users", &body)
        .await
        .expect(201);
    assert_eq!(created.json["email"], "agent.li@example.cn");
    assert_eq!(created.json["role"], "agent");
    post_json(app, &admin, "/api/v1/users", &body)
        .await
        .expect(409);
    let bad = post_json(
        app,
        &admin,
        "/api/v1/users",
        &json!({"email": "x@example.cn", "name": "x", "password": "short", "role": "boss"}),
    )
    .await
    .expect(422);
    let fields: Vec<&str> = bad.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["role", "password"]);
    let users = get_json(app, &admin, "/api/v1/users").await.expect(200);
    assert_eq!(users.json.as_array().unwrap().len(), 2);

    // A token for the new agent acts as the agent: it may read but not read the audit log.
    let t = post_json(
        app,
        &admin,
        "/api/v1/tokens",
        &json!({"email": "agent.li@example.cn", "name": "crm", "scopes": ["read", "write"]}),
    )
    .await
    .expect(201);
    let agent_token = t.json["token"].as_str().unwrap().to_string();
    assert!(agent_token.starts_with("ac_"));
    let me = get_json(app, &agent_token, "/api/v1/me").await.expect(200);
    assert_eq!(me.json["role"], "agent");
    get_json(app, &agent_token, "/api/v1/audit")
        .await
        .expect(403);
    post_json(
        app,
        &admin,
        "/api/v1/tokens",
        &json!({"email": "nobody@example.cn", "name": "x", "scopes": ["read"]}),
    )
    .await
    .expect(404);
    // Deactivating the agent stops its token at once; reactivating brings it back.
    let agent_id = created.json["id"].as_i64().unwrap();
    let patch = |body: Value| {
        let (app_base, admin) = (app.base.clone(), admin.clone());
        async move {
            send(
                Client::new()
                    .patch(format!("{app_base}/api/v1/users/{agent_id}"))
                    .bearer_auth(admin)
                    .json(&body),
            )
            .await
        }
    };
    let r = patch(json!({"active": false})).await.expect(200);
    assert_eq!(r.json["active"], false);
    get_json(app, &agent_token, "/api/v1/me").await.expect(401);
    patch(json!({"active": true, "role": "technician"}))
        .await
        .expect(200);
    let me = get_json(app, &agent_token, "/api/v1/me").await.expect(200);
    assert_eq!(me.json["role"], "technician");
    let short = patch(json!({"password": "short"})).await.expect(422);
    assert_eq!(short.json["fields"][0]["field"], "password");
    patch(json!({"password": "a new long password"}))
        .await
        .expect(200);
    // A new password ends the tokens made under the old one (a leaked token is often why
    // a password is changed).
    get_json(app, &agent_token, "/api/v1/me").await.expect(401);

    // Revoking the token ends it; revoking an unknown one is 404.
    let token_id = t.json["id"].as_i64().unwrap();
    send(api(
        app,
        Method::DELETE,
        &format!("/api/v1/tokens/{token_id}"),
        &admin,
    ))
    .await
    .expect(204);
    get_json(app, &agent_token, "/api/v1/me").await.expect(401);
    send(api(app, Method::DELETE, "/api/v1/tokens/999999", &admin))
        .await
        .expect(404);

    // An admin cannot lock themself out.
    let me = get_json(app, &admin, "/api/v1/me").await.expect(200);
    let my_id = me.json["id"].as_i64().unwrap();
    let r = send(
        api(
            app,
            Method::PATCH,
            &format!("/api/v1/users/{my_id}"),
            &admin,
        )
        .json(&json!({"active": false})),
    )
    .await
    .expect(422);
    assert_eq!(r.json["fields"][0]["code"], "cannot_lock_yourself_out");
}

// ---- the tests -------------------------------------------------------------------------

async fn the_service_desk_over_http(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let product = seed_product(app, &tok).await;
    let customer = create_customer(
        app,
        &tok,
        &json!({"name": "陈静", "emails": [{"address": "chen.jing@example.cn"}]}),
    )
    .await;
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(
            customer,
            product,
            "SN-DESK-1",
            &app.app.clock.today().to_string(),
        ),
    )
    .await
    .expect(201);
    let asset = get_json(app, &tok, &format!("/api/v1/customers/{customer}/360"))
        .await
        .expect(200)
        .json["assets"][0]["id"]
        .as_i64()
        .unwrap();

    // Bad input: every field named, in the caller's language, nothing written.
    let before = events_count(app).await;
    let bad = send(
        api(app, Method::POST, "/api/v1/requests", &tok)
            .header("Accept-Language", "zh-CN")
            .json(&json!({"customer_id": customer, "service_type": "haircut", "subject": ""})),
    )
    .await
    .expect(422);
    let fields: Vec<&str> = bad.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["service_type", "subject"]);
    assert!(
        has_cjk(bad.json["fields"][0]["message"].as_str().unwrap()),
        "{}",
        bad.text
    );
    assert_eq!(events_count(app).await, before);

    // Open, read back by id and by number.
    let id = post_json(app, &tok, "/api/v1/requests", &json!({"customer_id": customer, "asset_id": asset, "service_type": "repair", "subject": "洗衣机漏水"}))
        .await
        .expect(201)
        .id();
    let d = get_json(app, &tok, &format!("/api/v1/requests/{id}"))
        .await
        .expect(200)
        .json;
    let number = d["request"]["number"].as_str().unwrap().to_string();
    assert!(
        number.starts_with("SR-") && number.ends_with("000001"),
        "{number}"
    );
    assert_eq!(d["request"]["charge"], "free");
    assert_eq!(d["request"]["channel"], "api");
    let by_number = get_json(app, &tok, &format!("/api/v1/requests/by-number/{number}"))
        .await
        .expect(200);
    assert_eq!(by_number.json["request"]["id"], id);

    // Nobody can take it yet (no staff profile has the skill): it waits unassigned, and
    // the state machine refuses to resolve it from new, saying so.
    let version = d["request"]["version"].as_i64().unwrap();
    let refused = send(
        api(
            app,
            Method::POST,
            &format!("/api/v1/requests/{id}/transitions"),
            &tok,
        )
        .header("Accept-Language", "en")
        .json(&json!({"status": "resolved", "version": version})),
    )
    .await
    .expect(409);
    assert_eq!(refused.code(), "transition_not_allowed");
    assert!(
        refused.json["message"]
            .as_str()
            .unwrap()
            .contains("not allowed"),
        "{}",
        refused.text
    );

    // A public reply with a photo; the file comes back byte for byte, as a download.
    use base64::Engine;
    let png = b"\x89PNG\r\n\x1a\nfake-but-typed";
    let d = post_json(app, &tok, &format!("/api/v1/requests/{id}/messages"), &json!({"kind": "reply", "body": "请拍一张漏水位置的照片。",
        "attachments": [{"filename": "漏水.png", "content_type": "image/png", "content_base64": base64::engine::general_purpose::STANDARD.encode(png)}]}))
        .await
        .expect(201)
        .json;
    assert_eq!(d["sla"]["response"], "met");
    let att = d["messages"][0]["attachments"][0]["id"].as_i64().unwrap();
    let file = api(
        app,
        Method::GET,
        &format!("/api/v1/attachments/{att}"),
        &tok,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(file.status(), 200);
    let disposition = file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename*=UTF-8''%E6%BC%8F"),
        "{disposition}"
    );
    assert_eq!(file.bytes().await.unwrap().as_ref(), png);

    // Assign to the admin, book a visit, and the iCalendar feed has it.
    let admin_id = get_json(app, &tok, "/api/v1/me").await.expect(200).json["id"]
        .as_i64()
        .unwrap();
    let version = d["request"]["version"].as_i64().unwrap();
    let d = send(
        api(app, Method::PATCH, &format!("/api/v1/requests/{id}"), &tok)
            .json(&json!({"version": version, "assignee_id": admin_id, "priority": "high"})),
    )
    .await
    .expect(200)
    .json;
    assert_eq!(
        (
            d["request"]["status"].as_str(),
            d["request"]["priority"].as_str()
        ),
        (Some("assigned"), Some("high"))
    );
    post_json(app, &tok, &format!("/api/v1/requests/{id}/visits"), &json!({"technician_id": admin_id, "starts_at": "2030-01-07T10:00", "ends_at": "2030-01-07T11:00"}))
        .await
        .expect(201);
    let clash = post_json(app, &tok, &format!("/api/v1/requests/{id}/visits"), &json!({"technician_id": admin_id, "starts_at": "2030-01-07T10:30", "ends_at": "2030-01-07T12:00"}))
        .await
        .expect(409);
    assert_eq!(clash.code(), "visit_clash");
    let ics = send(api(
        app,
        Method::GET,
        &format!("/api/v1/technicians/{admin_id}/visits.ics"),
        &tok,
    ))
    .await
    .expect(200);
    assert!(
        ics.header("content-type")
            .unwrap()
            .starts_with("text/calendar")
    );
    assert!(
        ics.text.contains("DTSTART:20300107T020000Z"),
        "{}",
        ics.text
    );

    // Queues, counts, configuration and the sweep answer.
    let q = get_json(app, &tok, "/api/v1/requests?queue=mine")
        .await
        .expect(200);
    assert_eq!(q.items().len(), 1);
    let counts = get_json(app, &tok, "/api/v1/requests/counts")
        .await
        .expect(200);
    assert!(
        counts
            .json
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["queue"] == "all" && c["count"] == 1)
    );
    let policies = get_json(app, &tok, "/api/v1/sla-policies")
        .await
        .expect(200);
    assert_eq!(policies.json.as_array().unwrap().len(), 4);
    let bad_cal = post_json(
        app,
        &tok,
        "/api/v1/calendars",
        &json!({"name": "x", "time_zone": "Asia/Nowhere", "week": [[]]}),
    )
    .await
    .expect(422);
    assert!(
        bad_cal.text.contains("time_zone") && bad_cal.text.contains("week_needs_seven_days"),
        "{}",
        bad_cal.text
    );
    // A week without a working shift would never let a target run: refused.
    let idle = post_json(
        app,
        &tok,
        "/api/v1/calendars",
        &json!({"name": "空", "time_zone": "Asia/Shanghai", "week": [[], [], [], [], [], [], []]}),
    )
    .await
    .expect(422);
    assert_eq!(
        idle.json["fields"][0]["code"], "calendar_without_hours",
        "{}",
        idle.text
    );
    post_json(app, &tok, "/api/v1/sla/sweep", &json!({}))
        .await
        .expect(200);
    put_json(
        app,
        &tok,
        &format!("/api/v1/customers/{customer}/tier"),
        &json!({"tier": "high"}),
    )
    .await
    .expect(204);
    let c = get_json(app, &tok, &format!("/api/v1/customers/{customer}"))
        .await
        .expect(200);
    assert_eq!(c.json["tier"], "high");
}

/// Signs a customer up in the portal; returns their browser (with its cookie) and the
/// CSRF token of their session.
/// The sign-up link last mailed to this address (from the outbox), as a path.
async fn mailed_link(app: &TestApp, email: &str) -> String {
    let waiting = app.app.store.outbox_due(app.app.now(), 500).await.unwrap();
    let body = &waiting
        .iter()
        .rfind(|m| m.to == email)
        .unwrap_or_else(|| panic!("no mail to {email}"))
        .body;
    let start = body
        .find("/portal/confirm?token=")
        .unwrap_or_else(|| panic!("no link in {body}"));
    body[start..].split_whitespace().next().unwrap().to_owned()
}

/// Signs up in the portal and finishes with the mailed link.
async fn portal_customer(app: &TestApp, name: &str, email: &str) -> (Client, String) {
    let b = browser();
    let r = send(b.post(url(app, "/portal/signup")).form(&[
        ("name", name),
        ("email", email),
        ("password", "correct horse battery"),
    ]))
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("id=\"signup-sent\""), "{}", r.text);
    // Nothing works before the link is opened.
    let home = send(b.get(url(app, "/portal"))).await;
    assert_ne!(home.status, 200);
    let link = mailed_link(app, email).await;
    let page = send(b.get(url(app, &link))).await.expect(200);
    assert!(page.text.contains("id=\"confirm-form\""), "{}", page.text);
    let token = link.split("token=").nth(1).unwrap();
    send(
        b.post(url(app, "/portal/confirm"))
            .form(&[("token", token)]),
    )
    .await
    .expect(303);
    let home = send(b.get(url(app, "/portal"))).await.expect(200);
    assert!(home.text.contains(name));
    let csrf = scrape_csrf(&home.text);
    (b, csrf)
}

async fn the_portal_keeps_each_customer_to_their_own(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let product = seed_product(app, &tok).await;
    let today = app.app.clock.today().to_string();
    let (alice, a_csrf) = portal_customer(app, "李娜", "li.na@example.cn").await;
    let (bob, b_csrf) = portal_customer(app, "周杰", "zhou.jie@example.cn").await;

    // Signing up again with a taken email answers as any sign-up does; the address gets a
    // mail saying it has an account, and nothing is made.
    let customers_before = app.db.count("SELECT COUNT(*) FROM customers").await;
    let again = send(
        browser()
            .post(url(app, "/portal/signup"))
            .header("Accept-Language", "zh-CN")
            .form(&[
                ("name", "李娜"),
                ("email", "LI.NA@example.cn"),
                ("password", "correct horse battery"),
            ]),
    )
    .await
    .expect(200);
    assert!(again.text.contains("id=\"signup-sent\""), "{}", again.text);
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM outbox WHERE recipient = 'LI.NA@example.cn' AND subject = '您已有售后服务账户'").await,
        1
    );
    // A customer staff know by their address signs up with it: the same answer, and the
    // link makes the account theirs rather than a second record. Used again, it is dead.
    let tok = token(app, &["write"]).await;
    let known = create_customer(
        app,
        &tok,
        &json!({"name": "钱小红", "emails": [{"address": "qian.xh@example.cn"}]}),
    )
    .await;
    let api_signup = send(
        Client::new()
            .post(url(app, "/api/v1/portal/signup"))
            .json(&json!({"name": "冒名者", "email": "qian.xh@example.cn", "password": "correct horse battery"})),
    )
    .await
    .expect(202);
    assert_eq!(api_signup.json["status"], "confirmation_sent");
    let link = mailed_link(app, "qian.xh@example.cn").await;
    let confirm_token = link.split("token=").nth(1).unwrap().to_owned();
    let confirmed = send(
        Client::new()
            .post(url(app, "/api/v1/portal/signup/confirm"))
            .json(&json!({"token": confirm_token})),
    )
    .await
    .expect(201);
    let p_tok = confirmed.json["token"].as_str().unwrap().to_owned();
    send(
        Client::new()
            .get(url(app, "/api/v1/portal/assets"))
            .bearer_auth(&p_tok),
    )
    .await
    .expect(200);
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM portal_accounts WHERE customer_id = {known}"
            ))
            .await,
        1
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM customers").await,
        customers_before + 1
    );
    let reused = send(
        Client::new()
            .post(url(app, "/api/v1/portal/signup/confirm"))
            .header("Accept-Language", "zh-CN")
            .json(&json!({"token": confirm_token})),
    )
    .await
    .expect(422);
    assert_eq!(
        reused.json["fields"][0]["code"], "signup_link_invalid",
        "{}",
        reused.text
    );
    send(browser().get(url(app, &link))).await.expect(404);

    // Registering a product starts its warranty; a serial can be registered once.
    let pid = product.to_string();
    let reg = [
        ("_csrf", a_csrf.as_str()),
        ("product_id", pid.as_str()),
        ("serial", "PORTAL-0001"),
        ("purchased_on", today.as_str()),
    ];
    assert_eq!(
        send(alice.post(url(app, "/portal/products")).form(&reg))
            .await
            .status,
        303
    );
    let home = send(alice.get(url(app, "/portal"))).await.expect(200);
    assert!(
        home.text.contains("PORTAL-0001") && home.text.contains("badge in_warranty"),
        "{}",
        home.text
    );
    let taken = [
        ("_csrf", b_csrf.as_str()),
        ("product_id", pid.as_str()),
        ("serial", "portal-0001"),
        ("purchased_on", today.as_str()),
    ];
    send(bob.post(url(app, "/portal/products")).form(&taken))
        .await
        .expect(422);
    let forged = [
        ("_csrf", "not-the-token"),
        ("product_id", pid.as_str()),
        ("serial", "PORTAL-0002"),
        ("purchased_on", today.as_str()),
    ];
    send(alice.post(url(app, "/portal/products")).form(&forged))
        .await
        .expect(403);

    // A repair request for it: free under warranty, waiting for triage.
    let asset = app
        .app
        .store
        .asset_by_serial("PORTAL-0001")
        .await
        .unwrap()
        .unwrap()
        .to_string();
    let r = send(alice.post(url(app, "/portal/requests/new")).form(&[
        ("_csrf", a_csrf.as_str()),
        ("asset_id", asset.as_str()),
        ("service_type", "repair"),
        ("subject", "洗衣机不脱水"),
        ("description", "滚筒不转"),
    ]))
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let at = r.header("location").unwrap().to_string();
    let page = send(alice.get(url(app, &at))).await.expect(200);
    assert!(
        page.text.contains("SR-") && page.text.contains("id=\"charge\""),
        "{}",
        page.text
    );
    // Someone else's request does not exist for Bob, nor can he write on it.
    send(bob.get(url(app, &at))).await.expect(404);
    let id: i64 = at.rsplit('/').next().unwrap().parse().unwrap();
    // The type the customer chose stays; what the text reads as is there for the agent.
    let staff_view = get_json(app, &tok, &format!("/api/v1/requests/{id}"))
        .await
        .expect(200)
        .json;
    assert_eq!(staff_view["request"]["service_type"], "repair");
    assert_eq!(
        staff_view["request"]["suggested_type"], "repair",
        "{staff_view}"
    );
    assert_eq!(staff_view["request"]["type_confirmed"], false);
    send(
        bob.post(url(app, &format!("/portal/requests/{id}/messages")))
            .form(&[("_csrf", b_csrf.as_str()), ("body", "hi")]),
    )
    .await
    .expect(404);
    // Bob cannot report Alice's item as his either.
    let r = send(bob.post(url(app, "/portal/requests/new")).form(&[
        ("_csrf", b_csrf.as_str()),
        ("asset_id", asset.as_str()),
        ("service_type", "repair"),
        ("subject", "x"),
    ]))
    .await
    .expect(422);
    assert!(
        r.text.contains("asset_id")
            || r.text.contains("其他客户")
            || r.text.contains("another customer"),
        "{}",
        r.text
    );

    // The desk sees it in the unassigned queue; staff pages are not the portal's.
    let q = get_json(app, &tok, "/api/v1/requests?queue=unassigned")
        .await
        .expect(200);
    assert_eq!(q.items()[0]["id"], id);
    assert_eq!(q.items()[0]["status"], "new");
    let staff = send(alice.get(url(app, "/requests"))).await;
    assert_eq!(staff.status, 303, "a portal cookie is no staff session");
    // Rating before resolution is refused with a message.
    let early = send(
        alice
            .post(url(app, &format!("/portal/requests/{id}/rate")))
            .form(&[("_csrf", a_csrf.as_str()), ("stars", "5")]),
    )
    .await
    .expect(422);
    assert!(early.text.contains("flash bad"), "{}", early.text);

    // The same through the portal API, with a customer's token.
    let signin = |email: &'static str| {
        send(
            Client::new()
                .post(url(app, "/api/v1/portal/sessions"))
                .json(&json!({"email": email, "password": "correct horse battery"})),
        )
    };
    let a_tok = signin("li.na@example.cn").await.expect(201).json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let b_tok = signin("zhou.jie@example.cn").await.expect(201).json["token"]
        .as_str()
        .unwrap()
        .to_string();
    let wrong = send(
        Client::new()
            .post(url(app, "/api/v1/portal/sessions"))
            .json(&json!({"email": "li.na@example.cn", "password": "nope nope nope"})),
    )
    .await;
    assert_eq!(wrong.status, 401);
    let mine = get_json(app, &a_tok, "/api/v1/portal/requests")
        .await
        .expect(200);
    assert_eq!(mine.json.as_array().unwrap().len(), 1);
    send(
        api(
            app,
            Method::POST,
            &format!("/api/v1/portal/requests/{id}/messages"),
            &a_tok,
        )
        .json(&json!({"body": "今天在家"})),
    )
    .await
    .expect(204);
    let r = get_json(app, &a_tok, &format!("/api/v1/portal/requests/{id}"))
        .await
        .expect(200);
    assert_eq!(r.json["messages"][0]["body"], "今天在家");
    get_json(app, &b_tok, &format!("/api/v1/portal/requests/{id}"))
        .await
        .expect(404);
    get_json(app, &tok, "/api/v1/portal/requests")
        .await
        .expect(401);
    get_json(app, &a_tok, "/api/v1/requests").await.expect(401);
    // A file staff send with a reply reaches the customer, and only them.
    use base64::Engine;
    let png = b"\x89PNG\r\n\x1a\nreceipt";
    let d = post_json(app, &tok, &format!("/api/v1/requests/{id}/messages"), &json!({"kind": "reply", "body": "维修单见附件",
        "attachments": [{"filename": "维修单.png", "content_type": "image/png", "content_base64": base64::engine::general_purpose::STANDARD.encode(png)}]}))
        .await
        .expect(201)
        .json;
    let att = d["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "reply")
        .unwrap()["attachments"][0]["id"]
        .as_i64()
        .unwrap();
    let page = send(alice.get(url(app, &at))).await.expect(200);
    assert!(
        page.text.contains(&format!("/portal/attachments/{att}")),
        "{}",
        page.text
    );
    let file = alice
        .get(url(app, &format!("/portal/attachments/{att}")))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), png);
    send(bob.get(url(app, &format!("/portal/attachments/{att}"))))
        .await
        .expect(404);
    // Staff notifications: read them all.
    send(api(app, Method::POST, "/api/v1/notifications/read", &tok))
        .await
        .expect(204);
    let notes = get_json(app, &tok, "/api/v1/notifications")
        .await
        .expect(200);
    assert!(
        notes
            .json
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["read"] == true),
        "{}",
        notes.text
    );

    let assets = get_json(app, &a_tok, "/api/v1/portal/assets")
        .await
        .expect(200);
    assert_eq!(assets.json[0]["serial"], "PORTAL-0001");
}

/// Customer value over HTTP: recompute as a job, the model, a customer's value with its
/// explanation, segments (query, stats, save, export), the funnel and Pareto, settings
/// with bad input, referrals, and the same through the pages.
async fn customer_value_over_http(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let product = seed_product(app, &tok).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = create_customer(
            app,
            &tok,
            &person(&format!("顾客{i}"), &format!("1380000{:04}", i)),
        )
        .await;
        for k in 0..(1 + i % 4) {
            let on = format!("2026-{:02}-{:02}", 1 + (k * 3 + i) % 10, 1 + i);
            post_json(
                app,
                &tok,
                "/api/v1/orders",
                &order(id, product, &format!("SN-{i}-{k}"), &on),
            )
            .await
            .expect(201);
        }
        ids.push(id);
    }
    let quiet = create_customer(app, &tok, &person("只问不买", "13900000000")).await;

    // Before the first run: no model, and the customer is not scored yet.
    let m = get_json(app, &tok, "/api/v1/value/model").await.expect(200);
    assert!(m.json.is_null(), "{}", m.text);
    let v = get_json(app, &tok, &format!("/api/v1/customers/{quiet}/value"))
        .await
        .expect(200);
    assert!(v.json["value"].is_null());

    // A read-only token cannot start a run.
    let reader = token(app, &["read"]).await;
    post_json(app, &reader, "/api/v1/value/recompute", &json!({}))
        .await
        .expect(403);
    let job = post_json(app, &tok, "/api/v1/value/recompute", &json!({}))
        .await
        .expect(202);
    let id = job.json["id"].as_i64().unwrap();
    let mut done = Value::Null;
    for _ in 0..200 {
        let j = get_json(app, &tok, &format!("/api/v1/value/jobs/{id}"))
            .await
            .expect(200);
        if !j.json["finished_at"].is_null() {
            done = j.json;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(done["stage"], "done", "{done}");
    assert_eq!(done["done"], 13);
    let m = get_json(app, &tok, "/api/v1/value/model").await.expect(200);
    assert_eq!(m.json["model"]["customers"], 13);
    assert_eq!(m.json["model"]["unit_days"], 7);
    assert!(m.json["model"]["calibration_end"].is_string());
    assert!(
        m.json["model"]["bgnbd"]["log_likelihood"].is_number(),
        "{}",
        m.text
    );

    // A day for the run: refused by field, in the caller's language, before any job.
    let r = send(
        api(
            app,
            Method::POST,
            "/api/v1/value/recompute?as_of=2099-01-01",
            &tok,
        )
        .header("Accept-Language", "zh-CN"),
    )
    .await
    .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "as_of", "{}", r.text);
    assert_eq!(r.json["fields"][0]["code"], "date_in_future", "{}", r.text);
    assert!(r.text.contains("不能晚于今天"), "{}", r.text);
    // The holdout check: refused without its day, answered with it (nothing stored).
    let r = get_json(app, &tok, "/api/v1/value/holdout")
        .await
        .expect(422);
    assert_eq!(
        r.json["fields"][0]["field"], "calibration_end",
        "{}",
        r.text
    );
    let cal = (app.app.clock.today() - jiff::Span::new().days(60)).to_string();
    let h = get_json(
        app,
        &tok,
        &format!("/api/v1/value/holdout?calibration_end={cal}"),
    )
    .await
    .expect(200);
    assert_eq!(h.json["calibration_end"], cal.as_str(), "{}", h.text);
    assert!(h.json["cohort"].as_u64().unwrap() > 0, "{}", h.text);
    get_json(
        app,
        &reader,
        &format!("/api/v1/value/holdout?calibration_end={cal}"),
    )
    .await
    .expect(403);

    // A customer's value, explained in the caller's language.
    let v = send(
        api(
            app,
            Method::GET,
            &format!("/api/v1/customers/{}/value", ids[3]),
            &tok,
        )
        .header("Accept-Language", "zh-CN"),
    )
    .await
    .expect(200);
    assert_eq!(v.json["value"]["purchases"], 4);
    assert_eq!(v.json["value"]["stage"], "accepting");
    let why = v.json["explanation"].as_array().unwrap();
    let topics: Vec<&str> = why.iter().map(|w| w["topic"].as_str().unwrap()).collect();
    assert_eq!(topics, ["tier", "class", "stage", "value", "risk"]);
    assert!(
        why[3]["text"].as_str().unwrap().contains("购买 4 次"),
        "{}",
        why[3]
    );

    // Segments: filter by stage, stats, bad filter, save, list, export.
    let seg = get_json(
        app,
        &tok,
        "/api/v1/segments/customers?stage=accepting&limit=2",
    )
    .await
    .expect(200);
    assert_eq!(seg.items().len(), 2);
    assert!(seg.json["next_cursor"].is_string());
    let stats = get_json(app, &tok, "/api/v1/segments/stats?stage=accepting")
        .await
        .expect(200);
    let n = stats.json["count"].as_i64().unwrap();
    assert!(n >= 6, "{}", stats.text);
    let bad = get_json(app, &tok, "/api/v1/segments/customers?stage=sleepy&r_min=7")
        .await
        .expect(422);
    let fields: Vec<&str> = bad.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["stage", "r_min"]);
    let saved = post_json(
        app,
        &tok,
        "/api/v1/segments",
        &json!({"name": "常客", "filter": {"stage": "accepting", "r_min": 2}}),
    )
    .await
    .expect(201)
    .id();
    let list = get_json(app, &tok, "/api/v1/segments").await.expect(200);
    assert_eq!(list.json[0]["id"], saved);
    assert_eq!(
        list.json[0]["filter"]["r_min"], 2,
        "numbers survive the round trip"
    );
    let csv = send(api(
        app,
        Method::GET,
        "/api/v1/segments/export.csv?stage=accepting",
        &tok,
    ))
    .await
    .expect(200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert_eq!(
        csv.text.lines().count() as i64,
        n + 1,
        "a header and a line each"
    );
    assert!(csv.text.contains("顾客"));

    // The funnel and Pareto.
    let f = get_json(app, &tok, "/api/v1/value/funnel")
        .await
        .expect(200);
    let total: i64 = f.json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 13);
    get_json(
        app,
        &tok,
        "/api/v1/value/funnel?from=2026-02-01&to=2026-01-01",
    )
    .await
    .expect(422);
    let p = get_json(app, &tok, "/api/v1/value/pareto?top_percent=20")
        .await
        .expect(200);
    assert!(p.json["revenue_share"].as_f64().unwrap() > 0.2);
    let bad = get_json(app, &tok, "/api/v1/value/pareto?top_percent=abc")
        .await
        .expect(422);
    assert_eq!(bad.json["fields"][0]["field"], "top_percent");

    // Settings: a wrong value names the field and changes nothing.
    let before = get_json(app, &tok, "/api/v1/value/settings")
        .await
        .expect(200);
    let mut wrong = before.json.clone();
    wrong["margin"] = json!(3);
    let r = put_json(app, &tok, "/api/v1/value/settings", &wrong)
        .await
        .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "margin");
    assert_eq!(
        get_json(app, &tok, "/api/v1/value/settings").await.json,
        before.json
    );
    put_json(app, &tok, "/api/v1/value/settings", &json!({"margin": 0.4}))
        .await
        .expect(200);
    assert_eq!(
        get_json(app, &tok, "/api/v1/value/settings").await.json["margin"],
        0.4
    );

    // A referral: the referrer's timeline says so; self-referral is refused.
    post_json(
        app,
        &tok,
        &format!("/api/v1/customers/{}/referrals", ids[3]),
        &json!({"referred_id": quiet}),
    )
    .await
    .expect(201);
    post_json(
        app,
        &tok,
        &format!("/api/v1/customers/{}/referrals", ids[4]),
        &json!({"referred_id": quiet}),
    )
    .await
    .expect(409);
    let r = post_json(
        app,
        &tok,
        &format!("/api/v1/customers/{quiet}/referrals"),
        &json!({"referred_id": quiet}),
    )
    .await
    .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "referred_id");

    // A new order is picked up by the next round from the change log.
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(quiet, product, "SN-QUIET-1", "2026-06-01"),
    )
    .await
    .expect(201);
    app.app.refresh_values().await.unwrap();
    let v = get_json(app, &tok, &format!("/api/v1/customers/{quiet}/value"))
        .await
        .expect(200);
    assert_eq!(v.json["value"]["purchases"], 1);
    assert_eq!(v.json["value"]["stage"], "trusting");

    // The pages: dashboard, explorer with its charts, save, the customer's value panel.
    let b = browser();
    login(app, &b, &app.admin_password).await.expect(303);
    let page = send(b.get(url(app, "/value"))).await.expect(200);
    assert!(
        page.text.contains("id=\"bgnbd\""),
        "the model's parameters are shown"
    );
    let page = send(b.get(url(app, "/value/segments?stage=accepting")))
        .await
        .expect(200);
    let stats = get_json(app, &tok, "/api/v1/segments/stats?stage=accepting")
        .await
        .expect(200);
    let n = stats.json["count"].as_i64().unwrap();
    assert!(
        page.text
            .contains(&format!("<strong id=\"count\">{n}</strong>")),
        "{}",
        page.text
    );
    let csrf = scrape_csrf(&page.text);
    let r = send(b.post(url(app, "/value/segments")).form(&[
        ("_csrf", csrf.as_str()),
        ("name", "页面保存"),
        ("stage", "accepting"),
    ]))
    .await
    .expect(303);
    assert!(r.header("location").unwrap().contains("saved="));
    let r = send(b.post(url(app, "/value/segments")).form(&[
        ("_csrf", csrf.as_str()),
        ("name", ""),
        ("stage", "accepting"),
    ]))
    .await
    .expect(200);
    assert!(
        r.text.contains("flash bad"),
        "an empty name is refused on the page"
    );
    let page = send(b.get(url(app, &format!("/customers/{}", ids[3]))))
        .await
        .expect(200);
    assert!(
        page.text.contains("id=\"why\""),
        "the explanation is on the customer page"
    );
    let page = send(b.get(url(app, "/value"))).await.expect(200);
    let csrf = scrape_csrf(&page.text);
    let mut form: Vec<(String, String)> = vec![("_csrf".into(), csrf)];
    let settings = get_json(app, &tok, "/api/v1/value/settings").await.json;
    for (k, v) in settings.as_object().unwrap() {
        form.push((
            k.clone(),
            if k == "dormant_days" {
                "soon".into()
            } else {
                v.to_string()
            },
        ));
    }
    let r = send(b.post(url(app, "/value/settings")).form(&form))
        .await
        .expect(200);
    assert!(
        r.text.contains("flash bad"),
        "a word where a number belongs is named"
    );
}

async fn feedback_over_http(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let product = seed_product(app, &tok).await;
    let who = create_customer(app, &tok, &person("周敏", "13800009999")).await;

    // A review from an e-commerce platform, analysed on arrival.
    let review = json!({
        "source": "review", "body": "洗衣机脱水时噪音特别大，像拖拉机一样，太失望了",
        "customer_id": who, "product_id": product, "rating": 1, "origin": "review:tmall:1001"
    });
    let r = post_json(app, &tok, "/api/v1/feedback", &review)
        .await
        .expect(201);
    let id = r.json["id"].as_i64().unwrap();
    assert_eq!(r.json["sentiment"], "negative", "{}", r.text);
    assert_eq!(r.json["analysis"], "analysed");
    assert!(
        r.json["evidence"]["sentiment"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{}",
        r.text
    );
    assert!(
        r.json["improvement_id"].as_i64().is_some(),
        "in the backlog"
    );
    // Posting the same origin again returns the same item.
    let again = post_json(app, &tok, "/api/v1/feedback", &review)
        .await
        .expect(201);
    assert_eq!(again.json["id"].as_i64(), Some(id));

    // Bad input: every field named, in the caller's language.
    let bad = json!({ "source": "fax", "body": "", "rating": 7 });
    let r = send(
        api(app, Method::POST, "/api/v1/feedback", &tok)
            .header("Accept-Language", "zh-CN")
            .json(&bad),
    )
    .await
    .expect(422);
    let fields: Vec<&str> = r.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, vec!["source", "body", "rating"], "{}", r.text);
    assert!(r.text.contains("评分应在 1 到 5 之间"), "{}", r.text);

    // A correction is kept and shown with the item; a read-only token may not correct.
    let reader = token(app, &["read"]).await;
    put_json(
        app,
        &reader,
        &format!("/api/v1/feedback/{id}/labels"),
        &json!({"ladder": "personality"}),
    )
    .await
    .expect(403);
    let fixed = put_json(
        app,
        &tok,
        &format!("/api/v1/feedback/{id}/labels"),
        &json!({"ladder": "personality"}),
    )
    .await
    .expect(200);
    assert_eq!(fixed.json["ladder"], "personality");
    assert_eq!(fixed.json["corrected"], true);
    // Negative and about the customer's own situation: a need now, not a defect.
    let entry = fixed.json["improvement_id"]
        .as_i64()
        .expect("still in the backlog");
    let item = get_json(app, &tok, &format!("/api/v1/feedback/{id}"))
        .await
        .expect(200);
    assert_eq!(
        item.json["corrections"][0]["to_value"], "personality",
        "{}",
        item.text
    );

    // The backlog, its status, and who to tell.
    let b = get_json(
        app,
        &tok,
        &format!("/api/v1/improvements?product_id={product}"),
    )
    .await
    .expect(200);
    assert_eq!(b.json[0]["id"].as_i64(), Some(entry), "{}", b.text);
    assert_eq!(b.json[0]["customers"], 1);
    put_json(
        app,
        &tok,
        &format!("/api/v1/improvements/{entry}"),
        &json!({"status": "shipped"}),
    )
    .await
    .expect(200);
    put_json(
        app,
        &tok,
        &format!("/api/v1/improvements/{entry}"),
        &json!({"status": "done"}),
    )
    .await
    .expect(422);
    let tell = get_json(
        app,
        &tok,
        &format!("/api/v1/improvements/{entry}/customers"),
    )
    .await
    .expect(200);
    assert_eq!(tell.json[0]["name"], "周敏");

    // The dictionary and the customer alliance.
    let w = post_json(
        app,
        &tok,
        "/api/v1/text/words",
        &json!({"word": "减震器", "kind": "part"}),
    )
    .await
    .expect(201);
    assert_eq!(w.json["word"], "减震器");
    post_json(
        app,
        &tok,
        "/api/v1/text/words",
        &json!({"word": "减震器", "kind": "part"}),
    )
    .await
    .expect(409);
    put_json(
        app,
        &tok,
        &format!("/api/v1/customers/{who}/expert"),
        &json!({"field": "洗衣机"}),
    )
    .await
    .expect(204);
    let experts = get_json(app, &tok, "/api/v1/feedback?expert=true")
        .await
        .expect(200);
    assert_eq!(
        experts.json["items"][0]["customer_id"].as_i64(),
        Some(who),
        "{}",
        experts.text
    );
    let note = json!({"source": "call", "body": "洗衣机的减震器好像松了，希望能派人看看", "customer_id": who, "product_id": product});
    let r = post_json(app, &tok, "/api/v1/feedback", &note)
        .await
        .expect(201);
    assert_eq!(r.json["topic"], "减震器", "{}", r.text);
    assert_eq!(r.json["expert"], true);
    send(api(
        app,
        Method::DELETE,
        &format!("/api/v1/customers/{who}/expert"),
        &tok,
    ))
    .await
    .expect(204);

    // Reviews from a platform's CSV export: all rows checked first; a second import of the
    // same file changes nothing.
    let sku = get_json(app, &tok, &format!("/api/v1/products/{product}"))
        .await
        .expect(200)
        .json["sku"]
        .as_str()
        .unwrap()
        .to_owned();
    let csv = format!(
        "platform,review_id,sku,customer_phone,rating,text,date\n\
         JD,88001,{sku},13800009999,2,安装师傅迟到了三个小时，空调外机还有噪音,2026-05-20\n\
         jd,88002,{sku},,5,物流很快，空调制冷效果很好,2026-05-21\n"
    );
    let import = |body: String| {
        send(
            api(app, Method::POST, "/api/v1/import/reviews", &tok)
                .header("Content-Type", "text/csv")
                .body(body),
        )
    };
    let r = import(csv.clone()).await.expect(200);
    assert_eq!(
        (r.json["rows"].as_i64(), r.json["created"].as_i64()),
        (Some(2), Some(2)),
        "{}",
        r.text
    );
    let r = import(csv).await.expect(200);
    assert_eq!(r.json["created"], 0, "{}", r.text);
    let reviews = get_json(
        app,
        &tok,
        &format!("/api/v1/feedback?source=review&customer_id={who}"),
    )
    .await
    .expect(200);
    assert!(
        reviews.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["origin"] == "review:jd:88001" && i["rating"] == 2),
        "{}",
        reviews.text
    );
    let bad = "platform,review_id,sku,rating,text\njd,88003,NO-SUCH,9,\n".to_string();
    let r = import(bad).await.expect(422);
    let cols: Vec<&str> = r.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["column"].as_str())
        .collect();
    assert!(
        cols.contains(&"sku") && cols.contains(&"rating"),
        "{}",
        r.text
    );

    // The pages: the list with its filters and the dictionary, an item with its analysis
    // and the correction form, the backlog and an entry, the alliance on the customer page.
    let b = browser();
    login(app, &b, &app.admin_password).await.expect(303);
    let list = send(b.get(url(
        app,
        &format!("/feedback?product_id={product}&sentiment=negative"),
    )))
    .await
    .expect(200);
    assert!(list.text.contains("像拖拉机一样"), "the review is listed");
    assert!(list.text.contains("减震器"), "the dictionary is shown");
    send(b.get(url(app, "/feedback?product_id=abc")))
        .await
        .expect(200);
    let page = send(b.get(url(app, &format!("/feedback/{id}"))))
        .await
        .expect(200);
    assert!(
        page.text
            .contains("id=\"ladder\" data-value=\"personality\""),
        "{}",
        page.text
    );
    assert!(page.text.contains("id=\"corrections\""));
    let csrf = scrape_csrf(&page.text);
    let r = send(b.post(url(app, &format!("/feedback/{id}/labels"))).form(&[
        ("_csrf", csrf.as_str()),
        ("sentiment", "negative"),
        ("ladder", "spirit"),
        ("need", "latent"),
    ]))
    .await
    .expect(303);
    assert_eq!(
        r.header("location").unwrap(),
        format!("/feedback/{id}?corrected=1")
    );
    let page = send(b.get(url(app, &format!("/feedback/{id}"))))
        .await
        .expect(200);
    assert!(page.text.contains("data-value=\"spirit\""));
    let r = send(
        b.post(url(app, &format!("/feedback/{id}/labels")))
            .form(&[("_csrf", csrf.as_str()), ("ladder", "rocket")]),
    )
    .await
    .expect(200);
    assert!(r.text.contains("flash bad"), "the error is on the page");
    let backlog = send(b.get(url(app, &format!("/improvements?product_id={product}"))))
        .await
        .expect(200);
    assert!(backlog.text.contains("噪音"), "{}", backlog.text);
    let entry_page = send(b.get(url(app, &format!("/improvements/{entry}"))))
        .await
        .expect(200);
    assert!(entry_page.text.contains("周敏"), "who to tell");
    let list = send(b.get(url(app, &format!("/improvements/{entry}/customers.csv"))))
        .await
        .expect(200);
    assert!(
        list.text.contains("customer_id,name,phone") && list.text.contains("周敏"),
        "{}",
        list.text
    );
    let r = send(b.post(url(app, "/feedback")).form(&[
        ("_csrf", csrf.as_str()),
        ("source", "visit"),
        ("customer_id", &who.to_string()),
        ("product_id", &product.to_string()),
        ("body", "上门师傅很准时，安装得很仔细"),
    ]))
    .await
    .expect(303);
    assert!(r.header("location").unwrap().starts_with("/feedback/"));
    let r = send(b.post(url(app, "/feedback")).form(&[
        ("_csrf", csrf.as_str()),
        ("source", "visit"),
        ("body", ""),
    ]))
    .await
    .expect(200);
    assert!(r.text.contains("flash bad"));
    send(
        b.post(url(app, &format!("/customers/{who}/expert")))
            .form(&[("_csrf", csrf.as_str()), ("field", "洗衣机")]),
    )
    .await
    .expect(303);
    let cpage = send(b.get(url(app, &format!("/customers/{who}"))))
        .await
        .expect(200);
    assert!(cpage.text.contains("id=\"alliance\""));
    assert!(cpage.text.contains("洗衣机"));

    // Search: fresh after a refresh round, highlighted, filtered by kind, on the page too.
    let r = app.app.refresh_search().await.unwrap();
    assert!(r.indexed >= 3, "{r:?}");
    let found = get_json(app, &tok, "/api/v1/search?q=拖拉機")
        .await
        .expect(200);
    assert_eq!(found.json["hits"][0]["kind"], "feedback", "{}", found.text);
    assert_eq!(found.json["hits"][0]["id"].as_i64(), Some(id));
    assert!(
        found.json["hits"][0]["snippet"]
            .as_str()
            .unwrap()
            .contains("<b>拖拉机</b>"),
        "{}",
        found.text
    );
    assert_eq!(found.json["hits"][0]["url"], format!("/feedback/{id}"));
    // A customer by name is a direct match, shown first and not repeated among the hits.
    let people = get_json(app, &tok, "/api/v1/search?q=周敏&kind=customer")
        .await
        .expect(200);
    assert_eq!(
        people.json["exact"][0]["id"].as_i64(),
        Some(who),
        "{}",
        people.text
    );
    assert!(
        people.json["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["id"].as_i64() != Some(who)),
        "{}",
        people.text
    );
    // By phone number in another spelling, and in the top bar's search page.
    let by_phone = get_json(app, &tok, "/api/v1/search?q=%2B86%20138-0000-9999")
        .await
        .expect(200);
    assert_eq!(
        by_phone.json["exact"][0]["id"].as_i64(),
        Some(who),
        "{}",
        by_phone.text
    );
    assert_eq!(
        by_phone.json["exact"][0]["url"],
        format!("/customers/{who}")
    );
    let page = send(b.get(url(app, "/search?q=138%200000%209999")))
        .await
        .expect(200);
    assert!(
        page.text.contains("id=\"exact\"")
            && page.text.contains(&format!("href=\"/customers/{who}\"")),
        "{}",
        page.text
    );
    get_json(app, &tok, "/api/v1/search?q=").await.expect(422);
    get_json(app, &tok, "/api/v1/search?q=x&kind=planet")
        .await
        .expect(422);
    let page = send(b.get(url(app, "/search?q=%E6%8B%96%E6%8B%89%E6%9C%BA")))
        .await
        .expect(200);
    assert!(page.text.contains("<b>拖拉机</b>"), "{}", page.text);
    assert!(page.text.contains(&format!("href=\"/feedback/{id}\"")));
}

/// Opens a repair request for a customer through the API, assigns it and resolves it.
async fn resolved_over_http(
    app: &TestApp,
    tok: &str,
    customer: i64,
    assignee: i64,
    subject: &str,
) -> i64 {
    let id = post_json(
        app,
        tok,
        "/api/v1/requests",
        &json!({"customer_id": customer, "service_type": "repair", "subject": subject}),
    )
    .await
    .expect(201)
    .json["id"]
        .as_i64()
        .unwrap();
    let version = async || {
        get_json(app, tok, &format!("/api/v1/requests/{id}"))
            .await
            .expect(200)
            .json["request"]["version"]
            .as_i64()
            .unwrap()
    };
    let v = version().await;
    send(
        api(app, Method::PATCH, &format!("/api/v1/requests/{id}"), tok)
            .json(&json!({"version": v, "assignee_id": assignee})),
    )
    .await
    .expect(200);
    for st in ["in_progress", "resolved"] {
        let v = version().await;
        post_json(
            app,
            tok,
            &format!("/api/v1/requests/{id}/transitions"),
            &json!({"status": st, "version": v}),
        )
        .await
        .expect(200);
    }
    id
}

async fn survey_over_http(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let who = create_customer(
        app,
        &tok,
        &json!({"name": "吴敏", "emails": [{"address": "wumin@example.com", "primary": true}], "consent": ["email"]}),
    )
    .await;
    let admin_id = get_json(app, &tok, "/api/v1/me").await.expect(200).json["id"]
        .as_i64()
        .unwrap();
    resolved_over_http(app, &tok, who, admin_id, "热水器不点火").await;
    let round = app.app.survey_round().await.unwrap();
    assert_eq!((round.created, round.mailed), (1, 1), "{round:?}");
    let settings = get_json(app, &tok, "/api/v1/surveys/settings")
        .await
        .expect(200);
    assert_eq!(settings.json["quiet_days"], 30);
    let mut changed = settings.json.clone();
    changed["questions"] = json!([{"id": "wish", "zh_hans": "您最希望我们改进什么？", "zh_hant": "您最希望我們改進什麼？", "en": "What should we improve first?"}]);
    put_json(app, &tok, "/api/v1/surveys/settings", &changed)
        .await
        .expect(200);
    changed["quiet_days"] = json!(999);
    let r = put_json(app, &tok, "/api/v1/surveys/settings", &changed)
        .await
        .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "quiet_days", "{}", r.text);

    // The customer opens the link, in traditional Chinese, without signing in.
    let survey = app
        .app
        .store
        .open_surveys(aftercare_domain::CustomerId(who), app.app.now())
        .await
        .unwrap()
        .remove(0);
    let link = app.app.survey_link(&survey).await.unwrap();
    let path = &link[link.find("/s/").unwrap()..];
    let anon = browser();
    let page = send(anon.get(url(app, &format!("{path}?lang=zh-Hant"))))
        .await
        .expect(200);
    assert!(
        page.text.contains("id=\"q-nps\"") && page.text.contains("您最希望我們改進什麼？"),
        "{}",
        page.text
    );
    let r = send(anon.post(url(app, path)).form(&[("csat", "7")]))
        .await
        .expect(422);
    assert!(r.text.contains("flash bad"));
    let r = send(anon.post(url(app, &format!("{path}?lang=en"))).form(&[
        ("csat", "5"),
        ("nps", "10"),
        ("ces", "7"),
        ("q_wish", "上门前能发个短信提醒就好了"),
        ("comment", "师傅很专业，一次就修好了，谢谢"),
    ]))
    .await
    .expect(200);
    assert!(r.text.contains("id=\"thanks\""), "{}", r.text);
    let again = send(anon.get(url(app, path))).await.expect(200);
    assert!(again.text.contains("id=\"answered\""));
    send(anon.get(url(app, "/s/1.99.abc"))).await.expect(404);
    let got = get_json(app, &tok, &format!("/api/v1/surveys/{}", survey.id))
        .await
        .expect(200);
    assert_eq!(
        (got.json["csat"].as_i64(), got.json["nps"].as_i64()),
        (Some(5), Some(10))
    );
    let fid = got.json["feedback_id"]
        .as_i64()
        .expect("the comment became feedback");
    let item = get_json(app, &tok, &format!("/api/v1/feedback/{fid}"))
        .await
        .expect(200);
    assert_eq!(item.json["source"], "survey");
    assert!(
        item.json["body"].as_str().unwrap().contains("短信提醒"),
        "{}",
        item.text
    );
    let scores = get_json(app, &tok, "/api/v1/surveys/scores?group=service_type")
        .await
        .expect(200);
    assert_eq!(scores.json[0]["group"], "repair", "{}", scores.text);
    assert_eq!(scores.json[0]["nps"], 100.0);

    // The dashboard: the resolved request is a good experience; reach follows the settings.
    let d = get_json(app, &tok, "/api/v1/voc/dashboard?group=service_type")
        .await
        .expect(200);
    assert_eq!(d.json["word_of_mouth"]["resolved"], 1, "{}", d.text);
    assert_eq!(d.json["word_of_mouth"]["good"], 1);
    assert_eq!(d.json["word_of_mouth"]["net_reach"], 8);
    assert_eq!(d.json["scores"][0]["group"], "repair");
    put_json(
        app,
        &tok,
        "/api/v1/voc/settings",
        &json!({"good_reach": 12, "bad_reach": 30}),
    )
    .await
    .expect(200);
    let d = get_json(app, &tok, "/api/v1/voc/dashboard")
        .await
        .expect(200);
    assert_eq!(d.json["word_of_mouth"]["net_reach"], 12);
    put_json(
        app,
        &tok,
        "/api/v1/voc/settings",
        &json!({"good_reach": 5000}),
    )
    .await
    .expect(422);
    get_json(app, &tok, "/api/v1/voc/dashboard?from=2026-13-01")
        .await
        .expect(422);
    let b = browser();
    login(app, &b, &app.admin_password).await.expect(303);
    let page = send(b.get(url(app, "/feedback/dashboard?group=service_type")))
        .await
        .expect(200);
    assert!(
        page.text.contains("id=\"wom-net\"") && page.text.contains("id=\"ladder-product\""),
        "{}",
        page.text
    );
    // The survey rules from the page: numbers named when wrong, questions in three languages.
    let csrf = scrape_csrf(&page.text);
    let form = |quiet: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("after_resolution", "1".to_owned()),
            ("nps", "1".to_owned()),
            ("quiet_days", quiet.to_owned()),
            ("reminder_days", "2".to_owned()),
            ("expires_days", "10".to_owned()),
            ("max_age_days", "7".to_owned()),
            ("q_id", "wish".to_owned()),
            ("q_zh_hans", "最想改进什么？".to_owned()),
            ("q_zh_hant", "最想改進什麼？".to_owned()),
            ("q_en", "What first?".to_owned()),
            ("q_id", String::new()),
            ("q_zh_hans", String::new()),
            ("q_zh_hant", String::new()),
            ("q_en", String::new()),
        ]
    };
    let r = send(
        b.post(url(app, "/feedback/survey-settings"))
            .form(&form("abc")),
    )
    .await
    .expect(200);
    assert!(r.text.contains("flash bad"), "{}", r.text);
    send(
        b.post(url(app, "/feedback/survey-settings"))
            .form(&form("45")),
    )
    .await
    .expect(303);
    let rules = get_json(app, &tok, "/api/v1/surveys/settings")
        .await
        .expect(200);
    assert_eq!(
        (
            rules.json["quiet_days"].as_i64(),
            rules.json["after_purchase"].as_bool()
        ),
        (Some(45), Some(false)),
        "{}",
        rules.text
    );
    assert_eq!(rules.json["questions"][0]["en"], "What first?");
    assert_eq!(rules.json["questions"].as_array().unwrap().len(), 1);

    // A portal customer sees the survey waiting on their home page and opens it there.
    let (portal, _) = portal_customer(app, "郑洁", "zheng.jie@example.cn").await;
    let zheng = get_json(app, &tok, "/api/v1/customers?q=zheng.jie@example.cn")
        .await
        .expect(200)
        .json["items"][0]["id"]
        .as_i64()
        .unwrap();
    resolved_over_http(app, &tok, zheng, admin_id, "洗碗机不出水").await;
    assert_eq!(app.app.survey_round().await.unwrap().created, 1);
    let home = send(portal.get(url(app, "/portal"))).await.expect(200);
    assert!(home.text.contains("id=\"surveys\""), "{}", home.text);
    let start = home.text.find("/s/").expect("a survey link");
    let link = &home.text[start..start + home.text[start..].find('"').unwrap()];
    let page = send(portal.get(url(app, link))).await.expect(200);
    assert!(page.text.contains("id=\"survey\""), "{}", page.text);
}

/// Whether any file of the search index holds these bytes.
fn index_holds(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|f| {
        let bytes = std::fs::read(f.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

async fn personal_data_is_exported_and_erased(app: &TestApp) {
    let admin = token(app, &["admin"]).await;
    let write = token(app, &["write"]).await;
    let product = seed_product(app, &admin).await;
    let today = app.app.clock.today().to_string();
    // A customer who signed up in the portal, whose profile staff completed, with an
    // order, a request with a photo, a contact and feedback.
    let (portal, _) = portal_customer(app, "欧阳娜娜", "nana.ouyang@example.cn").await;
    let id = get_json(
        app,
        &admin,
        "/api/v1/customers?q=%E6%AC%A7%E9%98%B3%E5%A8%9C%E5%A8%9C",
    )
    .await
    .expect(200)
    .items()[0]["id"]
        .as_i64()
        .unwrap();
    put_json(
        app,
        &admin,
        &format!("/api/v1/customers/{id}"),
        &json!({
        "name": "欧阳娜娜", "emails": [{"address": "nana.ouyang@example.cn"}],
        "phones": [{"number": "13912345678"}],
        "addresses": [{"city": "杭州市", "street": "幸福路 8 号 3 单元"}],
        "notes": "对噪音特别敏感", "tags": ["孕期"]}),
    )
    .await
    .expect(200);
    post_json(
        app,
        &write,
        "/api/v1/orders",
        &order(id, product, "PIPL-0001", &today),
    )
    .await
    .expect(201);
    let rid = post_json(app, &write, "/api/v1/requests", &json!({"customer_id": id, "service_type": "repair",
        "subject": "冰箱压缩机异响", "description": "欧阳娜娜家的冰箱压缩机半夜异响，住幸福路 8 号"}))
        .await
        .expect(201)
        .id();
    use base64::Engine;
    let png = b"\x89PNG\r\n\x1a\nkitchen-photo";
    let d = post_json(app, &write, &format!("/api/v1/requests/{rid}/messages"), &json!({"kind": "reply", "body": "欧阳女士您好，请拍一张照片。",
        "attachments": [{"filename": "厨房.png", "content_type": "image/png", "content_base64": base64::engine::general_purpose::STANDARD.encode(png)}]}))
        .await
        .expect(201)
        .json;
    let att = d["messages"][0]["attachments"][0]["id"].as_i64().unwrap();
    post_json(
        app,
        &write,
        &format!("/api/v1/customers/{id}/interactions"),
        &json!({"touchpoint": "phone", "subject": "欧阳娜娜来电", "body": "手机 13912345678"}),
    )
    .await
    .expect(201);
    post_json(
        app,
        &write,
        "/api/v1/feedback",
        &json!({"source": "call", "body": "欧阳娜娜说冰箱太吵了，晚上睡不着", "customer_id": id}),
    )
    .await
    .expect(201);
    app.app.refresh_search().await.unwrap();
    let found = get_json(app, &admin, "/api/v1/search?q=压缩机异响")
        .await
        .expect(200);
    assert!(
        found.text.contains(&format!("\"id\":{rid}")),
        "{}",
        found.text
    );
    let name = "欧阳娜娜".as_bytes();
    assert!(
        index_holds(&app.index_dir, name),
        "the index holds the name before"
    );

    // The export: administrators only, everything about them, no secrets, logged.
    let path =
        format!("/api/v1/customers/{id}/personal-data?note=%E6%9C%AC%E4%BA%BA%E7%94%B3%E8%AF%B7");
    get_json(app, &write, &path).await.expect(403);
    let x = get_json(app, &admin, &path).await.expect(200).json;
    let t = &x["tables"];
    assert_eq!(x["customer_id"].as_i64(), Some(id));
    assert_eq!(t["customers"][0]["name"], "欧阳娜娜");
    assert_eq!(
        t["customer_phones"][0]["number"], "+8613912345678",
        "{}",
        t["customer_phones"]
    );
    assert_eq!(t["customer_addresses"][0]["street"], "幸福路 8 号 3 单元");
    assert_eq!(t["portal_accounts"][0]["email"], "nana.ouyang@example.cn");
    assert!(t["portal_accounts"][0].get("password_hash").is_none());
    assert_eq!(t["requests"][0]["subject"], "冰箱压缩机异响");
    assert_eq!(
        t["attachments"][0]["content"],
        base64::engine::general_purpose::STANDARD.encode(png)
    );
    assert_eq!(t["orders"].as_array().unwrap().len(), 1);
    assert_eq!(t["interactions"][0]["subject"], "欧阳娜娜来电");
    assert!(
        t["feedback_items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["body"].as_str().unwrap().contains("太吵"))
    );
    assert!(!t["audit_log"].as_array().unwrap().is_empty());
    assert_eq!(
        app.db.count(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'export_personal_data' AND entity_id = {id}")).await,
        1
    );

    // The erasure: administrators only, with a note, else nothing changes.
    let erase = format!("/api/v1/customers/{id}/erasure");
    post_json(app, &write, &erase, &json!({"note": "本人申请"}))
        .await
        .expect(403);
    let r = send(
        api(app, Method::POST, &erase, &admin)
            .header("Accept-Language", "zh-CN")
            .json(&json!({})),
    )
    .await
    .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "note", "{}", r.text);
    assert!(has_cjk(r.json["message"].as_str().unwrap()), "{}", r.text);
    assert_eq!(
        get_json(app, &admin, &format!("/api/v1/customers/{id}"))
            .await
            .expect(200)
            .json["name"],
        "欧阳娜娜"
    );
    let report = post_json(
        app,
        &admin,
        &erase,
        &json!({"note": "客户本人来电申请，已核实身份"}),
    )
    .await
    .expect(200)
    .json;
    let rows = |table: &str| {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["table"] == table)
            .unwrap()["rows"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        (
            rows("attachments"),
            rows("portal_accounts"),
            rows("customer_phones")
        ),
        (1, 1, 1),
        "{report}"
    );

    // What is left has no identity, cannot change, and is not erased twice.
    let c = get_json(app, &admin, &format!("/api/v1/customers/{id}"))
        .await
        .expect(200)
        .json;
    assert_eq!(c["name"], format!("#{id}"));
    assert!(
        c["phones"].as_array().unwrap().is_empty() && c["emails"].as_array().unwrap().is_empty()
    );
    assert!(c["notes"].is_null() && c["tags"].as_array().unwrap().is_empty());
    assert!(c["erased_at"].is_string(), "{c}");
    let again = post_json(app, &admin, &erase, &json!({"note": "再来一次"}))
        .await
        .expect(409);
    assert_eq!(again.json["code"], "customer_erased", "{}", again.text);
    let r = put_json(
        app,
        &admin,
        &format!("/api/v1/customers/{id}"),
        &json!({"name": "欧阳娜娜"}),
    )
    .await
    .expect(409);
    assert_eq!(r.json["code"], "customer_erased");
    // Nothing new is recorded about them: a new contact is a new customer.
    let refused = post_json(
        app,
        &write,
        "/api/v1/requests",
        &json!({"customer_id": id, "service_type": "repair", "subject": "又坏了"}),
    )
    .await
    .expect(422);
    assert_eq!(
        refused.json["fields"][0]["code"], "customer_erased",
        "{}",
        refused.text
    );
    let refused = post_json(
        app,
        &write,
        "/api/v1/orders",
        &order(id, product, "PIPL-0002", &today),
    )
    .await;
    assert_eq!(refused.json["code"], "customer_erased", "{}", refused.text);
    let req = get_json(app, &admin, &format!("/api/v1/requests/{rid}"))
        .await
        .expect(200)
        .json;
    assert_eq!(
        (
            req["request"]["subject"].as_str(),
            req["request"]["description"].as_str()
        ),
        (Some(""), Some("")),
        "{req}"
    );
    assert_eq!(req["request"]["service_type"], "repair");
    get_json(app, &admin, &format!("/api/v1/attachments/{att}"))
        .await
        .expect(404);
    assert_eq!(
        get_json(app, &admin, "/api/v1/orders?limit=50")
            .await
            .expect(200)
            .items()
            .len(),
        1
    );
    // Their portal session ended with the account.
    let home = send(portal.get(url(app, "/portal"))).await;
    assert_ne!(home.status, 200, "{}", home.text);
    for sql in [
        "SELECT COUNT(*) FROM audit_log WHERE before_json LIKE '%欧阳%' OR after_json LIKE '%欧阳%' OR actor_label LIKE '%nana%'",
        "SELECT COUNT(*) FROM events WHERE payload LIKE '%欧阳%' OR payload LIKE '%13912345678%' OR payload LIKE '%nana.ouyang%'",
        "SELECT COUNT(*) FROM request_messages WHERE body LIKE '%欧阳%'",
        "SELECT COUNT(*) FROM outbox WHERE recipient LIKE '%nana.ouyang%' OR body LIKE '%欧阳%'",
        "SELECT COUNT(*) FROM feedback_items WHERE body LIKE '%欧阳%'",
        "SELECT COUNT(*) FROM interactions WHERE subject LIKE '%欧阳%' OR body LIKE '%13912345678%'",
        "SELECT COUNT(*) FROM timeline WHERE summary LIKE '%欧阳%' OR summary LIKE '%压缩机%'",
        "SELECT COUNT(*) FROM customer_emails WHERE address LIKE '%nana.ouyang%'",
    ] {
        assert_eq!(app.db.count(sql).await, 0, "{sql}");
    }
    assert_eq!(
        app.db.count(&format!("SELECT COUNT(*) FROM audit_log WHERE action = 'erase' AND entity = 'customer' AND entity_id = {id} AND after_json LIKE '%已核实身份%'")).await,
        1
    );
    // The search index reads the records again, and the old text leaves its files.
    app.app.refresh_search().await.unwrap();
    let found = get_json(app, &admin, "/api/v1/search?q=压缩机异响")
        .await
        .expect(200);
    assert!(
        !found.text.contains(&format!("\"id\":{rid}")),
        "{}",
        found.text
    );
    let found = get_json(app, &admin, "/api/v1/search?q=欧阳娜娜")
        .await
        .expect(200);
    assert!(
        found.json["hits"].as_array().unwrap().is_empty()
            && found.json["exact"].as_array().unwrap().is_empty(),
        "{}",
        found.text
    );
    assert!(
        !index_holds(&app.index_dir, name),
        "the index still holds the name"
    );

    // The pages: the 360 says what happened; the form asks before anything is done.
    let b = browser();
    login(app, &b, &app.admin_password).await;
    let page = send(b.get(url(app, &format!("/customers/{id}"))))
        .await
        .expect(200);
    assert!(page.text.contains("id=\"erased\""), "{}", page.text);
    let other = create_customer(app, &admin, &person("司马光", "13700001111")).await;
    let page = send(b.get(url(app, &format!("/customers/{other}"))))
        .await
        .expect(200);
    assert!(page.text.contains("id=\"privacy-erase\""));
    let csrf = scrape_csrf(&page.text);
    let form = send(b.get(url(app, &format!("/customers/{other}/erase"))))
        .await
        .expect(200);
    assert!(form.text.contains("id=\"erase-kept\""));
    let unconfirmed = send(
        b.post(url(app, &format!("/customers/{other}/erase")))
            .form(&[("_csrf", csrf.as_str()), ("note", "本人申请")]),
    )
    .await
    .expect(422);
    assert!(unconfirmed.text.contains("本人申请"), "the note is kept");
    assert_eq!(
        get_json(app, &admin, &format!("/api/v1/customers/{other}"))
            .await
            .expect(200)
            .json["name"],
        "司马光"
    );
    let download = send(b.get(url(app, &format!("/customers/{other}/personal-data"))))
        .await
        .expect(200);
    assert!(
        download
            .header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    assert_eq!(download.json["tables"]["customers"][0]["name"], "司马光");
    send(
        b.post(url(app, &format!("/customers/{other}/erase")))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("note", "本人申请"),
                ("confirm", "yes"),
            ]),
    )
    .await
    .expect(303);
    assert_eq!(
        get_json(app, &admin, &format!("/api/v1/customers/{other}"))
            .await
            .expect(200)
            .json["name"],
        format!("#{other}")
    );
}

on_both_databases!(customer_value_works_over_http_and_in_the_pages => customer_value_over_http);
on_both_databases!(feedback_is_taken_in_corrected_and_ranked_over_http => feedback_over_http);
on_both_databases!(a_survey_is_answered_from_its_link_without_signing_in => survey_over_http);
on_both_databases!(the_service_desk_works_over_http_on_both_databases => the_service_desk_over_http);
on_both_databases!(the_portal_keeps_each_customer_to_their_own_records => the_portal_keeps_each_customer_to_their_own);
on_both_databases!(the_health_check_the_openapi_document_and_the_docs_are_served => health_openapi_and_docs);
on_both_databases!(api_callers_need_a_bearer_token_with_the_right_scope => callers_need_a_bearer_token_with_the_right_scope);
on_both_databases!(customers_are_created_read_back_and_updated_only_from_their_current_version => customers_are_created_read_and_updated_with_versions);
on_both_databases!(bad_input_gets_a_clear_error_in_the_callers_language_and_changes_nothing => bad_input_is_refused_and_changes_nothing);
on_both_databases!(a_retry_with_the_same_idempotency_key_creates_one_customer => a_retried_creation_with_the_same_idempotency_key_creates_once);
on_both_databases!(an_order_through_the_api_makes_an_asset_whose_warranty_follows_the_policy => an_order_makes_an_asset_with_its_warranty);
on_both_databases!(customers_are_found_by_name_phone_or_serial_and_paged_without_repeats => customers_are_found_by_name_phone_and_serial_and_paged);
on_both_databases!(customer_files_import_all_rows_or_none_and_export_as_csv_and_xlsx => customers_are_imported_all_or_nothing_and_exported);
on_both_databases!(duplicate_customers_are_listed_merged_and_audited => duplicates_are_listed_and_merged_with_an_audit_trail);
on_both_databases!(pages_need_a_session_and_a_csrf_token_and_logins_are_throttled => pages_need_a_session_and_a_csrf_token);
on_both_databases!(administrators_create_staff_accounts_and_tokens_through_the_api => admins_create_staff_accounts_and_tokens);
on_both_databases!(hostile_text_is_refused_alike_and_answers_are_hardened => hostile_text_is_refused_alike_and_every_answer_is_hardened);
on_both_databases!(dates_and_money_are_bounded_on_orders_and_reports => dates_and_money_are_bounded);
on_both_databases!(a_customers_personal_information_is_exported_and_erased_on_request => personal_data_is_exported_and_erased);

async fn mailed_text_suggests_the_service_type(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let mail = |id: &str, subject: &str, body: &str| {
        format!(
            "From: zhao.min@example.cn\r\nTo: service@example.cn\r\nSubject: {subject}\r\n\
             Message-ID: <{id}@example.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        )
    };
    let inbound = |raw: String| {
        let tok = tok.clone();
        async move {
            let r = send(
                api(app, Method::POST, "/api/v1/mail/inbound", &tok)
                    .header("Content-Type", "message/rfc822")
                    .body(raw),
            )
            .await
            .expect(200);
            r.json["request_id"].as_i64().unwrap()
        }
    };
    // A complaint by mail is filed as a complaint, not as a consultation.
    let id = inbound(mail(
        "type-1",
        "投诉你们的售后",
        "师傅约了三次都没来，客服电话打了五遍一直推来推去，态度还很差，我要投诉，请给个说法！",
    ))
    .await;
    let d = get_json(app, &tok, &format!("/api/v1/requests/{id}"))
        .await
        .expect(200)
        .json;
    let r = &d["request"];
    assert_eq!(r["service_type"], "complaint", "{r}");
    assert_eq!(r["suggested_type"], "complaint", "{r}");
    let sure = r["suggested_confidence"].as_i64().unwrap();
    assert!((50..=100).contains(&sure), "{r}");
    assert_eq!(r["type_confirmed"], false);

    // The agent sees the suggestion on the request and confirms it there.
    let b = browser();
    login(app, &b, &app.admin_password).await.expect(303);
    let page = send(b.get(url(app, &format!("/requests/{id}"))))
        .await
        .expect(200);
    assert!(
        page.text.contains("id=\"type-suggestion\""),
        "{}",
        page.text
    );
    assert!(page.text.contains("从文字看，这是"), "{}", page.text);
    let csrf = scrape_csrf(&page.text);
    let version = r["version"].as_i64().unwrap().to_string();
    let saved = send(b.post(url(app, &format!("/requests/{id}/update"))).form(&[
        ("_csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("service_type", "complaint"),
    ]))
    .await
    .expect(303);
    // Back on the request, a short confirmation says it was saved.
    let back = saved.header("location").unwrap().to_owned();
    assert_eq!(back, format!("/requests/{id}?done=saved"));
    let confirmed = send(b.get(url(app, &back))).await.expect(200);
    assert!(confirmed.text.contains("id=\"done\"") && confirmed.text.contains("已保存"));
    // Only the known confirmations are shown; anything else in the address is ignored.
    let odd = send(b.get(url(app, &format!("/requests/{id}?done=%3Cb%3Ehacked"))))
        .await
        .expect(200);
    assert!(!odd.text.contains("id=\"done\"") && !odd.text.contains("hacked"));
    let d = get_json(app, &tok, &format!("/api/v1/requests/{id}"))
        .await
        .expect(200)
        .json;
    assert_eq!(d["request"]["type_confirmed"], true, "{d}");
    assert_eq!(d["request"]["service_type"], "complaint");
    let page = send(b.get(url(app, &format!("/requests/{id}"))))
        .await
        .expect(200);
    assert!(!page.text.contains("id=\"type-suggestion\""));
    assert!(page.text.contains("确认服务类型"), "history: {}", page.text);

    // The request prints as a service order with lines to sign.
    let print = send(b.get(url(app, &format!("/requests/{id}/print"))))
        .await
        .expect(200);
    let number = d["request"]["number"].as_str().unwrap();
    for part in [
        "服务单",
        number,
        "客户签字",
        "技师签字",
        "故障描述",
        "投诉你们的售后",
    ] {
        assert!(print.text.contains(part), "{part}: {}", print.text);
    }
    // A refused form answers a page in the reader's language, with the way back.
    let refused = send(
        b.post(url(app, &format!("/requests/{id}/update")))
            .form(&[("version", "1"), ("priority", "high")]),
    )
    .await
    .expect(403);
    for part in [
        "id=\"message\"",
        "/static/app.css",
        "没有权限",
        "返回",
        "回到首页",
    ] {
        assert!(refused.text.contains(part), "{part}: {}", refused.text);
    }

    // A question stays a consultation; an agent changing the type settles it too.
    let id = inbound(mail(
        "type-2",
        "咨询",
        "请问你们的空调以旧换新有什么活动吗？旧机可以抵多少钱？",
    ))
    .await;
    let d = get_json(app, &tok, &format!("/api/v1/requests/{id}"))
        .await
        .expect(200)
        .json;
    assert_eq!(d["request"]["service_type"], "consultation", "{d}");
    let version = d["request"]["version"].as_i64().unwrap();
    let d = send(
        api(app, Method::PATCH, &format!("/api/v1/requests/{id}"), &tok)
            .json(&json!({"version": version, "service_type": "exchange"})),
    )
    .await
    .expect(200)
    .json;
    assert_eq!(
        (
            &d["request"]["service_type"],
            &d["request"]["type_confirmed"]
        ),
        (&json!("exchange"), &json!(true))
    );

    // A request opened by staff on the phone has no suggestion to confirm.
    let customer = create_customer(app, &tok, &person("钱多多", "13700137011")).await;
    let id = post_json(
        app,
        &tok,
        "/api/v1/requests",
        &json!({"customer_id": customer, "service_type": "repair", "subject": "冰箱不冷"}),
    )
    .await
    .expect(201)
    .id();
    let d = get_json(app, &tok, &format!("/api/v1/requests/{id}"))
        .await
        .expect(200)
        .json;
    assert!(d["request"]["suggested_type"].is_null(), "{d}");
}

on_both_databases!(a_mailed_complaint_is_filed_as_a_complaint_and_the_agent_confirms_its_type => mailed_text_suggests_the_service_type);

async fn portal_password_is_reset_by_a_mailed_link(app: &TestApp) {
    let (old_session, _) = portal_customer(app, "周莉", "zhou.li@example.cn").await;
    let anon = browser();
    let mails_to = |to: &'static str| async move {
        app.app
            .store
            .outbox_due(app.app.now(), 500)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.to == to)
            .count()
    };
    // An address with an account and one without get the same answer; only the first
    // gets a mail.
    let before_unknown = mails_to("nobody@example.cn").await;
    for email in ["Zhou.Li@example.cn", "nobody@example.cn"] {
        let r = send(
            anon.post(url(app, "/portal/forgot"))
                .form(&[("email", email)]),
        )
        .await
        .expect(200);
        assert!(r.text.contains("id=\"reset-sent\""), "{}", r.text);
    }
    assert_eq!(mails_to("nobody@example.cn").await, before_unknown);
    let waiting = app.app.store.outbox_due(app.app.now(), 500).await.unwrap();
    let mail = waiting
        .iter()
        .rfind(|m| m.body.contains("/portal/reset?token="))
        .expect("a reset mail");
    assert_eq!(mail.to, "Zhou.Li@example.cn");
    assert!(mail.subject.contains("重设"), "{}", mail.subject);
    let start = mail.body.find("/portal/reset?token=").unwrap();
    let link = mail.body[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let token = link.split("token=").nth(1).unwrap().to_owned();

    // The link's page asks for the new password; two that differ are refused.
    let page = send(anon.get(url(app, &link))).await.expect(200);
    assert!(page.text.contains("id=\"reset-form\""), "{}", page.text);
    let r = send(anon.post(url(app, "/portal/reset")).form(&[
        ("token", token.as_str()),
        ("password", "a new horse battery"),
        ("password_again", "another horse battery"),
    ]))
    .await
    .expect(422);
    assert!(r.text.contains("两次输入的密码不一致"), "{}", r.text);
    let r = send(anon.post(url(app, "/portal/reset")).form(&[
        ("token", token.as_str()),
        ("password", "a new horse battery"),
        ("password_again", "a new horse battery"),
    ]))
    .await
    .expect(303);
    assert_eq!(r.header("location"), Some("/portal"));
    // Signed in with the new password; every older session ended; the link is spent.
    send(anon.get(url(app, "/portal"))).await.expect(200);
    assert_ne!(send(old_session.get(url(app, "/portal"))).await.status, 200);
    let again = send(anon.get(url(app, &link))).await.expect(404);
    assert!(again.text.contains("id=\"link-invalid\""));
    let b = browser();
    let old = send(b.post(url(app, "/portal/login")).form(&[
        ("email", "zhou.li@example.cn"),
        ("password", "correct horse battery"),
    ]))
    .await;
    assert_ne!(old.status, 303, "the old password still works");
    send(b.post(url(app, "/portal/login")).form(&[
        ("email", "zhou.li@example.cn"),
        ("password", "a new horse battery"),
    ]))
    .await
    .expect(303);

    // The same over the API.
    let r = send(
        browser()
            .post(url(app, "/api/v1/portal/password-reset"))
            .json(&json!({"email": "zhou.li@example.cn"})),
    )
    .await
    .expect(202);
    assert_eq!(r.json["status"], "reset_sent");
    let r = send(
        browser()
            .post(url(app, "/api/v1/portal/password-reset/confirm"))
            .json(&json!({"token": token, "password": "yet another horse"})),
    )
    .await
    .expect(422);
    assert_eq!(
        r.json["fields"][0]["code"], "reset_link_invalid",
        "{}",
        r.text
    );
}

on_both_databases!(a_portal_password_is_reset_by_a_link_mailed_to_the_account => portal_password_is_reset_by_a_mailed_link);

async fn customers_get_mail_in_their_language(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let outbox = |to: &'static str| async move {
        app.app
            .store
            .outbox_due(app.app.now(), 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to))
            .map(|m| format!("{}\n{}", m.subject, m.body))
            .collect::<Vec<_>>()
    };
    let id = create_customer(
        app,
        &tok,
        &json!({"name": "陳大文", "phones": [{"number": "+852 9123 4567"}],
                "emails": [{"address": "chan.taiman@example.hk"}]}),
    )
    .await;
    // Staff set the language; a receipt then comes in it, and only in it.
    let lang = |l: &str| {
        let tok = tok.clone();
        let l = l.to_owned();
        async move {
            send(
                api(
                    app,
                    Method::PUT,
                    &format!("/api/v1/customers/{id}/language"),
                    &tok,
                )
                .json(&json!({ "lang": l })),
            )
            .await
        }
    };
    lang("zh-Hant").await.expect(204);
    let c = get_json(app, &tok, &format!("/api/v1/customers/{id}"))
        .await
        .expect(200);
    assert_eq!(
        c.json["customer"]["lang"]
            .as_str()
            .or(c.json["lang"].as_str()),
        Some("zh-Hant"),
        "{}",
        c.text
    );
    let open = |subject: &'static str| {
        let tok = tok.clone();
        async move {
            post_json(
                app,
                &tok,
                "/api/v1/requests",
                &json!({"customer_id": id, "service_type": "repair", "subject": subject}),
            )
            .await
            .expect(201);
        }
    };
    open("雪櫃唔凍").await;
    let mails = outbox("chan.taiman@example.hk").await;
    let receipt = mails.last().expect("a receipt");
    assert!(receipt.contains("我們已收到"), "{receipt}");
    assert!(
        !receipt.contains("Dear") && !receipt.contains("我们"),
        "{receipt}"
    );
    lang("en").await.expect(204);
    open("Fridge not cold").await;
    let receipt = outbox("chan.taiman@example.hk").await.pop().unwrap();
    assert!(
        receipt.contains("We have received") && !receipt.contains("收到"),
        "{receipt}"
    );
    // A language that is not one of the three is refused and changes nothing.
    let bad = lang("fr").await.expect(422);
    assert_eq!(
        bad.json["fields"][0]["code"], "lang_unknown",
        "{}",
        bad.text
    );
    let c = get_json(app, &tok, &format!("/api/v1/customers/{id}"))
        .await
        .expect(200);
    assert!(c.text.contains("\"lang\":\"en\""), "{}", c.text);

    // Someone new who writes in traditional characters is written back to in them.
    let raw = "From: Lam Siu Ming <lam.siuming@example.hk>\r\nTo: service@example.cn\r\n\
               Subject: =?UTF-8?B?5Ya35rCj5qmf5ryP5rC0?=\r\nMessage-ID: <lang-1@example.hk>\r\n\
               Content-Type: text/plain; charset=utf-8\r\n\r\n部冷氣機一直漏水，唔該盡快派師傅上門。\r\n";
    send(
        api(app, Method::POST, "/api/v1/mail/inbound", &tok)
            .header("Content-Type", "message/rfc822")
            .body(raw),
    )
    .await
    .expect(200);
    let receipt = outbox("lam.siuming@example.hk")
        .await
        .pop()
        .expect("a receipt");
    assert!(receipt.contains("我們已收到"), "{receipt}");

    // In the portal, the customer's own choice of language is their mail's too.
    let (b, csrf) = portal_customer(app, "Mary Wong", "mary.wong@example.hk").await;
    send(
        b.post(url(app, "/portal/lang"))
            .form(&[("lang", "en"), ("_csrf", csrf.as_str())]),
    )
    .await
    .expect(303);
    let rows = get_json(app, &tok, "/api/v1/customers?q=mary.wong%40example.hk")
        .await
        .expect(200);
    let mary = rows.items()[0]["id"].as_i64().unwrap();
    let c = get_json(app, &tok, &format!("/api/v1/customers/{mary}"))
        .await
        .expect(200);
    assert!(c.text.contains("\"lang\":\"en\""), "{}", c.text);
}

on_both_databases!(customers_get_mail_in_the_language_they_chose_or_wrote_in => customers_get_mail_in_their_language);

async fn a_calendar_subscription_opens_ones_visits_without_signing_in(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let admin_id = get_json(app, &tok, "/api/v1/me").await.expect(200).json["id"]
        .as_i64()
        .unwrap();
    let customer = create_customer(app, &tok, &person("冯师奶", "13700137031")).await;
    let id = post_json(
        app,
        &tok,
        "/api/v1/requests",
        &json!({"customer_id": customer, "service_type": "repair", "subject": "洗碗机不排水",
                "description": "洗完碗底部积水，报E2"}),
    )
    .await
    .expect(201)
    .id();
    post_json(
        app,
        &tok,
        &format!("/api/v1/requests/{id}/visits"),
        &json!({"technician_id": admin_id, "starts_at": "2030-01-08T10:00", "ends_at": "2030-01-08T11:00",
                "address": "广州市天河区体育西路 1 号"}),
    )
    .await
    .expect(201);

    let b = browser();
    login(app, &b, &app.admin_password).await.expect(303);
    let page = send(b.get(url(app, "/visits"))).await.expect(200);
    assert!(page.text.contains("id=\"feed-create\""), "{}", page.text);
    let csrf = scrape_csrf(&page.text);
    let made = send(
        b.post(url(app, "/visits/calendar-feed"))
            .form(&[("_csrf", csrf.as_str())]),
    )
    .await
    .expect(200);
    let start = made
        .text
        .find("/calendar/c_")
        .expect("the address, shown once");
    let path = made.text[start..].split('"').next().unwrap().to_owned();
    // A calendar app fetches it with no cookie and no token.
    let ics = send(browser().get(url(app, &path))).await.expect(200);
    assert!(
        ics.header("content-type")
            .unwrap_or("")
            .starts_with("text/calendar"),
        "{:?}",
        ics.header("content-type")
    );
    let unfolded = ics.text.replace("\r\n ", "");
    for part in [
        "洗碗机不排水",
        "☎ +8613700137031",
        "报E2",
        "LOCATION:广州市天河区体育西路 1 号",
    ] {
        assert!(unfolded.contains(part), "{part}: {unfolded}");
    }
    // Shown once: the page afterwards says since when, not the address.
    let page = send(b.get(url(app, "/visits"))).await.expect(200);
    assert!(!page.text.contains(&path) && page.text.contains("id=\"feed-revoke\""));
    // A new address stops the old one; revoking stops any.
    let csrf = scrape_csrf(&page.text);
    let again = send(
        b.post(url(app, "/visits/calendar-feed"))
            .form(&[("_csrf", csrf.as_str())]),
    )
    .await
    .expect(200);
    let start = again.text.find("/calendar/c_").unwrap();
    let newer = again.text[start..].split('"').next().unwrap().to_owned();
    send(browser().get(url(app, &path))).await.expect(404);
    send(browser().get(url(app, &newer))).await.expect(200);
    send(
        b.post(url(app, "/visits/calendar-feed/revoke"))
            .form(&[("_csrf", csrf.as_str())]),
    )
    .await
    .expect(303);
    send(browser().get(url(app, &newer))).await.expect(404);
    send(browser().get(url(app, "/calendar/c_nonsense.ics")))
        .await
        .expect(404);
    // An API token does not hand out calendar secrets (the page wants a signed-in person).
    let r = send(api(app, Method::POST, "/visits/calendar-feed", &tok)).await;
    assert!(!r.text.contains("/calendar/c_"), "{} {}", r.status, r.text);
}

on_both_databases!(calendar_apps_subscribe_to_a_technicians_visits_by_a_revocable_secret => a_calendar_subscription_opens_ones_visits_without_signing_in);

async fn each_role_sees_only_the_controls_it_may_use(app: &TestApp) {
    let admin = token(app, &["admin"]).await;
    let tok = token(app, &["write"]).await;
    for (email, role) in [
        ("fenxi@example.cn", "analyst"),
        ("chanpin@example.cn", "product_manager"),
        ("kefu@example.cn", "agent"),
    ] {
        post_json(
            app,
            &admin,
            "/api/v1/users",
            &json!({"email": email, "name": role, "password": "role-password", "role": role}),
        )
        .await
        .expect(201);
    }
    let customer = create_customer(app, &tok, &person("权限测试", "13700137041")).await;
    let signed_in = |email: &'static str| async move {
        let b = browser();
        send(
            b.post(url(app, "/login"))
                .form(&[("email", email), ("password", "role-password")]),
        )
        .await
        .expect(303);
        b
    };
    let page = |b: Client, path: String| async move {
        send(b.get(url(app, &path))).await.expect(200).text
    };

    // An analyst reads the customer but is offered no order, edit, contact or tier form.
    let analyst = signed_in("fenxi@example.cn").await;
    let p = page(analyst.clone(), format!("/customers/{customer}")).await;
    for control in [
        "id=\"new-order\"",
        "/edit\"",
        "/interactions\"",
        "id=\"tier-form\"",
        "id=\"mail-lang-form\"",
        "/requests/new?customer_id",
    ] {
        assert!(!p.contains(control), "analyst sees {control}");
    }
    let p = page(analyst.clone(), "/requests".into()).await;
    assert!(
        !p.contains("href=\"/requests/new\""),
        "analyst sees new request"
    );
    // The product manager curates feedback but does not add it.
    let pm = signed_in("chanpin@example.cn").await;
    let p = page(pm, "/feedback".into()).await;
    assert!(
        !p.contains("id=\"add\""),
        "product manager sees add feedback"
    );
    // An agent works requests and customers but neither imports nor merges.
    let agent = signed_in("kefu@example.cn").await;
    let p = page(agent.clone(), format!("/customers/{customer}")).await;
    assert!(p.contains("id=\"new-order\"") && p.contains("/requests/new?customer_id"));
    assert!(!p.contains("href=\"/import\"") && !p.contains("href=\"/duplicates\""));
    // A return waiting for a decision: agents take it on, managers decide.
    let product = seed_product(app, &tok).await;
    let today = app.app.now().to_string()[..10].to_owned();
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(customer, product, "ROLE-0001", &today),
    )
    .await
    .expect(201);
    let asset = app
        .app
        .store
        .asset_by_serial("ROLE-0001")
        .await
        .unwrap()
        .unwrap()
        .to_string();
    let request = post_json(
        app,
        &tok,
        "/api/v1/requests",
        &json!({"customer_id": customer, "asset_id": asset.parse::<i64>().unwrap(), "service_type": "exchange", "subject": "新机有异响"}),
    )
    .await
    .expect(201)
    .id();
    post_json(
        app,
        &tok,
        &format!("/api/v1/requests/{request}/rmas"),
        &json!({"kind": "exchange", "reason": "开箱异响"}),
    )
    .await
    .expect(201);
    let p = page(agent, format!("/requests/{request}")).await;
    assert!(p.contains("data-rma="), "{p}");
    assert!(
        !p.contains("value=\"approved\"") && !p.contains("value=\"rejected\""),
        "agent may approve"
    );
    // The administrator sees them all.
    let b = browser();
    login(app, &b, &app.admin_password).await.expect(303);
    let p = page(b.clone(), format!("/requests/{request}")).await;
    assert!(p.contains("value=\"approved\""), "admin misses approve");
    let p = page(b, format!("/customers/{customer}")).await;
    for control in [
        "id=\"new-order\"",
        "id=\"tier-form\"",
        "href=\"/import\"",
        "href=\"/duplicates\"",
    ] {
        assert!(p.contains(control), "admin misses {control}");
    }
}

on_both_databases!(each_role_is_shown_only_the_controls_it_may_use => each_role_sees_only_the_controls_it_may_use);

async fn the_desk_filters_keeps_views_and_starts_each_role_where_its_work_is(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let admin_id = get_json(app, &tok, "/api/v1/me").await.expect(200).json["id"]
        .as_i64()
        .unwrap();
    let a = create_customer(app, &tok, &person("筛选甲", "13700137051")).await;
    let b = create_customer(app, &tok, &person("筛选乙", "13700137052")).await;
    let open = |customer: i64, ty: &'static str, subject: &'static str| {
        let tok = tok.clone();
        async move {
            post_json(
                app,
                &tok,
                "/api/v1/requests",
                &json!({"customer_id": customer, "service_type": ty, "subject": subject, "priority": "high"}),
            )
            .await
            .expect(201)
            .id()
        }
    };
    let complaint = open(a, "complaint", "安装师傅迟到两小时").await;
    let repair = open(b, "repair", "空调不制冷").await;
    let numbers = |r: &Reply| -> Vec<i64> {
        r.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    };
    // Filters narrow the list; words find the subject and the customer's name.
    let r = get_json(
        app,
        &tok,
        "/api/v1/requests?queue=any&service_type=complaint",
    )
    .await
    .expect(200);
    assert_eq!(numbers(&r), [complaint]);
    let r = get_json(
        app,
        &tok,
        "/api/v1/requests?queue=all&q=%E7%AD%9B%E9%80%89%E4%B9%99",
    )
    .await
    .expect(200);
    assert_eq!(numbers(&r), [repair], "by the customer's name");
    let r = get_json(
        app,
        &tok,
        "/api/v1/requests?q=%E4%B8%8D%E5%88%B6%E5%86%B7&sort=oldest",
    )
    .await
    .expect(200);
    assert_eq!(numbers(&r), [repair], "by words of the subject");
    // Words are found whatever their case, on both databases.
    let aircon = open(b, "repair", "Aircon LEAKING").await;
    let r = get_json(app, &tok, "/api/v1/requests?queue=all&q=aircon%20leak")
        .await
        .expect(200);
    assert_eq!(numbers(&r), [aircon]);
    let r = get_json(
        app,
        &tok,
        "/api/v1/requests?queue=any&sla=on_track&sort=due&limit=1",
    )
    .await
    .expect(200);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 1);
    let next = r.json["next_cursor"].as_str().unwrap().to_string();
    let r2 = get_json(
        app,
        &tok,
        &format!("/api/v1/requests?queue=any&sla=on_track&sort=due&limit=1&cursor={next}"),
    )
    .await
    .expect(200);
    assert_ne!(numbers(&r2), numbers(&r), "the due order pages on");
    let today = app.app.clock.today();
    let r = get_json(
        app,
        &tok,
        &format!("/api/v1/requests?queue=any&opened_from={today}&opened_to={today}&assignee=none"),
    )
    .await
    .expect(200);
    assert!(numbers(&r).contains(&complaint), "{}", r.text);
    // Bad filters are named, in the caller's language.
    let bad = send(
        api(
            app,
            Method::GET,
            "/api/v1/requests?sla=late&sort=price&tier=gold&opened_from=2026-13-01",
            &tok,
        )
        .header("Accept-Language", "zh-CN"),
    )
    .await
    .expect(422);
    let fields: Vec<&str> = bad.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["tier", "sla", "sort", "opened_from"],
        "{}",
        bad.text
    );
    assert!(has_cjk(bad.json["fields"][0]["message"].as_str().unwrap()));

    // A saved view keeps the filters, per person; a bad one is refused with its field.
    let v = post_json(
        app,
        &tok,
        "/api/v1/views",
        &json!({"name": "投诉", "query": "queue=all&service_type=complaint&cursor=abc"}),
    )
    .await
    .expect(201)
    .id();
    let views = get_json(app, &tok, "/api/v1/views").await.expect(200);
    assert_eq!(views.json[0]["query"], "queue=all&service_type=complaint");
    // The same name again replaces it.
    let again = post_json(
        app,
        &tok,
        "/api/v1/views",
        &json!({"name": "投诉", "query": "queue=all&service_type=complaint&sla=warned"}),
    )
    .await
    .expect(201)
    .id();
    assert_eq!(again, v);
    let views = get_json(app, &tok, "/api/v1/views").await.expect(200);
    assert_eq!(views.json.as_array().unwrap().len(), 1);
    assert_eq!(
        views.json[0]["query"],
        "queue=all&service_type=complaint&sla=warned"
    );
    post_json(
        app,
        &tok,
        "/api/v1/views",
        &json!({"name": "投诉", "query": "queue=all&service_type=complaint"}),
    )
    .await
    .expect(201);
    let bad = post_json(
        app,
        &tok,
        "/api/v1/views",
        &json!({"name": "", "query": "queue=nowhere"}),
    )
    .await
    .expect(422);
    assert_eq!(bad.json["fields"][0]["field"], "name");
    assert_eq!(bad.json["fields"][1]["field"], "queue");
    assert_eq!(
        get_json(app, &tok, "/api/v1/views")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The queue page: filters, the view as a link, sortable columns.
    let br = browser();
    login(app, &br, &app.admin_password).await.expect(303);
    let page = send(br.get(url(app, "/requests?queue=all&service_type=complaint")))
        .await
        .expect(200)
        .text;
    assert!(page.contains(&format!("data-id=\"{complaint}\"")));
    assert!(!page.contains(&format!("data-id=\"{repair}\"")));
    assert!(
        page.contains("href=\"/requests?queue=all&#38;service_type=complaint\" class=\"on\""),
        "{page}"
    );
    assert!(page.contains("sort=due"));
    // History names people, not their addresses.
    let req_page = send(br.get(url(app, &format!("/requests/{complaint}"))))
        .await
        .expect(200)
        .text;
    assert!(
        !req_page.contains(&format!("· {}</span>", app.admin_email)),
        "{req_page}"
    );
    let audit = get_json(app, &token(app, &["admin"]).await, "/api/v1/audit?limit=5")
        .await
        .expect(200);
    assert!(audit.text.contains("\"actor_name\""), "{}", audit.text);
    let wrong = send(br.get(url(app, "/requests?sla=late")))
        .await
        .expect(422)
        .text;
    assert!(wrong.contains("SLA"), "{wrong}");
    send(api(
        app,
        Method::DELETE,
        &format!("/api/v1/views/{v}"),
        &tok,
    ))
    .await
    .expect(204);
    send(api(
        app,
        Method::DELETE,
        &format!("/api/v1/views/{v}"),
        &tok,
    ))
    .await
    .expect(404);

    // Unread notifications are counted for the badge.
    let unread = get_json(app, &tok, "/api/v1/notifications/unread")
        .await
        .expect(200);
    assert!(unread.json["unread"].as_i64().is_some());

    // The administrator starts on the dashboard: the complaint is among the open ones,
    // and this week's opened count links to the requests behind it.
    let start = send(br.get(url(app, "/"))).await.expect(303);
    assert_eq!(start.header("location"), Some("/dashboard"));
    let d = send(br.get(url(app, "/dashboard"))).await.expect(200).text;
    assert!(d.contains("data-kpi=\"complaints\""), "{d}");
    assert!(d.contains("<svg class=\"chart\""));
    assert!(d.contains("opened_from="));
    let api_d = get_json(app, &tok, "/api/v1/dashboard?unit=month")
        .await
        .expect(200);
    assert_eq!(api_d.json["buckets"].as_array().unwrap().len(), 12);
    assert!(api_d.json["now"]["complaints_open"].as_i64().unwrap() >= 1);
    let this_month = &api_d.json["buckets"][11];
    assert!(
        this_month["opened"].as_i64().unwrap() >= 2,
        "{}",
        api_d.text
    );

    // A technician starts on the day's visits: phone to call, address to navigate to.
    let admin = token(app, &["admin"]).await;
    post_json(
        app,
        &admin,
        "/api/v1/users",
        &json!({"email": "shifu@example.cn", "name": "李师傅", "password": "role-password", "role": "technician"}),
    )
    .await
    .expect(201);
    let tech_id = get_json(app, &admin, "/api/v1/users")
        .await
        .expect(200)
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "shifu@example.cn")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let _ = admin_id;
    post_json(
        app,
        &tok,
        &format!("/api/v1/requests/{repair}/visits"),
        &json!({"technician_id": tech_id, "starts_at": "2030-01-09T14:00", "ends_at": "2030-01-09T15:00",
                "address": "深圳市南山区科技园 2 号"}),
    )
    .await
    .expect(201);
    post_json(
        app,
        &tok,
        &format!("/api/v1/requests/{repair}/visits"),
        &json!({"technician_id": tech_id, "starts_at": "2030-01-09T09:00", "ends_at": "2030-01-09T10:00",
                "address": "深圳市福田区 1 号"}),
    )
    .await
    .expect(201);
    let tech = browser();
    send(
        tech.post(url(app, "/login"))
            .form(&[("email", "shifu@example.cn"), ("password", "role-password")]),
    )
    .await
    .expect(303);
    assert_eq!(
        send(tech.get(url(app, "/")))
            .await
            .expect(303)
            .header("location"),
        Some("/visits/day")
    );
    let day = send(tech.get(url(app, "/visits/day?date=2030-01-09")))
        .await
        .expect(200)
        .text;
    let first = day.find("09:00–10:00").expect("the morning visit");
    let second = day.find("14:00–15:00").expect("the afternoon visit");
    assert!(first < second, "in order of time");
    assert!(day.contains("href=\"tel:+8613700137052\""), "{day}");
    assert!(day.contains("uri.amap.com/search?keyword="), "{day}");
    assert!(day.contains("name=\"day\" value=\"2030-01-09\""));
    let bad = send(tech.get(url(app, "/visits/day?date=2030-02-30")))
        .await
        .expect(422);
    assert!(bad.text.contains("id=\"message\""));
}

on_both_databases!(the_desk_filters_keeps_views_and_starts_each_role_at_its_work => the_desk_filters_keeps_views_and_starts_each_role_where_its_work_is);

async fn the_message_library_gives_agents_filled_replies(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let customer = create_customer(app, &tok, &person("话术客户", "13700137061")).await;
    let request = post_json(
        app,
        &tok,
        "/api/v1/requests",
        &json!({"customer_id": customer, "service_type": "repair", "subject": "冰箱不制冷"}),
    )
    .await
    .expect(201)
    .id();
    let text = |status: &str| {
        json!({"name": "预约确认", "status": status,
               "body_zh_hans": "{customer_name}您好，您的请求 {request_number} 已受理。—{agent_name}",
               "body_zh_hant": "{customer_name}您好，您的請求 {request_number} 已受理。",
               "body_en": "Dear {customer_name}, we have your request {request_number}."})
    };
    // An unknown field and a missing language are named; nothing is stored.
    let mut bad = text("approved");
    bad["body_en"] = json!("Dear {name}");
    bad["body_zh_hant"] = json!("");
    let r = send(
        api(app, Method::POST, "/api/v1/message-texts", &tok)
            .header("Accept-Language", "zh-CN")
            .json(&bad),
    )
    .await
    .expect(422);
    let fields: Vec<(&str, &str)> = r.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("body_zh_hant", "required"),
            ("body_en", "text_field_unknown")
        ]
    );
    assert!(has_cjk(r.json["fields"][1]["message"].as_str().unwrap()));
    let draft = post_json(app, &tok, "/api/v1/message-texts", &text("draft"))
        .await
        .expect(201)
        .id();
    // A draft is not offered; approved, it is, filled in.
    let replies = get_json(app, &tok, &format!("/api/v1/requests/{request}/replies"))
        .await
        .expect(200);
    assert_eq!(replies.json.as_array().unwrap().len(), 0);
    let mut approved = text("approved");
    approved["version"] = json!(1);
    send(
        api(
            app,
            Method::PUT,
            &format!("/api/v1/message-texts/{draft}"),
            &tok,
        )
        .json(&approved),
    )
    .await
    .expect(204);
    // Without the version read, a change is refused rather than overwriting.
    let mut unversioned = text("approved");
    unversioned["body_en"] = json!("Dear {customer_name}.");
    let r = send(
        api(
            app,
            Method::PUT,
            &format!("/api/v1/message-texts/{draft}"),
            &tok,
        )
        .json(&unversioned),
    )
    .await
    .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "version");
    // The same version again: someone changed it since.
    send(
        api(
            app,
            Method::PUT,
            &format!("/api/v1/message-texts/{draft}"),
            &tok,
        )
        .json(&approved),
    )
    .await
    .expect(409);
    let replies = get_json(
        app,
        &tok,
        &format!("/api/v1/requests/{request}/replies?q=%E9%A2%84%E7%BA%A6"),
    )
    .await
    .expect(200);
    let number = get_json(app, &tok, &format!("/api/v1/requests/{request}"))
        .await
        .json["request"]["number"]
        .as_str()
        .unwrap()
        .to_string();
    let t = replies.json[0]["text"].as_str().unwrap();
    assert!(t.starts_with("话术客户您好，您的请求 "), "{t}");
    assert!(t.contains(&number), "{t}");
    assert!(!t.contains('{'), "{t}");
    // In the customer's language once it is known.
    send(
        api(
            app,
            Method::PUT,
            &format!("/api/v1/customers/{customer}/language"),
            &tok,
        )
        .json(&json!({"lang": "en"})),
    )
    .await
    .expect(204);
    let replies = get_json(app, &tok, &format!("/api/v1/requests/{request}/replies"))
        .await
        .expect(200);
    assert_eq!(replies.json[0]["lang"], "en");
    assert_eq!(
        replies.json[0]["text"],
        format!("Dear 话术客户, we have your request {number}.")
    );
    // An agent reads and uses the library but does not write it.
    let admin = token(app, &["admin"]).await;
    post_json(
        app,
        &admin,
        "/api/v1/users",
        &json!({"email": "huashu@example.cn", "name": "客服小赵", "password": "role-password", "role": "agent"}),
    )
    .await
    .expect(201);
    let b = browser();
    send(b.post(url(app, "/login")).form(&[
        ("email", "huashu@example.cn"),
        ("password", "role-password"),
    ]))
    .await
    .expect(303);
    let page = send(b.get(url(app, "/replies"))).await.expect(200).text;
    assert!(
        page.contains("预约确认") && !page.contains("id=\"text-form\""),
        "{page}"
    );
    let page = send(b.get(url(app, &format!("/requests/{request}"))))
        .await
        .expect(200)
        .text;
    assert!(page.contains("id=\"reply-pick\""));
    let csrf = scrape_csrf(&page);
    let r = send(b.post(url(app, "/replies")).form(&[
        ("_csrf", csrf.as_str()),
        ("name", "x"),
        ("body_zh_hans", "x"),
        ("body_zh_hant", "x"),
        ("body_en", "x"),
    ]))
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        get_json(app, &tok, "/api/v1/message-texts")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A refused article keeps what was typed.
    let adm = browser();
    login(app, &adm, &app.admin_password).await.expect(303);
    let page = send(adm.get(url(app, "/articles"))).await.expect(200).text;
    let csrf = scrape_csrf(&page);
    let r = send(adm.post(url(app, "/articles")).form(&[
        ("_csrf", csrf.as_str()),
        ("kind", "faq"),
        ("title_zh_hans", ""),
        ("body_zh_hans", "保留这段正文"),
    ]))
    .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("保留这段正文"), "{}", r.text);
}

on_both_databases!(the_message_library_is_one_voice_for_canned_replies => the_message_library_gives_agents_filled_replies);

async fn customers_add_photos_to_their_requests_in_the_portal(app: &TestApp) {
    use reqwest::multipart::{Form, Part};
    let (c, csrf) = portal_customer(app, "孙丽", "sun.li@example.cn").await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let photo = |name: &str, bytes: Vec<u8>| {
        Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str("image/png")
            .unwrap()
    };
    // A new request with a photo.
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("service_type", "repair")
        .text("subject", "热水器漏水")
        .text("description", "底部一直滴水")
        .part("files", photo("漏水.png", png.clone()));
    let r = send(c.post(url(app, "/portal/requests/new")).multipart(form)).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let at = r.header("location").unwrap().to_string();
    let page = send(c.get(url(app, &at))).await.expect(200).text;
    assert!(
        page.contains("漏水.png") && page.contains("/portal/attachments/"),
        "{page}"
    );
    let count = |p: &str| p.matches("/portal/attachments/").count();
    // A file that is not what it says is refused, naming the file; nothing is added.
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("body", "再补一张")
        .part("files", photo("照片.png", b"MZ\x90\0".to_vec()));
    let r = send(c.post(url(app, &format!("{at}/messages"))).multipart(form)).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(r.text.contains("flash bad"), "{}", r.text);
    let after = send(c.get(url(app, &at))).await.expect(200).text;
    assert_eq!(count(&after), count(&page));
    assert!(!after.contains("再补一张"));
    // Six files at once are too many.
    let mut form = Form::new().text("_csrf", csrf.clone()).text("body", "六张");
    for i in 0..6 {
        form = form.part("files", photo(&format!("{i}.png"), png.clone()));
    }
    let r = send(c.post(url(app, &format!("{at}/messages"))).multipart(form)).await;
    assert_eq!(r.status, 422, "{}", r.text);
    // Too many files on a new request: the form comes back with what was typed.
    let mut form = Form::new()
        .text("_csrf", csrf.clone())
        .text("service_type", "repair")
        .text("subject", "六张照片的请求")
        .text("description", "照片太多");
    for i in 0..6 {
        form = form.part("files", photo(&format!("{i}.png"), png.clone()));
    }
    let r = send(c.post(url(app, "/portal/requests/new")).multipart(form)).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.text.contains("六张照片的请求") && r.text.contains("id=\"request-form\""),
        "{}",
        r.text
    );
    // Photos alone, without words, are a message.
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("body", "")
        .part("files", photo("铭牌.png", png.clone()));
    let r = send(c.post(url(app, &format!("{at}/messages"))).multipart(form)).await;
    assert_eq!(r.status, 303, "{}", r.text);
    let last = send(c.get(url(app, &at))).await.expect(200).text;
    assert!(last.contains("铭牌.png"));
    // Without the CSRF token nothing is taken.
    let form = Form::new().part("files", photo("x.png", png.clone()));
    let r = send(c.post(url(app, &format!("{at}/messages"))).multipart(form)).await;
    assert_eq!(r.status, 403);
    // Staff see the photos on the request.
    let id: i64 = at.rsplit('/').next().unwrap().parse().unwrap();
    let tok = token(app, &["read"]).await;
    let d = get_json(app, &tok, &format!("/api/v1/requests/{id}"))
        .await
        .expect(200);
    let files: Vec<&str> = d.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["attachments"].as_array().unwrap())
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["漏水.png", "铭牌.png"]);
}

on_both_databases!(portal_photos_are_checked_and_reach_the_desk => customers_add_photos_to_their_requests_in_the_portal);

async fn exports_are_for_people_from_the_pages_and_coded_for_machines(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    create_customer(
        app,
        &tok,
        &json!({"name": "导出客户", "kind": "organisation", "company": "导出有限公司",
                "phones": [{"number": "13700137071"}]}),
    )
    .await;
    let b = browser();
    login(app, &b, &app.admin_password).await.expect(303);
    let csv = |r: Reply| r.text.trim_start_matches('\u{feff}').to_string();
    // For people: column names and values in the reader's language.
    let people = csv(send(
        b.get(url(app, "/export/customers.csv"))
            .header("Accept-Language", "zh-CN"),
    )
    .await
    .expect(200));
    let head = people.lines().next().unwrap().to_string();
    assert!(head.starts_with("编号,名称,类型,公司,电话"), "{head}");
    let row = people.lines().find(|l| l.contains("导出客户")).unwrap();
    assert!(row.contains(",机构,"), "{row}");
    assert!(!row.contains("organisation"), "{row}");
    // For machines: the codes the import reads, from the page and from the API.
    let codes = csv(send(b.get(url(app, "/export/customers.csv?codes=1")))
        .await
        .expect(200));
    assert!(codes.starts_with("id,name,kind,company,phone"), "{codes}");
    assert!(codes.contains(",organisation,"));
    let api_codes = csv(
        send(api(app, Method::GET, "/api/v1/export/customers.csv", &tok))
            .await
            .expect(200),
    );
    assert_eq!(api_codes, codes);
    let api_people = csv(send(
        api(
            app,
            Method::GET,
            "/api/v1/export/customers.csv?labels=true",
            &tok,
        )
        .header("Accept-Language", "en"),
    )
    .await
    .expect(200));
    assert!(
        api_people.starts_with("ID,Name,Type,Company,Phone"),
        "{api_people}"
    );
}

on_both_databases!(exports_speak_the_readers_language_or_codes => exports_are_for_people_from_the_pages_and_coded_for_machines);

async fn campaigns_reach_each_occurrence_once_with_a_holdout_under_consent_and_budget(
    app: &TestApp,
) {
    let tok = token(app, &["write"]).await;
    // One message a month, no quiet hours: this test may run at any hour.
    put_json(
        app,
        &tok,
        "/api/v1/contact-budget",
        &json!({"max_messages": 1, "period_days": 30, "quiet_from": 0, "quiet_to": 0}),
    )
    .await
    .expect(204);
    let r = send(
        api(app, Method::PUT, "/api/v1/contact-budget", &tok)
            .header("Accept-Language", "zh-CN")
            .json(&json!({"max_messages": 0, "period_days": 30, "quiet_from": 24, "quiet_to": 0})),
    )
    .await
    .expect(422);
    let fields: Vec<&str> = r.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["max_messages", "quiet_from"]);
    let budget = get_json(app, &tok, "/api/v1/contact-budget")
        .await
        .expect(200);
    assert_eq!(
        budget.json["max_messages"], 1,
        "a refused budget changes nothing"
    );

    // Forty customers who agreed to mail, one who did not, one without an address; each
    // bought an air conditioner whose 12-month guarantee ends in 20 days.
    let product = seed_product(app, &tok).await;
    let today = app
        .app
        .clock
        .now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
        .date();
    let bought = today
        .checked_sub(jiff::Span::new().months(12))
        .unwrap()
        .checked_add(jiff::Span::new().days(20))
        .unwrap();
    let ends = bought.checked_add(jiff::Span::new().months(12)).unwrap();
    let mut customers = vec![];
    for i in 0..42 {
        let mut body = person(&format!("保修客户{i}"), &format!("1370013{:04}", 7100 + i));
        if i != 41 {
            body["emails"] =
                json!([{"address": format!("warranty{i}@example.cn"), "primary": true}]);
        }
        if i != 40 {
            body["consent"] = json!(["email"]);
        }
        let cid = create_customer(app, &tok, &body).await;
        post_json(
            app,
            &tok,
            "/api/v1/orders",
            &order(
                cid,
                product,
                &format!("SN-CAMP-{i:03}"),
                &bought.to_string(),
            ),
        )
        .await
        .expect(201);
        customers.push(cid);
    }
    let text = |status: &str| {
        json!({"name": "延保推荐", "status": status,
               "body_zh_hans": "{customer_name}您好，您的{product_name}保修将于 {warranty_end} 到期。",
               "body_zh_hant": "{customer_name}您好，您的{product_name}保固將於 {warranty_end} 到期。",
               "body_en": "Dear {customer_name}, the warranty of your {product_name} ends on {warranty_end}."})
    };
    let draft = post_json(app, &tok, "/api/v1/message-texts", &text("draft"))
        .await
        .expect(201)
        .id();
    let approved = post_json(app, &tok, "/api/v1/message-texts", &text("approved"))
        .await
        .expect(201)
        .id();
    let campaign = |text_id: i64| {
        json!({"name": "保修到期提醒", "trigger": "warranty_ending", "lead_days": 30,
               "text_id": text_id, "holdout_percent": 20,
               "subject_zh_hans": "{customer_name}，您的保修即将到期", "subject_zh_hant": "保固即將到期",
               "subject_en": "Your warranty ends soon"})
    };
    // Every wrong field is named at once; a draft text may not go out.
    let mut bad = campaign(draft);
    bad["name"] = json!(" ");
    bad["trigger"] = json!("birthday_party");
    bad["holdout_percent"] = json!(60);
    let r = send(
        api(app, Method::POST, "/api/v1/campaigns", &tok)
            .header("Accept-Language", "zh-CN")
            .json(&bad),
    )
    .await
    .expect(422);
    let fields: Vec<(&str, &str)> = r.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("name", "required"),
            ("trigger", "trigger_unknown"),
            ("holdout_percent", "out_of_range"),
            ("text_id", "text_not_approved")
        ]
    );
    assert!(has_cjk(r.json["fields"][3]["message"].as_str().unwrap()));
    let id = post_json(app, &tok, "/api/v1/campaigns", &campaign(approved))
        .await
        .expect(201)
        .id();

    // The dry run shows who would get what, and writes nothing.
    let before = events_count(app).await;
    let dry = post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{id}/dry-run"),
        &json!({}),
    )
    .await
    .expect(200)
    .json;
    assert_eq!(events_count(app).await, before);
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap();
    let counts = &dry["counts"];
    assert_eq!((n(counts, "no_consent"), n(counts, "no_address")), (1, 1));
    assert_eq!(n(counts, "sent") + n(counts, "held_out"), 40);
    let held = n(counts, "held_out");
    assert!((1..=18).contains(&held), "about a fifth held out: {held}");
    let row = dry["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["outcome"] == "sent")
        .unwrap();
    let body = row["body"].as_str().unwrap();
    assert!(
        body.contains(row["name"].as_str().unwrap())
            && body.contains("变频空调 1.5 匹")
            && body.contains(&ends.to_string()),
        "{body}"
    );
    assert!(row["subject"].as_str().unwrap().starts_with("保修客户"));

    // Started, the round does what the dry run showed: the same holdout.
    let started = post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{id}/status"),
        &json!({"status": "running", "version": 1}),
    )
    .await
    .expect(200)
    .json;
    assert_eq!(started["status"], "running");
    let round = app.app.campaign_round().await.unwrap();
    assert!(!round.quiet);
    assert_eq!(round.counts.sent, n(counts, "sent"));
    assert_eq!(round.counts.held_out, held);
    let mails = app
        .app
        .store
        .outbox_due(app.app.clock.now(), 1000)
        .await
        .unwrap();
    let campaign_mails: Vec<_> = mails
        .iter()
        .filter(|m| m.subject.ends_with("您的保修即将到期"))
        .collect();
    assert_eq!(
        campaign_mails.len() as u64,
        round.counts.sent,
        "the holdout gets no mail"
    );
    // Without steps or a link in its text there is nothing to follow: no journeys.
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM campaign_journeys WHERE campaign_id = {id}"
            ))
            .await,
        0
    );
    // Each occurrence once: the next round adds nothing, and writing the same decisions
    // again (another server's round) writes and queues nothing.
    let again = app.app.campaign_round().await.unwrap();
    assert_eq!(again.counts.total(), 0);
    let k = app.app.store.campaign(id).await.unwrap().unwrap();
    let twice = aftercare_app::campaign_model::Enrolment {
        customer_id: aftercare_domain::CustomerId(customers[0]),
        occurrence: format!("asset:{}:{ends}", {
            let v = get_json(
                app,
                &tok,
                &format!("/api/v1/customers/{}/360", customers[0]),
            )
            .await
            .expect(200)
            .json;
            v["assets"][0]["id"].as_i64().unwrap()
        }),
        outcome: aftercare_domain::campaign::Outcome::Sent,
        token: Some("f".repeat(32)),
        fields: Default::default(),
        mail: Some(aftercare_app::campaign_model::CampaignMail {
            to: "warranty0@example.cn".into(),
            subject: "again".into(),
            body: "again".into(),
        }),
        voucher: None,
    };
    assert_eq!(
        app.app
            .store
            .enrol(&k, &[twice], app.app.clock.now())
            .await
            .unwrap(),
        0
    );

    // A mailed customer buys an extended warranty: the order is the campaign's.
    let list = get_json(app, &tok, "/api/v1/campaigns")
        .await
        .expect(200)
        .json;
    assert_eq!(list[0]["counts"]["sent"], round.counts.sent);
    let mailed = customers
        .iter()
        .copied()
        .find(|c| {
            !aftercare_domain::campaign::in_holdout(k.seed as u64, *c, 20)
                && *c != customers[40]
                && *c != customers[41]
        })
        .unwrap();
    let v = get_json(app, &tok, &format!("/api/v1/customers/{mailed}/360"))
        .await
        .expect(200)
        .json;
    assert!(
        v["timeline"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "campaign" && t["summary"] == "保修到期提醒"),
        "the mail is on the customer's timeline"
    );
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(mailed, product, "SN-CAMP-EXT", &today.to_string()),
    )
    .await
    .expect(201);
    let res = get_json(app, &tok, &format!("/api/v1/campaigns/{id}/results"))
        .await
        .expect(200)
        .json;
    assert_eq!(res["attributed_orders"], 1);
    assert_eq!(res["attributed_revenue"], 399_900);
    assert_eq!(res["contacted"].as_u64().unwrap(), round.counts.sent);
    assert_eq!(res["held_out"].as_u64().unwrap(), held);
    let rate = res["purchase_rate"]["contacted"].as_f64().unwrap();
    assert!((rate - 1.0 / round.counts.sent as f64).abs() < 1e-9);
    assert_eq!(res["purchase_rate"]["holdout"], 0.0);
    assert!(
        res["purchase_rate"]["low"].is_null(),
        "under 30 held out: no interval"
    );
    // Nobody here was scored yet, nor moved a loyalty stage: both groups read 0.
    assert_eq!(
        (
            res["clv"]["contacted"].as_f64(),
            res["stage_up"]["holdout"].as_f64()
        ),
        (Some(0.0), Some(0.0))
    );

    // One budget across campaigns and surveys: the purchase brings no survey to a
    // customer who had their one message this month.
    let s = app.app.survey_round().await.unwrap();
    assert_eq!((s.pressure, s.mailed), (1, 0), "{s:?}");

    // A second campaign to everyone: the budget of one a month holds back whoever got
    // the first; the first's holdout is reached. Segments are of scored customers.
    let job = post_json(app, &tok, "/api/v1/value/recompute", &json!({}))
        .await
        .expect(202)
        .id();
    for _ in 0..200 {
        let j = get_json(app, &tok, &format!("/api/v1/value/jobs/{job}"))
            .await
            .expect(200);
        if !j.json["finished_at"].is_null() {
            assert_eq!(j.json["stage"], "done", "{}", j.json);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let segment = post_json(
        app,
        &tok,
        "/api/v1/segments",
        &json!({"name": "全部客户", "filter": {}}),
    )
    .await
    .expect(201)
    .id();
    let mut everyone = campaign(approved);
    everyone["trigger"] = json!("segment");
    everyone["segment_id"] = json!(segment);
    everyone["holdout_percent"] = json!(0);
    // A segment has no item: a text about one would reach customers with blanks.
    let r = post_json(app, &tok, "/api/v1/campaigns", &everyone)
        .await
        .expect(422);
    assert_eq!(r.json["fields"][0]["field"], "text_id");
    assert_eq!(r.json["fields"][0]["code"], "field_not_for_trigger");
    let plain = post_json(
        app,
        &tok,
        "/api/v1/message-texts",
        &json!({"name": "感谢信", "status": "approved",
                "body_zh_hans": "{customer_name}您好，感谢您一直以来的信任。",
                "body_zh_hant": "{customer_name}您好，感謝您一直以來的信任。",
                "body_en": "Dear {customer_name}, thank you for your trust."}),
    )
    .await
    .expect(201)
    .id();
    everyone["text_id"] = json!(plain);
    let second = post_json(app, &tok, "/api/v1/campaigns", &everyone)
        .await
        .expect(201)
        .id();
    post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{second}/status"),
        &json!({"status": "running", "version": 1}),
    )
    .await
    .expect(200);
    let r2 = app.app.campaign_round().await.unwrap();
    assert_eq!(r2.counts.pressure, round.counts.sent);
    assert_eq!(r2.counts.sent, held);
    assert_eq!((r2.counts.no_consent, r2.counts.no_address), (1, 1));
    // The next sweep decides the held back again, writes nothing, and asks for no more.
    app.app
        .store
        .mark_swept(
            second,
            app.app.clock.now() - jiff::SignedDuration::from_hours(1),
            None,
        )
        .await
        .unwrap();
    let again = app.app.campaign_round().await.unwrap();
    assert_eq!(again.counts.pressure, round.counts.sent);
    assert_eq!((again.written, again.more), (0, false));

    // After a resolved request: only what is resolved once the campaign runs, once.
    let admin_id = get_json(app, &tok, "/api/v1/me").await.expect(200).json["id"]
        .as_i64()
        .unwrap();
    let caller = |name: &str, phone: &str, mail: &str| {
        let mut p = person(name, phone);
        p["emails"] = json!([{"address": mail, "primary": true}]);
        p["consent"] = json!(["email"]);
        p
    };
    let early = create_customer(
        app,
        &tok,
        &caller("回访甲", "13700138801", "early@example.cn"),
    )
    .await;
    let late = create_customer(
        app,
        &tok,
        &caller("回访乙", "13700138802", "late@example.cn"),
    )
    .await;
    resolved_over_http(app, &tok, early, admin_id, "空调漏水").await;
    let mut after_service = campaign(plain);
    after_service["trigger"] = json!("request_resolved");
    after_service["holdout_percent"] = json!(0);
    let third = post_json(app, &tok, "/api/v1/campaigns", &after_service)
        .await
        .expect(201)
        .id();
    post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{third}/status"),
        &json!({"status": "running", "version": 1}),
    )
    .await
    .expect(200);
    resolved_over_http(app, &tok, late, admin_id, "空调不制冷").await;
    let r3 = app.app.campaign_round().await.unwrap();
    assert_eq!(r3.counts.sent, 1, "{r3:?}");
    assert_eq!(app.app.campaign_round().await.unwrap().counts.total(), 0);
    let v = get_json(app, &tok, &format!("/api/v1/customers/{late}/360"))
        .await
        .expect(200)
        .json;
    assert!(
        v["timeline"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "campaign")
    );

    // The touchpoints compared: these customers came with no known source.
    let tps = get_json(app, &tok, "/api/v1/touchpoints")
        .await
        .expect(200)
        .json;
    let unknown = tps
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["touchpoint"] == "-")
        .unwrap();
    assert_eq!(unknown["customers"], 44);
    assert_eq!(
        unknown["scored"], 42,
        "the two made after the recompute are not scored"
    );

    // A stopped campaign stays stopped; a stale version is refused.
    let r = post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{id}/status"),
        &json!({"status": "paused", "version": 1}),
    )
    .await
    .expect(409);
    assert_eq!(r.code(), "version_conflict");
    post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{id}/status"),
        &json!({"status": "stopped", "version": 2}),
    )
    .await
    .expect(200);
    let r = post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{id}/status"),
        &json!({"status": "running", "version": 3}),
    )
    .await
    .expect(409);
    assert_eq!(r.code(), "campaign_status_invalid");

    // The pages: the campaign with its dry run and results, in Chinese; an agent is
    // refused before anything is read.
    let b = browser();
    login(app, &b, &app.admin_password).await;
    let page = send(b.get(url(app, &format!("/campaigns/{id}?dry=1"))))
        .await
        .expect(200)
        .text;
    assert!(page.contains("id=\"dry-rows\"") && page.contains("试运行"));
    assert!(page.contains("id=\"uplift\"") && page.contains("对照组"));
    assert!(
        page.contains("样本不足"),
        "too few held out for an interval"
    );
    let tps = send(b.get(url(app, "/campaigns/touchpoints")))
        .await
        .expect(200)
        .text;
    assert!(tps.contains("来源不明") && tps.contains("data-touchpoint=\"-\""));
    let list = send(b.get(url(app, "/campaigns"))).await.expect(200).text;
    assert!(list.contains("保修到期提醒") && list.contains("id=\"budget-form\""));
    let csrf = scrape_csrf(&list);
    let page = send(b.post(url(app, "/campaigns")).form(&[
        ("_csrf", csrf.as_str()),
        ("name", "生日关怀"),
        ("trigger", "segment"),
        ("holdout_percent", "十"),
        ("text_id", &approved.to_string()),
    ]))
    .await
    .expect(200)
    .text;
    assert!(
        page.contains("id=\"errors\"") && page.contains("生日关怀"),
        "the form keeps what was typed"
    );
    assert_eq!(
        get_json(app, &tok, "/api/v1/campaigns")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        3,
        "nothing was created"
    );
    let admin = token(app, &["admin"]).await;
    post_json(
        app,
        &admin,
        "/api/v1/users",
        &json!({"email": "camp.agent@example.cn", "name": "客服小钱", "password": "agent-password", "role": "agent"}),
    )
    .await
    .expect(201);
    let agent = browser();
    send(agent.post(url(app, "/login")).form(&[
        ("email", "camp.agent@example.cn"),
        ("password", "agent-password"),
    ]))
    .await
    .expect(303);
    send(agent.get(url(app, "/campaigns"))).await.expect(403);
}

on_both_databases!(campaigns_reach_each_occurrence_once_with_a_holdout => campaigns_reach_each_occurrence_once_with_a_holdout_under_consent_and_budget);

async fn offers_at_the_desk_apply_with_why_and_count_what_they_sell(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let product = seed_product(app, &tok).await;
    let category = get_json(app, &tok, &format!("/api/v1/products/{product}"))
        .await
        .expect(200)
        .json["category_id"]
        .as_i64()
        .unwrap();
    let extension = post_json(
        app,
        &tok,
        "/api/v1/products",
        &json!({"sku": "EXT-AC-1Y", "name": "空调延保一年", "category_id": category,
                "price": "299.00", "serialized": false}),
    )
    .await
    .expect(201)
    .id();
    let today = app
        .app
        .clock
        .now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
        .date();
    let bought = today
        .checked_sub(jiff::Span::new().months(12))
        .unwrap()
        .checked_add(jiff::Span::new().days(20))
        .unwrap();
    let ends = bought.checked_add(jiff::Span::new().months(12)).unwrap();
    let owner = create_customer(app, &tok, &person("延保客户", "13700139901")).await;
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(owner, product, "SN-OFFER-1", &bought.to_string()),
    )
    .await
    .expect(201);
    let newcomer = create_customer(app, &tok, &person("新客户", "13700139902")).await;
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(newcomer, product, "SN-OFFER-2", &today.to_string()),
    )
    .await
    .expect(201);
    let text = |status: &str| {
        json!({"name": "延保话术", "status": status,
               "body_zh_hans": "{customer_name}，您的{product_name}保修 {warranty_end} 到期，可加购延保。",
               "body_zh_hant": "{customer_name}，您的{product_name}保固 {warranty_end} 到期。",
               "body_en": "{customer_name}, your {product_name} warranty ends on {warranty_end}."})
    };
    let draft = post_json(app, &tok, "/api/v1/message-texts", &text("draft"))
        .await
        .expect(201)
        .id();
    let approved = post_json(app, &tok, "/api/v1/message-texts", &text("approved"))
        .await
        .expect(201)
        .id();
    // Every wrong field at once; nothing is stored.
    let r = post_json(
        app,
        &tok,
        "/api/v1/offers",
        &json!({"name": "空调延保", "kind": "cashback", "within_days": 0, "text_id": draft,
                "product_id": 999_999}),
    )
    .await
    .expect(422);
    let fields: Vec<&str> = r.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["kind", "within_days", "text_id", "product_id"]);
    assert_eq!(get_json(app, &tok, "/api/v1/offers").await.json, json!([]));
    let offer = post_json(
        app,
        &tok,
        "/api/v1/offers",
        &json!({"name": "空调延保", "kind": "warranty_extension", "within_days": 60,
                "text_id": approved, "product_id": extension}),
    )
    .await
    .expect(201)
    .id();

    // The owner's air conditioner leaves its warranty in 20 days: the extension applies,
    // with why and the text filled in; the newcomer's has a year to go.
    let offers = get_json(app, &tok, &format!("/api/v1/customers/{owner}/offers"))
        .await
        .expect(200)
        .json;
    assert_eq!(offers.as_array().unwrap().len(), 1, "{offers}");
    let o = &offers[0];
    assert_eq!(o["offer_id"], offer);
    assert_eq!(o["why"]["reason"], "warranty_ends");
    assert_eq!(o["why"]["until"], ends.to_string());
    assert_eq!(
        o["text"],
        format!("延保客户，您的变频空调 1.5 匹保修 {ends} 到期，可加购延保。")
    );
    assert!(o["last_response"].is_null());
    let asset = o["asset_id"].as_i64().unwrap();
    let none = get_json(app, &tok, &format!("/api/v1/customers/{newcomer}/offers"))
        .await
        .expect(200)
        .json;
    assert_eq!(none, json!([]));

    // The answer is recorded against the customer's own item only.
    let other_asset = get_json(app, &tok, &format!("/api/v1/customers/{newcomer}/360"))
        .await
        .expect(200)
        .json["assets"][0]["id"]
        .as_i64()
        .unwrap();
    let r = post_json(
        app,
        &tok,
        &format!("/api/v1/customers/{owner}/offer-responses"),
        &json!({"offer_id": offer, "asset_id": other_asset, "response": "maybe"}),
    )
    .await
    .expect(422);
    let codes: Vec<&str> = r.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["offer_response_unknown", "asset_not_customers"]);
    post_json(
        app,
        &tok,
        &format!("/api/v1/customers/{owner}/offer-responses"),
        &json!({"offer_id": offer, "asset_id": asset, "response": "accepted"}),
    )
    .await
    .expect(201);
    let offers = get_json(app, &tok, &format!("/api/v1/customers/{owner}/offers"))
        .await
        .expect(200)
        .json;
    assert_eq!(offers[0]["last_response"], "accepted");
    // The customer page reads the offers and the answers in one batch after its 360: the
    // same offers, with the answer.
    let manager = aftercare_testkit::staff(&app.app, "offers-page@example.cn", "manager").await;
    let owner_id = aftercare_domain::CustomerId(owner);
    let page = app
        .app
        .customer_page(&manager, owner_id, None)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&page.offers).unwrap(),
        serde_json::to_value(app.app.offers_for(&manager, owner_id).await.unwrap()).unwrap()
    );
    assert_eq!(
        page.offers[0].last_response,
        Some(aftercare_domain::offer::OfferResponse::Accepted)
    );

    // The extension bought afterwards is the offer's, and the agent's.
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &json!({"customer_id": owner, "channel": "store", "ordered_on": today.to_string(),
                "items": [{"product_id": extension, "quantity": 1}]}),
    )
    .await
    .expect(201);
    let report = get_json(app, &tok, "/api/v1/offers/report")
        .await
        .expect(200)
        .json;
    assert_eq!(report["by_offer"][0]["name"], "空调延保");
    assert_eq!(report["by_offer"][0]["accepted"], 1);
    assert_eq!(report["by_offer"][0]["orders"], 1);
    assert_eq!(report["by_offer"][0]["revenue"], 29_900);
    let me = get_json(app, &tok, "/api/v1/me").await.expect(200).json;
    assert_eq!(report["by_agent"][0]["name"], me["name"]);
    assert_eq!(report["by_agent"][0]["revenue"], 29_900);

    // The customer page shows it, its answer on the timeline, in the reader's language.
    let b = browser();
    login(app, &b, &app.admin_password).await;
    let page = send(b.get(url(app, &format!("/customers/{owner}"))))
        .await
        .expect(200)
        .text;
    assert!(page.contains("id=\"offers\"") && page.contains(&format!("保修将于 {ends} 到期")));
    assert!(
        page.contains("空调延保：接受"),
        "the timeline says it in words"
    );
    let page = send(b.get(url(app, "/offers"))).await.expect(200).text;
    assert!(page.contains("id=\"offer-report\"") && page.contains("空调延保"));
}

on_both_databases!(offers_at_the_desk => offers_at_the_desk_apply_with_why_and_count_what_they_sell);

/// The field names of a 422 answer, in order.
fn field_names(r: &Reply) -> Vec<String> {
    r.json["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The field codes of a 422 answer, in order.
fn field_codes(r: &Reply) -> Vec<String> {
    r.json["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn care_plans_change_who_pays_and_vouchers_are_used_once(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    let product = seed_product(app, &tok).await;
    let category = get_json(app, &tok, &format!("/api/v1/products/{product}"))
        .await
        .expect(200)
        .json["category_id"]
        .as_i64()
        .unwrap();
    let service = post_json(
        app,
        &tok,
        "/api/v1/products",
        &json!({"sku": "EXT-1Y", "name": "延保服务一年", "category_id": category,
                "price": "299.00", "serialized": false}),
    )
    .await
    .expect(201)
    .id();
    let today = app.app.clock.today();
    let months_ago = |m: i64| {
        today
            .checked_sub(jiff::Span::new().months(m))
            .unwrap()
            .to_string()
    };

    // Every wrong field at once, and nothing stored.
    let r = post_json(
        app,
        &tok,
        "/api/v1/care-plans",
        &json!({"product_id": product, "months": 0, "covers": ["repair", "nope"]}),
    )
    .await
    .expect(422);
    assert_eq!(field_names(&r), ["product_id", "months", "covers[1]"]);
    assert_eq!(
        field_codes(&r),
        [
            "plan_product_serialized",
            "out_of_range",
            "service_type_unknown"
        ]
    );
    assert_eq!(
        get_json(app, &tok, "/api/v1/care-plans").await.json,
        json!([])
    );
    let plan = json!({"product_id": service, "category_id": category, "months": 12,
                      "extends_warranty": true, "covers": ["repair", "maintenance"]});
    post_json(app, &tok, "/api/v1/care-plans", &plan)
        .await
        .expect(201);
    let r = post_json(app, &tok, "/api/v1/care-plans", &plan)
        .await
        .expect(422);
    assert_eq!(field_codes(&r), ["plan_exists_for_product"]);

    // Two air conditioners bought 14 months ago: their 12-month guarantee is over.
    let owner = create_customer(app, &tok, &person("保障客户", "13700139951")).await;
    for serial in ["SN-CARE-1", "SN-CARE-2"] {
        post_json(
            app,
            &tok,
            "/api/v1/orders",
            &order(owner, product, serial, &months_ago(14)),
        )
        .await
        .expect(201);
    }
    let other = create_customer(app, &tok, &person("别的客户", "13700139952")).await;
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(other, product, "SN-CARE-3", &months_ago(2)),
    )
    .await
    .expect(201);
    let assets = |c: i64| {
        let tok = tok.clone();
        async move {
            get_json(app, &tok, &format!("/api/v1/customers/{c}/360"))
                .await
                .expect(200)
                .json["assets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["serial"].as_str().unwrap().to_string(),
                        a["id"].as_i64().unwrap(),
                    )
                })
                .collect::<std::collections::HashMap<String, i64>>()
        }
    };
    let mine = assets(owner).await;
    let theirs = assets(other).await;
    let plan_order = |asset: Option<i64>| {
        let mut line = json!({"product_id": service, "quantity": 1});
        if let Some(a) = asset {
            line["asset_id"] = json!(a);
        }
        json!({"customer_id": owner, "channel": "store", "items": [line]})
    };
    // Which of the two? And never another customer's item.
    let r = post_json(app, &tok, "/api/v1/orders", &plan_order(None))
        .await
        .expect(422);
    assert_eq!(
        (field_names(&r), field_codes(&r)),
        (
            vec!["items[0].asset_id".to_string()],
            vec!["which_item".to_string()]
        )
    );
    let r = post_json(
        app,
        &tok,
        "/api/v1/orders",
        &plan_order(Some(theirs["SN-CARE-3"])),
    )
    .await
    .expect(422);
    assert_eq!(field_codes(&r), ["asset_not_customers"]);
    let before = get_json(app, &tok, &format!("/api/v1/orders?customer_id={owner}"))
        .await
        .expect(200)
        .items()
        .len();
    assert_eq!(before, 2, "refused orders write nothing");
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &plan_order(Some(mine["SN-CARE-1"])),
    )
    .await
    .expect(201);
    // Sold after the guarantee ended: cover runs from today for 12 months.
    let care = get_json(app, &tok, &format!("/api/v1/customers/{owner}/care"))
        .await
        .expect(200)
        .json;
    let contract = &care["contracts"][0];
    assert_eq!(care["contracts"].as_array().unwrap().len(), 1, "{care}");
    assert_eq!(contract["asset_id"], mine["SN-CARE-1"]);
    assert_eq!(contract["starts_on"], today.to_string());
    let ends = today
        .checked_add(jiff::Span::new().months(12))
        .unwrap()
        .checked_sub(jiff::Span::new().days(1))
        .unwrap();
    assert_eq!(contract["ends_on"], ends.to_string());
    assert_eq!(contract["plan_name"], "延保服务一年");
    // One contract at a time on an item.
    let r = post_json(
        app,
        &tok,
        "/api/v1/orders",
        &plan_order(Some(mine["SN-CARE-1"])),
    )
    .await
    .expect(422);
    assert_eq!(field_codes(&r), ["item_already_covered"]);

    // Who pays: the covered item's repair is free under the contract; the same repair
    // on the other item, and a service the plan does not cover, are charged.
    let request = |asset: i64, ty: &str| {
        json!({"customer_id": owner, "asset_id": asset, "service_type": ty,
               "subject": "空调不制冷", "channel": "phone"})
    };
    let charge = |id: i64| {
        let tok = tok.clone();
        async move {
            let d = get_json(app, &tok, &format!("/api/v1/requests/{id}"))
                .await
                .expect(200)
                .json;
            (
                d["request"]["charge"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                d["request"]["charge_reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        }
    };
    let covered = post_json(
        app,
        &tok,
        "/api/v1/requests",
        &request(mine["SN-CARE-1"], "repair"),
    )
    .await
    .expect(201)
    .id();
    assert_eq!(
        charge(covered).await,
        ("free".to_string(), "service_contract".to_string())
    );
    let uncovered = post_json(
        app,
        &tok,
        "/api/v1/requests",
        &request(mine["SN-CARE-2"], "repair"),
    )
    .await
    .expect(201)
    .id();
    assert_eq!(
        charge(uncovered).await,
        ("chargeable".to_string(), "warranty_expired".to_string())
    );
    let exchange = post_json(
        app,
        &tok,
        "/api/v1/requests",
        &request(mine["SN-CARE-1"], "exchange"),
    )
    .await
    .expect(201)
    .id();
    assert_eq!(
        charge(exchange).await,
        ("chargeable".to_string(), "warranty_expired".to_string())
    );

    // Maintenance every 6 months from delivery (or the last service).
    let r = put_json(
        app,
        &tok,
        "/api/v1/maintenance-schedules",
        &json!({"product_id": service, "every_months": 0}),
    )
    .await
    .expect(422);
    assert_eq!(field_codes(&r), ["product_not_serialized", "out_of_range"]);
    put_json(
        app,
        &tok,
        "/api/v1/maintenance-schedules",
        &json!({"product_id": product, "every_months": 6}),
    )
    .await
    .expect(204);
    post_json(
        app,
        &tok,
        &format!("/api/v1/assets/{}/events", mine["SN-CARE-2"]),
        &json!({"kind": "service", "day": months_ago(1)}),
    )
    .await
    .expect(201);
    let care = get_json(app, &tok, &format!("/api/v1/customers/{owner}/care"))
        .await
        .expect(200)
        .json;
    let due: std::collections::HashMap<i64, (String, bool)> = care["maintenance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["asset_id"].as_i64().unwrap(),
                (
                    m["due_on"].as_str().unwrap().to_string(),
                    m["overdue"].as_bool().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(due[&mine["SN-CARE-1"]], (months_ago(8), true));
    let next = today
        .checked_sub(jiff::Span::new().months(1))
        .unwrap()
        .checked_add(jiff::Span::new().months(6))
        .unwrap();
    assert_eq!(due[&mine["SN-CARE-2"]], (next.to_string(), false));

    // Vouchers: an agent gives at most ¥200; given from a request, for its customer.
    let admin = token(app, &["admin"]).await;
    post_json(
        app,
        &admin,
        "/api/v1/users",
        &json!({"email": "quan@example.cn", "name": "客服小孙", "password": "agent-password", "role": "agent"}),
    )
    .await
    .expect(201);
    let agent = app
        .app
        .create_token(
            &Actor::system("test"),
            "quan@example.cn",
            "t",
            &["write".to_string()],
        )
        .await
        .unwrap()
        .token;
    let give = |body: Value| {
        let agent = agent.clone();
        async move {
            post_json(
                app,
                &agent,
                &format!("/api/v1/requests/{uncovered}/vouchers"),
                &body,
            )
            .await
        }
    };
    let r = give(json!({"kind": "amount", "value": "500", "reason": "上门迟到"}))
        .await
        .expect(422);
    assert_eq!(field_codes(&r), ["over_your_limit"]);
    let r = give(json!({"kind": "percent", "value": "150", "valid_days": 0, "reason": " "}))
        .await
        .expect(422);
    assert_eq!(
        field_names(&r),
        ["value", "valid_days", "reason"],
        "{}",
        r.text
    );
    let fifty = give(json!({"kind": "amount", "value": "50", "reason": "上门迟到"}))
        .await
        .expect(201)
        .id();
    let v = get_json(app, &tok, &format!("/api/v1/vouchers/{fifty}"))
        .await
        .expect(200)
        .json;
    let code = v["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    assert_eq!(v["customer_id"], owner);
    assert_eq!(v["valid_from"], today.to_string());
    // Another customer cannot use it.
    let filter = post_json(
        app,
        &tok,
        "/api/v1/products",
        &json!({"sku": "FLT-1", "name": "空调滤网", "category_id": category,
                "price": "80.00", "serialized": false}),
    )
    .await
    .expect(201)
    .id();
    let buy = |customer: i64, code: &str| {
        json!({"customer_id": customer, "channel": "store", "voucher_code": code,
               "items": [{"product_id": filter, "quantity": 1}]})
    };
    let r = post_json(app, &tok, "/api/v1/orders", &buy(other, &code))
        .await
        .expect(422);
    assert_eq!(field_codes(&r), ["voucher_unknown"]);
    // Its customer uses it once (typed in lower case): ¥50 off the order.
    let mut first = buy(owner, &code.to_lowercase());
    first["items"][0] =
        json!({"product_id": service, "quantity": 1, "asset_id": mine["SN-CARE-2"]});
    let used = post_json(app, &tok, "/api/v1/orders", &first)
        .await
        .expect(201)
        .id();
    let o = get_json(app, &tok, &format!("/api/v1/orders/{used}"))
        .await
        .expect(200)
        .json;
    assert_eq!(o["total"], 249_00, "{o}");
    let v = get_json(app, &tok, &format!("/api/v1/vouchers/{fifty}"))
        .await
        .expect(200)
        .json;
    assert_eq!(
        (v["order_id"].as_i64(), v["discount"].as_i64()),
        (Some(used), Some(50_00))
    );
    let r = post_json(app, &tok, "/api/v1/orders", &buy(owner, &code))
        .await
        .expect(422);
    assert_eq!(field_codes(&r), ["voucher_used"]);

    // Two orders at once with one voucher: one is taken, the other refused, whatever
    // server each lands on.
    let pct = give(json!({"kind": "percent", "value": "10", "reason": "维修返工"}))
        .await
        .expect(201)
        .id();
    let pct_voucher = get_json(app, &tok, &format!("/api/v1/vouchers/{pct}"))
        .await
        .json;
    // An agent's share is capped in money too.
    assert_eq!(pct_voucher["max_discount"], 200_00);
    let code = pct_voucher["code"].as_str().unwrap().to_string();
    let goods = |serial: &str| {
        json!({"customer_id": owner, "channel": "store", "voucher_code": code,
               "items": [{"product_id": product, "quantity": 1, "serials": [serial]}]})
    };
    let (one, two) = (goods("SN-RACE-1"), goods("SN-RACE-2"));
    let (a, b) = tokio::join!(
        post_json(app, &tok, "/api/v1/orders", &one),
        post_json(app, &tok, "/api/v1/orders", &two),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses[0], 201, "{} / {}", a.text, b.text);
    assert!(matches!(statuses[1], 409 | 422), "{} / {}", a.text, b.text);
    let loser = if a.status == 201 { &b } else { &a };
    assert!(loser.text.contains("voucher_used"), "{}", loser.text);
    let orders = get_json(app, &tok, &format!("/api/v1/orders?customer_id={owner}"))
        .await
        .items()
        .len();
    assert_eq!(
        orders, 5,
        "two bought, one plan, one with ¥50 off, one raced"
    );

    // Cancelling: the desk's managers only, unused vouchers only.
    let spare = give(json!({"kind": "amount", "value": "20", "reason": "补偿"}))
        .await
        .expect(201)
        .id();
    post_json(
        app,
        &agent,
        &format!("/api/v1/vouchers/{spare}/cancel"),
        &json!({"version": 1}),
    )
    .await
    .expect(403);
    post_json(
        app,
        &tok,
        &format!("/api/v1/vouchers/{spare}/cancel"),
        &json!({"version": 1}),
    )
    .await
    .expect(204);
    let spare_code = get_json(app, &tok, &format!("/api/v1/vouchers/{spare}"))
        .await
        .json["code"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post_json(app, &tok, "/api/v1/orders", &buy(owner, &spare_code))
        .await
        .expect(422);
    assert_eq!(field_codes(&r), ["voucher_cancelled"]);
    let r = post_json(
        app,
        &tok,
        &format!("/api/v1/vouchers/{fifty}/cancel"),
        &json!({"version": 2}),
    )
    .await
    .expect(409);
    assert!(r.text.contains("voucher_used"), "{}", r.text);

    // The customer page reads the customer's care, with vouchers used and cancelled, in
    // one batch after its 360: the same as the care read on its own.
    let manager = aftercare_testkit::staff(&app.app, "page@example.cn", "manager").await;
    let owner_id = aftercare_domain::CustomerId(owner);
    let page = app
        .app
        .customer_page(&manager, owner_id, None)
        .await
        .unwrap();
    assert!(!page.care.vouchers.is_empty() && !page.care.contracts.is_empty());
    assert_eq!(
        serde_json::to_value(&page.care).unwrap(),
        serde_json::to_value(app.app.customer_care(&manager, owner_id).await.unwrap()).unwrap()
    );

    // Referral codes: the owner's code credits a friend's new record to them; a mistyped
    // code, or one of nobody, is refused and creates nobody.
    let code = get_json(app, &tok, &format!("/api/v1/customers/{owner}"))
        .await
        .expect(200)
        .json["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    let mut typo: Vec<char> = code.chars().collect();
    typo[3] = if typo[3] == 'K' { 'M' } else { 'K' };
    let typo: String = typo.into_iter().collect();
    let nobody = aftercare_domain::referral::referral_code(9_999_999).unwrap();
    for (bad, why) in [
        (typo.as_str(), "referral_code_invalid"),
        (nobody.as_str(), "referral_code_unknown"),
    ] {
        let mut b = person("朋友", "13700139958");
        b["referred_by_code"] = json!(bad);
        let r = post_json(app, &tok, "/api/v1/customers", &b)
            .await
            .expect(422);
        assert_eq!(field_codes(&r), [why]);
    }
    let mut b = person("朋友", "13700139958");
    b["referred_by_code"] = json!(code.to_lowercase());
    let friend = create_customer(app, &tok, &b).await;
    let f = get_json(app, &tok, &format!("/api/v1/customers/{friend}"))
        .await
        .json;
    assert_eq!(f["source"], "word_of_mouth");
    let timeline = get_json(app, &tok, &format!("/api/v1/customers/{owner}/360"))
        .await
        .json["timeline"]["items"]
        .clone();
    assert!(
        timeline
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "referral" && e["ref_id"] == friend),
        "{timeline}"
    );

    // A plan withdrawn from sale is not sold as an ordinary product.
    let plans = get_json(app, &tok, "/api/v1/care-plans").await.json;
    let p0 = &plans[0];
    let mut retired = plan.clone();
    retired["active"] = json!(false);
    retired["version"] = p0["version"].clone();
    put_json(
        app,
        &tok,
        &format!("/api/v1/care-plans/{}", p0["id"]),
        &retired,
    )
    .await
    .expect(204);
    let r = post_json(app, &tok, "/api/v1/orders", &plan_order(None))
        .await
        .expect(422);
    assert_eq!(field_codes(&r), ["plan_retired"]);

    // The customer page shows the contract, the maintenance due and the vouchers.
    let b = browser();
    send(b.post(url(app, "/login")).form(&[
        ("email", app.admin_email.as_str()),
        ("password", app.admin_password.as_str()),
    ]))
    .await
    .expect(303);
    let page = send(b.get(url(app, &format!("/customers/{owner}"))))
        .await
        .expect(200)
        .text;
    assert!(
        page.contains("id=\"care\"") && page.contains("延保服务一年"),
        "{page}"
    );
    assert!(page.contains("已逾期") && page.contains("已用于订单"));
    let page = send(b.get(url(app, "/care"))).await.expect(200).text;
    assert!(page.contains("延保服务一年") && page.contains("生效中"));
}

on_both_databases!(care_plans_and_vouchers => care_plans_change_who_pays_and_vouchers_are_used_once);

async fn campaigns_remind_of_maintenance_and_dates_and_give_vouchers_once(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    put_json(
        app,
        &tok,
        "/api/v1/contact-budget",
        &json!({"max_messages": 10, "period_days": 30, "quiet_from": 0, "quiet_to": 0}),
    )
    .await
    .expect(204);
    let product = seed_product(app, &tok).await;
    put_json(
        app,
        &tok,
        "/api/v1/maintenance-schedules",
        &json!({"product_id": product, "every_months": 6}),
    )
    .await
    .expect(204);
    let today = app.app.clock.today();
    // Received six months ago less ten days: due in ten days. Another was serviced
    // last month: due in five months, not now.
    let bought = today
        .checked_sub(jiff::Span::new().months(6))
        .unwrap()
        .checked_add(jiff::Span::new().days(10))
        .unwrap();
    let due = bought.checked_add(jiff::Span::new().months(6)).unwrap();
    let mut body = person("保养客户", "13700139961");
    body["emails"] = json!([{"address": "upkeep@example.cn", "primary": true}]);
    body["consent"] = json!(["email"]);
    let owner = create_customer(app, &tok, &body).await;
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(owner, product, "SN-UPKEEP-1", &bought.to_string()),
    )
    .await
    .expect(201);
    let serviced = create_customer(app, &tok, &{
        let mut b = person("刚保养的客户", "13700139962");
        b["emails"] = json!([{"address": "serviced@example.cn", "primary": true}]);
        b["consent"] = json!(["email"]);
        b
    })
    .await;
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(serviced, product, "SN-UPKEEP-2", &bought.to_string()),
    )
    .await
    .expect(201);
    let item = get_json(app, &tok, &format!("/api/v1/customers/{serviced}/360"))
        .await
        .json["assets"][0]["id"]
        .as_i64()
        .unwrap();
    let last_month = today.checked_sub(jiff::Span::new().months(1)).unwrap();
    post_json(
        app,
        &tok,
        &format!("/api/v1/assets/{item}/events"),
        &json!({"kind": "service", "day": last_month.to_string()}),
    )
    .await
    .expect(201);
    // A birthday in three days (born in 1990), and one long past this year.
    let soon = today.checked_add(jiff::Span::new().days(3)).unwrap();
    let born = jiff::civil::Date::new(1990, soon.month(), soon.day()).unwrap_or(soon);
    let mut b = person("生日客户", "13700139963");
    b["emails"] = json!([{"address": "birthday@example.cn", "primary": true}]);
    b["consent"] = json!(["email"]);
    b["important_dates"] = json!([{"label": "生日", "date": born.to_string()}]);
    // The same birthday on the profile: greeted once.
    b["birthday"] = json!(born.to_string());
    let birthday = create_customer(app, &tok, &b).await;
    // A birthday on the profile only.
    let mut b = person("资料生日客户", "13700139964");
    b["emails"] = json!([{"address": "profile.birthday@example.cn", "primary": true}]);
    b["consent"] = json!(["email"]);
    b["birthday"] = json!(born.to_string());
    create_customer(app, &tok, &b).await;

    let text = |body: &str| {
        json!({"name": format!("文案 {}", body.len()), "status": "approved",
               "body_zh_hans": body, "body_zh_hant": body, "body_en": body})
    };
    let upkeep_text = post_json(
        app,
        &tok,
        "/api/v1/message-texts",
        &text("{customer_name}您好，您的{product_name}将于 {maintenance_due} 到保养时间。凭券码 {voucher_code} 立减 {voucher_value}，{voucher_until} 前有效。"),
    )
    .await
    .expect(201)
    .id();
    let birthday_text = post_json(
        app,
        &tok,
        "/api/v1/message-texts",
        &text("{customer_name}，生日快乐！"),
    )
    .await
    .expect(201)
    .id();
    let campaign = |trigger: &str, text_id: i64, lead: u32| {
        json!({"name": format!("{trigger} 提醒"), "trigger": trigger, "lead_days": lead,
               "text_id": text_id, "holdout_percent": 0,
               "subject_zh_hans": "{customer_name}，给您的提醒", "subject_zh_hant": "提醒",
               "subject_en": "A reminder"})
    };
    // The voucher's fields need a voucher; a bad voucher is named field by field.
    let r = post_json(
        app,
        &tok,
        "/api/v1/campaigns",
        &campaign("maintenance_due", upkeep_text, 30),
    )
    .await
    .expect(422);
    assert_eq!(field_codes(&r), ["field_not_for_trigger"]);
    let mut bad = campaign("date_coming", birthday_text, 61);
    bad["voucher_kind"] = json!("gift");
    let r = post_json(app, &tok, "/api/v1/campaigns", &bad)
        .await
        .expect(422);
    assert_eq!(field_names(&r), ["lead_days", "voucher_kind"]);
    let mut with_voucher = campaign("maintenance_due", upkeep_text, 30);
    with_voucher["voucher_kind"] = json!("amount");
    with_voucher["voucher_value"] = json!("30");
    with_voucher["voucher_days"] = json!(30);
    let upkeep = post_json(app, &tok, "/api/v1/campaigns", &with_voucher)
        .await
        .expect(201)
        .id();
    let greet = post_json(
        app,
        &tok,
        "/api/v1/campaigns",
        &campaign("date_coming", birthday_text, 7),
    )
    .await
    .expect(201)
    .id();
    // The dry run shows the code the customer will get, and gives none.
    let dry = post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{upkeep}/dry-run"),
        &json!({}),
    )
    .await
    .expect(200)
    .json;
    assert_eq!(dry["counts"]["sent"], 1, "{dry}");
    assert_eq!(dry["rows"][0]["customer_id"], owner);
    let dry_body = dry["rows"][0]["body"].as_str().unwrap().to_string();
    assert!(
        dry_body.contains(&due.to_string()) && dry_body.contains("¥30.00"),
        "{dry_body}"
    );
    let care = get_json(app, &tok, &format!("/api/v1/customers/{owner}/care"))
        .await
        .json;
    assert_eq!(care["vouchers"], json!([]), "a dry run gives nothing");

    for id in [upkeep, greet] {
        post_json(
            app,
            &tok,
            &format!("/api/v1/campaigns/{id}/status"),
            &json!({"status": "running", "version": 1}),
        )
        .await
        .expect(200);
    }
    let round = app.app.campaign_round().await.unwrap();
    assert_eq!(round.counts.sent, 3, "{round:?}");
    let mails = app
        .app
        .store
        .outbox_due(app.app.clock.now(), 1000)
        .await
        .unwrap();
    let to = |addr: &str| {
        mails
            .iter()
            .filter(|m| m.to == addr)
            .map(|m| m.body.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(to("birthday@example.cn"), ["生日客户，生日快乐！"]);
    assert_eq!(
        to("profile.birthday@example.cn"),
        ["资料生日客户，生日快乐！"]
    );
    assert!(to("serviced@example.cn").is_empty());
    let upkeep_mail = to("upkeep@example.cn");
    assert_eq!(upkeep_mail.len(), 1);
    // The voucher in the mail is the one given, and the one the dry run showed.
    let care = get_json(app, &tok, &format!("/api/v1/customers/{owner}/care"))
        .await
        .json;
    let v = &care["vouchers"][0];
    assert_eq!(care["vouchers"].as_array().unwrap().len(), 1, "{care}");
    assert_eq!(
        (v["source"].as_str(), v["campaign_id"].as_i64()),
        (Some("campaign"), Some(upkeep))
    );
    let code = v["code"].as_str().unwrap();
    assert!(upkeep_mail[0].contains(code), "{}", upkeep_mail[0]);
    assert_eq!(upkeep_mail[0], dry_body);
    // Each occurrence once: the next round sends and gives nothing more.
    let again = app.app.campaign_round().await.unwrap();
    assert_eq!(again.counts.total(), 0);
    let care = get_json(app, &tok, &format!("/api/v1/customers/{owner}/care"))
        .await
        .json;
    assert_eq!(care["vouchers"].as_array().unwrap().len(), 1);
    // The customer uses it on their next order: ¥30 off.
    let filter = post_json(
        app,
        &tok,
        "/api/v1/products",
        &json!({"sku": "FLT-2", "name": "空调滤网", "category_id": get_json(app, &tok, &format!("/api/v1/products/{product}")).await.json["category_id"],
                "price": "80.00", "serialized": false}),
    )
    .await
    .expect(201)
    .id();
    let bought_with = post_json(
        app,
        &tok,
        "/api/v1/orders",
        &json!({"customer_id": owner, "channel": "store", "voucher_code": code,
                "items": [{"product_id": filter, "quantity": 1}]}),
    )
    .await
    .expect(201)
    .id();
    let o = get_json(app, &tok, &format!("/api/v1/orders/{bought_with}"))
        .await
        .json;
    assert_eq!(o["total"], 50_00);
    let _ = birthday;
}

on_both_databases!(campaign_triggers_and_vouchers => campaigns_remind_of_maintenance_and_dates_and_give_vouchers_once);

/// The journey of one customer of a campaign with steps, as its stats show it.
async fn journey_stats(app: &TestApp, tok: &str, id: i64) -> Value {
    get_json(app, tok, &format!("/api/v1/campaigns/{id}/results"))
        .await
        .expect(200)
        .json["journeys"]
        .clone()
}

async fn campaign_steps_follow_each_customer_once(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    put_json(
        app,
        &tok,
        "/api/v1/contact-budget",
        &json!({"max_messages": 10, "period_days": 30, "quiet_from": 0, "quiet_to": 0}),
    )
    .await
    .expect(204);
    let today = app.app.clock.today();
    let birthday = today
        .checked_add(jiff::Span::new().days(3))
        .unwrap()
        .checked_sub(jiff::Span::new().years(30))
        .unwrap()
        .to_string();
    // P has a portal account and follows the link; Q has a phone but no consent to be
    // phoned; R agreed to be phoned, is reached, and buys.
    let who = |name: &str, phone: &str, email: &str, consent: Value| {
        let mut b = person(name, phone);
        b["emails"] = json!([{"address": email, "primary": true}]);
        b["consent"] = consent;
        b["birthday"] = json!(birthday);
        b
    };
    let p = create_customer(
        app,
        &tok,
        &who(
            "旅程甲",
            "13700150001",
            "journey.p@example.cn",
            json!(["email"]),
        ),
    )
    .await;
    let q = create_customer(
        app,
        &tok,
        &who(
            "旅程乙",
            "13700150002",
            "journey.q@example.cn",
            json!(["email"]),
        ),
    )
    .await;
    let r = create_customer(
        app,
        &tok,
        &who(
            "旅程丙",
            "13700150003",
            "journey.r@example.cn",
            json!(["email", "phone"]),
        ),
    )
    .await;
    let (portal, _) = portal_customer(app, "旅程甲", "journey.p@example.cn").await;
    let text = |name: &str, hans: &str, status: &str| {
        json!({"name": name, "status": status, "body_zh_hans": hans, "body_zh_hant": hans,
               "body_en": "Dear {customer_name}: {campaign_link}"})
    };
    let mut ids = vec![];
    for (name, hans, status) in [
        (
            "生日祝福",
            "{customer_name}，生日快乐！礼物在这里：{campaign_link}",
            "approved",
        ),
        (
            "生日提醒",
            "{customer_name}，您的生日礼物还在等您。",
            "approved",
        ),
        (
            "生日回访",
            "您好{customer_name}，我是客服，想问问礼物是否收到。",
            "approved",
        ),
        ("草稿", "{customer_name}", "draft"),
    ] {
        ids.push(
            post_json(
                app,
                &tok,
                "/api/v1/message-texts",
                &text(name, hans, status),
            )
            .await
            .expect(201)
            .id(),
        );
    }
    let campaign = |steps: Value| {
        json!({"name": "生日旅程", "trigger": "date_coming", "lead_days": 7,
               "text_id": ids[0], "holdout_percent": 0, "steps": steps,
               "subject_zh_hans": "{customer_name}，生日快乐", "subject_zh_hant": "生日快樂",
               "subject_en": "Happy birthday"})
    };
    // Steps are checked one by one, each field named with its step.
    let r422 = send(
        api(app, Method::POST, "/api/v1/campaigns", &tok)
            .header("Accept-Language", "zh-CN")
            .json(&campaign(json!([
                {"kind": "wait", "days": 0},
                {"kind": "branch", "condition": "clicked", "to": 1},
                {"kind": "send", "channel": "portal", "text_id": ids[3]},
            ]))),
    )
    .await
    .expect(422);
    let fields: Vec<(&str, &str)> = r422.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("steps[0].days", "out_of_range"),
            ("steps[1].to", "step_not_ahead"),
            ("steps[2].text_id", "text_not_approved"),
        ]
    );
    assert!(has_cjk(r422.json["fields"][1]["message"].as_str().unwrap()));
    send(
        api(app, Method::POST, "/api/v1/campaigns", &tok).json(&campaign(json!([
            {"kind": "send", "channel": "fax", "text_id": ids[1]}
        ]))),
    )
    .await
    .expect(422);
    let id = post_json(
        app,
        &tok,
        "/api/v1/campaigns",
        &campaign(json!([
            {"kind": "send", "channel": "portal", "text_id": ids[1]},
            {"kind": "branch", "condition": "clicked", "to": 4},
            {"kind": "send", "channel": "callback", "text_id": ids[2]},
            {"kind": "stop", "condition": "bought"},
            {"kind": "send", "channel": "email", "text_id": ids[1]},
        ])),
    )
    .await
    .expect(201)
    .id();
    let k = get_json(app, &tok, &format!("/api/v1/campaigns/{id}"))
        .await
        .expect(200)
        .json;
    assert_eq!(k["steps"].as_array().unwrap().len(), 5);
    assert_eq!(
        k["steps"][1],
        json!({"kind": "branch", "condition": "clicked", "to": 4})
    );
    post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{id}/status"),
        &json!({"status": "running", "version": 1}),
    )
    .await
    .expect(200);

    // Round 1: the first mail, with each customer's own link, and the first step at
    // once: the portal message, only for P, who has an account.
    let round = app.app.campaign_round().await.unwrap();
    assert_eq!((round.counts.sent, round.counts.no_address), (3 + 1, 2));
    let outbox = app.app.store.outbox_due(app.app.now(), 500).await.unwrap();
    let link_of = |email: &str| {
        let body = &outbox
            .iter()
            .find(|m| m.to == email && m.body.contains("/c/"))
            .unwrap()
            .body;
        let at = body.find("/c/").unwrap();
        body[at..at + 35].to_string()
    };
    let p_link = link_of("journey.p@example.cn");
    assert_ne!(p_link, link_of("journey.q@example.cn"));
    // P follows it: on to the portal, counted once however often it is followed; a
    // made-up token leads to the portal too and counts for nobody.
    for path in [
        p_link.as_str(),
        p_link.as_str(),
        "/c/0123456789abcdef0123456789abcdef",
        "/c/nonsense",
    ] {
        let res = send(browser().get(url(app, path))).await;
        assert_eq!(res.status, 303, "{path}");
    }
    let j = journey_stats(app, &tok, id).await;
    assert_eq!(
        (j["active"].as_u64(), j["clicked"].as_u64()),
        (Some(3), Some(1))
    );

    let home = send(portal.get(url(app, "/portal"))).await.expect(200);
    assert!(home.text.contains("id=\"messages\"") && home.text.contains("旅程甲，生日快乐"));
    let mid: i64 = {
        let at = home.text.find("data-message=\"").unwrap() + 14;
        home.text[at..].split('"').next().unwrap().parse().unwrap()
    };
    let msg = send(portal.get(url(app, &format!("/portal/messages/{mid}"))))
        .await
        .expect(200);
    assert!(msg.text.contains("您的生日礼物还在等您"), "{}", msg.text);
    // Another customer's message is not found (P's own session, a made-up number).
    send(portal.get(url(app, &format!("/portal/messages/{}", mid + 1000))))
        .await
        .expect(404);

    // Paused, nothing moves; resumed, the journeys go on where they were.
    let v = get_json(app, &tok, &format!("/api/v1/campaigns/{id}"))
        .await
        .expect(200)
        .json["version"]
        .as_i64()
        .unwrap();
    post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{id}/status"),
        &json!({"status": "paused", "version": v}),
    )
    .await
    .expect(200);
    assert_eq!(app.app.campaign_round().await.unwrap().journeys, 0);
    post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{id}/status"),
        &json!({"status": "running", "version": v + 1}),
    )
    .await
    .expect(200);

    // Round 2: P clicked and jumps ahead past the call-back to the closing mail; Q may
    // not be phoned; R gets a call-back.
    let round = app.app.campaign_round().await.unwrap();
    assert_eq!((round.counts.sent, round.counts.no_consent), (2, 1));
    let open = get_json(app, &tok, "/api/v1/callbacks")
        .await
        .expect(200)
        .json;
    let task = open
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["customer_id"] == r)
        .unwrap()
        .clone();
    assert_eq!(task["phone"], "+8613700150003");
    assert!(task["script"].as_str().unwrap().contains("您好旅程丙"));
    let tid = task["id"].as_i64().unwrap();
    let bad = send(
        api(app, Method::POST, &format!("/api/v1/callbacks/{tid}"), &tok)
            .header("Accept-Language", "zh-CN")
            .json(&json!({"result": "cancelled", "version": task["version"]})),
    )
    .await
    .expect(422);
    assert_eq!(bad.json["fields"][0]["field"], "result");
    let done = post_json(
        app,
        &tok,
        &format!("/api/v1/callbacks/{tid}"),
        &json!({"result": "reached", "note": "已收到礼物", "version": task["version"]}),
    )
    .await
    .expect(200)
    .json;
    assert_eq!(done["result"], "reached");
    send(
        api(app, Method::POST, &format!("/api/v1/callbacks/{tid}"), &tok)
            .json(&json!({"result": "no_answer", "version": done["version"]})),
    )
    .await
    .expect(409);
    // R buys before the next step: the journey stops there.
    let product = seed_product(app, &tok).await;
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(r, product, "SN-JOURNEY-R", &today.to_string()),
    )
    .await
    .expect(201);

    // Another server moving a journey already moved sends nothing.
    let k = app.app.store.campaign(id).await.unwrap().unwrap();
    let due = app
        .app
        .store
        .due_journeys(id, app.app.now(), 10)
        .await
        .unwrap();
    assert!(!due.is_empty());
    // One server moves them (here: on the spot, a second earlier) ...
    let moves = |send: bool| -> Vec<aftercare_app::campaign_model::JourneyMove> {
        due.iter()
            .map(|j| aftercare_app::campaign_model::JourneyMove {
                id: j.id,
                customer_id: j.recipient.customer_id,
                from: j.step,
                from_due: j.due_at,
                to: j.step,
                due_at: j.due_at - std::time::Duration::from_secs(1),
                end: None,
                send: send.then(|| aftercare_app::campaign_model::StepSend {
                    step: j.step,
                    channel: aftercare_domain::campaign::Channel::Email,
                    outcome: aftercare_domain::campaign::Outcome::Sent,
                    mail: Some(aftercare_app::campaign_model::CampaignMail {
                        to: "stale@example.cn".into(),
                        subject: "stale".into(),
                        body: "stale".into(),
                    }),
                    portal: None,
                    callback: None,
                }),
            })
            .collect()
    };
    let first = app
        .app
        .store
        .move_journeys(&k, &moves(false), app.app.now())
        .await
        .unwrap();
    assert_eq!(first.len(), due.len());
    // ... and another, which read them at the same moment, moves none and sends nothing.
    assert!(
        app.app
            .store
            .move_journeys(&k, &moves(true), app.app.now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM outbox WHERE recipient = 'stale@example.cn'")
            .await,
        0
    );

    // Round 3: P is through; R bought and stops; Q gets the closing mail. Round 4: Q is
    // through.
    let round = app.app.campaign_round().await.unwrap();
    assert_eq!(round.counts.sent, 1);
    app.app.campaign_round().await.unwrap();
    let j = journey_stats(app, &tok, id).await;
    assert_eq!(
        (
            j["active"].as_u64().unwrap(),
            j["done"].as_u64().unwrap(),
            j["stopped"].as_u64().unwrap()
        ),
        (0, 2, 1)
    );
    assert_eq!(
        (
            j["opened"].as_u64().unwrap(),
            j["clicked"].as_u64().unwrap(),
            j["answered"].as_u64().unwrap()
        ),
        (1, 1, 1)
    );
    let steps: Vec<(u64, u64, u64, u64)> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let c = &s["counts"];
            (
                s["step"].as_u64().unwrap(),
                c["sent"].as_u64().unwrap(),
                c["no_address"].as_u64().unwrap(),
                c["no_consent"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(steps, [(1, 1, 2, 0), (3, 1, 0, 1), (5, 2, 0, 0)]);
    // Nothing more, ever: every journey ended.
    let round = app.app.campaign_round().await.unwrap();
    assert_eq!((round.journeys, round.counts.total()), (0, 0));
    let mails = |email: &str| {
        let email = email.to_string();
        async move {
            app.db
                .count(&format!(
                    "SELECT COUNT(*) FROM outbox WHERE recipient = '{email}'"
                ))
                .await
        }
    };
    assert_eq!(
        mails("journey.p@example.cn").await,
        3,
        "first, sign-up, closing"
    );
    assert_eq!(mails("journey.q@example.cn").await, 2);
    assert_eq!(mails("journey.r@example.cn").await, 1);
    // The campaign's page shows the steps as read, and the agent's page the call-back done.
    let b = browser();
    login(app, &b, &app.admin_password).await.expect(303);
    let page = send(b.get(url(app, &format!("/campaigns/{id}"))))
        .await
        .expect(200);
    assert!(
        page.text.contains("如果客户点开了链接，跳到第 4 步"),
        "{}",
        page.text
    );
    assert!(page.text.contains("回访任务 · 生日回访"));
    let calls = send(b.get(url(app, "/callbacks"))).await.expect(200);
    assert!(calls.text.contains("已收到礼物"));
    // R's personal data holds the journey and the call-back; erased, they say nothing.
    let admin = token(app, &["write", "admin"]).await;
    let data = get_json(app, &admin, &format!("/api/v1/customers/{r}/personal-data"))
        .await
        .expect(200)
        .json;
    assert_eq!(data["tables"]["callback_tasks"][0]["note"], "已收到礼物");
    assert_eq!(data["tables"]["campaign_journeys"][0]["state"], "stopped");
    post_json(
        app,
        &admin,
        &format!("/api/v1/customers/{r}/erasure"),
        &json!({"note": "本人申请"}),
    )
    .await
    .expect(200);
    let data = get_json(app, &admin, &format!("/api/v1/customers/{r}/personal-data"))
        .await
        .expect(200)
        .json;
    let task = &data["tables"]["callback_tasks"][0];
    assert_eq!(
        (task["phone"].as_str(), task["script"].as_str()),
        (Some(""), Some(""))
    );
    assert!(task["note"].is_null());
    let _ = (p, q);
}

on_both_databases!(campaign_steps_wait_send_branch_and_stop => campaign_steps_follow_each_customer_once);

async fn campaigns_tell_who_asked_and_follow_needs(app: &TestApp) {
    let tok = token(app, &["write"]).await;
    put_json(
        app,
        &tok,
        "/api/v1/contact-budget",
        &json!({"max_messages": 10, "period_days": 30, "quiet_from": 0, "quiet_to": 0}),
    )
    .await
    .expect(204);
    let product = seed_product(app, &tok).await;
    let who = |name: &str, phone: &str, email: &str| {
        let mut b = person(name, phone);
        b["emails"] = json!([{"address": email, "primary": true}]);
        b["consent"] = json!(["email"]);
        b
    };
    let asked = create_customer(
        app,
        &tok,
        &who("反馈客户", "13700160001", "asked@example.cn"),
    )
    .await;
    let needs = create_customer(
        app,
        &tok,
        &who("需求客户", "13700160002", "needs@example.cn"),
    )
    .await;
    // The complaint that put an entry in the backlog, before any campaign ran.
    let complaint = post_json(
        app,
        &tok,
        "/api/v1/feedback",
        &json!({"source": "review", "body": "洗衣机脱水时噪音特别大，像拖拉机一样，太失望了",
                "customer_id": asked, "product_id": product, "rating": 1,
                "origin": "review:tmall:7001"}),
    )
    .await
    .expect(201)
    .json;
    let entry = complaint["improvement_id"]
        .as_i64()
        .expect("in the backlog");
    let text = |name: &str, hans: &str| {
        json!({"name": name, "status": "approved", "body_zh_hans": hans, "body_zh_hant": hans,
               "body_en": "Dear {customer_name}"})
    };
    let shipped_text = post_json(
        app,
        &tok,
        "/api/v1/message-texts",
        &text(
            "改进上线",
            "{customer_name}您好，您反馈的「{improvement}」已经改进。",
        ),
    )
    .await
    .expect(201)
    .id();
    let need_text = post_json(
        app,
        &tok,
        "/api/v1/message-texts",
        &text("需求跟进", "{customer_name}您好，我们有适合您的方案。"),
    )
    .await
    .expect(201)
    .id();
    // A field the trigger cannot fill is refused: a need has no improvement.
    let mut bad = json!({"name": "需求跟进", "trigger": "need_found", "text_id": shipped_text,
        "holdout_percent": 0, "subject_zh_hans": "您的需求", "subject_zh_hant": "您的需求",
        "subject_en": "Your need"});
    let r = send(api(app, Method::POST, "/api/v1/campaigns", &tok).json(&bad))
        .await
        .expect(422);
    assert_eq!(r.json["fields"][0]["code"], "field_not_for_trigger");
    bad["text_id"] = json!(need_text);
    let need_campaign = post_json(app, &tok, "/api/v1/campaigns", &bad)
        .await
        .expect(201)
        .id();
    let ship_campaign = post_json(
        app,
        &tok,
        "/api/v1/campaigns",
        &json!({"name": "改进通知", "trigger": "backlog_shipped", "text_id": shipped_text,
            "holdout_percent": 0, "subject_zh_hans": "您的反馈有结果了",
            "subject_zh_hant": "您的回饋有結果了", "subject_en": "You asked, we did"}),
    )
    .await
    .expect(201)
    .id();
    for id in [need_campaign, ship_campaign] {
        post_json(
            app,
            &tok,
            &format!("/api/v1/campaigns/{id}/status"),
            &json!({"status": "running", "version": 1}),
        )
        .await
        .expect(200);
    }
    // What came before the campaigns started reaches nobody.
    let round = app.app.campaign_round().await.unwrap();
    assert_eq!(round.counts.total(), 0);

    // The entry ships; feedback comes in and staff see an inducible need in it.
    put_json(
        app,
        &tok,
        &format!("/api/v1/improvements/{entry}"),
        &json!({"status": "shipped"}),
    )
    .await
    .expect(200);
    let fb = post_json(
        app,
        &tok,
        "/api/v1/feedback",
        &json!({"source": "consultation", "body": "家里老人洗衣服总是弯腰，不太方便",
                "customer_id": needs, "product_id": product}),
    )
    .await
    .expect(201)
    .id();
    put_json(
        app,
        &tok,
        &format!("/api/v1/feedback/{fb}/labels"),
        &json!({"need": "inducible"}),
    )
    .await
    .expect(200);
    // Old feedback taken in today, marked inducible too, is not followed up.
    let old = post_json(
        app,
        &tok,
        "/api/v1/feedback",
        &json!({"source": "review", "body": "希望有更大的容量", "customer_id": needs,
                "product_id": product, "origin": "review:jd:7002",
                "received_at": "2025-01-02T08:00:00Z"}),
    )
    .await
    .expect(201)
    .id();
    put_json(
        app,
        &tok,
        &format!("/api/v1/feedback/{old}/labels"),
        &json!({"need": "inducible"}),
    )
    .await
    .expect(200);

    let round = app.app.campaign_round().await.unwrap();
    assert_eq!(round.counts.sent, 2);
    let outbox = app.app.store.outbox_due(app.app.now(), 500).await.unwrap();
    let body_to = |email: &str| {
        outbox
            .iter()
            .filter(|m| m.to == email)
            .map(|m| m.body.clone())
            .collect::<Vec<_>>()
    };
    let told = body_to("asked@example.cn");
    assert_eq!(told.len(), 1);
    assert!(
        told[0].starts_with("反馈客户您好，您反馈的「") && told[0].ends_with("」已经改进。"),
        "{}",
        told[0]
    );
    let followed = body_to("needs@example.cn");
    assert_eq!(followed, ["需求客户您好，我们有适合您的方案。"]);
    // Once each: another round, or the entry shipped again, adds nothing.
    put_json(
        app,
        &tok,
        &format!("/api/v1/improvements/{entry}"),
        &json!({"status": "shipped"}),
    )
    .await
    .expect(200);
    assert_eq!(app.app.campaign_round().await.unwrap().counts.total(), 0);
    // The dry run looks back 30 days and shows the same people.
    let dry = post_json(
        app,
        &tok,
        &format!("/api/v1/campaigns/{ship_campaign}/dry-run"),
        &json!({}),
    )
    .await
    .expect(200)
    .json;
    assert_eq!(dry["rows"][0]["occurrence"], format!("improvement:{entry}"));
    assert_eq!(dry["rows"][0]["customer_id"], asked);
}

on_both_databases!(campaigns_on_shipped_improvements_and_inducible_needs => campaigns_tell_who_asked_and_follow_needs);

/// A staff account of `role` and a write token for it.
async fn staff_token(app: &TestApp, email: &str, name: &str, role: &str) -> (i64, String) {
    let admin = token(app, &["admin"]).await;
    let id = post_json(
        app,
        &admin,
        "/api/v1/users",
        &json!({"email": email, "name": name, "password": "staff-password-1", "role": role}),
    )
    .await
    .expect(201)
    .id();
    let tok = app
        .app
        .create_token(&Actor::system("test"), email, "t", &["write".to_string()])
        .await
        .unwrap()
        .token;
    (id, tok)
}

async fn the_service_network_claims_and_scorecards_over_http(app: &TestApp) {
    let tok = token(app, &["write", "admin"]).await;
    // An outlet refused field by field, in the caller's language, and nothing written.
    let before = events_count(app).await;
    let bad = send(
        api(app, Method::POST, "/api/v1/outlets", &tok)
            .header("Accept-Language", "zh-CN")
            .json(
                &json!({"name": "", "kind": "shop", "regions": ["苏州"], "categories": [999999],
                          "response_minutes": 600, "resolution_minutes": 60}),
            ),
    )
    .await
    .expect(422);
    let fields: Vec<(&str, &str)> = bad.json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("name", "required"),
            ("kind", "outlet_kind_unknown"),
            ("categories[0]", "reference_not_found"),
            ("resolution_minutes", "resolution_before_response"),
        ]
    );
    assert!(
        bad.json["fields"][1]["message"]
            .as_str()
            .unwrap()
            .contains("自营"),
        "{}",
        bad.text
    );
    assert_eq!(events_count(app).await, before);
    // An unknown field is refused too.
    post_json(
        app,
        &tok,
        "/api/v1/outlets",
        &json!({"name": "x", "kind": "own", "colour": "red"}),
    )
    .await
    .expect(422);

    let outlet = post_json(
        app,
        &tok,
        "/api/v1/outlets",
        &json!({"name": "杭州特约站", "kind": "partner", "city": "杭州", "regions": ["杭州"],
                "response_minutes": 120, "resolution_minutes": 1440}),
    )
    .await
    .expect(201)
    .id();
    let o = get_json(app, &tok, &format!("/api/v1/outlets/{outlet}"))
        .await
        .expect(200);
    assert_eq!(o.json["regions"], json!(["杭州"]));
    assert_eq!(o.json["version"], 1);
    let change = json!({"name": "杭州特约站", "kind": "partner", "city": "杭州", "regions": ["杭州", "绍兴"],
                        "version": 1});
    send(api(app, Method::PUT, &format!("/api/v1/outlets/{outlet}"), &tok).json(&change))
        .await
        .expect(204);
    let stale =
        send(api(app, Method::PUT, &format!("/api/v1/outlets/{outlet}"), &tok).json(&change))
            .await
            .expect(409);
    assert_eq!(stale.code(), "version_conflict");

    // The partner's technician, a customer in 杭州 with an air conditioner in warranty.
    let (tech_id, tech) = staff_token(app, "hz.tech@example.cn", "杭州师傅", "technician").await;
    put_json(
        app,
        &tok,
        &format!("/api/v1/staff-profiles/{tech_id}"),
        &json!({"outlet_id": outlet, "capacity": 20}),
    )
    .await
    .expect(204);
    let (_, agent) = staff_token(app, "hz.agent@example.cn", "客服小周", "agent").await;
    let product = seed_product(app, &tok).await;
    let customer = create_customer(
        app,
        &tok,
        &json!({"name": "杭州客户", "addresses": [{"city": "杭州市", "street": "文三路 1 号", "primary": true}]}),
    )
    .await;
    let today = aftercare_domain::calendar::china_date(app.app.clock.now()).to_string();
    post_json(
        app,
        &tok,
        "/api/v1/orders",
        &order(customer, product, "HZ-0001", &today),
    )
    .await
    .expect(201);
    let asset = get_json(app, &tok, &format!("/api/v1/customers/{customer}/360"))
        .await
        .expect(200)
        .json["assets"][0]["id"]
        .as_i64()
        .unwrap();
    let request = post_json(
        app,
        &agent,
        "/api/v1/requests",
        &json!({"customer_id": customer, "asset_id": asset, "service_type": "repair", "subject": "不制冷"}),
    )
    .await
    .expect(201)
    .id();
    let r = get_json(app, &tech, &format!("/api/v1/requests/{request}"))
        .await
        .expect(200);
    assert_eq!(r.json["request"]["outlet_id"], outlet);
    assert_eq!(r.json["request"]["assignee_id"], tech_id);

    // No claim before the visit is reported; after it, one, and only one.
    let claim = json!({"parts_amount": "", "labour_amount": "80.00"});
    let early = post_json(
        app,
        &tech,
        &format!("/api/v1/requests/{request}/claims"),
        &claim,
    )
    .await
    .expect(422);
    assert_eq!(
        early.json["fields"][0]["code"],
        "claim_without_visit_report"
    );
    let now = app.app.clock.now();
    let local = |t: jiff::Timestamp| {
        t.to_zoned(aftercare_domain::calendar::china())
            .strftime("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let visit = post_json(
        app,
        &tech,
        &format!("/api/v1/requests/{request}/visits"),
        &json!({"technician_id": tech_id,
                "starts_at": local(now - jiff::SignedDuration::from_mins(90)),
                "ends_at": local(now - jiff::SignedDuration::from_mins(30))}),
    )
    .await
    .expect(201)
    .id();
    send(
        api(
            app,
            Method::POST,
            &format!("/api/v1/visits/{visit}/report"),
            &tech,
        )
        .json(&json!({
            "work_done": "清洗冷凝器", "minutes_spent": 50, "confirmed_by": "杭州客户",
            "arrived_at": local(now - jiff::SignedDuration::from_mins(85))})),
    )
    .await
    .expect(204);
    let claim_id = post_json(
        app,
        &tech,
        &format!("/api/v1/requests/{request}/claims"),
        &claim,
    )
    .await
    .expect(201)
    .id();
    let again = post_json(
        app,
        &tech,
        &format!("/api/v1/requests/{request}/claims"),
        &claim,
    )
    .await
    .expect(409);
    assert_eq!(again.code(), "claim_exists");
    // The partner may not decide; the brand approves it in full.
    let decision = json!({"decision": "approve", "version": 1});
    post_json(
        app,
        &tech,
        &format!("/api/v1/claims/{claim_id}/decision"),
        &decision,
    )
    .await
    .expect(403);
    send(
        api(
            app,
            Method::POST,
            &format!("/api/v1/claims/{claim_id}/decision"),
            &tok,
        )
        .json(&decision),
    )
    .await
    .expect(204);
    let month = &today[..7];
    let st = get_json(
        app,
        &tech,
        &format!("/api/v1/outlets/{outlet}/statements/{month}"),
    )
    .await
    .expect(200);
    assert_eq!(st.json["approved_total"], 8000);
    assert_eq!(st.json["claims"].as_array().unwrap().len(), 1);
    // The agent (the brand's, not a manager) reads no claims.
    get_json(app, &agent, "/api/v1/claims").await.expect(403);

    // Scorecards: summed on demand by a manager; the technician reads only his own.
    post_json(app, &tech, "/api/v1/scorecards/refresh", &json!({}))
        .await
        .expect(403);
    post_json(app, &tok, "/api/v1/scorecards/refresh", &json!({}))
        .await
        .expect(200);
    let mine = get_json(app, &tech, "/api/v1/scorecards").await.expect(200);
    let cards = mine.json["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0]["name"], "杭州师傅");
    let on_time = cards[0]["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["code"] == "visits_on_time")
        .unwrap();
    assert_eq!(
        (on_time["n"].as_i64(), on_time["value"].is_null()),
        (Some(1), true)
    );
    let bad = get_json(app, &tok, "/api/v1/scorecards?from=2026-13")
        .await
        .expect(422);
    assert_eq!(bad.json["fields"][0]["field"], "from");
    get_json(app, &agent, "/api/v1/overview").await.expect(403);
    let overview = get_json(app, &tok, "/api/v1/overview?by=outlet")
        .await
        .expect(200);
    assert!(
        overview.json["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == outlet)
    );
}

on_both_databases!(the_service_network_claims_and_scorecards => the_service_network_claims_and_scorecards_over_http);
