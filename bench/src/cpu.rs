//! CPU per operation (issue 18): the server's CPU time, read from `/proc`, for each kind of
//! request under load, beside floors measured in the same run on the same machine: an
//! empty axum handler (what HTTP alone costs) and the same reads and writes as plain SQL
//! from Rust through the same driver (what the database work alone costs).
//!
//! CPU is read as whole-process clock ticks (`utime + stime` in `/proc/<pid>/stat`, which
//! counts every thread, finished ones too). On PostgreSQL the cluster's processes are
//! counted too (every process named `postgres`: the backends doing the work, and the
//! WAL writer and checkpointer the writes wake). Before each operation the server is left
//! to settle until it is idle, its idle rate is measured and taken off, and after the
//! load the work the operation set off in the background (change-log consumers, the
//! search index) is counted until the server is idle again.

use crate::{Args, Stats, load, name_of, stats};
use aftercare_store::{Backend, Db};
use anyhow::Context;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `/proc/<pid>/stat` counts in USER_HZ, which is 100 on Linux.
const HZ: f64 = 100.0;

/// User plus system clock ticks of a process, all its threads.
pub fn ticks(pid: &str) -> u64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let Some((_, rest)) = s.rsplit_once(')') else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // After the name: state(0) … utime(11) stime(12).
    n(11) + n(12)
}

/// Context switches of all the threads of a process (each hand-off of work between
/// threads costs at least one: a statement sent to SQLite's connection thread and its
/// rows sent back, a task woken on another worker).
fn switches(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|s| {
            s.lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// Ticks of every PostgreSQL process on the machine.
fn pg_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .map(|c| c.trim() == "postgres")
                .unwrap_or(false)
        })
        .map(|p| ticks(&p))
        .sum()
}

/// What is watched: the server (or floor) process, and PostgreSQL when it is the database.
#[derive(Clone)]
struct Watch {
    pid: String,
    pg: bool,
    /// Only these operations (`--only`), by name.
    only: Option<Vec<String>>,
}

impl Watch {
    fn read(&self) -> (u64, u64) {
        (ticks(&self.pid), if self.pg { pg_ticks() } else { 0 })
    }

    /// Waits until the process and the database use under 3 % of a core for a second (at
    /// most `limit`); returns the ticks spent while waiting and the seconds waited.
    async fn settle(&self, limit: Duration) -> (u64, u64, f64) {
        let start = Instant::now();
        let first = self.read();
        let mut last = first;
        while start.elapsed() < limit {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = self.read();
            let busy = (now.0 - last.0) + (now.1 - last.1);
            last = now;
            if busy <= 3 {
                break;
            }
        }
        (
            last.0 - first.0,
            last.1 - first.1,
            start.elapsed().as_secs_f64(),
        )
    }

    /// Ticks per second while nothing is asked of it.
    async fn idle_rate(&self) -> (f64, f64) {
        let a = self.read();
        let t = Instant::now();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let b = self.read();
        let s = t.elapsed().as_secs_f64();
        ((b.0 - a.0) as f64 / s, (b.1 - a.1) as f64 / s)
    }
}

/// One measured operation.
pub struct Measured {
    pub stats: Stats,
    /// Milliseconds of CPU per operation while the load ran: the process, the database.
    pub cpu_ms: f64,
    pub db_ms: f64,
    /// Context switches of the process's threads per operation, while the load ran.
    pub switches: f64,
    /// Milliseconds of CPU per operation spent after the load, catching up with what the
    /// operations set off (change-log consumers, the search index), and how long that took.
    pub after_ms: f64,
    pub after_s: f64,
}

