use crate::pool::Pool;
use aftercare_app::StoreError;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyConnection, Arguments};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Which database is behind the pool; branches on it carry a comment saying why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The pools. On SQLite all writes go through one connection, so writers queue in the
/// process instead of failing with `SQLITE_BUSY` when a read transaction turns into a write.
#[derive(Clone, Debug)]
pub struct Db {
    pub backend: Backend,
    pub read: Pool,
    pub write: Pool,
    /// SQLite only: the queue of the group-commit writer (see `write_job`).
    group: Option<GroupCommit>,
}

/// What a write job returns, type-erased for the queue.
type Out = Box<dyn std::any::Any + Send>;
/// A write job: statements run on the connection it is given, inside a transaction the
/// runner owns. It may run twice (a failed batch is retried job by job), so it is `Fn`.
type Job = Arc<dyn for<'c> Fn(&'c mut AnyConnection) -> BoxFut<'c, Out> + Send + Sync>;
type Reply = tokio::sync::oneshot::Sender<Result<Out, StoreError>>;
/// The future a write job returns.
pub(crate) type BoxFut<'c, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

/// Group commit for SQLite. Every commit waits for an fsync (synchronous=FULL, so an
/// acknowledged write survives a power cut), and SQLite has one writer: so the jobs that
/// queue while one transaction commits run together in the next one and share its fsync.
/// If any job of a batch fails, the batch is rolled back and its jobs run one by one, so a
/// job's failure never touches another's write.
#[derive(Clone, Debug)]
struct GroupCommit {
    queue: tokio::sync::mpsc::UnboundedSender<(Job, Reply)>,
}

/// The most jobs one group commit takes.
const GROUP_MAX: usize = 64;

async fn group_commit_loop(pool: Pool, mut rx: tokio::sync::mpsc::UnboundedReceiver<(Job, Reply)>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                for (_, reply) in batch {
                    let _ = reply.send(Err(StoreError::Backend(e.to_string())));
                }
                continue;
            }
        };
        if batch.len() > 1 {
            tracing::debug!(jobs = batch.len(), "group commit");
            if let Ok(outs) = run_batch(&mut conn, &batch).await {
                pool.committed();
                for ((_, reply), out) in batch.into_iter().zip(outs) {
                    let _ = reply.send(Ok(out));
                }
                continue;
            }
            tracing::debug!(
                jobs = batch.len(),
                "a job of the batch failed: running them one by one"
            );
        }
        let mut failed = false;
        for (job, reply) in batch {
            let out = run_alone(&mut conn, &job).await;
            if out.is_ok() {
                pool.committed();
            } else {
                failed = true;
            }
            let _ = reply.send(out);
        }
        // A job that failed may have failed in the connection itself (its thread gone):
        // one that does not answer is closed, and the next batch gets a new one.
        if failed && sqlx::Connection::ping(&mut *conn).await.is_err() {
            conn.discard();
        }
    }
}

async fn run_batch(
    conn: &mut AnyConnection,
    batch: &[(Job, Reply)],
) -> Result<Vec<Out>, StoreError> {
    exec(&mut *conn, "BEGIN IMMEDIATE", &[]).await?;
    let mut outs = Vec::with_capacity(batch.len());
    for (job, _) in batch {
        match job(conn).await {
            Ok(o) => outs.push(o),
            Err(e) => {
                let _ = exec(&mut *conn, "ROLLBACK", &[]).await;
                return Err(e);
            }
        }
    }
    if let Err(e) = exec(&mut *conn, "COMMIT", &[]).await {
        let _ = exec(&mut *conn, "ROLLBACK", &[]).await;
        return Err(e);
    }
    Ok(outs)
}

async fn run_alone(conn: &mut AnyConnection, job: &Job) -> Result<Out, StoreError> {
    exec(&mut *conn, "BEGIN IMMEDIATE", &[]).await?;
    match job(conn).await {
        Ok(o) => match exec(&mut *conn, "COMMIT", &[]).await {
            Ok(_) => Ok(o),
            Err(e) => {
                let _ = exec(&mut *conn, "ROLLBACK", &[]).await;
                Err(e)
            }
        },
        Err(e) => {
            let _ = exec(&mut *conn, "ROLLBACK", &[]).await;
            Err(e)
        }
    }
}

