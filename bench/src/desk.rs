//! The service desk at scale: 5M requests (500k of them open) over the 1M-customer data
//! set, then create-request throughput at 16 clients, queue latencies with their counts,
//! and SLA sweeps over the 500k open requests (steady state, a catch-up, everything due).

use crate::{Args, Stats, Val, insert, load, rss_kb};
use aftercare_app::{Actor, App};
use aftercare_store::{Backend, Db};
use anyhow::Context;
use std::time::Instant;

/// Staff who take requests in the data set.
const AGENTS: i64 = 50;
const TYPES: &[&str] = &[
    "repair",
    "installation",
    "maintenance",
    "consultation",
    "technical_support",
    "complaint",
    "delivery",
];
const OPEN: &[&str] = &[
    "new",
    "assigned",
    "assigned",
    "in_progress",
    "in_progress",
    "scheduled",
    "waiting_customer",
    "waiting_parts",
];
const PRIORITIES: &[(&str, i64)] = &[
    ("low", 3),
    ("normal", 2),
    ("normal", 2),
    ("high", 1),
    ("urgent", 0),
];

fn stamp(t: jiff::Timestamp) -> String {
    aftercare_app::ports::stamp(t)
}

/// Adds the agents (with profiles) and the requests; returns the agents' user ids.
pub async fn build(db: &Db, a: &Args, now: jiff::Timestamp) -> anyhow::Result<(f64, u64)> {
    let start = Instant::now();
    let mut tx = db.write.begin().await?;
    let mut users = vec![];
    let mut profiles = vec![];
    for k in 0..AGENTS {
        let id = 1_000 + k;
        users.push(vec![
            Val::I(id),
            Val::T(format!("agent{k}@bench.local")),
            Val::T(format!("坐席{k}")),
            Val::T("!".into()),
            Val::T(if k % 2 == 0 { "agent" } else { "technician" }.into()),
            Val::T(stamp(now)),
        ]);
        profiles.push(vec![
            Val::I(id),
            Val::T(if k % 2 == 0 {
                "consultation,technical_support,complaint".into()
            } else {
                "repair,installation,maintenance,delivery".into()
            }),
            Val::I(100_000),
        ]);
    }
    insert(
        db.backend,
        &mut tx,
        "users",
        &["id", "email", "name", "password_hash", "role", "created_at"],
        &users,
    )
    .await?;
    insert(
        db.backend,
        &mut tx,
        "staff_profiles",
        &["user_id", "skills", "capacity"],
        &profiles,
    )
    .await?;
    tx.commit().await?;
    if db.backend == Backend::Postgres {
        sqlx::raw_sql("SELECT setval(pg_get_serial_sequence('users', 'id'), 2000)")
            .execute(&db.write)
            .await?;
    }

    let total = a.requests;
    let open_every = (total / a.open.max(1)).max(1);
    let assets_per = a.orders_per_customer;
    let chunk = 5_000u64;
    let mut rows = AGENTS as u64 * 2;
    let mut i = 0u64;
    let mut year_seq: std::collections::BTreeMap<i16, i64> = Default::default();
    while i < total {
        let end = (i + chunk).min(total);
        let mut batch = Vec::with_capacity((end - i) as usize);
        for r in i..end {
            let id = r as i64 + 1;
            let customer = (r * 7919) % a.customers + 1;
            let asset = (customer - 1) * assets_per + 1 + r % assets_per.max(1);
            let open = r % open_every == 0;
            // Opened over the last three years; open ones in the last weeks.
            let age_h = if open {
                (r / open_every) % (24 * 21)
            } else {
                24 * 21 + (r * 13) % (24 * 365 * 3)
            } as i64;
            let created = now - jiff::SignedDuration::from_hours(age_h);
            let year = created.to_zoned(jiff::tz::TimeZone::UTC).year();
            let seq = year_seq.entry(year).or_insert(0);
            *seq += 1;
            let ty = TYPES[(r % TYPES.len() as u64) as usize];
            let (prio, rank) = PRIORITIES[(r % PRIORITIES.len() as u64) as usize];
            let status = if open {
                OPEN[((r / open_every) % OPEN.len() as u64) as usize]
            } else if r % 3 == 0 {
                "resolved"
            } else {
                "closed"
            };
            let agent = 1_000 + (r as i64 % AGENTS);
            let assignee = (status != "new").then_some(agent);
            // Open requests: due between 2 days ago and 12 days ahead, so about a seventh
            // of them are late already (a catch-up sweep's work) and more fall due daily.
            let due = created + jiff::SignedDuration::from_hours(24 * 3);
            let due = if open {
                now + jiff::SignedDuration::from_mins(
                    ((r / open_every) % (14 * 24 * 60)) as i64 - 2 * 24 * 60,
                )
            } else {
                due
            };
            let resolved = (!open).then(|| stamp(created + jiff::SignedDuration::from_hours(30)));
            let paused = status == "waiting_customer";
            batch.push(vec![
                Val::I(id),
                Val::T(aftercare_domain::request::request_number(year, *seq)),
                Val::I(customer as i64),
                Val::I(asset as i64),
                Val::T(ty.into()),
                Val::T("after_sale".into()),
                Val::T(status.into()),
                Val::I(open as i64),
                Val::T(prio.into()),
                Val::I(rank),
                Val::T("phone".into()),
                Val::T("空调不制冷".into()),
                Val::T("开机后出风不冷。".into()),
                Val::T("medium".into()),
                assignee.map(Val::I).unwrap_or(Val::N),
                Val::I(1),
                Val::T(stamp(created + jiff::SignedDuration::from_hours(4))),
                Val::T(stamp(created + jiff::SignedDuration::from_mins(20))),
                if open && !paused {
                    Val::T(stamp(due))
                } else {
                    Val::N
                },
                if paused { Val::I(3600) } else { Val::N },
                if open && !paused {
                    Val::T(stamp(due))
                } else {
                    Val::N
                },
                resolved.clone().map(Val::T).unwrap_or(Val::N),
                Val::T(stamp(created)),
                Val::T(stamp(created)),
            ]);
        }
        let mut tx = db.write.begin().await?;
        insert(
            db.backend,
            &mut tx,
            "requests",
            &[
                "id",
                "number",
                "customer_id",
                "asset_id",
                "service_type",
                "phase",
                "status",
                "active",
                "priority",
                "priority_rank",
                "channel",
                "subject",
                "description",
                "tier",
                "assignee_id",
                "sla_policy_id",
                "response_due",
                "responded_at",
                "resolution_due",
                "resolution_left",
                "sla_next",
                "resolved_at",
                "created_at",
                "updated_at",
            ],
            &batch,
        )
        .await?;
        tx.commit().await?;
        rows += batch.len() as u64;
        i = end;
        if i.is_multiple_of(500_000) {
            eprintln!("  {i} requests…");
        }
    }
    // The numbering continues after the data set.
    let mut tx = db.write.begin().await?;
    let seqs: Vec<Vec<Val>> = year_seq
        .iter()
        .map(|(y, s)| vec![Val::I(*y as i64), Val::I(*s)])
        .collect();
    insert(
        db.backend,
        &mut tx,
        "request_numbers",
        &["year", "last"],
        &seqs,
    )
    .await?;
    tx.commit().await?;
    if db.backend == Backend::Postgres {
        sqlx::raw_sql(
            "SELECT setval(pg_get_serial_sequence('requests', 'id'), (SELECT MAX(id) FROM requests)); ANALYZE",
        )
        .execute(&db.write)
        .await?;
    } else {
        db.analyze().await?;
    }
    Ok((start.elapsed().as_secs_f64(), rows))
}

