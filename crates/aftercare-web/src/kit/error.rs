//! One JSON error shape for the API: `{code, message, fields: [{field, code, message}]}`.

use crate::i18n::{field_message, t};
use aftercare_app::AppError;
use aftercare_domain::lang::Lang;
use axum::Json;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::cell::Cell;
use utoipa::ToSchema;

tokio::task_local! {
    /// The language of the request being answered, set by the extractor that knows it.
    static CALLER_LANG: Cell<Lang>;
}

/// Runs each request with a slot for the caller's language, so that a use case's error
/// meeting `?` in a handler is rendered in that language: errors are mapped in one place
/// ([`From<AppError> for ApiError`]), not at every call.
pub async fn with_caller_lang(req: Request, next: Next) -> Response {
    let lang = crate::auth::request_lang_of(&req);
    CALLER_LANG.scope(Cell::new(lang), next.run(req)).await
}

/// Records the caller's language once it is known (the user's own choice, after sign-in).
pub fn set_caller_lang(lang: Lang) {
    let _ = CALLER_LANG.try_with(|l| l.set(lang));
}

fn caller_lang() -> Lang {
    CALLER_LANG.try_with(Cell::get).unwrap_or_default()
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError::from_app(e, caller_lang())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// The input's path, e.g. `phones[0].number`.
    pub field: String,
    pub code: String,
    pub message: String,
}

/// Every API error has this shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, snake_case: invalid_input, not_found, conflict codes, unauthenticated, …
    pub code: String,
    /// A sentence in the caller's language.
    pub message: String,
    pub fields: Vec<FieldErrorBody>,
}

/// An error on its way out of the API, in the caller's language.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, lang: Lang, code: &str) -> Self {
        Self {
            status,
            body: ErrorBody {
                code: code.into(),
                message: t(lang, &format!("error.{code}")),
                fields: vec![],
            },
        }
    }

    pub fn with_detail(mut self, detail: &str) -> Self {
        self.body.message.push_str(detail);
        self
    }

    pub fn from_app(e: AppError, lang: Lang) -> Self {
        match e {
            AppError::Invalid(inv) => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: ErrorBody {
                    code: "invalid_input".into(),
                    message: t(lang, "error.invalid_input"),
                    fields: inv
                        .0
                        .into_iter()
                        .map(|f| FieldErrorBody {
                            message: field_message(lang, f.code),
                            field: f.field,
                            code: f.code.into(),
                        })
                        .collect(),
                },
            },
            AppError::NotFound(what) => Self {
                status: StatusCode::NOT_FOUND,
                body: ErrorBody {
                    code: "not_found".into(),
                    message: not_found_message(lang, what),
                    fields: vec![],
                },
            },
            AppError::Conflict { code, field } => {
                let status = if code == "cursor_invalid" || code == "sort_unknown" {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::CONFLICT
                };
                let message = field_message(lang, code);
                Self {
                    status,
                    body: ErrorBody {
                        code: code.into(),
                        message: message.clone(),
                        fields: field
                            .map(|f| {
                                vec![FieldErrorBody {
                                    field: f,
                                    code: code.into(),
                                    message,
                                }]
                            })
                            .unwrap_or_default(),
                    },
                }
            }
            AppError::Unauthenticated => {
                Self::new(StatusCode::UNAUTHORIZED, lang, "unauthenticated")
            }
            AppError::Forbidden => Self::new(StatusCode::FORBIDDEN, lang, "forbidden"),
            AppError::Throttled => Self::new(StatusCode::TOO_MANY_REQUESTS, lang, "throttled"),
            AppError::Unreadable { code, detail } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, lang, code)
                    .with_detail(&format!(" ({detail})"))
            }
            AppError::Internal(m) => {
                // The cause goes to the log; the caller learns nothing internal.
                tracing::error!(error = %m, "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, lang, "internal")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// "No such service request.": what was missing, named in the reader's language (a generic
/// sentence for a kind without a name, never its code).
pub(crate) fn not_found_message(lang: Lang, what: &str) -> String {
    let key = format!("thing.{what}");
    let thing = t(lang, &key);
    if thing == key {
        t(lang, "error.not_found_any")
    } else {
        t(lang, "error.not_found_thing").replace("{thing}", &thing)
    }
}
