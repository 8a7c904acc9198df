//! The `CustomerStore` port over SQL: customers, their timeline and contacts, duplicates and merges, lookups by email.

use crate::customer_rows::{self as customers, ROW_COLS, RowRec};
use crate::db::*;
use crate::store::SqlStore;
use crate::store::*;
use aftercare_app::StoreError;
use aftercare_app::input::*;
use aftercare_app::model::Page;
use aftercare_app::model::*;
use aftercare_app::ports::*;
use aftercare_domain::contact::PhoneNumber;
use aftercare_domain::customer::CustomerDraft;
use aftercare_domain::ids::*;
use async_trait::async_trait;
use serde_json::{Value, json};

#[async_trait]
impl CustomerStore for SqlStore {
    async fn create_customers(
        &self,
        actor: &Actor,
        drafts: &[CustomerDraft],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<CustomerId>> {
        self.write_customers(actor, drafts, None, now).await
    }

    async fn update_customer(
        &self,
        actor: &Actor,
        id: CustomerId,
        d: &CustomerDraft,
        version: Option<i64>,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let before = customers::load(&self.db.read, id.get())
            .await?
            .ok_or(StoreError::NotFound)?;
        if before.merged_into.is_some() {
            return Err(StoreError::Conflict {
                code: "customer_merged",
                field: None,
            });
        }
        if before.erased_at.is_some() {
            return Err(StoreError::Conflict {
                code: "customer_erased",
                field: None,
            });
        }
        let (me, actor, now, d, before) = (
            self.clone(),
            actor.clone(),
            now.to_string(),
            d.clone(),
            before.clone(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, d, before) = (
                    me.clone(),
                    actor.clone(),
                    now.clone(),
                    d.clone(),
                    before.clone(),
                );
                Box::pin(async move {
                    let (actor, now) = (&actor, now.as_str());
                    let d = &d;
                    let before = &before;
                    let cols = customers::columns(d);
                    let mut sql = Sql::new("UPDATE customers SET ");
                    for (c, v) in cols {
                        sql.push(c).push(" = ").bind(v).push(", ");
                    }
                    sql.push("updated_at = ")
                        .bind(now)
                        .push(", version = version + 1 WHERE id = ")
                        .bind(id);
                    if let Some(v) = version {
                        sql.push(" AND version = ").bind(v);
                    }
                    let n = exec(&mut *tx, &sql.text, &sql.args).await?;
                    if n == 0 {
                        return Err(StoreError::Conflict {
                            code: "stale_version",
                            field: Some("version".into()),
                        });
                    }
                    let mut w = Writes::default();
                    customers::delete_children(&mut w, id.get());
                    customers::write_children(&mut w, id.get(), d);
                    customers::duplicates_of(&mut w, id.get(), d, now);
                    let before_json = customer_json(before);
                    // The new state for the audit row: the stored profile with the draft written over it.
                    let after = {
                        let mut a = before_json.clone();
                        let cols = customers::columns(d);
                        if let Value::Object(m) = &mut a {
                            for (c, v) in cols {
                                let v = match v {
                                    V::T(s) => json!(s),
                                    V::OptT(s) => json!(s),
                                    V::I(i) => json!(i),
                                    V::OptI(i) => json!(i),
                                    V::B(b) => json!(b.len()),
                                    V::F(f) => json!(f),
                                    V::OptF(f) => json!(f),
                                };
                                m.insert(c.to_string(), v);
                            }
                            m.insert(
                                "phones".into(),
                                json!(
                                    d.phones
                                        .iter()
                                        .map(|p| p.number.as_str())
                                        .collect::<Vec<_>>()
                                ),
                            );
                            m.insert(
                                "emails".into(),
                                json!(
                                    d.emails
                                        .iter()
                                        .map(|e| e.address.as_str())
                                        .collect::<Vec<_>>()
                                ),
                            );
                            m.insert("tags".into(), json!(d.tags));
                            m.insert(
                                "consent".into(),
                                json!(d.consent.iter().map(|c| c.code()).collect::<Vec<_>>()),
                            );
                        }
                        a
                    };
                    let changed: Vec<String> = match (&before_json, &after) {
                        (Value::Object(b), Value::Object(a)) => {
                            let mut keys: Vec<String> = a
                                .iter()
                                .filter(|(k, v)| {
                                    !matches!(
                                        k.as_str(),
                                        "updated_at"
                                            | "version"
                                            | "name_sort"
                                            | "primary_phone"
                                            | "primary_email"
                                            | "city"
                                    ) && b
                                        .get(*k)
                                        .map(|bv| simplify(bv) != simplify(v))
                                        .unwrap_or(true)
                                })
                                .map(|(k, _)| k.clone())
                                .collect();
                            keys.sort();
                            keys
                        }
                        _ => vec![],
                    };
                    me.log_to(
                        &mut *tx,
                        &mut w,
                        actor,
                        "update",
                        "customer",
                        id.get(),
                        Some(&before_json),
                        Some(&after),
                        now,
                    )
                    .await?;
                    timeline_to(
                        &mut w,
                        id.get(),
                        now,
                        "change",
                        None,
                        Some(id.get()),
                        &changed.join(", "),
                        actor,
                    );
                    w.run(me.db.backend, tx).await
                })
            })
            .await
    }

