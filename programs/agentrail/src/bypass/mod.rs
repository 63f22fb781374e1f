#![doc = include_str!("CONTRACT.md")]

pub mod borsh_string;
pub mod cpi;
pub mod derived;
pub mod distinct;
pub mod entrypoint;
pub mod pda_account;
pub mod token_bytes;
