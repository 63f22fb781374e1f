//! Program-derived addresses, derived exactly as the program derives them.

use agentrail::state::seeds;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::bpf_loader_upgradeable;

/// The config singleton (derived once: every settlement names it).
pub fn config() -> Pubkey {
    static CONFIG: std::sync::LazyLock<Pubkey> =
        std::sync::LazyLock::new(|| Pubkey::find_program_address(&[seeds::CONFIG], &crate::program_id()).0);
    *CONFIG
}

/// The account that authorises `certifier`.
pub fn certifier(certifier: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::CERTIFIER, certifier.as_ref()], &crate::program_id()).0
}

/// The agent with sequential id `id`.
pub fn agent(id: u64) -> Pubkey {
    Pubkey::find_program_address(&[seeds::AGENT, &id.to_le_bytes()], &crate::program_id()).0
}

/// The certification of version `version_seq` of `agent`.
pub fn certification(agent: &Pubkey, version_seq: u32) -> Pubkey {
    Pubkey::find_program_address(
        &[seeds::CERTIFICATION, agent.as_ref(), &version_seq.to_le_bytes()],
        &crate::program_id(),
    )
    .0
}

/// The program's ProgramData account under the upgradeable loader.
pub fn program_data() -> Pubkey {
    Pubkey::find_program_address(&[crate::program_id().as_ref()], &bpf_loader_upgradeable::ID).0
}

/// The job `nonce` of `poster`.
pub fn job(poster: &Pubkey, nonce: u64) -> Pubkey {
    Pubkey::find_program_address(&[seeds::JOB, poster.as_ref(), &nonce.to_le_bytes()], &crate::program_id()).0
}

/// The token vault of `job`.
pub fn vault(job: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::VAULT, job.as_ref()], &crate::program_id()).0
}

/// Shard `shard` of an agent's track record in one mint.
pub fn track_record(agent: &Pubkey, mint: &Pubkey, shard: u8) -> Pubkey {
    Pubkey::find_program_address(&[seeds::TRACK_RECORD, agent.as_ref(), mint.as_ref(), &[shard]], &crate::program_id())
        .0
}

/// The associated token account of `owner` for `mint` under `token_program`.
pub fn ata(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address_with_program_id(owner, mint, token_program)
}

/// The receipt log of keeper operator `authority`.
pub fn receipt_log(authority: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::RECEIPT_LOG, authority.as_ref()], &crate::program_id()).0
}

/// The checkpoint of `log` for UTC day `day`.
pub fn checkpoint(log: &Pubkey, day: u32) -> Pubkey {
    Pubkey::find_program_address(&[seeds::CHECKPOINT, log.as_ref(), &day.to_le_bytes()], &crate::program_id()).0
}
