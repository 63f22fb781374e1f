//! Agent registry: registration, versions, status, payout and authority changes.

use agentrail::errors::AgentrailError;
use agentrail::instructions::PublishVersionArgs;
use agentrail::state::{Agent, AgentStatus, Config, MAX_NAME_LEN, MAX_URI_LEN, Semver};
use agentrail_client::{instructions as ix, pda};
use anchor_lang::error::ErrorCode;
use solana_sdk::signer::Signer;

use crate::Chain;
use crate::env::*;

/// Registration stores every field, numbers agents in sequence and needs the payout's signature.
pub fn register_agent_happy_and_guards(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (authority, payout) = (env.funded(), env.funded());
    let (a, p) = (authority.pubkey(), payout.pubkey());

    let mut unsigned = ix::register_agent(&a, &p, 0, Env::agent_args("solver"));
    unsigned.accounts[1].is_signer = false;
    assert_code(env.send(&[unsigned], &[&authority]), ErrorCode::AccountNotSigner);

    let wrong_pda = ix::register_agent(&a, &p, 1, Env::agent_args("solver"));
    assert_code(env.send(&[wrong_pda], &[&authority, &payout]), ErrorCode::ConstraintSeeds);

    let mut long_name = Env::agent_args("x");
    long_name.name = "n".repeat(MAX_NAME_LEN + 1);
    assert_code(
        env.send(&[ix::register_agent(&a, &p, 0, long_name)], &[&authority, &payout]),
        AgentrailError::NameLength,
    );
    let mut empty_name = Env::agent_args("x");
    empty_name.name.clear();
    assert_code(
        env.send(&[ix::register_agent(&a, &p, 0, empty_name)], &[&authority, &payout]),
        AgentrailError::NameLength,
    );
    let mut long_uri = Env::agent_args("x");
    long_uri.metadata_uri = "u".repeat(MAX_URI_LEN + 1);
    assert_code(
        env.send(&[ix::register_agent(&a, &p, 0, long_uri)], &[&authority, &payout]),
        AgentrailError::UriLength,
    );

    let mut max = Env::agent_args("x");
    max.name = "n".repeat(MAX_NAME_LEN);
    max.metadata_uri = "u".repeat(MAX_URI_LEN);
    env.send(&[ix::register_agent(&a, &p, 0, max.clone())], &[&authority, &payout]).unwrap();
    let agent: Agent = env.fetch(&pda::agent(0));
    assert_eq!((agent.id, agent.authority, agent.payout), (0, a, p));
    assert_eq!((agent.name, agent.metadata_uri), (max.name, max.metadata_uri));
    assert_eq!((agent.manifest_hash, agent.version, agent.version_seq), (max.manifest_hash, max.version, 1));
    assert_eq!((agent.status, agent.registered_at, agent.updated_at), (AgentStatus::Active, T0, T0));
    assert_eq!(env.fetch::<Config>(&pda::config()).agent_count, 1);

    // replaying registration of id 0 cannot overwrite it: the seeds now name id 1
    let replay = ix::register_agent(&a, &p, 0, Env::agent_args("again"));
    assert_code(env.send(&[replay], &[&authority, &payout]), ErrorCode::ConstraintSeeds);
    let (_, _, second) = env.register_agent("second");
    assert_eq!((second, env.fetch::<Agent>(&second).id), (pda::agent(1), 1));
}