/// Loads the watched process with `clients` loops of `make` for `secs` and measures it.
async fn measure<F>(w: &Watch, name: &str, clients: usize, secs: u64, make: F) -> Option<Measured>
where
    F: Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    if w.only
        .as_ref()
        .is_some_and(|o| !o.iter().any(|n| n == name))
    {
        return None;
    }
    w.settle(Duration::from_secs(300)).await;
    let (idle, idle_db) = w.idle_rate().await;
    let before = w.read();
    let sw = switches(&w.pid);
    let t = Instant::now();
    let perf = profile(w, name);
    let stats = load(clients, secs, make).await;
    if let Some(mut p) = perf {
        // perf writes its file when interrupted.
        let _ = std::process::Command::new("kill")
            .args(["-INT", &p.id().to_string()])
            .status();
        let _ = p.wait();
    }
    let wall = t.elapsed().as_secs_f64();
    let after = w.read();
    let sw = switches(&w.pid) - sw;
    let (late, late_db, late_s) = w.settle(Duration::from_secs(600)).await;
    let n = stats.n.max(1) as f64;
    let per = |ticks: u64, idle: f64, secs: f64| {
        ((ticks as f64 - idle * secs).max(0.0) / HZ * 1000.0) / n
    };
    Some(Measured {
        cpu_ms: per(after.0 - before.0, idle, wall),
        switches: sw as f64 / stats.n.max(1) as f64,
        db_ms: per(after.1 - before.1, idle_db, wall),
        after_ms: per(late, idle, late_s) + per(late_db, idle_db, late_s),
        after_s: late_s,
        stats,
    })
}

/// With `AFTERCARE_BENCH_PERF=<dir>`, a `perf record` of the process (call graphs unwound
/// from the stack's DWARF unwind tables, which release builds keep though they have no
/// frame pointers; 199 samples a second) while the load runs: `<dir>/<name>.perf.data`,
/// for `perf report` or a flame graph (`bench/flame`).
fn profile(w: &Watch, name: &str) -> Option<std::process::Child> {
    let dir = std::env::var_os("AFTERCARE_BENCH_PERF")?;
    let pid = if w.pid == "self" {
        std::process::id().to_string()
    } else {
        w.pid.clone()
    };
    let out = std::path::Path::new(&dir).join(format!("{name}.perf.data"));
    std::process::Command::new("perf")
        .args([
            "record",
            "-q",
            "-F",
            "199",
            "--call-graph",
            "dwarf,16384",
            "-p",
            &pid,
            "-o",
        ])
        .arg(out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| eprintln!("perf: {e}"))
        .ok()
}

/// The empty axum handler, served by `aftercare-bench --floor-axum` in a process of its own.
pub async fn serve_empty() -> anyhow::Result<()> {
    use axum::routing::get;
    let app = axum::Router::new().route("/", get(|| async { "ok" }).post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Plain SQL from Rust, run in this process: `clients` tasks doing one operation for
/// `secs`, each with what `client(n)` gives it (a function from a customer id and a
/// sequence number to the operation's future); returns the operations done, their
/// latencies and this process's CPU ticks over the run.
async fn floor<C, F, Fut>(clients: usize, secs: u64, n: u64, mut client: C) -> (Stats, u64)
where
    C: FnMut(usize) -> F,
    F: FnMut(u64, u64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let before = ticks("self");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let seq = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let seq = seq.clone();
        let mut op = client(c);
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::from_os_rng();
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            while Instant::now() < deadline {
                let t = Instant::now();
                let r: u64 = rng.random();
                let i = seq.fetch_add(1, Ordering::Relaxed);
                match op(r % n + 1, i).await {
                    Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("floor: {e}");
                        }
                        errors += 1
                    }
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
    let s = stats(all, start.elapsed().as_secs_f64(), errors);
    (s, ticks("self") - before)
}

/// The floor through sqlx, as the store runs it.
async fn floor_sql(db: &Db, op: FloorOp, clients: usize, secs: u64, n: u64) -> (Stats, u64) {
    floor(clients, secs, n, |_| {
        let db = db.clone();
        move |id, seq| {
            let db = db.clone();
            async move { op.run(&db, id, seq).await }
        }
    })
    .await
}

/// The floor through rusqlite: each client's connection runs the operation's statements
/// on a blocking thread, one hand-off per operation instead of one per statement (sqlx's
/// SQLite driver). Writers share one connection, as the store's writes do.
async fn floor_direct(
    file: &std::path::Path,
    op: FloorOp,
    clients: usize,
    secs: u64,
    n: u64,
) -> anyhow::Result<(Stats, u64)> {
    type Shared = Arc<std::sync::Mutex<rusqlite::Connection>>;
    let open = |reader: bool| -> anyhow::Result<Shared> {
        let c = rusqlite::Connection::open(file)?;
        // The store's own settings (journal_mode=WAL is the file's already).
        for p in aftercare_store::SQLITE_PRAGMAS {
            c.execute_batch(p)?;
        }
        if reader {
            c.execute_batch(aftercare_store::SQLITE_READER_CACHE)?;
        }
        Ok(Arc::new(std::sync::Mutex::new(c)))
    };
    let writer = open(false)?;
    let mut conns = Vec::new();
    for _ in 0..clients {
        conns.push(if op.writes() {
            writer.clone()
        } else {
            open(true)?
        });
    }
    Ok(floor(clients, secs, n, |c| {
        let conn = conns[c].clone();
        move |id, seq| {
            let conn = conn.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    let mut c = conn.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    op.run_direct(&mut c, id, seq)
                })
                .await?
            }
        }
    })
    .await)
}

