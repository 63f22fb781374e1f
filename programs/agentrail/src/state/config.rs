use anchor_lang::prelude::*;

use crate::errors::AgentrailError;

/// Hard cap on the protocol fee: 10% (1,000 basis points). No admin can set more.
pub const MAX_FEE_BPS: u16 = 1_000;

/// The protocol's singleton settings.
#[account]
#[derive(InitSpace, Debug)]
pub struct Config {
    /// Who may change these settings and manage certifiers.
    pub admin: Pubkey,
    /// Proposed next admin; becomes admin when it accepts.
    pub pending_admin: Option<Pubkey>,
    /// Owner of the token accounts that receive protocol fees.
    pub treasury: Pubkey,
    /// Protocol fee in basis points charged on top of each job's milestones.
    pub fee_bps: u16,
    /// When set, nothing new can be registered, funded or released; refunds always work.
    pub paused: bool,
    /// Number of agents ever registered; the next agent's id.
    pub agent_count: u64,
    /// Number of certifiers currently authorised.
    pub certifier_count: u32,
    /// PDA bump.
    pub bump: u8,
}

impl Config {
    /// The config singleton's address, `find_program_address(&[seeds::CONFIG], &ID)`: fixed by
    /// the program id, so instructions compare it instead of deriving it (a comparison instead
    /// of a 1,500-unit syscall; a unit test derives it).
    pub const ADDRESS: Pubkey = pubkey!("aWHJbs9iDtcqB4p6WU5iwpDEzwMhbMqfji1RyJ5VQ5N");

    /// Fails when the protocol is paused.
    pub fn require_live(&self) -> Result<()> {
        require!(!self.paused, AgentrailError::ProtocolPaused);
        Ok(())
    }

    /// Fails when `fee_bps` is above [`MAX_FEE_BPS`].
    pub fn check_fee(fee_bps: u16) -> Result<()> {
        require!(fee_bps <= MAX_FEE_BPS, AgentrailError::FeeTooHigh);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_address_is_its_pda() {
        let (derived, _) = Pubkey::find_program_address(&[crate::state::seeds::CONFIG], &crate::ID);
        assert_eq!(Config::ADDRESS, derived);
    }
}
