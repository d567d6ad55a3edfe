//! Delivery: send budgets against SMS pumping and mail bombing, localised
//! messages through the service, and routing.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::Arc;
use std::time::Duration;

use seccode::SendOptions;
use seccode::{
    AccountId, ByKind, Config, Contact, Error, Event, EventLog, Limits, Outbox, Purpose, RateLimit,
    Templates,
};

use common::{T0, memory_service, ready};

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn one_account_cannot_pump_sms_to_many_numbers() {
    // The review's case: one account, 54 numbers, ten sends each within an hour.
    let (codes, outbox, clock) = memory_service();
    let events = Arc::new(EventLog::new());
    let codes = codes.with_events(events.clone());
    let account = AccountId::new("pumper").unwrap();
    let mut delivered = 0;
    let mut refused = Vec::new();
    for round in 0..10 {
        for n in 0..54 {
            let to = Contact::phone(&format!("+44 7400 1234{n:02}")).unwrap();
            match ready(codes.start(
                &account,
                Purpose::AddSecurityInfo,
                &to,
                SendOptions::default(),
            )) {
                Ok(_) => delivered += 1,
                Err(Error::RateLimited { limit, retry_after }) => {
                    refused.push((limit, retry_after));
                }
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        clock.advance(Duration::from_secs(6 * 60 - 1));
    }
    let cap = Limits::default().account_sends();
    assert_eq!(delivered, cap as usize);
    assert_eq!(outbox.len(), cap as usize);
    assert_eq!(refused.len(), 540 - cap as usize);
    assert!(refused.iter().all(|(l, _)| *l == RateLimit::AccountSends));
    assert!(
        refused
            .iter()
            .all(|(_, r)| *r > Duration::ZERO && *r <= HOUR)
    );
    let logged = events
        .events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::RateLimited {
                    limit: RateLimit::AccountSends,
                    ..
                }
            )
        })
        .count();
    assert_eq!(logged, refused.len(), "each refusal is an event");
    // The window reopens an hour after it started.
    clock.advance(HOUR);
    ready(codes.start(
        &account,
        Purpose::AddSecurityInfo,
        &Contact::phone("+44 7400 123400").unwrap(),
        SendOptions::default(),
    ))
    .unwrap();
}

#[test]
fn calling_codes_and_the_whole_service_have_caps_of_their_own() {
    let (codes, _outbox, _clock) = memory_service();
    let limits = Limits::builder()
        .send_caps(1000, 3, 5, HOUR)
        .build()
        .unwrap();
    let codes = codes.with_config(Config::default().with_limits(limits));
    let start = |i: usize, to: &str| {
        let account = AccountId::new(format!("user-{i}")).unwrap();
        ready(codes.start(
            &account,
            Purpose::AddSecurityInfo,
            &Contact::parse(to).unwrap(),
            SendOptions::default(),
        ))
    };
    for i in 0..3 {
        start(i, &format!("+44 7400 12345{i}")).unwrap();
    }
    let e = start(3, "+44 7400 123459").unwrap_err();
    assert!(
        matches!(
            e,
            Error::RateLimited {
                limit: RateLimit::CallingCodeSends,
                ..
            }
        ),
        "{e}"
    );
    // Another country, and email, are not held up by the +44 cap…
    start(4, "+1 201 555 0123").unwrap();
    start(5, "ann@example.org").unwrap();
    // …but the service-wide cap (5) is reached now.
    let e = start(6, "bob@example.org").unwrap_err();
    assert!(
        matches!(
            e,
            Error::RateLimited {
                limit: RateLimit::GlobalSends,
                ..
            }
        ),
        "{e}"
    );
    assert!(!e.to_string().contains("bob"));
}

