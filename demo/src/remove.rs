//! Removing security info, as *Update info → Remove* does on a Microsoft
//! account: verify it's you with a code to one of your verified methods, then
//! the entry goes (never the last verified one; not while a hold is on).

use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use seccode::SecurityInfoId;
use serde::Deserialize;

use crate::account::{
    CodeForm, CodePage, CodeScreen, Entry, ResendForm, code_form, entry_of, identity_code,
    proof_or_back, resend_code, signed_in_code, url,
};
use crate::state::AppState;
use crate::web::{
    AppError, check_csrf, csrf, csrf_field, esc, flow, page, redirect_with, require, respond,
};

type App = State<Arc<AppState>>;

/// "Remove security info": which entry, and where the code that proves it's
/// you goes (any verified method).
pub async fn remove_page(
    State(app): App,
    headers: HeaderMap,
    Query(q): Query<Entry>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    remove_form(&app, &headers, &account, q.entry, "").await
}

/// The remove form for `entry`, under `error`.
async fn remove_form(
    app: &AppState,
    headers: &HeaderMap,
    account: &seccode::AccountId,
    entry: u32,
    error: &str,
) -> Result<Response, AppError> {
    let (token, cookie) = csrf(headers);
    let info = app.flows.security_info(account).await?;
    let removing = entry_of(&info, entry)?;
    let options: String = info
        .iter()
        .filter(|i| i.verified && i.kind != seccode::ContactKind::App)
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
            "Remove security info",
            Some(&token),
            &format!(
                r#"{error}<div class="card"><p>To remove <strong id="removing">{}</strong>, verify it's you. We'll send a code to:</p>
<form method="post" action="/security/info/remove">{}
<input type="hidden" name="entry" value="{entry}">
<p><select name="via">{options}</select></p>
<p><button>Send code</button></p></form>
<p class="other"><a href="/security/info">Cancel</a></p></div>"#,
                esc(removing.contact.as_str()),
                csrf_field(&token),
            ),
        ),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct RemoveStart {
    csrf: String,
    entry: u32,
    via: u32,
}

/// Sends the identity-check code to the method chosen.
pub async fn remove_start(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<RemoveStart>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    check_csrf(&headers, &f.csrf)?;
    let sent = match identity_code(&app, &account, f.via).await? {
        Ok(sent) => sent,
        Err((status, error)) => {
            let form = remove_form(&app, &headers, &account, f.entry, &error).await?;
            return Ok((status, form).into_response());
        }
    };
    Ok(redirect_with(
        &format!(
            "/security/info/remove/code?entry={}&to={}",
            f.entry,
            url(sent.destination.as_str())
        ),
        flow::CHALLENGE,
        &sent.id.to_string(),
    ))
}

pub async fn remove_code_page(
    State(app): App,
    headers: HeaderMap,
    Query(e): Query<Entry>,
    Query(q): Query<CodePage>,
) -> Result<Response, AppError> {
    require(&app, &headers)?;
    let action = format!("/security/info/remove/code?entry={}", e.entry);
    let resend = format!("/security/info/remove/code/resend?entry={}", e.entry);
    let other = format!("/security/info/remove?entry={}", e.entry);
    let page = CodeScreen {
        title: "Enter the code",
        action: &action,
        resend: &resend,
        other: &other,
        signed_in: true,
    };
    code_form(&headers, &page, &q)
}

/// The code proves it's you; the entry goes.
pub async fn remove_code(
    State(app): App,
    headers: HeaderMap,
    Query(e): Query<Entry>,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let (account, id) = signed_in_code(&app, &headers, &f)?;
    let v = app
        .flows
        .finish_identity_check(&account, &id, &f.code)
        .await?;
    let back = format!("/security/info/remove/code?entry={}", e.entry);
    let proof = match proof_or_back(v, &back, &f.to) {
        Ok(proof) => proof,
        Err(back) => return Ok(back.into_response()),
    };
    app.flows
        .remove_security_info(&proof, SecurityInfoId(e.entry))
        .await?;
    Ok(Redirect::to("/security/info?note=removed").into_response())
}

pub async fn remove_resend(
    State(app): App,
    headers: HeaderMap,
    Query(e): Query<Entry>,
    Form(f): Form<ResendForm>,
) -> Result<Response, AppError> {
    require(&app, &headers)?;
    let back = format!("/security/info/remove/code?entry={}", e.entry);
    resend_code(&app, &headers, &f, &back).await
}
