//! `agentrail cert`: attestations and revocations by authorised certifiers.

use agentrail::instructions::AttestStageArgs;
use agentrail::state::Agent;
use agentrail_client::{instructions as ix, pda};
use anyhow::Result;
use clap::Subcommand;
use solana_sdk::signer::Signer;

use crate::context::Ctx;
use crate::parse;

#[derive(Subcommand, Debug)]
pub enum CertCmd {
    /// Attest a stage (A static review, B sandbox, C constrained live, D full SLO, E soak) for
    /// the agent's current version.
    Attest {
        agent: String,
        #[arg(long, value_parser = parse::stage)]
        stage: u8,
        /// Evidence bundle file (SLO stats, failure modes, supported guards); its SHA-256 is recorded.
        #[arg(long)]
        evidence: String,
        /// How long the attestation counts, e.g. 90d.
        #[arg(long, value_parser = parse::duration)]
        expires_in: i64,
    },
    /// Revoke every stage of an agent version's certification.
    Revoke {
        agent: String,
        /// Which version (`version #` in `agent show`); default: the current one.
        #[arg(long)]
        version_seq: Option<u32>,
        /// Reason document; its SHA-256 is recorded.
        #[arg(long)]
        reason: String,
    },
}

impl CertCmd {
    pub fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            CertCmd::Attest { agent, stage, evidence, expires_in } => {
                anyhow::ensure!(stage > 0, "attest a stage from A to E");
                let key = parse::agent(&agent)?;
                let attestation_hash = parse::file_hash(&evidence)?;
                let a: Agent = ctx.account(&key, "agent")?;
                let expires_at = ctx
                    .now()?
                    .checked_add(expires_in)
                    .ok_or_else(|| anyhow::anyhow!("--expires-in {expires_in} s is too far"))?;
                let me = ctx.signer()?.pubkey();
                let args = AttestStageArgs { stage, attestation_hash, expires_at };
                ctx.send(
                    "cert attest",
                    &[ix::attest_stage(&me, &key, a.version_seq, args)],
                    &[],
                    &[
                        ("stage", parse::stage_letter(stage).into()),
                        ("expires", agentrail_client::escrow::format_time(expires_at)),
                    ],
                )
            }
            CertCmd::Revoke { agent, version_seq, reason } => {
                let key = parse::agent(&agent)?;
                let seq = match version_seq {
                    Some(s) => s,
                    None => ctx.account::<Agent>(&key, "agent")?.version_seq,
                };
                let reason_hash = parse::file_hash(&reason)?;
                let me = ctx.signer()?.pubkey();
                let cert = pda::certification(&key, seq);
                ctx.send(
                    "cert revoke",
                    &[ix::revoke_certification(&me, &cert, reason_hash)],
                    &[],
                    &[("certification", cert.to_string())],
                )
            }
        }
    }
}
