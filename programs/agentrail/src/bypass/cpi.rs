//! The program's cross-program calls: the system program's `create_account` and the token
//! program's `initialize_account3`, `transfer_checked` and `close_account`, the instructions
//! Anchor's and anchor-spl's wrappers build, made without those wrappers' detours.
//!
//! A wrapper builds an `Instruction` (`create_account`'s data through bincode), then
//! `invoke_signed` searches the accounts for each of its keys, and `invoke_signed_unchecked`
//! clones the whole instruction into the layout the runtime reads. Here the
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

/// A slice as the runtime reads one inside an instruction (`solana_stable_layout::StableVec`'s
/// layout: address, capacity, length), pointing at memory this program owns.
#[cfg(any(target_os = "solana", test))]
#[repr(C)]
struct RuntimeSlice {
    addr: u64,
    cap: u64,
    len: u64,
}

#[cfg(any(target_os = "solana", test))]
impl RuntimeSlice {
    fn of<T>(items: &[T]) -> Self {
        Self { addr: items.as_ptr() as u64, cap: items.len() as u64, len: items.len() as u64 }
    }
}

/// An instruction as `sol_invoke_signed_rust` reads it (`StableInstruction`'s layout), its
/// accounts and data on the caller's stack instead of in two `Vec`s.
#[cfg(any(target_os = "solana", test))]
#[repr(C)]
struct RuntimeInstruction {
    accounts: RuntimeSlice,
    data: RuntimeSlice,
    program_id: Pubkey,
}

