//! The `NetworkStore` port over SQL: outlets as they are set up, and staff certificates.

use crate::db::*;
use crate::store::{SqlStore, Tx};
use aftercare_app::StoreError;
use aftercare_app::model::Outlet;
use aftercare_app::network_model::*;
use aftercare_app::ports::{Actor, NetworkStore, StoreResult, stamp};
use aftercare_domain::request::ServiceType;
use aftercare_domain::{CategoryId, OutletId, UserId};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::json;

/// A list kept in one column, comma-separated.
fn joined<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty())
}

fn skills_of(cells: &Cells, s: &str) -> Result<Vec<ServiceType>, StoreError> {
    split(s).map(|c| cells.code("skills", c)).collect()
}

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct OutletRow {
    id: i64,
    name: String,
    kind: String,
    city: Option<String>,
    address: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    contact_email: Option<String>,
    regions: String,
    categories: String,
    calendar_id: Option<i64>,
    capacity: Option<i64>,
    response_minutes: Option<i64>,
    resolution_minutes: Option<i64>,
    active: i64,
    version: i64,
}

/// Every outlet, retired ones too, by id (the catalogue's `outlets` reads through here).
pub(crate) async fn outlets<'e, E>(e: E) -> StoreResult<Vec<Outlet>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = outlets_sql();
    outlets_from(fetch_all(e, &sql.text, &sql.args).await?)
}

/// The statement [`outlets`] reads.
pub(crate) fn outlets_sql() -> Sql {
    Sql::new(
        "SELECT id, name, kind, city, address, contact_name, contact_phone, contact_email, regions, \
         categories, calendar_id, capacity, response_minutes, resolution_minutes, active, version \
         FROM outlets ORDER BY id",
    )
}

/// Outlets from the rows of [`outlets_sql`].
pub(crate) fn outlets_from(rows: Vec<OutletRow>) -> StoreResult<Vec<Outlet>> {
    rows.into_iter()
        .map(|r| {
            let c = Cells::of("outlets", r.id);
            let categories = split(&r.categories)
                .map(|x| c.code::<i64>("categories", x).map(CategoryId))
                .collect::<Result<_, _>>()?;
            Ok(Outlet {
                id: OutletId(r.id),
                name: r.name,
                kind: r.kind,
                city: r.city,
                address: r.address,
                contact_name: r.contact_name,
                contact_phone: r.contact_phone,
                contact_email: r.contact_email,
                regions: split(&r.regions).map(str::to_string).collect(),
                categories,
                calendar_id: r.calendar_id,
                capacity: r.capacity,
                response_minutes: r.response_minutes,
                resolution_minutes: r.resolution_minutes,
                active: r.active != 0,
                version: r.version,
            })
        })
        .collect()
}

/// An outlet's columns, in the order of the statements below.
fn outlet_values(o: &Outlet) -> Vec<V> {
    vec![
        (&o.name).into(),
        (&o.kind).into(),
        (&o.city).into(),
        (&o.address).into(),
        (&o.contact_name).into(),
        (&o.contact_phone).into(),
        (&o.contact_email).into(),
        joined(&o.regions).into(),
        joined(&o.categories.iter().map(|c| c.get()).collect::<Vec<_>>()).into(),
        V::OptI(o.calendar_id),
        V::OptI(o.capacity),
        V::OptI(o.response_minutes),
        V::OptI(o.resolution_minutes),
    ]
}

fn outlet_json(o: &Outlet) -> serde_json::Value {
    json!({
        "name": o.name, "kind": o.kind, "city": o.city, "address": o.address,
        "contact_name": o.contact_name, "contact_phone": o.contact_phone,
        "contact_email": o.contact_email, "regions": joined(&o.regions),
        "categories": joined(&o.categories.iter().map(|c| c.get()).collect::<Vec<_>>()),
        "calendar_id": o.calendar_id, "capacity": o.capacity,
        "response_minutes": o.response_minutes, "resolution_minutes": o.resolution_minutes,
    })
}

