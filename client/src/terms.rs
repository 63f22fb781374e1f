//! A job's terms: the document that says what each milestone's work is. Its SHA-256 (of the
//! exact bytes) is the job's on-chain `terms_hash`, fixed at creation; `terms_uri` says where
//! to fetch it. Schema `agentrail.terms/v1`:
//!
//! ```json
//! {
//!   "schema": "agentrail.terms/v1",
//!   "title": "Rebalance the SOL/USDC position",
//!   "milestones": [
//!     {
//!       "title": "Quote",
//!       "instructions": "Quote a swap of 10 SOL to USDC on the best route",
//!       "inputs": {"from": "SOL", "to": "USDC", "amount": "10"},
//!       "acceptance": ["route and price impact reported", "quote younger than 30 s"],
//!       "max_cost": "0.5",
//!       "amount": "12.5",
//!       "requires_approval": false
//!     }
//!   ]
//! }
//! ```
//!
//! Amounts are UI units of the job's mint. `inputs` is any JSON value, `max_cost` is optional;
//! unknown fields are refused so a typo never silently drops a condition.
//!
//! A milestone may declare its `compensation` (`{"instructions": ..., "inputs": ..., "paid":
//! false}`): what undoes it when the job ends with any milestone refunded.
//!
//! A milestone whose work is on-chain may set `rails`, the limits the keeper checks on the
//! transactions the agent reports before the milestone is submitted (amounts in base units, as
//! strings):
//!
//! ```json
//! "rails": {
//!   "wallet": "<the agent's execution wallet: it signs every reported transaction>",
//!   "programs": ["TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"],
//!   "max_outflow": {"<mint>": "2000000"},
//!   "min_received": {"owner": "<who receives>", "mint": "<mint>", "amount": "990000"},
//!   "price_feed": {"account": "<Pyth PriceUpdateV2 account>", "max_age_secs": 60},
//!   "commitment": "confirmed"
//! }
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The schema name every v1 terms document carries.
pub const SCHEMA_V1: &str = "agentrail.terms/v1";

/// A parsed terms document.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// Always [`SCHEMA_V1`] for this version.
    pub schema: String,
    /// What the whole job is.
    pub title: String,
    /// One entry per milestone, in order.
    pub milestones: Vec<MilestoneTerms>,
}

/// What one milestone's work is.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MilestoneTerms {
    /// Short name of the step.
    pub title: String,
    /// What the agent must do.
    pub instructions: String,
    /// The step's inputs (any JSON).
    #[serde(default)]
    pub inputs: serde_json::Value,
    /// Conditions the result must meet; at least one.
    pub acceptance: Vec<String>,
    /// Most the agent may spend doing it (UI units), if bounded.
    #[serde(default)]
    pub max_cost: Option<String>,
    /// What the milestone pays (UI units of the job's mint).
    pub amount: String,
    /// Whether the poster must approve before release.
    #[serde(default)]
    pub requires_approval: bool,
    /// Limits on the agent's own transactions for this step, checked before it is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rails: Option<Rails>,
    /// How to undo this step's work if the job ends without all of it accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensation: Option<Compensation>,
}

/// What undoes a milestone's work. When a job ends (completed, cancelled or expired) with any
/// milestone refunded to its poster, the keeper asks the agent to compensate every executed
/// milestone that declares one, the last first.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Compensation {
    /// What the agent must do to undo the step.
    pub instructions: String,
    /// Its inputs (any JSON).
    #[serde(default)]
    pub inputs: serde_json::Value,
    /// Whether the poster pays for the compensation. The escrow never does: no milestone pays
    /// for undoing, so a paid compensation is settled outside it.
    #[serde(default)]
    pub paid: bool,
}

/// Risk rails: what the transactions an agent reports for a step may do. Every one must have
/// succeeded and be signed by `wallet`; together they may invoke only `programs` (top level and
/// inner; empty: any), move out of the wallet at most `max_outflow` of each mint (a mint not
/// listed may not leave it), and must leave `min_received.owner` at least `min_received.amount`
/// richer in its mint (a slippage floor against the quote the terms were written for); the
/// `price_feed` the step relied on must have been updated within its age.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rails {
    pub wallet: String,
    #[serde(default)]
    pub programs: Vec<String>,
    /// Mint → most that may leave the wallet, base units (a decimal string).
    #[serde(default)]
    pub max_outflow: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub min_received: Option<MinReceived>,
    /// A Pyth price-update account the step relied on: its publish time must be this fresh
    /// when the step ends.
    #[serde(default)]
    pub price_feed: Option<PriceFeed>,
    /// `confirmed` (default) or `finalized`: how settled each transaction must be.
    #[serde(default)]
    pub commitment: Option<String>,
}

/// The least an account owner must receive of a mint across the step's transactions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MinReceived {
    /// Whose balance (token accounts owned by it); the wallet when absent.
    #[serde(default)]
    pub owner: Option<String>,
    pub mint: String,
    /// Base units, a decimal string.
    pub amount: String,
}

