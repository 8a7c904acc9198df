//! `SqlStore`, the sum of every port over SQL, and what its writes share: transactions,
//! the audit and change log, the timeline, settings rows, keyset pages.

use crate::customer_rows::{self as customers};
use crate::db::*;
use aftercare_app::StoreError;
use aftercare_app::model::*;
use aftercare_app::ports::*;
use aftercare_domain::customer::CustomerDraft;
use aftercare_domain::ids::*;
use async_trait::async_trait;
use serde_json::{Value, json};
use sqlx::AnyConnection;

pub(crate) type Tx = crate::pool::Tx;

/// The store over one database.
#[derive(Clone)]
pub struct SqlStore {
    pub db: Db,
}

impl SqlStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// A consistent copy of a SQLite database, taken while it is in use (`VACUUM INTO`:
    /// one read transaction, so every write is either wholly in the copy or not at all),
    /// written next to `path` and renamed onto it when complete. PostgreSQL is backed up
    /// with its own tools (`pg_dump`), so there it is refused.
    pub async fn backup_into(&self, path: &std::path::Path) -> Result<(), StoreError> {
        if self.db.backend != crate::db::Backend::Sqlite {
            return Err(StoreError::Backend(
                "PostgreSQL is backed up with pg_dump (docs/operations.md#backups)".into(),
            ));
        }
        let partial = path.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        exec(
            &self.db.read,
            "VACUUM INTO $1",
            &[partial.display().to_string().into()],
        )
        .await?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .and_then(|_| std::fs::rename(&partial, path))
            .map_err(|e| StoreError::Backend(format!("{}: {e}", path.display())))
    }

    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        self.db.write.begin().await.map_err(backend_err)
    }

    /// The settings kept as JSON in a one-row table (`value_settings`, `survey_settings`,
    /// `voc_settings`); none until first saved.
    pub(crate) async fn settings_row(&self, table: &str) -> Result<Option<String>, StoreError> {
        fetch_opt::<_, (String,)>(
            &self.db.read,
            &format!("SELECT settings FROM {table} WHERE id = 1"),
            &[],
        )
        .await
        .map(|r| r.map(|r| r.0))
    }

    /// Saves the settings of a one-row table, with their audit row and change-log event.
    pub(crate) async fn save_settings_row(
        &self,
        table: &str,
        actor: &Actor,
        json: &str,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        let now = &stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        exec(
            &mut *tx,
            &format!(
                "INSERT INTO {table} (id, settings, updated_at, updated_by) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by"
            ),
            &[json.into(), now.into(), (&actor.label).into()],
        )
        .await?;
        let after: Value = serde_json::from_str(json).unwrap_or_default();
        self.log(&mut tx, actor, "update", table, 1, None, Some(&after), now)
            .await?;
        tx.commit().await.map_err(backend_err)
    }

    /// Why an update guarded by `version = $n` changed no row: the record is gone, or it
    /// was changed since the version was read.
    pub(crate) async fn missing_or_changed(
        tx: &mut AnyConnection,
        table: &str,
        id: i64,
    ) -> StoreError {
        let exists = scalar(
            &mut *tx,
            &format!("SELECT id FROM {table} WHERE id = $1"),
            &[V::I(id)],
        )
        .await;
        match exists {
            Err(e) => e,
            Ok(None) => StoreError::NotFound,
            Ok(Some(_)) => StoreError::Conflict {
                code: "version_conflict",
                field: Some("version".into()),
            },
        }
    }

    /// Appends the audit row and the change-log event of one write, in its transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn log(
        &self,
        tx: &mut AnyConnection,
        actor: &Actor,
        action: &str,
        entity: &str,
        id: i64,
        before: Option<&Value>,
        after: Option<&Value>,
        now: &str,
    ) -> Result<(), StoreError> {
        let mut w = Writes::default();
        self.log_to(tx, &mut w, actor, action, entity, id, before, after, now)
            .await?;
        w.run(self.db.backend, tx).await
    }

    /// [`Self::log`] into `w`: the audit row and the change-log event are added to the
    /// writes the caller runs with the rest of its own. An Idempotency-Key's row is
    /// written at once, alone, as its conflict is an answer to the caller.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn log_to(
        &self,
        tx: &mut AnyConnection,
        w: &mut Writes,
        actor: &Actor,
        action: &str,
        entity: &str,
        id: i64,
        before: Option<&Value>,
        after: Option<&Value>,
        now: &str,
    ) -> Result<(), StoreError> {
        // A creation under an Idempotency-Key: its key goes with it, in this transaction.
        // A second effect for the key fails the primary key, and with it this transaction.
        if let (Some(mark), Some(user)) = (&actor.idempotency, actor.user_id)
            && action == "create"
            && mark.entity == entity
        {
            exec(
                &mut *tx,
                "INSERT INTO idempotent_effects (user_id, key, entity, entity_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    V::I(user.get()),
                    V::T(mark.key.clone()),
                    V::T(entity.into()),
                    V::I(id),
                    V::T(now.into()),
                ],
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    code: "idempotency_key_in_progress",
                    field: None,
                },
                e => e,
            })?;
        }
        w.add_apart(
            "INSERT INTO audit_log (at, actor_id, actor_label, action, entity, entity_id, before_json, after_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                V::T(now.into()),
                V::OptI(actor.user_id.map(UserId::get)),
                V::T(actor.label.clone()),
                V::T(action.into()),
                V::T(entity.into()),
                V::I(id),
                V::OptT(before.map(Value::to_string)),
                V::OptT(after.map(Value::to_string)),
            ],
        );
        // Sequence values are handed out before commit, so on PostgreSQL concurrent
        // writers could commit event 11 before event 10 and a reader at cursor 11 would
        // skip 10. A lock held to commit, taken by the insert itself before the row (and
        // its id) is made, makes event ids commit in order. SQLite has one writer at a time
        // already.
        w.add_apart(
            if self.db.backend == Backend::Postgres {
                "INSERT INTO events (at, kind, entity, entity_id, payload) \
                 SELECT $1, $2, $3, $4, $5 FROM (SELECT pg_advisory_xact_lock(7220611)) AS l"
            } else {
                "INSERT INTO events (at, kind, entity, entity_id, payload) VALUES ($1, $2, $3, $4, $5)"
            },
            vec![
                V::T(now.into()),
                V::T(format!("{entity}.{action}")),
                V::T(entity.into()),
                V::I(id),
                V::T(json!({ "actor": actor.label, "after": after }).to_string()),
            ],
        );
        Ok(())
    }

    /// Timeline entries in bulk, rows of (customer, at, kind, touchpoint, ref, summary,
    /// actor): each with the parameters its summary gives, as [`Self::timeline_add`]
    /// writes one.
    pub(crate) async fn timeline_bulk(
        &self,
        tx: &mut AnyConnection,
        rows: Vec<Vec<V>>,
    ) -> Result<(), StoreError> {
        let rows: Vec<Vec<V>> = rows
            .into_iter()
            .map(|mut r| {
                let params = match (&r[2], &r[5]) {
                    (V::T(kind), V::T(summary)) => {
                        aftercare_app::timeline_model::params_of(kind, summary)
                    }
                    _ => None,
                };
                r.push(V::OptT(params.map(|p| p.to_string())));
                r
            })
            .collect();
        bulk_insert(
            tx,
            self.db.backend,
            "timeline",
            &[
                "customer_id",
                "at",
                "kind",
                "touchpoint",
                "ref_id",
                "summary",
                "actor_id",
                "params",
            ],
            &rows,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn timeline_add(
        &self,
        tx: &mut AnyConnection,
        customer_id: i64,
        at: &str,
        kind: &str,
        touchpoint: Option<&str>,
        ref_id: Option<i64>,
        summary: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let mut w = Writes::default();
        timeline_to(
            &mut w,
            customer_id,
            at,
            kind,
            touchpoint,
            ref_id,
            summary,
            actor,
        );
        w.run(self.db.backend, tx).await
    }

    /// Inserts one customer with its children, duplicate candidates, audit row and first
    /// timeline entry, in the caller's transaction.
    pub(crate) async fn insert_customer(
        &self,
        tx: &mut AnyConnection,
        actor: &Actor,
        d: &CustomerDraft,
        now: &str,
    ) -> Result<i64, StoreError> {
        let mut cols = customers::columns(d);
        // Set once, at creation: an edit of the profile does not carry it.
        cols.push(("external_ref", V::OptT(d.external_ref.clone())));
        let mut sql = Sql::new("INSERT INTO customers (");
        sql.push(&cols.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", "));
        sql.push(", created_at, updated_at) VALUES (");
        for (i, (_, v)) in cols.into_iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(v);
        }
        sql.push(", ")
            .bind(now)
            .push(", ")
            .bind(now)
            .push(") RETURNING id");
        let id = insert_id(&mut *tx, &sql.text, &sql.args)
            .await
            .map_err(|e| match e {
                StoreError::Conflict {
                    code: "already_exists",
                    ..
                } => StoreError::Conflict {
                    code: "ref_taken",
                    field: Some("external_ref".into()),
                },
                e => e,
            })?;
        let mut w = Writes::default();
        customers::write_children(&mut w, id, d);
        customers::duplicates_of(&mut w, id, d, now);
        let after = json!({ "name": d.name, "kind": d.kind.code(),
                "phones": d.phones.iter().map(|p| p.number.as_str()).collect::<Vec<_>>(),
                "emails": d.emails.iter().map(|e| e.address.as_str()).collect::<Vec<_>>() });
        self.log_to(
            &mut *tx,
            &mut w,
            actor,
            "create",
            "customer",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        timeline_to(
            &mut w,
            id,
            now,
            "created",
            d.source.map(|s| s.code()),
            Some(id),
            &d.name,
            actor,
        );
        w.run(self.db.backend, tx).await?;
        Ok(id)
    }

    /// Whether the customer exists; one whose personal information was erased is
    /// `Conflict(customer_erased)`: nothing new is recorded about them.
    pub(crate) async fn customer_exists(
        &self,
        tx: &mut AnyConnection,
        id: i64,
    ) -> Result<bool, StoreError> {
        let row: Option<(Option<String>,)> = fetch_opt(
            &mut *tx,
            "SELECT erased_at FROM customers WHERE id = $1",
            &[V::I(id)],
        )
        .await?;
        match row {
            None => Ok(false),
            Some((Some(_),)) => Err(StoreError::Conflict {
                code: "customer_erased",
                field: Some("customer_id".into()),
            }),
            Some((None,)) => Ok(true),
        }
    }
}

