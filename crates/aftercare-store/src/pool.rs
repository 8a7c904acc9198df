//! The connection pool the store runs on, in place of sqlx's own (decision 0021).
//!
//! sqlx 0.8's pool checks a connection with a round trip each time it hands one out and
//! again, in a task of its own, each time one comes back. The store runs most statements
//! straight on a pool, so every statement cost three round trips where one is the work:
//! on SQLite three hand-offs to the connection's thread and back, on PostgreSQL three
//! network round trips. This pool hands out and takes back connections without talking to
//! the database. A connection is checked only after it sat idle for [`IDLE_CHECK`] (where
//! a restarted server or a firewall may have dropped it), and it is dropped instead of
//! being taken back when its statement failed in the connection (I/O, protocol, a crashed
//! SQLite thread) or when the caller gave up on a statement half way through (a request
//! cancelled while it waited): what the round trip on return guarded against.

use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, StreamExt};
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTransactionManager, AnyTypeInfo};
use sqlx::{
    Any, AnyConnection, Connection, Describe, Either, Execute, Executor, TransactionManager,
};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection idle this long is checked with a round trip before it is handed out: a
/// busy server never checks, a quiet one finds a restarted database before a caller does.
pub const IDLE_CHECK: Duration = Duration::from_secs(2);

/// A pool of connections to one database. Cloning it shares the pool.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    /// Statements run on every new connection (SQLite's pragmas).
    setup: Vec<&'static str>,
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
    /// Counts the transactions committed through [`Tx::commit`] and [`Pool::committed`]:
    /// what the change log's consumers wait on.
    commits: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.inner.permits.available_permits())
            .finish()
    }
}

impl Pool {
    /// How many connections wait in the pool, open and unused.
    pub fn idle(&self) -> usize {
        self.inner.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// A pool of at most `max` connections to `url`; one is opened now, so that a wrong
    /// URL or an unreachable server is found at start.
    pub async fn connect(
        url: &str,
        max: usize,
        setup: Vec<&'static str>,
        acquire_timeout: Duration,
    ) -> Result<Pool, sqlx::Error> {
        let pool = Pool {
            inner: Arc::new(Inner {
                url: url.to_string(),
                setup,
                idle: Mutex::new(Vec::with_capacity(max)),
                permits: Arc::new(Semaphore::new(max)),
                acquire_timeout,
                commits: tokio::sync::watch::Sender::new(0),
            }),
        };
        drop(pool.acquire().await?);
        Ok(pool)
    }

    /// A connection of the pool, waiting for one to come back when all are in use.
    pub async fn acquire(&self) -> Result<Conn, sqlx::Error> {
        let inner = &self.inner;
        // The whole of it, checking an idle connection or opening one included, within
        // the timeout.
        let deadline = tokio::time::Instant::now() + inner.acquire_timeout;
        let permit = tokio::time::timeout_at(deadline, inner.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let idle = inner.idle.lock().ok().and_then(|mut v| v.pop());
            let conn = match idle {
                Some((mut conn, since)) => {
                    if since.elapsed() >= IDLE_CHECK {
                        match tokio::time::timeout_at(deadline, conn.ping()).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => continue,
                            Err(_) => return Err(sqlx::Error::PoolTimedOut),
                        }
                    }
                    conn
                }
                None => tokio::time::timeout_at(deadline, self.open())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)??,
            };
            return Ok(Conn {
                conn: Some(conn),
                pool: inner.clone(),
                permit: Some(permit),
                busy: false,
            });
        }
    }

    /// Notes a transaction committed on a connection of this pool by other means than
    /// [`Tx::commit`] (the group commit's own `COMMIT`).
    pub fn committed(&self) {
        self.inner.commits.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes each time a transaction of this pool commits.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.commits.subscribe()
    }

    /// Closes the pool: no connection is handed out any more, the idle ones are closed
    /// now and those in use when they come back.
    pub async fn close(&self) {
        self.inner.permits.close();
        let idle = match self.inner.idle.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return,
        };
        for (conn, _) in idle {
            let _ = conn.close().await;
        }
    }

    async fn open(&self) -> Result<AnyConnection, sqlx::Error> {
        let mut conn = AnyConnection::connect(&self.inner.url).await?;
        for s in &self.inner.setup {
            conn.execute(*s).await?;
        }
        Ok(conn)
    }

    /// A transaction on a connection of the pool: committed by [`Tx::commit`], rolled back
    /// when dropped without.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let mut conn = self.acquire().await?;
        let out = AnyTransactionManager::begin(conn.start(), None).await;
        conn.done(out)?;
        Ok(Tx { conn, open: true })
    }
}

