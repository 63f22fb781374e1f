//! On-chain accounts, one module each, and their PDA seeds.

pub mod agent;
#[macro_use]
mod byte_state;
pub mod certification;
pub mod certifier;
pub mod config;
pub mod job;
pub mod receipt_log;
pub mod seeds;
pub mod track_record;

pub use agent::*;
pub use certification::*;
pub use certifier::*;
pub use config::*;
pub use job::*;
pub use receipt_log::*;
pub use track_record::*;
