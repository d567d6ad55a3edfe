//! The `verify_services` table: Verify services.

use super::{Db, DbError, Row};

/// A Verify service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// `VA…`.
    pub sid: String,
    /// The owning account, `AC…`.
    pub account_sid: String,
    /// Its name (shown in messages).
    pub friendly_name: String,
    /// Digits per code, 4–10.
    pub code_length: u8,
    /// Whether SMS bodies carry a "do not share" warning (stored and echoed).
    pub do_not_share_warning_enabled: bool,
    /// Whether verifications report the number's line type (`lookup`).
    pub lookup_enabled: bool,
    /// Whether SMS to a fixed line is refused (60205); needs `lookup_enabled`.
    pub skip_sms_to_landlines: bool,
    /// Whether verifications are bound to a payment (PSD2: `Amount`, `Payee`).
    pub psd2_enabled: bool,
    /// Whether a call reads the code only after a key press.
    pub dtmf_input_required: bool,
    /// Whether its verifications' status changes are sent to its webhooks
    /// subscribed to them (Verify events).
    pub verify_events: bool,
    /// The text-to-speech voice calls are read in.
    pub tts_name: Option<String>,
    /// The message template its SMS verifications use unless one names
    /// another (`HJ…`, one of the server's `[[templates]]`).
    pub default_template_sid: Option<String>,
    /// The Messaging Service (`MG…`) its WhatsApp codes go out from.
    pub whatsapp_msg_service_sid: Option<String>,
    /// The WhatsApp sender number (E.164) its WhatsApp codes go out from
    /// (over `whatsapp_msg_service_sid`).
    pub whatsapp_from: Option<String>,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

/// The service's switches, kept as bits of the `do_not_share` column (its
/// first and, before lookups, only one): no migration, and a row written
/// before reads as it did.
const DO_NOT_SHARE: i64 = 1;
const LOOKUP: i64 = 2;
const SKIP_LANDLINES: i64 = 4;
const PSD2: i64 = 8;
const DTMF: i64 = 16;
/// The bit of `VerifyEventSubscriptionEnabled`.
pub const VERIFY_EVENTS: i64 = 32;

fn flags(s: &Service) -> i64 {
    [
        (s.do_not_share_warning_enabled, DO_NOT_SHARE),
        (s.lookup_enabled, LOOKUP),
        (s.skip_sms_to_landlines, SKIP_LANDLINES),
        (s.psd2_enabled, PSD2),
        (s.dtmf_input_required, DTMF),
        (s.verify_events, VERIFY_EVENTS),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, bit)| bit)
    .sum()
}

fn read_service(r: &Row) -> Service {
    let flags = r.int("do_not_share");
    Service {
        sid: r.text("sid"),
        account_sid: r.text("account_sid"),
        friendly_name: r.text("friendly_name"),
        code_length: u8::try_from(r.int("code_length")).unwrap_or(6),
        do_not_share_warning_enabled: flags & DO_NOT_SHARE != 0,
        lookup_enabled: flags & LOOKUP != 0,
        skip_sms_to_landlines: flags & SKIP_LANDLINES != 0,
        psd2_enabled: flags & PSD2 != 0,
        dtmf_input_required: flags & DTMF != 0,
        verify_events: flags & VERIFY_EVENTS != 0,
        tts_name: r.opt_text("tts_name"),
        default_template_sid: r.opt_text("template_sid"),
        whatsapp_msg_service_sid: r.opt_text("msg_service_sid"),
        whatsapp_from: r.opt_text("from_number"),
        created: r.int("created"),
        updated: r.int("updated"),
    }
}

/// A `SELECT` of every column [`read_service`] reads, with `$rest` (the
/// `WHERE` and what follows).
macro_rules! select_services {
    ($rest:literal) => {
        concat!(
            "SELECT sid, account_sid, friendly_name, code_length, do_not_share, created, \
             updated, tts_name, template_sid, msg_service_sid, from_number FROM verify_services \
             LEFT JOIN verify_service_voices v ON v.service_sid = sid \
             LEFT JOIN verify_service_templates t ON t.service_sid = sid \
             LEFT JOIN verify_service_whatsapp w ON w.service_sid = sid ",
            $rest
        )
    };
}

