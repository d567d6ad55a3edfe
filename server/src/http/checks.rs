//! `/v2/Services/{sid}/VerificationCheck`: the route under load.

use axum::Router;
use axum::routing::post;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use seccode::{Contact, Error as CodesError, Purpose, Verification as Outcome};

use crate::config::now_ms;
use crate::db::{Service, Verification, VerificationStatus};
use crate::http::auth::Caller;
use crate::http::body::{FormMap, date, vet};
use crate::http::error::{ApiError, ApiResult, refusal};
use crate::http::services::cached_service;
use crate::http::verifications::{gone, missing_verification, payment_of, stored_verification};
use crate::rules::challenge_of;
use crate::state::AppState;

/// `/v2/Services/{sid}/VerificationCheck`.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/v2/Services/{sid}/VerificationCheck", post(check))
}

/// A VerificationCheck answer (a struct, not a `json!` map: this is the
/// route under load).
#[derive(serde::Serialize)]
pub(crate) struct CheckBody<'a> {
    sid: &'a str,
    service_sid: &'a str,
    account_sid: &'a str,
    to: &'a str,
    channel: &'a str,
    status: &'static str,
    valid: bool,
    amount: Option<&'a str>,
    payee: Option<&'a str>,
    date_created: String,
    date_updated: String,
    sna_attempts_error_codes: [(); 0],
}

pub(crate) fn check_json(v: &Verification, status: VerificationStatus, valid: bool) -> Response {
    let body = CheckBody {
        sid: &v.sid,
        service_sid: &v.service_sid,
        account_sid: &v.account_sid,
        to: &v.to,
        channel: &v.channel,
        status: status.as_str(),
        valid,
        amount: v.payment.as_ref().map(|(amount, _)| amount.as_str()),
        payee: v.payment.as_ref().map(|(_, payee)| payee.as_str()),
        date_created: date(v.created),
        date_updated: date(v.updated),
        sna_attempts_error_codes: [],
    };
    (StatusCode::OK, Json(body)).into_response()
}

