//! The program's cross-program calls: the system program's `create_account` and the token
//! program's `initialize_account3`, `transfer_checked` and `close_account`, the instructions
//! Anchor's and anchor-spl's wrappers build, made without those wrappers' detours.
//!
//! A wrapper builds an `Instruction` (`create_account`'s data through bincode), then
//! `invoke_signed` searches the accounts for each of its keys, and `invoke_signed_unchecked`
//! clones the whole instruction into the layout the runtime reads: ~700 units of the ~1,900 a
//! `create_account` costs on SBF, beyond the runtime's own 946 and the callee's work. Here the
//! instruction's data is written in place, each account is the account of its meta (no search),
//! and the instruction goes to the runtime as it is. The check `invoke_signed` makes is kept:
//! no account the callee may write is borrowed by the caller.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::AccountMeta;

/// The token instruction tags (SPL Token and Token-2022 share them).
mod token_tag {
    pub const TRANSFER_CHECKED: u8 = 12;
    pub const CLOSE_ACCOUNT: u8 = 9;
    pub const INITIALIZE_ACCOUNT3: u8 = 18;
}

/// Calls `program_id` with `data`; `accounts[i]` is the account of `metas[i]`. Signed by
/// `signers` (PDA seeds, bump included).
fn invoke(
    program_id: &Pubkey,
    metas: Vec<AccountMeta>,
    data: Vec<u8>,
    accounts: &[AccountInfo],
    signers: &[&[&[u8]]],
) -> Result<()> {
    // invoke_signed's check: the callee may write what the caller holds no borrow of
    for (meta, account) in metas.iter().zip(accounts) {
        debug_assert_eq!(meta.pubkey, *account.key);
        if meta.is_writable {
            account.try_borrow_mut_lamports()?;
            account.try_borrow_mut_data()?;
        } else {
            account.try_borrow_lamports()?;
            account.try_borrow_data()?;
        }
    }
    #[cfg(target_os = "solana")]
    {
        let instruction = solana_stable_layout::stable_instruction::StableInstruction {
            accounts: metas.into(),
            data: data.into(),
            program_id: *program_id,
        };
        // SAFETY: the runtime reads the instruction, the account infos and the seeds in these
        // layouts (those `solana_cpi::invoke_signed_unchecked` passes); no account is borrowed
        let result = unsafe {
            solana_cpi::syscalls::sol_invoke_signed_rust(
                &instruction as *const _ as *const u8,
                accounts.as_ptr() as *const u8,
                accounts.len() as u64,
                signers.as_ptr() as *const u8,
                signers.len() as u64,
            )
        };
        if result != 0 {
            return Err(ProgramError::from(result).into());
        }
        Ok(())
    }
    #[cfg(not(target_os = "solana"))]
    {
        let instruction = anchor_lang::solana_program::instruction::Instruction { program_id: *program_id, accounts: metas, data };
        // off chain (native tests) through the runtime stubs solana_program's call reaches
        anchor_lang::solana_program::program::invoke_signed(&instruction, accounts, signers).map_err(Into::into)
    }
}

/// The system program's `create_account`: `new`, `space` bytes owned by `owner` and holding
/// `lamports`, paid by `payer`; `signers` signs for `new` (a PDA).
pub fn create_account<'info>(
    payer: &AccountInfo<'info>,
    new: &AccountInfo<'info>,
    lamports: u64,
    space: u64,
    owner: &Pubkey,
    signers: &[&[&[u8]]],
) -> Result<()> {
    // bincode of SystemInstruction::CreateAccount: its tag as a u32, then the fields
    let mut data = Vec::with_capacity(4 + 8 + 8 + 32);
    data.extend_from_slice(&0u32.to_le_bytes());
    data.extend_from_slice(&lamports.to_le_bytes());
    data.extend_from_slice(&space.to_le_bytes());
    data.extend_from_slice(owner.as_ref());
    let metas = vec![AccountMeta::new(*payer.key, true), AccountMeta::new(*new.key, true)];
    invoke(&anchor_lang::system_program::ID, metas, data, &[payer.clone(), new.clone()], signers)
}

