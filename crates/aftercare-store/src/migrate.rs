//! Schema migrations: append-only, each written once for both databases. `{pk}`,
//! `{int_key}`, `{text_c}` and `{blob}` are the only differences, filled in per backend.
//! A migration may have a step in Rust, run in its transaction after its SQL.

use crate::db::{Backend, Db, backend_err};
use aftercare_app::StoreError;

/// Every migration, in order. Never edit a released one: add a new one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "m20261125_000001_create_core",
        include_str!("migrations/m20261125_000001_create_core.sql"),
    ),
    (
        "m20261125_000002_index_idempotency_age",
        include_str!("migrations/m20261125_000002_index_idempotency_age.sql"),
    ),
    (
        "m20261125_000003_create_duplicate_candidates",
        include_str!("migrations/m20261125_000003_create_duplicate_candidates.sql"),
    ),
    (
        "m20261126_000004_create_service_desk",
        include_str!("migrations/m20261126_000004_create_service_desk.sql"),
    ),
    (
        "m20261127_000005_create_mail_received",
        include_str!("migrations/m20261127_000005_create_mail_received.sql"),
    ),
    (
        "m20261127_000006_create_customer_value",
        include_str!("migrations/m20261127_000006_create_customer_value.sql"),
    ),
    (
        "m20261128_000007_create_feedback",
        include_str!("migrations/m20261128_000007_create_feedback.sql"),
    ),
    (
        crate::purchases::MIGRATION,
        include_str!("migrations/m20261128_000008_create_purchase_blocks.sql"),
    ),
    (
        "m20261205_000009_create_job_runtime",
        include_str!("migrations/m20261205_000009_create_job_runtime.sql"),
    ),
    (
        "m20261205_000010_create_idempotent_effects",
        include_str!("migrations/m20261205_000010_create_idempotent_effects.sql"),
    ),
    (
        "m20261205_000011_add_external_refs",
        include_str!("migrations/m20261205_000011_add_external_refs.sql"),
    ),
    (
        "m20261205_000012_add_feedback_uncertain",
        include_str!("migrations/m20261205_000012_add_feedback_uncertain.sql"),
    ),
    (
        "m20261205_000013_add_customer_erased",
        include_str!("migrations/m20261205_000013_add_customer_erased.sql"),
    ),
    (
        "m20261205_000014_create_portal_signups",
        include_str!("migrations/m20261205_000014_create_portal_signups.sql"),
    ),
    (
        "m20261205_000015_create_import_runs",
        include_str!("migrations/m20261205_000015_create_import_runs.sql"),
    ),
    (
        "m20261205_000016_fix_phases_and_departures",
        include_str!("migrations/m20261205_000016_fix_phases_and_departures.sql"),
    ),
    (
        "m20261205_000017_add_type_suggestion",
        include_str!("migrations/m20261205_000017_add_type_suggestion.sql"),
    ),
    (
        "m20261205_000018_create_portal_resets",
        include_str!("migrations/m20261205_000018_create_portal_resets.sql"),
    ),
    (
        "m20261205_000019_add_customer_lang",
        include_str!("migrations/m20261205_000019_add_customer_lang.sql"),
    ),
    (
        "m20261205_000020_create_calendar_feeds",
        include_str!("migrations/m20261205_000020_create_calendar_feeds.sql"),
    ),
    (
        CHINA_PUBLIC_DAYS,
        include_str!("migrations/m20261206_000021_load_china_public_days.sql"),
    ),
    (
        "m20261206_000022_create_saved_views",
        include_str!("migrations/m20261206_000022_create_saved_views.sql"),
    ),
    (
        "m20261206_000023_index_requests_resolved",
        include_str!("migrations/m20261206_000023_index_requests_resolved.sql"),
    ),
    (
        "m20261206_000024_create_message_texts",
        include_str!("migrations/m20261206_000024_create_message_texts.sql"),
    ),
    (
        TIMELINE_PARAMS,
        include_str!("migrations/m20261206_000025_add_timeline_params.sql"),
    ),
    (
        "m20261206_000026_create_campaigns",
        include_str!("migrations/m20261206_000026_create_campaigns.sql"),
    ),
    (
        "m20261206_000027_create_offers",
        include_str!("migrations/m20261206_000027_create_offers.sql"),
    ),
    (
        VALUE_TIMELINE_PARAMS,
        include_str!("migrations/m20261206_000028_fill_value_timeline_params.sql"),
    ),
    (
        "m20261207_000029_create_care_and_vouchers",
        include_str!("migrations/m20261207_000029_create_care_and_vouchers.sql"),
    ),
    (
        "m20261208_000030_create_campaign_journeys",
        include_str!("migrations/m20261208_000030_create_campaign_journeys.sql"),
    ),
    (
        "m20261209_000031_create_service_network",
        include_str!("migrations/m20261209_000031_create_service_network.sql"),
    ),
];

