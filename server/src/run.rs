//! Running one client query under the server's rules: registered in the
//! query registry, refused while draining, queued behind
//! `max_concurrent_queries`, stopped by its timeout or a cancel, capped in
//! rows and bytes, and accounted (rows, bytes, outcome) however it ends.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow::array::RecordBatch;
use arrow_flight::FlightData;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use futures::future::{BoxFuture, Shared};
use futures::{FutureExt, Stream, StreamExt, TryStreamExt};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::limits::Slot;
use crate::queries::{Outcome, Query, QueryGuard};
use crate::service::status;
use crate::state::ServerState;

pub type FlightStream = Pin<Box<dyn Stream<Item = Result<FlightData, Status>> + Send + 'static>>;

/// Why a query was stopped from outside.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Cancelled,
    Timeout(f64),
}

impl Stop {
    fn outcome(self) -> Outcome {
        match self {
            Stop::Cancelled => Outcome::Cancelled,
            Stop::Timeout(_) => Outcome::Timeout,
        }
    }

    fn status(self) -> Status {
        match self {
            Stop::Cancelled => Status::cancelled("query cancelled"),
            Stop::Timeout(s) => Status::deadline_exceeded(format!(
                "query stopped: it ran longer than the server's limit of {s} s \
                 (limits.query_timeout_s)"
            )),
        }
    }
}

type StopFuture = Shared<BoxFuture<'static, Stop>>;

fn stop_future(query: &Query, state: &ServerState) -> StopFuture {
    let cancelled = query.cancelled();
    let timeout = state.limits.timeout;
    async move {
        match timeout {
            Some(t) => tokio::select! {
                _ = cancelled => Stop::Cancelled,
                _ = tokio::time::sleep(t) => Stop::Timeout(t.as_secs_f64()),
            },
            None => {
                cancelled.await;
                Stop::Cancelled
            }
        }
    }
    .boxed()
    .shared()
}

/// Runs `plan` (or plans `guard.query.sql`) and returns the Flight stream
/// serving it. On error the query is recorded with its outcome.
pub async fn run(
    state: &ServerState,
    guard: QueryGuard,
    plan: Option<LogicalPlan>,
) -> Result<FlightStream, Status> {
    let query = guard.query.clone();
    let fail = |outcome: Outcome, status: Status| {
        query.finish(outcome, Some(status.message().to_string()));
        status
    };
    if state.draining() {
        return Err(fail(
            Outcome::Rejected,
            Status::unavailable("the server is shutting down: retry later"),
        ));
    }
    let stop = stop_future(&query, state);
    let engine = state.engine();
    let start = async {
        let plan = match plan {
            Some(plan) => plan,
            None => engine.plan(&query.sql).await.map_err(status)?,
        };
        let slot = state.gate.enter().await;
        query.set_running();
        Ok::<_, Status>((slot, plan))
    };
    let (slot, plan) = tokio::select! {
        started = start => started.map_err(|s| fail(Outcome::Error, s))?,
        stop = stop.clone() => return Err(fail(stop.outcome(), stop.status())),
    };
    let schema = engine.output_schema(&plan);
    let memory = state.query_pool();
    query.set_memory(memory.clone());
    let (batches, producer) = produce(state.query_runtime(), engine, plan, memory);
    let governed = Governed {
        inner: batches,
        _producer: producer,
        stop,
        query: query.clone(),
        max_rows: state.limits.max_rows,
        done: false,
    };
    let flight = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(governed)
        .map_err(Status::from);
    Ok(Box::pin(Metered {
        inner: flight.boxed(),
        max_bytes: state.limits.max_bytes,
        done: false,
        _slot: slot,
        guard,
    }))
}

/// Aborts the producer task when the query's stream goes away.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Executes `plan` on the query runtime; its batches arrive through a small
/// channel (backpressure: the plan runs ahead of the client by two batches).
fn produce(
    runtime: &tokio::runtime::Handle,
    engine: Arc<crate::engine::Engine>,
    plan: LogicalPlan,
    memory: Arc<crate::limits::QueryPool>,
) -> (
    ReceiverStream<datafusion::common::Result<RecordBatch>>,
    AbortOnDrop,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let task = runtime.spawn(async move {
        let mut batches: SendableRecordBatchStream =
            match engine.execute_in(plan, Some(memory)).await {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
        while let Some(batch) = batches.next().await {
            let failed = batch.is_err();
            if tx.send(batch).await.is_err() || failed {
                return;
            }
        }
    });
    (ReceiverStream::new(rx), AbortOnDrop(task))
}

/// The record batches of a query, ended early by a cancel, the timeout or
/// the row cap (each with an error saying which).
struct Governed {
    inner: ReceiverStream<datafusion::common::Result<RecordBatch>>,
    _producer: AbortOnDrop,
    stop: StopFuture,
    query: Arc<Query>,
    max_rows: Option<u64>,
    done: bool,
}

impl Governed {
    fn end(
        &mut self,
        outcome: Outcome,
        status: Status,
    ) -> Poll<Option<Result<RecordBatch, FlightError>>> {
        self.done = true;
        self.query
            .finish(outcome, Some(status.message().to_string()));
        Poll::Ready(Some(Err(FlightError::Tonic(Box::new(status)))))
    }
}

impl Stream for Governed {
    type Item = Result<RecordBatch, FlightError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(stop) = self.stop.poll_unpin(cx) {
            return self.end(stop.outcome(), stop.status());
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(batch))) => {
                let rows = self.query.add_rows(batch.num_rows() as u64);
                match self.max_rows {
                    Some(max) if rows > max => self.end(
                        Outcome::Rejected,
                        Status::resource_exhausted(format!(
                            "the result has more than {max} rows, the server's limit \
                             (limits.max_result_rows): add a LIMIT or a narrower filter"
                        )),
                    ),
                    _ => Poll::Ready(Some(Ok(batch))),
                }
            }
            Poll::Ready(Some(Err(e))) => self.end(Outcome::Error, status(e)),
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The encoded Flight stream: counts bytes sent, applies the byte cap, and
/// holds the concurrency slot and the registry entry until it ends or the
/// client goes away.
struct Metered {
    inner: FlightStream,
    max_bytes: Option<u64>,
    done: bool,
    _slot: Slot,
    guard: QueryGuard,
}

impl Stream for Metered {
    type Item = Result<FlightData, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(data))) => {
                let size = (data.data_header.len() + data.data_body.len()) as u64;
                let sent = self.guard.query.add_bytes(size);
                match self.max_bytes {
                    Some(max) if sent > max => {
                        self.done = true;
                        let status = Status::resource_exhausted(format!(
                            "the result is larger than {max} bytes, the server's limit \
                             (limits.max_result_bytes): select fewer columns or rows"
                        ));
                        self.guard
                            .query
                            .finish(Outcome::Rejected, Some(status.message().to_string()));
                        Poll::Ready(Some(Err(status)))
                    }
                    _ => Poll::Ready(Some(Ok(data))),
                }
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                self.guard
                    .query
                    .finish(Outcome::Error, Some(e.message().to_string()));
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                self.done = true;
                self.guard.query.finish(Outcome::Ok, None);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