async fn insert_outlet(tx: &mut Tx, o: &Outlet) -> StoreResult<i64> {
    insert_id(
        &mut **tx,
        "INSERT INTO outlets (name, kind, city, address, contact_name, contact_phone, contact_email, \
         regions, categories, calendar_id, capacity, response_minutes, resolution_minutes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        &outlet_values(o),
    )
    .await
}

#[derive(sqlx::FromRow)]
struct CertificateRow {
    id: i64,
    user_id: i64,
    user_name: String,
    name: String,
    category_id: Option<i64>,
    category_name: Option<String>,
    skills: String,
    issued_on: String,
    valid_until: String,
    revoked_at: Option<String>,
}

impl CertificateRow {
    fn certificate(self) -> Result<Certificate, StoreError> {
        let c = Cells::of("certificates", self.id);
        Ok(Certificate {
            id: self.id,
            user_id: UserId(self.user_id),
            user_name: self.user_name,
            name: self.name,
            category_id: self.category_id.map(CategoryId),
            category_name: self.category_name,
            skills: skills_of(&c, &self.skills)?,
            issued_on: c.date("issued_on", &self.issued_on)?,
            valid_until: c.date("valid_until", &self.valid_until)?,
            revoked_at: c.opt_at("revoked_at", self.revoked_at.as_deref())?,
            state: String::new(),
        })
    }
}

#[async_trait]
impl NetworkStore for SqlStore {
    async fn save_outlet(
        &self,
        actor: &Actor,
        o: &Outlet,
        now: Timestamp,
    ) -> StoreResult<OutletId> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let id = if o.id.get() == 0 {
            insert_outlet(&mut tx, o).await?
        } else {
            let mut vals = outlet_values(o);
            vals.push(V::I(o.id.get()));
            vals.push(V::I(o.version));
            let n = exec(
                &mut *tx,
                "UPDATE outlets SET name = $1, kind = $2, city = $3, address = $4, contact_name = $5, \
                 contact_phone = $6, contact_email = $7, regions = $8, categories = $9, calendar_id = $10, \
                 capacity = $11, response_minutes = $12, resolution_minutes = $13, version = version + 1 \
                 WHERE id = $14 AND version = $15",
                &vals,
            )
            .await?;
            if n == 0 {
                return Err(Self::missing_or_changed(&mut tx, "outlets", o.id.get()).await);
            }
            o.id.get()
        };
        let action = if o.id.get() == 0 { "create" } else { "update" };
        self.log(
            &mut tx,
            actor,
            action,
            "outlet",
            id,
            None,
            Some(&outlet_json(o)),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(OutletId(id))
    }

    async fn create_outlets(
        &self,
        actor: &Actor,
        outlets: &[Outlet],
        now: Timestamp,
    ) -> StoreResult<Vec<OutletId>> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let mut ids = Vec::with_capacity(outlets.len());
        for o in outlets {
            let id = insert_outlet(&mut tx, o).await?;
            self.log(
                &mut tx,
                actor,
                "create",
                "outlet",
                id,
                None,
                Some(&outlet_json(o)),
                now,
            )
            .await?;
            ids.push(OutletId(id));
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(ids)
    }

