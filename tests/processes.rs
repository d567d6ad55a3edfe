//! Several OS processes on one store — a SQLite file, a Redis server, a
//! PostgreSQL database: guesses from two processes at one challenge still give
//! at most one success and at most `max_attempts` evaluated guesses; a process
//! killed with SIGKILL in the middle of a verify loop on SQLite or PostgreSQL
//! loses no counted attempt, and no code verifies twice after the restart.
//!
//! The test binary re-invokes itself: the `#[ignore]`d `child` test is the
//! helper process, configured through environment variables.

#![cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use seccode::SendOptions;
use seccode::store::ChallengeStore;
use seccode::{
    AccountId, ChallengeId, Config, Contact, Keyring, Limits, Outbox, Purpose, SecretKey,
    SecurityCodes, Verification,
};

use common::wrong_code;

const KEY: [u8; 32] = [0x51; 32];

type Codes<S> = SecurityCodes<S, Arc<Outbox>>;

/// A backend as a helper process reaches it: `sqlite:<path>`, `redis:<url>` or
/// `postgres:<url>`.
#[derive(Clone)]
struct Backend(String);

fn codes<S: ChallengeStore>(store: S) -> Codes<S> {
    let limits = Limits::builder()
        .destination_sends(10_000, std::time::Duration::from_secs(3600))
        .build()
        .unwrap();
    SecurityCodes::new(
        store,
        Arc::new(Outbox::new()),
        Keyring::new(1, SecretKey::from_bytes(KEY)),
    )
    .with_config(Config::default().with_limits(limits))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `body` with a service on `backend`.
macro_rules! with_codes {
    ($backend:expr, |$codes:ident| $body:expr) => {{
        let backend: &Backend = $backend;
        let rt = runtime();
        match backend.0.split_once(':').unwrap() {
            #[cfg(feature = "sqlite")]
            ("sqlite", path) => {
                let $codes = codes(seccode::SqliteStore::open(path).unwrap());
                rt.block_on($body)
            }
            #[cfg(feature = "redis")]
            ("redis", url) => {
                let $codes = codes(
                    rt.block_on(seccode::RedisStore::connect_with_prefix(url, "procs"))
                        .unwrap(),
                );
                rt.block_on($body)
            }
            #[cfg(feature = "redis")]
            ("redis-cluster", urls) => {
                let urls: Vec<&str> = urls.split(',').collect();
                let slot_key = SecretKey::from_bytes([0x52; 32]);
                let $codes = codes(
                    rt.block_on(seccode::RedisStore::connect_cluster(
                        &urls, "procs", &slot_key,
                    ))
                    .unwrap(),
                );
                rt.block_on($body)
            }
            #[cfg(feature = "postgres")]
            ("postgres", url) => {
                let $codes = codes(rt.block_on(seccode::PostgresStore::connect(url)).unwrap());
                rt.block_on($body)
            }
            (other, _) => panic!("unknown backend {other}"),
        }
    }};
}

/// Issues `n` challenges (one account and destination each); their ids and codes.
async fn issue<S: ChallengeStore>(codes: &Codes<S>, n: usize) -> Vec<(ChallengeId, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let account = AccountId::new(format!("user-{i}")).unwrap();
        let to = Contact::email(&format!("user{i}@example.org")).unwrap();
        let sent = codes
            .start(&account, Purpose::Recovery, &to, SendOptions::default())
            .await
            .unwrap();
        let code = codes
            .channel()
            .last_code_to(&to)
            .unwrap()
            .expose()
            .to_owned();
        out.push((sent.id, code));
    }
    out
}

/// Starts this test binary as a helper process running `child`.
fn spawn_child(backend: &Backend, guesses: String) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("SECCODE_BACKEND", &backend.0)
        .env("SECCODE_GUESSES", guesses)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The helper process. `SECCODE_BACKEND`: where to connect; `SECCODE_GUESSES`: a
