//! The query registry: every statement a client runs, from arrival to its
//! outcome. It holds the running queries (for the admin API and
//! cancellation), the recent ones, the metrics counters, and writes one
//! structured log line per finished query.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::limits::QueryPool;

/// How a query ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// Bad SQL, unknown table, a malformed file, memory exhausted...
    Error,
    /// By the client (CancelFlightInfo, disconnect) or the admin API.
    Cancelled,
    Timeout,
    /// Over max_result_rows / max_result_bytes, or refused while shutting down.
    Rejected,
}

impl Outcome {
    const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Cancelled,
        Outcome::Timeout,
        Outcome::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Cancelled => "cancelled",
            Outcome::Timeout => "timeout",
            Outcome::Rejected => "rejected",
        }
    }

    fn index(self) -> usize {
        Outcome::ALL.iter().position(|o| *o == self).unwrap()
    }
}

/// Upper bounds (seconds) of the latency histogram buckets.
const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Finished queries kept for `/api/queries`.
const RECENT: usize = 200;

/// One query while it runs. Shared by the stream serving it and the registry.
pub struct Query {
    pub id: u64,
    pub user: Arc<str>,
    pub sql: String,
    ticket: Option<Bytes>,
    started: Instant,
    started_unix: f64,
    running: AtomicBool,
    rows: AtomicU64,
    bytes: AtomicU64,
    /// Microseconds from start to the first batch (0: none yet).
    first_batch_us: AtomicU64,
    outcome: Mutex<Option<(Outcome, Option<String>)>>,
    cancel: watch::Sender<bool>,
    memory: OnceLock<Arc<QueryPool>>,
}

impl Query {
    /// Records how the query ended; the first call wins.
    pub fn finish(&self, outcome: Outcome, error: Option<String>) {
        let mut o = self.outcome.lock().unwrap();
        if o.is_none() {
            *o = Some((outcome, error));
        }
    }

    pub fn is_finished(&self) -> bool {
        self.outcome.lock().unwrap().is_some()
    }

    /// The query's share of the memory pool (for its high-water mark).
    pub fn set_memory(&self, pool: Arc<QueryPool>) {
        let _ = self.memory.set(pool);
    }

    fn memory_peak(&self) -> u64 {
        self.memory.get().map_or(0, |p| p.peak() as u64)
    }

    pub fn set_running(&self) {
        self.running.store(true, Ordering::Relaxed);
    }

    pub fn add_rows(&self, rows: u64) -> u64 {
        if self.first_batch_us.load(Ordering::Relaxed) == 0 {
            let us = self.started.elapsed().as_micros().max(1) as u64;
            let _ =
                self.first_batch_us
                    .compare_exchange(0, us, Ordering::Relaxed, Ordering::Relaxed);
        }
        self.rows.fetch_add(rows, Ordering::Relaxed) + rows
    }

    pub fn add_bytes(&self, bytes: u64) -> u64 {
        self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes
    }

    /// Asks the query to stop (it ends with a "cancelled" error).
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
    }

    /// Resolves once [`Query::cancel`] was called.
    pub fn cancelled(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.cancel.subscribe();
        async move {
            let _ = rx.wait_for(|c| *c).await;
        }
    }

    fn json(&self, state: &str, outcome: Option<&(Outcome, Option<String>)>) -> Value {
        let first = self.first_batch_us.load(Ordering::Relaxed);
        json!({
            "id": self.id,
            "user": &*self.user,
            "sql": self.sql,
            "state": state,
            "started": self.started_unix,
            "duration_s": self.started.elapsed().as_secs_f64(),
            "first_batch_s": (first > 0).then(|| first as f64 / 1e6),
            "rows": self.rows.load(Ordering::Relaxed),
            "bytes": self.bytes.load(Ordering::Relaxed),
            "memory_peak_bytes": self.memory_peak(),
            "outcome": outcome.map(|o| o.0.as_str()),
            "error": outcome.and_then(|o| o.1.clone()),
        })
    }
}

