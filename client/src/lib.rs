//! Client code shared by the keeper, the CLI and the tests: PDAs, instruction builders and
//! account decoding for the Agentrail program.

pub mod accounts;
pub mod anchors;
pub mod bundle;
pub mod consent;
pub mod errors;
pub mod escrow;
pub mod events;
pub mod fixtures;
pub mod instructions;
pub mod lifecycle;
pub mod merkle;
pub mod net;
pub mod pda;
pub mod program;
pub mod receipt;
pub mod redact;
pub mod terms;
pub mod x402;

pub use agentrail;
pub use program::{LOCALNET_PROGRAM_ID, program_id, program_id_for, use_program_id};

/// This machine's wall clock in unix seconds (0 before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A Solana keypair's 64 bytes (secret, then public: what `Keypair::to_bytes` and keypair
/// files hold) as the ed25519 key that signs receipts and payment authorizations. Refuses
/// bytes whose public half does not belong to the secret.
pub fn signing_key(keypair_bytes: &[u8; 64]) -> Result<ed25519_dalek::SigningKey, ed25519_dalek::SignatureError> {
    ed25519_dalek::SigningKey::from_keypair_bytes(keypair_bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_keypairs_bytes_give_its_signing_key_and_a_foreign_public_half_is_refused() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
        let mut bytes = key.to_keypair_bytes();
        assert_eq!(super::signing_key(&bytes).unwrap().verifying_key(), key.verifying_key());
        bytes[32..].copy_from_slice(&ed25519_dalek::SigningKey::from_bytes(&[6; 32]).verifying_key().to_bytes());
        assert!(super::signing_key(&bytes).is_err());
    }
}
