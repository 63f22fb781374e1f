//! Signed receipts: one per executed step. A versioned canonical binary encoding (decoding
//! rejects anything that does not re-encode to the same bytes), an ed25519 signature by the
//! keeper, an optional co-signature by the vendor agent, and a JSON form for people.
//!
//! Version 2 (written since agents co-sign) adds the job's terms hash, and the vendor signs
//! an [`OutputClaim`] (job, milestone, terms hash, output hash, cost) with the key the agent
//! registered on-chain, which it can do before any receipt exists. Version 1 receipts (no
//! terms hash; a vendor signature, if any, over the receipt) still decode and verify, so
//! anchored logs stay checkable.
//!
//! A receipt's hash, the leaf hash of its encoding, is what the keeper submits on-chain as the
//! milestone's result hash and appends to its Merkle log.

use anchor_lang::prelude::{AnchorDeserialize, AnchorSerialize, Pubkey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::merkle::{Hash, leaf_hash};

/// Leading bytes of every encoded receipt.
pub const MAGIC: [u8; 4] = *b"ARCP";
/// The encoding version this code writes (it also reads [`VERSION_1`]).
pub const VERSION: u8 = 2;
/// The first encoding: no terms hash, vendor co-signatures over the whole receipt.
pub const VERSION_1: u8 = 1;
/// Domain separation for receipt signatures (both versions: the header in the message tells
/// them apart).
const SIGNING_DOMAIN: &[u8] = b"agentrail/receipt/v1";
/// Domain separation for the vendor's signature of its output.
const OUTPUT_DOMAIN: &[u8] = b"agentrail/output/v1\0";
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
                write!(f, "unsupported receipt version {v} (this build reads {VERSION_1} and {VERSION})")
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

impl GuardCheck {
    /// A guard whose detail is cut to [`MAX_GUARD_DETAIL`] bytes (at a character boundary,
    /// ending in `...`): the start, which names the problem, is kept.
    pub fn bounded(name: &str, passed: bool, detail: String) -> Self {
        let detail = if detail.len() > MAX_GUARD_DETAIL {
            let mut end = MAX_GUARD_DETAIL - 3;
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}...", &detail[..end])
        } else {
            detail
        };
        GuardCheck { name: name.into(), passed, detail }
    }
}

/// What one executed step did. Encoded field by field in this order, then (version 2) the
/// terms hash.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// SHA-256 of the job's terms document, which the vendor's signature covers; `None` only in
    /// version-1 receipts.
    pub terms_hash: Option<Hash>,
}

/// What a vendor agent signs for a step: its output for one milestone of a job under the job's
/// terms, and what it charged. The agent can sign it as it answers, before any receipt exists;
/// the keeper checks it against the key the agent registered and keeps it in the receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputClaim {
    pub job: Pubkey,
    pub milestone: u8,
    pub terms_hash: Hash,
    /// SHA-256 of the exact answer body.
    pub output_hash: Hash,
    pub cost: u64,
}

impl OutputClaim {
    /// The signed bytes: a domain tag, job, milestone, terms hash, output hash, cost
    /// (little-endian).
    pub fn message(&self) -> Vec<u8> {
        let mut m = OUTPUT_DOMAIN.to_vec();
        m.extend_from_slice(self.job.as_ref());
        m.push(self.milestone);
        m.extend_from_slice(&self.terms_hash);
        m.extend_from_slice(&self.output_hash);
        m.extend_from_slice(&self.cost.to_le_bytes());
        m
    }

    /// Signs the claim with the agent's key.
    pub fn sign(&self, vendor: &SigningKey) -> VendorSignature {
        VendorSignature {
            key: Pubkey::from(vendor.verifying_key().to_bytes()),
            signature: vendor.sign(&self.message()).to_bytes(),
        }
    }

    /// Checks that `vendor` signed exactly this claim.
    pub fn verify(&self, vendor: &VendorSignature) -> Result<(), ReceiptError> {
        verify(&vendor.key, &self.message(), &vendor.signature, "vendor", ReceiptError::BadVendorSignature)
    }
}

/// The vendor agent's co-signature.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct VendorSignature {
    pub key: Pubkey,
    pub signature: [u8; 64],
}

/// A receipt with the keeper's signature and optionally the vendor's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedReceipt {
    pub receipt: Receipt,
    pub keeper_signature: [u8; 64],
    pub vendor: Option<VendorSignature>,
}

fn header(version: u8) -> [u8; 5] {
    [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], version]
}

impl Receipt {
    /// Its encoding version: 2 with a terms hash, 1 without.
    pub fn version(&self) -> u8 {
        if self.terms_hash.is_some() { VERSION } else { VERSION_1 }
    }

