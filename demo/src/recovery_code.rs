//! The recovery code, as a Microsoft account's *Advanced security options →
//! Recovery code* has it: verify it's you with a code to one of your verified
//! methods, then a new recovery code is made and shown **once** (any earlier
//! one stops working). And on the recovery pages, "Use a recovery code": the
//! code gets the person in without any code being sent, and the next code is
//! shown once.

use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use seccode::store::AccountStore;
use seccode::{ContactKind, SecurityInfoId};
use serde::Deserialize;

use crate::account::{
    CodeForm, CodePage, CodeScreen, ResendForm, code_form, identity_code, proof_or_back,
    resend_code, signed_in_code, url,
};
use crate::state::AppState;
use crate::web::{
    AppError, check_csrf, csrf, csrf_field, esc, flow, get_flow, page, redirect_with, refusal,
    require, respond,
};

type App = State<Arc<AppState>>;

/// "Recovery code": whether the account has one, and where the code that
/// proves it's you goes before a new one is made.
pub async fn settings_page(State(app): App, headers: HeaderMap) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    recovery_code_form(&app, &headers, &account, "").await
}

async fn recovery_code_form(
    app: &AppState,
    headers: &HeaderMap,
    account: &seccode::AccountId,
    error: &str,
) -> Result<Response, AppError> {
    let (token, cookie) = csrf(headers);
    let has = app
        .flows
        .accounts()
        .get(account)
        .await?
        .is_some_and(|a| a.recovery_code().is_some());
    let state = if has {
        "You have a recovery code. Making a new one replaces it."
    } else {
        "You don't have a recovery code yet."
    };
    let info = app.flows.security_info(account).await?;
    let apps: String = info
        .iter()
        .filter(|i| i.verified && i.kind == ContactKind::App)
        .take(1)
        .map(|i| {
            format!(
                r#"<p>Or use a code from your authenticator app:</p>
<form method="post" action="/security/recovery-code/app" id="with-app">{}
<input type="hidden" name="entry" value="{}">
<p><label>Code from your app <input name="code" inputmode="numeric" autocomplete="one-time-code" required></label></p>
<p><button>Generate a new code</button></p></form>"#,
                csrf_field(&token),
                i.id
            )
        })
        .collect();
    let options: String = info
        .iter()
        .filter(|i| i.verified && i.kind != ContactKind::App)
        .map(|i| {
            format!(
                r#"<option value="{}">{}</option>"#,
                i.id,
                esc(i.contact.as_str())
            )
        })
        .collect();
    Ok(respond(
        page(
            "Recovery code",
            Some(&token),
            &format!(
                r#"{error}<div class="card"><p>A recovery code gets you back into your account if you can't use any of your security info. Keep it somewhere safe.</p>
<p id="code-state">{state}</p>
<p>To make a new code, verify it's you. We'll send a code to:</p>
<form method="post" action="/security/recovery-code">{}
<p><select name="via">{options}</select></p>
<p><button>Generate a new code</button></p></form>
{apps}<p class="other"><a href="/security">Cancel</a></p></div>"#,
                csrf_field(&token),
            ),
        ),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct Via {
    csrf: String,
    via: u32,
}

/// Sends the identity-check code to the method chosen.
pub async fn start(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<Via>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    check_csrf(&headers, &f.csrf)?;
    let sent = match identity_code(&app, &account, f.via).await? {
        Ok(sent) => sent,
        Err((status, error)) => {
            let form = recovery_code_form(&app, &headers, &account, &error).await?;
            return Ok((status, form).into_response());
        }
    };
    Ok(redirect_with(
        &format!(
            "/security/recovery-code/code?to={}",
            url(sent.destination.as_str())
        ),
        flow::CHALLENGE,
        &sent.id.to_string(),
    ))
}

pub async fn code_page(
    State(app): App,
    headers: HeaderMap,
    Query(q): Query<CodePage>,
) -> Result<Response, AppError> {
    require(&app, &headers)?;
    let screen = CodeScreen {
        title: "Enter the code",
        action: "/security/recovery-code/code",
        resend: "/security/recovery-code/code/resend",
        other: "/security/recovery-code",
        signed_in: true,
    };
    code_form(&headers, &screen, &q)
}

pub async fn resend(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<ResendForm>,
) -> Result<Response, AppError> {
    require(&app, &headers)?;
    resend_code(&app, &headers, &f, "/security/recovery-code/code").await
}

/// The code proves it's you; the new recovery code is shown, once.
pub async fn code(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let (account, id) = signed_in_code(&app, &headers, &f)?;
    let v = app
        .flows
        .finish_identity_check(&account, &id, &f.code)
        .await?;
    let proof = match proof_or_back(v, "/security/recovery-code/code", &f.to) {
        Ok(proof) => proof,
        Err(back) => return Ok(back.into_response()),
    };
    let code = app.flows.generate_recovery_code(&proof).await?;
    Ok(new_code_page(&headers, &code))
}

#[derive(Deserialize)]
pub struct WithApp {
    csrf: String,
    entry: u32,
    code: String,
}

/// A code from the authenticator app proves it's you; the new recovery code
/// is shown, once. A wrong or used code shows the page again, saying so.
pub async fn with_app(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<WithApp>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    check_csrf(&headers, &f.csrf)?;
    let proof = match app
        .flows
        .check_authenticator(&account, SecurityInfoId(f.entry), &f.code)
        .await
    {
        Ok(proof) => proof,
        Err(e @ (seccode::Error::Store(_) | seccode::Error::Delivery(_))) => return Err(e.into()),
        Err(e) => {
            let (status, error) = refusal(&e);
            let form = recovery_code_form(&app, &headers, &account, &error).await?;
            return Ok((status, form).into_response());
        }
    };
    let code = app.flows.generate_recovery_code(&proof).await?;
    Ok(new_code_page(&headers, &code))
}

/// The signed-in page that shows a new recovery code, once.
fn new_code_page(headers: &HeaderMap, code: &seccode::RecoveryCode) -> Response {
    let (token, cookie) = csrf(headers);
    respond(
        page(
            "Your new recovery code",
            Some(&token),
            &shown_once(code.expose(), "recovery-code", "/security", "Done"),
        ),
        cookie,
    )
}

/// A recovery code on the one page that shows it.
fn shown_once(code: &str, id: &str, next: &str, label: &str) -> String {
    format!(
        r#"<div class="card"><p>Write this code down or print it, and keep it somewhere safe. It's shown only this once; your earlier code no longer works.</p>
<p class="code" id="{id}">{}</p>
<p><a id="continue" href="{next}">{label}</a></p></div>"#,
        esc(code)
    )
}

/// "Use a recovery code" on the recovery pages.
pub async fn recover_page(headers: HeaderMap) -> Response {
    recover_form(&headers, "")
}

fn recover_form(headers: &HeaderMap, error: &str) -> Response {
    let (token, cookie) = csrf(headers);
    respond(
        page(
            "Use a recovery code",
            None,
            &format!(
                r#"{error}<p>Enter the 25-character recovery code you saved.</p>
<form method="post" action="/recover/recovery-code">{}
<p><label>Recovery code <input name="code" autocomplete="off" required></label></p>
<p><button>Next</button></p></form>
<p class="other"><a href="/recover/choose">Use a different option</a></p>"#,
                csrf_field(&token)
            ),
        ),
        cookie,
    )
}

#[derive(Deserialize)]
pub struct RecoveryCodeForm {
    csrf: String,
    code: String,
}

/// The recovery code gets the person in: the ticket goes to the password
/// page's cookie and the next code is shown, once.
pub async fn recover(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<RecoveryCodeForm>,
) -> Result<Response, AppError> {
    check_csrf(&headers, &f.csrf)?;
    let token = get_flow(&headers, flow::RECOVERY)
        .ok_or(AppError::Refused(seccode::Error::InvalidToken))?;
    let recovered = match app.flows.recover_with_code(&token, &f.code).await {
        Ok(recovered) => recovered,
        Err(e @ (seccode::Error::Store(_) | seccode::Error::Delivery(_))) => return Err(e.into()),
        Err(e) => {
            let (status, error) = refusal(&e);
            return Ok((status, recover_form(&headers, &error)).into_response());
        }
    };
    let shown = page(
        "Your new recovery code",
        None,
        &shown_once(
            recovered.new_code.expose(),
            "new-recovery-code",
            "/recover/confirm",
            "Continue",
        ),
    );
    let mut response = redirect_with("/recover/confirm", flow::TICKET, recovered.ticket.expose());
    // The page, not the redirect: the new code must be seen once; the
    // ticket's cookie comes with it.
    let cookie = response.headers_mut().remove(SET_COOKIE);
    let mut out = shown.into_response();
    if let Some(cookie) = cookie {
        out.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(out)
}
