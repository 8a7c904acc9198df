//! The care page (care plans, maintenance schedules, contracts sold) and the forms that
//! give or cancel a voucher and cancel a contract from the customer and request pages.

use crate::AppState;
use crate::auth::Session;
use crate::i18n::Tr;
use crate::kit::page::*;
use crate::pages::campaigns::{lines, number};
use aftercare_app::AppError;
use aftercare_app::care_model::*;
use aftercare_domain::RequestId;
use aftercare_domain::request::ServiceType;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/care", get(care_page))
        .route("/care/plans", post(plan_submit))
        .route("/care/plans/{id}/active", post(plan_active_submit))
        .route("/care/maintenance", post(maintenance_submit))
        .route("/contracts/{id}/cancel", post(contract_cancel_submit))
        .route("/requests/{id}/vouchers", post(voucher_submit))
        .route("/vouchers/{id}/cancel", post(voucher_cancel_submit))
}

/// The plan form as typed.
#[derive(Default)]
struct PlanDraft {
    product_id: String,
    category_id: String,
    months: String,
    extends_warranty: bool,
    covers: Vec<String>,
}

#[derive(Template)]
#[template(path = "care.html")]
struct CarePage {
    c: Chrome,
    plans: Vec<CarePlan>,
    schedules: Vec<MaintenanceSchedule>,
    contracts: Vec<ServiceContract>,
    /// Services (no serial numbers), the products a plan may sell.
    services: Vec<(i64, String)>,
    /// Serial-numbered products, those a schedule is for.
    items: Vec<(i64, String)>,
    categories: Vec<(i64, String)>,
    draft: PlanDraft,
    errors: Vec<String>,
    today: jiff::civil::Date,
}

impl CarePage {
    fn types(&self) -> Vec<&'static str> {
        ServiceType::ALL.iter().map(|t| t.code()).collect()
    }
    fn covers_text(&self, covers: &[ServiceType]) -> String {
        covers
            .iter()
            .map(|t| self.c.tr.k("stype", t.code()))
            .collect::<Vec<_>>()
            .join("、")
    }
    fn category_name(&self, id: &Option<i64>) -> String {
        id.and_then(|c| self.categories.iter().find(|(k, _)| *k == c))
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| self.c.tr.t("care.any_category"))
    }
    fn contract_state(&self, k: &ServiceContract) -> String {
        contract_state(&self.c.tr, k, self.today)
    }
    fn checked(&self, t: &str) -> bool {
        self.draft.covers.iter().any(|c| c == t)
    }
}

/// Where a contract stands today, in words.
pub(crate) fn contract_state(tr: &Tr, k: &ServiceContract, today: jiff::civil::Date) -> String {
    let key = if k.cancelled_at.is_some() {
        "care.cancelled"
    } else if today < k.starts_on {
        "care.not_started"
    } else if today > k.ends_on {
        "care.ended"
    } else {
        "care.in_force"
    };
    tr.t(key)
}

/// Where a voucher stands today, in words.
pub(crate) fn voucher_state(tr: &Tr, v: &Voucher, today: jiff::civil::Date) -> String {
    if v.cancelled_at.is_some() {
        tr.t("voucher.cancelled")
    } else if let Some(n) = &v.order_number {
        format!("{} {n}", tr.t("voucher.used_on"))
    } else if today > v.valid_until {
        tr.t("voucher.expired")
    } else {
        tr.t("voucher.unused")
    }
}

/// A voucher's value as people read it: ¥50.00 or 15%.
pub(crate) fn voucher_value(v: &Voucher) -> String {
    match v.kind {
        aftercare_domain::care::VoucherKind::Amount => format!("¥{}", money(v.value)),
        aftercare_domain::care::VoucherKind::Percent => format!("{}%", v.value),
    }
}

