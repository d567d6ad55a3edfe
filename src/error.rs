//! The crate's one error type, [`Error`], and the narrower errors it wraps.
//!
//! A wrong code is not an error: it is a [`Verification`](crate::Verification)
//! outcome. Errors are faults and refusals. No message contains a code, a key or an
//! unmasked contact.

use std::fmt;
use std::time::Duration;

use crate::clock::Timestamp;
use crate::ids::{IdError, Status};

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed foreign error: the source of [`Error::Store`] and [`Error::Delivery`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong, except a wrong code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An email address or phone number could not be parsed.
    #[error("invalid contact: {0}")]
    InvalidContact(#[from] ContactError),
    /// A policy or configuration was refused as insecure or impossible.
    #[error("invalid policy: {0}")]
    InvalidPolicy(#[from] PolicyError),
    /// Some other argument is malformed.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The argument.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A limit refused the request; try again after `retry_after`.
    #[error("{limit}; retry after {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// Which limit.
        limit: RateLimit,
        /// How long until the same request can succeed.
        retry_after: Duration,
    },
    /// This challenge has sent all the codes it may; start a new one.
    #[error("no more codes can be sent for this challenge")]
    SendLimitReached,
    /// No challenge has this id (never issued, or expired and swept).
    #[error("challenge not found")]
    ChallengeNotFound,
    /// The challenge cannot do this in its current state.
    #[error("challenge is {0}")]
    ChallengeNotPending(Status),
    /// The challenge was issued under a key the keyring no longer holds.
    #[error("key {0} is not in the keyring")]
    UnknownKey(u32),
    /// No account has this id.
    #[error("account not found")]
    AccountNotFound,
    /// An account with this id already exists.
    #[error("account already exists")]
    AccountExists,
    /// The account already has this contact as verified security info.
    #[error("this contact is already part of the account's security info")]
    DuplicateContact,
    /// The account has as many security info entries as allowed.
    #[error("the account has the most security info entries allowed")]
    TooManyContacts,
    /// The contact was proven, but it is verified security info of another
    /// account. Reported only after the code was entered, i.e. to someone who
    /// controls the contact.
    #[error("this contact is in use by another account")]
    ContactInUse,
    /// Removing this would leave the account without verified security info.
    #[error("the last verified contact cannot be removed")]
    LastContact,
    /// The application requires a phone number and this is the last verified
    /// one: add the new number first.
    #[error("the last verified phone number cannot be removed; add the new number first")]
    LastPhone,
    /// No security info entry has this id, or it is not usable for this step.
    #[error("no such security info")]
    UnknownSecurityInfo,
    /// The full address or last four digits did not match. Counts as a failed
    /// attempt on the account.
    #[error("that doesn't match the security info on file")]
    ContactProofFailed,
    /// All security info was replaced after a recovery; sensitive operations wait
    /// until the hold ends or an original contact is proven.
    #[error("security info changes are on hold until {until}")]
    OnHold {
        /// When the hold ends.
        until: Timestamp,
    },
    /// A proof was for another account or purpose, or is too old for this step.
    #[error("the proof does not allow this operation")]
    ProofMismatch,
    /// A recovery token is malformed, forged or expired.
    #[error("invalid or expired recovery token")]
    InvalidToken,
    /// A ticket is unknown, used or expired.
    #[error("invalid, used or expired ticket")]
    InvalidTicket,
    /// A recovery code is not the account's — or there is no such account, or
    /// it has no recovery code: the answer is the same (see
    /// [`AccountSecurity::recover_with_code`](crate::AccountSecurity::recover_with_code)).
    #[error("the recovery code is not correct")]
    WrongRecoveryCode,
    /// A code from an authenticator app is not one of its current codes, or
    /// was already used.
    #[error("the code from the authenticator app is not correct")]
    WrongAppCode,
    /// The delivery channel failed to send a message.
    #[error("delivery failed")]
    Delivery(#[source] BoxError),
    /// The store failed or is unreachable.
    #[error("store failed")]
    Store(#[source] BoxError),
}

/// How a web layer should answer an [`Error`] (see [`Error::class`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorClass {
    /// A stable snake-case name, for a JSON body or a metric label.
    pub kind: &'static str,
    /// The HTTP status to answer.
    pub http_status: u16,
    /// Whether the request caused it (fix the input, wait, start again)
    /// rather than the system.
    pub users_fault: bool,
    /// Whether the same request may succeed later (after `Retry-After`, a
    /// hold, or the store's return).
    pub retryable: bool,
}

/// What an [`Error`] tells a client: for a JSON answer (feature `serde`) or a
/// page, as [`VerificationView`](crate::VerificationView) is for outcomes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct ErrorView {
    /// [`ErrorClass::kind`].
    pub kind: String,
    /// The error's message (lower case, no code, key or address).
    pub message: String,
    /// Seconds until the same request may succeed, for a limit.
    pub retry_after_secs: Option<u64>,
}

/// What went wrong with a store, as far as an operator needs to know: the
/// backend, the kind of fault, and a short detail that holds no data (an error
/// class or code, never a key, a value or an address).
///
/// The real stores put one behind [`Error::Store`]; read it with
/// [`Error::store_failure`].
///
/// # Examples
///
/// ```
/// use seccode::{Error, StoreFailure, StoreFault};
///
/// let e = Error::store(StoreFailure::new("redis", StoreFault::Unreachable, "connection refused"));
/// let failure = e.store_failure().expect("a classified store failure");
/// assert_eq!((failure.backend(), failure.fault()), ("redis", StoreFault::Unreachable));
/// assert_eq!(failure.to_string(), "redis unreachable (connection refused)");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{backend} {fault} ({detail})")]
pub struct StoreFailure {
    backend: &'static str,
    fault: StoreFault,
    detail: String,
}

impl StoreFailure {
    /// A failure of `backend` (`"redis"`, `"postgres"`, `"sqlite"`…); `detail`
    /// must hold no data, only what kind of error it was.
    pub fn new(backend: &'static str, fault: StoreFault, detail: impl Into<String>) -> Self {
        Self {
            backend,
            fault,
            detail: detail.into(),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The kind of fault.
    pub fn fault(&self) -> StoreFault {
        self.fault
    }

    /// Whether the store is down or out of reach (rather than refusing this one
    /// request): answer "unavailable, retry", not "internal error".
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self.fault,
            StoreFault::Unreachable | StoreFault::TimedOut | StoreFault::PoolExhausted
        )
    }
}

/// The kind of a [`StoreFailure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreFault {
    /// The connection was refused, reset or closed: the store is down or out of
    /// reach.
    Unreachable,
    /// The store did not answer in time (connecting or answering).
    TimedOut,
    /// Every pooled connection stayed busy for the pool's whole wait.
    PoolExhausted,
    /// The store answered with an error.
    Other,
}

