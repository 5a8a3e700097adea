//! In-memory rate limiting (per organisation) and replay caches, per process.
//!
//! Both are bounded: every operation is O(1) (amortised) whatever the number of live
//! entries, and memory has a ceiling, so a flood of fresh ids or of organisations
//! cannot make every call slower or exhaust the process. On several replicas each
//! keeps its own (a replay across replicas is not caught; sharing them is for Redis).
use parking_lot::Mutex;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use varco_domain::TenantId;

/// Fixed-window counter per organisation. PDND counts only requests that passed
/// every check, and reports the window in the X-Rate-Limit-* headers.
pub struct RateLimiter {
    pub limit: u32,
    pub interval_ms: u64,
    windows: Mutex<Windows>,
}

/// The counts of the current window only: when the window changes, the previous
/// one is dropped whole (O(1) per request, memory bounded by one window's callers).
#[derive(Default)]
struct Windows {
    window: u64,
    counts: HashMap<TenantId, u32>,
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
        RateLimiter { limit, interval_ms: interval_ms.max(1), windows: Mutex::new(Windows::default()) }
    }

    /// Counts one request of `tenant` at `now_ms`.
    pub fn hit(&self, tenant: TenantId, now_ms: u64) -> RateInfo {
        let mut w = self.windows.lock();
        let count = w.current(now_ms / self.interval_ms).entry(tenant).or_insert(0);
        let allowed = *count < self.limit;
        if allowed {
            *count += 1;
        }
        RateInfo { limit: self.limit, interval_ms: self.interval_ms, remaining: self.limit - *count, allowed }
    }

    /// Gives back a request counted by `hit` that was refused afterwards (a replayed
    /// proof): only requests that pass every check count.
    pub fn refund(&self, tenant: TenantId, now_ms: u64) {
        let mut w = self.windows.lock();
        if let Some(c) = w.current(now_ms / self.interval_ms).get_mut(&tenant) {
            *c = c.saturating_sub(1);
        }
    }
}

impl Windows {
    fn current(&mut self, window: u64) -> &mut HashMap<TenantId, u32> {
        if self.window != window {
            self.window = window;
            self.counts = HashMap::new();
        }
        &mut self.counts
    }
}

/// What `ReplayCache::first_use` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Not seen: now remembered until it expires.
    First,
    /// Seen before, and still remembered: a replay.
    Replayed,
    /// Not seen, but the cache is full for this owner (or in all): refuse the request
    /// rather than forget ids that may be replayed.
    Full,
}

/// Limits of a replay cache.
#[derive(Debug, Clone, Copy)]
pub struct ReplayLimits {
    /// No entry is kept longer than this from now; callers refuse ids living longer.
    pub max_ttl_secs: i64,
    /// Live entries per owner (a client): one client cannot fill the cache for all.
    pub per_owner: u32,
    /// Live entries in all.
    pub total: usize,
}

/// Remembers ids (DPoP proof jti, assertion jti in hardened mode) until they expire.
///
/// Entries are hashed to 128 bits with a per-process random key (so nobody can aim
/// for collisions) and kept in buckets by expiry second range: expiring is dropping
/// the front buckets, each entry touched once. A lookup is one hash-set probe.
pub struct ReplayCache {
    limits: ReplayLimits,
    keys: (RandomState, RandomState),
    inner: Mutex<Buckets>,
}

/// How many seconds of expiry each bucket holds: entries live at most this much
/// longer than asked, and there are at most `max_ttl / BUCKET_SECS + 2` buckets.
const BUCKET_SECS: i64 = 5;

#[derive(Default)]
struct Buckets {
    seen: HashSet<u128, BuildHasherDefault<Prehashed>>,
    per_owner: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    /// Bucket number (expiry / BUCKET_SECS) of `buckets[0]`.
    first: i64,
    buckets: VecDeque<Vec<(u128, u64)>>,
}

impl ReplayCache {
    pub fn new(limits: ReplayLimits) -> Self {
        ReplayCache { limits, keys: (RandomState::new(), RandomState::new()), inner: Mutex::default() }
    }

