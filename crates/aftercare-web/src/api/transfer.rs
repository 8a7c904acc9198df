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
        .routes(routes!(import_template_api))
        .routes(routes!(export_api))
}

/// The columns of an import that hold a coded value: the codes and the prefix of their
/// names in the messages (`tp.web` is "网站").
fn coded_columns(kind: Kind) -> Vec<(&'static str, Vec<&'static str>, &'static str)> {
    use aftercare_domain::catalog::AfterSalesStrategy;
    use aftercare_domain::customer::{ConsentChannel, CustomerKind, Touchpoint};
    use aftercare_domain::order::{OrderStatus, SalesChannel};
    let codes = |all: &[&'static str]| all.to_vec();
    match kind {
        Kind::Customers => vec![
            (
                "kind",
                CustomerKind::ALL.iter().map(|c| c.code()).collect(),
                "kind",
            ),
            (
                "source",
                Touchpoint::ALL.iter().map(|c| c.code()).collect(),
                "tp",
            ),
            (
                "consent",
                ConsentChannel::ALL.iter().map(|c| c.code()).collect(),
                "consent",
            ),
        ],
        Kind::Orders => vec![
            (
                "channel",
                SalesChannel::ALL.iter().map(|c| c.code()).collect(),
                "channel",
            ),
            (
                "status",
                OrderStatus::ALL.iter().map(|c| c.code()).collect(),
                "status",
            ),
        ],
        Kind::Products => vec![(
            "strategy",
            AfterSalesStrategy::ALL.iter().map(|c| c.code()).collect(),
            "strategy",
        )],
        Kind::Reviews => vec![("platform", codes(&[]), "")],
        Kind::Outlets => vec![("kind", codes(&["own", "partner"]), "outlet_kind")],
    }
    .into_iter()
    .filter(|(_, codes, _)| !codes.is_empty())
    .collect()
}

/// What an import takes for each coded value besides its code: its name in every language
/// ("网站", "網站", "Website" for `web`).
pub fn import_aliases(kind: Kind) -> Aliases {
    coded_columns(kind)
        .into_iter()
        .map(|(column, codes, prefix)| {
            let mut names = std::collections::HashMap::new();
            for code in codes {
                for lang in Lang::ALL {
                    let key = format!("{prefix}.{code}");
                    let name = t(lang, &key);
                    if name != key {
                        names.insert(name.trim().to_lowercase(), code);
                    }
                }
            }
            (column, names)
        })
        .collect()
}

/// The allowed values of a coded column as people read them: "网站 (web)、门店 (store)…".
fn allowed_values(kind: Kind, column: &str, lang: Lang) -> Option<String> {
    let (_, codes, prefix) = coded_columns(kind)
        .into_iter()
        .find(|(c, _, _)| *c == column)?;
    let sep = if lang == Lang::En { ", " } else { "、" };
    Some(
        codes
            .iter()
            .map(|c| format!("{} ({c})", t(lang, &format!("{prefix}.{c}"))))
            .collect::<Vec<_>>()
            .join(sep),
    )
}

/// A file to fill in for an import of `kind`: the columns and an example row, coded values
/// by their name in the reader's language (an import takes names or codes), as UTF-8 CSV
/// with a byte-order mark so that Excel opens the Chinese intact.
pub fn template_csv(kind: Kind, lang: Lang) -> Vec<u8> {
    let (header, example) = template(kind);
    let coded = coded_columns(kind);
    let row: Vec<String> = header
        .iter()
        .zip(example)
        .map(
            |(column, value)| match coded.iter().find(|(c, _, _)| c == column) {
                Some((_, _, prefix)) if !value.is_empty() => {
                    let sep = if lang == Lang::En { "," } else { "、" };
                    value
                        .split(',')
                        .map(|code| t(lang, &format!("{prefix}.{code}")))
                        .collect::<Vec<_>>()
                        .join(sep)
                }
                _ => value.to_string(),
            },
        )
        .collect();
    to_csv(header, &[row])
}

pub(crate) fn template_response(file: &str, lang: Lang) -> Response {
    let Some((name, kind)) = file
        .strip_suffix(".csv")
        .and_then(|n| Some((n, Kind::parse(n)?)))
    else {
        return ApiError::new(StatusCode::NOT_FOUND, lang, "not_found").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}-template.csv\""),
            ),
        ],
        template_csv(kind, lang),
    )
        .into_response()
}

