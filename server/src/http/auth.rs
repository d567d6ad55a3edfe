//! Who a request is: HTTP Basic with an account SID and auth token, or an API key.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::is_sid;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The account a request authenticates as: an account SID with its auth
/// token, or an API key (`SK…`, created with `seccode-server key create`) with
/// its secret. The same work is done whatever is wrong (unknown SID or key,
/// wrong secret, malformed header): one SHA-256 and constant-time comparisons
/// against every account — and, for a key, one lookup and one comparison,
/// against a stand-in digest when the key does not exist.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    let (user, password) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_owned(), p.to_owned())))
        .unwrap_or_default();
    let presented: [u8; 32] = Sha256::digest(password.as_bytes()).into();
    let mut found = None;
    if is_sid(&user, "SK") {
        let key = state.db.api_key(&user).await?;
        let (account, digest) = key.unwrap_or_else(|| (String::new(), [0xa5; 32]));
        let known = state.accounts.iter().any(|(sid, _)| *sid == account);
        if bool::from(digest.ct_eq(&presented)) && known {
            found = Some(account);
        }
    }
    for (sid, digest) in &state.accounts {
        let sid_ok = sid.as_bytes().ct_eq(user.as_bytes());
        let token_ok = digest.ct_eq(&presented);
        if bool::from(sid_ok & token_ok) {
            found = Some(sid.clone());
        }
    }
    found.ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, 20003, "Authenticate"))
}

/// The account a request authenticates as ([`authenticate`]): a handler that
/// takes it answers 401/20003 to anyone else, before reading the body.
pub(crate) struct Caller(pub(crate) String);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        authenticate(state, &parts.headers).await.map(Caller)
    }
}
