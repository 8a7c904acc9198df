//! The voice of the customer (C6): feedback items from every channel, their analysis and
//! its corrections, the dictionary of product and part names, the improvement backlog
//! per product and the customer alliance. The analysis itself is
//! `aftercare_insight::text`.

use crate::desk_model::TypeSuggestion;
use crate::error::AppError;
pub use crate::feedback_model::*;
use crate::jobs::changes;
use crate::model::Page;
use crate::ports;
pub use crate::ports::FeedbackStore;
use crate::service::{Actor, App, Principal};
use aftercare_domain::Invalid;
use aftercare_domain::account::Permission;
use aftercare_domain::error::{optional_text, required_text};
use aftercare_domain::feedback::{FeedbackSource, ImprovementStatus, Ladder, Need, Sentiment};
use aftercare_domain::ids::*;
use aftercare_domain::request::ServiceType;
use aftercare_insight::text::{
    Analysis, Analyzer, CORRECTION_WEIGHT, Example, WordKind, builtin_labelled,
};
use std::sync::{Arc, RwLock};

/// Change-log events read per capture round.
const EVENTS_PER_ROUND: u32 = 2_000;

/// Feedback items a capture round writes per write job: small, so that the desk's own
/// writes, which share the writer and its commits, never wait long behind a round.
const WRITES_PER_TRANSACTION: usize = 8;

/// Whether a request only books a service (an installation, a delivery, a yearly
/// maintenance…) and says nothing more than its subject: a booking is not an opinion of the
/// product, and taken in as feedback it was counted as a defect. A booking whose
/// description says something is taken in.
pub fn plain_booking(said: &Said) -> bool {
    use aftercare_domain::request::ServiceType::*;
    match said {
        Said::Request {
            service_type,
            subject,
            description,
            ..
        } => {
            matches!(
                service_type,
                Delivery | Installation | Commissioning | Training | Maintenance | Demonstration
            ) && (description.trim().is_empty() || description.trim() == subject.trim())
        }
        _ => false,
    }
}

/// Whether a text has a word in it (a letter or a digit, in any script), rather than only
/// punctuation and space.
pub fn says_something(body: &str) -> bool {
    body.chars().any(char::is_alphanumeric)
}

/// What a stored saying becomes as feedback: its origin (which keeps it from being taken
/// in twice), source, text and links.
pub fn captured(said: Said) -> Captured {
    let base = |origin: String, source, body, customer_id, at| Captured {
        origin,
        rating: None,
        source,
        body,
        customer_id: Some(customer_id),
        product_id: None,
        asset_id: None,
        request_id: None,
        outlet_id: None,
        at,
    };
    match said {
        Said::Request {
            id,
            service_type,
            subject,
            description,
            customer_id,
            asset_id,
            outlet_id,
            at,
        } => {
            let (source, body) = request_feedback(service_type, subject, description);
            Captured {
                asset_id,
                request_id: Some(id),
                outlet_id,
                ..base(format!("request:{id}"), source, body, customer_id, at)
            }
        }
        Said::Rating {
            request_id,
            rating,
            comment,
            customer_id,
            asset_id,
            outlet_id,
            at,
        } => Captured {
            rating,
            asset_id,
            request_id: Some(request_id),
            outlet_id,
            ..base(
                format!("rating:{request_id}"),
                FeedbackSource::Survey,
                comment,
                customer_id,
                at,
            )
        },
        Said::Message {
            id,
            request_id,
            body,
            customer_id,
            asset_id,
            outlet_id,
            at,
        } => Captured {
            asset_id,
            request_id: Some(request_id),
            outlet_id,
            ..base(
                format!("message:{id}"),
                FeedbackSource::RequestReply,
                body,
                customer_id,
                at,
            )
        },
        Said::Contact {
            id,
            customer_id,
            touchpoint,
            subject,
            body,
            at,
        } => {
            let (source, body) = interaction_feedback(&touchpoint, subject, body.as_deref());
            base(format!("interaction:{id}"), source, body, customer_id, at)
        }
    }
}

