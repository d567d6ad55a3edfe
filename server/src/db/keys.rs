//! API keys: created with `seccode-server key create`, stored as the SHA-256 of
//! their secret.

use super::{Db, DbError, Value};

impl Db {
    /// Creates an API key for `account`: its SID (`SK…`) and its secret, which
    /// is shown once and stored only as its SHA-256.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn create_key(
        &self,
        account: &str,
        name: &str,
        now: i64,
    ) -> Result<(String, String), DbError> {
        use sha2::Digest;
        let mut raw = [0u8; 32];
        rand::fill(&mut raw);
        let sid = format!("SK{}", crate::config::hex(&raw[..16]));
        let secret = crate::config::hex(&raw[16..]);
        let digest = sha2::Sha256::digest(secret.as_bytes()).to_vec();
        self.execute(
            "INSERT INTO verify_api_keys (sid, account_sid, friendly_name, secret_sha256, created) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            vec![
                sid.clone().into(),
                account.into(),
                name.into(),
                Value::Bytes(digest),
                now.into(),
            ],
        )
        .await?;
        Ok((sid, secret))
    }

    /// Deletes an API key; whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn revoke_key(&self, sid: &str) -> Result<bool, DbError> {
        self.execute(
            "DELETE FROM verify_api_keys WHERE sid = ?1",
            vec![sid.into()],
        )
        .await
        .map(|n| n > 0)
    }

    /// An API key's account and secret digest.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn api_key(&self, sid: &str) -> Result<Option<(String, [u8; 32])>, DbError> {
        let rows = self
            .query(
                "SELECT account_sid, secret_sha256 FROM verify_api_keys WHERE sid = ?1",
                vec![sid.into()],
            )
            .await?;
        Ok(rows.first().and_then(|r| {
            Some((
                r.text("account_sid"),
                r.bytes("secret_sha256").try_into().ok()?,
            ))
        }))
    }
}
