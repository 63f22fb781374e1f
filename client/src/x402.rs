//! The agent protocol, `agentrail-escrow` over x402 v2: how a keeper asks an agent for a
//! milestone's step and how the agent knows it will be paid before it works.
//!
//! 1. The keeper POSTs a [`StepRequest`] (the work: job, milestone, price, deadline, the terms'
//!    hash and address). An agent shown no payment answers `402` with a `PAYMENT-REQUIRED`
//!    header: base64 JSON of an x402 v2 `PaymentRequired` whose `accepts` offer the
//!    [`SCHEME`] (network: the cluster's CAIP-2 id, asset: a mint, amount: the agent's price,
//!    payTo: its payout wallet, extra: the program id and `paymentFlow: escrow`).
//! 2. The keeper retries with `PAYMENT-SIGNATURE`: base64 JSON of an x402 v2 `PaymentPayload`
//!    whose payload is an [`EscrowAuthorization`]: job, milestone, the amount escrowed for it,
//!    terms hash, the request body's hash and an idempotency key, signed (ed25519,
//!    domain-separated) by the job's keeper key, valid for a few minutes.
//! 3. The agent checks the signature and the escrow on-chain (the job is funded, names it, the
//!    milestone is pending, the escrow covers its price...), runs the work once per idempotency
//!    key, and answers with its result and `PAYMENT-RESPONSE` (an x402 settle response naming
//!    the job account: settlement is the milestone's on-chain release, which the agent can
//!    watch without trusting the keeper). An agent that registered a signing key on-chain
//!    also sends [`OUTPUT_SIGNATURE`]: its signature of the step's
//!    [`OutputClaim`](crate::receipt::OutputClaim) (job, milestone, terms hash, SHA-256 of the
//!    exact answer body, cost), which the keeper checks and keeps in the receipt.
//!
//! The wire types are `x402-types`' (no Solana dependencies); this module adds the scheme.

use anchor_lang::prelude::Pubkey;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
pub use x402_types::proto::v2::{PaymentPayload, PaymentRequired, PaymentRequirements};

/// The x402 scheme name of escrow-backed payment through Agentrail.
pub const SCHEME: &str = "agentrail-escrow";
/// Header of the agent's 402 answer: base64 JSON [`PaymentRequired`].
pub const PAYMENT_REQUIRED: &str = "PAYMENT-REQUIRED";
/// Header of the keeper's paid request: base64 JSON [`PaymentPayload`] of an
/// [`EscrowAuthorization`].
pub const PAYMENT_SIGNATURE: &str = "PAYMENT-SIGNATURE";
/// Header of the agent's paid answer: base64 JSON x402 settle response.
pub const PAYMENT_RESPONSE: &str = "PAYMENT-RESPONSE";
/// Header of the agent's answer with its co-signature of the output: base64 JSON
/// [`OutputSignature`]. Required from agents that registered a signing key.
pub const OUTPUT_SIGNATURE: &str = "AGENTRAIL-OUTPUT-SIGNATURE";
/// Header carrying a step's idempotency key (also inside the signed authorization).
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Where an agent serves its manifest, at the origin of its endpoint: its SHA-256 is the
/// registry's `manifest_hash` for the agent's current version.
pub const MANIFEST_PATH: &str = "/.well-known/agentrail.json";
/// Where an agent accepts jobs, at the origin of its endpoint: a POST of [`AcceptRequest`]
/// answers with its signed [`Acceptance`](crate::consent::Acceptance) of the job (200), or a
/// JSON `{"error": ...}` naming why it refuses (4xx).
pub const ACCEPT_PATH: &str = "/.well-known/agentrail/accept";
/// The step request body's schema.
pub const STEP_SCHEMA: &str = "agentrail.step/v1";
/// The compensation request body's schema (POSTed to the same endpoint).
pub const COMPENSATE_SCHEMA: &str = "agentrail.compensate/v1";
/// Header of a compensation request: base64 JSON [`EscrowAuthorization`] signed in the
/// compensation domain (no payment: the escrow never pays for undoing).
pub const AUTHORIZATION: &str = "AGENTRAIL-AUTHORIZATION";
/// Longest an authorization may be valid: a stolen one is useless soon after.
pub const MAX_VALIDITY_SECS: i64 = 300;
/// Clock skew tolerated between keeper and agent.
pub const CLOCK_SKEW_SECS: i64 = 30;
/// Domain separation: an authorization's signature can never be taken for a transaction's, a
/// receipt's or another scheme's.
const DOMAIN: &[u8] = b"agentrail/x402-escrow/v1\0";
/// Domain of a compensation's authorization: never taken for a payment's.
const COMPENSATE_DOMAIN: &[u8] = b"agentrail/compensate/v1\0";

