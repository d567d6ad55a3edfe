//! seccode-server when its store fails: the store (Redis; PostgreSQL alone)
//! killed by PID (SIGKILL) under a concurrent check load and restarted on its
//! data directory. Checks during the outage answer 503/20503 at once,
//! readiness names the store that is down, the log names the loss once and
//! the return once, service is back within 2 s of the store — and the
//! guarantees hold throughout: no verification approved twice, never more
//! than 5 wrong checks evaluated per verification.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod harness;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::{ACCOUNT_SID, AUTH_TOKEN, Backing, Harness};
use serde_json::Value;

/// One check's answer, timed.
#[derive(Clone, Debug)]
struct Seen {
    verification: String,
    started: Instant,
    finished: Instant,
    status: u16,
    body: Value,
    retry_after: bool,
}

async fn check(http: &reqwest::Client, url: &str, verification: &str, code: &str) -> Seen {
    let started = Instant::now();
    let r = http
        .post(url)
        .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
        .form(&[("VerificationSid", verification), ("Code", code)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry_after = r.headers().contains_key("retry-after");
    let body = r.json().await.unwrap_or(Value::Null);
    Seen {
        verification: verification.to_owned(),
        started,
        finished: Instant::now(),
        status,
        body,
        retry_after,
    }
}

async fn ready(http: &reqwest::Client, base: &str) -> (u16, String) {
    let r = http.get(format!("{base}/readyz")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The store the outage hits.
#[derive(Clone, Copy)]
enum Killed {
    Redis,
    Postgres,
}

impl Killed {
    fn kill(self, h: &mut Harness) {
        match self {
            Killed::Redis => h.redis_server().kill(),
            Killed::Postgres => h.postgres_server().kill(),
        }
    }

    fn restart(self, h: &mut Harness) {
        match self {
            Killed::Redis => h.redis_server().restart(),
            Killed::Postgres => h.postgres_server().restart(),
        }
    }

    /// How logs and readiness name it.
    fn name(self) -> &'static str {
        match self {
            Killed::Redis => "redis",
            Killed::Postgres => "postgres",
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_outage_answers_fast_503s_and_keeps_every_guarantee() {
    let mut h = Harness::start_on("faults-redis", Backing::DurableRedis).await;
    outage_under_load(&mut h, Killed::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_outage_answers_fast_503s_and_keeps_every_guarantee() {
    let mut h = Harness::start_on("faults-postgres", Backing::Postgres).await;
    outage_under_load(&mut h, Killed::Postgres).await;
}

async fn outage_under_load(h: &mut Harness, store: Killed) {
    // The server under test is a process of its own, so its log can be read.
    let log_path = std::env::temp_dir().join(format!(
        "seccode-faults-{}-{}.log",
        store.name(),
        std::process::id()
    ));
    let peer = h.peer_logging(Some(&log_path)).await;
    let base = peer.url.clone();
    let http = reqwest::Client::new();
    let service: Value = http
        .post(format!("{base}/v2/Services"))
        .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
        .form(&[("FriendlyName", "faults")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sid = service["sid"].as_str().unwrap().to_owned();
    let check_url = format!("{base}/v2/Services/{sid}/VerificationCheck");
    // 24 verifications under a wrong-code load, 8 kept for a right-code race
    // after the outage.
    let mut started = Vec::new();
    for i in 0..32 {
        let to = format!("+1501712{:04}", 3000 + i);
        let v: Value = http
            .post(format!("{base}/v2/Services/{sid}/Verifications"))
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .form(&[("To", to.as_str()), ("Channel", "sms")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let code = h.sms.last_code(&to).unwrap();
        started.push((v["sid"].as_str().unwrap().to_owned(), code));
    }
    let (loaded, raced) = started.split_at(24);
    let loaded: Arc<Vec<(String, String)>> = Arc::new(loaded.to_vec());

    // 16 clients checking wrong codes as fast as answers come.
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..16usize {
        let (http, url, loaded, seen, stop) = (
            http.clone(),
            check_url.clone(),
            loaded.clone(),
            seen.clone(),
            stop.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut i = c;
            // Bounded, whatever happens to the rest of the test.
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let (ve, code) = &loaded[i % loaded.len()];
                let wrong = if code.starts_with('9') {
                    "000000"
                } else {
                    "999999"
                };
                let s = check(&http, &url, ve, wrong).await;
                seen.lock().unwrap().push(s);
                i += 16;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ready(&http, &base).await.0, 200);

    // The store dies.
    let killed = Instant::now();
    store.kill(h);
    let mut probes = Vec::new();
    while killed.elapsed() < Duration::from_secs(3) {
        let probe_started = Instant::now();
        let (status, text) = ready(&http, &base).await;
        probes.push((probe_started, probe_started.elapsed(), status, text));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // It comes back on its data directory: the outage ends when the restart
    // begins; service is measured from when the store answers again.
    let restarting = Instant::now();
    store.restart(h);
    let restarted = Instant::now();
    let back = loop {
        let s = check(&http, &check_url, &loaded[0].0, "000000").await;
        if s.status != 503 {
            break restarted.elapsed();
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(10),
            "service did not come back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    // The right code twice at once, on verifications the load never touched.
    let mut races = Vec::new();
    for (ve, code) in raced {
        let (a, b) = tokio::join!(
            check(&http, &check_url, ve, code),
            check(&http, &check_url, ve, code)
        );
        races.push((a, b));
    }

    let seen = seen.lock().unwrap().clone();
    let grace = Duration::from_millis(200);
    let bound = Duration::from_millis(1500);
    // During the outage: every answer a fast 503/20503 with Retry-After.
    let during: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.started >= killed + grace && s.finished <= restarting)
        .collect();
    assert!(
        during.len() > 20,
        "{} checks during the outage",
        during.len()
    );
    for s in &during {
        assert_eq!(s.status, 503, "{:?}", s.body);
        assert_eq!(s.body["code"], 20503, "{:?}", s.body);
        assert!(s.retry_after, "Retry-After on a 503");
        assert!(
            s.finished - s.started <= bound,
            "{:?}",
            s.finished - s.started
        );
    }
    let slowest = seen
        .iter()
        .filter(|s| s.started >= killed + grace && s.started < restarting)
        .map(|s| s.finished - s.started)
        .max()
        .unwrap();
    assert!(
        slowest <= bound,
        "a check during the outage took {slowest:?}"
    );
    // Readiness says so, naming Redis, within the probe deadline.
    let late: Vec<_> = probes
        .iter()
        .filter(|(at, ..)| *at >= killed + grace)
        .collect();
    assert!(!late.is_empty());
    for (_, took, status, text) in &late {
        assert_eq!(*status, 503, "{text}");
        assert!(text.contains(store.name()), "{text}");
        assert!(*took <= bound, "readiness took {took:?}");
    }
    assert_eq!(ready(&http, &base).await.0, 200);
    assert!(
        back <= Duration::from_secs(2),
        "service back after {back:?}"
    );
    // Never a 500; at most 5 wrong checks evaluated per verification.
    assert!(seen.iter().all(|s| s.status != 500), "a 500 during the run");
    let mut evaluated: HashMap<&str, usize> = HashMap::new();
    for s in &seen {
        if s.status == 200 {
            *evaluated.entry(s.verification.as_str()).or_default() += 1;
        }
    }
    assert!(evaluated.values().all(|&n| n <= 5), "{evaluated:?}");
    // One approval per verification.
    for (a, b) in &races {
        let approved = [a, b]
            .iter()
            .filter(|s| s.status == 200 && s.body["status"] == "approved")
            .count();
        assert_eq!(approved, 1, "{:?} / {:?}", a.body, b.body);
    }
    // The log names the loss once and the return once; no per-request lines.
    peer.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lost = log.lines().filter(|l| l.contains("store lost")).count();
    let returned = log.lines().filter(|l| l.contains("store back")).count();
    assert_eq!((lost, returned), (1, 1), "{log}");
    assert!(
        log.lines()
            .filter(|l| l.contains("store lost") || l.contains("store back"))
            .all(|l| l.contains(&format!("store=\"{}\"", store.name()))),
        "{log}"
    );
    let lost_line = log.lines().find(|l| l.contains("store lost")).unwrap();
    assert!(
        ["unreachable", "timed out", "no answer"]
            .iter()
            .any(|cause| lost_line.contains(cause)),
        "the cause is named: {lost_line}"
    );
    assert!(!log.contains("security codes"), "{log}");
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ERROR") && !l.contains("store lost"))
        .collect();
    assert!(errors.is_empty(), "an error line per request: {errors:?}");
    eprintln!(
        "{} outage: {} checks answered 503 (slowest {slowest:?}); back {back:?} after the restart",
        store.name(),
        during.len()
    );
    let _ = std::fs::remove_file(&log_path);
}
