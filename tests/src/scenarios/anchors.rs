//! Receipt logs: daily checkpoints (once a day, never shrinking, optionally proven consistent
//! on-chain) and receipt verification against them.

use agentrail::errors::AgentrailError;
use agentrail::instructions::{AnchorCheckpointArgs, VerifiedReceipt, VerifyReceiptArgs};
use agentrail::state::{Checkpoint, ReceiptLog};
use agentrail_client::anchors::{self, utc_day};
use agentrail_client::merkle::MerkleTree;
use agentrail_client::pda;
use anchor_lang::AnchorDeserialize;
use anchor_lang::error::ErrorCode;
use solana_sdk::instruction::AccountMeta;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

use crate::Chain;
use crate::env::*;

fn grown(tree: &mut MerkleTree, n: u64) {
    for _ in 0..n {
        let i = tree.size();
        tree.append(&i.to_le_bytes());
    }
}

fn args(tree: &MerkleTree, day: u32, size: u64, proof_from: Option<u64>) -> AnchorCheckpointArgs {
    AnchorCheckpointArgs {
        day,
        size,
        root: tree.root_at(size).unwrap(),
        consistency_proof: proof_from.map(|old| tree.consistency_proof(old, size).unwrap()),
    }
}

fn anchor(env: &mut Env, keeper: &Keypair, a: AnchorCheckpointArgs) -> Result<crate::Sent, crate::Failure> {
    env.send(&[anchors::anchor_checkpoint(&keeper.pubkey(), a)], &[keeper])
}

/// Daily anchors chain up with on-chain consistency proofs; receipts verify against them.
pub fn anchors_chain_and_verify(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let keeper = env.funded();
    env.send(&[anchors::create_receipt_log(&keeper.pubkey(), true)], &[&keeper]).unwrap();
    let log = pda::receipt_log(&keeper.pubkey());
    let day0 = utc_day(T0);
    let mut tree = MerkleTree::new();
    grown(&mut tree, 5);
    anchor(&mut env, &keeper, args(&tree, day0, 5, None)).unwrap();
    grown(&mut tree, 1_000);
    env.chain.set_time(T0 + DAY);
    anchor(&mut env, &keeper, args(&tree, day0 + 1, 1_005, Some(5))).unwrap();
    let cp: Checkpoint = env.fetch(&pda::checkpoint(&log, day0 + 1));
    assert_eq!((cp.log, cp.day, cp.size, cp.root), (log, day0 + 1, 1_005, tree.root()));
    assert_eq!(
        (cp.previous_day, cp.previous_size, cp.consistency_verified, cp.anchored_at),
        (Some(day0), 5, true, T0 + DAY)
    );
    let l: ReceiptLog = env.fetch(&log);
    assert_eq!((l.size, l.root, l.latest_day, l.checkpoints), (1_005, tree.root(), Some(day0 + 1), 2));

    let trusted_authority = keeper.pubkey();
    for index in [0u64, 4, 517, 1_004] {
        let proof = tree.inclusion_proof(index, 1_005).unwrap();
        let leaf_hash = tree.leaf(index).unwrap();
        let args = VerifyReceiptArgs { trusted_authority, leaf_hash, index, proof };
        env.send(&[anchors::verify_receipt(day0 + 1, args)], &[]).unwrap();
    }
    // a receipt anchored on day 0 also verifies against day 0's checkpoint
    let proof = tree.inclusion_proof(3, 5).unwrap();
    let ix = anchors::verify_receipt(
        day0,
        VerifyReceiptArgs { trusted_authority, leaf_hash: tree.leaf(3).unwrap(), index: 3, proof },
    );
    env.send(&[ix], &[]).unwrap();
}

