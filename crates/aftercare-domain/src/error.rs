use serde::Serialize;

/// One thing wrong with one field of some input. `code` is stable and snake_case; the
/// interface turns it into a sentence in the user's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str) -> Self {
        Self {
            field: field.into(),
            code,
        }
    }
}

/// Everything wrong with some input, collected rather than stopping at the first.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("invalid input: {}", .0.iter().map(|e| format!("{} ({})", e.field, e.code)).collect::<Vec<_>>().join(", "))]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(field: impl Into<String>, code: &'static str) -> Self {
        Self(vec![FieldError::new(field, code)])
    }

    pub fn push(&mut self, field: impl Into<String>, code: &'static str) {
        self.0.push(FieldError::new(field, code));
    }

    /// Keeps the value if it parsed, records the error under `field` if it did not.
    pub fn check<T>(&mut self, field: impl Into<String>, r: Result<T, &'static str>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(code) => {
                self.push(field, code);
                None
            }
        }
    }

    /// Keeps the value if it was valid, adds its errors to these if it was not.
    pub fn merge<T>(&mut self, r: Result<T, Invalid>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.extend(e.0);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// Parses an ISO date (`2026-11-25`), the only date format the API and imports accept.
pub fn parse_date(s: &str) -> Result<jiff::civil::Date, &'static str> {
    s.trim()
        .parse::<jiff::civil::Date>()
        .map_err(|_| "date_invalid")
}

/// Trims a required text field and bounds its length (in characters, not bytes).
pub fn required_text(s: &str, max: usize) -> Result<String, &'static str> {
    let t = s.trim();
    if has_control_character(t) {
        Err("control_character")
    } else if t.chars().all(invisible) {
        // Empty, or only zero-width characters: nothing a person could read.
        Err("required")
    } else if t.chars().count() > max {
        Err("too_long")
    } else {
        Ok(t.to_string())
    }
}

/// A control character no person means to type: below a space (except tab, line feed and
/// carriage return), DEL and the C1 range. PostgreSQL cannot store a NUL at all.
pub fn is_stray_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

pub fn has_control_character(s: &str) -> bool {
    s.chars().any(is_stray_control)
}

/// The text without stray control characters, for text that arrives from outside and is
/// kept as received (mail, form posts).
pub fn without_control_characters(s: &str) -> std::borrow::Cow<'_, str> {
    if has_control_character(s) {
        std::borrow::Cow::Owned(s.chars().filter(|c| !is_stray_control(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Characters that take no room on screen: zero-width spaces and joiners, the word
/// joiner, the byte-order mark, the soft hyphen.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// Trims an optional text field: empty becomes `None`.
pub fn optional_text(s: Option<&str>, max: usize) -> Result<Option<String>, &'static str> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if has_control_character(t) => Err("control_character"),
        Some(t) if t.chars().all(invisible) => Ok(None),
        Some(t) if t.chars().count() > max => Err("too_long"),
        Some(t) => Ok(Some(t.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_refuse_control_characters_and_invisible_names() {
        assert_eq!(required_text("王\u{0}芳", 100), Err("control_character"));
        assert_eq!(required_text("\u{0}\u{0}", 100), Err("control_character"));
        assert_eq!(required_text("\u{200B}\u{FEFF}", 100), Err("required"));
        assert_eq!(required_text(" 王芳\n", 100), Ok("王芳".into()));
        assert_eq!(
            required_text("第一行\n第二行\t", 100),
            Ok("第一行\n第二行".into())
        );
        assert_eq!(
            optional_text(Some("a\u{7}b"), 100),
            Err("control_character")
        );
        assert_eq!(optional_text(Some("\u{200D}"), 100), Ok(None));
        assert_eq!(without_control_characters("a\u{0}b\u{1b}c\n"), "abc\n");
    }
}
