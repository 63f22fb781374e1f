//! Which mints may back an escrow. Classic SPL Token mints always; Token-2022 mints unless an
//! extension lets a third party move, freeze, tax or hide escrowed funds.

use anchor_lang::prelude::*;
use anchor_spl::token_2022::spl_token_2022::{
    extension::{
        BaseStateWithExtensions, ExtensionType, StateWithExtensions, default_account_state::DefaultAccountState,
    },
    state::{AccountState, Mint},
};

use crate::errors::AgentrailError;

/// Fails with a named error when `mint` carries an extension that breaks escrow.
pub fn check_mint(mint: &AccountInfo) -> Result<()> {
    if *mint.owner != anchor_spl::token_2022::ID {
        return Ok(());
    }
    let data = mint.try_borrow_data()?;
    let state = StateWithExtensions::<Mint>::unpack(&data).map_err(|_| AgentrailError::InvalidMint)?;
    let extensions = state.get_extension_types().map_err(|_| AgentrailError::InvalidMint)?;
    for extension in extensions {
        let refusal = match extension {
            ExtensionType::PermanentDelegate => AgentrailError::MintPermanentDelegate,
            ExtensionType::TransferHook => AgentrailError::MintTransferHook,
            ExtensionType::TransferFeeConfig | ExtensionType::ConfidentialTransferFeeConfig => {
                AgentrailError::MintTransferFee
            }
            ExtensionType::NonTransferable => AgentrailError::MintNonTransferable,
            ExtensionType::ConfidentialTransferMint | ExtensionType::ConfidentialMintBurn => {
                AgentrailError::MintConfidential
            }
            ExtensionType::Pausable => AgentrailError::MintPausable,
            ExtensionType::DefaultAccountState => {
                let default = state.get_extension::<DefaultAccountState>().map_err(|_| AgentrailError::InvalidMint)?;
                if default.state == AccountState::Frozen as u8 {
                    AgentrailError::MintDefaultFrozen
                } else {
                    continue;
                }
            }
            _ => continue,
        };
        return Err(refusal.into());
    }
    Ok(())
}
