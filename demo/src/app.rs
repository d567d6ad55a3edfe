//! *Add a sign-in method → An app*, as on a Microsoft account: scan the QR
//! code (server-rendered SVG, no JavaScript) or type the secret into an
//! authenticator app, then enter the code the app shows; the app counts as
//! security info only once that code is right. The secret is shown on that
//! one page and nowhere else.

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use qrcode::QrCode;
use qrcode::render::svg;
use seccode::SecurityInfoId;
use serde::Deserialize;

use crate::state::AppState;
use crate::web::{AppError, check_csrf, csrf, csrf_field, esc, page, refusal, require, respond};

type App = State<Arc<AppState>>;

/// What the app lists the account under.
const ISSUER: &str = "seccode demo";

#[derive(Deserialize)]
pub struct Csrf {
    csrf: String,
}

/// Starts adding an app (a POST: it makes the pending entry and its secret)
/// and shows the secret, once: a QR code and the base32 text.
pub async fn start(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<Csrf>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    check_csrf(&headers, &f.csrf)?;
    let enrolment = app.flows.start_add_authenticator(&account, ISSUER).await?;
    let qr = QrCode::new(enrolment.uri().as_bytes())
        .map_err(|e| AppError::Internal(format!("qr code: {e}")))?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let (token, cookie) = csrf(&headers);
    Ok(respond(
        page(
            "Set up your authenticator app",
            Some(&token),
            &format!(
                r#"<div class="card"><p>In your authenticator app, add an account and scan this QR code.</p>
<div class="qr">{qr}</div>
<p>Can't scan it? Enter this key instead (time-based):</p>
<p class="code" id="app-secret">{}</p>
<p>We show this key only now.</p></div>
{}"#,
                esc(enrolment.secret()),
                code_form(&token, enrolment.entry, "")
            ),
        ),
        cookie,
    ))
}

/// The form for the code the app shows.
fn code_form(token: &str, entry: SecurityInfoId, error: &str) -> String {
    format!(
        r#"<div class="card">{error}<form method="post" action="/security/app/verify">{}
<input type="hidden" name="entry" value="{entry}">
<p><label>Enter the code your app shows <input name="code" inputmode="numeric" autocomplete="one-time-code" required></label></p>
<p><button>Verify</button></p></form>
<p class="other"><a href="/security/info">Cancel</a></p></div>"#,
        csrf_field(token)
    )
}

#[derive(Deserialize)]
pub struct Verify {
    csrf: String,
    entry: u32,
    code: String,
}

/// A code from the app verifies it; a wrong one shows the form again.
pub async fn verify(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<Verify>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    check_csrf(&headers, &f.csrf)?;
    let entry = SecurityInfoId(f.entry);
    match app
        .flows
        .finish_add_authenticator(&account, entry, &f.code)
        .await
    {
        Ok(()) => Ok(Redirect::to("/security/info?note=added").into_response()),
        Err(e @ (seccode::Error::Store(_) | seccode::Error::Delivery(_))) => Err(e.into()),
        Err(e) => {
            let (status, error) = refusal(&e);
            let (token, cookie) = csrf(&headers);
            let form = respond(
                page(
                    "Set up your authenticator app",
                    Some(&token),
                    &code_form(&token, entry, &error),
                ),
                cookie,
            );
            Ok((status, form).into_response())
        }
    }
}
