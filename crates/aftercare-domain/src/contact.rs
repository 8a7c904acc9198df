//! Phone numbers and email addresses, parsed once at the edge.

use serde::{Serialize, Serializer};

/// A phone number in E.164 form (`+8613800138000`). Mainland China numbers are checked
/// strictly: mobiles are 11 digits starting 13–19, landlines an area code and a local number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts the ways people write numbers: `138 0013 8000`, `+86-138-0013-8000`,
    /// `0086 13800138000`, `010-6552 9988`, and foreign numbers in `+` form.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("required");
        }
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        {
            return Err("phone_invalid");
        }
        let plus = trimmed.starts_with('+');
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let national = if plus {
            match digits.strip_prefix("86") {
                Some(rest) => rest.to_string(),
                None => {
                    // Outside mainland China: only the general E.164 shape is checked.
                    return if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
                        Ok(Self(format!("+{digits}")))
                    } else {
                        Err("phone_invalid")
                    };
                }
            }
        } else if let Some(rest) = digits.strip_prefix("0086") {
            rest.to_string()
        } else if digits.len() == 13 && digits.starts_with("861") {
            digits[2..].to_string()
        } else {
            digits
        };
        if is_mainland_mobile(&national) {
            return Ok(Self(format!("+86{national}")));
        }
        // Landline: trunk 0, a 2–3 digit area code, a 7–8 digit local number.
        if let Some(rest) = national.strip_prefix('0')
            && (9..=11).contains(&rest.len())
            && !rest.starts_with('0')
        {
            return Ok(Self(format!("+86{rest}")));
        }
        Err("phone_invalid")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as people in China write it: `138 0013 8000`.
    pub fn display(&self) -> String {
        match self.0.strip_prefix("+86") {
            Some(n) if n.len() == 11 && n.starts_with('1') => {
                format!("{} {} {}", &n[..3], &n[3..7], &n[7..])
            }
            Some(n) => format!("0{n}"),
            None => self.0.clone(),
        }
    }

    /// Rebuilds a number read back from storage, where it was stored already parsed.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The start of the stored numbers a partly typed number stands for, by the same rule
    /// as [`PhoneNumber::parse`]: `138 0013` is `+86138 0013…`, `010 6552` is `+86106552…`
    /// (no trunk 0), `+852 2345` stays foreign. `None` for what is not a number or is too
    /// short to narrow anything (under three digits).
    pub fn search_prefix(s: &str) -> Option<String> {
        if !s.chars().all(|c| c.is_ascii_digit() || " -+()".contains(c)) {
            return None;
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        if digits.len() < 3 {
            return None;
        }
        Some(if s.trim_start().starts_with('+') {
            format!("+{digits}")
        } else if let Some(rest) = digits.strip_prefix("0086") {
            format!("+86{rest}")
        } else if let Some(rest) = digits.strip_prefix('0') {
            format!("+86{rest}")
        } else {
            format!("+86{digits}")
        })
    }
}

fn is_mainland_mobile(n: &str) -> bool {
    n.len() == 11
        && n.starts_with('1')
        && matches!(n.as_bytes()[1], b'3'..=b'9')
        && n.bytes().all(|b| b.is_ascii_digit())
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// An email address: one `@`, a local part of at most 64 characters and a domain with a
/// dot; the domain is lower-cased, the local part kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let t = input.trim();
        if t.is_empty() {
            return Err("required");
        }
        let Some((local, domain)) = t.rsplit_once('@') else {
            return Err("email_invalid");
        };
        let domain_ok = domain.len() <= 253
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        if !(domain_ok && local_ok) || t.len() > 254 {
            return Err("email_invalid");
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The form used to find the same person twice: the whole address lower-cased.
    pub fn match_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_partly_typed_number_searches_the_stored_form() {
        use super::PhoneNumber;
        assert_eq!(
            PhoneNumber::search_prefix("138 0013").as_deref(),
            Some("+861380013")
        );
        assert_eq!(
            PhoneNumber::search_prefix("010-6552").as_deref(),
            Some("+86106552")
        );
        assert_eq!(
            PhoneNumber::search_prefix("0086 139").as_deref(),
            Some("+86139")
        );
        assert_eq!(
            PhoneNumber::search_prefix("+852 2345").as_deref(),
            Some("+8522345")
        );
        assert_eq!(PhoneNumber::search_prefix("13"), None);
        assert_eq!(PhoneNumber::search_prefix("张伟"), None);
        // Whatever a prefix finds, the whole number parses to something that starts with it.
        let whole = PhoneNumber::parse("138 0013 8000").unwrap();
        let prefix = PhoneNumber::search_prefix("138 0013").unwrap();
        assert!(whole.as_str().starts_with(&prefix));
    }

    use super::*;

    #[test]
    fn mainland_mobiles_in_every_common_spelling_normalise_to_e164() {
        for s in [
            "13800138000",
            "138 0013 8000",
            "+86 138-0013-8000",
            "0086 13800138000",
            "8613800138000",
            "(+86) 138.0013.8000",
        ] {
            assert_eq!(
                PhoneNumber::parse(s).map(|p| p.0),
                Ok("+8613800138000".into()),
                "{s}"
            );
        }
    }

    #[test]
    fn wrong_mainland_numbers_are_refused() {
        for s in [
            "1380013800",
            "138001380001",
            "12800138000",
            "abc",
            "138-0013-800x",
            "+86 12345",
        ] {
            assert_eq!(PhoneNumber::parse(s), Err("phone_invalid"), "{s}");
        }
        assert_eq!(PhoneNumber::parse("  "), Err("required"));
    }

    #[test]
    fn landlines_and_foreign_numbers_are_accepted() {
        assert_eq!(
            PhoneNumber::parse("010-6552 9988").map(|p| p.0),
            Ok("+861065529988".into())
        );
        assert_eq!(
            PhoneNumber::parse("0755-86013388").map(|p| p.0),
            Ok("+8675586013388".into())
        );
        assert_eq!(
            PhoneNumber::parse("+852 2345 6789").map(|p| p.0),
            Ok("+85223456789".into())
        );
    }

    #[test]
    fn mobile_displays_in_groups() {
        let p = PhoneNumber::parse("13800138000").unwrap();
        assert_eq!(p.display(), "138 0013 8000");
    }

    #[test]
    fn emails_are_checked_and_domain_lowercased() {
        assert_eq!(
            Email::parse(" Li.Wei@Example.COM ").map(|e| e.0),
            Ok("Li.Wei@example.com".into())
        );
        assert_eq!(
            Email::parse("张伟@例子.中国").map(|e| e.0),
            Ok("张伟@例子.中国".into())
        );
        for s in [
            "a@b",
            "@b.cn",
            "a@.cn",
            "a b@c.cn",
            "a@@c.cn",
            "a..b@c.cn",
            "a@c..cn",
            "a@-c.cn",
        ] {
            assert_eq!(Email::parse(s), Err("email_invalid"), "{s}");
        }
    }
}
