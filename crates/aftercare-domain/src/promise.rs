//! Promises in the message library's texts: "24小时上门", "2 小时内回复", "respond within
//! 2 hours". A text that promises what the service does not keep is flagged (the promise
//! check), so that one voice does not say what the desk cannot do.

use crate::customer::code_enum;

code_enum!(
    /// What a text promises to do within a time: answer (`response`), come on site
    /// (`visit`), or put it right (`resolution`).
    PromiseKind, "promise_kind_unknown", {
        Response => "response",
        Visit => "visit",
        Resolution => "resolution",
    }
);

/// One promise read from a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promise {
    pub kind: PromiseKind,
    /// Within this many minutes (wall-clock time: how a customer reads "24 小时").
    pub minutes: u32,
    /// The clause it was read from, as written ("我们承诺 2 小时内回复").
    pub phrase: String,
}

/// Words that say what is promised, per kind; English ones are matched in lower case.
const WORDS: &[(PromiseKind, &[&str])] = &[
    (
        PromiseKind::Visit,
        &[
            "上门",
            "到达",
            "到场",
            "到家",
            "上門",
            "到達",
            "on-site",
            "on site",
            "onsite",
            "visit",
            "arrive",
            "at your door",
        ],
    ),
    (
        PromiseKind::Resolution,
        &[
            "解决",
            "修好",
            "修复",
            "处理完",
            "搞定",
            "解決",
            "修復",
            "處理完",
            "resolve",
            "fixed",
            "fix ",
            "repaired",
        ],
    ),
    (
        PromiseKind::Response,
        &[
            "响应",
            "回复",
            "回应",
            "答复",
            "回电",
            "联系您",
            "響應",
            "回覆",
            "回應",
            "答覆",
            "聯繫您",
            "聯絡您",
            "respond",
            "response",
            "reply",
            "call you back",
            "get back to you",
        ],
    ),
];

/// How far (in characters) a promise's words may stand from its time.
const REACH: usize = 12;

/// A number at `i` in `chars`: ASCII or full-width digits, or a Chinese numeral up to 九十九
/// (一, 两, 十, 二十四); the value and the index after it.
fn number_at(chars: &[char], i: usize) -> Option<(u32, usize)> {
    let digit = |c: char| match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    };
    if digit(chars[i]).is_some() {
        let mut n: u32 = 0;
        let mut j = i;
        while j < chars.len()
            && let Some(d) = digit(chars[j])
        {
            n = n.saturating_mul(10).saturating_add(d);
            j += 1;
        }
        return Some((n, j));
    }
    // Chinese numerals up to 九十九: 二十四, 四十八, 十二, 两.
    let value = |c: char| match c {
        '一' => Some(1),
        '两' | '兩' | '二' => Some(2),
        '三' => Some(3),
        '四' => Some(4),
        '五' => Some(5),
        '六' => Some(6),
        '七' => Some(7),
        '八' => Some(8),
        '九' => Some(9),
        _ => None,
    };
    let mut j = i;
    let mut tens: Option<u32> = None;
    let mut ones: Option<u32> = None;
    while j < chars.len() {
        let c = chars[j];
        if c == '十' && tens.is_none() {
            tens = Some(ones.take().unwrap_or(1));
        } else if let Some(v) = value(c).filter(|_| ones.is_none()) {
            ones = Some(v);
        } else {
            break;
        }
        j += 1;
    }
    if j == i {
        return None;
    }
    Some((tens.unwrap_or(0) * 10 + ones.unwrap_or(0), j))
}

/// The unit after a number, skipping spaces and "个": minutes per unit and the index
/// after it.
fn unit_at(chars: &[char], mut i: usize) -> Option<(u32, usize)> {
    while i < chars.len() && (chars[i].is_whitespace() || chars[i] == '个' || chars[i] == '個') {
        i += 1;
    }
    let rest: String = chars[i..chars.len().min(i + 8)].iter().collect();
    let lower = rest.to_lowercase();
    // Calendar time only: working days need the desk's calendar, and "日" is as often a
    // date ("12月31日") as a length; both are left unread rather than misread.
    for (unit, minutes) in [
        ("小时", 60),
        ("小時", 60),
        ("钟头", 60),
        ("鐘頭", 60),
        ("分钟", 1),
        ("分鐘", 1),
        ("天", 24 * 60),
        ("hours", 60),
        ("hour", 60),
        ("hrs", 60),
        ("minutes", 1),
        ("mins", 1),
        ("min", 1),
        ("days", 24 * 60),
        ("day", 24 * 60),
    ] {
        if lower.starts_with(unit) {
            return Some((minutes, i + unit.chars().count()));
        }
    }
    // "24h", "24H上门": an h that does not begin a word.
    let mut it = lower.chars();
    if it.next() == Some('h') && !it.next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return Some((60, i + 1));
    }
    None
}

