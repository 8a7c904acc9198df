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
    if t.is_empty() {
        Err("required")
    } else if t.chars().count() > max {
        Err("too_long")
    } else {
        Ok(t.to_string())
    }
}

/// Trims an optional text field: empty becomes `None`.
pub fn optional_text(s: Option<&str>, max: usize) -> Result<Option<String>, &'static str> {
    match s.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > max => Err("too_long"),
        Some(t) => Ok(Some(t.to_string())),
    }
}
