//! Scorecards at scale (`--scorecards`), in process: 1,000 staff at 50 outlets and a year
//! of 5M requests (with about 2M visits and 500k survey answers) over the data set's
//! customers, each person working their skills' service types on two product lines; then the first summing of the year's months, everyone's scorecards for the
//! year (people and outlets, each a handful of times), one person's twelve-month trend,
//! and summing again after a day's changes.

use crate::{Args, Val, insert};
use aftercare_app::App;
use aftercare_app::quality_model::ScorecardQuery;
use aftercare_app::service::Principal;
use aftercare_store::{Backend, Db};
use std::time::Instant;

const STAFF: i64 = 1_000;
const FIRST_STAFF: i64 = 5_000;
const OUTLETS: i64 = 50;
const AGENT_TYPES: [&str; 3] = ["consultation", "technical_support", "complaint"];
const TECH_TYPES: [&str; 4] = ["repair", "installation", "maintenance", "delivery"];
const TIERS: &[&str] = &["high", "medium", "medium", "low", "low"];

fn stamp(t: jiff::Timestamp) -> String {
    aftercare_app::ports::stamp(t)
}

/// The secondary indexes of tables being loaded: dropped for the load, built after (one
/// sort each instead of millions of random inserts).
async fn indexes(db: &Db, tables: &[&str]) -> anyhow::Result<Vec<(String, String)>> {
    let list = tables
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = match db.backend {
        Backend::Sqlite => format!(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ({list})"
        ),
        Backend::Postgres => format!(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ({list}) \
             AND indexname NOT LIKE '%_pkey'"
        ),
    };
    Ok(sqlx::query_as(&sql).fetch_all(&db.read).await?)
}