/// Calls `program_id` with `data`; `accounts[i]` is the account of `metas[i]`. Signed by
/// `signers` (PDA seeds, bump included).
fn invoke(
    program_id: &Pubkey,
    metas: &[AccountMeta],
    data: &[u8],
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
        let instruction = RuntimeInstruction {
            accounts: RuntimeSlice::of(metas),
            data: RuntimeSlice::of(data),
            program_id: *program_id,
        };
        // SAFETY: the runtime reads the instruction, the account infos and the seeds in these
        // layouts (those `solana_cpi::invoke_signed_unchecked` passes; the instruction's is
        // checked against `StableInstruction` in the tests); no account is borrowed here
        let result = unsafe {
            solana_cpi::syscalls::sol_invoke_signed_rust(
                &instruction as *const RuntimeInstruction as *const u8,
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
        let instruction = anchor_lang::solana_program::instruction::Instruction {
            program_id: *program_id,
            accounts: metas.to_vec(),
            data: data.to_vec(),
        };
        // off chain (native tests) through the runtime stubs solana_program's call reaches
        anchor_lang::solana_program::program::invoke_signed(&instruction, accounts, signers).map_err(Into::into)
    }
}

/// Writes `parts` one after another into `N` bytes (an instruction's data).
fn concat<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    for part in parts {
        out[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    debug_assert_eq!(at, N);
    out
}

/// The instructions' data.
mod data {
    use super::*;

    /// bincode of `SystemInstruction::CreateAccount`: its tag as a u32, then the fields.
    pub fn create_account(lamports: u64, space: u64, owner: &Pubkey) -> [u8; 52] {
        concat(&[&0u32.to_le_bytes(), &lamports.to_le_bytes(), &space.to_le_bytes(), owner.as_ref()])
    }

    /// `InitializeAccount3 { owner }`.
    pub fn initialize_account3(owner: &Pubkey) -> [u8; 33] {
        concat(&[&[token_tag::INITIALIZE_ACCOUNT3], owner.as_ref()])
    }

    /// `TransferChecked { amount, decimals }`.
    pub fn transfer_checked(amount: u64, decimals: u8) -> [u8; 10] {
        concat(&[&[token_tag::TRANSFER_CHECKED], &amount.to_le_bytes(), &[decimals]])
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
    let data = data::create_account(lamports, space, owner);
    let metas = [AccountMeta::new(*payer.key, true), AccountMeta::new(*new.key, true)];
    invoke(&anchor_lang::system_program::ID, &metas, &data, &[payer.clone(), new.clone()], signers)
}

/// The token program's `initialize_account3`: `account` a token account of `mint` owned by
/// `authority`.
pub fn initialize_account3<'info>(
    token_program: &Pubkey,
    account: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    authority: &Pubkey,
) -> Result<()> {
    let data = data::initialize_account3(authority);
    let metas = [AccountMeta::new(*account.key, false), AccountMeta::new_readonly(*mint.key, false)];
    invoke(token_program, &metas, &data, &[account.clone(), mint.clone()], &[])
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
    let data = data::transfer_checked(amount, decimals);
    let metas = [
        AccountMeta::new(*from.key, false),
        AccountMeta::new_readonly(*mint.key, false),
        AccountMeta::new(*to.key, false),
        AccountMeta::new_readonly(*authority.key, true),
    ];
    invoke(token_program, &metas, &data, &[from.clone(), mint.clone(), to.clone(), authority.clone()], signers)
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
    let metas = [
        AccountMeta::new(*account.key, false),
        AccountMeta::new(*destination.key, false),
        AccountMeta::new_readonly(*authority.key, true),
    ];
    let accounts = [account.clone(), destination.clone(), authority.clone()];
    invoke(token_program, &metas, &[token_tag::CLOSE_ACCOUNT], &accounts, signers)
}

#[cfg(test)]
mod tests {
    use anchor_lang::solana_program::instruction::Instruction;
    use anchor_spl::token_2022::spl_token_2022;

    use super::*;

    /// The instruction the runtime is given has `StableInstruction`'s layout, field for field.
    #[test]
    fn runtime_instruction_is_a_stable_instruction() {
        use solana_stable_layout::stable_instruction::StableInstruction;
        let metas =
            vec![AccountMeta::new(Pubkey::new_unique(), true), AccountMeta::new_readonly(Pubkey::new_unique(), false)];
        let data = vec![1u8, 2, 3, 4, 5];
        let ours = RuntimeInstruction {
            accounts: RuntimeSlice::of(&metas),
            data: RuntimeSlice::of(&data),
            program_id: Pubkey::new_unique(),
        };
        assert_eq!(std::mem::size_of::<RuntimeInstruction>(), std::mem::size_of::<StableInstruction>());
        assert_eq!(std::mem::align_of::<RuntimeInstruction>(), std::mem::align_of::<StableInstruction>());
        let stable = std::mem::ManuallyDrop::new(StableInstruction {
            // SAFETY (both): the same memory as the Vecs, never dropped (ManuallyDrop)
            accounts: unsafe { Vec::from_raw_parts(metas.as_ptr() as *mut AccountMeta, 2, 2) }.into(),
            data: unsafe { Vec::from_raw_parts(data.as_ptr() as *mut u8, 5, 5) }.into(),
            program_id: ours.program_id,
        });
        let bytes = |p: *const u8| unsafe { std::slice::from_raw_parts(p, std::mem::size_of::<StableInstruction>()) };
        assert_eq!(bytes(&ours as *const _ as *const u8), bytes(&*stable as *const StableInstruction as *const u8));
    }

    /// What each call sends is the instruction the libraries' builders make.
    #[test]
    fn instructions_are_the_builders() {
        let (a, b, c, d) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        let system = anchor_lang::solana_program::system_instruction::create_account(&a, &b, 1_461_600, 165, &c);
        assert_eq!(system.data, data::create_account(1_461_600, 165, &c));
        let metas =
            |ix: &Instruction| ix.accounts.iter().map(|m| (m.pubkey, m.is_writable, m.is_signer)).collect::<Vec<_>>();
        assert_eq!(metas(&system), [(a, true, true), (b, true, true)]);
        for token_program in [anchor_spl::token::ID, spl_token_2022::ID] {
            let init = spl_token_2022::instruction::initialize_account3(&token_program, &a, &b, &c).unwrap();
            assert_eq!(init.data, data::initialize_account3(&c));
            assert_eq!(metas(&init), [(a, true, false), (b, false, false)]);
            for (amount, decimals) in [(77, 6), (u64::MAX, 0), (0, 9)] {
                let transfer = spl_token_2022::instruction::transfer_checked(
                    &token_program,
                    &a,
                    &b,
                    &c,
                    &d,
                    &[],
                    amount,
                    decimals,
                )
                .unwrap();
                assert_eq!(transfer.data, data::transfer_checked(amount, decimals));
                assert_eq!(metas(&transfer), [(a, true, false), (b, false, false), (c, true, false), (d, false, true)]);
            }
            let close = spl_token_2022::instruction::close_account(&token_program, &a, &b, &c, &[]).unwrap();
            assert_eq!(close.data, [token_tag::CLOSE_ACCOUNT]);
            assert_eq!(metas(&close), [(a, true, false), (b, true, false), (c, false, true)]);
        }
    }
}
