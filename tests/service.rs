//! The service's failure paths, driven through the public API with a manual clock.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::sync::Arc;
use std::time::Duration;

use seccode::SendOptions;
use seccode::{
    AccountId, ChallengeId, Config, Contact, Error, Keyring, Limits, ManualClock,
    MemoryChallengeStore, Outbox, Purpose, RateLimit, Rejection, SecretKey, SecurityCodes, Status,
    Verification,
};

use common::{T0, memory_service, ready, wrong_code};

fn ann() -> (AccountId, Contact) {
    (
        AccountId::new("ann").unwrap(),
        Contact::email("ann@example.org").unwrap(),
    )
}

#[test]
fn a_code_expires_after_ten_minutes() {
    let (codes, outbox, clock) = memory_service();
    let (account, email) = ann();
    let sent =
        ready(codes.start(&account, Purpose::Recovery, &email, SendOptions::default())).unwrap();
    assert_eq!(sent.expires_at, T0 + Duration::from_secs(600));
    let code = outbox.last_code_to(&email).unwrap();
    clock.advance(Duration::from_secs(600));
    let v = ready(codes.verify(&sent.id, Purpose::Recovery, code.expose())).unwrap();
    assert!(matches!(v, Verification::Expired), "{v:?}");
    assert_eq!(ready(codes.status(&sent.id)).unwrap(), Status::Expired);
    assert!(matches!(
        ready(codes.resend(&sent.id, SendOptions::default())),
        Err(Error::ChallengeNotPending(Status::Expired))
    ));
}

#[test]
fn one_millisecond_before_expiry_still_verifies() {
    let (codes, outbox, clock) = memory_service();
    let (account, email) = ann();
    let sent =
        ready(codes.start(&account, Purpose::Recovery, &email, SendOptions::default())).unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    clock.advance(Duration::from_millis(599_999));
    assert!(
        ready(codes.verify(&sent.id, Purpose::Recovery, code.expose()))
            .unwrap()
            .is_approved()
    );
}

#[test]
fn resend_repeats_the_code_and_new_code_replaces_it() {
    let (codes, outbox, clock) = memory_service();
    let (account, email) = ann();
    let sent = ready(codes.start(
        &account,
        Purpose::AddSecurityInfo,
        &email,
        SendOptions::default(),
    ))
    .unwrap();
    let first = outbox.last_code_to(&email).unwrap();

    let early = ready(codes.resend(&sent.id, SendOptions::default())).unwrap_err();
    assert!(matches!(
        early,
        Error::RateLimited {
            limit: RateLimit::ResendCooldown,
            ..
        }
    ));
    assert_eq!(early.retry_after(), Some(Duration::from_secs(30)));

    clock.advance(Duration::from_secs(30));
    let again = ready(codes.resend(&sent.id, SendOptions::default())).unwrap();
    assert_eq!(again.sends_left, 3);
    assert_eq!(
        outbox.last_code_to(&email).unwrap(),
        first,
        "a resend sends the same code"
    );

    // One wrong guess, then a new code: the guess still counts.
    let v = ready(codes.verify(
        &sent.id,
        Purpose::AddSecurityInfo,
        &wrong_code(first.expose()),
    ))
    .unwrap();
    assert!(matches!(v, Verification::Rejected { remaining: 4, .. }));
    clock.advance(Duration::from_secs(30));
    let renewed = ready(codes.new_code(&sent.id, SendOptions::default())).unwrap();
    assert_eq!(
        renewed.attempts_left, 4,
        "a new code does not reset attempts"
    );
    let second = outbox.last_code_to(&email).unwrap();
    if second != first {
        let v = ready(codes.verify(&sent.id, Purpose::AddSecurityInfo, first.expose())).unwrap();
        assert!(
            matches!(
                v,
                Verification::Rejected {
                    reason: Rejection::WrongCode,
                    remaining: 3
                }
            ),
            "{v:?}"
        );
    }
    assert!(
        ready(codes.verify(&sent.id, Purpose::AddSecurityInfo, second.expose()))
            .unwrap()
            .is_approved()
    );
}

#[test]
fn sends_per_challenge_are_capped() {
    let (codes, _outbox, clock) = memory_service();
    let (account, email) = ann();
    let sent = ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &email,
        SendOptions::default(),
    ))
    .unwrap();
    for _ in 0..4 {
        clock.advance(Duration::from_secs(30));
        ready(codes.resend(&sent.id, SendOptions::default())).unwrap();
    }
    clock.advance(Duration::from_secs(30));
    assert!(matches!(
        ready(codes.new_code(&sent.id, SendOptions::default())),
        Err(Error::SendLimitReached)
    ));
}

