//! Builds a data set of 1M customers, 5M orders, 5M assets and 10M timeline entries,
//! then measures what docs/benchmarks.md records: build and demo/import throughput, the
//! customer 360 and search latencies under 16 clients, create-customer throughput beside
//! the raw single-row insert rate of the same database, and the server's memory.
//! Run it with `bench/run` (see docs/benchmarks.md).

mod campaign;
mod cpu;
mod desk;
mod quality;
mod value;
mod voc;

use aftercare_app::{Actor, App, SystemClock};
use aftercare_store::{Backend, Db, SqlStore, connect, migrate};
use anyhow::{Context, bail};
use clap::Parser;
use rand::Rng;
use sqlx::Arguments;
use sqlx::any::AnyArguments;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The server's allocator (decision 0025), so the floors measured in this process pay for
/// their allocations what the server pays.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// The `aftercare` binary to measure (build it with --profile bench-fast).
    #[arg(long)]
    bin: PathBuf,
    /// Where the SQLite data set lives (kept between runs with --reuse).
    #[arg(long, default_value = "bench/data")]
    data_dir: PathBuf,
    /// Run on PostgreSQL instead: an admin URL; the benchmark uses a database `aftercare_bench`.
    #[arg(long)]
    postgres: Option<String>,
    #[arg(long, default_value_t = 1_000_000)]
    customers: u64,
    #[arg(long, default_value_t = 5)]
    orders_per_customer: u64,
    /// Timeline entries per customer (1 created + orders + contacts).
    #[arg(long, default_value_t = 10)]
    timeline_per_customer: u64,
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds each load phase runs.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Use the data set already built in the data directory.
    #[arg(long)]
    reuse: bool,
    /// Measure the service desk instead: adds requests to the data set (once), then
    /// queues, request creation and SLA sweeps.
    #[arg(long)]
    desk: bool,
    /// Service requests in the desk data set.
    #[arg(long, default_value_t = 5_000_000)]
    requests: u64,
    /// How many of them are open.
    #[arg(long, default_value_t = 500_000)]
    open: u64,
    /// Measure customer value instead, on a data set of its own (use another
    /// --data-dir): customers who buy at their own pace (about 10 orders each), a full
    /// recompute beside DuckDB's RFM, and incremental updates under load.
    #[arg(long)]
    value: bool,
    /// Measure the voice of the customer instead (no server): text analysis throughput,
    /// search over a synthetic index of --voc-docs documents (built once in
    /// <data dir>/index), and the time from a change to being searchable.
    #[arg(long)]
    voc: bool,
    #[arg(long, default_value_t = 5_000_000)]
    voc_docs: u64,
    /// Measure campaigns instead, in process on the main data set: a segment campaign
    /// over every customer, from audience selection to the queued mails.
    #[arg(long)]
    campaign: bool,
    /// Measure event-triggered campaign steps instead: a request-resolved campaign runs in
    /// the server while clients resolve requests through the API; the time from each
    /// resolution to its step.
    #[arg(long)]
    campaign_events: bool,
    /// Measure scorecards instead, in process: 1,000 staff and a year of --requests
    /// requests (with visits and survey answers) over the data set's customers; the first
    /// summing, everyone's scorecards for the year, a trend, summing after changes.
    #[arg(long)]
    scorecards: bool,
    /// Measure the CPU each operation costs the server instead (issue 18): create a
    /// customer, open a request, read a 360 and a customer's requests, name search, the
    /// 360 page, the desk queue and a portal page, each under --clients loops, with CPU read
    /// from /proc; then the floors: an empty axum handler and the same SQL from Rust.
    #[arg(long)]
    cpu: bool,
    /// With --cpu: only these operations, comma-separated (create-customer, open-request,
    /// read-360, requests, name-search, page-360, desk-queue, portal, empty-axum,
    /// floor-create, floor-request, floor-360, floor-360-batch, floor-requests, floor-search).
    #[arg(long)]
    only: Option<String>,
    /// Serve an empty axum handler (the floor `--cpu` measures; started by the benchmark).
    #[arg(long, hide = true)]
    floor_axum: bool,
}