impl Db {
    /// Stores a new service.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn insert_service(&self, s: Service) -> Result<(), DbError> {
        let flags = flags(&s);
        let voice = (s.sid.clone(), s.tts_name.clone());
        let template = s.default_template_sid.clone();
        let whatsapp = (s.whatsapp_msg_service_sid.clone(), s.whatsapp_from.clone());
        self.execute(
            "INSERT INTO verify_services (sid, account_sid, friendly_name, code_length, \
             do_not_share, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            vec![
                s.sid.into(),
                s.account_sid.into(),
                s.friendly_name.into(),
                i64::from(s.code_length).into(),
                flags.into(),
                s.created.into(),
                s.updated.into(),
            ],
        )
        .await?;
        self.set_tts_name(&voice.0, voice.1).await?;
        self.set_default_template(&voice.0, template).await?;
        self.set_whatsapp(&voice.0, whatsapp).await
    }

    /// Keeps a service's text-to-speech voice (none: the row goes).
    async fn set_tts_name(&self, sid: &str, name: Option<String>) -> Result<(), DbError> {
        match name {
            Some(name) => self
                .execute(
                    "INSERT INTO verify_service_voices (service_sid, tts_name) VALUES (?1, ?2) \
                     ON CONFLICT (service_sid) DO UPDATE SET tts_name = ?2",
                    vec![sid.into(), name.into()],
                )
                .await
                .map(drop),
            None => self
                .execute(
                    "DELETE FROM verify_service_voices WHERE service_sid = ?1",
                    vec![sid.into()],
                )
                .await
                .map(drop),
        }
    }

    /// Keeps a service's default template (none: the row goes).
    async fn set_default_template(
        &self,
        sid: &str,
        template: Option<String>,
    ) -> Result<(), DbError> {
        match template {
            Some(template) => self
                .execute(
                    "INSERT INTO verify_service_templates (service_sid, template_sid) \
                     VALUES (?1, ?2) ON CONFLICT (service_sid) DO UPDATE SET template_sid = ?2",
                    vec![sid.into(), template.into()],
                )
                .await
                .map(drop),
            None => self
                .execute(
                    "DELETE FROM verify_service_templates WHERE service_sid = ?1",
                    vec![sid.into()],
                )
                .await
                .map(drop),
        }
    }

    /// Keeps a service's WhatsApp senders (none: the row goes).
    async fn set_whatsapp(
        &self,
        sid: &str,
        (service, from): (Option<String>, Option<String>),
    ) -> Result<(), DbError> {
        if service.is_none() && from.is_none() {
            return self
                .execute(
                    "DELETE FROM verify_service_whatsapp WHERE service_sid = ?1",
                    vec![sid.into()],
                )
                .await
                .map(drop);
        }
        self.execute(
            "INSERT INTO verify_service_whatsapp (service_sid, msg_service_sid, from_number) \
             VALUES (?1, ?2, ?3) ON CONFLICT (service_sid) DO UPDATE \
             SET msg_service_sid = ?2, from_number = ?3",
            vec![sid.into(), service.into(), from.into()],
        )
        .await
        .map(drop)
    }

    /// Replaces a service's settings.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn update_service(&self, s: Service) -> Result<(), DbError> {
        let flags = flags(&s);
        let voice = (s.sid.clone(), s.tts_name.clone());
        let template = s.default_template_sid.clone();
        let whatsapp = (s.whatsapp_msg_service_sid.clone(), s.whatsapp_from.clone());
        self.execute(
            "UPDATE verify_services SET friendly_name = ?2, code_length = ?3, \
             do_not_share = ?4, updated = ?5 WHERE sid = ?1",
            vec![
                s.sid.into(),
                s.friendly_name.into(),
                i64::from(s.code_length).into(),
                flags.into(),
                s.updated.into(),
            ],
        )
        .await?;
        self.set_tts_name(&voice.0, voice.1).await?;
        self.set_default_template(&voice.0, template).await?;
        self.set_whatsapp(&voice.0, whatsapp).await
    }

    /// A service of `account`.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn service(&self, account: &str, sid: &str) -> Result<Option<Service>, DbError> {
        let rows = self
            .query(
                select_services!("WHERE sid = ?1 AND account_sid = ?2"),
                vec![sid.into(), account.into()],
            )
            .await?;
        Ok(rows.first().map(read_service))
    }

    /// One page of `account`'s services, oldest first, and whether more follow.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn services(
        &self,
        account: &str,
        page: u32,
        size: u32,
        after: Option<(i64, String)>,
    ) -> Result<(Vec<Service>, bool), DbError> {
        let rows = match after {
            // A cursor: the services after the page before's last one.
            Some((created, sid)) => {
                self.query(
                    select_services!(
                        "WHERE account_sid = ?1 AND (created > ?3 OR (created = ?3 AND sid > ?4)) \
                         ORDER BY created, sid LIMIT ?2"
                    ),
                    vec![
                        account.into(),
                        (i64::from(size) + 1).into(),
                        created.into(),
                        sid.into(),
                    ],
                )
                .await?
            }
            None => {
                self.query(
                    select_services!(
                        "WHERE account_sid = ?1 ORDER BY created, sid LIMIT ?2 OFFSET ?3"
                    ),
                    vec![
                        account.into(),
                        (i64::from(size) + 1).into(),
                        (i64::from(page) * i64::from(size)).into(),
                    ],
                )
                .await?
            }
        };
        let mut services: Vec<Service> = rows.iter().map(read_service).collect();
        let more = services.len() > size as usize;
        services.truncate(size as usize);
        Ok((services, more))
    }

    /// Deletes a service and its verifications; whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_service(&self, account: &str, sid: &str) -> Result<bool, DbError> {
        self.execute(
            "DELETE FROM verify_services WHERE sid = ?1 AND account_sid = ?2",
            vec![sid.into(), account.into()],
        )
        .await
        .map(|n| n > 0)
    }
}
