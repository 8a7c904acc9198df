//! The campaign benchmark (`--campaign`), in process on the main data set: every customer
//! with an address agrees to mail and is scored (plain SQL, once), one saved segment holds
//! them all, and a segment campaign with a 10 % holdout runs round after round until it
//! has decided everyone — reading the audience, drawing the holdout, checking the contact
//! budget, writing the members and queueing the mails, as the `campaigns` job does. Prints
//! the time and the rates for docs/benchmarks.md.

use aftercare_app::App;
use aftercare_app::campaign_model::Campaign;
use aftercare_app::desk_model::MessageText;
use aftercare_app::service::Actor;
use aftercare_domain::campaign::{CampaignStatus, ContactBudget, Trigger};
use aftercare_store::Db;
use std::time::Instant;

pub async fn run(app: &App, db: &Db) -> anyhow::Result<()> {
    let now = app.clock.now();
    let stamp = aftercare_app::ports::stamp(now);
    // Scores, once: the campaign reads scored customers only.
    sqlx::query(
        "INSERT INTO customer_values (customer_id, as_of, purchases, revenue, service_cost, current_value, \
         clv, class, tier, stage, updated_at) \
         SELECT id, '2026-12-01', 0, 0, 0, 0, 0, 'regular', 'low', 'aware', $1 FROM customers \
         WHERE NOT EXISTS (SELECT 1 FROM customer_values v WHERE v.customer_id = customers.id)",
    )
    .bind(&stamp)
    .execute(&db.write)
    .await?;
    let (audience, with_mail): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(c.primary_email) FROM customer_values v JOIN customers c ON c.id = v.customer_id",
    )
    .fetch_one(&db.read)
    .await?;
    app.store.save_segment(None, "全部客户", "{}", now).await?;
    running_campaign(
        app,
        db,
        Trigger::Segment,
        Some("全部客户"),
        &BenchText {
            name: "基准活动",
            bodies: [
                "{customer_name}您好，感谢您的信任。",
                "{customer_name}您好，感謝您的信任。",
                "Dear {customer_name}, thank you.",
            ],
            subjects: [
                "{customer_name}，感谢",
                "{customer_name}，感謝",
                "Thank you",
            ],
        },
    )
    .await?;

    // The campaign job's rounds, back to back, until the sweep is through.
    let outbox_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&db.read)
        .await?;
    let start = Instant::now();
    let (mut rounds, mut decided, mut longest) = (0u32, 0u64, 0f64);
    let mut counts = aftercare_app::campaign_model::OutcomeCounts::default();
    loop {
        let t = Instant::now();
        let r = app.campaign_round().await?;
        longest = longest.max(t.elapsed().as_secs_f64());
        rounds += 1;
        decided += r.counts.total();
        for (o, n) in [
            (aftercare_domain::campaign::Outcome::Sent, r.counts.sent),
            (
                aftercare_domain::campaign::Outcome::HeldOut,
                r.counts.held_out,
            ),
            (
                aftercare_domain::campaign::Outcome::NoConsent,
                r.counts.no_consent,
            ),
            (
                aftercare_domain::campaign::Outcome::NoAddress,
                r.counts.no_address,
            ),
            (
                aftercare_domain::campaign::Outcome::Pressure,
                r.counts.pressure,
            ),
        ] {
            counts.add(o, n);
        }
        anyhow::ensure!(r.failed == 0, "a campaign round failed");
        if !r.more {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let outbox_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&db.read)
        .await?;
    anyhow::ensure!(
        decided as i64 == audience,
        "decided {decided} of an audience of {audience}"
    );
    println!("### Campaigns: a segment campaign over every customer\n");
    println!("| what | value |\n|---|---|");
    println!("| audience (scored customers; with an email address) | {audience}; {with_mail} |");
    println!(
        "| outcomes: sent / held out / no address / no consent / over budget | {} / {} / {} / {} / {} |",
        counts.sent, counts.held_out, counts.no_address, counts.no_consent, counts.pressure
    );
    println!(
        "| held out, of those reachable | {:.2} % |",
        100.0 * counts.held_out as f64 / (counts.sent + counts.held_out).max(1) as f64
    );
    println!(
        "| mails queued in the outbox | {} |",
        outbox_after - outbox_before
    );
    println!("| rounds (at most 20,000 decisions each) | {rounds}; longest {longest:.1} s |");
    println!(
        "| **selection, holdout draw and enqueueing, end to end** | **{secs:.1} s** ({:.0} decisions/s) |\n",
        decided as f64 / secs
    );
    Ok(())
}

