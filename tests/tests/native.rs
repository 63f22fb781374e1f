//! Every scenario, natively in `solana-program-test` with the real System and SPL programs.

use agentrail_tests::native::Native;

agentrail_tests::scenario_tests!(Box::new(Native::start()));

/// Another program relying on Agentrail's anchors: `verify_receipt` called by CPI.
mod cpi {
    use agentrail::errors::AgentrailError;
    use agentrail::instructions::{AnchorCheckpointArgs, VerifyReceiptArgs};
    use agentrail_client::anchors::{self, utc_day};
    use agentrail_client::merkle::MerkleTree;
    use agentrail_client::pda;
    use agentrail_tests::env::{Env, T0, assert_code};
    use agentrail_tests::native::Native;
    use anchor_lang::error::ErrorCode;
    use anchor_lang::prelude::Pubkey;
    use anchor_lang::solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, program::invoke};
    use anchor_lang::{AnchorDeserialize, AnchorSerialize};
    use solana_program_test::processor;
    use solana_sdk::instruction::{AccountMeta, Instruction};
    use solana_sdk::signer::Signer;

    /// A partner program (say, an insurer paying claims only for anchored receipts): it takes
    /// `VerifyReceiptArgs` and succeeds only if Agentrail's `verify_receipt` does.
    fn partner(_: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
        let args = VerifyReceiptArgs::try_from_slice(data)?;
        let [checkpoint, agentrail_program] = accounts else {
            return Err(anchor_lang::solana_program::program_error::ProgramError::NotEnoughAccountKeys);
        };
        invoke(&anchors::verify_receipt(checkpoint.key, args), &[checkpoint.clone(), agentrail_program.clone()])
    }

    const PARTNER: Pubkey = Pubkey::new_from_array([7; 32]);

    fn claim(checkpoint: &Pubkey, args: &VerifyReceiptArgs) -> Instruction {
        Instruction {
            program_id: PARTNER,
            accounts: vec![
                AccountMeta::new_readonly(*checkpoint, false),
                AccountMeta::new_readonly(agentrail::ID, false),
            ],
            data: {
                let mut data = Vec::new();
                args.serialize(&mut data).expect("args encode");
                data
            },
        }
    }

    /// Valid receipts pass through the CPI; forged leaves, indices, proofs and checkpoints
    /// that Agentrail does not own fail the calling program's instruction.
    #[test]
    fn partner_program_verifies_receipts_by_cpi() {
        let chain = Native::start_with(|pt| pt.add_program("partner", PARTNER, processor!(partner)));
        let mut env = Env::new(Box::new(chain));
        let keeper = env.funded();
        env.send(&[anchors::create_receipt_log(&keeper.pubkey(), true)], &[&keeper]).unwrap();
        let mut tree = MerkleTree::new();
        for i in 0u64..37 {
            tree.append(&i.to_le_bytes());
        }
        let day = utc_day(T0);
        let args = AnchorCheckpointArgs { day, size: 37, root: tree.root(), consistency_proof: None };
        env.send(&[anchors::anchor_checkpoint(&keeper.pubkey(), args)], &[&keeper]).unwrap();
        let checkpoint = pda::checkpoint(&pda::receipt_log(&keeper.pubkey()), day);

        let receipt = |index: u64| VerifyReceiptArgs {
            leaf_hash: tree.leaf(index).unwrap(),
            index,
            proof: tree.inclusion_proof(index, 37).unwrap(),
        };
        for index in [0, 18, 36] {
            env.send(&[claim(&checkpoint, &receipt(index))], &[]).unwrap();
        }
        let forged_leaf = VerifyReceiptArgs { leaf_hash: [1; 32], ..receipt(5) };
        assert_code(env.send(&[claim(&checkpoint, &forged_leaf)], &[]), AgentrailError::InclusionProofInvalid);
        let wrong_index = VerifyReceiptArgs { index: 6, ..receipt(5) };
        assert_code(env.send(&[claim(&checkpoint, &wrong_index)], &[]), AgentrailError::InclusionProofInvalid);
        let mut short = receipt(5);
        short.proof.pop();
        assert_code(env.send(&[claim(&checkpoint, &short)], &[]), AgentrailError::InclusionProofInvalid);
        // a copy of the checkpoint owned by someone else is not a checkpoint
        let mut fake = env.chain.account(&checkpoint).expect("checkpoint");
        fake.owner = PARTNER;
        let fake_key = Pubkey::new_unique();
        env.chain.set_account(&fake_key, fake);
        assert_code(env.send(&[claim(&fake_key, &receipt(5))], &[]), ErrorCode::AccountOwnedByWrongProgram);
    }
}