impl fmt::Display for StoreFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreFault::Unreachable => "unreachable",
            StoreFault::TimedOut => "timed out",
            StoreFault::PoolExhausted => "pool exhausted",
            StoreFault::Other => "error",
        })
    }
}

impl From<IdError> for Error {
    fn from(e: IdError) -> Self {
        Error::InvalidInput {
            field: e.field(),
            reason: e.reason(),
        }
    }
}

impl Error {
    /// Wraps a store backend's error.
    pub fn store(source: impl Into<BoxError>) -> Self {
        Error::Store(source.into())
    }

    /// Wraps a delivery channel's error.
    pub fn delivery(source: impl Into<BoxError>) -> Self {
        Error::Delivery(source.into())
    }

    /// How a web layer should answer this error: a stable machine-readable
    /// kind (what a JSON body carries), the HTTP status, whether the person's
    /// request caused it, and whether the same request may succeed later.
    ///
    /// | kind | status | the person's? | retry? |
    /// |---|---|---|---|
    /// | `invalid_contact`, `invalid_input`, `invalid_token`, `invalid_ticket` | 400 | yes | no |
    /// | `contact_proof_failed`, `proof_mismatch` | 403 | yes | no |
    /// | `challenge_not_found`, `account_not_found`, `unknown_security_info` | 404 | yes | no |
    /// | `challenge_not_pending`, `account_exists`, `duplicate_contact`, `too_many_contacts`, `contact_in_use`, `last_contact`, `last_phone` | 409 | yes | no |
    /// | `on_hold` | 423 | yes | after the hold |
    /// | `rate_limited` | 429 | yes | after `retry_after` |
    /// | `send_limit_reached` | 429 | yes | no: start a new challenge |
    /// | `invalid_policy`, `unknown_key` | 500 | no | no |
    /// | `store_failed` | 503 if the store is out of reach, else 500 | no | if out of reach |
    /// | `delivery_failed` | 503 | no | yes |
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use seccode::{Error, RateLimit};
    ///
    /// let e = Error::RateLimited { limit: RateLimit::DestinationSends, retry_after: Duration::from_secs(30) };
    /// let class = e.class();
    /// assert_eq!((class.kind, class.http_status), ("rate_limited", 429));
    /// assert!(class.users_fault && class.retryable);
    /// assert_eq!(Error::ProofMismatch.class().http_status, 403);
    /// ```
    pub fn class(&self) -> ErrorClass {
        let (kind, http_status, users_fault, retryable) = match self {
            Error::InvalidContact(_) => ("invalid_contact", 400, true, false),
            Error::InvalidPolicy(_) => ("invalid_policy", 500, false, false),
            Error::InvalidInput { .. } => ("invalid_input", 400, true, false),
            Error::RateLimited { .. } => ("rate_limited", 429, true, true),
            Error::SendLimitReached => ("send_limit_reached", 429, true, false),
            Error::ChallengeNotFound => ("challenge_not_found", 404, true, false),
            Error::ChallengeNotPending(_) => ("challenge_not_pending", 409, true, false),
            Error::UnknownKey(_) => ("unknown_key", 500, false, false),
            Error::AccountNotFound => ("account_not_found", 404, true, false),
            Error::AccountExists => ("account_exists", 409, true, false),
            Error::DuplicateContact => ("duplicate_contact", 409, true, false),
            Error::TooManyContacts => ("too_many_contacts", 409, true, false),
            Error::ContactInUse => ("contact_in_use", 409, true, false),
            Error::LastContact => ("last_contact", 409, true, false),
            Error::LastPhone => ("last_phone", 409, true, false),
            Error::UnknownSecurityInfo => ("unknown_security_info", 404, true, false),
            Error::ContactProofFailed => ("contact_proof_failed", 403, true, false),
            Error::OnHold { .. } => ("on_hold", 423, true, true),
            Error::ProofMismatch => ("proof_mismatch", 403, true, false),
            Error::InvalidToken => ("invalid_token", 400, true, false),
            Error::InvalidTicket => ("invalid_ticket", 400, true, false),
            Error::WrongRecoveryCode => ("wrong_recovery_code", 400, true, false),
            Error::WrongAppCode => ("wrong_app_code", 400, true, false),
            Error::Delivery(_) => ("delivery_failed", 503, false, true),
            Error::Store(_) => match self.store_failure() {
                Some(f) if f.is_unavailable() => ("store_failed", 503, false, true),
                _ => ("store_failed", 500, false, false),
            },
        };
        ErrorClass {
            kind,
            http_status,
            users_fault,
            retryable,
        }
    }

