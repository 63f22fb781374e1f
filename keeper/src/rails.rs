//! Risk rails: before a milestone is submitted, the keeper reads each transaction the agent
//! reported from the cluster and checks it against the limits the job's terms set for that
//! milestone ([`agentrail_client::terms::Rails`]). Each rail is a guard in the receipt with
//! what was observed; a failed one means the step is not paid (the operator's failure policy
//! decides what happens to the milestone).

use std::collections::{BTreeMap, BTreeSet};

use agentrail_client::receipt::GuardCheck;
use agentrail_client::terms::CheckedRails;
use anchor_lang::prelude::Pubkey;
use solana_transaction_status_client_types::option_serializer::OptionSerializer;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, UiInstruction, UiTransactionTokenBalance,
};

/// What one transaction did, as the cluster recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxEffects {
    /// Its signature (base58).
    pub signature: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The keys that signed it.
    pub signers: BTreeSet<Pubkey>,
    /// Every program it invoked, at the top level or inner.
    pub programs: BTreeSet<Pubkey>,
    /// Token balance changes by (owner, mint), base units (after minus before).
    pub token_deltas: BTreeMap<(Pubkey, Pubkey), i128>,
}

impl TxEffects {
    /// Reads a transaction fetched with a binary encoding and its status meta.
    pub fn from_fetched(signature: &str, tx: &EncodedConfirmedTransactionWithStatusMeta) -> Result<Self, String> {
        let decoded = tx.transaction.transaction.decode().ok_or("the transaction does not decode")?;
        let meta = tx.transaction.meta.as_ref().ok_or("the cluster keeps no status for it")?;
        let message = &decoded.message;
        // the account list instructions index into: static keys, then those loaded from tables
        let mut keys: Vec<Pubkey> =
            message.static_account_keys().iter().map(|k| Pubkey::new_from_array(k.to_bytes())).collect();
        if let OptionSerializer::Some(loaded) = &meta.loaded_addresses {
            for k in loaded.writable.iter().chain(&loaded.readonly) {
                keys.push(k.parse().map_err(|_| format!("loaded address {k:?} is not a key"))?);
            }
        }
        let signers = keys.iter().take(usize::from(message.header().num_required_signatures)).copied().collect();
        let key_at = |i: u8| {
            keys.get(usize::from(i)).copied().ok_or(format!("an instruction names account {i}, beyond the list"))
        };
        let mut programs = BTreeSet::new();
        for ix in message.instructions() {
            programs.insert(key_at(ix.program_id_index)?);
        }
        if let OptionSerializer::Some(inner) = &meta.inner_instructions {
            for ix in inner.iter().flat_map(|i| &i.instructions) {
                match ix {
                    UiInstruction::Compiled(c) => programs.insert(key_at(c.program_id_index)?),
                    UiInstruction::Parsed(_) => {
                        return Err("inner instructions came parsed; fetch them compiled".into());
                    }
                };
            }
        }
        let mut token_deltas: BTreeMap<(Pubkey, Pubkey), i128> = BTreeMap::new();
        let mut add = |balances: &OptionSerializer<Vec<UiTransactionTokenBalance>>, sign: i128| -> Result<(), String> {
            let OptionSerializer::Some(balances) = balances else { return Ok(()) };
            for b in balances {
                // a token account without a known owner cannot be attributed: refuse rather than miss it
                let OptionSerializer::Some(owner) = &b.owner else {
                    return Err(format!("token account #{} has no recorded owner", b.account_index));
                };
                let owner: Pubkey = owner.parse().map_err(|_| format!("owner {owner:?} is not a key"))?;
                let mint: Pubkey = b.mint.parse().map_err(|_| format!("mint {:?} is not a key", b.mint))?;
                let amount: i128 =
                    b.ui_token_amount.amount.parse().map_err(|_| "a token amount is not a number".to_string())?;
                *token_deltas.entry((owner, mint)).or_default() += sign * amount;
            }
            Ok(())
        };
        add(&meta.pre_token_balances, -1)?;
        add(&meta.post_token_balances, 1)?;
        token_deltas.retain(|_, d| *d != 0);
        Ok(TxEffects {
            signature: signature.to_string(),
            error: meta.err.as_ref().map(|e| format!("{e:?}")),
            signers,
            programs,
            token_deltas,
        })
    }
}

fn guard(name: &str, passed: bool, detail: String) -> GuardCheck {
    GuardCheck::bounded(name, passed, detail)
}

