//! Aftercare's full-text index: tantivy, with a tokenizer that segments Chinese with jieba
//! (search mode: long words and their parts) after folding traditional characters to
//! simplified, so 密封條 finds 密封条 and the other way round, while the offsets point into
//! the original text for highlighting. Implements `aftercare_app::search::SearchIndex`.

use aftercare_app::search::KINDS;
use aftercare_app::search::{
    KindCount, SearchDoc, SearchHit, SearchIndex, SearchResults, Visibility,
};
use jieba_rs::Jieba;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::collector::TopDocs;
use tantivy::query::EnableScoring;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TantivyDocument,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{DocSet, TERMINATED};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term, doc};

/// The name the tokenizer is registered under.
const TOKENIZER: &str = "aftercare_zh";
/// Memory for the writer's buffers.
const WRITER_MEMORY: usize = 32 * 1024 * 1024;
/// The writer's indexing threads. One: the change log's rounds hand it a few hundred
/// documents at a time, and a full rebuild waits on the database's reads, not on the
/// indexing (100k documents in 3.8 s with one, 4.1 s with two). Each thread builds
/// segments of its own in buffers of its own: two held about 30 MB more under load
/// (docs/benchmarks.md, stop 31).
const WRITER_THREADS: usize = 1;

/// jieba in search mode over text folded to simplified Chinese and lower case.
#[derive(Clone)]
pub struct ZhTokenizer {
    jieba: Arc<Jieba>,
}

impl ZhTokenizer {
    pub fn new(jieba: Arc<Jieba>) -> Self {
        ZhTokenizer { jieba }
    }

    /// The words of a query: folded like the text, cut whole (the index also holds the
    /// parts of long words), each once.
    pub fn query_words(&self, q: &str) -> Vec<String> {
        let folded = aftercare_insight::text::normalise(q);
        let mut out: Vec<String> = Vec::new();
        for t in self.jieba.cut(&folded, true) {
            let w = t.word.trim();
            if w.chars().any(char::is_alphanumeric) && !out.iter().any(|o| o == w) {
                out.push(w.to_owned());
            }
        }
        out
    }

    /// The tokens of `text`, offsets in `text` itself.
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let folded = aftercare_insight::text::normalise(text);
        // Folding maps character to character; when it does not (a rare phrase), the
        // offsets fall back to the folded text's, which only shifts highlighting.
        let starts: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .chain([text.len()])
            .collect();
        let same = folded.chars().count() == text.chars().count();
        let mut out = Vec::new();
        for t in self.jieba.cut_for_search(&folded, true) {
            if !t.word.chars().any(char::is_alphanumeric) {
                continue;
            }
            let (from, to) = if same {
                (starts[t.start], starts[t.end])
            } else {
                (t.byte_start.min(text.len()), t.byte_end.min(text.len()))
            };
            out.push(Token {
                offset_from: from,
                offset_to: to,
                position: out.len(),
                text: t.word.to_owned(),
                position_length: 1,
            });
        }
        out
    }
}

pub struct ZhTokenStream {
    tokens: Vec<Token>,
    at: usize,
}

impl TokenStream for ZhTokenStream {
    fn advance(&mut self) -> bool {
        self.at += 1;
        self.at <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.at - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.at - 1]
    }
}

impl Tokenizer for ZhTokenizer {
    type TokenStream<'a> = ZhTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> ZhTokenStream {
        ZhTokenStream {
            tokens: self.tokens(text),
            at: 0,
        }
    }
}

#[derive(Clone, Copy)]
struct Fields {
    key: Field,
    kind: Field,
    kind_code: Field,
    id: Field,
    title: Field,
    body: Field,
    extra: Field,
    gate: Field,
    published: Field,
    at: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { o.set_stored() } else { o }
    };
    let f = Fields {
        key: b.add_text_field("key", STRING),
        kind: b.add_text_field("kind", STRING | STORED),
        kind_code: b.add_i64_field("kind_code", FAST),
        id: b.add_i64_field("id", STORED),
        title: b.add_text_field("title", text(true)),
        body: b.add_text_field("body", text(true)),
        extra: b.add_text_field("extra", text(false)),
        gate: b.add_text_field("gate", STRING),
        published: b.add_i64_field("published", INDEXED | FAST),
        at: b.add_text_field("at", STORED),
    };
    (b.build(), f)
}

