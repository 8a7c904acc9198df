//! Import and export over HTTP: the import page, the file downloads and the API's import
//! and export routes. The engine (reading files, building inputs, exports, vCards) is
//! `aftercare_app::transfer`.

use crate::AppState;
use crate::auth::{ApiCaller, Session};
use crate::error::{ApiError, ErrorBody};
use crate::i18n::{Tr, field_message};
use aftercare_app::service::{ImportReport, Principal};
use aftercare_app::transfer::*;
use aftercare_app::{App, AppError};
use aftercare_domain::lang::Lang;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The pages' routes: the import page and the downloads.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/export/{file}", get(export_page))
        .route("/export/customers/{file}", get(vcard_page))
        .route("/import", get(import_page).post(import_submit))
}

/// The API's import and export routes, in the OpenAPI document. Their bodies are files, up
/// to the server's body limit, not the JSON limit.
pub fn api_routes() -> OpenApiRouter<AppState> {
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

fn split_file(file: &str) -> Option<(Kind, Format)> {
    let (kind, ext) = file.rsplit_once('.')?;
    Some((Kind::parse(kind)?, Format::from_name(&format!(".{ext}"))?))
}

async fn export_response(app: &App, p: &Principal, file: &str, lang: Lang) -> Response {
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

async fn export_page(
    State(s): State<AppState>,
    session: Session,
    Path(file): Path<String>,
) -> Response {
    export_response(&s.app, &session.principal, &file, session.lang).await
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
async fn export_api(State(s): State<AppState>, c: ApiCaller, Path(file): Path<String>) -> Response {
    export_response(&s.app, &c.principal, &file, c.lang).await
}

async fn vcard_page(
    State(s): State<AppState>,
    session: Session,
    Path(file): Path<String>,
) -> Response {
    let Some(id) = file
        .strip_suffix(".vcf")
        .and_then(|i| i.parse::<i64>().ok())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match s.app.customer(&session.principal, id).await {
        Ok(c) => (
            [
                (
                    header::CONTENT_TYPE,
                    "text/vcard; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"customer-{id}.vcf\""),
                ),
            ],
            vcard(&c),
        )
            .into_response(),
        Err(e) => ApiError::from_app(e, session.lang).into_response(),
    }
}

// ---- import page and API ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    c: crate::ui::Chrome,
    kind: String,
    report: Option<ImportReport>,
    lines: Vec<ReportLine>,
    file_error: Option<String>,
}

impl ImportPage {
    fn columns(&self) -> Vec<(&'static str, String)> {
        vec![
            ("customers", CUSTOMER_COLUMNS.join(", ")),
            ("products", PRODUCT_COLUMNS.join(", ")),
            ("orders", ORDER_COLUMNS.join(", ")),
            ("reviews", REVIEW_COLUMNS.join(", ")),
        ]
    }
}

async fn import_page(session: Session) -> Response {
    render(ImportPage {
        c: crate::ui::Chrome::for_session(&session, "import"),
        kind: "customers".into(),
        report: None,
        lines: vec![],
        file_error: None,
    })
}

fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(h) => Html(h).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn import_submit(State(s): State<AppState>, session: Session, mut mp: Multipart) -> Response {
    let (mut csrf, mut kind, mut dry_run, mut file) =
        (String::new(), String::from("customers"), false, None);
    while let Ok(Some(field)) = mp.next_field().await {
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let Ok(data) = field.bytes().await else { break };
        match name.as_str() {
            "_csrf" => csrf = String::from_utf8_lossy(&data).into(),
            "kind" => kind = String::from_utf8_lossy(&data).into(),
            "dry_run" => dry_run = true,
            "file" => file = Some((filename.unwrap_or_default(), data)),
            _ => {}
        }
    }
    if csrf != session.csrf {
        return (StatusCode::FORBIDDEN, Tr(session.lang).t("error.csrf")).into_response();
    }
    let mut page = ImportPage {
        c: crate::ui::Chrome::for_session(&session, "import"),
        kind: kind.clone(),
        report: None,
        lines: vec![],
        file_error: None,
    };
    let Some(k) = Kind::parse(&kind) else {
        page.file_error = Some(Tr(session.lang).t("error.kind_unknown"));
        return (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response();
    };
    let Some((name, data)) = file else {
        page.file_error = Some(Tr(session.lang).t("error.required"));
        return (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response();
    };
    let format = Format::from_name(&name).unwrap_or(Format::Csv);
    match import_file(&s.app, &session.principal, k, format, &data, dry_run).await {
        Ok(Err(e)) => {
            page.file_error = Some(format!("row {}: {}", e.row, e.message));
            (StatusCode::UNPROCESSABLE_ENTITY, render(page)).into_response()
        }
        Ok(Ok(report)) => {
            page.lines = report_lines(k, &report, session.lang);
            let status = if report.errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            page.report = Some(report);
            (status, render(page)).into_response()
        }
        Err(e) => ApiError::from_app(e, session.lang).into_response(),
    }
}

#[derive(serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQ {
    /// Check every row and report what would be created, writing nothing.
    #[serde(default)]
    dry_run: bool,
    /// `csv` (the default) or `xlsx`.
    format: Option<String>,
}

/// What an import did or, on a dry run, would do.
#[derive(serde::Serialize, ToSchema)]
struct ImportResult {
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
struct ImportErrorLine {
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
async fn import_api(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(kind): Path<String>,
    Query(q): Query<ImportQ>,
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
                code: "file_unreadable".into(),
                message: e.message,
            });
            err.into_response()
        }
        Err(e) => ApiError::from_app(e, c.lang).into_response(),
    }
}