/// Where the clause around `from..to` begins and ends: a promise's words are in the
/// same clause as its time ("2 小时内回复，24 小时内上门"; "reply within 2 hours and visit
/// within a day").
fn clause(lower: &[char], from: usize, to: usize) -> (usize, usize) {
    let stop = |c: char| "，。,.;；！!？?、\n和并或".contains(c);
    let word_at = |i: usize, w: &str| {
        let w: Vec<char> = w.chars().collect();
        i + w.len() <= lower.len() && lower[i..i + w.len()] == w[..]
    };
    let mut lo = from;
    while lo > 0 && !stop(lower[lo - 1]) && !(lo >= 5 && word_at(lo - 5, " and ")) {
        lo -= 1;
    }
    let mut hi = to;
    while hi < lower.len() && !stop(lower[hi]) && !word_at(hi, " and ") && !word_at(hi, " or ") {
        hi += 1;
    }
    (lo, hi)
}

/// The kind of promise whose words stand nearest the time at `from..to`, within
/// [`REACH`] characters either side and in the same clause.
fn kind_near(lower: &[char], from: usize, to: usize) -> Option<PromiseKind> {
    let (lo, hi) = clause(lower, from, to);
    // Only the clause near the time is looked through (words are at most 16 characters).
    let lo = lo.max(from.saturating_sub(REACH + 16));
    let hi = hi.min(to + REACH + 16).min(lower.len());
    // (distance, before): the nearest word; on a tie the one after the time ("2小时上门
    // 24小时修复": the 24 hours are the repair's).
    let mut best: Option<((usize, bool), PromiseKind)> = None;
    for (kind, words) in WORDS {
        for w in *words {
            let w: Vec<char> = w.chars().collect();
            if w.is_empty() || lo + w.len() > hi {
                continue;
            }
            for start in lo..=hi - w.len() {
                if lower[start..start + w.len()] != w[..] {
                    continue;
                }
                let rank = if start >= to {
                    (start - to, false)
                } else if start + w.len() <= from {
                    (from - (start + w.len()), true)
                } else {
                    continue;
                };
                if rank.0 <= REACH && best.is_none_or(|(r, _)| rank < r) {
                    best = Some((rank, *kind));
                }
            }
        }
    }
    best.map(|(_, k)| k)
}

/// Whether the clause asks the customer to act ("请在 24 小时内回复确认", "please reply
/// within 48 hours"): that is not the desk's promise.
fn asks_the_customer(lower: &[char], from: usize, to: usize) -> bool {
    let (lo, hi) = clause(lower, from, to);
    let text: String = lower[lo..hi].iter().collect();
    ["请", "請", "您需", "please", "if you"]
        .iter()
        .any(|w| text.contains(w))
}

/// Every promise of a time in `text`, once per kind and time.
pub fn promises(text: &str) -> Vec<Promise> {
    // Fields ({visit_time}) are not words of the text: masked, keeping every position.
    let mut chars: Vec<char> = text.chars().collect();
    let mut open = None;
    let mut fields = Vec::new();
    for (n, c) in chars.iter().enumerate() {
        match c {
            '{' => open = Some(n),
            '}' => fields.extend(open.take().map(|o| (o, n))),
            _ => {}
        }
    }
    for (o, n) in fields {
        chars[o..=n].iter_mut().for_each(|c| *c = ' ');
    }
    let lower: Vec<char> = chars
        .iter()
        .map(|c| {
            let mut l = c.to_lowercase();
            match (l.next(), l.next()) {
                (Some(one), None) => one,
                _ => *c,
            }
        })
        .collect();
    let mut out: Vec<Promise> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // "半小时": half an hour.
        let (n, after_number, half) = if chars[i] == '半' {
            (0, i + 1, true)
        } else {
            match number_at(&chars, i) {
                Some((n, after)) => (n, after, false),
                None => {
                    i += 1;
                    continue;
                }
            }
        };
        // Not a length of time: a decimal ("1.5 小时" is left unread), a date or a
        // weekday ("12月", "周六"), round-the-clock ("7×24小时").
        let before = i.checked_sub(1).map(|b| chars[b]);
        let decimal = after_number + 1 < chars.len()
            && chars[after_number] == '.'
            && chars[after_number + 1].is_ascii_digit();
        let not_a_length = decimal
            || before.is_some_and(|b| "月周星期×x*/.个個".contains(b) || b.is_ascii_digit());
        let Some((per, end)) = unit_at(&chars, after_number) else {
            i = after_number;
            continue;
        };
        let minutes = if half { per / 2 } else { n.saturating_mul(per) };
        if minutes > 0
            && !not_a_length
            && !asks_the_customer(&lower, i, end)
            && let Some(kind) = kind_near(&lower, i, end)
            && !out.iter().any(|p| p.kind == kind && p.minutes == minutes)
        {
            // The clause it stands in, as written.
            let (from, to) = clause(&lower, i, end);
            out.push(Promise {
                kind,
                minutes,
                phrase: chars[from..to]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_string(),
            });
        }
        i = end;
    }
    out
}

/// How a promise fares against what the service did: of the requests it applies to, how
/// many took longer than promised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kept {
    pub measured: u64,
    pub broken: u64,
}

