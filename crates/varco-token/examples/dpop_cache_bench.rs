//! Benchmark of the DPoP replay cache (docs/benchmarks.md, "DPoP replay cache").
//!
//! `dpop_cache_bench calls LIVE N`: the CPU time of N DPoP calls as the server makes
//! them (verify a real proof, then spend its jti) with LIVE other proofs already in
//! the cache; prints nanoseconds per call, the median of 7 rounds.
//! `dpop_cache_bench flood N`: N fresh proof ids from 5,000 clients, as fast as they
//! come; prints the cache's live entries, its heap estimate and the process's
//! resident memory before and after.
use std::time::Instant;
use varco_jose::{build_dpop_proof, verify_dpop_proof, RsaPrivateKey};
use varco_token::limits::{ReplayCache, Use};
use varco_token::DPOP_CACHE;

const HTU: &str = "https://varco.example/interop/collaudo/api/v3/eservices";
const NOW: i64 = 1_800_000_000;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn prefill(cache: &ReplayCache, live: usize) {
    for i in 0..live {
        let owner = format!("client-{}", i % 100);
        assert_eq!(cache.first_use(&owner, &format!("prefill-{i}"), NOW + 60, NOW), Use::First);
    }
}

fn calls(live: usize, n: usize) {
    let key = RsaPrivateKey::generate_2048();
    let mut rounds = Vec::new();
    for round in 0..7 {
        let cache = ReplayCache::new(DPOP_CACHE);
        prefill(&cache, live);
        let proofs: Vec<String> = (0..n)
            .map(|i| build_dpop_proof(&key, "GET", HTU, NOW, &format!("r{round}-{i}"), Some("voucher")))
            .collect();
        let started = Instant::now();
        for p in &proofs {
            let proof = verify_dpop_proof(p, "GET", HTU, NOW, Some("voucher")).expect("a good proof");
            let until = proof.iat + 70;
            assert_eq!(cache.first_use("client-bench", &proof.jti, until, NOW), Use::First);
        }
        rounds.push(started.elapsed().as_nanos() as f64 / n as f64);
        assert_eq!(cache.len(), live + n);
    }
    rounds.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("live={live} calls={n} ns/call median={:.0} min={:.0} max={:.0}", rounds[3], rounds[0], rounds[6]);
}

fn flood(n: usize) {
    let before = rss_kib();
    let cache = ReplayCache::new(DPOP_CACHE);
    let (mut first, mut full) = (0u64, 0u64);
    let started = Instant::now();
    for i in 0..n {
        let owner = format!("client-{}", i % 5_000);
        // The clock moves by one second every 20,000 ids: a sustained flood.
        let now = NOW + (i / 20_000) as i64;
        match cache.first_use(&owner, &format!("{i:x}-{}", i.wrapping_mul(2_654_435_761)), now + 70, now) {
            Use::First => first += 1,
            Use::Full => full += 1,
            Use::Replayed => unreachable!("fresh ids"),
        }
    }
    let after = rss_kib();
    println!(
        "flood={n} in {:.2} s: accepted={first} refused_full={full} live={} heap_estimate={:.1} MiB rss_before={:.1} MiB rss_after={:.1} MiB",
        started.elapsed().as_secs_f64(),
        cache.len(),
        cache.heap_bytes() as f64 / 1048576.0,
        before as f64 / 1024.0,
        after as f64 / 1024.0,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    match args.get(1).map(String::as_str) {
        Some("calls") => calls(num(2, 10), num(3, 2_000)),
        Some("flood") => flood(num(2, 2_000_000)),
        _ => eprintln!("usage: dpop_cache_bench calls LIVE N | flood N"),
    }
}
