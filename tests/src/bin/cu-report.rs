//! Prints the compute-unit table of every instruction (measured on the SBF `.so` in litesvm)
//! against its budget, and the size and rent of every account type.
//!
//!     scripts/build-sbf.sh && cargo run -p agentrail-tests --bin cu-report
//!
//! With `--breakdown`, on a measurement build whose trace points log the units left, where the
//! units of the money instructions go:
//!
//!     CARGO_TARGET_DIR=$HOME/.cache/agentrail-target/sbf \
//!       bash tools/sbf-toolchain/build.sh anchor programs/agentrail --features cu-trace
//!     cp $HOME/.cache/agentrail-target/sbf/sbfup-solana-solana/release/libagentrail.so target/deploy/agentrail-cu-trace.so
//!     AGENTRAIL_SO=target/deploy/agentrail-cu-trace.so cargo run -p agentrail-tests --bin cu-report -- --breakdown
//!     scripts/build-sbf.sh    # the measurement build also replaced target/deploy/agentrail.so
//!
//! With `--logs <prefix>`, the runtime's logs of each measured instruction whose name starts
//! with the prefix (on a measurement build: every trace point).

use agentrail_tests::compute::{account_sizes, breakdown, budgets, measure, measure_baseline};
use agentrail_tests::sbf::{Sbf, baseline_so};

fn main() {
    if !baseline_so().exists() {
        eprintln!("cu-report: {} is missing; build it with scripts/build-sbf.sh", baseline_so().display());
        std::process::exit(1);
    }
    let baseline = measure_baseline(|| Box::new(Sbf::start()));
    let measured = measure(|| Box::new(Sbf::start()));
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--logs") {
        let prefix = args.get(at + 1).map(String::as_str).unwrap_or("");
        for m in measured.iter().filter(|m| m.instruction.starts_with(prefix)) {
            println!("{} ({} CU)", m.instruction, m.units);
            for line in &m.logs {
                println!("    {line}");
            }
        }
        return;
    }
    if std::env::args().any(|a| a == "--breakdown") {
        for m in &measured {
            let Some(sections) = breakdown(m) else { continue };
            println!("{} ({} CU, {:.2}× the baseline)", m.instruction, m.units, m.units as f64 / baseline as f64);
            for (section, units) in sections {
                if units == 0 {
                    println!("    {section}");
                } else {
                    println!("    {units:>6}  {section}");
                }
            }
        }
        return;
    }
    let budgets = budgets();
    println!("baseline (programs/baseline-transfer: one PDA-signed transfer_checked out of a vault): {baseline} CU\n");
    println!("{:<44} {:>8} {:>8} {:>10}", "instruction", "CU", "budget", "baseline×");
    for m in &measured {
        let budget =
            budgets.iter().find(|(n, _)| n == m.instruction).map(|(_, b)| b.to_string()).unwrap_or_else(|| "-".into());
        let ratio = m.units as f64 / baseline as f64;
        println!("{:<44} {:>8} {:>8} {:>10.2}", m.instruction, m.units, budget, ratio);
    }
    println!("\n{:<40} {:>6} {:>16}", "account", "bytes", "rent (lamports)");
    let rent = anchor_lang::prelude::Rent::default();
    for (name, size) in account_sizes() {
        println!("{:<40} {:>6} {:>16}", name, size, rent.minimum_balance(size));
    }
}
