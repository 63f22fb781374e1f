//! Prints the compute-unit table of every instruction (measured on the SBF `.so` in litesvm)
//! against its budget, and the size and rent of every account type.
//!
//!     scripts/build-sbf.sh && cargo run -p agentrail-tests --bin cu-report

use agentrail_tests::compute::{account_sizes, budgets, measure};
use agentrail_tests::sbf::Sbf;

fn main() {
    let measured = measure(|| Box::new(Sbf::start()));
    let budgets = budgets();
    println!("{:<44} {:>8} {:>8}", "instruction", "CU", "budget");
    for m in &measured {
        let budget =
            budgets.iter().find(|(n, _)| n == m.instruction).map(|(_, b)| b.to_string()).unwrap_or_else(|| "-".into());
        println!("{:<44} {:>8} {:>8}", m.instruction, m.units, budget);
    }
    println!("\n{:<40} {:>6} {:>16}", "account", "bytes", "rent (lamports)");
    let rent = anchor_lang::prelude::Rent::default();
    for (name, size) in account_sizes() {
        println!("{:<40} {:>6} {:>16}", name, size, rent.minimum_balance(size));
    }
}