/// Wrong authority, same day twice, days out of order or in the future, shrinking size,
/// changed root, missing or forged consistency proofs.
pub fn anchors_guards(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (keeper, stranger) = (env.funded(), env.funded());
    env.send(&[anchors::create_receipt_log(&keeper.pubkey(), true)], &[&keeper]).unwrap();
    assert_fails(env.send(&[anchors::create_receipt_log(&keeper.pubkey(), false)], &[&keeper]));
    let log = pda::receipt_log(&keeper.pubkey());
    let day0 = utc_day(T0);
    let mut tree = MerkleTree::new();
    grown(&mut tree, 20);

    let mut forged = anchors::anchor_checkpoint(&stranger.pubkey(), args(&tree, day0, 10, None));
    forged.accounts[1].pubkey = log;
    forged.accounts[2].pubkey = pda::checkpoint(&log, day0);
    assert_code(env.send(&[forged], &[&stranger]), ErrorCode::ConstraintSeeds);
    assert_code(anchor(&mut env, &keeper, args(&tree, day0 + 1, 10, None)), AgentrailError::InvalidCheckpointDay);
    anchor(&mut env, &keeper, args(&tree, day0, 10, None)).unwrap();
    assert_fails(anchor(&mut env, &keeper, args(&tree, day0, 12, Some(10))));

    env.chain.set_time(T0 + 3 * DAY);
    assert_code(anchor(&mut env, &keeper, args(&tree, day0 + 1, 12, None)), AgentrailError::ConsistencyProofRequired);
    assert_code(anchor(&mut env, &keeper, args(&tree, day0 + 1, 9, Some(9))), AgentrailError::LogShrank);
    let mut changed = args(&tree, day0 + 1, 10, Some(10));
    changed.root = [9; 32];
    assert_code(anchor(&mut env, &keeper, changed), AgentrailError::RootChanged);
    let mut bad_proof = args(&tree, day0 + 1, 20, Some(10));
    bad_proof.consistency_proof.as_mut().unwrap()[0][0] ^= 1;
    assert_code(anchor(&mut env, &keeper, bad_proof), AgentrailError::ConsistencyProofInvalid);
    // a proof that the old tree is in a *different* new tree fails too
    let mut other = tree.clone();
    grown(&mut other, 1);
    let mut wrong_root = args(&tree, day0 + 1, 20, Some(10));
    wrong_root.root = other.root();
    assert_code(anchor(&mut env, &keeper, wrong_root), AgentrailError::ConsistencyProofInvalid);
    // catching up: day 1 and day 2 may still be anchored in order after downtime
    anchor(&mut env, &keeper, args(&tree, day0 + 2, 15, Some(10))).unwrap();
    assert_code(anchor(&mut env, &keeper, args(&tree, day0 + 1, 15, Some(15))), AgentrailError::InvalidCheckpointDay);
    anchor(&mut env, &keeper, args(&tree, day0 + 3, 20, Some(15))).unwrap();
    assert_code(anchor(&mut env, &keeper, args(&tree, day0 + 4, 20, Some(20))), AgentrailError::InvalidCheckpointDay);
    assert_eq!(env.fetch::<ReceiptLog>(&log).checkpoints, 3);
}

/// Logs created without the consistency requirement may anchor without a proof, and equal
/// sizes must keep their root.
pub fn anchors_without_required_consistency(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let keeper = env.funded();
    env.send(&[anchors::create_receipt_log(&keeper.pubkey(), false)], &[&keeper]).unwrap();
    let day0 = utc_day(T0);
    let mut tree = MerkleTree::new();
    grown(&mut tree, 3);
    anchor(&mut env, &keeper, args(&tree, day0, 3, Some(0))).unwrap();
    env.chain.set_time(T0 + DAY);
    anchor(&mut env, &keeper, args(&tree, day0 + 1, 3, None)).unwrap();
    let cp: Checkpoint = env.fetch(&pda::checkpoint(&pda::receipt_log(&keeper.pubkey()), day0 + 1));
    assert_eq!((cp.size, cp.consistency_verified), (3, false));
}

/// Forged, truncated, over-long and misplaced inclusion proofs are refused.
pub fn verify_receipt_rejects_forgeries(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let keeper = env.funded();
    env.send(&[anchors::create_receipt_log(&keeper.pubkey(), false)], &[&keeper]).unwrap();
    let mut tree = MerkleTree::new();
    grown(&mut tree, 300);
    anchor(&mut env, &keeper, args(&tree, utc_day(T0), 300, None)).unwrap();
    let good = VerifyReceiptArgs {
        trusted_authority: keeper.pubkey(),
        leaf_hash: tree.leaf(42).unwrap(),
        index: 42,
        proof: tree.inclusion_proof(42, 300).unwrap(),
    };
    let day = utc_day(T0);
    let mut send = |a: VerifyReceiptArgs| env.send(&[anchors::verify_receipt(day, a)], &[]);
    send(good.clone()).unwrap();
    let mut flipped = good.clone();
    flipped.proof[3][7] ^= 0x10;
    assert_code(send(flipped), AgentrailError::InclusionProofInvalid);
    let mut short = good.clone();
    short.proof.pop();
    assert_code(send(short), AgentrailError::InclusionProofInvalid);
    let mut long = good.clone();
    long.proof.push([0; 32]);
    assert_code(send(long), AgentrailError::InclusionProofInvalid);
    assert_code(send(VerifyReceiptArgs { index: 43, ..good.clone() }), AgentrailError::InclusionProofInvalid);
    assert_code(send(VerifyReceiptArgs { index: 300, ..good.clone() }), AgentrailError::InclusionProofInvalid);
    assert_code(send(VerifyReceiptArgs { leaf_hash: [1; 32], ..good }), AgentrailError::InclusionProofInvalid);
}