/// Versions strictly increase, only the authority publishes, and each publish counts.
pub fn publish_version_rules(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (authority, _, agent) = env.register_agent("solver");
    let stranger = env.funded();
    let v = |major, minor, patch| Semver { major, minor, patch };
    let publish = |version| PublishVersionArgs { version, manifest_hash: [version.minor as u8; 32] };
    assert_code(
        env.send(&[ix::publish_version(&stranger.pubkey(), &agent, publish(v(1, 1, 0)))], &[&stranger]),
        AgentrailError::Unauthorized,
    );
    for stale in [v(1, 0, 0), v(0, 9, 9)] {
        let r = env.send(&[ix::publish_version(&authority.pubkey(), &agent, publish(stale))], &[&authority]);
        assert_code(r, AgentrailError::VersionNotIncreasing);
    }
    env.chain.set_time(T0 + 60);
    env.send(&[ix::publish_version(&authority.pubkey(), &agent, publish(v(1, 1, 0)))], &[&authority]).unwrap();
    let a: Agent = env.fetch(&agent);
    assert_eq!((a.version, a.version_seq, a.manifest_hash, a.updated_at), (v(1, 1, 0), 2, [1; 32], T0 + 60));
    // publishing the same version twice is refused
    let r = env.send(&[ix::publish_version(&authority.pubkey(), &agent, publish(v(1, 1, 0)))], &[&authority]);
    assert_code(r, AgentrailError::VersionNotIncreasing);
}

/// Pause, resume and retire follow the lifecycle; retirement is final.
pub fn agent_status_lifecycle(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (authority, _, agent) = env.register_agent("solver");
    let stranger = env.funded();
    let set = |s| ix::set_agent_status(&authority.pubkey(), &agent, s);
    assert_code(
        env.send(&[ix::set_agent_status(&stranger.pubkey(), &agent, AgentStatus::Paused)], &[&stranger]),
        AgentrailError::Unauthorized,
    );
    assert_code(env.send(&[set(AgentStatus::Active)], &[&authority]), AgentrailError::InvalidAgentStatus);
    env.send(&[set(AgentStatus::Paused)], &[&authority]).unwrap();
    assert_eq!(env.fetch::<Agent>(&agent).status, AgentStatus::Paused);
    env.send(&[set(AgentStatus::Active)], &[&authority]).unwrap();
    env.send(&[set(AgentStatus::Retired)], &[&authority]).unwrap();
    assert_eq!(env.fetch::<Agent>(&agent).status, AgentStatus::Retired);
    assert_code(env.send(&[set(AgentStatus::Active)], &[&authority]), AgentrailError::AgentRetired);
    let publish = PublishVersionArgs { version: Semver { major: 2, minor: 0, patch: 0 }, manifest_hash: [2; 32] };
    let r = env.send(&[ix::publish_version(&authority.pubkey(), &agent, publish)], &[&authority]);
    assert_code(r, AgentrailError::AgentRetired);
    assert_code(env.attest(&agent, 1, DAY), AgentrailError::AgentRetired);
}

/// The payout wallet changes only with the authority's and the new wallet's signatures.
pub fn payout_change_needs_both_signatures(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (authority, _, agent) = env.register_agent("solver");
    let (new_payout, stranger) = (env.funded(), env.funded());
    let mut unsigned = ix::set_payout(&authority.pubkey(), &agent, &new_payout.pubkey());
    unsigned.accounts[1].is_signer = false;
    assert_code(env.send(&[unsigned], &[&authority]), ErrorCode::AccountNotSigner);
    let r = env.send(&[ix::set_payout(&stranger.pubkey(), &agent, &new_payout.pubkey())], &[&stranger, &new_payout]);
    assert_code(r, AgentrailError::Unauthorized);
    env.send(&[ix::set_payout(&authority.pubkey(), &agent, &new_payout.pubkey())], &[&authority, &new_payout]).unwrap();
    assert_eq!(env.fetch::<Agent>(&agent).payout, new_payout.pubkey());
}