/// A price feed whose last update must be recent: a Pyth pull-oracle `PriceUpdateV2` account
/// (owned by the Pyth receiver program, fully verified).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceFeed {
    pub account: String,
    /// Oldest its publish time may be, in seconds before the step ends.
    pub max_age_secs: u64,
}

/// Rails with every key and amount parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedRails {
    pub wallet: anchor_lang::prelude::Pubkey,
    pub programs: Vec<anchor_lang::prelude::Pubkey>,
    pub max_outflow: std::collections::BTreeMap<anchor_lang::prelude::Pubkey, u64>,
    /// (owner, mint, amount).
    pub min_received: Option<(anchor_lang::prelude::Pubkey, anchor_lang::prelude::Pubkey, u64)>,
    /// (price-update account, most seconds old).
    pub price_feed: Option<(anchor_lang::prelude::Pubkey, u64)>,
    /// Whether transactions must be finalized (else confirmed).
    pub finalized: bool,
}

impl Rails {
    /// Parses every key and amount, naming the first that is not valid.
    pub fn check(&self) -> Result<CheckedRails, String> {
        let key =
            |what: &str, s: &str| s.parse().map_err(|_| format!("rails: {what} {s:?} is not a base58 public key"));
        let amount = |what: &str, s: &str| {
            s.parse::<u64>().map_err(|_| format!("rails: {what} {s:?} is not a whole number of base units"))
        };
        let wallet = key("wallet", &self.wallet)?;
        let programs = self.programs.iter().map(|p| key("program", p)).collect::<Result<_, _>>()?;
        let max_outflow = self
            .max_outflow
            .iter()
            .map(|(m, a)| Ok((key("max_outflow mint", m)?, amount("max_outflow amount", a)?)))
            .collect::<Result<_, String>>()?;
        let min_received = match &self.min_received {
            Some(r) => Some((
                r.owner.as_deref().map_or(Ok(wallet), |o| key("min_received owner", o))?,
                key("min_received mint", &r.mint)?,
                amount("min_received amount", &r.amount)?,
            )),
            None => None,
        };
        let price_feed = match &self.price_feed {
            Some(f) => Some((key("price_feed account", &f.account)?, f.max_age_secs)),
            None => None,
        };
        let finalized = match self.commitment.as_deref() {
            None | Some("confirmed") => false,
            Some("finalized") => true,
            Some(other) => return Err(format!("rails: commitment {other:?} is not confirmed or finalized")),
        };
        Ok(CheckedRails { wallet, programs, max_outflow, min_received, price_feed, finalized })
    }
}

/// Why a terms document is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TermsError {
    /// Not JSON of the v1 shape.
    #[error("terms are not a valid {SCHEMA_V1} document: {0}")]
    Malformed(String),
    /// Another schema name.
    #[error("terms schema is {0:?}; this version reads {SCHEMA_V1:?}")]
    Schema(String),
    /// A milestone's rails do not parse.
    #[error("terms: milestone {0}: {1}")]
    Rails(usize, String),
    /// A required text is empty.
    #[error("terms: {0} is empty")]
    Empty(String),
    /// No milestones, or more than the program allows.
    #[error("terms list {0} milestones; a job has 1 to {max}", max = agentrail::state::MAX_MILESTONES)]
    MilestoneCount(usize),
}

impl Terms {
    /// Parses and checks a terms document from its exact bytes.
    pub fn parse(bytes: &[u8]) -> Result<Terms, TermsError> {
        let terms: Terms = serde_json::from_slice(bytes).map_err(|e| TermsError::Malformed(e.to_string()))?;
        if terms.schema != SCHEMA_V1 {
            return Err(TermsError::Schema(terms.schema));
        }
        if terms.title.trim().is_empty() {
            return Err(TermsError::Empty("title".into()));
        }
        let n = terms.milestones.len();
        if n == 0 || n > agentrail::state::MAX_MILESTONES {
            return Err(TermsError::MilestoneCount(n));
        }
        for (i, m) in terms.milestones.iter().enumerate() {
            for (name, text) in [("title", &m.title), ("instructions", &m.instructions), ("amount", &m.amount)] {
                if text.trim().is_empty() {
                    return Err(TermsError::Empty(format!("milestone {i} {name}")));
                }
            }
            if m.acceptance.iter().all(|a| a.trim().is_empty()) {
                return Err(TermsError::Empty(format!("milestone {i} acceptance")));
            }
            if m.compensation.as_ref().is_some_and(|c| c.instructions.trim().is_empty()) {
                return Err(TermsError::Empty(format!("milestone {i} compensation instructions")));
            }
            if let Some(rails) = &m.rails {
                rails.check().map_err(|why| TermsError::Rails(i, why))?;
            }
        }
        Ok(terms)
    }
}