/// The index on disk, with its one writer.
pub struct TantivyIndex {
    index: Index,
    tokenizer: ZhTokenizer,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    dir: std::path::PathBuf,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The gate terms of a document: its kind, and its kind within who may find it (everyone
/// for customers and articles, an outlet's staff for requests and feedback).
fn gates(d: &SearchDoc) -> [String; 2] {
    let scope = match (d.kind, d.outlet_id) {
        ("request" | "feedback", Some(o)) => format!("outlet:{o}"),
        ("request" | "feedback", None) => "outlet:none".into(),
        _ => "all".into(),
    };
    [d.kind.to_owned(), format!("{}@{scope}", d.kind)]
}

/// Matches counted per kind at most; beyond, counts read "at least".
pub const COUNT_CAP: usize = 10_000;

/// A kind's place in `KINDS`, the fast field counted per kind.
fn kind_code(kind: &str) -> i64 {
    KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len()) as i64
}

/// Counts the matches of `query` per kind, up to `COUNT_CAP` in all: a common word over
/// millions of documents costs no more than a rare one. Returns the counts and whether
/// the cap was reached.
fn count_kinds(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    skip_drafts: bool,
) -> tantivy::Result<([usize; 5], bool)> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut counts = [0usize; 5];
    let mut seen = 0usize;
    for segment in searcher.segment_readers() {
        let kinds = segment.fast_fields().i64("kind_code")?;
        let published = segment.fast_fields().i64("published")?;
        let alive = segment.alive_bitset();
        let mut docs = weight.scorer(segment, 1.0)?;
        let mut doc = docs.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc))
                && !(skip_drafts && published.first(doc) == Some(0))
            {
                counts[kinds.first(doc).unwrap_or(4).clamp(0, 4) as usize] += 1;
                seen += 1;
                if seen >= COUNT_CAP {
                    return Ok((counts, true));
                }
            }
            doc = docs.advance();
        }
    }
    Ok((counts, false))
}

fn key(kind: &str, id: i64) -> String {
    format!("{kind}:{id}")
}

/// Characters a snippet may not break HTML with (tantivy escapes its own output; titles
/// are built here).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl TantivyIndex {
    /// Opens the index in `dir`, creating it when there is none. Fails when another
    /// process holds it (one writer per index).
    pub fn open(dir: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let (schema, fields) = schema();
        let mmap = tantivy::directory::MmapDirectory::open(dir).map_err(err)?;
        let index = Index::open_or_create(mmap, schema).map_err(err)?;
        let tokenizer = ZhTokenizer::new(Arc::new(Jieba::new()));
        index.tokenizers().register(TOKENIZER, tokenizer.clone());
        let writer = index
            .writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY)
            .map_err(|e| {
                format!(
                    "the search index in {} is in use or broken: {e}",
                    dir.display()
                )
            })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        Ok(TantivyIndex {
            index,
            tokenizer,
            reader,
            writer: Mutex::new(writer),
            fields,
            dir: dir.to_owned(),
        })
    }

    fn hit(
        &self,
        searcher: &tantivy::Searcher,
        d: &TantivyDocument,
        score: f32,
        gens: &(SnippetGenerator, SnippetGenerator),
    ) -> SearchHit {
        let f = self.fields;
        let text = |field: Field| {
            d.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let _ = searcher;
        let title_snip = gens.0.snippet_from_doc(d);
        let title = if title_snip.highlighted().is_empty() {
            escape(&text(f.title))
        } else {
            title_snip.to_html()
        };
        let body_snip = gens.1.snippet_from_doc(d);
        let snippet = if body_snip.is_empty() {
            escape(&text(f.body).chars().take(120).collect::<String>())
        } else {
            body_snip.to_html()
        };
        SearchHit {
            kind: text(f.kind),
            id: d.get_first(f.id).and_then(|v| v.as_i64()).unwrap_or(0),
            title,
            snippet,
            score,
            at: text(f.at),
            url: String::new(),
        }
    }
}

