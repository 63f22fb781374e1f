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
        }
        Ok(terms)
    }
}

/// The on-chain `terms_hash` of a document: SHA-256 of its exact bytes.
pub fn terms_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Milestone `index`'s part of the terms document `bytes`, which must be the one a job pinned
/// (`pinned` is its on-chain `terms_hash`): what a keeper sends an agent as the step's work.
pub fn milestone_work(bytes: &[u8], pinned: &[u8; 32], index: u8) -> Result<MilestoneTerms, String> {
    let got = terms_hash(bytes);
    if &got != pinned {
        return Err(format!("the document's sha256 is {}, the job pinned {}", hex::encode(got), hex::encode(pinned)));
    }
    let terms = Terms::parse(bytes).map_err(|e| e.to_string())?;
    terms.milestones.into_iter().nth(usize::from(index)).ok_or_else(|| format!("the terms have no milestone {index}"))
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
}
