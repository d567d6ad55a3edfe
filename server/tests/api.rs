//! The Verify v2 API end to end over HTTP: codes by SMS (webhook) and email
//! (a real SMTP server), checks, resends, limits, cancel, paging, and the
//! error bodies and codes Twilio's SDKs expect.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod harness;

use harness::{ACCOUNT_SID, AUTH_TOKEN, Backing, Harness, OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN};
use serde_json::Value;

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(h: &Harness) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("{}/v2", h.url),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        self.call_as(method, path, form, ACCOUNT_SID, AUTH_TOKEN)
            .await
    }

    async fn call_as(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
        user: &str,
        password: &str,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(user, Some(password));
        if !form.is_empty() {
            req = req.form(form);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, form).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, &[]).await
    }
}

fn assert_error(answer: &(u16, Value), status: u16, code: u64) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert_eq!(answer.1["status"], status);
    assert_eq!(
        answer.1["more_info"],
        format!("https://www.twilio.com/docs/errors/{code}")
    );
    assert!(answer.1.get("type").is_none(), "not an RFC 9457 body");
}

fn wrong(code: &str) -> String {
    let mut c: Vec<char> = code.chars().collect();
    c[0] = if c[0] == '9' {
        '0'
    } else {
        char::from(c[0] as u8 + 1)
    };
    c.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verify_api_end_to_end() {
    let h = Harness::start("api").await;
    end_to_end(&h).await;
}

/// The same with the codes' records in Redis (several servers may share it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verify_api_end_to_end_on_redis() {
    let h = Harness::start_on("api-redis", Backing::Redis).await;
    end_to_end(&h).await;
    assert!(
        h.redis_keys().unwrap() > 10,
        "the codes' records are in Redis"
    );
}

/// The same with everything in PostgreSQL (the several-servers
/// configuration): services, verifications, keys and the codes' records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verify_api_end_to_end_on_postgres() {
    let h = Harness::start_on("api-postgres", Backing::Postgres).await;
    end_to_end(&h).await;
    let dump = h.postgres_dump().unwrap();
    assert!(dump.contains("svc 0"), "the services are in PostgreSQL");
    assert!(
        dump.contains("seccode_challenges"),
        "so are the codes' records"
    );
}

