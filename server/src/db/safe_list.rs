//! The `verify_safe_list` table: an account's safe-listed numbers, which
//! skip the caps on spend that guard against SMS pumping.

use super::{Db, DbError, Row};

/// A safe-listed number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeNumber {
    /// `GN…`.
    pub sid: String,
    /// The account.
    pub account_sid: String,
    /// The number, in E.164.
    pub phone_number: String,
    /// Created, Unix milliseconds.
    pub created: i64,
}

fn read_safe_number(r: &Row) -> SafeNumber {
    SafeNumber {
        sid: r.text("sid"),
        account_sid: r.text("account_sid"),
        phone_number: r.text("phone_number"),
        created: r.int("created"),
    }
}

impl Db {
    /// Adds a number to the account's safe list, or finds it there; the
    /// entry either way.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn add_safe_number(&self, n: SafeNumber) -> Result<SafeNumber, DbError> {
        let (account, number) = (n.account_sid.clone(), n.phone_number.clone());
        self.execute(
            "INSERT INTO verify_safe_list (account_sid, phone_number, sid, created) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_sid, phone_number) DO NOTHING",
            vec![
                n.account_sid.into(),
                n.phone_number.into(),
                n.sid.into(),
                n.created.into(),
            ],
        )
        .await?;
        self.safe_number(&account, &number)
            .await?
            .ok_or_else(|| DbError::Failed("a safe-listed number vanished".to_owned()))
    }

    /// The account's safe-list entry for `number` (E.164).
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn safe_number(
        &self,
        account: &str,
        number: &str,
    ) -> Result<Option<SafeNumber>, DbError> {
        let rows = self
            .query(
                "SELECT sid, account_sid, phone_number, created FROM verify_safe_list \
                 WHERE account_sid = ?1 AND phone_number = ?2",
                vec![account.into(), number.into()],
            )
            .await?;
        Ok(rows.first().map(read_safe_number))
    }

    /// Takes `number` off the account's safe list; whether it was on it.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn remove_safe_number(&self, account: &str, number: &str) -> Result<bool, DbError> {
        let n = self
            .execute(
                "DELETE FROM verify_safe_list WHERE account_sid = ?1 AND phone_number = ?2",
                vec![account.into(), number.into()],
            )
            .await?;
        Ok(n == 1)
    }
}