/// A file to fill in for an import: the columns and one example row, coded values named
/// in the caller's language. Anyone signed in may fetch it.
#[utoipa::path(get, path = "/api/v1/import/templates/{file}", tag = "import and export",
    params(("file" = String, Path, description = "`customers.csv`, `products.csv`, `orders.csv` or `reviews.csv`")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)))]
pub(crate) async fn import_template_api(c: ApiCaller, Path(file): Path<String>) -> Response {
    template_response(&file, c.lang)
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
        .map(|e| {
            let column = column_of(kind, &e.field);
            let mut message = field_message(lang, &e.code);
            // A value that is not one of the column's: the allowed ones are listed.
            if e.code.ends_with("_unknown")
                && let Some(allowed) = allowed_values(kind, &column, lang)
            {
                message = format!("{message} {} {allowed}", t(lang, "import.allowed"));
            }
            ReportLine {
                row: e.row,
                column,
                message,
            }
        })
        .collect()
}

pub(crate) fn split_file(file: &str) -> Option<(Kind, Format)> {
    let (kind, ext) = file.rsplit_once('.')?;
    Some((Kind::parse(kind)?, Format::from_name(&format!(".{ext}"))?))
}

/// The key prefix naming a coded export column's values for people.
fn value_prefix(column: &str) -> Option<&'static str> {
    Some(match column {
        "kind" => "kind",
        "source" => "tp",
        "consent" => "consent",
        "channel" => "channel",
        "status" => "status",
        "strategy" => "strategy",
        "sentiment" => "fb.sentiment",
        "need" => "fb.need",
        "ladder" => "fb.ladder",
        "serialized" => "yesno",
        _ => return None,
    })
}

/// An export for people: column names and coded values in the reader's language (the
/// codes export is for machines and for importing again). A value without a name stays
/// as it is.
pub fn for_people(
    header: &[&str],
    rows: Vec<Vec<String>>,
    lang: Lang,
) -> (Vec<String>, Vec<Vec<String>>) {
    let name = |key: String, fallback: &str| {
        let n = t(lang, &key);
        if n == key { fallback.to_string() } else { n }
    };
    let names = header.iter().map(|c| name(format!("col.{c}"), c)).collect();
    let sep = if lang == Lang::En { "; " } else { "；" };
    let rows = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .enumerate()
                .map(|(i, v)| match header.get(i).and_then(|c| value_prefix(c)) {
                    Some(prefix) if !v.is_empty() => v
                        .split(';')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .map(|code| name(format!("{prefix}.{code}"), code))
                        .collect::<Vec<_>>()
                        .join(sep),
                    _ => v,
                })
                .collect()
        })
        .collect();
    (names, rows)
}

pub(crate) async fn export_response(
    app: &App,
    p: &Principal,
    file: &str,
    lang: Lang,
    people: bool,
) -> Response {
    let Some((kind, format)) = split_file(file) else {
        return ApiError::new(StatusCode::NOT_FOUND, lang, "not_found").into_response();
    };
    let (codes, rows) = match export_rows(app, p, kind).await {
        Ok(x) => x,
        Err(e) => return ApiError::from_app(e, lang).into_response(),
    };
    let (names, rows) = if people {
        for_people(&codes, rows, lang)
    } else {
        (codes.iter().map(|c| c.to_string()).collect(), rows)
    };
    let header: Vec<&str> = names.iter().map(String::as_str).collect();
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
    params(("file" = String, Path, description = "`customers`, `products`, `orders`, `reviews` or `outlets`, then `.csv` or `.xlsx`"), ExportQ),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/csv"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn export_api(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(file): Path<String>,
    crate::kit::json::ApiQuery(q): crate::kit::json::ApiQuery<ExportQ>,
) -> Response {
    export_response(&s.app, &c.principal, &file, c.lang, q.labels).await
}

#[derive(serde::Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ExportQ {
    /// Column names and coded values in the caller's language, for people (default: the
    /// codes, which import again).
    labels: bool,
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
    params(("kind" = String, Path, description = "`customers`, `products`, `orders`, `reviews` or `outlets`"), ImportQ),
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
    let aliases = import_aliases(k);
    match import_file(&s.app, &c.principal, k, format, &body, q.dry_run, &aliases).await {
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