/// A connection taken from the pool; it goes back when dropped.
pub struct Conn {
    conn: Option<AnyConnection>,
    pool: Arc<Inner>,
    /// Held until the connection is back or closed: a connection being closed still
    /// counts against the pool's size (a SQLite thread finishes the statement it runs).
    permit: Option<OwnedSemaphorePermit>,
    /// A statement is under way: if the connection is dropped now, its caller gave up
    /// half way, and the connection is closed rather than handed to someone else.
    busy: bool,
}

impl Conn {
    fn raw(&mut self) -> &mut AnyConnection {
        // Present from creation until drop.
        #[allow(clippy::unwrap_used)]
        self.conn.as_mut().unwrap()
    }

    /// Notes that a statement starts: until [`Conn::done`], dropping the connection
    /// closes it.
    fn start(&mut self) -> &mut AnyConnection {
        self.busy = true;
        self.raw()
    }

    /// Notes that the statement ended with `out`: the connection goes back to the pool
    /// when dropped, unless it failed in the connection itself.
    fn done<T>(&mut self, out: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        self.busy = out.as_ref().is_err_and(broken);
        out
    }
}

/// Errors after which a connection is not used again: it failed itself, or the server
/// ended it (PostgreSQL's classes 08, connection exception, and 57P, shut down).
fn broken(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

impl Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        #[allow(clippy::unwrap_used)]
        self.conn.as_ref().unwrap()
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.raw()
    }
}

impl Conn {
    /// Closes the connection instead of handing it back (it failed, or its caller left
    /// it in a state nobody else should inherit).
    pub fn discard(&mut self) {
        self.busy = true;
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !self.busy && !self.pool.permits.is_closed() {
            if let Ok(mut idle) = self.pool.idle.lock() {
                idle.push((conn, Instant::now()));
            }
            return;
        }
        // Closed in a task of its own, which keeps the permit until the connection is
        // gone: on SQLite a close waits for the statement the connection's thread runs.
        let permit = self.permit.take();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let _ = tokio::time::timeout(CLOSE_WAIT, conn.close_hard()).await;
                    drop(permit);
                });
            }
            Err(_) => drop(conn),
        }
    }
}

/// How long a connection being closed may keep its place in the pool.
const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// A transaction on a pooled connection.
pub struct Tx {
    conn: Conn,
    open: bool,
}

impl Tx {
    /// Commits. If the commit fails the connection is closed, not handed out again: its
    /// transaction's state is not known (the database rolls back what a closed
    /// connection left open).
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let out = AnyTransactionManager::commit(self.conn.start()).await;
        self.open = false;
        if out.is_ok() {
            self.conn
                .pool
                .commits
                .send_modify(|n| *n = n.wrapping_add(1));
            self.conn.busy = false;
        }
        out
    }

    /// Rolls back; on failure the connection is closed (see [`Tx::commit`]).
    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        let out = AnyTransactionManager::rollback(self.conn.start()).await;
        self.open = false;
        if out.is_ok() {
            self.conn.busy = false;
        }
        out
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.open {
            // Dropped without a commit (an error, a request given up): the connection is
            // closed, so the database rolls the transaction back and lets its locks go at
            // once. A rollback queued on the connection would wait for its next user, and
            // on PostgreSQL hold the change log's lock until then.
            self.conn.discard();
        }
    }
}

impl<'p> Executor<'p> for &'_ Pool {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let pool = self.clone();
        // The rows are gathered before they are handed on, so that the connection goes
        // back as soon as the statement is done (the store reads no unbounded results).
        futures_util::stream::once(async move {
            let mut conn = match pool.acquire().await {
                Ok(c) => c,
                Err(e) => return futures_util::stream::iter(vec![Err(e)]),
            };
            let rows: Vec<_> = conn.start().fetch_many(query).collect().await;
            conn.busy = rows.iter().any(|r| r.as_ref().is_err_and(broken));
            futures_util::stream::iter(rows)
        })
        .flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            let out = conn.start().fetch_optional(query).await;
            conn.done(out)
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            let out = conn.start().prepare_with(sql, parameters).await;
            conn.done(out)
        })
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
    where
        'p: 'e,
    {
        let pool = self.clone();
        Box::pin(async move {
            let mut conn = pool.acquire().await?;
            let out = conn.start().describe(sql).await;
            conn.done(out)
        })
    }
}
