//! The `verify_verifications` table: each verification's fixed fields and
//! where it stands.

use super::{Db, DbError, Row};

/// A verification: one seccode challenge, and what the API reports of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// `VE` + the challenge id in hex.
    pub sid: String,
    /// Its service.
    pub service_sid: String,
    /// The account.
    pub account_sid: String,
    /// Where the code goes, as given (E.164 or an email address).
    pub to: String,
    /// The contact's identity (how `To` is matched).
    pub identity: String,
    /// `sms`, `call` or `email`.
    pub channel: String,
    /// Where it stands.
    pub status: VerificationStatus,
    /// Send attempts: (Unix ms, channel, `VL…`).
    pub attempts: Vec<(i64, String, String)>,
    /// The payment its code is bound to (PSD2): amount and payee.
    pub payment: Option<(String, String)>,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

/// Where a verification stands, as Twilio names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerificationStatus {
    /// Waiting for its code.
    Pending,
    /// Its code was checked right (or the API approved it).
    Approved,
    /// Canceled through the API.
    Canceled,
    /// Closed after too many wrong checks.
    MaxAttemptsReached,
    /// Its code expired.
    Expired,
}

impl VerificationStatus {
    /// Twilio's name: `pending`, `approved`, `canceled`,
    /// `max_attempts_reached`, `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::Pending => "pending",
            VerificationStatus::Approved => "approved",
            VerificationStatus::Canceled => "canceled",
            VerificationStatus::MaxAttemptsReached => "max_attempts_reached",
            VerificationStatus::Expired => "expired",
        }
    }

    /// The status named `name`; anything unknown reads as expired (a code
    /// that no longer verifies).
    pub fn parse(name: &str) -> Self {
        match name {
            "pending" => VerificationStatus::Pending,
            "approved" => VerificationStatus::Approved,
            "canceled" => VerificationStatus::Canceled,
            "max_attempts_reached" => VerificationStatus::MaxAttemptsReached,
            _ => VerificationStatus::Expired,
        }
    }
}

/// A challenge's status as the verification's.
impl From<seccode::Status> for VerificationStatus {
    fn from(status: seccode::Status) -> Self {
        match status {
            seccode::Status::Pending => VerificationStatus::Pending,
            seccode::Status::Approved => VerificationStatus::Approved,
            seccode::Status::Canceled => VerificationStatus::Canceled,
            seccode::Status::Locked => VerificationStatus::MaxAttemptsReached,
            _ => VerificationStatus::Expired,
        }
    }
}

impl serde::Serialize for VerificationStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

fn read_verification(r: &Row) -> Verification {
    Verification {
        sid: r.text("sid"),
        service_sid: r.text("service_sid"),
        account_sid: r.text("account_sid"),
        to: r.text("to_text"),
        identity: r.text("identity"),
        channel: r.text("channel"),
        status: VerificationStatus::parse(&r.text("status")),
        attempts: serde_json::from_str(&r.text("attempts")).unwrap_or_default(),
        payment: r.opt_text("amount").zip(r.opt_text("payee")),
        created: r.int("created"),
        updated: r.int("updated"),
    }
}

/// A `SELECT` of every column [`read_verification`] reads, with `$rest` (the
/// `WHERE` and what follows).
macro_rules! select_verifications {
    ($rest:literal) => {
        concat!(
            "SELECT sid, service_sid, account_sid, to_text, identity, channel, status, attempts, \
             created, updated, amount, payee FROM verify_verifications \
             LEFT JOIN verify_payments ON verification_sid = sid ",
            $rest
        )
    };
}

