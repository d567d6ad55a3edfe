//! "Recover your account" (as account.live.com/username/recover has it): enter
//! an email or phone → choose where the code goes → enter the code → is this
//! your account? → set a new password. The same pages, with the same answers,
//! whether or not an account has the identifier. The recovery token (which
//! carries the identifier), the challenge and the ticket travel in flow cookies
//! ([`crate::web::flow`]), never in a URL.

use std::sync::Arc;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use seccode::Confirmation;
use serde::Deserialize;

use crate::account::{
    CodeForm, CodePage, CodeScreen, ResendForm, challenge_id, code_form, proof_or_back,
    resend_code, url,
};
use crate::state::AppState;
use crate::web::{
    AppError, check_csrf, clear_flow, csrf, csrf_field, esc, flow, get_flow, page, redirect_with,
    refusal, respond,
};

type App = State<Arc<AppState>>;

pub async fn start_page(headers: HeaderMap) -> Response {
    let (token, cookie) = csrf(&headers);
    respond(
        page(
            "Recover your account",
            None,
            &format!(
                r#"<p>Enter the email address or phone number you use for your account.</p>
<form method="post" action="/recover">{}
<p><label>Email or phone <input name="identifier" required></label></p>
<p><button>Next</button></p></form>"#,
                csrf_field(&token)
            ),
        ),
        cookie,
    )
}

#[derive(Deserialize)]
pub struct Start {
    csrf: String,
    identifier: String,
}

pub async fn start(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<Start>,
) -> Result<Response, AppError> {
    check_csrf(&headers, &f.csrf)?;
    let start = app.flows.start_recovery(&f.identifier).await?;
    Ok(redirect_with(
        "/recover/choose",
        flow::RECOVERY,
        &start.token,
    ))
}

/// The recovery token of this browser's recovery.
fn recovery_token(headers: &HeaderMap) -> Result<String, AppError> {
    get_flow(headers, flow::RECOVERY).ok_or(AppError::Refused(seccode::Error::InvalidToken))
}

