//! The API's import and export routes, and what the import page shares with them: the
//! file downloads and the report's lines in the reader's language. The engine is
//! `aftercare_app::transfer`.

use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::i18n::{field_message, t};
use crate::kit::json::Path;
use aftercare_app::service::{ImportReport, Principal};
use aftercare_app::transfer::*;
use aftercare_app::{App, AppError};
use aftercare_domain::lang::Lang;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The API's import and export routes, in the OpenAPI document. Their bodies are files, up
/// to the server's body limit, not the JSON limit.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_api))
        .routes(routes!(export_api))
}

/// One error of a report as people read it.
pub struct ReportLine {
    pub row: usize,
    pub column: String,
    pub message: String,
}

pub fn report_lines(kind: Kind, r: &ImportReport, lang: Lang) -> Vec<ReportLine> {
    r.errors
        .iter()
        .map(|e| ReportLine {
            row: e.row,
            column: column_of(kind, &e.field),
            message: field_message(lang, &e.code),
        })
        .collect()
}

pub(crate) fn split_file(file: &str) -> Option<(Kind, Format)> {
    let (kind, ext) = file.rsplit_once('.')?;
    Some((Kind::parse(kind)?, Format::from_name(&format!(".{ext}"))?))
}

pub(crate) async fn export_response(app: &App, p: &Principal, file: &str, lang: Lang) -> Response {
    let Some((kind, format)) = split_file(file) else {
        return ApiError::new(StatusCode::NOT_FOUND, lang, "not_found").into_response();
    };
    let (header, rows) = match export_rows(app, p, kind).await {
        Ok(x) => x,
        Err(e) => return ApiError::from_app(e, lang).into_response(),
    };
    let disposition = format!("attachment; filename=\"{file}\"");
    match format {
        Format::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            to_csv(&header, &rows),
        )
            .into_response(),
        Format::Xlsx => match to_xlsx(file.split('.').next().unwrap_or("data"), &header, &rows) {
            Ok(b) => (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                b,
            )
                .into_response(),
            Err(e) => ApiError::from_app(AppError::Internal(e), lang).into_response(),
        },
    }
}

/// Export every customer, product, order or review as CSV or Excel: `customers.csv`,
/// `products.xlsx`, … (the columns are the import's, so an export can be imported back).
#[utoipa::path(get, path = "/api/v1/export/{file}", tag = "import and export",
    params(("file" = String, Path, description = "`customers`, `products`, `orders` or `reviews`, then `.csv` or `.xlsx`")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn export_api(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(file): Path<String>,
) -> Response {
    export_response(&s.app, &c.principal, &file, c.lang).await
}

#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQ {
    /// Check every row and report what would be created, writing nothing.
    #[serde(default)]
    dry_run: bool,
    /// `csv` (the default) or `xlsx`.
    format: Option<String>,
}

/// What an import did or, on a dry run, would do.
#[derive(serde::Serialize, ToSchema)]
pub(crate) struct ImportResult {
    dry_run: bool,
    /// Data rows read (the header is not counted).
    rows: usize,
    /// Records created: 0 on a dry run or when any row has an error.
    created: usize,
    /// What each valid row does, row by row.
    plan: Vec<aftercare_app::service::ImportAction>,
    /// Every error, with its row and column, in the caller's language.
    errors: Vec<ImportErrorLine>,
}

#[derive(serde::Serialize, ToSchema)]
pub(crate) struct ImportErrorLine {
    row: usize,
    column: String,
    message: String,
}

/// Import customers, products, orders or platform reviews from a CSV or Excel file sent as
/// the body. All rows or none are written; the answer lists every error with its row and
/// column (422), or what was created (200). The caller's permission to import this kind
/// is checked before the file is read.
#[utoipa::path(post, path = "/api/v1/import/{kind}", tag = "import and export",
    params(("kind" = String, Path, description = "`customers`, `products`, `orders` or `reviews`"), ImportQ),
    request_body(content(
        (String = "text/csv"),
        (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = ImportResult), (status = 422, body = ImportResult),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn import_api(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(kind): Path<String>,
    crate::kit::json::ApiQuery(q): crate::kit::json::ApiQuery<ImportQ>,
    body: Bytes,
) -> Response {
    let Some(k) = Kind::parse(&kind) else {
        return ApiError::new(StatusCode::NOT_FOUND, c.lang, "not_found").into_response();
    };
    let format = match q.format.as_deref() {
        None | Some("csv") => Format::Csv,
        Some("xlsx") => Format::Xlsx,
        Some(_) => {
            return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, c.lang, "invalid_input")
                .into_response();
        }
    };
    match import_file(&s.app, &c.principal, k, format, &body, q.dry_run).await {
        Ok(Ok(report)) => {
            let errors = report_lines(k, &report, c.lang)
                .into_iter()
                .map(|l| ImportErrorLine {
                    row: l.row,
                    column: l.column,
                    message: l.message,
                })
                .collect();
            let status = if report.errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let result = ImportResult {
                dry_run: report.dry_run,
                rows: report.rows,
                created: report.created,
                plan: report.plan,
                errors,
            };
            (status, Json(result)).into_response()
        }
        Ok(Err(e)) => {
            let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, c.lang, "import_invalid");
            err.body.fields.push(crate::error::FieldErrorBody {
                field: format!("row {}", e.row),
                code: e.code.into(),
                message: file_error_text(c.lang, &e),
            });
            err.into_response()
        }
        Err(e) => ApiError::from_app(e, c.lang).into_response(),
    }
}

/// Why a file could not be read, in the reader's language; an unreadable file's detail
/// (the parser's own words) follows in brackets.
pub(crate) fn file_error_text(lang: Lang, e: &FileError) -> String {
    let text = t(lang, &format!("error.{}", e.code));
    let text = match e.n {
        Some(n) => text.replace("{n}", &n.to_string()),
        None => text,
    };
    if e.code == "file_unreadable" {
        format!("{text} ({})", e.message)
    } else {
        text
    }
}