/// A payment that is the wire form of this scheme: requirements accepted, authorization signed.
pub type EscrowPayment = PaymentPayload<PaymentRequirements, EscrowAuthorization>;

/// What a keeper asks an agent to accept (POSTed to [`ACCEPT_PATH`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The job's address (base58).
    pub job: String,
}

/// What the keeper asks an agent to do: one milestone's step.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepRequest {
    /// Always [`STEP_SCHEMA`].
    pub schema: String,
    pub job: String,
    pub milestone: u8,
    /// The agent account the job names.
    pub agent: String,
    /// The milestone's escrowed amount, in base units of `mint` (before the protocol fee).
    pub budget: u64,
    pub mint: String,
    /// The job's deadline (unix seconds): the step's submission must land before it.
    pub deadline: i64,
    /// SHA-256 of the job's terms document (hex), as pinned on-chain.
    pub terms_hash: String,
    /// Where the terms document is (the agent checks its hash against `terms_hash`).
    pub terms_uri: String,
    /// This milestone's part of the terms, when the keeper holds a copy matching the hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<crate::terms::MilestoneTerms>,
    /// The result hashes (hex) the job's earlier milestones were submitted with, in order: the
    /// on-chain hashes of their receipts, each of which (with its output hash) the keeper
    /// serves at `/jobs/<job>/receipts`.
    #[serde(default)]
    pub previous_results: Vec<String>,
}

impl StepRequest {
    /// The request's idempotency key: one per job and milestone, whoever asks and however
    /// often (retries, a second keeper, a restart).
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}", self.job, self.milestone)
    }
}

/// What the keeper asks an agent to undo: an executed milestone of a job that ended with a
/// milestone refunded to its poster.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompensationRequest {
    /// Always [`COMPENSATE_SCHEMA`].
    pub schema: String,
    pub job: String,
    pub milestone: u8,
    pub agent: String,
    pub mint: String,
    pub terms_hash: String,
    pub terms_uri: String,
    /// The hash (hex) of the step's receipt: the milestone's on-chain result hash.
    pub undoes: String,
    /// The milestone's compensation, from the pinned terms.
    pub work: crate::terms::Compensation,
}

impl CompensationRequest {
    /// One per job and milestone, distinct from the step's.
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}:compensate", self.job, self.milestone)
    }
}

/// The scheme's signed payload: the job's keeper vouches that this request is for a funded
/// milestone of a job it keeps.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscrowAuthorization {
    pub job: String,
    pub milestone: u8,
    pub agent: String,
    /// The keeper key that signs (the job's `keeper`).
    pub keeper: String,
    pub mint: String,
    /// The milestone's escrowed amount (base units).
    pub amount: u64,
    /// The job's terms hash (hex).
    pub terms_hash: String,
    /// SHA-256 of the exact request body (hex): the work cannot be swapped under the signature.
    pub request_hash: String,
    pub idempotency_key: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds; at most [`MAX_VALIDITY_SECS`] after `issued_at`.
    pub expires_at: i64,
    /// ed25519 over [`EscrowAuthorization::signing_message`], base58.
    pub signature: String,
}

