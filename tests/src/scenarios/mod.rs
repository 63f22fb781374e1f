//! Scenarios: each is a `fn(Box<dyn Chain>)` that runs unchanged on every runtime.

pub mod anchors;
pub mod certification;
pub mod config;
pub mod consent;
pub mod conservation;
pub mod disputes;
pub mod escrow;
pub mod fees;
pub mod registry;

/// Expands to one `#[test]` per scenario, each started with `$start` (a `Box<dyn Chain>`).
#[macro_export]
macro_rules! scenario_tests {
    ($start:expr) => {
        $crate::scenario_tests!(@each $start;
            config::init_config_guards,
            config::init_config_rejects_foreign_program_data,
            config::update_config_and_pause,
            config::admin_transfer_is_two_step,
            config::certifier_set_is_admin_controlled,
            registry::register_agent_happy_and_guards,
            registry::publish_version_rules,
            registry::agent_status_lifecycle,
            registry::payout_change_needs_both_signatures,
            registry::signing_key_needs_proof_of_control,
            registry::authority_transfer,
            registry::metadata_update,
            certification::stages_advance_in_order,
            certification::only_certifiers_attest_or_revoke,
            certification::expiry_is_enforced,
            certification::revocation_records_who_and_why,
            certification::new_version_does_not_inherit,
            escrow::escrow_happy_path,
            escrow::escrow_token_2022,
            escrow::escrow_refuses_dangerous_mints,
            escrow::escrow_create_guards,
            escrow::escrow_fund_guards,
            escrow::escrow_wrong_signers,
            escrow::escrow_wrong_accounts,
            escrow::escrow_no_double_spend,
            escrow::escrow_refund_after_deadline,
            escrow::escrow_frozen_payee,
            escrow::escrow_optimistic_release,
            escrow::escrow_fee_fixed_at_creation,
            escrow::escrow_release_needs_active_agent,
            escrow::escrow_revoked_certification,
            escrow::escrow_owed_pay_outlives_a_revocation,
            escrow::escrow_cancel_rules,
            escrow::escrow_cancel_unfunded,
            escrow::escrow_close_rules,
            escrow::escrow_keeper_fails_milestone,
            escrow::escrow_fail_last_milestone_completes,
            escrow::escrow_review_window_binds_the_poster,
            escrow::escrow_reject_inside_the_window,
            escrow::escrow_started_step_blocks_cancel,
            escrow::escrow_cancel_after_step_timeout,
            escrow::escrow_no_start_after_deadline,
            escrow::escrow_mint_recreated_before_funding,
            escrow::escrow_expiry_judged_at_submission,
            escrow::escrow_version_pin,
            escrow::escrow_no_submission_after_new_version,
            escrow::escrow_permissionless_payouts_use_atas,
            escrow::escrow_poster_signed_refund_to_own_account,
            escrow::escrow_pause_keeps_owed_pay,
            escrow::escrow_closed_job_address_not_reused,
            escrow::escrow_terms_pinned,
            consent::consent_acceptance_is_the_agents,
            consent::consent_poster_as_keeper_gains_nothing,
            consent::consent_agent_submits_its_own_work,
            consent::consent_record_counts_only_accepted_jobs,
            disputes::dispute_the_agent_concedes,
            disputes::dispute_the_arbiter_splits,
            disputes::dispute_decision_survives_a_revocation,
            disputes::dispute_default_survives_a_revocation,
            disputes::dispute_default_rule_after_silence,
            disputes::dispute_at_the_deadline,
            disputes::dispute_agent_may_no_longer_be_paid,
            disputes::dispute_reject_with_cancel,
            disputes::dispute_create_guards,
            disputes::dispute_a_partys_account_never_strands_the_other,
            disputes::dispute_owed_pay_to_a_parked_account_is_held,
            fees::fees_swept_in_batches_by_anyone,
            fees::fees_sweep_cannot_be_redirected,
            fees::fees_follow_the_treasury,
            anchors::anchors_chain_and_verify,
            anchors::anchors_guards,
            anchors::anchors_without_required_consistency,
            anchors::verify_receipt_rejects_forgeries,
            anchors::verify_receipt_names_whom_it_trusts,
            anchors::verify_receipt_refuses_as_anchor_does,
            anchors::anchor_checkpoint_refuses_as_anchor_does,
        );
    };
    (@each $start:expr; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::scenarios::$module::$name($start);
            }
        )*
    };
}
