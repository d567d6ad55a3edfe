//! `/v2/Templates`: the message templates a verification's `TemplateSid` or
//! a service's `DefaultTemplateSid` may name — the server's configured
//! `[[templates]]` (see [`crate::templates`]), the same for every account.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::http::auth::Caller;
use crate::http::body::{FormMap, Listed, list_page};
use crate::http::error::ApiResult;
use crate::state::AppState;
use crate::templates::Template;

/// The templates' route.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/v2/Templates", get(list))
}

/// A template as Twilio's Template resource shows it: every translation
/// approved (the operator configured it), the default one marked.
fn template_json(t: &Template, account: &str) -> Value {
    let translations: Map<String, Value> = t
        .translations
        .iter()
        .map(|(locale, translation)| {
            (
                locale.clone(),
                json!({
                    "is_default_translation": *locale == t.default_locale,
                    "status": "approved",
                    "locale": locale,
                    "text": translation.source,
                }),
            )
        })
        .collect();
    json!({
        "sid": t.sid,
        "account_sid": account,
        "friendly_name": t.friendly_name,
        "channels": t.channels,
        "translations": translations,
    })
}

/// The configured templates in SID order; `FriendlyName` keeps those whose
/// name contains it (any case).
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Query(query): Query<FormMap>,
) -> ApiResult {
    let wanted = query.get("FriendlyName").map(|n| n.to_lowercase());
    let items: Vec<Listed> = state
        .templates
        .all()
        .filter(|t| {
            wanted
                .as_ref()
                .is_none_or(|w| t.friendly_name.to_lowercase().contains(w.as_str()))
        })
        .map(|t| (0, t.sid.clone(), template_json(t, &account)))
        .collect();
    list_page(
        items,
        &query,
        &format!("{}/v2/Templates", state.base),
        "templates",
    )
}
