//! The import page and the file downloads of the pages.

use crate::AppState;
use crate::api::transfer::*;
use crate::auth::Session;
use crate::i18n::Tr;
use crate::kit::page::{PageQuery, Path, render};
use aftercare_app::service::ImportReport;
use aftercare_app::transfer::*;
use aftercare_domain::ids::*;
use askama::Template;
use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// The pages' routes: the import page and the downloads.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/export/{file}", get(export_page))
        .route("/export/customers/{file}", get(vcard_page))
        .route("/import", get(import_page).post(import_submit))
        .route("/import/templates/{file}", get(template_page))
}

pub(crate) async fn template_page(session: Session, Path(file): Path<String>) -> Response {
    template_response(&file, session.lang)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct ExportPageQ {
    /// `1`: the codes, for machines and for importing again.
    codes: Option<String>,
}

/// An export from a page is for people (names in the reader's language) unless the codes
/// are asked for.
pub(crate) async fn export_page(
    State(s): State<AppState>,
    session: Session,
    Path(file): Path<String>,
    PageQuery(q): PageQuery<ExportPageQ>,
) -> Response {
    let people = q.codes.is_none();
    export_response(&s.app, &session.principal, &file, session.lang, people).await
}

pub(crate) async fn vcard_page(
    State(s): State<AppState>,
    session: Session,
    Path(file): Path<String>,
) -> Response {
    let Some(id) = file
        .strip_suffix(".vcf")
        .and_then(|i| i.parse::<CustomerId>().ok())
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
        Err(e) => crate::kit::page::page_error(e, session.lang),
    }
}

#[derive(Template)]
#[template(path = "import.html")]
pub(crate) struct ImportPage {
    c: crate::kit::page::Chrome,
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
            ("outlets", OUTLET_COLUMNS.join(", ")),
        ]
    }
}

pub(crate) async fn import_page(session: Session) -> Response {
    render(ImportPage {
        c: crate::kit::page::Chrome::for_session(&session, "import"),
        kind: "customers".into(),
        report: None,
        lines: vec![],
        file_error: None,
    })
}

pub(crate) async fn import_submit(
    State(s): State<AppState>,
    session: Session,
    mut mp: Multipart,
) -> Response {
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
        c: crate::kit::page::Chrome::for_session(&session, "import"),
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
    let aliases = import_aliases(k);
    match import_file(
        &s.app,
        &session.principal,
        k,
        format,
        &data,
        dry_run,
        &aliases,
    )
    .await
    {
        Ok(Err(e)) => {
            let text = file_error_text(session.lang, &e);
            page.file_error = Some(if e.row > 0 {
                format!("{} {}: {text}", Tr(session.lang).t("import.row"), e.row)
            } else {
                text
            });
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
        Err(e) => crate::kit::page::page_error(e, session.lang),
    }
}
