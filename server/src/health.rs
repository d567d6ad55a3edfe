//! The stores' health as the server sees it: each store's loss is logged once
//! (with the kind of fault) and its return once (with the outage's length),
//! not a line per request; every store failure is counted in `/metrics` by
//! backend.

use std::sync::Mutex;
use std::time::Instant;

use prometheus::IntCounterVec;

/// The backends the server talks to.
const BACKENDS: [&str; 3] = ["sqlite", "redis", "postgres"];

/// Answers that arrive this soon after a loss do not count as the store's
/// return: requests in flight when it went down may still finish, and one
/// outage must log one loss and one return, not a flurry.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(500);

/// Which stores are down, since when.
#[derive(Debug)]
pub struct Health {
    down: Mutex<[Option<Instant>; BACKENDS.len()]>,
    /// Whether any store is down: the common case (all up) reads no lock.
    any_down: std::sync::atomic::AtomicBool,
    failures: IntCounterVec,
}

impl Health {
    /// Counting failures on `failures` (labelled by backend).
    pub fn new(failures: IntCounterVec) -> Self {
        Self {
            down: Mutex::new([None; BACKENDS.len()]),
            any_down: std::sync::atomic::AtomicBool::new(false),
            failures,
        }
    }

    /// Notes the outcome of one call to `backend`'s store.
    pub fn observe<T>(&self, backend: &'static str, outcome: &Result<T, seccode::Error>) {
        match outcome {
            Ok(_) => self.up(backend),
            Err(e) => {
                if let seccode::Error::Store(_) = e {
                    self.failures.with_label_values(&[backend]).inc();
                }
                if let Some(failure) = e.store_failure().filter(|f| f.is_unavailable()) {
                    self.lost(backend, &failure.to_string());
                }
            }
        }
    }

    /// `backend` answered.
    pub fn up(&self, backend: &'static str) {
        if !self.any_down.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let Some(i) = BACKENDS.iter().position(|b| *b == backend) else {
            return;
        };
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        if down[i].is_some_and(|since| since.elapsed() < SETTLE) {
            return;
        }
        if let Some(since) = down[i].take() {
            tracing::warn!(
                store = backend,
                outage_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
                "store back"
            );
        }
        self.any_down.store(
            down.iter().any(Option::is_some),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// `backend` is down or out of reach (`cause` names the kind of fault,
    /// never data).
    pub fn lost(&self, backend: &'static str, cause: &str) {
        let Some(i) = BACKENDS.iter().position(|b| *b == backend) else {
            return;
        };
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        if down[i].is_none() {
            down[i] = Some(Instant::now());
            tracing::error!(store = backend, cause, "store lost");
        }
        self.any_down
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether `backend` is down as far as the server has seen.
    pub fn is_down(&self, backend: &str) -> bool {
        BACKENDS
            .iter()
            .position(|b| *b == backend)
            .is_some_and(|i| self.down.lock().unwrap_or_else(|p| p.into_inner())[i].is_some())
    }
}