pub(crate) async fn check(
    State(state): State<Arc<AppState>>,
    Caller(account): Caller,
    Path(sid): Path<String>,
    Form(form): Form<FormMap>,
) -> ApiResult {
    let service = cached_service(&state, &account, &sid).await?;
    vet(&form, "CreateVerificationCheck")?;
    let codes = &state.codes;
    let code = form
        .get("Code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::invalid("Missing required parameter Code in the post body"))?;
    let ve = checked_sid(&state, &service, &form).await?;
    let card = card_of(&state, &service, &ve).await?;
    let id = challenge_of(&card.sid).ok_or_else(|| ApiError::internal("sid", &card.sid))?;
    // A check names the payment its code is bound to, or fails as a wrong
    // code does (the binding is in the code's own record: nothing to read).
    let checked = match payment_of(&form)? {
        Some(t) => {
            codes
                .verify_transaction(&id, Purpose::IdentityCheck, code, &t)
                .await
        }
        None => codes.verify(&id, Purpose::IdentityCheck, code).await,
    };
    let outcome = match checked {
        Ok(outcome) => outcome,
        // Swept after expiry.
        Err(CodesError::ChallengeNotFound) => Outcome::Expired,
        Err(e) => return Err(refusal(e)),
    };
    answer(&state, &service, &card, outcome).await
}

/// The verification a check names: its `VerificationSid`, or the latest to
/// its `To`.
async fn checked_sid(
    state: &AppState,
    service: &Service,
    form: &FormMap,
) -> Result<String, ApiError> {
    match (form.get("VerificationSid"), form.get("To")) {
        (Some(ve), _) => Ok(ve.clone()),
        (None, Some(to)) => {
            let identity = Contact::parse(to.trim())
                .map_err(|_| ApiError::invalid("Invalid parameter: To"))?
                .identity()
                .to_owned();
            state
                .db
                .latest_to(&service.sid, &identity)
                .await?
                .map(|v| v.sid)
                .ok_or_else(|| {
                    ApiError::not_found(format!(
                        "The requested resource /Services/{}/VerificationCheck was not found",
                        service.sid
                    ))
                })
        }
        (None, None) => Err(ApiError::invalid(
            "Missing required parameter To or VerificationSid in the post body",
        )),
    }
}

/// The verification's fixed fields, cached; its status is the code's own
/// record's, which the check itself reads (one store round trip per check).
async fn card_of(
    state: &AppState,
    service: &Service,
    ve: &str,
) -> Result<Arc<Verification>, ApiError> {
    match state.caches.card(ve) {
        Some(card) if card.service_sid == service.sid => Ok(card),
        Some(_) => Err(missing_verification(service, ve)),
        None => {
            let v = stored_verification(state, service, ve).await?;
            if let Some(closed) = closed(&v) {
                return Err(closed);
            }
            Ok(state.caches.put_card(&v))
        }
    }
}

/// What a check answers for the library's `outcome`, recording what changed.
async fn answer(
    state: &AppState,
    service: &Service,
    card: &Verification,
    outcome: Outcome,
) -> ApiResult {
    match outcome {
        Outcome::Approved(_) => {
            state.metrics.verification("approved");
            let mut v = card.clone();
            v.status = VerificationStatus::Approved;
            v.updated = now_ms();
            // The one request that closes it reports it (Verify events).
            let closed = state
                .db
                .close_pending(&v.service_sid, &v.sid, v.status, v.updated)
                .await?;
            let kept = closed
                || state
                    .db
                    .set_status(&v.service_sid, &v.sid, v.status, v.updated)
                    .await?;
            if !kept {
                // Its service was deleted (through another server, within
                // the service cache's lifetime): no approval to report.
                state.caches.drop_card(&v.sid);
                return Err(missing_verification(service, &v.sid));
            }
            state.caches.put_card(&v);
            if closed {
                crate::events::verification_event(state, service, &v).await;
            }
            Ok(check_json(&v, VerificationStatus::Approved, true))
        }
        // A wrong code changes nothing the record shows (seccode counted the
        // attempt): no database write.
        Outcome::Rejected { .. } => {
            state.metrics.verification("failed");
            Ok(check_json(card, VerificationStatus::Pending, false))
        }
        Outcome::Locked => {
            state.metrics.verification("locked");
            let mut v = card.clone();
            v.status = VerificationStatus::MaxAttemptsReached;
            v.updated = now_ms();
            if state
                .db
                .close_pending(&v.service_sid, &v.sid, v.status, v.updated)
                .await?
            {
                crate::events::verification_event(state, service, &v).await;
            }
            Err(max_checks())
        }
        Outcome::AccountLocked { retry_after } => Err(ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, 20429, "Too many requests")
        }),
        // No longer pending: the stored record says why (approved or canceled
        // through the API, closed after too many checks) when it knows.
        other => {
            let stored = stored_verification(state, service, &card.sid).await?;
            if let Some(closed) = closed(&stored) {
                return Err(closed);
            }
            let mut v = card.clone();
            v.status = match other {
                Outcome::AlreadyUsed => VerificationStatus::Approved,
                Outcome::Canceled => VerificationStatus::Canceled,
                _ => VerificationStatus::Expired,
            };
            Err(gone(&v))
        }
    }
}

/// What a check of a stored verification answers when it is no longer
/// pending: 60202 once closed after too many checks, else 404 saying why.
pub(crate) fn closed(v: &Verification) -> Option<ApiError> {
    match v.status {
        VerificationStatus::Pending => None,
        VerificationStatus::MaxAttemptsReached => Some(max_checks()),
        _ => Some(gone(v)),
    }
}

pub(crate) fn max_checks() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        60202,
        "Max check attempts reached",
    )
}