const ADMIN: &str = "bench@aftercare.local";
pub(crate) const PASSWORD: &str = "bench-password-2026";
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "霞", "平", "刚", "晨", "欣", "涵", "然", "轩", "萱", "诺", "远", "华", "东",
];
const CITIES: &[&str] = &[
    "北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "重庆",
];

fn name_of(i: u64) -> String {
    let s = SURNAMES.len() as u64;
    let g = GIVEN.len() as u64;
    format!(
        "{}{}{}",
        SURNAMES[(i % s) as usize],
        GIVEN[((i / s) % g) as usize],
        GIVEN[((i / (s * g)) % g) as usize]
    )
}
fn phone_of(i: u64) -> String {
    format!("+8613{:09}", i)
}
fn serial_of(asset: u64) -> String {
    format!("BN{asset:010}")
}

#[derive(Clone)]
enum Val {
    I(i64),
    T(String),
    N,
}

/// Inserts rows with multi-row statements, in chunks the parameter limits allow.
async fn insert(
    backend: Backend,
    tx: &mut aftercare_store::pool::Tx,
    table: &str,
    cols: &[&str],
    rows: &[Vec<Val>],
) -> anyhow::Result<()> {
    let per = (30_000 / cols.len()).min(1000);
    for chunk in rows.chunks(per) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
        let mut args = AnyArguments::default();
        let mut n = 0;
        for (r, row) in chunk.iter().enumerate() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for (c, v) in row.iter().enumerate() {
                n += 1;
                // SQLite looks a named parameter up by walking a list, so thousands of `$N`
                // in one statement cost quadratic time; plain `?` does not.
                let sep = if c == 0 { "" } else { ", " };
                match backend {
                    Backend::Sqlite => sql.push_str(&format!("{sep}?")),
                    Backend::Postgres => sql.push_str(&format!("{sep}${n}")),
                }
                let _ = match v {
                    Val::I(i) => args.add(*i),
                    Val::T(t) => args.add(t.clone()),
                    Val::N => args.add(None::<String>),
                };
            }
            sql.push(')');
        }
        sqlx::query_with(&sql, args).execute(&mut **tx).await?;
    }
    Ok(())
}

struct Built {
    rows: u64,
    seconds: f64,
}

