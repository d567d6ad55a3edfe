//! What the demo's tests share: demo processes on free loopback ports, stopped
//! by PID when dropped, and a wait for a port with a deadline.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process stopped (by PID) when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on the port (bounded: 20 s).
pub fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A demo process on `port` over the database file `db`.
pub fn demo(port: u16, db: &Path) -> Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_seccode-demo"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let proc = Proc(child);
    wait_for_port(port, "the demo");
    proc
}