impl Db {
    /// Runs a write in a transaction: on SQLite through the group-commit queue, on
    /// PostgreSQL (which groups commits itself) in a transaction of its own.
    pub(crate) async fn write_job<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> Fn(&'c mut AnyConnection) -> BoxFut<'c, T> + Send + Sync + 'static,
    {
        let job: Job = Arc::new(move |c| {
            let fut = f(c);
            Box::pin(async move { fut.await.map(|v| Box::new(v) as Out) })
        });
        let out = match &self.group {
            Some(g) => {
                let (reply, answer) = tokio::sync::oneshot::channel();
                g.queue
                    .send((job, reply))
                    .map_err(|_| StoreError::Backend("the writer has stopped".into()))?;
                answer
                    .await
                    .map_err(|_| StoreError::Backend("the writer has stopped".into()))??
            }
            None => {
                let mut tx = self.write.begin().await.map_err(backend_err)?;
                let out = job(&mut tx).await?;
                tx.commit().await.map_err(backend_err)?;
                out
            }
        };
        out.downcast::<T>()
            .map(|b| *b)
            .map_err(|_| StoreError::Backend("a write job returned an unexpected type".into()))
    }
}

/// A reader's page cache, in KiB (negative: a size, not a page count), after
/// [`SQLITE_PRAGMAS`]' 16 MB for the writer. What a reader misses is mostly leaves met once
/// (a customer, their items), which the operating system's file cache serves, and a
/// reader's whole cache is dropped whenever it begins a read after another connection's
/// write (SQLite's WAL mode). Eight readers at 16 MB were 128 MB of the server's memory at
/// 1M customers for no measured gain; 8 MB each held 42–47 MB more than 4 MB at the peak
/// of the reads, again for no measured gain (docs/benchmarks.md, "The readers' page cache"
/// and "Readers' caches of 4 MB").
pub const SQLITE_READER_CACHE: &str = "PRAGMA cache_size = -4096";

/// The settings every SQLite connection is opened with (the benchmark's floors open theirs
/// with these too); readers then take [`SQLITE_READER_CACHE`].
pub const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = FULL",
    "PRAGMA cache_size = -16384",
    "PRAGMA temp_store = MEMORY",
    // What is deleted or overwritten is zeroed in the file, so erased personal information
    // does not live on in free pages (docs/decisions/0014).
    "PRAGMA secure_delete = ON",
];

/// Opens a database by URL: `sqlite://path/to/file.db` or `postgres://…`.
pub async fn connect(url: &str) -> Result<Db, StoreError> {
    sqlx::any::install_default_drivers();
    let backend = if url.starts_with("sqlite:") {
        Backend::Sqlite
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Backend::Postgres
    } else {
        return Err(StoreError::Backend(format!(
            "unsupported database URL scheme in {}",
            redact(url)
        )));
    };
    match backend {
        Backend::Sqlite => {
            let url = if url.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            };
            // Per connection: WAL for concurrent readers, a busy timeout, foreign keys,
            // and FULL sync so an acknowledged write survives a power cut.
            let write = Pool::connect(&url, 1, SQLITE_PRAGMAS.to_vec(), Duration::from_secs(60))
                .await
                .map_err(backend_err)?;
            // Best effort: a database opened read-only, or locked past the busy timeout,
            // still opens (with its samples).
            if let Err(e) = drop_sampled_statistics(&write).await {
                tracing::warn!(error = %e, "could not drop SQLite's planner samples (sqlite_stat4)");
            }
            // Readers in WAL mode run beside the writer; more than a few per core buys nothing.
            let reader_setup = SQLITE_PRAGMAS
                .iter()
                .copied()
                .chain([SQLITE_READER_CACHE])
                .collect();
            let read = Pool::connect(&url, 8, reader_setup, Duration::from_secs(30))
                .await
                .map_err(backend_err)?;
            let (queue, rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(group_commit_loop(write.clone(), rx));
            Ok(Db {
                backend,
                read,
                write,
                group: Some(GroupCommit { queue }),
            })
        }
        Backend::Postgres => {
            let pool = Pool::connect(url, 24, vec![], Duration::from_secs(30))
                .await
                .map_err(backend_err)?;
            Ok(Db {
                backend,
                read: pool.clone(),
                write: pool,
                group: None,
            })
        }
    }
}

/// Keeps SQLite's planner on averages only. `ANALYZE` in a build with STAT4 (as sqlx's
/// bundled SQLite is) samples index values into `sqlite_stat4`. A statement whose
/// parameter the planner compared with those samples is then planned again every time it
/// runs with a new value: on a database with samples that was over a third of a customer
/// 360's instructions (docs/benchmarks.md). The averages in `sqlite_stat1` stay; the
/// samples go, and the statistics are read again. Runs when the store opens, before the
/// readers do.
async fn drop_sampled_statistics(write: &Pool) -> Result<(), StoreError> {
    let sampled: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat4'",
    )
    .fetch_optional(write)
    .await
    .map_err(backend_err)?;
    if sampled.is_none() {
        return Ok(());
    }
    let mut conn = write.acquire().await.map_err(backend_err)?;
    let rows: Option<i64> = sqlx::query_scalar("SELECT 1 FROM sqlite_stat4 LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend_err)?;
    if rows.is_some() {
        sqlx::raw_sql("DELETE FROM sqlite_stat4; ANALYZE sqlite_schema")
            .execute(&mut *conn)
            .await
            .map_err(backend_err)?;
    }
    Ok(())
}

impl Db {
    /// Gathers the query planner's statistics (`ANALYZE`), as an operator would after a
    /// large load; on SQLite without the per-value samples (see
    /// `drop_sampled_statistics`). Connections opened before keep the statistics they
    /// read.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        sqlx::raw_sql("ANALYZE")
            .execute(&self.write)
            .await
            .map_err(backend_err)?;
        if self.backend == Backend::Sqlite {
            drop_sampled_statistics(&self.write).await?;
        }
        Ok(())
    }

    /// A database URL fit for logs.
    pub fn redacted(url: &str) -> String {
        redact(url)
    }
}

