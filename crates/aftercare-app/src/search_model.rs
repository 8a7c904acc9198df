//! What the search use cases and their port exchange: records, inputs and answers.

use aftercare_domain::ids::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A record as the index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchDoc {
    /// customer, request, feedback or article.
    pub kind: &'static str,
    pub id: i64,
    /// What the result shows as its title (a name, a number and subject, …).
    pub title: String,
    pub body: String,
    /// Searchable but not shown: phone numbers, emails, tags, names of the customer.
    pub extra: String,
    /// The outlet a request or feedback belongs to (partners see only their own).
    pub outlet_id: Option<OutletId>,
    /// False for an unpublished article (only desk managers find it).
    pub published: bool,
    pub at: String,
}

/// What a caller may find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility {
    /// Requests and feedback of this outlet only (a partner's staff).
    pub outlet: Option<i64>,
    /// Unpublished articles too.
    pub drafts: bool,
}

/// One result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchHit {
    pub kind: String,
    pub id: i64,
    /// The title with the matched words in `<b>…</b>` (HTML, the rest escaped).
    pub title: String,
    /// A passage of the text with the matched words in `<b>…</b>` (HTML, escaped).
    pub snippet: String,
    pub score: f32,
    pub at: String,
    /// Where to open it.
    pub url: String,
}

/// How many matches of one kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KindCount {
    pub kind: String,
    pub count: usize,
}

/// The results of a search.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SearchResults {
    /// Matches of the chosen kind (or all kinds) the caller may open.
    pub total: usize,
    /// Matches per kind (for the filter), whatever kind was chosen.
    pub by_kind: Vec<KindCount>,
    /// Counting stopped at 10,000 matches: the counts are "at least".
    pub capped: bool,
    /// Direct matches, shown first: a request or an order by its number, customers by
    /// phone number in any spelling, serial number of an item, name or its pinyin
    /// (`zhangchao`), or email. Not repeated among `hits`.
    #[serde(default)]
    pub exact: Vec<SearchHit>,
    pub hits: Vec<SearchHit>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct SearchQuery {
    /// Words, in Chinese (simplified or traditional) or English; phone numbers, numbers.
    pub q: String,
    /// customer, request, feedback or article; all when absent.
    pub kind: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<usize>,
}

/// What a refresh round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SearchRefresh {
    pub events: usize,
    pub indexed: usize,
    pub removed: usize,
    /// More of the log was waiting: the next round should come at once.
    pub more: bool,
}
