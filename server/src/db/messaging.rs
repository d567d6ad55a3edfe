//! The `verify_messaging_configurations` table: the Messaging Service each
//! country's SMS of a service are sent from.

use super::{Db, DbError, Row};

/// A service's sender for SMS to one country (or, `all`, to any other).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessagingConfiguration {
    /// Its service.
    pub service_sid: String,
    /// The account.
    pub account_sid: String,
    /// ISO 3166-1 alpha-2 (upper case), or `all`.
    pub country: String,
    /// `MG…`: the Messaging Service the SMS go out from.
    pub messaging_service_sid: String,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

fn read_configuration(r: &Row) -> MessagingConfiguration {
    MessagingConfiguration {
        service_sid: r.text("service_sid"),
        account_sid: r.text("account_sid"),
        country: r.text("country"),
        messaging_service_sid: r.text("messaging_service_sid"),
        created: r.int("created"),
        updated: r.int("updated"),
    }
}

/// A `SELECT` of every column [`read_configuration`] reads, with `$rest`.
macro_rules! select_configurations {
    ($rest:literal) => {
        concat!(
            "SELECT service_sid, account_sid, country, messaging_service_sid, created, updated \
             FROM verify_messaging_configurations ",
            $rest
        )
    };
}

impl Db {
    /// Stores a new configuration; `false` if the service has one for its
    /// country already.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn create_messaging_configuration(
        &self,
        c: MessagingConfiguration,
    ) -> Result<bool, DbError> {
        let n = self
            .execute(
                "INSERT INTO verify_messaging_configurations (service_sid, account_sid, country, \
                 messaging_service_sid, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (service_sid, country) DO NOTHING",
                vec![
                    c.service_sid.into(),
                    c.account_sid.into(),
                    c.country.into(),
                    c.messaging_service_sid.into(),
                    c.created.into(),
                    c.updated.into(),
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// Changes a configuration's Messaging Service.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn update_messaging_configuration(
        &self,
        c: &MessagingConfiguration,
    ) -> Result<(), DbError> {
        self.execute(
            "UPDATE verify_messaging_configurations SET messaging_service_sid = ?3, updated = ?4 \
             WHERE service_sid = ?1 AND country = ?2",
            vec![
                c.service_sid.clone().into(),
                c.country.clone().into(),
                c.messaging_service_sid.clone().into(),
                c.updated.into(),
            ],
        )
        .await
        .map(drop)
    }

    /// A service's configurations, oldest first.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn messaging_configurations(
        &self,
        service: &str,
    ) -> Result<Vec<MessagingConfiguration>, DbError> {
        let rows = self
            .query(
                select_configurations!("WHERE service_sid = ?1 ORDER BY created, country"),
                vec![service.into()],
            )
            .await?;
        Ok(rows.iter().map(read_configuration).collect())
    }

    /// The service's configuration for `country` (or `all`).
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn messaging_configuration(
        &self,
        service: &str,
        country: &str,
    ) -> Result<Option<MessagingConfiguration>, DbError> {
        let rows = self
            .query(
                select_configurations!("WHERE service_sid = ?1 AND country = ?2"),
                vec![service.into(), country.into()],
            )
            .await?;
        Ok(rows.first().map(read_configuration))
    }

    /// Deletes a configuration; whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_messaging_configuration(
        &self,
        service: &str,
        country: &str,
    ) -> Result<bool, DbError> {
        let n = self
            .execute(
                "DELETE FROM verify_messaging_configurations WHERE service_sid = ?1 AND country = ?2",
                vec![service.into(), country.into()],
            )
            .await?;
        Ok(n == 1)
    }
}