#[test]
fn sends_per_destination_are_capped_across_challenges() {
    let (codes, _outbox, clock) = memory_service();
    let (account, email) = ann();
    for _ in 0..10 {
        ready(codes.start(
            &account,
            Purpose::IdentityCheck,
            &email,
            SendOptions::default(),
        ))
        .unwrap();
        clock.advance(Duration::from_secs(60));
    }
    let err = ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &email,
        SendOptions::default(),
    ))
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RateLimited {
                limit: RateLimit::DestinationSends,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600 - 600)));
    // Another destination is not affected.
    let other = Contact::phone("+14255550100").unwrap();
    ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &other,
        SendOptions::default(),
    ))
    .unwrap();
    // The window reopens.
    clock.advance(Duration::from_secs(3000));
    ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &email,
        SendOptions::default(),
    ))
    .unwrap();
}

#[test]
fn account_locks_after_consecutive_failures_and_success_resets() {
    let limits = Limits::builder()
        .account_failure_cap(6)
        .account_lockout(Duration::from_secs(3600))
        .build()
        .unwrap();
    let (codes, outbox, clock) = memory_service();
    let codes = codes.with_config(Config::default().with_limits(limits));
    let (account, email) = ann();

    // Five failures, then a success: the count restarts.
    let a =
        ready(codes.start(&account, Purpose::Recovery, &email, SendOptions::default())).unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    for _ in 0..4 {
        let _ = ready(codes.verify(&a.id, Purpose::Recovery, &wrong_code(code.expose()))).unwrap();
    }
    assert!(
        ready(codes.verify(&a.id, Purpose::Recovery, code.expose()))
            .unwrap()
            .is_approved()
    );

    // Six failures across two challenges lock the account.
    let mut wrong = 0;
    for _ in 0..2 {
        clock.advance(Duration::from_secs(1));
        let c = ready(codes.start(&account, Purpose::Recovery, &email, SendOptions::default()))
            .unwrap();
        let code = outbox.last_code_to(&email).unwrap();
        for _ in 0..3 {
            match ready(codes.verify(&c.id, Purpose::Recovery, &wrong_code(code.expose()))).unwrap()
            {
                Verification::Rejected { .. } => wrong += 1,
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(wrong, 6);
    clock.advance(Duration::from_secs(60));
    let err = ready(codes.start(&account, Purpose::Recovery, &email, SendOptions::default()))
        .unwrap_err();
    assert!(matches!(
        err,
        Error::RateLimited {
            limit: RateLimit::RecoveryFailures,
            ..
        }
    ));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3540)));

    // A challenge started before the lock cannot be used to keep guessing, even
    // with the right code.
    let (codes2, outbox2, clock2) = memory_service();
    let short = Limits::builder()
        .account_failure_cap(6)
        .account_lockout(Duration::from_secs(300))
        .build()
        .unwrap();
    let codes2 = codes2.with_config(Config::default().with_limits(short));
    let early =
        ready(codes2.start(&account, Purpose::Recovery, &email, SendOptions::default())).unwrap();
    let early_code = outbox2.last_code_to(&email).unwrap();
    clock2.advance(Duration::from_secs(1));
    let late =
        ready(codes2.start(&account, Purpose::Recovery, &email, SendOptions::default())).unwrap();
    let late_code = outbox2.last_code_to(&email).unwrap();
    for _ in 0..5 {
        let _ = ready(codes2.verify(&late.id, Purpose::Recovery, &wrong_code(late_code.expose())))
            .unwrap();
    }
    let _ = ready(codes2.verify(
        &early.id,
        Purpose::Recovery,
        &wrong_code(early_code.expose()),
    ))
    .unwrap();
    let v = ready(codes2.verify(&early.id, Purpose::Recovery, early_code.expose())).unwrap();
    assert!(
        matches!(v, Verification::AccountLocked { retry_after } if retry_after == Duration::from_secs(300)),
        "{v:?}"
    );
    clock2.advance(Duration::from_secs(300));
    assert!(
        ready(codes2.verify(&early.id, Purpose::Recovery, early_code.expose()))
            .unwrap()
            .is_approved()
    );
}

