//! Client code shared by the keeper, the CLI and the tests: PDAs, instruction builders and
//! account decoding for the Agentrail program.

pub mod accounts;
pub mod anchors;
pub mod bundle;
pub mod errors;
pub mod escrow;
pub mod events;
pub mod fixtures;
pub mod instructions;
pub mod lifecycle;
pub mod merkle;
pub mod pda;
pub mod receipt;
pub mod redact;
pub mod terms;
pub mod x402;

pub use agentrail;
pub use agentrail::ID as PROGRAM_ID;