/// The token program's `initialize_account3`: `account` a token account of `mint` owned by
/// `authority`.
pub fn initialize_account3<'info>(
    token_program: &Pubkey,
    account: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    authority: &Pubkey,
) -> Result<()> {
    let mut data = Vec::with_capacity(1 + 32);
    data.push(token_tag::INITIALIZE_ACCOUNT3);
    data.extend_from_slice(authority.as_ref());
    let metas = vec![AccountMeta::new(*account.key, false), AccountMeta::new_readonly(*mint.key, false)];
    invoke(token_program, metas, data, &[account.clone(), mint.clone()], &[])
}

/// The token program's `transfer_checked`: `amount` of `mint` (with `decimals`) from `from`
/// to `to`, authorised by `authority` (signing, or a PDA `signers` signs for).
#[allow(clippy::too_many_arguments)]
pub fn transfer_checked<'info>(
    token_program: &Pubkey,
    from: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    to: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    amount: u64,
    decimals: u8,
    signers: &[&[&[u8]]],
) -> Result<()> {
    let mut data = Vec::with_capacity(1 + 8 + 1);
    data.push(token_tag::TRANSFER_CHECKED);
    data.extend_from_slice(&amount.to_le_bytes());
    data.push(decimals);
    let metas = vec![
        AccountMeta::new(*from.key, false),
        AccountMeta::new_readonly(*mint.key, false),
        AccountMeta::new(*to.key, false),
        AccountMeta::new_readonly(*authority.key, true),
    ];
    invoke(token_program, metas, data, &[from.clone(), mint.clone(), to.clone(), authority.clone()], signers)
}

/// The token program's `close_account`: `account` closed, its lamports to `destination`,
/// authorised by `authority` (a PDA `signers` signs for).
pub fn close_account<'info>(
    token_program: &Pubkey,
    account: &AccountInfo<'info>,
    destination: &AccountInfo<'info>,
    authority: &AccountInfo<'info>,
    signers: &[&[&[u8]]],
) -> Result<()> {
    let metas = vec![
        AccountMeta::new(*account.key, false),
        AccountMeta::new(*destination.key, false),
        AccountMeta::new_readonly(*authority.key, true),
    ];
    invoke(
        token_program,
        metas,
        vec![token_tag::CLOSE_ACCOUNT],
        &[account.clone(), destination.clone(), authority.clone()],
        signers,
    )
}

#[cfg(test)]
mod tests {
    use anchor_lang::solana_program::instruction::Instruction;
    use anchor_spl::token_2022::spl_token_2022;

    use super::*;

    /// What each call sends is the instruction the libraries' builders make.
    #[test]
    fn instructions_are_the_builders() {
        let (a, b, c, d) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        let system = anchor_lang::solana_program::system_instruction::create_account(&a, &b, 1_461_600, 165, &c);
        let mut data = 0u32.to_le_bytes().to_vec();
        data.extend_from_slice(&1_461_600u64.to_le_bytes());
        data.extend_from_slice(&165u64.to_le_bytes());
        data.extend_from_slice(c.as_ref());
        assert_eq!(system.data, data);
        for token_program in [anchor_spl::token::ID, spl_token_2022::ID] {
            let init = spl_token_2022::instruction::initialize_account3(&token_program, &a, &b, &c).unwrap();
            assert_eq!(init.data, [&[token_tag::INITIALIZE_ACCOUNT3][..], c.as_ref()].concat());
            let transfer =
                spl_token_2022::instruction::transfer_checked(&token_program, &a, &b, &c, &d, &[], 77, 6).unwrap();
            let mut data = vec![token_tag::TRANSFER_CHECKED];
            data.extend_from_slice(&77u64.to_le_bytes());
            data.push(6);
            assert_eq!(transfer.data, data);
            let metas = |ix: &Instruction| ix.accounts.iter().map(|m| (m.pubkey, m.is_writable, m.is_signer)).collect::<Vec<_>>();
            assert_eq!(metas(&transfer), [(a, true, false), (b, false, false), (c, true, false), (d, false, true)]);
            let close = spl_token_2022::instruction::close_account(&token_program, &a, &b, &c, &[]).unwrap();
            assert_eq!(close.data, [token_tag::CLOSE_ACCOUNT]);
            assert_eq!(metas(&close), [(a, true, false), (b, true, false), (c, false, true)]);
            assert_eq!(metas(&init), [(a, true, false), (b, false, false)]);
        }
        let metas = system.accounts.iter().map(|m| (m.pubkey, m.is_writable, m.is_signer)).collect::<Vec<_>>();
        assert_eq!(metas, [(a, true, true), (b, true, true)]);
    }
}
