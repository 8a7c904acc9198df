//! The customer-value benchmark (`--value`): a data set of customers who buy at their own
//! pace and stop (10M orders for 1M customers by default), then
//! - the full recompute in process, as `aftercare value recompute` runs it, with its parts;
//! - the RFM part beside the same RFM in DuckDB on the same orders, in the same run;
//! - the incremental update: the time from a new order (API) until the customer's value
//!   shows it, while 16 clients load the server.

use crate::{Args, Val, insert, load, name_of, phone_of, rss_kb, start_server};
use aftercare_app::{Actor, App};
use aftercare_insight::value::{ValueSettings, fit, quintile_cuts, quintile_score};
use aftercare_store::Db;
use anyhow::Context;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Builds customers and their orders, as the BG/NBD and Gamma-Gamma models suppose: each
/// buys at their own pace (every 15 to 135 days on average), stops for good after a
/// purchase with their own chance (1 in 4, 10, 28 or 90), spends around their own amount
/// (¥80 to ¥600), from a first purchase in the last six years: about 10 orders each.
/// Orders also go to `orders.csv` for DuckDB.
pub async fn build(db: &Db, customers: u64, data_dir: &Path) -> anyhow::Result<(u64, f64)> {
    let start = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let today = jiff::civil::date(2026, 11, 1);
    let stamp = |d: jiff::civil::Date| format!("{d}T10:00:00.000000Z");
    let csv = std::fs::File::create(data_dir.join("orders.csv"))?;
    let mut csv = std::io::BufWriter::new(csv);
    writeln!(csv, "customer_id,ordered_on,total,status")?;
    let (mut order_id, mut c) = (0u64, 0u64);
    while c < customers {
        let end = (c + 2000).min(customers);
        let mut tx = db.write.begin().await?;
        let (mut cust, mut orders) = (vec![], vec![]);
        for i in c..end {
            let id = i as i64 + 1;
            let name = name_of(i);
            let first_ago = rng.random_range(1..2190i64);
            let created = today
                .checked_sub(jiff::Span::new().days(first_ago + 30))
                .unwrap_or(today);
            cust.push(vec![
                Val::I(id),
                Val::T("person".into()),
                Val::T(name.clone()),
                Val::T(aftercare_domain::customer::sort_key(&name)),
                Val::T(phone_of(i)),
                Val::T(crate::CITIES[(i % crate::CITIES.len() as u64) as usize].into()),
                Val::T(stamp(created)),
                Val::T(stamp(created)),
            ]);
            let every = rng.random_range(15.0..135.0f64);
            let stop_after = [4, 10, 28, 90][rng.random_range(0..4)];
            let spend = rng.random_range(9.0..11.0f64).exp() as i64;
            let mut ago = first_ago as f64;
            loop {
                let day = today
                    .checked_sub(jiff::Span::new().days(ago as i64))
                    .unwrap_or(today);
                order_id += 1;
                let total = spend / 2 + rng.random_range(0..spend);
                orders.push(vec![
                    Val::I(order_id as i64),
                    Val::T(format!("SO-{}-{order_id:08}", day.year())),
                    Val::I(id),
                    Val::T("store".into()),
                    Val::T(day.to_string()),
                    Val::T("completed".into()),
                    Val::T("CNY".into()),
                    Val::I(0),
                    Val::I(total),
                    Val::T(stamp(day)),
                ]);
                writeln!(csv, "{id},{day},{total},completed")?;
                if rng.random_ratio(1, stop_after) {
                    break;
                }
                let u: f64 = rng.random_range(0.0001..1.0);
                ago -= -u.ln() * every;
                if ago < 0.0 {
                    break;
                }
            }
        }
        insert(
            db.backend,
            &mut tx,
            "customers",
            &[
                "id",
                "kind",
                "name",
                "name_sort",
                "primary_phone",
                "city",
                "created_at",
                "updated_at",
            ],
            &cust,
        )
        .await?;
        insert(
            db.backend,
            &mut tx,
            "orders",
            &[
                "id",
                "number",
                "customer_id",
                "channel",
                "ordered_on",
                "status",
                "currency",
                "discount",
                "total",
                "created_at",
            ],
            &orders,
        )
        .await?;
        tx.commit().await?;
        c = end;
        if c % 100_000 == 0 {
            eprintln!("  {c} customers, {order_id} orders");
        }
    }
    csv.flush()?;
    // The orders went in around the use cases: their purchase summaries are built here,
    // as the migration that brought the summaries in does on an existing database.
    let t = Instant::now();
    let mut conn = db.write.acquire().await?;
    let blocks = aftercare_store::purchases::rebuild(&mut conn, db.backend).await?;
    drop(conn);
    eprintln!(
        "  purchase summaries: {blocks} blocks in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Rows were given their ids: PostgreSQL's sequences must continue after them. Both
    // databases get fresh planner statistics.
    if db.backend == aftercare_store::Backend::Postgres {
        for t in ["customers", "orders"] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"
            ))
            .execute(&db.write)
            .await?;
        }
    }
    db.analyze().await?;
    Ok((order_id, start.elapsed().as_secs_f64()))
}