/// list of `challenge-id:code` separated by commas, tried in order. Prints one
/// line per finished verification: `done <challenge-id> <outcome>`.
#[test]
#[ignore = "a helper process started by the other tests"]
fn child() {
    let (Ok(backend), Ok(guesses)) = (
        std::env::var("SECCODE_BACKEND"),
        std::env::var("SECCODE_GUESSES"),
    ) else {
        return;
    };
    with_codes!(&Backend(backend), |codes| async move {
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

/// Two helpers race on twenty challenges: for each, three wrong guesses and the
/// right code, one helper trying the right code first and the other last.
fn two_processes_race(backend: &Backend) {
    let challenges = with_codes!(backend, |codes| async move { issue(&codes, 20).await });
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
    let a = spawn_child(backend, plan(false));
    let b = spawn_child(backend, plan(true));
    let mut all = outcomes(a);
    all.extend(outcomes(b));
    assert_eq!(all.len(), challenges.len() * 8);
    let ids: Vec<ChallengeId> = challenges.iter().map(|(id, _)| *id).collect();
    let stored = with_codes!(backend, |codes| async move {
        let mut attempts = Vec::new();
        for id in &ids {
            attempts.push(codes.store().get(id).await.unwrap().unwrap().attempts());
        }
        attempts
    });
    let mut approvals_total = 0;
    for ((id, _), attempts) in challenges.iter().zip(stored) {
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
        assert!(
            attempts <= 5 && usize::from(attempts) >= evaluated,
            "{id}: {attempts}"
        );
        approvals_total += approved;
    }
    // One helper tries the right code first on every challenge, before any of
    // its own guesses: most challenges must be approved, or the test would not be
    // exercising the success path at all.
    assert!(approvals_total >= challenges.len() / 2, "{approvals_total}");
}

#[cfg(feature = "sqlite")]
#[test]
fn two_processes_on_one_sqlite_file_succeed_at_most_once() {
    let dir = common::temp_dir("two-processes");
    two_processes_race(&Backend(format!(
        "sqlite:{}",
        dir.join("codes.sqlite3").display()
    )));
}

#[cfg(feature = "redis")]
#[test]
fn two_processes_on_one_redis_succeed_at_most_once() {
    let server = common::RedisServer::start("two-processes");
    two_processes_race(&Backend(format!("redis:{}", server.url)));
}

#[cfg(feature = "redis")]
#[test]
fn two_processes_on_one_redis_cluster_succeed_at_most_once() {
    let cluster = common::RedisCluster::start("two-processes");
    two_processes_race(&Backend(format!(
        "redis-cluster:{}",
        cluster.urls.join(",")
    )));
}

#[cfg(feature = "postgres")]
#[test]
fn two_processes_on_one_postgres_succeed_at_most_once() {
    let server = common::PostgresServer::start("two-processes");
    two_processes_race(&Backend(format!("postgres:{}", server.database("race"))));
}

#[cfg(feature = "sqlite")]
#[test]
fn a_killed_process_loses_no_attempt_and_no_code_verifies_twice() {
    let dir = common::temp_dir("crash");
    killed_mid_loop(&Backend(format!(
        "sqlite:{}",
        dir.join("codes.sqlite3").display()
    )));
}

#[cfg(feature = "postgres")]
#[test]
fn a_killed_process_on_postgres_loses_no_attempt_and_no_code_verifies_twice() {
    let server = common::PostgresServer::start("crash");
    killed_mid_loop(&Backend(format!("postgres:{}", server.database("crash"))));
}

/// A helper makes one wrong guess on each of 300 challenges and is killed with
/// SIGKILL a third of the way; a new process then finds every finished guess
/// counted, at most the one in flight counted without an answer, and each code
/// verifying exactly once.
fn killed_mid_loop(backend: &Backend) {
    let backend = backend.clone();
    let challenges = with_codes!(&backend, |codes| async move { issue(&codes, 300).await });
    let guesses = challenges
        .iter()
        .map(|(id, code)| format!("{id}:{}", wrong_code(code)))
        .collect::<Vec<_>>()
        .join(",");
    let mut child = spawn_child(&backend, guesses);
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
    let in_flight = with_codes!(&backend, |codes| async move {
        let mut in_flight = 0;
        for (id, code) in &challenges {
            let stored = codes.store().get(id).await.unwrap().unwrap();
            if done.contains(&id.to_string()) {
                assert_eq!(stored.attempts(), 1, "{id}: a finished guess stays counted");
            } else if stored.attempts() == 1 {
                in_flight += 1; // counted, killed before it answered
            } else {
                assert_eq!(stored.attempts(), 0, "{id}");
            }
            let first = codes.verify(id, Purpose::Recovery, code).await.unwrap();
            assert!(first.is_approved(), "{id}: {first:?}");
            let again = codes.verify(id, Purpose::Recovery, code).await.unwrap();
            assert!(
                matches!(again, Verification::AlreadyUsed),
                "{id}: {again:?}"
            );
        }
        in_flight
    });
    assert!(
        in_flight <= 1,
        "at most the one guess in flight when killed: {in_flight}"
    );
}
