//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use seccode::{
    Keyring, ManualClock, MemoryChallengeStore, Outbox, SecretKey, SecurityCodes, Timestamp,
};

/// 2023-11-14T22:13:20Z: a fixed start for every manual clock.
pub const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

/// Runs a future that completes without waiting: the memory store and the outbox
/// never return `Pending`, so a test needs no runtime.
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory future was not ready"),
    }
}

pub type MemoryCodes = SecurityCodes<MemoryChallengeStore, Arc<Outbox>, Arc<ManualClock>>;

/// A service on memory, an outbox and a manual clock at [`T0`], with a fixed key.
pub fn memory_service() -> (MemoryCodes, Arc<Outbox>, Arc<ManualClock>) {
    let outbox = Arc::new(Outbox::new());
    let clock = Arc::new(ManualClock::new(T0));
    let keyring = Keyring::new(1, SecretKey::from_bytes([0x5e; 32]));
    let codes = SecurityCodes::new(MemoryChallengeStore::new(), outbox.clone(), keyring)
        .with_clock(clock.clone());
    (codes, outbox, clock)
}

/// A code of the same format that differs from `code` in its first digit.
pub fn wrong_code(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    chars[0] = if chars[0] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// A fresh, empty directory for this test process.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("seccode-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// A `redis-server` started for one test on a free loopback port, stopped (by
/// its PID) when dropped.
pub struct RedisServer {
    child: std::process::Child,
    /// `redis://127.0.0.1:<port>/`.
    pub url: String,
    _dir: std::path::PathBuf,
}

impl RedisServer {
    /// Starts a server, or returns `None` — saying why on stderr — when the
    /// `redis-server` binary is not installed. Under CI (`CI` set) its absence is
    /// a failure: `.ci/run` installs it.
    pub fn start(name: &str) -> Option<RedisServer> {
        let binary = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|dir| dir.join("redis-server"))
            .find(|p| p.is_file());
        let Some(binary) = binary else {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed; .ci/run installs it (apt-get install redis-server)"
            );
            eprintln!(
                "SKIPPED {name}: redis-server is not installed (apt-get install redis-server)"
            );
            return None;
        };
        // A port the OS just handed out and released; redis binds it right away.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = temp_dir(&format!("redis-{name}"));
        let child = std::process::Command::new(binary)
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server starts");
        // Wait until it accepts connections (bounded: 10 s).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::yield_now();
        }
        Some(RedisServer {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
            _dir: dir,
        })
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