    /// What this error tells a client, for a JSON body (with `serde`) or a
    /// page: its [`ErrorClass::kind`], its message (which never holds a code,
    /// a key or an address) and, for a limit, when to retry.
    pub fn view(&self) -> ErrorView {
        ErrorView {
            kind: self.class().kind.to_owned(),
            // A store's or channel's source stays in the logs: the message is
            // the error's own (`store failed`, `delivery failed`).
            message: self.to_string(),
            retry_after_secs: self.retry_after().map(|d| d.as_secs().max(1)),
        }
    }

    /// The classified store failure behind an [`Error::Store`], if the store
    /// gave one (the real stores do).
    pub fn store_failure(&self) -> Option<&StoreFailure> {
        match self {
            Error::Store(source) => source.downcast_ref::<StoreFailure>(),
            _ => None,
        }
    }

    /// How long to wait before retrying, for [`Error::RateLimited`].
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
}

/// The limit behind an [`Error::RateLimited`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateLimit {
    /// The cooldown between two sends of one challenge.
    ResendCooldown,
    /// Codes sent to one destination within the window.
    DestinationSends,
    /// Consecutive failed verifications of one account (signed-in checks).
    AccountFailures,
    /// Consecutive failed recovery attempts: codes of one account's recoveries,
    /// or confirmations of one identifier. The same words whether or not an
    /// account has the identifier.
    RecoveryFailures,
    /// Codes sent for one account within the window.
    AccountSends,
    /// SMS and calls to one country calling code within the window.
    CallingCodeSends,
    /// Codes sent by the whole service within the window.
    GlobalSends,
    /// Recovery codes asked for by one requester (client) within the window.
    RequesterSends,
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RateLimit::ResendCooldown => "a code was sent moments ago",
            RateLimit::DestinationSends => "too many codes were sent to this destination",
            RateLimit::AccountFailures => "too many failed attempts on this account",
            RateLimit::RecoveryFailures => "too many failed attempts",
            RateLimit::AccountSends => "too many codes were sent for this account",
            RateLimit::CallingCodeSends => "too many codes were sent to this country",
            RateLimit::GlobalSends => "too many codes are being sent; try again later",
            RateLimit::RequesterSends => "too many codes were asked for from here",
        })
    }
}