/// The output signing key is set and rotated only with the authority's and the new key's
/// signatures, cleared by the authority alone, and frozen once the agent is retired.
pub fn signing_key_needs_proof_of_control(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (authority, _, agent) = env.register_agent("solver");
    assert_eq!(env.fetch::<Agent>(&agent).signing_key(), None, "an agent starts without a key");
    let (key, next, stranger) = (env.funded(), env.funded(), env.funded());
    // the key must sign: naming a key one does not hold is refused
    let mut unsigned = ix::set_signing_key(&authority.pubkey(), &agent, Some(&key.pubkey()));
    unsigned.accounts[1].is_signer = false;
    assert_code(env.send(&[unsigned], &[&authority]), ErrorCode::AccountNotSigner);
    // only the authority sets it, even with the key's signature
    let r = env.send(&[ix::set_signing_key(&stranger.pubkey(), &agent, Some(&key.pubkey()))], &[&stranger, &key]);
    assert_code(r, AgentrailError::Unauthorized);
    env.send(&[ix::set_signing_key(&authority.pubkey(), &agent, Some(&key.pubkey()))], &[&authority, &key]).unwrap();
    assert_eq!(env.fetch::<Agent>(&agent).signing_key(), Some(key.pubkey()));
    // rotation: the new key proves control the same way
    env.send(&[ix::set_signing_key(&authority.pubkey(), &agent, Some(&next.pubkey()))], &[&authority, &next]).unwrap();
    assert_eq!(env.fetch::<Agent>(&agent).signing_key(), Some(next.pubkey()));
    // the stranger cannot clear it either; the authority can
    let r = env.send(&[ix::set_signing_key(&stranger.pubkey(), &agent, None)], &[&stranger]);
    assert_code(r, AgentrailError::Unauthorized);
    env.send(&[ix::set_signing_key(&authority.pubkey(), &agent, None)], &[&authority]).unwrap();
    assert_eq!(env.fetch::<Agent>(&agent).signing_key(), None);
    env.send(&[ix::set_agent_status(&authority.pubkey(), &agent, AgentStatus::Retired)], &[&authority]).unwrap();
    let r = env.send(&[ix::set_signing_key(&authority.pubkey(), &agent, Some(&key.pubkey()))], &[&authority, &key]);
    assert_code(r, AgentrailError::AgentRetired);
}

/// Authority moves only when both sign; afterwards the old authority has no power.
pub fn authority_transfer(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (authority, _, agent) = env.register_agent("solver");
    let next = env.funded();
    let mut unsigned = ix::transfer_agent_authority(&authority.pubkey(), &agent, &next.pubkey());
    unsigned.accounts[1].is_signer = false;
    assert_code(env.send(&[unsigned], &[&authority]), ErrorCode::AccountNotSigner);
    env.send(&[ix::transfer_agent_authority(&authority.pubkey(), &agent, &next.pubkey())], &[&authority, &next])
        .unwrap();
    assert_eq!(env.fetch::<Agent>(&agent).authority, next.pubkey());
    let r = env.send(&[ix::set_agent_status(&authority.pubkey(), &agent, AgentStatus::Paused)], &[&authority]);
    assert_code(r, AgentrailError::Unauthorized);
    env.send(&[ix::set_agent_status(&next.pubkey(), &agent, AgentStatus::Paused)], &[&next]).unwrap();
}

/// The metadata URI is bounded and owner-only.
pub fn metadata_update(chain: Box<dyn Chain>) {
    let mut env = Env::new(chain);
    let (authority, _, agent) = env.register_agent("solver");
    let stranger = env.funded();
    let uri = "https://agents.example/solver/v2".to_string();
    let r = env.send(&[ix::update_agent_metadata(&stranger.pubkey(), &agent, uri.clone())], &[&stranger]);
    assert_code(r, AgentrailError::Unauthorized);
    let r =
        env.send(&[ix::update_agent_metadata(&authority.pubkey(), &agent, "u".repeat(MAX_URI_LEN + 1))], &[&authority]);
    assert_code(r, AgentrailError::UriLength);
    env.send(&[ix::update_agent_metadata(&authority.pubkey(), &agent, uri.clone())], &[&authority]).unwrap();
    assert_eq!(env.fetch::<Agent>(&agent).metadata_uri, uri);
}