#[test]
fn codes_go_out_in_the_requested_language_and_by_kind() {
    let (codes, _outbox, _clock) = memory_service();
    let (email, phone) = (Arc::new(Outbox::new()), Arc::new(Outbox::new()));
    let templates = Templates::builtin()
        .with_web_otp_origin("example.com")
        .unwrap();
    let codes = codes.with_templates(templates).with_channel(ByKind {
        email: email.clone(),
        phone: phone.clone(),
    });
    let account = AccountId::new("ann").unwrap();
    let mobile = Contact::phone("+33 6 12 34 56 78").unwrap();
    ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &mobile,
        SendOptions::default().locale("fr-FR"),
    ))
    .unwrap();
    let sms = phone.last().unwrap();
    let code = sms.code_value().unwrap().expose().to_owned();
    assert!(
        sms.body()
            .starts_with(&format!("Votre code de sécurité : {code}.")),
        "{}",
        sms.body()
    );
    assert!(sms.body().ends_with(&format!("@example.com #{code}")));
    assert_eq!(sms.locale(), "fr-FR");
    assert!(sms.deadline().is_some());
    let mail = Contact::email("ann@example.org").unwrap();
    ready(codes.start(
        &account,
        Purpose::Recovery,
        &mail,
        SendOptions::default().locale("ja"),
    ))
    .unwrap();
    let m = email.last().unwrap();
    assert_eq!(m.subject(), "アカウント回復コード");
    assert!(m.html().unwrap().contains("<strong>"));
    assert_eq!((email.len(), phone.len()), (1, 1));
}

/// Regression: an SMS that carried a do-not-share warning or a payment put it
/// after the templates' WebOTP line (`@example.com #123456`), which WebOTP
/// reads only as the SMS's last line: autofill stopped working for exactly
/// the services that warned their users or bound codes to payments.
#[test]
fn an_sms_with_a_warning_or_a_payment_still_ends_with_its_origin_line() {
    let (codes, outbox, _clock) = memory_service();
    let templates = Templates::builtin()
        .with_web_otp_origin("example.com")
        .unwrap();
    let codes = codes.with_templates(templates);
    let account = AccountId::new("ann").unwrap();
    let mobile = Contact::phone("+44 7400 123456").unwrap();
    let payment = seccode::Transaction::new("EUR 12.00", "Contoso").unwrap();
    let options = SendOptions::default()
        .app_name("Contoso")
        .do_not_share_warning(true)
        .transaction(payment);
    ready(codes.start(&account, Purpose::IdentityCheck, &mobile, options)).unwrap();
    let sms = outbox.last().unwrap();
    let code = sms.code_value().unwrap().expose().to_owned();
    let body = sms.body();
    assert!(
        body.ends_with(&format!("\n\n@example.com #{code}")),
        "{body}"
    );
    assert!(body.starts_with("Contoso: "), "{body}");
    let line = body.rfind("\n\n@example.com").unwrap();
    let before = &body[..line];
    assert!(
        before.contains("EUR 12.00") && before.contains("Contoso"),
        "{body}"
    );
    assert!(before.contains("Don't share it with anyone."), "{body}");
}

/// An application's own words (a Verify template) replace the templates' in
/// the SMS and the call: the code where `{code}` stood, spoken one character
/// at a time in the call; no name before them, no warning after — but the
/// payment still follows the words and the WebOTP line still ends the SMS.
/// An email keeps its templates.
#[test]
fn a_code_text_is_the_sms_and_the_call_and_keeps_what_protects_the_person() {
    let (codes, _outbox, clock) = memory_service();
    let (email, phone) = (Arc::new(Outbox::new()), Arc::new(Outbox::new()));
    let templates = Templates::builtin()
        .with_web_otp_origin("example.com")
        .unwrap();
    let codes = codes.with_templates(templates).with_channel(ByKind {
        email: email.clone(),
        phone: phone.clone(),
    });
    let account = AccountId::new("ann").unwrap();
    let mobile = Contact::phone("+44 7400 123456").unwrap();
    let text = seccode::CodeText::new("Your Contoso verification code is: {code}.").unwrap();
    let payment = seccode::Transaction::new("EUR 12.00", "Contoso").unwrap();
    let options = SendOptions::default()
        .code_text(&text)
        .app_name("Ignored")
        .do_not_share_warning(true)
        .transaction(payment);
    let sent = ready(codes.start(&account, Purpose::IdentityCheck, &mobile, options)).unwrap();
    let sms = phone.last().unwrap();
    let code = sms.code_value().unwrap().expose().to_owned();
    let spoken = code
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        sms.body(),
        format!(
            "Your Contoso verification code is: {code}. Amount: EUR 12.00. Payee: Contoso.\n\n@example.com #{code}"
        )
        .as_str(),
        "the words, the payment, the origin line"
    );
    assert_eq!(
        sms.voice(),
        Some(
            format!(
                "Your Contoso verification code is: {spoken}. Amount: EUR 12.00. Payee: Contoso."
            )
            .as_str()
        )
    );
    // A resend with the same words says them again, with the same code.
    clock.advance(Duration::from_secs(60));
    ready(codes.resend(
        &sent.id,
        SendOptions::default().code_text(&text).transaction(payment),
    ))
    .unwrap();
    let again = phone.last().unwrap();
    assert!(
        again
            .body()
            .starts_with(&format!("Your Contoso verification code is: {code}."))
    );
    let mail = Contact::email("ann@example.org").unwrap();
    ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &mail,
        SendOptions::default().code_text(&text),
    ))
    .unwrap();
    let m = email.last().unwrap();
    assert!(
        m.body().starts_with("Your security code is"),
        "{}",
        m.body()
    );
}

