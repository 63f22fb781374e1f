//! Token amounts in UI units (`12.5`) and base units, converted with the mint's decimals.

use anyhow::{Result, bail};

/// Parses a UI amount such as `12.5` into base units for a mint with `decimals`.
pub fn parse_ui(amount: &str, decimals: u8) -> Result<u64> {
    let s = amount.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty() || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        bail!("invalid amount {amount:?}: use digits with an optional decimal point, e.g. 12.5");
    }
    if frac.len() > usize::from(decimals) {
        bail!("amount {amount:?} has more than {decimals} decimal places, the mint's precision");
    }
    // 10^39 overflows u128; a mint that precise cannot hold one whole token in a u64 anyway
    let Some(scale) = 10u128.checked_pow(u32::from(decimals)) else {
        bail!("the mint has {decimals} decimals: amounts of it cannot be given in UI units");
    };
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| anyhow::anyhow!("amount {amount:?} is too large"))?
    };
    let frac_units: Option<u128> = if frac.is_empty() {
        Some(0)
    } else {
        let digits: u128 = frac.parse().map_err(|_| anyhow::anyhow!("amount {amount:?} is too large"))?;
        10u128.checked_pow(u32::from(decimals) - frac.len() as u32).and_then(|p| digits.checked_mul(p))
    };
    let units = frac_units
        .and_then(|f| whole.checked_mul(scale).and_then(|w| w.checked_add(f)))
        .filter(|u| *u <= u128::from(u64::MAX));
    match units {
        Some(u) => Ok(u as u64),
        None => bail!("amount {amount:?} is too large for a token amount"),
    }
}

pub use agentrail_client::escrow::format_ui;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ui_amounts() {
        assert_eq!(parse_ui("12.5", 6).unwrap(), 12_500_000);
        assert_eq!(parse_ui("0.000001", 6).unwrap(), 1);
        assert_eq!(parse_ui(".5", 6).unwrap(), 500_000);
        assert_eq!(parse_ui("7", 0).unwrap(), 7);
        assert_eq!(parse_ui("18446744073709.551615", 6).unwrap(), u64::MAX);
        for bad in
            ["", ".", "-1", "1.2.3", "abc", "1e6", "18446744073709.551616", "99999999999999999999999999999999999999999"]
        {
            assert!(parse_ui(bad, 6).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_ui("0.0000001", 6).unwrap_err().to_string().contains("more than 6 decimal places"));
    }

    #[test]
    fn formats_ui_amounts() {
        assert_eq!(format_ui(12_500_000, 6), "12.5");
        assert_eq!(format_ui(1, 6), "0.000001");
        assert_eq!(format_ui(3_000_000, 6), "3");
        assert_eq!(format_ui(42, 0), "42");
        assert_eq!(format_ui(u64::MAX, 6), "18446744073709.551615");
        // a third party's mint may claim any precision: never a panic
        assert_eq!(format_ui(1, 20), "0.00000000000000000001");
        assert_eq!(format_ui(u64::MAX, 20), "0.18446744073709551615");
        assert_eq!(format_ui(0, 255), "0");
        assert_eq!(format_ui(5, 255).len(), 2 + 255);
    }

    #[test]
    fn extreme_precision_is_an_error_not_a_panic() {
        assert_eq!(parse_ui("0.1", 20).unwrap(), 10_000_000_000_000_000_000);
        assert!(parse_ui("1", 20).is_err(), "one whole token of a 20-decimal mint does not fit a u64");
        assert!(parse_ui("1", 39).unwrap_err().to_string().contains("39 decimals"));
        assert!(parse_ui("0.5", 255).is_err());
    }
}
