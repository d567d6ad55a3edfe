//! The demo's sessions and sign-in, over plain HTTP against two demo processes
//! on one database: signing out and a new password end every session of the
//! account on every process (also a cookie copied before), sign-in failures
//! are throttled with seccode's own failure budgets, and no bearer value or
//! identifier travels in a URL.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use common::{Proc, demo, free_port};

/// One HTTP/1.1 exchange's answer.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

/// A browser without a browser: a cookie jar, shared by both processes (as a
/// browser shares cookies between ports of one host).
struct Client {
    ports: [u16; 2],
    jar: BTreeMap<String, String>,
}

impl Client {
    fn new(ports: [u16; 2]) -> Self {
        Self {
            ports,
            jar: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// One request to process `server` (0 or 1); `form` makes it a POST.
    fn send(&mut self, server: usize, path: &str, form: Option<&[(&str, &str)]>) -> Answer {
        let mut stream = TcpStream::connect(("127.0.0.1", self.ports[server])).unwrap();
        let body = form.map(|pairs| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        });
        let mut request = format!(
            "{} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: {}\r\n",
            if body.is_some() { "POST" } else { "GET" },
            self.cookie_header()
        );
        if let Some(body) = &body {
            request.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            request.push_str("\r\n");
        }
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let mut location = None;
        for line in lines {
            let (name, value) = line.split_once(':').unwrap();
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "set-cookie" => {
                    let pair = value.split(';').next().unwrap();
                    let (k, v) = pair.split_once('=').unwrap();
                    if value.contains("Max-Age=0") || v.is_empty() {
                        self.jar.remove(k);
                    } else {
                        self.jar.insert(k.to_owned(), v.to_owned());
                    }
                }
                "location" => location = Some(value.to_owned()),
                _ => {}
            }
        }
        if let Some(to) = &location {
            for key in ["token=", "ticket=", "proof=", "challenge=", "identifier="] {
                assert!(!to.contains(key), "{key} in the redirect to {to}");
            }
            assert!(
                !to.contains("jane.roe") && !to.contains("john.doe"),
                "an address in the redirect to {to}"
            );
        }
        Answer {
            status,
            location,
            body: body.to_owned(),
        }
    }

    fn get(&mut self, server: usize, path: &str) -> Answer {
        self.send(server, path, None)
    }

    /// A form POST carrying this browser's CSRF token.
    fn post(&mut self, server: usize, path: &str, form: &[(&str, &str)]) -> Answer {
        if !self.jar.contains_key("seccode_csrf") {
            self.get(server, "/signin");
        }
        let csrf = self.jar["seccode_csrf"].clone();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(form);
        self.send(server, path, Some(&all))
    }

    fn sign_in(&mut self, server: usize, identifier: &str, password: &str) -> Answer {
        self.post(
            server,
            "/signin",
            &[("identifier", identifier), ("password", password)],
        )
    }

    /// Whether the session cookie in the jar opens the Security page.
    fn signed_in(&mut self, server: usize) -> bool {
        let answer = self.get(server, "/security");
        match answer.status {
            200 => true,
            303 => {
                assert_eq!(answer.location.as_deref(), Some("/signin"));
                false
            }
            other => panic!("/security answered {other}"),
        }
    }