/// Audit 1: `verify_receipt` names whom it trusts. An attacker's own log with a root of its
/// choosing proves nothing to a caller trusting the honest keeper; a checkpoint of another log
/// is refused; the instruction returns what it proved.
pub fn verify_receipt_names_whom_it_trusts(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (keeper, attacker) = (env.funded(), env.funded());
    for who in [&keeper, &attacker] {
        env.send(&[anchors::create_receipt_log(&who.pubkey(), true)], &[who]).unwrap();
    }
    let day = utc_day(T0);
    let mut honest = MerkleTree::new();
    grown(&mut honest, 5);
    anchor(&mut env, &keeper, args(&honest, day, 5, None)).unwrap();
    let mut forged = MerkleTree::new();
    forged.append(b"forged receipt: keeper K finished job J milestone 0");
    anchor(&mut env, &attacker, args(&forged, day, 1, None)).unwrap();
    let forged_leaf = VerifyReceiptArgs {
        trusted_authority: keeper.pubkey(),
        leaf_hash: forged.leaf(0).unwrap(),
        index: 0,
        proof: vec![],
    };
    // the attacker's checkpoint passed under the honest keeper's name
    let attacker_cp = pda::checkpoint(&pda::receipt_log(&attacker.pubkey()), day);
    let mut ix = anchors::verify_receipt(day, forged_leaf.clone());
    ix.accounts[1].pubkey = attacker_cp;
    assert_code(env.send(&[ix], &[]), AgentrailError::UntrustedLog);
    // the attacker's log named as the keeper's
    let mut ix = anchors::verify_receipt(day, forged_leaf.clone());
    ix.accounts[0].pubkey = pda::receipt_log(&attacker.pubkey());
    ix.accounts[1].pubkey = attacker_cp;
    assert_code(env.send(&[ix], &[]), ErrorCode::ConstraintSeeds);
    // against the keeper's own checkpoint the forged leaf is not included
    assert_code(
        env.send(&[anchors::verify_receipt(day, forged_leaf.clone())], &[]),
        AgentrailError::InclusionProofInvalid,
    );
    // whoever trusts the attacker gets exactly that, and is told so
    let trusting_attacker = VerifyReceiptArgs { trusted_authority: attacker.pubkey(), ..forged_leaf };
    env.send(&[anchors::verify_receipt(day, trusting_attacker)], &[]).unwrap();
    let good = VerifyReceiptArgs {
        trusted_authority: keeper.pubkey(),
        leaf_hash: honest.leaf(3).unwrap(),
        index: 3,
        proof: honest.inclusion_proof(3, 5).unwrap(),
    };
    let sent = env.send(&[anchors::verify_receipt(day, good)], &[]).unwrap();
    if let Some(data) = sent.return_data {
        let proved = VerifiedReceipt::deserialize(&mut data.as_slice()).expect("return data");
        let log = pda::receipt_log(&keeper.pubkey());
        let expected = VerifiedReceipt {
            log,
            authority: keeper.pubkey(),
            day,
            size: 5,
            root: honest.root(),
            consistency_verified: false,
        };
        assert_eq!(proved, expected);
    }
}

/// Asserts Anchor's error `code`, and where the runtime's logs are in the failure (litesvm),
/// that Anchor's report names `account`.
#[track_caller]
fn assert_code_naming(result: Result<crate::Sent, crate::Failure>, code: impl Into<u32>, account: &str) {
    let code = code.into();
    let failure = result.expect_err("expected the check to be refused");
    assert_eq!(failure.code, Some(code), "expected error {code}, got {}", failure.message);
    if failure.message.contains("Program log:") {
        let named = format!("AnchorError caused by account: {account}. Error Code:");
        assert!(failure.message.contains(&named), "not named {account}: {}", failure.message);
    }
}

