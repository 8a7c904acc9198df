//! Customer rows and how a full customer is read back.

use crate::db::{Cells, Sql, V, Writes, fetch_all, fetch_opt, in_list};
use aftercare_app::StoreError;
use aftercare_app::model::*;
use aftercare_domain::contact::PhoneNumber;
use aftercare_domain::customer::CustomerDraft;
use aftercare_domain::ids::*;
use sqlx::{Any, Executor};

#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct CustomerRec {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub company: Option<String>,
    pub title: Option<String>,
    pub birthday: Option<String>,
    pub account_manager_id: Option<i64>,
    pub account_manager_name: Option<String>,
    pub tier: Option<String>,
    pub habits: Option<String>,
    pub preferences: Option<String>,
    pub notes: Option<String>,
    pub source: Option<String>,
    pub external_ref: Option<String>,
    pub consent: String,
    pub tags: String,
    pub merged_into: Option<i64>,
    pub erased_at: Option<String>,
    pub lang: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct RowRec {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub company: Option<String>,
    pub primary_phone: Option<String>,
    pub primary_email: Option<String>,
    pub city: Option<String>,
    pub tags: String,
    pub created_at: String,
    pub name_sort: String,
}

pub(crate) const ROW_COLS: &str = "c.id, c.kind, c.name, c.company, c.primary_phone, c.primary_email, c.city, c.tags, c.created_at, c.name_sort";

pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

impl TryFrom<RowRec> for CustomerRow {
    type Error = StoreError;

