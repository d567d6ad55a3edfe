//! Delivery over HTTPS, feature `http` (reqwest, rustls): [`TwilioSms`] for SMS
//! through Twilio's Programmable Messaging API, and [`Webhook`] for anything
//! else — your own SMS gateway, a push service, a queue — as a signed JSON POST.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::channel::{DeliveryChannel, DeliveryError, Message, MessageKind};
use crate::contact::ContactKind;
use crate::error::{BoxError, Error};

/// Twilio's API, the default base URL of [`TwilioSms`].
pub const TWILIO_API: &str = "https://api.twilio.com";

fn client(timeout: Duration) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|_| Error::InvalidInput {
            field: "http client",
            reason: "the TLS stack could not be set up",
        })
}

/// The failure an HTTP answer means, with what a retry would do. Only the status
/// (and a provider's numeric error code) is kept: providers' texts often repeat
/// the number.
fn classify(
    status: reqwest::StatusCode,
    retry_after: Option<Duration>,
    code: Option<i64>,
) -> DeliveryError {
    let what = match code {
        Some(code) => format!("({}, code {code})", status.as_u16()),
        None => format!("({})", status.as_u16()),
    };
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let e = DeliveryError::transient(format!("the provider is rate limiting {what}"));
        return match retry_after {
            Some(after) => e.with_retry_after(after),
            None => e,
        };
    }
    if status.is_client_error() {
        return DeliveryError::permanent(format!("the provider refused the message {what}"));
    }
    DeliveryError::transient(format!("the provider failed {what}"))
}

fn transport_error(e: &reqwest::Error) -> DeliveryError {
    if e.is_timeout() {
        DeliveryError::transient("the provider timed out")
    } else {
        DeliveryError::transient("the provider could not be reached")
    }
}

/// Accepted for a 2xx; otherwise the failure, with the provider's numeric error
/// code if its body is JSON with one (Twilio's `{"code": 21211, …}`).
async fn answer(response: reqwest::Response) -> Result<(), BoxError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let after = retry_after(response.headers());
    let code = response
        .bytes()
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("code").and_then(serde_json::Value::as_i64));
    Err(Box::new(classify(status, after, code)))
}

/// `Retry-After` in seconds (the HTTP-date form is read as absent).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Who an SMS comes from on Twilio.
///
/// Requires the `http` feature.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TwilioSender {
    /// A Twilio phone number in E.164 (`From`).
    Number(String),
    /// A Messaging Service SID, `MG…` (`MessagingServiceSid`), which picks the
    /// number.
    MessagingService(String),
}

/// SMS through Twilio Programmable Messaging: `POST
/// /2010-04-01/Accounts/{AccountSid}/Messages.json` with the form fields `To`,
/// `From` or `MessagingServiceSid`, and `Body`, authenticated with HTTP Basic
/// (account SID and auth token, or an API key SID and secret with
/// [`TwilioSms::with_api_key`]).
///
/// Requires the `http` feature.
///
/// A 2xx is accepted; a 429 is transient with its `Retry-After`; another 4xx is
/// permanent (a number Twilio cannot reach: retrying will not help); a 5xx or a
/// network failure is transient. Error reasons carry the status and Twilio's
/// numeric code, never the number.
///
/// # Examples
///
/// ```
/// use seccode::{TwilioSender, TwilioSms};
///
/// let sms = TwilioSms::new("AC00000000000000000000000000000000", "auth-token", TwilioSender::Number("+15005550006".into()))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TwilioSms {
    client: reqwest::Client,
    base_url: String,
    account_sid: String,
    user: String,
    secret: Zeroizing<String>,
    sender: TwilioSender,
    whatsapp: bool,
}

impl TwilioSms {
    /// A channel for `account_sid` (`AC…`) with its auth token.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an account SID that is not `AC` and 32 hex
    /// digits, or a sender that is not an E.164 number or an `MG…` SID.
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
        sender: TwilioSender,
    ) -> Result<Self, Error> {
        let account_sid = account_sid.into();
        let sid_ok = |sid: &str, prefix: &str| {
            sid.len() == 34
                && sid.starts_with(prefix)
                && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
        };
        if !sid_ok(&account_sid, "AC") {
            return Err(Error::InvalidInput {
                field: "twilio account sid",
                reason: "expected AC and 32 hex digits",
            });
        }
        match &sender {
            TwilioSender::Number(n) if crate::contact::Contact::phone(n).is_err() => {
                return Err(Error::InvalidInput {
                    field: "twilio from",
                    reason: "not an E.164 phone number",
                });
            }
            TwilioSender::MessagingService(sid) if !sid_ok(sid, "MG") => {
                return Err(Error::InvalidInput {
                    field: "twilio messaging service sid",
                    reason: "expected MG and 32 hex digits",
                });
            }
            _ => {}
        }
        Ok(Self {
            client: client(Duration::from_secs(10))?,
            base_url: TWILIO_API.to_owned(),
            user: account_sid.clone(),
            account_sid,
            secret: Zeroizing::new(auth_token.into()),
            sender,
            whatsapp: false,
        })
    }

    /// Sends WhatsApp messages instead of SMS, as Twilio's Messages API takes
    /// them: `To` and a number `From` carry the `whatsapp:` prefix (a
    /// Messaging Service picks its WhatsApp sender itself). The sender must be
    /// enabled for WhatsApp on the Twilio account.
    #[must_use]
    pub fn whatsapp(mut self) -> Self {
        self.whatsapp = true;
        self
    }

    /// Authenticates with an API key (`SK…`) and its secret instead of the auth
    /// token.
    #[must_use]
    pub fn with_api_key(mut self, key_sid: impl Into<String>, secret: impl Into<String>) -> Self {
        self.user = key_sid.into();
        self.secret = Zeroizing::new(secret.into());
        self
    }

    /// Sends to another base URL (a regional edge, or a test server).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_owned();
        self
    }

    /// How long one request may take (default: 10 s).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if the HTTP client cannot be rebuilt.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, Error> {
        self.client = client(timeout)?;
        Ok(self)
    }
}

