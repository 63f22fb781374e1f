//! Creating the program's accounts at their derived addresses in the handler, where Anchor's
//! `init` would: `create_job` (job, vault, track record) and `anchor_checkpoint` (checkpoint).
//! `init` finds the bump with `find_program_address`, 1,500 units per bump tried (two tries on
//! average, per account); [`seeds::canonical_bump`] checks the same canonical address for
//! ~300 per try. Everything else is what `init` does: the same refusal of another address
//! (`ConstraintSeeds`), an address someone already funded topped up instead of blocking the
//! creation, token accounts sized for the extensions their mint requires.

use anchor_lang::prelude::*;
use anchor_lang::system_program::{self, CreateAccount, CreateAccountAllowPrefund};
use anchor_spl::token_2022::spl_token_2022::{
    self,
    extension::{BaseStateWithExtensions, ExtensionType, StateWithExtensions},
};
use anchor_spl::token_interface::{self, InitializeAccount3};

use crate::state::seeds;

/// Creates `new` (field `name` of the instruction) at this program's canonical address for
/// `seeds`, `space` bytes owned by `owner` and rent-exempt, paid by `payer`. Returns its bump.
pub fn create_pda_account<'info>(
    payer: &AccountInfo<'info>,
    new: &AccountInfo<'info>,
    name: &'static str,
    seeds: &[&[u8]],
    space: usize,
    owner: &Pubkey,
) -> Result<u8> {
    let bump = seeds::canonical_bump(new.key, seeds, &crate::ID)
        .ok_or_else(|| error!(ErrorCode::ConstraintSeeds).with_account_name(name))?;
    let bump_seed = [bump];
    let mut signer: Vec<&[u8]> = seeds.to_vec();
    signer.push(&bump_seed);
    let signer = [signer.as_slice()];
    let rent = Rent::get()?.minimum_balance(space);
    let current = new.lamports();
    if current == 0 {
        let accounts = CreateAccount { from: payer.clone(), to: new.clone() };
        let cpi = CpiContext::new(system_program::ID, accounts).with_signer(&signer);
        system_program::create_account(cpi, rent, space as u64, owner)?;
    } else {
        // lamports sent to the address beforehand must not block its creation
        require_keys_neq!(*payer.key, *new.key, ErrorCode::TryingToInitPayerAsProgramAccount);
        let accounts = CreateAccountAllowPrefund { from: payer.clone(), to: new.clone() };
        let cpi = CpiContext::new(system_program::ID, accounts).with_signer(&signer);
        system_program::create_account_allow_prefund(cpi, rent.max(1).saturating_sub(current), space as u64, owner)?;
    }
    Ok(bump)
}

/// Creates the token account `new` (field `name`) at this program's canonical address for
/// `seeds`: for `mint`, owned by `authority`, under `token_program`. Returns its bump.
pub fn create_token_account_pda<'info>(
    payer: &AccountInfo<'info>,
    new: &AccountInfo<'info>,
    name: &'static str,
    seeds: &[&[u8]],
    mint: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    token_program: &Pubkey,
) -> Result<u8> {
    let bump = create_pda_account(payer, new, name, seeds, token_account_space(mint)?, token_program)?;
    let accounts = InitializeAccount3 { account: new.clone(), mint: mint.clone(), authority: authority.clone() };
    token_interface::initialize_account3(CpiContext::new(*token_program, accounts))?;
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
