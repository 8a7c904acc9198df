//! The `SearchIndex` port.

use crate::search_model::*;

/// The full-text index (tantivy in `aftercare-search`). Its calls block: the app runs them
/// off the async threads.
pub trait SearchIndex: Send + Sync {
    /// The last change-log event applied; -1 while a rebuild is incomplete.
    fn cursor(&self) -> Result<i64, String>;
    /// Replaces these documents and removes these (kind, id), then commits with the cursor.
    fn apply(
        &self,
        upserts: &[SearchDoc],
        deletes: &[(&'static str, i64)],
        cursor: i64,
    ) -> Result<(), String>;
    /// Rewrites the parts of the index that still hold removed or replaced documents, so
    /// their text is gone from disk too (after an erasure), and deletes unused files.
    fn purge(&self) -> Result<(), String>;
    /// Removes everything (a rebuild starts with it).
    fn clear(&self) -> Result<(), String>;
    fn search(
        &self,
        q: &str,
        kind: Option<&str>,
        v: Visibility,
        limit: usize,
    ) -> Result<SearchResults, String>;
    /// Documents in the index and its size on disk, in bytes.
    fn stats(&self) -> Result<(u64, u64), String>;
}
