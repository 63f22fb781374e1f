//! On-chain accounts, one module each, and their PDA seeds.

#[macro_use]
pub mod one_write;
pub mod agent;
pub mod borsh_memory;
pub mod certification;
pub mod certifier;
pub mod config;
pub mod job;
// the IDL build describes a job with Borsh's derive; every other build uses this codec
#[cfg(not(feature = "idl-build"))]
mod job_codec;
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