/// Why an authorization or a protocol message is refused; each names the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("malformed {what}: {why}")]
    Malformed { what: &'static str, why: String },
    #[error("the authorization's signature does not verify for keeper {0}")]
    BadSignature(String),
    #[error("the authorization expired at {expires_at} (now {now})")]
    Expired { expires_at: i64, now: i64 },
    #[error("the authorization is not valid yet (issued {issued_at}, now {now})")]
    NotYetValid { issued_at: i64, now: i64 },
    #[error("the authorization is valid for {0} s, more than the {MAX_VALIDITY_SECS} s allowed")]
    TooLong(i64),
    #[error("the authorization is for {field} {signed}, but the request says {requested}")]
    Mismatch { field: &'static str, signed: String, requested: String },
}

fn malformed(what: &'static str, why: impl ToString) -> ProtocolError {
    ProtocolError::Malformed { what, why: why.to_string() }
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn key_bytes(what: &'static str, s: &str) -> Result<[u8; 32], ProtocolError> {
    s.parse::<Pubkey>().map(|k| k.to_bytes()).map_err(|e| malformed(what, e))
}

impl EscrowAuthorization {
    /// The authorization the keeper signs for `request` with body `body`, valid `validity_secs`
    /// from `now`.
    pub fn sign(request: &StepRequest, body: &[u8], keeper: &SigningKey, now: i64, validity_secs: i64) -> Self {
        Self::sign_in(DOMAIN, Bound::step(request), body, keeper, now, validity_secs)
    }

    /// The authorization of a compensation request (amount 0, the compensation domain).
    pub fn sign_compensation(
        request: &CompensationRequest,
        body: &[u8],
        keeper: &SigningKey,
        now: i64,
        validity_secs: i64,
    ) -> Self {
        Self::sign_in(COMPENSATE_DOMAIN, Bound::compensation(request), body, keeper, now, validity_secs)
    }

    fn sign_in(domain: &[u8], b: Bound, body: &[u8], keeper: &SigningKey, now: i64, validity_secs: i64) -> Self {
        let mut auth = EscrowAuthorization {
            job: b.job,
            milestone: b.milestone,
            agent: b.agent,
            keeper: Pubkey::from(keeper.verifying_key().to_bytes()).to_string(),
            mint: b.mint,
            amount: b.amount,
            terms_hash: b.terms_hash,
            request_hash: sha256_hex(body),
            idempotency_key: b.idempotency_key,
            issued_at: now,
            expires_at: now.saturating_add(validity_secs.min(MAX_VALIDITY_SECS)),
            signature: String::new(),
        };
        // every field is ours and well-formed: the message cannot fail to build
        let msg = auth.message_in(domain).expect("a freshly built authorization encodes");
        auth.signature = bs58::encode(keeper.sign(&msg).to_bytes()).into_string();
        auth
    }

    /// The signed bytes: a domain tag, then every field but the signature in a fixed binary
    /// layout (keys as 32 bytes, hashes as 32 bytes, integers little-endian, the key
    /// length-prefixed).
    pub fn signing_message(&self) -> Result<Vec<u8>, ProtocolError> {
        self.message_in(DOMAIN)
    }

    fn message_in(&self, domain: &[u8]) -> Result<Vec<u8>, ProtocolError> {
        let hash = |what, s: &str| -> Result<[u8; 32], ProtocolError> {
            hex::decode(s).map_err(|e| malformed(what, e))?.try_into().map_err(|_| malformed(what, "not 32 bytes"))
        };
        let mut m = domain.to_vec();
        m.extend_from_slice(&key_bytes("job", &self.job)?);
        m.push(self.milestone);
        m.extend_from_slice(&key_bytes("agent", &self.agent)?);
        m.extend_from_slice(&key_bytes("keeper", &self.keeper)?);
        m.extend_from_slice(&key_bytes("mint", &self.mint)?);
        m.extend_from_slice(&self.amount.to_le_bytes());
        m.extend_from_slice(&hash("termsHash", &self.terms_hash)?);
        m.extend_from_slice(&hash("requestHash", &self.request_hash)?);
        m.extend_from_slice(&self.issued_at.to_le_bytes());
        m.extend_from_slice(&self.expires_at.to_le_bytes());
        let key = self.idempotency_key.as_bytes();
        let len = u16::try_from(key.len()).map_err(|_| malformed("idempotencyKey", "longer than 65535 bytes"))?;
        m.extend_from_slice(&len.to_le_bytes());
        m.extend_from_slice(key);
        Ok(m)
    }

    /// Checks the signature by `keeper`, the validity window at `now`, and that it authorises
    /// exactly `request` with body `body`. The escrow itself is checked on-chain by the caller.
    pub fn verify(&self, request: &StepRequest, body: &[u8], now: i64) -> Result<(), ProtocolError> {
        self.verify_in(DOMAIN, Bound::step(request), body, now)
    }

    /// [`EscrowAuthorization::verify`] for a compensation request (its domain, amount 0).
    pub fn verify_compensation(
        &self,
        request: &CompensationRequest,
        body: &[u8],
        now: i64,
    ) -> Result<(), ProtocolError> {
        self.verify_in(COMPENSATE_DOMAIN, Bound::compensation(request), body, now)
    }

    fn verify_in(&self, domain: &[u8], request: Bound, body: &[u8], now: i64) -> Result<(), ProtocolError> {
        let sig: [u8; 64] = bs58::decode(&self.signature)
            .into_vec()
            .map_err(|e| malformed("signature", e))?
            .try_into()
            .map_err(|_| malformed("signature", "not 64 bytes"))?;
        let key = VerifyingKey::from_bytes(&key_bytes("keeper", &self.keeper)?)
            .map_err(|_| ProtocolError::BadSignature(self.keeper.clone()))?;
        key.verify(&self.message_in(domain)?, &Signature::from_bytes(&sig))
            .map_err(|_| ProtocolError::BadSignature(self.keeper.clone()))?;
        if self.expires_at - self.issued_at > MAX_VALIDITY_SECS {
            return Err(ProtocolError::TooLong(self.expires_at - self.issued_at));
        }
        if now > self.expires_at.saturating_add(CLOCK_SKEW_SECS) {
            return Err(ProtocolError::Expired { expires_at: self.expires_at, now });
        }
        if now < self.issued_at.saturating_sub(CLOCK_SKEW_SECS) {
            return Err(ProtocolError::NotYetValid { issued_at: self.issued_at, now });
        }
        let same = |field: &'static str, signed: String, requested: String| {
            if signed == requested { Ok(()) } else { Err(ProtocolError::Mismatch { field, signed, requested }) }
        };
        same("body hash", self.request_hash.clone(), sha256_hex(body))?;
        same("job", self.job.clone(), request.job.clone())?;
        same("milestone", self.milestone.to_string(), request.milestone.to_string())?;
        same("agent", self.agent.clone(), request.agent.clone())?;
        same("mint", self.mint.clone(), request.mint.clone())?;
        same("amount", self.amount.to_string(), request.amount.to_string())?;
        same("terms hash", self.terms_hash.clone(), request.terms_hash.clone())?;
        same("idempotency key", self.idempotency_key.clone(), request.idempotency_key)?;
        Ok(())
    }
}

/// What an authorization binds of a request, whichever kind.
struct Bound {
    job: String,
    milestone: u8,
    agent: String,
    mint: String,
    amount: u64,
    terms_hash: String,
    idempotency_key: String,
}

impl Bound {
    fn step(r: &StepRequest) -> Self {
        Bound {
            job: r.job.clone(),
            milestone: r.milestone,
            agent: r.agent.clone(),
            mint: r.mint.clone(),
            amount: r.budget,
            terms_hash: r.terms_hash.clone(),
            idempotency_key: r.idempotency_key(),
        }
    }

    fn compensation(r: &CompensationRequest) -> Self {
        Bound {
            job: r.job.clone(),
            milestone: r.milestone,
            agent: r.agent.clone(),
            mint: r.mint.clone(),
            amount: 0,
            terms_hash: r.terms_hash.clone(),
            idempotency_key: r.idempotency_key(),
        }
    }
}

/// The CAIP-2 id of a Solana cluster: `solana:` and the first 32 characters of its genesis
/// hash (base58).
pub fn network(genesis_hash: &str) -> String {
    format!("solana:{}", &genesis_hash[..genesis_hash.len().min(32)])
}

/// What an agent asks to be paid for a step, in one mint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// CAIP-2 network ([`network`]).
    pub network: String,
    pub mint: Pubkey,
    /// The least the milestone must pay the agent (after the protocol fee), base units.
    pub price: u64,
    /// The agent's payout wallet.
    pub pay_to: Pubkey,
    /// How long the agent may take, in seconds.
    pub max_timeout_secs: u64,
}

