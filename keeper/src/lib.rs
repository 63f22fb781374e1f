//! The Agentrail keeper: watches jobs that name it, executes their steps through the agents'
//! HTTP endpoints, writes signed receipts into its Merkle log, submits and releases milestones,
//! refunds expired jobs and anchors the log's root once a day. Crash-safe and idempotent:
//! every transaction is persisted before it is broadcast and reconciled after a restart.

pub mod agent_client;
pub mod anchoring;
pub mod api;
pub mod chain;
pub mod compensate;
pub mod config;
pub mod console;
pub mod fee_sweeps;
pub mod guards;
pub mod http_server;
pub mod job_view;
pub mod metrics;
pub mod notify;
pub mod plan;
pub mod rails;
pub mod receipt_log;
pub mod retry;
pub mod sender;
pub mod service;
pub mod settlement_queue;
pub mod step_checks;
pub mod step_error;
pub mod step_pool;
pub mod steps;
pub mod store;
pub mod subscription;