/// Fills the data set with bulk statements (not through the use cases: this measures
/// the service at scale, not how fast the scale can be made; demo and import
/// throughput are measured separately, through the real paths).
async fn build(db: &Db, a: &Args, product_ids: &[i64]) -> anyhow::Result<Built> {
    let start = Instant::now();
    let mut rows = 0u64;
    let chunk = 2000u64;
    let base = jiff::civil::date(2026, 11, 1);
    let stamp = |d: jiff::civil::Date| format!("{d}T10:00:00.000000Z");
    let mut order_id = 0u64;
    let mut item_id = 0u64;
    let mut tl_id = 0u64;
    let mut inter_id = 0u64;
    let mut c = 0u64;
    while c < a.customers {
        let end = (c + chunk).min(a.customers);
        let mut tx = db.write.begin().await?;
        let (
            mut cust,
            mut phones,
            mut emails,
            mut orders,
            mut items,
            mut assets,
            mut inters,
            mut tl,
        ) = (
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
            vec![],
        );
        for i in c..end {
            let id = i as i64 + 1;
            let name = name_of(i);
            let created = base
                .checked_sub(jiff::Span::new().days((i % 1100) as i64 + 1))
                .unwrap_or(base);
            let email = (i % 2 == 0).then(|| format!("user{i}@example.cn"));
            cust.push(vec![
                Val::I(id),
                Val::T("person".into()),
                Val::T(name.clone()),
                Val::T(aftercare_domain::customer::sort_key(&name)),
                Val::T(phone_of(i)),
                email.clone().map(Val::T).unwrap_or(Val::N),
                Val::T(CITIES[(i % CITIES.len() as u64) as usize].into()),
                Val::T(if i % 7 == 0 {
                    "VIP".into()
                } else {
                    String::new()
                }),
                Val::T(stamp(created)),
                Val::T(stamp(created)),
            ]);
            phones.push(vec![Val::I(id), Val::T(phone_of(i)), Val::I(1)]);
            if let Some(e) = email {
                emails.push(vec![Val::I(id), Val::T(e.clone()), Val::T(e), Val::I(1)]);
            }
            tl_id += 1;
            tl.push(vec![
                Val::I(tl_id as i64),
                Val::I(id),
                Val::T(stamp(created)),
                Val::T("created".into()),
                Val::N,
                Val::I(id),
                Val::T(name.clone()),
            ]);
            for k in 0..a.orders_per_customer {
                order_id += 1;
                item_id += 1;
                let day = created
                    .checked_add(jiff::Span::new().days((k * 37 + i % 29) as i64))
                    .unwrap_or(created);
                let p = product_ids[((i + k) % product_ids.len() as u64) as usize];
                let price = 100_000 + ((i * 7 + k) % 500) as i64 * 1000;
                let number = format!("SO-{}-{order_id:06}", day.year());
                orders.push(vec![
                    Val::I(order_id as i64),
                    Val::T(number.clone()),
                    Val::I(id),
                    Val::T(["store", "ecommerce", "agent", "direct"][(k % 4) as usize].into()),
                    Val::T(day.to_string()),
                    Val::T("completed".into()),
                    Val::T("CNY".into()),
                    Val::I(0),
                    Val::I(price),
                    Val::T(stamp(day)),
                ]);
                items.push(vec![
                    Val::I(item_id as i64),
                    Val::I(order_id as i64),
                    Val::I(p),
                    Val::I(1),
                    Val::I(price),
                    Val::I(0),
                    Val::I(price),
                ]);
                assets.push(vec![
                    Val::I(item_id as i64),
                    Val::T(serial_of(item_id)),
                    Val::I(p),
                    Val::I(id),
                    Val::I(order_id as i64),
                    Val::I(item_id as i64),
                    Val::T(day.to_string()),
                    Val::T(day.to_string()),
                    Val::T(stamp(day)),
                ]);
                tl_id += 1;
                tl.push(vec![
                    Val::I(tl_id as i64),
                    Val::I(id),
                    Val::T(stamp(day)),
                    Val::T("order".into()),
                    Val::T("point_of_sale".into()),
                    Val::I(order_id as i64),
                    Val::T(format!("{number} · CNY {}.00", price / 100)),
                ]);
            }
            for k in 0..a
                .timeline_per_customer
                .saturating_sub(1 + a.orders_per_customer)
            {
                inter_id += 1;
                tl_id += 1;
                let day = created
                    .checked_add(jiff::Span::new().days((k * 53 + 3) as i64))
                    .unwrap_or(created);
                inters.push(vec![
                    Val::I(inter_id as i64),
                    Val::I(id),
                    Val::T("phone".into()),
                    Val::T("inbound".into()),
                    Val::T("咨询保养".into()),
                    Val::T(stamp(day)),
                ]);
                tl.push(vec![
                    Val::I(tl_id as i64),
                    Val::I(id),
                    Val::T(stamp(day)),
                    Val::T("interaction".into()),
                    Val::T("phone".into()),
                    Val::I(inter_id as i64),
                    Val::T("咨询保养".into()),
                ]);
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
                "primary_email",
                "city",
                "tags",
                "created_at",
                "updated_at",
            ],
            &cust,
        )
        .await?;
        insert(
            db.backend,
            &mut tx,
            "customer_phones",
            &["customer_id", "number", "is_primary"],
            &phones,
        )
        .await?;
        insert(
            db.backend,
            &mut tx,
            "customer_emails",
            &["customer_id", "address", "match_key", "is_primary"],
            &emails,
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
        insert(
            db.backend,
            &mut tx,
            "order_items",
            &[
                "id",
                "order_id",
                "product_id",
                "quantity",
                "unit_price",
                "discount",
                "amount",
            ],
            &items,
        )
        .await?;
        insert(
            db.backend,
            &mut tx,
            "assets",
            &[
                "id",
                "serial",
                "product_id",
                "customer_id",
                "order_id",
                "order_item_id",
                "purchased_on",
                "delivered_on",
                "created_at",
            ],
            &assets,
        )
        .await?;
        insert(
            db.backend,
            &mut tx,
            "interactions",
            &[
                "id",
                "customer_id",
                "touchpoint",
                "direction",
                "subject",
                "at",
            ],
            &inters,
        )
        .await?;
        insert(
            db.backend,
            &mut tx,
            "timeline",
            &[
                "id",
                "customer_id",
                "at",
                "kind",
                "touchpoint",
                "ref_id",
                "summary",
            ],
            &tl,
        )
        .await?;
        tx.commit().await?;
        rows += (cust.len()
            + phones.len()
            + emails.len()
            + orders.len()
            + items.len()
            + assets.len()
            + inters.len()
            + tl.len()) as u64;
        c = end;
        if c.is_multiple_of(100_000) || c == a.customers {
            eprintln!(
                "  {c} customers, {rows} rows, {:.0} rows/s",
                rows as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    // The orders went in around the use cases: their purchase summaries are built here.
    let mut conn = db.write.acquire().await?;
    aftercare_store::purchases::rebuild(&mut conn, db.backend).await?;
    drop(conn);
    if db.backend == Backend::Postgres {
        // Explicit ids do not advance identity sequences; move them past the data.
        for t in [
            "customers",
            "customer_phones",
            "customer_emails",
            "orders",
            "order_items",
            "assets",
            "interactions",
            "timeline",
        ] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))"
            ))
            .execute(&db.write)
            .await?;
        }
        db.analyze().await?;
    } else {
        db.analyze().await?;
    }
    Ok(Built {
        rows,
        seconds: start.elapsed().as_secs_f64(),
    })
}

