//! One module per instruction (a few owner-only agent instructions share [`AgentAuthority`]).

pub mod accept_admin;
pub mod add_certifier;
pub mod agent_authority;
pub mod attest_stage;
pub mod initialize_config;
pub mod propose_admin;
pub mod publish_version;
pub mod register_agent;
pub mod remove_certifier;
pub mod revoke_certification;
pub mod set_agent_status;
pub mod set_payout;
pub mod transfer_agent_authority;
pub mod update_agent_metadata;
pub mod update_config;

pub use accept_admin::*;
pub use add_certifier::*;
pub use agent_authority::*;
pub use attest_stage::*;
pub use initialize_config::*;
pub use propose_admin::*;
pub use publish_version::*;
pub use register_agent::*;
pub use remove_certifier::*;
pub use revoke_certification::*;
pub use set_agent_status::*;
pub use set_payout::*;
pub use transfer_agent_authority::*;
pub use update_agent_metadata::*;
pub use update_config::*;
