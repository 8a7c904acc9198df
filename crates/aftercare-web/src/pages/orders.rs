//! The order pages and the asset page (an item's warranty and usage archive).

use super::customers::{Row, pad};
use crate::AppState;
use crate::auth::Session;
use crate::i18n::{Tr, field_message};
use crate::kit::page::*;
use aftercare_app::AppError;
use aftercare_app::input::*;
use aftercare_app::model::*;
use aftercare_domain::catalog::VoidCondition;
use aftercare_domain::ids::*;
use aftercare_domain::order::{OrderStatus, SalesChannel};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders", get(orders_page))
        .route("/orders/new", get(new_order_page).post(new_order_submit))
        .route("/orders/{id}", get(order_page))
        .route("/assets/{id}", get(asset_page))
        .route("/assets/{id}/events", post(asset_event_submit))
}

#[derive(Template)]
#[template(path = "orders.html")]
pub(crate) struct OrdersPage {
    c: Chrome,
    q: OrderQuery,
    page: Page<OrderRow>,
    next_href: Option<String>,
}

impl OrdersPage {
    fn money(&self, v: impl Amount) -> String {
        crate::kit::page::money(v)
    }
    fn channels(&self) -> Vec<&'static str> {
        SalesChannel::ALL.iter().map(|c| c.code()).collect()
    }
}

pub(crate) async fn orders_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<OrderQuery>,
) -> Response {
    let page = match s.app.orders(&session.principal, &q).await {
        Ok(p) => p,
        Err(e) => return page_error(e, session.lang),
    };
    let cid = q.customer_id.map(|c| c.to_string());
    let next_href = page.next_cursor.as_deref().map(|c| {
        format!(
            "/orders?{}",
            query_string(&[
                ("q", q.q.as_deref()),
                ("channel", q.channel.as_deref()),
                ("status", q.status.as_deref()),
                ("customer_id", cid.as_deref()),
                ("sort", q.sort.as_deref()),
                ("cursor", Some(c))
            ])
        )
    });
    render(OrdersPage {
        c: Chrome::new(&session, "orders"),
        q,
        page,
        next_href,
    })
}

#[derive(Template)]
#[template(path = "order_form.html")]
pub(crate) struct OrderForm {
    c: Chrome,
    customer: Customer,
    products: Vec<Product>,
    outlets: Vec<Outlet>,
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    lines: Vec<Row>,
    /// The customer's items a care plan on the order may cover.
    assets: Vec<Asset>,
}

