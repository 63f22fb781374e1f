//! The deployed program's entrypoint (feature `own-entrypoint`, on by default; compiled for
//! the SBF target only, and not under `cpi`).
//!
//! Anchor's entrypoint turns the runtime's input into `AccountInfo`s with overflow checks on
//! offsets the runtime wrote, then compares the instruction's discriminator with each
//! instruction's in turn. This one builds the same `AccountInfo`s without those checks and
//! hands them to Anchor's `entry`, except for the
//! two receipt instructions in their usual shape: `verify_receipt` with two distinct accounts,
//! served from the input in place
//! ([`serve_verify_receipt`](crate::instructions::verify_receipt::serve_verify_receipt)), and
//! `anchor_checkpoint` with four, served from the `AccountInfo`s
//! ([`serve_anchor_checkpoint`](crate::instructions::anchor_checkpoint::serve_anchor_checkpoint)).
//! Both repeat Anchor's handler step by step, with its errors; any other shape of them goes to
//! Anchor's dispatch, which refuses or serves it as before.

use anchor_lang::{
    Discriminator, Owner,
    error::{Error, ErrorCode},
    prelude::*,
    system_program,
};

/// An account as the runtime serialized it, read in place.
#[derive(Clone, Copy, Debug)]
pub struct RawAccount<'a> {
    /// Its address.
    pub key: &'a Pubkey,
    /// The program owning it.
    pub owner: &'a Pubkey,
    /// Its balance.
    pub lamports: u64,
    /// Its data.
    pub data: &'a [u8],
}

impl<'a> RawAccount<'a> {
    /// What Anchor's `Account::<T>::try_from` would load from this account, read by `decode`
    /// from the bytes after the discriminator: Anchor's checks in its order and with its
    /// errors (not initialized, owned by another program, no or another discriminator, bytes
    /// that do not decode: `decode` returns `None`), named `name` as an accounts struct names
    /// them.
    pub fn read<T: Discriminator + Owner, V>(
        &self,
        name: &str,
        decode: impl FnOnce(&'a [u8]) -> Option<V>,
    ) -> Result<V> {
        let read = if *self.owner == system_program::ID && self.lamports == 0 {
            Err(ErrorCode::AccountNotInitialized.into())
        } else if *self.owner != T::owner() {
            Err(Error::from(ErrorCode::AccountOwnedByWrongProgram).with_pubkeys((*self.owner, T::owner())))
        } else {
            match self.data.split_at_checked(T::DISCRIMINATOR.len()) {
                None => Err(ErrorCode::AccountDiscriminatorNotFound.into()),
                Some((discriminator, _)) if discriminator != T::DISCRIMINATOR => {
                    Err(error!(ErrorCode::AccountDiscriminatorMismatch))
                }
                Some((_, body)) => decode(body).ok_or_else(|| ErrorCode::AccountDidNotDeserialize.into()),
            }
        };
        read.map_err(|e| e.with_account_name(name))
    }
}

#[cfg(all(target_os = "solana", feature = "own-entrypoint", not(feature = "cpi")))]
mod on_chain {
    use anchor_lang::{
        Discriminator,
        prelude::*,
        solana_program::{
            account_info::MAX_PERMITTED_DATA_INCREASE,
            entrypoint::{self, BPF_ALIGN_OF_U128, NON_DUP_MARKER, SUCCESS},
        },
    };

    use super::RawAccount;

    /// The runtime calls this with the serialized accounts and instruction.
    ///
    /// # Safety
    /// `input` is the loader's serialized input region.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
        // SAFETY (both): the loader's input region, as it serialized it
        if let Some(served) = unsafe { receipt_check(input) } {
            return report(served);
        }
        let (program_id, accounts, data) = unsafe { deserialize(input) };
        if accounts.len() == 4 {
            if let Some(args) = data.strip_prefix(crate::instruction::AnchorCheckpoint::DISCRIMINATOR) {
                return report(crate::instructions::anchor_checkpoint::serve_anchor_checkpoint(
                    program_id, &accounts, args,
                ));
            }
        }
        match crate::entry(program_id, &accounts, data) {
            Ok(()) => SUCCESS,
            Err(error) => error.into(),
        }
    }

    /// An instruction's outcome as the runtime takes it, an error logged as Anchor's `entry`
    /// logs it.
    fn report(result: Result<()>) -> u64 {
        match result {
            Ok(()) => SUCCESS,
            Err(error) => {
                error.log();
                ProgramError::from(error).into()
            }
        }
    }

    /// Offsets in one serialized account, from its duplicate marker.
    mod at {
        pub const IS_SIGNER: usize = 1;
        pub const IS_WRITABLE: usize = 2;
        pub const EXECUTABLE: usize = 3;
        /// Four bytes of padding where the entrypoint leaves the data length the instruction
        /// started with, for `AccountInfo::resize`.
        pub const ORIGINAL_DATA_LEN: usize = 4;
        pub const KEY: usize = 8;
        pub const OWNER: usize = 40;
        pub const LAMPORTS: usize = 72;
        pub const DATA_LEN: usize = 80;
        pub const DATA: usize = 88;
    }

