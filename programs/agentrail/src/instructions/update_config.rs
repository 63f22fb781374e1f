use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::ConfigUpdated, state::*};

/// Arguments of `update_config`; `None` leaves a field as it is.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default)]
pub struct UpdateConfigArgs {
    pub treasury: Option<Pubkey>,
    pub fee_bps: Option<u16>,
    pub paused: Option<bool>,
}

/// Changes treasury, fee or pause switch. Existing jobs keep the fee recorded at creation.
#[derive(Accounts)]
pub struct UpdateConfig<'info> {
    /// The protocol admin.
    pub admin: Signer<'info>,
    /// The protocol config changed.
    #[account(mut, address = Config::ADDRESS, has_one = admin @ AgentrailError::Unauthorized)]
    pub config: Account<'info, Config>,
}

impl UpdateConfig<'_> {
    fn validate(&self, args: &UpdateConfigArgs) -> Result<()> {
        args.fee_bps.map_or(Ok(()), Config::check_fee)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn update_config(ctx: Context<Self>, args: UpdateConfigArgs) -> Result<()> {
        let config = &mut ctx.accounts.config;
        if let Some(treasury) = args.treasury {
            config.treasury = treasury;
        }
        if let Some(fee_bps) = args.fee_bps {
            config.fee_bps = fee_bps;
        }
        if let Some(paused) = args.paused {
            config.paused = paused;
        }
        emit!(ConfigUpdated { treasury: config.treasury, fee_bps: config.fee_bps, paused: config.paused });
        Ok(())
    }
}
