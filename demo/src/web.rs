//! What every page shares: the HTML layout, escaping, the session cookie, CSRF
//! tokens, and the one error type that is also the response.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use seccode::AccountId;
use sha2::Sha256;

use crate::state::AppState;

const SESSION: &str = "seccode_session";
const CSRF: &str = "seccode_csrf";
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How long a flow's bearer values (recovery token, ticket, sealed proof,
/// challenge) stay in their cookie.
const FLOW_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The cookies that carry a flow's bearer values from page to page, so that no
/// token, ticket, proof or identifier ever travels in a URL (where it would
/// reach logs, history and `Referer` headers).
pub mod flow {
    /// The recovery token (it carries the identifier typed).
    pub const RECOVERY: &str = "seccode_recovery";
    /// The recovery ticket for the password page.
    pub const TICKET: &str = "seccode_ticket";
    /// The sealed change-phone proof for the remove page.
    pub const PROOF: &str = "seccode_proof";
    /// The challenge a code page verifies against.
    pub const CHALLENGE: &str = "seccode_challenge";
}

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `title` in the tab and as the heading; `body` is HTML. With the
/// browser's CSRF token (`signed_in`), the navigation offers "Sign out".
pub fn page(title: &str, signed_in: Option<&str>, body: &str) -> Html<String> {
    let nav = match signed_in {
        Some(token) => format!(
            r#"<a href="/security">Security</a> · <a href="/mailbox">Dev mailbox</a> · <form method="post" action="/signout" class="inline">{}<button>Sign out</button></form>"#,
            csrf_field(token)
        ),
        None => r#"<a href="/signin">Sign in</a> · <a href="/recover">Recover your account</a> · <a href="/mailbox">Dev mailbox</a>"#.to_owned(),
    };
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – seccode demo</title>
<style>{STYLE}</style></head>
<body><nav>{nav}</nav><h1>{title}</h1>
{body}
</body></html>"#,
        title = esc(title),
    ))
}

