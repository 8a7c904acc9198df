use aftercare_domain::Invalid;

/// What storage can tell the use cases, in terms of meaning, not drivers.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or consistency rule was broken; `code` says which, `field` where.
    #[error("conflict: {code}")]
    Conflict {
        code: &'static str,
        field: Option<String>,
    },
    #[error("storage failure: {0}")]
    Backend(String),
    /// A stored value no version of Aftercare writes (a damaged or hand-edited row), named
    /// so that it can be found and mended. Never read as a default.
    #[error("corrupt row: {table} {id}: {column} = {value:?}")]
    Corrupt {
        table: &'static str,
        id: i64,
        column: &'static str,
        value: String,
    },
}

/// What a use case can answer instead of a result.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {code}")]
    Conflict {
        code: &'static str,
        field: Option<String>,
    },
    #[error("not signed in")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    #[error("too many attempts")]
    Throttled,
    /// What was sent cannot be read as what it claims to be (a mail, a spreadsheet):
    /// `code` says which, `detail` why.
    #[error("unreadable: {code}: {detail}")]
    Unreadable { code: &'static str, detail: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Maps a storage error for a lookup of `entity`.
    pub fn from_store(entity: &'static str) -> impl Fn(StoreError) -> AppError {
        move |e| match e {
            StoreError::NotFound => AppError::NotFound(entity),
            StoreError::Conflict { code, field } => AppError::Conflict { code, field },
            StoreError::Backend(m) => AppError::Internal(m),
            e @ StoreError::Corrupt { .. } => AppError::Internal(e.to_string()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::from_store("record")(e)
    }
}