async fn care_view(
    s: &AppState,
    session: &Session,
    draft: PlanDraft,
    errors: Vec<String>,
) -> Result<CarePage, AppError> {
    let p = &session.principal;
    let products = s
        .app
        .products(
            p,
            &aftercare_app::input::ProductQuery {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await?
        .items;
    let name = |x: &aftercare_app::model::Product| (x.id.get(), format!("{} · {}", x.name, x.sku));
    Ok(CarePage {
        c: Chrome::for_session(session, "care"),
        plans: s.app.care_plans(p).await?,
        schedules: s.app.maintenance_schedules(p).await?,
        contracts: s.app.recent_contracts(p).await.unwrap_or_default(),
        services: products
            .iter()
            .filter(|x| !x.serialized)
            .map(name)
            .collect(),
        items: products.iter().filter(|x| x.serialized).map(name).collect(),
        categories: s
            .app
            .categories(p)
            .await?
            .into_iter()
            .map(|c| (c.id.get(), c.name))
            .collect(),
        draft,
        errors,
        today: s.app.clock.today(),
    })
}

async fn care_page(State(s): State<AppState>, session: Session) -> Response {
    let draft = PlanDraft {
        months: "12".into(),
        extends_warranty: true,
        covers: vec!["repair".into()],
        ..PlanDraft::default()
    };
    match care_view(&s, &session, draft, vec![]).await {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

async fn plan_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let draft = PlanDraft {
        product_id: f.s("product_id"),
        category_id: f.s("category_id"),
        months: f.s("months"),
        extends_warranty: f.s("extends_warranty") == "1",
        covers: f.all("covers"),
    };
    let tr = Tr(session.lang);
    let mut inv = aftercare_domain::Invalid::default();
    let product_id: Option<i64> = number(&draft.product_id).unwrap_or(None);
    if product_id.is_none() {
        inv.push("product_id", "required");
    }
    let months: Option<u32> = number(&draft.months).unwrap_or_else(|_| {
        inv.push("months", "not_a_number");
        None
    });
    let result = if inv.0.is_empty() {
        let input = CarePlanInput {
            product_id: product_id.unwrap_or_default(),
            category_id: number(&draft.category_id).unwrap_or(None),
            months: months.unwrap_or(0),
            extends_warranty: draft.extends_warranty,
            covers: draft.covers.clone(),
            active: Some(true),
            version: None,
        };
        s.app.save_care_plan(&session.principal, None, &input).await
    } else {
        Err(inv.into())
    };
    match result {
        Ok(_) => Redirect::to("/care?done=created").into_response(),
        Err(e @ AppError::Forbidden) => page_error(e, session.lang),
        Err(e) => match care_view(&s, &session, draft, lines(e, &tr)).await {
            Ok(p) => render(p),
            Err(e) => page_error(e, session.lang),
        },
    }
}

/// Withdraws a plan from sale or puts it back, keeping the rest.
async fn plan_active_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let p = &session.principal;
    let plan = match s.app.care_plans(p).await {
        Ok(ps) => ps.into_iter().find(|x| x.id == id),
        Err(e) => return page_error(e, session.lang),
    };
    let Some(plan) = plan else {
        return page_error(AppError::NotFound("care_plan"), session.lang);
    };
    let input = CarePlanInput {
        product_id: plan.product_id,
        category_id: plan.category_id,
        months: plan.months,
        extends_warranty: plan.extends_warranty,
        covers: plan.covers.iter().map(|t| t.code().to_string()).collect(),
        active: Some(f.s("active") == "1"),
        version: f.opt("version").and_then(|v| v.parse().ok()),
    };
    match s.app.save_care_plan(p, Some(id), &input).await {
        Ok(_) => Redirect::to("/care?done=saved").into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            match care_view(&s, &session, PlanDraft::default(), errors).await {
                Ok(p) => render(p),
                Err(e) => page_error(e, session.lang),
            }
        }
    }
}

async fn maintenance_submit(State(s): State<AppState>, CsrfForm(session, f): CsrfForm) -> Response {
    let tr = Tr(session.lang);
    let mut inv = aftercare_domain::Invalid::default();
    let product_id: Option<i64> = number(&f.s("product_id")).unwrap_or(None);
    if product_id.is_none() {
        inv.push("product_id", "required");
    }
    let every_months: Option<u32> = number(&f.s("every_months")).unwrap_or_else(|_| {
        inv.push("every_months", "not_a_number");
        None
    });
    let result = if inv.0.is_empty() {
        let input = MaintenanceInput {
            product_id: product_id.unwrap_or_default(),
            every_months,
        };
        s.app.set_maintenance(&session.principal, &input).await
    } else {
        Err(inv.into())
    };
    match result {
        Ok(()) => Redirect::to("/care?done=saved#schedules").into_response(),
        Err(e @ AppError::Forbidden) => page_error(e, session.lang),
        Err(e) => match care_view(&s, &session, PlanDraft::default(), lines(e, &tr)).await {
            Ok(p) => render(p),
            Err(e) => page_error(e, session.lang),
        },
    }
}

/// A page of ours to go back to after a form: a path on this site, else `fallback`.
fn back(f: &FormData, fallback: &str) -> String {
    let b = f.s("back");
    let plain = b
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/_#?=&.-".contains(c));
    if plain && b.starts_with('/') && !b.starts_with("//") {
        b
    } else {
        fallback.to_string()
    }
}

async fn contract_cancel_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    match s.app.cancel_contract(&session.principal, id).await {
        Ok(()) => Redirect::to(&back(&f, "/care")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

async fn voucher_cancel_submit(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let version = f.opt("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    match s.app.cancel_voucher(&session.principal, id, version).await {
        Ok(()) => Redirect::to(&back(&f, "/care")).into_response(),
        Err(e) => page_error(e, session.lang),
    }
}

/// Gives the request's customer a voucher; errors show on the request page.
async fn voucher_submit(
    State(s): State<AppState>,
    Path(id): Path<RequestId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let mut inv = aftercare_domain::Invalid::default();
    let valid_days: Option<u32> = number(&f.s("valid_days")).unwrap_or_else(|_| {
        inv.push("valid_days", "not_a_number");
        None
    });
    let input = VoucherInput {
        kind: f.s("kind"),
        value: f.s("value"),
        valid_days,
        reason: f.s("reason"),
    };
    let result = if inv.0.is_empty() {
        s.app.issue_voucher(&session.principal, id, &input).await
    } else {
        Err(inv.into())
    };
    match result {
        Ok(_) => Redirect::to(&format!("/requests/{id}?done=voucher#vouchers")).into_response(),
        Err(e @ (AppError::Forbidden | AppError::NotFound(_))) => page_error(e, session.lang),
        Err(e) => {
            let errors = lines(e, &Tr(session.lang));
            crate::pages::desk::request_with_errors(&s, &session, id, errors).await
        }
    }
}