/// The demo's own stylesheet: a bar on top, cards for methods and forms, one
/// accent colour — no framework.
const STYLE: &str = "
:root { --accent: #0f6cbd; --line: #d6d6d6; --muted: #616161; }
* { box-sizing: border-box; }
body { font-family: 'Segoe UI', system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #f5f5f5; }
nav { background: #fff; border-bottom: 1px solid var(--line); padding: .8rem max(1rem, calc(50% - 21rem)); }
a { color: var(--accent); }
nav a { text-decoration: none; margin-right: .2rem; }
nav a:hover, .other a:hover { text-decoration: underline; }
h1 { font-weight: 600; font-size: 1.6rem; max-width: 42rem; margin: 1.5rem auto .8rem; padding: 0 1rem; }
body > p, body > ul, body > form, body > div, body > pre { max-width: 42rem; margin-left: auto; margin-right: auto; }
body > p, body > form { padding: 0 1rem; }
form.inline { display: inline; }
.card, ul#security-info > li, ul#choices > li, ul#account > li, li.mail { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .9rem 1rem; margin: .6rem 0; list-style: none; }
ul { padding: 0 1rem; }
.card { margin: .6rem auto; }
.card h2 { font-size: 1.1rem; font-weight: 600; margin: 0 0 .4rem; }
.kind { display: inline-block; min-width: 4rem; font-size: .85rem; font-weight: 600; color: var(--muted); }
.pending { color: var(--muted); }
.error { background: #fde7e9; border-left: 4px solid #c50f1f; padding: .5rem 1rem; }
.qr svg { width: 200px; height: 200px; }
.code { font-family: ui-monospace, monospace; font-size: 1.4rem; letter-spacing: .08em; background: #f3f2f1; padding: .6rem 1rem; }
.note { background: #eef6fc; border-left: 4px solid var(--accent); padding: .5rem 1rem; }
input { font-size: 1rem; padding: .45rem .5rem; border: 1px solid var(--line); border-radius: 4px; }
button { font-size: 1rem; padding: .45rem 1.1rem; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; }
button.link, nav button { background: none; color: var(--accent); padding: 0; }
form.resend { margin: .4rem 0; }
.other { margin: .4rem 0 0; }
pre { white-space: pre-wrap; background: #f5f5f5; padding: .5rem; }
";

/// What a person reads for a refusal of the library (never a code or an
/// address: the library's messages hold none).
pub fn refusal_text(e: &seccode::Error) -> String {
    match e {
        seccode::Error::RateLimited { retry_after, .. } => format!(
            "{}. Try again in {}.",
            capitalize(
                e.to_string()
                    .split("; retry after")
                    .next()
                    .unwrap_or_default()
            ),
            wait_text(*retry_after)
        ),
        _ => format!("{}.", capitalize(&e.to_string())),
    }
}

/// A refusal as the status the library gives it and an error paragraph, for
/// a form shown again.
pub fn refusal(e: &seccode::Error) -> (StatusCode, String) {
    (
        StatusCode::from_u16(e.class().http_status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
        format!(r#"<p class="error">{}</p>"#, esc(&refusal_text(e))),
    )
}

/// The page for a path nobody serves, with the navigation of whoever asks.
pub async fn not_found(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let signed_in = session(&app, &headers).is_some();
    let (token, cookie) = csrf(&headers);
    let page = page(
        "Page not found",
        signed_in.then_some(token.as_str()),
        r#"<p>There's nothing at this address. <a href="/">Go to your account</a> or <a href="/recover">recover your account</a>.</p>"#,
    );
    let mut response = respond(page, cookie);
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// A hidden CSRF field for a form.
pub fn csrf_field(token: &str) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        esc(token)
    )
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(name: &str, value: &str, max_age: Option<Duration>) -> HeaderValue {
    let age = max_age.map_or(String::new(), |d| format!("; Max-Age={}", d.as_secs()));
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; Secure; SameSite=Lax{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A flow cookie (see [`flow`]): HttpOnly, same-site only, for 30 minutes.
pub fn set_flow(name: &str, value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        FLOW_LIFETIME.as_secs()
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The header that forgets a flow cookie.
pub fn clear_flow(name: &str) -> HeaderValue {
    set_cookie(name, "", Some(Duration::ZERO))
}

/// A flow cookie's value, if the browser has one.
pub fn get_flow(headers: &HeaderMap, name: &str) -> Option<String> {
    cookie(headers, name).filter(|v| !v.is_empty())
}

/// A redirect to `to` that also sets the flow cookie `name`.
pub fn redirect_with(to: &str, name: &str, value: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    response
        .headers_mut()
        .append(SET_COOKIE, set_flow(name, value));
    response
}

/// The CSRF token of this browser (double-submit: a random cookie every form
/// repeats), and the `Set-Cookie` to send if it is new.
pub fn csrf(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookie(headers, CSRF).filter(|t| t.len() == 32) {
        Some(token) => (token, None),
        None => {
            let mut bytes = [0u8; 16];
            rand::rng().fill_bytes(&mut bytes);
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let header = set_cookie(CSRF, &token, None);
            (token, Some(header))
        }
    }
}

/// Refuses a form whose `csrf` field does not match this browser's cookie.
pub fn check_csrf(headers: &HeaderMap, submitted: &str) -> Result<(), AppError> {
    let expected = cookie(headers, CSRF).unwrap_or_default();
    let ok = !expected.is_empty()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            submitted.as_bytes(),
        ));
    if ok { Ok(()) } else { Err(AppError::Forbidden) }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn mac(state: &AppState, payload: &str) -> Vec<u8> {
    let mut mac = match Hmac::<Sha256>::new_from_slice(&state.cookie_key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A signed session cookie for `account`, valid for 8 hours, on any process that
/// shares the database (the key lives there), and only while the account's
/// session version is the one it names: signing out and a new password move
/// the version on, which ends every session of the account on every process.
pub fn sign_in(state: &AppState, account: &AccountId) -> HeaderValue {
    let payload = format!(
        "{}|{}|{}",
        now_secs() + SESSION_LIFETIME.as_secs(),
        state.db.session_version(account),
        account.as_str()
    );
    let value = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(mac(state, &payload))
    );
    set_cookie(SESSION, &value, Some(SESSION_LIFETIME))
}

/// Ends every session of `account` (on every process: the version lives in the
/// shared database) and returns the header that forgets this browser's cookie.
///
/// # Errors
///
/// [`AppError::Internal`] if the database does not take the new version: the
/// sessions would go on, so the person must be told.
pub fn sign_out(state: &AppState, account: Option<&AccountId>) -> Result<HeaderValue, AppError> {
    if let Some(account) = account {
        state
            .db
            .end_sessions(account)
            .map_err(|e| AppError::Internal(format!("end sessions: {e}")))?;
    }
    Ok(set_cookie(SESSION, "", Some(Duration::ZERO)))
}

/// The signed-in account, if the session cookie is genuine and fresh.
pub fn session(state: &AppState, headers: &HeaderMap) -> Option<AccountId> {
    let value = cookie(headers, SESSION)?;
    let (payload, tag) = value.split_once('.')?;
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let expected = mac(state, &payload);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &tag[..])) {
        return None;
    }
    let mut parts = payload.splitn(3, '|');
    let (expires, version, account) = (parts.next()?, parts.next()?, parts.next()?);
    if expires.parse::<u64>().ok()? <= now_secs() {
        return None;
    }
    let account = AccountId::new(account).ok()?;
    (version.parse::<i64>().ok()? == state.db.session_version(&account)).then_some(account)
}

/// The signed-in account, or the redirect to the sign-in page.
pub fn require(state: &AppState, headers: &HeaderMap) -> Result<AccountId, AppError> {
    session(state, headers).ok_or(AppError::SignIn)
}

/// A page response with the CSRF cookie set if it is new.
pub fn respond(page: Html<String>, new_cookie: Option<HeaderValue>) -> Response {
    let mut response = page.into_response();
    if let Some(c) = new_cookie {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

/// Every way a request can fail, and the page each shows. Messages are the
/// library's (which never contain a code or an address) or fixed text.
#[derive(Debug)]
pub enum AppError {
    /// The library refused (wrong input, a limit, a hold…): shown to the person.
    Refused(seccode::Error),
    /// Not signed in: go to the sign-in page.
    SignIn,
    /// A form without this browser's CSRF token.
    Forbidden,
    /// A fault (store, delivery): logged with context, shown as a generic message.
    Internal(String),
}

impl From<seccode::Error> for AppError {
    fn from(e: seccode::Error) -> Self {
        match e {
            seccode::Error::Store(_) => AppError::Internal(format!("store: {e}")),
            seccode::Error::Delivery(_) => AppError::Internal(format!("delivery: {e}")),
            other => AppError::Refused(other),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::SignIn => Redirect::to("/signin").into_response(),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                page(
                    "Something went wrong",
                    None,
                    r#"<p class="error">This form expired or came from another site. Go back, reload the page and try again.</p>"#,
                ),
            )
                .into_response(),
            AppError::Refused(e) => {
                let message = refusal_text(&e);
                // The library says which status each refusal is (403 for a
                // proof that does not match, 409 for a duplicate, 423 on hold,
                // 429 for a limit…).
                let status = StatusCode::from_u16(e.class().http_status)
                    .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
                (
                    status,
                    page(
                        "That didn't work",
                        None,
                        &format!(
                            r#"<p class="error">{}</p><p><a href="javascript:history.back()">Go back</a></p>"#,
                            esc(&message)
                        ),
                    ),
                )
                    .into_response()
            }
            AppError::Internal(context) => {
                // The context names the failing part; it never holds a code or an
                // address (the library's errors do not).
                eprintln!("seccode-demo: internal error: {context}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    page(
                        "Something went wrong",
                        None,
                        r#"<p class="error">We couldn't complete this right now. Please try again in a moment.</p>"#,
                    ),
                )
                    .into_response()
            }
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// "3 minutes", "45 seconds".
pub fn wait_text(d: Duration) -> String {
    let secs = d.as_secs().max(1);
    match secs {
        s if s < 90 => format!("{s} seconds"),
        s if s < 5400 => format!("{} minutes", s.div_ceil(60)),
        s => format!("{} hours", s.div_ceil(3600)),
    }
}