    /// The newest code mailed to `masked`, from the dev mailbox.
    fn code_to(&mut self, server: usize, masked: &str) -> String {
        let page = self.get(server, "/mailbox").body;
        let marker = format!(r#"data-kind="code"><strong class="to">{masked}</strong>"#);
        let at = page
            .find(&marker)
            .unwrap_or_else(|| panic!("no code to {masked}"));
        let body = &page[at..];
        let start = body.find("<pre class=\"body\">").unwrap();
        let text = &body[start..];
        let digits: Vec<char> = text.chars().collect();
        (0..digits.len() - 6)
            .find(|&i| {
                digits[i..i + 6].iter().all(char::is_ascii_digit)
                    && (i == 0 || !digits[i - 1].is_ascii_digit())
                    && !digits[i + 6].is_ascii_digit()
            })
            .map(|i| digits[i..i + 6].iter().collect())
            .unwrap()
    }
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Two demo processes on one fresh database file.
fn two_demos(name: &str) -> (Proc, Proc, [u16; 2]) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("demo-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("demo.db");
    let (pa, pb) = (free_port(), free_port());
    let a = demo(pa, &db);
    let b = demo(pb, &db);
    (a, b, [pa, pb])
}

#[test]
fn signing_out_ends_a_copied_session_on_every_process() {
    let (_a, _b, ports) = two_demos("sign-out");
    let mut owner = Client::new(ports);
    let signed = owner.sign_in(0, "john.doe@example.com", "demo-password");
    assert_eq!(
        (signed.status, signed.location.as_deref()),
        (303, Some("/security"))
    );
    assert!(owner.signed_in(1), "the session works on the other process");
    // Someone copies the cookie (a shared computer, a stolen cookie)…
    let mut copier = Client::new(ports);
    copier.jar = owner.jar.clone();
    assert!(copier.signed_in(1));
    // …the owner signs out on process A: the copy stops working on B.
    let out = owner.post(0, "/signout", &[]);
    assert_eq!(out.status, 303);
    assert!(!owner.signed_in(1));
    assert!(
        !copier.signed_in(1),
        "a copied session ended with the sign-out"
    );
    assert!(!copier.signed_in(0));
    // Signing in again gives a session that works.
    owner.sign_in(1, "john.doe@example.com", "demo-password");
    assert!(owner.signed_in(0));
}

#[test]
fn a_new_password_through_recovery_ends_every_earlier_session() {
    let (_a, _b, ports) = two_demos("reset");
    let mut old = Client::new(ports);
    old.sign_in(0, "jane.roe@example.com", "demo-password");
    assert!(old.signed_in(1));

    let mut owner = Client::new(ports);
    let started = owner.post(1, "/recover", &[("identifier", "jane.roe@example.com")]);
    assert_eq!(started.location.as_deref(), Some("/recover/choose"));
    assert!(
        owner.jar.contains_key("seccode_recovery"),
        "the token is a cookie"
    );
    let choices = owner.get(0, "/recover/choose").body;
    assert!(choices.contains("ja•••@example.com"), "{choices}");
    let sent = owner.post(
        0,
        "/recover/choose",
        &[("choice", "0"), ("confirmation", "jane.roe@example.com")],
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    let code = owner.code_to(1, "ja•••@example.com");
    let checked = owner.post(
        1,
        "/recover/code",
        &[("to", "ja•••@example.com"), ("code", &code)],
    );
    assert_eq!(checked.location.as_deref(), Some("/recover/confirm"));
    assert!(
        owner
            .get(0, "/recover/confirm")
            .body
            .contains("Is this your account?")
    );
    let reset = owner.post(0, "/recover/password", &[("password", "a-new-password-2")]);
    assert_eq!(reset.location.as_deref(), Some("/security"));
    assert!(owner.signed_in(1), "the person who reset it is signed in");
    assert!(!old.signed_in(0), "the session from before the reset ended");
    assert!(!old.signed_in(1));
    for flow in ["seccode_recovery", "seccode_ticket", "seccode_challenge"] {
        assert!(!owner.jar.contains_key(flow), "{flow} was forgotten");
    }
}

#[test]
fn sign_in_failures_are_throttled() {
    // 4 000 wrong passwords and then the right one used to sign in. Now the
    // failures count on a seccode budget: 10 free, then waits (1 s, 2 s, … up
    // to 15 minutes); a sign-in during a wait is refused, right or not.
    let (_a, _b, ports) = two_demos("throttle");
    let mut attacker = Client::new(ports);
    for i in 0..10 {
        let answer = attacker.sign_in(i % 2, "+44 7400 123456", "wrong-password");
        assert!(
            answer.body.contains("is not right"),
            "failure {i} is a plain refusal"
        );
    }
    let eleventh = attacker.sign_in(0, "+44 7400 123456", "wrong-password");
    assert!(eleventh.body.contains("is not right"));
    let right = attacker.sign_in(1, "+44 7400 123456", "demo-password");
    assert_eq!(right.status, 429, "{}", right.body);
    assert!(right.body.contains("Try again in"), "{}", right.body);
    assert!(!attacker.jar.contains_key("seccode_session"));
    // Unknown identifiers are throttled alike: the throttle tells nothing.
    for _ in 0..11 {
        attacker.sign_in(0, "nobody@example.org", "wrong-password");
    }
    let unknown = attacker.sign_in(1, "nobody@example.org", "wrong-password");
    assert_eq!(unknown.status, 429);
}