fn short(key: &Pubkey) -> String {
    let s = key.to_string();
    format!("{}..", &s[..8])
}

/// The Pyth receiver program, which owns `PriceUpdateV2` accounts.
pub const PYTH_RECEIVER: Pubkey = anchor_lang::pubkey!("rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ");

/// The publish time (unix seconds) of a Pyth `PriceUpdateV2` account: Anchor's discriminator,
/// the write authority (32 bytes), the verification level (Borsh enum: `Partial { num_signatures:
/// u8 }` or `Full`), then the price message (feed id 32, price 8, conf 8, exponent 4, publish
/// time 8, ...). Only accounts of the Pyth receiver, fully verified, are believed.
pub fn pyth_publish_time(owner: &Pubkey, data: &[u8]) -> Result<i64, String> {
    use sha2::Digest;
    if *owner != PYTH_RECEIVER {
        return Err(format!("owned by {owner}, not the Pyth receiver {PYTH_RECEIVER}"));
    }
    let discriminator = sha2::Sha256::digest(b"account:PriceUpdateV2");
    if data.get(..8) != Some(&discriminator[..8]) {
        return Err("not a PriceUpdateV2 account".into());
    }
    // a partially verified update (fewer guardian signatures) is not trusted for freshness
    let message = match data.get(40) {
        Some(1) => 41,
        Some(0) => return Err("only partially verified (fewer guardian signatures)".into()),
        _ => return Err("an unknown verification level".into()),
    };
    let at = message + 32 + 8 + 8 + 4;
    let bytes = data.get(at..at + 8).ok_or("the account is too short")?;
    Ok(i64::from_le_bytes(bytes.try_into().expect("8 bytes")))
}

/// The bytes of a Pyth `PriceUpdateV2` account, fully verified (or not), published at `time`:
/// what [`pyth_publish_time`] reads (local validators and tests hold such accounts).
pub fn pyth_price_update(full: bool, time: i64) -> Vec<u8> {
    use sha2::Digest;
    let mut data = sha2::Sha256::digest(b"account:PriceUpdateV2")[..8].to_vec();
    data.extend_from_slice(&[7; 32]); // write authority
    if full {
        data.push(1)
    } else {
        data.extend_from_slice(&[0, 5])
    }
    data.extend_from_slice(&[9; 32]); // feed id
    data.extend_from_slice(&100i64.to_le_bytes()); // price
    data.extend_from_slice(&1u64.to_le_bytes()); // conf
    data.extend_from_slice(&(-8i32).to_le_bytes()); // exponent
    data.extend_from_slice(&time.to_le_bytes()); // publish time
    data.extend_from_slice(&(time - 1).to_le_bytes()); // previous publish time
    data.extend_from_slice(&[0; 16 + 8]); // ema price, ema conf, posted slot
    data
}