/// Why a string is not an acceptable email address or phone number. Messages say
/// what to fix and never repeat the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContactError {
    /// Nothing was given.
    #[error("enter an email address or a phone number")]
    Empty,
    /// Longer than any real address (254 bytes, RFC 5321) or number.
    #[error("that is too long for an email address or a phone number")]
    TooLong,
    /// Neither an email address (no `@`) nor a phone number (not only digits and
    /// separators).
    #[error("not an email address or a phone number")]
    NotAContact,
    /// Not an email address that can receive mail.
    #[error("not a valid email address")]
    InvalidEmail,
    /// The part after `@` is not a valid domain name (IDNA, UTS 46).
    #[error("the part after @ is not a valid domain name")]
    InvalidDomain,
    /// A control, zero-width, bidi, private-use or other invisible character.
    #[error("the address contains an invisible or control character")]
    InvisibleCharacter,
    /// A space inside an email address (`john doe@…`, `"john doe"@…`,
    /// `john@exa mple.com`): quoted local parts are refused on purpose, as
    /// every mail provider people use does.
    #[error("an email address cannot contain spaces")]
    SpaceInEmail,
    /// A name with the address (`John Doe <john@example.com>`).
    #[error("enter the email address alone, without a name or angle brackets")]
    NameWithEmail,
    /// No `+` (or `00`) and country code, and no default region to read the number in.
    #[error("phone numbers need a country code such as +44")]
    MissingCountryCode,
    /// A `+` number whose country calling code is not assigned.
    #[error("that country code does not exist")]
    UnknownCountryCode,
    /// The region given to read national numbers in is not an ISO 3166 code
    /// libphonenumber knows.
    #[error("unknown region; use a two-letter country code such as GB")]
    UnknownRegion,
    /// The digits cannot be a phone number of that country (libphonenumber's
    /// metadata): too short, too long or in no assigned range.
    #[error("not a valid phone number for its country")]
    InvalidPhone,
    /// A character other than a digit, a leading `+` or a separator.
    #[error("a phone number may only contain digits, spaces, dashes, dots and parentheses")]
    PhoneCharacter,
}

