//! The `verify_webhooks` table (a service's webhooks) and the
//! `verify_webhook_outbox` table (the events waiting to be delivered to
//! them, claimed by one server at a time and retried with backoff).

use super::{Db, DbError, Row, Value};

/// A service's webhook: where its events go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// `YW…`.
    pub sid: String,
    /// Its service.
    pub service_sid: String,
    /// The account (whose auth token signs the deliveries).
    pub account_sid: String,
    /// A name.
    pub friendly_name: String,
    /// The event types it is subscribed to (`*`, `factor.verified`, …).
    pub event_types: Vec<String>,
    /// Where the events are POSTed.
    pub url: String,
    /// Whether events are delivered (`enabled`) or not (`disabled`).
    pub enabled: bool,
    /// `v1` or `v2` (the fields of factor and challenge events).
    pub version: String,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

/// One delivery waiting in the outbox: a signed request's parts, kept until
/// the receiver answers 2xx or the attempts run out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The delivery's id (the event's `uuid`, with the webhook's sid).
    pub id: String,
    /// The webhook it goes to.
    pub webhook_sid: String,
    /// The account whose auth token signs it.
    pub account_sid: String,
    /// The URL it is POSTed to (a JSON body's `bodySHA256` included).
    pub url: String,
    /// `application/x-www-form-urlencoded` or `application/json`.
    pub content_type: String,
    /// The body.
    pub body: String,
    /// Attempts made so far (counting the one it is claimed for).
    pub attempts: u32,
    /// Created, Unix milliseconds.
    pub created: i64,
}

fn read_webhook(r: &Row) -> Webhook {
    Webhook {
        sid: r.text("sid"),
        service_sid: r.text("service_sid"),
        account_sid: r.text("account_sid"),
        friendly_name: r.text("friendly_name"),
        event_types: r
            .text("event_types")
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        url: r.text("url"),
        enabled: r.int("enabled") != 0,
        version: r.text("version"),
        created: r.int("created"),
        updated: r.int("updated"),
    }
}

fn read_delivery(r: &Row) -> Delivery {
    Delivery {
        id: r.text("id"),
        webhook_sid: r.text("webhook_sid"),
        account_sid: r.text("account_sid"),
        url: r.text("url"),
        content_type: r.text("content_type"),
        body: r.text("body"),
        attempts: u32::try_from(r.int("attempts")).unwrap_or(u32::MAX),
        created: r.int("created"),
    }
}

/// A `SELECT` of every column [`read_webhook`] reads, with `$rest`.
macro_rules! select_webhooks {
    ($rest:literal) => {
        concat!(
            "SELECT sid, service_sid, account_sid, friendly_name, event_types, url, enabled, \
             version, created, updated FROM verify_webhooks ",
            $rest
        )
    };
}

impl Db {
    /// Stores or replaces a webhook.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn save_webhook(&self, w: Webhook) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO verify_webhooks (sid, service_sid, account_sid, friendly_name, \
             event_types, url, enabled, version, created, updated) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
             ON CONFLICT (sid) DO UPDATE SET friendly_name = ?4, event_types = ?5, url = ?6, \
             enabled = ?7, version = ?8, updated = ?10",
            vec![
                w.sid.into(),
                w.service_sid.into(),
                w.account_sid.into(),
                w.friendly_name.into(),
                w.event_types.join(",").into(),
                w.url.into(),
                i64::from(w.enabled).into(),
                w.version.into(),
                w.created.into(),
                w.updated.into(),
            ],
        )
        .await
        .map(drop)
    }

    /// A service's webhooks, oldest first.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn webhooks(&self, service: &str) -> Result<Vec<Webhook>, DbError> {
        let rows = self
            .query(
                select_webhooks!("WHERE service_sid = ?1 ORDER BY created, sid"),
                vec![service.into()],
            )
            .await?;
        Ok(rows.iter().map(read_webhook).collect())
    }

    /// A webhook of a service, by SID.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn webhook(&self, service: &str, sid: &str) -> Result<Option<Webhook>, DbError> {
        let rows = self
            .query(
                select_webhooks!("WHERE service_sid = ?1 AND sid = ?2"),
                vec![service.into(), sid.into()],
            )
            .await?;
        Ok(rows.first().map(read_webhook))
    }

    /// Deletes a webhook and what waits to be delivered to it; whether it
    /// existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_webhook(&self, service: &str, sid: &str) -> Result<bool, DbError> {
        let n = self
            .execute(
                "DELETE FROM verify_webhooks WHERE service_sid = ?1 AND sid = ?2",
                vec![service.into(), sid.into()],
            )
            .await?;
        Ok(n == 1)
    }

    /// Puts deliveries in the outbox, due at once.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn enqueue(&self, deliveries: Vec<Delivery>, now: i64) -> Result<(), DbError> {
        for d in deliveries {
            self.execute(
                "INSERT INTO verify_webhook_outbox (id, webhook_sid, account_sid, url, \
                 content_type, body, attempts, due, created) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?7) ON CONFLICT (id) DO NOTHING",
                vec![
                    d.id.into(),
                    d.webhook_sid.into(),
                    d.account_sid.into(),
                    d.url.into(),
                    d.content_type.into(),
                    d.body.into(),
                    now.into(),
                ],
            )
            .await?;
        }
        Ok(())
    }

    /// Claims up to `limit` deliveries that are due: each is taken by one
    /// conditional update (its `due` moved past `lease_ms` and its attempts
    /// counted), so that of several servers polling the same outbox one
    /// delivers it; a server that dies holding one leaves it due again once
    /// the lease is over.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn claim_due(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>, DbError> {
        let due = self
            .query(
                "SELECT id, due FROM verify_webhook_outbox WHERE due <= ?1 ORDER BY due, id \
                 LIMIT ?2",
                vec![now.into(), limit.into()],
            )
            .await?;
        let mut claimed = Vec::new();
        for row in &due {
            let (id, was) = (row.text("id"), row.int("due"));
            let taken = self
                .execute(
                    "UPDATE verify_webhook_outbox SET due = ?3, attempts = attempts + 1 \
                     WHERE id = ?1 AND due = ?2",
                    vec![id.clone().into(), was.into(), (now + lease_ms).into()],
                )
                .await?;
            if taken == 1 {
                let rows = self
                    .query(
                        "SELECT id, webhook_sid, account_sid, url, content_type, body, attempts, \
                         created FROM verify_webhook_outbox WHERE id = ?1",
                        vec![id.into()],
                    )
                    .await?;
                claimed.extend(rows.first().map(read_delivery));
            }
        }
        Ok(claimed)
    }

    /// Takes a delivery out of the outbox (delivered, or given up on).
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delivered(&self, id: &str) -> Result<(), DbError> {
        self.execute(
            "DELETE FROM verify_webhook_outbox WHERE id = ?1",
            vec![id.into()],
        )
        .await
        .map(drop)
    }

    /// Schedules a failed delivery's next attempt at `due`.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn retry_at(&self, id: &str, due: i64) -> Result<(), DbError> {
        self.execute(
            "UPDATE verify_webhook_outbox SET due = ?2 WHERE id = ?1",
            vec![id.into(), Value::Int(due)],
        )
        .await
        .map(drop)
    }

    /// How many deliveries wait in the outbox.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn outbox_len(&self) -> Result<i64, DbError> {
        let rows = self
            .query(
                "SELECT COUNT(*) AS n FROM verify_webhook_outbox",
                Vec::new(),
            )
            .await?;
        Ok(rows.first().map_or(0, |r| r.int("n")))
    }
}
