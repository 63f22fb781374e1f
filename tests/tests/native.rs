//! Every scenario, natively in `solana-program-test` with the real System and SPL programs.

use agentrail_tests::native::Native;

agentrail_tests::scenario_tests!(Box::new(Native::start()));
