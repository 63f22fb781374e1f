//! The refusal of a mutable account passed twice, without Anchor's hashing.
//!
//! Anchor checks every mutable `Account`/`InterfaceAccount` not marked `dup` by inserting its
//! key into a SipHash `HashSet`, once per account set and again for each nested set, the
//! largest single cost of a release before this. The program's account sets mark their mutable
//! accounts `dup` and, where two of them could be the same account, check with [`distinct`]
//! instead: the same refusal (`ConstraintDuplicateMutableAccount`), by comparing keys.

use anchor_lang::prelude::Pubkey;

/// Whether no key appears twice in `keys` (pairwise: account sets hold at most five).
pub fn distinct(keys: &[Pubkey]) -> bool {
    keys.iter().enumerate().all(|(i, a)| keys[i + 1..].iter().all(|b| a != b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_anywhere_is_found() {
        let [a, b, c] = [Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique()];
        assert!(distinct(&[]) && distinct(&[a]) && distinct(&[a, b, c]));
        assert!(!distinct(&[a, a]));
        assert!(!distinct(&[a, b, a]), "first and last");
        assert!(!distinct(&[a, b, c, b]), "not adjacent to the first");
    }
}
