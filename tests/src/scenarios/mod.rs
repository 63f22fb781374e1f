//! Scenarios: each is a `fn(Box<dyn Chain>)` that runs unchanged on every runtime.

pub mod certification;
pub mod config;
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
            registry::authority_transfer,
            registry::metadata_update,
            certification::stages_advance_in_order,
            certification::only_certifiers_attest_or_revoke,
            certification::expiry_is_enforced,
            certification::revocation_records_who_and_why,
            certification::new_version_does_not_inherit,
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