/// What a request says as feedback: its source by service type, and its text (the
/// subject, unless the description already says it).
pub fn request_feedback(
    service_type: ServiceType,
    subject: String,
    description: String,
) -> (FeedbackSource, String) {
    let source = match service_type {
        ServiceType::Complaint => FeedbackSource::Complaint,
        ServiceType::Consultation => FeedbackSource::Consultation,
        _ => FeedbackSource::Request,
    };
    let body = if description.trim().is_empty() {
        subject
    } else if description.contains(subject.trim()) {
        description
    } else {
        format!("{subject}\n{description}")
    };
    (source, body)
}

/// The contacts whose notes are taken in as feedback.
pub const CAPTURED_TOUCHPOINTS: &[&str] = &["phone", "field_visit", "store_visit"];

/// What a logged contact says as feedback: a call or a visit, with its subject and notes.
pub fn interaction_feedback(
    touchpoint: &str,
    subject: String,
    body: Option<&str>,
) -> (FeedbackSource, String) {
    let body = match body.map(str::trim) {
        Some(b) if !b.is_empty() => format!("{subject}\n{b}"),
        _ => subject,
    };
    let source = if touchpoint == "phone" {
        FeedbackSource::Call
    } else {
        FeedbackSource::Visit
    };
    (source, body)
}

/// The analyser, built on first use from the labelled texts, the stored dictionary and
/// the corrections, then kept up to date as staff add words and correct labels, on this
/// server or another ([`App::sync_text_model`]).
#[derive(Default)]
pub struct TextModel {
    cell: tokio::sync::OnceCell<Arc<RwLock<Analyzer>>>,
    /// The stored corrections and words the analyser has learnt ([`FeedbackStore::text_model_version`]).
    seen: std::sync::Mutex<Option<(i64, i64)>>,
}

impl std::fmt::Debug for TextModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TextModel")
    }
}

/// Whether and where an analysed item joins the backlog: negative feedback is a defect
/// when it is about function or quality and a need otherwise; a latent or inducible need
/// is a need whatever the tone; praise and plain questions are not backlog material.
pub fn backlog_kind(sentiment: Sentiment, ladder: Ladder, need: Need) -> Option<&'static str> {
    match (sentiment, need) {
        (Sentiment::Negative, _) if matches!(ladder, Ladder::Function | Ladder::Quality) => {
            Some("defect")
        }
        (Sentiment::Negative, _) | (_, Need::Latent | Need::Inducible) => Some("need"),
        _ => None,
    }
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn poisoned<T>(_: T) -> AppError {
    AppError::Internal("text analyser lock poisoned".into())
}

fn examples(corrected: &[(String, Sentiment, Ladder, Need)]) -> Vec<Example> {
    let mut out: Vec<Example> = builtin_labelled().into_iter().map(|l| l.example).collect();
    out.extend(corrected.iter().map(|(text, s, l, n)| Example {
        text: text.clone(),
        sentiment: *s,
        ladder: *l,
        need: *n,
        service_type: None,
        weight: CORRECTION_WEIGHT,
    }));
    out
}

/// Teaches the analyser the stored dictionary's words (a word of an unknown kind is left out).
fn learn_words(a: &mut Analyzer, words: &[DictionaryWord]) {
    for w in words {
        if let Ok(kind) = word_kind(&w.kind) {
            a.add_word(&w.word, kind);
        }
    }
}

fn word_kind(kind: &str) -> Result<WordKind, &'static str> {
    match kind.trim() {
        "part" => Ok(WordKind::Part),
        "product" => Ok(WordKind::Product),
        _ => Err("word_kind_unknown"),
    }
}

