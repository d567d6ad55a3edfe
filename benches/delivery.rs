//! What a delivery queue costs the request that sends a code, and how fast it
//! drains.
//!
//! 1. `SecurityCodes::start` on the bare outbox (the floor) against `start` with
//!    `Queued` in front of a channel that takes 50 ms per message (a provider's
//!    API call): the request should not see the 50 ms. Medians of interleaved
//!    samples, each on a fresh account and destination.
//! 2. Queue throughput: messages per second through `Queued` over a channel that
//!    does nothing, enqueued as fast as `deliver` takes them and drained.
//!
//! Run: `cargo bench -p seccode-benches --bench delivery` (`SAMPLES=…`, default 5 000).

#![allow(clippy::unwrap_used)] // a benchmark whose set-up fails should stop loudly

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use seccode::SendOptions;
use seccode::channel::{BoxError, DeliveryChannel, Message};
use seccode::{
    AccountId, Contact, Keyring, MemoryChallengeStore, Outbox, Purpose, QueueConfig, Queued,
    SecretKey, SecurityCodes,
};

/// A provider whose API call takes 50 ms.
struct Slow;

impl DeliveryChannel for Slow {
    async fn deliver(&self, _message: &Message) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(())
    }
}

/// Accepts everything and does nothing.
struct Null;

impl DeliveryChannel for Null {
    async fn deliver(&self, _message: &Message) -> Result<(), BoxError> {
        Ok(())
    }
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::var("SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let key = || Keyring::new(1, SecretKey::from_bytes([8; 32]));
        let bare = SecurityCodes::new(MemoryChallengeStore::new(), Arc::new(Outbox::new()), key())
            .with_config(support::config());
        let queue = Arc::new(
            Queued::start(
                Slow,
                QueueConfig::default()
                    .with_capacity(n + 100)
                    .with_workers(4096),
            )
            .unwrap(),
        );
        let queued = SecurityCodes::new(MemoryChallengeStore::new(), queue.clone(), key())
            .with_config(support::config());
        let (mut floor, mut with_queue) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n + n / 10 {
            let account = AccountId::new(format!("user-{i}")).unwrap();
            let to = Contact::email(&format!("user{i:06}@example.com")).unwrap();
            let t = Instant::now();
            std::hint::black_box(
                bare.start(
                    &account,
                    Purpose::IdentityCheck,
                    &to,
                    SendOptions::default(),
                )
                .await
                .unwrap(),
            );
            let a = t.elapsed().as_nanos() as u64;
            let t = Instant::now();
            std::hint::black_box(
                queued
                    .start(
                        &account,
                        Purpose::IdentityCheck,
                        &to,
                        SendOptions::default(),
                    )
                    .await
                    .unwrap(),
            );
            let b = t.elapsed().as_nanos() as u64;
            if i >= n / 10 {
                floor.push(a);
                with_queue.push(b);
            }
        }
        let (f, q) = (median(floor), median(with_queue));
        println!("delivery/start_bare_outbox_median_ns: {f}");
        println!("delivery/start_queued_slow_50ms_median_ns: {q}");
        println!("delivery/ratio: {:.3}", q as f64 / f as f64);
        queue.shutdown(Duration::from_secs(60)).await;

        let m = 200_000;
        let queue = Queued::start(Null, QueueConfig::default().with_capacity(m)).unwrap();
        let message = Message::notice(
            Contact::email("ann@example.org").unwrap(),
            Purpose::IdentityCheck,
            "s",
            "b",
        );
        let t = Instant::now();
        for _ in 0..m {
            queue.deliver(&message).await.unwrap();
        }
        let enqueued = t.elapsed();
        queue.flushed().await;
        let drained = t.elapsed();
        println!(
            "delivery/enqueue_ns_per_message: {:.0}",
            enqueued.as_nanos() as f64 / m as f64
        );
        println!(
            "delivery/throughput_messages_per_s: {:.0}",
            m as f64 / drained.as_secs_f64()
        );
    });
}