    async fn customer(&self, id: CustomerId) -> StoreResult<Option<Customer>> {
        customers::load(&self.db.read, id.get()).await
    }

    async fn customers(&self, q: &CustomerQuery) -> StoreResult<Page<CustomerRow>> {
        let limit = q.limit.unwrap_or(50);
        let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
        // What the search looks like decides the index: email, phone, serial or name.
        let mut sql = Sql::new(&format!(
            "SELECT * FROM (SELECT {ROW_COLS}, c.id AS x_id FROM customers c WHERE c.merged_into IS NULL"
        ));
        let (col, desc) = sort_spec(
            q.sort.as_deref(),
            &[
                ("name", "name_sort", false),
                ("-name", "name_sort", true),
                ("created", "created_at", false),
                ("-created", "created_at", true),
            ],
            0,
        )?;
        if let Some(s) = search {
            // The start of an address without its `@`: characters pinyin never has
            // (`nana.ouyang`, `li_wei`, `wang88`) make it one.
            let address_start = s.is_ascii()
                && !s.contains(char::is_whitespace)
                && (s.contains(['.', '_', '-', '+'])
                    || (s.chars().any(|c| c.is_ascii_digit())
                        && s.chars().any(|c| c.is_ascii_alphabetic())));
            // Customers with an address that starts so (the `match_key` index, in range).
            let by_address = |sql: &mut Sql| {
                let k = s.to_lowercase();
                sql.push(
                    " AND c.id IN (SELECT customer_id FROM customer_emails WHERE match_key >= ",
                )
                .bind(k.clone())
                .push(" AND match_key < ")
                .bind(prefix_end(&k))
                .push(")");
            };
            if s.contains('@') {
                by_address(&mut sql);
            } else if let Some(cid) = match aftercare_domain::catalog::parse_serial(s) {
                // A serial number, when one matches exactly (serials may be all digits).
                Ok(serial) if serial.chars().any(|c| c.is_ascii_digit()) => {
                    scalar(
                        &self.db.read,
                        "SELECT customer_id FROM assets WHERE serial = $1",
                        &[serial.into()],
                    )
                    .await?
                }
                _ => None,
            } {
                sql.push(" AND c.id = ").bind(cid);
            } else if let Ok(p) = PhoneNumber::parse(s) {
                sql.push(" AND c.id IN (SELECT customer_id FROM customer_phones WHERE number = ")
                    .bind(p.as_str())
                    .push(")");
            } else if let Some(prefix) = PhoneNumber::search_prefix(s) {
                sql.push(" AND c.id IN (SELECT customer_id FROM customer_phones WHERE number >= ")
                    .bind(prefix.clone())
                    .push(" AND number < ")
                    .bind(prefix_end(&prefix))
                    .push(")");
            } else if address_start {
                by_address(&mut sql);
            } else {
                // A name: its pinyin range uses the sort index, so results come in pinyin
                // order; for Chinese input the name itself must also start with it.
                // Pinyin run together (`zhangchao`) is tried as each way of reading it.
                let keys = if s.is_ascii() {
                    aftercare_domain::customer::pinyin_readings(s)
                } else {
                    vec![aftercare_domain::customer::sort_key(s)]
                };
                sql.push(" AND (");
                for (i, key) in keys.iter().enumerate() {
                    let key = if s.is_ascii() {
                        key.trim_end().to_string()
                    } else {
                        key.clone()
                    };
                    sql.push(if i == 0 { "(" } else { " OR (" })
                        .push("c.name_sort >= ")
                        .bind(key.clone())
                        .push(" AND c.name_sort < ")
                        .bind(prefix_end(&key))
                        .push(")");
                }
                sql.push(")");
                if !s.is_ascii() {
                    sql.push(" AND c.name >= ")
                        .bind(s)
                        .push(" AND c.name < ")
                        .bind(prefix_end(s));
                }
            }
        }
        if let Some(k) = q.kind.as_deref().filter(|s| !s.is_empty()) {
            sql.push(" AND c.kind = ").bind(k);
        }
        if let Some(t) = q.tag.as_deref().filter(|s| !s.is_empty()) {
            sql.push(" AND c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ")
                .bind(t)
                .push(")");
        }
        if let Some(city) = q.city.as_deref().filter(|s| !s.is_empty()) {
            sql.push(" AND c.city = ").bind(city);
        }
        sql.push(") t WHERE 1 = 1");
        keyset(&mut sql, col, desc, q.cursor.as_deref(), limit)?;
        let rows: Vec<RowRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        let page = next_page(rows, limit, |r| {
            let v = match col {
                "name" => r.name.clone(),
                "created_at" => r.created_at.clone(),
                _ => r.name_sort.clone(),
            };
            (v, r.id)
        });
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }

