//! The `SearchSource` port over SQL: customers, requests (with their messages), feedback
//! and articles as search documents, and which of them the change log touched.

use crate::db::*;
use crate::store::SqlStore;
use aftercare_app::ports::StoreResult;
use aftercare_app::search::{SearchDoc, SearchSource};
use aftercare_domain::ids::*;
use async_trait::async_trait;
use std::collections::HashMap;

/// Which records: these ids, or the next page after an id.
enum Which<'a> {
    Ids(&'a [i64]),
    After(i64, u32),
}

fn finish(sql: &mut Sql, col: &str, which: &Which) {
    match which {
        Which::Ids(ids) => in_list(sql, col, ids),
        Which::After(after, limit) => {
            sql.push(&format!(" AND {col} > ")).bind(V::I(*after));
            sql.push(&format!(" ORDER BY {col} LIMIT "))
                .bind(V::I(i64::from(*limit)));
        }
    }
}

fn join(parts: &[&Option<String>]) -> String {
    parts
        .iter()
        .filter_map(|p| p.as_deref())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl SqlStore {
    async fn docs(&self, kind: &str, which: Which<'_>) -> StoreResult<Vec<SearchDoc>> {
        match kind {
            "customer" => {
                let mut sql = Sql::new(
                    "SELECT c.id, c.name, c.company, c.notes, c.habits, c.preferences, c.primary_phone, \
                     c.primary_email, c.city, c.tags, c.updated_at FROM customers c WHERE c.merged_into IS NULL",
                );
                finish(&mut sql, "c.id", &which);
                #[allow(clippy::type_complexity)]
                let rows: Vec<(
                    i64,
                    String,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    Option<String>,
                    String,
                    String,
                )> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(
                            id,
                            name,
                            company,
                            notes,
                            habits,
                            prefs,
                            phone,
                            email,
                            city,
                            tags,
                            at,
                        )| SearchDoc {
                            kind: "customer",
                            id,
                            title: name,
                            body: join(&[&company, &notes, &habits, &prefs]),
                            extra: format!(
                                "{} {}",
                                join(&[&phone, &email, &city]),
                                tags.replace(',', " ")
                            ),
                            outlet_id: None,
                            published: true,
                            at,
                        },
                    )
                    .collect())
            }
            "request" => {
                let mut sql = Sql::new(
                    "SELECT r.id, r.number, r.subject, r.description, c.name, r.outlet_id, r.created_at \
                     FROM requests r JOIN customers c ON c.id = r.customer_id WHERE 1 = 1",
                );
                finish(&mut sql, "r.id", &which);
                #[allow(clippy::type_complexity)]
                let rows: Vec<(
                    i64,
                    String,
                    String,
                    String,
                    String,
                    Option<i64>,
                    String,
                )> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
                let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
                let mut messages: HashMap<i64, String> = HashMap::new();
                for chunk in ids.chunks(200) {
                    let mut sql = Sql::new(
                        "SELECT request_id, body FROM request_messages WHERE kind IN ('customer', 'reply')",
                    );
                    in_list(&mut sql, "request_id", chunk);
                    sql.push(" ORDER BY id");
                    let rows: Vec<(i64, String)> =
                        fetch_all(&self.db.read, &sql.text, &sql.args).await?;
                    for (rid, body) in rows {
                        let m = messages.entry(rid).or_default();
                        if m.chars().count() < 20_000 {
                            m.push('\n');
                            m.push_str(&body);
                        }
                    }
                }
                Ok(rows
                    .into_iter()
                    .map(
                        |(id, number, subject, description, customer, outlet, at)| SearchDoc {
                            kind: "request",
                            id,
                            title: format!("{number} {subject}"),
                            body: format!(
                                "{description}{}",
                                messages.remove(&id).unwrap_or_default()
                            ),
                            extra: customer,
                            outlet_id: outlet.map(OutletId),
                            published: true,
                            at,
                        },
                    )
                    .collect())
            }
            "feedback" => {
                let mut sql = Sql::new(
                    "SELECT f.id, c.name, p.name, f.body, f.topic, f.keywords, f.outlet_id, f.received_at \
                     FROM feedback_items f LEFT JOIN customers c ON c.id = f.customer_id \
                     LEFT JOIN products p ON p.id = f.product_id WHERE 1 = 1",
                );
                finish(&mut sql, "f.id", &which);
                #[allow(clippy::type_complexity)]
                let rows: Vec<(
                    i64,
                    Option<String>,
                    Option<String>,
                    String,
                    Option<String>,
                    Option<String>,
                    Option<i64>,
                    String,
                )> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(id, customer, product, body, topic, keywords, outlet, at)| SearchDoc {
                            kind: "feedback",
                            id,
                            title: join(&[&customer, &product]),
                            body,
                            extra: join(&[&topic, &keywords]),
                            outlet_id: outlet.map(OutletId),
                            published: true,
                            at,
                        },
                    )
                    .collect())
            }
            "article" => {
                let mut sql = Sql::new(
                    "SELECT a.id, a.title_zh_hans, a.title_zh_hant, a.title_en, a.body_zh_hans, a.body_zh_hant, \
                     a.body_en, a.published, a.updated_at FROM articles a WHERE 1 = 1",
                );
                finish(&mut sql, "a.id", &which);
                #[allow(clippy::type_complexity)]
                let rows: Vec<(
                    i64,
                    String,
                    String,
                    String,
                    String,
                    String,
                    String,
                    i64,
                    String,
                )> = fetch_all(&self.db.read, &sql.text, &sql.args).await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, t1, t2, t3, b1, b2, b3, published, at)| SearchDoc {
                        kind: "article",
                        id,
                        title: t1,
                        body: format!("{b1}\n{b2}\n{b3}"),
                        extra: format!("{t2} {t3}"),
                        outlet_id: None,
                        published: published != 0,
                        at,
                    })
                    .collect())
            }
            _ => Ok(vec![]),
        }
    }
}

#[async_trait]
impl SearchSource for SqlStore {
    async fn search_docs(&self, kind: &str, ids: &[i64]) -> StoreResult<Vec<SearchDoc>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            out.extend(self.docs(kind, Which::Ids(chunk)).await?);
        }
        Ok(out)
    }

    async fn search_docs_after(
        &self,
        kind: &str,
        after: i64,
        limit: u32,
    ) -> StoreResult<Vec<SearchDoc>> {
        self.docs(kind, Which::After(after, limit)).await
    }
}
