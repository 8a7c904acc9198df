//! The `PrivacyStore` port over SQL: a customer's personal information exported and
//! erased on request (PIPL).
//!
//! Both work over one set of record ids, written once as subqueries: the customer and
//! the records merged into them, their requests, orders, items and feedback.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::ports::{Actor, ErasedRows, ErasureReport, PrivacyStore, StoreResult, stamp};
use aftercare_domain::ids::CustomerId;
use async_trait::async_trait;
use base64::Engine;
use serde_json::{Map, Value, json};
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{AnyConnection, Column, Row};

/// The customer ($1) and every record merged into them.
const C: &str = "(SELECT id FROM customers WHERE id = $1 OR merged_into = $1)";

/// A subquery over the customer's set, `{C}` standing for it.
fn of(sql: &str) -> String {
    sql.replace("{C}", C)
}

fn requests() -> String {
    of("(SELECT id FROM requests WHERE customer_id IN {C})")
}
fn orders() -> String {
    of("(SELECT id FROM orders WHERE customer_id IN {C})")
}
fn assets() -> String {
    of("(SELECT id FROM assets WHERE customer_id IN {C})")
}
fn feedback() -> String {
    format!(
        "(SELECT id FROM feedback_items WHERE customer_id IN {C} OR request_id IN {})",
        requests()
    )
}
/// Addresses mail to the customer went to: their emails and portal sign-in.
fn addresses() -> String {
    of(
        "(SELECT address FROM customer_emails WHERE customer_id IN {C} \
        UNION SELECT match_key FROM customer_emails WHERE customer_id IN {C} \
        UNION SELECT email FROM portal_accounts WHERE customer_id IN {C})",
    )
}

/// The records about the customer, by entity as the audit and change logs name them.
fn entities() -> Vec<(&'static str, String)> {
    vec![
        ("customer", C.to_owned()),
        ("customer_tier", C.to_owned()),
        ("customer_expert", C.to_owned()),
        (
            "portal_account",
            of("(SELECT id FROM portal_accounts WHERE customer_id IN {C})"),
        ),
        ("request", requests()),
        ("order", orders()),
        ("asset", assets()),
        (
            "asset_event",
            format!(
                "(SELECT id FROM asset_events WHERE asset_id IN {})",
                assets()
            ),
        ),
        ("feedback", feedback()),
        (
            "interaction",
            of("(SELECT id FROM interactions WHERE customer_id IN {C})"),
        ),
        (
            "visit",
            format!("(SELECT id FROM visits WHERE request_id IN {})", requests()),
        ),
        (
            "rma",
            format!("(SELECT id FROM rmas WHERE request_id IN {})", requests()),
        ),
        (
            "survey",
            of("(SELECT id FROM surveys WHERE customer_id IN {C})"),
        ),
        (
            "referral",
            of("(SELECT id FROM referrals WHERE referrer_id IN {C} OR referred_id IN {C})"),
        ),
    ]
}

/// The rows an export holds: (table, condition).
fn export_tables() -> Vec<(&'static str, String)> {
    let by_customer = |t: &'static str| (t, of("customer_id IN {C}"));
    let by_request = |t: &'static str| (t, format!("request_id IN {}", requests()));
    let audit = entities()
        .iter()
        .map(|(e, ids)| format!("(entity = '{e}' AND entity_id IN {ids})"))
        .collect::<Vec<_>>()
        .join(" OR ");
    vec![
        ("customers", format!("id IN {C}")),
        by_customer("customer_phones"),
        by_customer("customer_emails"),
        by_customer("customer_addresses"),
        by_customer("customer_family"),
        by_customer("customer_dates"),
        by_customer("customer_tags"),
        by_customer("portal_accounts"),
        by_customer("interactions"),
        by_customer("timeline"),
        by_customer("orders"),
        ("order_items", format!("order_id IN {}", orders())),
        by_customer("assets"),
        ("asset_events", format!("asset_id IN {}", assets())),
        by_customer("requests"),
        by_request("request_messages"),
        by_request("attachments"),
        by_request("request_history"),
        by_request("visits"),
        by_request("rmas"),
        (
            "outbox",
            format!(
                "request_id IN {} OR recipient IN {}",
                requests(),
                addresses()
            ),
        ),
        ("portal_signups", format!("email IN {}", addresses())),
        ("feedback_items", format!("id IN {}", feedback())),
        (
            "feedback_corrections",
            format!("feedback_id IN {}", feedback()),
        ),
        by_customer("surveys"),
        by_customer("campaign_members"),
        by_customer("offer_responses"),
        by_customer("service_contracts"),
        by_customer("vouchers"),
        by_customer("campaign_journeys"),
        by_customer("campaign_sends"),
        by_customer("portal_messages"),
        by_customer("callback_tasks"),
        by_customer("customer_values"),
        by_customer("loyalty_history"),
        ("referrals", of("referrer_id IN {C} OR referred_id IN {C}")),
        by_customer("customer_experts"),
        ("duplicate_candidates", of("a IN {C} OR b IN {C}")),
        ("audit_log", audit),
    ]
}