#[test]
fn codes_are_bound_to_purpose_and_account() {
    let (codes, outbox, _clock) = memory_service();
    let (account, email) = ann();
    let sent = ready(codes.start(
        &account,
        Purpose::AddSecurityInfo,
        &email,
        SendOptions::default(),
    ))
    .unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    let v = ready(codes.verify(&sent.id, Purpose::Recovery, code.expose())).unwrap();
    assert!(matches!(
        v,
        Verification::Rejected {
            reason: Rejection::WrongPurpose,
            remaining: 4
        }
    ));
    let mallory = AccountId::new("mallory").unwrap();
    let v = ready(codes.verify_for_account(
        &sent.id,
        Purpose::AddSecurityInfo,
        &mallory,
        code.expose(),
    ))
    .unwrap();
    assert!(matches!(
        v,
        Verification::Rejected {
            reason: Rejection::WrongAccount,
            remaining: 3
        }
    ));
    let proof = ready(codes.verify_for_account(
        &sent.id,
        Purpose::AddSecurityInfo,
        &account,
        code.expose(),
    ))
    .unwrap()
    .into_proof()
    .unwrap();
    assert_eq!(proof.account(), &account);
    assert_eq!(proof.purpose(), Purpose::AddSecurityInfo);
    assert_eq!(proof.destination(), &email);
    assert_eq!(proof.challenge(), &sent.id);
}

#[test]
fn a_failed_delivery_cancels_the_challenge() {
    let (codes, outbox, _clock) = memory_service();
    let (account, email) = ann();
    outbox.set_failing(true);
    let err = ready(codes.start(&account, Purpose::Recovery, &email, SendOptions::default()))
        .unwrap_err();
    assert!(matches!(err, Error::Delivery(_)));
    assert_eq!(err.to_string(), "delivery failed");
    assert!(outbox.is_empty());
    assert_eq!(codes.store().len(), 1);
}

#[test]
fn unknown_and_swept_challenges_are_not_found() {
    let (codes, outbox, clock) = memory_service();
    let (account, email) = ann();
    let unknown = ChallengeId::from_bytes([9; 16]);
    assert!(matches!(
        ready(codes.verify(&unknown, Purpose::Recovery, "123456")).unwrap(),
        Verification::NotFound
    ));
    assert!(matches!(
        ready(codes.resend(&unknown, SendOptions::default())),
        Err(Error::ChallengeNotFound)
    ));
    assert!(matches!(
        ready(codes.cancel(&unknown)),
        Err(Error::ChallengeNotFound)
    ));

    let sent =
        ready(codes.start(&account, Purpose::Recovery, &email, SendOptions::default())).unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    // Retention ends 25 minutes after the start; the store sweeps by the minute,
    // and T0 is 20 s past a whole minute, so the record goes 40 s later.
    clock.advance(Duration::from_secs(600 + 900 + 39));
    assert_eq!(ready(codes.sweep()).unwrap(), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        ready(codes.sweep()).unwrap(),
        1,
        "the challenge is past its retention"
    );
    clock.advance(Duration::from_secs(3600 - 1540));
    assert_eq!(
        ready(codes.sweep()).unwrap(),
        2,
        "the send windows are over: the destination's recovery budget, the service's"
    );
    assert!(matches!(
        ready(codes.verify(&sent.id, Purpose::Recovery, code.expose())).unwrap(),
        Verification::NotFound
    ));
}

#[test]
fn cancel_stops_a_challenge() {
    let (codes, outbox, _clock) = memory_service();
    let (account, email) = ann();
    let sent = ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &email,
        SendOptions::default(),
    ))
    .unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    ready(codes.cancel(&sent.id)).unwrap();
    assert!(matches!(
        ready(codes.verify(&sent.id, Purpose::IdentityCheck, code.expose())).unwrap(),
        Verification::Canceled
    ));
    assert!(matches!(
        ready(codes.cancel(&sent.id)),
        Err(Error::ChallengeNotPending(Status::Canceled))
    ));
}

