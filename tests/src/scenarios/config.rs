//! Config singleton: initialisation, updates, two-step admin transfer, certifier set.

use agentrail::errors::AgentrailError;
use agentrail::instructions::UpdateConfigArgs;
use agentrail::state::{Certifier, Config, MAX_FEE_BPS};
use agentrail_client::{instructions as ix, pda};
use anchor_lang::error::ErrorCode;
use solana_sdk::signer::Signer;

use crate::Chain;
use crate::env::*;

/// Only the upgrade authority may create the config; the fee cap holds; it cannot be re-created.
pub fn init_config_guards(chain: Box<dyn Chain>) {
    let mut env = Env::bare(chain);
    let stranger = env.funded();
    let treasury = env.treasury.pubkey();
    let r = env.send(&[ix::initialize_config(&stranger.pubkey(), treasury, FEE_BPS)], &[&stranger]);
    assert_code(r, AgentrailError::Unauthorized);
    let admin = env.admin.pubkey();
    let r = env.send(&[ix::initialize_config(&admin, treasury, MAX_FEE_BPS + 1)], &[]);
    assert_code(r, AgentrailError::FeeTooHigh);
    env.send(&[ix::initialize_config(&admin, treasury, MAX_FEE_BPS)], &[]).unwrap();
    let config: Config = env.fetch(&pda::config());
    assert_eq!((config.admin, config.treasury, config.fee_bps, config.paused), (admin, treasury, MAX_FEE_BPS, false));
    assert_eq!((config.agent_count, config.certifier_count, config.pending_admin), (0, 0, None));
    assert_fails(env.send(&[ix::initialize_config(&admin, treasury, 0)], &[]));
}

/// A ProgramData account that is not this program's is refused.
pub fn init_config_rejects_foreign_program_data(chain: Box<dyn Chain>) {
    let mut env = Env::bare(chain);
    let admin = env.admin.pubkey();
    let real = env.chain.account(&pda::program_data()).unwrap();
    let fake = anchor_lang::prelude::Pubkey::new_unique();
    env.chain.set_account(&fake, real);
    let mut ix = ix::initialize_config(&admin, env.treasury.pubkey(), FEE_BPS);
    ix.accounts[2].pubkey = fake;
    assert_code(env.send(&[ix], &[]), ErrorCode::ConstraintSeeds);
}

/// Admin-only updates; the fee cap applies to updates too; pause blocks registration.
pub fn update_config_and_pause(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let stranger = env.funded();
    let pause = UpdateConfigArgs { paused: Some(true), ..Default::default() };
    assert_code(
        env.send(&[ix::update_config(&stranger.pubkey(), pause.clone())], &[&stranger]),
        AgentrailError::Unauthorized,
    );
    let admin = env.admin.pubkey();
    let too_high = UpdateConfigArgs { fee_bps: Some(MAX_FEE_BPS + 1), ..Default::default() };
    assert_code(env.send(&[ix::update_config(&admin, too_high)], &[]), AgentrailError::FeeTooHigh);
    let new_treasury = stranger.pubkey();
    let change = UpdateConfigArgs { treasury: Some(new_treasury), fee_bps: Some(100), paused: Some(true) };
    env.send(&[ix::update_config(&admin, change)], &[]).unwrap();
    let config: Config = env.fetch(&pda::config());
    assert_eq!((config.treasury, config.fee_bps, config.paused), (new_treasury, 100, true));
    let (authority, payout) = (env.funded(), env.funded());
    let register = ix::register_agent(&authority.pubkey(), &payout.pubkey(), 0, Env::agent_args("paused"));
    assert_code(env.send(std::slice::from_ref(&register), &[&authority, &payout]), AgentrailError::ProtocolPaused);
    env.send(&[ix::update_config(&admin, UpdateConfigArgs { paused: Some(false), ..Default::default() })], &[])
        .unwrap();
    env.send(&[register], &[&authority, &payout]).unwrap();
}

/// The admin changes only when the proposed key accepts; the old admin loses its powers.
pub fn admin_transfer_is_two_step(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (next, stranger) = (env.funded(), env.funded());
    let admin = env.admin.pubkey();
    assert_code(
        env.send(&[ix::propose_admin(&stranger.pubkey(), stranger.pubkey())], &[&stranger]),
        AgentrailError::Unauthorized,
    );
    assert_code(env.send(&[ix::accept_admin(&next.pubkey())], &[&next]), AgentrailError::NoPendingAdmin);
    env.send(&[ix::propose_admin(&admin, next.pubkey())], &[]).unwrap();
    let config: Config = env.fetch(&pda::config());
    assert_eq!((config.admin, config.pending_admin), (admin, Some(next.pubkey())));
    assert_code(env.send(&[ix::accept_admin(&stranger.pubkey())], &[&stranger]), AgentrailError::NoPendingAdmin);
    env.send(&[ix::accept_admin(&next.pubkey())], &[&next]).unwrap();
    let config: Config = env.fetch(&pda::config());
    assert_eq!((config.admin, config.pending_admin), (next.pubkey(), None));
    // replaying the acceptance fails: nothing is pending any more
    assert_code(env.send(&[ix::accept_admin(&next.pubkey())], &[&next]), AgentrailError::NoPendingAdmin);
    let pause = UpdateConfigArgs { paused: Some(true), ..Default::default() };
    assert_code(env.send(&[ix::update_config(&admin, pause.clone())], &[]), AgentrailError::Unauthorized);
    env.send(&[ix::update_config(&next.pubkey(), pause)], &[&next]).unwrap();
}

/// Certifiers are added and removed by the admin only; a removed certifier cannot attest.
pub fn certifier_set_is_admin_controlled(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (stranger, second) = (env.funded(), env.funded());
    let admin = env.admin.pubkey();
    assert_code(
        env.send(&[ix::add_certifier(&stranger.pubkey(), second.pubkey())], &[&stranger]),
        AgentrailError::Unauthorized,
    );
    env.send(&[ix::add_certifier(&admin, second.pubkey())], &[]).unwrap();
    let c: Certifier = env.fetch(&pda::certifier(&second.pubkey()));
    assert_eq!((c.authority, c.added_at), (second.pubkey(), T0));
    assert_eq!(env.fetch::<Config>(&pda::config()).certifier_count, 2);
    assert_fails(env.send(&[ix::add_certifier(&admin, second.pubkey())], &[]));
    assert_code(
        env.send(&[ix::remove_certifier(&stranger.pubkey(), &second.pubkey())], &[&stranger]),
        AgentrailError::Unauthorized,
    );
    env.send(&[ix::remove_certifier(&admin, &env.certifier.pubkey())], &[]).unwrap();
    assert!(!env.exists(&pda::certifier(&env.certifier.pubkey())));
    assert_eq!(env.fetch::<Config>(&pda::config()).certifier_count, 1);
    let (_, _, agent) = env.register_agent("solver");
    assert_code(env.attest(&agent, 1, DAY), ErrorCode::AccountNotInitialized);
}
