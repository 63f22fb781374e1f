/**
 * Instructions built from the IDL: the account list in the IDL's order with its signer and
 * writable flags, the data from Anchor's coder. Optional accounts that are absent are passed as
 * the program's id, as Anchor expects. Builders for what people sign in the console follow.
 */
import type { Idl } from "@anchor-lang/core";
import { type AccountMeta, PublicKey, TransactionInstruction } from "@solana/web3.js";
import BN from "bn.js";
import { coder, IDL, programId } from "./idl";
import * as pda from "./pda";

type IdlInstruction = Idl["instructions"][number];
type IdlAccountItem = IdlInstruction["accounts"][number];

/** Accounts by their IDL name (the innermost name of a nested group); `null` leaves an optional one out. */
export type Accounts = Record<string, PublicKey | null | undefined>;

/** Why an instruction could not be built. */
export class InstructionError extends Error {}

function findInstruction(name: string): IdlInstruction {
  const ix = IDL.instructions.find((i) => i.name === name);
  if (!ix) throw new InstructionError(`the program has no instruction ${JSON.stringify(name)}`);
  return ix;
}

type IdlAccount = Exclude<IdlAccountItem, { accounts: unknown }>;

/** The accounts of instruction `name` in the IDL's order, nested groups flattened. */
export function accountItems(name: string): IdlAccount[] {
  const out: IdlAccount[] = [];
  const walk = (items: IdlAccountItem[]) => {
    for (const item of items) {
      if ("accounts" in item) walk(item.accounts);
      else out.push(item);
    }
  };
  walk(findInstruction(name).accounts);
  return out;
}

/** The account metas of instruction `name`, in the IDL's order. */
export function accountMetas(name: string, accounts: Accounts): AccountMeta[] {
  const metas: AccountMeta[] = [];
  for (const item of accountItems(name)) {
      let key = accounts[item.name];
      // accounts the IDL fixes (programs, sysvars) need not be given
      if (key === undefined && item.address) key = new PublicKey(item.address);
      if (!key) {
        if (!item.optional) throw new InstructionError(`${name}: account \`${item.name}\` is missing`);
        metas.push({ pubkey: programId(), isSigner: false, isWritable: false });
        continue;
      }
      metas.push({ pubkey: key, isSigner: !!item.signer, isWritable: !!item.writable });
  }
  return metas;
}

/** Instruction `name` with `args` (IDL field names; integers as numbers, bigints or BN). */
export function instruction(name: string, args: Record<string, unknown>, accounts: Accounts): TransactionInstruction {
  const keys = accountMetas(name, accounts);
  const norm = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, typeof v === "bigint" ? new BN(v.toString()) : v]));
  const data = coder.instruction.encode(name, norm);
  return new TransactionInstruction({ programId: programId(), keys, data });
}

/** What a job's settlements touch, derived from the job and its agent (the Rust `JobKeys`). */
export interface JobKeys {
  job: PublicKey;
  poster: PublicKey;
  agent: PublicKey;
  mint: PublicKey;
  tokenProgram: PublicKey;
  vault: PublicKey;
  /** The pinned certification, when the job demanded a stage. */
  certification: PublicKey | null;
  payeeToken: PublicKey;
  posterToken: PublicKey;
  trackRecord: PublicKey;
}

/** The fields of a decoded `Job` and `Agent` that [`jobKeys`] reads. */
export interface JobFields {
  poster: PublicKey;
  agent: PublicKey;
  mint: PublicKey;
  token_program: PublicKey;
  min_stage: number;
  agent_version_seq: number;
  record_shard: number;
}

/** Derives the keys of job account `job` from its decoded state and its agent's payout wallet. */
export function jobKeys(job: PublicKey, state: JobFields, agentPayout: PublicKey): JobKeys {
  const { mint, token_program: tp } = state;
  return {
    job,
    poster: state.poster,
    agent: state.agent,
    mint,
    tokenProgram: tp,
    vault: pda.vault(job),
    certification: state.min_stage > 0 ? pda.certification(state.agent, state.agent_version_seq) : null,
    payeeToken: pda.ata(agentPayout, mint, tp),
    posterToken: pda.ata(state.poster, mint, tp),
    trackRecord: pda.trackRecord(state.agent, mint, state.record_shard),
  };
}

function settlement(k: JobKeys): Accounts {
  return {
    config: pda.config(),
    job: k.job,
    agent: k.agent,
    certification: k.certification,
    mint: k.mint,
    vault: k.vault,
    payee_token: k.payeeToken,
    token_program: k.tokenProgram,
    track_record: k.trackRecord,
    poster_token: k.posterToken,
  };
}

/** `fund_job`: the poster moves `expectedTotal` into the vault. */
export function fundJob(k: JobKeys, expectedTotal: bigint): TransactionInstruction {
  return instruction("fund_job", { expected_total: expectedTotal }, { ...settlement(k), poster: k.poster });
}

/** `approve_milestone`: the poster releases a submitted milestone now. */
export function approveMilestone(k: JobKeys, index: number): TransactionInstruction {
  return instruction("approve_milestone", { index }, { ...settlement(k), poster: k.poster });
}

/** `reject_milestone`: the poster rejects a submitted milestone (a dispute where the job names an arbiter). */
export function rejectMilestone(k: JobKeys, index: number, cancel: boolean): TransactionInstruction {
  return instruction("reject_milestone", { index, cancel }, { ...settlement(k), poster: k.poster });
}

/** `decide_dispute`: the arbiter gives `agentBps` of the milestone to the agent, the rest back. */
export function decideDispute(arbiter: PublicKey, k: JobKeys, index: number, agentBps: number): TransactionInstruction {
  return instruction("decide_dispute", { index, agent_bps: agentBps }, { ...settlement(k), arbiter });
}

/** `release_after_review`: anyone releases a milestone whose review window passed. */
export function releaseAfterReview(k: JobKeys, index: number): TransactionInstruction {
  return instruction("release_after_review", { index }, settlement(k));
}

/** `cancel_job`: the poster takes back every milestone not yet started. */
export function cancelJob(k: JobKeys): TransactionInstruction {
  return instruction("cancel_job", {}, { ...settlement(k), poster: k.poster });
}

/** `refund_expired`: anyone returns what is left after the deadline. */
export function refundExpired(k: JobKeys): TransactionInstruction {
  return instruction("refund_expired", {}, settlement(k));
}

