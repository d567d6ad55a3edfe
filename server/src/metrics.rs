//! Prometheus metrics (`GET /metrics`): requests by route and status,
//! verifications started, approved and failed, deliveries by channel and result
//! with their latency. No label carries a number, address, code or SID.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// The server's metrics.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by matched route and status code.
    pub requests: IntCounterVec,
    /// Verifications by outcome: `started`, `resent`, `approved`, `failed`
    /// (a wrong code), `locked` (too many checks).
    pub verifications: IntCounterVec,
    /// Messages handed to a channel by channel (`sms`, `email`) and result
    /// (`ok`, `error`).
    pub deliveries: IntCounterVec,
    /// Time to hand a message to its channel, by channel.
    pub delivery_seconds: HistogramVec,
    /// Calls to a store that failed, by backend (`sqlite`, `redis`,
    /// `postgres`).
    pub store_failures: IntCounterVec,
}

impl Metrics {
    /// A fresh registry with every metric registered.
    ///
    /// # Errors
    ///
    /// A metric cannot be registered (a name clash: a bug).
    pub fn new() -> Result<Metrics, String> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "seccode_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["route", "status"],
        )
        .map_err(|e| e.to_string())?;
        let verifications = IntCounterVec::new(
            Opts::new("seccode_verifications_total", "Verifications by outcome"),
            &["outcome"],
        )
        .map_err(|e| e.to_string())?;
        let deliveries = IntCounterVec::new(
            Opts::new(
                "seccode_deliveries_total",
                "Messages handed to a channel, by result",
            ),
            &["channel", "result"],
        )
        .map_err(|e| e.to_string())?;
        let delivery_seconds = HistogramVec::new(
            HistogramOpts::new(
                "seccode_delivery_seconds",
                "Time to hand a message to its channel",
            )
            .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0]),
            &["channel"],
        )
        .map_err(|e| e.to_string())?;
        let store_failures = IntCounterVec::new(
            Opts::new(
                "seccode_store_failures_total",
                "Calls to a store that failed, by backend",
            ),
            &["backend"],
        )
        .map_err(|e| e.to_string())?;
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(verifications.clone()),
            Box::new(deliveries.clone()),
            Box::new(delivery_seconds.clone()),
            Box::new(store_failures.clone()),
        ] {
            registry.register(c).map_err(|e| e.to_string())?;
        }
        Ok(Metrics {
            registry,
            requests,
            verifications,
            deliveries,
            delivery_seconds,
            store_failures,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding gathered families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Counts one verification outcome.
    pub fn verification(&self, outcome: &str) {
        self.verifications.with_label_values(&[outcome]).inc();
    }
}