/// An application's own email (an email template): its subject, text and
/// HTML with the code where `{code}` stood, no name before the subject, the
/// payment after the texts (escaped in the HTML); an SMS keeps its words.
#[test]
fn an_email_text_is_the_emails_subject_text_and_html() {
    let (codes, _outbox, _clock) = memory_service();
    let (email, phone) = (Arc::new(Outbox::new()), Arc::new(Outbox::new()));
    let codes = codes.with_channel(ByKind {
        email: email.clone(),
        phone: phone.clone(),
    });
    let account = AccountId::new("ann").unwrap();
    let words = seccode::EmailText::new(
        "Sign in to Contoso",
        seccode::CodeText::new("Hi Ann, your code is {code}.").unwrap(),
    )
    .unwrap()
    .with_html(seccode::CodeText::new("<p>Hi Ann, your code is <b>{code}</b>.</p>").unwrap());
    let payment = seccode::Transaction::new("EUR 12.00", "A&B <Shop>").unwrap();
    let options = SendOptions::default()
        .email_text(&words)
        .app_name("Ignored")
        .transaction(payment);
    let mail = Contact::email("ann@example.org").unwrap();
    ready(codes.start(&account, Purpose::IdentityCheck, &mail, options)).unwrap();
    let m = email.last().unwrap();
    let code = m.code_value().unwrap().expose().to_owned();
    assert_eq!(m.subject(), "Sign in to Contoso");
    assert_eq!(
        m.body(),
        format!("Hi Ann, your code is {code}.\n\nAmount: EUR 12.00. Payee: A&B <Shop>.").as_str()
    );
    assert_eq!(
        m.html(),
        Some(
            format!(
                "<p>Hi Ann, your code is <b>{code}</b>.</p>\n<p>Amount: EUR 12.00. Payee: A&amp;B &lt;Shop&gt;.</p>"
            )
            .as_str()
        )
    );
    let mobile = Contact::phone("+44 7400 123456").unwrap();
    ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &mobile,
        SendOptions::default().email_text(&words),
    ))
    .unwrap();
    assert!(
        phone
            .last()
            .unwrap()
            .body()
            .starts_with("Your security code is")
    );
    assert!(!format!("{words:?}").contains("Ann"));
}

