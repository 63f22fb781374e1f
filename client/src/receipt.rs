//! Signed receipts: one per executed step. A versioned canonical binary encoding (decoding
//! rejects anything that does not re-encode to the same bytes), an ed25519 signature by the
//! keeper, an optional co-signature by the vendor agent, and a JSON form for people.
//!
//! A receipt's hash, the leaf hash of its encoding, is what the keeper submits on-chain as the
//! milestone's result hash and appends to its Merkle log.

use anchor_lang::prelude::{AnchorDeserialize, AnchorSerialize, Pubkey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::merkle::{Hash, leaf_hash};

/// Leading bytes of every encoded receipt.
pub const MAGIC: [u8; 4] = *b"ARCP";
/// The encoding version this code writes and reads.
pub const VERSION: u8 = 1;
/// Domain separation for receipt signatures.
const SIGNING_DOMAIN: &[u8] = b"agentrail/receipt/v1";
/// Most guard checks in one receipt.
pub const MAX_GUARDS: usize = 32;
/// Most transaction signatures in one receipt.
pub const MAX_TX_SIGNATURES: usize = 16;
/// Longest guard name, in bytes.
pub const MAX_GUARD_NAME: usize = 64;
/// Longest guard detail, in bytes.
pub const MAX_GUARD_DETAIL: usize = 256;

/// Why bytes or JSON are not a valid receipt, or a receipt does not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptError {
    /// The bytes do not start with [`MAGIC`].
    BadMagic,
    /// An encoding version this code does not know.
    UnsupportedVersion(u8),
    /// The body does not decode (truncated, trailing bytes, invalid tag or UTF-8).
    Malformed(String),
    /// The bytes decode but are not the one canonical encoding.
    NotCanonical,
    /// A field is over its bound.
    OutOfBounds(&'static str),
    /// The keeper's signature does not verify.
    BadKeeperSignature,
    /// The vendor's co-signature does not verify.
    BadVendorSignature,
    /// A key in a receipt is not a valid ed25519 point.
    BadKey(&'static str),
}

impl std::fmt::Display for ReceiptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReceiptError::BadMagic => f.write_str("not a receipt: missing ARCP header"),
            ReceiptError::UnsupportedVersion(v) => {
                write!(f, "unsupported receipt version {v} (this build reads {VERSION})")
            }
            ReceiptError::Malformed(why) => write!(f, "malformed receipt: {why}"),
            ReceiptError::NotCanonical => f.write_str("receipt encoding is not canonical"),
            ReceiptError::OutOfBounds(field) => write!(f, "receipt field `{field}` is over its bound"),
            ReceiptError::BadKeeperSignature => f.write_str("the keeper's signature does not verify"),
            ReceiptError::BadVendorSignature => f.write_str("the vendor's co-signature does not verify"),
            ReceiptError::BadKey(which) => write!(f, "the {which} key is not a valid ed25519 public key"),
        }
    }
}

impl std::error::Error for ReceiptError {}

/// One guard that ran before paying, and its outcome.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct GuardCheck {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// What one executed step did.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub job: Pubkey,
    pub milestone: u8,
    pub agent: Pubkey,
    pub agent_version_seq: u32,
    pub keeper: Pubkey,
    /// SHA-256 of the step's input.
    pub inputs_hash: Hash,
    /// SHA-256 of the step's output.
    pub output_hash: Hash,
    /// What the step cost, in the job mint's base units.
    pub cost: u64,
    pub guards: Vec<GuardCheck>,
    /// Signatures of on-chain transactions the step executed.
    pub tx_signatures: Vec<[u8; 64]>,
    pub started_at: i64,
    pub finished_at: i64,
}

/// The vendor agent's co-signature.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct VendorSignature {
    pub key: Pubkey,
    pub signature: [u8; 64],
}

/// A receipt with the keeper's signature and optionally the vendor's.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct SignedReceipt {
    pub receipt: Receipt,
    pub keeper_signature: [u8; 64],
    pub vendor: Option<VendorSignature>,
}

fn header() -> [u8; 5] {
    [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION]
}

