//! A test environment over any [`Chain`]: well-known actors and one-line set-up steps.

use agentrail::instructions::{AttestStageArgs, RegisterAgentArgs};
use agentrail::state::{Agent, Config, Semver};
use agentrail_client::{accounts::decode, instructions as ix, pda};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::bpf_loader_upgradeable;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;
use solana_system_interface::instruction as system;

use crate::{AccountState, Chain, Failure, Sent};

/// Protocol fee used by the default set-up: 2.5%.
pub const FEE_BPS: u16 = 250;

/// The protocol fee on `amount` at [`FEE_BPS`].
pub fn fee(amount: u64) -> u64 {
    agentrail::state::fee_for(amount, FEE_BPS)
}

/// What a milestone of `amount` costs the poster: the amount plus its fee.
pub fn gross(amount: u64) -> u64 {
    amount + fee(amount)
}
/// Start of simulated time (2026-11-22T00:00:00Z).
pub const T0: i64 = 1_795_305_600;
/// One day in seconds.
pub const DAY: i64 = 86_400;

/// The `n`th deterministic test keypair: the same keys in every run, so PDA bump searches, and
/// with them compute units, are reproducible.
pub fn test_key(n: u64) -> Keypair {
    let mut seed = [0x5a; 32];
    seed[..8].copy_from_slice(&n.to_le_bytes());
    Keypair::new_from_array(seed)
}

/// Funds `key` from the payer.
fn fund(chain: &mut dyn Chain, key: &Keypair) {
    let payer = chain.payer().pubkey();
    chain.send(&[system::transfer(&payer, &key.pubkey(), 10_000_000_000)], &[]).expect("fund keypair");
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
    /// How many test keys were handed out.
    keys: u64,
    pub admin: Keypair,
    pub treasury: Keypair,
    pub certifier: Keypair,
}

impl Env {
    /// Plants the program's ProgramData naming the payer as upgrade authority, sets the clock to
    /// [`T0`], and creates the funded actors. Config is not initialised yet.
    pub fn bare(mut chain: Box<dyn Chain>) -> Self {
        let admin = chain.payer().insecure_clone();
        // ProgramData metadata: tag 3, deploy slot, Some(upgrade authority). A runtime that
        // deployed the program keeps its ELF after these 45 bytes.
        let mut metadata = vec![3, 0, 0, 0];
        metadata.extend_from_slice(&0u64.to_le_bytes());
        metadata.push(1);
        metadata.extend_from_slice(admin.pubkey().as_ref());
        let mut program_data = chain.account(&pda::program_data()).unwrap_or(AccountState {
            lamports: 1_000_000_000,
            owner: bpf_loader_upgradeable::ID,
            data: vec![0; metadata.len()],
            executable: false,
        });
        program_data.data[..metadata.len()].copy_from_slice(&metadata);
        chain.set_account(&pda::program_data(), program_data);
        chain.set_time(T0);
        let mut env = Env { chain, keys: 0, treasury: test_key(u64::MAX), certifier: test_key(u64::MAX), admin };
        env.treasury = env.funded();
        env.certifier = env.funded();
        env
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
    pub fn fetch<T: agentrail_client::accounts::ProgramAccount>(&mut self, key: &Pubkey) -> T {
        let acc = self.chain.account(key).unwrap_or_else(|| panic!("account {key} is missing"));
        decode(&acc.data).expect("decode account")
    }

    /// Whether an account exists.
    pub fn exists(&mut self, key: &Pubkey) -> bool {
        self.chain.account(key).is_some()
    }

    /// The next deterministic test keypair.
    pub fn next_key(&mut self) -> Keypair {
        self.keys += 1;
        test_key(self.keys)
    }

    /// The next deterministic test keypair, funded.
    pub fn funded(&mut self) -> Keypair {
        let key = self.next_key();
        fund(self.chain.as_mut(), &key);
        key
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