/// Why a [`Policy`](crate::Policy) or [`Limits`](crate::Limits) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Codes have 4 to 10 symbols.
    #[error("code length must be between 4 and 10")]
    CodeLength,
    /// Below 10⁶ combinations (≈ 20 bits, NIST SP 800-63B, OWASP ASVS 2.7.6) without
    /// `danger_allow_short_codes`.
    #[error("codes below 20 bits of entropy (6 digits) need danger_allow_short_codes")]
    ShortCode,
    /// One challenge's guesses would succeed with probability above 10⁻⁴.
    #[error(
        "a challenge could be guessed with probability above 1e-4; use a longer code or fewer attempts"
    )]
    GuessBound,
    /// Attempts per challenge must be 1 to 10.
    #[error("max attempts must be between 1 and 10")]
    MaxAttempts,
    /// Sends per challenge must be 1 to 10.
    #[error("max sends must be between 1 and 10")]
    MaxSends,
    /// Codes live 1 minute to 24 hours (NIST SP 800-63B rev. 4: email recovery ≤ 24 h).
    #[error("code lifetime must be between 1 minute and 24 hours")]
    Lifetime,
    /// The resend cooldown must be shorter than the lifetime.
    #[error("resend cooldown must be shorter than the code lifetime")]
    Cooldown,
    /// The per-account consecutive-failure cap is 1 to 100 (NIST SP 800-63B §5.2.2).
    #[error("account failure cap must be between 1 and 100")]
    AccountFailureCap,
    /// A window or lockout must be between 1 second and 30 days.
    #[error("limit windows must be between 1 second and 30 days")]
    Window,
    /// Every send cap must be at least 1.
    #[error("send caps must be at least 1")]
    DestinationSends,
    /// The owner's reserve is 0 to 1 000 percent of the caps.
    #[error("owner reserve must be between 0 and 1000 percent")]
    OwnerReserve,
    /// An authenticator code has 6 to 8 digits.
    #[error("an authenticator code has 6 to 8 digits")]
    TotpDigits,
    /// An authenticator's time step is 1 to 300 seconds.
    #[error("an authenticator's time step is 1 to 300 seconds")]
    TotpPeriod,
    /// At most 2 time steps either side of the current one are accepted.
    #[error("at most 2 time steps either side may be accepted")]
    TotpSkew,
    /// An authenticator secret is base32 of at least 128 bits (RFC 4226 §4).
    #[error("an authenticator secret is base32 of at least 128 bits")]
    TotpSecret,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_kind_and_a_status_a_web_layer_can_answer() {
        let unavailable = Error::store(StoreFailure::new("redis", StoreFault::Unreachable, "x"));
        let broken = Error::store(StoreFailure::new("postgres", StoreFault::Other, "x"));
        let cases: Vec<(Error, &str, u16, bool)> = vec![
            (
                ContactError::InvalidEmail.into(),
                "invalid_contact",
                400,
                false,
            ),
            (Error::ProofMismatch, "proof_mismatch", 403, false),
            (
                Error::ContactProofFailed,
                "contact_proof_failed",
                403,
                false,
            ),
            (Error::ChallengeNotFound, "challenge_not_found", 404, false),
            (Error::DuplicateContact, "duplicate_contact", 409, false),
            (
                Error::OnHold {
                    until: Timestamp::from_unix_millis(0),
                },
                "on_hold",
                423,
                true,
            ),
            (Error::SendLimitReached, "send_limit_reached", 429, false),
            (unavailable, "store_failed", 503, true),
            (broken, "store_failed", 500, false),
            (
                Error::delivery("smtp said no"),
                "delivery_failed",
                503,
                true,
            ),
            (PolicyError::GuessBound.into(), "invalid_policy", 500, false),
        ];
        for (e, kind, status, retryable) in cases {
            let class = e.class();
            assert_eq!(
                (class.kind, class.http_status, class.retryable),
                (kind, status, retryable),
                "{e:?}"
            );
            assert_eq!(class.users_fault, status < 500, "{e:?}");
            let view = e.view();
            assert_eq!(view.kind, kind);
            assert!(
                !view.message.contains("smtp said no"),
                "sources stay in logs"
            );
        }
        let limited = Error::RateLimited {
            limit: RateLimit::DestinationSends,
            retry_after: Duration::from_millis(1_500),
        };
        assert_eq!(limited.view().retry_after_secs, Some(1));
    }

    #[test]
    fn messages_are_lowercase_without_trailing_period() {
        let errors: Vec<Error> = vec![
            ContactError::InvalidEmail.into(),
            PolicyError::GuessBound.into(),
            Error::RateLimited {
                limit: RateLimit::DestinationSends,
                retry_after: Duration::from_secs(30),
            },
            Error::ChallengeNotFound,
            Error::SendLimitReached,
            Error::delivery("smtp said no"),
            Error::store("disk full"),
        ];
        for e in errors {
            let text = e.to_string();
            let first = text.chars().next().unwrap();
            assert!(first.is_lowercase(), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn rate_limited_reports_retry_after() {
        let e = Error::RateLimited {
            limit: RateLimit::ResendCooldown,
            retry_after: Duration::from_secs(12),
        };
        assert_eq!(e.retry_after(), Some(Duration::from_secs(12)));
        assert!(e.to_string().contains("retry after 12 s"));
        assert_eq!(Error::ChallengeNotFound.retry_after(), None);
    }
}
