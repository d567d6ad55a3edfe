//! The dev mailbox: every message the demo "sent", newest first, with the address
//! masked and the text in full, so a person can try every flow locally.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::state::AppState;
use crate::web::{AppError, csrf, esc, page, respond, session};

pub async fn mailbox(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (token, cookie) = csrf(&headers);
    let db = app.db.clone();
    let mails = tokio::task::spawn_blocking(move || db.mailbox(50))
        .await
        .map_err(|e| AppError::Internal(format!("mailbox task: {e}")))?
        .map_err(|e| AppError::Internal(format!("mailbox: {e}")))?;
    let items: String = mails
        .iter()
        .map(|m| {
            format!(
                r#"<li class="mail" data-id="{}" data-kind="{}"><strong class="to">{}</strong> — <span class="subject">{}</span><pre class="body">{}</pre></li>"#,
                m.id,
                esc(&m.kind),
                esc(&m.masked_to),
                esc(&m.subject),
                esc(&m.body)
            )
        })
        .collect();
    let signed_in = session(&app, &headers).is_some();
    Ok(respond(
        page(
            "Dev mailbox",
            signed_in.then_some(token.as_str()),
            &format!(
                r#"<p class="note">Messages the demo sent, newest first. A real deployment sends them by email or SMS and keeps no copy.</p>
<ol id="mailbox">{items}</ol>"#
            ),
        ),
        cookie,
    ))
}