    /// Records `id` of `owner`, valid until `expires_at` (unix seconds, at most
    /// `max_ttl_secs` ahead: later is cut there, so the caller must have refused it).
    pub fn first_use(&self, owner: &str, id: &str, expires_at: i64, now: i64) -> Use {
        let owner_h = self.keys.0.hash_one(owner);
        let h = (u128::from(self.keys.0.hash_one((owner, id))) << 64) | u128::from(self.keys.1.hash_one((owner, id)));
        let expires_at = expires_at.min(now.saturating_add(self.limits.max_ttl_secs));
        let mut b = self.inner.lock();
        b.expire(now);
        if b.seen.contains(&h) {
            return Use::Replayed;
        }
        if expires_at < now {
            // Already expired: the checks refuse it anyway, nothing to remember.
            return Use::First;
        }
        let owned = b.per_owner.get(&owner_h).copied().unwrap_or(0);
        if owned >= self.limits.per_owner || b.seen.len() >= self.limits.total {
            return Use::Full;
        }
        let bucket = expires_at.div_euclid(BUCKET_SECS);
        if b.buckets.is_empty() {
            b.first = bucket;
        }
        // `expire` leaves `first` at or before now's bucket, and `expires_at >= now`.
        let index = usize::try_from(bucket - b.first).unwrap_or(0);
        while b.buckets.len() <= index {
            b.buckets.push_back(Vec::new());
        }
        b.buckets[index].push((h, owner_h));
        b.seen.insert(h);
        *b.per_owner.entry(owner_h).or_insert(0) += 1;
        Use::First
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.inner.lock().seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An upper estimate of the heap the cache holds, from its tables' capacities.
    pub fn heap_bytes(&self) -> usize {
        let b = self.inner.lock();
        // A hash table slot is its value plus one control byte.
        b.seen.capacity() * (16 + 1)
            + b.per_owner.capacity() * (16 + 1)
            + b.buckets.capacity() * std::mem::size_of::<Vec<(u128, u64)>>()
            + b.buckets.iter().map(|v| v.capacity() * std::mem::size_of::<(u128, u64)>()).sum::<usize>()
    }
}

impl Buckets {
    /// Drops every bucket whose whole range of expiry is past.
    fn expire(&mut self, now: i64) {
        while !self.buckets.is_empty() && (self.first + 1).saturating_mul(BUCKET_SECS) <= now {
            let gone = self.buckets.pop_front().unwrap_or_default();
            self.first += 1;
            for (h, owner) in gone {
                self.seen.remove(&h);
                if let Some(n) = self.per_owner.get_mut(&owner) {
                    *n -= 1;
                    if *n == 0 {
                        self.per_owner.remove(&owner);
                    }
                }
            }
        }
        if self.buckets.is_empty() {
            // Nothing live: free what a past flood grew.
            if self.seen.capacity() > 1024 {
                self.seen = HashSet::default();
                self.per_owner = HashMap::default();
            }
            self.first = now.div_euclid(BUCKET_SECS);
        }
    }
}

/// The keys are already uniform hashes: use their low bits as they are.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ReplayLimits = ReplayLimits { max_ttl_secs: 100, per_owner: 1000, total: 10_000 };

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
        r.refund(a, 6_100);
        assert_eq!(r.hit(a, 6_200).remaining, 1, "a refunded request does not count");
    }

    #[test]
    fn replay_cache_refuses_second_use_until_expiry() {
        let c = ReplayCache::new(LIMITS);
        assert_eq!(c.first_use("o", "x", 100, 50), Use::First);
        assert_eq!(c.first_use("o", "x", 100, 60), Use::Replayed);
        assert_eq!(c.first_use("p", "x", 100, 60), Use::First, "ids are per owner");
        assert_eq!(c.first_use("o", "x", 100, 100), Use::Replayed, "kept at least until it expires");
        assert_eq!(c.first_use("o", "x", 200, 106), Use::First, "and forgotten within one bucket after");
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn entries_never_outlive_the_cap_on_their_lifetime() {
        let c = ReplayCache::new(LIMITS);
        assert_eq!(c.first_use("o", "far", i64::MAX, 0), Use::First);
        assert_eq!(c.first_use("o", "far", i64::MAX, 100), Use::Replayed);
        assert_eq!(c.first_use("o", "far", i64::MAX, 106), Use::First, "cut at now + max_ttl");
    }

    #[test]
    fn one_owner_cannot_fill_the_cache_and_the_total_is_capped() {
        let c = ReplayCache::new(ReplayLimits { max_ttl_secs: 100, per_owner: 3, total: 5 });
        for i in 0..3 {
            assert_eq!(c.first_use("a", &i.to_string(), 50, 0), Use::First);
        }
        assert_eq!(c.first_use("a", "3", 50, 0), Use::Full, "owner a is at its cap");
        assert_eq!(c.first_use("b", "0", 50, 0), Use::First);
        assert_eq!(c.first_use("c", "0", 50, 0), Use::First);
        assert_eq!(c.first_use("d", "0", 50, 0), Use::Full, "the cache is at its total");
        assert_eq!(c.first_use("a", "0", 50, 1), Use::Replayed, "full or not, a replay is a replay");
        assert_eq!(c.first_use("a", "3", 100, 56), Use::First, "expired entries free their owner's room");
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn a_flood_of_fresh_ids_stays_within_its_bound() {
        let c = ReplayCache::new(ReplayLimits { max_ttl_secs: 70, per_owner: 40_000, total: 100_000 });
        let mut full = 0;
        for i in 0..300_000u32 {
            let owner = format!("client-{}", i % 50);
            if c.first_use(&owner, &i.to_string(), 70, 0) == Use::Full {
                full += 1;
            }
        }
        assert_eq!(c.len(), 100_000);
        assert_eq!(full, 200_000);
        assert!(c.heap_bytes() < 16 << 20, "{} bytes", c.heap_bytes());
        // All expire together, and the memory goes with them.
        assert_eq!(c.first_use("x", "y", 90, 80), Use::First);
        assert_eq!(c.len(), 1);
        assert!(c.heap_bytes() < 1 << 20, "{} bytes", c.heap_bytes());
    }
}
