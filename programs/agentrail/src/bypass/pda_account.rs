//! Creating the program's accounts at their derived addresses in the handler, where Anchor's
//! `init` would: `create_job` (job, vault, track record) and `anchor_checkpoint` (checkpoint).
//! `init` finds the bump with `find_program_address`; [`derived::canonical_bump`] checks the
//! same canonical address with a hash per bump tried. Everything else is what `init` does: the
//! same refusal of another address (`ConstraintSeeds`), an address someone already funded
//! topped up instead of blocking the creation, token accounts sized for the extensions their
//! mint requires.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, CreateAccountAllowPrefund};
use anchor_spl::token_2022::spl_token_2022::{
    self,
    extension::{BaseStateWithExtensions, ExtensionType, StateWithExtensions},
};

use crate::bypass::derived;

/// The zero-copy account `T` in the freshly created (zeroed) `data`: its discriminator written,
/// its fields in place, the rest left at zero (what `AccountLoader::load_init` gives, on
/// account data of any lifetime). Refused, as Anchor refuses writing it, when `data` is too
/// short.
pub fn init_zero_copy<T: bytemuck::Pod + Discriminator>(data: &mut [u8]) -> Result<&mut T> {
    let (discriminator, body) =
        data.split_at_mut_checked(T::DISCRIMINATOR.len()).ok_or(ErrorCode::AccountDidNotSerialize)?;
    discriminator.copy_from_slice(T::DISCRIMINATOR);
    let body = body.get_mut(..std::mem::size_of::<T>()).ok_or(ErrorCode::AccountDidNotSerialize)?;
    Ok(bytemuck::from_bytes_mut(body))
}

/// Creates `new` (field `name` of the instruction) at this program's canonical address for
/// `seeds`, `space` bytes owned by `owner` and exempt under `rent` (the sysvar, read once per
/// instruction by the caller), paid by `payer`. Returns its bump.
pub fn create_pda_account<'info>(
    payer: &AccountInfo<'info>,
    new: &AccountInfo<'info>,
    name: &'static str,
    seeds: &[&[u8]],
    space: usize,
    rent: &Rent,
    owner: &Pubkey,
) -> Result<u8> {
    let bump = derived::canonical_bump(new.key, seeds, &crate::ID)
        .ok_or_else(|| error!(ErrorCode::ConstraintSeeds).with_account_name(name))?;
    let bump_seed = [bump];
    // the seeds and the bump, on the stack (the runtime takes at most 16 seeds)
    let mut signer: [&[u8]; 16] = [&[]; 16];
    let n = seeds.len().min(15);
    signer[..n].copy_from_slice(&seeds[..n]);
    signer[n] = &bump_seed;
    let signer = [&signer[..=n]];
    let rent = rent_exempt_minimum(rent, space);
    let current = new.lamports();
    if current == 0 {
        crate::bypass::cpi::create_account(payer, new, rent, space as u64, owner, &signer)?;
    } else {
        // lamports sent to the address beforehand must not block its creation
        require_keys_neq!(*payer.key, *new.key, ErrorCode::TryingToInitPayerAsProgramAccount);
        let accounts = CreateAccountAllowPrefund { from: payer.clone(), to: new.clone() };
        let cpi = CpiContext::new(system_program::ID, accounts).with_signer(&signer);
        system_program::create_account_allow_prefund(cpi, rent.max(1).saturating_sub(current), space as u64, owner)?;
    }
    Ok(bump)
}

/// `rent.minimum_balance(space)`, the same number, without floating point where the runtime's
/// exemption threshold is 2.0 (as it has always been) or 1.0 (SIMD-0194): `minimum_balance`
/// multiplies as `f64`, which SBF has no instructions for (library calls for each account
/// created). Below 2^53 a `u64` converts to `f64` exactly and multiplying by 1 or 2 is
/// exact, so the integer product is what the float formula gives; any other threshold or size
/// goes through that formula.
// the fields are deprecated for SIMD-0194's renaming; they are what `minimum_balance` reads
#[allow(deprecated)]
pub fn rent_exempt_minimum(rent: &Rent, space: usize) -> u64 {
    const EXACT_IN_F64: u64 = 1 << 53;
    // bytes the runtime charges every account for beyond its data (`Rent`'s own constant)
    const ACCOUNT_STORAGE_OVERHEAD: u64 = 128;
    let base =
        (space as u64).checked_add(ACCOUNT_STORAGE_OVERHEAD).and_then(|b| b.checked_mul(rent.lamports_per_byte_year));
    let factor = match rent.exemption_threshold.to_bits() {
        t if t == 2.0f64.to_bits() => Some(2),
        t if t == 1.0f64.to_bits() => Some(1),
        _ => None,
    };
    match (base, factor) {
        (Some(base), Some(factor)) if base < EXACT_IN_F64 => base * factor,
        _ => rent.minimum_balance(space),
    }
}

