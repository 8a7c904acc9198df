//! The catalogue page: products, categories and warranty policies.

use crate::AppState;
use crate::auth::Session;
use crate::kit::page::*;
use aftercare_app::AppError;
use aftercare_app::input::*;
use aftercare_app::model::*;
use aftercare_domain::catalog::VoidCondition;
use aftercare_domain::ids::*;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products", get(products_page))
        .route("/products/new", post(new_product_submit))
        .route("/policies/new", post(new_policy_submit))
        .route("/categories/new", post(new_category_submit))
}

#[derive(Template)]
#[template(path = "products.html")]
pub(crate) struct ProductsPage {
    c: Chrome,
    q: ProductQuery,
    page: Page<Product>,
    categories: Vec<Category>,
    policies: Vec<Policy>,
    next_href: Option<String>,
    /// Whether the catalogue forms are shown (managers and admins).
    can_edit: bool,
    /// Errors of the last catalogue form, each naming its field.
    errors: Vec<String>,
}

impl ProductsPage {
    fn voids(&self) -> Vec<&'static str> {
        VoidCondition::ALL.iter().map(|c| c.code()).collect()
    }
    fn strategies(&self) -> Vec<&'static str> {
        aftercare_domain::catalog::AfterSalesStrategy::ALL
            .iter()
            .map(|c| c.code())
            .collect()
    }
    fn money(&self, v: impl Amount) -> String {
        crate::kit::page::money(v)
    }
    fn policy_by_id(&self, id: &PolicyId) -> String {
        self.policy(&Some(*id))
    }
    fn policy(&self, id: &Option<PolicyId>) -> String {
        match id.and_then(|id| self.policies.iter().find(|p| p.id == id)) {
            Some(p) => self
                .c
                .tr
                .t(if p.repair_limit == 0 {
                    "policy.summary_no_limit"
                } else {
                    "policy.summary"
                })
                .replace("{r}", &p.return_days.to_string())
                .replace("{e}", &p.exchange_days.to_string())
                .replace("{m}", &p.repair_months.to_string())
                .replace("{l}", &p.repair_limit.to_string()),
            None => self.c.tr.t("coverage.none"),
        }
    }
    fn cat_selected(&self, id: &CategoryId) -> bool {
        self.q.category_id == Some(*id)
    }
}

pub(crate) async fn products_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<ProductQuery>,
) -> Response {
    products_view(&s, &session, q, vec![]).await
}

pub(crate) async fn products_view(
    s: &AppState,
    session: &Session,
    q: ProductQuery,
    errors: Vec<String>,
) -> Response {
    let page = match s.app.products(&session.principal, &q).await {
        Ok(p) => p,
        Err(e) => return page_error(e, session.lang),
    };
    let categories = s
        .app
        .categories(&session.principal)
        .await
        .unwrap_or_default();
    let policies = s.app.policies(&session.principal).await.unwrap_or_default();
    let cat = q.category_id.map(|c| c.to_string());
    let next_href = page.next_cursor.as_deref().map(|c| {
        format!(
            "/products?{}",
            query_string(&[
                ("q", q.q.as_deref()),
                ("category_id", cat.as_deref()),
                ("sort", q.sort.as_deref()),
                ("cursor", Some(c))
            ])
        )
    });
    render(ProductsPage {
        c: Chrome::new(session, "products"),
        q,
        page,
        categories,
        policies,
        next_href,
        can_edit: session
            .principal
            .role
            .allows(aftercare_domain::account::Permission::WriteCatalog),
        errors,
    })
}

pub(crate) async fn catalogue_result<Id>(
    s: &AppState,
    session: &Session,
    r: Result<Id, AppError>,
) -> Response {
    match r {
        Ok(_) => Redirect::to("/products").into_response(),
        Err(AppError::Invalid(inv)) => {
            let errors = form_errors(&inv, session.lang);
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                products_view(s, session, ProductQuery::default(), errors).await,
            )
                .into_response()
        }
        Err(AppError::Conflict { code, field }) => {
            let inv = aftercare_domain::Invalid::one(field.unwrap_or_else(|| "sku".into()), code);
            let errors = form_errors(&inv, session.lang);
            (
                StatusCode::CONFLICT,
                products_view(s, session, ProductQuery::default(), errors).await,
            )
                .into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}

pub(crate) async fn new_product_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = ProductInput {
        sku: f.s("sku"),
        name: f.s("name"),
        category_id: f.s("category_id").parse().unwrap_or_default(),
        policy_id: f.opt("policy_id").and_then(|v| v.parse().ok()),
        price: f.s("price"),
        currency: None,
        serialized: f.get("serialized").is_some(),
        strategy: f.opt("strategy"),
    };
    let r = s.app.create_product(&session.principal, &input).await;
    let r = match r {
        Err(AppError::Conflict {
            code: "reference_not_found",
            ..
        }) => Err(AppError::Invalid(aftercare_domain::Invalid::one(
            "category_id",
            "not_found",
        ))),
        r => r,
    };
    catalogue_result(&s, &session, r).await
}

pub(crate) async fn new_policy_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let days = |k: &str| -> Result<u32, aftercare_domain::Invalid> {
        f.s(k)
            .trim()
            .parse::<u32>()
            .map_err(|_| aftercare_domain::Invalid::one(k.to_string(), "out_of_range"))
    };
    let input = (|| {
        Ok::<_, aftercare_domain::Invalid>(PolicyInput {
            name: f.s("name"),
            return_days: days("return_days")?,
            exchange_days: days("exchange_days")?,
            repair_months: days("repair_months")?,
            repair_limit: days("repair_limit")?,
            void_conditions: f.all("void_conditions"),
        })
    })();
    let r = match input {
        Ok(input) => s.app.create_policy(&session.principal, &input).await,
        Err(inv) => Err(AppError::Invalid(inv)),
    };
    catalogue_result(&s, &session, r).await
}

pub(crate) async fn new_category_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = CategoryInput {
        name: f.s("name"),
        parent_id: f.opt("parent_id").and_then(|v| v.parse().ok()),
        policy_id: f.opt("policy_id").and_then(|v| v.parse().ok()),
    };
    let r = s.app.create_category(&session.principal, &input).await;
    catalogue_result(&s, &session, r).await
}
