//! In-memory rate limiting (per consumer organisation) and replay caches.
use parking_lot::Mutex;
use std::collections::HashMap;
use varco_domain::TenantId;

/// Fixed-window counter per organisation. PDND counts only requests that passed
/// every check, and reports the window in the X-Rate-Limit-* headers.
pub struct RateLimiter {
    pub limit: u32,
    pub interval_ms: u64,
    windows: Mutex<HashMap<TenantId, (u64, u32)>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u32,
    pub interval_ms: u64,
    pub remaining: u32,
    pub allowed: bool,
}

impl RateLimiter {
    pub fn new(limit: u32, interval_ms: u64) -> Self {
        RateLimiter { limit, interval_ms: interval_ms.max(1), windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one request of `tenant` at `now_ms`.
    pub fn hit(&self, tenant: TenantId, now_ms: u64) -> RateInfo {
        let window = now_ms / self.interval_ms;
        let mut w = self.windows.lock();
        if w.len() > 100_000 {
            // Old windows of idle organisations; cheap to drop wholesale now and then.
            w.retain(|_, (win, _)| *win == window);
        }
        let entry = w.entry(tenant).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        let allowed = entry.1 < self.limit;
        if allowed {
            entry.1 += 1;
        }
        RateInfo { limit: self.limit, interval_ms: self.interval_ms, remaining: self.limit - entry.1, allowed }
    }
}

/// Remembers ids (DPoP proof jti, assertion jti in hardened mode) until they expire.
#[derive(Default)]
pub struct ReplayCache {
    seen: Mutex<HashMap<String, i64>>,
}

impl ReplayCache {
    /// Records `id` valid until `expires_at` (unix seconds). False if already seen.
    pub fn first_use(&self, id: &str, expires_at: i64, now: i64) -> bool {
        let mut seen = self.seen.lock();
        if seen.len() > 10_000 {
            seen.retain(|_, exp| *exp > now);
        }
        match seen.get(id) {
            Some(exp) if *exp > now => false,
            _ => {
                seen.insert(id.to_string(), expires_at);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_applies_per_tenant_and_resets_each_window() {
        let r = RateLimiter::new(2, 1000);
        let (a, b) = (TenantId::new(), TenantId::new());
        assert_eq!(r.hit(a, 5_000).remaining, 1);
        assert!(r.hit(a, 5_100).allowed);
        let third = r.hit(a, 5_200);
        assert!(!third.allowed);
        assert_eq!(third.remaining, 0);
        assert!(r.hit(b, 5_300).allowed, "another organisation has its own budget");
        assert!(r.hit(a, 6_000).allowed, "a new window starts afresh");
    }

    #[test]
    fn replay_cache_refuses_second_use_until_expiry() {
        let c = ReplayCache::default();
        assert!(c.first_use("x", 100, 50));
        assert!(!c.first_use("x", 100, 60));
        assert!(c.first_use("x", 200, 101));
    }
}
