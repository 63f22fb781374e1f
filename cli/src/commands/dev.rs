//! `agentrail dev`: localnet and devnet helpers for SOL and test tokens.

use agentrail_client::accounts::token_amount;
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use anchor_spl::token_2022::spl_token_2022;
use anyhow::{Result, anyhow};
use clap::Subcommand;
use solana_sdk::native_token::LAMPORTS_PER_SOL;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

use crate::amount::parse_ui;
use crate::commands::job::mint_info;
use crate::context::{Ctx, rpc_error};
use crate::parse;

#[derive(Subcommand, Debug)]
pub enum DevCmd {
    /// Request an airdrop of SOL (localnet, devnet, testnet).
    Airdrop {
        /// Amount in SOL, e.g. 2.5.
        amount: String,
        /// Recipient (default: the signing keypair).
        #[arg(long)]
        to: Option<String>,
    },
    /// Create a token mint with the signing keypair as mint and freeze authority.
    CreateMint {
        #[arg(long, default_value_t = 6)]
        decimals: u8,
        /// Use Token-2022 instead of classic SPL Token.
        #[arg(long)]
        token_2022: bool,
    },
    /// Mint tokens (UI units) to an owner's associated token account, creating it if needed.
    MintTo { mint: String, owner: String, amount: String },
    /// Write a new keypair file (Solana CLI format); never overwrites.
    Keygen { outfile: String },
    /// Print a token account's balance of `mint` for `owner`, in base units.
    Balance { mint: String, owner: String },
}

impl DevCmd {
    pub fn run(self, ctx: &Ctx) -> Result<()> {
        let url = &ctx.settings.url;
        match self {
            DevCmd::Keygen { outfile } => {
                let path = crate::settings::expand_home(&outfile);
                if path.exists() {
                    anyhow::bail!("{} exists; refusing to overwrite a keypair", path.display());
                }
                // --dry-run writes nothing
                if ctx.dry_run {
                    println!("dev keygen (dry run): would write a new keypair to {}", path.display());
                    return Ok(());
                }
                let k = Keypair::new();
                solana_sdk::signature::write_keypair_file(&k, &path)
                    .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
                println!("{}", k.pubkey());
                Ok(())
            }
            DevCmd::Balance { mint, owner } => {
                let mint = parse::pubkey("mint", &mint)?;
                let owner = parse::pubkey("owner", &owner)?;
                let (_, token_program) = mint_info(ctx, &mint)?;
                let ata = agentrail_client::pda::ata(&owner, &mint, &token_program);
                let balance = ctx.raw(&ata)?.and_then(|a| token_amount(&a.data)).unwrap_or(0);
                if ctx.json {
                    crate::output::print_json(
                        &serde_json::json!({ "token_account": ata.to_string(), "amount": balance }),
                    );
                } else {
                    println!("{balance}");
                }
                Ok(())
            }
            DevCmd::Airdrop { amount, to } => {
                let lamports = parse_ui(&amount, 9)?;
                let to = match to {
                    Some(t) => parse::pubkey("recipient", &t)?,
                    None => ctx.signer()?.pubkey(),
                };
                if ctx.dry_run {
                    println!("dev airdrop (dry run): would request {amount} SOL for {to}");
                    return Ok(());
                }
                let sig = ctx.rpc.request_airdrop(&to, lamports).map_err(|e| rpc_error(e, url))?;
                let blockhash = ctx.rpc.get_latest_blockhash().map_err(|e| rpc_error(e, url))?;
                ctx.rpc
                    .confirm_transaction_with_spinner(&sig, &blockhash, ctx.rpc.commitment())
                    .map_err(|e| rpc_error(e, url))?;
                println!("airdropped {} SOL to {to} ({sig})", lamports as f64 / LAMPORTS_PER_SOL as f64);
                Ok(())
            }
            DevCmd::CreateMint { decimals, token_2022 } => {
                let program = if token_2022 { anchor_spl::token_2022::ID } else { anchor_spl::token::ID };
                let mint = Keypair::new();
                let me = ctx.signer()?.pubkey();
                let space = 82;
                let rent = ctx.rpc.get_minimum_balance_for_rent_exemption(space).map_err(|e| rpc_error(e, url))?;
                let ixs = [
                    solana_system_interface::instruction::create_account(
                        &me,
                        &mint.pubkey(),
                        rent,
                        space as u64,
                        &program,
                    ),
                    spl_token_2022::instruction::initialize_mint2(&program, &mint.pubkey(), &me, Some(&me), decimals)
                        .map_err(|e| anyhow!("{e}"))?,
                ];
                ctx.send("dev create-mint", &ixs, &[&mint], &[("mint", mint.pubkey().to_string())])
            }
            DevCmd::MintTo { mint, owner, amount } => {
                let mint = parse::pubkey("mint", &mint)?;
                let owner = parse::pubkey("owner", &owner)?;
                let (decimals, token_program) = mint_info(ctx, &mint)?;
                let units = parse_ui(&amount, decimals)?;
                let me = ctx.signer()?.pubkey();
                let ata = agentrail_client::pda::ata(&owner, &mint, &token_program);
                let ixs = [
                    create_associated_token_account_idempotent(&me, &owner, &mint, &token_program),
                    spl_token_2022::instruction::mint_to(&token_program, &mint, &ata, &me, &[], units)
                        .map_err(|e| anyhow!("{e}"))?,
                ];
                ctx.send("dev mint-to", &ixs, &[], &[("token_account", ata.to_string()), ("amount", amount)])
            }
        }
    }
}