/// The on-chain `terms_hash` of a document: SHA-256 of its exact bytes.
pub fn terms_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The terms document `bytes`, parsed, when it is the one a job pinned (`pinned` is its
/// on-chain `terms_hash`).
pub fn pinned_terms(bytes: &[u8], pinned: &[u8; 32]) -> Result<Terms, String> {
    let got = terms_hash(bytes);
    if &got != pinned {
        return Err(format!("the document's sha256 is {}, the job pinned {}", hex::encode(got), hex::encode(pinned)));
    }
    Terms::parse(bytes).map_err(|e| e.to_string())
}

impl Terms {
    /// Milestone `index`'s part of the terms: what a keeper sends an agent as the step's work.
    pub fn into_milestone(self, index: u8) -> Result<MilestoneTerms, String> {
        self.milestones
            .into_iter()
            .nth(usize::from(index))
            .ok_or_else(|| format!("the terms have no milestone {index}"))
    }
}

/// Milestone `index`'s part of the terms document `bytes`, which must be the one a job pinned
/// (`pinned` is its on-chain `terms_hash`).
pub fn milestone_work(bytes: &[u8], pinned: &[u8; 32], index: u8) -> Result<MilestoneTerms, String> {
    pinned_terms(bytes, pinned)?.into_milestone(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"schema":"agentrail.terms/v1","title":"t","milestones":[
        {"title":"quote","instructions":"quote it","acceptance":["fresh"],"amount":"1.5"},
        {"title":"swap","instructions":"swap it","inputs":{"slippage_bps":50},"acceptance":["landed"],
         "max_cost":"0.1","amount":"2","requires_approval":true}]}"#;

    #[test]
    fn parses_v1_and_hashes_the_exact_bytes() {
        let t = Terms::parse(DOC.as_bytes()).unwrap();
        assert_eq!(t.milestones.len(), 2);
        assert!(t.milestones[1].requires_approval && !t.milestones[0].requires_approval);
        assert_eq!(t.milestones[1].inputs["slippage_bps"], 50);
        assert_ne!(terms_hash(DOC.as_bytes()), terms_hash(format!("{DOC} ").as_bytes()), "bytes, not meaning");
        assert_eq!(hex::encode(terms_hash(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn a_milestones_work_comes_only_from_the_pinned_document() {
        let pinned = terms_hash(DOC.as_bytes());
        let work = milestone_work(DOC.as_bytes(), &pinned, 1).unwrap();
        assert_eq!((work.title.as_str(), work.inputs["slippage_bps"].as_u64()), ("swap", Some(50)));
        let edited = DOC.replace("swap it", "swap it all");
        assert!(milestone_work(edited.as_bytes(), &pinned, 1).unwrap_err().contains("the job pinned"));
        assert!(milestone_work(DOC.as_bytes(), &pinned, 2).unwrap_err().contains("no milestone 2"));
    }

    #[test]
    fn refuses_what_is_not_v1() {
        let bad = |s: &str| Terms::parse(s.as_bytes()).unwrap_err();
        assert!(matches!(bad("nope"), TermsError::Malformed(_)));
        assert_eq!(bad(&DOC.replace("terms/v1", "terms/v9")), TermsError::Schema("agentrail.terms/v9".into()));
        assert!(matches!(bad(&DOC.replace("\"max_cost\"", "\"max_costs\"")), TermsError::Malformed(_)), "typo");
        assert_eq!(bad(&DOC.replace("[\"fresh\"]", "[]")), TermsError::Empty("milestone 0 acceptance".into()));
        assert_eq!(bad(&DOC.replace("\"quote it\"", "\" \"")), TermsError::Empty("milestone 0 instructions".into()));
        let none = r#"{"schema":"agentrail.terms/v1","title":"t","milestones":[]}"#;
        assert_eq!(bad(none), TermsError::MilestoneCount(0));
    }

    #[test]
    fn rails_parse_and_bad_ones_are_named() {
        let (wallet, mint) = (anchor_lang::prelude::Pubkey::new_unique(), anchor_lang::prelude::Pubkey::new_unique());
        let with = |rails: &str| {
            DOC.replace(r#""acceptance":["landed"],"#, &format!(r#""acceptance":["landed"],"rails":{rails},"#))
        };
        let ok = with(&format!(
            r#"{{"wallet":"{wallet}","programs":["{mint}"],"max_outflow":{{"{mint}":"5"}},"min_received":{{"mint":"{mint}","amount":"3"}}}}"#
        ));
        let rails = Terms::parse(ok.as_bytes()).unwrap().milestones[1].rails.clone().unwrap().check().unwrap();
        assert_eq!(
            (rails.wallet, rails.max_outflow[&mint], rails.min_received, rails.finalized),
            (wallet, 5, Some((wallet, mint, 3)), false)
        );
        let bad = |rails: String| Terms::parse(with(&rails).as_bytes()).unwrap_err();
        assert!(matches!(bad(r#"{"wallet":"nope"}"#.into()), TermsError::Rails(1, why) if why.contains("wallet")));
        let err = bad(format!(r#"{{"wallet":"{wallet}","max_outflow":{{"{mint}":"1.5"}}}}"#));
        assert!(err.to_string().contains("not a whole number"), "{err}");
        let err = bad(format!(r#"{{"wallet":"{wallet}","commitment":"processed"}}"#));
        assert!(err.to_string().contains("processed"), "{err}");
        assert!(
            matches!(bad(format!(r#"{{"wallet":"{wallet}","max_outfow":{{}}}}"#)), TermsError::Malformed(_)),
            "typo"
        );
    }
}