impl Receipt {
    /// Checks every bound.
    pub fn check_bounds(&self) -> Result<(), ReceiptError> {
        if self.guards.len() > MAX_GUARDS {
            return Err(ReceiptError::OutOfBounds("guards"));
        }
        if self.tx_signatures.len() > MAX_TX_SIGNATURES {
            return Err(ReceiptError::OutOfBounds("tx_signatures"));
        }
        for g in &self.guards {
            if g.name.is_empty() || g.name.len() > MAX_GUARD_NAME {
                return Err(ReceiptError::OutOfBounds("guards.name"));
            }
            if g.detail.len() > MAX_GUARD_DETAIL {
                return Err(ReceiptError::OutOfBounds("guards.detail"));
            }
        }
        Ok(())
    }

    /// The bytes every signature covers: domain, header, body.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut msg = SIGNING_DOMAIN.to_vec();
        msg.extend_from_slice(&header());
        self.serialize(&mut msg).expect("writing to a Vec cannot fail");
        msg
    }

    /// Signs as the keeper; `keeper` must be the receipt's `keeper` key.
    pub fn sign(self, keeper: &SigningKey) -> Result<SignedReceipt, ReceiptError> {
        self.check_bounds()?;
        if keeper.verifying_key().to_bytes() != self.keeper.to_bytes() {
            return Err(ReceiptError::BadKeeperSignature);
        }
        let keeper_signature = keeper.sign(&self.signing_message()).to_bytes();
        Ok(SignedReceipt { receipt: self, keeper_signature, vendor: None })
    }
}

fn verify(
    key: &Pubkey,
    msg: &[u8],
    sig: &[u8; 64],
    which: &'static str,
    err: ReceiptError,
) -> Result<(), ReceiptError> {
    let key = VerifyingKey::from_bytes(&key.to_bytes()).map_err(|_| ReceiptError::BadKey(which))?;
    key.verify_strict(msg, &Signature::from_bytes(sig)).map_err(|_| err)
}

impl SignedReceipt {
    /// Adds the vendor agent's co-signature.
    pub fn cosign(mut self, vendor: &SigningKey) -> Self {
        let signature = vendor.sign(&self.receipt.signing_message()).to_bytes();
        self.vendor = Some(VendorSignature { key: Pubkey::from(vendor.verifying_key().to_bytes()), signature });
        self
    }

    /// Checks bounds and every signature present.
    pub fn verify(&self) -> Result<(), ReceiptError> {
        self.receipt.check_bounds()?;
        let msg = self.receipt.signing_message();
        verify(&self.receipt.keeper, &msg, &self.keeper_signature, "keeper", ReceiptError::BadKeeperSignature)?;
        if let Some(v) = &self.vendor {
            verify(&v.key, &msg, &v.signature, "vendor", ReceiptError::BadVendorSignature)?;
        }
        Ok(())
    }

    /// The canonical encoding: `ARCP`, version, Borsh body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = header().to_vec();
        self.serialize(&mut out).expect("writing to a Vec cannot fail");
        out
    }

    /// Decodes the canonical encoding; anything else is an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, ReceiptError> {
        if bytes.len() < 5 || bytes[..4] != MAGIC {
            return Err(ReceiptError::BadMagic);
        }
        if bytes[4] != VERSION {
            return Err(ReceiptError::UnsupportedVersion(bytes[4]));
        }
        let receipt = Self::try_from_slice(&bytes[5..]).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
        receipt.receipt.check_bounds()?;
        if receipt.encode() != bytes {
            return Err(ReceiptError::NotCanonical);
        }
        Ok(receipt)
    }

    /// `SHA-256(0x00 || encoding)`: the leaf in the log and the milestone's result hash.
    pub fn hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }
}

/// The JSON form of a guard check.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GuardJson {
    pub name: String,
    pub passed: bool,
    #[serde(default)]
    pub detail: String,
}

/// The JSON form of a signed receipt: keys and signatures in base58, hashes in hex.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReceiptJson {
    pub version: u8,
    pub job: String,
    pub milestone: u8,
    pub agent: String,
    pub agent_version_seq: u32,
    pub keeper: String,
    pub inputs_hash: String,
    pub output_hash: String,
    pub cost: u64,
    pub guards: Vec<GuardJson>,
    pub tx_signatures: Vec<String>,
    pub started_at: i64,
    pub finished_at: i64,
    pub keeper_signature: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vendor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vendor_signature: Option<String>,
    /// The receipt hash (informational; recomputed on parse and checked).
    pub hash: String,
}

