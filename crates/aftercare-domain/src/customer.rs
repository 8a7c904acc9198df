//! Customers: people and organisations, how to reach them, and how they found us.

use crate::Date;
use crate::contact::{Email, PhoneNumber};
use pinyin::ToPinyin;
use serde::{Deserialize, Serialize};

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident, $err:literal, { $($variant:ident => $code:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name { $(#[serde(rename = $code)] $variant),+ }

        // Written out rather than derived: a derive cannot read the codes through this
        // macro's literals, and the document must list the codes, not the variant names.
        #[cfg(feature = "schema")]
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($code),+]))
                    .into()
            }
        }

        #[cfg(feature = "schema")]
        impl ::utoipa::ToSchema for $name {}

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn parse(s: &str) -> Result<Self, &'static str> {
                match s.trim() {
                    $($code => Ok($name::$variant),)+
                    _ => Err($err),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.code()
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = &'static str;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }
    };
}
pub(crate) use code_enum;

code_enum!(
    /// A person or an organisation (a company, a school, a hotel that buys in bulk).
    CustomerKind, "kind_unknown", { Person => "person", Organisation => "organisation" }
);

code_enum!(
    /// Where a customer met the brand: the marketing touchpoints (seed 003) and the
    /// service channels.
    Touchpoint, "touchpoint_unknown", {
        PointOfSale => "point_of_sale",
        DirectSales => "direct_sales",
        Media => "media",
        WordOfMouth => "word_of_mouth",
        Sponsorship => "sponsorship",
        Phone => "phone",
        Email => "email",
        Web => "web",
        Chat => "chat",
        StoreVisit => "store_visit",
        FieldVisit => "field_visit",
    }
);

code_enum!(
    /// A channel a customer may or may not agree to be contacted on (PIPL consent).
    ConsentChannel, "consent_channel_unknown", {
        Phone => "phone",
        Sms => "sms",
        Email => "email",
        Wechat => "wechat",
        Post => "post",
    }
);

code_enum!(
    /// A customer's value tier and the service level that goes with it: high gets a named
    /// account manager and the green channel, low is offered self-service first.
    ValueTier, "tier_unknown", { High => "high", Medium => "medium", Low => "low" }
);

/// A validated phone entry.
#[derive(Debug, Clone)]
pub struct PhoneEntry {
    pub number: PhoneNumber,
    pub label: Option<String>,
    pub primary: bool,
}

/// A validated email entry.
#[derive(Debug, Clone)]
pub struct EmailEntry {
    pub address: Email,
    pub primary: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Address {
    pub label: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    pub street: String,
    pub postcode: Option<String>,
    pub primary: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FamilyMember {
    pub name: String,
    pub relation: String,
    pub birthday: Option<Date>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportantDate {
    pub label: String,
    pub date: Date,
}

/// A customer as validated, ready to store.
#[derive(Debug, Clone)]
pub struct CustomerDraft {
    pub kind: CustomerKind,
    pub name: String,
    pub company: Option<String>,
    pub title: Option<String>,
    pub birthday: Option<Date>,
    pub phones: Vec<PhoneEntry>,
    pub emails: Vec<EmailEntry>,
    pub addresses: Vec<Address>,
    pub family: Vec<FamilyMember>,
    pub dates: Vec<ImportantDate>,
    pub consent: Vec<ConsentChannel>,
    pub account_manager_id: Option<crate::UserId>,
    pub tags: Vec<String>,
    pub habits: Option<String>,
    pub preferences: Option<String>,
    pub notes: Option<String>,
    pub source: Option<Touchpoint>,
    /// The customer's number in the system the company used before (set when created,
    /// e.g. by an import; orders imported later name the customer by it).
    pub external_ref: Option<String>,
    /// The customer who brought this one (a referral code given at creation).
    pub referred_by: Option<crate::CustomerId>,
}

/// Makes exactly one entry primary: the first one marked, else the first one.
pub fn settle_primary<T>(items: &mut [T], get: impl Fn(&mut T) -> &mut bool) {
    let first = items.iter_mut().position(|i| *get(i)).unwrap_or(0);
    for (n, i) in items.iter_mut().enumerate() {
        *get(i) = n == first;
    }
}

/// A tag: trimmed, 1–32 characters, no commas.
pub fn parse_tag(s: &str) -> Result<String, &'static str> {
    let t = s.trim();
    if t.is_empty() {
        Err("required")
    } else if t.chars().count() > 32 || t.contains(',') {
        Err("tag_invalid")
    } else {
        Ok(t.to_string())
    }
}

/// The key names sort by: Chinese characters by their pinyin, so 安 comes before 张,
/// and Latin letters as themselves, lower-cased. Storing it lets the database sort.
pub fn sort_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len() * 3);
    for c in name.chars() {
        match c.to_pinyin() {
            Some(p) => {
                key.push_str(p.plain());
                key.push(' ');
            }
            None => key.extend(c.to_lowercase()),
        }
    }
    key
}