    async fn timeline(
        &self,
        customer_id: CustomerId,
        only: Option<&OutletEntries>,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<TimelineEntry>> {
        let sql = timeline_sql(customer_id, only, cursor, limit)?;
        let rows: Vec<TimelineRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        Ok(timeline_from(rows, limit))
    }

    async fn customer_360_reads(
        &self,
        id: CustomerId,
        only: Option<&OutletEntries>,
        cursor: Option<&str>,
        with_orders: bool,
    ) -> StoreResult<Option<Reads360>> {
        const TIMELINE: u32 = 50;
        // A cursor that does not decode is refused, but a missing customer is missing
        // first, as when the customer was read on their own.
        let timeline = match timeline_sql(id, only, cursor, TIMELINE) {
            Ok(sql) => sql,
            Err(e) => {
                return match customers::load(&self.db.read, id.get()).await? {
                    None => Ok(None),
                    Some(_) => Err(e),
                };
            }
        };
        let [customer, lists] = customers::load_sql(id.get());
        let [items, archives] = crate::orders::assets_sql(id);
        let mut stmts = vec![
            customer,
            lists,
            items,
            archives,
            crate::orders::customer_policies_sql(id),
            timeline,
        ];
        let orders = if with_orders {
            let (sql, col, limit) = crate::orders::orders_sql(&OrderQuery {
                customer_id: Some(id),
                limit: Some(50),
                ..Default::default()
            })?;
            stmts.push(sql);
            Some((col, limit))
        } else {
            None
        };
        let mut sets = fetch_sets(self.db.backend, &self.db.read, stmts).await?;
        let Some(c) = sets.next::<customers::CustomerRec>()?.pop() else {
            return Ok(None);
        };
        let customer = customers::from_rows(c, sets.next()?)?;
        let assets = crate::orders::assets_from(sets.next()?, sets.next()?)?;
        let policies = crate::orders::policies_from(sets.next()?)?;
        let timeline = timeline_from(sets.next()?, TIMELINE);
        let orders = match orders {
            Some((col, limit)) => crate::orders::orders_from(sets.next()?, col, limit)?.items,
            None => vec![],
        };
        Ok(Some(Reads360 {
            customer,
            assets,
            policies,
            orders,
            timeline,
        }))
    }

    async fn customer_page_reads(&self, id: CustomerId) -> StoreResult<PageReads> {
        use crate::{care, feedback, offers, value};
        let stmts = vec![
            value::customer_tier_sql(id),
            value::customer_value_sql(id),
            value::value_settings_sql(),
            value::stage_history_sql(id),
            value::value_model_sql(),
            feedback::expert_sql(id),
            offers::offers_sql(true),
            offers::responses_sql(id),
            care::schedules_sql(),
            care::contracts_sql(Some(id), None),
            care::vouchers_of_sql(id),
        ];
        let mut sets = fetch_sets(self.db.backend, &self.db.read, stmts).await?;
        let tier = sets
            .next::<value::TierRec>()?
            .pop()
            .map(|r| value::tier_from(id, r))
            .transpose()?;
        let value = sets
            .next::<value::ValueRec>()?
            .pop()
            .map(value::value_from)
            .transpose()?;
        let value_settings = sets.next::<value::SettingsRec>()?.pop().map(|r| r.settings);
        let stages = value::stages_from(sets.next()?)?;
        let model = sets
            .next::<value::ModelRec>()?
            .pop()
            .map(value::model_from)
            .transpose()?;
        let expert = sets
            .next::<feedback::ExpertRec>()?
            .pop()
            .map(|r| (r.field, r.since));
        Ok(PageReads {
            tier,
            value,
            value_settings,
            stages,
            model,
            expert,
            offers: offers::offers_from(sets.next()?)?,
            offer_responses: offers::responses_from(sets.next()?)?,
            schedules: care::schedules_from(sets.next()?),
            contracts: care::contracts_from(sets.next()?)?,
            vouchers: care::vouchers_from(sets.next()?)?,
        })
    }

    async fn add_interactions(
        &self,
        actor: &Actor,
        items: &[(CustomerId, InteractionDraft)],
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<i64>> {
        let now = &aftercare_app::ports::stamp(now);
        let (me, actor, now, items) =
            (self.clone(), actor.clone(), now.to_string(), items.to_vec());
        self.db
            .write_job(move |tx| {
                let (me, actor, now, items) = (me.clone(), actor.clone(), now.clone(), items.clone());
                Box::pin(async move {
                let (actor, now) = (&actor, now.as_str());
                let items = items.as_slice();
        let mut ids = Vec::with_capacity(items.len());
        for (customer_id, d) in items {
            let customer_id = *customer_id;
            if !me.customer_exists(&mut *tx, customer_id.get()).await? {
                return Err(StoreError::NotFound);
            }
            let id = insert_id(
                &mut *tx,
                "INSERT INTO interactions (customer_id, touchpoint, direction, subject, body, at, user_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[V::I(customer_id.get()), d.touchpoint.code().into(), d.direction.into(), (&d.subject).into(), (&d.body).into(), now.into(), V::OptI(actor.user_id.map(UserId::get))],
            )
            .await?;
            let after = json!({"customer_id": customer_id, "touchpoint": d.touchpoint.code(), "direction": d.direction, "subject": d.subject});
            me.log(
                &mut *tx,
                actor,
                "create",
                "interaction",
                id,
                None,
                Some(&after),
                now,
            )
            .await?;
            me.timeline_add(
                &mut *tx,
                customer_id.get(),
                now,
                "interaction",
                Some(d.touchpoint.code()),
                Some(id),
                &d.subject,
                actor,
            )
            .await?;
            ids.push(id);
        }
        Ok(ids)
                })
            })
            .await
    }

    async fn duplicates(&self, limit: u32) -> StoreResult<Vec<DuplicatePair>> {
        #[derive(sqlx::FromRow)]
        struct Q {
            a: i64,
            b: i64,
            reason: String,
            value: String,
        }
        let pairs: Vec<Q> = fetch_all(
            &self.db.read,
            "SELECT d.a, d.b, d.reason, d.value FROM duplicate_candidates d \
             WHERE NOT EXISTS (SELECT 1 FROM duplicate_dismissals x WHERE x.a = d.a AND x.b = d.b) \
             AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id IN (d.a, d.b) AND c.merged_into IS NOT NULL) \
             AND ( \
               (d.reason = 'phone' \
                AND EXISTS (SELECT 1 FROM customer_phones p WHERE p.customer_id = d.a AND p.number = d.value) \
                AND EXISTS (SELECT 1 FROM customer_phones p WHERE p.customer_id = d.b AND p.number = d.value)) \
               OR (d.reason = 'email' \
                AND EXISTS (SELECT 1 FROM customer_emails e WHERE e.customer_id = d.a AND e.match_key = d.value) \
                AND EXISTS (SELECT 1 FROM customer_emails e WHERE e.customer_id = d.b AND e.match_key = d.value))) \
             ORDER BY d.b DESC, d.a LIMIT $1",
            &[V::I(limit as i64 * 2)],
        )
        .await?;
        let mut out: Vec<DuplicatePair> = Vec::new();
        for r in pairs {
            if out
                .iter()
                .any(|p| p.a.id == CustomerId(r.a) && p.b.id == CustomerId(r.b))
            {
                continue;
            }
            let row = |id: i64| async move {
                fetch_opt::<_, RowRec>(
                    &self.db.read,
                    &format!("SELECT {ROW_COLS} FROM customers c WHERE c.id = $1"),
                    &[V::I(id)],
                )
                .await
            };
            if let (Some(a), Some(b)) = (row(r.a).await?, row(r.b).await?) {
                let value = if r.reason == "phone" {
                    PhoneNumber::from_stored(r.value).display()
                } else {
                    r.value
                };
                out.push(DuplicatePair {
                    a: a.try_into()?,
                    b: b.try_into()?,
                    reason: r.reason,
                    value,
                });
            }
            if out.len() >= limit as usize {
                break;
            }
        }
        Ok(out)
    }

    async fn set_customer_lang(
        &self,
        actor: &Actor,
        id: CustomerId,
        lang: Option<&str>,
        only_if_unset: bool,
        now: jiff::Timestamp,
    ) -> StoreResult<bool> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        let Some(before) = fetch_opt::<_, (Option<String>,)>(
            &mut *tx,
            "SELECT lang FROM customers WHERE id = $1",
            &[V::I(id.get())],
        )
        .await?
        else {
            return Ok(false);
        };
        let before = before.0;
        if (only_if_unset && before.is_some()) || before.as_deref() == lang {
            return Ok(true);
        }
        exec(
            &mut *tx,
            "UPDATE customers SET lang = $1 WHERE id = $2",
            &[lang.into(), V::I(id.get())],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "set_lang",
            "customer",
            id.get(),
            Some(&json!({"lang": before})),
            Some(&json!({"lang": lang})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(true)
    }

    async fn dismiss_duplicate(
        &self,
        actor: &Actor,
        a: CustomerId,
        b: CustomerId,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.begin().await?;
        exec(
            &mut *tx,
            "INSERT INTO duplicate_dismissals (a, b) VALUES ($1, $2)",
            &[V::I(a.get()), V::I(b.get())],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "dismiss_duplicate",
            "customer",
            a.get(),
            None,
            Some(&json!({"a": a, "b": b})),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn merge_customers(
        &self,
        actor: &Actor,
        keep: CustomerId,
        drop: CustomerId,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let k = customers::load(&self.db.read, keep.get())
            .await?
            .ok_or(StoreError::NotFound)?;
        let d = customers::load(&self.db.read, drop.get())
            .await?
            .ok_or(StoreError::NotFound)?;
        if k.merged_into.is_some() || d.merged_into.is_some() {
            return Err(StoreError::Conflict {
                code: "customer_merged",
                field: None,
            });
        }
        if k.erased_at.is_some() || d.erased_at.is_some() {
            return Err(StoreError::Conflict {
                code: "customer_erased",
                field: None,
            });
        }
        let mut tx = self.begin().await?;
        // Child rows move to the kept customer; duplicates of what it already has are
        // dropped, everything else is kept, marked not primary.
        exec(&mut *tx, "DELETE FROM customer_phones WHERE customer_id = $1 AND number IN (SELECT number FROM customer_phones WHERE customer_id = $2)", &[V::I(drop.get()), V::I(keep.get())]).await?;
        exec(&mut *tx, "DELETE FROM customer_emails WHERE customer_id = $1 AND match_key IN (SELECT match_key FROM customer_emails WHERE customer_id = $2)", &[V::I(drop.get()), V::I(keep.get())]).await?;
        exec(&mut *tx, "DELETE FROM customer_tags WHERE customer_id = $1 AND tag IN (SELECT tag FROM customer_tags WHERE customer_id = $2)", &[V::I(drop.get()), V::I(keep.get())]).await?;
        for t in ["customer_phones", "customer_emails", "customer_addresses"] {
            exec(
                &mut *tx,
                &format!("UPDATE {t} SET customer_id = $1, is_primary = 0 WHERE customer_id = $2"),
                &[V::I(keep.get()), V::I(drop.get())],
            )
            .await?;
        }
        for t in [
            "customer_family",
            "customer_dates",
            "customer_tags",
            "orders",
            "assets",
            "interactions",
            "timeline",
            "service_contracts",
            "vouchers",
            "feedback_items",
        ] {
            exec(
                &mut *tx,
                &format!("UPDATE {t} SET customer_id = $1 WHERE customer_id = $2"),
                &[V::I(keep.get()), V::I(drop.get())],
            )
            .await?;
        }
        // The merged customer's campaign journeys end, and call-backs not made are called
        // off: the kept customer is reached on their own journeys.
        exec(
            &mut *tx,
            "UPDATE campaign_journeys SET state = 'stopped', ended_at = $1 \
             WHERE customer_id = $2 AND state = 'active'",
            &[now.into(), V::I(drop.get())],
        )
        .await?;
        exec(
            &mut *tx,
            "UPDATE callback_tasks SET result = 'cancelled', done_at = $1, version = version + 1 \
             WHERE customer_id = $2 AND result IS NULL",
            &[now.into(), V::I(drop.get())],
        )
        .await?;
        let tags: Vec<(String,)> = fetch_all(
            &mut *tx,
            "SELECT tag FROM customer_tags WHERE customer_id = $1 ORDER BY tag",
            &[V::I(keep.get())],
        )
        .await?;
        let tags = tags.into_iter().map(|t| t.0).collect::<Vec<_>>().join(",");
        // Fill the kept profile's blanks from the merged one.
        exec(
            &mut *tx,
            "UPDATE customers SET tags = $1, company = COALESCE(company, $2), title = COALESCE(title, $3), \
             birthday = COALESCE(birthday, $4), account_manager_id = COALESCE(account_manager_id, $5), \
             habits = COALESCE(habits, $6), preferences = COALESCE(preferences, $7), \
             notes = CASE WHEN $8 = '' THEN notes WHEN notes IS NULL THEN $8 ELSE notes || ' / ' || $8 END, \
             primary_email = COALESCE(primary_email, $9), primary_phone = COALESCE(primary_phone, $10), \
             city = COALESCE(city, $11), updated_at = $12, version = version + 1 WHERE id = $13",
            &[
                tags.into(),
                (&d.company).into(),
                (&d.title).into(),
                d.birthday.map(|b| b.to_string()).into(),
                V::OptI(d.account_manager_id.map(UserId::get)),
                (&d.habits).into(),
                (&d.preferences).into(),
                d.notes.clone().unwrap_or_default().into(),
                d.emails.first().map(|e| e.address.clone()).into(),
                d.phones.first().map(|p| p.number.clone()).into(),
                d.addresses.first().and_then(|a| a.city.clone()).into(),
                now.into(),
                V::I(keep.get()),
            ],
        )
        .await?;
        // If the kept one had no primary phone/email before, make the moved one primary.
        for t in ["customer_phones", "customer_emails", "customer_addresses"] {
            exec(
                &mut *tx,
                &format!(
                    "UPDATE {t} SET is_primary = 1 WHERE id = (SELECT MIN(id) FROM {t} WHERE customer_id = $1) \
                     AND NOT EXISTS (SELECT 1 FROM {t} WHERE customer_id = $1 AND is_primary = 1)"
                ),
                &[V::I(keep.get())],
            )
            .await?;
        }
        exec(&mut *tx, "UPDATE customers SET merged_into = $1, updated_at = $2, version = version + 1 WHERE id = $3", &[V::I(keep.get()), now.into(), V::I(drop.get())]).await?;
        crate::purchases::refresh(&mut tx, self.db.backend, &[keep.get(), drop.get()]).await?;
        // The kept customer may now share a number with someone else.
        let mut w = Writes::default();
        customers::duplicates_of_stored(&mut tx, &mut w, keep.get(), now).await?;
        self.log_to(
            &mut tx,
            &mut w,
            actor,
            "merge",
            "customer",
            keep.get(),
            Some(&json!({"kept": customer_json(&k), "merged": customer_json(&d)})),
            Some(&json!({"kept": keep, "merged": drop})),
            now,
        )
        .await?;
        self.log_to(
            &mut tx,
            &mut w,
            actor,
            "merged_into",
            "customer",
            drop.get(),
            Some(&customer_json(&d)),
            Some(&json!({"merged_into": keep})),
            now,
        )
        .await?;
        timeline_to(
            &mut w,
            keep.get(),
            now,
            "merge",
            None,
            Some(drop.get()),
            &format!("{} (#{drop})", d.name),
            actor,
        );
        w.run(self.db.backend, &mut tx).await?;
        tx.commit().await.map_err(backend_err)
    }

    async fn customer_by_email(&self, email_key: &str) -> StoreResult<Option<CustomerId>> {
        scalar(
            &self.db.read,
            "SELECT e.customer_id FROM customer_emails e JOIN customers c ON c.id = e.customer_id \
             WHERE e.match_key = $1 AND c.merged_into IS NULL ORDER BY e.is_primary DESC, e.customer_id LIMIT 1",
            &[email_key.into()],
        )
        .await
        .map(|id| id.map(CustomerId))
    }

    async fn customers_by_ref(&self, refs: &[String]) -> StoreResult<Vec<(String, CustomerId)>> {
        let mut out = Vec::with_capacity(refs.len());
        for chunk in refs.chunks(IN_CHUNK) {
            let mut sql = Sql::new(
                "SELECT external_ref, COALESCE(merged_into, id) FROM customers \
                 WHERE external_ref IS NOT NULL",
            );
            in_list(&mut sql, "external_ref", chunk);
            let rows: Vec<(String, i64)> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
            out.extend(rows.into_iter().map(|(r, id)| (r, CustomerId(id))));
        }
        Ok(out)
    }

    async fn customer_emails(&self, customer_id: CustomerId) -> StoreResult<Vec<String>> {
        sqlx::query_scalar_with::<_, String, _>(
            "SELECT match_key FROM customer_emails WHERE customer_id = $1",
            args(&[V::I(customer_id.get())]),
        )
        .fetch_all(&self.db.read)
        .await
        .map_err(backend_err)
    }
}

impl SqlStore {
    /// Customers in one transaction; with `step`, as a step of an import run.
    pub(crate) async fn write_customers(
        &self,
        actor: &Actor,
        drafts: &[CustomerDraft],
        step: Option<ImportStep>,
        now: jiff::Timestamp,
    ) -> StoreResult<Vec<CustomerId>> {
        let now = &aftercare_app::ports::stamp(now);
        let (me, actor, now, drafts) = (
            self.clone(),
            actor.clone(),
            now.to_string(),
            drafts.to_vec(),
        );
        self.db
            .write_job(move |tx| {
                let (me, actor, now, drafts) =
                    (me.clone(), actor.clone(), now.clone(), drafts.clone());
                Box::pin(async move {
                    let (actor, now) = (&actor, now.as_str());
                    let drafts = drafts.as_slice();
                    if let Some(step) = step {
                        let keys = crate::imports::customer_keys(drafts);
                        crate::imports::take_step(&mut *tx, step, &keys, now).await?;
                    }
                    let mut ids = Vec::with_capacity(drafts.len());
                    for d in drafts {
                        let id = me.insert_customer(&mut *tx, actor, d, now).await?;
                        // Brought by another customer: credited with the new record.
                        if let Some(by) = d.referred_by {
                            me.write_referral(&mut *tx, actor, by, CustomerId(id), None, now)
                                .await
                                .map_err(|e| match e {
                                    StoreError::NotFound => StoreError::Conflict {
                                        code: "referral_code_unknown",
                                        field: Some("referred_by_code".into()),
                                    },
                                    e => e,
                                })?;
                        }
                        ids.push(CustomerId(id));
                    }
                    Ok(ids)
                })
            })
            .await
    }
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct TimelineRec {
    id: i64,
    customer_id: i64,
    at: String,
    kind: String,
    touchpoint: Option<String>,
    ref_id: Option<i64>,
    summary: String,
    params: Option<String>,
    actor_name: Option<String>,
}

/// The statement that reads a page of a customer's timeline, newest first; with `only`,
/// just the entries of those kinds about requests of that outlet.
fn timeline_sql(
    customer_id: CustomerId,
    only: Option<&OutletEntries>,
    cursor: Option<&str>,
    limit: u32,
) -> StoreResult<Sql> {
    let mut sql = Sql::new(
        "SELECT * FROM (SELECT t.id, t.id AS x_id, t.customer_id, t.at, t.kind, t.touchpoint, t.ref_id, t.summary, t.params, u.name AS actor_name \
         FROM timeline t LEFT JOIN users u ON u.id = t.actor_id WHERE t.customer_id = ",
    );
    sql.bind(customer_id);
    if let Some(only) = only {
        sql.push(" AND t.kind IN (");
        for (i, k) in only.kinds.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*k);
        }
        sql.push(") AND t.ref_id IN (SELECT r.id FROM requests r WHERE r.customer_id = ")
            .bind(customer_id)
            .push(" AND r.outlet_id = ")
            .bind(only.outlet_id)
            .push(")");
    }
    sql.push(") x WHERE 1 = 1");
    keyset(&mut sql, "at", true, cursor, limit)?;
    Ok(sql)
}

/// A page of the timeline from the rows of [`timeline_sql`]'s statement.
fn timeline_from(rows: Vec<TimelineRec>, limit: u32) -> Page<TimelineEntry> {
    let page = next_page(rows, limit, |r| (r.at.clone(), r.id));
    Page {
        items: page
            .items
            .into_iter()
            .map(|r| TimelineEntry {
                id: r.id,
                customer_id: CustomerId(r.customer_id),
                at: r.at,
                kind: r.kind,
                touchpoint: r.touchpoint,
                ref_id: r.ref_id,
                summary: r.summary,
                params: r.params.and_then(|p| serde_json::from_str(&p).ok()),
                actor_name: r.actor_name,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }
}
