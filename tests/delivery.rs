//! Delivery: send budgets against SMS pumping and mail bombing, localised
//! messages through the service, and routing.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::Arc;
use std::time::Duration;

use seccode::{
    AccountId, ByKind, Config, Contact, Error, Event, EventLog, Limits, Outbox, Purpose, RateLimit,
    Templates,
};

use common::{memory_service, ready};

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
            match ready(codes.start(&account, Purpose::AddSecurityInfo, &to)) {
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
            Purpose::IdentityCheck,
            &Contact::parse(to).unwrap(),
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
    ready(codes.start_in(&account, Purpose::IdentityCheck, &mobile, "fr-FR")).unwrap();
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
    ready(codes.start_in(&account, Purpose::Recovery, &mail, "ja")).unwrap();
    let m = email.last().unwrap();
    assert_eq!(m.subject(), "アカウント回復コード");
    assert!(m.html().unwrap().contains("<strong>"));
    assert_eq!((email.len(), phone.len()), (1, 1));
}