impl DeliveryChannel for TwilioSms {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        if message.to().kind() != ContactKind::Phone {
            return Err(Box::new(DeliveryError::permanent(
                "twilio sms delivers only to phone numbers",
            )));
        }
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, self.account_sid
        );
        // A sender asked for this message (checked in shape when it was
        // composed) goes in place of the configured one.
        let sender = match (message.sender(), &self.sender) {
            (Some(mg), _) if mg.starts_with("MG") => ("MessagingServiceSid", mg),
            (Some(number), _) if number.starts_with('+') => ("From", number),
            (_, TwilioSender::Number(n)) => ("From", n.as_str()),
            (_, TwilioSender::MessagingService(sid)) => ("MessagingServiceSid", sid.as_str()),
        };
        let prefix = if self.whatsapp { "whatsapp:" } else { "" };
        let to = format!("{prefix}{}", message.to().expose());
        let sender = match sender {
            ("From", number) => ("From", format!("{prefix}{number}")),
            (name, sid) => (name, sid.to_owned()),
        };
        let form = [
            ("To", to.as_str()),
            (sender.0, sender.1.as_str()),
            ("Body", message.body()),
        ];
        let response = self
            .client
            .post(url)
            .basic_auth(&self.user, Some(self.secret.as_str()))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        answer(response).await
    }
}

impl fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSms")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

/// The header carrying a [`Webhook`] request's signature.
pub const SIGNATURE_HEADER: &str = "x-seccode-signature";
/// The header carrying the Unix time the signature covers.
pub const TIMESTAMP_HEADER: &str = "x-seccode-timestamp";

/// Any delivery as a JSON POST to your endpoint, signed so the receiver can
/// check it came from your application.
///
/// Requires the `http` feature.
///
/// The body: `{"purpose", "kind" ("code" or "notice"), "channel" ("email" or
/// "sms"), "to", "subject", "text", "html", "voice", "voice_prompt" (say it,
/// wait for a key, then read `voice`), "voice_name" (a text-to-speech voice),
/// "send_digits" (what a call presses once answered: an extension),
/// "sender" and "sender_name" (a sender asked for this message), "code",
/// "locale"}` (absent parts are `null`). The headers: `x-seccode-timestamp`
/// (Unix seconds) and
/// `x-seccode-signature: v1=<hex>`, the HMAC-SHA256 under the shared secret of
/// `timestamp + "." + body`; a receiver recomputes it ([`Webhook::verify`]),
/// compares in constant time and refuses old timestamps. Status handling is
/// [`TwilioSms`]'s.
///
/// # Examples
///
/// ```
/// use seccode::Webhook;
///
/// let hook = Webhook::new("https://sms-gateway.internal/send", b"a shared secret of 32+ bytes....")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Webhook {
    client: reqwest::Client,
    url: String,
    key: Hmac<Sha256>,
}

impl Webhook {
    /// Posts to `url`, signing with `secret` (at least 32 bytes).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for a URL that is not `http(s)://…` or a secret
    /// shorter than 32 bytes.
    pub fn new(url: impl Into<String>, secret: &[u8]) -> Result<Self, Error> {
        let url = url.into();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(Error::InvalidInput {
                field: "webhook url",
                reason: "expected an http or https URL",
            });
        }
        if secret.len() < 32 {
            return Err(Error::InvalidInput {
                field: "webhook secret",
                reason: "use at least 32 random bytes",
            });
        }
        Ok(Self {
            client: client(Duration::from_secs(10))?,
            url,
            key: keyed(secret),
        })
    }

    /// Checks a request's signature, as a receiver does: `signature` as sent
    /// (`v1=<hex>`), over `timestamp + "." + body`, in constant time.
    pub fn verify(secret: &[u8], timestamp: &str, body: &[u8], signature: &str) -> bool {
        let Some(hex) = signature.strip_prefix("v1=") else {
            return false;
        };
        let Some(tag) = crate::hex::decode(hex) else {
            return false;
        };
        let mut mac = keyed(secret);
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&tag).is_ok()
    }

    fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let mut mac = self.key.clone();
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1={}", crate::hex::encode(&mac.finalize().into_bytes()))
    }
}

fn keyed(secret: &[u8]) -> Hmac<Sha256> {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

impl DeliveryChannel for Webhook {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        let body = Zeroizing::new(
            serde_json::json!({
                "purpose": message.purpose().as_str(),
                "kind": match message.kind() {
                    MessageKind::Code => "code",
                    _ => "notice",
                },
                "channel": match message.to().kind() {
                    ContactKind::Email => "email",
                    // Nothing is sent to an app (the service refuses it first).
                    ContactKind::Phone | ContactKind::App => "sms",
                },
                "to": message.to().expose(),
                "subject": message.subject(),
                "text": message.body(),
                "html": message.html(),
                "voice": message.voice(),
                "voice_prompt": message.voice_prompt(),
                "voice_name": message.voice_name(),
                "send_digits": message.send_digits(),
                "sender": message.sender(),
                "sender_name": message.sender_name(),
                "code": message.code_value().map(|c| c.expose()),
                "locale": message.locale(),
            })
            .to_string(),
        );
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string();
        let signature = self.sign(&timestamp, body.as_bytes());
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signature)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        answer(response).await
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}
