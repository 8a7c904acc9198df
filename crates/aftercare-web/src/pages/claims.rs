//! Warranty claim pages: the list, one claim with the brand's decision or the partner's
//! correction, filing from the request page, and a partner's monthly statement with its
//! export for payment.

use crate::AppState;
use crate::auth::Session;
use crate::i18n::Tr;
use crate::kit::page::*;
use crate::pages::campaigns::lines;
use aftercare_app::AppError;
use aftercare_app::claims_model::*;
use aftercare_app::model::Outlet;
use aftercare_domain::catalog::format_money;
use aftercare_domain::{Money, OutletId, RequestId};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/claims", get(claims_page))
        .route("/claims/statement", get(statement_page))
        .route("/claims/statement.csv", get(statement_csv))
        .route("/claims/{id}", get(claim_page).post(refile_submit))
        .route("/claims/{id}/decision", post(decision_submit))
        .route("/requests/{id}/claims", post(file_submit))
}

fn yuan(m: &Money) -> String {
    format_money(m.fen())
}

/// An amount however a template hands it (by value or by reference), in fen.
pub(crate) trait Fen {
    fn fen_of(&self) -> i64;
}

impl Fen for Money {
    fn fen_of(&self) -> i64 {
        self.fen()
    }
}

impl<T: Fen + ?Sized> Fen for &T {
    fn fen_of(&self) -> i64 {
        (**self).fen_of()
    }
}

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    status: Option<String>,
    outlet_id: Option<String>,
    month: Option<String>,
}

#[derive(Template)]
#[template(path = "claims.html")]
struct ClaimsPage {
    c: Chrome,
    claims: Vec<Claim>,
    partners: Vec<Outlet>,
    status: String,
    outlet_id: String,
    month: String,
    errors: Vec<String>,
}

impl ClaimsPage {
    fn yuan(&self, m: impl Fen) -> String {
        format_money(m.fen_of())
    }
    fn statuses(&self) -> Vec<&'static str> {
        aftercare_domain::claims::ClaimStatus::ALL
            .iter()
            .map(|s| s.code())
            .collect()
    }
}

/// The partner outlets a reader may pick: their own for a partner's staff, else all.
async fn partners(s: &AppState, session: &Session) -> Result<Vec<Outlet>, AppError> {
    let all = s.app.outlets(&session.principal).await?;
    Ok(all.into_iter().filter(|o| o.kind == "partner").collect())
}

async fn claims_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<ListQuery>,
) -> Response {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let query = ClaimQuery {
        status: q.status.clone().filter(|x| !x.is_empty()),
        outlet_id: q
            .outlet_id
            .as_deref()
            .and_then(|x| x.trim().parse().ok())
            .map(OutletId),
        month: q.month.clone().filter(|x| !x.is_empty()),
    };
    let tr = Tr(session.lang);
    let (claims, errors) = match s.app.claims(&session.principal, &query).await {
        Ok(c) => (c, vec![]),
        Err(e @ AppError::Invalid(_)) => (vec![], lines(e, &tr)),
        Err(e) => return page_error(e, session.lang),
    };
    let partners = match partners(&s, &session).await {
        Ok(p) => p,
        Err(e) => return page_error(e, session.lang),
    };
    render(ClaimsPage {
        c: Chrome::for_session(&session, "claims"),
        claims,
        partners,
        status: opt(&q.status),
        outlet_id: opt(&q.outlet_id),
        month: opt(&q.month),
        errors,
    })
}

#[derive(Template)]
#[template(path = "claim.html")]
struct ClaimPage {
    c: Chrome,
    k: Claim,
    /// The reader decides on claims (the brand's desk managers).
    can_decide: bool,
    errors: Vec<String>,
}

impl ClaimPage {
    fn yuan(&self, m: impl Fen) -> String {
        format_money(m.fen_of())
    }
}

async fn claim_view(
    s: &AppState,
    session: &Session,
    id: i64,
    errors: Vec<String>,
) -> Result<ClaimPage, AppError> {
    let p = &session.principal;
    let k = s.app.claim(p, id).await?;
    let partner = s
        .app
        .staff_profiles(p)
        .await
        .unwrap_or_default()
        .into_iter()
        .any(|x| x.user_id == p.user.id && x.partner);
    Ok(ClaimPage {
        c: Chrome::for_session(session, "claims"),
        k,
        can_decide: p
            .role
            .allows(aftercare_domain::account::Permission::ManageDesk)
            && !partner,
        errors,
    })
}