/// Columns an export leaves out: they hold secrets, not information about the person.
fn secret(column: &str) -> bool {
    column.ends_with("_hash") || column == "csrf"
}

/// One row as a JSON object of its columns.
fn row_json(row: &AnyRow) -> Result<Map<String, Value>, StoreError> {
    let mut out = Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let name = col.name();
        if secret(name) {
            continue;
        }
        let bad = |e: sqlx::Error| StoreError::Backend(format!("export: {name}: {e}"));
        let v = match col.type_info().kind() {
            AnyTypeInfoKind::Null => Value::Null,
            AnyTypeInfoKind::Bool => {
                json!(row.try_get_unchecked::<Option<bool>, _>(i).map_err(bad)?)
            }
            AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
                json!(row.try_get_unchecked::<Option<i64>, _>(i).map_err(bad)?)
            }
            AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => {
                json!(row.try_get_unchecked::<Option<f64>, _>(i).map_err(bad)?)
            }
            AnyTypeInfoKind::Text => {
                json!(row.try_get_unchecked::<Option<String>, _>(i).map_err(bad)?)
            }
            AnyTypeInfoKind::Blob => json!(
                row.try_get_unchecked::<Option<Vec<u8>>, _>(i)
                    .map_err(bad)?
                    .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
            ),
        };
        out.insert(name.to_owned(), v);
    }
    Ok(out)
}

