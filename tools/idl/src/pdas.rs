//! The derived addresses the IDL describes beyond what Anchor's constraints say.
//!
//! The program checks the addresses of its jobs, vaults, track records, certifications of a
//! job, receipt logs and checkpoints, and the associated token accounts of a job's parties, by
//! hash in its own constraints (see the program's `bypass` contract) rather than with Anchor's
//! `seeds` constraint, so Anchor's IDL build does not know them. This table gives each one its
//! seeds, as Anchor would have written them, so that Anchor's TypeScript client, Codama and any
//! IDL-driven client fill them in. `web/tests/anchor_resolution.test.mjs` builds every
//! instruction with Anchor's own client, leaving these out, and compares the keys with the
//! Rust client's.

use agentrail::state::seeds;
use anchor_lang_idl::types::{IdlPda, IdlSeed, IdlSeedAccount, IdlSeedArg, IdlSeedConst};

fn konst(bytes: &[u8]) -> IdlSeed {
    IdlSeed::Const(IdlSeedConst { value: bytes.to_vec() })
}

fn arg(path: &str) -> IdlSeed {
    IdlSeed::Arg(IdlSeedArg { path: path.into() })
}

/// An account's address (`path` an account name), or a field of its data (`name.field` of
/// account type `account`).
fn account(path: &str, account: Option<&str>) -> IdlSeed {
    IdlSeed::Account(IdlSeedAccount { path: path.into(), account: account.map(Into::into) })
}

fn pda(seeds: Vec<IdlSeed>) -> IdlPda {
    IdlPda { seeds, program: None }
}

/// The associated token account of the owner that `owner` names, for the instruction's mint.
fn associated_token_account(owner: IdlSeed) -> IdlPda {
    IdlPda {
        seeds: vec![owner, account("token_program", None), account("mint", None)],
        program: Some(konst(seeds::ASSOCIATED_TOKEN_PROGRAM.as_ref())),
    }
}

/// Whether the handler of `instruction` writes account `name` itself, where Anchor's accounts
/// struct declares it read-only (Anchor's write-back would undo the write): `close_job` turns
/// the job into a tombstone, and refuses a job not passed writable (`ConstraintMut`).
pub fn written_by_handler(instruction: &str, name: &str) -> bool {
    matches!((instruction, name), ("close_job", "job"))
}

/// The seeds of account `name` of instruction `instruction`, where the program derives it and
/// Anchor's IDL build did not say how.
pub fn pda_for(instruction: &str, name: &str) -> Option<IdlPda> {
    let job = Some("Job");
    Some(match (instruction, name) {
        ("create_job", "job") => pda(vec![konst(seeds::JOB), account("poster", None), arg("args.nonce")]),
        ("create_job", "track_record") => pda(vec![
            konst(seeds::TRACK_RECORD),
            account("agent", None),
            account("mint", None),
            arg("args.record_shard"),
        ]),
        ("create_job", "certification") => {
            pda(vec![konst(seeds::CERTIFICATION), account("agent", None), account("agent.version_seq", Some("Agent"))])
        }
        (_, "vault") => pda(vec![konst(seeds::VAULT), account("job", None)]),
        (_, "track_record") => pda(vec![
            konst(seeds::TRACK_RECORD),
            account("job.agent", job),
            account("job.mint", job),
            account("job.record_shard", job),
        ]),
        (_, "certification") => {
            pda(vec![konst(seeds::CERTIFICATION), account("job.agent", job), account("job.agent_version_seq", job)])
        }
        (_, "payee_token") => associated_token_account(account("agent.payout", Some("Agent"))),
        (_, "poster_token") => associated_token_account(account("job.poster", job)),
        ("anchor_checkpoint", "log") => pda(vec![konst(seeds::RECEIPT_LOG), account("authority", None)]),
        ("anchor_checkpoint", "checkpoint") => {
            pda(vec![konst(seeds::CHECKPOINT), account("log", None), arg("args.day")])
        }
        ("verify_receipt", "log") => pda(vec![konst(seeds::RECEIPT_LOG), arg("args.trusted_authority")]),
        _ => return None,
    })
}