    /// What the vendor signs for this step (version 2 only).
    pub fn output_claim(&self) -> Option<OutputClaim> {
        Some(OutputClaim {
            job: self.job,
            milestone: self.milestone,
            terms_hash: self.terms_hash?,
            output_hash: self.output_hash,
            cost: self.cost,
        })
    }

    /// Appends the Borsh body: the fields in declaration order, the terms hash last (version 2).
    fn write_body(&self, out: &mut Vec<u8>) {
        // Borsh writes a tuple field by field: the same bytes as the fields in order
        let fields = (
            &self.job,
            self.milestone,
            &self.agent,
            self.agent_version_seq,
            &self.keeper,
            &self.inputs_hash,
            &self.output_hash,
            self.cost,
            &self.guards,
            &self.tx_signatures,
            self.started_at,
            self.finished_at,
        );
        AnchorSerialize::serialize(&fields, out).expect("writing to a Vec cannot fail");
        if let Some(terms) = &self.terms_hash {
            out.extend_from_slice(terms);
        }
    }

    /// Reads a body written by [`Receipt::write_body`] for `version`.
    fn read_body(version: u8, r: &mut &[u8]) -> std::io::Result<Self> {
        #[allow(clippy::type_complexity)]
        let (
            job,
            milestone,
            agent,
            agent_version_seq,
            keeper,
            inputs_hash,
            output_hash,
            cost,
            guards,
            tx_signatures,
            started_at,
            finished_at,
        ): (Pubkey, u8, Pubkey, u32, Pubkey, Hash, Hash, u64, Vec<GuardCheck>, Vec<[u8; 64]>, i64, i64) =
            AnchorDeserialize::deserialize_reader(r)?;
        Ok(Receipt {
            job,
            milestone,
            agent,
            agent_version_seq,
            keeper,
            inputs_hash,
            output_hash,
            cost,
            guards,
            tx_signatures,
            started_at,
            finished_at,
            terms_hash: if version == VERSION { Some(AnchorDeserialize::deserialize_reader(r)?) } else { None },
        })
    }

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
        msg.extend_from_slice(&header(self.version()));
        self.write_body(&mut msg);
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
    /// Adds the vendor agent's co-signature made with `vendor` (of the [`OutputClaim`]; of the
    /// whole receipt in version 1).
    pub fn cosign(self, vendor: &SigningKey) -> Self {
        let signature = match self.receipt.output_claim() {
            Some(claim) => claim.sign(vendor),
            None => VendorSignature {
                key: Pubkey::from(vendor.verifying_key().to_bytes()),
                signature: vendor.sign(&self.receipt.signing_message()).to_bytes(),
            },
        };
        self.with_vendor(signature)
    }

    /// Attaches a co-signature the vendor made ([`SignedReceipt::verify`] checks it).
    pub fn with_vendor(mut self, vendor: VendorSignature) -> Self {
        self.vendor = Some(vendor);
        self
    }

    /// Checks bounds and every signature present.
    pub fn verify(&self) -> Result<(), ReceiptError> {
        self.receipt.check_bounds()?;
        let msg = self.receipt.signing_message();
        verify(&self.receipt.keeper, &msg, &self.keeper_signature, "keeper", ReceiptError::BadKeeperSignature)?;
        if let Some(v) = &self.vendor {
            match self.receipt.output_claim() {
                Some(claim) => claim.verify(v)?,
                None => verify(&v.key, &msg, &v.signature, "vendor", ReceiptError::BadVendorSignature)?,
            }
        }
        Ok(())
    }

