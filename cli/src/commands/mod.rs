//! One module per command group.

pub mod agent;
pub mod anchors;
pub mod cert;
pub mod config;
pub mod dev;
pub mod job;
pub mod receipt;
