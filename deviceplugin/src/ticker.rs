//! A periodic wakeup for the daemon's background loops that ends when the
//! daemon is told to stop.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

/// Ticks every period (a late tick delays the next rather than bunching up)
/// until `shutdown` turns true or its sender goes away.
pub(crate) struct Ticker {
    tick: Interval,
    shutdown: watch::Receiver<bool>,
}

impl Ticker {
    /// A ticker of period `every`; the first tick is at once.
    pub(crate) fn new(every: Duration, shutdown: watch::Receiver<bool>) -> Ticker {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Ticker { tick, shutdown }
    }

    /// Waits for the next tick; `false` once the daemon is stopping.
    pub(crate) async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.tick.tick() => {}
            _ = self.shutdown.changed() => return false,
        }
        !*self.shutdown.borrow()
    }
}
