//! What a check reads on every request, kept in the process so a wrong code
//! costs one store round trip and no database read.
//!
//! * **Services** are kept for [`SERVICE_TTL`]: a change made through this
//!   server is seen at once (its entry is dropped); one made through another
//!   server behind the same load balancer is seen within [`SERVICE_TTL`].
//! * **Verifications' cards** — SID, service, account, `To`, creation date,
//!   which never change once written — are kept (bounded, least recently used
//!   first out) without a lifetime. What does change is not taken from here:
//!   a check's status comes from the code's own record in the challenge store,
//!   and a status is written with [`Db::set_status`](crate::db::Db::set_status),
//!   which touches nothing else. The card's channel and `date_updated` are this
//!   server's latest view: a resend through another server (perhaps on another
//!   channel) may be newer.
//!
//! * **Senders** — a service's Messaging Configurations (country →
//!   Messaging Service), read on every SMS start — are kept as services are:
//!   for [`SERVICE_TTL`], dropped at once on a change through this server.
//!
//! Nothing secret is kept: no code (codes are never stored anywhere), no
//! token; the `To` is what the database holds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::db::{Service, Verification};

/// How long another server's change to a service may go unseen.
pub const SERVICE_TTL: Duration = Duration::from_secs(1);

/// Services and verifications' fixed fields kept in the process.
pub struct Caches {
    services: Cache<String, (Arc<Service>, Instant)>,
    cards: Cache<String, Arc<Verification>>,
    senders: Cache<String, (Arc<Senders>, Instant)>,
    ttl: Duration,
}

/// A service's SMS senders: (country or `all`, Messaging Service SID).
pub type Senders = Vec<(String, String)>;

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches")
            .field("services", &self.services.len())
            .field("cards", &self.cards.len())
            .finish()
    }
}

impl Caches {
    /// Up to `services` services, each kept for `ttl` (see [`SERVICE_TTL`];
    /// zero keeps none), and up to `cards` verifications.
    #[must_use]
    pub fn new(services: usize, cards: usize, ttl: Duration) -> Caches {
        Caches {
            services: Cache::new(services.max(1)),
            cards: Cache::new(cards.max(1)),
            senders: Cache::new(services.max(1)),
            ttl,
        }
    }

    /// The service `sid` if it was read less than the lifetime ago.
    #[must_use]
    pub fn service(&self, sid: &str) -> Option<Arc<Service>> {
        self.services
            .get(sid)
            .filter(|(_, read)| read.elapsed() < self.ttl)
            .map(|(s, _)| s)
    }

    /// Keeps `service` as just read or written.
    pub fn put_service(&self, service: Service) -> Arc<Service> {
        let service = Arc::new(service);
        self.services
            .insert(service.sid.clone(), (service.clone(), Instant::now()));
        service
    }

    /// Forgets the service `sid` (changed or deleted here).
    pub fn drop_service(&self, sid: &str) {
        self.services.remove(sid);
    }

    /// The verification `sid`'s fixed fields, if kept.
    #[must_use]
    pub fn card(&self, sid: &str) -> Option<Arc<Verification>> {
        self.cards.get(sid)
    }

    /// Keeps a verification's fixed fields (its attempts are not kept).
    pub fn put_card(&self, v: &Verification) -> Arc<Verification> {
        let card = Arc::new(Verification {
            attempts: Vec::new(),
            ..v.clone()
        });
        self.cards.insert(v.sid.clone(), card.clone());
        card
    }

    /// The service `sid`'s senders if they were read less than the lifetime
    /// ago.
    #[must_use]
    pub fn senders(&self, sid: &str) -> Option<Arc<Senders>> {
        self.senders
            .get(sid)
            .filter(|(_, read)| read.elapsed() < self.ttl)
            .map(|(s, _)| s)
    }

    /// Keeps the service `sid`'s senders as just read.
    pub fn put_senders(&self, sid: &str, senders: Senders) -> Arc<Senders> {
        let senders = Arc::new(senders);
        self.senders
            .insert(sid.to_owned(), (senders.clone(), Instant::now()));
        senders
    }

    /// Forgets the service `sid`'s senders (changed here).
    pub fn drop_senders(&self, sid: &str) {
        self.senders.remove(sid);
    }

    /// Forgets the verification `sid`.
    pub fn drop_card(&self, sid: &str) {
        self.cards.remove(sid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(sid: &str) -> Service {
        Service {
            sid: sid.to_owned(),
            account_sid: "AC1".to_owned(),
            friendly_name: "n".to_owned(),
            code_length: 6,
            do_not_share_warning_enabled: false,
            lookup_enabled: false,
            skip_sms_to_landlines: false,
            psd2_enabled: false,
            dtmf_input_required: false,
            verify_events: false,
            tts_name: None,
            default_template_sid: None,
            whatsapp_msg_service_sid: None,
            whatsapp_from: None,
            created: 0,
            updated: 0,
        }
    }

    #[test]
    fn a_service_is_kept_for_its_lifetime_and_dropped_on_change() {
        let caches = Caches::new(8, 8, Duration::from_secs(3600));
        assert!(caches.service("VA1").is_none());
        caches.put_service(service("VA1"));
        assert_eq!(
            caches.service("VA1").map(|s| s.sid.clone()),
            Some("VA1".to_owned())
        );
        caches.drop_service("VA1");
        assert!(caches.service("VA1").is_none());
    }

    #[test]
    fn a_service_past_its_lifetime_is_read_again() {
        let caches = Caches::new(8, 8, Duration::ZERO);
        caches.put_service(service("VA1"));
        assert!(caches.service("VA1").is_none());
    }

    #[test]
    fn senders_are_kept_for_their_lifetime_and_dropped_on_change() {
        let caches = Caches::new(8, 8, Duration::from_secs(3600));
        assert!(caches.senders("VA1").is_none());
        caches.put_senders("VA1", vec![("GB".to_owned(), "MG1".to_owned())]);
        assert_eq!(caches.senders("VA1").map(|s| s.len()), Some(1));
        caches.drop_senders("VA1");
        assert!(caches.senders("VA1").is_none());
        let expired = Caches::new(8, 8, Duration::ZERO);
        expired.put_senders("VA1", Vec::new());
        assert!(
            expired.senders("VA1").is_none(),
            "read again after the lifetime"
        );
    }

    #[test]
    fn a_card_keeps_no_attempts() {
        let caches = Caches::new(8, 8, SERVICE_TTL);
        let v = Verification {
            sid: "VE1".to_owned(),
            service_sid: "VA1".to_owned(),
            account_sid: "AC1".to_owned(),
            to: "+15555550100".to_owned(),
            identity: "+15555550100".to_owned(),
            channel: "sms".to_owned(),
            status: crate::db::VerificationStatus::Pending,
            attempts: vec![(1, "sms".to_owned(), "VL1".to_owned())],
            payment: Some(("€1.00".to_owned(), "Acme".to_owned())),
            created: 1,
            updated: 1,
        };
        caches.put_card(&v);
        let card = caches.card("VE1").expect("kept");
        assert!(card.attempts.is_empty());
        assert_eq!(card.to, v.to);
        assert_eq!(card.payment, v.payment, "a check answers the payment");
        caches.drop_card("VE1");
        assert!(caches.card("VE1").is_none());
    }
}