impl Offer {
    /// The offer as x402 v2 payment requirements of this scheme.
    pub fn requirements(&self) -> PaymentRequirements {
        PaymentRequirements {
            scheme: SCHEME.into(),
            // `solana:<reference>` always parses (x402 splits at the first colon)
            network: self.network.parse().expect("a CAIP-2 id parses"),
            amount: self.price.to_string(),
            pay_to: self.pay_to.to_string(),
            max_timeout_seconds: self.max_timeout_secs,
            asset: self.mint.to_string(),
            extra: Some(serde_json::json!({
                "programId": crate::program_id().to_string(),
                "paymentFlow": "escrow",
                "settlement": "the milestone's release from the job's escrow on-chain",
            })),
        }
    }
}

/// The body of a 402 answer offering `offers`, with `error` saying why no payment was taken.
pub fn payment_required(resource: &str, offers: &[Offer], error: Option<String>) -> PaymentRequired {
    PaymentRequired {
        x402_version: Default::default(),
        error,
        resource: Some(x402_types::proto::v2::ResourceInfo {
            url: resource.into(),
            description: Some("one milestone of an Agentrail job, paid from its on-chain escrow".into()),
            mime_type: Some("application/json".into()),
        }),
        accepts: offers.iter().map(Offer::requirements).collect(),
        extensions: Default::default(),
    }
}

