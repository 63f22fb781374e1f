//! Instruction builders for receipt logs and their daily checkpoints.

use agentrail::instructions::{AnchorCheckpointArgs, VerifyReceiptArgs};
use agentrail::{accounts, instruction};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::system_program;

use crate::instructions::build;
use crate::pda;

/// The UTC day number of a unix timestamp, as the program computes it.
pub fn utc_day(unix_timestamp: i64) -> u32 {
    unix_timestamp.div_euclid(agentrail::state::SECONDS_PER_DAY) as u32
}

/// `create_receipt_log`, signed by the keeper operator.
pub fn create_receipt_log(authority: &Pubkey, require_consistency: bool) -> Instruction {
    build(
        accounts::CreateReceiptLog {
            authority: *authority,
            log: pda::receipt_log(authority),
            system_program: system_program::ID,
        },
        instruction::CreateReceiptLog { require_consistency },
    )
}

/// `anchor_checkpoint`, signed by the log's authority.
pub fn anchor_checkpoint(authority: &Pubkey, args: AnchorCheckpointArgs) -> Instruction {
    let log = pda::receipt_log(authority);
    build(
        accounts::AnchorCheckpoint {
            authority: *authority,
            log,
            checkpoint: pda::checkpoint(&log, args.day),
            system_program: system_program::ID,
        },
        instruction::AnchorCheckpoint { args },
    )
}

/// `verify_receipt` against the checkpoint of `day` in the log of `args.trusted_authority`.
pub fn verify_receipt(day: u32, args: VerifyReceiptArgs) -> Instruction {
    let log = pda::receipt_log(&args.trusted_authority);
    build(accounts::VerifyReceipt { log, checkpoint: pda::checkpoint(&log, day) }, instruction::VerifyReceipt { args })
}