#[test]
fn challenges_survive_key_rotation_until_the_old_key_is_dropped() {
    let old = SecretKey::from_bytes([1; 32]);
    let new = SecretKey::from_bytes([2; 32]);
    let outbox = Arc::new(Outbox::new());
    let clock = Arc::new(ManualClock::new(T0));
    let store = Arc::new(MemoryChallengeStore::new());
    let (account, email) = ann();

    let before = SecurityCodes::new(store.clone(), outbox.clone(), Keyring::new(1, old.clone()))
        .with_clock(clock.clone());
    let sent =
        ready(before.start(&account, Purpose::Recovery, &email, SendOptions::default())).unwrap();
    let code = outbox.last_code_to(&email).unwrap();

    let rotated = SecurityCodes::new(
        store.clone(),
        outbox.clone(),
        Keyring::new(2, new.clone()).with_retired(1, old).unwrap(),
    )
    .with_clock(clock.clone());
    ready(rotated.start(
        &account,
        Purpose::IdentityCheck,
        &Contact::phone("+14255550100").unwrap(),
        SendOptions::default(),
    ))
    .unwrap();
    assert!(
        ready(rotated.verify(&sent.id, Purpose::Recovery, code.expose()))
            .unwrap()
            .is_approved()
    );

    let dropped = SecurityCodes::new(store, outbox, Keyring::new(2, new)).with_clock(clock);
    let err = ready(dropped.verify(&sent.id, Purpose::Recovery, code.expose()));
    assert!(matches!(err, Ok(Verification::AlreadyUsed)), "{err:?}");
    let orphan = ready(before.start(
        &account,
        Purpose::Recovery,
        &Contact::email("b@example.org").unwrap(),
        SendOptions::default(),
    ))
    .unwrap();
    assert!(matches!(
        ready(dropped.verify(&orphan.id, Purpose::Recovery, "123456")),
        Err(Error::UnknownKey(1))
    ));
}

#[test]
fn typed_input_is_normalised() {
    let (codes, outbox, _clock) = memory_service();
    let (account, email) = ann();
    let sent = ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &email,
        SendOptions::default(),
    ))
    .unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    let c = code.expose();
    let v = ready(codes.verify(
        &sent.id,
        Purpose::IdentityCheck,
        &format!("  {}-{} ", &c[..3], &c[3..]),
    ))
    .unwrap();
    assert!(v.is_approved(), "{v:?}");
    let sent =
        ready(codes.start(&account, Purpose::Recovery, &email, SendOptions::default())).unwrap();
    let code = outbox.last_code_to(&email).unwrap();
    let full_width: String = code
        .expose()
        .chars()
        .map(|d| char::from_u32(d as u32 + 0xFEE0).unwrap())
        .collect();
    assert!(
        ready(codes.verify(&sent.id, Purpose::Recovery, &full_width))
            .unwrap()
            .is_approved()
    );
    let sent = ready(codes.start(
        &account,
        Purpose::ChangePhone,
        &email,
        SendOptions::default(),
    ))
    .unwrap();
    let v = ready(codes.verify(&sent.id, Purpose::ChangePhone, "12345")).unwrap();
    assert!(
        matches!(
            v,
            Verification::Rejected {
                // Malformed input counts no attempt (see tests/identity.rs).
                remaining: 5,
                reason: Rejection::Malformed(seccode::Malformed::WrongLength {
                    expected: 6,
                    found: 5
                })
            }
        ),
        "{v:?}"
    );
}

/// A per-message Android app hash ends the SMS on a line of its own (the
/// English text still one segment), for resends too; an email is unchanged;
/// a malformed hash, or templates that already end each SMS, are refused
/// before anything is counted or sent.
#[test]
fn an_app_hash_ends_the_sms_it_is_asked_for() {
    use seccode::channel::sms_segments;
    let (codes, outbox, clock) = memory_service();
    let account = AccountId::new("droid").unwrap();
    let phone = Contact::phone("+14255550142").unwrap();
    let options = SendOptions::default().android_app_hash("FA+9qCX9VSu");
    let sent = ready(codes.start(&account, Purpose::IdentityCheck, &phone, options)).unwrap();
    let body = outbox.messages_to(&phone).last().unwrap().body().to_owned();
    let code = outbox.last_code_to(&phone).unwrap();
    assert!(
        body.starts_with(&format!("Your security code is {}.", code.expose())),
        "{body}"
    );
    assert!(body.ends_with("\n\nFA+9qCX9VSu"), "{body}");
    assert_eq!(sms_segments(&body).segments, 1, "{body}");
    clock.advance(Duration::from_secs(31));
    ready(codes.resend(&sent.id, options)).unwrap();
    assert!(
        outbox
            .messages_to(&phone)
            .last()
            .unwrap()
            .body()
            .ends_with("\nFA+9qCX9VSu")
    );

    let email = Contact::email("droid@example.org").unwrap();
    ready(codes.start(&account, Purpose::IdentityCheck, &email, options)).unwrap();
    assert!(
        !outbox
            .messages_to(&email)
            .last()
            .unwrap()
            .body()
            .contains("FA+9qCX9VSu")
    );

    let before = outbox.len();
    let other = Contact::phone("+14255550143").unwrap();
    for bad in ["short", "FA+9qCX9VS!", "FA+9qCX9VSuX"] {
        let refused = ready(codes.start(
            &account,
            Purpose::IdentityCheck,
            &other,
            SendOptions::default().android_app_hash(bad),
        ));
        assert!(
            matches!(refused, Err(Error::InvalidInput { .. })),
            "{bad}: {refused:?}"
        );
    }
    assert_eq!(outbox.len(), before, "nothing sent");
    let web = SecurityCodes::new(
        MemoryChallengeStore::new(),
        outbox.clone(),
        Keyring::new(1, SecretKey::from_bytes([3; 32])),
    )
    .with_templates(
        seccode::Templates::builtin()
            .with_web_otp_origin("example.com")
            .unwrap(),
    );
    assert!(matches!(
        ready(web.start(&account, Purpose::IdentityCheck, &other, options)),
        Err(Error::InvalidInput { .. })
    ));
    assert_eq!(outbox.len(), before, "nothing sent");
}

