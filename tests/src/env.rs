//! A test environment over any [`Chain`]: well-known actors and one-line set-up steps.

use agentrail::instructions::{AttestStageArgs, RegisterAgentArgs};
use agentrail::state::{Agent, Config, Semver};
use agentrail_client::{accounts::decode, instructions as ix, pda};
use anchor_lang::AccountDeserialize;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;
use solana_system_interface::instruction as system;

use crate::{AccountState, Chain, Failure, Sent};

/// Protocol fee used by the default set-up: 2.5%.
pub const FEE_BPS: u16 = 250;
/// Start of simulated time (2026-11-22T00:00:00Z).
pub const T0: i64 = 1_795_305_600;
/// One day in seconds.
pub const DAY: i64 = 86_400;

/// A funded keypair.
pub fn funded(chain: &mut dyn Chain) -> Keypair {
    let k = Keypair::new();
    let payer = chain.payer().pubkey();
    chain.send(&[system::transfer(&payer, &k.pubkey(), 10_000_000_000)], &[]).expect("fund keypair");
    k
}

/// Asserts that `result` failed with the custom error `code`.
#[track_caller]
pub fn assert_code(result: Result<Sent, Failure>, code: impl Into<u32>) {
    let code = code.into();
    match result {
        Ok(_) => panic!("expected error {code}, but the transaction succeeded"),
        Err(f) => assert_eq!(f.code, Some(code), "expected error {code}, got {}", f.message),
    }
}

/// Asserts that `result` failed, whatever the reason (used where the runtime, not the program,
/// refuses: a missing signature, an account already in use).
#[track_caller]
pub fn assert_fails(result: Result<Sent, Failure>) {
    assert!(result.is_err(), "expected the transaction to fail, but it succeeded");
}

/// The environment: a chain, the admin (the payer, also upgrade authority), a treasury and a
/// certifier.
pub struct Env {
    pub chain: Box<dyn Chain>,
    pub admin: Keypair,
    pub treasury: Keypair,
    pub certifier: Keypair,
}

impl Env {
    /// Plants the program's ProgramData naming the payer as upgrade authority, sets the clock to
    /// [`T0`], and creates the funded actors. Config is not initialised yet.
    pub fn bare(mut chain: Box<dyn Chain>) -> Self {
        let admin = chain.payer().insecure_clone();
        let mut data = vec![3, 0, 0, 0];
        data.extend_from_slice(&0u64.to_le_bytes());
        data.push(1);
        data.extend_from_slice(admin.pubkey().as_ref());
        chain.set_account(
            &pda::program_data(),
            AccountState { lamports: 1_000_000_000, owner: bpf_loader_upgradeable::ID, data, executable: false },
        );
        chain.set_time(T0);
        let treasury = funded(chain.as_mut());
        let certifier = funded(chain.as_mut());
        Env { chain, admin, treasury, certifier }
    }

    /// [`Env::bare`] plus an initialised config ([`FEE_BPS`]) and one authorised certifier.
    pub fn new(chain: Box<dyn Chain>) -> Self {
        let mut env = Env::bare(chain);
        let admin = env.admin.pubkey();
        env.send(&[ix::initialize_config(&admin, env.treasury.pubkey(), FEE_BPS)], &[]).expect("init config");
        env.send(&[ix::add_certifier(&admin, env.certifier.pubkey())], &[]).expect("add certifier");
        env
    }

    /// Sends `ixs` signed by the payer and `signers`.
    pub fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Sent, Failure> {
        self.chain.send(ixs, signers)
    }

    /// Reads and decodes a program account; panics when it is missing or of another type.
    pub fn fetch<T: AccountDeserialize>(&mut self, key: &Pubkey) -> T {
        let acc = self.chain.account(key).unwrap_or_else(|| panic!("account {key} is missing"));
        decode(&acc.data).expect("decode account")
    }

    /// Whether an account exists.
    pub fn exists(&mut self, key: &Pubkey) -> bool {
        self.chain.account(key).is_some()
    }

    /// A funded keypair.
    pub fn funded(&mut self) -> Keypair {
        funded(self.chain.as_mut())
    }

    /// Default registration arguments for an agent called `name` at version 1.0.0.
    pub fn agent_args(name: &str) -> RegisterAgentArgs {
        RegisterAgentArgs {
            name: name.into(),
            metadata_uri: format!("https://agents.example/{name}"),
            manifest_hash: [0xAB; 32],
            version: Semver { major: 1, minor: 0, patch: 0 },
        }
    }

    /// Registers an agent; returns (authority, payout, agent address).
    pub fn register_agent(&mut self, name: &str) -> (Keypair, Keypair, Pubkey) {
        let (authority, payout) = (self.funded(), self.funded());
        let id = self.fetch::<Config>(&pda::config()).agent_count;
        let ix = ix::register_agent(&authority.pubkey(), &payout.pubkey(), id, Env::agent_args(name));
        self.send(&[ix], &[&authority, &payout]).expect("register agent");
        (authority, payout, pda::agent(id))
    }

    /// Attests `stage` for the agent's current version by the default certifier, valid for `ttl`
    /// seconds from now.
    pub fn attest(&mut self, agent: &Pubkey, stage: u8, ttl: i64) -> Result<Sent, Failure> {
        let version_seq = self.fetch::<Agent>(agent).version_seq;
        let now = self.chain.now();
        let args = AttestStageArgs { stage, attestation_hash: [stage; 32], expires_at: now + ttl };
        let certifier = self.certifier.insecure_clone();
        self.send(&[ix::attest_stage(&certifier.pubkey(), agent, version_seq, args)], &[&certifier])
    }
}
