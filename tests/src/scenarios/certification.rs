//! Certification: staged attestations, expiry, revocation, per-version scope.

use agentrail::errors::AgentrailError;
use agentrail::instructions::{AttestStageArgs, PublishVersionArgs};
use agentrail::state::{Agent, Certification, Revocation, Semver};
use agentrail_client::{instructions as ix, pda};
use anchor_lang::error::ErrorCode;
use solana_sdk::signer::Signer;

use crate::Chain;
use crate::env::*;

/// Stages advance one at a time, each recorded with its certifier, hash and times.
pub fn stages_advance_in_order(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (_, _, agent) = env.register_agent("solver");
    assert_code(env.attest(&agent, 2, DAY), AgentrailError::StageSkipped);
    assert_code(env.attest(&agent, 0, DAY), AgentrailError::InvalidStage);
    assert_code(env.attest(&agent, 6, DAY), AgentrailError::InvalidStage);
    env.attest(&agent, 1, 30 * DAY).unwrap();
    assert_code(env.attest(&agent, 3, DAY), AgentrailError::StageSkipped);
    for stage in 2..=5 {
        env.attest(&agent, stage, 30 * DAY).unwrap();
    }
    let cert: Certification = env.fetch(&pda::certification(&agent, 1));
    assert_eq!((cert.agent, cert.version_seq, cert.stage, cert.epoch), (agent, 1, 5, 0));
    assert_eq!(cert.manifest_hash, env.fetch::<Agent>(&agent).manifest_hash);
    let e = cert.attestations[4];
    assert_eq!(
        (e.certifier, e.attestation_hash, e.issued_at, e.expires_at),
        (env.certifier.pubkey(), [5; 32], T0, T0 + 30 * DAY)
    );
    assert_eq!(cert.effective_stage(T0 + DAY), 5);
}

/// A key that is not an authorised certifier cannot attest or revoke.
pub fn only_certifiers_attest_or_revoke(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (authority, _, agent) = env.register_agent("solver");
    let args = AttestStageArgs { stage: 1, attestation_hash: [1; 32], expires_at: T0 + DAY };
    let r = env.send(&[ix::attest_stage(&authority.pubkey(), &agent, 1, args.clone())], &[&authority]);
    assert_code(r, ErrorCode::AccountNotInitialized);
    // borrowing a real certifier's PDA does not help: its seeds name another key
    let mut borrowed = ix::attest_stage(&authority.pubkey(), &agent, 1, args);
    borrowed.accounts[1].pubkey = pda::certifier(&env.certifier.pubkey());
    assert_code(env.send(&[borrowed], &[&authority]), ErrorCode::ConstraintSeeds);
    env.attest(&agent, 1, DAY).unwrap();
    let cert = pda::certification(&agent, 1);
    let r = env.send(&[ix::revoke_certification(&authority.pubkey(), &cert, [9; 32])], &[&authority]);
    assert_code(r, ErrorCode::AccountNotInitialized);
    assert_eq!(env.fetch::<Certification>(&cert).stage, 1);
}

/// Expiry must lie ahead; expired attestations count as none and block advancing.
pub fn expiry_is_enforced(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (_, _, agent) = env.register_agent("solver");
    assert_code(env.attest(&agent, 1, 0), AgentrailError::InvalidExpiry);
    assert_code(env.attest(&agent, 1, -5), AgentrailError::InvalidExpiry);
    env.attest(&agent, 1, DAY).unwrap();
    env.chain.set_time(T0 + DAY);
    let cert: Certification = env.fetch(&pda::certification(&agent, 1));
    assert_eq!((cert.effective_stage(T0 + DAY - 1), cert.effective_stage(T0 + DAY)), (1, 0));
    assert_code(env.attest(&agent, 2, DAY), AgentrailError::StageSkipped);
    env.attest(&agent, 1, DAY).unwrap();
    env.attest(&agent, 2, DAY).unwrap();
    let cert: Certification = env.fetch(&pda::certification(&agent, 1));
    assert_eq!(cert.effective_stage(T0 + DAY + 1), 2);
}

/// Revocation withdraws every stage, records who and why, and bumps the epoch.
pub fn revocation_records_who_and_why(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (_, _, agent) = env.register_agent("solver");
    let cert = pda::certification(&agent, 1);
    let certifier = env.certifier.insecure_clone();
    env.attest(&agent, 1, DAY).unwrap();
    env.attest(&agent, 2, DAY).unwrap();
    env.chain.set_time(T0 + 100);
    env.send(&[ix::revoke_certification(&certifier.pubkey(), &cert, [9; 32])], &[&certifier]).unwrap();
    let c: Certification = env.fetch(&cert);
    assert_eq!((c.stage, c.epoch, c.effective_stage(T0 + 101)), (0, 1, 0));
    assert_eq!(c.last_revocation, Some(Revocation { by: certifier.pubkey(), reason_hash: [9; 32], at: T0 + 100 }));
    let r = env.send(&[ix::revoke_certification(&certifier.pubkey(), &cert, [9; 32])], &[&certifier]);
    assert_code(r, AgentrailError::NothingToRevoke);
    // after revocation certification starts again from stage A
    assert_code(env.attest(&agent, 2, DAY), AgentrailError::StageSkipped);
    env.attest(&agent, 1, DAY).unwrap();
}

/// A new version starts uncertified; the old version's certification stays where it was.
pub fn new_version_does_not_inherit(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (authority, _, agent) = env.register_agent("solver");
    env.attest(&agent, 1, DAY).unwrap();
    env.attest(&agent, 2, DAY).unwrap();
    let publish = PublishVersionArgs { version: Semver { major: 1, minor: 1, patch: 0 }, manifest_hash: [2; 32] };
    env.send(&[ix::publish_version(&authority.pubkey(), &agent, publish)], &[&authority]).unwrap();
    assert!(!env.exists(&pda::certification(&agent, 2)));
    assert_code(env.attest(&agent, 3, DAY), AgentrailError::StageSkipped);
    assert_code(env.attest(&agent, 2, DAY), AgentrailError::StageSkipped);
    env.attest(&agent, 1, DAY).unwrap();
    let new: Certification = env.fetch(&pda::certification(&agent, 2));
    assert_eq!((new.version_seq, new.stage, new.manifest_hash), (2, 1, [2; 32]));
    assert_eq!(env.fetch::<Certification>(&pda::certification(&agent, 1)).stage, 2);
    // attesting against the old version's account is refused by its seeds
    let certifier = env.certifier.insecure_clone();
    let args = AttestStageArgs { stage: 3, attestation_hash: [3; 32], expires_at: T0 + DAY };
    let stale = ix::attest_stage(&certifier.pubkey(), &agent, 1, args);
    assert_code(env.send(&[stale], &[&certifier]), ErrorCode::ConstraintSeeds);
}
