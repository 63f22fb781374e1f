//! Which deployment of the program this process talks to.
//!
//! The program's own address is built into it (`declare_id!`); a deployer who builds it with
//! another id points every client at that id through its configuration (the CLI's
//! `--program-id`, the keeper's `program_id`, the agent SDK's builder, the TypeScript client's
//! option). Every builder, derived address and owner check in this crate reads [`program_id`].

use std::sync::OnceLock;

use anchor_lang::prelude::Pubkey;

/// The id the program is built with in this repository, for a local validator. Its keypair is
/// no longer in the repository but stays in its history, so anyone could deploy at this id on
/// another cluster: a cluster other than a local one has its own deployment, named explicitly.
pub const LOCALNET_PROGRAM_ID: Pubkey = agentrail::ID;

static PROGRAM_ID: OnceLock<Pubkey> = OnceLock::new();

/// The program id this process uses: the one [`use_program_id`] set, else
/// [`LOCALNET_PROGRAM_ID`]. Reading it fixes it for the life of the process.
pub fn program_id() -> Pubkey {
    *PROGRAM_ID.get_or_init(|| LOCALNET_PROGRAM_ID)
}

/// Why a program id could not be chosen.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProgramIdError {
    /// The process already uses another id (set, or read before this call).
    #[error("this process already uses program {current}; the program id is set once, before any use")]
    AlreadySet { current: Pubkey },
    /// A remote cluster without a configured id.
    #[error(
        "no program id configured for {url}: the built-in id {LOCALNET_PROGRAM_ID} is for a local validator only; \
         name the deployment's id ({setting})"
    )]
    NotConfigured { url: String, setting: &'static str },
}

/// Makes `id` this process's program id. Call it once at start-up, before anything derives an
/// address or builds an instruction; setting the id already in use is accepted.
pub fn use_program_id(id: Pubkey) -> Result<(), ProgramIdError> {
    let current = *PROGRAM_ID.get_or_init(|| id);
    if current == id { Ok(()) } else { Err(ProgramIdError::AlreadySet { current }) }
}

/// The program id for a client of the cluster at `rpc_url`: `configured` when given; else the
/// built-in localnet id, but only for a validator on this machine (a loopback address), so a
/// remote cluster is never talked to at an id whose deployment nobody vouched for. `setting`
/// names where a user configures it, for the error.
pub fn program_id_for(
    rpc_url: &str,
    configured: Option<Pubkey>,
    setting: &'static str,
) -> Result<Pubkey, ProgramIdError> {
    match configured {
        Some(id) => Ok(id),
        None if crate::net::is_loopback_url(rpc_url) => Ok(LOCALNET_PROGRAM_ID),
        // the URL may carry an API key: named without it
        None => Err(ProgramIdError::NotConfigured { url: crate::redact::redact_url(rpc_url), setting }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_id_serves_only_a_local_validator() {
        let other = Pubkey::new_unique();
        for local in ["http://127.0.0.1:8899", "http://localhost:8899", "http://[::1]:8899", "http://127.0.0.2"] {
            assert_eq!(program_id_for(local, None, "--program-id"), Ok(LOCALNET_PROGRAM_ID), "{local}");
            assert_eq!(program_id_for(local, Some(other), "--program-id"), Ok(other), "{local}");
        }
        for remote in
            ["https://api.mainnet-beta.solana.com", "https://127.0.0.1.example.com", "http://10.0.0.1:8899", "nonsense"]
        {
            let err = program_id_for(remote, None, "--program-id").unwrap_err();
            let named = crate::redact::redact_url(remote);
            assert!(err.to_string().contains("--program-id") && err.to_string().contains(&named), "{err}");
            assert_eq!(program_id_for(remote, Some(other), "--program-id"), Ok(other));
        }
        let keyed = program_id_for("https://rpc.example/v2/SECRET?api-key=SECRET", None, "--program-id").unwrap_err();
        assert!(!keyed.to_string().contains("SECRET"), "the URL is named without its key: {keyed}");
    }

    #[test]
    fn the_id_is_set_once_before_use() {
        // the first read fixes the process's id (the default here); the same id may be set again
        let id = program_id();
        assert_eq!(use_program_id(id), Ok(()));
        assert_eq!(use_program_id(Pubkey::new_unique()), Err(ProgramIdError::AlreadySet { current: id }));
        assert_eq!(program_id(), id);
    }
}