/// Every pinyin syllable (without tones), from the pinyin of the common CJK block.
static SYLLABLES: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| {
        ('\u{4e00}'..='\u{9fff}')
            .filter_map(|c| c.to_pinyin())
            .map(|p| p.plain())
            .collect()
    });

/// The sort-key prefixes a name typed as pinyin may stand for. `zhangchao` run together
/// is `zhang chao`, and `xian` is `xian` or `xi an`: the letters are cut into whole
/// syllables, the last one possibly begun only (`zhangch`), as a key names them. The
/// letters as typed come first (a Latin name); at most `MAX_READINGS` readings, fewest
/// syllables first.
pub fn pinyin_readings(s: &str) -> Vec<String> {
    const MAX_READINGS: usize = 6;
    let s = s.trim().to_lowercase();
    let mut out = vec![s.clone()];
    if s.is_empty() || s.len() > 40 || !s.bytes().all(|b| b.is_ascii_lowercase()) {
        return out;
    }
    let starts_a_syllable = |p: &str| SYLLABLES.iter().any(|y| y.starts_with(p));
    // Which tails can be read at all, worked out once from the end, so that the search
    // below never enters a dead end: its work is bounded by the readings it keeps.
    let n = s.len();
    let mut readable = vec![false; n + 1];
    readable[n] = true;
    for i in (0..n).rev() {
        readable[i] = (1..=(n - i).min(6)).any(|len| {
            let head = &s[i..i + len];
            (SYLLABLES.contains(head) && readable[i + len])
                || (i + len == n && starts_a_syllable(head))
        });
    }
    // Depth-first over the cuts that lead somewhere, longest syllable first.
    fn cut(
        s: &str,
        at: usize,
        readable: &[bool],
        acc: &mut Vec<String>,
        found: &mut Vec<Vec<String>>,
        begun: &dyn Fn(&str) -> bool,
    ) {
        if found.len() >= 64 {
            return;
        }
        if at == s.len() {
            found.push(acc.clone());
            return;
        }
        for len in (1..=(s.len() - at).min(6)).rev() {
            let head = &s[at..at + len];
            let last = at + len == s.len();
            if (SYLLABLES.contains(head) && readable[at + len]) || (last && begun(head)) {
                acc.push(head.to_string());
                cut(s, at + len, readable, acc, found, begun);
                acc.pop();
            }
        }
    }
    let mut found = Vec::new();
    if readable[0] {
        cut(
            &s,
            0,
            &readable,
            &mut Vec::new(),
            &mut found,
            &starts_a_syllable,
        );
    }
    found.sort_by_key(|r| r.len());
    for r in found {
        if r.len() < 2 {
            continue;
        }
        let key = r.join(" ");
        if !out.contains(&key) {
            out.push(key);
        }
        if out.len() > MAX_READINGS {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinyin_run_together_is_read_as_syllables() {
        let r = pinyin_readings("zhangchao");
        assert_eq!(r[0], "zhangchao");
        assert!(r.contains(&"zhang chao".to_string()), "{r:?}");
        assert!(pinyin_readings("ouyangnana").contains(&"ou yang na na".to_string()));
        // A syllable only begun at the end.
        assert!(pinyin_readings("zhangch").contains(&"zhang ch".to_string()));
        // Ambiguous letters give both readings.
        let x = pinyin_readings("xian");
        assert!(x.contains(&"xi an".to_string()), "{x:?}");
        // Not pinyin, or too long: the letters only.
        assert_eq!(pinyin_readings("bob smith"), ["bob smith"]);
        assert_eq!(pinyin_readings(&"a".repeat(41)).len(), 1);
        assert!(pinyin_readings("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa").len() <= 7);
        // Letters no reading can finish stop at once, however many ways they could start.
        assert_eq!(pinyin_readings(&format!("{}v", "ao".repeat(19))).len(), 1);
    }

    #[test]
    fn chinese_names_sort_by_pinyin() {
        let mut names = vec!["张伟", "安娜", "李娜", "Bob", "陈静"];
        names.sort_by_key(|n| sort_key(n));
        assert_eq!(names, vec!["安娜", "Bob", "陈静", "李娜", "张伟"]);
    }

    #[test]
    fn traditional_characters_sort_with_simplified_ones() {
        assert_eq!(sort_key("陳"), sort_key("陈"));
    }

    #[test]
    fn the_first_marked_entry_becomes_the_only_primary() {
        let mut v = vec![false, true, true];
        settle_primary(&mut v, |b| b);
        assert_eq!(v, vec![false, true, false]);
        let mut v = vec![false, false];
        settle_primary(&mut v, |b| b);
        assert_eq!(v, vec![true, false]);
    }

    #[test]
    fn touchpoints_round_trip_through_their_codes() {
        for t in Touchpoint::ALL {
            assert_eq!(Touchpoint::parse(t.code()), Ok(*t));
        }
        assert_eq!(Touchpoint::parse("fax"), Err("touchpoint_unknown"));
    }
}
