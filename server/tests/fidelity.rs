//! The fidelity table: every request parameter of every implemented operation
//! in Twilio's Verify v2 description (`tests/data/twilio_verify_v2_excerpt.json`,
//! from twilio-oai) has a treatment in `seccode_server::params` — honoured, or
//! refused with 60200 unless left at its default — and `server/README.md`
//! shows the table as the code has it.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

use std::collections::BTreeSet;

use seccode_server::params::{OPERATIONS, Treatment, fidelity_table, params_of};
use serde_json::Value;

fn spec() -> Value {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(here.join("tests/data/twilio_verify_v2_excerpt.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The form parameters of `operation_id` in the description.
fn spec_params(spec: &Value, operation_id: &str) -> Option<BTreeSet<String>> {
    for methods in spec["paths"].as_object()?.values() {
        for op in methods.as_object()?.values() {
            if op["operationId"] == operation_id {
                let schema =
                    &op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
                return Some(
                    schema["properties"]
                        .as_object()
                        .map(|p| p.keys().cloned().collect())
                        .unwrap_or_default(),
                );
            }
        }
    }
    None
}

#[test]
fn every_parameter_of_an_implemented_operation_is_honoured_or_refused() {
    let spec = spec();
    let mut counted = 0;
    for op in OPERATIONS {
        let want = spec_params(&spec, op.id)
            .unwrap_or_else(|| panic!("{} is not in Twilio's description", op.id));
        let have: BTreeSet<String> = op.params.iter().map(|p| p.name.to_owned()).collect();
        assert_eq!(
            have, want,
            "{}: the table's parameters differ from the description's",
            op.id
        );
        counted += have.len();
    }
    assert!(counted > 60, "{counted} parameters");
    // Every treatment says what or why.
    for op in OPERATIONS {
        for p in op.params {
            match p.treatment {
                Treatment::Honoured(how) => assert!(!how.is_empty(), "{}", p.name),
                Treatment::Refused { defaults, why } => {
                    assert!(!why.is_empty() && !defaults.is_empty(), "{}", p.name)
                }
            }
        }
    }
    assert!(params_of("FetchService").is_none());
}

#[test]
fn the_readme_shows_the_table_the_server_has() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(here.join("README.md")).unwrap();
    let table = fidelity_table();
    assert!(
        readme.contains(&table),
        "server/README.md's fidelity table is out of date; paste this in:\n\n{table}"
    );
}