/// The migration whose Rust step gives the value tier and loyalty stage entries written
/// before it their parameters.
const VALUE_TIMELINE_PARAMS: &str = "m20261206_000028_fill_value_timeline_params";

/// The migration whose Rust step gives the timeline entries written before it their
/// parameters.
const TIMELINE_PARAMS: &str = "m20261206_000025_add_timeline_params";

/// The migration whose Rust step gives calendars in China the public days this release
/// carries.
const CHINA_PUBLIC_DAYS: &str = "m20261206_000021_load_china_public_days";

fn render(sql: &str, backend: Backend) -> String {
    let (pk, int_key, text_c, blob) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY", "INTEGER PRIMARY KEY", "TEXT", "BLOB"),
        // PostgreSQL compares text by the database's locale, where a prefix range is not
        // a prefix match; the C collation compares bytes, as SQLite does.
        Backend::Postgres => (
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            // A key given by the application, not generated.
            "BIGINT PRIMARY KEY",
            "TEXT COLLATE \"C\"",
            "BYTEA",
        ),
    };
    let sql = sql
        .replace("{pk}", pk)
        .replace("{int_key}", int_key)
        .replace("{text_c}", text_c)
        .replace("{blob}", blob);
    // Statements between `-- sqlite:begin` and `-- sqlite:end` are SQLite's alone.
    let mut out = String::with_capacity(sql.len());
    let mut keep = true;
    for line in sql.lines() {
        match line.trim() {
            "-- sqlite:begin" => keep = backend == Backend::Sqlite,
            "-- sqlite:end" => keep = true,
            _ if keep => {
                out.push_str(line);
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// Applies every migration not yet applied, each in its own transaction. Returns the names
/// of those it applied.
pub async fn migrate(db: &Db) -> Result<Vec<String>, StoreError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .execute(&db.write)
    .await
    .map_err(backend_err)?;
    let mut applied = Vec::new();
    for (name, sql) in MIGRATIONS {
        let mut tx = db.write.begin().await.map_err(backend_err)?;
        let done = sqlx::query_scalar::<_, String>(
            "SELECT version FROM schema_migrations WHERE version = $1",
        )
        .bind(*name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_err)?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(&render(sql, db.backend))
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        if *name == crate::purchases::MIGRATION {
            crate::purchases::rebuild(&mut tx, db.backend).await?;
        }
        if *name == CHINA_PUBLIC_DAYS {
            crate::desk_setup::load_china_public_days(&mut tx).await?;
        }
        if *name == TIMELINE_PARAMS {
            fill_timeline_params(
                &mut tx,
                "('request', 'request_resolved', 'request_message', 'visit', 'rating', 'rma', 'expert')",
            )
            .await?;
        }
        if *name == VALUE_TIMELINE_PARAMS {
            fill_timeline_params(&mut tx, "('tier', 'stage')").await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(*name)
            .bind(aftercare_app::ports::stamp(jiff_now()))
            .execute(&mut *tx)
            .await
            .map_err(backend_err)?;
        tx.commit().await.map_err(backend_err)?;
        applied.push(name.to_string());
    }
    Ok(applied)
}

/// Gives the desk's timeline entries written before migration 000025 their parameters,
/// reading their summaries, a thousand rows at a time.
async fn fill_timeline_params(
    conn: &mut sqlx::AnyConnection,
    kinds: &str,
) -> Result<(), StoreError> {
    use crate::db::{V, exec, fetch_all};
    let mut after = 0_i64;
    loop {
        let rows: Vec<(i64, String, String)> = fetch_all(
            &mut *conn,
            &format!(
                "SELECT id, kind, summary FROM timeline WHERE id > $1 AND kind IN {kinds} \
                 ORDER BY id LIMIT 1000"
            ),
            &[V::I(after)],
        )
        .await?;
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(());
        };
        for (id, kind, summary) in rows {
            if let Some(p) = aftercare_app::timeline_model::params_of(&kind, &summary) {
                exec(
                    &mut *conn,
                    "UPDATE timeline SET params = $1 WHERE id = $2",
                    &[V::T(p.to_string()), V::I(id)],
                )
                .await?;
            }
        }
        after = last;
    }
}

#[allow(clippy::disallowed_methods)] // when a migration ran is bookkeeping, not domain time
fn jiff_now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}