impl Db {
    /// Stores or replaces a verification.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn save_verification(&self, v: Verification) -> Result<(), DbError> {
        let attempts = serde_json::to_string(&v.attempts).unwrap_or_else(|_| "[]".to_owned());
        let payment = v.payment.clone().map(|p| (v.sid.clone(), p));
        self.execute(
            "INSERT INTO verify_verifications (sid, service_sid, account_sid, to_text, identity, \
             channel, status, attempts, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
             ?9, ?10) ON CONFLICT (sid) DO UPDATE SET channel = ?6, status = ?7, attempts = ?8, \
             updated = ?10",
            vec![
                v.sid.into(),
                v.service_sid.into(),
                v.account_sid.into(),
                v.to.into(),
                v.identity.into(),
                v.channel.into(),
                v.status.as_str().into(),
                attempts.into(),
                v.created.into(),
                v.updated.into(),
            ],
        )
        .await?;
        // A payment is fixed with its verification: written once.
        if let Some((sid, (amount, payee))) = payment {
            self.execute(
                "INSERT INTO verify_payments (verification_sid, amount, payee) \
                 VALUES (?1, ?2, ?3) ON CONFLICT (verification_sid) DO NOTHING",
                vec![sid.into(), amount.into(), payee.into()],
            )
            .await?;
        }
        Ok(())
    }

    /// Sets a verification's status and update time, nothing else (another
    /// server may have appended a send attempt meanwhile); whether it exists.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn set_status(
        &self,
        service: &str,
        sid: &str,
        status: VerificationStatus,
        updated: i64,
    ) -> Result<bool, DbError> {
        self.execute(
            "UPDATE verify_verifications SET status = ?3, updated = ?4 \
             WHERE service_sid = ?1 AND sid = ?2",
            vec![
                service.into(),
                sid.into(),
                status.as_str().into(),
                updated.into(),
            ],
        )
        .await
        .map(|n| n > 0)
    }

    /// Moves a pending verification to `status`; whether this call moved it
    /// (of several servers or requests closing it at once, one does: the one
    /// that reports the change to the service's webhooks).
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn close_pending(
        &self,
        service: &str,
        sid: &str,
        status: VerificationStatus,
        updated: i64,
    ) -> Result<bool, DbError> {
        self.execute(
            "UPDATE verify_verifications SET status = ?3, updated = ?4 \
             WHERE service_sid = ?1 AND sid = ?2 AND status = 'pending'",
            vec![
                service.into(),
                sid.into(),
                status.as_str().into(),
                updated.into(),
            ],
        )
        .await
        .map(|n| n == 1)
    }

    /// Up to `limit` verifications still recorded as pending that were
    /// created before `before` (Unix ms), of services whose flags have `bit`
    /// set: those that subscribed to Verify events and whose codes have
    /// expired unreported.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn stale_pending(
        &self,
        before: i64,
        bit: i64,
        limit: i64,
    ) -> Result<Vec<Verification>, DbError> {
        let rows = self
            .query(
                select_verifications!(
                    "WHERE status = 'pending' AND created < ?1 AND service_sid IN \
                     (SELECT sid FROM verify_services WHERE (do_not_share & ?2) <> 0) \
                     ORDER BY created, sid LIMIT ?3"
                ),
                vec![before.into(), bit.into(), limit.into()],
            )
            .await?;
        Ok(rows.iter().map(read_verification).collect())
    }

    /// Records the `Tags` of send attempt `attempt` (a JSON object's text).
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn save_attempt_tags(
        &self,
        verification: &str,
        attempt: &str,
        tags: &str,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO verify_attempt_tags (attempt_sid, verification_sid, tags) \
             VALUES (?1, ?2, ?3) ON CONFLICT (attempt_sid) DO NOTHING",
            vec![attempt.into(), verification.into(), tags.into()],
        )
        .await
        .map(drop)
    }

    /// The `Tags` of a verification's send attempts: attempt SID → JSON
    /// object's text.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn attempt_tags(
        &self,
        verification: &str,
    ) -> Result<std::collections::HashMap<String, String>, DbError> {
        let rows = self
            .query(
                "SELECT attempt_sid, tags FROM verify_attempt_tags WHERE verification_sid = ?1",
                vec![verification.into()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.text("attempt_sid"), r.text("tags")))
            .collect())
    }

    /// A verification of a service, by SID.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn verification(
        &self,
        service: &str,
        sid: &str,
    ) -> Result<Option<Verification>, DbError> {
        let rows = self
            .query(
                select_verifications!("WHERE service_sid = ?1 AND sid = ?2"),
                vec![service.into(), sid.into()],
            )
            .await?;
        Ok(rows.first().map(read_verification))
    }

    /// An account's verifications created in `[from, until)` (Unix ms),
    /// oldest first, of service `service` and with sid `sid` where they are
    /// not empty: what the Attempts resource lists.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn verifications_of(
        &self,
        account: &str,
        service: &str,
        sid: &str,
        from: i64,
        until: i64,
    ) -> Result<Vec<Verification>, DbError> {
        let rows = self
            .query(
                select_verifications!(
                    "WHERE account_sid = ?1 AND (?2 = '' OR service_sid = ?2) \
                     AND (?3 = '' OR sid = ?3) AND created >= ?4 AND created < ?5 \
                     ORDER BY created, sid"
                ),
                vec![
                    account.into(),
                    service.into(),
                    sid.into(),
                    from.into(),
                    until.into(),
                ],
            )
            .await?;
        Ok(rows.iter().map(read_verification).collect())
    }

    /// The account's verification that made send attempt `attempt` (`VL…`).
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn verification_of_attempt(
        &self,
        account: &str,
        attempt: &str,
    ) -> Result<Option<Verification>, DbError> {
        let rows = self
            .query(
                select_verifications!(
                    "WHERE account_sid = ?1 AND attempts LIKE '%\"' || ?2 || '\"%'"
                ),
                vec![account.into(), attempt.into()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(read_verification)
            .find(|v| v.attempts.iter().any(|(_, _, sid)| sid == attempt)))
    }

    /// The newest verification of a service to a contact identity.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn latest_to(
        &self,
        service: &str,
        identity: &str,
    ) -> Result<Option<Verification>, DbError> {
        let rows = self
            .query(
                select_verifications!(
                    "WHERE service_sid = ?1 AND identity = ?2 ORDER BY created DESC, sid DESC LIMIT 1"
                ),
                vec![service.into(), identity.into()],
            )
            .await?;
        Ok(rows.first().map(read_verification))
    }
}
