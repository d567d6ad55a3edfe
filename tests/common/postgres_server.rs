//! A PostgreSQL server of a test's own; shared by the tests and the benches.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A PostgreSQL server started for one test binary: `initdb` into a temporary
/// directory and `postgres` on a free loopback port (as the `postgres` user when
/// the tests run as root, which PostgreSQL refuses to run as), stopped by the
/// postmaster's PID when dropped.
pub struct PostgresServer {
    child: Child,
    dir: PathBuf,
    bin: PathBuf,
    data: PathBuf,
    /// The port on 127.0.0.1.
    pub port: u16,
}

/// Debian keeps the server binaries in `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| d.join("postgres").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as the `postgres` user when we are root.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl PostgresServer {
    /// Starts a server. Missing PostgreSQL fails the test, saying how to
    /// install it (`bash .ci/test` does): a test never passes without its
    /// server.
    pub fn start(name: &str) -> PostgresServer {
        let Some(bin) = bin_dir() else {
            panic!(
                "{name}: PostgreSQL is not installed; `bash .ci/test` installs it (apt-get install postgresql)"
            );
        };
        let dir = std::env::temp_dir().join(format!("seccode-pg-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for PostgreSQL");
        if is_root() {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown runs");
            assert!(owned.success(), "chown of the data directory failed");
        }
        let data = dir.join("data");
        let init = as_server_user(&bin.join("initdb"))
            .args([
                "-A",
                "trust",
                "-U",
                "seccode",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("initdb runs");
        assert!(init.success(), "initdb failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Self::spawn(&bin, &data, &dir, port);
        let server = PostgresServer {
            child,
            dir,
            bin,
            data,
            port,
        };
        server.wait_ready();
        server
    }

    fn spawn(bin: &Path, data: &Path, dir: &Path, port: u16) -> Child {
        use std::os::unix::process::CommandExt;
        as_server_user(&bin.join("postgres"))
            // A process group of its own, so a kill reaches every backend.
            .process_group(0)
            .arg("-D")
            .arg(data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.display()))
            .args(["-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts")
    }

    /// Waits until pg_isready says the server answers (bounded: 30 s).
    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server with SIGKILL — the postmaster and every backend at
    /// once (they share a process group of their own), as when its machine
    /// dies — and waits for it to exit.
    pub fn kill(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }

    /// Starts it again on its data directory after [`PostgresServer::kill`]
    /// (crash recovery), retrying while the killed server's backends are
    /// still leaving (bounded: 30 s), and waits until it answers.
    pub fn restart(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut child = Self::spawn(&self.bin, &self.data, &self.dir, self.port);
            std::thread::sleep(Duration::from_millis(300));
            match child.try_wait() {
                Ok(None) => {
                    self.child = child;
                    break;
                }
                _ => assert!(Instant::now() < deadline, "PostgreSQL did not restart"),
            }
        }
        self.wait_ready();
    }

    /// Creates the database `name` and returns its URL.
    pub fn database(&self, name: &str) -> String {
        let created = Command::new(self.bin.join("psql"))
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "seccode", "-d", "postgres", "-c"])
            .arg(format!("CREATE DATABASE \"{name}\""))
            .stdout(Stdio::null())
            .status()
            .expect("psql runs");
        assert!(created.success(), "CREATE DATABASE {name} failed");
        self.url(name)
    }

    /// The URL of the database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://seccode@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs `pg_dump` of the database `name` and returns the dump.
    pub fn dump(&self, name: &str) -> Vec<u8> {
        let out = Command::new(self.bin.join("pg_dump"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "seccode", name])
            .output()
            .expect("pg_dump runs");
        assert!(out.status.success(), "pg_dump failed");
        out.stdout
    }

    /// The postmaster's PID, from its PID file.
    fn postmaster_pid(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).ok()?;
        text.lines().next().map(str::to_owned)
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // Fast shutdown of the postmaster by its PID, then wait for it (10 s).
        if let Some(pid) = self.postmaster_pid() {
            let _ = Command::new("kill").args(["-INT", &pid]).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