/// The keeper's payment for a request: the offer it accepted and its signed authorization.
pub fn payment(accepted: PaymentRequirements, authorization: EscrowAuthorization) -> EscrowPayment {
    PaymentPayload {
        accepted,
        payload: authorization,
        resource: None,
        x402_version: Default::default(),
        extensions: Default::default(),
    }
}

/// Encodes a protocol message for a header: base64 of its JSON.
pub fn encode_header<T: Serialize>(message: &T) -> String {
    // our own types and x402's always serialise
    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(message).expect("serialisable"))
}

/// Decodes a header written by [`encode_header`].
pub fn decode_header<T: serde::de::DeserializeOwned>(what: &'static str, value: &str) -> Result<T, ProtocolError> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(value.trim()).map_err(|e| malformed(what, e))?;
    serde_json::from_slice(&bytes).map_err(|e| malformed(what, e))
}

/// The `PAYMENT-RESPONSE` of a paid step: in this scheme settlement is the release of
/// milestone `milestone` from the escrow of `job`, so the response names the job account
/// (`transaction`) and the party that funded it (`payer`).
pub fn settle_response(network: &str, job: &str, payer: &str) -> serde_json::Value {
    serde_json::json!({ "success": true, "payer": payer, "transaction": job, "network": network })
}

/// The wire form of an agent's co-signature of its output ([`OUTPUT_SIGNATURE`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputSignature {
    /// The agent's registered signing key, base58.
    pub key: String,
    /// ed25519 over [`OutputClaim::message`](crate::receipt::OutputClaim::message), base58.
    pub signature: String,
}

impl From<&crate::receipt::VendorSignature> for OutputSignature {
    fn from(v: &crate::receipt::VendorSignature) -> Self {
        OutputSignature { key: v.key.to_string(), signature: bs58::encode(v.signature).into_string() }
    }
}

impl TryFrom<&OutputSignature> for crate::receipt::VendorSignature {
    type Error = ProtocolError;

    fn try_from(s: &OutputSignature) -> Result<Self, ProtocolError> {
        let signature = bs58::decode(&s.signature)
            .into_vec()
            .map_err(|e| malformed("output signature", e))?
            .try_into()
            .map_err(|_| malformed("output signature", "not 64 bytes"))?;
        Ok(crate::receipt::VendorSignature { key: Pubkey::new_from_array(key_bytes("output key", &s.key)?), signature })
    }
}

