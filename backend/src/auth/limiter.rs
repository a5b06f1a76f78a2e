//! Keyed rate limits with a bounded key table, so a flood of fresh keys (random emails,
//! many addresses) cannot grow memory without bound.

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

/// How often the key table is swept of keys whose quota has fully come back, at most.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How often the key table is swept in any case, to give memory back after a burst.
const SWEEP_ANYWAY_EVERY: Duration = Duration::from_secs(60);

/// A rate: `count` events per `period`, all of them usable at once (the burst).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// How many events.
    pub count: NonZeroU32,
    /// In how long.
    pub period: Duration,
}

impl Rate {
    /// `count` events per minute.
    pub fn per_minute(count: NonZeroU32) -> Self {
        Self {
            count,
            period: Duration::from_secs(60),
        }
    }

    fn quota(self) -> Quota {
        // `with_period` is `None` only for a zero interval, which `max` rules out.
        let interval = (self.period / self.count.get()).max(Duration::from_nanos(1));
        Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(self.count))
            .allow_burst(self.count)
    }
}

/// A per-key rate limiter that keeps at most `max_keys` keys.
///
/// When the table is full it is swept of keys whose quota has fully come back (at most
/// once a second); if it is still full, unseen and seen keys alike are refused until it
/// empties, which bounds memory at the price of refusing sign-ins during such a flood.
pub struct BoundedLimiter<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    limiter: RateLimiter<K, DashMapStateStore<K>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
    max_keys: usize,
    last_sweep: Mutex<C::Instant>,
}

impl<K: Hash + Eq + Clone> BoundedLimiter<K> {
    /// A limiter allowing `rate` per key, remembering at most `max_keys` keys.
    pub fn new(rate: Rate, max_keys: usize) -> Self {
        Self::with_clock(rate, max_keys, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> BoundedLimiter<K, C> {
    /// Like [`BoundedLimiter::new`] with an explicit clock (tests use a fake one).
    pub fn with_clock(rate: Rate, max_keys: usize, clock: C) -> Self {
        let now = clock.now();
        Self {
            limiter: RateLimiter::dashmap_with_clock(rate.quota(), clock.clone()),
            clock,
            max_keys: max_keys.max(1),
            last_sweep: Mutex::new(now),
        }
    }

    /// Whether one more event for `key` fits its rate (and the table has room).
    pub fn check(&self, key: &K) -> bool {
        let full = self.limiter.len() >= self.max_keys;
        self.sweep_if_due(if full {
            SWEEP_EVERY
        } else {
            SWEEP_ANYWAY_EVERY
        });
        if full && self.limiter.len() >= self.max_keys {
            return false;
        }
        self.limiter.check_key(key).is_ok()
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }

    /// Forgets keys whose quota has fully come back, if the last sweep is `since` old.
    fn sweep_if_due(&self, since: Duration) {
        let now = self.clock.now();
        let Ok(mut last) = self.last_sweep.lock() else {
            return;
        };
        if Duration::from(now.duration_since(*last)) < since {
            return;
        }
        *last = now;
        drop(last);
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn limiter(
        per_minute: u32,
        max_keys: usize,
    ) -> (BoundedLimiter<String, FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let rate = Rate::per_minute(NonZeroU32::new(per_minute).expect("non-zero"));
        (
            BoundedLimiter::with_clock(rate, max_keys, clock.clone()),
            clock,
        )
    }

    #[test]
    fn each_key_gets_its_own_burst() {
        let (limiter, _) = limiter(3, 100);
        for _ in 0..3 {
            assert!(limiter.check(&"a".to_string()));
        }
        assert!(!limiter.check(&"a".to_string()));
        assert!(limiter.check(&"b".to_string()));
    }

    #[test]
    fn the_quota_comes_back_over_its_period() {
        let (limiter, clock) = limiter(3, 100);
        for _ in 0..3 {
            assert!(limiter.check(&"a".to_string()));
        }
        assert!(!limiter.check(&"a".to_string()));
        clock.advance(Duration::from_secs(20));
        assert!(limiter.check(&"a".to_string()));
        assert!(!limiter.check(&"a".to_string()));
    }

    #[test]
    fn a_flood_of_fresh_keys_never_grows_past_the_cap() {
        let (limiter, _) = limiter(5, 100);
        let mut allowed = 0;
        for i in 0..10_000 {
            if limiter.check(&format!("random-{i}@example.org")) {
                allowed += 1;
            }
            assert!(limiter.len() <= 100, "{} keys after {i}", limiter.len());
        }
        assert_eq!(allowed, 100);
    }

    #[test]
    fn keys_whose_quota_came_back_are_swept_to_make_room() {
        let (limiter, clock) = limiter(5, 100);
        for i in 0..100 {
            assert!(limiter.check(&format!("k{i}")));
        }
        assert!(!limiter.check(&"late".to_string()), "the table is full");
        clock.advance(Duration::from_secs(61));
        assert!(limiter.check(&"late".to_string()));
        assert_eq!(limiter.len(), 1, "everything but the newcomer was swept");
    }

    #[test]
    fn memory_is_given_back_after_a_burst() {
        let (limiter, clock) = limiter(5, 1_000);
        for i in 0..500 {
            assert!(limiter.check(&format!("k{i}")));
        }
        clock.advance(Duration::from_secs(61));
        assert!(limiter.check(&"next".to_string()));
        assert_eq!(limiter.len(), 1);
    }
}