    async fn set_outlet_active(
        &self,
        actor: &Actor,
        id: OutletId,
        active: bool,
        now: Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let n = exec(
            &mut *tx,
            "UPDATE outlets SET active = $1, version = version + 1 WHERE id = $2",
            &[active.into(), V::I(id.get())],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let action = if active { "reactivate" } else { "retire" };
        self.log(&mut tx, actor, action, "outlet", id.get(), None, None, now)
            .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn outlet_loads(&self) -> StoreResult<Vec<OutletLoad>> {
        let rows: Vec<(i64, i64, i64)> = fetch_all(
            &self.db.read,
            "SELECT o.id, \
             (SELECT COUNT(*) FROM requests r WHERE r.outlet_id = o.id AND r.active = 1), \
             (SELECT COUNT(*) FROM staff_profiles p JOIN users u ON u.id = p.user_id \
              WHERE p.outlet_id = o.id AND u.active = 1) \
             FROM outlets o ORDER BY o.id",
            &[],
        )
        .await?;
        Ok(rows
            .into_iter()
            .filter(|(_, a, s)| *a > 0 || *s > 0)
            .map(|(id, active, staff)| OutletLoad {
                outlet_id: OutletId(id),
                active,
                staff,
            })
            .collect())
    }

    async fn set_certification_required(
        &self,
        actor: &Actor,
        changes: &[(CategoryId, bool)],
        now: Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        for (category, required) in changes {
            let n = exec(
                &mut *tx,
                "UPDATE product_categories SET certification_required = $1 WHERE id = $2",
                &[(*required).into(), V::I(category.get())],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let after = json!({ "certification_required": required });
            self.log(
                &mut tx,
                actor,
                "update",
                "category",
                category.get(),
                None,
                Some(&after),
                now,
            )
            .await?;
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn standards(&self) -> StoreResult<Vec<(ServiceType, Vec<String>)>> {
        let rows: Vec<(String, String)> = fetch_all(
            &self.db.read,
            "SELECT service_type, items FROM service_standards ORDER BY service_type",
            &[],
        )
        .await?;
        rows.into_iter()
            .map(|(t, items)| {
                let c = Cells::of("service_standards", 0);
                Ok((c.code("service_type", &t)?, c.json("items", &items)?))
            })
            .collect()
    }

    async fn save_standard(
        &self,
        actor: &Actor,
        service_type: ServiceType,
        items: &[String],
        now: Timestamp,
    ) -> StoreResult<()> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        exec(
            &mut *tx,
            "DELETE FROM service_standards WHERE service_type = $1",
            &[service_type.code().into()],
        )
        .await?;
        if !items.is_empty() {
            exec(
                &mut *tx,
                "INSERT INTO service_standards (service_type, items, updated_at) VALUES ($1, $2, $3)",
                &[
                    service_type.code().into(),
                    serde_json::to_string(items).unwrap_or_default().into(),
                    now.into(),
                ],
            )
            .await?;
        }
        let after = json!({ "service_type": service_type.code(), "items": items });
        self.log(
            &mut tx,
            actor,
            "update",
            "service_standard",
            0,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn certificates(
        &self,
        user: Option<UserId>,
        with_revoked: bool,
    ) -> StoreResult<Vec<Certificate>> {
        let mut sql = Sql::new(
            "SELECT c.id, c.user_id, u.name AS user_name, c.name, c.category_id, \
             k.name AS category_name, c.skills, c.issued_on, c.valid_until, c.revoked_at \
             FROM certificates c JOIN users u ON u.id = c.user_id \
             LEFT JOIN product_categories k ON k.id = c.category_id WHERE 1 = 1",
        );
        if let Some(u) = user {
            sql.push(" AND c.user_id = ").bind(u.get());
        }
        if !with_revoked {
            sql.push(" AND c.revoked_at IS NULL");
        }
        sql.push(" ORDER BY c.id DESC");
        let rows: Vec<CertificateRow> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
        rows.into_iter().map(CertificateRow::certificate).collect()
    }

    async fn certificates_in_force(
        &self,
        on: Date,
    ) -> StoreResult<Vec<(UserId, CertificateInForce)>> {
        let rows: Vec<(i64, i64, Option<i64>, String, String)> = fetch_all(
            &self.db.read,
            "SELECT id, user_id, category_id, skills, valid_until FROM certificates \
             WHERE revoked_at IS NULL AND valid_until >= $1 ORDER BY user_id, id",
            &[on.to_string().into()],
        )
        .await?;
        rows.into_iter()
            .map(|(id, user, category, skills, until)| {
                let c = Cells::of("certificates", id);
                Ok((
                    UserId(user),
                    CertificateInForce {
                        category_id: category,
                        skills: skills_of(&c, &skills)?,
                        valid_until: c.date("valid_until", &until)?,
                    },
                ))
            })
            .collect()
    }

    async fn add_certificate(
        &self,
        actor: &Actor,
        c: &CertificateDraft,
        now: Timestamp,
    ) -> StoreResult<i64> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let skills = joined(&c.skills.iter().map(|s| s.code()).collect::<Vec<_>>());
        let id = insert_id(
            &mut *tx,
            "INSERT INTO certificates (user_id, name, category_id, skills, issued_on, valid_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                V::I(c.user_id.get()),
                (&c.name).into(),
                V::OptI(c.category_id.map(CategoryId::get)),
                (&skills).into(),
                c.issued_on.to_string().into(),
                c.valid_until.to_string().into(),
                now.into(),
            ],
        )
        .await?;
        let after = json!({
            "user_id": c.user_id.get(), "name": c.name,
            "category_id": c.category_id.map(CategoryId::get), "skills": skills,
            "issued_on": c.issued_on.to_string(), "valid_until": c.valid_until.to_string(),
        });
        self.log(
            &mut tx,
            actor,
            "create",
            "certificate",
            id,
            None,
            Some(&after),
            now,
        )
        .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(id)
    }

    async fn revoke_certificate(&self, actor: &Actor, id: i64, now: Timestamp) -> StoreResult<()> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let n = exec(
            &mut *tx,
            "UPDATE certificates SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[now.into(), V::I(id)],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.log(&mut tx, actor, "revoke", "certificate", id, None, None, now)
            .await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(())
    }

    async fn certificates_to_warn(
        &self,
        from: Date,
        until: Date,
        limit: u32,
    ) -> StoreResult<Vec<ExpiringCertificate>> {
        let rows: Vec<(i64, i64, String, String, String)> = fetch_all(
            &self.db.read,
            "SELECT c.id, c.user_id, u.name, c.name, c.valid_until FROM certificates c \
             JOIN users u ON u.id = c.user_id WHERE c.revoked_at IS NULL AND c.warned_at IS NULL \
             AND c.valid_until >= $1 AND c.valid_until <= $2 ORDER BY c.valid_until, c.id LIMIT $3",
            &[
                from.to_string().into(),
                until.to_string().into(),
                V::I(i64::from(limit)),
            ],
        )
        .await?;
        rows.into_iter()
            .map(|(id, user, user_name, name, until)| {
                Ok(ExpiringCertificate {
                    id,
                    user_id: UserId(user),
                    user_name,
                    name,
                    valid_until: Cells::of("certificates", id).date("valid_until", &until)?,
                })
            })
            .collect()
    }

    async fn warn_certificates(
        &self,
        certificates: &[ExpiringCertificate],
        managers: &[UserId],
        now: Timestamp,
    ) -> StoreResult<usize> {
        let now = &stamp(now);
        let mut tx = self.begin().await?;
        let mut warned = 0;
        for c in certificates {
            // Claimed first: two servers sweeping at once warn each certificate once.
            let n = exec(
                &mut *tx,
                "UPDATE certificates SET warned_at = $1 WHERE id = $2 AND warned_at IS NULL",
                &[now.into(), V::I(c.id)],
            )
            .await?;
            if n == 0 {
                continue;
            }
            warned += 1;
            let detail = format!("{} · {} · {}", c.user_name, c.name, c.valid_until);
            let mut to = vec![c.user_id];
            to.extend(managers.iter().filter(|m| **m != c.user_id));
            for u in to {
                exec(
                    &mut *tx,
                    "INSERT INTO notifications (user_id, kind, detail, created_at) VALUES ($1, $2, $3, $4)",
                    &[
                        V::I(u.get()),
                        "certificate_expiring".into(),
                        (&detail).into(),
                        now.into(),
                    ],
                )
                .await?;
            }
        }
        tx.commit().await.map_err(backend_err)?;
        Ok(warned)
    }
}