async fn claim_page(State(s): State<AppState>, Path(id): Path<i64>, session: Session) -> Response {
    match claim_view(&s, &session, id, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

fn claim_input(f: &FormData) -> ClaimInput {
    ClaimInput {
        parts_amount: f.s("parts_amount"),
        labour_amount: f.s("labour_amount"),
        note: f.opt("note"),
        version: f.opt("version").and_then(|v| v.trim().parse().ok()),
    }
}

async fn after_claim_form(
    s: &AppState,
    session: &Session,
    id: i64,
    r: Result<(), AppError>,
) -> Response {
    match r {
        Ok(()) => Redirect::to(&format!("/claims/{id}?done=saved")).into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            match claim_view(s, session, id, errors).await {
                Ok(p) => render(p),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

async fn refile_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let r = s
        .app
        .refile_claim(&session.principal, id, &claim_input(&f))
        .await;
    after_claim_form(&s, &session, id, r).await
}

async fn decision_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = ClaimDecisionInput {
        decision: f.s("decision"),
        approved_amount: f.opt("approved_amount"),
        note: f.opt("note"),
        version: f.s("version").trim().parse().unwrap_or(0),
    };
    let r = s.app.decide_claim(&session.principal, id, &input).await;
    after_claim_form(&s, &session, id, r).await
}

/// Files a claim from the request page; errors go back to it.
async fn file_submit(
    State(s): State<AppState>,
    Path(id): Path<RequestId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    match s
        .app
        .file_claim(&session.principal, id, &claim_input(&f))
        .await
    {
        Ok(claim) => Redirect::to(&format!("/claims/{claim}?done=created")).into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            crate::pages::desk::request_with_errors(&s, &session, id, errors).await
        }
    }
}

#[derive(serde::Deserialize, Default)]
struct StatementQuery {
    outlet_id: Option<String>,
    month: Option<String>,
}

#[derive(Template)]
#[template(path = "statement.html")]
struct StatementPage {
    c: Chrome,
    partners: Vec<Outlet>,
    outlet_id: String,
    month: String,
    statement: Option<Statement>,
    errors: Vec<String>,
}

impl StatementPage {
    fn yuan(&self, m: impl Fen) -> String {
        format_money(m.fen_of())
    }
}

/// The statement asked for: the outlet (a partner's own by default) and the month (this
/// one by default).
async fn statement_of(
    s: &AppState,
    session: &Session,
    q: &StatementQuery,
) -> Result<(Vec<Outlet>, String, String, Result<Statement, AppError>), AppError> {
    let partners = partners(s, session).await?;
    let month = q
        .month
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| {
            s.app
                .now()
                .to_zoned(aftercare_domain::calendar::china())
                .strftime("%Y-%m")
                .to_string()
        });
    let own = s
        .app
        .staff_profiles(&session.principal)
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|x| x.user_id == session.principal.user.id && x.partner)
        .and_then(|x| x.outlet_id);
    let outlet = q
        .outlet_id
        .as_deref()
        .and_then(|x| x.trim().parse().ok())
        .map(OutletId)
        .or(own)
        .or(partners.first().map(|o| o.id));
    let statement = match outlet {
        Some(o) => s.app.statement(&session.principal, o, &month).await,
        None => Err(AppError::NotFound("outlet")),
    };
    let outlet_id = outlet.map(|o| o.get().to_string()).unwrap_or_default();
    Ok((partners, outlet_id, month, statement))
}

async fn statement_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<StatementQuery>,
) -> Response {
    let (partners, outlet_id, month, statement) = match statement_of(&s, &session, &q).await {
        Ok(x) => x,
        Err(e) => return page_error(e, session.lang),
    };
    let (statement, errors) = match statement {
        Ok(x) => (Some(x), vec![]),
        Err(AppError::NotFound(_)) => (None, vec![]),
        Err(e @ AppError::Invalid(_)) => (None, lines(e, &Tr(session.lang))),
        Err(e) => return page_error(e, session.lang),
    };
    render(StatementPage {
        c: Chrome::for_session(&session, "claims"),
        partners,
        outlet_id,
        month,
        statement,
        errors,
    })
}

/// The statement as a CSV file for the payment run: one row a claim, then the totals.
/// Column names and statuses in the reader's language; cells that a spreadsheet would
/// run as formulas are made inert.
async fn statement_csv(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<StatementQuery>,
) -> Response {
    let st = match statement_of(&s, &session, &q).await {
        Ok((_, _, _, Ok(st))) => st,
        Ok((_, _, _, Err(e))) | Err(e) => return page_error(e, session.lang),
    };
    let tr = Tr(session.lang);
    let header: Vec<String> = [
        "claim.number",
        "claim.request",
        "claim.customer",
        "claim.item",
        "claim.warranty",
        "claim.parts",
        "claim.labour",
        "claim.claimed",
        "claim.approved",
        "claim.status",
        "claim.decision_note",
    ]
    .iter()
    .map(|k| tr.t(k))
    .collect();
    let mut rows: Vec<Vec<String>> = st
        .claims
        .iter()
        .map(|k| {
            vec![
                k.id.to_string(),
                k.request_number.clone(),
                k.customer_name.clone(),
                k.item.clone().unwrap_or_default(),
                tr.k("charge_reason", &k.warranty_reason),
                yuan(&k.parts_amount),
                yuan(&k.labour_amount),
                yuan(&k.claimed()),
                k.approved_amount.as_ref().map(yuan).unwrap_or_default(),
                tr.k("claim_status", k.status.code()),
                k.decision_note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut total = vec![String::new(); header.len()];
    total[0] = tr.t("claim.total");
    total[7] = yuan(&st.claimed_total);
    total[8] = yuan(&st.approved_total);
    rows.push(total);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let body = aftercare_app::transfer::to_csv(&header, &rows);
    let name = format!("statement-{}-{}.csv", st.outlet_id, st.month);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