/// Hides a password in a database URL before it is logged.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..s], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(crate) fn backend_err(e: sqlx::Error) -> StoreError {
    // A key a running import has claimed (`import_claims`, SQLite's triggers) is taken.
    if let sqlx::Error::Database(d) = &e
        && (d.is_unique_violation() || d.message().contains(CLAIMED))
    {
        return StoreError::Conflict {
            code: "already_exists",
            field: None,
        };
    }
    if let sqlx::Error::Database(d) = &e
        && d.is_foreign_key_violation()
    {
        return StoreError::Conflict {
            code: "reference_not_found",
            field: None,
        };
    }
    StoreError::Backend(e.to_string())
}

/// The message of SQLite's triggers that refuse a key a running import has claimed.
pub(crate) const CLAIMED: &str = "claimed by a running import";

/// A value to bind.
#[derive(Debug, Clone)]
pub(crate) enum V {
    I(i64),
    T(String),
    OptI(Option<i64>),
    OptT(Option<String>),
    B(Vec<u8>),
    F(f64),
    OptF(Option<f64>),
}

impl From<i64> for V {
    fn from(v: i64) -> Self {
        V::I(v)
    }
}
impl From<&str> for V {
    fn from(v: &str) -> Self {
        V::T(v.to_string())
    }
}
impl From<String> for V {
    fn from(v: String) -> Self {
        V::T(v)
    }
}
impl From<&String> for V {
    fn from(v: &String) -> Self {
        V::T(v.clone())
    }
}
impl From<Option<i64>> for V {
    fn from(v: Option<i64>) -> Self {
        V::OptI(v)
    }
}
impl From<Option<String>> for V {
    fn from(v: Option<String>) -> Self {
        V::OptT(v)
    }
}
impl From<Option<&str>> for V {
    fn from(v: Option<&str>) -> Self {
        V::OptT(v.map(str::to_string))
    }
}
impl From<&Option<String>> for V {
    fn from(v: &Option<String>) -> Self {
        V::OptT(v.clone())
    }
}
impl From<bool> for V {
    fn from(v: bool) -> Self {
        V::I(v as i64)
    }
}

/// A statement built piece by piece, numbering its parameters as it goes.
#[derive(Default)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<V>,
}

impl Sql {
    pub fn new(s: &str) -> Self {
        Self {
            text: s.to_string(),
            args: vec![],
        }
    }

    /// A statement written whole, its parameters numbered `$1`, `$2`, … in the text.
    pub fn with(text: &str, args: Vec<V>) -> Self {
        Self {
            text: text.to_string(),
            args,
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a parameter placeholder bound to `v`.
    pub fn bind(&mut self, v: impl Into<V>) -> &mut Self {
        self.args.push(v.into());
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    /// Appends `other` as a statement after this one (`;` between), renumbering its
    /// parameters after this one's: one multi-statement query for SQLite.
    ///
    /// Every `$` followed by digits in `other` is taken for a placeholder (none of the
    /// store's statements has one inside a string literal). A `?` (see [`ph`]) cannot be
    /// batched: it would bind to an earlier statement's values on SQLite, silently.
    fn append(&mut self, other: Sql) {
        if !self.text.is_empty() {
            self.text.push_str(";\n");
        }
        self.renumbered(other);
    }

    /// Appends `other` as the data-modifying `WITH` query `name` of one PostgreSQL
    /// statement (`WITH name AS (other)`, or `, name AS (other)` after the first),
    /// renumbering its parameters as [`Sql::append`] does; the caller ends the statement.
    fn join_as(&mut self, name: &str, other: Sql) {
        self.text
            .push_str(if self.text.is_empty() { "WITH " } else { ", " });
        self.text.push_str(name);
        self.text.push_str(" AS (");
        self.renumbered(other);
        self.text.push(')');
    }

    /// Appends `other`'s text with its parameters numbered after this one's.
    fn renumbered(&mut self, other: Sql) {
        debug_assert!(
            !other.text.contains('?'),
            "`?` placeholders cannot be batched: {}",
            other.text
        );
        let offset = self.args.len();
        let mut rest = other.text.as_str();
        while let Some(at) = rest.find('$') {
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            self.text.push_str(&rest[..=at]);
            // A `$` without digits is not a placeholder.
            if let Ok(n) = rest[at + 1..at + 1 + digits].parse::<usize>() {
                self.text.push_str(&(n + offset).to_string());
            }
            rest = &rest[at + 1 + digits..];
        }
        self.text.push_str(rest);
        self.args.extend(other.args);
    }
}

pub(crate) fn args(vals: &[V]) -> AnyArguments<'static> {
    let mut a = AnyArguments::default();
    for v in vals {
        // Adding a supported type to `AnyArguments` cannot fail.
        let _ = match v.clone() {
            V::I(i) => a.add(i),
            V::T(t) => a.add(t),
            V::OptI(i) => a.add(i),
            V::OptT(t) => a.add(t),
            V::B(b) => a.add(b),
            V::F(f) => a.add(f),
            V::OptF(Some(f)) => a.add(f),
            // sqlx 0.8's Any driver swaps the null float types when it hands arguments
            // to PostgreSQL (a null f64 is declared float4, a null f32 float8), and a
            // cached statement keeps the declared type: a later non-null f64 in the same
            // place is then refused. A null f32 comes out as the float8 null it should be.
            V::OptF(None) => a.add(Option::<f32>::None),
        };
    }
    a
}

/// Runs a statement with positional values.
pub(crate) async fn exec<'e, E>(e: E, sql: &str, vals: &[V]) -> Result<u64, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query_with(sql, args(vals))
        .execute(e)
        .await
        .map(|r| r.rows_affected())
        .map_err(backend_err)
}

/// Runs an `INSERT … RETURNING id`.
pub(crate) async fn insert_id<'e, E>(e: E, sql: &str, vals: &[V]) -> Result<i64, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query_scalar_with::<_, i64, _>(sql, args(vals))
        .fetch_one(e)
        .await
        .map_err(backend_err)
}

