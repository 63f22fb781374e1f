//! Fuzzes the program's SBF `.so` in litesvm ([`agentrail_tests::fuzz`]): random instructions,
//! account lists and data against a live escrow; stops at the first refusal that is not the
//! program's own or at any broken conservation promise, printing the seed and case that
//! reproduce it.
//!
//!     bash scripts/build-sbf.sh
//!     cargo run --release -p agentrail-tests --bin fuzz-sbf -- --cases 1000000
//!
//! Options: `--cases N` (default 1,000,000, split over the threads), `--seed S` (default 1; each
//! thread runs seed S + its index), `--threads T` (default: the machine's cores), `--json` (the
//! summary as one JSON object). Progress goes to standard error every 10,000 cases a thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use agentrail_tests::fuzz::{self, Report};
use agentrail_tests::sbf::Sbf;

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    match args.iter().position(|a| a == name) {
        None => default,
        Some(at) => args.get(at + 1).and_then(|v| v.replace('_', "").parse().ok()).unwrap_or_else(|| {
            eprintln!("fuzz-sbf: {name} takes a whole number");
            std::process::exit(2)
        }),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cases = arg(&args, "--cases", 1_000_000);
    let seed = arg(&args, "--seed", 1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let threads = arg(&args, "--threads", cores).clamp(1, 64);
    let json = args.iter().any(|a| a == "--json");
    // fail before the threads start when the binary is missing or stale
    agentrail_tests::sbf::current_so();
    let started = Instant::now();
    let done = AtomicU64::new(0);
    let results: Vec<Result<Report, fuzz::Finding>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let share = cases / threads + u64::from(t < cases % threads);
                let done = &done;
                s.spawn(move || {
                    let mut last = 0;
                    fuzz::run(&|| Box::new(Sbf::start()), seed + t, share, &mut |r: &Report| {
                        done.fetch_add(r.cases - last, Ordering::Relaxed);
                        last = r.cases;
                        if r.cases.is_multiple_of(10_000) {
                            let all = done.load(Ordering::Relaxed);
                            eprintln!("fuzz-sbf: {all}/{cases} cases, {:.0} s", started.elapsed().as_secs_f64());
                        }
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a fuzz thread panicked")).collect()
    });
    let mut total = Report::default();
    let mut findings = Vec::new();
    for result in results {
        match result {
            Ok(r) => total.add(r),
            Err(finding) => findings.push(finding),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            serde_json::json!({
                "cases": total.cases,
                "accepted": total.accepted,
                "refused": total.refused,
                "read_only_creations": total.read_only_creations,
                "unmutated": total.unmutated,
                "distinct_codes": total.codes.len(),
                "seconds": (secs * 10.0).round() / 10.0,
                "findings": findings.len(),
            })
        );
    } else {
        println!(
            "fuzz-sbf: {} cases in {secs:.0} s ({:.0}/s): {} accepted, {} refused ({} distinct codes; {} accounts to create passed read-only), {} sent unmutated",
            total.cases,
            total.cases as f64 / secs,
            total.accepted,
            total.refused,
            total.codes.len(),
            total.read_only_creations,
            total.unmutated
        );
    }
    for finding in &findings {
        eprintln!("fuzz-sbf: FINDING {finding}");
    }
    if !findings.is_empty() {
        std::process::exit(1);
    }
}
