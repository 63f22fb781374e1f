//! Program-derived addresses, derived exactly as the program derives them.

use agentrail::state::seeds;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::bpf_loader_upgradeable;

/// The config singleton (derived once: every settlement names it).
pub fn config() -> Pubkey {
    static CONFIG: std::sync::LazyLock<Pubkey> =
        std::sync::LazyLock::new(|| Pubkey::find_program_address(&[seeds::CONFIG], &agentrail::ID).0);
    *CONFIG
}

/// The account that authorises `certifier`.
pub fn certifier(certifier: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::CERTIFIER, certifier.as_ref()], &agentrail::ID).0
}

/// The agent with sequential id `id`.
pub fn agent(id: u64) -> Pubkey {
    Pubkey::find_program_address(&[seeds::AGENT, &id.to_le_bytes()], &agentrail::ID).0
}

/// The certification of version `version_seq` of `agent`.
pub fn certification(agent: &Pubkey, version_seq: u32) -> Pubkey {
    Pubkey::find_program_address(&[seeds::CERTIFICATION, agent.as_ref(), &version_seq.to_le_bytes()], &agentrail::ID).0
}

/// The program's ProgramData account under the upgradeable loader.
pub fn program_data() -> Pubkey {
    Pubkey::find_program_address(&[agentrail::ID.as_ref()], &bpf_loader_upgradeable::ID).0
}

/// The job `nonce` of `poster`.
pub fn job(poster: &Pubkey, nonce: u64) -> Pubkey {
    Pubkey::find_program_address(&[seeds::JOB, poster.as_ref(), &nonce.to_le_bytes()], &agentrail::ID).0
}

/// The first nonce from `from` up whose job and vault addresses `create_job` finds at the
/// first bump it tries (255): it checks a created account's address by trying each bump from
/// 255 down (~330 units a try), and each address has even odds of needing a second try or
/// more. Picking the nonce makes every job the clients create pay for one try each; a quarter
/// of all nonces qualify, so this takes about four tries here, off chain.
pub fn cheap_job_nonce(poster: &Pubkey, from: u64) -> u64 {
    let first_bump = |seeds: &[&[u8]]| Pubkey::find_program_address(seeds, &agentrail::ID).1 == u8::MAX;
    (from..=u64::MAX)
        .find(|nonce| {
            let nonce = nonce.to_le_bytes();
            first_bump(&[seeds::JOB, poster.as_ref(), &nonce])
                && first_bump(&[seeds::VAULT, job(poster, u64::from_le_bytes(nonce)).as_ref()])
        })
        // a quarter of all nonces qualify: past u64::MAX only if `from` is its last few
        .unwrap_or(from)
}

/// The token vault of `job`.
pub fn vault(job: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::VAULT, job.as_ref()], &agentrail::ID).0
}

/// Shard `shard` of an agent's track record in one mint.
pub fn track_record(agent: &Pubkey, mint: &Pubkey, shard: u8) -> Pubkey {
    Pubkey::find_program_address(&[seeds::TRACK_RECORD, agent.as_ref(), mint.as_ref(), &[shard]], &agentrail::ID).0
}

/// The shard of its agent's track record that job `job` counts in.
pub fn job_track_record(agent: &Pubkey, mint: &Pubkey, job: &Pubkey) -> Pubkey {
    track_record(agent, mint, agentrail::state::Job::record_shard(job))
}

/// The associated token account of `owner` for `mint` under `token_program`.
pub fn ata(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address_with_program_id(owner, mint, token_program)
}

/// The receipt log of keeper operator `authority`.
pub fn receipt_log(authority: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::RECEIPT_LOG, authority.as_ref()], &agentrail::ID).0
}

/// The checkpoint of `log` for UTC day `day`.
pub fn checkpoint(log: &Pubkey, day: u32) -> Pubkey {
    Pubkey::find_program_address(&[seeds::CHECKPOINT, log.as_ref(), &day.to_le_bytes()], &agentrail::ID).0
}

#[cfg(test)]
mod nonce_tests {
    use super::*;

    #[test]
    fn cheap_nonces_put_job_and_vault_at_the_first_bump() {
        let poster = Pubkey::new_unique();
        let mut from = 1_000;
        for _ in 0..8 {
            let nonce = cheap_job_nonce(&poster, from);
            assert!(nonce >= from);
            let (job, job_bump) =
                Pubkey::find_program_address(&[seeds::JOB, poster.as_ref(), &nonce.to_le_bytes()], &agentrail::ID);
            let (_, vault_bump) = Pubkey::find_program_address(&[seeds::VAULT, job.as_ref()], &agentrail::ID);
            assert_eq!((job_bump, vault_bump), (255, 255), "nonce {nonce}");
            // none skipped: every nonce before it misses one of the two
            for skipped in from..nonce {
                let (job, job_bump) = Pubkey::find_program_address(
                    &[seeds::JOB, poster.as_ref(), &skipped.to_le_bytes()],
                    &agentrail::ID,
                );
                let vault_bump = Pubkey::find_program_address(&[seeds::VAULT, job.as_ref()], &agentrail::ID).1;
                assert!(job_bump < 255 || vault_bump < 255);
            }
            from = nonce + 1;
        }
    }
}