/// The reads and writes of each operation, as plain SQL.
#[derive(Debug, Clone, Copy)]
enum FloorOp {
    /// A customer, their phone and tag, the change-log event, the audit row, the timeline
    /// entry: one transaction.
    CreateCustomer,
    /// A request, its first history entry, the change-log event, the audit row and the
    /// timeline entry, after reading the customer and the item: one transaction.
    OpenRequest,
    /// The customer and what the 360 shows of them: phones, emails, tags, orders, items,
    /// the latest timeline entries, open requests.
    Read360,
    /// The same eight reads as one multi-statement query: one command to sqlx's SQLite
    /// connection thread instead of eight.
    Read360Batch,
    /// The customer's requests, newest first.
    Requests,
    /// Fifty customers by name prefix, in name order.
    NameSearch,
}

const STAMP: &str = "2026-12-06T10:00:00.000000Z";

// The floors' statements, run through sqlx and through rusqlite. `$n` numbers parameters
// for PostgreSQL; SQLite numbers named parameters by first appearance, which is the same.
const INSERT_CUSTOMER: &str = "INSERT INTO customers (kind, name, name_sort, primary_phone, tags, consent, created_at, updated_at) \
     VALUES ('person', $1, $2, $3, 'bench', '', $4, $4) RETURNING id";
const INSERT_PHONE: &str =
    "INSERT INTO customer_phones (customer_id, number, is_primary) VALUES ($1, $2, 1)";
const INSERT_TAG: &str = "INSERT INTO customer_tags (customer_id, tag) VALUES ($1, 'bench')";
const INSERT_CREATED: &str = "INSERT INTO timeline (customer_id, at, kind, ref_id, summary) VALUES ($1, $2, 'created', $1, $3)";
const INSERT_EVENT: &str =
    "INSERT INTO events (at, kind, entity, entity_id, payload) VALUES ($1, $2, $3, $4, '{}')";
const INSERT_AUDIT: &str = "INSERT INTO audit_log (at, actor_label, action, entity, entity_id, after_json) VALUES ($1, 'bench', $2, $3, $4, '{}')";
const READ_CUSTOMER: &str = "SELECT id, name, city FROM customers WHERE id = $1";
const READ_360: [&str; 7] = [
    "SELECT id, number FROM customer_phones WHERE customer_id = $1",
    "SELECT id, address FROM customer_emails WHERE customer_id = $1",
    "SELECT customer_id, tag FROM customer_tags WHERE customer_id = $1",
    "SELECT id, number FROM orders WHERE customer_id = $1 ORDER BY ordered_on DESC LIMIT 20",
    "SELECT id, serial FROM assets WHERE customer_id = $1",
    "SELECT id, summary FROM timeline WHERE customer_id = $1 ORDER BY at DESC, id DESC LIMIT 20",
    "SELECT id, subject FROM requests WHERE customer_id = $1 AND active = 1",
];
const READ_REQUESTS: &str =
    "SELECT id, subject FROM requests WHERE customer_id = $1 ORDER BY id DESC LIMIT 50";
const NAME_SEARCH: &str =
    "SELECT id, name FROM customers WHERE name >= $1 AND name < $2 ORDER BY name, id LIMIT 50";

/// The 360's reads as one SQLite multi-statement query (`$1` is the customer throughout).
fn read_360_batch() -> String {
    std::iter::once(READ_CUSTOMER)
        .chain(READ_360)
        .collect::<Vec<_>>()
        .join(";\n")
}

/// The name prefix a search floor looks for, and the bound above it.
fn prefix_range(id: i64) -> (String, String) {
    let prefix: String = name_of(id as u64).chars().take(2).collect();
    let upper = format!("{prefix}\u{10FFFF}");
    (prefix, upper)
}