async fn build(db: &Db, a: &Args, now: jiff::Timestamp) -> anyhow::Result<(f64, u64)> {
    let start = Instant::now();
    let saved = indexes(db, &["requests", "visits", "surveys"]).await?;
    for (name, _) in &saved {
        sqlx::raw_sql(&format!("DROP INDEX {name}"))
            .execute(&db.write)
            .await?;
    }
    let mut rows = 0u64;
    let mut tx = db.write.begin().await?;
    let first_cat: i64 = sqlx::query_scalar("SELECT MIN(id) FROM product_categories")
        .fetch_one(&mut *tx)
        .await?;
    let mut cats = vec![first_cat];
    for k in 0..7 {
        let id = 100 + k;
        insert(
            db.backend,
            &mut tx,
            "product_categories",
            &["id", "name", "parent_id"],
            &[vec![
                Val::I(id),
                Val::T(format!("品类{k}")),
                Val::I(first_cat),
            ]],
        )
        .await?;
        cats.push(id);
    }
    let outlets: Vec<Vec<Val>> = (0..OUTLETS)
        .map(|k| {
            vec![
                Val::I(1_000 + k),
                Val::T(format!("网点{k}")),
                Val::T(if k % 2 == 0 { "partner" } else { "own" }.into()),
                Val::T(format!("城市{}", k % 10)),
                Val::T(format!("城市{}", k % 10)),
            ]
        })
        .collect();
    insert(
        db.backend,
        &mut tx,
        "outlets",
        &["id", "name", "kind", "city", "regions"],
        &outlets,
    )
    .await?;
    let mut users = vec![];
    let mut profiles = vec![];
    for k in 0..STAFF {
        let id = FIRST_STAFF + k;
        users.push(vec![
            Val::I(id),
            Val::T(format!("staff{k}@bench.local")),
            Val::T(format!("员工{k}")),
            Val::T("!".into()),
            Val::T(if k % 3 == 0 { "agent" } else { "technician" }.into()),
            Val::T(stamp(now)),
        ]);
        profiles.push(vec![Val::I(id), Val::I(1_000 + k % OUTLETS), Val::I(50)]);
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
        &["user_id", "outlet_id", "capacity"],
        &profiles,
    )
    .await?;
    tx.commit().await?;
    rows += (STAFF * 2 + OUTLETS + 7) as u64;

    let total = a.requests;
    let chunk = 20_000u64;
    let year_h = 24 * 365;
    let (mut visit_id, mut survey_id) = (0i64, 0i64);
    let mut i = 0u64;
    while i < total {
        let end = (i + chunk).min(total);
        let mut reqs = Vec::with_capacity((end - i) as usize);
        let mut visits = Vec::new();
        let mut surveys = Vec::new();
        for r in i..end {
            let id = 10_000_000 + r as i64;
            let customer = (r * 7919) % a.customers + 1;
            let created = now - jiff::SignedDuration::from_hours((r * 13 % year_h) as i64 + 1);
            // Each person works their skills (agents: consultations, support and
            // complaints; technicians: repairs, installations, maintenance, deliveries) on
            // two product lines, as staff with skills do.
            let staff = FIRST_STAFF + ((r * 31) % STAFF as u64) as i64;
            let k = (staff - FIRST_STAFF) as u64;
            let skills: &[&str] = if k.is_multiple_of(3) {
                &AGENT_TYPES
            } else {
                &TECH_TYPES
            };
            let ty = skills[((r / 7) % skills.len() as u64) as usize];
            let outlet = 1_000 + (staff - FIRST_STAFF) % OUTLETS;
            let cat = cats[((k + (r / 11) % 2) % cats.len() as u64) as usize];
            let tier = TIERS[(r % TIERS.len() as u64) as usize];
            let open = r % 20 == 0;
            let hard = cat % 3 == 0 || ty == "repair";
            let breached = (r % if hard { 4 } else { 9 }) == 0;
            let resolved = (!open).then(|| stamp(created + jiff::SignedDuration::from_hours(30)));
            let visited = matches!(ty, "repair" | "installation" | "maintenance") && r % 10 < 7;
            let visits_done = if visited { 1 + (r % 5 == 0) as i64 } else { 0 };
            reqs.push(vec![
                Val::I(id),
                Val::T(format!("SC-{id}")),
                Val::I(customer as i64),
                Val::T(ty.into()),
                Val::T("after_sale".into()),
                Val::T(if open { "in_progress" } else { "closed" }.into()),
                Val::I(open as i64),
                Val::T("normal".into()),
                Val::I(2),
                Val::T("phone".into()),
                Val::T("空调不制冷".into()),
                Val::T(String::new()),
                Val::T(tier.into()),
                Val::I(staff),
                Val::I(outlet),
                Val::I(cat),
                Val::T(stamp(created + jiff::SignedDuration::from_hours(4))),
                Val::T(stamp(created + jiff::SignedDuration::from_mins(30))),
                Val::I((r % 17 == 0) as i64),
                resolved.clone().map(Val::T).unwrap_or(Val::N),
                Val::I(breached as i64),
                Val::I(visits_done),
                Val::I((ty == "repair" && r % 23 == 0) as i64),
                if r % 4 == 0 {
                    Val::I(1 + (r % 5) as i64)
                } else {
                    Val::N
                },
                Val::T(stamp(created)),
                Val::T(stamp(created)),
            ]);
            for v in 0..visits_done {
                visit_id += 1;
                let starts = created + jiff::SignedDuration::from_hours(20 + 24 * v);
                visits.push(vec![
                    Val::I(visit_id),
                    Val::I(id),
                    Val::I(staff),
                    Val::T(stamp(starts)),
                    Val::T(stamp(starts + jiff::SignedDuration::from_hours(1))),
                    Val::T("done".into()),
                    Val::T(stamp(starts)),
                    Val::T(stamp(starts + jiff::SignedDuration::from_hours(1))),
                    Val::I((r % 7 != 0) as i64),
                    Val::I(5),
                    Val::I(5 - (r % 3 == 0) as i64),
                ]);
            }
            if r % 10 == 1 && !open {
                survey_id += 1;
                surveys.push(vec![
                    Val::I(survey_id),
                    Val::I(customer as i64),
                    Val::T("resolved".into()),
                    Val::T(format!("request:{id}")),
                    Val::I(id),
                    Val::T(stamp(created)),
                    Val::T(stamp(created + jiff::SignedDuration::from_hours(24 * 14))),
                    Val::T(stamp(created + jiff::SignedDuration::from_hours(40))),
                    Val::I(1 + (r % 5) as i64),
                    Val::I((r % 11) as i64),
                    Val::I(1 + (r % 7) as i64),
                ]);
            }
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
                "outlet_id",
                "category_id",
                "response_due",
                "responded_at",
                "response_breached",
                "resolved_at",
                "resolution_breached",
                "visits_done",
                "repeated",
                "rating",
                "created_at",
                "updated_at",
            ],
            &reqs,
        )
        .await?;
        insert(
            db.backend,
            &mut tx,
            "visits",
            &[
                "id",
                "request_id",
                "technician_id",
                "starts_at",
                "ends_at",
                "status",
                "created_at",
                "reported_at",
                "on_time",
                "checklist_items",
                "checklist_done",
            ],
            &visits,
        )
        .await?;
        insert(
            db.backend,
            &mut tx,
            "surveys",
            &[
                "id",
                "customer_id",
                "occasion",
                "subject_ref",
                "request_id",
                "created_at",
                "expires_at",
                "answered_at",
                "csat",
                "nps",
                "ces",
            ],
            &surveys,
        )
        .await?;
        tx.commit().await?;
        rows += (reqs.len() + visits.len() + surveys.len()) as u64;
        i = end;
        if i.is_multiple_of(500_000) {
            eprintln!("  {i} requests…");
        }
    }
    eprintln!("building the indexes again…");
    for (_, sql) in &saved {
        sqlx::raw_sql(sql).execute(&db.write).await?;
    }
    Ok((start.elapsed().as_secs_f64(), rows))
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn self_rss_kb() -> (u64, u64) {
    crate::rss_kb(std::process::id())
}