/// At least this many requests are needed to judge a promise.
pub const MIN_MEASURED: u64 = 20;
/// A promise broken more often than this share is flagged.
pub const BROKEN_SHARE: f64 = 0.10;

impl Kept {
    /// The share broken, when there are enough requests to say.
    pub fn share(&self) -> Option<f64> {
        (self.measured >= MIN_MEASURED).then(|| self.broken as f64 / self.measured as f64)
    }

    /// Whether the service does not keep the promise.
    pub fn flagged(&self) -> bool {
        self.share().is_some_and(|s| s > BROKEN_SHARE)
    }
}

/// Whether one request kept a promise of `minutes`, from when it was opened to when the
/// promised thing happened (`done`, minutes after opening) or, not yet done, to `now`
/// (minutes after opening): `None` when it cannot be told yet.
pub fn kept(minutes: u32, done: Option<i64>, now: i64) -> Option<bool> {
    let limit = i64::from(minutes);
    match done {
        Some(t) => Some(t <= limit),
        None if now > limit => Some(false),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(PromiseKind, u32)> {
        promises(text).iter().map(|p| (p.kind, p.minutes)).collect()
    }

    #[test]
    fn chinese_promises_are_read_with_their_kind_and_time() {
        use PromiseKind::*;
        assert_eq!(read("我们承诺24小时上门服务。"), [(Visit, 24 * 60)]);
        assert_eq!(
            read("客服 2 小时内回复，48小时内修好。"),
            [(Response, 120), (Resolution, 48 * 60)]
        );
        assert_eq!(
            read("我们承诺 2 小时内回复，24 小时内上门。"),
            [(Response, 120), (Visit, 24 * 60)]
        );
        assert_eq!(read("两小时内回电"), [(Response, 120)]);
        assert_eq!(read("半小时内回电"), [(Response, 30)]);
        assert_eq!(
            read("一个半小时内回电"),
            [],
            "not read, rather than misread"
        );
        assert_eq!(
            read("24H上门，2h内回复"),
            [(Visit, 24 * 60), (Response, 120)]
        );
        assert_eq!(
            read("2小时上门24小时修复"),
            [(Visit, 120), (Resolution, 24 * 60)]
        );
        // Not promises of the desk: dates, decimals, slogans, requests to the customer,
        // working days (not read), fields.
        assert_eq!(read("12月31日前完成维修"), []);
        assert_eq!(read("每月1日上门保养"), []);
        assert_eq!(read("1.5小时内回复"), []);
        assert_eq!(read("7×24小时响应"), []);
        assert_eq!(read("请在24小时内回复确认"), []);
        assert_eq!(read("2个工作日内上门"), []);
        assert_eq!(read("已安排在 {visit_time} 上门，2 天后回访"), []);
        assert_eq!(read("二十四小时上门"), [(Visit, 24 * 60)]);
        assert_eq!(read("十二小时内响应"), [(Response, 12 * 60)]);
        assert_eq!(read("３天内解决您的问题"), [(Resolution, 3 * 24 * 60)]);
        assert_eq!(read("上门不超过 30 分钟"), [(Visit, 30)]);
        assert_eq!(read("我們承諾24小時內上門"), [(Visit, 24 * 60)]);
        // A time without a promise, or a promise without a time.
        assert_eq!(read("保修 12 个月，感谢您的支持。"), []);
        assert_eq!(read("我们会尽快上门。"), []);
    }

    #[test]
    fn english_promises_are_read_too() {
        use PromiseKind::*;
        assert_eq!(read("We respond within 2 hours."), [(Response, 120)]);
        assert_eq!(
            read("We reply within 2 hours and visit within 24 hours."),
            [(Response, 120), (Visit, 24 * 60)]
        );
        assert_eq!(
            read("A technician will visit within 24 hours"),
            [(Visit, 24 * 60)]
        );
        assert_eq!(
            read("Fixed in 3 days or your money back"),
            [(Resolution, 3 * 24 * 60)]
        );
        assert_eq!(read("Your warranty lasts 12 months."), []);
        assert_eq!(read("Please reply within 48 hours."), []);
        assert_eq!(
            read("24h response, on site in 2 days"),
            [(Response, 24 * 60), (Visit, 2 * 24 * 60)]
        );
    }

    #[test]
    fn a_promise_is_flagged_when_broken_more_than_a_tenth_of_the_time() {
        assert_eq!(kept(60, Some(59), 1000), Some(true));
        assert_eq!(kept(60, Some(61), 1000), Some(false));
        assert_eq!(
            kept(60, None, 61),
            Some(false),
            "still waiting past the promise"
        );
        assert_eq!(kept(60, None, 30), None, "not due yet");
        let k = Kept {
            measured: 19,
            broken: 19,
        };
        assert_eq!(k.share(), None, "too few to say");
        assert!(!k.flagged());
        let k = Kept {
            measured: 100,
            broken: 31,
        };
        assert!(k.flagged());
        let k = Kept {
            measured: 100,
            broken: 10,
        };
        assert!(!k.flagged());
    }
}