/// Creates the token account `new` (field `name`) at this program's canonical address for
/// `seeds`: for `mint`, owned by `authority`, under `token_program`, exempt under `rent`.
/// Returns its bump.
#[allow(clippy::too_many_arguments)]
pub fn create_token_account_pda<'info>(
    payer: &AccountInfo<'info>,
    new: &AccountInfo<'info>,
    name: &'static str,
    seeds: &[&[u8]],
    mint: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    token_program: &Pubkey,
    rent: &Rent,
) -> Result<u8> {
    let bump = create_pda_account(payer, new, name, seeds, token_account_space(mint)?, rent, token_program)?;
    crate::bypass::cpi::initialize_account3(token_program, new, mint, authority.key)?;
    Ok(bump)
}

/// Bytes a token account of `mint` needs: the base account, plus for a Token-2022 mint the
/// account extensions its extensions require (a transfer-hook mint's accounts carry
/// `TransferHookAccount`, for instance).
fn token_account_space(mint: &AccountInfo) -> Result<usize> {
    if *mint.owner != anchor_spl::token_2022::ID {
        return Ok(anchor_spl::token::TokenAccount::LEN);
    }
    let data = mint.try_borrow_data()?;
    let state = StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&data)?;
    let required = ExtensionType::get_required_init_account_extensions(&state.get_extension_types()?);
    Ok(ExtensionType::try_calculate_account_len::<spl_token_2022::state::Account>(&required)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_copy_account_starts_with_its_discriminator_and_zeros() {
        use crate::state::TrackRecord;
        let mut data = vec![0u8; TrackRecord::SPACE];
        let record = init_zero_copy::<TrackRecord>(&mut data).unwrap();
        assert_eq!(*record, TrackRecord::default());
        record.shard = 3;
        assert_eq!(&data[..8], TrackRecord::DISCRIMINATOR);
        assert_eq!(TrackRecord::stored_bump(&data).unwrap(), 0);
        assert_eq!(data[8 + std::mem::offset_of!(TrackRecord, shard)], 3, "written in place");
        let mut short = vec![0u8; TrackRecord::SPACE - 1];
        assert_eq!(init_zero_copy::<TrackRecord>(&mut short).unwrap_err(), ErrorCode::AccountDidNotSerialize.into());
        assert!(init_zero_copy::<TrackRecord>(&mut [0u8; 4]).is_err(), "no room for the discriminator");
    }

    #[test]
    #[allow(deprecated)]
    fn rent_exempt_minimum_is_minimum_balance() {
        let per_byte = [0, 1, 3_480, 6_960, 1 << 20, (1 << 53) / 200];
        let spaces = [0, 1, 82, 165, 301, 10_240, 10 << 20];
        for threshold in [2.0, 1.0, 1.5, 0.5, 2.0000000000000004] {
            for lamports_per_byte_year in per_byte {
                let rent = Rent { lamports_per_byte_year, exemption_threshold: threshold, ..Rent::default() };
                for space in spaces {
                    // the float formula itself overflows past u64 (and panics); not a case here
                    if (space as u64 + 128).checked_mul(lamports_per_byte_year).is_none() {
                        continue;
                    }
                    assert_eq!(
                        rent_exempt_minimum(&rent, space),
                        rent.minimum_balance(space),
                        "threshold {threshold}, {lamports_per_byte_year}/byte, {space} bytes"
                    );
                }
            }
        }
        // past 2^53 the float formula rounds; the integer path steps aside
        let rent = Rent { lamports_per_byte_year: (1 << 34) + 1, exemption_threshold: 2.0, ..Rent::default() };
        assert_eq!(rent_exempt_minimum(&rent, (1 << 20) + 3), rent.minimum_balance((1 << 20) + 3));
    }
}
