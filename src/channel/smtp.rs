//! [`SmtpChannel`]: email over SMTP with `lettre` (Tokio, rustls), feature `smtp`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::channel::{DeliveryChannel, DeliveryError, Message};
use crate::contact::ContactKind;
use crate::error::{BoxError, Error};

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmtpTls {
    /// STARTTLS, required (port 587 by default).
    StartTls,
    /// TLS from the first byte (port 465 by default).
    Implicit,
    /// No TLS: codes cross the network in the clear. Only for a relay on the
    /// same host or a test server.
    DangerPlaintext,
}

/// Builds an [`SmtpChannel`].
#[derive(Clone)]
#[must_use]
pub struct SmtpChannelBuilder {
    host: String,
    port: Option<u16>,
    tls: SmtpTls,
    credentials: Option<(String, String)>,
    from: Option<String>,
    reply_to: Option<String>,
    timeout: Duration,
    pool_size: u32,
}

impl SmtpChannelBuilder {
    /// The port (default: 587 for STARTTLS, 465 for implicit TLS, 25 without TLS).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// How the connection is protected (default: [`SmtpTls::StartTls`]).
    pub fn tls(mut self, tls: SmtpTls) -> Self {
        self.tls = tls;
        self
    }

    /// Logs in with a user name and password (or an API key).
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// The sender, e.g. `Example Security <no-reply@example.com>` (required).
    pub fn from(mut self, mailbox: impl Into<String>) -> Self {
        self.from = Some(mailbox.into());
        self
    }

    /// Where replies go, e.g. a support address.
    pub fn reply_to(mut self, mailbox: impl Into<String>) -> Self {
        self.reply_to = Some(mailbox.into());
        self
    }

    /// How long one SMTP exchange may take (default: 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connections kept open for reuse (default: 4).
    pub fn pool_size(mut self, size: u32) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Checks the settings and makes the channel. Nothing connects yet.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the setting: a missing or malformed `from`,
    /// a malformed `reply_to`, or a host TLS cannot be set up for.
    pub fn build(self) -> Result<SmtpChannel, Error> {
        let invalid = |field, reason| Error::InvalidInput { field, reason };
        let from = Mailbox::from_str(
            self.from
                .as_deref()
                .ok_or_else(|| invalid("smtp from", "a sender is required"))?,
        )
        .map_err(|_| invalid("smtp from", "not a mailbox such as Name <addr@example.com>"))?;
        let reply_to = self
            .reply_to
            .as_deref()
            .map(Mailbox::from_str)
            .transpose()
            .map_err(|_| invalid("smtp reply_to", "not a mailbox"))?;
        let tls_parameters = || {
            TlsParameters::new(self.host.clone())
                .map_err(|_| invalid("smtp host", "TLS cannot be set up for this host"))
        };
        let (tls, default_port) = match self.tls {
            SmtpTls::StartTls => (Tls::Required(tls_parameters()?), 587),
            SmtpTls::Implicit => (Tls::Wrapper(tls_parameters()?), 465),
            SmtpTls::DangerPlaintext => (Tls::None, 25),
        };
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port.unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(self.timeout))
            .pool_config(PoolConfig::new().max_size(self.pool_size));
        if let Some((user, password)) = self.credentials {
            transport = transport.credentials(Credentials::new(user, password));
        }
        Ok(SmtpChannel {
            transport: transport.build(),
            from,
            reply_to,
        })
    }
}

/// Sends email over SMTP: a multipart message with the plain-text and HTML
/// texts of [`Message`] (text only for notices), `From`, optional `Reply-To`,
/// and `Auto-Submitted: auto-generated` (RFC 3834, so auto-responders stay
/// quiet). No tracking pixels or links.
///
/// Requires the `smtp` feature.
///
/// Failures are [`DeliveryError`]s: permanent for a 5xx answer (a refused
/// recipient, say), transient for a 4xx, a timeout or an unreachable server. The
/// reason gives the SMTP status, never the address or the server's text (which
/// often repeats the address).
///
/// # Examples
///
/// ```no_run
/// use seccode::{SmtpChannel, SmtpTls};
///
/// let smtp = SmtpChannel::builder("smtp.example.com")
///     .tls(SmtpTls::StartTls)
///     .credentials("apikey", std::env::var("SMTP_PASSWORD")?)
///     .from("Example Security <no-reply@example.com>")
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
}

impl SmtpChannel {
    /// A builder for the server at `host`.
    pub fn builder(host: impl Into<String>) -> SmtpChannelBuilder {
        SmtpChannelBuilder {
            host: host.into(),
            port: None,
            tls: SmtpTls::StartTls,
            credentials: None,
            from: None,
            reply_to: None,
            timeout: Duration::from_secs(10),
            pool_size: 4,
        }
    }

    fn email(&self, message: &Message) -> Result<lettre::Message, DeliveryError> {
        if message.to().kind() != ContactKind::Email {
            return Err(DeliveryError::permanent(
                "smtp delivers only to email addresses",
            ));
        }
        let to = Address::from_str(message.to().expose()).map_err(|_| {
            DeliveryError::permanent("the address cannot be written in an email header")
        })?;
        // A sender asked for this message (an address, checked when it was
        // composed) in place of the configured one.
        let from = match message.sender().filter(|s| s.contains('@')) {
            Some(address) => Mailbox::new(
                message.sender_name().map(str::to_owned),
                Address::from_str(address).map_err(|_| {
                    DeliveryError::permanent("the sender cannot be written in an email header")
                })?,
            ),
            None => self.from.clone(),
        };
        let mut builder = lettre::Message::builder()
            .from(from)
            .to(Mailbox::new(None, to))
            .subject(message.subject())
            .header(AutoSubmitted);
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let built = match message.html() {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                message.body().to_owned(),
                html.to_owned(),
            )),
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(message.body().to_owned()),
            ),
        };
        built.map_err(|_| DeliveryError::permanent("the email could not be built"))
    }
}

impl DeliveryChannel for SmtpChannel {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        let email = self.email(message)?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) => Err(Box::new(classify(&e))),
        }
    }
}

/// The error with what a retry would do, and no text from the server.
fn classify(e: &lettre::transport::smtp::Error) -> DeliveryError {
    let status = e.status().map(|code| code.to_string());
    match status {
        Some(code) if e.is_permanent() => {
            DeliveryError::permanent(format!("the smtp server refused the message ({code})"))
        }
        Some(code) => {
            DeliveryError::transient(format!("the smtp server deferred the message ({code})"))
        }
        None if e.is_timeout() => DeliveryError::transient("the smtp server timed out"),
        None if e.is_tls() => {
            DeliveryError::transient("the tls handshake with the smtp server failed")
        }
        None => DeliveryError::transient("the smtp server could not be reached"),
    }
}

impl fmt::Debug for SmtpChannelBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpChannelBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SmtpChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpChannel")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834).
#[derive(Clone, Copy)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}
