//! Interval operations: the overlap-join optimizer rule and its executor,
//! built on cache-oblivious interval trees (coitrees).

mod exec;
pub mod functions;
mod index;
mod predicate;
mod rule;
#[cfg(test)]
mod tests;

pub use exec::IntervalJoinExec;
pub use rule::IntervalJoinRule;