/// An account's language follows it through every flow that sends a code — add
/// security info (and its notices), identity check, recovery, change phone — and a made-up
/// recovery account (which has none) costs the same default-language render.
#[test]
fn the_account_flows_send_codes_in_the_accounts_language() {
    use seccode::store::AccountStore;
    use seccode::{Account, ContactKind, Keyring, MemoryChallengeStore, SecretKey};

    let keyring = Keyring::new(1, SecretKey::from_bytes([0x5e; 32]))
        .with_recovery_secret(SecretKey::from_bytes([0x55; 32]));
    let (flows, outbox, _clock) = common::memory_flows(keyring, MemoryChallengeStore::new());
    let mail = Contact::email("ana@example.org").unwrap();
    let phone = Contact::phone("+55 11 91234 5678").unwrap();
    let (ana, leo) = (
        AccountId::new("ana").unwrap(),
        AccountId::new("leo").unwrap(),
    );
    let account = Account::new(ana.clone())
        .with_locale("pt-BR")
        .with_verified_contact(mail.clone(), T0)
        .unwrap()
        .with_verified_contact(phone.clone(), T0)
        .unwrap();
    ready(flows.accounts().create(account)).unwrap();
    let plain = Account::new(leo.clone())
        .with_verified_contact(Contact::email("leo@example.org").unwrap(), T0)
        .unwrap();
    ready(flows.accounts().create(plain)).unwrap();

    let backup = Contact::email("ana.backup@example.org").unwrap();
    let sent = ready(flows.start_add_security_info(&ana, &backup)).unwrap();
    let added = outbox.last().unwrap();
    assert_eq!(added.locale(), "pt-BR");
    assert!(added.subject().contains("segurança"), "{}", added.subject());
    // The notices the change sends to the account's other contacts, too.
    let code = added.code_value().unwrap().expose().to_owned();
    let before = outbox.len();
    let outcome = ready(flows.finish_add_security_info(&ana, &sent.id, &code)).unwrap();
    assert!(outcome.is_approved());
    assert_eq!(outbox.len(), before + 2, "one notice per other contact");
    let notice = outbox.last().unwrap();
    assert_eq!(notice.kind(), seccode::channel::MessageKind::Notice);
    assert_eq!(notice.locale(), "pt-BR");
    assert_eq!(notice.subject(), "Informações de segurança adicionadas");
    assert!(
        notice
            .body()
            .contains("foi adicionado às informações de segurança da sua conta"),
        "{}",
        notice.body()
    );

    let stored = ready(flows.accounts().get(&ana)).unwrap().unwrap();
    let entry = stored.verified_entry(&mail).unwrap().id;
    ready(flows.start_identity_check(&ana, entry)).unwrap();
    assert_eq!(outbox.last().unwrap().locale(), "pt-BR");

    let start = ready(flows.start_recovery("ana@example.org")).unwrap();
    let email_choice = start
        .choices
        .iter()
        .position(|c| c.kind == ContactKind::Email)
        .unwrap();
    ready(flows.choose_recovery_contact(&start.token, email_choice, "ana@example.org", None))
        .unwrap();
    assert_eq!(outbox.last().unwrap().locale(), "pt-BR");

    let phone_entry = stored.verified_entry(&phone).unwrap().id;
    ready(flows.start_change_phone(&ana, phone_entry, "5678")).unwrap();
    let sms = outbox.last().unwrap();
    assert_eq!(sms.locale(), "pt-BR");
    assert!(
        sms.body().starts_with("Seu código de segurança:"),
        "{}",
        sms.body()
    );

    // Without a language of its own, an account gets the templates' default.
    let leo_mail = Contact::email("leo@example.org").unwrap();
    let stored = ready(flows.accounts().get(&leo)).unwrap().unwrap();
    let entry = stored.verified_entry(&leo_mail).unwrap().id;
    ready(flows.start_identity_check(&leo, entry)).unwrap();
    assert_eq!(outbox.last().unwrap().locale(), "en");
}

/// An application's override of a notice that does not render (here, a
/// variable the crate does not pass) neither fails the change already made nor
/// silences the notice: the shipped text goes out instead.
#[test]
fn a_broken_notice_override_falls_back_to_the_shipped_text() {
    use seccode::channel::MessageKind;
    use seccode::store::AccountStore;
    use seccode::{
        Account, AccountSecurity, Keyring, ManualClock, MemoryAccountStore, MemoryChallengeStore,
        SecretKey, SecurityCodes,
    };

    let outbox = Arc::new(Outbox::new());
    let templates = Templates::builtin()
        .with_locale("en", "notice-body = Changed: { $no-such-variable }")
        .unwrap();
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        outbox.clone(),
        Keyring::new(1, SecretKey::from_bytes([0x5e; 32])),
    )
    .with_clock(Arc::new(ManualClock::new(T0)))
    .with_templates(templates);
    let flows = AccountSecurity::new(codes, MemoryAccountStore::new());
    let ann = AccountId::new("ann").unwrap();
    let (mail, phone) = (
        Contact::email("ann@example.org").unwrap(),
        Contact::phone("+44 7400 123456").unwrap(),
    );
    let account = Account::new(ann.clone())
        .with_verified_contact(mail.clone(), T0)
        .unwrap()
        .with_verified_contact(phone.clone(), T0)
        .unwrap();
    ready(flows.accounts().create(account)).unwrap();
    let stored = ready(flows.accounts().get(&ann)).unwrap().unwrap();
    let sent =
        ready(flows.start_identity_check(&ann, stored.verified_entry(&mail).unwrap().id)).unwrap();
    let code = outbox
        .last()
        .unwrap()
        .code_value()
        .unwrap()
        .expose()
        .to_owned();
    let proof = match ready(flows.finish_identity_check(&ann, &sent.id, &code)).unwrap() {
        seccode::Verification::Approved(proof) => proof,
        other => panic!("{other:?}"),
    };
    let entry = stored.verified_entry(&phone).unwrap().id;
    ready(flows.remove_security_info(&proof, entry)).unwrap();
    let after = ready(flows.accounts().get(&ann)).unwrap().unwrap();
    assert!(after.verified_entry(&phone).is_none(), "the change is made");
    let notice = outbox.last().unwrap();
    assert_eq!(notice.kind(), MessageKind::Notice);
    assert!(
        notice
            .body()
            .contains("was removed from your account's security info"),
        "{}",
        notice.body()
    );
}

