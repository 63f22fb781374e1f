//! Parsing command-line values: agents, keys, stages, versions, durations, hashes of files.

use std::str::FromStr;

use agentrail::state::Semver;
use agentrail_client::pda;
use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};
use solana_sdk::pubkey::Pubkey;

/// A base58 public key, with its role in the error.
pub fn pubkey(what: &str, s: &str) -> Result<Pubkey> {
    Pubkey::from_str(s.trim()).map_err(|_| anyhow!("{what} {s:?} is not a base58 public key"))
}

/// An agent by sequential id (`7`) or account address.
pub fn agent(s: &str) -> Result<Pubkey> {
    match s.parse::<u64>() {
        Ok(id) => Ok(pda::agent(id)),
        Err(_) => pubkey("agent", s),
    }
}

/// A certification stage: `A`..`E` (or `1`..`5`); `none`/`0` for no requirement.
pub fn stage(s: &str) -> Result<u8, String> {
    match s.trim().to_ascii_uppercase().as_str() {
        "NONE" | "0" => Ok(0),
        "A" | "1" => Ok(1),
        "B" | "2" => Ok(2),
        "C" | "3" => Ok(3),
        "D" | "4" => Ok(4),
        "E" | "5" => Ok(5),
        other => Err(format!("unknown stage {other:?}: use A, B, C, D or E")),
    }
}

pub use agentrail_client::accounts::stage_letter;

/// A semantic version `MAJOR.MINOR.PATCH`.
pub fn semver(s: &str) -> Result<Semver, String> {
    let parts: Vec<&str> = s.trim().trim_start_matches('v').split('.').collect();
    let nums: Option<Vec<u16>> = parts.iter().map(|p| p.parse().ok()).collect();
    match nums.as_deref() {
        Some([major, minor, patch]) => Ok(Semver { major: *major, minor: *minor, patch: *patch }),
        _ => Err(format!("invalid version {s:?}: use MAJOR.MINOR.PATCH, each at most 65535")),
    }
}

/// Formats a version.
pub fn semver_string(v: &Semver) -> String {
    format!("{}.{}.{}", v.major, v.minor, v.patch)
}

/// A duration such as `30d`, `12h`, `90m` or `3600s`, in seconds.
pub fn duration(s: &str) -> Result<i64, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("invalid duration {s:?}: {e} (e.g. 30d, 12h, 90m)"))
        .and_then(|d| i64::try_from(d.as_secs()).map_err(|_| format!("duration {s:?} is too long")))
}

/// Parses a share of a milestone for the agent: `agent` (all), `poster` (none), or a
/// percentage with up to two decimals (`40%`, `33.33%`); returns basis points.
pub fn share(s: &str) -> Result<u16, String> {
    match s.trim() {
        "agent" => return Ok(10_000),
        "poster" => return Ok(0),
        _ => {}
    }
    let bad = || format!("invalid share {s:?}: use agent, poster or a percentage such as 40% or 33.33%");
    let pct = s.trim().strip_suffix('%').ok_or_else(bad)?;
    let (whole, frac) = pct.split_once('.').unwrap_or((pct, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let frac: u32 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let bps = whole.checked_mul(100).and_then(|w| w.checked_add(frac)).filter(|b| *b <= 10_000);
    bps.map(|b| b as u16).ok_or_else(|| format!("invalid share {s:?}: at most 100%"))
}

/// SHA-256 of a file's bytes.
pub fn file_hash(path: &str) -> Result<[u8; 32]> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {path}"))?;
    if bytes.is_empty() {
        bail!("{path} is empty");
    }
    Ok(Sha256::digest(&bytes).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares() {
        assert_eq!(share("agent"), Ok(10_000));
        assert_eq!(share("poster"), Ok(0));
        assert_eq!(share("40%"), Ok(4_000));
        assert_eq!(share("33.33%"), Ok(3_333));
        assert_eq!(share("0.5%"), Ok(50));
        assert_eq!(share("100%"), Ok(10_000));
        for bad in ["101%", "40", "1.234%", "%", "-5%", "x%", "99999999999%"] {
            assert!(share(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn agents_by_id_or_address() {
        assert_eq!(agent("3").unwrap(), pda::agent(3));
        let k = Pubkey::new_unique();
        assert_eq!(agent(&k.to_string()).unwrap(), k);
        assert!(agent("nope").unwrap_err().to_string().contains("not a base58 public key"));
    }

    #[test]
    fn stages_versions_durations() {
        assert_eq!((stage("a"), stage("E"), stage("none")), (Ok(1), Ok(5), Ok(0)));
        assert!(stage("F").is_err());
        assert_eq!(semver("v1.2.3"), Ok(Semver { major: 1, minor: 2, patch: 3 }));
        assert!(semver("1.2").is_err() && semver("1.2.70000").is_err());
        assert_eq!(duration("2d"), Ok(172_800));
        assert_eq!(duration("90m"), Ok(5_400));
        assert!(duration("soon").is_err());
        assert_eq!(stage_letter(3), "C");
    }
}