impl SearchIndex for TantivyIndex {
    fn cursor(&self) -> Result<i64, String> {
        let metas = self.index.load_metas().map_err(err)?;
        Ok(metas.payload.and_then(|p| p.parse().ok()).unwrap_or(0))
    }

    fn apply(
        &self,
        upserts: &[SearchDoc],
        deletes: &[(&'static str, i64)],
        cursor: i64,
    ) -> Result<(), String> {
        let f = self.fields;
        let mut w = self
            .writer
            .lock()
            .map_err(|_| "the index writer lock is poisoned".to_owned())?;
        for (kind, id) in deletes {
            w.delete_term(Term::from_field_text(f.key, &key(kind, *id)));
        }
        for d in upserts {
            w.delete_term(Term::from_field_text(f.key, &key(d.kind, d.id)));
            let [g0, g1] = gates(d);
            w.add_document(doc!(
                f.key => key(d.kind, d.id),
                f.kind => d.kind,
                f.kind_code => kind_code(d.kind),
                f.id => d.id,
                f.title => d.title.as_str(),
                f.body => d.body.as_str(),
                f.extra => d.extra.as_str(),
                f.gate => g0,
                f.gate => g1,
                f.published => i64::from(d.published),
                f.at => d.at.as_str(),
            ))
            .map_err(err)?;
        }
        let mut commit = w.prepare_commit().map_err(err)?;
        commit.set_payload(&cursor.to_string());
        commit.commit().map_err(err)?;
        drop(w);
        self.reader.reload().map_err(err)
    }

    fn purge(&self) -> Result<(), String> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| "the index writer lock is poisoned".to_owned())?;
        let with_deletes: Vec<_> = self
            .index
            .searchable_segment_metas()
            .map_err(err)?
            .into_iter()
            .filter(|m| m.has_deletes())
            .map(|m| m.id())
            .collect();
        if !with_deletes.is_empty() {
            // A segment already in a background merge is refused here; that merge drops
            // its deleted documents too.
            if let Err(e) = w.merge(&with_deletes).wait() {
                tracing::info!("search: purge left to a running merge: {e}");
            }
        }
        w.garbage_collect_files().wait().map_err(err)?;
        drop(w);
        self.reader.reload().map_err(err)
    }

    fn clear(&self) -> Result<(), String> {
        let mut w = self
            .writer
            .lock()
            .map_err(|_| "the index writer lock is poisoned".to_owned())?;
        w.delete_all_documents().map_err(err)?;
        let mut commit = w.prepare_commit().map_err(err)?;
        commit.set_payload("-1");
        commit.commit().map_err(err)?;
        drop(w);
        self.reader.reload().map_err(err)
    }

