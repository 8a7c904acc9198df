//! Full-text search over customers, requests, feedback and articles (C6). The index is a
//! port (`SearchIndex`, implemented with tantivy in `aftercare-search`); it is fed from the
//! change log, answers only what the caller may open, and is rebuilt from the database by
//! `aftercare reindex`.

use crate::error::AppError;
use crate::ports;
pub use crate::ports::SearchIndex;
pub use crate::ports::SearchSource;
pub use crate::search_model::*;
use crate::service::{App, Principal};
use aftercare_domain::OutletId;
use aftercare_domain::account::Permission;
use std::sync::Arc;

/// What can be found, in the order the results page shows them.
pub const KINDS: &[&str] = &["customer", "request", "feedback", "article"];

/// Change-log events read per refresh round.
const EVENTS_PER_ROUND: u32 = 5_000;

/// Documents read and indexed per step of a rebuild.
const REBUILD_BATCH: u32 = 2_000;

fn url_of(kind: &str, id: i64) -> String {
    match kind {
        "customer" => format!("/customers/{id}"),
        "request" => format!("/requests/{id}"),
        "feedback" => format!("/feedback/{id}"),
        _ => format!("/articles/{id}"),
    }
}

/// `SR-2026-000123` from `SR-2026-000123`, `sr2026000123` or `SR-2026-123`: the document
/// number of this prefix the text is, if it is one.
fn document_number(compact: &str, prefix: &str) -> Option<String> {
    let rest = compact.strip_prefix(prefix)?.trim_start_matches('-');
    let (year, seq) = match rest.split_once('-') {
        Some((y, s)) => (y.to_owned(), s.to_owned()),
        None if rest.len() > 4 => (rest[..4].to_owned(), rest[4..].to_owned()),
        None => return None,
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if year.len() != 4 || !digits(&year) || !digits(&seq) || seq.len() > 6 {
        return None;
    }
    Some(format!("{prefix}-{year}-{:0>6}", seq))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn unavailable() -> AppError {
    AppError::Conflict {
        code: "search_unavailable",
        field: None,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Internal(format!("search: {e}")))?
        .map_err(|e| AppError::Internal(format!("search: {e}")))
}

impl<S> App<S>
where
    S: ?Sized
        + Send
        + Sync
        + ports::ChangeLog
        + ports::CustomerStore
        + ports::DeskSetupStore
        + ports::OrderStore
        + ports::RequestStore
        + ports::SearchSource,
{
    fn index(&self) -> Result<Arc<dyn SearchIndex>, AppError> {
        self.search.clone().ok_or_else(unavailable)
    }

    /// Searches what the caller may open, ranked, with the matched words highlighted.
    pub async fn search(&self, p: &Principal, q: &SearchQuery) -> Result<SearchResults, AppError> {
        p.require(Permission::Read)?;
        let text = q.q.trim().to_owned();
        let mut inv = aftercare_domain::Invalid::default();
        if text.is_empty() {
            inv.push("q", "required");
        } else if text.chars().count() > 200 {
            inv.push("q", "too_long");
        }
        let kind = q
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        if kind.as_deref().is_some_and(|k| !KINDS.contains(&k)) {
            inv.push("kind", "search_kind_unknown");
        }
        inv.into_result()?;
        let v = Visibility {
            outlet: self.partner_outlet(p).await?.map(OutletId::get),
            drafts: p.role.allows(Permission::ManageDesk),
        };
        let limit = q.limit.unwrap_or(20).clamp(1, 100);
        let exact = self.direct_matches(&text, kind.as_deref(), v).await?;
        let index = self.index()?;
        let mut r = blocking(move || index.search(&text, kind.as_deref(), v, limit)).await?;
        for h in &mut r.hits {
            h.url = url_of(&h.kind, h.id);
        }
        r.hits
            .retain(|h| !exact.iter().any(|e| e.kind == h.kind && e.id == h.id));
        r.exact = exact;
        Ok(r)
    }

    /// What the words name directly: a request or order number, or customers the customer
    /// list finds by them (phone in any spelling, serial, name or pinyin, email). A
    /// partner outlet's staff get their own outlet's requests only, and no customer or
    /// order lookups (they see the customers they serve through their requests).
    async fn direct_matches(
        &self,
        text: &str,
        kind: Option<&str>,
        v: Visibility,
    ) -> Result<Vec<SearchHit>, AppError> {
        let wants = |k: &str| kind.is_none_or(|x| x == k);
        let mut out = Vec::new();
        let hit = |kind: &str, id: i64, title: String, snippet: String, at: String| SearchHit {
            kind: kind.into(),
            url: match kind {
                "order" => format!("/orders/{id}"),
                k => url_of(k, id),
            },
            id,
            title: html_escape(&title),
            snippet: html_escape(&snippet),
            score: f32::MAX,
            at,
        };
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        if let Some(number) = document_number(&compact, "SR") {
            if wants("request")
                && let Some(id) = self.store.request_id_by_number(&number).await?
                && let Some(r) = self.store.request(id).await?
                && v.outlet
                    .is_none_or(|o| r.outlet_id.map(|x| x.get()) == Some(o))
            {
                out.push(hit(
                    "request",
                    id.get(),
                    format!("{} {}", r.number, r.subject),
                    r.customer_name.clone(),
                    crate::ports::stamp(r.created_at),
                ));
            }
            return Ok(out);
        }
        if v.outlet.is_some() {
            return Ok(out);
        }
        if let Some(number) = document_number(&compact, "SO") {
            if wants("order") {
                let q = crate::input::OrderQuery {
                    q: Some(number.clone()),
                    limit: Some(2),
                    ..Default::default()
                };
                for o in self.store.orders(&q).await?.items {
                    if o.number == number {
                        out.push(hit(
                            "order",
                            o.id.get(),
                            o.number.clone(),
                            o.customer_name.clone(),
                            o.ordered_on.to_string(),
                        ));
                    }
                }
            }
            return Ok(out);
        }
        if wants("customer") {
            let q = crate::input::CustomerQuery {
                q: Some(text.to_owned()),
                limit: Some(5),
                ..Default::default()
            };
            for c in self.store.customers(&q).await?.items {
                let snippet = [c.primary_phone.as_deref(), c.city.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · ");
                out.push(hit(
                    "customer",
                    c.id.get(),
                    c.name.clone(),
                    snippet,
                    crate::ports::stamp(c.created_at),
                ));
            }
        }
        Ok(out)
    }

    /// One refresh round: the records the change log touched since the index's cursor are
    /// indexed again (or removed when gone). Without an index, nothing.
    pub async fn refresh_search(&self) -> Result<SearchRefresh, AppError> {
        let Some(index) = self.search.clone() else {
            return Ok(SearchRefresh::default());
        };
        let after = {
            let index = index.clone();
            blocking(move || index.cursor()).await?
        };
        if after < 0 {
            // A rebuild was interrupted: only a rebuild can finish it.
            return Ok(SearchRefresh::default());
        }
        let batch = self.changes_after(after, EVENTS_PER_ROUND, KINDS).await?;
        if batch.is_empty() {
            return Ok(SearchRefresh::default());
        }
        let last = batch.last;
        let touched = crate::jobs::changes::records_touched(&batch.events, KINDS);
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        for kind in KINDS {
            let mut ids: Vec<i64> = touched
                .iter()
                .filter(|(k, _)| k == kind)
                .map(|(_, id)| *id)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                continue;
            }
            let docs = self.store.search_docs(kind, &ids).await?;
            for id in &ids {
                if !docs.iter().any(|d| d.id == *id) {
                    deletes.push((*kind, *id));
                }
            }
            upserts.extend(docs);
        }
        let r = SearchRefresh {
            events: batch.span(),
            indexed: upserts.len(),
            removed: deletes.len(),
            more: batch.full(EVENTS_PER_ROUND),
        };
        // After an erasure, the replaced documents' text must leave the disk too.
        let purge = batch.events.iter().any(|e| e.kind == "customer.erase");
        blocking(move || {
            index.apply(&upserts, &deletes, last)?;
            if purge { index.purge() } else { Ok(()) }
        })
        .await?;
        Ok(r)
    }

    /// Rebuilds the index from the database: everything is read again, in batches;
    /// `progress(done)` after each. Changes made meanwhile are caught up by the next
    /// refresh (the cursor is the newest event before the rebuild began).
    pub async fn reindex(&self, progress: &(dyn Fn(u64) + Send + Sync)) -> Result<u64, AppError> {
        let index = self.index()?;
        let latest = self.store.latest_event_id().await?;
        {
            let index = index.clone();
            blocking(move || index.clear()).await?;
        }
        let mut done = 0u64;
        for kind in KINDS {
            let mut after = 0;
            loop {
                let docs = self
                    .store
                    .search_docs_after(kind, after, REBUILD_BATCH)
                    .await?;
                let Some(last) = docs.last() else { break };
                after = last.id;
                done += docs.len() as u64;
                let index = index.clone();
                blocking(move || index.apply(&docs, &[], -1)).await?;
                progress(done);
            }
        }
        blocking(move || index.apply(&[], &[], latest)).await?;
        Ok(done)
    }

    /// The last change-log event the index has (-1: a rebuild broke off).
    pub async fn search_cursor(&self) -> Result<i64, AppError> {
        let index = self.index()?;
        blocking(move || index.cursor()).await
    }

    /// Documents in the index and its size on disk.
    pub async fn search_stats(&self) -> Result<(u64, u64), AppError> {
        let index = self.index()?;
        blocking(move || index.stats()).await
    }
}

#[cfg(test)]
mod direct_tests {
    use super::document_number;

    #[test]
    fn document_numbers_are_read_in_any_spelling() {
        for typed in [
            "SR-2026-000123",
            "SR2026000123",
            "SR-2026-123",
            "SR2026-000123",
        ] {
            assert_eq!(
                document_number(typed, "SR").as_deref(),
                Some("SR-2026-000123"),
                "{typed}"
            );
        }
        assert_eq!(
            document_number("SO-2025-000007", "SO").as_deref(),
            Some("SO-2025-000007")
        );
        for not in ["SR", "SRX", "SR-26-1", "SR-2026-1234567", "SR-ABCD-000001"] {
            assert_eq!(document_number(not, "SR"), None, "{not}");
        }
    }
}
