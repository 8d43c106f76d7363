//! Failed-authentication throttling: unknown, revoked or expired tokens
//! and dead session cookies are counted per client address; past
//! [`MAX_FAILURES`] in [`WINDOW`] seconds, that address gets 429 with
//! `Retry-After` for the rest of the window, before any store lookup.
//! Tokens cannot be guessed anyway (256 bits); this keeps a guesser from
//! loading the store and the log. The counts are per process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failures allowed per address and window.
pub const MAX_FAILURES: u32 = 20;
/// The window, in seconds.
pub const WINDOW: i64 = 300;
/// Addresses tracked before the oldest windows are dropped.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Default)]
pub struct Limiter {
    /// address → (window start, failures in it)
    seen: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl Limiter {
    /// Seconds until `ip` may try again, when it is throttled now.
    pub fn blocked(&self, ip: IpAddr, now: i64) -> Option<i64> {
        let seen = self.seen.lock().ok()?;
        let (start, n) = *seen.get(&ip)?;
        (n >= MAX_FAILURES && now < start + WINDOW).then_some(start + WINDOW - now)
    }

    /// Counts a failure of `ip`.
    pub fn failed(&self, ip: IpAddr, now: i64) {
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        if seen.len() >= MAX_ADDRESSES {
            seen.retain(|_, (start, _)| now < *start + WINDOW);
        }
        let e = seen.entry(ip).or_insert((now, 0));
        if now >= e.0 + WINDOW {
            *e = (now, 0);
        }
        e.1 = e.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_throttled_for_the_rest_of_its_window() {
        let l = Limiter::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for i in 0..MAX_FAILURES {
            assert_eq!(l.blocked(a, 1000 + i as i64), None);
            l.failed(a, 1000 + i as i64);
        }
        assert_eq!(l.blocked(a, 1100), Some(200));
        assert_eq!(l.blocked(b, 1100), None, "per address");
        assert_eq!(l.blocked(a, 1300), None, "a new window");
        l.failed(a, 1300);
        assert_eq!(l.blocked(a, 1301), None);
    }
}