/// On the SBF program `verify_receipt` in its usual shape (two distinct accounts) is served by
/// the program's own entrypoint, in any other shape by Anchor's; natively always by Anchor's.
/// Each wrong account, argument and shape gets Anchor's error, naming the same account, on
/// both, and a good check passes in every shape Anchor accepts.
pub fn verify_receipt_refuses_as_anchor_does(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let keeper = env.funded();
    env.send(&[anchors::create_receipt_log(&keeper.pubkey(), false)], &[&keeper]).unwrap();
    let mut tree = MerkleTree::new();
    grown(&mut tree, 40);
    let day = utc_day(T0);
    anchor(&mut env, &keeper, args(&tree, day, 40, None)).unwrap();
    let good = VerifyReceiptArgs {
        trusted_authority: keeper.pubkey(),
        leaf_hash: tree.leaf(17).unwrap(),
        index: 17,
        proof: tree.inclusion_proof(17, 40).unwrap(),
    };
    let log = pda::receipt_log(&keeper.pubkey());
    let checkpoint = pda::checkpoint(&log, day);
    let (wallet, nobody) = (env.funded().pubkey(), Pubkey::new_unique());
    let with_accounts = |log_at: Pubkey, checkpoint_at: Pubkey| {
        let mut ix = anchors::verify_receipt(day, good.clone());
        ix.accounts[0].pubkey = log_at;
        ix.accounts[1].pubkey = checkpoint_at;
        ix
    };
    env.send(&[with_accounts(log, checkpoint)], &[]).unwrap();
    // each account: another account type, a wallet, an address with nothing in it (the log
    // passed twice is a duplicate: Anchor's dispatch serves that shape)
    let refused = [
        (checkpoint, checkpoint, ErrorCode::AccountDiscriminatorMismatch, "log"),
        (wallet, checkpoint, ErrorCode::AccountOwnedByWrongProgram, "log"),
        (nobody, checkpoint, ErrorCode::AccountNotInitialized, "log"),
        (log, log, ErrorCode::AccountDiscriminatorMismatch, "checkpoint"),
        (log, wallet, ErrorCode::AccountOwnedByWrongProgram, "checkpoint"),
        (log, nobody, ErrorCode::AccountNotInitialized, "checkpoint"),
        (log, pda::config(), ErrorCode::AccountDiscriminatorMismatch, "checkpoint"),
    ];
    for (log_at, checkpoint_at, code, named) in refused {
        assert_code_naming(env.send(&[with_accounts(log_at, checkpoint_at)], &[]), code, named);
    }
    // arguments cut short, and a proof longer than any tree
    let mut cut = anchors::verify_receipt(day, good.clone());
    cut.data.truncate(cut.data.len() - 1);
    assert_code(env.send(&[cut], &[]), ErrorCode::InstructionDidNotDeserialize);
    let mut too_long = good.clone();
    too_long.proof = vec![[0; 32]; 65];
    assert_code(env.send(&[anchors::verify_receipt(day, too_long)], &[]), AgentrailError::ProofTooLong);
    // arguments followed by more bytes: ignored, as Anchor ignores them
    let mut trailing = anchors::verify_receipt(day, good.clone());
    trailing.data.extend_from_slice(&[9; 5]);
    env.send(&[trailing], &[]).unwrap();
    // other shapes: one account, an extra account, the same account twice
    let mut one = anchors::verify_receipt(day, good.clone());
    one.accounts.pop();
    assert_code(env.send(&[one], &[]), ErrorCode::AccountNotEnoughKeys);
    let mut extra = anchors::verify_receipt(day, good.clone());
    extra.accounts.push(AccountMeta::new_readonly(wallet, false));
    let sent = env.send(&[extra], &[]).unwrap();
    if let Some(data) = sent.return_data {
        let proved = VerifiedReceipt::deserialize(&mut data.as_slice()).expect("return data");
        assert_eq!((proved.log, proved.size, proved.root), (log, 40, tree.root()));
    }
}