/// The full recompute and its parts, then DuckDB's RFM on the same orders.
pub async fn recompute(app: &App, db: &Db, data_dir: &Path) -> anyhow::Result<()> {
    let err = |e: aftercare_app::AppError| anyhow::anyhow!("{e}");
    let s = ValueSettings::default();
    let as_of = app.clock.today();

    // The RFM part: every customer's purchase facts from the purchase summaries kept with
    // the orders, then quintiles.
    let t = Instant::now();
    let bought = aftercare_store::purchases::facts_all(db, as_of, &s).await?;
    let facts_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let buyers: Vec<_> = bought.iter().filter(|f| f.window_purchases > 0).collect();
    let mut rec: Vec<f64> = buyers
        .iter()
        .map(|f| {
            f.last_purchase
                .and_then(|l| l.until(as_of).ok())
                .map(|d| -f64::from(d.get_days()))
                .unwrap_or(0.0)
        })
        .collect();
    let mut fr: Vec<f64> = buyers
        .iter()
        .map(|f| f64::from(f.window_purchases))
        .collect();
    let mut mo: Vec<f64> = buyers.iter().map(|f| f.window_revenue).collect();
    let (rc, fc, mc) = (
        quintile_cuts(&mut rec.clone()),
        quintile_cuts(&mut fr.clone()),
        quintile_cuts(&mut mo.clone()),
    );
    let scored: usize = rec
        .iter_mut()
        .zip(fr.iter_mut())
        .zip(mo.iter_mut())
        .map(|((r, f), m)| {
            usize::from(quintile_score(*r, &rc) + quintile_score(*f, &fc) + quintile_score(*m, &mc))
        })
        .sum();
    let quintile_s = t.elapsed().as_secs_f64();
    drop(bought);
    // Every fact of every customer, as a recompute reads them (customers, purchases,
    // requests, interactions, referrals).
    let t = Instant::now();
    let facts = app.store.customer_facts(as_of, &s, None).await?;
    let all_facts_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let model = fit(&facts, &s, as_of, None);
    let fit_s = t.elapsed().as_secs_f64();
    drop(facts);
    eprintln!("rfm checksum {scored}; fit {:?}", model.bgnbd);

    // The whole recompute as the CLI runs it: facts, fit, scores, classes, tiers, stages,
    // risks, written back.
    let actor = Actor::system("bench");
    let job = app.start_recompute_as(&actor).await.map_err(err)?;
    let t = Instant::now();
    let view = app
        .run_recompute(&actor, job.id, None, &|done, total| {
            if done % 200_000 < crate::value::BATCH_HINT {
                eprintln!("  scored {done}/{total}");
            }
        })
        .await
        .map_err(err)?;
    let full_s = t.elapsed().as_secs_f64();
    let m = &view.model;

    println!("### Customer value: full recompute\n");
    println!("| what | value |\n|---|---|");
    println!(
        "| customers / buyers / fitted on | {} / {} / {} |",
        m.customers, m.buyers, m.fitted_on
    );
    if let (Some(b), Some(g)) = (&m.bgnbd, &m.gamma_gamma) {
        println!(
            "| BG/NBD r, α, a, b (log-likelihood) | {:.3}, {:.2}, {:.3}, {:.3} ({:.0}) |",
            b.r, b.alpha, b.a, b.b, b.log_likelihood
        );
        println!(
            "| Gamma-Gamma p, q, γ | {:.3}, {:.3}, {:.0} |",
            g.p, g.q, g.gamma
        );
    }
    println!("| RFM part: purchase facts from the summaries | {facts_s:.2} s |");
    println!("| RFM part: quintile cuts and scores | {quintile_s:.2} s |");
    println!("| RFM part in all | **{:.2} s** |", facts_s + quintile_s);
    println!(
        "| every fact of every customer (customers, purchases, requests, interactions, referrals) | {all_facts_s:.2} s |"
    );
    println!("| model fit (BG/NBD + Gamma-Gamma, on the sample) | {fit_s:.2} s |");
    println!(
        "| full recompute (facts, fit, every score, written back) | **{full_s:.1} s** (target < 60 s) |"
    );

    // DuckDB: the same RFM over the same orders.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("duckdb_rfm.py");
    let python = std::env::var("AFTERCARE_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(data_dir.join("orders.csv"))
        .arg(as_of.to_string())
        .arg(s.rfm_window_days.to_string())
        .output()
        .await
        .with_context(|| format!("running {python} {}", script.display()))?;
    anyhow::ensure!(
        out.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let duck: serde_json::Value =
        serde_json::from_str(text.trim()).with_context(|| format!("duckdb printed {text}"))?;
    let duck_s = duck["rfm_seconds"].as_f64().unwrap_or(f64::NAN);
    println!(
        "| DuckDB {} RFM on the same orders (load {:.1} s not counted; {} customers scored) | **{duck_s:.2} s** |",
        duck["version"].as_str().unwrap_or("?"),
        duck["load_seconds"].as_f64().unwrap_or(f64::NAN),
        duck["customers"]
    );
    println!(
        "| RFM part ÷ DuckDB | **{:.1}×** (target ≤ 2×) |\n",
        (facts_s + quintile_s) / duck_s
    );
    Ok(())
}

/// Progress lines every this many customers.
pub const BATCH_HINT: usize = aftercare_app::value::BATCH;

/// From a new order to its customer's value showing it, under load: `clients` clients
/// read customer 360s through the API while orders are posted one at a time.
pub async fn incremental(
    app: &App,
    a: &Args,
    bin: &Path,
    data_dir: &Path,
    url: &str,
) -> anyhow::Result<()> {
    let (child, pid, base, token, _) = start_server(app, a, bin, data_dir, url).await?;
    let http = reqwest::Client::new();
    let product: i64 = http
        .get(format!("{base}/api/v1/products?limit=1"))
        .bearer_auth(&token)
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?["items"][0]["id"]
        .as_i64()
        .context("a product")?;
    let customers = a.customers;
    let (b, t) = (base.clone(), token.clone());
    let background = tokio::spawn(load(a.clients, a.seconds + 5, move |c, r| {
        c.get(format!("{b}/api/v1/customers/{}/360", 1 + r % customers))
            .bearer_auth(&t)
    }));
    let (mut lat, mut writes) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(77);
    // Serials stay unique when the benchmark runs again on the same data.
    let run = app.clock.now().as_second();
    let value = |id: u64| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let v: serde_json::Value = http
                .get(format!("{base}/api/v1/customers/{id}/value"))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            // Scored again: a new `updated_at` (a second order on a day does not change
            // the count of days with a purchase).
            anyhow::Ok(v["value"]["updated_at"].as_str().unwrap_or("").to_string())
        }
    };
    while started.elapsed() < Duration::from_secs(a.seconds) || lat.len() < 20 {
        let id = rng.random_range(1..=customers);
        let before = value(id).await?;
        let body = serde_json::json!({"customer_id": id, "channel": "store",
            "items": [{"product_id": product, "quantity": 1,
                       "serials": [format!("VB-{run}-{id}-{}", lat.len())]}]});
        let t = Instant::now();
        http.post(format!("{base}/api/v1/orders"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
        writes.push(t.elapsed().as_secs_f64() * 1000.0);
        while value(id).await? == before {
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(30),
                "customer {id} not rescored in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let bg = background.await?;
    let (_, peak) = rss_kb(pid);
    crate::stop_server(child).await;
    lat.sort_by(f64::total_cmp);
    writes.sort_by(f64::total_cmp);
    let at = |v: &[f64], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    let q = |p: f64| at(&lat, p);
    println!("### Customer value: incremental update under load\n");
    println!("| what | value |\n|---|---|");
    println!(
        "| new order → its customer's value shows it ({} orders, one at a time) | p50 {:.0} ms, **p95 {:.0} ms** (target < 1 s) |",
        lat.len(),
        q(0.50),
        q(0.95)
    );
    println!(
        "| the order write itself (`POST /api/v1/orders`, with its purchase summary) | p50 {:.0} ms, p95 {:.0} ms |",
        at(&writes, 0.50),
        at(&writes, 0.95)
    );
    println!(
        "| meanwhile: customer 360 API, {} clients | {:.0} requests/s, p95 {:.1} ms, {} errors |",
        a.clients, bg.rps, bg.p95, bg.errors
    );
    println!("| server peak RSS | {:.0} MB |\n", peak as f64 / 1024.0);
    Ok(())
}
