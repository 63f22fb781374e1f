//! Derived-address checks by hash, where Anchor's `seeds` constraint would call the runtime's
//! `create_program_address` / `find_program_address` (see the contract, `CONTRACT.md`).

use anchor_lang::prelude::Pubkey;

use crate::state::seeds::ASSOCIATED_TOKEN_PROGRAM;
#[cfg(test)]
use crate::state::seeds::VAULT;

/// The address `create_program_address` would give `seeds` and `bump` under `program`, without
/// its curve check: the SHA-256 of the seeds, the bump, the program and a marker.
fn derived_address(seeds: &[&[u8]], bump: u8, program: &Pubkey) -> [u8; 32] {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(seeds.len() + 3);
    parts.extend_from_slice(seeds);
    let bump = [bump];
    parts.extend_from_slice(&[&bump, program.as_ref(), b"ProgramDerivedAddress"]);
    solana_sha256_hasher::hashv(&parts).to_bytes()
}

/// Whether `key` is `program`'s derived address for `seeds` and `bump`: the SHA-256 that
/// `create_program_address` computes, without its curve check. That is enough to identify an
/// account that exists: an address off the curve can only be created by `program` signing for
/// it, and nobody holds the key of one on it. A hash is far cheaper than the syscall.
pub fn is_derived(key: &Pubkey, seeds: &[&[u8]], bump: u8, program: &Pubkey) -> bool {
    derived_address(seeds, bump, program) == key.to_bytes()
}

/// The bump of `key` when it is `program`'s canonical derived address for `seeds` (the one
/// `find_program_address` gives), or `None`. It searches as `find_program_address` does, from
/// 255 down to the first address off the curve, but with a hash and a curve-check syscall per
/// bump instead of `create_program_address`: where the program creates an account at a PDA,
/// only the canonical address may be used, so the same seeds never name two accounts.
pub fn canonical_bump(key: &Pubkey, seeds: &[&[u8]], program: &Pubkey) -> Option<u8> {
    for bump in (0..=u8::MAX).rev() {
        let address = derived_address(seeds, bump, program);
        let on_curve =
            solana_curve25519::edwards::validate_edwards(&solana_curve25519::edwards::PodEdwardsPoint(address));
        if !on_curve {
            return (address == key.to_bytes()).then_some(bump);
        }
    }
    None
}

/// Whether `key` is the associated token account of `owner` for `mint` under `token_program`:
/// [`is_derived`] under the associated token program for each bump from 255 down, as
/// `find_program_address` tries them (the canonical bump is the first off the curve; the
/// associated token program only ever creates that one, so no account exists at another).
/// About two hashes for a real one; a wrong account costs at most 256 before it is refused.
pub fn is_associated_token_account(key: &Pubkey, owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> bool {
    let seeds: [&[u8]; 3] = [owner.as_ref(), token_program.as_ref(), mint.as_ref()];
    (0..=u8::MAX).rev().any(|bump| is_derived(key, &seeds, bump, &ASSOCIATED_TOKEN_PROGRAM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_bumps_are_the_ones_find_program_address_gives() {
        // enough addresses that some canonical bumps sit below 255
        let mut below_255 = 0;
        for _ in 0..64 {
            let job = Pubkey::new_unique();
            let (vault, bump) = Pubkey::find_program_address(&[VAULT, job.as_ref()], &crate::ID);
            assert_eq!(canonical_bump(&vault, &[VAULT, job.as_ref()], &crate::ID), Some(bump));
            below_255 += usize::from(bump < 255);
            // a valid derived address with a lower bump is refused: not the canonical one
            let lower = (0..bump)
                .rev()
                .find_map(|b| Pubkey::create_program_address(&[VAULT, job.as_ref(), &[b]], &crate::ID).ok())
                .expect("an address off the curve below the canonical bump");
            assert_eq!(canonical_bump(&lower, &[VAULT, job.as_ref()], &crate::ID), None);
            assert_eq!(canonical_bump(&job, &[VAULT, job.as_ref()], &crate::ID), None, "another account");
        }
        assert!(below_255 > 0);
    }

    #[test]
    fn derived_addresses_match_the_runtimes_derivation() {
        let job = Pubkey::new_unique();
        let (vault, bump) = Pubkey::find_program_address(&[VAULT, job.as_ref()], &crate::ID);
        assert!(is_derived(&vault, &[VAULT, job.as_ref()], bump, &crate::ID));
        assert!(!is_derived(&vault, &[VAULT, job.as_ref()], bump.wrapping_sub(1), &crate::ID), "another bump");
        assert!(!is_derived(&vault, &[VAULT, Pubkey::new_unique().as_ref()], bump, &crate::ID), "another job");
        assert!(!is_derived(&job, &[VAULT, job.as_ref()], bump, &crate::ID), "another account");
        let (owner, mint) = (Pubkey::new_unique(), Pubkey::new_unique());
        for token_program in [anchor_spl::token::ID, anchor_spl::token_2022::ID] {
            let ata = anchor_spl::associated_token::get_associated_token_address_with_program_id(
                &owner,
                &mint,
                &token_program,
            );
            assert!(is_associated_token_account(&ata, &owner, &mint, &token_program));
            assert!(!is_associated_token_account(&ata, &mint, &owner, &token_program), "owner and mint swapped");
            assert!(!is_associated_token_account(&ata, &owner, &mint, &crate::ID), "another token program");
            assert!(!is_associated_token_account(&Pubkey::new_unique(), &owner, &mint, &token_program));
        }
    }
}