    fn search(
        &self,
        q: &str,
        kind: Option<&str>,
        v: Visibility,
        limit: usize,
    ) -> Result<SearchResults, String> {
        let f = self.fields;
        let searcher = self.reader.searcher();
        // The words as one list of alternatives over title (counting double), body and the
        // rest, ranked by BM25: whole words as jieba cuts them (the index also holds their
        // parts), no phrases and no query syntax, so tantivy's block-max WAND can skip
        // what cannot reach the top.
        let mut terms: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in self.tokenizer.query_words(q) {
            for (field, boost) in [(f.title, 2.0), (f.body, 1.0), (f.extra, 1.0)] {
                let t: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, &word),
                    IndexRecordOption::WithFreqs,
                ));
                let t: Box<dyn Query> = if boost == 1.0 {
                    t
                } else {
                    Box::new(tantivy::query::BoostQuery::new(t, boost))
                };
                terms.push((Occur::Should, t));
            }
        }
        if terms.is_empty() {
            return Ok(SearchResults::default());
        }
        let text_query: Box<dyn Query> = Box::new(BooleanQuery::new(terms));
        // Which documents the caller may find, as gate terms: a kind, and for a partner's
        // staff the kind within their outlet (customers and articles are everyone's).
        let gate = |g: String| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(f.gate, &g),
                IndexRecordOption::Basic,
            ))
        };
        let kinds: Vec<&str> = match kind {
            Some(k) => vec![k],
            None => KINDS.to_vec(),
        };
        let gates: Option<Vec<String>> = match (kind, v.outlet) {
            (None, None) => None,
            (Some(k), None) => Some(vec![k.to_owned()]),
            (_, Some(o)) => Some(
                kinds
                    .iter()
                    .map(|k| match *k {
                        "request" | "feedback" => format!("{k}@outlet:{o}"),
                        _ => format!("{k}@all"),
                    })
                    .collect(),
            ),
        };
        let filtered = |gates: &[String]| -> Box<dyn Query> {
            let any: Box<dyn Query> = if gates.len() == 1 {
                gate(gates[0].clone())
            } else {
                Box::new(BooleanQuery::new(
                    gates
                        .iter()
                        .map(|g| (Occur::Should, gate(g.clone())))
                        .collect(),
                ))
            };
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, text_query.box_clone()),
                (Occur::Must, any),
            ]))
        };
        let query: Box<dyn Query> = match &gates {
            None => text_query.box_clone(),
            Some(g) => filtered(g),
        };
        // Unpublished articles are few: ranked with the rest and dropped after, unless the
        // caller may open them.
        let drafts = if v.drafts {
            0
        } else {
            searcher
                .doc_freq(&Term::from_field_i64(f.published, 0))
                .map_err(err)? as usize
        };
        let ranked = searcher
            .search(
                &*query,
                &TopDocs::with_limit(limit + drafts).order_by_score(),
            )
            .map_err(err)?;
        let top: Vec<_> = ranked
            .into_iter()
            .filter(|(_, addr)| {
                drafts == 0 || {
                    let ff = searcher.segment_reader(addr.segment_ord).fast_fields();
                    ff.i64("published").ok().and_then(|c| c.first(addr.doc_id)) != Some(0)
                }
            })
            .take(limit)
            .collect();
        // Counts per kind under the caller's visibility (not the chosen kind), capped so
        // that a common word costs no more than a rare one.
        let count_gates: Option<Vec<String>> = v.outlet.map(|o| {
            KINDS
                .iter()
                .map(|k| match *k {
                    "request" | "feedback" => format!("{k}@outlet:{o}"),
                    _ => format!("{k}@all"),
                })
                .collect()
        });
        let counted: Box<dyn Query> = match &count_gates {
            None => text_query.box_clone(),
            Some(g) => filtered(g),
        };
        let (mut counts, capped) = count_kinds(&searcher, &*counted, !v.drafts).map_err(err)?;
        counts[4] = 0;
        let by_kind: Vec<KindCount> = KINDS
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| KindCount {
                kind: (*k).to_owned(),
                count: n,
            })
            .collect();
        let total = match kind {
            Some(k) => by_kind.iter().find(|c| c.kind == k).map_or(0, |c| c.count),
            None => by_kind.iter().map(|c| c.count).sum(),
        };
        let query = text_query;
        let mut title_gen = SnippetGenerator::create(&searcher, &*query, f.title).map_err(err)?;
        title_gen.set_max_num_chars(200);
        let mut body_gen = SnippetGenerator::create(&searcher, &*query, f.body).map_err(err)?;
        body_gen.set_max_num_chars(120);
        let gens = (title_gen, body_gen);
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(err)?;
            hits.push(self.hit(&searcher, &d, score, &gens));
        }
        Ok(SearchResults {
            total,
            by_kind,
            capped,
            exact: vec![],
            hits,
        })
    }

    fn stats(&self) -> Result<(u64, u64), String> {
        let docs = self.reader.searcher().num_docs();
        let mut bytes = 0u64;
        for e in std::fs::read_dir(&self.dir).map_err(err)? {
            let e = e.map_err(err)?;
            bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
        }
        Ok((docs, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(kind: &'static str, id: i64, title: &str, body: &str, outlet: Option<i64>) -> SearchDoc {
        SearchDoc {
            kind,
            id,
            title: title.into(),
            body: body.into(),
            extra: String::new(),
            outlet_id: outlet.map(Into::into),
            published: true,
            at: "2026-06-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn tokens_fold_traditional_and_keep_original_offsets() {
        let t = ZhTokenizer::new(Arc::new(Jieba::new()));
        let text = "冰箱密封條鬆了";
        let tokens = t.tokens(text);
        let seal = tokens.iter().find(|k| k.text == "密封条").expect("folded");
        assert_eq!(&text[seal.offset_from..seal.offset_to], "密封條");
    }

    #[test]
    fn search_ranks_highlights_filters_and_hides() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let index = TantivyIndex::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(index.cursor(), Ok(0));
        let mut draft = doc("article", 4, "压缩机保养指南", "压缩机每年检查一次", None);
        draft.published = false;
        index
            .apply(
                &[
                    doc("customer", 1, "王芳", "喜欢安静的冰箱", None),
                    doc(
                        "request",
                        2,
                        "SR-2026-000002 冰箱密封条变形",
                        "冰箱门关不严，密封條鬆了",
                        Some(7),
                    ),
                    doc("feedback", 3, "李雷", "洗衣机噪音大，密封条也漏水", Some(8)),
                    draft,
                ],
                &[],
                42,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(index.cursor(), Ok(42));
        let all = Visibility {
            outlet: None,
            drafts: true,
        };
        let r = index
            .search("密封條", None, all, 10)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.total, 2);
        assert_eq!(r.hits[0].id, 2, "the title match ranks first");
        assert!(
            r.hits[0].title.contains("<b>密封条</b>"),
            "{}",
            r.hits[0].title
        );
        assert!(
            r.hits[0].snippet.contains("<b>密封條</b>"),
            "{}",
            r.hits[0].snippet
        );
        let only = index
            .search("密封条", Some("feedback"), all, 10)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((only.total, only.hits.len()), (1, 1));
        assert_eq!(only.by_kind.len(), 2, "counts of every kind");
        // A partner of outlet 7 does not find outlet 8's feedback; nobody but managers
        // finds a draft.
        let partner = Visibility {
            outlet: Some(7),
            drafts: false,
        };
        let r = index
            .search("密封条", None, partner, 10)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![2]);
        assert_eq!(
            index.search("压缩机", None, partner, 10).map(|r| r.total),
            Ok(0)
        );
        assert_eq!(
            index.search("压缩机", None, all, 10).map(|r| r.total),
            Ok(1)
        );
        // Replacing and removing.
        index
            .apply(
                &[doc("customer", 1, "王芳", "换了新的洗衣机", None)],
                &[("request", 2)],
                43,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            index.search("密封条", None, all, 10).map(|r| r.total),
            Ok(1)
        );
        assert_eq!(
            index
                .search("洗衣机", Some("customer"), all, 10)
                .map(|r| r.total),
            Ok(1)
        );
        assert_eq!(index.search("安静", None, all, 10).map(|r| r.total), Ok(0));
        // Query syntax in customers' words does not fail.
        assert!(index.search("AND (冰箱 OR", None, all, 10).is_ok());
        index.clear().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(index.cursor(), Ok(-1));
        assert_eq!(index.stats().map(|s| s.0), Ok(0));
    }
}