// ----- the delivery queue ---------------------------------------------------------------

#[cfg(feature = "queue")]
mod queue {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use seccode::channel::{BoxError, DeliveryChannel, DeliveryError, Message};
    use seccode::{
        Clock, Keyring, MemoryChallengeStore, QueueConfig, Queued, SecretKey, SecurityCodes,
        Timestamp,
    };
    use tokio::time::Instant;

    use super::*;

    /// Time that moves with Tokio's (paused) clock, for message deadlines.
    struct TokioClock {
        base: Timestamp,
        start: Instant,
    }

    impl Clock for TokioClock {
        fn now(&self) -> Timestamp {
            self.base + self.start.elapsed()
        }
    }

    /// Answers each delivery with the next scripted result (then success), after
    /// `latency`, and keeps what it accepted.
    struct Scripted {
        script: Mutex<VecDeque<DeliveryError>>,
        latency: Duration,
        tries: Mutex<Vec<Instant>>,
        accepted: Outbox,
    }

    impl Scripted {
        fn new(latency: Duration, script: impl IntoIterator<Item = DeliveryError>) -> Arc<Self> {
            Arc::new(Self {
                script: Mutex::new(script.into_iter().collect()),
                latency,
                tries: Mutex::new(Vec::new()),
                accepted: Outbox::new(),
            })
        }
    }