/// The event benchmark (`--campaign-events`): a request-resolved campaign runs in the
/// server as in production while clients open, take on and resolve requests through the
/// API; each resolution's time to its campaign step (the member decided and the mail
/// queued, or held out) is read from the database afterwards.
pub async fn events(
    app: &App,
    db: &Db,
    a: &crate::Args,
    bin: &std::path::Path,
    data_dir: &std::path::Path,
    url: &str,
) -> anyhow::Result<()> {
    let id = running_campaign(
        app,
        db,
        Trigger::RequestResolved,
        None,
        &BenchText {
            name: "解决回访",
            bodies: [
                "{customer_name}您好，您的请求 {request_number} 已解决。",
                "{customer_name}您好，您的請求 {request_number} 已解決。",
                "Dear {customer_name}, request {request_number} is resolved.",
            ],
            subjects: [
                "您的请求已解决",
                "您的請求已解決",
                "Your request is resolved",
            ],
        },
    )
    .await?;
    let admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(crate::ADMIN)
        .fetch_one(&db.read)
        .await?;
    let (child, _pid, base, token, _cookie) =
        crate::start_server(app, a, bin, data_dir, url).await?;

    // Clients open a repair for a customer with an address, assign it, start and resolve
    // it, one after another, for the load phase.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(a.clients)
        .build()?;
    let deadline = Instant::now() + std::time::Duration::from_secs(a.seconds);
    let (customers, per) = (a.customers, a.orders_per_customer);
    let mut tasks = Vec::new();
    for k in 0..a.clients {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut resolved = 0u64;
            let mut errors = 0u64;
            let mut r = k as u64 * 7919;
            while Instant::now() < deadline {
                r = r
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // Customers with an even index (odd id) have an email address.
                let customer = (r >> 33) % customers.div_ceil(2) * 2 + 1;
                let step = async {
                    let created: serde_json::Value = http
                        .post(format!("{base}/api/v1/requests"))
                        .bearer_auth(&token)
                        .json(&serde_json::json!({
                            "customer_id": customer,
                            "asset_id": (customer - 1) * per + 1,
                            "service_type": "repair",
                            "subject": "压测报修",
                            "description": "基准测试"
                        }))
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    let rid = created["id"].as_i64().unwrap_or_default();
                    let detail: serde_json::Value = http
                        .get(format!("{base}/api/v1/requests/{rid}"))
                        .bearer_auth(&token)
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    let mut version = detail["request"]["version"].as_i64().unwrap_or(1);
                    let after: serde_json::Value = http
                        .patch(format!("{base}/api/v1/requests/{rid}"))
                        .bearer_auth(&token)
                        .json(&serde_json::json!({"version": version, "assignee_id": admin}))
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    version = after["request"]["version"].as_i64().unwrap_or(version);
                    for status in ["in_progress", "resolved"] {
                        let after: serde_json::Value = http
                            .post(format!("{base}/api/v1/requests/{rid}/transitions"))
                            .bearer_auth(&token)
                            .json(&serde_json::json!({"status": status, "version": version}))
                            .send()
                            .await?
                            .error_for_status()?
                            .json()
                            .await?;
                        version = after["request"]["version"].as_i64().unwrap_or(version);
                    }
                    Ok::<_, reqwest::Error>(())
                };
                match step.await {
                    Ok(()) => resolved += 1,
                    Err(_) => errors += 1,
                }
            }
            (resolved, errors)
        }));
    }
    let (mut resolved, mut errors) = (0, 0);
    for t in tasks {
        let (r, e) = t.await?;
        resolved += r;
        errors += e;
    }
    // The last resolutions get their round too.
    let wait = Instant::now();
    let decided = loop {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM campaign_members WHERE campaign_id = $1")
                .bind(id)
                .fetch_one(&db.read)
                .await?;
        if n as u64 >= resolved || wait.elapsed().as_secs() > 60 {
            break n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    crate::stop_server(child).await;
    let pairs: Vec<(String, String)> = sqlx::query_as(
        "SELECT r.resolved_at, m.at FROM campaign_members m \
         JOIN requests r ON r.id = CAST(SUBSTR(m.occurrence, 9) AS BIGINT) \
         WHERE m.campaign_id = $1",
    )
    .bind(id)
    .fetch_all(&db.read)
    .await?;
    let mut lat: Vec<f64> = pairs
        .iter()
        .filter_map(|(r, m)| {
            let r: jiff::Timestamp = r.parse().ok()?;
            let m: jiff::Timestamp = m.parse().ok()?;
            Some(m.duration_since(r).as_secs_f64())
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| {
        lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!("### Campaigns: a step on an event, under load\n");
    println!("| what | value |\n|---|---|");
    println!(
        "| requests resolved through the API ({} clients, {} s; open, assign, start, resolve) | {resolved} ({:.0}/s; {errors} errors) |",
        a.clients,
        a.seconds,
        resolved as f64 / a.seconds as f64
    );
    println!("| decided by the campaign (sent or held out) | {decided} |");
    println!(
        "| **time from the resolution to the step: p50 / p95 / max** | **{:.2} s / {:.2} s / {:.2} s** |\n",
        q(0.5),
        q(0.95),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}

/// A campaign's text and subjects in 简体中文, 繁體中文 and English.
struct BenchText {
    name: &'static str,
    bodies: [&'static str; 3],
    subjects: [&'static str; 3],
}

/// What both campaign benchmarks start from: consent to mail for every customer with an
/// address, no quiet hours and a budget nobody reaches (the run measures the work, whatever
/// the hour), an approved text, and a running campaign over it with a 10 % holdout.
async fn running_campaign(
    app: &App,
    db: &Db,
    trigger: Trigger,
    segment: Option<&str>,
    t: &BenchText,
) -> anyhow::Result<i64> {
    let actor = Actor::system("bench");
    let now = app.clock.now();
    sqlx::query(
        "UPDATE customers SET consent = 'email' WHERE primary_email IS NOT NULL AND consent = ''",
    )
    .execute(&db.write)
    .await?;
    app.store
        .set_contact_budget(
            &actor,
            &ContactBudget {
                max_messages: 50,
                period_days: 30,
                quiet_from: 0,
                quiet_to: 0,
            },
            now,
        )
        .await?;
    let name = format!("{} {}", t.name, now.as_second());
    let [zh_hans, zh_hant, en] = t.bodies;
    let text = MessageText {
        id: 0,
        name: name.clone(),
        body_zh_hans: zh_hans.into(),
        body_zh_hant: zh_hant.into(),
        body_en: en.into(),
        status: "approved".into(),
        owner_name: "bench".into(),
        updated_at: now,
        version: 1,
    };
    let text_id = app
        .store
        .save_message_text(&actor, &text, None, now)
        .await?;
    let [s_hans, s_hant, s_en] = t.subjects;
    let c = Campaign {
        id: 0,
        name,
        trigger,
        segment_name: segment.map(str::to_string),
        audience: segment.map(|_| "{}".to_string()),
        lead_days: 0,
        text_id,
        text_name: String::new(),
        subject_zh_hans: s_hans.into(),
        subject_zh_hant: s_hant.into(),
        subject_en: s_en.into(),
        holdout_percent: 10,
        voucher: None,
        seed: rand::random::<i64>(),
        window_days: 30,
        steps: vec![],
        status: CampaignStatus::Draft,
        started_at: None,
        stopped_at: None,
        swept_at: None,
        sweep_after: 0,
        owner_name: "bench".into(),
        created_at: now,
        version: 1,
    };
    let id = app.store.create_campaign(&actor, &c, None).await?;
    app.store
        .set_campaign_status(&actor, id, 1, CampaignStatus::Running, now)
        .await?;
    Ok(id)
}
