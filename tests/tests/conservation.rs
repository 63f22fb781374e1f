//! The escrow conservation property, natively.

use agentrail_tests::native::Native;
use agentrail_tests::scenarios::conservation::conservation_under_random_sequences;

#[test]
fn escrow_conserves_funds_under_random_sequences() {
    conservation_under_random_sequences(|| Box::new(Native::start()), 40);
}