    /// The canonical encoding: `ARCP`, version, the receipt's body, the keeper's signature, the
    /// optional vendor signature (Borsh).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = header(self.receipt.version()).to_vec();
        self.receipt.write_body(&mut out);
        out.extend_from_slice(&self.keeper_signature);
        AnchorSerialize::serialize(&self.vendor, &mut out).expect("writing to a Vec cannot fail");
        out
    }

    /// Decodes the canonical encoding (either version); anything else is an error, never a
    /// panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, ReceiptError> {
        if bytes.len() < 5 || bytes[..4] != MAGIC {
            return Err(ReceiptError::BadMagic);
        }
        let version = bytes[4];
        if version != VERSION && version != VERSION_1 {
            return Err(ReceiptError::UnsupportedVersion(version));
        }
        let mut rest = &bytes[5..];
        let read = |rest: &mut &[u8]| -> std::io::Result<SignedReceipt> {
            Ok(SignedReceipt {
                receipt: Receipt::read_body(version, rest)?,
                keeper_signature: AnchorDeserialize::deserialize_reader(rest)?,
                vendor: AnchorDeserialize::deserialize_reader(rest)?,
            })
        };
        let receipt = read(&mut rest).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(ReceiptError::Malformed(format!("{} bytes after the receipt", rest.len())));
        }
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
    /// The job's terms hash, hex (version 2; absent in version 1).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub terms_hash: Option<String>,
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
            version: r.version(),
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
            terms_hash: r.terms_hash.map(hex::encode),
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
        let terms_hash = match (j.version, &j.terms_hash) {
            (VERSION, Some(t)) => Some(hex32("terms_hash", t)?),
            (VERSION_1, None) => None,
            (VERSION | VERSION_1, _) => {
                return Err(ReceiptError::Malformed(format!(
                    "a version {} receipt {} a `terms_hash`",
                    j.version,
                    if j.version == VERSION { "must have" } else { "has no" }
                )));
            }
            (v, _) => return Err(ReceiptError::UnsupportedVersion(v)),
        };
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
                terms_hash,
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
            terms_hash: Some([10; 32]),
        }
    }

    #[test]
    fn sign_encode_decode_verify() {
        let vendor = SigningKey::from_bytes(&[8; 32]);
        let signed = receipt().sign(&keeper()).unwrap().cosign(&vendor);
        signed.verify().unwrap();
        let bytes = signed.encode();
        assert_eq!(&bytes[..5], b"ARCP\x02");
        let back = SignedReceipt::decode(&bytes).unwrap();
        assert_eq!(back, signed);
        assert_eq!(back.hash(), leaf_hash(&bytes));
        let json = ReceiptJson::from(&signed);
        assert_eq!(SignedReceipt::try_from(&json).unwrap(), signed);
    }

    /// The vendor signs its output before any receipt exists; the same signature, attached by
    /// the keeper, verifies in the receipt, and binds job, milestone, terms, output and cost.
    #[test]
    fn the_vendors_output_claim_is_what_the_receipt_verifies() {
        let vendor = SigningKey::from_bytes(&[8; 32]);
        let claim = receipt().output_claim().unwrap();
        let signature = claim.sign(&vendor);
        let signed = receipt().sign(&keeper()).unwrap().with_vendor(signature.clone());
        signed.verify().unwrap();
        assert_eq!(signed, receipt().sign(&keeper()).unwrap().cosign(&vendor));
        let edits: [fn(&mut OutputClaim); 5] = [
            |c| c.job = Pubkey::new_from_array([0; 32]),
            |c| c.milestone += 1,
            |c| c.terms_hash[0] ^= 1,
            |c| c.output_hash[0] ^= 1,
            |c| c.cost += 1,
        ];
        for edit in edits {
            let mut other = claim;
            edit(&mut other);
            assert_eq!(other.verify(&signature), Err(ReceiptError::BadVendorSignature));
        }
        // a receipt for other terms carries the keeper's signature over them, but the vendor's
        // no longer verifies
        let mut moved = receipt();
        moved.terms_hash = Some([11; 32]);
        let moved = moved.sign(&keeper()).unwrap().with_vendor(signature);
        assert_eq!(moved.verify(), Err(ReceiptError::BadVendorSignature));
    }

    /// A version-1 receipt written by the code before co-signatures (bytes kept in
    /// `tests/data/receipt_v1.hex`) still decodes, re-encodes to the same bytes and verifies,
    /// so logs anchored before the upgrade stay checkable.
    #[test]
    fn version_1_receipts_still_decode_and_verify() {
        let bytes = hex::decode(include_str!("../tests/data/receipt_v1.hex").trim()).unwrap();
        let signed = SignedReceipt::decode(&bytes).unwrap();
        assert_eq!(signed.receipt, Receipt { terms_hash: None, ..receipt() });
        assert_eq!(signed.encode(), bytes);
        signed.verify().unwrap();
        assert!(signed.vendor.is_some());
        let json = ReceiptJson::from(&signed);
        assert_eq!((json.version, json.terms_hash.as_deref()), (1, None));
        assert_eq!(SignedReceipt::try_from(&json).unwrap(), signed);
        let mut tampered = signed.clone();
        tampered.vendor.as_mut().unwrap().signature[3] ^= 1;
        assert_eq!(tampered.verify(), Err(ReceiptError::BadVendorSignature));
        // the versions cannot be confused: a version-2 header on version-1 bytes does not decode
        let mut relabelled = bytes.clone();
        relabelled[4] = VERSION;
        assert!(SignedReceipt::decode(&relabelled).is_err());
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
        let mut v3 = bytes.clone();
        v3[4] = 3;
        assert_eq!(SignedReceipt::decode(&v3), Err(ReceiptError::UnsupportedVersion(3)));
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