/// What an agent answers a paid step with.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepAnswer {
    /// The work's result (any JSON).
    pub output: serde_json::Value,
    /// What the step cost, base units of the job's mint.
    #[serde(default)]
    pub cost: u64,
    /// On-chain transactions the step executed (base58 signatures).
    #[serde(default)]
    pub tx_signatures: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> StepRequest {
        StepRequest {
            schema: STEP_SCHEMA.into(),
            job: Pubkey::new_unique().to_string(),
            milestone: 1,
            agent: Pubkey::new_unique().to_string(),
            budget: 2_000_000,
            mint: Pubkey::new_unique().to_string(),
            deadline: 10_000,
            terms_hash: "ab".repeat(32),
            terms_uri: "https://example.org/terms.json".into(),
            work: None,
            previous_results: vec!["cd".repeat(32)],
        }
    }

    #[test]
    fn an_authorization_verifies_only_for_its_request_and_window() {
        let keeper = SigningKey::from_bytes(&[3; 32]);
        let req = request();
        let body = serde_json::to_vec(&req).unwrap();
        let auth = EscrowAuthorization::sign(&req, &body, &keeper, 1_000, 120);
        auth.verify(&req, &body, 1_050).unwrap();
        assert_eq!(auth.verify(&req, &body, 1_151), Err(ProtocolError::Expired { expires_at: 1_120, now: 1_151 }));
        assert!(matches!(auth.verify(&req, &body, 900), Err(ProtocolError::NotYetValid { .. })));
        // another body, another milestone, a forged key: refused by name
        let other = serde_json::to_vec(&StepRequest { milestone: 2, ..req.clone() }).unwrap();
        assert!(matches!(auth.verify(&req, &other, 1_050), Err(ProtocolError::Mismatch { field: "body hash", .. })));
        let moved = StepRequest { milestone: 2, ..req.clone() };
        assert!(matches!(auth.verify(&moved, &body, 1_050), Err(ProtocolError::Mismatch { field: "milestone", .. })));
        let mut forged = auth.clone();
        forged.keeper = Pubkey::from(SigningKey::from_bytes(&[4; 32]).verifying_key().to_bytes()).to_string();
        assert!(matches!(forged.verify(&req, &body, 1_050), Err(ProtocolError::BadSignature(_))));
        let mut raised = auth.clone();
        raised.amount += 1;
        assert!(matches!(raised.verify(&req, &body, 1_050), Err(ProtocolError::BadSignature(_))));
        // a window longer than allowed is refused even when signed
        let mut long = EscrowAuthorization::sign(&req, &body, &keeper, 1_000, 120);
        long.expires_at = 1_000 + MAX_VALIDITY_SECS + 1;
        let msg = long.signing_message().unwrap();
        long.signature = bs58::encode(keeper.sign(&msg).to_bytes()).into_string();
        assert_eq!(long.verify(&req, &body, 1_050), Err(ProtocolError::TooLong(MAX_VALIDITY_SECS + 1)));
    }

    #[test]
    fn headers_round_trip_through_the_x402_wire_types() {
        let offer = Offer {
            network: network("4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY"),
            mint: Pubkey::new_unique(),
            price: 1_500,
            pay_to: Pubkey::new_unique(),
            max_timeout_secs: 60,
        };
        assert_eq!(offer.network, "solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z");
        let required = payment_required("http://agent/step", std::slice::from_ref(&offer), Some("no payment".into()));
        let header = encode_header(&required);
        // a plain x402 client reads it as generic JSON with the v2 fields
        let plain: serde_json::Value = decode_header("PAYMENT-REQUIRED", &header).unwrap();
        assert_eq!(plain["x402Version"], 2);
        assert_eq!(plain["accepts"][0]["scheme"], SCHEME);
        assert_eq!(plain["accepts"][0]["network"], offer.network);
        assert_eq!(plain["accepts"][0]["asset"], offer.mint.to_string());
        assert_eq!(plain["accepts"][0]["amount"], "1500");
        let back: PaymentRequired = decode_header("PAYMENT-REQUIRED", &header).unwrap();
        assert_eq!(back.accepts, vec![offer.requirements()]);

        let keeper = SigningKey::from_bytes(&[5; 32]);
        let req = request();
        let body = serde_json::to_vec(&req).unwrap();
        let paid = payment(offer.requirements(), EscrowAuthorization::sign(&req, &body, &keeper, 10, 60));
        let back: EscrowPayment = decode_header("PAYMENT-SIGNATURE", &encode_header(&paid)).unwrap();
        assert_eq!(back.payload, paid.payload);
        back.payload.verify(&req, &body, 20).unwrap();
        assert!(matches!(
            decode_header::<EscrowPayment>("PAYMENT-SIGNATURE", "not base64!"),
            Err(ProtocolError::Malformed { what: "PAYMENT-SIGNATURE", .. })
        ));
    }

    /// The co-signature header carries a vendor signature both ways, and a malformed one is
    /// refused by name.
    #[test]
    fn the_output_signature_header_round_trips() {
        let claim = crate::receipt::OutputClaim {
            job: Pubkey::new_unique(),
            milestone: 3,
            terms_hash: [1; 32],
            output_hash: [2; 32],
            cost: 7,
        };
        let signed = claim.sign(&SigningKey::from_bytes(&[6; 32]));
        let header = encode_header(&OutputSignature::from(&signed));
        let wire: OutputSignature = decode_header(OUTPUT_SIGNATURE, &header).unwrap();
        let back = crate::receipt::VendorSignature::try_from(&wire).unwrap();
        assert_eq!(back, signed);
        claim.verify(&back).unwrap();
        let short = OutputSignature { signature: bs58::encode([1u8; 10]).into_string(), ..wire.clone() };
        assert!(matches!(
            crate::receipt::VendorSignature::try_from(&short),
            Err(ProtocolError::Malformed { what: "output signature", .. })
        ));
        let bad_key = OutputSignature { key: "nope".into(), ..wire };
        assert!(crate::receipt::VendorSignature::try_from(&bad_key).is_err());
    }

    /// A compensation's authorization binds its body and key like a payment's, and the two
    /// domains never verify for each other.
    #[test]
    fn compensation_authorizations_are_their_own_domain() {
        let keeper = SigningKey::from_bytes(&[5; 32]);
        let step = request();
        let comp = CompensationRequest {
            schema: COMPENSATE_SCHEMA.into(),
            job: step.job.clone(),
            milestone: step.milestone,
            agent: step.agent.clone(),
            mint: step.mint.clone(),
            terms_hash: step.terms_hash.clone(),
            terms_uri: step.terms_uri.clone(),
            undoes: "ef".repeat(32),
            work: crate::terms::Compensation {
                instructions: "undo".into(),
                inputs: serde_json::Value::Null,
                paid: false,
            },
        };
        assert_eq!(comp.idempotency_key(), format!("{}:1:compensate", step.job));
        let body = serde_json::to_vec(&comp).unwrap();
        let auth = EscrowAuthorization::sign_compensation(&comp, &body, &keeper, 10, 60);
        auth.verify_compensation(&comp, &body, 20).unwrap();
        assert_eq!(auth.amount, 0, "no payment");
        assert!(matches!(
            auth.verify_compensation(&comp, b"{}", 20),
            Err(ProtocolError::Mismatch { field: "body hash", .. })
        ));
        // a payment's signature is no compensation's, and the other way round
        let paid = EscrowAuthorization::sign(&step, &body, &keeper, 10, 60);
        let as_compensation = EscrowAuthorization { idempotency_key: comp.idempotency_key(), amount: 0, ..paid };
        assert!(matches!(as_compensation.verify_compensation(&comp, &body, 20), Err(ProtocolError::BadSignature(_))));
        let step_body = serde_json::to_vec(&step).unwrap();
        let forged = EscrowAuthorization::sign_compensation(&comp, &step_body, &keeper, 10, 60);
        let as_payment = EscrowAuthorization { idempotency_key: step.idempotency_key(), amount: step.budget, ..forged };
        assert!(matches!(as_payment.verify(&step, &step_body, 20), Err(ProtocolError::BadSignature(_))));
    }
}