pub(crate) async fn fetch_all<'e, E, T>(e: E, sql: &str, vals: &[V]) -> Result<Vec<T>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as_with::<_, T, _>(sql, args(vals))
        .fetch_all(e)
        .await
        .map_err(backend_err)
}

pub(crate) async fn fetch_opt<'e, E, T>(
    e: E,
    sql: &str,
    vals: &[V],
) -> Result<Option<T>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as_with::<_, T, _>(sql, args(vals))
        .fetch_optional(e)
        .await
        .map_err(backend_err)
}

pub(crate) async fn scalar<'e, E>(e: E, sql: &str, vals: &[V]) -> Result<Option<i64>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query_scalar_with::<_, i64, _>(sql, args(vals))
        .fetch_optional(e)
        .await
        .map_err(backend_err)
}

/// Values bound per `IN (…)` list.
pub(crate) const IN_CHUNK: usize = 500;

/// ` AND col IN (…)` with these values bound.
pub(crate) fn in_list<T: Clone + Into<V>>(sql: &mut Sql, col: &str, vals: &[T]) {
    sql.push(&format!(" AND {col} IN ("));
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(v.clone());
    }
    sql.push(")");
}

/// Keyset cursors: the sort value and id of the last row, opaque to clients.
pub(crate) fn encode_cursor(sort: &str, id: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::json!([sort, id]).to_string())
}

pub(crate) fn decode_cursor(c: &str) -> Result<(String, i64), StoreError> {
    use base64::Engine;
    let bad = || StoreError::Conflict {
        code: "cursor_invalid",
        field: Some("cursor".into()),
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad())?;
    let (s, id): (String, i64) = serde_json::from_slice(&raw).map_err(|_| bad())?;
    Ok((s, id))
}

/// The smallest string greater than every string starting with `prefix`, for index ranges.
pub(crate) fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// A placeholder for parameter `n` (1-based). SQLite looks a numbered parameter up by
/// walking a list, so statements with thousands of them cost quadratic time; plain `?`
/// binds in order at no such cost.
pub(crate) fn ph(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => "?".into(),
        Backend::Postgres => format!("${n}"),
    }
}

/// Inserts rows with multi-row statements, as many rows per statement as the parameter
/// limits allow.
pub(crate) async fn bulk_insert(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    cols: &[&str],
    rows: &[Vec<V>],
) -> Result<(), StoreError> {
    bulk_insert_then(conn, backend, table, cols, rows, "").await
}

/// [`bulk_insert`] with a clause after the values (`ON CONFLICT …`).
pub(crate) async fn bulk_insert_then(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    cols: &[&str],
    rows: &[Vec<V>],
    then: &str,
) -> Result<(), StoreError> {
    let per = (30_000 / cols.len().max(1)).clamp(1, 1000);
    for chunk in rows.chunks(per) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
        let mut vals = Vec::with_capacity(chunk.len() * cols.len());
        for (r, row) in chunk.iter().enumerate() {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for (c, v) in row.iter().enumerate() {
                vals.push(v.clone());
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&ph(backend, vals.len()));
            }
            sql.push(')');
        }
        sql.push_str(then);
        exec(&mut *conn, &sql, &vals).await?;
    }
    Ok(())
}

// ---- typed values at the port edge ------------------------------------------------------

/// Ids are numbers, codes are their code text, amounts are fen and instants are stored
/// stamps (fixed width, so text order is time order).
macro_rules! id_values {
    ($($t:ty),+) => {$(
        impl From<$t> for V {
            fn from(v: $t) -> Self {
                V::I(v.get())
            }
        }
        impl From<Option<$t>> for V {
            fn from(v: Option<$t>) -> Self {
                V::OptI(v.map(|v| v.get()))
            }
        }
    )+};
}
id_values!(
    aftercare_domain::CustomerId,
    aftercare_domain::RequestId,
    aftercare_domain::OrderId,
    aftercare_domain::AssetId,
    aftercare_domain::ProductId,
    aftercare_domain::UserId,
    aftercare_domain::OutletId,
    aftercare_domain::VisitId,
    aftercare_domain::RmaId,
    aftercare_domain::CategoryId,
    aftercare_domain::PolicyId,
    aftercare_domain::FeedbackId,
    aftercare_domain::ImprovementId,
    aftercare_domain::SurveyId,
    aftercare_domain::ArticleId
);