    /// Where the account serialized at `account` (not a duplicate) ends: its data, the room it
    /// may grow into, padding to 8 bytes, its rent epoch.
    ///
    /// # Safety
    /// `account` starts a non-duplicate account of the loader's input region.
    unsafe fn after_account(account: *mut u8) -> *mut u8 {
        unsafe {
            let data_len = *(account.add(at::DATA_LEN) as *const u64) as usize;
            let end = account.add(at::DATA + data_len + MAX_PERMITTED_DATA_INCREASE + 8);
            end.add(end.align_offset(BPF_ALIGN_OF_U128))
        }
    }

    /// The account serialized at `account` (not a duplicate), read in place.
    ///
    /// # Safety
    /// As [`after_account`].
    unsafe fn raw_account<'a>(account: *mut u8) -> RawAccount<'a> {
        unsafe {
            let data_len = *(account.add(at::DATA_LEN) as *const u64) as usize;
            RawAccount {
                key: &*(account.add(at::KEY) as *const Pubkey),
                owner: &*(account.add(at::OWNER) as *const Pubkey),
                lamports: *(account.add(at::LAMPORTS) as *const u64),
                data: std::slice::from_raw_parts(account.add(at::DATA), data_len),
            }
        }
    }

    /// Serves `verify_receipt` when the input has the shape its accounts struct expects (two
    /// accounts, distinct); `None` for anything else, which Anchor's dispatch then serves
    /// (another instruction, or this one with other accounts, refused or not as Anchor decides).
    ///
    /// # Safety
    /// `input` is the loader's serialized input region.
    unsafe fn receipt_check(input: *mut u8) -> Option<Result<()>> {
        unsafe {
            if *(input as *const u64) != 2 {
                return None;
            }
            let log = input.add(8);
            if *log != NON_DUP_MARKER {
                return None;
            }
            let checkpoint = after_account(log);
            if *checkpoint != NON_DUP_MARKER {
                return None;
            }
            let instruction = after_account(checkpoint);
            let data_len = *(instruction as *const u64) as usize;
            let data = std::slice::from_raw_parts(instruction.add(8), data_len);
            let args = data.strip_prefix(crate::instruction::VerifyReceipt::DISCRIMINATOR)?;
            let program_id = &*(instruction.add(8 + data_len) as *const Pubkey);
            Some(crate::instructions::verify_receipt::serve_verify_receipt(
                program_id,
                &raw_account(log),
                &raw_account(checkpoint),
                args,
            ))
        }
    }

    /// What `solana_program_entrypoint::deserialize` returns, built without its overflow checks
    /// on offsets the runtime wrote and with the `Vec` allocated once.
    ///
    /// # Safety
    /// `input` is the loader's serialized input region.
    unsafe fn deserialize<'a>(input: *mut u8) -> (&'a Pubkey, Vec<AccountInfo<'a>>, &'a [u8]) {
        unsafe {
            let count = *(input as *const u64) as usize;
            let mut accounts: Vec<AccountInfo<'a>> = Vec::with_capacity(count);
            let mut cursor = input.add(8);
            for _ in 0..count {
                let marker = *cursor;
                if marker == NON_DUP_MARKER {
                    let data_len = *(cursor.add(at::DATA_LEN) as *const u64) as usize;
                    *(cursor.add(at::ORIGINAL_DATA_LEN) as *mut u32) = data_len as u32;
                    accounts.push(AccountInfo::new(
                        &*(cursor.add(at::KEY) as *const Pubkey),
                        *cursor.add(at::IS_SIGNER) != 0,
                        *cursor.add(at::IS_WRITABLE) != 0,
                        &mut *(cursor.add(at::LAMPORTS) as *mut u64),
                        std::slice::from_raw_parts_mut(cursor.add(at::DATA), data_len),
                        &*(cursor.add(at::OWNER) as *const Pubkey),
                        *cursor.add(at::EXECUTABLE) != 0,
                    ));
                    cursor = after_account(cursor);
                } else {
                    // a repeated account: its marker is the index of its first place
                    accounts.push(accounts[marker as usize].clone());
                    cursor = cursor.add(8);
                }
            }
            let data_len = *(cursor as *const u64) as usize;
            let data = std::slice::from_raw_parts(cursor.add(8), data_len);
            let program_id = &*(cursor.add(8 + data_len) as *const Pubkey);
            (program_id, accounts, data)
        }
    }

    entrypoint::custom_heap_default!();
    entrypoint::custom_panic_default!();

    // Who to tell about a vulnerability, readable from the deployed binary (`query-security-txt`).
    solana_security_txt::security_txt! {
        name: "Agentrail",
        project_url: "https://github.com/agentrail/agentrail",
        contacts: "email:security@agentrail.dev",
        policy: "https://github.com/agentrail/agentrail/blob/main/SECURITY.md",
        source_code: "https://github.com/agentrail/agentrail",
        auditors: "Independent review of 32e484d (program-audit.md); findings closed in this release"
    }
}