impl FloorOp {
    async fn run(self, db: &Db, id: u64, seq: u64) -> anyhow::Result<()> {
        let id = id as i64;
        match self {
            FloorOp::CreateCustomer => {
                let mut tx = db.write.begin().await?;
                let name = format!("底线客户{seq}");
                let cid: i64 = sqlx::query_scalar(INSERT_CUSTOMER)
                    .bind(&name)
                    .bind(&name)
                    .bind(format!("+86138{seq:08}"))
                    .bind(STAMP)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(INSERT_PHONE)
                    .bind(cid)
                    .bind(format!("+86138{seq:08}"))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(INSERT_TAG).bind(cid).execute(&mut *tx).await?;
                log(&mut tx, "customer.created", "customer", cid).await?;
                sqlx::query(INSERT_CREATED)
                    .bind(cid)
                    .bind(STAMP)
                    .bind(&name)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            FloorOp::OpenRequest => {
                let per = 5i64;
                let asset = (id - 1) * per + 1;
                let _: Option<(i64, String)> =
                    sqlx::query_as("SELECT id, name FROM customers WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&db.read)
                        .await?;
                let _: Option<(i64, i64)> =
                    sqlx::query_as("SELECT id, product_id FROM assets WHERE id = $1")
                        .bind(asset)
                        .fetch_optional(&db.read)
                        .await?;
                let mut tx = db.write.begin().await?;
                let rid: i64 = sqlx::query_scalar(
                    "INSERT INTO requests (number, customer_id, asset_id, service_type, phase, status, active, priority, priority_rank, channel, subject, description, tier, created_at, updated_at) \
                     VALUES ($1, $2, $3, 'repair', 'after_sale', 'new', 1, 'normal', 2, 'api', '底线', '', 'medium', $4, $4) RETURNING id",
                )
                .bind(format!("FL-{seq}-{}", std::process::id()))
                .bind(id)
                .bind(asset)
                .bind(STAMP)
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO request_history (request_id, at, kind, to_value, actor_label) VALUES ($1, $2, 'status', 'new', 'bench')")
                    .bind(rid)
                    .bind(STAMP)
                    .execute(&mut *tx)
                    .await?;
                log(&mut tx, "request.created", "request", rid).await?;
                sqlx::query("INSERT INTO timeline (customer_id, at, kind, ref_id, summary) VALUES ($1, $2, 'request', $3, '底线')")
                    .bind(id)
                    .bind(STAMP)
                    .bind(rid)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            FloorOp::Read360 => {
                let r = &db.read;
                let _: Option<(i64, String, Option<String>)> = sqlx::query_as(READ_CUSTOMER)
                    .bind(id)
                    .fetch_optional(r)
                    .await?;
                for sql in READ_360 {
                    let _: Vec<(i64, String)> = sqlx::query_as(sql).bind(id).fetch_all(r).await?;
                }
            }
            FloorOp::Read360Batch => {
                use futures_util::TryStreamExt;
                let mut sets = 0;
                let sql = read_360_batch();
                // Deprecated in sqlx 0.8, still what its SQLite driver does: decision 0023.
                #[allow(deprecated)]
                let mut rows = sqlx::query(&sql).bind(id).fetch_many(&db.read);
                while let Some(r) = rows.try_next().await? {
                    match r {
                        sqlx::Either::Left(_) => sets += 1,
                        sqlx::Either::Right(row) => {
                            let _: i64 = sqlx::Row::try_get(&row, 0)?;
                        }
                    }
                }
                anyhow::ensure!(sets == 1 + READ_360.len(), "{sets} result sets");
            }
            FloorOp::Requests => {
                let _: Vec<(i64, String)> = sqlx::query_as(READ_REQUESTS)
                    .bind(id)
                    .fetch_all(&db.read)
                    .await?;
            }
            FloorOp::NameSearch => {
                let (prefix, upper) = prefix_range(id);
                let _: Vec<(i64, String)> = sqlx::query_as(NAME_SEARCH)
                    .bind(&prefix)
                    .bind(&upper)
                    .fetch_all(&db.read)
                    .await?;
            }
        }
        Ok(())
    }
}

impl FloorOp {
    fn writes(self) -> bool {
        matches!(self, FloorOp::CreateCustomer | FloorOp::OpenRequest)
    }

    /// The same statements through rusqlite, prepared once per connection.
    fn run_direct(self, c: &mut rusqlite::Connection, id: u64, seq: u64) -> anyhow::Result<()> {
        use rusqlite::{OptionalExtension, params};
        fn rows(
            c: &rusqlite::Connection,
            sql: &str,
            p: impl rusqlite::Params,
        ) -> anyhow::Result<Vec<(i64, String)>> {
            let mut s = c.prepare_cached(sql)?;
            let v = s
                .query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(v)
        }
        let id = id as i64;
        match self {
            FloorOp::CreateCustomer => {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let name = format!("底线客户{seq}");
                let phone = format!("+86138{seq:08}");
                let cid: i64 = tx
                    .prepare_cached(INSERT_CUSTOMER)?
                    .query_row(params![name, name, phone, STAMP], |r| r.get(0))?;
                tx.prepare_cached(INSERT_PHONE)?
                    .execute(params![cid, phone])?;
                tx.prepare_cached(INSERT_TAG)?.execute([cid])?;
                for sql in [INSERT_EVENT, INSERT_AUDIT] {
                    tx.prepare_cached(sql)?.execute(params![
                        STAMP,
                        "customer.created",
                        "customer",
                        cid
                    ])?;
                }
                tx.prepare_cached(INSERT_CREATED)?
                    .execute(params![cid, STAMP, name])?;
                tx.commit()?;
            }
            FloorOp::OpenRequest | FloorOp::Read360Batch => {
                anyhow::bail!("not measured through rusqlite")
            }
            FloorOp::Read360 => {
                let _: Option<(i64, String, Option<String>)> = c
                    .prepare_cached(READ_CUSTOMER)?
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                for sql in READ_360 {
                    rows(c, sql, [id])?;
                }
            }
            FloorOp::Requests => {
                rows(c, READ_REQUESTS, [id])?;
            }
            FloorOp::NameSearch => {
                let (prefix, upper) = prefix_range(id);
                rows(c, NAME_SEARCH, params![prefix, upper])?;
            }
        }
        Ok(())
    }
}

async fn log(
    tx: &mut aftercare_store::pool::Tx,
    kind: &str,
    entity: &str,
    id: i64,
) -> anyhow::Result<()> {
    sqlx::query(INSERT_EVENT)
        .bind(STAMP)
        .bind(kind)
        .bind(entity)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(INSERT_AUDIT)
        .bind(STAMP)
        .bind(kind)
        .bind(entity)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn header() {
    println!(
        "| operation | ops | ops/s | p50 ms | p95 ms | errors | server CPU ms/op | context switches/op | database CPU ms/op | background after, ms/op (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
}

fn row(label: &str, m: &Option<Measured>) {
    let Some(m) = m else {
        return;
    };
    println!(
        "| {label} | {} | {:.0} | {:.2} | {:.2} | {} | **{:.3}** | {:.1} | {:.3} | {:.3} ({:.0} s) |",
        m.stats.n,
        m.stats.rps,
        m.stats.p50,
        m.stats.p95,
        m.stats.errors,
        m.cpu_ms,
        m.switches,
        m.db_ms,
        m.after_ms,
        m.after_s
    );
}

/// A portal customer's session cookie: a sign-up through the app, confirmed with the
/// link from the mail it queued.
async fn portal_cookie(app: &aftercare_app::App, db: &Db) -> anyhow::Result<String> {
    let email = format!("portal{}@bench.example.cn", std::process::id());
    let input: aftercare_app::portal::SignupInput = serde_json::from_value(serde_json::json!({
        "name": "门户压测客户",
        "email": email,
        "password": crate::PASSWORD,
    }))?;
    // From an address of each run's own: runs again on one data set (`--reuse`) would
    // otherwise meet the sign-up throttle (a few sign-ups an hour from one address).
    let pid = std::process::id();
    let address = format!(
        "127.{}.{}.{}",
        (pid >> 16) & 255,
        (pid >> 8) & 255,
        pid & 255
    );
    app.portal_signup(&input, Some("zh-CN"), &address)
        .await
        .map_err(|e| anyhow::anyhow!("portal sign-up: {e}"))?;
    let body: String =
        sqlx::query_scalar("SELECT body FROM outbox WHERE recipient = $1 ORDER BY id DESC LIMIT 1")
            .bind(&email)
            .fetch_one(&db.read)
            .await?;
    let token = body
        .split("token=")
        .nth(1)
        .and_then(|t| {
            t.split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-')
                .next()
        })
        .context("no sign-up link in the mail")?;
    let (secret, _) = app
        .portal_confirm_signup(token)
        .await
        .map_err(|e| anyhow::anyhow!("portal confirm: {e}"))?;
    Ok(format!("aftercare_portal={secret}"))
}

/// The whole measurement: the server's operations, then the floors.
pub async fn run(
    app: &aftercare_app::App,
    db: &Db,
    a: &Args,
    bin: &std::path::Path,
    data_dir: &std::path::Path,
    url: &str,
) -> anyhow::Result<()> {
    let n = a.customers;
    let clients = a.clients;
    let secs = a.seconds;
    let portal = portal_cookie(app, db).await?;
    let (child, pid, base, token, cookie) = crate::start_server(app, a, bin, data_dir, url).await?;
    let w = Watch {
        pid: pid.to_string(),
        pg: db.backend == Backend::Postgres,
        only: a
            .only
            .as_ref()
            .map(|o| o.split(',').map(str::to_string).collect()),
    };
    let backend = if w.pg { "PostgreSQL" } else { "SQLite" };
    println!(
        "\n### CPU per operation: {backend}, {n} customers, {clients} clients, {secs} s each\n"
    );
    header();
    let (rss0, _) = crate::rss_kb(pid);

    let (b, t) = (base.clone(), token.clone());
    let m = measure(&w, "create-customer", clients, secs, move |c, r| {
        c.post(format!("{b}/api/v1/customers"))
            .bearer_auth(&t)
            .json(&serde_json::json!({
                "name": format!("压测客户{}", r % 1_000_000_000),
                "phones": [{"number": format!("139{:08}", r % 100_000_000)}],
                "tags": ["bench"]
            }))
    })
    .await;
    row("create a customer `POST /api/v1/customers`", &m);

    let (b, t, per) = (base.clone(), token.clone(), a.orders_per_customer);
    let m = measure(&w, "open-request", clients, secs, move |c, r| {
        let id = r % n + 1;
        c.post(format!("{b}/api/v1/requests"))
            .bearer_auth(&t)
            .json(&serde_json::json!({
                "customer_id": id,
                "asset_id": (id - 1) * per + 1,
                "service_type": "repair",
                "subject": "不制冷",
                "description": "压测：空调开机后不制冷",
            }))
    })
    .await;
    row("open a repair request `POST /api/v1/requests`", &m);

    let (b, t) = (base.clone(), token.clone());
    let m = measure(&w, "read-360", clients, secs, move |c, r| {
        c.get(format!("{b}/api/v1/customers/{}/360", r % n + 1))
            .bearer_auth(&t)
    })
    .await;
    row("read a customer's 360 `GET /api/v1/customers/{id}/360`", &m);

    let (b, t) = (base.clone(), token.clone());
    let m = measure(&w, "requests", clients, secs, move |c, r| {
        c.get(format!("{b}/api/v1/requests"))
            .query(&[("customer_id", (r % n + 1).to_string())])
            .bearer_auth(&t)
    })
    .await;
    row(
        "… and their requests `GET /api/v1/requests?customer_id=`",
        &m,
    );

    let (b, t) = (base.clone(), token.clone());
    let m = measure(&w, "name-search", clients, secs, move |c, r| {
        c.get(format!("{b}/api/v1/customers"))
            .query(&[
                ("q", name_of(r % n).chars().take(2).collect::<String>()),
                ("limit", "50".to_string()),
            ])
            .bearer_auth(&t)
    })
    .await;
    row(
        "search customers by name, 50 rows `GET /api/v1/customers?q=`",
        &m,
    );

    let (b, k) = (base.clone(), cookie.clone());
    let m = measure(&w, "page-360", clients, secs, move |c, r| {
        c.get(format!("{b}/customers/{}", r % n + 1))
            .header("cookie", &k)
    })
    .await;
    row("the 360 page `GET /customers/{id}`", &m);

    let (b, k) = (base.clone(), cookie.clone());
    let m = measure(&w, "desk-queue", clients, secs, move |c, _| {
        c.get(format!("{b}/requests")).header("cookie", &k)
    })
    .await;
    row("the desk queue page `GET /requests`", &m);

    let (b, k) = (base.clone(), portal.clone());
    let m = measure(&w, "portal", clients, secs, move |c, _| {
        c.get(format!("{b}/portal")).header("cookie", &k)
    })
    .await;
    row("a customer's portal page `GET /portal`", &m);
    let (rss, hwm) = crate::rss_kb(pid);
    crate::stop_server(child).await;

    // The floors.
    let mut empty = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--bin", "-", "--floor-axum"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let epid = empty.id().context("floor pid")?;
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(
        empty.stdout.take().context("floor stdout")?,
    ));
    let eb = loop {
        let line = lines.next_line().await?.context("floor exited")?;
        if let Some(u) = line.strip_prefix("listening on ") {
            break u.to_string();
        }
    };
    let ew = Watch {
        pid: epid.to_string(),
        pg: false,
        only: w.only.clone(),
    };
    let m = measure(&ew, "empty-axum", clients, secs, move |c, _| {
        c.get(format!("{eb}/"))
    })
    .await;
    println!("\n### The floor, in the same run\n");
    header();
    row("empty axum handler `GET /`", &m);
    drop(empty);

    let me = Watch {
        pid: "self".into(),
        pg: w.pg,
        only: None,
    };
    let sqlite = db.backend == Backend::Sqlite;
    let file = data_dir.join("aftercare.db");
    for (name, label, op, direct) in [
        (
            "floor-create",
            "plain SQL: create a customer (7 statements, one transaction)",
            FloorOp::CreateCustomer,
            false,
        ),
        (
            "floor-request",
            "plain SQL: open a request (2 reads, 6 statements in one transaction)",
            FloorOp::OpenRequest,
            false,
        ),
        (
            "floor-360",
            "plain SQL: a 360's reads (8 statements)",
            FloorOp::Read360,
            false,
        ),
        (
            "floor-360-batch",
            "plain SQL: a 360's reads (the same 8 statements in one sqlx command)",
            FloorOp::Read360Batch,
            false,
        ),
        (
            "floor-requests",
            "plain SQL: a customer's requests (1 statement)",
            FloorOp::Requests,
            false,
        ),
        (
            "floor-search",
            "plain SQL: 50 customers by name prefix (1 statement)",
            FloorOp::NameSearch,
            false,
        ),
        (
            "floor-create-direct",
            "rusqlite: create a customer (the same 7 statements, one hand-off)",
            FloorOp::CreateCustomer,
            true,
        ),
        (
            "floor-360-direct",
            "rusqlite: a 360's reads (the same 8 statements, one hand-off)",
            FloorOp::Read360,
            true,
        ),
        (
            "floor-requests-direct",
            "rusqlite: a customer's requests",
            FloorOp::Requests,
            true,
        ),
        (
            "floor-search-direct",
            "rusqlite: 50 customers by name prefix",
            FloorOp::NameSearch,
            true,
        ),
    ] {
        if (direct || matches!(op, FloorOp::Read360Batch)) && !sqlite {
            continue;
        }
        if w.only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == name))
        {
            continue;
        }
        me.settle(Duration::from_secs(60)).await;
        let (_, idle_db) = me.idle_rate().await;
        let pg0 = if w.pg { pg_ticks() } else { 0 };
        let sw = switches("self");
        let t = Instant::now();
        let (s, own) = if direct {
            floor_direct(&file, op, clients, secs, n).await?
        } else {
            floor_sql(db, op, clients, secs, n).await
        };
        let wall = t.elapsed().as_secs_f64();
        let pg1 = if w.pg { pg_ticks() } else { 0 };
        let sw = (switches("self") - sw) as f64 / s.n.max(1) as f64;
        let per = |ticks: f64| ticks / HZ * 1000.0 / s.n.max(1) as f64;
        let m = Measured {
            cpu_ms: per(own as f64),
            switches: sw,
            db_ms: per(((pg1 - pg0) as f64 - idle_db * wall).max(0.0)),
            after_ms: 0.0,
            after_s: 0.0,
            stats: s,
        };
        row(label, &Some(m));
    }
    println!(
        "\nServer memory: {:.0} MB after start, {:.0} MB at the end, {:.0} MB at its peak.",
        rss0 as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    Ok(())
}
