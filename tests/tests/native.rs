//! Every scenario, natively in `solana-program-test` with the real System and SPL programs.

use agentrail_tests::native::Native;

agentrail_tests::scenario_tests!(Box::new(Native::start()));

/// Another program relying on Agentrail's anchors: `verify_receipt` called by CPI.
mod cpi {
    use agentrail::errors::AgentrailError;
    use agentrail::instructions::{AnchorCheckpointArgs, VerifiedReceipt, VerifyReceiptArgs};
    use agentrail_client::anchors::{self, utc_day};
    use agentrail_client::merkle::MerkleTree;
    use agentrail_client::pda;
    use agentrail_tests::env::{Env, T0, assert_code, test_key};
    use agentrail_tests::native::Native;
    use anchor_lang::error::ErrorCode;
    use anchor_lang::prelude::Pubkey;
    use anchor_lang::solana_program::program::{get_return_data, invoke};
    use anchor_lang::solana_program::program_error::ProgramError;
    use anchor_lang::solana_program::{account_info::AccountInfo, entrypoint::ProgramResult};
    use anchor_lang::{AnchorDeserialize, AnchorSerialize};
    use solana_program_test::processor;
    use solana_sdk::instruction::{AccountMeta, Instruction};
    use solana_sdk::signature::Keypair;
    use solana_sdk::signer::Signer;

    /// The one keeper the partner trusts (a deterministic test key, as a partner would hardcode
    /// or configure its keeper's address).
    fn trusted_keeper() -> Keypair {
        test_key(9_001)
    }

    /// What a claim carries: the receipt's leaf, index and proof (the trusted keeper is the
    /// partner's own choice, never the caller's).
    #[derive(AnchorSerialize, AnchorDeserialize)]
    struct Claim {
        leaf_hash: [u8; 32],
        index: u64,
        proof: Vec<[u8; 32]>,
    }

    /// A partner program (say, an insurer paying claims only for receipts its keeper anchored):
    /// it calls Agentrail's `verify_receipt` naming the keeper it trusts, then checks what came
    /// back in the return data.
    fn partner(_: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
        let claim = Claim::try_from_slice(data)?;
        let [log, checkpoint, agentrail_program] = accounts else {
            return Err(ProgramError::NotEnoughAccountKeys);
        };
        let trusted = trusted_keeper().pubkey();
        let args = VerifyReceiptArgs {
            trusted_authority: trusted,
            leaf_hash: claim.leaf_hash,
            index: claim.index,
            proof: claim.proof,
        };
        let mut ix = anchors::verify_receipt(0, args);
        ix.accounts[0].pubkey = *log.key;
        ix.accounts[1].pubkey = *checkpoint.key;
        invoke(&ix, &[log.clone(), checkpoint.clone(), agentrail_program.clone()])?;
        // A deployed partner would also read what was proved from the return data. The native
        // harness has no return data (solana-cpi's set_return_data is a no-op off-chain); the SBF
        // scenario `verify_receipt_names_whom_it_trusts` checks it on the real runtime.
        if let Some((from, data)) = get_return_data() {
            let proved = VerifiedReceipt::try_from_slice(&data)?;
            if from != agentrail::ID || proved.authority != trusted || proved.log != pda::receipt_log(&trusted) {
                return Err(ProgramError::InvalidAccountData);
            }
        }
        Ok(())
    }

    const PARTNER: Pubkey = Pubkey::new_from_array([7; 32]);

    /// A chain with the partner program loaded, and the trusted keeper funded.
    fn with_partner() -> (Env, Keypair) {
        let chain = Native::start_with(|pt| pt.add_program("partner", PARTNER, processor!(partner)));
        let mut env = Env::new(Box::new(chain));
        let keeper = trusted_keeper();
        let fund = solana_system_interface::instruction::transfer(&env.admin.pubkey(), &keeper.pubkey(), 1_000_000_000);
        env.send(&[fund], &[]).unwrap();
        (env, keeper)
    }

    fn claim(log: &Pubkey, checkpoint: &Pubkey, args: &VerifyReceiptArgs) -> Instruction {
        let claim = Claim { leaf_hash: args.leaf_hash, index: args.index, proof: args.proof.clone() };
        Instruction {
            program_id: PARTNER,
            accounts: vec![
                AccountMeta::new_readonly(*log, false),
                AccountMeta::new_readonly(*checkpoint, false),
                AccountMeta::new_readonly(agentrail::ID, false),
            ],
            data: {
                let mut data = Vec::new();
                claim.serialize(&mut data).expect("claim encode");
                data
            },
        }
    }