macro_rules! code_values {
    ($($t:ty),+) => {$(
        impl From<$t> for V {
            fn from(v: $t) -> Self {
                V::T(v.code().to_owned())
            }
        }
        impl From<Option<$t>> for V {
            fn from(v: Option<$t>) -> Self {
                V::OptT(v.map(|v| v.code().to_owned()))
            }
        }
    )+};
}
code_values!(
    aftercare_domain::request::ServiceType,
    aftercare_domain::request::ServicePhase,
    aftercare_domain::request::RequestStatus,
    aftercare_domain::request::Priority,
    aftercare_domain::request::RequestChannel,
    aftercare_domain::request::VisitStatus,
    aftercare_domain::customer::ValueTier,
    aftercare_domain::rma::RmaKind,
    aftercare_domain::rma::RmaStatus,
    aftercare_domain::warranty::Charge,
    aftercare_domain::account::Role
);

impl From<aftercare_domain::Money> for V {
    fn from(v: aftercare_domain::Money) -> Self {
        V::I(v.fen())
    }
}
impl From<Option<aftercare_domain::Money>> for V {
    fn from(v: Option<aftercare_domain::Money>) -> Self {
        V::OptI(v.map(|v| v.fen()))
    }
}
impl From<jiff::Timestamp> for V {
    fn from(v: jiff::Timestamp) -> Self {
        V::T(aftercare_app::ports::stamp(v))
    }
}
impl From<Option<jiff::Timestamp>> for V {
    fn from(v: Option<jiff::Timestamp>) -> Self {
        V::OptT(v.map(aftercare_app::ports::stamp))
    }
}

/// Reads one stored row's text columns into typed values: a value that does not parse is
/// [`StoreError::Corrupt`] naming the table, the row and the column, never a default.
pub(crate) struct Cells {
    pub(crate) table: &'static str,
    pub(crate) id: i64,
}

impl Cells {
    pub(crate) fn of(table: &'static str, id: i64) -> Cells {
        Cells { table, id }
    }

    fn corrupt(&self, column: &'static str, value: &str) -> StoreError {
        StoreError::Corrupt {
            table: self.table,
            id: self.id,
            column,
            value: value.to_owned(),
        }
    }

