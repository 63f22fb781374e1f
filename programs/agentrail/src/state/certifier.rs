use anchor_lang::prelude::*;

/// An authorised certifier. Exists only while authorised: removal closes it.
#[account]
#[derive(InitSpace, Debug)]
pub struct Certifier {
    /// The certifier's signing key.
    pub authority: Pubkey,
    /// When the admin authorised it (unix seconds).
    pub added_at: i64,
    /// PDA bump.
    pub bump: u8,
}
