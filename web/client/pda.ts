/**
 * Program-derived addresses, derived exactly as the program (and the Rust client's `pda`
 * module) derives them. The IDL names the seeds of accounts an instruction creates, but not how
 * to find an existing agent, job, certification or checkpoint from what a person knows.
 */
import { PublicKey } from "@solana/web3.js";
import { ASSOCIATED_TOKEN_PROGRAM_ID, programId, TOKEN_PROGRAM_ID } from "./idl";

const enc = new TextEncoder();
/** Number of shards of an agent's track record per mint (`TRACK_RECORD_SHARDS`). */
export const TRACK_RECORD_SHARDS = 4;

function find(seeds: Uint8Array[], program: PublicKey = programId()): PublicKey {
  return PublicKey.findProgramAddressSync(seeds, program)[0];
}

function u64le(n: bigint | number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}

function u32le(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, true);
  return out;
}

/** The config singleton. */
export function config(): PublicKey {
  return find([enc.encode("config")]);
}

/** The account that authorises `certifier`. */
export function certifier(certifier: PublicKey): PublicKey {
  return find([enc.encode("certifier"), certifier.toBytes()]);
}

/** The agent with sequential id `id`. */
export function agent(id: bigint | number): PublicKey {
  return find([enc.encode("agent"), u64le(id)]);
}

/** The certification of version `versionSeq` of `agent`. */
export function certification(agent: PublicKey, versionSeq: number): PublicKey {
  return find([enc.encode("certification"), agent.toBytes(), u32le(versionSeq)]);
}

/** The job `nonce` of `poster`. */
export function job(poster: PublicKey, nonce: bigint | number): PublicKey {
  return find([enc.encode("job"), poster.toBytes(), u64le(nonce)]);
}

/** The token vault of `job`. */
export function vault(job: PublicKey): PublicKey {
  return find([enc.encode("vault"), job.toBytes()]);
}

/** Shard `shard` of an agent's track record in one mint. */
export function trackRecord(agent: PublicKey, mint: PublicKey, shard: number): PublicKey {
  return find([enc.encode("track_record"), agent.toBytes(), mint.toBytes(), Uint8Array.of(shard)]);
}

/** The shard the clients pick for the job at `job` (`Job::default_record_shard`); the job records it. */
export function defaultRecordShard(job: PublicKey): number {
  return job.toBytes()[0] % TRACK_RECORD_SHARDS;
}

/** The receipt log of keeper operator `authority`. */
export function receiptLog(authority: PublicKey): PublicKey {
  return find([enc.encode("receipt_log"), authority.toBytes()]);
}

/** The checkpoint of `log` for UTC day `day`. */
export function checkpoint(log: PublicKey, day: number): PublicKey {
  return find([enc.encode("checkpoint"), log.toBytes(), u32le(day)]);
}

/** The associated token account of `owner` for `mint` under `tokenProgram`. */
export function ata(owner: PublicKey, mint: PublicKey, tokenProgram: PublicKey = TOKEN_PROGRAM_ID): PublicKey {
  return find([owner.toBytes(), tokenProgram.toBytes(), mint.toBytes()], ASSOCIATED_TOKEN_PROGRAM_ID);
}