    impl DeliveryChannel for Scripted {
        async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
            self.tries.lock().unwrap().push(Instant::now());
            tokio::time::sleep(self.latency).await;
            let next = self.script.lock().unwrap().pop_front();
            match next {
                Some(e) => Err(Box::new(e)),
                None => self.accepted.deliver(message).await,
            }
        }
    }

    fn codes_over<C: DeliveryChannel>(channel: C) -> SecurityCodes<MemoryChallengeStore, C> {
        let clock = Arc::new(TokioClock {
            base: common::T0,
            start: Instant::now(),
        });
        SecurityCodes::new(
            MemoryChallengeStore::new(),
            channel,
            Keyring::new(1, SecretKey::from_bytes([3; 32])),
        )
        .with_clock(clock)
    }

    fn clock() -> TokioClock {
        TokioClock {
            base: common::T0,
            start: Instant::now(),
        }
    }

    fn kinds(log: &EventLog) -> Vec<&'static str> {
        log.events()
            .iter()
            .filter_map(|e| match e {
                Event::DeliverySent { .. } => Some("sent"),
                Event::DeliveryRetried { .. } => Some("retried"),
                Event::DeliveryDropped { .. } => Some("dropped"),
                Event::DeliveryFailed { .. } => Some("failed"),
                _ => None,
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn start_returns_before_a_slow_provider_sends() {
        let slow = Scripted::new(Duration::from_millis(50), []);
        let queue = Arc::new(
            Queued::start_with(
                slow.clone(),
                QueueConfig::default(),
                clock(),
                seccode::NoEvents,
            )
            .unwrap(),
        );
        let codes = codes_over(queue.clone());
        let to = Contact::email("ann@example.org").unwrap();
        let before = Instant::now();
        codes
            .start(
                &AccountId::new("ann").unwrap(),
                Purpose::IdentityCheck,
                &to,
                SendOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(before.elapsed(), Duration::ZERO, "no virtual time passed");
        assert!(slow.accepted.is_empty());
        assert_eq!(queue.shutdown(Duration::from_secs(5)).await, 0);
        assert!(slow.accepted.last_code_to(&to).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_with_backoff_and_retry_after() {
        let flaky = Scripted::new(
            Duration::ZERO,
            [
                DeliveryError::transient("503 from the provider"),
                DeliveryError::transient("429").with_retry_after(Duration::from_secs(20)),
            ],
        );
        let events = Arc::new(EventLog::new());
        let config = QueueConfig::default().with_retries(
            5,
            Duration::from_millis(100),
            Duration::from_secs(1),
        );
        let queue = Queued::start_with(flaky.clone(), config, clock(), events.clone()).unwrap();
        let to = Contact::phone("+44 7400 123456").unwrap();
        let message = Message::notice(to.clone(), Purpose::IdentityCheck, "s", "b");
        queue.deliver(&message).await.unwrap();
        assert_eq!(queue.shutdown(Duration::from_secs(60)).await, 0);
        assert_eq!(kinds(&events), ["retried", "retried", "sent"]);
        let tries = flaky.tries.lock().unwrap().clone();
        assert_eq!(tries.len(), 3);
        assert!(
            tries[1] - tries[0] <= Duration::from_millis(100),
            "backoff under base"
        );
        assert!(
            tries[2] - tries[1] >= Duration::from_secs(20),
            "Retry-After honoured"
        );
        assert_eq!(flaky.accepted.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_failures_are_not_retried_and_tries_run_out() {
        let refused = Scripted::new(
            Duration::ZERO,
            [DeliveryError::permanent("400 invalid number")],
        );
        let events = Arc::new(EventLog::new());
        let queue = Queued::start_with(
            refused.clone(),
            QueueConfig::default(),
            clock(),
            events.clone(),
        )
        .unwrap();
        let message = Message::notice(
            Contact::phone("+44 7400 123456").unwrap(),
            Purpose::IdentityCheck,
            "s",
            "b",
        );
        queue.deliver(&message).await.unwrap();
        assert_eq!(queue.shutdown(Duration::from_secs(60)).await, 0);
        assert_eq!(kinds(&events), ["failed"]);
        assert_eq!(refused.tries.lock().unwrap().len(), 1);

        let down = Scripted::new(
            Duration::ZERO,
            (0..10).map(|_| DeliveryError::transient("timeout")),
        );
        let events = Arc::new(EventLog::new());
        let config = QueueConfig::default().with_retries(
            3,
            Duration::from_millis(10),
            Duration::from_millis(10),
        );
        let queue = Queued::start_with(down.clone(), config, clock(), events.clone()).unwrap();
        queue.deliver(&message).await.unwrap();
        assert_eq!(queue.shutdown(Duration::from_secs(60)).await, 0);
        assert_eq!(kinds(&events), ["retried", "retried", "failed"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_code_that_would_arrive_expired_is_dropped_not_sent() {
        let slow_provider = Scripted::new(
            Duration::ZERO,
            [DeliveryError::transient("429").with_retry_after(Duration::from_secs(11 * 60))],
        );
        let events = Arc::new(EventLog::new());
        let queue = Arc::new(
            Queued::start_with(
                slow_provider.clone(),
                QueueConfig::default(),
                clock(),
                events.clone(),
            )
            .unwrap(),
        );
        let codes = codes_over(queue.clone());
        let to = Contact::phone("+44 7400 123456").unwrap();
        codes
            .start(
                &AccountId::new("ann").unwrap(),
                Purpose::IdentityCheck,
                &to,
                SendOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(queue.shutdown(Duration::from_secs(3600)).await, 0);
        assert_eq!(kinds(&events), ["dropped"]);
        assert!(slow_provider.accepted.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_refuses_at_once_and_the_send_still_counts() {
        let stuck = Scripted::new(Duration::from_secs(3600), []);
        let config = QueueConfig::default().with_capacity(2).with_workers(1);
        let queue = Arc::new(
            Queued::start_with(stuck.clone(), config, clock(), seccode::NoEvents).unwrap(),
        );
        let limits = Limits::builder()
            .destination_sends(4, HOUR)
            .build()
            .unwrap();
        let codes = codes_over(queue.clone()).with_config(Config::default().with_limits(limits));
        let to = Contact::email("ann@example.org").unwrap();
        let account = AccountId::new("ann").unwrap();
        let mut outcomes = Vec::new();
        for _ in 0..5 {
            let r = codes
                .start(
                    &account,
                    Purpose::IdentityCheck,
                    &to,
                    SendOptions::default(),
                )
                .await;
            outcomes.push(match r {
                Ok(_) => "queued",
                Err(Error::Delivery(_)) => "full",
                Err(Error::RateLimited { .. }) => "limited",
                Err(e) => panic!("{e}"),
            });
            // Let the dispatcher hand the first message to the (stuck) worker.
            tokio::task::yield_now().await;
        }
        // One in flight, two waiting; the fourth is refused but counted; the
        // fifth meets the destination cap.
        assert_eq!(outcomes, ["queued", "queued", "queued", "full", "limited"]);
        assert_eq!(queue.pending(), 3);
        assert_eq!(
            queue.shutdown(Duration::from_secs(1)).await,
            3,
            "gave up draining"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn decoys_pass_through_the_queue_and_are_never_sent() {
        let outbox = Arc::new(Outbox::new());
        let queue = Arc::new(
            Queued::start_with(
                outbox.clone(),
                QueueConfig::default(),
                clock(),
                seccode::NoEvents,
            )
            .unwrap(),
        );
        let flows = seccode::AccountSecurity::new(
            codes_over(queue.clone()),
            seccode::MemoryAccountStore::new(),
        );
        let unknown = "nobody@example.org";
        let start = flows.start_recovery(unknown).await.unwrap();
        let mask = Contact::email(unknown).unwrap().masked();
        let i = start
            .choices
            .iter()
            .position(|c| c.contact == mask)
            .unwrap();
        flows
            .choose_recovery_contact(&start.token, i, unknown, None)
            .await
            .unwrap();
        assert_eq!(queue.pending(), 1, "the decoy's message is in the queue");
        assert_eq!(queue.shutdown(Duration::from_secs(5)).await, 0);
        assert!(outbox.is_empty(), "and was dropped, not sent");
    }
}

/// On SQLite a message's send budgets are counted in one transaction: a refusal
/// by a broader budget leaves the narrower ones as they were.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn on_sqlite_a_refused_send_spends_no_budget() {
    use seccode::store::{ChallengeStore, CounterKey};
    use seccode::{Keyring, SecretKey, SecurityCodes, SqliteStore};

    let dir = common::temp_dir("refused-send");
    let store = Arc::new(SqliteStore::open(dir.join("db.sqlite3")).unwrap());
    let limits = Limits::builder()
        .send_caps(1, 100, 100, HOUR)
        .build()
        .unwrap();
    let codes = SecurityCodes::new(
        store.clone(),
        Arc::new(Outbox::new()),
        Keyring::new(1, SecretKey::from_bytes([2; 32])),
    )
    .with_config(Config::default().with_limits(limits));
    let account = AccountId::new("ann").unwrap();
    let (first, second) = (
        Contact::email("first@example.org").unwrap(),
        Contact::email("second@example.org").unwrap(),
    );
    codes
        .start(
            &account,
            Purpose::AddSecurityInfo,
            &first,
            SendOptions::default(),
        )
        .await
        .unwrap();
    let e = codes
        .start(
            &account,
            Purpose::AddSecurityInfo,
            &second,
            SendOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::RateLimited {
                limit: RateLimit::AccountSends,
                ..
            }
        ),
        "{e}"
    );
    let sends = |c: &Contact| {
        let key = CounterKey::destination_sends(c);
        let store = store.clone();
        async move { store.get_counter(&key).await.unwrap().map(|c| c.count) }
    };
    assert_eq!(sends(&first).await, Some(1));
    assert_eq!(sends(&second).await, None, "rolled back with the refusal");
    let global = store
        .get_counter(&CounterKey::global_sends())
        .await
        .unwrap();
    assert_eq!(global.map(|c| c.count), Some(1));
}
