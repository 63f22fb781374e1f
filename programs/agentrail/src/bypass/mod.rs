#![doc = include_str!("CONTRACT.md")]

pub mod borsh_memory;
pub mod cpi;
pub mod derived;
pub mod distinct;
pub mod entrypoint;
// the IDL build describes a job with Borsh's derive; every other build uses this codec
#[cfg(not(feature = "idl-build"))]
mod job_codec;
pub mod mem;
#[macro_use]
pub mod one_write;
pub mod pda_account;
pub mod token_bytes;
