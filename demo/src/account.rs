//! The signed-in pages: sign in, Security, Security basics, Update info, Add
//! security info (and its code), Change phone (last four digits, code, remove).
//!
//! Every step's state travels in flow cookies (challenge ids, sealed proofs;
//! see [`crate::web::flow`]) or the form, never in a URL and never in one
//! process's memory, so any server can serve any page.

use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use seccode::store::{AccountStore, ChallengeStore, Counter, CounterKey};
use seccode::{
    ChallengeId, Contact, ContactKind, Limits, SecurityInfoId, SendOptions, Verification,
};
use serde::Deserialize;

use crate::state::{AppState, DEMO_ACCOUNTS, DEMO_PASSWORD};
use crate::web::{
    AppError, check_csrf, csrf, csrf_field, esc, flow, get_flow, page, redirect_with, refusal,
    require, respond, session,
};

type App = State<Arc<AppState>>;

pub async fn home(State(app): App, headers: HeaderMap) -> Redirect {
    match session(&app, &headers) {
        Some(_) => Redirect::to("/security"),
        None => Redirect::to("/signin"),
    }
}

pub async fn signin_page(headers: HeaderMap) -> Response {
    let (token, cookie) = csrf(&headers);
    let accounts: String = DEMO_ACCOUNTS
        .iter()
        .map(|(_, email, phone)| format!("<li>{} or {}</li>", esc(email), esc(phone)))
        .collect();
    respond(
        page(
            "Sign in",
            None,
            &format!(
                r#"<form method="post" action="/signin">{}
<p><label>Email or phone <input name="identifier" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button>Sign in</button></p></form>
<p class="note">Demo accounts: <ul>{accounts}</ul> password <code>{DEMO_PASSWORD}</code>. Codes arrive in the <a href="/mailbox">dev mailbox</a>.</p>"#,
                csrf_field(&token)
            ),
        ),
        cookie,
    )
}

#[derive(Deserialize)]
pub struct SignIn {
    csrf: String,
    identifier: String,
    password: String,
}