pub async fn run(app: &App, db: &Db, a: &Args) -> anyhow::Result<()> {
    let now = app.clock.now();
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
        .fetch_one(&db.read)
        .await?;
    println!("### Scorecards: {STAFF} staff at {OUTLETS} outlets, a year of requests\n");
    println!("| what | value |\n|---|---|");
    if existing == 0 {
        eprintln!(
            "adding {} requests with their visits and surveys…",
            a.requests
        );
        let (secs, rows) = build(db, a, now).await?;
        println!(
            "| rows added (requests, visits, survey answers) | {rows} in {secs:.0} s ({:.0} rows/s) |",
            rows as f64 / secs
        );
    }
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM requests), (SELECT COUNT(*) FROM visits), \
         (SELECT COUNT(*) FROM surveys)",
    )
    .fetch_one(&db.read)
    .await?;
    println!(
        "| requests / visits / survey answers | {} / {} / {} |",
        counts.0, counts.1, counts.2
    );
    // The first summing: every month of the year, from nothing (also with --reuse).
    sqlx::raw_sql("DELETE FROM scorecard_cells; DELETE FROM scorecard_builds")
        .execute(&db.write)
        .await?;
    let t = Instant::now();
    let months = app
        .refresh_scorecards()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "| first summing of the months ({months} months) | {:.1} s |",
        t.elapsed().as_secs_f64()
    );
    let user = app
        .store
        .users()
        .await?
        .into_iter()
        .find(|u| u.email == "bench@aftercare.local")
        .ok_or_else(|| anyhow::anyhow!("no bench admin"))?;
    let admin = Principal {
        user,
        role: aftercare_domain::account::Role::Admin,
        scopes: None,
    };
    let this = app.clock.today().first_of_month();
    let year_ago = this
        .checked_sub(jiff::Span::new().months(11))
        .unwrap_or(this);
    let label = |d: jiff::civil::Date| format!("{:04}-{:02}", d.year(), d.month());
    for of in ["people", "outlets"] {
        let q = ScorecardQuery {
            from: Some(label(year_ago)),
            to: Some(label(this)),
            of: Some(of.into()),
        };
        let mut times = vec![];
        let mut cards = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let r = app
                .scorecards(&admin, &q)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            times.push(ms(t));
            cards = r.cards.len();
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| everyone's scorecards for the year, {of} ({cards} cards): median / worst of 5 | {:.0} ms / {:.0} ms |",
            times[2], times[4]
        );
    }
    let q = ScorecardQuery {
        from: Some(label(year_ago)),
        to: Some(label(this)),
        of: None,
    };
    let t = Instant::now();
    let trend = app
        .scorecard_trend(&admin, &q, FIRST_STAFF + 7)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "| one person's trend, {} months | {:.0} ms |",
        trend.len(),
        ms(t)
    );
    // A day's changes in this month: summed again.
    sqlx::query("UPDATE requests SET updated_at = $1 WHERE id IN (SELECT id FROM requests WHERE created_at >= $2 ORDER BY id LIMIT 2000)")
        .bind(stamp(app.clock.now()))
        .bind(stamp(now - jiff::SignedDuration::from_hours(24 * 5)))
        .execute(&db.write)
        .await?;
    let t = Instant::now();
    let months = app
        .refresh_scorecards()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "| summing again after 2,000 changes this month ({months} months) | {:.1} s |",
        t.elapsed().as_secs_f64()
    );
    let (rss, hwm) = self_rss_kb();
    println!(
        "| benchmark process memory (resident / peak) | {} MB / {} MB |\n",
        rss / 1024,
        hwm / 1024
    );
    Ok(())
}