/// Adds a timeline entry to `w`, with the parameters its summary gives.
#[allow(clippy::too_many_arguments)]
pub(crate) fn timeline_to(
    w: &mut Writes,
    customer_id: i64,
    at: &str,
    kind: &str,
    touchpoint: Option<&str>,
    ref_id: Option<i64>,
    summary: &str,
    actor: &Actor,
) {
    w.add_apart(
        "INSERT INTO timeline (customer_id, at, kind, touchpoint, ref_id, summary, actor_id, params) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            V::I(customer_id),
            V::T(at.into()),
            V::T(kind.into()),
            V::OptT(touchpoint.map(str::to_string)),
            V::OptI(ref_id),
            V::T(summary.into()),
            V::OptI(actor.user_id.map(UserId::get)),
            V::OptT(aftercare_app::timeline_model::params_of(kind, summary).map(|p| p.to_string())),
        ],
    );
}

pub(crate) fn customer_json(c: &Customer) -> Value {
    serde_json::to_value(c).unwrap_or(Value::Null)
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRec {
    pub(crate) id: i64,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) lang: Option<String>,
    pub(crate) active: i64,
}

impl TryFrom<UserRec> for User {
    type Error = StoreError;

    fn try_from(u: UserRec) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId(u.id),
            role: Cells::of("users", u.id).code("role", &u.role)?,
            email: u.email,
            name: u.name,
            lang: u.lang,
            active: u.active != 0,
        })
    }
}