/// Ends the query's registration when dropped: after the last batch, after
/// an error, or when the client went away mid-stream (then: "cancelled").
pub struct QueryGuard {
    pub query: Arc<Query>,
    registry: Arc<Registry>,
}

impl Drop for QueryGuard {
    fn drop(&mut self) {
        self.query
            .finish(Outcome::Cancelled, Some("the client went away".into()));
        self.registry.finish(&self.query);
    }
}

#[derive(Default)]
struct Metrics {
    outcomes: [AtomicU64; 5],
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_sum_us: AtomicU64,
    rows: AtomicU64,
    bytes: AtomicU64,
}

#[derive(Default)]
pub struct Registry {
    next_id: AtomicU64,
    running: Mutex<BTreeMap<u64, Arc<Query>>>,
    recent: Mutex<VecDeque<Value>>,
    metrics: Metrics,
}

impl Registry {
    /// Registers a query arriving now.
    pub fn start(
        self: &Arc<Self>,
        user: Arc<str>,
        sql: String,
        ticket: Option<Bytes>,
    ) -> QueryGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let query = Arc::new(Query {
            id,
            user,
            sql,
            ticket,
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            running: AtomicBool::new(false),
            rows: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            first_batch_us: AtomicU64::new(0),
            outcome: Mutex::new(None),
            cancel: watch::channel(false).0,
            memory: OnceLock::new(),
        });
        self.running.lock().unwrap().insert(id, query.clone());
        QueryGuard {
            query,
            registry: self.clone(),
        }
    }

    fn finish(&self, query: &Query) {
        self.running.lock().unwrap().remove(&query.id);
        let outcome = query
            .outcome
            .lock()
            .unwrap()
            .clone()
            .unwrap_or((Outcome::Cancelled, None));
        let elapsed = query.started.elapsed();
        let rows = query.rows.load(Ordering::Relaxed);
        let bytes = query.bytes.load(Ordering::Relaxed);
        let m = &self.metrics;
        m.outcomes[outcome.0.index()].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                m.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        m.latency_sum_us
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        m.rows.fetch_add(rows, Ordering::Relaxed);
        m.bytes.fetch_add(bytes, Ordering::Relaxed);
        log_line(query, &outcome, elapsed, rows, bytes);
        let mut recent = self.recent.lock().unwrap();
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(query.json("finished", Some(&outcome)));
    }

    /// Cancels query `id`; false if it is not running.
    pub fn cancel(&self, id: u64) -> bool {
        match self.running.lock().unwrap().get(&id) {
            Some(q) => {
                q.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels the queries serving `ticket` (Flight CancelFlightInfo).
    pub fn cancel_ticket(&self, ticket: &Bytes) -> bool {
        let running = self.running.lock().unwrap();
        let mut any = false;
        for q in running
            .values()
            .filter(|q| q.ticket.as_ref() == Some(ticket))
        {
            q.cancel();
            any = true;
        }
        any
    }

    pub fn cancel_all(&self) -> usize {
        let running = self.running.lock().unwrap();
        running.values().for_each(|q| q.cancel());
        running.len()
    }

    pub fn running_count(&self) -> usize {
        self.running.lock().unwrap().len()
    }

    /// `{"running": [...], "recent": [...]}`, newest first.
    pub fn json(&self) -> Value {
        let running: Vec<Value> = self
            .running
            .lock()
            .unwrap()
            .values()
            .rev()
            .map(|q| {
                let state = if q.running.load(Ordering::Relaxed) {
                    "running"
                } else {
                    "queued"
                };
                q.json(state, None)
            })
            .collect();
        let recent: Vec<Value> = self.recent.lock().unwrap().iter().rev().cloned().collect();
        json!({ "running": running, "recent": recent })
    }

    /// The query counters in the Prometheus text format.
    pub fn prometheus(&self, out: &mut String) {
        let m = &self.metrics;
        let running = self.running.lock().unwrap();
        let active = running
            .values()
            .filter(|q| q.running.load(Ordering::Relaxed))
            .count();
        let queued = running.len() - active;
        drop(running);
        out.push_str("# HELP genoflight_queries_total Finished queries by outcome.\n");
        out.push_str("# TYPE genoflight_queries_total counter\n");
        for o in Outcome::ALL {
            let n = m.outcomes[o.index()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "genoflight_queries_total{{outcome=\"{}\"}} {n}",
                o.as_str()
            );
        }
        out.push_str(
            "# HELP genoflight_query_duration_seconds Query latency, arrival to last batch.\n",
        );
        out.push_str("# TYPE genoflight_query_duration_seconds histogram\n");
        let count: u64 = m.outcomes.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            let n = m.latency_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "genoflight_query_duration_seconds_bucket{{le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "genoflight_query_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = m.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "genoflight_query_duration_seconds_sum {sum}");
        let _ = writeln!(out, "genoflight_query_duration_seconds_count {count}");
        gauge(
            out,
            "genoflight_result_rows_total",
            "counter",
            "Rows sent to clients.",
            m.rows.load(Ordering::Relaxed),
        );
        gauge(
            out,
            "genoflight_result_bytes_total",
            "counter",
            "Arrow IPC bytes sent to clients.",
            m.bytes.load(Ordering::Relaxed),
        );
        gauge(
            out,
            "genoflight_active_queries",
            "gauge",
            "Queries running now.",
            active as u64,
        );
        gauge(
            out,
            "genoflight_queued_queries",
            "gauge",
            "Queries waiting for a slot (max_concurrent_queries).",
            queued as u64,
        );
    }
}

/// One Prometheus sample with its HELP and TYPE lines.
pub fn gauge(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// The structured line every finished query leaves in the log.
fn log_line(
    query: &Query,
    outcome: &(Outcome, Option<String>),
    elapsed: Duration,
    rows: u64,
    bytes: u64,
) {
    let ms = |d: f64| (d * 10.0).round() / 10.0;
    let first = query.first_batch_us.load(Ordering::Relaxed);
    tracing::info!(
        target: "genoflight::query",
        query_id = query.id,
        user = %query.user,
        outcome = %outcome.0.as_str(),
        duration_ms = ms(elapsed.as_secs_f64() * 1e3),
        first_batch_ms = (first > 0).then(|| ms(first as f64 / 1e3)),
        rows,
        bytes,
        memory_peak = query.memory_peak(),
        error = outcome.1.as_deref(),
        sql = query.sql.as_str(),
        "query finished"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_and_metrics() {
        let r = Arc::new(Registry::default());
        let g = r.start(
            Arc::from("alice"),
            "SELECT 1".into(),
            Some(Bytes::from("t")),
        );
        g.query.set_running();
        g.query.add_rows(3);
        assert_eq!(r.running_count(), 1);
        assert!(r.json()["running"][0]["user"] == "alice");
        assert!(r.cancel_ticket(&Bytes::from("t")));
        g.query.finish(Outcome::Ok, None);
        drop(g);
        assert_eq!(r.running_count(), 0);
        let j = r.json();
        assert_eq!(j["recent"][0]["outcome"], "ok");
        assert_eq!(j["recent"][0]["rows"], 3);
        let dropped = r.start(Arc::from("bob"), "SELECT 2".into(), None);
        drop(dropped);
        let mut text = String::new();
        r.prometheus(&mut text);
        assert!(
            text.contains("genoflight_queries_total{outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("genoflight_queries_total{outcome=\"cancelled\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("genoflight_query_duration_seconds_count 2"),
            "{text}"
        );
        assert!(text.contains("genoflight_result_rows_total 3"), "{text}");
    }
}
