//! Twilio's official SDKs, unchanged, against seccode-server: the Python
//! `twilio` package and the Node `twilio` package each run a script
//! (`tests/sdk/`) that creates a service, starts verifications by SMS and
//! email, reads the codes from what the receivers got, checks a wrong then the
//! right code, fetches, cancels, lists with paging, deletes, and asserts the
//! SDK's errors for 60200, 60202, 60203, 20404 and 20003 — validating every
//! response against the Verify v2 OpenAPI excerpt.
//!
//! `bash .ci/test` installs the SDKs into `$HOME/.cache/seccode-sdk` (a Python
//! venv and an npm prefix); `SECCODE_SDK_DIR` points elsewhere. Without them
//! the tests fail, saying so: they never pass without the SDK they test.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod harness;

use std::path::{Path, PathBuf};

use harness::{ACCOUNT_SID, AUTH_TOKEN, Harness};

fn sdk_dir() -> PathBuf {
    std::env::var_os("SECCODE_SDK_DIR").map_or_else(
        || PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/seccode-sdk"),
        PathBuf::from,
    )
}

/// Fails the test, saying how to install it, when the SDK at `path` is missing.
fn require(name: &str, path: &Path) {
    assert!(
        path.exists(),
        "{name} is not installed at {}; `bash .ci/test` installs it",
        path.display()
    );
}

async fn run(h: &Harness, program: &Path, script: &str, extra: &[(&str, &Path)]) {
    let (key_sid, key_secret) = h.create_key().await;
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(here.join("sdk").join(script))
        .env("SECCODE_URL", &h.url)
        .env("ACCOUNT_SID", ACCOUNT_SID)
        .env("AUTH_TOKEN", AUTH_TOKEN)
        .env("API_KEY_SID", key_sid)
        .env("API_KEY_SECRET", key_secret)
        .env("SMS_DIR", &h.sms_dir)
        .env("WHATSAPP_DIR", &h.whatsapp_dir)
        .env("CALLS_DIR", &h.calls_dir)
        .env("MAIL_DIR", h.smtp.dir())
        .env("SCHEMA", here.join("data/twilio_verify_v2_excerpt.json"))
        // The SDKs must not rewrite the host for a region or an edge.
        .env_remove("TWILIO_REGION")
        .env_remove("TWILIO_EDGE");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("sdk ok"), "{stdout}");
    eprintln!("{}", stdout.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_works_unchanged() {
    let python = sdk_dir().join("py/bin/python");
    require("the Python twilio SDK", &python);
    let h = Harness::start("sdk-python").await;
    run(&h, &python, "verify_python.py", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_sdk_works_unchanged() {
    let modules = sdk_dir().join("node/node_modules");
    require("the Node twilio SDK", &modules.join("twilio"));
    let h = Harness::start("sdk-node").await;
    run(
        &h,
        Path::new("node"),
        "verify_node.js",
        &[("NODE_PATH", &modules)],
    )
    .await;
}
