//! Several OS processes on one SQLite file: guesses from two processes at one
//! challenge still give at most one success and at most `max_attempts` evaluated
//! guesses; a process killed with SIGKILL in the middle of a verify loop loses no
//! counted attempt, and no code verifies twice after the restart.
//!
//! The test binary re-invokes itself: the `#[ignore]`d `child` test is the
//! helper process, configured through environment variables.

#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use seccode::{
    AccountId, ChallengeId, ChallengeStore, Config, Contact, Keyring, Limits, Outbox, Purpose,
    SecretKey, SecurityCodes, SqliteStore, SystemClock, Verification,
};

use common::wrong_code;

const KEY: [u8; 32] = [0x51; 32];

fn codes(path: &Path) -> SecurityCodes<SqliteStore, Arc<Outbox>, SystemClock> {
    let limits = Limits::builder()
        .destination_sends(10_000, std::time::Duration::from_secs(3600))
        .build()
        .unwrap();
    SecurityCodes::new(
        SqliteStore::open(path).unwrap(),
        Arc::new(Outbox::new()),
        Keyring::new(1, SecretKey::from_bytes(KEY)),
    )
    .with_config(Config::default().with_limits(limits))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Starts this test binary as a helper process running `child` with `env`.
fn spawn_child(env: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child",
        "--ignored",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Issues `n` challenges (one account and destination each) and returns their
/// ids and codes.
fn issue(path: &Path, n: usize) -> Vec<(ChallengeId, String)> {
    let codes = codes(path);
    runtime().block_on(async {
        let mut out = Vec::new();
        for i in 0..n {
            let account = AccountId::new(format!("user-{i}")).unwrap();
            let to = Contact::email(&format!("user{i}@example.org")).unwrap();
            let sent = codes.start(&account, Purpose::Recovery, &to).await.unwrap();
            let code = codes
                .channel()
                .last_code_to(&to)
                .unwrap()
                .expose()
                .to_owned();
            out.push((sent.id, code));
        }
        out
    })
}

/// The helper process. `SECCODE_DB`: the file; `SECCODE_GUESSES`: a list of
/// `challenge-id:code` separated by commas, tried in order. Prints one line per
/// finished verification: `done <challenge-id> <outcome>`.
#[test]
#[ignore = "a helper process started by the other tests"]
fn child() {
    let (Ok(db), Ok(guesses)) = (
        std::env::var("SECCODE_DB"),
        std::env::var("SECCODE_GUESSES"),
    ) else {
        return;
    };
    let codes = codes(Path::new(&db));
    runtime().block_on(async {
        for guess in guesses.split(',') {
            let (id, code) = guess.split_once(':').unwrap();
            let id: ChallengeId = id.parse().unwrap();
            let outcome = match codes.verify(&id, Purpose::Recovery, code).await.unwrap() {
                Verification::Approved(_) => "approved",
                Verification::Rejected { .. } => "rejected",
                Verification::Locked => "locked",
                Verification::AlreadyUsed => "used",
                other => panic!("{other:?}"),
            };
            println!("done {id} {outcome}");
        }
    });
}

/// `(challenge id, outcome)` from a helper's progress line. The test harness may
/// have written `test child ... ` on the same line first.
fn progress(line: &str) -> Option<(String, String)> {
    let rest = &line[line.find("done ")? + 5..];
    let (id, outcome) = rest.split_once(' ')?;
    Some((id.to_owned(), outcome.trim().to_owned()))
}

fn outcomes(child: Child) -> Vec<(String, String)> {
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "helper failed");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(progress)
        .collect()
}

#[test]
fn two_processes_guessing_one_challenge_succeed_at_most_once() {
    let dir = common::temp_dir("two-processes");
    let path = dir.join("codes.sqlite3");
    let challenges = issue(&path, 20);
    // Each process: for every challenge, three wrong guesses and the right code,
    // in a different order, so the processes race on every challenge.
    let plan = |right_first: bool| {
        challenges
            .iter()
            .flat_map(|(id, code)| {
                let mut g = vec![wrong_code(code); 3];
                if right_first {
                    g.insert(0, code.clone());
                } else {
                    g.push(code.clone());
                }
                g.into_iter().map(move |c| format!("{id}:{c}"))
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let db = path.to_string_lossy().into_owned();
    let a = spawn_child(&[("SECCODE_DB", db.clone()), ("SECCODE_GUESSES", plan(false))]);
    let b = spawn_child(&[("SECCODE_DB", db), ("SECCODE_GUESSES", plan(true))]);
    let mut all = outcomes(a);
    all.extend(outcomes(b));
    assert_eq!(all.len(), challenges.len() * 8);
    let store = SqliteStore::open(&path).unwrap();
    let mut approvals_total = 0;
    for (id, _) in &challenges {
        let id_text = id.to_string();
        let mine: Vec<&str> = all
            .iter()
            .filter(|(c, _)| *c == id_text)
            .map(|(_, o)| o.as_str())
            .collect();
        let approved = mine.iter().filter(|o| **o == "approved").count();
        let evaluated = mine
            .iter()
            .filter(|o| matches!(**o, "approved" | "rejected"))
            .count();
        assert!(approved <= 1, "{id}: {mine:?}");
        assert!(evaluated <= 5, "{id}: {mine:?}");
        let stored = runtime().block_on(store.get(id)).unwrap().unwrap();
        assert!(stored.attempts() <= 5);
        approvals_total += approved;
    }
    // One process tries the right code first on every challenge, before any
    // guess of its own is spent: most challenges must be approved, or the test
    // would not be exercising the success path at all.
    assert!(approvals_total >= challenges.len() / 2, "{approvals_total}");
}

#[test]
fn a_killed_process_loses_no_attempt_and_no_code_verifies_twice() {
    let dir = common::temp_dir("crash");
    let path = dir.join("codes.sqlite3");
    let challenges = issue(&path, 300);
    let guesses = challenges
        .iter()
        .map(|(id, code)| format!("{id}:{}", wrong_code(code)))
        .collect::<Vec<_>>()
        .join(",");
    let mut child = spawn_child(&[
        ("SECCODE_DB", path.to_string_lossy().into_owned()),
        ("SECCODE_GUESSES", guesses),
    ]);
    // Read progress until a third of the guesses are done, then SIGKILL.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut done = Vec::new();
    while done.len() < challenges.len() / 3 {
        let line = lines.next().unwrap().unwrap();
        done.extend(progress(&line).map(|(id, _)| id));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    // Lines the child printed before it died also count as finished.
    for line in lines.map_while(Result::ok) {
        done.extend(progress(&line).map(|(id, _)| id));
    }
    assert!(
        done.len() < challenges.len(),
        "the helper was killed mid-loop"
    );

    // Restart: a new process opens the same file.
    let codes = codes(&path);
    let rt = runtime();
    let mut in_flight = 0;
    for (id, code) in &challenges {
        let stored = rt.block_on(codes.store().get(id)).unwrap().unwrap();
        let finished = done.contains(&id.to_string());
        if finished {
            assert_eq!(stored.attempts(), 1, "{id}: a finished guess stays counted");
        } else if stored.attempts() == 1 {
            in_flight += 1; // counted, killed before it answered
        } else {
            assert_eq!(stored.attempts(), 0, "{id}");
        }
        let first = rt
            .block_on(codes.verify(id, Purpose::Recovery, code))
            .unwrap();
        assert!(first.is_approved(), "{id}: {first:?}");
        let again = rt
            .block_on(codes.verify(id, Purpose::Recovery, code))
            .unwrap();
        assert!(
            matches!(again, Verification::AlreadyUsed),
            "{id}: {again:?}"
        );
    }
    assert!(
        in_flight <= 1,
        "at most the one guess in flight when killed: {in_flight}"
    );
}
