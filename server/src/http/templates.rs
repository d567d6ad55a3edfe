//! `/v2/Templates`: the message templates a `TemplateSid` may name. The
//! server writes every message from seccode's shipped texts (named after the
//! service, in the verification's locale) and holds no templates of
//! Twilio's, so the list is empty — and a `TemplateSid` is refused (60200),
//! never ignored.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;

use crate::http::auth::Caller;
use crate::http::body::{FormMap, list_page};
use crate::http::error::ApiResult;
use crate::state::AppState;

/// The templates' route.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/v2/Templates", get(list))
}

pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Caller(_account): Caller,
    Query(query): Query<FormMap>,
) -> ApiResult {
    list_page(
        Vec::new(),
        &query,
        &format!("{}/v2/Templates", state.base),
        "templates",
    )
}