/// A message named for the application that sends it, with the warning not
/// to share the code: the name before the SMS and the email's subject, the
/// locale's warning after the SMS, both again on a resend, and before the
/// app hash's line; a name that is empty, too long or spans lines is
/// refused before anything is counted or sent.
#[test]
fn a_message_names_its_app_and_warns_not_to_share_the_code() {
    let (codes, outbox, clock) = memory_service();
    let account = AccountId::new("named").unwrap();
    let phone = Contact::phone("+14255550143").unwrap();
    let options = SendOptions::default()
        .app_name("Contoso")
        .do_not_share_warning(true)
        .android_app_hash("FA+9qCX9VSu");
    let sent = ready(codes.start(&account, Purpose::IdentityCheck, &phone, options)).unwrap();
    let code = outbox.last_code_to(&phone).unwrap();
    let body = outbox.messages_to(&phone).last().unwrap().body().to_owned();
    assert_eq!(
        body,
        format!(
            "Contoso: Your security code is {}. Use it to confirm it's you. It expires in 10 minutes. Don't share it with anyone.\n\nFA+9qCX9VSu",
            code.expose()
        )
    );
    clock.advance(Duration::from_secs(31));
    ready(codes.resend(&sent.id, options)).unwrap();
    let again = outbox.messages_to(&phone).last().unwrap().body().to_owned();
    assert_eq!(again, body, "a resend is worded alike");
    let email = Contact::email("named@example.org").unwrap();
    let spanish = SendOptions::default().app_name("Contoso").locale("es");
    ready(codes.start(&account, Purpose::IdentityCheck, &email, spanish)).unwrap();
    let mail = outbox.messages_to(&email).last().unwrap().clone();
    assert_eq!(mail.subject(), "Contoso: Tu código de seguridad");
    let sends = outbox.len();
    for name in ["", "A name much longer than thirty chars", "Two\nlines"] {
        let refused = ready(codes.start(
            &account,
            Purpose::IdentityCheck,
            &phone,
            SendOptions::default().app_name(name),
        ));
        assert!(
            matches!(
                refused,
                Err(Error::InvalidInput {
                    field: "app name",
                    ..
                })
            ),
            "{name:?}: {refused:?}"
        );
    }
    assert_eq!(outbox.len(), sends, "nothing sent");
}

/// A safe-listed number skips the caps on spend that guard against SMS
/// pumping — its calling code's and the service's — and only those: with the
/// country's cap used up by other numbers, it still gets its code, while its
/// own budget per destination still counts it; a resend too.
#[test]
fn a_safe_listed_number_skips_the_spend_caps_and_only_those() {
    use seccode::{Limits, MemoryChallengeStore};
    let hour = Duration::from_secs(3600);
    let limits = Limits::builder()
        .destination_sends(3, hour)
        .send_caps(100, 2, 1000, hour)
        .build()
        .unwrap();
    let outbox = Arc::new(seccode::Outbox::new());
    let clock = Arc::new(seccode::ManualClock::new(common::T0));
    let codes = SecurityCodes::new(
        MemoryChallengeStore::new(),
        outbox.clone(),
        Keyring::new(1, SecretKey::from_bytes([0x5f; 32])),
    )
    .with_clock(clock.clone())
    .with_config(seccode::Config::default().with_limits(limits));
    let account = AccountId::new("pumped").unwrap();
    let start = |to: &str, options: SendOptions<'_>| {
        let to = Contact::phone(to).unwrap();
        ready(codes.start(&account, Purpose::AddSecurityInfo, &to, options))
    };
    start("+14255550101", SendOptions::default()).unwrap();
    start("+14255550102", SendOptions::default()).unwrap();
    assert!(matches!(
        start("+14255550103", SendOptions::default()),
        Err(Error::RateLimited {
            limit: RateLimit::CallingCodeSends,
            ..
        })
    ));
    let safe = SendOptions::default().safe_listed(true);
    let sent = start("+14255550199", safe).unwrap();
    clock.advance(Duration::from_secs(31));
    ready(codes.resend(&sent.id, safe)).unwrap();
    start("+14255550199", safe).unwrap();
    assert!(
        matches!(
            start("+14255550199", safe),
            Err(Error::RateLimited {
                limit: RateLimit::DestinationSends,
                ..
            })
        ),
        "its own budget still counts it"
    );
    let to = Contact::phone("+14255550199").unwrap();
    assert_eq!(outbox.messages_to(&to).len(), 3);
}

