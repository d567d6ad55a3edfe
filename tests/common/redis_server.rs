//! A `redis-server` of a test's own; shared by the tests and the benches.

/// A `redis-server` started for one test on a free loopback port, stopped (by
/// its PID) when dropped.
pub struct RedisServer {
    child: std::process::Child,
    /// `redis://127.0.0.1:<port>/`.
    pub url: String,
    dir: std::path::PathBuf,
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
        let dir = std::env::temp_dir().join(format!("seccode-redis-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for redis-server");
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
            dir,
        })
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
