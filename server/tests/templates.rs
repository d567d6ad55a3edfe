//! Message templates: `/v2/Templates` lists the server's configured
//! templates; a verification's `TemplateSid` (or its service's
//! `DefaultTemplateSid`, for SMS) writes its SMS or call from one — in the
//! verification's locale, with the service's name and the request's
//! `TemplateCustomSubstitutions` — and anything a template cannot honour is
//! refused before a message is sent or counted. An email verification's
//! `ChannelConfiguration` `template_id` writes its email from one of the
//! server's email templates with its `substitutions`.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod harness;

use harness::{
    ACCOUNT_SID, Backing, CUSTOM_TEMPLATE, EMAIL_TEMPLATE, Harness, TEMPLATE, assert_refused,
};

/// The text of the last SMS to `to`, and its code.
fn last_sms(h: &Harness, to: &str) -> (String, String) {
    let body = h.sms.last_body(to).unwrap();
    (
        body["text"].as_str().unwrap().to_owned(),
        body["code"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_templates_are_listed_and_paged_with_their_filter() {
    let h = Harness::start("templates-list").await;
    let (status, all) = h.get("/Templates").await;
    assert_eq!(status, 200, "{all}");
    let sids: Vec<&str> = all["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, [TEMPLATE, CUSTOM_TEMPLATE]);
    let base = &all["templates"][0];
    assert_eq!(base["account_sid"], ACCOUNT_SID);
    assert_eq!(base["channels"], serde_json::json!(["sms", "voice"]));
    assert_eq!(
        base["translations"]["en"]["text"],
        "Your {{friendly_name}} verification code is: {{code}}. Do not share this code with anyone."
    );
    assert_eq!(base["translations"]["en"]["is_default_translation"], true);
    assert_eq!(base["translations"]["fr"]["is_default_translation"], false);
    assert_eq!(base["translations"]["fi"]["status"], "approved");

    let (_, named) = h.get("/Templates?FriendlyName=app%20AND").await;
    assert_eq!(named["templates"].as_array().unwrap().len(), 1);
    assert_eq!(named["templates"][0]["sid"], CUSTOM_TEMPLATE);

    // Paged one at a time, the next page's URL keeps the filter.
    let (_, first) = h.get("/Templates?PageSize=1&FriendlyName=N").await;
    assert_eq!(first["templates"][0]["sid"], TEMPLATE);
    let next = first["meta"]["next_page_url"].as_str().unwrap().to_owned();
    assert!(next.contains("FriendlyName=N"), "{next}");
    let (_, second) = h.get(&next).await;
    assert_eq!(second["templates"][0]["sid"], CUSTOM_TEMPLATE, "{second}");
    assert!(second["meta"]["next_page_url"].is_null());
    let (_, filtered) = h.get("/Templates?PageSize=1&FriendlyName=template").await;
    assert_eq!(filtered["templates"][0]["sid"], TEMPLATE);
    assert!(filtered["meta"]["next_page_url"].is_null(), "{filtered}");
    let (_, unfiltered) = h.get("/Templates?PageSize=1").await;
    let next = unfiltered["meta"]["next_page_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, second) = h.get(&next).await;
    assert_eq!(second["templates"][0]["sid"], CUSTOM_TEMPLATE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_writes_the_sms_and_the_call_in_the_verifications_locale() {
    let h = Harness::start("templates-start").await;
    let (_, service) = h
        .post(
            "/Services",
            &[
                ("FriendlyName", "Contoso"),
                ("DoNotShareWarningEnabled", "true"),
            ],
        )
        .await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let verifications = format!("/Services/{sid}/Verifications");

    // English: the service's name filled in, the code once, nothing added
    // (the template warns in its own words) — and the code verifies.
    let to = "+447400123456";
    let (status, v) = h
        .post(
            &verifications,
            &[("To", to), ("Channel", "sms"), ("TemplateSid", TEMPLATE)],
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (text, code) = last_sms(&h, to);
    assert_eq!(
        text,
        format!("Your Contoso verification code is: {code}. Do not share this code with anyone.")
    );
    // Sent again while pending: the same words, the same code.
    let (status, _) = h
        .post(
            &verifications,
            &[("To", to), ("Channel", "sms"), ("TemplateSid", TEMPLATE)],
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(h.sms.count_to(to), 2);
    assert_eq!(last_sms(&h, to), (text, code.clone()));
    let (_, checked) = h
        .post(
            &format!("/Services/{sid}/VerificationCheck"),
            &[("To", to), ("Code", &code)],
        )
        .await;
    assert_eq!(checked["status"], "approved", "{checked}");

    // French and its Canadian variant: the French translation, with the
    // verification's own name; Finnish, which seccode does not write, is
    // taken with a template; German, which the template lacks, falls back
    // to its default (English).
    for (n, locale, starts) in [
        (1, "fr", "Votre code de vérification Fabrikam est : "),
        (2, "fr-CA", "Votre code de vérification Fabrikam est : "),
        (3, "fi", "Fabrikam-vahvistuskoodisi on: "),
        (4, "de", "Your Fabrikam verification code is: "),
    ] {
        let to = format!("+44740012346{n}");
        let (status, v) = h
            .post(
                &verifications,
                &[
                    ("To", &to),
                    ("Channel", "sms"),
                    ("TemplateSid", TEMPLATE),
                    ("Locale", locale),
                    ("CustomFriendlyName", "Fabrikam"),
                ],
            )
            .await;
        assert_eq!(status, 201, "{locale}: {v}");
        let (text, code) = last_sms(&h, &to);
        assert!(
            text.starts_with(&format!("{starts}{code}")),
            "{locale}: {text}"
        );
    }
    // Without a template, Finnish is still not written.
    assert_refused(
        &h.post(
            &verifications,
            &[
                ("To", "+447400123470"),
                ("Channel", "sms"),
                ("Locale", "fi"),
            ],
        )
        .await,
        "Locale",
    );

    // A call reads the template with the code one digit at a time.
    let to = "+447400123471";
    let (status, v) = h
        .post(
            &verifications,
            &[("To", to), ("Channel", "call"), ("TemplateSid", TEMPLATE)],
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let call = h.calls.last_body(to).unwrap();
    let code = call["code"].as_str().unwrap();
    let spoken = code
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        call["voice"].as_str().unwrap(),
        format!("Your Contoso verification code is: {spoken}. Do not share this code with anyone.")
    );

    // An Android app hash still ends the SMS.
    let to = "+447400123472";
    let (status, _) = h
        .post(
            &verifications,
            &[
                ("To", to),
                ("Channel", "sms"),
                ("TemplateSid", TEMPLATE),
                ("AppHash", "FA+9qCX9VSu"),
            ],
        )
        .await;
    assert_eq!(status, 201);
    let (text, _) = last_sms(&h, to);
    assert!(text.ends_with("anyone.\n\nFA+9qCX9VSu"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_variables_are_filled_and_anything_a_template_cannot_honour_is_refused_unsent() {
    let h = Harness::start("templates-refused").await;
    let (_, service) = h.post("/Services", &[("FriendlyName", "Contoso")]).await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let verifications = format!("/Services/{sid}/Verifications");

    let to = "+447400123456";
    let (status, v) = h
        .post(
            &verifications,
            &[
                ("To", to),
                ("Channel", "sms"),
                ("TemplateSid", CUSTOM_TEMPLATE),
                (
                    "TemplateCustomSubstitutions",
                    r#"{"AppName": "MyApp", "Contact": "help.example.com {{code}}"}"#,
                ),
            ],
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (text, code) = last_sms(&h, to);
    // A value is text: `{{code}}` in it is not the code.
    assert_eq!(
        text,
        format!("MyApp: your code is {code}. Questions? help.example.com {{{{code}}}}")
    );

    let unsent = "+447400123457";
    let start = |form: Vec<(&'static str, String)>| {
        let h = &h;
        let verifications = verifications.clone();
        async move {
            let mut all = vec![("To", unsent.to_owned()), ("Channel", "sms".to_owned())];
            all.extend(form);
            let borrowed: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
            h.post(&verifications, &borrowed).await
        }
    };
    let custom = |subs: &str| {
        vec![
            ("TemplateSid", CUSTOM_TEMPLATE.to_owned()),
            ("TemplateCustomSubstitutions", subs.to_owned()),
        ]
    };
    for (form, naming) in [
        (
            vec![(
                "TemplateSid",
                "HJ00000000000000000000000000000000".to_owned(),
            )],
            "TemplateSid",
        ),
        (
            vec![("TemplateSid", "not a sid <script>".to_owned())],
            "no template by that SID",
        ),
        (custom(r#"{"AppName": "MyApp"}"#), "Contact has no value"),
        (
            custom(r#"{"AppName": "a", "Contact": "b", "Extra": "c"}"#),
            "no variable Extra",
        ),
        (
            custom(r#"{"AppName": 7, "Contact": "b"}"#),
            "TemplateCustomSubstitutions",
        ),
        (custom("not json"), "TemplateCustomSubstitutions"),
        (
            custom(&format!(
                r#"{{"AppName": "{}", "Contact": "{}"}}"#,
                "a".repeat(100),
                "b".repeat(100)
            )),
            "segments",
        ),
        (
            vec![(
                "TemplateCustomSubstitutions",
                r#"{"AppName": "MyApp"}"#.to_owned(),
            )],
            "needs a template",
        ),
        (
            vec![
                ("TemplateSid", TEMPLATE.to_owned()),
                ("Locale", "xx".to_owned()),
            ],
            "Locale",
        ),
    ] {
        assert_refused(&start(form).await, naming);
    }
    // Channels a template does not serve.
    assert_refused(
        &h.post(
            &verifications,
            &[
                ("To", unsent),
                ("Channel", "call"),
                ("TemplateSid", CUSTOM_TEMPLATE),
            ],
        )
        .await,
        "not call",
    );
    assert_refused(
        &h.post(
            &verifications,
            &[
                ("To", "ann@example.org"),
                ("Channel", "email"),
                ("TemplateSid", TEMPLATE),
            ],
        )
        .await,
        "not email",
    );
    assert_eq!(h.sms.count_to(unsent), 0, "nothing was sent");
    assert_eq!(h.calls.count_to(unsent), 0, "nothing was called");
    // Nothing was counted either: the number still gets its code.
    let (status, _) = h
        .post(&verifications, &[("To", unsent), ("Channel", "sms")])
        .await;
    assert_eq!(status, 201);
    assert_eq!(h.sms.count_to(unsent), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_services_default_template_writes_its_sms_until_cleared() {
    default_template(&Harness::start("templates-default").await).await;
}

/// The same with the server's tables in PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_services_default_template_writes_its_sms_until_cleared_on_postgres() {
    default_template(&Harness::start_on("templates-default-postgres", Backing::Postgres).await)
        .await;
}

async fn default_template(h: &Harness) {
    assert_refused(
        &h.post(
            "/Services",
            &[
                ("FriendlyName", "Contoso"),
                ("DefaultTemplateSid", "HJ00000000000000000000000000000000"),
            ],
        )
        .await,
        "DefaultTemplateSid",
    );
    let (status, service) = h
        .post(
            "/Services",
            &[
                ("FriendlyName", "Contoso"),
                ("DefaultTemplateSid", TEMPLATE),
            ],
        )
        .await;
    assert_eq!(status, 201, "{service}");
    assert_eq!(service["default_template_sid"], TEMPLATE);
    let sid = service["sid"].as_str().unwrap().to_owned();
    let verifications = format!("/Services/{sid}/Verifications");

    let to = "+447400123456";
    h.post(&verifications, &[("To", to), ("Channel", "sms")])
        .await;
    let (text, code) = last_sms(h, to);
    assert!(
        text.starts_with(&format!("Your Contoso verification code is: {code}.")),
        "{text}"
    );
    // A call is not an SMS: seccode's own words.
    let to_call = "+447400123457";
    h.post(&verifications, &[("To", to_call), ("Channel", "call")])
        .await;
    let voice = h.calls.last_body(to_call).unwrap()["voice"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!voice.contains("verification code is"), "{voice}");
    // A verification's own template wins over the default.
    let to_custom = "+447400123458";
    h.post(
        &verifications,
        &[
            ("To", to_custom),
            ("Channel", "sms"),
            ("TemplateSid", CUSTOM_TEMPLATE),
            (
                "TemplateCustomSubstitutions",
                r#"{"AppName": "MyApp", "Contact": "help"}"#,
            ),
        ],
    )
    .await;
    assert!(last_sms(h, to_custom).0.starts_with("MyApp: "));

    // Kept, shown and cleared with an empty value.
    let (_, fetched) = h.get(&format!("/Services/{sid}")).await;
    assert_eq!(fetched["default_template_sid"], TEMPLATE);
    let (status, updated) = h
        .post(&format!("/Services/{sid}"), &[("DefaultTemplateSid", "")])
        .await;
    assert_eq!(status, 200, "{updated}");
    assert!(updated["default_template_sid"].is_null());
    let to = "+447400123459";
    h.post(&verifications, &[("To", to), ("Channel", "sms")])
        .await;
    let (text, _) = last_sms(h, to);
    assert!(text.starts_with("Contoso: "), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_template_writes_the_email_with_its_substitutions_escaped_in_the_html() {
    let h = Harness::start("templates-email").await;
    let (_, service) = h.post("/Services", &[("FriendlyName", "Contoso")]).await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let verifications = format!("/Services/{sid}/Verifications");
    let start = |to: &'static str, config: String| {
        let h = &h;
        let path = verifications.clone();
        async move {
            h.post(
                &path,
                &[
                    ("To", to),
                    ("Channel", "email"),
                    ("ChannelConfiguration", &config),
                ],
            )
            .await
        }
    };
    for (config, naming) in [
        (
            format!(r#"{{"template_id": "{EMAIL_TEMPLATE}"}}"#),
            "username has no value",
        ),
        (
            format!(
                r#"{{"template_id": "{EMAIL_TEMPLATE}", "substitutions": {{"username": "Ann", "x": "y"}}}}"#
            ),
            "no variable x",
        ),
        (
            format!(
                r#"{{"template_id": "{EMAIL_TEMPLATE}", "substitutions": {{"username": {{"first": "Ann"}}}}}}"#
            ),
            "not a string",
        ),
        (
            r#"{"template_id": "d-ffffffffffffffffffffffffffffffff"}"#.to_owned(),
            "no email template",
        ),
    ] {
        assert_refused(&start("ann@example.net", config).await, naming);
    }
    assert!(h.smtp.saved().is_empty(), "nothing refused was sent");

    let (status, v) = start(
        "ann@example.net",
        format!(
            r#"{{"template_id": "{EMAIL_TEMPLATE}", "from": "security@example.org", "substitutions": {{"username": "Ann <b>&"}}}}"#
        ),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let saved = h.smtp.saved();
    assert_eq!(saved.len(), 1);
    let mail = &saved[0].json;
    assert_eq!(mail["headers"]["Subject"], "Your Contoso code");
    assert_eq!(mail["headers"]["From"], "security@example.org");
    let part = |kind: &str| {
        mail["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["type"] == kind)
            .map(|p| p["content"].as_str().unwrap().trim_end().to_owned())
            .unwrap()
    };
    let text = part("text/plain");
    let code = text
        .strip_prefix("Hi Ann <b>&, your code is ")
        .and_then(|rest| rest.strip_suffix('.'))
        .unwrap_or_else(|| panic!("{text}"))
        .to_owned();
    assert_eq!(
        part("text/html"),
        format!("<p>Hi Ann &lt;b&gt;&amp;, your code is <b>{code}</b>.</p>")
    );
    let (_, checked) = h
        .post(
            &format!("/Services/{sid}/VerificationCheck"),
            &[("To", "ann@example.net"), ("Code", &code)],
        )
        .await;
    assert_eq!(checked["status"], "approved", "{checked}");
}