fn key(field: &'static str, s: &str) -> Result<Pubkey, ReceiptError> {
    s.parse().map_err(|_| ReceiptError::Malformed(format!("`{field}` is not a base58 public key")))
}

fn hex32(field: &'static str, s: &str) -> Result<Hash, ReceiptError> {
    hex::decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ReceiptError::Malformed(format!("`{field}` is not 32 bytes of hex")))
}

fn sig64(field: &'static str, s: &str) -> Result<[u8; 64], ReceiptError> {
    bs58::decode(s)
        .into_vec()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ReceiptError::Malformed(format!("`{field}` is not a base58 64-byte signature")))
}

impl From<&SignedReceipt> for ReceiptJson {
    fn from(s: &SignedReceipt) -> Self {
        let r = &s.receipt;
        ReceiptJson {
            version: VERSION,
            job: r.job.to_string(),
            milestone: r.milestone,
            agent: r.agent.to_string(),
            agent_version_seq: r.agent_version_seq,
            keeper: r.keeper.to_string(),
            inputs_hash: hex::encode(r.inputs_hash),
            output_hash: hex::encode(r.output_hash),
            cost: r.cost,
            guards: r
                .guards
                .iter()
                .map(|g| GuardJson { name: g.name.clone(), passed: g.passed, detail: g.detail.clone() })
                .collect(),
            tx_signatures: r.tx_signatures.iter().map(|t| bs58::encode(t).into_string()).collect(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            keeper_signature: bs58::encode(s.keeper_signature).into_string(),
            vendor: s.vendor.as_ref().map(|v| v.key.to_string()),
            vendor_signature: s.vendor.as_ref().map(|v| bs58::encode(v.signature).into_string()),
            hash: hex::encode(s.hash()),
        }
    }
}

impl TryFrom<&ReceiptJson> for SignedReceipt {
    type Error = ReceiptError;

