//! The staff pages (askama), the customer portal and the survey pages: one module per
//! resource, each with its routes.

mod accounts;
mod audit;
mod campaigns;
mod care;
mod catalogue;
mod claims;
mod customers;
mod dashboard;
pub(crate) mod desk;
mod library;
mod network;
mod orders;
pub mod portal;
mod quality;
mod session;
pub(crate) mod survey;
mod transfer;
pub(crate) mod value;
pub(crate) mod voc;

use crate::AppState;
use axum::Router;

/// Every page's route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(session::routes())
        .merge(customers::routes())
        .merge(catalogue::routes())
        .merge(orders::routes())
        .merge(audit::routes())
        .merge(accounts::routes())
        .merge(desk::routes())
        .merge(dashboard::routes())
        .merge(library::routes())
        .merge(campaigns::routes())
        .merge(care::routes())
        .merge(network::routes())
        .merge(claims::routes())
        .merge(quality::routes())
        .merge(voc::routes())
        .merge(value::routes())
        .merge(portal::routes())
        .merge(survey::routes())
        .merge(transfer::routes())
}
