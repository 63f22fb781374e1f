//! `agentrail`: register agents, certify them, create, fund and settle jobs, inspect anchors and
//! verify receipts, against localnet, devnet or mainnet.

mod amount;
mod commands;
mod context;
mod output;
mod parse;
mod settings;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands::{
    agent::AgentCmd, anchors::AnchorsCmd, cert::CertCmd, config::ConfigCmd, dev::DevCmd, job::JobCmd,
    receipt::ReceiptCmd,
};

/// Pay AI agents safely on Solana: agent registry, certification, milestone escrow, receipts.
#[derive(Parser, Debug)]
#[command(name = "agentrail", version)]
struct Cli {
    /// RPC URL or moniker: localhost, devnet, testnet, mainnet-beta (default: Solana CLI config).
    #[arg(short = 'u', long, global = true, env = "AGENTRAIL_URL")]
    url: Option<String>,
    /// Signing keypair file (default: Solana CLI config, then ~/.config/solana/id.json).
    #[arg(short = 'k', long, global = true, env = "AGENTRAIL_KEYPAIR")]
    keypair: Option<String>,
    /// Commitment: processed, confirmed or finalized.
    #[arg(long, global = true, env = "AGENTRAIL_COMMITMENT")]
    commitment: Option<String>,
    /// The Agentrail program's id on this cluster (default: the built-in localnet id, accepted
    /// for a validator on this machine only).
    #[arg(long, global = true, env = "AGENTRAIL_PROGRAM_ID")]
    program_id: Option<anchor_lang::prelude::Pubkey>,
    /// Solana CLI config file to read defaults from.
    #[arg(long, global = true, env = "AGENTRAIL_SOLANA_CONFIG")]
    config: Option<std::path::PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    json: bool,
    /// Simulate write commands: print compute units and fee, send nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Protocol config: show, initialise, change fee/treasury/pause, admin, certifiers.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Agents: register from a manifest, publish versions, pause/resume/retire, show, list.
    #[command(subcommand)]
    Agent(AgentCmd),
    /// Certification: attest a stage for an agent's current version, or revoke.
    #[command(subcommand)]
    Cert(CertCmd),
    /// Jobs: create, fund, approve/reject, fail, release, cancel, refund, close, show, list.
    #[command(subcommand)]
    Job(JobCmd),
    /// Receipt logs and their daily checkpoints.
    #[command(subcommand)]
    Anchors(AnchorsCmd),
    /// Receipts: verify a receipt bundle's signatures, proof and on-chain anchor.
    #[command(subcommand)]
    Receipt(ReceiptCmd),
    /// Localnet/devnet helpers: airdrop SOL, create a test mint, mint test tokens.
    #[command(subcommand)]
    Dev(DevCmd),
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(shell, &mut Cli::command(), "agentrail", &mut std::io::stdout());
        return Ok(());
    }
    let solana = settings::load_solana_config(cli.config.as_deref())?;
    let settings =
        settings::Settings::resolve(cli.url.as_deref(), cli.keypair.as_deref(), cli.commitment.as_deref(), &solana)?;
    agentrail_client::use_program_id(agentrail_client::program_id_for(
        &settings.url,
        cli.program_id,
        "--program-id or AGENTRAIL_PROGRAM_ID",
    )?)?;
    let ctx = context::Ctx::new(settings, cli.json, cli.dry_run);
    match cli.command {
        Command::Config(c) => c.run(&ctx),
        Command::Agent(c) => c.run(&ctx),
        Command::Cert(c) => c.run(&ctx),
        Command::Job(c) => c.run(&ctx),
        Command::Anchors(c) => c.run(&ctx),
        Command::Receipt(c) => c.run(&ctx),
        Command::Dev(c) => c.run(&ctx),
        Command::Completions { .. } => unreachable!("handled above"),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offchain review's M7: someone deploys their own program at the repository's localnet
    /// id on a real cluster, and a user pointing the CLI there would talk to it. The CLI stops
    /// before it reads or sends anything, naming the setting that names the real deployment.
    #[test]
    fn a_remote_cluster_needs_its_deployments_program_id() {
        let args = ["agentrail", "-u", "mainnet-beta", "--config", "/nonexistent/config.yml", "config", "show"];
        let err = run(Cli::try_parse_from(args).unwrap()).unwrap_err().to_string();
        assert!(err.contains("no program id configured") && err.contains("--program-id"), "{err}");
    }

    #[test]
    fn command_tree_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_globals_anywhere() {
        let cli = Cli::try_parse_from(["agentrail", "job", "show", "Job1", "--json", "-u", "devnet"]).unwrap();
        assert!(cli.json);
        assert_eq!(cli.url.as_deref(), Some("devnet"));
        assert!(matches!(cli.command, Command::Job(JobCmd::Show { .. })));
        let cli =
            Cli::try_parse_from(["agentrail", "job", "fail", "J", "2", "--cancel", "--reason", "timeout"]).unwrap();
        match cli.command {
            Command::Job(JobCmd::Fail { index, cancel, reason, .. }) => {
                assert_eq!((index, cancel, reason.as_str()), (2, true, "timeout"))
            }
            other => panic!("parsed {other:?}"),
        }
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(Cli::try_parse_from(["agentrail", "job", "approve", "J"]).is_err(), "missing milestone index");
        assert!(Cli::try_parse_from(["agentrail", "job", "approve", "J", "x"]).is_err(), "index must be a number");
        assert!(Cli::try_parse_from(["agentrail", "job", "fail", "J", "256"]).is_err(), "index must fit a u8");
        assert!(
            Cli::try_parse_from([
                "agentrail",
                "cert",
                "attest",
                "0",
                "--stage",
                "F",
                "--evidence",
                "e",
                "--expires-in",
                "30d"
            ])
            .is_err()
        );
    }
}