/// A call can ask for a key press before the code is read (the locale's
/// prompt said first) and a text-to-speech voice; an email ignores both; a
/// voice name that is no name is refused before anything is sent.
#[test]
fn a_call_reads_the_code_after_a_key_press_in_the_voice_asked_for() {
    let (codes, outbox, _clock) = memory_service();
    let account = AccountId::new("caller").unwrap();
    let phone = Contact::phone("+14255550144").unwrap();
    let options = SendOptions::default()
        .press_key_first(true)
        .call_voice("Polly.Joanna")
        .locale("fr");
    ready(codes.start(&account, Purpose::IdentityCheck, &phone, options)).unwrap();
    let m = outbox.messages_to(&phone).last().unwrap().clone();
    assert_eq!(
        m.voice_prompt(),
        Some("Appuyez sur une touche pour entendre votre code de sécurité.")
    );
    assert_eq!(m.voice_name(), Some("Polly.Joanna"));
    let email = Contact::email("caller@example.org").unwrap();
    ready(codes.start(&account, Purpose::IdentityCheck, &email, options)).unwrap();
    let mail = outbox.messages_to(&email).last().unwrap().clone();
    assert_eq!((mail.voice_prompt(), mail.voice_name()), (None, None));
    let plain = SendOptions::default();
    let other = Contact::phone("+14255550145").unwrap();
    ready(codes.start(&account, Purpose::IdentityCheck, &other, plain)).unwrap();
    let m = outbox.messages_to(&other).last().unwrap().clone();
    assert_eq!((m.voice_prompt(), m.voice_name()), (None, None));
    let sends = outbox.len();
    let refused = ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &phone,
        SendOptions::default().call_voice("Polly Joanna; rm"),
    ));
    assert!(
        matches!(
            refused,
            Err(Error::InvalidInput {
                field: "call voice",
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(outbox.len(), sends);
}

/// A call can press digits once answered (an extension behind a
/// switchboard); an email ignores them; anything but digits, `*`, `#` and
/// `w` is refused before anything is sent or counted.
#[test]
fn a_call_presses_the_digits_asked_for_once_answered() {
    let (codes, outbox, _clock) = memory_service();
    let account = AccountId::new("caller").unwrap();
    let phone = Contact::phone("+14255550146").unwrap();
    let options = SendOptions::default().send_digits("ww1234#");
    ready(codes.start(&account, Purpose::IdentityCheck, &phone, options)).unwrap();
    let m = outbox.messages_to(&phone).last().unwrap().clone();
    assert_eq!(m.send_digits(), Some("ww1234#"));
    let email = Contact::email("caller@example.org").unwrap();
    ready(codes.start(&account, Purpose::IdentityCheck, &email, options)).unwrap();
    assert_eq!(
        outbox.messages_to(&email).last().unwrap().send_digits(),
        None
    );
    let sends = outbox.len();
    let other = Contact::phone("+14255550147").unwrap();
    for bad in ["", "12a", "1;2", &"1".repeat(33)] {
        let refused = ready(codes.start(
            &account,
            Purpose::IdentityCheck,
            &other,
            SendOptions::default().send_digits(bad),
        ));
        assert!(
            matches!(
                refused,
                Err(Error::InvalidInput {
                    field: "send digits",
                    ..
                })
            ),
            "{bad:?}: {refused:?}"
        );
    }
    assert_eq!(outbox.len(), sends);
    // Nothing was counted: the number still gets its code.
    ready(codes.start(
        &account,
        Purpose::IdentityCheck,
        &other,
        SendOptions::default(),
    ))
    .unwrap();
}
