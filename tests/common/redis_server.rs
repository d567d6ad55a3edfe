//! A `redis-server` of a test's own; shared by the tests and the benches.

/// A `redis-server` started for one test on a free loopback port, stopped (by
/// its PID) when dropped.
pub struct RedisServer {
    child: std::process::Child,
    /// `redis://127.0.0.1:<port>/`.
    pub url: String,
    dir: std::path::PathBuf,
    /// How to start it again on the same port and data directory.
    binary: std::path::PathBuf,
    args: Vec<String>,
    port: u16,
}

impl RedisServer {
    /// Starts a server. A missing `redis-server` binary fails the test, saying
    /// how to install it (`bash .ci/test` does): a test never passes without
    /// its server.
    pub fn start(name: &str) -> RedisServer {
        Self::start_with(name, false)
    }

    /// As [`RedisServer::start`], durable when `durable`: every write in the
    /// append-only file, fsynced before Redis answers (`appendonly yes`,
    /// `appendfsync always`), so a kill loses nothing.
    pub fn start_with(name: &str, durable: bool) -> RedisServer {
        let binary = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|dir| dir.join("redis-server"))
            .find(|p| p.is_file());
        let Some(binary) = binary else {
            panic!(
                "{name}: redis-server is not installed; `bash .ci/test` installs it (apt-get install redis-server)"
            );
        };
        // A port the OS just handed out and released; redis binds it right away.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("seccode-redis-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for redis-server");
        let mut args: Vec<String> = [
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .collect();
        if durable {
            args.extend(["--appendonly", "yes", "--appendfsync", "always"].map(str::to_owned));
        } else {
            args.extend(["--appendonly", "no"].map(str::to_owned));
        }
        args.extend(["--dir".to_owned(), dir.display().to_string()]);
        let child = Self::spawn(&binary, &args, port);
        RedisServer {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
            dir,
            binary,
            args,
            port,
        }
    }

    fn spawn(binary: &std::path::Path, args: &[String], port: u16) -> std::process::Child {
        let child = std::process::Command::new(binary)
            .args(args)
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
        child
    }

    /// Kills the server with SIGKILL (by its PID) and waits for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and data directory (after
    /// [`RedisServer::kill`]), and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.child = Self::spawn(&self.binary, &self.args, self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of three masters (`redis-server --cluster-enabled yes` on
/// free loopback ports, joined with `redis-cli --cluster create`), started for
/// one test and stopped (each node by its PID) when dropped.
pub struct RedisCluster {
    nodes: Vec<std::process::Child>,
    /// The nodes' ports on 127.0.0.1.
    pub ports: Vec<u16>,
    /// `redis://127.0.0.1:<port>/` for each node.
    pub urls: Vec<String>,
    dir: std::path::PathBuf,
}

/// A port that is free, and whose cluster-bus port (+10 000) is free too.
fn cluster_port() -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = l.local_addr().expect("an address").port();
        if port < 55_000 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

fn redis_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new("redis-cli")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("redis-cli runs")
}

impl RedisCluster {
    /// Starts a cluster; a missing `redis-server` fails as in [`RedisServer::start`].
    pub fn start(name: &str) -> RedisCluster {
        // The single-server helper fails, saying why, when redis-server is missing.
        drop(RedisServer::start(name));
        let dir =
            std::env::temp_dir().join(format!("seccode-cluster-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut cluster = RedisCluster {
            nodes: Vec::new(),
            ports: Vec::new(),
            urls: Vec::new(),
            dir,
        };
        for _ in 0..3 {
            let port = cluster_port();
            let node_dir = cluster.dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir).expect("a node directory");
            let child = std::process::Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args([
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                ])
                .args(["--cluster-node-timeout", "5000"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&node_dir)
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server starts");
            cluster.nodes.push(child);
            cluster.ports.push(port);
            cluster.urls.push(format!("redis://127.0.0.1:{port}/"));
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        for &port in &cluster.ports {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(std::time::Instant::now() < deadline, "a node did not start");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let addresses: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let mut args = vec!["--cluster", "create"];
        args.extend(addresses.iter().map(String::as_str));
        args.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        let created = redis_cli(&args);
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        // Ready when every node says the cluster is ok (bounded: 20 s).
        for &port in &cluster.ports {
            loop {
                let info = redis_cli(&["-p", &port.to_string(), "cluster", "info"]);
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "the cluster did not form"
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        cluster
    }

    /// The node id of the node on `port`.
    pub fn node_id(&self, port: u16) -> String {
        let out = redis_cli(&["-p", &port.to_string(), "cluster", "myid"]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Moves `slots` hash slots (and their keys) from the node on `from` to the
    /// node on `to` with `redis-cli --cluster reshard`; returns when done.
    pub fn reshard(&self, from: u16, to: u16, slots: usize) {
        let (from_id, to_id) = (self.node_id(from), self.node_id(to));
        let out = redis_cli(&[
            "--cluster",
            "reshard",
            &format!("127.0.0.1:{from}"),
            "--cluster-from",
            &from_id,
            "--cluster-to",
            &to_id,
            "--cluster-slots",
            &slots.to_string(),
            "--cluster-yes",
        ]);
        assert!(
            out.status.success(),
            "reshard failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    /// How many hash slots the node on `port` serves.
    pub fn slots_of(&self, port: u16) -> usize {
        let out = redis_cli(&["-p", &port.to_string(), "cluster", "nodes"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text
            .lines()
            .find(|l| l.contains("myself"))
            .unwrap_or_default();
        line.split_whitespace()
            .skip(8)
            .map(|range| match range.split_once('-') {
                Some((a, b)) => {
                    b.parse::<usize>().unwrap_or(0) + 1 - a.parse::<usize>().unwrap_or(0)
                }
                None => usize::from(range.parse::<u16>().is_ok()),
            })
            .sum()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.kill();
            let _ = node.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
