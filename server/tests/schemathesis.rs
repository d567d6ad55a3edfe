//! Schemathesis (PyPI) against seccode-server with Twilio's Verify v2
//! description (`tests/data/twilio_verify_v2_excerpt.json`): requests made
//! from the description — valid and invalid, one by one and in chains — find
//! no server error, no answer that breaks the description's response schema,
//! no invalid request accepted, and no valid request refused but as
//! server/README.md documents (a 60200 naming the parameter, or 60205/60223;
//! the check is `tests/sdk/schemathesis_hooks.py`).
//!
//! `bash .ci/test` installs Schemathesis into the SDKs' Python venv under
//! `$HOME/.cache/seccode-sdk` (`SECCODE_SDK_DIR` points elsewhere); without
//! it the test fails, saying so. The run is seeded, so it is the same run
//! each time.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilios_description_finds_no_server_error_schema_break_or_undocumented_refusal() {
    let st = sdk_dir().join("py/bin/st");
    assert!(
        st.exists(),
        "Schemathesis is not installed at {}; `bash .ci/test` installs it",
        st.display()
    );
    let h = Harness::start("schemathesis").await;
    // A service and an entity that exist, so that the operations under them
    // are tried with more than unknown SIDs (which answer 404).
    let http = reqwest::Client::new();
    let post = |path: String, form: Vec<(&'static str, &'static str)>| {
        http.post(format!("{}/v2{path}", h.url))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .form(&form)
            .send()
    };
    let service: serde_json::Value =
        post("/Services".into(), vec![("FriendlyName", "Schemathesis")])
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let sid = service["sid"].as_str().unwrap().to_owned();
    let identity = "schemathesis-entity-0001";
    let entity = post(
        format!("/Services/{sid}/Entities"),
        vec![("Identity", identity)],
    )
    .await
    .unwrap();
    assert_eq!(entity.status().as_u16(), 201);
    let config =
        std::env::temp_dir().join(format!("seccode-schemathesis-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        format!("[parameters]\nServiceSid = \"{sid}\"\nIdentity = \"{identity}\"\n"),
    )
    .unwrap();
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let out = tokio::process::Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(here.join("data/twilio_verify_v2_excerpt.json"))
        .args(["--url", &h.url])
        .args(["--auth", &format!("{ACCOUNT_SID}:{AUTH_TOKEN}")])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,negative_data_rejection,valid_requests_are_accepted_or_refused_as_documented",
        ])
        .args(["--max-examples", "25", "--seed", "20261202", "--workers", "1"])
        .arg("--no-color")
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", here.join("sdk"))
        .output()
        .await
        .unwrap();
    let _ = std::fs::remove_file(&config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Schemathesis found failures:\n{stdout}\n{stderr}"
    );
    let summary = stdout
        .lines()
        .filter(|l| l.contains("generated") || l.contains("passed") || l.contains("Tested"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(stdout.contains("generated"), "{stdout}");
    eprintln!("{summary}");
}