/// One SLA sweep, timed: (examined, warnings, breaches, escalations, seconds).
pub async fn sweep_once(app: &App) -> anyhow::Result<(i64, i64, i64, i64, f64)> {
    let t = Instant::now();
    let r = app.sla_sweep().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((
        r.examined,
        r.warnings,
        r.response_breaches + r.resolution_breaches,
        r.escalations,
        t.elapsed().as_secs_f64(),
    ))
}

fn row(label: &str, s: Stats) {
    println!(
        "| {label} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
        s.n, s.rps, s.p50, s.p95, s.p99, s.errors
    );
}

/// The measurements against a running server at `base`.
#[allow(clippy::too_many_arguments)]
pub async fn measure(
    app: &App,
    db: &Db,
    a: &Args,
    base: &str,
    pid: u32,
    admin_token: &str,
    admin_cookie: &str,
    catch_up: (i64, i64, i64, i64, f64),
) -> anyhow::Result<()> {
    let actor = Actor::system("bench");
    let agent_token = app
        .create_token(&actor, "agent0@bench.local", "bench", &["write".into()])
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .token;
    let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE active = 1")
        .fetch_one(&db.read)
        .await?;
    let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
        .fetch_one(&db.read)
        .await?;
    println!("\n### Service desk: {all} requests, {open} open\n");
    println!(
        "| request | requests | req/s | p50 ms | p95 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|"
    );
    for (label, path, token) in [
        (
            "queue \"mine\" API (an agent with ~10k open)",
            "/api/v1/requests?queue=mine&limit=50",
            &agent_token,
        ),
        (
            "queue \"unassigned\" API",
            "/api/v1/requests?queue=unassigned&limit=50",
            &agent_token,
        ),
        (
            "queue \"breaching soon\" API",
            "/api/v1/requests?queue=breaching&limit=50",
            &agent_token,
        ),
        (
            "queue \"all open\" API",
            "/api/v1/requests?queue=all&limit=50",
            &agent_token,
        ),
        (
            "queue counts (5 queues, capped at 1000)",
            "/api/v1/requests/counts",
            &agent_token,
        ),
    ] {
        let (b, t, p) = (base.to_string(), token.to_string(), path.to_string());
        row(
            &format!("{label} `{path}`"),
            load(a.clients, a.seconds, move |c, _| {
                c.get(format!("{b}{p}")).bearer_auth(&t)
            })
            .await,
        );
    }
    let (b, k) = (base.to_string(), admin_cookie.to_string());
    row(
        "queue page with counts `GET /requests?queue=all`",
        load(a.clients, a.seconds, move |c, _| {
            c.get(format!("{b}/requests?queue=all"))
                .header("cookie", &k)
        })
        .await,
    );
    let (b, k, n) = (base.to_string(), admin_cookie.to_string(), all as u64);
    row(
        "request page with the customer 360 `GET /requests/{id}`",
        load(a.clients, a.seconds, move |c, r| {
            c.get(format!("{b}/requests/{}", (r * 7919) % n + 1))
                .header("cookie", &k)
        })
        .await,
    );
    let (b, t, customers, per) = (
        base.to_string(),
        admin_token.to_string(),
        a.customers,
        a.orders_per_customer,
    );
    let created = load(a.clients, a.seconds, move |c, r| {
        let customer = r % customers + 1;
        c.post(format!("{b}/api/v1/requests"))
            .bearer_auth(&t)
            .json(&serde_json::json!({
                "customer_id": customer,
                "asset_id": (customer - 1) * per + 1,
                "service_type": "repair",
                "subject": "压测报修",
                "description": "基准测试"
            }))
    })
    .await;
    row(
        "open a request `POST /api/v1/requests` (routing, SLA, warranty decision)",
        created,
    );
    let (rss, hwm) = rss_kb(pid);
    println!(
        "\nServer resident memory after the desk phases: {:.0} MB (peak {:.0} MB).",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );

    // SLA sweeps, in this process over the same database (the server's own sweep runs
    // every 30 s too; both are safe together).
    println!("\n### SLA sweep over {open} open requests\n");
    println!(
        "| sweep | examined | warnings | breaches | escalations | time |\n|---|---|---|---|---|---|"
    );
    let sweep = |label: &'static str| async move {
        let (examined, warnings, breaches, escalations, secs) = sweep_once(app).await?;
        println!(
            "| {label} | {examined} | {warnings} | {breaches} | {escalations} | {secs:.2} s |"
        );
        Ok::<_, anyhow::Error>(secs)
    };
    let (examined, warnings, breaches, escalations, secs) = catch_up;
    println!(
        "| catch-up before the server started: everything due by then | {examined} | {warnings} | {breaches} | {escalations} | {secs:.2} s |"
    );
    sweep("steady state: the next sweep, nothing new due").await?;
    // Everything open falls due at once: the worst case.
    // (Breach flags are cleared first, so this phase can be run again on the same data.)
    sqlx::query("UPDATE requests SET sla_next = $1, resolution_due = $1, warn_at = NULL, warned = 1, resolution_breached = 0, escalated = 0 WHERE active = 1 AND resolution_due IS NOT NULL")
        .bind(stamp(
            jiff::Timestamp::from_second(1_700_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        ))
        .execute(&db.write)
        .await
        .context("making every open request due")?;
    sweep("worst case: every open request breaches at once").await?;
    Ok(())
}
