use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;

use crate::{errors::AgentrailError, events::ConfigInitialized, state::*};

/// Arguments of `initialize_config`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct InitializeConfigArgs {
    /// Owner of the fee token accounts.
    pub treasury: Pubkey,
    /// Protocol fee in basis points, at most [`MAX_FEE_BPS`].
    pub fee_bps: u16,
}

/// Creates the config singleton. Only the program's upgrade authority may, so nobody can
/// front-run the deployment and seize the protocol.
#[derive(Accounts)]
pub struct InitializeConfig<'info> {
    /// The program's upgrade authority, which becomes the first admin; pays for the config.
    #[account(mut)]
    pub admin: Signer<'info>,
    /// The new config singleton.
    #[account(init, payer = admin, space = 8 + Config::INIT_SPACE, seeds = [seeds::CONFIG], bump)]
    pub config: Account<'info, Config>,
    /// This program's ProgramData (owner-checked by `Account`, address-checked by the seeds).
    #[account(seeds = [crate::ID.as_ref()], bump, seeds::program = bpf_loader_upgradeable::ID)]
    pub program_data: Account<'info, ProgramData>,
    /// Creates the config account.
    pub system_program: Program<'info, System>,
}

impl InitializeConfig<'_> {
    fn validate(&self, args: &InitializeConfigArgs) -> Result<()> {
        require!(self.program_data.upgrade_authority_address == Some(self.admin.key()), AgentrailError::Unauthorized);
        Config::check_fee(args.fee_bps)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn initialize_config(ctx: Context<Self>, args: InitializeConfigArgs) -> Result<()> {
        let admin = ctx.accounts.admin.key();
        ctx.accounts.config.set_inner(Config {
            admin,
            pending_admin: None,
            treasury: args.treasury,
            fee_bps: args.fee_bps,
            paused: false,
            agent_count: 0,
            certifier_count: 0,
            bump: ctx.bumps.config,
        });
        emit!(ConfigInitialized { admin, treasury: args.treasury, fee_bps: args.fee_bps });
        Ok(())
    }
}
