//! A circuit breaker in front of Redis, so a dead or hung Redis costs each request at most
//! one short timeout, then nothing at all.
//!
//! Why: without it, every request would wait out the per-operation timeout on a dead Redis
//! (and pile up connection attempts). With it, `failures` consecutive failures *open* the
//! breaker: callers skip Redis entirely and use L1 / the database. After `cooldown` one
//! caller is let through as a *probe* (half-open); if it succeeds the breaker closes, if it
//! fails the breaker stays open for another cooldown. Nothing has to restart it: recovery is
//! driven by traffic (and by `/api/health/cache`, which probes).
//!
//! Lock-free: the state is two atomics (consecutive failures, and the instant until which
//! the breaker is open, as milliseconds since the breaker was made; 0 = closed).

use std::{
    sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
    time::{Duration, Instant},
};

/// What a caller may do right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Closed: go ahead.
    Allowed,
    /// Half-open: go ahead, you are the probe; report the outcome.
    Probe,
    /// Open: do not touch Redis.
    Rejected,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    failures_to_open: u32,
    cooldown: Duration,
    epoch: Instant,
    consecutive_failures: AtomicU32,
    /// Milliseconds since `epoch` until which the breaker is open; 0 when closed.
    open_until_ms: AtomicU64,
    probing: AtomicBool,
    /// How many times it opened (for metrics and the health page).
    pub times_opened: AtomicU64,
}

impl CircuitBreaker {
    pub fn new(failures_to_open: u32, cooldown: Duration) -> Self {
        Self {
            failures_to_open: failures_to_open.max(1),
            cooldown,
            epoch: Instant::now(),
            consecutive_failures: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            times_opened: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        // +1 so that "open until 0" never means "open".
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Asks to use Redis.
    pub fn permit(&self) -> Permit {
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until == 0 {
            return Permit::Allowed;
        }
        if self.now_ms() < until {
            return Permit::Rejected;
        }
        // Cooldown over: exactly one caller becomes the probe.
        if self
            .probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            Permit::Probe
        } else {
            Permit::Rejected
        }
    }

    /// True while callers are being turned away (the health page says "degraded").
    pub fn is_open(&self) -> bool {
        self.open_until_ms.load(Ordering::Acquire) != 0
    }

    /// Reports a successful operation. Returns true when this closed an open breaker.
    pub fn on_success(&self) -> bool {
        self.consecutive_failures.store(0, Ordering::Release);
        let was_open = self.open_until_ms.swap(0, Ordering::AcqRel) != 0;
        self.probing.store(false, Ordering::Release);
        was_open
    }

    /// Reports a failed operation (error or timeout). Returns true when this opened it.
    pub fn on_failure(&self) -> bool {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::AcqRel) + 1;
        let was_probe = self.probing.swap(false, Ordering::AcqRel);
        if was_probe || failures >= self.failures_to_open {
            let until = self.now_ms() + u64::try_from(self.cooldown.as_millis()).unwrap_or(0);
            let previous = self.open_until_ms.swap(until.max(1), Ordering::AcqRel);
            if previous == 0 {
                self.times_opened.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    /// Opens the breaker now (e.g. Redis could not be reached at start-up).
    pub fn trip(&self) {
        let until = self.now_ms() + u64::try_from(self.cooldown.as_millis()).unwrap_or(0);
        if self.open_until_ms.swap(until.max(1), Ordering::AcqRel) == 0 {
            self.times_opened.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A caller that got [`Permit::Probe`] but did not use it gives it back.
    pub fn release_probe(&self) {
        self.probing.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_probes_once_and_recovers() {
        let b = CircuitBreaker::new(3, Duration::from_millis(30));
        assert_eq!(b.permit(), Permit::Allowed);
        assert!(!b.on_failure());
        assert!(!b.on_failure());
        assert!(b.on_failure(), "the third failure opens it");
        assert!(b.is_open());
        assert_eq!(b.permit(), Permit::Rejected);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.permit(), Permit::Probe);
        assert_eq!(b.permit(), Permit::Rejected, "only one probe at a time");
        // A failed probe re-opens for another cooldown.
        assert!(!b.on_failure());
        assert_eq!(b.permit(), Permit::Rejected);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.permit(), Permit::Probe);
        assert!(b.on_success(), "a good probe closes it");
        assert!(!b.is_open());
        assert_eq!(b.permit(), Permit::Allowed);
        assert_eq!(b.times_opened.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let b = CircuitBreaker::new(2, Duration::from_secs(60));
        b.on_failure();
        b.on_success();
        b.on_failure();
        assert!(!b.is_open());
        b.on_failure();
        assert!(b.is_open());
    }
}
