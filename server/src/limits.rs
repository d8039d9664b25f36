//! Resource limits: the memory pool shared by every query (with its
//! high-water mark), the concurrency gate with its queue, and the per-query
//! timeout and result caps from `[limits]`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use datafusion::common::{DataFusionError, Result};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation, UnboundedMemoryPool,
};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Limits;

/// Wraps the real pool to remember the most memory ever reserved at once.
#[derive(Debug)]
pub struct PeakPool {
    inner: Arc<dyn MemoryPool>,
    peak: AtomicUsize,
}

impl PeakPool {
    fn note(&self) {
        self.peak
            .fetch_max(self.inner.reserved(), Ordering::Relaxed);
    }

    pub fn reserved_bytes(&self) -> usize {
        self.inner.reserved()
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    pub fn limit(&self) -> Option<usize> {
        match self.inner.memory_limit() {
            MemoryLimit::Finite(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for PeakPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

impl MemoryPool for PeakPool {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer)
    }
    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer)
    }
    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
        self.note();
    }
    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink)
    }
    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.inner.try_grow(reservation, additional)?;
        self.note();
        Ok(())
    }
    fn reserved(&self) -> usize {
        self.inner.reserved()
    }
    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

/// One query's view of the shared pool: everything it reserves is reserved
/// in the shared pool too, and it may hold at most `cap` bytes, so one big
/// query fails (or spills) alone instead of starving the queries beside it.
#[derive(Debug)]
pub struct QueryPool {
    shared: Arc<PeakPool>,
    cap: Option<usize>,
    used: AtomicUsize,
    peak: AtomicUsize,
}

impl QueryPool {
    pub fn new(shared: Arc<PeakPool>, cap: Option<usize>) -> QueryPool {
        QueryPool {
            shared,
            cap,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// The most this query held at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    fn grown(&self, additional: usize) {
        let now = self.used.fetch_add(additional, Ordering::Relaxed) + additional;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
}

impl fmt::Display for QueryPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "query share of {}", self.shared)
    }
}

impl MemoryPool for QueryPool {
    fn name(&self) -> &str {
        "query"
    }
    fn register(&self, consumer: &MemoryConsumer) {
        self.shared.register(consumer)
    }
    fn unregister(&self, consumer: &MemoryConsumer) {
        self.shared.unregister(consumer)
    }
    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.shared.grow(reservation, additional);
        self.grown(additional);
    }
    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.shared.shrink(reservation, shrink);
        self.used.fetch_sub(shrink, Ordering::Relaxed);
    }
    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        if let Some(cap) = self.cap {
            let used = self.used.load(Ordering::Relaxed);
            if used + additional > cap {
                return Err(DataFusionError::ResourcesExhausted(format!(
                    "the query needs more memory than its share: {} could not reserve \
                     {additional} more bytes with {used} of {cap} in use \
                     (limits.memory_bytes / limits.max_concurrent_queries)",
                    reservation.consumer().name()
                )));
            }
        }
        self.shared.try_grow(reservation, additional)?;
        self.grown(additional);
        Ok(())
    }
    fn reserved(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
    fn memory_limit(&self) -> MemoryLimit {
        match self.cap {
            Some(cap) => MemoryLimit::Finite(cap),
            None => self.shared.memory_limit(),
        }
    }
}

/// The runtime every query of a server shares (so reloads keep one pool):
/// capped by `limits.memory_bytes` (operators that can spill, spill to disk;
/// the others fail with "Resources exhausted" naming the biggest consumers).
pub fn runtime_env(limits: &Limits) -> Result<(Arc<RuntimeEnv>, Arc<PeakPool>)> {
    let inner: Arc<dyn MemoryPool> = match limits.memory_bytes {
        Some(bytes) => RuntimeEnvBuilder::new()
            .with_memory_limit(bytes, 1.0)
            .memory_pool
            .expect("with_memory_limit sets a pool"),
        None => Arc::new(UnboundedMemoryPool::default()),
    };
    let pool = Arc::new(PeakPool {
        inner,
        peak: AtomicUsize::new(0),
    });
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(pool.clone())
        .build_arc()?;
    Ok((runtime, pool))
}

/// The per-query limits applied to every statement a client runs.
#[derive(Debug, Clone, Default)]
pub struct QueryLimits {
    pub timeout: Option<Duration>,
    pub max_rows: Option<u64>,
    pub max_bytes: Option<u64>,
}

impl QueryLimits {
    pub fn new(limits: &Limits) -> QueryLimits {
        QueryLimits {
            timeout: limits
                .query_timeout_s
                .filter(|s| *s > 0.0 && s.is_finite())
                .map(Duration::from_secs_f64),
            max_rows: limits.max_result_rows,
            max_bytes: limits.max_result_bytes,
        }
    }
}

/// At most `max_concurrent_queries` queries run at once; the others wait in
/// line (up to their timeout), first come first served.
pub struct Gate {
    slots: Option<Arc<Semaphore>>,
    pub max: Option<usize>,
    waiting: AtomicUsize,
}

/// Holding one lets a query run; dropping it lets the next one in.
pub struct Slot(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl Gate {
    pub fn new(max: Option<usize>) -> Gate {
        Gate {
            slots: max.map(|n| Arc::new(Semaphore::new(n.max(1)))),
            max,
            waiting: AtomicUsize::new(0),
        }
    }

    /// Waits for a free slot (the caller bounds the wait with its deadline).
    pub async fn enter(&self) -> Slot {
        let Some(slots) = &self.slots else {
            return Slot(None);
        };
        if let Ok(permit) = slots.clone().try_acquire_owned() {
            return Slot(Some(permit));
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let _waiting = Waiting(&self.waiting);
        Slot(slots.clone().acquire_owned().await.ok())
    }

    /// Queries waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_pool_remembers_the_high_water_mark() {
        let (_, pool) = runtime_env(&Limits {
            memory_bytes: Some(1000),
            ..Default::default()
        })
        .unwrap();
        let dyn_pool: Arc<dyn MemoryPool> = pool.clone();
        let r = MemoryConsumer::new("t").register(&dyn_pool);
        r.try_grow(600).unwrap();
        assert!(r.try_grow(600).is_err(), "over the cap");
        r.shrink(500);
        assert_eq!(pool.reserved(), 100);
        assert_eq!(pool.peak(), 600);
        assert_eq!(pool.limit(), Some(1000));
    }

    #[test]
    fn a_query_share_fails_alone_and_gives_everything_back() {
        let (_, pool) = runtime_env(&Limits {
            memory_bytes: Some(1000),
            ..Default::default()
        })
        .unwrap();
        let share: Arc<dyn MemoryPool> = Arc::new(QueryPool::new(pool.clone(), Some(400)));
        let r = MemoryConsumer::new("HashJoin").register(&share);
        r.try_grow(300).unwrap();
        let e = r.try_grow(200).unwrap_err().to_string();
        assert!(
            e.contains("HashJoin") && e.contains("max_concurrent_queries"),
            "{e}"
        );
        assert_eq!(pool.reserved_bytes(), 300);
        drop(r);
        assert_eq!(pool.reserved_bytes(), 0);
        assert_eq!(share.reserved(), 0);
    }

    #[tokio::test]
    async fn gate_queues_beyond_the_limit() {
        let gate = Arc::new(Gate::new(Some(1)));
        let first = gate.enter().await;
        let g = gate.clone();
        let second = tokio::spawn(async move { g.enter().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(gate.waiting(), 1);
        assert!(!second.is_finished());
        drop(first);
        second.await.unwrap();
        assert_eq!(gate.waiting(), 0);
    }
}