pub async fn choose_page(State(app): App, headers: HeaderMap) -> Result<Response, AppError> {
    let (csrf_token, cookie) = csrf(&headers);
    let start = app
        .flows
        .resume_recovery(&recovery_token(&headers)?)
        .await?;
    // An app is sent nothing: it has its own link, not a radio button.
    let app = start
        .choices
        .iter()
        .any(|c| c.confirm_with == Confirmation::AppCode);
    let app = if app {
        r#"<p class="other"><a id="use-app" href="/recover/app">Use a code from my authenticator app</a></p>"#
    } else {
        ""
    };
    let choices: String = start
        .choices
        .iter()
        .filter(|c| c.confirm_with != Confirmation::AppCode)
        .map(|c| {
            let ask = match c.confirm_with {
                Confirmation::FullAddress => "the whole email address",
                _ => "the last 4 digits",
            };
            format!(
                r#"<li><label><input type="radio" name="choice" value="{}" {}> {} <small>(type {ask})</small></label></li>"#,
                c.index,
                if c.index == 0 { "checked" } else { "" },
                esc(c.contact.as_str())
            )
        })
        .collect();
    Ok(respond(
        page(
            "Verify your identity",
            None,
            &format!(
                r#"<p>Where should we send your security code?</p>
<form method="post" action="/recover/choose">{}
<ul id="choices">{choices}</ul>
<p><label>To make sure it's you, type it here <input name="confirmation" required></label></p>
<p><button>Get code</button></p></form>
{app}<p class="other"><a id="use-recovery-code" href="/recover/recovery-code">Use a recovery code</a></p>"#,
                csrf_field(&csrf_token),
            ),
        ),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct Choose {
    csrf: String,
    choice: usize,
    confirmation: String,
}

/// Sends the code. The client's address names the requester, so one client
/// cannot use up a contact's recovery budget for everyone (behind a proxy, use
/// the address it forwards).
pub async fn choose(
    State(app): App,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<Choose>,
) -> Result<Response, AppError> {
    check_csrf(&headers, &f.csrf)?;
    let requester = client.ip().to_string();
    let sent = app
        .flows
        .choose_recovery_contact(
            &recovery_token(&headers)?,
            f.choice,
            &f.confirmation,
            Some(&requester),
        )
        .await?;
    Ok(redirect_with(
        &format!("/recover/code?to={}", url(sent.destination.as_str())),
        flow::CHALLENGE,
        &sent.id.to_string(),
    ))
}

pub async fn code_page(
    headers: HeaderMap,
    Query(q): Query<CodePage>,
) -> Result<Response, AppError> {
    let page = CodeScreen {
        title: "Enter your security code",
        action: "/recover/code",
        resend: "/recover/code/resend",
        other: "/recover/choose",
        signed_in: false,
    };
    code_form(&headers, &page, &q)
}

pub async fn code_resend(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<ResendForm>,
) -> Result<Response, AppError> {
    resend_code(&app, &headers, &f, "/recover/code").await
}

pub async fn code(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    check_csrf(&headers, &f.csrf)?;
    let id = challenge_id(&headers)?;
    let v = app.flows.finish_recovery(&id, &f.code).await?;
    let proof = match proof_or_back(v, "/recover/code", &f.to) {
        Ok(proof) => proof,
        Err(back) => return Ok(back.into_response()),
    };
    let ticket = app.flows.issue_ticket(&proof).await?;
    Ok(redirect_with(
        "/recover/confirm",
        flow::TICKET,
        ticket.expose(),
    ))
}

/// "Use a code from my authenticator app" on the recovery pages.
pub async fn app_page(headers: HeaderMap) -> Response {
    app_form(&headers, "")
}

fn app_form(headers: &HeaderMap, error: &str) -> Response {
    let (token, cookie) = csrf(headers);
    respond(
        page(
            "Enter the code from your authenticator app",
            None,
            &format!(
                r#"{error}<p>Open your authenticator app and enter the code it shows for this account.</p>
<form method="post" action="/recover/app">{}
<p><label>Code <input name="code" inputmode="numeric" autocomplete="one-time-code" required></label></p>
<p><button>Verify</button></p></form>
<p class="other"><a href="/recover/choose">Use a different option</a></p>"#,
                csrf_field(&token)
            ),
        ),
        cookie,
    )
}

#[derive(Deserialize)]
pub struct AppCodeForm {
    csrf: String,
    code: String,
}

/// A code from the app gets the person in: its recovery proof becomes the
/// ticket of the password page, as a sent code's does.
pub async fn app(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<AppCodeForm>,
) -> Result<Response, AppError> {
    check_csrf(&headers, &f.csrf)?;
    let proof = match app
        .flows
        .recover_with_app(&recovery_token(&headers)?, &f.code)
        .await
    {
        Ok(proof) => proof,
        Err(e @ (seccode::Error::Store(_) | seccode::Error::Delivery(_))) => return Err(e.into()),
        Err(e) => {
            let (status, error) = refusal(&e);
            return Ok((status, app_form(&headers, &error)).into_response());
        }
    };
    let ticket = app.flows.issue_ticket(&proof).await?;
    Ok(redirect_with(
        "/recover/confirm",
        flow::TICKET,
        ticket.expose(),
    ))
}

/// The ticket of this browser's recovery.
fn ticket(headers: &HeaderMap) -> Result<String, AppError> {
    get_flow(headers, flow::TICKET).ok_or(AppError::Refused(seccode::Error::InvalidTicket))
}

pub async fn confirm_page(State(app): App, headers: HeaderMap) -> Result<Response, AppError> {
    let (_, cookie) = csrf(&headers);
    let account = app.flows.check_ticket(&ticket(&headers)?).await?;
    let contacts: String = app
        .flows
        .security_info(&account)
        .await?
        .iter()
        .filter(|i| i.verified)
        .map(|i| format!("<li>{}</li>", esc(i.contact.as_str())))
        .collect();
    Ok(respond(
        page(
            "Is this your account?",
            None,
            &format!(
                r#"<p>The account with this security info:</p><ul id="account">{contacts}</ul>
<p><a id="yes" href="/recover/password">Yes, set a new password</a> · <a href="/recover">No, start again</a></p>"#
            ),
        ),
        cookie,
    ))
}

pub async fn password_page(State(app): App, headers: HeaderMap) -> Result<Response, AppError> {
    let (token, cookie) = csrf(&headers);
    app.flows.check_ticket(&ticket(&headers)?).await?;
    Ok(respond(
        page(
            "Set a new password",
            None,
            &format!(
                r#"<form method="post" action="/recover/password">{}
<p><label>New password <input name="password" type="password" autocomplete="new-password" minlength="8" required></label></p>
<p><button>Save and sign in</button></p></form>"#,
                csrf_field(&token),
            ),
        ),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct NewPassword {
    csrf: String,
    password: String,
}

pub async fn password(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<NewPassword>,
) -> Result<Response, AppError> {
    check_csrf(&headers, &f.csrf)?;
    if f.password.chars().count() < 8 {
        return Err(AppError::Refused(seccode::Error::InvalidInput {
            field: "password",
            reason: "use at least 8 characters",
        }));
    }
    let account = app.flows.redeem_ticket(&ticket(&headers)?).await?;
    let (db, id, password) = (app.db.clone(), account.clone(), f.password.clone());
    // A new password ends every earlier session of the account (whoever held
    // one — perhaps whoever made the reset necessary), then signs this browser in.
    tokio::task::spawn_blocking(move || {
        db.set_password(&id, &password)?;
        db.end_sessions(&id)
    })
    .await
    .map_err(|e| AppError::Internal(format!("password task: {e}")))?
    .map_err(|e| AppError::Internal(format!("password store: {e}")))?;
    let mut response = Redirect::to("/security").into_response();
    let headers = response.headers_mut();
    headers.append(SET_COOKIE, crate::web::sign_in(&app, &account));
    for name in [flow::RECOVERY, flow::TICKET, flow::CHALLENGE] {
        headers.append(SET_COOKIE, clear_flow(name));
    }
    Ok(response)
}
