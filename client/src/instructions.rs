//! Instruction builders: one function per program instruction, accounts derived for you.

use agentrail::instructions::*;
use agentrail::state::AgentStatus;
use agentrail::{accounts, instruction};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::system_program;
use anchor_lang::{InstructionData, ToAccountMetas};

use crate::pda;

pub(crate) fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction { program_id: crate::program_id(), accounts: accounts.to_account_metas(None), data: data.data() }
}

/// `initialize_config`, signed by the program's upgrade authority.
pub fn initialize_config(admin: &Pubkey, treasury: Pubkey, fee_bps: u16) -> Instruction {
    build(
        accounts::InitializeConfig {
            admin: *admin,
            config: pda::config(),
            program_data: pda::program_data(),
            system_program: system_program::ID,
        },
        instruction::InitializeConfig { args: InitializeConfigArgs { treasury, fee_bps } },
    )
}

/// `update_config`, signed by the admin.
pub fn update_config(admin: &Pubkey, args: UpdateConfigArgs) -> Instruction {
    build(accounts::UpdateConfig { admin: *admin, config: pda::config() }, instruction::UpdateConfig { args })
}

/// `propose_admin`, signed by the admin.
pub fn propose_admin(admin: &Pubkey, proposed: Pubkey) -> Instruction {
    build(accounts::ProposeAdmin { admin: *admin, config: pda::config() }, instruction::ProposeAdmin { proposed })
}

/// `accept_admin`, signed by the proposed admin.
pub fn accept_admin(new_admin: &Pubkey) -> Instruction {
    build(accounts::AcceptAdmin { new_admin: *new_admin, config: pda::config() }, instruction::AcceptAdmin {})
}

/// `add_certifier`, signed by the admin.
pub fn add_certifier(admin: &Pubkey, certifier: Pubkey) -> Instruction {
    build(
        accounts::AddCertifier {
            admin: *admin,
            config: pda::config(),
            certifier_account: pda::certifier(&certifier),
            system_program: system_program::ID,
        },
        instruction::AddCertifier { certifier },
    )
}

/// `remove_certifier`, signed by the admin.
pub fn remove_certifier(admin: &Pubkey, certifier: &Pubkey) -> Instruction {
    build(
        accounts::RemoveCertifier {
            admin: *admin,
            config: pda::config(),
            certifier_account: pda::certifier(certifier),
        },
        instruction::RemoveCertifier {},
    )
}

/// `register_agent` as agent number `id` (the config's current `agent_count`).
pub fn register_agent(authority: &Pubkey, payout: &Pubkey, id: u64, args: RegisterAgentArgs) -> Instruction {
    build(
        accounts::RegisterAgent {
            authority: *authority,
            payout: *payout,
            config: pda::config(),
            agent: pda::agent(id),
            system_program: system_program::ID,
        },
        instruction::RegisterAgent { args },
    )
}

fn agent_authority(authority: &Pubkey, agent: &Pubkey) -> accounts::AgentAuthority {
    accounts::AgentAuthority { authority: *authority, agent: *agent }
}

/// `publish_version`, signed by the agent's authority.
pub fn publish_version(authority: &Pubkey, agent: &Pubkey, args: PublishVersionArgs) -> Instruction {
    build(agent_authority(authority, agent), instruction::PublishVersion { args })
}

/// `set_agent_status`, signed by the agent's authority.
pub fn set_agent_status(authority: &Pubkey, agent: &Pubkey, status: AgentStatus) -> Instruction {
    build(agent_authority(authority, agent), instruction::SetAgentStatus { status })
}

/// `update_agent_metadata`, signed by the agent's authority.
pub fn update_agent_metadata(authority: &Pubkey, agent: &Pubkey, metadata_uri: String) -> Instruction {
    build(
        agent_authority(authority, agent),
        instruction::UpdateAgentMetadata { args: UpdateAgentMetadataArgs { metadata_uri } },
    )
}

/// `set_payout`, signed by the agent's authority and the new payout wallet.
pub fn set_payout(authority: &Pubkey, agent: &Pubkey, new_payout: &Pubkey) -> Instruction {
    build(
        accounts::SetPayout { authority: *authority, new_payout: *new_payout, agent: *agent },
        instruction::SetPayout {},
    )
}

/// `set_signing_key`, signed by the agent's authority and `new_key` (it proves control of the
/// key); `None` clears the agent's signing key.
pub fn set_signing_key(authority: &Pubkey, agent: &Pubkey, new_key: Option<&Pubkey>) -> Instruction {
    build(
        accounts::SetSigningKey { authority: *authority, new_key: new_key.copied(), agent: *agent },
        instruction::SetSigningKey {},
    )
}

/// `transfer_agent_authority`, signed by both authorities.
pub fn transfer_agent_authority(authority: &Pubkey, agent: &Pubkey, new_authority: &Pubkey) -> Instruction {
    build(
        accounts::TransferAgentAuthority { authority: *authority, new_authority: *new_authority, agent: *agent },
        instruction::TransferAgentAuthority {},
    )
}

/// `attest_stage` for the agent's current version `version_seq`, signed by a certifier.
pub fn attest_stage(certifier: &Pubkey, agent: &Pubkey, version_seq: u32, args: AttestStageArgs) -> Instruction {
    build(
        accounts::AttestStage {
            certifier: *certifier,
            certifier_account: pda::certifier(certifier),
            agent: *agent,
            certification: pda::certification(agent, version_seq),
            system_program: system_program::ID,
        },
        instruction::AttestStage { args },
    )
}

/// `revoke_certification`, signed by a certifier.
pub fn revoke_certification(certifier: &Pubkey, certification: &Pubkey, reason_hash: [u8; 32]) -> Instruction {
    build(
        accounts::RevokeCertification {
            certifier: *certifier,
            certifier_account: pda::certifier(certifier),
            certification: *certification,
        },
        instruction::RevokeCertification { reason_hash },
    )
}