/// A record of what was said (with its rating), its product and analysis (or why it failed).
fn record_of(
    c: Captured,
    product_id: Option<ProductId>,
    analysis: Result<Analysis, String>,
) -> FeedbackRecord {
    let backlog = analysis.as_ref().ok().and_then(|a| {
        let kind = backlog_kind(a.sentiment.label, a.ladder.label, a.need.label)?;
        Some((product_id, a.topic.clone()?, kind))
    });
    FeedbackRecord {
        source: c.source,
        origin: Some(c.origin).filter(|o| !o.is_empty()),
        customer_id: c.customer_id,
        product_id,
        asset_id: c.asset_id,
        request_id: c.request_id,
        outlet_id: c.outlet_id,
        // A rating taken in from the change log carries its stars with it.
        rating: c.rating,
        body: c.body,
        received_at: c.at,
        uncertain: analysis.as_ref().is_ok_and(Analysis::uncertain),
        analysis,
        backlog,
    }
}

impl<S> App<S>
where
    S: ?Sized
        + Send
        + Sync
        + ports::CatalogueStore
        + ports::ChangeLog
        + ports::DeskSetupStore
        + ports::FeedbackStore
        + ports::OrderStore,
{
    /// The analyser (built on first use, which takes a moment).
    pub async fn analyzer(&self) -> Result<Arc<RwLock<Analyzer>>, AppError> {
        self.text
            .cell
            .get_or_try_init(|| async {
                let version = self.store.text_model_version().await?;
                let words = self.store.dictionary().await?;
                let corrected = self.store.corrected_examples().await?;
                let mut products: Vec<String> = Vec::new();
                let mut cursor = None;
                loop {
                    let page = self
                        .store
                        .products(&crate::input::ProductQuery {
                            cursor,
                            limit: Some(200),
                            ..Default::default()
                        })
                        .await?;
                    products.extend(page.items.into_iter().map(|p| p.name));
                    match page.next_cursor {
                        Some(c) => cursor = Some(c),
                        None => break,
                    }
                }
                let analyzer = tokio::task::spawn_blocking(move || {
                    let mut a = Analyzer::new(&examples(&corrected));
                    for name in &products {
                        a.add_word(name, WordKind::Product);
                    }
                    learn_words(&mut a, &words);
                    a
                })
                .await
                .map_err(|e| AppError::Internal(format!("building the text analyser: {e}")))?;
                *self.text.seen.lock().map_err(poisoned)? = Some(version);
                Ok::<_, AppError>(Arc::new(RwLock::new(analyzer)))
            })
            .await
            .cloned()
    }

    /// Whether this server's analyser has been built yet.
    pub fn text_model_built(&self) -> bool {
        self.text.cell.initialized()
    }

    /// The service type a request's text reads as (mail and portal requests, before an
    /// agent looks); none when the text has nothing the model can read.
    pub async fn suggest_type(
        &self,
        subject: &str,
        body: &str,
    ) -> Result<Option<TypeSuggestion>, AppError> {
        let analyzer = self.analyzer().await?;
        let text: String = format!("{subject}\n{body}").chars().take(4_000).collect();
        tokio::task::spawn_blocking(move || {
            let a = analyzer.read().map_err(poisoned)?;
            Ok(a.suggest_type(&text).ok().map(|j| TypeSuggestion {
                service_type: j.label,
                confidence: j.confidence,
            }))
        })
        .await
        .map_err(|e| AppError::Internal(format!("type suggestion: {e}")))?
    }

    /// Takes in what was said: analysed (or flagged), placed in the backlog, stored.
    /// Returns the item's id and whether it is new (its origin was not taken in before).
    pub async fn take_in(
        &self,
        actor: &Actor,
        said: Captured,
        rating: Option<i64>,
    ) -> Result<(FeedbackId, bool), AppError> {
        let mut said = said;
        said.rating = rating.or(said.rating);
        let Some(record) = self.records(vec![said]).await?.pop() else {
            return Err(AppError::Internal("feedback: no record made".into()));
        };
        self.store
            .insert_feedback(actor, &record, self.now())
            .await
            .map_err(AppError::from_store("feedback"))
    }

    /// Turns what was said into records, one each: analysed (or flagged) and placed in
    /// the backlog. The items' products are read in one statement, the texts analysed on
    /// one blocking thread.
    async fn records(&self, found: Vec<Captured>) -> Result<Vec<FeedbackRecord>, AppError> {
        if found.is_empty() {
            return Ok(vec![]);
        }
        let mut assets: Vec<AssetId> = found
            .iter()
            .filter(|c| c.product_id.is_none())
            .filter_map(|c| c.asset_id)
            .collect();
        assets.sort_unstable_by_key(|a| a.get());
        assets.dedup();
        let products: std::collections::HashMap<AssetId, ProductId> = self
            .store
            .products_of_assets(&assets)
            .await?
            .into_iter()
            .collect();
        let texts: Vec<(String, Option<i64>)> =
            found.iter().map(|c| (c.body.clone(), c.rating)).collect();
        let analyzer = self.analyzer().await?;
        // The analyser's lock is taken for one text at a time: a dictionary word or a
        // retraining waits for one text, not for the round.
        let analyses = tokio::task::spawn_blocking(move || {
            texts
                .iter()
                .map(|(body, rating)| {
                    let a = analyzer.read().map_err(poisoned)?;
                    Ok(a.analyze_rated(body, *rating).map_err(|e| e.to_string()))
                })
                .collect::<Result<Vec<_>, AppError>>()
        })
        .await
        .map_err(|e| AppError::Internal(format!("text analysis: {e}")))??;
        Ok(found
            .into_iter()
            .zip(analyses)
            .map(|(c, analysis)| {
                let product_id = c
                    .product_id
                    .or_else(|| c.asset_id.and_then(|a| products.get(&a).copied()));
                record_of(c, product_id, analysis)
            })
            .collect())
    }

    /// Records feedback given by staff or a client. The text is analysed; when analysis
    /// fails the item is kept, flagged with the reason. Returns the item (the one taken
    /// in before when its origin is known already).
    pub async fn add_feedback(
        &self,
        p: &Principal,
        input: &FeedbackInput,
    ) -> Result<FeedbackItem, AppError> {
        p.require(Permission::WriteCustomers)?;
        let said = input.said(self.clock.now())?;
        let (id, _) = self.take_in(&p.actor(), said, input.rating).await?;
        self.store
            .feedback_item(id)
            .await?
            .ok_or(AppError::NotFound("feedback"))
    }

    /// Imports reviews from an e-commerce platform, all rows checked before any is taken
    /// in; `rows[i]` is the file's row of `inputs[i]`. A review whose origin was taken in
    /// before is skipped, so importing the same file twice changes nothing.
    pub async fn import_reviews(
        &self,
        p: &Principal,
        inputs: &[Result<FeedbackInput, Invalid>],
        rows: &[usize],
        dry_run: bool,
    ) -> Result<crate::service::ImportReport, AppError> {
        p.require(Permission::Bulk)?;
        p.require(Permission::WriteCustomers)?;
        let mut report = crate::service::ImportReport::new(dry_run, inputs.len());
        let mut ready = Vec::new();
        let now = self.clock.now();
        for (i, input) in inputs.iter().enumerate() {
            match input
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|x| x.said(now).map(|s| (s, x.rating)))
            {
                Ok((said, rating)) => {
                    report.plan(rows[i], said.body.chars().take(30).collect());
                    ready.push((said, rating));
                }
                Err(inv) => report.add(rows[i], inv),
            }
        }
        if report.errors.is_empty() && !dry_run {
            for (said, rating) in ready {
                if self.take_in(&p.actor(), said, rating).await?.1 {
                    report.created += 1;
                }
            }
        }
        Ok(report)
    }

    pub async fn feedback_item(
        &self,
        p: &Principal,
        id: FeedbackId,
    ) -> Result<FeedbackItem, AppError> {
        p.require(Permission::Read)?;
        let item = self
            .store
            .feedback_item(id)
            .await?
            .ok_or(AppError::NotFound("feedback"))?;
        if let Some(outlet) = self.partner_outlet(p).await?
            && item.outlet_id != Some(outlet)
        {
            return Err(AppError::NotFound("feedback"));
        }
        Ok(item)
    }

    pub async fn feedback(
        &self,
        p: &Principal,
        q: &FeedbackQuery,
    ) -> Result<Page<FeedbackItem>, AppError> {
        p.require(Permission::Read)?;
        let mut inv = Invalid::default();
        if let Some(s) = nonempty(&q.source) {
            inv.check("source", FeedbackSource::parse(s));
        }
        if let Some(s) = nonempty(&q.sentiment) {
            inv.check("sentiment", Sentiment::parse(s));
        }
        if let Some(s) = nonempty(&q.ladder) {
            inv.check("ladder", Ladder::parse(s));
        }
        if let Some(s) = nonempty(&q.need) {
            inv.check("need", Need::parse(s));
        }
        if q.cursor
            .as_deref()
            .is_some_and(|c| c.parse::<i64>().is_err())
        {
            inv.push("cursor", "cursor_invalid");
        }
        inv.into_result()?;
        // A partner outlet's staff read the feedback about their outlet's service only.
        let mut q = q.clone();
        if let Some(outlet) = self.partner_outlet(p).await? {
            q.outlet_id = Some(outlet);
        }
        self.store
            .feedback(&q, q.limit.unwrap_or(50).clamp(1, 200))
            .await
            .map_err(Into::into)
    }

    /// Corrects an item's labels. The correction is kept, trains the classifiers at once,
    /// and moves the item in the backlog when its kind changes.
    pub async fn correct_feedback(
        &self,
        p: &Principal,
        id: FeedbackId,
        input: &LabelsInput,
    ) -> Result<FeedbackItem, AppError> {
        p.require(Permission::Curate)?;
        let item = self
            .store
            .feedback_item(id)
            .await?
            .ok_or(AppError::NotFound("feedback"))?;
        let mut inv = Invalid::default();
        let sentiment =
            nonempty(&input.sentiment).and_then(|s| inv.check("sentiment", Sentiment::parse(s)));
        let ladder = nonempty(&input.ladder).and_then(|s| inv.check("ladder", Ladder::parse(s)));
        let need = nonempty(&input.need).and_then(|s| inv.check("need", Need::parse(s)));
        if sentiment.is_none() && ladder.is_none() && need.is_none() && inv.is_empty() {
            inv.push("ladder", "labels_required");
        }
        inv.into_result()?;
        let current = |v: Option<&str>| v.map(str::to_owned);
        let mut changes: Vec<(&'static str, Option<String>, String)> = Vec::new();
        let mut push = |label: &'static str, old: Option<String>, new: Option<&'static str>| {
            if let Some(new) = new.filter(|n| old.as_deref() != Some(*n)) {
                changes.push((label, old, new.to_owned()));
            }
        };
        push(
            "sentiment",
            current(item.sentiment.map(Sentiment::code)),
            sentiment.map(Sentiment::code),
        );
        push(
            "ladder",
            current(item.ladder.map(Ladder::code)),
            ladder.map(Ladder::code),
        );
        push(
            "need",
            current(item.need.map(Need::code)),
            need.map(Need::code),
        );
        if changes.is_empty() {
            return Ok(item);
        }
        // The labels after the change: the new one where given, the stored one otherwise.
        let (s, l, n) = (
            sentiment.or(item.sentiment),
            ladder.or(item.ladder),
            need.or(item.need),
        );
        let (Some(s), Some(l), Some(n)) = (s, l, n) else {
            // An item whose analysis failed needs all three labels the first time.
            let mut inv = Invalid::default();
            for (f, v) in [
                ("sentiment", s.is_none()),
                ("ladder", l.is_none()),
                ("need", n.is_none()),
            ] {
                if v {
                    inv.push(f, "required");
                }
            }
            return Err(inv.into());
        };
        let topic = item
            .topic
            .clone()
            .or_else(|| item.keywords.first().cloned());
        let backlog = backlog_kind(s, l, n).and_then(|k| Some((item.product_id, topic?, k)));
        self.store
            .correct_feedback(&p.actor(), id, &changes, backlog, self.now())
            .await
            .map_err(AppError::from_store("feedback"))?;
        self.analyzer().await?;
        self.sync_text_model().await?;
        self.store
            .feedback_item(id)
            .await?
            .ok_or(AppError::NotFound("feedback"))
    }

    /// Brings this server's analyser up to date with the corrections and dictionary words
    /// stored since it last looked, by this server or another: retrained on every
    /// correction, words added. True when it changed; an analyser not built yet is left
    /// to be built from what is stored.
    pub async fn sync_text_model(&self) -> Result<bool, AppError> {
        let Some(analyzer) = self.text.cell.get().cloned() else {
            return Ok(false);
        };
        let version = self.store.text_model_version().await?;
        let seen = *self.text.seen.lock().map_err(poisoned)?;
        if seen == Some(version) {
            return Ok(false);
        }
        let corrected = match seen {
            Some((corrections, _)) if corrections == version.0 => None,
            _ => Some(self.store.corrected_examples().await?),
        };
        let words = match seen {
            Some((_, words)) if words == version.1 => vec![],
            _ => self.store.dictionary().await?,
        };
        tokio::task::spawn_blocking(move || {
            let mut a = analyzer.write().map_err(poisoned)?;
            if let Some(corrected) = corrected {
                a.train(&examples(&corrected));
            }
            learn_words(&mut a, &words);
            Ok::<_, AppError>(())
        })
        .await
        .map_err(|e| AppError::Internal(format!("retraining: {e}")))??;
        *self.text.seen.lock().map_err(poisoned)? = Some(version);
        Ok(true)
    }

    pub async fn corrections(
        &self,
        p: &Principal,
        id: FeedbackId,
    ) -> Result<Vec<Correction>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.corrections(id).await?)
    }

    pub async fn dictionary(&self, p: &Principal) -> Result<Vec<DictionaryWord>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.dictionary().await?)
    }

    /// Adds a part or product name to the dictionary; it segments as one word from now on.
    pub async fn add_dictionary_word(
        &self,
        p: &Principal,
        w: &DictionaryWord,
    ) -> Result<DictionaryWord, AppError> {
        p.require(Permission::Curate)?;
        let mut inv = Invalid::default();
        let word = inv.check("word", required_text(&w.word, 30));
        if word
            .as_deref()
            .is_some_and(|w| w.chars().any(char::is_whitespace))
        {
            inv.push("word", "word_single");
        }
        let kind = inv.check("kind", word_kind(&w.kind));
        inv.into_result()?;
        let (Some(word), Some(kind)) = (word, kind) else {
            return Err(AppError::Internal("validated word lost".into()));
        };
        let word = aftercare_insight::text::normalise(&word);
        let now = self.now();
        let added = self
            .store
            .add_dictionary_word(&p.actor(), &word, &w.kind, now)
            .await?;
        if !added {
            return Err(AppError::Conflict {
                code: "word_exists",
                field: Some("word".into()),
            });
        }
        let analyzer = self.analyzer().await?;
        analyzer.write().map_err(poisoned)?.add_word(&word, kind);
        Ok(DictionaryWord {
            word,
            kind: w.kind.trim().to_owned(),
            added_by: p.actor().label,
            added_at: now,
        })
    }

    /// The improvement backlog: of one product, of feedback about no product
    /// (`product_id` 0), or all; ranked by customers then value touched.
    pub async fn backlog(
        &self,
        p: &Principal,
        product_id: Option<ProductId>,
        status: Option<&str>,
    ) -> Result<Vec<Improvement>, AppError> {
        p.require(Permission::Read)?;
        let status = status.map(str::trim).filter(|s| !s.is_empty());
        if let Some(s) = status {
            ImprovementStatus::parse(s).map_err(|c| Invalid::one("status", c))?;
        }
        let product = product_id.map(|id| Some(id).filter(|i| i.get() > 0));
        Ok(self.store.backlog(product, status).await?)
    }

    pub async fn improvement(
        &self,
        p: &Principal,
        id: ImprovementId,
    ) -> Result<Improvement, AppError> {
        p.require(Permission::Read)?;
        self.store
            .improvement(id)
            .await?
            .ok_or(AppError::NotFound("improvement"))
    }

    pub async fn set_improvement_status(
        &self,
        p: &Principal,
        id: ImprovementId,
        input: &ImprovementInput,
    ) -> Result<Improvement, AppError> {
        p.require(Permission::Curate)?;
        let mut inv = Invalid::default();
        let status = inv.check("status", ImprovementStatus::parse(&input.status));
        let note = inv
            .check("note", optional_text(input.note.as_deref(), 2000))
            .flatten();
        inv.into_result()?;
        let Some(status) = status else {
            return Err(AppError::Internal("validated status lost".into()));
        };
        self.store
            .set_improvement_status(&p.actor(), id, status.code(), note.as_deref(), self.now())
            .await
            .map_err(AppError::from_store("improvement"))?;
        self.improvement(p, id).await
    }

    /// The customers who raised a backlog entry, to tell them when it ships.
    pub async fn raised_by(
        &self,
        p: &Principal,
        id: ImprovementId,
    ) -> Result<Vec<RaisedBy>, AppError> {
        p.require(Permission::Read)?;
        self.store
            .improvement(id)
            .await?
            .ok_or(AppError::NotFound("improvement"))?;
        Ok(self.store.raised_by(id).await?)
    }

    pub async fn set_expert(
        &self,
        p: &Principal,
        customer_id: CustomerId,
        input: &ExpertInput,
    ) -> Result<(), AppError> {
        p.require(Permission::Curate)?;
        let field =
            optional_text(input.field.as_deref(), 100).map_err(|c| Invalid::one("field", c))?;
        self.store
            .set_expert(&p.actor(), customer_id, field.as_deref(), self.now())
            .await
            .map_err(AppError::from_store("customer"))
    }

    pub async fn unset_expert(
        &self,
        p: &Principal,
        customer_id: CustomerId,
    ) -> Result<(), AppError> {
        p.require(Permission::Curate)?;
        self.store
            .unset_expert(&p.actor(), customer_id, self.now())
            .await
            .map_err(AppError::from_store("customer"))
    }

    pub async fn expert(
        &self,
        p: &Principal,
        customer_id: CustomerId,
    ) -> Result<Option<(Option<String>, String)>, AppError> {
        p.require(Permission::Read)?;
        Ok(self.store.expert(customer_id).await?)
    }

    /// One capture round: what the change log says customers said since the last round
    /// (request descriptions, their messages, notes of calls and visits) becomes feedback.
    pub async fn capture_feedback(&self) -> Result<Capture, AppError> {
        let batch = self
            .read_changes(changes::FEEDBACK, EVENTS_PER_ROUND, changes::FEEDBACK_READS)
            .await?;
        if batch.is_empty() {
            return Ok(Capture::default());
        }
        let said = self
            .store
            .said(
                &changes::ids_of(&batch.events, "request"),
                &changes::ids_of(&batch.events, "interaction"),
                CAPTURED_TOUCHPOINTS,
            )
            .await?;
        // A message that only carries files (or a mail without text, kept as "(—)") says
        // nothing to analyse.
        let mut found: Vec<Captured> = said
            .into_iter()
            .filter(|s| !plain_booking(s))
            .map(captured)
            .filter(|c| says_something(&c.body))
            .collect();
        // What was taken in before (an event repeats a request) is not analysed again;
        // the origin's uniqueness guards the rest.
        if !found.is_empty() {
            let origins: Vec<&str> = found.iter().map(|c| c.origin.as_str()).collect();
            let mut known: std::collections::HashSet<String> = self
                .store
                .known_origins(&origins)
                .await?
                .into_iter()
                .collect();
            found.retain(|c| known.insert(c.origin.clone()));
        }
        let actor = Actor::system("feedback");
        let mut items = 0;
        // Written a few at a time, each few one write job.
        for chunk in self.records(found).await?.chunks(WRITES_PER_TRANSACTION) {
            items += self
                .store
                .insert_feedbacks(&actor, chunk, self.now())
                .await?
                .iter()
                .filter(|(_, new)| *new)
                .count();
        }
        self.consumed(changes::FEEDBACK, &batch).await?;
        Ok(Capture {
            events: batch.span(),
            items,
            more: batch.full(EVENTS_PER_ROUND),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_booking_is_not_feedback_but_what_it_says_is() {
        assert!(plain_booking(&request(
            "installation",
            "新空调预约安装",
            ""
        )));
        assert!(plain_booking(&request(
            "maintenance",
            "热水器年度保养",
            "热水器年度保养"
        )));
        assert!(!plain_booking(&request(
            "installation",
            "新空调预约安装",
            "上次安装师傅把墙弄得很脏"
        )));
        assert!(!plain_booking(&request("repair", "空调不制冷", "")));
    }

    #[test]
    fn only_text_with_words_is_feedback() {
        for nothing in ["", "  ", "(—)", "……", "?!"] {
            assert!(!says_something(nothing), "{nothing:?}");
        }
        for text in ["好", "ok", "3", "太吵了。"] {
            assert!(says_something(text), "{text:?}");
        }
    }

    fn request(service_type: &str, subject: &str, description: &str) -> Said {
        Said::Request {
            id: RequestId(7),
            service_type: service_type.parse().unwrap(),
            subject: subject.into(),
            description: description.into(),
            customer_id: CustomerId(3),
            asset_id: Some(AssetId(11)),
            outlet_id: None,
            at: "2026-12-05T08:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn a_complaint_is_taken_in_with_its_subject_unless_the_description_says_it() {
        let c = captured(request("complaint", "门封漏气", "冰箱门封漏气，制冷很差"));
        assert_eq!(c.origin, "request:7");
        assert_eq!(c.source, FeedbackSource::Complaint);
        assert_eq!(c.body, "冰箱门封漏气，制冷很差");
        assert_eq!(
            (c.customer_id, c.asset_id, c.request_id),
            (Some(CustomerId(3)), Some(AssetId(11)), Some(RequestId(7)))
        );
        let c = captured(request("repair", "不制冷", "压缩机一直响"));
        assert_eq!(c.source, FeedbackSource::Request);
        assert_eq!(c.body, "不制冷\n压缩机一直响");
        assert_eq!(
            captured(request("consultation", "保修多久", " ")).body,
            "保修多久"
        );
    }

    #[test]
    fn ratings_messages_and_contacts_keep_their_own_origin_and_source() {
        let rating = captured(Said::Rating {
            request_id: RequestId(7),
            rating: Some(2),
            comment: "师傅迟到了两个小时".into(),
            customer_id: CustomerId(3),
            asset_id: None,
            outlet_id: Some(OutletId(5)),
            at: jiff::Timestamp::UNIX_EPOCH,
        });
        assert_eq!(
            (
                rating.origin.as_str(),
                rating.source,
                rating.rating,
                rating.outlet_id
            ),
            (
                "rating:7",
                FeedbackSource::Survey,
                Some(2),
                Some(OutletId(5))
            )
        );
        let call = captured(Said::Contact {
            id: 9,
            customer_id: CustomerId(3),
            touchpoint: "phone".into(),
            subject: "回访".into(),
            body: Some("  说噪音还在 ".into()),
            at: jiff::Timestamp::UNIX_EPOCH,
        });
        assert_eq!(
            (call.origin.as_str(), call.source, call.body.as_str()),
            ("interaction:9", FeedbackSource::Call, "回访\n说噪音还在")
        );
        let visit = captured(Said::Contact {
            id: 10,
            customer_id: CustomerId(3),
            touchpoint: "field_visit".into(),
            subject: "上门检查".into(),
            body: None,
            at: jiff::Timestamp::UNIX_EPOCH,
        });
        assert_eq!(
            (visit.source, visit.body.as_str()),
            (FeedbackSource::Visit, "上门检查")
        );
        let message = captured(Said::Message {
            id: 4,
            request_id: RequestId(7),
            body: "还是漏水".into(),
            customer_id: CustomerId(3),
            asset_id: None,
            outlet_id: None,
            at: jiff::Timestamp::UNIX_EPOCH,
        });
        assert_eq!(
            (message.origin.as_str(), message.source),
            ("message:4", FeedbackSource::RequestReply)
        );
    }
}