    /// A code column (`status`, `priority`, …).
    pub(crate) fn code<T: std::str::FromStr>(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<T, StoreError> {
        value.parse().map_err(|_| self.corrupt(column, value))
    }

    pub(crate) fn opt_code<T: std::str::FromStr>(
        &self,
        column: &'static str,
        value: Option<&str>,
    ) -> Result<Option<T>, StoreError> {
        value.map(|v| self.code(column, v)).transpose()
    }

    /// An instant column.
    pub(crate) fn at(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<jiff::Timestamp, StoreError> {
        value.parse().map_err(|_| self.corrupt(column, value))
    }

    /// A JSON column.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<T, StoreError> {
        serde_json::from_str(value).map_err(|_| self.corrupt(column, value))
    }

    /// A calendar-day column.
    pub(crate) fn date(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<jiff::civil::Date, StoreError> {
        value.parse().map_err(|_| self.corrupt(column, value))
    }

    pub(crate) fn opt_date(
        &self,
        column: &'static str,
        value: Option<&str>,
    ) -> Result<Option<jiff::civil::Date>, StoreError> {
        value.map(|v| self.date(column, v)).transpose()
    }

    pub(crate) fn opt_at(
        &self,
        column: &'static str,
        value: Option<&str>,
    ) -> Result<Option<jiff::Timestamp>, StoreError> {
        value.map(|v| self.at(column, v)).transpose()
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern (with `ESCAPE '\'`).
pub(crate) fn like_contains(term: &str) -> String {
    let mut s = String::from("%");
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

/// Writes whose results nobody reads, gathered through a transaction and run at its end
/// (decisions 0026 and 0027). On SQLite they go to the connection's thread as one
/// multi-statement query, in the order they were added: one hand-off for all of them
/// instead of one each. PostgreSQL's protocol takes one statement with parameters at a
/// time, so there the statements added with [`Writes::add_apart`] that follow each other
/// are joined into one statement of data-modifying `WITH` queries (one round trip for them
/// instead of one each), at most one to a table, and the others run alone, in order. A
/// statement that fails stops the ones after it and fails the whole, and with it the
/// transaction: only statements whose failure is not an answer to the caller (an audit
/// row, a change-log event, a timeline entry, a child row) belong here; one whose conflict
/// means something (a taken reference, a repeated key) runs alone, so its error can be
/// told apart.
#[derive(Default)]
#[must_use = "gathered writes are lost unless run"]
pub(crate) struct Writes(Vec<(Sql, Order)>);

/// How a gathered statement may run beside the others on PostgreSQL.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    /// After every statement before it, seeing what they wrote, and before every one after.
    After,
    /// In one statement with its neighbours: the sub-statements of one `WITH` see none of
    /// each other's writes and run in no set order (PostgreSQL runs them last to first).
    Apart,
    /// No statement: the ones added after it see what the ones before it wrote.
    Barrier,
}

/// The most statements one multi-statement query of [`Writes`] holds. sqlx keeps each
/// query's prepared statements on the connection, keyed by its whole text (100 queries
/// to a connection): a query of at most this many is kept, so the shapes a hot path
/// repeats are prepared once; a longer `Writes` (a customer with hundreds of tags) goes
/// in queries of this many that are prepared, run and dropped, so they neither fill the
/// cache nor push the hot statements out of it.
const WRITES_KEPT: usize = 32;

impl Writes {
    /// Adds a statement, its parameters numbered `$1`, `$2`, … in the text. It runs after
    /// every statement added before it and sees what they wrote.
    pub fn add(&mut self, text: &str, args: Vec<V>) -> &mut Self {
        self.0.push((Sql::with(text, args), Order::After));
        self
    }

    /// Adds a statement that reads no row the others write and writes no row another one
    /// touches (an audit row, a change-log event, a timeline entry, a new child row): on
    /// PostgreSQL it may run in one statement with the ones beside it that write other
    /// tables. An `INSERT`, `UPDATE` or `DELETE` (its table is read from its start), so
    /// that two of one table keep their order, and with it the order of their ids.
    pub fn add_apart(&mut self, text: &str, args: Vec<V>) -> &mut Self {
        self.0.push((Sql::with(text, args), Order::Apart));
        self
    }

    /// [`Writes::add_apart`] for a statement built piece by piece.
    pub fn add_sql_apart(&mut self, sql: Sql) -> &mut Self {
        self.0.push((sql, Order::Apart));
        self
    }

    /// Makes the statements added from now on see what the ones added before wrote (on
    /// PostgreSQL, no statement joins ones from both sides): so the statements of each
    /// side may go apart among themselves.
    pub fn barrier(&mut self) -> &mut Self {
        self.0.push((Sql::default(), Order::Barrier));
        self
    }

    /// Runs the statements on `conn`.
    pub async fn run(self, backend: Backend, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let keep = self.0.iter().filter(|(_, o)| *o != Order::Barrier).count() <= WRITES_KEPT;
        match backend {
            Backend::Sqlite => {
                use futures_util::TryStreamExt;
                // One query runs its statements in order: barriers are already kept.
                let mut stmts = self
                    .0
                    .into_iter()
                    .filter(|(_, o)| *o != Order::Barrier)
                    .peekable();
                while stmts.peek().is_some() {
                    let mut all = Sql::default();
                    let mut n = 0;
                    while n < WRITES_KEPT
                        && let Some((s, _)) = stmts.next()
                    {
                        all.append(s);
                        n += 1;
                    }
                    // As in `fetch_sets` (decision 0023): deprecated in sqlx 0.8, still
                    // what its SQLite driver does with a multi-statement query.
                    #[allow(deprecated)]
                    let mut results = sqlx::query_with(&all.text, args(&all.args))
                        .persistent(keep)
                        .fetch_many(&mut *conn);
                    let mut done = 0;
                    while let Some(r) = results.try_next().await.map_err(backend_err)? {
                        if r.is_left() {
                            done += 1;
                        }
                    }
                    if done != n {
                        return Err(StoreError::Backend(format!(
                            "{n} statements gave {done} results"
                        )));
                    }
                }
            }
            Backend::Postgres => {
                for s in joined_apart(self.0) {
                    sqlx::query_with(&s.text, args(&s.args))
                        .persistent(keep)
                        .execute(&mut *conn)
                        .await
                        .map_err(backend_err)?;
                }
            }
        }
        Ok(())
    }
}

/// PostgreSQL's statements for gathered writes: each run of statements that may go apart
/// joined into one (`WITH w1 AS (…), w2 AS (…) SELECT 1`, at most [`WRITES_KEPT`] to a
/// statement and one to a table), the others as they are, in the order they were added.
/// PostgreSQL runs the queries of one `WITH` in an order it does not promise (last to
/// first, as it is): one statement to a table keeps the rows of each table, and their
/// ids, in the order they were added, which is what readers sort by (a customer's phones,
/// a request's history, the change log).
fn joined_apart(stmts: Vec<(Sql, Order)>) -> Vec<Sql> {
    let mut out = Vec::new();
    let mut run: Vec<Sql> = Vec::new();
    let mut tables: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<Sql>, out: &mut Vec<Sql>| match run.len() {
        0 => {}
        1 => out.extend(run.pop()),
        _ => {
            let mut all = Sql::default();
            for (i, s) in run.drain(..).enumerate() {
                all.join_as(&format!("w{}", i + 1), s);
            }
            all.push(" SELECT 1");
            out.push(all);
        }
    };
    for (s, order) in stmts {
        let table = (order == Order::Apart)
            .then(|| target_table(&s.text))
            .flatten();
        let alone = order != Order::Apart || table.is_none();
        let full = run.len() >= WRITES_KEPT || table.as_ref().is_some_and(|t| tables.contains(t));
        if alone || full {
            flush(&mut run, &mut out);
            tables.clear();
        }
        match (order, table) {
            (Order::Barrier, _) => {}
            (_, Some(t)) => {
                tables.push(t);
                run.push(s);
            }
            (_, None) => out.push(s),
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The table an `INSERT INTO t`, `UPDATE t` or `DELETE FROM t` writes, by its text.
fn target_table(text: &str) -> Option<String> {
    let rest = ["INSERT INTO ", "DELETE FROM ", "UPDATE "]
        .iter()
        .find_map(|p| text.trim_start().strip_prefix(p))?;
    rest.split([' ', '(', '\n'])
        .next()
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

/// The rows of several statements read together, in the order they were given.
pub(crate) struct Sets(std::collections::VecDeque<Set>);

/// One statement's rows: as the driver gives them, or (PostgreSQL, [`fetch_sets`]) as
/// one JSON array of objects, one object a row, keyed by column name.
enum Set {
    Rows(Vec<AnyRow>),
    Json(String),
}

impl Sets {
    /// The next statement's rows, decoded: by column name, from either form, so a type
    /// read through [`fetch_sets`] is a named struct whose fields are its columns.
    pub fn next<T>(&mut self) -> Result<Vec<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow> + serde::de::DeserializeOwned,
    {
        let set = self
            .0
            .pop_front()
            .ok_or_else(|| StoreError::Backend("fewer result sets than statements".into()))?;
        match set {
            Set::Rows(rows) => rows
                .iter()
                .map(|r| T::from_row(r).map_err(backend_err))
                .collect(),
            Set::Json(text) => serde_json::from_str(&text).map_err(|e| {
                StoreError::Backend(format!(
                    "rows of {} as JSON: {e}",
                    std::any::type_name::<T>()
                ))
            }),
        }
    }
}

/// Reads several statements at once, outside any transaction, as separate reads would:
/// no statement sees the database older than when the call began. On SQLite they go to
/// the connection's thread as one multi-statement query (one hand-off for all of them
/// instead of one each, decision 0023), each seeing the database as it runs. PostgreSQL's
/// protocol takes one statement with parameters at a time, so there they become one
/// statement of subqueries, each aggregating its rows into a JSON array (decision 0028):
/// one round trip instead of one each, all of them in one snapshot. Rows come back keyed
/// by column name, so the types read are named structs (not tuples) of text, integer and
/// float columns; [`fetch_sets_in_turn`] is for the others. Every statement's rows are
/// held at once until decoded: for reads of a bounded size (one customer's, a chunk of
/// ids), not for whole tables.
pub(crate) async fn fetch_sets(
    backend: Backend,
    pool: &Pool,
    stmts: Vec<Sql>,
) -> Result<Sets, StoreError> {
    match backend {
        Backend::Sqlite => fetch_sets_in_turn(backend, pool, stmts).await,
        Backend::Postgres if stmts.is_empty() => Ok(Sets(Default::default())),
        Backend::Postgres => {
            let n = stmts.len();
            let joined = json_joined(stmts);
            let row = sqlx::query_with(&joined.text, args(&joined.args))
                .fetch_one(pool)
                .await
                .map_err(backend_err)?;
            let sets = (0..n)
                .map(|i| {
                    use sqlx::Row;
                    row.try_get::<String, _>(i).map(Set::Json)
                })
                .collect::<Result<_, _>>()
                .map_err(backend_err)?;
            Ok(Sets(sets))
        }
    }
}

/// One PostgreSQL statement reading `stmts`: a column each, the statement's rows as a
/// JSON array of objects (`[]` for none) in the order the statement gives them.
fn json_joined(stmts: Vec<Sql>) -> Sql {
    let mut out = Sql::new("SELECT ");
    for (i, s) in stmts.into_iter().enumerate() {
        if i > 0 {
            out.text.push_str(", ");
        }
        out.text
            .push_str("(SELECT COALESCE(json_agg(t), '[]')::text FROM (");
        out.renumbered(s);
        out.text.push_str(") t)");
    }
    out
}

/// [`fetch_sets`] for types read by position or of other columns (tuples, blobs): on
/// PostgreSQL the statements run one after another, a round trip each.
pub(crate) async fn fetch_sets_in_turn(
    backend: Backend,
    pool: &Pool,
    stmts: Vec<Sql>,
) -> Result<Sets, StoreError> {
    let n = stmts.len();
    let mut sets = std::collections::VecDeque::with_capacity(n);
    match backend {
        Backend::Sqlite => {
            use futures_util::TryStreamExt;
            let mut all = Sql::default();
            for s in stmts {
                all.append(s);
            }
            // Deprecated in sqlx 0.8 (multi-statement queries are to go from its prepared
            // statements), still what its SQLite driver does; decision 0023 says what
            // replaces it on an upgrade.
            #[allow(deprecated)]
            let mut rows = sqlx::query_with(&all.text, args(&all.args)).fetch_many(pool);
            let mut set = Vec::new();
            while let Some(r) = rows.try_next().await.map_err(backend_err)? {
                match r {
                    sqlx::Either::Left(_) => sets.push_back(Set::Rows(std::mem::take(&mut set))),
                    sqlx::Either::Right(row) => set.push(row),
                }
            }
        }
        Backend::Postgres => {
            for s in stmts {
                sets.push_back(Set::Rows(
                    sqlx::query_with(&s.text, args(&s.args))
                        .fetch_all(pool)
                        .await
                        .map_err(backend_err)?,
                ));
            }
        }
    }
    if sets.len() != n {
        return Err(StoreError::Backend(format!(
            "{n} statements gave {} result sets",
            sets.len()
        )));
    }
    Ok(Sets(sets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_joins_the_writes_that_go_apart_and_keeps_the_others_in_order() {
        let mut w = Writes::default();
        w.add("DELETE FROM a WHERE x = $1", vec![V::I(1)])
            .add_apart("INSERT INTO b (x) VALUES ($1)", vec![V::I(2)])
            .add_apart(
                "INSERT INTO c (x, y) VALUES ($1, $2)",
                vec![V::I(3), V::I(4)],
            )
            .add_apart("INSERT INTO events (x) VALUES ($1)", vec![V::I(5)])
            .add_apart("INSERT INTO d(x) VALUES ($1)", vec![V::I(6)])
            .add_apart("INSERT INTO events (x) SELECT $1", vec![V::I(7)])
            .add_apart("INSERT INTO b (x) VALUES ($1)", vec![V::I(8)])
            .add(
                "INSERT INTO e (x) SELECT x FROM b WHERE x = $1",
                vec![V::I(9)],
            )
            .add_apart("INSERT INTO f (x) VALUES ($1)", vec![V::I(10)])
            .add_apart("UPDATE g SET x = $1", vec![V::I(11)])
            .barrier()
            .add_apart("DELETE FROM h WHERE x = $1", vec![V::I(12)])
            .add_apart("SELECT 1 FROM i WHERE x = $1", vec![V::I(13)]);
        let joined = joined_apart(w.0);
        let texts: Vec<&str> = joined.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "DELETE FROM a WHERE x = $1",
                // A second statement on a table starts a statement of its own, so the
                // rows of each table keep their order.
                "WITH w1 AS (INSERT INTO b (x) VALUES ($1)), \
                 w2 AS (INSERT INTO c (x, y) VALUES ($2, $3)), \
                 w3 AS (INSERT INTO events (x) VALUES ($4)), \
                 w4 AS (INSERT INTO d(x) VALUES ($5)) SELECT 1",
                "WITH w1 AS (INSERT INTO events (x) SELECT $1), \
                 w2 AS (INSERT INTO b (x) VALUES ($2)) SELECT 1",
                "INSERT INTO e (x) SELECT x FROM b WHERE x = $1",
                "WITH w1 AS (INSERT INTO f (x) VALUES ($1)), \
                 w2 AS (UPDATE g SET x = $2) SELECT 1",
                // Nothing joins the statements on both sides of a barrier, and a
                // statement that writes no table it can name runs alone.
                "DELETE FROM h WHERE x = $1",
                "SELECT 1 FROM i WHERE x = $1",
            ]
        );
        let lasts: Vec<i64> = joined
            .iter()
            .map(|s| match s.args.last() {
                Some(V::I(i)) => *i,
                _ => -1,
            })
            .collect();
        assert_eq!(lasts, [1, 6, 8, 9, 11, 12, 13]);

        // At most `WRITES_KEPT` to a statement.
        let mut w = Writes::default();
        for i in 0..(WRITES_KEPT as i64 * 2 + 1) {
            w.add_apart(&format!("INSERT INTO t{i} (x) VALUES ($1)"), vec![V::I(i)]);
        }
        let sizes: Vec<usize> = joined_apart(w.0).iter().map(|s| s.args.len()).collect();
        assert_eq!(sizes, [WRITES_KEPT, WRITES_KEPT, 1]);
    }

    #[test]
    fn appended_statements_number_their_parameters_after_the_ones_before() {
        let mut first = Sql::new("SELECT a FROM t WHERE x = ");
        first.bind(1_i64).push(" AND y = ").bind("b");
        let mut all = Sql::default();
        all.append(first);
        // Written whole: `$1` twice, `$2` once; a `$` without digits is left alone.
        all.append(Sql::with(
            "SELECT '$' FROM u WHERE p = $1 OR q = $1 AND r = $2",
            vec![V::I(7), V::I(8)],
        ));
        let mut third = Sql::new("SELECT c FROM v WHERE z = ");
        third.bind(9_i64);
        all.append(third);
        assert_eq!(
            all.text,
            "SELECT a FROM t WHERE x = $1 AND y = $2;\n\
             SELECT '$' FROM u WHERE p = $3 OR q = $3 AND r = $4;\n\
             SELECT c FROM v WHERE z = $5"
        );
        assert_eq!(all.args.len(), 5);
        assert!(matches!(all.args[4], V::I(9)));
    }
}
