//! A text's keywords by TF-IDF, over jieba's table of inverse document frequencies.
//!
//! jieba-rs's own extractor holds the table's 270,132 weights in a hash map of owned
//! strings beside the inflated text it read them from, about 34 MB for as long as the
//! analyser lives. [`Idf`] holds the same weights in about 8 MB: the words end to end in
//! one string, found through a table of their indices by hash. [`Idf::keywords`] weighs a
//! text's words as jieba-rs's extractor does, so the keywords and their order are the
//! same (a test checks it against jieba-rs on every labelled text and review sentence).

use std::hash::BuildHasher;
use std::sync::LazyLock;

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use jieba_rs::Tag;

/// jieba's IDF table as jieba-rs 0.11.0 ships it (`src/data/idf.txt`, MIT), compressed
/// with zstd; see `data/README.md`.
const JIEBA_IDF: &[u8] = include_bytes!("../data/jieba-idf.txt.zst");

/// jieba's table, read once for the process: every analyser (one is built again each time
/// the text model changes) weighs words with the same table.
pub(crate) static JIEBA: LazyLock<Idf> = LazyLock::new(Idf::jieba);

/// Words' inverse document frequencies.
pub(crate) struct Idf {
    /// Every word end to end, in the order read.
    words: String,
    /// Where each word starts in `words`, then where the last one ends.
    starts: Vec<u32>,
    weights: Vec<f64>,
    /// Each word's index, by the word's hash.
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// The weight of a word the table lacks: the lower median of the table's weights.
    median: f64,
}

impl Idf {
    /// jieba's table, inflated and read: a fraction of a second ([`JIEBA`] holds it).
    pub(crate) fn jieba() -> Self {
        // Compiled in, and read whole by a test: neither step fails. If one did, the table
        // would be empty, every word would weigh nothing, and keywords would come in
        // code-point order.
        let text = zstd::stream::decode_all(JIEBA_IDF).unwrap_or_default();
        Self::parse(std::str::from_utf8(&text).unwrap_or_default())
    }

    /// A table from lines of `word weight`; other lines are skipped, and a word listed
    /// twice keeps its last weight (the median counts both, as jieba-rs's does).
    pub(crate) fn parse(text: &str) -> Self {
        let entries = || {
            text.lines().filter_map(|line| {
                let mut parts = line.split_whitespace();
                let word = parts.next()?;
                let weight = parts.next()?.parse::<f64>().ok()?;
                Some((word, weight))
            })
        };
        // Sized by a first pass, so nothing grows (and leaves the old copy behind).
        let (lines, bytes) = entries().fold((0, 0), |(n, b), (w, _)| (n + 1, b + w.len()));
        let mut words = String::with_capacity(bytes);
        let mut starts = Vec::with_capacity(lines + 1);
        starts.push(0);
        let mut weights = Vec::with_capacity(lines);
        let mut index = HashTable::with_capacity(lines);
        let hasher = DefaultHashBuilder::default();
        let mut every = Vec::with_capacity(lines);
        for (word, weight) in entries() {
            every.push(weight);
            let hash = hasher.hash_one(word);
            match index.find(hash, |&i| word_at(&words, &starts, i) == word) {
                Some(&i) => weights[i as usize] = weight,
                None => {
                    // Indices and offsets are 32-bit: a table stops at 4 GB of words.
                    let (Ok(i), Ok(end)) = (
                        u32::try_from(weights.len()),
                        u32::try_from(words.len() + word.len()),
                    ) else {
                        break;
                    };
                    words.push_str(word);
                    starts.push(end);
                    weights.push(weight);
                    index.insert_unique(hash, i, |&j| hasher.hash_one(word_at(&words, &starts, j)));
                }
            }
        }
        let mid = every.len().saturating_sub(1) / 2;
        let median = if every.is_empty() {
            0.0
        } else {
            *every.select_nth_unstable_by(mid, f64::total_cmp).1
        };
        Idf {
            words,
            starts,
            weights,
            index,
            hasher,
            median,
        }
    }

    /// The weight of `word`, or the median for a word the table lacks.
    pub(crate) fn weight(&self, word: &str) -> f64 {
        self.index
            .find(self.hasher.hash_one(word), |&i| {
                word_at(&self.words, &self.starts, i) == word
            })
            .map_or(self.median, |&i| self.weights[i as usize])
    }

    /// The `k` words of a text that weigh most, each with the part-of-speech tag jieba
    /// gave its first occurrence; `tagged` is the text as jieba tags it
    /// (`Jieba::tag(text, true)`). A word's weight is its share of the text's counted
    /// words times its IDF; `counts` says which words are counted at all (stop words and
    /// single characters are not). Equal weights go to the word first in code-point order.
    pub(crate) fn keywords(
        &self,
        tagged: &[Tag<'_>],
        k: usize,
        counts: impl Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
        let mut seen: HashMap<&str, (u32, &str)> = HashMap::new();
        for tag in tagged {
            if counts(tag.word) {
                seen.entry(tag.word).or_insert((0, tag.tag)).0 += 1;
            }
        }
        let total: u32 = seen.values().map(|(n, _)| n).sum();
        let mut weighed: Vec<(f64, &str, &str)> = seen
            .into_iter()
            .map(|(word, (n, tag))| {
                (
                    f64::from(n) * self.weight(word) / f64::from(total),
                    word,
                    tag,
                )
            })
            .collect();
        weighed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        weighed
            .into_iter()
            .take(k)
            .map(|(_, word, tag)| (word.to_owned(), tag.to_owned()))
            .collect()
    }
}

/// Word `i` of the words end to end in `words`.
fn word_at<'a>(words: &'a str, starts: &[u32], i: u32) -> &'a str {
    let i = i as usize;
    &words[starts[i] as usize..starts[i + 1] as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_found_and_missing_words_get_the_median() {
        let idf = Idf::parse("乙 3.0\n甲 1.0\nbad line\n丙 5.0\n乙 4.0\n丁 2.0\n");
        assert_eq!(idf.weight("甲"), 1.0);
        assert_eq!(idf.weight("丙"), 5.0);
        // Listed twice: the last weight wins; the median counts both lines (1 2 3 4 5).
        assert_eq!(idf.weight("乙"), 4.0);
        assert_eq!(idf.weight("戊"), 3.0);
        assert_eq!(idf.weight(""), 3.0);
        assert_eq!(Idf::parse("").weight("甲"), 0.0);
    }

    #[test]
    fn the_bundled_table_is_jiebas_whole() {
        let idf = Idf::jieba();
        assert_eq!(idf.weights.len(), 270_132);
        assert_eq!(idf.weight("劳动防护"), 13.900677652);
        assert_eq!(idf.weight("不存在的词语啊"), idf.median);
        assert!(idf.median > 10.0 && idf.median < 12.0, "{}", idf.median);
    }
}
