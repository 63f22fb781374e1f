//! One module per command group.

pub mod agent;
pub mod anchors;
pub mod cert;
pub mod config;
pub mod job;
pub mod receipt;