/// A change-log payload stripped to what consumers route by: the ids it names.
fn payload_ids(payload: &Value, actor: &str) -> Value {
    let ids: Map<String, Value> = payload["after"]
        .as_object()
        .map(|after| {
            after
                .iter()
                .filter(|(k, v)| (*k == "id" || k.ends_with("_id")) && v.is_i64())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    json!({ "actor": actor, "after": ids, "erased": true })
}

async fn ids(tx: &mut AnyConnection, sql: &str, id: i64) -> Result<Vec<i64>, StoreError> {
    let rows: Vec<(i64,)> = fetch_all(&mut *tx, sql, &[V::I(id)]).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

#[async_trait]
impl PrivacyStore for SqlStore {
    async fn export_personal_data(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        note: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<Map<String, Value>> {
        let id = customer_id.get();
        let now = &stamp(now);
        // Read and log in one transaction: the export is what the log says was handed out.
        let mut tx = self.begin().await?;
        if scalar(
            &mut *tx,
            "SELECT id FROM customers WHERE id = $1",
            &[V::I(id)],
        )
        .await?
        .is_none()
        {
            return Err(StoreError::NotFound);
        }
        let mut tables = Map::new();
        for (table, cond) in export_tables() {
            let rows: Vec<AnyRow> = sqlx::query_with(
                &format!("SELECT * FROM {table} WHERE {cond} ORDER BY 1"),
                args(&[V::I(id)]),
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(backend_err)?;
            let rows = rows
                .iter()
                .map(|r| row_json(r).map(Value::Object))
                .collect::<Result<Vec<_>, _>>()?;
            tables.insert(table.to_owned(), Value::Array(rows));
        }
        self.log(
            &mut tx,
            actor,
            "export_personal_data",
            "customer",
            id,
            None,
            Some(&json!({ "note": note })),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        let mut out = Map::new();
        out.insert("format".into(), json!("aftercare-personal-data/1"));
        out.insert("customer_id".into(), json!(id));
        out.insert("exported_at".into(), json!(now));
        out.insert("exported_by".into(), json!(actor.label));
        out.insert("tables".into(), Value::Object(tables));
        Ok(out)
    }

    async fn erase_customer(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        note: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<ErasureReport> {
        let id = customer_id.get();
        let now = &stamp(now);
        let anon = format!("#{id}");
        let mut tx = self.begin().await?;
        let Some((merged_into, erased_at)) = fetch_opt::<_, (Option<i64>, Option<String>)>(
            &mut *tx,
            "SELECT merged_into, erased_at FROM customers WHERE id = $1",
            &[V::I(id)],
        )
        .await?
        else {
            return Err(StoreError::NotFound);
        };
        if merged_into.is_some() {
            return Err(StoreError::Conflict {
                code: "customer_merged",
                field: None,
            });
        }
        if erased_at.is_some() {
            return Err(StoreError::Conflict {
                code: "customer_erased",
                field: None,
            });
        }
        // Who the customer was in the logs before their contacts go: portal sign-ins act
        // as `portal:<email>`.
        let labels: Vec<(String,)> = fetch_all(
            &mut *tx,
            &of("SELECT 'portal:' || email FROM portal_accounts WHERE customer_id IN {C}"),
            &[V::I(id)],
        )
        .await?;
        let labels: Vec<String> = labels.into_iter().map(|l| l.0).collect();
        // The records whose change-log events the search index and other consumers must
        // see again, taken before anything changes.
        let requests_touched = ids(
            &mut tx,
            &format!(
                "SELECT id FROM requests WHERE id IN {} ORDER BY id",
                requests()
            ),
            id,
        )
        .await?;
        let feedback_touched = ids(
            &mut tx,
            &format!(
                "SELECT id FROM feedback_items WHERE id IN {} ORDER BY id",
                feedback()
            ),
            id,
        )
        .await?;

        // Audit rows and change-log payloads about the customer keep their ids only.
        let mut report = ErasureReport {
            customer_id,
            tables: Vec::new(),
        };
        let mut audit_rows = 0;
        let mut event_rows = 0;
        for (entity, ids) in entities() {
            audit_rows += exec(
                &mut *tx,
                &format!(
                    "UPDATE audit_log SET before_json = NULL, after_json = NULL \
                     WHERE entity = '{entity}' AND entity_id IN {ids} \
                     AND action <> 'export_personal_data'"
                ),
                &[V::I(id)],
            )
            .await?;
            let events: Vec<(i64, String)> = fetch_all(
                &mut *tx,
                &format!("SELECT id, payload FROM events WHERE entity = '{entity}' AND entity_id IN {ids}"),
                &[V::I(id)],
            )
            .await?;
            for (event, payload) in events {
                let payload: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
                let by = payload["actor"].as_str().unwrap_or_default();
                let by = if labels.iter().any(|l| l == by) {
                    anon.as_str()
                } else {
                    by
                };
                exec(
                    &mut *tx,
                    "UPDATE events SET payload = $1 WHERE id = $2",
                    &[payload_ids(&payload, by).to_string().into(), V::I(event)],
                )
                .await?;
                event_rows += 1;
            }
        }
        for label in &labels {
            audit_rows += exec(
                &mut *tx,
                "UPDATE audit_log SET actor_label = $1 WHERE actor_label = $2",
                &[(&anon).into(), label.into()],
            )
            .await?;
        }
        report.tables.push(ErasedRows {
            table: "audit_log".into(),
            rows: audit_rows,
        });
        report.tables.push(ErasedRows {
            table: "events".into(),
            rows: event_rows,
        });

        let r = requests();
        let steps: Vec<(&str, String, Vec<V>)> = vec![
            (
                "outbox",
                format!(
                    "DELETE FROM outbox WHERE request_id IN {r} OR recipient IN {}",
                    addresses()
                ),
                vec![],
            ),
            (
                "portal_signups",
                format!("DELETE FROM portal_signups WHERE email IN {}", addresses()),
                vec![],
            ),
            (
                "portal_sessions",
                of(
                    "DELETE FROM portal_sessions WHERE account_id IN (SELECT id FROM portal_accounts WHERE customer_id IN {C})",
                ),
                vec![],
            ),
            (
                "portal_resets",
                of(
                    "DELETE FROM portal_resets WHERE account_id IN (SELECT id FROM portal_accounts WHERE customer_id IN {C})",
                ),
                vec![],
            ),
            (
                "portal_accounts",
                of("DELETE FROM portal_accounts WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "customer_phones",
                of("DELETE FROM customer_phones WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "customer_emails",
                of("DELETE FROM customer_emails WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "customer_addresses",
                of("DELETE FROM customer_addresses WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "customer_family",
                of("DELETE FROM customer_family WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "customer_dates",
                of("DELETE FROM customer_dates WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "customer_tags",
                of("DELETE FROM customer_tags WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "customer_experts",
                of("DELETE FROM customer_experts WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "duplicate_candidates",
                of("DELETE FROM duplicate_candidates WHERE a IN {C} OR b IN {C}"),
                vec![],
            ),
            (
                "duplicate_dismissals",
                of("DELETE FROM duplicate_dismissals WHERE a IN {C} OR b IN {C}"),
                vec![],
            ),
            (
                "customers",
                of(
                    "UPDATE customers SET name = '#' || CAST(id AS TEXT), name_sort = '#' || CAST(id AS TEXT), \
                    company = NULL, title = NULL, birthday = NULL, habits = NULL, preferences = NULL, \
                    notes = NULL, consent = '', tags = '', primary_phone = NULL, primary_email = NULL, \
                    external_ref = NULL, erased_at = $2, updated_at = $2, version = version + 1 \
                    WHERE id IN {C}",
                ),
                vec![now.into()],
            ),
            (
                "interactions",
                of("UPDATE interactions SET subject = '', body = NULL WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "timeline",
                of("UPDATE timeline SET summary = '' WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "orders",
                of(
                    "UPDATE orders SET payment_terms = NULL, special_needs = NULL WHERE customer_id IN {C}",
                ),
                vec![],
            ),
            (
                "assets",
                of("UPDATE assets SET location = NULL WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "asset_events",
                format!(
                    "UPDATE asset_events SET note = NULL WHERE asset_id IN {}",
                    assets()
                ),
                vec![],
            ),
            (
                "vouchers",
                of("UPDATE vouchers SET reason = '' WHERE customer_id IN {C}"),
                vec![],
            ),
            // Campaigns stop for them; what their messages and call-backs said goes.
            (
                "campaign_journeys",
                of(
                    "UPDATE campaign_journeys SET fields = '{}', ended_at = COALESCE(ended_at, $2), \
                     state = CASE WHEN state = 'active' THEN 'stopped' ELSE state END WHERE customer_id IN {C}",
                ),
                vec![now.into()],
            ),
            (
                "portal_messages",
                of("UPDATE portal_messages SET subject = '', body = '' WHERE customer_id IN {C}"),
                vec![],
            ),
            (
                "callback_tasks",
                of(
                    "UPDATE callback_tasks SET phone = '', script = '', note = NULL, \
                     result = COALESCE(result, 'cancelled'), done_at = COALESCE(done_at, $2), \
                     version = version + 1 WHERE customer_id IN {C}",
                ),
                vec![now.into()],
            ),
            (
                "requests",
                of(
                    "UPDATE requests SET subject = '', description = '', rating_comment = NULL WHERE customer_id IN {C}",
                ),
                vec![],
            ),
            (
                "request_messages",
                format!(
                    "UPDATE request_messages SET body = '', author_label = CASE WHEN kind = 'customer' THEN $2 ELSE author_label END WHERE request_id IN {r}"
                ),
                vec![(&anon).into()],
            ),
            (
                "attachments",
                format!("DELETE FROM attachments WHERE request_id IN {r}"),
                vec![],
            ),
            (
                "request_history",
                format!(
                    "UPDATE request_history SET actor_label = $2 WHERE request_id IN {r} AND actor_label LIKE 'portal:%'"
                ),
                vec![(&anon).into()],
            ),
            (
                "visits",
                format!(
                    "UPDATE visits SET address = NULL, confirmed_by = NULL WHERE request_id IN {r}"
                ),
                vec![],
            ),
            (
                "rmas",
                format!("UPDATE rmas SET reason = '' WHERE request_id IN {r}"),
                vec![],
            ),
            (
                "mail_received",
                format!("DELETE FROM mail_received WHERE request_id IN {r}"),
                vec![],
            ),
            (
                "notifications",
                format!("UPDATE notifications SET detail = NULL WHERE request_id IN {r}"),
                vec![],
            ),
            (
                "feedback_items",
                format!(
                    "UPDATE feedback_items SET body = '', keywords = NULL, topic = NULL, evidence = NULL WHERE id IN {}",
                    feedback()
                ),
                vec![],
            ),
            (
                "surveys",
                of(
                    "UPDATE surveys SET sent_to = NULL, answers = NULL, comment = NULL WHERE customer_id IN {C}",
                ),
                vec![],
            ),
            (
                "referrals",
                of(
                    "UPDATE referrals SET note = NULL WHERE referrer_id IN {C} OR referred_id IN {C}",
                ),
                vec![],
            ),
        ];
        for (table, sql, extra) in steps {
            let mut vals = vec![V::I(id)];
            vals.extend(extra);
            let rows = exec(&mut *tx, &sql, &vals).await?;
            report.tables.push(ErasedRows {
                table: table.into(),
                rows,
            });
        }

        // The change log names what changed, so the search index and the other
        // consumers read these records again, now without the text.
        let erased = Some(json!({ "erased": true }));
        for rid in requests_touched {
            self.log(
                &mut tx,
                actor,
                "erase",
                "request",
                rid,
                None,
                erased.as_ref(),
                now,
            )
            .await?;
        }
        for fid in feedback_touched {
            self.log(
                &mut tx,
                actor,
                "erase",
                "feedback",
                fid,
                None,
                erased.as_ref(),
                now,
            )
            .await?;
        }
        self.log(
            &mut tx,
            actor,
            "erase",
            "customer",
            id,
            None,
            Some(&json!({ "note": note, "tables": report.tables })),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        if self.db.backend == Backend::Sqlite {
            // The log of pages still holds the rows as they were: write it into the
            // database and empty it. Readers in the middle of a transaction can hold it
            // back; the next checkpoint then finishes the job.
            if let Err(e) = exec(&self.db.write, "PRAGMA wal_checkpoint(TRUNCATE)", &[]).await {
                tracing::warn!(error = %e, "erasure: checkpoint");
            }
        }
        Ok(report)
    }
}