/// Checks `effects` (every transaction the step reported, as fetched; `None` for one the
/// cluster does not have at the rails' commitment) against `rails`: one guard per rail.
/// `feed` is the rails' price feed's publish time (or why it could not be read), `now` the
/// cluster's time when the step ended.
pub fn check(
    rails: &CheckedRails,
    reported: &[String],
    effects: &[Option<TxEffects>],
    feed: Option<Result<i64, String>>,
    now: i64,
) -> Vec<GuardCheck> {
    let mut out = Vec::new();
    // landed: at least one transaction, every one found and succeeded
    let missing: Vec<&String> = reported.iter().zip(effects).filter(|(_, e)| e.is_none()).map(|(s, _)| s).collect();
    let failed: Vec<String> = effects
        .iter()
        .flatten()
        .filter_map(|e| e.error.as_ref().map(|why| format!("{} failed: {why}", &e.signature[..8])))
        .collect();
    let commitment = if rails.finalized { "finalized" } else { "confirmed" };
    out.push(match (reported.is_empty(), missing.first(), failed.first()) {
        (true, _, _) => {
            guard("rail.landed", false, "the step reported no transaction; its rails need at least one".into())
        }
        (_, Some(sig), _) => guard("rail.landed", false, format!("{sig} is not {commitment} on the cluster")),
        (_, None, Some(why)) => guard("rail.landed", false, why.clone()),
        _ => guard("rail.landed", true, format!("{} transaction(s) {commitment} and succeeded", reported.len())),
    });
    let found: Vec<&TxEffects> = effects.iter().flatten().collect();
    // signer: every transaction signed by the declared execution wallet
    let foreign: Vec<String> =
        found.iter().filter(|e| !e.signers.contains(&rails.wallet)).map(|e| e.signature[..8].to_string()).collect();
    out.push(if foreign.is_empty() {
        guard("rail.signer", true, format!("all signed by {}", short(&rails.wallet)))
    } else {
        guard("rail.signer", false, format!("not signed by the wallet {}: {}", rails.wallet, foreign.join(", ")))
    });
    // programs: only the allowed ones, top level and inner (no list: any)
    if !rails.programs.is_empty() {
        let allowed: BTreeSet<Pubkey> = rails.programs.iter().copied().collect();
        let used: BTreeSet<Pubkey> = found.iter().flat_map(|e| e.programs.iter().copied()).collect();
        let forbidden: Vec<String> = used.difference(&allowed).map(Pubkey::to_string).collect();
        out.push(if forbidden.is_empty() {
            guard("rail.programs", true, format!("{} program(s), all allowed", used.len()))
        } else {
            guard("rail.programs", false, format!("invoked programs the terms do not allow: {}", forbidden.join(", ")))
        });
    }
    // outflow: per mint, what left the wallet net across the transactions, within its ceiling
    let mut net: BTreeMap<Pubkey, i128> = BTreeMap::new();
    for e in &found {
        for ((owner, mint), d) in &e.token_deltas {
            if *owner == rails.wallet {
                *net.entry(*mint).or_default() += d;
            }
        }
    }
    let mut over = Vec::new();
    let mut seen = Vec::new();
    for (mint, delta) in &net {
        let out_of_wallet = (-delta).max(0);
        let ceiling = rails.max_outflow.get(mint).copied().unwrap_or(0);
        seen.push(format!("{} out {out_of_wallet}/{ceiling}", short(mint)));
        if out_of_wallet > i128::from(ceiling) {
            over.push(format!("{mint} out {out_of_wallet} > {ceiling}"));
        }
    }
    out.push(if over.is_empty() {
        guard("rail.outflow", true, if seen.is_empty() { "no token left the wallet".into() } else { seen.join(", ") })
    } else {
        guard("rail.outflow", false, format!("over the ceiling: {}", over.join(", ")))
    });
    // min received: the owner ended at least this much richer in the mint
    if let Some((owner, mint, least)) = rails.min_received {
        let got: i128 = found.iter().filter_map(|e| e.token_deltas.get(&(owner, mint))).sum();
        let passed = got >= i128::from(least);
        out.push(guard(
            "rail.min_received",
            passed,
            format!("{} received {got} of {} (least {least})", short(&owner), short(&mint)),
        ));
    }
    // price feed: the oracle the step relied on was fresh when it ended
    if let Some((account, max_age)) = rails.price_feed {
        out.push(match feed {
            Some(Ok(published)) => {
                let age = now.saturating_sub(published);
                let passed = age <= i64::try_from(max_age).unwrap_or(i64::MAX);
                let detail = format!("{} published {age} s before the step ended (most {max_age})", short(&account));
                guard("rail.price_feed", passed, detail)
            }
            Some(Err(why)) => guard("rail.price_feed", false, format!("{account}: {why}")),
            None => guard("rail.price_feed", false, format!("{account} could not be read")),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WALLET: Pubkey = Pubkey::new_from_array([1; 32]);
    const MINT: Pubkey = Pubkey::new_from_array([2; 32]);
    const TOKEN: Pubkey = Pubkey::new_from_array([3; 32]);
    const DEST: Pubkey = Pubkey::new_from_array([4; 32]);

    fn rails() -> CheckedRails {
        CheckedRails {
            wallet: WALLET,
            programs: vec![TOKEN],
            max_outflow: [(MINT, 2_000)].into_iter().collect(),
            min_received: Some((DEST, MINT, 1_000)),
            price_feed: None,
            finalized: false,
        }
    }

    /// A transfer of `amount` from the wallet to DEST through the token program.
    fn transfer(sig: &str, amount: i128) -> TxEffects {
        TxEffects {
            signature: format!("{sig}xxxxxxxx"),
            error: None,
            signers: [WALLET].into(),
            programs: [TOKEN].into(),
            token_deltas: [((WALLET, MINT), -amount), ((DEST, MINT), amount)].into_iter().collect(),
        }
    }

    fn verdicts(effects: Vec<Option<TxEffects>>) -> Vec<(String, bool)> {
        let reported: Vec<String> = (0..effects.len()).map(|i| format!("sig{i}")).collect();
        check(&rails(), &reported, &effects, None, 0).into_iter().map(|g| (g.name, g.passed)).collect()
    }

    fn failed(v: &[(String, bool)]) -> Vec<&str> {
        v.iter().filter(|(_, ok)| !ok).map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn a_transfer_within_the_rails_passes_every_one() {
        let v = verdicts(vec![Some(transfer("a", 1_500))]);
        assert_eq!(
            v.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["rail.landed", "rail.signer", "rail.programs", "rail.outflow", "rail.min_received"]
        );
        assert!(failed(&v).is_empty(), "{v:?}");
        let g = check(&rails(), &["a".into()], &[Some(transfer("a", 1_500))], None, 0);
        assert!(g[3].detail.contains("out 1500/2000") && g[4].detail.contains("received 1500"), "{g:?}");
    }

    #[test]
    fn each_rail_fails_on_its_own_violation() {
        // two transfers that each fit but together exceed the ceiling
        assert_eq!(failed(&verdicts(vec![Some(transfer("a", 1_500)), Some(transfer("b", 1_000))])), ["rail.outflow"]);
        assert_eq!(failed(&verdicts(vec![Some(transfer("a", 500))])), ["rail.min_received"]);
        let mut system = transfer("a", 1_500);
        system.programs.insert(Pubkey::new_from_array([9; 32]));
        assert_eq!(failed(&verdicts(vec![Some(system)])), ["rail.programs"]);
        let mut foreign = transfer("a", 1_500);
        foreign.signers = [Pubkey::new_from_array([8; 32])].into();
        assert_eq!(failed(&verdicts(vec![Some(foreign)])), ["rail.signer"]);
        let mut reverted = transfer("a", 0);
        reverted.error = Some("InstructionError(0, Custom(1))".into());
        assert!(failed(&verdicts(vec![Some(reverted)])).contains(&"rail.landed"));
        assert!(failed(&verdicts(vec![Some(transfer("a", 1_500)), None])).contains(&"rail.landed"), "one not found");
        let none = check(&rails(), &[], &[], None, 0);
        assert!(!none[0].passed && none[0].detail.contains("no transaction"), "{none:?}");
        // a mint without a ceiling may not leave the wallet at all
        let mut other = transfer("a", 1_500);
        other.token_deltas.insert((WALLET, Pubkey::new_from_array([7; 32])), -1);
        assert_eq!(failed(&verdicts(vec![Some(other)])), ["rail.outflow"]);
    }

    #[test]
    fn a_price_feed_must_be_a_fresh_fully_verified_pyth_update() {
        assert_eq!(pyth_publish_time(&PYTH_RECEIVER, &pyth_price_update(true, 1_000)), Ok(1_000));
        assert!(pyth_publish_time(&PYTH_RECEIVER, &pyth_price_update(false, 1_000)).unwrap_err().contains("partially"));
        let foreign = pyth_publish_time(&Pubkey::new_unique(), &pyth_price_update(true, 1_000)).unwrap_err();
        assert!(foreign.contains("not the Pyth receiver"), "{foreign}");
        assert!(pyth_publish_time(&PYTH_RECEIVER, &[0; 100]).unwrap_err().contains("not a PriceUpdateV2"));
        assert!(pyth_publish_time(&PYTH_RECEIVER, &pyth_price_update(true, 1)[..60]).is_err());
        let feed = Pubkey::new_from_array([6; 32]);
        let rails = CheckedRails { price_feed: Some((feed, 60)), ..rails() };
        let one = [Some(transfer("a", 1_500))];
        let verdict = |feed, now| {
            check(&rails, &["a".into()], &one, feed, now).into_iter().find(|g| g.name == "rail.price_feed").unwrap()
        };
        assert!(verdict(Some(Ok(1_000)), 1_060).passed);
        let stale = verdict(Some(Ok(1_000)), 1_061);
        assert!(!stale.passed && stale.detail.contains("published 61 s"), "{stale:?}");
        assert!(!verdict(Some(Err("gone".into())), 1_000).passed);
        assert!(!verdict(None, 1_000).passed);
    }

    #[test]
    fn long_details_are_cut_to_the_receipts_bound() {
        let g = guard("rail.x", false, "é".repeat(400));
        assert!(g.detail.len() <= agentrail_client::receipt::MAX_GUARD_DETAIL && g.detail.ends_with("..."));
    }
}