/// On the SBF program `anchor_checkpoint` with its four accounts is served by the program's own
/// entrypoint, with other account lists by Anchor's; natively always by Anchor's. Each wrong
/// account, flag and argument gets Anchor's error, naming the same account, on both; a
/// checkpoint anchored either way is the same record.
pub fn anchor_checkpoint_refuses_as_anchor_does(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (keeper, stranger) = (env.funded(), env.funded());
    env.send(&[anchors::create_receipt_log(&keeper.pubkey(), false)], &[&keeper]).unwrap();
    let log = pda::receipt_log(&keeper.pubkey());
    let mut tree = MerkleTree::new();
    grown(&mut tree, 30);
    let day = utc_day(T0) - 1;
    anchor(&mut env, &keeper, args(&tree, day - 1, 10, None)).unwrap();
    let good = args(&tree, day, 30, Some(10));
    let ix = || anchors::anchor_checkpoint(&keeper.pubkey(), good.clone());
    let (wallet, nobody) = (env.funded().pubkey(), Pubkey::new_unique());
    let older = pda::checkpoint(&log, day - 1);
    // how the instruction is spoiled, the error, the account it names
    type Spoil = Box<dyn Fn(&mut solana_sdk::instruction::Instruction)>;
    let refused: Vec<(Spoil, u32, &str)> = vec![
        (Box::new(|i| i.accounts[0].is_signer = false), ErrorCode::AccountNotSigner.into(), "authority"),
        (Box::new(move |i| i.accounts[1].pubkey = wallet), ErrorCode::AccountOwnedByWrongProgram.into(), "log"),
        (Box::new(move |i| i.accounts[1].pubkey = nobody), ErrorCode::AccountNotInitialized.into(), "log"),
        (Box::new(move |i| i.accounts[1].pubkey = older), ErrorCode::AccountDiscriminatorMismatch.into(), "log"),
        (
            Box::new(|i| i.accounts[3].pubkey = anchor_spl::token::ID),
            ErrorCode::InvalidProgramId.into(),
            "system_program",
        ),
        (Box::new(|i| i.accounts[0].is_writable = false), ErrorCode::ConstraintMut.into(), "authority"),
        (Box::new(|i| i.accounts[1].is_writable = false), ErrorCode::ConstraintMut.into(), "log"),
        (Box::new(|i| i.accounts[2].is_writable = false), ErrorCode::ConstraintMut.into(), "checkpoint"),
        (
            Box::new(move |i| i.accounts[2].pubkey = pda::checkpoint(&log, day + 1)),
            ErrorCode::ConstraintSeeds.into(),
            "checkpoint",
        ),
    ];
    for (change, code, named) in refused {
        let mut bad = ix();
        change(&mut bad);
        let signers: &[&Keypair] = if bad.accounts[0].is_signer { &[&keeper] } else { &[] };
        assert_code_naming(env.send(&[bad], signers), code, named);
    }
    // the stranger's own log is not the keeper's
    let mut forged = anchors::anchor_checkpoint(&stranger.pubkey(), good.clone());
    forged.accounts[1].pubkey = log;
    assert_code_naming(env.send(&[forged], &[&stranger]), ErrorCode::ConstraintSeeds, "log");
    // arguments cut short or with an option tag Borsh refuses; a proof longer than any tree
    let mut cut = ix();
    cut.data.truncate(8 + 4 + 8 + 32);
    assert_code(env.send(&[cut], &[&keeper]), ErrorCode::InstructionDidNotDeserialize);
    let mut bad_tag = ix();
    bad_tag.data[8 + 4 + 8 + 32] = 2;
    assert_code(env.send(&[bad_tag], &[&keeper]), ErrorCode::InstructionDidNotDeserialize);
    let mut too_long = good.clone();
    too_long.consistency_proof = Some(vec![[0; 32]; 65]);
    assert_code(
        env.send(&[anchors::anchor_checkpoint(&keeper.pubkey(), too_long)], &[&keeper]),
        AgentrailError::ProofTooLong,
    );
    // with a fifth account Anchor's dispatch serves it; the record is what the handler writes
    let mut extra = ix();
    extra.accounts.push(AccountMeta::new_readonly(wallet, false));
    env.send(&[extra], &[&keeper]).unwrap();
    let cp = env.fetch::<Checkpoint>(&pda::checkpoint(&log, day));
    assert_eq!((cp.log, cp.day, cp.size, cp.root), (log, day, 30, tree.root_at(30).unwrap()));
    assert_eq!((cp.previous_day, cp.previous_size, cp.consistency_verified), (Some(day - 1), 10, true));
    let written = env.fetch::<ReceiptLog>(&log);
    assert_eq!((written.size, written.latest_day, written.checkpoints), (30, Some(day), 2));
    assert_eq!(written.root, tree.root_at(30).unwrap());
    // and the next day through the four-account shape: the same kind of record
    env.chain.set_time(T0 + DAY);
    anchor(&mut env, &keeper, args(&tree, day + 1, 30, Some(30))).unwrap();
    let next = env.fetch::<Checkpoint>(&pda::checkpoint(&log, day + 1));
    assert_eq!(
        (next.previous_day, next.previous_size, next.size, next.consistency_verified),
        (Some(day), 30, 30, true)
    );
    let written = env.fetch::<ReceiptLog>(&log);
    assert_eq!((written.size, written.latest_day, written.checkpoints), (30, Some(day + 1), 3));
}