/// Two server processes on one Redis and one PostgreSQL, as behind a load
/// balancer: a verification started on one is checked on the other, the
/// check budget is one budget across both, an approval or cancel through one
/// is seen by the other (each keeps its own caches: the code's record
/// decides), a service changed through one is shown by the other at once, and
/// one deleted through one stops the other's checks within the service
/// cache's lifetime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_servers_share_one_redis_and_one_postgres() {
    let h = Harness::start_on("api-several", Backing::RedisPostgres).await;
    let peer = h.peer().await;
    let a = Api::new(&h);
    let b = Api {
        http: reqwest::Client::new(),
        base: format!("{}/v2", peer.url),
    };
    let (status, service) = a.post("/Services", &[("FriendlyName", "Shared")]).await;
    assert_eq!(status, 201, "{service}");
    let sid = service["sid"].as_str().unwrap().to_owned();
    let path = format!("/Services/{sid}/Verifications");
    let check = format!("/Services/{sid}/VerificationCheck");

    // Started on A, checked on both: five checks in all, then 60202 on either.
    let to = "+15017122001";
    let (ve, code) = start_sms(&a, &h, &path, to).await;
    for (n, api) in [&b, &a, &b, &a, &b].into_iter().enumerate() {
        let (status, c) = api
            .post(&check, &[("VerificationSid", &ve), ("Code", &wrong(&code))])
            .await;
        assert_eq!(
            (status, &c["status"]),
            (200, &Value::from("pending")),
            "check {n}: {c}"
        );
        assert_eq!(c["to"], to);
    }
    assert_error(
        &a.post(&check, &[("VerificationSid", &ve), ("Code", &code)])
            .await,
        429,
        60202,
    );
    assert_error(
        &b.post(&check, &[("VerificationSid", &ve), ("Code", &code)])
            .await,
        429,
        60202,
    );

    // Started on A (A keeps its card), approved on B: A answers 404, approved.
    let to = "+15017122002";
    let (ve, code) = start_sms(&a, &h, &path, to).await;
    let (_, c) = a
        .post(&check, &[("VerificationSid", &ve), ("Code", &wrong(&code))])
        .await;
    assert_eq!(c["status"], "pending", "{c}");
    let (status, c) = b
        .post(&check, &[("VerificationSid", &ve), ("Code", &code)])
        .await;
    assert_eq!(
        (status, &c["status"]),
        (200, &Value::from("approved")),
        "{c}"
    );
    let again = a
        .post(&check, &[("VerificationSid", &ve), ("Code", &code)])
        .await;
    assert_error(&again, 404, 20404);
    assert!(
        again.1["message"].as_str().unwrap().contains("approved"),
        "{}",
        again.1
    );

    // Started on B, canceled through A: B answers 404, canceled; approved
    // through A (Status=approved): B says approved, not canceled.
    for target in ["canceled", "approved"] {
        let to = if target == "canceled" {
            "+15017122003"
        } else {
            "+15017122004"
        };
        let (ve, code) = start_sms(&b, &h, &path, to).await;
        let (status, u) = a.post(&format!("{path}/{ve}"), &[("Status", target)]).await;
        assert_eq!((status, &u["status"]), (200, &Value::from(target)), "{u}");
        let gone = b
            .post(&check, &[("VerificationSid", &ve), ("Code", &code)])
            .await;
        assert_error(&gone, 404, 20404);
        assert!(
            gone.1["message"].as_str().unwrap().contains(target),
            "{}",
            gone.1
        );
    }

    // A service changed through A: B's routes other than checks read the
    // database, so B shows the change at once.
    let (_, fetched) = b.get(&format!("/Services/{sid}")).await;
    assert_eq!(fetched["code_length"], 6);
    let (status, _) = a
        .post(&format!("/Services/{sid}"), &[("CodeLength", "8")])
        .await;
    assert_eq!(status, 200);
    let (_, fetched) = b.get(&format!("/Services/{sid}")).await;
    assert_eq!(fetched["code_length"], 8);

    // Deleted through A while B holds it (and a verification of it) in its
    // caches: B refuses a start at once, and its checks within the service
    // cache's lifetime (polled, with a deadline).
    let to = "+15017122005";
    let (ve, code) = start_sms(&b, &h, &path, to).await;
    let (_, c) = b
        .post(&check, &[("VerificationSid", &ve), ("Code", &wrong(&code))])
        .await;
    assert_eq!(c["status"], "pending", "{c}");
    let (status, _) = a
        .call(reqwest::Method::DELETE, &format!("/Services/{sid}"), &[])
        .await;
    assert_eq!(status, 204);
    assert_error(
        &b.post(&path, &[("To", "+15017122006"), ("Channel", "sms")])
            .await,
        404,
        20404,
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = b
            .post(&check, &[("VerificationSid", &ve), ("Code", &wrong(&code))])
            .await;
        if answer.0 == 404 {
            assert_error(&answer, 404, 20404);
            break;
        }
        // Until then: counted as ever (pending, then closed after five).
        assert!(answer.0 == 200 || answer.1["code"] == 60202, "{}", answer.1);
        assert!(
            std::time::Instant::now() < deadline,
            "B still serves a deleted service's checks"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Starts an SMS verification to `to` through `api`: its SID and the code sent.
async fn start_sms(api: &Api, h: &Harness, path: &str, to: &str) -> (String, String) {
    let (status, v) = api.post(path, &[("To", to), ("Channel", "sms")]).await;
    assert_eq!(status, 201, "{v}");
    let ve = v["sid"].as_str().unwrap().to_owned();
    (ve, h.sms.last_code(to).unwrap())
}

async fn end_to_end(h: &Harness) {
    let api = Api::new(h);
    let ready = reqwest::get(format!("{}/readyz", h.url)).await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    // A body over the limit is refused before any work.
    let big = "x".repeat(100 * 1024);
    let (status, _) = api.post("/Services", &[("FriendlyName", &big)]).await;
    assert_eq!(status, 413);

    // A service.
    let (status, service) = api.post("/Services", &[("FriendlyName", "My App")]).await;
    assert_eq!(status, 201, "{service}");
    let sid = service["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("VA") && sid.len() == 34);
    assert_eq!(service["account_sid"], ACCOUNT_SID);
    assert_eq!(service["code_length"], 6);
    assert_eq!(service["url"], format!("{}/v2/Services/{sid}", h.url));
    let date = service["date_created"].as_str().unwrap();
    assert!(date.len() == 20 && date.ends_with('Z'), "{date}");

    // SMS: start, a wrong code, the right one.
    let to = "+15017122661";
    let path = format!("/Services/{sid}/Verifications");
    let (status, v) = api.post(&path, &[("To", to), ("Channel", "sms")]).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["status"], "pending");
    assert_eq!(v["valid"], false);
    assert_eq!(v["to"], to);
    assert_eq!(v["send_code_attempts"].as_array().unwrap().len(), 1);
    let ve = v["sid"].as_str().unwrap().to_owned();
    assert!(ve.starts_with("VE") && ve.len() == 34);
    let code = h.sms.last_code(to).unwrap();
    assert_eq!(code.len(), 6);
    // A resend within the validity window: the same verification, the same code.
    let (status, again) = api.post(&path, &[("To", to), ("Channel", "sms")]).await;
    assert_eq!(status, 201);
    assert_eq!(again["sid"], ve.as_str());
    assert_eq!(again["send_code_attempts"].as_array().unwrap().len(), 2);
    assert_eq!(h.sms.count_to(to), 2);
    assert_eq!(h.sms.last_code(to).unwrap(), code);

    let check = format!("/Services/{sid}/VerificationCheck");
    let (status, c) = api
        .post(&check, &[("To", to), ("Code", &wrong(&code))])
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["status"], "pending");
    assert_eq!(c["valid"], false);
    let (status, c) = api
        .post(&check, &[("VerificationSid", &ve), ("Code", &code)])
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["status"], "approved");
    assert_eq!(c["valid"], true);
    assert_eq!(c["sna_attempts_error_codes"], serde_json::json!([]));
    // Approved: fetching and checking answer 404 20404, saying why.
    let gone = api.get(&format!("{path}/{ve}")).await;
    assert_error(&gone, 404, 20404);
    assert!(
        gone.1["message"].as_str().unwrap().contains("approved"),
        "{}",
        gone.1
    );
    let again = api
        .post(&check, &[("VerificationSid", &ve), ("Code", &code)])
        .await;
    assert_error(&again, 404, 20404);

    // Email through the SMTP server.
    let email = "someone@example.org";
    let (status, v) = api
        .post(&path, &[("To", email), ("Channel", "email")])
        .await;
    assert_eq!(status, 201, "{v}");
    let code = h.last_mailed_code(email, 6).unwrap();
    let (_, c) = api.post(&check, &[("To", email), ("Code", &code)]).await;
    assert_eq!(c["status"], "approved", "{c}");

    // A call: the voice gateway gets the text to read; the code checks.
    let called = "+14155550130";
    let (status, v) = api
        .post(&path, &[("To", called), ("Channel", "call")])
        .await;
    assert_eq!(
        (status, v["channel"].clone()),
        (201, Value::from("call")),
        "{v}"
    );
    assert_eq!(h.sms.count_to(called), 0, "no SMS for a call");
    let request = h.calls.last_body(called).unwrap();
    let code = request["code"].as_str().unwrap().to_owned();
    let voice = request["voice"].as_str().unwrap();
    // The digits one by one, twice (Fluent may wrap the argument in isolation
    // marks, so compare without them).
    let spoken = code
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(", ");
    let plain: String = voice
        .chars()
        .filter(|c| !matches!(c, '\u{2068}' | '\u{2069}'))
        .collect();
    assert_eq!(plain.matches(&spoken).count(), 2, "{plain}");
    let (_, c) = api.post(&check, &[("To", called), ("Code", &code)]).await;
    assert_eq!(c["status"], "approved", "{c}");

    // Five wrong checks, then 60202.
    let to2 = "+14155550123";
    let (_, v) = api.post(&path, &[("To", to2), ("Channel", "sms")]).await;
    let code = h.sms.last_code(to2).unwrap();
    for _ in 0..5 {
        let (status, c) = api
            .post(&check, &[("To", to2), ("Code", &wrong(&code))])
            .await;
        assert_eq!(
            (status, c["valid"].clone()),
            (200, Value::Bool(false)),
            "{c}"
        );
    }
    let locked = api.post(&check, &[("To", to2), ("Code", &code)]).await;
    assert_error(&locked, 429, 60202);
    let fetched = api
        .get(&format!("{path}/{}", v["sid"].as_str().unwrap()))
        .await;
    assert_error(&fetched, 404, 20404);

    // Five sends, then 60203.
    let to3 = "+14155550124";
    for n in 1..=5 {
        let (status, v) = api.post(&path, &[("To", to3), ("Channel", "sms")]).await;
        assert_eq!(status, 201, "send {n}: {v}");
    }
    let sixth = api.post(&path, &[("To", to3), ("Channel", "sms")]).await;
    assert_error(&sixth, 429, 60203);

    // Cancel.
    let to4 = "+14155550125";
    let (_, v) = api.post(&path, &[("To", to4), ("Channel", "sms")]).await;
    let ve4 = v["sid"].as_str().unwrap().to_owned();
    let (status, v) = api
        .post(&format!("{path}/{ve4}"), &[("Status", "canceled")])
        .await;
    assert_eq!(
        (status, v["status"].clone()),
        (200, Value::from("canceled")),
        "{v}"
    );
    let code = h.sms.last_code(to4).unwrap();
    let after = api
        .post(&check, &[("VerificationSid", &ve4), ("Code", &code)])
        .await;
    assert_error(&after, 404, 20404);
    assert!(after.1["message"].as_str().unwrap().contains("canceled"));

    // Refusals.
    assert_error(
        &api.post(&path, &[("To", "not a number"), ("Channel", "sms")])
            .await,
        400,
        60200,
    );
    let custom = api
        .post(
            &path,
            &[("To", to), ("Channel", "sms"), ("CustomCode", "123456")],
        )
        .await;
    assert_error(&custom, 400, 60200);
    assert!(custom.1["message"].as_str().unwrap().contains("CustomCode"));
    assert_error(
        &api.post(&path, &[("To", to), ("Channel", "sna")]).await,
        400,
        60223,
    );
    assert_error(
        &api.post("/Services", &[("FriendlyName", "")]).await,
        400,
        60200,
    );
    assert_error(
        &api.post("/Services", &[("FriendlyName", "x"), ("CodeLength", "3")])
            .await,
        400,
        60200,
    );

    // Authentication: a wrong token, an unknown account, no header.
    let bad = api
        .call_as(reqwest::Method::GET, "/Services", &[], ACCOUNT_SID, "wrong")
        .await;
    assert_error(&bad, 401, 20003);
    let stranger = "AC00000000000000000000000000000000";
    let bad = api
        .call_as(
            reqwest::Method::GET,
            &format!("/Services/{sid}"),
            &[],
            stranger,
            AUTH_TOKEN,
        )
        .await;
    assert_error(&bad, 401, 20003);

    // Paging: 5 more services, pages of 2, following next_page_url as given.
    for i in 0..5 {
        let (status, _) = api
            .post("/Services", &[("FriendlyName", &format!("svc {i}"))])
            .await;
        assert_eq!(status, 201);
    }
    let mut seen = Vec::new();
    let mut next = format!("{}/v2/Services?PageSize=2", h.url);
    loop {
        let r = api
            .http
            .get(&next)
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let page: Value = r.json().await.unwrap();
        assert_eq!(page["meta"]["key"], "services");
        assert_eq!(page["meta"]["page_size"], 2);
        for s in page["services"].as_array().unwrap() {
            seen.push(s["sid"].as_str().unwrap().to_owned());
        }
        match page["meta"]["next_page_url"].as_str() {
            Some(url) => next = url.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen[0], sid);

    // Update, then delete: its verifications go with it.
    let (status, s) = api
        .post(
            &format!("/Services/{sid}"),
            &[("FriendlyName", "Renamed"), ("CodeLength", "8")],
        )
        .await;
    assert_eq!(
        (status, s["friendly_name"].clone()),
        (200, Value::from("Renamed"))
    );
    assert_eq!(s["code_length"], 8);
    let r = api
        .call(reqwest::Method::DELETE, &format!("/Services/{sid}"), &[])
        .await;
    assert_eq!(r.0, 204);
    assert_error(&api.get(&format!("/Services/{sid}")).await, 404, 20404);
}

/// API keys: created by the binary's `key create` (SID and secret printed
/// once), accepted as Basic credentials for their account, refused with a
/// wrong secret or once revoked — 401/20003 either way.
/// Tenant B starts, cancels and restarts verifications to one number until its
/// own budget for it refuses (60212); tenant A's codes to the number still go
/// out — on SQLite and on Redis.
async fn one_tenant_cannot_silence_a_number_for_another(h: &Harness) {
    let api = Api::new(h);
    let to = "+15017122699";
    let as_b = |method, path: String, form: Vec<(&'static str, String)>| {
        let api = &api;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            api.call_as(method, &path, &form, OTHER_ACCOUNT_SID, OTHER_AUTH_TOKEN)
                .await
        }
    };
    let (status, b_service) = as_b(
        reqwest::Method::POST,
        "/Services".into(),
        vec![("FriendlyName", "tenant b".into())],
    )
    .await;
    assert_eq!(status, 201, "{b_service}");
    let b_sid = b_service["sid"].as_str().unwrap().to_owned();
    let mut sent_by_b = 0;
    let refused = loop {
        let answer = as_b(
            reqwest::Method::POST,
            format!("/Services/{b_sid}/Verifications"),
            vec![("To", to.into()), ("Channel", "sms".into())],
        )
        .await;
        if answer.0 != 201 {
            break answer;
        }
        sent_by_b += 1;
        let ve = answer.1["sid"].as_str().unwrap().to_owned();
        let (status, _) = as_b(
            reqwest::Method::POST,
            format!("/Services/{b_sid}/Verifications/{ve}"),
            vec![("Status", "canceled".into())],
        )
        .await;
        assert_eq!(status, 200);
        assert!(sent_by_b <= 10, "tenant B was never refused");
    };
    assert_eq!(sent_by_b, 10);
    assert_error(&refused, 429, 60212);
    assert_eq!(h.sms.count_to(to), 10);
    // Tenant A is not held up by B's sends.
    let (_, a_service) = api.post("/Services", &[("FriendlyName", "tenant a")]).await;
    let a_sid = a_service["sid"].as_str().unwrap().to_owned();
    let (ve, code) = start_sms(&api, h, &format!("/Services/{a_sid}/Verifications"), to).await;
    let (status, check) = api
        .post(
            &format!("/Services/{a_sid}/VerificationCheck"),
            &[("VerificationSid", &ve), ("Code", &code)],
        )
        .await;
    assert_eq!((status, check["status"].as_str()), (200, Some("approved")));
}

