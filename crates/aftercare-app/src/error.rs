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
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::from_store("record")(e)
    }
}