pub async fn signin(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Result<Response, AppError> {
    check_csrf(&headers, &f.csrf)?;
    let refused = || {
        page(
            "Sign in",
            None,
            r#"<p class="error">That email, phone number or password is not right.</p><p><a href="/signin">Try again</a></p>"#,
        )
        .into_response()
    };
    let Ok(contact) = Contact::parse(&f.identifier) else {
        return Ok(refused());
    };
    // Sign-in failures count on a seccode failure budget keyed by the
    // identifier's identity (known or not, so the throttle says nothing about
    // accounts): 10 free, then waits doubling from 1 s to 15 minutes, and a
    // 1-hour lockout at 100 — the rules of the library's code budgets. Counted
    // before the password is compared; a right one clears it.
    let store = app.flows.codes().store();
    let key = CounterKey::custom(&format!("demo-signin:{}", contact.identity()));
    let (now, limits) = (app.flows.codes().now(), Limits::default());
    if let Err(wait) = store
        .update_counter(&key, now, move |c| c.count_failure(&limits, now))
        .await?
    {
        return Err(AppError::Refused(seccode::Error::RateLimited {
            limit: seccode::RateLimit::AccountFailures,
            retry_after: wait,
        }));
    }
    let account = app.flows.accounts().find_verified(&contact).await?;
    match account {
        Some(id) if app.db.password_ok(&id, &f.password) => {
            store.update_counter(&key, now, Counter::clear).await?;
            let mut response = Redirect::to("/security").into_response();
            response
                .headers_mut()
                .append(SET_COOKIE, crate::web::sign_in(&app, &id));
            Ok(response)
        }
        _ => Ok(refused()),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// Signs out: every session of the account ends, on every process — also a
/// session cookie copied before (a shared computer, a stolen cookie).
pub async fn signout(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    check_csrf(&headers, &f.csrf)?;
    let account = crate::web::session(&app, &headers);
    let mut response = Redirect::to("/signin").into_response();
    response
        .headers_mut()
        .append(SET_COOKIE, crate::web::sign_out(&app, account.as_ref())?);
    Ok(response)
}

pub async fn security(State(app): App, headers: HeaderMap) -> Result<Response, AppError> {
    require(&app, &headers)?;
    let (token, cookie) = csrf(&headers);
    Ok(respond(
        page(
            "Security",
            Some(&token),
            r#"<p>Manage the ways we can reach you to keep your account secure.</p>
<div class="card"><h2>Security basics</h2><p>Your password and the ways we verify it's you.</p>
<p><a href="/security/basics">Security basics</a></p></div>
<div class="card"><h2>Security info</h2><p>The email addresses and phone numbers we send codes to when we need to make sure it's you.</p>
<p><a href="/security/info">Update info</a> · <a href="/security/info/add">Add security info</a></p></div>
<div class="card"><h2>Recovery code</h2><p>A code that gets you back into your account if you can't use any of your security info.</p>
<p><a id="recovery-code" href="/security/recovery-code">Recovery code</a></p></div>"#,
        ),
        cookie,
    ))
}

pub async fn basics(State(app): App, headers: HeaderMap) -> Result<Response, AppError> {
    require(&app, &headers)?;
    let (token, cookie) = csrf(&headers);
    Ok(respond(
        page(
            "Security basics",
            Some(&token),
            r#"<p>Security info: the email addresses and phone numbers we use to verify it's you.</p>
<p><a href="/security/info">Update info</a></p>"#,
        ),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct Note {
    note: Option<String>,
}

pub async fn info(
    State(app): App,
    headers: HeaderMap,
    Query(q): Query<Note>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    let (token, cookie) = csrf(&headers);
    let hold = app.flows.hold(&account).await?;
    let list: String = app
        .flows
        .security_info(&account)
        .await?
        .iter()
        .map(|i| {
            let change = if i.verified && i.kind == ContactKind::Phone {
                format!(
                    r#" · <a href="/security/info/change-phone?entry={}">Change</a>"#,
                    i.id
                )
            } else {
                String::new()
            };
            let remove = format!(
                r#" · <a class="remove" href="/security/info/remove?entry={}">Remove</a>"#,
                i.id
            );
            let state = if i.verified {
                ""
            } else {
                r#" <span class="pending">(waiting for its code)</span>"#
            };
            let kind = match i.kind {
                ContactKind::Phone => "Phone",
                ContactKind::App => "App",
                _ => "Email",
            };
            format!(
                r#"<li class="info" data-verified="{}"><span class="kind">{kind}</span> {}{state}{change}{remove}</li>"#,
                i.verified,
                esc(i.contact.as_str())
            )
        })
        .collect();
    let note = match q.note.as_deref() {
        Some("added") => r#"<p class="note">Security info added.</p>"#,
        Some("removed") => r#"<p class="note">Security info removed.</p>"#,
        _ => "",
    };
    let hold = hold.map_or(String::new(), |h| {
        format!(
            r#"<p class="error">Changes to security info are on hold until {}.</p>"#,
            esc(&h.until.to_rfc3339())
        )
    });
    Ok(respond(
        page(
            "Update info",
            Some(&token),
            &format!(
                r#"{note}{hold}<ul id="security-info">{list}</ul>
<p><a href="/security/info/add">Add security info</a></p>
<form method="post" action="/security/app/add">{}<p><button id="add-app">Add an authenticator app</button></p></form>"#,
                csrf_field(&token)
            ),
        ),
        cookie,
    ))
}

pub async fn add_page(
    State(app): App,
    headers: HeaderMap,
    Query(q): Query<Note>,
) -> Result<Response, AppError> {
    require(&app, &headers)?;
    let note = match q.note.as_deref() {
        Some("removed") => {
            r#"<p class="note">The old number was removed. Add your new number.</p>"#
        }
        _ => "",
    };
    Ok(add_form(&headers, note, ""))
}

/// The add-security-info form, under `note` (a note or an error) and holding
/// what was typed.
fn add_form(headers: &HeaderMap, note: &str, typed: &str) -> Response {
    let (token, cookie) = csrf(headers);
    respond(
        page(
            "Add security info",
            Some(&token),
            &format!(
                r#"{note}<div class="card"><form method="post" action="/security/info/add">{}
<p><label>Email address or phone number (with its country code, such as +44) <input name="contact" value="{}" required></label></p>
<p><button>Next</button></p></form></div>"#,
                csrf_field(&token),
                esc(typed)
            ),
        ),
        cookie,
    )
}

#[derive(Deserialize)]
pub struct AddForm {
    csrf: String,
    contact: String,
}

pub async fn add(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<AddForm>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    check_csrf(&headers, &f.csrf)?;
    // A refusal (not a contact, already there, a limit…) shows the form again
    // with what was typed and why.
    let sent = match Contact::parse(&f.contact).map_err(seccode::Error::from) {
        Ok(contact) => app.flows.start_add_security_info(&account, &contact).await,
        Err(e) => Err(e),
    };
    let sent = match sent {
        Ok(sent) => sent,
        Err(e @ (seccode::Error::Store(_) | seccode::Error::Delivery(_))) => return Err(e.into()),
        Err(e) => {
            let (status, error) = refusal(&e);
            return Ok((status, add_form(&headers, &error, &f.contact)).into_response());
        }
    };
    Ok(redirect_with(
        &format!(
            "/security/info/verify?to={}",
            url(sent.destination.as_str())
        ),
        flow::CHALLENGE,
        &sent.id.to_string(),
    ))
}

/// The query of a code page: where the code went (masked), and why the last
/// try failed, if it did. The challenge itself is in a flow cookie.
#[derive(Deserialize)]
pub struct CodePage {
    pub to: String,
    pub e: Option<String>,
    pub left: Option<u8>,
    pub secs: Option<u64>,
    /// Set after "Resend code" sent it again.
    pub sent: Option<u8>,
}

impl CodePage {
    pub fn error(&self) -> Option<String> {
        rejection_text(self.e.as_deref(), self.left, self.secs)
    }
}

/// The "enter the code" page of add security info and of the new phone.
pub async fn verify_page(
    State(app): App,
    headers: HeaderMap,
    Query(q): Query<CodePage>,
) -> Result<Response, AppError> {
    require(&app, &headers)?;
    let page = CodeScreen {
        title: "Enter the code",
        action: "/security/info/verify",
        resend: "/security/info/verify/resend",
        other: "/security/info/add",
        signed_in: true,
    };
    code_form(&headers, &page, &q)
}

/// A code page: its title, where the code goes, where "Resend code" posts,
/// where "Use a different option" leads, and which navigation it shows.
pub struct CodeScreen<'a> {
    pub title: &'a str,
    pub action: &'a str,
    pub resend: &'a str,
    pub other: &'a str,
    pub signed_in: bool,
}

/// A page asking for the code sent to `q.to`, with the last try's error (or
/// the note that it was sent again).
pub fn code_form(
    headers: &HeaderMap,
    screen: &CodeScreen<'_>,
    q: &CodePage,
) -> Result<Response, AppError> {
    let (token, cookie) = csrf(headers);
    let error = q.error().map_or(String::new(), |e| {
        format!(r#"<p class="error">{}</p>"#, esc(&e))
    });
    let note = if q.sent.is_some() && q.e.is_none() {
        r#"<p class="note">We sent the code again.</p>"#
    } else {
        ""
    };
    let to = esc(&q.to);
    let CodeScreen {
        title,
        action,
        resend,
        other,
        signed_in,
    } = screen;
    Ok(respond(
        page(
            title,
            signed_in.then_some(token.as_str()),
            &format!(
                r#"{error}{note}<div class="card"><p>We sent a code to <strong id="destination">{to}</strong>. Enter it here.</p>
<form method="post" action="{action}">{csrf}
<input type="hidden" name="to" value="{to}">
<p><label>Code <input name="code" inputmode="numeric" autocomplete="one-time-code" required></label></p>
<p><button>Verify</button></p></form>
<form method="post" action="{resend}" class="resend">{csrf}<input type="hidden" name="to" value="{to}"><button class="link">Resend code</button></form>
<p class="other"><a href="{other}">Use a different option</a></p></div>"#,
                csrf = csrf_field(&token),
            ),
        ),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct ResendForm {
    pub csrf: String,
    pub to: String,
}

/// Sends the code that proves it's you to the verified method `via`. A
/// refusal the person can act on (a limit, a method no longer there) comes
/// back as the status and error paragraph for the caller's form; a failed
/// store or channel is the page's error.
pub async fn identity_code(
    app: &AppState,
    account: &seccode::AccountId,
    via: u32,
) -> Result<Result<seccode::Sent, (axum::http::StatusCode, String)>, AppError> {
    match app
        .flows
        .start_identity_check(account, SecurityInfoId(via))
        .await
    {
        Ok(sent) => Ok(Ok(sent)),
        Err(e @ (seccode::Error::Store(_) | seccode::Error::Delivery(_))) => Err(e.into()),
        Err(e) => Ok(Err(refusal(&e))),
    }
}

/// Sends the code of this browser's code page again and returns to it
/// (`back`, with the masked destination): noted there, or with the wait a
/// resend cooldown asks for.
pub async fn resend_code(
    app: &AppState,
    headers: &HeaderMap,
    f: &ResendForm,
    back: &str,
) -> Result<Response, AppError> {
    check_csrf(headers, &f.csrf)?;
    let id = challenge_id(headers)?;
    let sep = if back.contains('?') { '&' } else { '?' };
    let query = match app.flows.codes().resend(&id, SendOptions::default()).await {
        Ok(_) => "sent=1".to_owned(),
        Err(seccode::Error::RateLimited { retry_after, .. }) => {
            format!("e=resend_wait&secs={}", retry_after.as_secs().max(1))
        }
        Err(seccode::Error::SendLimitReached) => "e=resend_limit".to_owned(),
        Err(e) => return Err(e.into()),
    };
    Ok(Redirect::to(&format!("{back}{sep}to={}&{query}", url(&f.to))).into_response())
}

pub async fn verify_resend(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<ResendForm>,
) -> Result<Response, AppError> {
    require(&app, &headers)?;
    resend_code(&app, &headers, &f, "/security/info/verify").await
}

pub async fn change_phone_resend(
    State(app): App,
    headers: HeaderMap,
    Query(e): Query<Entry>,
    Form(f): Form<ResendForm>,
) -> Result<Response, AppError> {
    require(&app, &headers)?;
    let back = format!("/security/info/change-phone/code?entry={}", e.entry);
    resend_code(&app, &headers, &f, &back).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    pub csrf: String,
    pub to: String,
    pub code: String,
}

/// A rejected code as query parameters for the code page it redirects back to
/// (POST, redirect, GET: the page can then be loaded from any server).
pub fn rejection(v: &Verification) -> String {
    match v {
        Verification::Rejected {
            reason: seccode::Rejection::Malformed(_),
            ..
        } => "e=malformed".to_owned(),
        Verification::Rejected { remaining, .. } => format!("e=wrong&left={remaining}"),
        Verification::Expired => "e=expired".to_owned(),
        Verification::Locked => "e=locked".to_owned(),
        Verification::AccountLocked { retry_after } => {
            format!("e=wait&secs={}", retry_after.as_secs())
        }
        Verification::AlreadyUsed => "e=used".to_owned(),
        _ => "e=gone".to_owned(),
    }
}

/// A verification's proof or — for any other outcome — the way back to the
/// code page at `back`, with the masked destination `to` and why (POST,
/// redirect, GET: the page can then load on any server).
pub fn proof_or_back(v: Verification, back: &str, to: &str) -> Result<seccode::Proof, Redirect> {
    match v {
        Verification::Approved(proof) => Ok(proof),
        other => {
            let sep = if back.contains('?') { '&' } else { '?' };
            let back = format!("{back}{sep}to={}&{}", url(to), rejection(&other));
            Err(Redirect::to(&back))
        }
    }
}

/// What a person reads for the `e` parameter of a code page.
pub fn rejection_text(e: Option<&str>, left: Option<u8>, secs: Option<u64>) -> Option<String> {
    Some(match e? {
        "malformed" => {
            "That isn't a code: codes are 6 digits. Check the code and try again.".to_owned()
        }
        "wrong" => format!(
            "That code didn't work. Check the code and try again ({} tries left).",
            left.unwrap_or(0)
        ),
        "expired" => "That code has expired. Start again to get a new one.".to_owned(),
        "locked" => "Too many wrong codes. Start again to get a new one.".to_owned(),
        "wait" => format!(
            "Too many wrong codes. Try again in {}.",
            crate::web::wait_text(std::time::Duration::from_secs(secs.unwrap_or(60)))
        ),
        "used" => "That code was already used.".to_owned(),
        "resend_wait" => format!(
            "You can ask for the code again in {}.",
            crate::web::wait_text(std::time::Duration::from_secs(secs.unwrap_or(30)))
        ),
        "resend_limit" => {
            "We can't send this code again. Use a different option or start again.".to_owned()
        }
        _ => "That code didn't work. Start again to get a new one.".to_owned(),
    })
}

/// A signed-in person's code form: their account and the challenge of the
/// code page they are on (the form's CSRF token checked).
pub fn signed_in_code(
    app: &AppState,
    headers: &HeaderMap,
    f: &CodeForm,
) -> Result<(seccode::AccountId, ChallengeId), AppError> {
    let account = require(app, headers)?;
    check_csrf(headers, &f.csrf)?;
    Ok((account, challenge_id(headers)?))
}

/// One entry of an account's security info, by its id.
pub fn entry_of(
    info: &[seccode::SecurityInfoView],
    entry: u32,
) -> Result<&seccode::SecurityInfoView, AppError> {
    info.iter()
        .find(|i| i.id == SecurityInfoId(entry))
        .ok_or(AppError::Refused(seccode::Error::UnknownSecurityInfo))
}

/// The challenge of the code page this browser is on, from its flow cookie.
pub fn challenge_id(headers: &HeaderMap) -> Result<ChallengeId, AppError> {
    get_flow(headers, flow::CHALLENGE)
        .ok_or(AppError::Refused(seccode::Error::ChallengeNotFound))?
        .parse()
        .map_err(|e: seccode::IdError| AppError::Refused(e.into()))
}

pub async fn verify(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let (account, id) = signed_in_code(&app, &headers, &f)?;
    let v = app
        .flows
        .finish_add_security_info(&account, &id, &f.code)
        .await?;
    Ok(match proof_or_back(v, "/security/info/verify", &f.to) {
        Ok(_) => Redirect::to("/security/info?note=added").into_response(),
        Err(back) => back.into_response(),
    })
}

#[derive(Deserialize)]
pub struct Entry {
    pub entry: u32,
}

pub async fn change_phone_page(
    State(app): App,
    headers: HeaderMap,
    Query(q): Query<Entry>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    change_phone_form(&app, &headers, &account, q.entry, "").await
}

/// The last-four-digits form of change phone for `entry`, under `error`.
async fn change_phone_form(
    app: &AppState,
    headers: &HeaderMap,
    account: &seccode::AccountId,
    entry: u32,
    error: &str,
) -> Result<Response, AppError> {
    let (token, cookie) = csrf(headers);
    let info = app.flows.security_info(account).await?;
    let phone = entry_of(&info, entry)
        .ok()
        .filter(|i| i.verified && i.kind == ContactKind::Phone)
        .ok_or(AppError::Refused(seccode::Error::UnknownSecurityInfo))?;
    Ok(respond(
        page(
            "Change phone number",
            Some(&token),
            &format!(
                r#"{error}<div class="card"><p>To verify it's you, enter the last 4 digits of <strong>{}</strong>. We'll send a code to it.</p>
<form method="post" action="/security/info/change-phone">{}
<input type="hidden" name="entry" value="{entry}">
<p><label>Last 4 digits <input name="last_four" inputmode="numeric" required></label></p>
<p><button>Send code</button></p></form>
<p class="other"><a href="/security/info">Cancel</a></p></div>"#,
                esc(phone.contact.as_str()),
                csrf_field(&token),
            ),
        ),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct LastFour {
    csrf: String,
    entry: u32,
    last_four: String,
}

pub async fn change_phone(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<LastFour>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    check_csrf(&headers, &f.csrf)?;
    // Wrong digits (or a limit) show the form again, saying why.
    let sent = match app
        .flows
        .start_change_phone(&account, SecurityInfoId(f.entry), &f.last_four)
        .await
    {
        Ok(sent) => sent,
        Err(e @ (seccode::Error::Store(_) | seccode::Error::Delivery(_))) => return Err(e.into()),
        Err(e) => {
            let (status, error) = refusal(&e);
            let form = change_phone_form(&app, &headers, &account, f.entry, &error).await?;
            return Ok((status, form).into_response());
        }
    };
    Ok(redirect_with(
        &format!(
            "/security/info/change-phone/code?to={}&entry={}",
            url(sent.destination.as_str()),
            f.entry
        ),
        flow::CHALLENGE,
        &sent.id.to_string(),
    ))
}

pub async fn change_phone_code_page(
    State(app): App,
    headers: HeaderMap,
    Query(e): Query<Entry>,
    Query(q): Query<CodePage>,
) -> Result<Response, AppError> {
    require(&app, &headers)?;
    let action = format!("/security/info/change-phone/code?entry={}", e.entry);
    let resend = format!("/security/info/change-phone/code/resend?entry={}", e.entry);
    let page = CodeScreen {
        title: "Enter the code",
        action: &action,
        resend: &resend,
        other: "/security/info",
        signed_in: true,
    };
    code_form(&headers, &page, &q)
}

pub async fn change_phone_code(
    State(app): App,
    headers: HeaderMap,
    Query(e): Query<Entry>,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let (account, id) = signed_in_code(&app, &headers, &f)?;
    let v = app
        .flows
        .confirm_current_phone(&account, &id, &f.code)
        .await?;
    let back = format!("/security/info/change-phone/code?entry={}", e.entry);
    let proof = match proof_or_back(v, &back, &f.to) {
        Ok(proof) => proof,
        Err(back) => return Ok(back.into_response()),
    };
    // The proof crosses to the next page (and maybe another server) sealed, in
    // a flow cookie.
    let sealed = app.flows.seal(&proof)?;
    Ok(redirect_with(
        &format!("/security/info/change-phone/remove?entry={}", e.entry),
        flow::PROOF,
        sealed.expose(),
    ))
}

#[derive(Deserialize)]
pub struct RemovePage {
    entry: u32,
}

/// The sealed proof of the change-phone page this browser is on.
fn sealed_proof(headers: &HeaderMap) -> Result<String, AppError> {
    get_flow(headers, flow::PROOF).ok_or(AppError::Refused(seccode::Error::ProofMismatch))
}

pub async fn remove_page(
    State(app): App,
    headers: HeaderMap,
    Query(q): Query<RemovePage>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    sealed_proof(&headers)?;
    let (token, cookie) = csrf(&headers);
    let info = app.flows.security_info(&account).await?;
    let phone = entry_of(&info, q.entry)?;
    Ok(respond(
        page(
            "Remove the old number",
            Some(&token),
            &format!(
                r#"<p>Verified. Remove <strong id="old-number">{}</strong>, then add your new number.</p>
<form method="post" action="/security/info/change-phone/remove">{}
<input type="hidden" name="entry" value="{}">
<p><button>Remove</button></p></form>"#,
                esc(phone.contact.as_str()),
                csrf_field(&token),
                q.entry
            ),
        ),
        cookie,
    ))
}

#[derive(Deserialize)]
pub struct RemoveForm {
    csrf: String,
    entry: u32,
}

pub async fn remove(
    State(app): App,
    headers: HeaderMap,
    Form(f): Form<RemoveForm>,
) -> Result<Response, AppError> {
    let account = require(&app, &headers)?;
    check_csrf(&headers, &f.csrf)?;
    let proof = app.flows.unseal(&sealed_proof(&headers)?)?;
    if proof.account() != &account {
        return Err(AppError::Refused(seccode::Error::ProofMismatch));
    }
    app.flows
        .remove_security_info(&proof, SecurityInfoId(f.entry))
        .await?;
    let mut response = Redirect::to("/security/info/add?note=removed").into_response();
    response
        .headers_mut()
        .append(SET_COOKIE, crate::web::clear_flow(flow::PROOF));
    Ok(response)
}

/// Percent-encodes a query value.
pub fn url(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