    /// Audit 1: an attacker's own log, with a root of its choosing, pays nothing out of a
    /// partner that trusts the honest keeper, however the accounts are arranged.
    #[test]
    fn partner_must_not_accept_an_attackers_own_log() {
        let (mut env, keeper) = with_partner();
        let attacker = env.funded();
        let day = utc_day(T0);
        for who in [&keeper, &attacker] {
            env.send(&[anchors::create_receipt_log(&who.pubkey(), true)], &[who]).unwrap();
        }
        let mut honest = MerkleTree::new();
        honest.append(b"a real receipt");
        let a = AnchorCheckpointArgs { day, size: 1, root: honest.root(), consistency_proof: None };
        env.send(&[anchors::anchor_checkpoint(&keeper.pubkey(), a)], &[&keeper]).unwrap();
        let mut tree = MerkleTree::new();
        tree.append(b"forged receipt: keeper K finished job J milestone 0");
        let a = AnchorCheckpointArgs { day, size: 1, root: tree.root(), consistency_proof: None };
        env.send(&[anchors::anchor_checkpoint(&attacker.pubkey(), a)], &[&attacker]).unwrap();
        let (good_log, bad_log) = (pda::receipt_log(&keeper.pubkey()), pda::receipt_log(&attacker.pubkey()));
        let bad_cp = pda::checkpoint(&bad_log, day);
        let args = VerifyReceiptArgs {
            trusted_authority: attacker.pubkey(),
            leaf_hash: tree.leaf(0).unwrap(),
            index: 0,
            proof: vec![],
        };
        assert_code(env.send(&[claim(&good_log, &bad_cp, &args)], &[]), AgentrailError::UntrustedLog);
        assert_code(env.send(&[claim(&bad_log, &bad_cp, &args)], &[]), ErrorCode::ConstraintSeeds);
        let good_cp = pda::checkpoint(&good_log, day);
        assert_code(env.send(&[claim(&good_log, &good_cp, &args)], &[]), AgentrailError::InclusionProofInvalid);
        let real = VerifyReceiptArgs { leaf_hash: honest.leaf(0).unwrap(), ..args };
        env.send(&[claim(&good_log, &good_cp, &real)], &[]).unwrap();
    }

    /// Valid receipts pass through the CPI; forged leaves, indices, proofs and checkpoints
    /// that Agentrail does not own fail the calling program's instruction.
    #[test]
    fn partner_program_verifies_receipts_by_cpi() {
        let (mut env, keeper) = with_partner();
        env.send(&[anchors::create_receipt_log(&keeper.pubkey(), true)], &[&keeper]).unwrap();
        let mut tree = MerkleTree::new();
        for i in 0u64..37 {
            tree.append(&i.to_le_bytes());
        }
        let day = utc_day(T0);
        let args = AnchorCheckpointArgs { day, size: 37, root: tree.root(), consistency_proof: None };
        env.send(&[anchors::anchor_checkpoint(&keeper.pubkey(), args)], &[&keeper]).unwrap();
        let log = pda::receipt_log(&keeper.pubkey());
        let checkpoint = pda::checkpoint(&log, day);

        let receipt = |index: u64| VerifyReceiptArgs {
            trusted_authority: keeper.pubkey(),
            leaf_hash: tree.leaf(index).unwrap(),
            index,
            proof: tree.inclusion_proof(index, 37).unwrap(),
        };
        for index in [0, 18, 36] {
            env.send(&[claim(&log, &checkpoint, &receipt(index))], &[]).unwrap();
        }
        let forged_leaf = VerifyReceiptArgs { leaf_hash: [1; 32], ..receipt(5) };
        assert_code(env.send(&[claim(&log, &checkpoint, &forged_leaf)], &[]), AgentrailError::InclusionProofInvalid);
        let wrong_index = VerifyReceiptArgs { index: 6, ..receipt(5) };
        assert_code(env.send(&[claim(&log, &checkpoint, &wrong_index)], &[]), AgentrailError::InclusionProofInvalid);
        let mut short = receipt(5);
        short.proof.pop();
        assert_code(env.send(&[claim(&log, &checkpoint, &short)], &[]), AgentrailError::InclusionProofInvalid);
        // a copy of the checkpoint owned by someone else is not a checkpoint
        let mut fake = env.chain.account(&checkpoint).expect("checkpoint");
        fake.owner = PARTNER;
        let fake_key = Pubkey::new_unique();
        env.chain.set_account(&fake_key, fake);
        assert_code(env.send(&[claim(&log, &fake_key, &receipt(5))], &[]), ErrorCode::AccountOwnedByWrongProgram);
    }
}