/// Services of different code lengths share one server: each verification's
/// code has its service's length, and a check whose code has another length
/// is answered "pending" without spending one of the verification's checks
/// (a 4-digit service allows one).
async fn each_service_gets_codes_of_its_length(h: &Harness) {
    let api = Api::new(h);
    for (length, to, typed) in [
        ("8", "+15017122801", "123456"),
        ("4", "+15017122802", "123456"),
        ("6", "+15017122803", "12345678"),
    ] {
        let (status, service) = api
            .post(
                "/Services",
                &[("FriendlyName", "Lengths"), ("CodeLength", length)],
            )
            .await;
        assert_eq!(status, 201, "{service}");
        let sid = service["sid"].as_str().unwrap();
        let (ve, code) = start_sms(&api, h, &format!("/Services/{sid}/Verifications"), to).await;
        assert_eq!(code.len().to_string(), length);
        let check = format!("/Services/{sid}/VerificationCheck");
        for _ in 0..8 {
            let (status, c) = api
                .post(&check, &[("VerificationSid", &ve), ("Code", typed)])
                .await;
            assert_eq!(
                (status, &c["status"]),
                (200, &Value::from("pending")),
                "{c}"
            );
        }
        let (status, c) = api
            .post(&check, &[("VerificationSid", &ve), ("Code", &code)])
            .await;
        assert_eq!(
            (status, &c["status"]),
            (200, &Value::from("approved")),
            "{c}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_of_each_code_length_share_one_server() {
    let h = Harness::start("lengths").await;
    each_service_gets_codes_of_its_length(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_of_each_code_length_share_one_server_on_redis() {
    let h = Harness::start_on("lengths-redis", Backing::Redis).await;
    each_service_gets_codes_of_its_length(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_have_their_own_budget_per_number() {
    let h = Harness::start("tenants").await;
    one_tenant_cannot_silence_a_number_for_another(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_have_their_own_budget_per_number_on_redis() {
    let h = Harness::start_on("tenants-redis", Backing::Redis).await;
    one_tenant_cannot_silence_a_number_for_another(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_from_the_command_line_authenticate() {
    let h = Harness::start("keys").await;
    let api = Api::new(&h);
    let bin = env!("CARGO_BIN_EXE_seccode-server");
    let out = std::process::Command::new(bin)
        .arg("--config")
        .arg(&h.config_path)
        .args(["key", "create", "--account", ACCOUNT_SID, "--name", "ci"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .to_owned()
    };
    let (sid, secret) = (field("sid "), field("secret "));
    assert!(sid.starts_with("SK") && sid.len() == 34, "{sid}");
    let ok = api
        .call_as(reqwest::Method::GET, "/Services", &[], &sid, &secret)
        .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    let (status, created) = api
        .call_as(
            reqwest::Method::POST,
            "/Services",
            &[("FriendlyName", "by key")],
            &sid,
            &secret,
        )
        .await;
    assert_eq!(
        (status, created["account_sid"].clone()),
        (201, Value::from(ACCOUNT_SID))
    );
    let wrong_secret = api
        .call_as(
            reqwest::Method::GET,
            "/Services",
            &[],
            &sid,
            "0123456789abcdef0123456789abcdef",
        )
        .await;
    assert_error(&wrong_secret, 401, 20003);
    let unknown = "SK0123456789abcdef0123456789abcdef";
    assert_error(
        &api.call_as(reqwest::Method::GET, "/Services", &[], unknown, &secret)
            .await,
        401,
        20003,
    );
    // An unknown account cannot make keys; revoking ends a key.
    let stranger = std::process::Command::new(bin)
        .arg("--config")
        .arg(&h.config_path)
        .args([
            "key",
            "create",
            "--account",
            "AC00000000000000000000000000000000",
        ])
        .output()
        .unwrap();
    assert!(!stranger.status.success());
    let revoked = std::process::Command::new(bin)
        .arg("--config")
        .arg(&h.config_path)
        .args(["key", "revoke", &sid])
        .output()
        .unwrap();
    assert!(revoked.status.success());
    assert_error(
        &api.call_as(reqwest::Method::GET, "/Services", &[], &sid, &secret)
            .await,
        401,
        20003,
    );
}

/// RateLimits and Buckets: CRUD as Twilio's, and a verification's `RateLimits`
/// values counted in each bucket of the rate limits they name — the bucket
/// refuses (429/20429 with Retry-After) once full, per value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_buckets_hold_per_value() {
    let h = Harness::start("rate-limits").await;
    let api = Api::new(&h);
    let (_, service) = api.post("/Services", &[("FriendlyName", "limited")]).await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let limits = format!("/Services/{sid}/RateLimits");
    let (status, rk) = api
        .post(
            &limits,
            &[
                ("UniqueName", "end_user_ip_address"),
                ("Description", "per IP"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{rk}");
    let rk_sid = rk["sid"].as_str().unwrap().to_owned();
    assert!(rk_sid.starts_with("RK"));
    assert_error(
        &api.post(&limits, &[("UniqueName", "end_user_ip_address")])
            .await,
        400,
        60200,
    );
    let buckets = format!("{limits}/{rk_sid}/Buckets");
    let (status, bl) = api
        .post(&buckets, &[("Max", "2"), ("Interval", "60")])
        .await;
    assert_eq!(status, 201, "{bl}");
    assert_eq!(
        (bl["max"].clone(), bl["interval"].clone()),
        (Value::from(2), Value::from(60))
    );
    assert_error(
        &api.post(&buckets, &[("Max", "0"), ("Interval", "60")])
            .await,
        400,
        60200,
    );
    let (_, listed) = api.get(&buckets).await;
    assert_eq!(listed["meta"]["key"], "buckets");
    assert_eq!(listed["buckets"].as_array().unwrap().len(), 1);
    let (_, listed) = api.get(&limits).await;
    assert_eq!(
        listed["rate_limits"][0]["unique_name"],
        "end_user_ip_address"
    );

    let path = format!("/Services/{sid}/Verifications");
    let ip = r#"{"end_user_ip_address": "203.0.113.7"}"#;
    for n in 0..2 {
        let to = format!("+1415555020{n}");
        let (status, v) = api
            .post(
                &path,
                &[("To", &to), ("Channel", "sms"), ("RateLimits", ip)],
            )
            .await;
        assert_eq!(status, 201, "{v}");
    }
    let third = api
        .post(
            &path,
            &[
                ("To", "+14155550209"),
                ("Channel", "sms"),
                ("RateLimits", ip),
            ],
        )
        .await;
    assert_error(&third, 429, 20429);
    assert_eq!(h.sms.count_to("+14155550209"), 0, "nothing sent");
    let other_ip = r#"{"end_user_ip_address":"198.51.100.1"}"#;
    let (status, _) = api
        .post(
            &path,
            &[
                ("To", "+14155550209"),
                ("Channel", "sms"),
                ("RateLimits", other_ip),
            ],
        )
        .await;
    assert_eq!(status, 201, "another value has its own bucket");
    let unknown = api
        .post(
            &path,
            &[
                ("To", "+14155550210"),
                ("Channel", "sms"),
                ("RateLimits", r#"{"nope": "1"}"#),
            ],
        )
        .await;
    assert_error(&unknown, 400, 60200);
    // Raising the bucket lets the value through again; deleting the rate limit
    // takes its buckets.
    let (status, _) = api
        .post(
            &format!("{buckets}/{}", bl["sid"].as_str().unwrap()),
            &[("Max", "3")],
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = api
        .post(
            &path,
            &[
                ("To", "+14155550211"),
                ("Channel", "sms"),
                ("RateLimits", ip),
            ],
        )
        .await;
    assert_eq!(status, 201);
    let gone = api
        .call(reqwest::Method::DELETE, &format!("{limits}/{rk_sid}"), &[])
        .await;
    assert_eq!(gone.0, 204);
    assert_error(&api.get(&buckets).await, 404, 20404);
}

/// A provider slower than `request_timeout_secs`: the request answers 503 in
/// Twilio's error shape instead of holding the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_provider_times_the_request_out() {
    let h = Harness::start_with(
        "timeout",
        Backing::Sqlite,
        "request_timeout_secs = 1",
        2_500,
    )
    .await;
    let api = Api::new(&h);
    let (_, service) = api.post("/Services", &[("FriendlyName", "slow")]).await;
    let path = format!(
        "/Services/{}/Verifications",
        service["sid"].as_str().unwrap()
    );
    // Without the timeout the send would finish and answer 201.
    let answer = api
        .post(&path, &[("To", "+14155550140"), ("Channel", "sms")])
        .await;
    assert_error(&answer, 503, 20503);
}

/// SIGTERM while a code is being delivered: the server stops taking
/// connections, finishes the delivery and answers it (201, the SMS sent), then
/// exits cleanly — a rolling restart loses no code in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_delivery_in_flight() {
    let h = Harness::start_with("drain", Backing::Sqlite, "", 1_500).await;
    let mut peer = h.peer().await;
    let api = Api {
        http: reqwest::Client::new(),
        base: format!("{}/v2", peer.url),
    };
    let (_, service) = api.post("/Services", &[("FriendlyName", "drain")]).await;
    let path = format!(
        "/Services/{}/Verifications",
        service["sid"].as_str().unwrap()
    );
    let to = "+14155550141";
    let start =
        tokio::spawn(async move { api.post(&path, &[("To", to), ("Channel", "sms")]).await });
    // The delivery has reached the (slow) provider: stop the server now.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.sms_arrived.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(std::time::Instant::now() < deadline, "no delivery began");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    peer.terminate();
    let (status, v) = start.await.unwrap();
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["status"], "pending");
    assert_eq!(h.sms.count_to(to), 1, "the code was delivered");
    let exit = peer
        .exited(std::time::Duration::from_secs(10))
        .await
        .expect("the server exits once drained");
    assert!(exit.success(), "{exit:?}");
    // And it no longer answers.
    assert!(reqwest::get(format!("{}/healthz", peer.url)).await.is_err());
}

/// What the server cannot honour it refuses, naming the parameter, instead of
/// accepting and ignoring it; at Twilio's defaults the same parameters pass.
/// A check that carries an amount without a payee is refused before it is
/// counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_the_server_cannot_honour_is_refused_naming_it() {
    let h = Harness::start("refused").await;
    let api = Api::new(&h);
    for (name, value) in [
        ("CustomCodeEnabled", "True"),
        ("Totp.Issuer", "Example"),
        ("Push.IncludeDate", "true"),
        ("Passkeys.RelyingParty.Name", "Example"),
        ("Passkeys.RelyingParty.Id", "example.com"),
    ] {
        let answer = api
            .post("/Services", &[("FriendlyName", "Refused"), (name, value)])
            .await;
        assert_error(&answer, 400, 60200);
        let message = answer.1["message"].as_str().unwrap();
        assert!(
            message.contains(name) && message.contains("not supported"),
            "{message}"
        );
    }
    // Twilio's defaults ask for nothing: accepted.
    let (status, service) = api
        .post(
            "/Services",
            &[
                ("FriendlyName", "Defaults"),
                ("Psd2Enabled", "false"),
                ("LookupEnabled", "False"),
                ("TtsName", ""),
            ],
        )
        .await;
    assert_eq!(status, 201, "{service}");
    let sid = service["sid"].as_str().unwrap();
    assert_error(
        &api.post(
            &format!("/Services/{sid}"),
            &[("CustomCodeEnabled", "true")],
        )
        .await,
        400,
        60200,
    );
    let path = format!("/Services/{sid}/Verifications");
    let to = "+15017122700";
    for (name, value) in [
        ("Amount", "€39.99"),
        ("Payee", "Acme Inc."),
        ("CustomFriendlyName", "A name longer than thirty chars"),
        ("AppHash", "not-a-hash"),
        ("Tags", r#"{"order":["1234"]}"#),
        ("RiskCheck", "disable"),
        ("TemplateSid", "HJ00000000000000000000000000000000"),
        ("SendDigits", "1234"),
        ("DeviceIp", "not-an-ip"),
    ] {
        let answer = api
            .post(&path, &[("To", to), ("Channel", "sms"), (name, value)])
            .await;
        assert_error(&answer, 400, 60200);
        assert!(
            answer.1["message"].as_str().unwrap().contains(name),
            "{}",
            answer.1
        );
    }
    assert_eq!(h.sms.count_to(to), 0, "nothing refused was sent");
    let (status, v) = api
        .post(
            &path,
            &[
                ("To", to),
                ("Channel", "sms"),
                ("RiskCheck", "enable"),
                ("DeviceIp", "2001:db8::7"),
                ("AppHash", "FA+9qCX9VSu"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let sms = h.sms.last_body(to).unwrap();
    assert!(
        sms["text"].as_str().unwrap().ends_with("\n\nFA+9qCX9VSu"),
        "the app hash ends the SMS: {sms}"
    );
    let ve = v["sid"].as_str().unwrap();
    let code = h.sms.last_code(to).unwrap();
    // A check that carries an amount without its payee is refused, and
    // counts nothing: the right code still approves afterwards, on its one
    // verification.
    let check = format!("/Services/{sid}/VerificationCheck");
    let refused = api
        .post(
            &check,
            &[
                ("VerificationSid", ve),
                ("Code", &code),
                ("Amount", "€1.00"),
            ],
        )
        .await;
    assert_error(&refused, 400, 60200);
    let (status, c) = api
        .post(&check, &[("VerificationSid", ve), ("Code", &code)])
        .await;
    assert_eq!(
        (status, &c["status"]),
        (200, &Value::from("approved")),
        "{c}"
    );
}

/// `to` is answered in E.164 however the number was typed (an email address
/// as given); a channel Twilio does not have is 60200, one this server does
/// not offer 60223.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_numbers_are_answered_in_e164_and_channels_as_twilio_does() {
    let h = Harness::start("e164").await;
    let api = Api::new(&h);
    let (_, service) = api.post("/Services", &[("FriendlyName", "E164")]).await;
    let sid = service["sid"].as_str().unwrap();
    let path = format!("/Services/{sid}/Verifications");
    let (status, v) = api
        .post(&path, &[("To", "+1 (501) 712-2701"), ("Channel", "sms")])
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["to"], "+15017122701");
    let ve = v["sid"].as_str().unwrap();
    let (_, fetched) = api.get(&format!("{path}/{ve}")).await;
    assert_eq!(fetched["to"], "+15017122701");
    let code = h.sms.last_code("+15017122701").unwrap();
    let (_, c) = api
        .post(
            &format!("/Services/{sid}/VerificationCheck"),
            &[("To", "+1 501-712-2701"), ("Code", &code)],
        )
        .await;
    assert_eq!(
        (&c["status"], &c["to"]),
        (&Value::from("approved"), &Value::from("+15017122701")),
        "{c}"
    );
    assert_error(
        &api.post(&path, &[("To", "+15017122702"), ("Channel", "pigeon")])
            .await,
        400,
        60200,
    );
    assert_error(
        &api.post(&path, &[("To", "+15017122702"), ("Channel", "auto")])
            .await,
        400,
        60223,
    );
}

/// The HTTP layer's own refusals are Twilio error bodies, and an update
/// without a body (and so without `Content-Type`) is an update that changes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_edges_answer_as_twilio_does() {
    let h = Harness::start("edges").await;
    let api = Api::new(&h);
    let (_, service) = api.post("/Services", &[("FriendlyName", "Edges")]).await;
    let sid = service["sid"].as_str().unwrap();
    let url = format!("{}/Services/{sid}", api.base);
    let empty = api
        .http
        .post(&url)
        .basic_auth(harness::ACCOUNT_SID, Some(harness::AUTH_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status().as_u16(), 200);
    let body: Value = empty.json().await.unwrap();
    assert_eq!(body["friendly_name"], "Edges");

    let answer = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let ty = r.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(ty.starts_with("application/json"), "{status}: {ty}");
        (status, r.json::<Value>().await.unwrap())
    };
    let auth =
        |r: reqwest::RequestBuilder| r.basic_auth(harness::ACCOUNT_SID, Some(harness::AUTH_TOKEN));
    let not_allowed = answer(auth(api.http.put(&url)).send().await.unwrap()).await;
    assert_error(&not_allowed, 405, 20004);
    let json_body = answer(
        auth(api.http.post(&url))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(r#"{"FriendlyName":"x"}"#)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&json_body, 415, 60200);
    let large = answer(
        auth(api.http.post(&url))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(format!("FriendlyName={}", "x".repeat(70 * 1024)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&large, 413, 60200);
    assert!(
        !large.1["message"].as_str().unwrap().contains("xxx"),
        "no body text echoed"
    );
}

/// `LookupEnabled` reports the line type libphonenumber's metadata gives a
/// number, and `SkipSmsToLandlines` refuses an SMS to a fixed line (60205)
/// before anything is sent; a number whose type the metadata does not tell
/// (North America) is sent and reports null.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_report_the_line_type_and_landlines_get_no_sms() {
    let h = Harness::start("lookup").await;
    let api = Api::new(&h);
    assert_error(
        &api.post(
            "/Services",
            &[("FriendlyName", "Skip"), ("SkipSmsToLandlines", "true")],
        )
        .await,
        400,
        60200,
    );
    let (status, service) = api
        .post(
            "/Services",
            &[
                ("FriendlyName", "Lookup"),
                ("LookupEnabled", "true"),
                ("SkipSmsToLandlines", "true"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{service}");
    assert_eq!(
        (
            &service["lookup_enabled"],
            &service["skip_sms_to_landlines"]
        ),
        (&Value::from(true), &Value::from(true))
    );
    let sid = service["sid"].as_str().unwrap();
    let path = format!("/Services/{sid}/Verifications");
    // A London fixed line (Ofcom's range for drama).
    let landline = api
        .post(&path, &[("To", "+44 20 7946 0958"), ("Channel", "sms")])
        .await;
    assert_error(&landline, 400, 60205);
    assert_eq!(h.sms.count_to("+442079460958"), 0, "nothing sent");
    // A UK mobile (libphonenumber's example number).
    let (status, v) = api
        .post(&path, &[("To", "+44 7400 123456"), ("Channel", "sms")])
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["lookup"]["carrier"]["type"], "mobile", "{v}");
    assert!(v["lookup"]["carrier"]["mobile_country_code"].is_null());
    let (status, v) = api
        .post(&path, &[("To", "+15017122750"), ("Channel", "sms")])
        .await;
    assert_eq!(status, 201, "{v}");
    assert!(v["lookup"]["carrier"]["type"].is_null(), "{v}");
    // Lookup off again: no carrier at all, and landlines get their SMS.
    let (status, _) = api
        .post(
            &format!("/Services/{sid}"),
            &[("SkipSmsToLandlines", "false"), ("LookupEnabled", "false")],
        )
        .await;
    assert_eq!(status, 200);
    let (status, v) = api
        .post(&path, &[("To", "+44 20 7946 0958"), ("Channel", "sms")])
        .await;
    assert_eq!(status, 201, "{v}");
    assert!(v["lookup"]["carrier"].is_null(), "{v}");
}

/// The code of an app with `secret` (base32) for the step `offset` steps from
/// the one at `unix_secs`, with a 60-second step.
fn totp(secret: &str, unix_secs: u64, offset: i64) -> String {
    let secret = seccode::TotpSecret::from_base32(secret).unwrap();
    let settings = seccode::TotpSettings::new(seccode::TotpAlgorithm::Sha1, 6, 60, 2).unwrap();
    let at = unix_secs.checked_add_signed(offset * 60).unwrap();
    settings.code_at(&secret, at).to_string()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_factors_and_challenges_accept_each_step_once() {
    let h = Harness::start("totp").await;
    totp_factors(&h).await;
}

/// The same on PostgreSQL, where no dump holds a factor's secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_factors_and_challenges_accept_each_step_once_on_postgres() {
    let h = Harness::start_on("totp-postgres", Backing::Postgres).await;
    let secret = totp_factors(&h).await;
    let dump = h.postgres_dump().unwrap();
    assert!(dump.contains("verify_factors"));
    assert!(!dump.contains(&secret), "the secret is sealed");
    let bytes = seccode::TotpSecret::from_base32(&secret).unwrap();
    let hex: String = bytes.expose().iter().map(|b| format!("{b:02x}")).collect();
    assert!(!dump.contains(&hex), "the secret is sealed");
}

/// Entities, a TOTP factor (secret shown once, verified by a first code),
/// challenges approved by its codes — each step once, even when eight requests
/// race with one code — and every code counted before it is compared.
/// Returns the factor's secret (base32).
async fn totp_factors(h: &Harness) -> String {
    let api = Api::new(h);
    let (_, service) = api.post("/Services", &[("FriendlyName", "Contoso")]).await;
    let sid = service["sid"].as_str().unwrap().to_owned();
    let entities = format!("/Services/{sid}/Entities");
    let identity = "ff483d1f-f591-8989-42a9-16050d2ca3f1";
    assert_error(
        &api.post(&entities, &[("Identity", "short")]).await,
        400,
        60200,
    );
    let (status, entity) = api.post(&entities, &[("Identity", identity)]).await;
    assert_eq!(status, 201, "{entity}");
    assert!(entity["sid"].as_str().unwrap().starts_with("YE"));
    assert_eq!(
        entity["links"]["factors"],
        format!("{}/v2{entities}/{identity}/Factors", h.url)
    );
    assert_error(
        &api.post(&entities, &[("Identity", identity)]).await,
        409,
        60301,
    );

    // A factor: its secret and URI once; 60-second steps, two either side,
    // so that the steps this test uses stay within the window: it starts
    // at least 15 s before a step ends (a wait of at most 15 s, bounded).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while unix_now() % 60 > 45 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let factors = format!("{entities}/{identity}/Factors");
    assert_error(
        &api.post(
            &factors,
            &[("FactorType", "push"), ("FriendlyName", "Ada's phone")],
        )
        .await,
        400,
        60200,
    );
    assert_error(
        &api.post(
            &factors,
            &[
                ("FactorType", "totp"),
                ("FriendlyName", "Ada's phone"),
                ("Config.CodeLength", "4"),
            ],
        )
        .await,
        400,
        60200,
    );
    let (status, factor) = api
        .post(
            &factors,
            &[
                ("FactorType", "totp"),
                ("FriendlyName", "Ada's phone"),
                ("Config.TimeStep", "60"),
                ("Config.Skew", "2"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{factor}");
    assert_eq!(factor["status"], "unverified");
    assert_eq!(factor["config"]["time_step"], 60);
    let secret = factor["binding"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "160 bits");
    let uri = factor["binding"]["uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Contoso:Ada%27s%20phone?secret="),
        "{uri}"
    );
    assert!(uri.contains("&period=60"), "{uri}");
    let yf = factor["sid"].as_str().unwrap().to_owned();
    let (status, fetched) = api.get(&format!("{factors}/{yf}")).await;
    assert_eq!(status, 200);
    assert!(!fetched.to_string().contains(&secret), "shown once");
    let challenges = format!("{entities}/{identity}/Challenges");
    assert_error(
        &api.post(&challenges, &[("FactorSid", &yf)]).await,
        403,
        60318,
    );

    // Verified by a code from the app: a wrong one leaves it unverified.
    let now = unix_now();
    let (_, f) = api
        .post(
            &format!("{factors}/{yf}"),
            &[("AuthPayload", &wrong(&totp(&secret, now, -2)))],
        )
        .await;
    assert_eq!(f["status"], "unverified");
    let (_, f) = api
        .post(
            &format!("{factors}/{yf}"),
            &[("AuthPayload", &totp(&secret, now, -2))],
        )
        .await;
    assert_eq!(f["status"], "verified", "{f}");

    // Challenges: the verified step again stays pending; the next approves.
    let (status, c) = api
        .post(
            &challenges,
            &[
                ("FactorSid", &yf),
                ("AuthPayload", &totp(&secret, now, -2)),
                ("HiddenDetails", r#"{"ip":"203.0.113.7"}"#),
            ],
        )
        .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["status"], "pending");
    assert_eq!(c["hidden_details"]["ip"], "203.0.113.7");
    let pending = c["sid"].as_str().unwrap().to_owned();
    let (_, c) = api
        .post(
            &format!("{challenges}/{pending}"),
            &[("AuthPayload", &totp(&secret, now, -1))],
        )
        .await;
    assert_eq!(c["status"], "approved", "{c}");
    assert!(c["date_responded"].is_string());

    // ExpirationDate: returned as given, within an hour of now; a past one,
    // one past the hour, or no date at all is refused.
    let at = |secs: u64| seccode::Timestamp::from_unix_millis(secs * 1000).to_rfc3339();
    let in_half_an_hour = at(unix_now() + 1800);
    let (status, c) = api
        .post(
            &challenges,
            &[("FactorSid", &yf), ("ExpirationDate", &in_half_an_hour)],
        )
        .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["expiration_date"], in_half_an_hour.as_str());
    for bad in [
        at(unix_now() - 60),
        at(unix_now() + 3700),
        "soon".to_owned(),
    ] {
        let answer = api
            .post(&challenges, &[("FactorSid", &yf), ("ExpirationDate", &bad)])
            .await;
        assert_error(&answer, 400, 60200);
        assert!(
            answer.1["message"]
                .as_str()
                .unwrap()
                .contains("ExpirationDate")
        );
    }

    // Eight requests with one code at once: one approval (the seven others
    // count as failures, within the ten free ones).
    let code = totp(&secret, now, 1);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (api, path, yf, code) = (Api::new(h), challenges.clone(), yf.clone(), code.clone());
            tokio::spawn(async move {
                let (_, c) = api
                    .post(&path, &[("FactorSid", &yf), ("AuthPayload", &code)])
                    .await;
                c["status"] == "approved"
            })
        })
        .collect();
    let mut approved = 0;
    for r in racers {
        approved += usize::from(r.await.unwrap());
    }
    assert_eq!(approved, 1);
    let (_, list) = api
        .get(&format!("{challenges}?Status=approved&FactorSid={yf}"))
        .await;
    assert_eq!(list["challenges"].as_array().unwrap().len(), 2, "{list}");

    // The race's losers counted as failures; a right code clears them.
    let (_, c) = api.post(&challenges, &[("FactorSid", &yf)]).await;
    let path = format!("{challenges}/{}", c["sid"].as_str().unwrap());
    let (_, c) = api
        .post(&path, &[("AuthPayload", &totp(&secret, now, 2))])
        .await;
    assert_eq!(c["status"], "approved", "{c}");

    // Every code counts before it is compared: ten failures are free, then
    // the entity waits (429/60202 with Retry-After) — the same throttle as
    // sent codes.
    let (_, c) = api.post(&challenges, &[("FactorSid", &yf)]).await;
    let path = format!("{challenges}/{}", c["sid"].as_str().unwrap());
    let guess = wrong(&totp(&secret, now, 0));
    let mut answers = Vec::new();
    for _ in 0..20 {
        let answer = api.post(&path, &[("AuthPayload", &guess)]).await;
        let refused = answer.0 == 429;
        answers.push(answer);
        if refused {
            break;
        }
    }
    assert!(
        answers[..10]
            .iter()
            .all(|(s, c)| *s == 200 && c["status"] == "pending")
    );
    assert_error(answers.last().unwrap(), 429, 60202);

    // Delete the factor, then the entity.
    let (status, _) = api
        .call(reqwest::Method::DELETE, &format!("{factors}/{yf}"), &[])
        .await;
    assert_eq!(status, 204);
    assert_error(&api.get(&format!("{factors}/{yf}")).await, 404, 20404);
    let (status, _) = api
        .call(
            reqwest::Method::DELETE,
            &format!("{entities}/{identity}"),
            &[],
        )
        .await;
    assert_eq!(status, 204);
    assert_error(
        &api.get(&format!("{entities}/{identity}")).await,
        404,
        20404,
    );
    secret
}

/// Every message names its service — or the verification's
/// CustomFriendlyName — and, when the service asks, ends with the warning
/// not to share the code; names that would break a message are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_name_the_service_and_warn_when_asked() {
    let h = Harness::start("named").await;
    let api = Api::new(&h);
    assert_error(
        &api.post("/Services", &[("FriendlyName", "Two\nlines")])
            .await,
        400,
        60200,
    );
    let (_, service) = api
        .post(
            "/Services",
            &[
                ("FriendlyName", "Contoso"),
                ("DoNotShareWarningEnabled", "true"),
            ],
        )
        .await;
    assert_eq!(service["do_not_share_warning_enabled"], true);
    let path = format!(
        "/Services/{}/Verifications",
        service["sid"].as_str().unwrap()
    );
    let to = "+15017122671";
    let (status, _) = api.post(&path, &[("To", to), ("Channel", "sms")]).await;
    assert_eq!(status, 201);
    let code = h.sms.last_code(to).unwrap();
    let text = h.sms.last_body(to).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        text,
        format!(
            "Contoso: Your security code is {code}. Use it to confirm it's you. It expires in 10 minutes. Don't share it with anyone."
        )
    );
    let other = "+15017122672";
    let (status, _) = api
        .post(
            &path,
            &[
                ("To", other),
                ("Channel", "sms"),
                ("CustomFriendlyName", "Fabrikam"),
                ("Locale", "fr"),
            ],
        )
        .await;
    assert_eq!(status, 201);
    let text = h.sms.last_body(other).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.starts_with("Fabrikam: Votre code"), "{text}");
    assert!(text.ends_with("Ne le partagez avec personne."), "{text}");
    assert_error(
        &api.post(
            &path,
            &[
                ("To", "+15017122673"),
                ("Channel", "sms"),
                ("CustomFriendlyName", &"x".repeat(31)),
            ],
        )
        .await,
        400,
        60200,
    );
    assert_eq!(h.sms.count_to("+15017122673"), 0);
    // Twilio's locales: written ones in their language (any case), the
    // others refused as not written yet, and no locale at all refused —
    // never English in their place without a word.
    let italian = "+15017122674";
    api.post(
        &path,
        &[("To", italian), ("Channel", "sms"), ("Locale", "IT")],
    )
    .await;
    let text = h.sms.last_body(italian).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.starts_with("Contoso: Il tuo codice di sicurezza"),
        "{text}"
    );
    assert!(text.ends_with("Non condividerlo con nessuno."), "{text}");
    for (locale, says) in [
        ("zh-HK", "not supported yet"),
        ("xx", "Twilio's Verify locales"),
    ] {
        let answer = api
            .post(
                &path,
                &[
                    ("To", "+15017122675"),
                    ("Channel", "sms"),
                    ("Locale", locale),
                ],
            )
            .await;
        assert_error(&answer, 400, 60200);
        assert!(
            answer.1["message"].as_str().unwrap().contains(says),
            "{}",
            answer.1
        );
    }
    assert_eq!(h.sms.count_to("+15017122675"), 0);
}

/// A list's `next_page_url` carries a `PageToken`: the next page follows on
/// from the last item shown, even when an item before it was deleted
/// meanwhile (an offset would skip one); a malformed token is 60200. A
/// service lists its seven links.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_token_follows_on_from_the_page_before() {
    let h = Harness::start("paging").await;
    let api = Api::new(&h);
    for i in 0..5 {
        api.post("/Services", &[("FriendlyName", &format!("page {i}"))])
            .await;
    }
    // The list's own order (creation time, then sid).
    let (_, all) = api.get("/Services").await;
    let sids: Vec<String> = all["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sids.len(), 5);
    let (_, first) = api.get("/Services?PageSize=2").await;
    let links = first["services"][0]["links"].as_object().unwrap();
    assert_eq!(links.len(), 7, "{links:?}");
    assert!(links.contains_key("entities") && links.contains_key("webhooks"));
    let next = first["meta"]["next_page_url"].as_str().unwrap().to_owned();
    assert!(next.contains("&PageToken=PT"), "{next}");
    // The first page's first service goes; the next page still starts at
    // the third service.
    let (status, _) = api
        .call(
            reqwest::Method::DELETE,
            &format!("/Services/{}", sids[0]),
            &[],
        )
        .await;
    assert_eq!(status, 204);
    let path = next.split("/v2").nth(1).unwrap();
    let (status, second) = api.get(path).await;
    assert_eq!(status, 200, "{second}");
    let shown: Vec<&str> = second["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sid"].as_str().unwrap())
        .collect();
    assert_eq!(shown, [sids[2].as_str(), sids[3].as_str()]);
    let last = second["meta"]["next_page_url"].as_str().unwrap().to_owned();
    let (_, third) = api.get(last.split("/v2").nth(1).unwrap()).await;
    assert_eq!(third["services"][0]["sid"], sids[4].as_str());
    assert!(third["meta"]["next_page_url"].is_null());
    assert_error(
        &api.get("/Services?PageSize=2&PageToken=nonsense").await,
        400,
        60200,
    );
    // The same cursor in a list kept in memory (a service's rate limits).
    let rates = format!("/Services/{}/RateLimits", sids[1]);
    for name in ["a", "b", "c"] {
        api.post(&rates, &[("UniqueName", name)]).await;
    }
    // The list's own order (creation time, then sid: three made in one
    // millisecond sort by sid).
    let (_, all) = api.get(&rates).await;
    let (_, page) = api.get(&format!("{rates}?PageSize=2")).await;
    let next = page["meta"]["next_page_url"].as_str().unwrap().to_owned();
    let (_, rest) = api.get(next.split("/v2").nth(1).unwrap()).await;
    assert_eq!(rest["rate_limits"].as_array().unwrap().len(), 1);
    assert_eq!(rest["rate_limits"][0]["sid"], all["rate_limits"][2]["sid"]);
}

/// PSD2's dynamic linking: a service with `Psd2Enabled` binds each code to
/// its `Amount` and `Payee` — the SMS names them, the verification returns
/// them — and a check approves only when it names the same payment; another
/// amount or payee, or none, fails as a wrong code does and counts. A start
/// without them, or with them on another service, is 60200; a second start
/// to the same number for another payment is refused, not resent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_psd2_code_approves_only_its_amount_and_payee() {
    let h = Harness::start("psd2").await;
    let api = Api::new(&h);
    let (status, service) = api
        .post(
            "/Services",
            &[("FriendlyName", "Contoso Pay"), ("Psd2Enabled", "true")],
        )
        .await;
    assert_eq!(
        (status, &service["psd2_enabled"]),
        (201, &Value::from(true))
    );
    let sid = service["sid"].as_str().unwrap();
    let path = format!("/Services/{sid}/Verifications");
    let to = "+15017122680";
    assert_error(
        &api.post(&path, &[("To", to), ("Channel", "sms")]).await,
        400,
        60200,
    );
    let payment = [("Amount", "€39.99"), ("Payee", "Acme Inc.")];
    let (status, v) = api
        .post(
            &path,
            &[("To", to), ("Channel", "sms"), payment[0], payment[1]],
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        (&v["amount"], &v["payee"]),
        (&Value::from("€39.99"), &Value::from("Acme Inc."))
    );
    let text = h.sms.last_body(to).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("Amount: €39.99. Payee: Acme Inc."), "{text}");
    let code = h.sms.last_code(to).unwrap();
    assert_error(
        &api.post(
            &path,
            &[
                ("To", to),
                ("Channel", "sms"),
                ("Amount", "€1.00"),
                ("Payee", "Acme Inc."),
            ],
        )
        .await,
        400,
        60200,
    );
    let check = format!("/Services/{sid}/VerificationCheck");
    for named in [
        vec![("Amount", "€399.99"), ("Payee", "Acme Inc.")],
        vec![("Amount", "€39.99"), ("Payee", "Mallory Ltd")],
        vec![],
    ] {
        let mut form = vec![("To", to), ("Code", code.as_str())];
        form.extend(named);
        let (status, c) = api.post(&check, &form).await;
        assert_eq!(
            (status, &c["status"], &c["valid"]),
            (200, &Value::from("pending"), &Value::from(false)),
            "{c}"
        );
    }
    let (status, c) = api
        .post(
            &check,
            &[("To", to), ("Code", &code), payment[0], payment[1]],
        )
        .await;
    assert_eq!(
        (status, &c["status"]),
        (200, &Value::from("approved")),
        "{c}"
    );
    assert_eq!(c["amount"], "€39.99");
    // Without PSD2, a payment is refused.
    let (_, plain) = api.post("/Services", &[("FriendlyName", "Plain")]).await;
    assert_error(
        &api.post(
            &format!("/Services/{}/Verifications", plain["sid"].as_str().unwrap()),
            &[
                ("To", "+15017122681"),
                ("Channel", "sms"),
                payment[0],
                payment[1],
            ],
        )
        .await,
        400,
        60200,
    );
    assert_eq!(h.sms.count_to("+15017122681"), 0);
}

/// The safe list: a number on it gets its code when its country's cap on
/// spend is used up (the brake on SMS pumping), and only that cap gives way;
/// entries are created (in E.164, however typed), fetched and deleted, per
/// account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safe_listed_number_skips_the_pumping_caps() {
    let h = Harness::start_with(
        "safe-list",
        Backing::Sqlite,
        "limits = { per_calling_code = 2 }",
        0,
    )
    .await;
    let api = Api::new(&h);
    let (_, service) = api.post("/Services", &[("FriendlyName", "Safe")]).await;
    let path = format!(
        "/Services/{}/Verifications",
        service["sid"].as_str().unwrap()
    );
    for to in ["+15017122691", "+15017122692"] {
        let (status, v) = api.post(&path, &[("To", to), ("Channel", "sms")]).await;
        assert_eq!(status, 201, "{v}");
    }
    let safe = "+15017122699";
    assert_error(
        &api.post(&path, &[("To", safe), ("Channel", "sms")]).await,
        429,
        20429,
    );
    let (status, entry) = api
        .post("/SafeList/Numbers", &[("PhoneNumber", "+1 (501) 712-2699")])
        .await;
    assert_eq!(status, 201, "{entry}");
    assert_eq!(entry["phone_number"], safe);
    assert!(entry["sid"].as_str().unwrap().starts_with("GN"));
    let (status, fetched) = api.get("/SafeList/Numbers/%2B15017122699").await;
    assert_eq!((status, &fetched["sid"]), (200, &entry["sid"]));
    let (status, v) = api.post(&path, &[("To", safe), ("Channel", "sms")]).await;
    assert_eq!(status, 201, "a safe-listed number gets its code: {v}");
    assert_eq!(h.sms.count_to(safe), 1);
    // Another account's list is its own.
    let other = api
        .call_as(
            reqwest::Method::GET,
            "/SafeList/Numbers/%2B15017122699",
            &[],
            OTHER_ACCOUNT_SID,
            OTHER_AUTH_TOKEN,
        )
        .await;
    assert_error(&other, 404, 20404);
    let (status, _) = api
        .call(
            reqwest::Method::DELETE,
            "/SafeList/Numbers/%2B15017122699",
            &[],
        )
        .await;
    assert_eq!(status, 204);
    assert_error(
        &api.get("/SafeList/Numbers/%2B15017122699").await,
        404,
        20404,
    );
    // Off the list, its next send (a resend of its pending code) meets the
    // cap again.
    assert_error(
        &api.post(&path, &[("To", safe), ("Channel", "sms")]).await,
        429,
        20429,
    );
    assert_eq!(h.sms.count_to(safe), 1);
    assert_error(
        &api.post("/SafeList/Numbers", &[("PhoneNumber", "not a number")])
            .await,
        400,
        60200,
    );
}

/// Verification attempts: every message a verification sent, with Twilio's
/// filters (service, verification, channel, destination, country, status,
/// dates), fetched by sid, paged by token and summed up; another account
/// sees none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_list_every_message_sent_with_twilios_filters() {
    let h = Harness::start("attempts").await;
    let api = Api::new(&h);
    let (_, service) = api.post("/Services", &[("FriendlyName", "Attempts")]).await;
    let sid = service["sid"].as_str().unwrap();
    let path = format!("/Services/{sid}/Verifications");
    let phone = "+15017122611";
    let (_, first) = api.post(&path, &[("To", phone), ("Channel", "sms")]).await;
    api.post(&path, &[("To", phone), ("Channel", "sms")]).await;
    let email = "attempts@example.org";
    api.post(&path, &[("To", email), ("Channel", "email")])
        .await;
    let code = h.sms.last_code(phone).unwrap();
    let (_, c) = api
        .post(
            &format!("/Services/{sid}/VerificationCheck"),
            &[("To", phone), ("Code", &code)],
        )
        .await;
    assert_eq!(c["status"], "approved");

    let count = |v: &Value| v["attempts"].as_array().unwrap().len();
    let (status, all) = api.get("/Attempts").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(count(&all), 3);
    let ve = first["sid"].as_str().unwrap();
    assert!(
        all["attempts"][0]["sid"]
            .as_str()
            .unwrap()
            .starts_with("VL")
    );
    assert_eq!(all["attempts"][0]["verification_sid"], ve);
    assert_eq!(all["attempts"][0]["conversion_status"], "converted");
    assert_eq!(all["attempts"][0]["channel_data"]["to"], phone);
    for (filter, want) in [
        ("Status=converted", 2),
        ("Status=unconverted", 1),
        ("Channel=email", 1),
        (&format!("VerificationSid={ve}") as &str, 2),
        ("ChannelData.To=%2B1%20501%20712%202611", 2),
        ("Country=US", 2),
        ("Country=GB", 0),
        (&format!("VerifyServiceSid={sid}"), 3),
        ("DateCreatedAfter=2100-01-01T00:00:00Z", 0),
        ("DateCreatedBefore=2000-01-01T00:00:00Z", 0),
    ] {
        let (status, page) = api.get(&format!("/Attempts?{filter}")).await;
        assert_eq!((status, count(&page)), (200, want), "{filter}: {page}");
    }
    assert_error(
        &api.get("/Attempts?DateCreatedAfter=yesterday").await,
        400,
        60200,
    );
    // Paged by token, one at a time.
    let (_, one) = api.get("/Attempts?PageSize=1").await;
    let next = one["meta"]["next_page_url"].as_str().unwrap().to_owned();
    assert!(next.contains("PageToken="), "{next}");
    let (_, two) = api.get(next.split("/v2").nth(1).unwrap()).await;
    assert_eq!(two["attempts"][0]["sid"], all["attempts"][1]["sid"]);
    // Fetched by sid.
    let vl = all["attempts"][2]["sid"].as_str().unwrap();
    let (status, fetched) = api.get(&format!("/Attempts/{vl}")).await;
    assert_eq!((status, &fetched), (200, &all["attempts"][2]));
    assert_error(
        &api.get(&format!("/Attempts/VL{}", "0".repeat(32))).await,
        404,
        20404,
    );
    // Summed up.
    let (status, summary) = api.get("/Attempts/Summary").await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        (
            &summary["total_attempts"],
            &summary["total_converted"],
            &summary["total_unconverted"],
            &summary["conversion_rate_percentage"]
        ),
        (
            &Value::from(3),
            &Value::from(2),
            &Value::from(1),
            &Value::from("66.67")
        )
    );
    let (_, sms) = api.get("/Attempts/Summary?Channel=email").await;
    assert_eq!(sms["total_attempts"], 1);
    // Another account's attempts are its own.
    let (_, theirs) = api
        .call_as(
            reqwest::Method::GET,
            "/Attempts",
            &[],
            OTHER_ACCOUNT_SID,
            OTHER_AUTH_TOKEN,
        )
        .await;
    assert_eq!(count(&theirs), 0);
    let theirs = api
        .call_as(
            reqwest::Method::GET,
            &format!("/Attempts/{vl}"),
            &[],
            OTHER_ACCOUNT_SID,
            OTHER_AUTH_TOKEN,
        )
        .await;
    assert_error(&theirs, 404, 20404);
}

/// Call options: with `DtmfInputRequired` the voice gateway gets the
/// locale's prompt to say before it reads the code after a key press, and
/// `TtsName` as the voice; both are stored and returned, and a voice name
/// that is no name is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_waits_for_a_key_and_speaks_in_the_service_voice() {
    let h = Harness::start("call-options").await;
    let api = Api::new(&h);
    assert_error(
        &api.post(
            "/Services",
            &[("FriendlyName", "Calls"), ("TtsName", "Polly Joanna; x")],
        )
        .await,
        400,
        60200,
    );
    let (status, service) = api
        .post(
            "/Services",
            &[
                ("FriendlyName", "Calls"),
                ("DtmfInputRequired", "true"),
                ("TtsName", "Polly.Joanna"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{service}");
    assert_eq!(
        (&service["dtmf_input_required"], &service["tts_name"]),
        (&Value::from(true), &Value::from("Polly.Joanna"))
    );
    let sid = service["sid"].as_str().unwrap();
    let to = "+15017122631";
    let (status, v) = api
        .post(
            &format!("/Services/{sid}/Verifications"),
            &[
                ("To", to),
                ("Channel", "call"),
                ("Locale", "de"),
                ("SendDigits", "ww1234#"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let call = h.calls.last_body(to).unwrap();
    assert_eq!(
        call["voice_prompt"],
        "Drücken Sie eine beliebige Taste, um Ihren Sicherheitscode zu hören."
    );
    assert_eq!(call["voice_name"], "Polly.Joanna");
    assert_eq!(call["send_digits"], "ww1234#");
    let refused = api
        .post(
            &format!("/Services/{sid}/Verifications"),
            &[
                ("To", "+15017122633"),
                ("Channel", "call"),
                ("SendDigits", "1234; x"),
            ],
        )
        .await;
    assert_error(&refused, 400, 60200);
    assert!(
        h.calls.last_body("+15017122633").is_none(),
        "nothing called"
    );
    // Cleared, the next call is read at once in the gateway's voice.
    let (_, updated) = api
        .post(
            &format!("/Services/{sid}"),
            &[("DtmfInputRequired", "false"), ("TtsName", "")],
        )
        .await;
    assert_eq!(updated["tts_name"], Value::Null);
    let other = "+15017122632";
    api.post(
        &format!("/Services/{sid}/Verifications"),
        &[("To", other), ("Channel", "call")],
    )
    .await;
    let call = h.calls.last_body(other).unwrap();
    assert_eq!(
        (
            &call["voice_prompt"],
            &call["voice_name"],
            &call["send_digits"]
        ),
        (&Value::Null, &Value::Null, &Value::Null)
    );
}