struct Stats {
    n: usize,
    rps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    errors: usize,
}

fn stats(mut lat: Vec<f64>, secs: f64, errors: usize) -> Stats {
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    Stats {
        n: lat.len(),
        rps: lat.len() as f64 / secs,
        p50: q(0.50),
        p95: q(0.95),
        p99: q(0.99),
        errors,
    }
}

/// Runs `clients` concurrent loops for `secs`, each making requests built by `make`.
async fn load<F>(clients: usize, secs: u64, make: F) -> Stats
where
    F: Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (make, client) = (make.clone(), client.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            let mut rng = rand::rngs::StdRng::from_os_rng();
            while Instant::now() < deadline {
                let t = Instant::now();
                match make(&client, rng.random()).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    stats(all, start.elapsed().as_secs_f64(), errors)
}

use rand::SeedableRng;

fn rss_kb(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn count_rows(db: &Db) -> anyhow::Result<i64> {
    let mut total = 0;
    for t in [
        "users",
        "customers",
        "customer_phones",
        "customer_emails",
        "customer_addresses",
        "customer_family",
        "customer_dates",
        "customer_tags",
        "warranty_policies",
        "product_categories",
        "products",
        "outlets",
        "orders",
        "order_items",
        "assets",
        "asset_events",
        "interactions",
        "timeline",
        "audit_log",
        "events",
    ] {
        total += sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(&db.read)
            .await?;
    }
    Ok(total)
}

/// Runs the CLI and returns how long it took.
fn run_cli(bin: &PathBuf, args: &[&str]) -> anyhow::Result<f64> {
    let t = Instant::now();
    let out = std::process::Command::new(bin)
        .args(args)
        .env("AFTERCARE_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!(
            "{bin:?} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(t.elapsed().as_secs_f64())
}

async fn fresh_pg(admin: &str, name: &str) -> anyhow::Result<String> {
    let db = connect(admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&db.write)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&db.write)
        .await?;
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    Ok(format!("{base}/{name}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    if a.floor_axum {
        return cpu::serve_empty().await;
    }
    std::fs::create_dir_all(&a.data_dir)?;
    let data_dir = std::fs::canonicalize(&a.data_dir)?;
    if a.voc {
        return voc::run(&data_dir, a.voc_docs).await;
    }
    let url = match &a.postgres {
        Some(admin) if !a.reuse => {
            let _ = std::fs::remove_dir_all(data_dir.join("search"));
            fresh_pg(admin, "aftercare_bench").await?
        }
        Some(admin) => format!(
            "{}/aftercare_bench",
            admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin)
        ),
        None => {
            let file = data_dir.join("aftercare.db");
            if !a.reuse {
                for ext in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{ext}", file.display()));
                }
                let _ = std::fs::remove_dir_all(data_dir.join("search"));
            }
            format!("sqlite://{}", file.display())
        }
    };
    let db = connect(&url).await?;
    migrate(&db).await?;
    let app = App::new(Arc::new(SqlStore::new(db.clone())), Arc::new(SystemClock));
    let actor = Actor::system("bench");
    let backend = if db.backend == Backend::Postgres {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("## Aftercare benchmark on {backend}\n");
    println!(
        "- date: {}; machine: {} cores; clients: {}; {} s per load phase\n",
        app.clock.today(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        a.clients,
        a.seconds
    );

    if !a.reuse {
        app.add_user(&actor, ADMIN, "bench", PASSWORD, "admin")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let policy = app
            .store
            .create_policy(
                &actor,
                "三包",
                &aftercare_domain::catalog::WarrantyPolicy::statutory(),
                app.now(),
            )
            .await?;
        let cat = app
            .store
            .create_category(&actor, "家电", None, Some(policy), app.now())
            .await?;
        let drafts: Vec<_> = (0..16)
            .map(|i| aftercare_app::input::ProductDraft {
                sku: format!("BP-{i:03}"),
                name: format!("基准产品 {i}"),
                category_id: cat,
                policy_id: None,
                price: 199_900,
                currency: "CNY".into(),
                serialized: true,
                strategy: aftercare_domain::catalog::AfterSalesStrategy::Comprehensive,
            })
            .collect();
        // The bulk build writes rows as plain SQL values.
        let product_ids: Vec<i64> = app
            .store
            .create_products(&actor, &drafts, app.now())
            .await?
            .into_iter()
            .map(|p| p.get())
            .collect();
        if a.value {
            eprintln!("building {} customers with their orders…", a.customers);
            let (orders, secs) = value::build(&db, a.customers, &data_dir).await?;
            println!("### Customer value: data set\n");
            println!("| what | value |\n|---|---|");
            println!(
                "| customers / orders | {} / {orders} |\n| build time | {secs:.0} s |\n",
                a.customers
            );
        } else {
            eprintln!("building {} customers…", a.customers);
            let b = build(&db, &a, &product_ids).await?;
            println!("### Data set\n");
            println!("| what | value |\n|---|---|");
            println!(
                "| customers / orders / assets / timeline entries | {} / {} / {} / {} |",
                a.customers,
                a.customers * a.orders_per_customer,
                a.customers * a.orders_per_customer,
                a.customers * a.timeline_per_customer
            );
            println!(
                "| rows written (with phones, emails, items, contacts) | {} |",
                b.rows
            );
            println!("| build time | {:.0} s |", b.seconds);
            println!(
                "| bulk build throughput | {:.0} rows/s |",
                b.rows as f64 / b.seconds
            );
        }
    }
    if db.backend == Backend::Sqlite {
        let size: u64 = std::fs::read_dir(&data_dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        println!("| database size on disk | {:.1} GB |", size as f64 / 1e9);
    }

    if a.campaign {
        return campaign::run(&app, &db).await;
    }
    if a.scorecards {
        return quality::run(&app, &db, &a).await;
    }
    let bin = std::fs::canonicalize(&a.bin)?;
    if a.campaign_events {
        return campaign::events(&app, &db, &a, &bin, &data_dir, &url).await;
    }
    if a.cpu {
        return cpu::run(&app, &db, &a, &bin, &data_dir, &url).await;
    }
    if a.value {
        value::recompute(&app, &db, &data_dir).await?;
        value::incremental(&app, &a, &bin, &data_dir, &url).await?;
        return Ok(());
    }
    if a.desk {
        let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(&db.read)
            .await?;
        if have == 0 {
            eprintln!("adding {} requests…", a.requests);
            let (secs, rows) = desk::build(&db, &a, app.clock.now()).await?;
            println!(
                "| requests added ({} open) | {rows} rows in {secs:.0} s ({:.0} rows/s) |",
                a.open,
                rows as f64 / secs
            );
        }
        // The catch-up sweep runs first, in this process, so that the server's own sweep
        // (every 30 s) finds the steady state and the latencies are not measured beside a
        // day's backlog of breaches.
        let catch_up = desk::sweep_once(&app).await?;
        let (child, pid, base, token, cookie) =
            start_server(&app, &a, &bin, &data_dir, &url).await?;
        desk::measure(&app, &db, &a, &base, pid, &token, &cookie, catch_up).await?;
        stop_server(child).await;
        return Ok(());
    }

    // Demo and import throughput, through the real CLI paths, on fresh databases.
    let scratch = data_dir.join("scratch");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let demo_n = 20_000u64;
    let (demo_dir, import_dir) = (scratch.join("demo"), scratch.join("import"));
    let mut demo_args = vec![
        "demo".to_string(),
        "--customers".into(),
        demo_n.to_string(),
        "--data-dir".into(),
        demo_dir.display().to_string(),
    ];
    let mut import_args = vec![
        "import".to_string(),
        "customers".into(),
        scratch.join("customers.csv").display().to_string(),
        "--data-dir".into(),
        import_dir.display().to_string(),
    ];
    let (demo_url, import_url) = match &a.postgres {
        Some(admin) => (
            Some(fresh_pg(admin, "aftercare_bench_demo").await?),
            Some(fresh_pg(admin, "aftercare_bench_import").await?),
        ),
        None => (None, None),
    };
    if let (Some(d), Some(i)) = (&demo_url, &import_url) {
        demo_args.extend(["--database-url".into(), d.clone()]);
        import_args.extend(["--database-url".into(), i.clone()]);
    }
    let demo_secs = run_cli(
        &bin,
        &demo_args.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    let demo_db = connect(demo_url.as_deref().unwrap_or(&format!(
        "sqlite://{}",
        demo_dir.join("aftercare.db").display()
    )))
    .await?;
    let demo_rows = count_rows(&demo_db).await?;
    let import_n = 50_000u64;
    let mut csv = String::from("name,phone,email,city,tags\n");
    for i in 0..import_n {
        csv.push_str(&format!(
            "{},{},imp{i}@example.cn,{},导入\n",
            name_of(i),
            phone_of(500_000_000 + i),
            CITIES[(i % 10) as usize]
        ));
    }
    std::fs::write(scratch.join("customers.csv"), csv)?;
    run_cli(
        &bin,
        &["migrate", "--data-dir", &import_dir.display().to_string()]
            .iter()
            .copied()
            .chain(
                import_url
                    .iter()
                    .flat_map(|u| ["--database-url", u.as_str()]),
            )
            .collect::<Vec<_>>(),
    )?;
    let import_secs = run_cli(
        &bin,
        &import_args.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    println!(
        "| `aftercare demo --customers {demo_n}` | {demo_secs:.1} s: {:.0} customers/s, {:.0} rows/s ({demo_rows} rows with audit and change log) |",
        demo_n as f64 / demo_secs,
        demo_rows as f64 / demo_secs
    );
    println!(
        "| `aftercare import customers` ({import_n} rows CSV; SQLite: steps of 1,000 rows, decision 0015) | {import_secs:.1} s: {:.0} rows/s |",
        import_n as f64 / import_secs
    );

    // Start the server on the data set.
    let (child, pid, base, token, cookie) = start_server(&app, &a, &bin, &data_dir, &url).await?;
    let n = a.customers;
    let (rss0, _) = rss_kb(pid);

    println!("\n### Latency at {} concurrent clients\n", a.clients);
    println!(
        "| request | requests | req/s | p50 ms | p95 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|"
    );
    let row = |label: &str, s: Stats| {
        println!(
            "| {label} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} |",
            s.n, s.rps, s.p50, s.p95, s.p99, s.errors
        )
    };
    let (b, t) = (base.clone(), token.clone());
    row(
        "customer 360 API `GET /api/v1/customers/{id}/360`",
        load(a.clients, a.seconds, move |c, r| {
            c.get(format!("{b}/api/v1/customers/{}/360", r % n + 1))
                .bearer_auth(&t)
        })
        .await,
    );
    let (b, k) = (base.clone(), cookie.clone());
    row(
        "customer 360 page `GET /customers/{id}`",
        load(a.clients, a.seconds, move |c, r| {
            c.get(format!("{b}/customers/{}", r % n + 1))
                .header("cookie", &k)
        })
        .await,
    );
    let (b, t) = (base.clone(), token.clone());
    row(
        "search by name prefix (2 characters)",
        load(a.clients, a.seconds, move |c, r| {
            c.get(format!("{b}/api/v1/customers"))
                .query(&[
                    ("q", name_of(r % n)[..6].to_string()),
                    ("limit", "20".to_string()),
                ])
                .bearer_auth(&t)
        })
        .await,
    );
    let (b, t) = (base.clone(), token.clone());
    row(
        "search by phone",
        load(a.clients, a.seconds, move |c, r| {
            c.get(format!("{b}/api/v1/customers"))
                .query(&[
                    ("q", phone_of(r % n)[3..].to_string()),
                    ("limit", "20".to_string()),
                ])
                .bearer_auth(&t)
        })
        .await,
    );
    let (b, t, per) = (base.clone(), token.clone(), a.orders_per_customer);
    row(
        "search by serial number",
        load(a.clients, a.seconds, move |c, r| {
            c.get(format!("{b}/api/v1/customers"))
                .query(&[
                    ("q", serial_of(r % (n * per) + 1)),
                    ("limit", "20".to_string()),
                ])
                .bearer_auth(&t)
        })
        .await,
    );
    let (_, hwm_reads) = rss_kb(pid);
    let (b, t) = (base.clone(), token.clone());
    let created = load(a.clients, a.seconds, move |c, r| {
        c.post(format!("{b}/api/v1/customers"))
            .bearer_auth(&t)
            .json(&serde_json::json!({
                "name": format!("压测客户{}", r % 1_000_000_000),
                "phones": [{"number": format!("139{:08}", r % 100_000_000)}],
                "tags": ["bench"]
            }))
    })
    .await;
    let create_rps = created.rps;
    row("create customer `POST /api/v1/customers`", created);
    let (rss, hwm) = rss_kb(pid);

    // The raw single-row insert rate of the same database with the same settings.
    let raw_url = match &a.postgres {
        Some(admin) => fresh_pg(admin, "aftercare_bench_raw").await?,
        None => format!("sqlite://{}", scratch.join("raw.db").display()),
    };
    let raw = connect(&raw_url).await?;
    sqlx::raw_sql("CREATE TABLE raw_insert (id BIGINT PRIMARY KEY, name TEXT NOT NULL, phone TEXT NOT NULL, created_at TEXT NOT NULL)").execute(&raw.write).await?;
    let t = Instant::now();
    let mut i = 0i64;
    while t.elapsed() < Duration::from_secs(a.seconds) {
        i += 1;
        sqlx::query("INSERT INTO raw_insert (id, name, phone, created_at) VALUES ($1, $2, $3, $4)")
            .bind(i)
            .bind(name_of(i as u64))
            .bind(phone_of(i as u64))
            .bind("2026-11-25T00:00:00.000000Z")
            .execute(&raw.write)
            .await?;
    }
    let raw_rps = i as f64 / t.elapsed().as_secs_f64();
    println!("\n### Writes\n");
    println!("| what | value |\n|---|---|");
    println!(
        "| raw single-row insert rate, one transaction each, same settings ({}) | {raw_rps:.0} rows/s |",
        if a.postgres.is_some() {
            "PostgreSQL"
        } else {
            "WAL, synchronous=FULL"
        }
    );
    println!(
        "| create-customer API at {} clients | {create_rps:.0} req/s ({:.0} % of raw; each create writes the customer, phone, tags, change log, audit and timeline atomically, and creates that arrive together share a commit) |",
        a.clients,
        100.0 * create_rps / raw_rps
    );
    println!("\n### Server memory\n");
    println!("| when | resident |\n|---|---|");
    println!(
        "| after start | {:.0} MB |\n| peak during reads | {:.0} MB |\n| after writes (peak) | {:.0} MB ({:.0} MB) |",
        rss0 as f64 / 1024.0,
        hwm_reads as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    stop_server(child).await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// Starts `aftercare serve` on the data set; returns the process, its pid, its base URL,
/// an admin API token and an admin session cookie.
///
/// Stop it with [`stop_server`], not by dropping it.
async fn start_server(
    app: &App,
    a: &Args,
    bin: &std::path::Path,
    data_dir: &std::path::Path,
    url: &str,
) -> anyhow::Result<(tokio::process::Child, u32, String, String, String)> {
    let actor = Actor::system("bench");
    // The search index is built before the server starts, as operations.md advises for a
    // large database: a server that finds no index builds it in the background, and the
    // load phases would measure that build.
    let t = Instant::now();
    let mut reindex = tokio::process::Command::new(bin);
    reindex.args(["reindex", "--data-dir", &data_dir.display().to_string()]);
    if a.postgres.is_some() {
        reindex.args(["--database-url", url]);
    }
    let out = reindex.env("AFTERCARE_LOG", "warn").output().await?;
    anyhow::ensure!(
        out.status.success(),
        "aftercare reindex: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "- search index built before the server starts (`aftercare reindex`, {:.0} s): {}\n",
        t.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir.display().to_string(),
    ]);
    if a.postgres.is_some() {
        cmd.args(["--database-url", url]);
    }
    let mut child = cmd
        .env("AFTERCARE_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("server pid")?;
    let mut lines = BufReader::new(child.stdout.take().context("server stdout")?).lines();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
            .await??
            .context("server exited")?;
        if let Some(u) = line.strip_prefix("listening on ") {
            break u.to_string();
        }
    };
    // The server prints more (when it stops): read it until it closes, or its last line
    // would meet a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let token = app
        .create_token(&actor, ADMIN, "bench", &["admin".into()])
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .token;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = http
        .post(format!("{base}/login"))
        .form(&[("email", ADMIN), ("password", PASSWORD)])
        .send()
        .await?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("no session cookie")?
        .to_string();
    Ok((child, pid, base, token, cookie))
}

/// Stops a server as an operator does (SIGTERM), so that it finishes and gives back its job
/// leases. A server killed outright keeps them for a minute, and a server started on the
/// same data within it does no background work until they lapse: the next run would
/// measure requests without the work they set off (feedback capture, the search index),
/// and the run after it that backlog.
pub(crate) async fn stop_server(mut child: tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(60), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}
