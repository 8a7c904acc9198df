//! The store's connection pool (decision 0021) on a real SQLite file and a real
//! PostgreSQL server: connections are handed out and taken back without a round trip,
//! and a connection a caller gave up on half way, or one the server ended, is not handed
//! out again.

use aftercare_store::pool::IDLE_CHECK;
use aftercare_testkit::{BOTH, Kind, TestDb};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_statement_given_up_half_way_leaves_no_connection_behind() {
    for kind in BOTH {
        let t = TestDb::new(kind).await;
        let pool = &t.db.read;
        let slow = match kind {
            Kind::Sqlite => {
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000000) \
                 SELECT COUNT(*) FROM n"
            }
            Kind::Postgres => "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_sleep(5)",
        };
        let idle_before = pool.idle();
        let gave_up = tokio::time::timeout(
            Duration::from_millis(200),
            sqlx::query_scalar::<_, i64>(slow).fetch_one(pool),
        )
        .await;
        assert!(gave_up.is_err(), "{kind:?}: the slow statement finished");
        // The connection it ran on is closed, not handed to the next caller, who would
        // otherwise wait for the abandoned statement to end.
        assert!(
            pool.idle() < idle_before,
            "{kind:?}: the connection came back"
        );
        let started = Instant::now();
        let one: i64 = sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(one, 1);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{kind:?}: the next statement waited {:?}",
            started.elapsed()
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn connections_in_use_are_taken_back_as_they_are_and_a_dropped_one_is_replaced() {
    let t = TestDb::new(Kind::Postgres).await;
    let pool = &t.db.read;
    let pid = || async {
        sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
            .fetch_one(pool)
            .await
            .unwrap()
    };
    // One caller after another gets the same connection back: nothing was closed or
    // opened in between.
    let first = pid().await;
    for _ in 0..20 {
        assert_eq!(pid().await, first);
    }
    // A transaction dropped without commit lets its locks go at once, before anyone
    // uses the pool again (the change log's lock would otherwise stop every writer).
    let admin = aftercare_store::connect(&aftercare_testkit::pg_admin_url())
        .await
        .unwrap();
    {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SELECT pg_advisory_xact_lock(7220699)")
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let mut free = false;
    for _ in 0..50 {
        let mut other = admin.read.acquire().await.unwrap();
        free = sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock(7220699)")
            .fetch_one(&mut *other)
            .await
            .unwrap();
        if free {
            sqlx::query("SELECT pg_advisory_unlock(7220699)")
                .execute(&mut *other)
                .await
                .unwrap();
            break;
        }
        drop(other);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(free, "the dropped transaction kept its lock");
    let first = pid().await;
    // The server ends the connection while it waits in the pool: after a pause it is
    // checked before it is handed out, and a new one takes its place.
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&admin.read)
        .await
        .unwrap();
    assert!(ended);
    tokio::time::sleep(IDLE_CHECK + Duration::from_millis(200)).await;
    let next = pid().await;
    assert_ne!(next, first);
    admin.read.close().await;
    admin.write.close().await;
    t.cleanup().await;
}

/// The bundled SQLite is built as `.cargo/config.toml` says: without the global locks
/// every connection's thread took on each allocation and page fetch (issue 18). A build
/// that lost the setting (`LIBSQLITE3_FLAGS` overridden in the environment, say) fails
/// here rather than quietly running slower.
#[tokio::test]
async fn sqlite_is_built_without_the_global_memory_and_page_cache_locks() {
    let t = TestDb::new(Kind::Sqlite).await;
    let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
        .fetch_all(&t.db.read)
        .await
        .unwrap();
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "{options:?}"
    );
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "{options:?}"
    );
    t.cleanup().await;
}

/// The writer keeps SQLite's 16 MB page cache; every reader the smaller one
/// (`SQLITE_READER_CACHE`), which is what keeps eight of them inside the memory target.
#[tokio::test]
async fn readers_keep_a_smaller_page_cache_than_the_writer() {
    let t = TestDb::new(Kind::Sqlite).await;
    let cache = |pool| async move {
        sqlx::query_scalar::<_, i64>("PRAGMA cache_size")
            .fetch_one(pool)
            .await
            .unwrap()
    };
    assert_eq!(cache(&t.db.write).await, -16384);
    // Several readers at once: each connection of the pool was opened with the setting.
    let (a, b, c) = tokio::join!(cache(&t.db.read), cache(&t.db.read), cache(&t.db.read));
    assert_eq!((a, b, c), (-4096, -4096, -4096));
    t.cleanup().await;
}
