//! The staff accounts page.

use crate::AppState;
use crate::auth::Session;
use crate::i18n::{Tr, field_message};
use crate::kit::page::*;
use aftercare_app::AppError;
use aftercare_app::input::*;
use aftercare_app::model::*;
use aftercare_domain::ids::*;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users_page).post(new_user_submit))
        .route("/users/{id}", post(user_change_submit))
}

#[derive(Template)]
#[template(path = "users.html")]
pub(crate) struct UsersPage {
    c: Chrome,
    users: Vec<User>,
    roles: Vec<&'static str>,
    errors: Vec<String>,
    email: String,
    name: String,
    /// The role selected in the form; a new form starts at the least privileged one.
    role: String,
}

pub(crate) async fn users_view(
    s: &AppState,
    session: &Session,
    errors: Vec<String>,
    email: String,
    name: String,
    role: String,
) -> Response {
    if !session
        .principal
        .role
        .allows(aftercare_domain::account::Permission::Admin)
    {
        return page_error(AppError::Forbidden, session.lang);
    }
    match s.app.users(&session.principal).await {
        Ok(users) => render(UsersPage {
            c: Chrome::new(session, "users"),
            users,
            roles: aftercare_domain::account::Role::ALL
                .iter()
                .map(|r| r.code())
                .collect(),
            errors,
            email,
            name,
            role,
        }),
        Err(e) => page_error(e, session.lang),
    }
}

pub(crate) async fn users_page(State(s): State<AppState>, session: Session) -> Response {
    users_view(
        &s,
        &session,
        vec![],
        String::new(),
        String::new(),
        "analyst".into(),
    )
    .await
}

pub(crate) async fn new_user_submit(
    State(s): State<AppState>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let input = UserInput {
        email: f.s("email"),
        name: f.s("name"),
        password: f.s("password"),
        role: f.s("role"),
    };
    let tr = Tr(session.lang);
    let errors = match s.app.create_user(&session.principal, &input).await {
        Ok(_) => return Redirect::to("/users").into_response(),
        Err(AppError::Invalid(inv)) => inv
            .0
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    tr.t(&format!("user.{}", e.field)),
                    field_message(session.lang, e.code)
                )
            })
            .collect(),
        Err(AppError::Conflict { code, field }) => {
            vec![format!(
                "{}: {}",
                tr.t(&format!("user.{}", field.as_deref().unwrap_or("email"))),
                field_message(session.lang, code)
            )]
        }
        Err(e) => return page_error(e, session.lang),
    };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        users_view(&s, &session, errors, input.email, input.name, input.role).await,
    )
        .into_response()
}

/// Deactivates or reactivates an account from the Staff page.
pub(crate) async fn user_change_submit(
    State(s): State<AppState>,
    Path(id): Path<UserId>,
    CsrfForm(session, f): CsrfForm,
) -> Response {
    let patch = UserPatch {
        active: Some(f.s("active") == "true"),
        ..Default::default()
    };
    match s.app.update_user(&session.principal, id, &patch).await {
        Ok(_) => Redirect::to("/users").into_response(),
        Err(AppError::Invalid(inv)) => {
            let errors = inv
                .0
                .iter()
                .map(|e| field_message(session.lang, e.code))
                .collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                users_view(
                    &s,
                    &session,
                    errors,
                    String::new(),
                    String::new(),
                    "analyst".into(),
                )
                .await,
            )
                .into_response()
        }
        Err(e) => page_error(e, session.lang),
    }
}