impl OrderForm {
    fn v(&self, k: &str) -> String {
        self.values.get(k).cloned().unwrap_or_default()
    }
    fn e(&self, k: &str) -> String {
        self.errors.get(k).cloned().unwrap_or_default()
    }
    fn channels(&self) -> Vec<&'static str> {
        SalesChannel::ALL.iter().map(|c| c.code()).collect()
    }
    fn statuses(&self) -> Vec<&'static str> {
        OrderStatus::ALL.iter().map(|c| c.code()).collect()
    }
    fn money(&self, v: impl Amount) -> String {
        crate::kit::page::money(v)
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct CustomerIdQ {
    customer_id: CustomerId,
}

pub(crate) async fn order_form(
    s: &AppState,
    session: &Session,
    customer_id: CustomerId,
) -> Result<OrderForm, AppError> {
    let customer = s.app.customer(&session.principal, customer_id).await?;
    let products = s
        .app
        .products(
            &session.principal,
            &ProductQuery {
                limit: Some(200),
                ..Default::default()
            },
        )
        .await?
        .items;
    let outlets = s.app.outlets(&session.principal).await?;
    let assets = s
        .app
        .customer_360(&session.principal, customer_id, None)
        .await?
        .assets;
    let mut values = HashMap::new();
    values.insert("ordered_on".to_string(), s.app.clock.today().to_string());
    values.insert("channel".to_string(), "store".to_string());
    values.insert("status".to_string(), "paid".to_string());
    Ok(OrderForm {
        c: Chrome::new(session, "orders"),
        customer,
        products,
        outlets,
        values,
        errors: HashMap::new(),
        lines: pad(vec![], 3),
        assets,
    })
}

pub(crate) async fn new_order_page(
    State(s): State<AppState>,
    session: Session,
    PageQuery(q): PageQuery<CustomerIdQ>,
) -> Response {
    match order_form(&s, &session, q.customer_id).await {
        Ok(f) => render(f),
        Err(e) => page_error(e, session.lang),
    }
}

pub(crate) async fn new_order_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let customer_id: CustomerId = f.s("customer_id").parse().unwrap_or_default();
    // The item chosen for the order's care plan goes on its care-plan lines.
    let plans: Vec<i64> = match s.app.care_plans(&session.principal).await {
        Ok(ps) => ps.into_iter().map(|p| p.product_id).collect(),
        Err(e) => return page_error(e, session.lang),
    };
    let cover: Option<i64> = f.opt("cover_asset_id").and_then(|v| v.parse().ok());
    let mut idx = Vec::new();
    let items: Vec<OrderItemInput> = (0..10)
        .filter(|i| f.opt(&format!("items[{i}].product_id")).is_some())
        .map(|i| {
            idx.push(i);
            OrderItemInput {
                product_id: f
                    .s(&format!("items[{i}].product_id"))
                    .parse()
                    .unwrap_or_default(),
                quantity: f
                    .s(&format!("items[{i}].quantity"))
                    .trim()
                    .parse()
                    .unwrap_or(0),
                unit_price: f.opt(&format!("items[{i}].unit_price")),
                discount: f.opt(&format!("items[{i}].discount")),
                serials: f
                    .s(&format!("items[{i}].serials"))
                    .split([',', '，', ' '])
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect(),
                asset_id: cover.filter(|_| {
                    f.s(&format!("items[{i}].product_id"))
                        .parse::<i64>()
                        .is_ok_and(|p| plans.contains(&p))
                }),
            }
        })
        .collect();
    let input = OrderInput {
        customer_id,
        channel: f.s("channel"),
        outlet_id: f.opt("outlet_id").and_then(|v| v.parse().ok()),
        ordered_on: f.opt("ordered_on"),
        delivered_on: f.opt("delivered_on"),
        installed_on: f.opt("installed_on"),
        location: f.opt("location"),
        status: f.opt("status"),
        currency: None,
        external_ref: None,
        discount: f.opt("discount"),
        payment_terms: f.opt("payment_terms"),
        special_needs: f.opt("special_needs"),
        items,
        voucher_code: f.opt("voucher_code"),
    };
    match s.app.create_order(&session.principal, &input).await {
        Ok(_) => Redirect::to(&format!("/customers/{customer_id}")).into_response(),
        Err(AppError::Invalid(inv)) => {
            let mut form = match order_form(&s, &session, customer_id).await {
                Ok(f) => f,
                Err(e) => return page_error(e, session.lang),
            };
            for k in [
                "channel",
                "outlet_id",
                "ordered_on",
                "delivered_on",
                "installed_on",
                "location",
                "status",
                "discount",
                "payment_terms",
                "special_needs",
                "voucher_code",
                "cover_asset_id",
            ] {
                form.values.insert(k.into(), f.s(k));
            }
            // Field paths use the submitted row numbers, so errors land beside their row.
            for e in &inv.0 {
                let mut field = e.field.clone();
                for (n, i) in idx.iter().enumerate() {
                    field = field.replace(&format!("items[{n}]"), &format!("items[{i}]"));
                }
                // The care plan's item is chosen once for the order.
                let field = if field.ends_with(".asset_id") {
                    "cover_asset_id".to_string()
                } else {
                    field
                };
                let field = field
                    .split(".serials[")
                    .next()
                    .map(|p| {
                        if field.contains(".serials[") {
                            format!("{p}.serials")
                        } else {
                            field.clone()
                        }
                    })
                    .unwrap_or(field);
                form.errors
                    .insert(field, field_message(session.lang, e.code));
            }
            form.lines = (0..3)
                .map(|i| Row {
                    a: f.s(&format!("items[{i}].product_id")),
                    b: f.s(&format!("items[{i}].quantity")),
                    c: f.s(&format!("items[{i}].serials")),
                    err_a: form.e(&format!("items[{i}].product_id")),
                    err_b: form.e(&format!("items[{i}].quantity")),
                    err_c: form.e(&format!("items[{i}].serials")),
                    d: f.s(&format!("items[{i}].unit_price")),
                    e: f.s(&format!("items[{i}].discount")),
                    err_d: form.e(&format!("items[{i}].unit_price")),
                    err_e: form.e(&format!("items[{i}].discount")),
                    primary: false,
                })
                .collect();
            if let Some(m) = form.errors.get("items").cloned() {
                form.lines[0].err_a = m;
            }
            (StatusCode::UNPROCESSABLE_ENTITY, render(form)).into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}

#[derive(Template)]
#[template(path = "order.html")]
pub(crate) struct OrderPage {
    c: Chrome,
    o: Order,
}

impl OrderPage {
    fn money(&self, v: impl Amount) -> String {
        crate::kit::page::money(v)
    }
}

pub(crate) async fn order_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<OrderId>,
) -> Response {
    match s.app.order(&session.principal, id).await {
        Ok(o) => render(OrderPage {
            c: Chrome::new(&session, "orders"),
            o,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

#[derive(Template)]
#[template(path = "asset.html")]
pub(crate) struct AssetPage {
    c: Chrome,
    a: Asset,
    w: WarrantyView,
    today: String,
    error: Option<String>,
    contracts: Vec<aftercare_app::care_model::ServiceContract>,
    due: Option<aftercare_app::care_model::MaintenanceDue>,
}

/// The asset page for `a`, with its contracts and the maintenance it is due for.
async fn asset_view(
    s: &AppState,
    session: &Session,
    a: Asset,
    error: Option<String>,
) -> Result<AssetPage, AppError> {
    let w = warranty_view(&Tr(session.lang), a.warranty.as_ref());
    let (contracts, due) = s.app.asset_care(&session.principal, &a).await?;
    Ok(AssetPage {
        c: Chrome::new(session, "customers"),
        a,
        w,
        today: s.app.clock.today().to_string(),
        error,
        contracts,
        due,
    })
}

impl AssetPage {
    fn voids(&self) -> Vec<&'static str> {
        VoidCondition::ALL.iter().map(|c| c.code()).collect()
    }
    fn kinds(&self) -> Vec<&'static str> {
        vec!["service", "repair", "installed", "note", "void"]
    }
}

pub(crate) async fn asset_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<AssetId>,
) -> Response {
    let page = match s.app.asset(&session.principal, id).await {
        Ok(a) => asset_view(&s, &session, a, None).await,
        Err(e) => Err(e),
    };
    match page {
        Ok(p) => render(p),
        Err(e) => page_error(e, session.lang),
    }
}

pub(crate) async fn asset_event_submit(
    State(s): State<AppState>,
    Path(id): Path<AssetId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = AssetEventInput {
        kind: f.s("kind"),
        day: f.opt("day"),
        void_condition: f.opt("void_condition"),
        note: f.opt("note"),
    };
    match s.app.add_asset_event(&session.principal, id, &input).await {
        Ok(_) => Redirect::to(&format!("/assets/{id}")).into_response(),
        Err(AppError::Invalid(inv)) => match s.app.asset(&session.principal, id).await {
            Ok(a) => {
                let error = Some(
                    inv.0
                        .iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                Tr(session.lang).t(&format!("asset.{}", e.field)),
                                field_message(session.lang, e.code)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                match asset_view(&s, &session, a, error).await {
                    Ok(p) => (StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response(),
                    Err(e) => page_error(e, session.lang),
                }
            }
            Err(e) => page_error(e, session.lang),
        },
        Err(e) => page_error(e, session.lang),
    }
}
