//! The time of the platform: the system's, or one that tests set and move, so that a
//! test of a time rule (a voucher's expiry, a rate-limit window, a key's retirement)
//! neither sleeps nor aligns itself with the wall clock.
use crate::model::Timestamp;
use chrono::{TimeZone, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Cheap to clone; clones of a manual clock share its time.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicI64>>);

impl Clock {
    /// The system's clock (what `varco serve` uses).
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that stands at `at` until moved with [`Clock::set`] or [`Clock::advance`].
    pub fn manual(at: Timestamp) -> Clock {
        Clock(Some(Arc::new(AtomicI64::new(at.timestamp_millis()))))
    }

    pub fn now(&self) -> Timestamp {
        match &self.0 {
            None => Utc::now(),
            Some(ms) => Utc.timestamp_millis_opt(ms.load(Ordering::SeqCst)).single().unwrap_or_default(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Moves a manual clock to `at`. Panics on the system clock: only tests move time.
    pub fn set(&self, at: Timestamp) {
        self.0.as_ref().expect("only a manual clock can be set").store(at.timestamp_millis(), Ordering::SeqCst);
    }

    /// Moves a manual clock forward (or back, with a negative duration).
    pub fn advance(&self, by: chrono::Duration) {
        self.0.as_ref().expect("only a manual clock can be moved").fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let start = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let c = Clock::manual(start);
        let shared = c.clone();
        assert_eq!(c.now(), start);
        shared.advance(chrono::Duration::milliseconds(1500));
        assert_eq!(c.now_ms(), start.timestamp_millis() + 1500);
        c.set(start);
        assert_eq!(shared.now(), start);
        let system = Clock::system();
        assert!((system.now() - Utc::now()).num_seconds().abs() < 5);
    }
}