    fn try_from(j: &ReceiptJson) -> Result<Self, ReceiptError> {
        if j.version != VERSION {
            return Err(ReceiptError::UnsupportedVersion(j.version));
        }
        let vendor = match (&j.vendor, &j.vendor_signature) {
            (None, None) => None,
            (Some(k), Some(s)) => {
                Some(VendorSignature { key: key("vendor", k)?, signature: sig64("vendor_signature", s)? })
            }
            _ => return Err(ReceiptError::Malformed("`vendor` and `vendor_signature` go together".into())),
        };
        let signed = SignedReceipt {
            receipt: Receipt {
                job: key("job", &j.job)?,
                milestone: j.milestone,
                agent: key("agent", &j.agent)?,
                agent_version_seq: j.agent_version_seq,
                keeper: key("keeper", &j.keeper)?,
                inputs_hash: hex32("inputs_hash", &j.inputs_hash)?,
                output_hash: hex32("output_hash", &j.output_hash)?,
                cost: j.cost,
                guards: j
                    .guards
                    .iter()
                    .map(|g| GuardCheck { name: g.name.clone(), passed: g.passed, detail: g.detail.clone() })
                    .collect(),
                tx_signatures: j.tx_signatures.iter().map(|t| sig64("tx_signatures", t)).collect::<Result<_, _>>()?,
                started_at: j.started_at,
                finished_at: j.finished_at,
            },
            keeper_signature: sig64("keeper_signature", &j.keeper_signature)?,
            vendor,
        };
        signed.receipt.check_bounds()?;
        if hex::encode(signed.hash()) != j.hash {
            return Err(ReceiptError::Malformed("`hash` does not match the receipt's contents".into()));
        }
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keeper() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn receipt() -> Receipt {
        Receipt {
            job: Pubkey::new_from_array([1; 32]),
            milestone: 2,
            agent: Pubkey::new_from_array([3; 32]),
            agent_version_seq: 4,
            keeper: Pubkey::from(keeper().verifying_key().to_bytes()),
            inputs_hash: [5; 32],
            output_hash: [6; 32],
            cost: 1_250_000,
            guards: vec![GuardCheck { name: "budget".into(), passed: true, detail: "cost <= 2.0".into() }],
            tx_signatures: vec![[9; 64]],
            started_at: 1_795_305_600,
            finished_at: 1_795_305_660,
        }
    }

    #[test]
    fn sign_encode_decode_verify() {
        let vendor = SigningKey::from_bytes(&[8; 32]);
        let signed = receipt().sign(&keeper()).unwrap().cosign(&vendor);
        signed.verify().unwrap();
        let bytes = signed.encode();
        assert_eq!(&bytes[..5], b"ARCP\x01");
        let back = SignedReceipt::decode(&bytes).unwrap();
        assert_eq!(back, signed);
        assert_eq!(back.hash(), leaf_hash(&bytes));
    }

    #[test]
    fn signing_with_another_key_is_refused() {
        assert_eq!(receipt().sign(&SigningKey::from_bytes(&[1; 32])), Err(ReceiptError::BadKeeperSignature));
    }

    #[test]
    fn tampering_breaks_signatures() {
        let mut signed = receipt().sign(&keeper()).unwrap().cosign(&SigningKey::from_bytes(&[8; 32]));
        signed.receipt.cost += 1;
        assert_eq!(signed.verify(), Err(ReceiptError::BadKeeperSignature));
        signed.receipt.cost -= 1;
        signed.vendor.as_mut().unwrap().signature[0] ^= 1;
        assert_eq!(signed.verify(), Err(ReceiptError::BadVendorSignature));
    }

    #[test]
    fn decoding_rejects_non_canonical_and_malformed_bytes() {
        let bytes = receipt().sign(&keeper()).unwrap().encode();
        assert_eq!(SignedReceipt::decode(b"NOPE\x01"), Err(ReceiptError::BadMagic));
        assert_eq!(SignedReceipt::decode(&bytes[..3]), Err(ReceiptError::BadMagic));
        let mut v2 = bytes.clone();
        v2[4] = 2;
        assert_eq!(SignedReceipt::decode(&v2), Err(ReceiptError::UnsupportedVersion(2)));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(SignedReceipt::decode(&trailing), Err(ReceiptError::Malformed(_))));
        assert!(matches!(SignedReceipt::decode(&bytes[..bytes.len() - 1]), Err(ReceiptError::Malformed(_))));
        // the guard's `passed` bool: any byte but 0 or 1 is refused
        let body = receipt();
        let mut plain = Vec::new();
        body.guards[0].serialize(&mut plain).unwrap();
        let at = bytes.windows(plain.len()).position(|w| w == plain).unwrap() + 4 + body.guards[0].name.len();
        let mut bad_bool = bytes.clone();
        bad_bool[at] = 2;
        assert!(matches!(SignedReceipt::decode(&bad_bool), Err(ReceiptError::Malformed(_))));
    }

    #[test]
    fn bounds_are_enforced() {
        let mut r = receipt();
        r.guards = vec![r.guards[0].clone(); MAX_GUARDS + 1];
        assert_eq!(r.clone().sign(&keeper()), Err(ReceiptError::OutOfBounds("guards")));
        let mut r = receipt();
        r.guards[0].name = "n".repeat(MAX_GUARD_NAME + 1);
        assert_eq!(r.sign(&keeper()), Err(ReceiptError::OutOfBounds("guards.name")));
    }

    #[test]
    fn json_round_trip_checks_the_hash() {
        let signed = receipt().sign(&keeper()).unwrap();
        let json = ReceiptJson::from(&signed);
        let text = serde_json::to_string_pretty(&json).unwrap();
        let parsed: ReceiptJson = serde_json::from_str(&text).unwrap();
        assert_eq!(SignedReceipt::try_from(&parsed).unwrap(), signed);
        let mut tampered = parsed.clone();
        tampered.cost += 1;
        assert!(matches!(SignedReceipt::try_from(&tampered), Err(ReceiptError::Malformed(m)) if m.contains("hash")));
        let mut bad_key = parsed;
        bad_key.job = "not-a-key".into();
        assert!(matches!(SignedReceipt::try_from(&bad_key), Err(ReceiptError::Malformed(m)) if m.contains("job")));
    }
}
