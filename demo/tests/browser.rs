//! The demo in a real browser: two demo processes on one SQLite file, headless
//! Chromium driven through chromedriver (WebDriver, `fantoccini`), every request
//! alternating between the two processes. It walks the three flows — add
//! security info, change phone number (verify, code, remove, add), recover an
//! account — plus a recovery for an unknown identifier and a wrong code, reading
//! codes from the dev mailbox page, and saves a screenshot of each page under
//! `target/tmp/demo-screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them). Without them the test is skipped
//! locally and fails under CI.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Proc, demo, free_port, wait_for_port};
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser session, the two servers, and where screenshots go.
struct Browser {
    client: Client,
    servers: [String; 2],
    turn: usize,
    shots: PathBuf,
    shot: usize,
}

impl Browser {
    /// The next server, alternating.
    fn next(&mut self) -> String {
        self.turn += 1;
        self.servers[self.turn % 2].clone()
    }

    async fn goto(&mut self, path: &str) {
        let url = format!("{}{path}", self.next());
        self.client.goto(&url).await.unwrap();
    }

    /// Loads the current page again from the other server.
    async fn switch(&mut self) {
        let url = self.client.current_url().await.unwrap();
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        self.goto(&path).await;
    }

    /// Waits for a page titled `title` (bounded: 10 s), then saves a screenshot.
    async fn expect(&mut self, title: &str) {
        // No bearer value or identifier ever travels in a URL.
        let url = self.client.current_url().await.unwrap();
        for (key, _) in url.query_pairs() {
            assert!(
                !["token", "ticket", "proof", "challenge", "identifier"].contains(&key.as_ref()),
                "{key} in the URL {url}"
            );
        }
        let want = format!("{title} – seccode demo");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.client.title().await.unwrap();
            if now == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "expected the page {want:?}, got {now:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.shot += 1;
        let png = self.client.screenshot().await.unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 2_000,
            "a real screenshot"
        );
        let name = title
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        std::fs::write(self.shots.join(format!("{:02}-{name}.png", self.shot)), png).unwrap();
    }

    async fn fill(&self, name: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Css(&format!("input[name={name}]")))
            .await
            .unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    async fn submit(&self) {
        self.client
            .find(Locator::Css("main button, form:not(.inline) button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn click_link(&self, text: &str) {
        self.client
            .find(Locator::LinkText(text))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Clicks the first element `css` selects.
    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Signs out with the button in the navigation.
    async fn sign_out(&mut self) {
        self.click("form.inline button").await;
        self.expect("Sign in").await;
    }

    async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.client.find_all(Locator::Css(css)).await.unwrap() {
            out.push(e.text().await.unwrap());
        }
        out
    }

    /// The newest code sent to `masked`, read from the dev mailbox of the next
    /// server; then back to the page we were on.
    async fn code_for(&mut self, masked: &str) -> String {
        let back = self.client.current_url().await.unwrap();
        self.goto("/mailbox").await;
        self.expect("Dev mailbox").await;
        let mut code = None;
        for mail in self
            .client
            .find_all(Locator::Css("li.mail[data-kind=code]"))
            .await
            .unwrap()
        {
            let to = mail
                .find(Locator::Css(".to"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if to == masked {
                let body = mail
                    .find(Locator::Css(".body"))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                code = six_digits(&body);
                break;
            }
        }
        self.client.goto(back.as_str()).await.unwrap();
        code.unwrap_or_else(|| panic!("no code for {masked} in the mailbox"))
    }

    async fn mail_count(&mut self) -> usize {
        self.goto("/mailbox").await;
        self.expect("Dev mailbox").await;
        self.texts("li.mail").await.len()
    }
}

/// The time, in seconds since the epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The code an authenticator app with `secret` shows `offset_secs` from now.
fn app_code(secret: &seccode::TotpSecret, offset_secs: u64) -> String {
    app_code_at(secret, unix_now() + offset_secs)
}

/// The code an authenticator app with `secret` shows at `unix_secs`.
fn app_code_at(secret: &seccode::TotpSecret, unix_secs: u64) -> String {
    seccode::TotpSettings::default()
        .code_at(secret, unix_secs)
        .to_string()
}

fn six_digits(text: &str) -> Option<String> {
    let digits: Vec<char> = text.chars().collect();
    digits
        .windows(6)
        .enumerate()
        .find(|(i, w)| {
            w.iter().all(char::is_ascii_digit)
                && (*i == 0 || !digits[i - 1].is_ascii_digit())
                && digits.get(i + 6).is_none_or(|c| !c.is_ascii_digit())
        })
        .map(|(_, w)| w.iter().collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_flows_in_a_real_browser_across_two_processes() {
    assert!(
        Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists(),
        "chromium and chromedriver are not installed; `bash .ci/test` installs them \
         (apt-get install chromium chromium-driver)"
    );
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("demo-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let db = tmp.join("demo.db");

    // Two processes, one database file. The first seeds the demo accounts.
    let (pa, pb) = (free_port(), free_port());
    let _a = demo(pa, &db);
    let _b = demo(pb, &db);
    let driver_port = free_port();
    let _driver = Proc(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(driver_port, "chromedriver");
    let profile = tmp.join("chromium-profile");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-quic", "--window-size=1000,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .unwrap();
    // "localhost": a secure context, so the Secure cookies work over plain HTTP.
    let mut b = Browser {
        client,
        servers: [
            format!("http://localhost:{pa}"),
            format!("http://localhost:{pb}"),
        ],
        turn: 0,
        shots: shots.clone(),
        shot: 0,
    };

    // ----- sign in; Security → Security basics → Update info -------------------
    b.goto("/signin").await;
    b.expect("Sign in").await;
    b.fill("identifier", "john.doe@example.com").await;
    b.fill("password", "demo-password").await;
    b.submit().await;
    b.expect("Security").await;
    b.switch().await;
    b.expect("Security").await;
    b.click_link("Security basics").await;
    b.expect("Security basics").await;
    b.click_link("Update info").await;
    b.expect("Update info").await;
    assert_eq!(
        b.texts("#security-info li").await,
        [
            "Email jo•••@example.com · Remove",
            "Phone •••••••23 · Change · Remove"
        ]
    );

    // ----- add security info, a wrong code first --------------------------------
    b.goto("/security/info/add").await;
    b.expect("Add security info").await;
    b.fill("contact", "backup.person@example.org").await;
    b.submit().await;
    b.expect("Enter the code").await;
    assert_eq!(b.texts("#destination").await, ["ba•••@example.org"]);
    let code = b.code_for("ba•••@example.org").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.switch().await;
    b.fill("code", wrong).await;
    b.submit().await;
    b.expect("Enter the code").await;
    let error = b.texts(".error").await;
    assert!(error[0].starts_with("That code didn't work"), "{error:?}");
    // A code page offers the other ways on, under the signed-in navigation;
    // "Resend code" within the cooldown shows the page again with the wait.
    assert_eq!(b.texts("p.other a").await, ["Use a different option"]);
    assert_eq!(b.texts("nav form.inline button").await, ["Sign out"]);
    b.click("form.resend button").await;
    b.expect("Enter the code").await;
    let error = b.texts(".error").await;
    assert!(
        error[0].starts_with("You can ask for the code again in"),
        "{error:?}"
    );
    assert_eq!(b.texts("#destination").await, ["ba•••@example.org"]);
    b.switch().await;
    b.fill("code", &code).await;
    b.submit().await;
    b.expect("Update info").await;
    assert_eq!(
        b.texts("#security-info li").await,
        [
            "Email jo•••@example.com · Remove",
            "Phone •••••••23 · Change · Remove",
            "Email ba•••@example.org · Remove"
        ]
    );

    // ----- change phone: last four → code → Remove → add the new one → code ------
    b.switch().await;
    b.expect("Update info").await;
    b.click_link("Change").await;
    b.expect("Change phone number").await;
    // Wrong digits show the form again, saying so.
    b.fill("last_four", "9999").await;
    b.submit().await;
    b.expect("Change phone number").await;
    assert_eq!(b.texts(".error").await.len(), 1);
    b.fill("last_four", "0123").await;
    b.submit().await;
    b.expect("Enter the code").await;
    let code = b.code_for("•••••••23").await;
    b.switch().await;
    b.fill("code", &code).await;
    b.submit().await;
    b.expect("Remove the old number").await;
    assert_eq!(b.texts("#old-number").await, ["•••••••23"]);
    b.switch().await; // the sealed proof opens on the other process
    b.expect("Remove the old number").await;
    b.submit().await;
    b.expect("Add security info").await;
    b.fill("contact", "+1 206 555 0188").await;
    b.submit().await;
    b.expect("Enter the code").await;
    let code = b.code_for("•••••••88").await;
    b.switch().await;
    b.fill("code", &code).await;
    b.submit().await;
    b.expect("Update info").await;
    assert_eq!(
        b.texts("#security-info li").await,
        [
            "Email jo•••@example.com · Remove",
            "Email ba•••@example.org · Remove",
            "Phone •••••••88 · Change · Remove"
        ]
    );

    // ----- remove security info: a code to a verified method, then it goes ---------
    b.click("li.info:nth-child(2) a.remove").await;
    b.expect("Remove security info").await;
    assert_eq!(b.texts("#removing").await, ["ba•••@example.org"]);
    b.switch().await;
    b.submit().await; // the code goes to the first verified method
    b.expect("Enter the code").await;
    let code = b.code_for("jo•••@example.com").await;
    b.switch().await;
    b.fill("code", &code).await;
    b.submit().await;
    b.expect("Update info").await;
    assert_eq!(
        b.texts("#security-info li").await,
        [
            "Email jo•••@example.com · Remove",
            "Phone •••••••88 · Change · Remove"
        ]
    );

    // ----- John adds an authenticator app, before any recovery of his account --------
    b.click("#add-app").await;
    b.expect("Set up your authenticator app").await;
    let johns = seccode::TotpSecret::from_base32(&b.texts("#app-secret").await[0]).unwrap();
    let johns_first = app_code(&johns, 0);
    b.fill("code", &johns_first).await;
    b.submit().await;
    b.expect("Update info").await;
    assert_eq!(b.texts("#security-info li").await.len(), 3);

    // ----- a path nobody serves: a page of its own ------------------------------------
    b.goto("/no-such-page").await;
    b.expect("Page not found").await;

    // ----- sign out; recover another account ---------------------------------------
    b.sign_out().await;
    b.goto("/recover").await;
    b.expect("Recover your account").await;
    b.fill("identifier", "Jane.Roe@Example.com").await;
    b.submit().await;
    b.expect("Verify your identity").await;
    b.switch().await;
    b.expect("Verify your identity").await;
    let choices = b.texts("#choices li").await;
    assert!(
        choices.iter().any(|c| c.starts_with("ja•••@example.com")),
        "{choices:?}"
    );
    b.fill("confirmation", "jane.roe@example.com").await;
    b.submit().await;
    b.expect("Enter your security code").await;
    let code = b.code_for("ja•••@example.com").await;
    b.switch().await;
    b.fill("code", &code).await;
    b.submit().await;
    b.expect("Is this your account?").await;
    assert_eq!(
        b.texts("#account li").await,
        ["ja•••@example.com", "•••••••56"]
    );
    b.switch().await;
    b.click_link("Yes, set a new password").await;
    b.expect("Set a new password").await;
    b.fill("password", "a-new-password-1").await;
    b.submit().await;
    b.expect("Security").await;
    // The new password signs in.
    b.sign_out().await;
    b.switch().await;
    b.fill("identifier", "+44 7400 123456").await;
    b.fill("password", "a-new-password-1").await;
    b.submit().await;
    b.expect("Security").await;

    // ----- add an authenticator app: the key shown once, then the app's code ----------
    b.goto("/security/info").await;
    b.expect("Update info").await;
    b.click("#add-app").await;
    b.expect("Set up your authenticator app").await;
    assert_eq!(
        b.client
            .find_all(Locator::Css(".qr svg"))
            .await
            .unwrap()
            .len(),
        1
    );
    let secret = seccode::TotpSecret::from_base32(&b.texts("#app-secret").await[0]).unwrap();
    b.fill("code", "000000").await;
    b.submit().await;
    b.expect("Set up your authenticator app").await;
    assert_eq!(
        b.texts(".error").await,
        ["The code from the authenticator app is not correct."]
    );
    b.fill("code", &app_code(&secret, 0)).await;
    b.submit().await;
    b.expect("Update info").await;
    assert!(
        b.texts("#security-info li")
            .await
            .contains(&"App Authenticator app · Remove".to_owned())
    );

    // ----- the app proves it's you (a new recovery code); its code works once --------
    b.goto("/security/recovery-code").await;
    b.expect("Recovery code").await;
    // The next time step's code (accepted one step ahead), used twice.
    let next = app_code(&secret, 30);
    b.fill("code", &next).await;
    b.click("#with-app button").await;
    b.expect("Your new recovery code").await;
    b.click("#continue").await;
    b.expect("Security").await;
    b.goto("/security/recovery-code").await;
    b.expect("Recovery code").await;
    b.fill("code", &next).await;
    b.click("#with-app button").await;
    b.expect("Recovery code").await;
    assert_eq!(
        b.texts(".error").await,
        ["The code from the authenticator app is not correct."]
    );

    // ----- a recovery code: verify it's you, then it is shown once ----------------------
    b.goto("/security").await;
    b.expect("Security").await;
    b.click("#recovery-code").await;
    b.expect("Recovery code").await;
    assert_eq!(
        b.texts("#code-state").await,
        ["You have a recovery code. Making a new one replaces it."]
    );
    b.submit().await; // the code that proves it's you goes to the first verified method
    b.expect("Enter the code").await;
    let code = b.code_for("ja•••@example.com").await;
    b.switch().await;
    b.fill("code", &code).await;
    b.submit().await;
    b.expect("Your new recovery code").await;
    let recovery_code = b.texts("#recovery-code").await.remove(0);
    assert_eq!(recovery_code.len(), 29, "{recovery_code}");
    b.click("#continue").await;
    b.expect("Security").await;
    b.sign_out().await;

    // ----- recover with it: no code sent, a wrong one refused, the next shown once -----
    b.goto("/recover").await;
    b.expect("Recover your account").await;
    b.fill("identifier", "jane.roe@example.com").await;
    b.submit().await;
    b.expect("Verify your identity").await;
    b.click_link("Use a recovery code").await;
    b.expect("Use a recovery code").await;
    b.fill("code", "22222-33333-44444-55555-66666").await;
    b.submit().await;
    b.expect("Use a recovery code").await;
    assert_eq!(
        b.texts(".error").await,
        ["The recovery code is not correct."]
    );
    b.switch().await;
    b.fill("code", &recovery_code.to_lowercase().replace('-', " "))
        .await;
    b.submit().await;
    b.expect("Your new recovery code").await;
    let next_code = b.texts("#new-recovery-code").await.remove(0);
    assert_ne!(next_code, recovery_code);
    b.click("#continue").await;
    b.expect("Is this your account?").await;
    assert_eq!(
        b.texts("#account li").await,
        ["ja•••@example.com", "•••••••56", "Authenticator app"]
    );
    // Nothing but the recovery's notices went out since the code that proved
    // it was Jane who made the recovery code: no code was sent.
    b.goto("/mailbox").await;
    b.expect("Dev mailbox").await;
    let kinds: Vec<String> = {
        let mut kinds = Vec::new();
        for mail in b
            .client
            .find_all(Locator::Css("li.mail"))
            .await
            .unwrap()
            .into_iter()
            .take(3)
        {
            kinds.push(mail.attr("data-kind").await.unwrap().unwrap_or_default());
        }
        kinds
    };
    assert_eq!(kinds, ["notice", "notice", "code"]);
    let newest = b.texts("li.mail .body").await;
    assert!(
        newest[0].contains("recovery code") && newest[2].contains(&code),
        "{newest:?}"
    );

    // ----- recover with the app: nothing sent, a used code refused -------------------
    // Jane's app came after her recovery: in its window only the earlier
    // contacts recover her account, so her app is not offered.
    b.goto("/recover/choose").await;
    b.expect("Verify your identity").await;
    assert!(
        b.client
            .find_all(Locator::Id("use-app"))
            .await
            .unwrap()
            .is_empty()
    );
    // John's came before any: offered, and nothing is sent.
    let mails = b.mail_count().await;
    b.goto("/recover").await;
    b.expect("Recover your account").await;
    b.fill("identifier", "john.doe@example.com").await;
    b.submit().await;
    b.expect("Verify your identity").await;
    b.click_link("Use a code from my authenticator app").await;
    b.expect("Enter the code from your authenticator app").await;
    b.fill("code", &johns_first).await;
    b.submit().await;
    b.expect("Enter the code from your authenticator app").await;
    assert_eq!(
        b.texts(".error").await,
        ["The code from the authenticator app is not correct."]
    );
    // The app's code one step ahead: after the enrolment's step whatever the
    // time, and within the accepted drift.
    b.fill("code", &app_code_at(&johns, (unix_now() / 30 + 1) * 30))
        .await;
    b.submit().await;
    b.expect("Is this your account?").await;
    // Two notices (email and phone), no code.
    b.goto("/mailbox").await;
    b.expect("Dev mailbox").await;
    assert_eq!(b.texts("li.mail").await.len(), mails + 2);
    let newest = b.texts("li.mail .body").await;
    assert!(
        newest[0].contains("authenticator app") && newest[1].contains("authenticator app"),
        "{newest:?}"
    );

    // ----- recover with an identifier no account has: the same pages, no mail ------
    let mails = b.mail_count().await;
    b.goto("/recover").await;
    b.expect("Recover your account").await;
    b.fill("identifier", "nobody.here@example.net").await;
    b.submit().await;
    b.expect("Verify your identity").await;
    let choices = b.texts("#choices li").await;
    let index = choices
        .iter()
        .position(|c| c.starts_with("no•••@example.net"))
        .unwrap();
    b.client
        .find(Locator::Css(&format!(
            "input[name=choice][value='{index}']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.fill("confirmation", "nobody.here@example.net").await;
    b.submit().await;
    b.expect("Enter your security code").await;
    assert_eq!(b.texts("#destination").await, ["no•••@example.net"]);
    assert_eq!(b.mail_count().await, mails, "nothing was sent");
    b.client.back().await.unwrap();
    b.expect("Enter your security code").await;
    b.fill("code", "123456").await;
    b.submit().await;
    b.expect("Enter your security code").await;
    assert!(b.texts(".error").await[0].starts_with("That code didn't work"));

    b.client.close().await.unwrap();
    let saved = std::fs::read_dir(&shots).unwrap().count();
    assert!(saved >= 30, "{saved} screenshots");
    let _ = std::fs::remove_dir_all(&tmp);
}