pub(crate) const USER_COLS: &str = "u.id, u.email, u.name, u.role, u.lang, u.active";

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct PolicyRec {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) return_days: i64,
    pub(crate) exchange_days: i64,
    pub(crate) repair_months: i64,
    pub(crate) repair_limit: i64,
    pub(crate) void_conditions: String,
}

impl TryFrom<PolicyRec> for Policy {
    type Error = StoreError;

    fn try_from(p: PolicyRec) -> Result<Self, StoreError> {
        let c = Cells::of("warranty_policies", p.id);
        Ok(Policy {
            void_conditions: customers::split_list(&p.void_conditions)
                .iter()
                .map(|v| c.code("void_conditions", v))
                .collect::<Result<_, _>>()?,
            id: PolicyId(p.id),
            name: p.name,
            return_days: p.return_days,
            exchange_days: p.exchange_days,
            repair_months: p.repair_months,
            repair_limit: p.repair_limit,
        })
    }
}

pub(crate) fn sort_spec(
    sort: Option<&str>,
    allowed: &[(&str, &'static str, bool)],
    default: usize,
) -> Result<(&'static str, bool), StoreError> {
    match sort.filter(|s| !s.is_empty()) {
        None => Ok((allowed[default].1, allowed[default].2)),
        Some(s) => allowed
            .iter()
            .find(|(k, _, _)| *k == s)
            .map(|(_, col, desc)| (*col, *desc))
            .ok_or(StoreError::Conflict {
                code: "sort_unknown",
                field: Some("sort".into()),
            }),
    }
}

/// Adds `AND (col, id) > (cursor)` (or `<` when descending) and the matching ORDER BY.
pub(crate) fn keyset(
    sql: &mut Sql,
    col: &str,
    desc: bool,
    cursor: Option<&str>,
    limit: u32,
) -> Result<(), StoreError> {
    if let Some(c) = cursor.filter(|c| !c.is_empty()) {
        let (v, id) = decode_cursor(c)?;
        sql.push(&format!(
            " AND ({col}, x_id) {} (",
            if desc { "<" } else { ">" }
        ));
        sql.bind(v).push(", ").bind(id).push(")");
    }
    let dir = if desc { "DESC" } else { "ASC" };
    sql.push(&format!(" ORDER BY {col} {dir}, x_id {dir} LIMIT "))
        .bind(limit as i64 + 1);
    Ok(())
}

pub(crate) fn next_page<T>(
    mut items: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> (String, i64),
) -> Page<T> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|l| {
            let (s, i) = key(l);
            encode_cursor(&s, i)
        })
    } else {
        None
    };
    Page { items, next_cursor }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        scalar(&self.db.read, "SELECT 1", &[]).await.map(|_| ())
    }
}

/// Compares JSON loosely for change summaries: a list of objects and a list of their
/// values count as the same when they name the same things.
pub(crate) fn simplify(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| match x {
                    Value::Object(m) => m
                        .get("number")
                        .or_else(|| m.get("address"))
                        .cloned()
                        .unwrap_or_else(|| x.clone()),
                    _ => x.clone(),
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}
