//! The `DeskSetupStore` port over SQL: calendars, SLA policies, staff profiles, customers' tiers and service facts.

use crate::db::*;
use crate::request_rows::*;
use crate::store::SqlStore;
use aftercare_app::StoreError;
use aftercare_app::desk_model::*;
use aftercare_app::ports::*;
use aftercare_domain::account::Role;
use aftercare_domain::ids::*;
use async_trait::async_trait;
use serde_json::json;

/// The statements [`DeskSetupStore::desk_config`] reads: calendars, then active SLA
/// policies.
pub(crate) fn desk_config_sql() -> [Sql; 2] {
    [
        Sql::new("SELECT id, name, spec FROM calendars ORDER BY id"),
        Sql::new(
            "SELECT id, name, tier, priority, service_type, calendar_id, first_response_minutes, \
             resolution_minutes, warn_minutes, notify_manager, raise_priority, reassign \
             FROM sla_policies WHERE active = 1 ORDER BY id",
        ),
    ]
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct CalendarRec {
    id: i64,
    name: String,
    spec: String,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct SlaPolicyRec {
    id: i64,
    name: String,
    tier: Option<String>,
    priority: Option<String>,
    service_type: Option<String>,
    calendar_id: i64,
    first_response_minutes: i64,
    resolution_minutes: i64,
    warn_minutes: i64,
    notify_manager: i64,
    raise_priority: i64,
    reassign: i64,
}

/// The desk's configuration from the rows of [`desk_config_sql`].
pub(crate) fn desk_config_from(
    cs: Vec<CalendarRec>,
    ps: Vec<SlaPolicyRec>,
) -> StoreResult<DeskConfig> {
    let mut calendars = Vec::new();
    for c in cs {
        let mut body: CalendarBody = serde_json::from_str(&c.spec)
            .map_err(|e| StoreError::Backend(format!("calendar {} is not readable: {e}", c.id)))?;
        body.name = c.name;
        calendars.push(Calendar { id: c.id, body });
    }
    Ok(DeskConfig {
        calendars,
        policies: ps
            .into_iter()
            .map(|p| {
                let c = Cells::of("sla_policies", p.id);
                Ok(SlaPolicy {
                    id: p.id,
                    name: p.name,
                    tier: c.opt_code("tier", p.tier.as_deref())?,
                    priority: c.opt_code("priority", p.priority.as_deref())?,
                    service_type: c.opt_code("service_type", p.service_type.as_deref())?,
                    calendar_id: p.calendar_id,
                    first_response_minutes: p.first_response_minutes,
                    resolution_minutes: p.resolution_minutes,
                    warn_minutes: p.warn_minutes,
                    notify_manager: p.notify_manager != 0,
                    raise_priority: p.raise_priority != 0,
                    reassign: p.reassign != 0,
                })
            })
            .collect::<Result<_, StoreError>>()?,
    })
}

/// The statement [`DeskSetupStore::staff_profiles`] reads. Load is counted up to a
/// little over the largest capacity, so a huge backlog costs no more than a full person.
pub(crate) fn staff_sql() -> Sql {
    Sql::new(
        "SELECT u.id, u.name, u.role, u.active, p.outlet_id, p.skills, p.regions, p.capacity, p.auto_assign, \
         o.kind AS outlet_kind, \
         (SELECT COUNT(*) FROM (SELECT 1 FROM requests r WHERE r.assignee_id = u.id AND r.active = 1 LIMIT 1001) l) AS load \
         FROM users u LEFT JOIN staff_profiles p ON p.user_id = u.id LEFT JOIN outlets o ON o.id = p.outlet_id \
         WHERE u.role IN ('admin', 'manager', 'agent', 'technician') ORDER BY u.name, u.id",
    )
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct StaffRec {
    id: i64,
    name: String,
    role: String,
    active: i64,
    outlet_id: Option<i64>,
    skills: Option<String>,
    regions: Option<String>,
    capacity: Option<i64>,
    auto_assign: Option<i64>,
    outlet_kind: Option<String>,
    load: i64,
}

/// Staff profiles from the rows of [`staff_sql`].
pub(crate) fn staff_from(rows: Vec<StaffRec>) -> StoreResult<Vec<StaffProfile>> {
    rows.into_iter()
        .map(|q| {
            let c = Cells::of("users", q.id);
            let role: Role = c.code("role", &q.role)?;
            let skills = split_list(q.skills.as_deref().unwrap_or(""))
                .iter()
                .map(|s| Cells::of("staff_profiles", q.id).code("skills", s))
                .collect::<Result<_, _>>()?;
            Ok(StaffProfile {
                user_id: UserId(q.id),
                name: q.name,
                role,
                active: q.active != 0,
                outlet_id: q.outlet_id.map(OutletId),
                partner: q.outlet_kind.as_deref() == Some("partner"),
                skills,
                regions: split_list(q.regions.as_deref().unwrap_or("")),
                capacity: q.capacity.unwrap_or(20),
                // Without a profile, agents and technicians take work; admins do not.
                auto_assign: q
                    .auto_assign
                    .map(|a| a != 0)
                    .unwrap_or(matches!(role, Role::Agent | Role::Technician)),
                load: q.load,
            })
        })
        .collect()
}

/// The statement [`DeskSetupStore::service_facts`] reads.
pub(crate) fn service_facts_sql(customer_id: CustomerId) -> Sql {
    Sql::with(
        &format!(
            "SELECT c.name, {} AS tier, c.city, c.account_manager_id, c.primary_email, c.erased_at, c.lang \
             FROM customers c WHERE c.id = $1",
            crate::value::TIER_IN_FORCE
        ),
        vec![V::I(customer_id.get())],
    )
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct FactsRec {
    name: String,
    tier: Option<String>,
    city: Option<String>,
    account_manager_id: Option<i64>,
    primary_email: Option<String>,
    erased_at: Option<String>,
    lang: Option<String>,
}

/// A customer's service facts from the rows of [`service_facts_sql`].
pub(crate) fn service_facts_from(rows: Vec<FactsRec>) -> Option<ServiceFacts> {
    rows.into_iter().next().map(|q| ServiceFacts {
        name: q.name,
        tier: q.tier,
        city: q.city,
        account_manager_id: q.account_manager_id.map(UserId),
        email: q.primary_email,
        erased: q.erased_at.is_some(),
        lang: q.lang,
    })
}

const TEXT_COLS: &str =
    "id, name, body_zh_hans, body_zh_hant, body_en, status, owner_name, updated_at, version";

#[derive(sqlx::FromRow)]
struct TextRec {
    id: i64,
    name: String,
    body_zh_hans: String,
    body_zh_hant: String,
    body_en: String,
    status: String,
    owner_name: String,
    updated_at: String,
    version: i64,
}

impl TryFrom<TextRec> for MessageText {
    type Error = StoreError;
    fn try_from(r: TextRec) -> Result<Self, StoreError> {
        Ok(MessageText {
            updated_at: Cells::of("message_texts", r.id).at("updated_at", &r.updated_at)?,
            id: r.id,
            name: r.name,
            body_zh_hans: r.body_zh_hans,
            body_zh_hant: r.body_zh_hant,
            body_en: r.body_en,
            status: r.status,
            owner_name: r.owner_name,
            version: r.version,
        })
    }
}

/// Saved views a person may keep.
const MAX_SAVED_VIEWS: i64 = 50;

#[async_trait]
impl DeskSetupStore for SqlStore {
    async fn desk_config(&self) -> StoreResult<DeskConfig> {
        let [calendars, policies] = desk_config_sql();
        let cs: Vec<CalendarRec> =
            fetch_all(&self.db.read, &calendars.text, &calendars.args).await?;
        let ps: Vec<SlaPolicyRec> =
            fetch_all(&self.db.read, &policies.text, &policies.args).await?;
        desk_config_from(cs, ps)
    }

    async fn create_calendar(
        &self,
        actor: &Actor,
        c: &CalendarBody,
        now: jiff::Timestamp,
    ) -> StoreResult<i64> {
        let now = &aftercare_app::ports::stamp(now);
        let spec = serde_json::to_string(c).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO calendars (name, spec) VALUES ($1, $2) RETURNING id",
            &[(&c.name).into(), spec.clone().into()],
        )
        .await?;
        let after = json!({"name": c.name, "spec": c});
        self.log(
            &mut tx,
            actor,
            "create",
            "calendar",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn update_calendar(
        &self,
        actor: &Actor,
        id: i64,
        c: &CalendarBody,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let spec = serde_json::to_string(c).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let n = exec(
            &mut *tx,
            "UPDATE calendars SET name = $1, spec = $2 WHERE id = $3",
            &[(&c.name).into(), spec.into(), V::I(id)],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let after = json!({"name": c.name, "spec": c});
        self.log(
            &mut tx,
            actor,
            "update",
            "calendar",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn saved_views(&self, user_id: UserId) -> StoreResult<Vec<SavedView>> {
        let rows: Vec<(i64, String, String)> = fetch_all(
            &self.db.read,
            "SELECT id, name, query FROM saved_views WHERE user_id = $1 ORDER BY name, id",
            &[user_id.into()],
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, query)| SavedView { id, name, query })
            .collect())
    }

    async fn save_view(
        &self,
        user_id: UserId,
        name: &str,
        query: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<i64> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let n = scalar(
            &mut *tx,
            "SELECT COUNT(*) FROM saved_views WHERE user_id = $1 AND name <> $2",
            &[user_id.into(), name.into()],
        )
        .await?
        .unwrap_or(0);
        if n >= MAX_SAVED_VIEWS {
            return Err(StoreError::Conflict {
                code: "saved_views_full",
                field: Some("name".into()),
            });
        }
        // One statement, so two saves of one name at once both land: the later replaces.
        let id = insert_id(
            &mut *tx,
            "INSERT INTO saved_views (user_id, name, query, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query RETURNING id",
            &[user_id.into(), name.into(), query.into(), now.into()],
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn message_texts(&self, status: Option<&str>) -> StoreResult<Vec<MessageText>> {
        let mut sql = Sql::new(&format!(
            "SELECT {TEXT_COLS} FROM message_texts WHERE 1 = 1"
        ));
        if let Some(s) = status {
            sql.push(" AND status = ").bind(s);
        }
        sql.push(" ORDER BY name, id LIMIT 500");
        let rows: Vec<TextRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn message_text(&self, id: i64) -> StoreResult<Option<MessageText>> {
        let row: Option<TextRec> = fetch_opt(
            &self.db.read,
            &format!("SELECT {TEXT_COLS} FROM message_texts WHERE id = $1"),
            &[V::I(id)],
        )
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn save_message_text(
        &self,
        actor: &Actor,
        t: &MessageText,
        owner: Option<UserId>,
        now: jiff::Timestamp,
    ) -> StoreResult<i64> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let id = if t.id == 0 {
            insert_id(
                &mut *tx,
                "INSERT INTO message_texts (name, body_zh_hans, body_zh_hant, body_en, status, owner_id, owner_name, \
                 created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1) RETURNING id",
                &[
                    (&t.name).into(),
                    (&t.body_zh_hans).into(),
                    (&t.body_zh_hant).into(),
                    (&t.body_en).into(),
                    (&t.status).into(),
                    owner.into(),
                    (&t.owner_name).into(),
                    now.into(),
                ],
            )
            .await?
        } else {
            let n = exec(
                &mut *tx,
                "UPDATE message_texts SET name = $1, body_zh_hans = $2, body_zh_hant = $3, body_en = $4, \
                 status = $5, updated_at = $6, version = version + 1 WHERE id = $7 AND version = $8",
                &[
                    (&t.name).into(),
                    (&t.body_zh_hans).into(),
                    (&t.body_zh_hant).into(),
                    (&t.body_en).into(),
                    (&t.status).into(),
                    now.into(),
                    V::I(t.id),
                    V::I(t.version),
                ],
            )
            .await?;
            if n == 0 {
                return Err(Self::missing_or_changed(&mut tx, "message_texts", t.id).await);
            }
            t.id
        };
        let after = json!({"name": t.name, "status": t.status});
        self.log(
            &mut tx,
            actor,
            if t.id == 0 { "create" } else { "update" },
            "message_text",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn delete_view(&self, user_id: UserId, id: i64) -> StoreResult<()> {
        let n = exec(
            &self.db.write,
            "DELETE FROM saved_views WHERE id = $1 AND user_id = $2",
            &[V::I(id), user_id.into()],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn add_calendar_days(
        &self,
        actor: &Actor,
        id: i64,
        days: &aftercare_domain::public_days::PublicDays,
        now: jiff::Timestamp,
    ) -> StoreResult<(usize, usize)> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let lock = match self.db.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let row: Option<(String,)> = fetch_opt(
            &mut *tx,
            &format!("SELECT spec FROM calendars WHERE id = $1{lock}"),
            &[V::I(id)],
        )
        .await?;
        let (spec,) = row.ok_or(StoreError::NotFound)?;
        let mut c: CalendarBody =
            serde_json::from_str(&spec).map_err(|e| StoreError::Backend(e.to_string()))?;
        let added = merge_public_days(&mut c, days);
        let spec = serde_json::to_string(&c).map_err(|e| StoreError::Backend(e.to_string()))?;
        exec(
            &mut *tx,
            "UPDATE calendars SET spec = $1 WHERE id = $2",
            &[spec.into(), V::I(id)],
        )
        .await?;
        let after = json!({"holidays_added": added.0, "makeup_workdays_added": added.1});
        self.log(
            &mut tx,
            actor,
            "update",
            "calendar",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(added)
    }

    async fn create_sla_policy(
        &self,
        actor: &Actor,
        p: &SlaPolicy,
        now: jiff::Timestamp,
    ) -> StoreResult<i64> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let id = insert_id(
            &mut *tx,
            "INSERT INTO sla_policies (name, tier, priority, service_type, calendar_id, first_response_minutes, \
             resolution_minutes, warn_minutes, notify_manager, raise_priority, reassign) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                (&p.name).into(),
                p.tier.into(),
                p.priority.into(),
                p.service_type.into(),
                V::I(p.calendar_id),
                V::I(p.first_response_minutes),
                V::I(p.resolution_minutes),
                V::I(p.warn_minutes),
                p.notify_manager.into(),
                p.raise_priority.into(),
                p.reassign.into(),
            ],
        )
        .await?;
        let after = serde_json::to_value(p).unwrap_or_default();
        self.log(
            &mut tx,
            actor,
            "create",
            "sla_policy",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn set_staff_profile(
        &self,
        actor: &Actor,
        p: &StaffProfile,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        exec(
            &mut *tx,
            "INSERT INTO staff_profiles (user_id, outlet_id, skills, regions, capacity, auto_assign) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO UPDATE SET \
             outlet_id = excluded.outlet_id, skills = excluded.skills, regions = excluded.regions, \
             capacity = excluded.capacity, auto_assign = excluded.auto_assign",
            &[
                V::I(p.user_id.get()),
                V::OptI(p.outlet_id.map(OutletId::get)),
                p.skills
                    .iter()
                    .map(|s| s.code())
                    .collect::<Vec<_>>()
                    .join(",")
                    .into(),
                p.regions.join(",").into(),
                V::I(p.capacity),
                p.auto_assign.into(),
            ],
        )
        .await?;
        let after = serde_json::to_value(p).unwrap_or_default();
        self.log(
            &mut tx,
            actor,
            "update",
            "staff_profile",
            p.user_id.get(),
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn staff_profiles(&self) -> StoreResult<Vec<StaffProfile>> {
        let sql = staff_sql();
        let rows: Vec<StaffRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        staff_from(rows)
    }

    async fn service_facts(&self, customer_id: CustomerId) -> StoreResult<Option<ServiceFacts>> {
        let sql = service_facts_sql(customer_id);
        let rows: Vec<FactsRec> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        Ok(service_facts_from(rows))
    }

    async fn staff_outlet(&self, user_id: UserId) -> StoreResult<Option<(OutletId, String)>> {
        sqlx::query_as_with::<_, (i64, String), _>(
            "SELECT o.id, o.kind FROM staff_profiles p JOIN outlets o ON o.id = p.outlet_id WHERE p.user_id = $1",
            args(&[V::I(user_id.get())]),
        )
        .fetch_optional(&self.db.read)
        .await
        .map(|r| r.map(|(id, kind)| (OutletId(id), kind)))
        .map_err(backend_err)
    }

    async fn set_customer_tier(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        tier: &str,
        now: jiff::Timestamp,
    ) -> StoreResult<()> {
        let now = &aftercare_app::ports::stamp(now);
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let before: Option<Option<String>> = sqlx::query_scalar_with::<_, Option<String>, _>(
            &format!(
                "SELECT {} FROM customers c WHERE c.id = $1",
                crate::value::TIER_IN_FORCE
            ),
            args(&[V::I(customer_id.get())]),
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend_err)?;
        let Some(before) = before else {
            return Err(StoreError::NotFound);
        };
        if before.as_deref() == Some(tier) {
            // Set by hand: it stays even when scoring would say otherwise.
            exec(
                &mut *tx,
                "UPDATE customers SET tier_pinned = 1 WHERE id = $1",
                &[V::I(customer_id.get())],
            )
            .await?;
            tx.commit().await.map_err(backend_err)?;
            return Ok(());
        }
        exec(
            &mut *tx,
            "UPDATE customers SET tier = $1, tier_pinned = 1, updated_at = $2 WHERE id = $3",
            &[tier.into(), now.into(), V::I(customer_id.get())],
        )
        .await?;
        self.log(
            &mut tx,
            actor,
            "update",
            "customer_tier",
            customer_id.get(),
            Some(&json!({ "tier": before })),
            Some(&json!({ "tier": tier })),
            now,
        )
        .await?;
        self.timeline_add(
            &mut tx,
            customer_id.get(),
            now,
            "tier",
            None,
            None,
            &format!("tier {} → {tier}", before.as_deref().unwrap_or("-")),
            actor,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }
}

/// Adds the days a calendar does not have yet, keeping each list sorted; a day announced
/// as the other kind (a correction) moves. Returns how many holidays and make-up days
/// were new.
pub(crate) fn merge_public_days(
    c: &mut CalendarBody,
    days: &aftercare_domain::public_days::PublicDays,
) -> (usize, usize) {
    use std::collections::BTreeSet;
    let text = |s: &BTreeSet<jiff::civil::Date>| -> BTreeSet<String> {
        s.iter().map(|d| d.to_string()).collect()
    };
    let (new_off, new_on) = (text(&days.holidays), text(&days.makeup_workdays));
    let mut off: BTreeSet<String> = c.holidays.iter().cloned().collect();
    let mut on: BTreeSet<String> = c.makeup_workdays.iter().cloned().collect();
    off.retain(|d| !new_on.contains(d));
    on.retain(|d| !new_off.contains(d));
    let added = (
        new_off.difference(&off).count(),
        new_on.difference(&on).count(),
    );
    off.extend(new_off);
    on.extend(new_on);
    c.holidays = off.into_iter().collect();
    c.makeup_workdays = on.into_iter().collect();
    added
}

/// Migration 000021: calendars in China that carry no public days get this release's
/// table, so a holiday is not counted as a working day on a new installation.
pub(crate) async fn load_china_public_days(
    conn: &mut sqlx::AnyConnection,
) -> Result<(), StoreError> {
    let days = aftercare_domain::public_days::PublicDays::china();
    let rows: Vec<(i64, String)> = fetch_all(
        &mut *conn,
        "SELECT id, spec FROM calendars ORDER BY id",
        &[],
    )
    .await?;
    for (id, spec) in rows {
        let Ok(mut c) = serde_json::from_str::<CalendarBody>(&spec) else {
            continue;
        };
        let in_china = matches!(
            c.time_zone.trim(),
            "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Harbin" | "Asia/Urumqi" | "PRC"
        );
        if !in_china || !c.holidays.is_empty() || !c.makeup_workdays.is_empty() {
            continue;
        }
        merge_public_days(&mut c, &days);
        let spec = serde_json::to_string(&c).map_err(|e| StoreError::Backend(e.to_string()))?;
        exec(
            &mut *conn,
            "UPDATE calendars SET spec = $1 WHERE id = $2",
            &[spec.into(), V::I(id)],
        )
        .await?;
    }
    Ok(())
}
