//! `/v2/SafeList/Numbers`: the account's safe-listed numbers. A verification
//! to one skips the caps on spend that guard against SMS pumping (its
//! calling code's and the whole server's) — and only those: the budgets per
//! destination and per tenant still count it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Router};
use seccode::{Contact, ContactKind};
use serde_json::{Value, json};

use crate::config::now_ms;
use crate::db::SafeNumber;
use crate::http::auth::Caller;
use crate::http::body::{FormMap, new_sid, respond, vet};
use crate::http::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The safe list's routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2/SafeList/Numbers", post(add))
        .route("/v2/SafeList/Numbers/{number}", get(fetch).delete(remove))
}

/// A phone number in E.164, however it was typed; 60200 otherwise.
fn number(text: &str) -> Result<String, ApiError> {
    match Contact::parse(text.trim()) {
        Ok(c) if c.kind() == ContactKind::Phone => Ok(c.identity().to_owned()),
        _ => Err(ApiError::invalid(
            "Invalid parameter: PhoneNumber (a phone number in E.164)",
        )),
    }
}

fn safe_json(state: &AppState, n: &SafeNumber) -> Value {
    json!({
        "sid": n.sid,
        "phone_number": n.phone_number,
        "url": format!("{}/v2/SafeList/Numbers/{}", state.base, n.phone_number),
    })
}

fn not_listed(number: &str) -> ApiError {
    ApiError::not_found(format!(
        "The requested resource /SafeList/Numbers/{number} was not found"
    ))
}

/// Adds a number (an entry already there is answered as it is).
pub(crate) async fn add(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Form(form): Form<FormMap>,
) -> ApiResult {
    vet(&form, "CreateSafelist")?;
    let Some(text) = form.get("PhoneNumber") else {
        return Err(ApiError::invalid(
            "Missing required parameter PhoneNumber in the post body",
        ));
    };
    let entry = SafeNumber {
        sid: new_sid("GN"),
        account_sid: account,
        phone_number: number(text)?,
        created: now_ms(),
    };
    let entry = state.db.add_safe_number(entry).await?;
    Ok(respond(StatusCode::CREATED, safe_json(&state, &entry)))
}

pub(crate) async fn fetch(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(text): Path<String>,
) -> ApiResult {
    let n = number(&text).map_err(|_| not_listed(&text))?;
    let entry = state
        .db
        .safe_number(&account, &n)
        .await?
        .ok_or_else(|| not_listed(&n))?;
    Ok(respond(StatusCode::OK, safe_json(&state, &entry)))
}

pub(crate) async fn remove(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(text): Path<String>,
) -> ApiResult {
    let n = number(&text).map_err(|_| not_listed(&text))?;
    if !state.db.remove_safe_number(&account, &n).await? {
        return Err(not_listed(&n));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
