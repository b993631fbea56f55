//! Sign-in throttling: failed attempts counted per account and per client address over a
//! sliding window; past the limit, sign-in answers "too many attempts; try again in N s"
//! without checking the password (issue 21, point 3).
//!
//! A small keyed limiter rather than `governor`: it runs on Tandem's injected clock (tests
//! move a `ManualClock` and check the exact wait, with no sleeps), it counts only
//! *failed* attempts (a successful sign-in clears the account's count; a GCRA bucket has
//! no refund), and its memory is bounded explicitly: each key keeps at most `limit`
//! timestamps, and past [`MAX_KEYS`] keys the stale ones are dropped, then the oldest.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use tandem_domain::Millis;

/// Keys kept per kind before stale ones are pruned; a flood of made-up e-mails from many
/// addresses costs at most this many small entries (and then forgets the oldest).
const MAX_KEYS: usize = 50_000;

/// The limits, from settings. A limit of 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Failed attempts on one account within `window_ms` before it is throttled.
    pub per_account: usize,
    /// Failed attempts from one address (any accounts) within `window_ms`. Behind a reverse
    /// proxy every client has the proxy's address: 0 turns this limit off.
    pub per_address: usize,
    pub window_ms: Millis,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            per_account: 5,
            per_address: 20,
            window_ms: 15 * 60 * 1000,
        }
    }
}

#[derive(Debug, Default)]
struct Failures {
    keys: HashMap<String, VecDeque<Millis>>,
}

impl Failures {
    /// Milliseconds until `key` may try again, if it is over `limit` now.
    fn wait(&mut self, key: &str, limit: usize, window: Millis, now: Millis) -> Option<Millis> {
        if limit == 0 {
            return None;
        }
        let times = self.keys.get_mut(key)?;
        while times.front().is_some_and(|t| now - t >= window) {
            times.pop_front();
        }
        if times.is_empty() {
            self.keys.remove(key);
            return None;
        }
        (times.len() >= limit).then(|| times[times.len() - limit] + window - now)
    }

    fn record(&mut self, key: &str, limit: usize, window: Millis, now: Millis) {
        if limit == 0 {
            return;
        }
        if !self.keys.contains_key(key) && self.keys.len() >= MAX_KEYS {
            self.prune(window, now);
        }
        let times = self.keys.entry(key.to_owned()).or_default();
        times.push_back(now);
        while times.len() > limit.max(1) {
            times.pop_front();
        }
    }

    fn prune(&mut self, window: Millis, now: Millis) {
        self.keys
            .retain(|_, t| t.back().is_some_and(|last| now - last < window));
        if self.keys.len() >= MAX_KEYS {
            // Still full of live keys: forget the half whose last failure is oldest.
            let mut lasts: Vec<Millis> = self.keys.values().filter_map(|t| t.back().copied()).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 2];
            self.keys.retain(|_, t| t.back().is_some_and(|last| *last > cut));
        }
    }
}

/// Failed sign-ins by account and by address.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    accounts: Mutex<Failures>,
    addresses: Mutex<Failures>,
}

fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl LoginThrottle {
    /// Seconds to wait (rounded up) when this account or this address has failed too often.
    pub fn check(
        &self,
        limits: ThrottleLimits,
        email: &str,
        from: Option<IpAddr>,
        now: Millis,
    ) -> Option<u64> {
        let account =
            lock(&self.accounts).wait(&account_key(email), limits.per_account, limits.window_ms, now);
        let address = from.and_then(|ip| {
            lock(&self.addresses).wait(&ip.to_string(), limits.per_address, limits.window_ms, now)
        });
        let ms = account.into_iter().chain(address).max()?;
        Some(u64::try_from(ms.max(1)).unwrap_or(u64::MAX).div_ceil(1000))
    }

    pub fn failed(&self, limits: ThrottleLimits, email: &str, from: Option<IpAddr>, now: Millis) {
        lock(&self.accounts).record(&account_key(email), limits.per_account, limits.window_ms, now);
        if let Some(ip) = from {
            lock(&self.addresses).record(&ip.to_string(), limits.per_address, limits.window_ms, now);
        }
    }

    /// A right password clears the account's failures (not the address's: one good
    /// account must not reset the count of guesses made at others).
    pub fn succeeded(&self, email: &str) {
        lock(&self.accounts).keys.remove(&account_key(email));
    }
}

fn lock(m: &Mutex<Failures>) -> std::sync::MutexGuard<'_, Failures> {
    // A panic while holding the lock leaves counts that are still counts.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: ThrottleLimits = ThrottleLimits {
        per_account: 3,
        per_address: 5,
        window_ms: 60_000,
    };

    #[test]
    fn an_account_is_throttled_after_its_limit_until_the_oldest_failure_ages_out() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for at in [0, 1_000, 2_000] {
            assert_eq!(t.check(L, "a@x.io", Some(ip), at), None);
            t.failed(L, "A@x.io ", Some(ip), at);
        }
        // The first failure (t = 0) leaves the window at 60 s: 57.5 s from 2.5 s, so 58.
        assert_eq!(t.check(L, "a@x.io", None, 2_500), Some(58));
        assert_eq!(
            t.check(L, "b@x.io", None, 2_500),
            None,
            "another account is not held"
        );
        assert_eq!(t.check(L, "a@x.io", None, 60_000), None);
    }

    #[test]
    fn an_address_is_throttled_across_accounts_and_success_clears_only_the_account() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        for i in 0..5 {
            t.failed(L, &format!("u{i}@x.io"), Some(ip), 10);
        }
        assert_eq!(t.check(L, "new@x.io", Some(ip), 10), Some(60));
        assert_eq!(
            t.check(L, "new@x.io", Some("10.0.0.3".parse().unwrap()), 10),
            None
        );
        t.failed(L, "c@x.io", None, 0);
        t.succeeded("c@x.io");
        assert_eq!(t.check(L, "c@x.io", None, 1), None);
        assert_eq!(
            t.check(L, "x@x.io", Some(ip), 20),
            Some(60),
            "the address still is"
        );
    }

    #[test]
    fn a_limit_of_zero_is_off() {
        let t = LoginThrottle::default();
        let off = ThrottleLimits { per_address: 0, ..L };
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..50 {
            t.failed(off, &format!("u{i}@x.io"), Some(ip), 10);
        }
        assert_eq!(t.check(off, "new@x.io", Some(ip), 10), None);
        assert!(
            lock(&t.addresses).keys.is_empty(),
            "nothing kept for a limit that is off"
        );
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_keys() {
        let mut f = Failures::default();
        for i in 0..(MAX_KEYS as i64 + 10) {
            f.record(&format!("k{i}"), 3, 1_000_000, i);
        }
        assert!(f.keys.len() <= MAX_KEYS, "{} keys", f.keys.len());
    }
}