    fn try_from(r: RowRec) -> Result<Self, StoreError> {
        let c = Cells::of("customers", r.id);
        Ok(CustomerRow {
            id: CustomerId(r.id),
            kind: c.code("kind", &r.kind)?,
            name: r.name,
            company: r.company,
            primary_phone: r
                .primary_phone
                .map(|p| PhoneNumber::from_stored(p).display()),
            primary_email: r.primary_email,
            city: r.city,
            tags: split_list(&r.tags),
            created_at: c.at("created_at", &r.created_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PhoneRec {
    number: String,
    label: Option<String>,
    is_primary: i64,
}
#[derive(sqlx::FromRow)]
struct EmailRec {
    address: String,
    is_primary: i64,
}
#[derive(sqlx::FromRow)]
struct AddressRec {
    label: Option<String>,
    province: Option<String>,
    city: Option<String>,
    district: Option<String>,
    street: String,
    postcode: Option<String>,
    is_primary: i64,
}
#[derive(sqlx::FromRow)]
struct FamilyRec {
    name: String,
    relation: String,
    birthday: Option<String>,
}
#[derive(sqlx::FromRow)]
struct DateRec {
    label: String,
    day: String,
}

/// One row of a customer's lists: `k` says which (0 phones, 1 emails, 2 addresses, 3
/// family, 4 important dates), `p` is "primary", `a`–`f` the list's own columns.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct ChildRec {
    k: i64,
    id: i64,
    p: i64,
    has_a: i64,
    a: Option<String>,
    b: Option<String>,
    c: Option<String>,
    d: Option<String>,
    e: Option<String>,
    f: Option<String>,
}

const CHILDREN: &str = "SELECT CAST(0 AS BIGINT) AS k, id, is_primary AS p, CAST(1 AS BIGINT) AS has_a, \
    number AS a, label AS b, CAST(NULL AS TEXT) AS c, CAST(NULL AS TEXT) AS d, CAST(NULL AS TEXT) AS e, CAST(NULL AS TEXT) AS f \
    FROM customer_phones WHERE customer_id = $1 \
    UNION ALL SELECT CAST(1 AS BIGINT), id, is_primary, CAST(1 AS BIGINT), address, NULL, NULL, NULL, NULL, NULL \
    FROM customer_emails WHERE customer_id = $1 \
    UNION ALL SELECT CAST(2 AS BIGINT), id, is_primary, CAST(CASE WHEN label IS NULL THEN 0 ELSE 1 END AS BIGINT), label, province, city, district, street, postcode \
    FROM customer_addresses WHERE customer_id = $1 \
    UNION ALL SELECT CAST(3 AS BIGINT), id, CAST(0 AS BIGINT), CAST(1 AS BIGINT), name, relation, birthday, NULL, NULL, NULL \
    FROM customer_family WHERE customer_id = $1 \
    UNION ALL SELECT CAST(4 AS BIGINT), id, CAST(0 AS BIGINT), CAST(1 AS BIGINT), label, day, NULL, NULL, NULL, NULL \
    FROM customer_dates WHERE customer_id = $1";

/// The two statements that read one customer with everything attached to it: the
/// customer, then the five lists in one statement (each statement is a round trip to the
/// connection: docs/decisions/0021). [`from_rows`] puts them together.
pub(crate) fn load_sql(id: i64) -> [Sql; 2] {
    [
        Sql::with(
            &CUSTOMER.replace("{TIER_IN_FORCE}", crate::value::TIER_IN_FORCE),
            vec![V::I(id)],
        ),
        Sql::with(CHILDREN, vec![V::I(id)]),
    ]
}

const CUSTOMER: &str = "SELECT c.id, c.kind, c.name, c.company, c.title, c.birthday, c.account_manager_id, \
     u.name AS account_manager_name, {TIER_IN_FORCE} AS tier, c.habits, c.preferences, c.notes, c.source, c.external_ref, c.consent, c.tags, \
     c.merged_into, c.erased_at, c.lang, c.created_at, c.updated_at, c.version \
     FROM customers c LEFT JOIN users u ON u.id = c.account_manager_id WHERE c.id = $1";

/// Reads one customer with everything attached to it.
pub(crate) async fn load<'c, E>(e: E, id: i64) -> Result<Option<Customer>, StoreError>
where
    E: Executor<'c, Database = Any> + Copy,
{
    let [customer, children] = load_sql(id);
    let Some(c): Option<CustomerRec> = fetch_opt(e, &customer.text, &customer.args).await? else {
        return Ok(None);
    };
    let rows: Vec<ChildRec> = fetch_all(e, &children.text, &children.args).await?;
    from_rows(c, rows).map(Some)
}

/// A customer from the rows of [`load_sql`]'s two statements.
pub(crate) fn from_rows(c: CustomerRec, rows: Vec<ChildRec>) -> Result<Customer, StoreError> {
    let (mut phones, mut emails, mut addresses, mut family, mut dates) =
        (vec![], vec![], vec![], vec![], vec![]);
    for r in rows {
        let a = r.a.unwrap_or_default();
        match r.k {
            0 => phones.push((
                r.p,
                r.id,
                PhoneRec {
                    number: a,
                    label: r.b,
                    is_primary: r.p,
                },
            )),
            1 => emails.push((
                r.p,
                r.id,
                EmailRec {
                    address: a,
                    is_primary: r.p,
                },
            )),
            2 => addresses.push((
                r.p,
                r.id,
                AddressRec {
                    label: Some(a).filter(|_| r.has_a != 0),
                    province: r.b,
                    city: r.c,
                    district: r.d,
                    street: r.e.unwrap_or_default(),
                    postcode: r.f,
                    is_primary: r.p,
                },
            )),
            3 => family.push((
                r.id,
                FamilyRec {
                    name: a,
                    relation: r.b.unwrap_or_default(),
                    birthday: r.c,
                },
            )),
            _ => dates.push((
                r.b.clone().unwrap_or_default(),
                r.id,
                DateRec {
                    label: a,
                    day: r.b.unwrap_or_default(),
                },
            )),
        }
    }
    // Primary first, then as entered; family as entered; dates by day.
    phones.sort_by_key(|(p, id, _)| (std::cmp::Reverse(*p), *id));
    emails.sort_by_key(|(p, id, _)| (std::cmp::Reverse(*p), *id));
    addresses.sort_by_key(|(p, id, _)| (std::cmp::Reverse(*p), *id));
    family.sort_by_key(|(id, _)| *id);
    dates.sort_by(|x, y| (&x.0, x.1).cmp(&(&y.0, y.1)));
    let phones = phones.into_iter().map(|(_, _, r)| r);
    let emails = emails.into_iter().map(|(_, _, r)| r);
    let addresses = addresses.into_iter().map(|(_, _, r)| r);
    let family = family.into_iter().map(|(_, r)| r);
    let dates = dates.into_iter().map(|(_, _, r)| r);
    let cells = Cells::of("customers", c.id);
    Ok(Customer {
        id: CustomerId(c.id),
        kind: cells.code("kind", &c.kind)?,
        name: c.name,
        company: c.company,
        title: c.title,
        birthday: c
            .birthday
            .as_deref()
            .map(|d| cells.date("birthday", d))
            .transpose()?,
        account_manager_id: c.account_manager_id.map(UserId),
        account_manager_name: c.account_manager_name,
        tier: cells.opt_code("tier", c.tier.as_deref())?,
        habits: c.habits,
        preferences: c.preferences,
        notes: c.notes,
        source: cells.opt_code("source", c.source.as_deref())?,
        external_ref: c.external_ref,
        // A record erased or merged away refers nobody.
        referral_code: (c.erased_at.is_none() && c.merged_into.is_none())
            .then(|| aftercare_domain::referral::referral_code(c.id))
            .flatten(),
        consent: split_list(&c.consent)
            .iter()
            .map(|x| cells.code("consent", x))
            .collect::<Result<_, _>>()?,
        tags: split_list(&c.tags),
        phones: phones
            .into_iter()
            .map(|p| PhoneView {
                display: PhoneNumber::from_stored(p.number.clone()).display(),
                number: p.number,
                label: p.label,
                primary: p.is_primary != 0,
            })
            .collect(),
        emails: emails
            .into_iter()
            .map(|m| EmailView {
                address: m.address,
                primary: m.is_primary != 0,
            })
            .collect(),
        addresses: addresses
            .into_iter()
            .map(|a| AddressView {
                label: a.label,
                province: a.province,
                city: a.city,
                district: a.district,
                street: a.street,
                postcode: a.postcode,
                primary: a.is_primary != 0,
            })
            .collect(),
        family: family
            .into_iter()
            .map(|f| FamilyView {
                name: f.name,
                relation: f.relation,
                birthday: f.birthday,
            })
            .collect(),
        important_dates: dates
            .into_iter()
            .map(|d| DateView {
                label: d.label,
                date: d.day,
            })
            .collect(),
        merged_into: c.merged_into.map(CustomerId),
        erased_at: c
            .erased_at
            .as_deref()
            .map(|at| cells.at("erased_at", at))
            .transpose()?,
        lang: c.lang,
        created_at: cells.at("created_at", &c.created_at)?,
        updated_at: cells.at("updated_at", &c.updated_at)?,
        version: c.version,
    })
}

/// The columns of `customers` a draft sets, in insert order, with their values.
pub(crate) fn columns(d: &CustomerDraft) -> Vec<(&'static str, V)> {
    let primary_phone = d
        .phones
        .iter()
        .find(|p| p.primary)
        .map(|p| p.number.as_str().to_string());
    let primary_email = d
        .emails
        .iter()
        .find(|p| p.primary)
        .map(|p| p.address.as_str().to_string());
    let city = d
        .addresses
        .iter()
        .find(|a| a.primary)
        .and_then(|a| a.city.clone());
    let list = |v: Vec<&str>| v.join(",");
    vec![
        ("kind", V::T(d.kind.code().into())),
        ("name", V::T(d.name.clone())),
        (
            "name_sort",
            V::T(aftercare_domain::customer::sort_key(&d.name)),
        ),
        ("company", V::OptT(d.company.clone())),
        ("title", V::OptT(d.title.clone())),
        ("birthday", V::OptT(d.birthday.map(|b| b.to_string()))),
        (
            "account_manager_id",
            V::OptI(d.account_manager_id.map(UserId::get)),
        ),
        ("habits", V::OptT(d.habits.clone())),
        ("preferences", V::OptT(d.preferences.clone())),
        ("notes", V::OptT(d.notes.clone())),
        ("source", V::OptT(d.source.map(|s| s.code().to_string()))),
        (
            "consent",
            V::T(list(d.consent.iter().map(|c| c.code()).collect())),
        ),
        ("tags", V::T(d.tags.join(","))),
        ("primary_phone", V::OptT(primary_phone)),
        ("primary_email", V::OptT(primary_email)),
        ("city", V::OptT(city)),
    ]
}

/// Adds the inserts of a customer's child rows to `w` (an update adds
/// [`delete_children`] first).
pub(crate) fn write_children(w: &mut Writes, id: i64, d: &CustomerDraft) {
    for p in &d.phones {
        w.add_apart(
            "INSERT INTO customer_phones (customer_id, number, label, is_primary) VALUES ($1, $2, $3, $4)",
            vec![V::I(id), V::T(p.number.as_str().into()), V::OptT(p.label.clone()), V::I(p.primary as i64)],
        );
    }
    for m in &d.emails {
        w.add_apart(
            "INSERT INTO customer_emails (customer_id, address, match_key, is_primary) VALUES ($1, $2, $3, $4)",
            vec![V::I(id), V::T(m.address.as_str().into()), V::T(m.address.match_key()), V::I(m.primary as i64)],
        );
    }
    for a in &d.addresses {
        w.add_apart(
            "INSERT INTO customer_addresses (customer_id, label, province, city, district, street, postcode, is_primary) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                V::I(id),
                V::OptT(a.label.clone()),
                V::OptT(a.province.clone()),
                V::OptT(a.city.clone()),
                V::OptT(a.district.clone()),
                V::T(a.street.clone()),
                V::OptT(a.postcode.clone()),
                V::I(a.primary as i64),
            ],
        );
    }
    for f in &d.family {
        w.add_apart(
            "INSERT INTO customer_family (customer_id, name, relation, birthday) VALUES ($1, $2, $3, $4)",
            vec![V::I(id), V::T(f.name.clone()), V::T(f.relation.clone()), V::OptT(f.birthday.map(|b| b.to_string()))],
        );
    }
    for dt in &d.dates {
        w.add_apart(
            "INSERT INTO customer_dates (customer_id, label, day) VALUES ($1, $2, $3)",
            vec![V::I(id), V::T(dt.label.clone()), V::T(dt.date.to_string())],
        );
    }
    for t in &d.tags {
        w.add_apart(
            "INSERT INTO customer_tags (customer_id, tag) VALUES ($1, $2)",
            vec![V::I(id), V::T(t.clone())],
        );
    }
}

/// Deletes the child rows of a customer (before an update writes them again): each table's
/// apart from the others, and all of them before what is added after.
pub(crate) fn delete_children(w: &mut Writes, id: i64) {
    for t in [
        "customer_phones",
        "customer_emails",
        "customer_addresses",
        "customer_family",
        "customer_dates",
        "customer_tags",
    ] {
        w.add_apart(
            &format!("DELETE FROM {t} WHERE customer_id = $1"),
            vec![V::I(id)],
        );
    }
    w.barrier();
}

/// Records the customers who share a phone or an email of `d` with customer `id` as
/// duplicate candidates (the smaller id first); pairs already known are left as they are.
pub(crate) fn duplicates_of(w: &mut Writes, id: i64, d: &CustomerDraft, now: &str) {
    let phones: Vec<String> = d.phones.iter().map(|p| p.number.as_str().into()).collect();
    let keys: Vec<String> = d.emails.iter().map(|m| m.address.match_key()).collect();
    record_duplicates(w, id, &phones, &keys, now)
}

/// [`duplicates_of`] with the phones and emails customer `id` has stored (after a
/// merge brought more).
pub(crate) async fn duplicates_of_stored(
    tx: &mut sqlx::AnyConnection,
    w: &mut Writes,
    id: i64,
    now: &str,
) -> Result<(), StoreError> {
    let phones: Vec<(String,)> = fetch_all(
        &mut *tx,
        "SELECT number FROM customer_phones WHERE customer_id = $1",
        &[V::I(id)],
    )
    .await?;
    let keys: Vec<(String,)> = fetch_all(
        &mut *tx,
        "SELECT match_key FROM customer_emails WHERE customer_id = $1",
        &[V::I(id)],
    )
    .await?;
    let phones: Vec<String> = phones.into_iter().map(|p| p.0).collect();
    let keys: Vec<String> = keys.into_iter().map(|k| k.0).collect();
    record_duplicates(w, id, &phones, &keys, now);
    Ok(())
}

/// One `INSERT … SELECT` per kind of contact, an indexed lookup of the given values that
/// almost always finds nobody. (One joining the customer's own stored rows instead of
/// their values did the same but took about a quarter of a create's time,
/// docs/benchmarks.md.)
fn record_duplicates(w: &mut Writes, id: i64, phones: &[String], keys: &[String], now: &str) {
    for (table, col, reason, values) in [
        ("customer_phones", "number", "phone", phones),
        ("customer_emails", "match_key", "email", keys),
    ] {
        if values.is_empty() {
            continue;
        }
        let mut sql = Sql::with(
            &format!(
                "INSERT INTO duplicate_candidates (a, b, reason, value, found_at) \
                 SELECT CASE WHEN customer_id < $1 THEN customer_id ELSE $1 END, \
                 CASE WHEN customer_id < $1 THEN $1 ELSE customer_id END, $2, {col}, $3 \
                 FROM {table} WHERE customer_id <> $1"
            ),
            vec![V::I(id), reason.into(), now.into()],
        );
        in_list(&mut sql, col, values);
        // The WHERE before it tells SQLite's parser this ON is not a join's.
        sql.push(" ON CONFLICT DO NOTHING");
        // It reads other customers' rows only, which nothing gathered with it writes.
        w.add_sql_apart(sql);
    }
}
