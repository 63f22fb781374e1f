/**
 * Account decoding through the IDL (Anchor's coder checks each account's discriminator), plus
 * the two SPL layouts the console reads: a token account's mint, owner and amount, a mint's
 * decimals.
 */
import type { Connection, PublicKey } from "@solana/web3.js";
import { coder } from "./idl";

/** The program's account types, as the IDL names them. */
export type AccountName = "Agent" | "Certification" | "Certifier" | "Checkpoint" | "Config" | "Job" | "ReceiptLog" | "TrackRecord";

/** Decodes `data` as account `name` (fields as the IDL names them; integers over 32 bits as BN). */
export function decode<T = Record<string, any>>(name: AccountName, data: Uint8Array): T {
  return coder.accounts.decode(name, Buffer.from(data)) as T;
}

/** A job's statuses and a milestone's states, by the byte the account holds (the program's `JobStatus` and `MilestoneState` constants). */
export const JOB_STATUSES = ["created", "funded", "completed", "cancelled", "expired"] as const;
export const MILESTONE_STATES = ["pending", "submitted", "released", "refunded", "disputed", "split"] as const;

/** A state byte's name; `unknown(n)` for a byte that is none. */
export function stateName(names: readonly string[], value: { 0: number }): string {
  return names[value[0]] ?? `unknown(${value[0]})`;
}

/**
 * Decodes a Job account (one zero-copy layout): its fields as the IDL names them, with
 * `milestones` (the first `milestone_count` of `milestone_slots`, `state` a name and
 * `requires_approval` a boolean), `terms_uri` as text and `status` as a name.
 */
export function decodeJob(data: Uint8Array): Record<string, any> {
  const raw = decode("Job", data);
  const milestones = raw.milestone_slots.slice(0, raw.milestone_count).map((m: Record<string, any>) => ({
    ...m,
    state: stateName(MILESTONE_STATES, m.state),
    requires_approval: m.requires_approval !== 0,
  }));
  const terms_uri = new TextDecoder().decode(Uint8Array.from(raw.terms_uri.slice(0, raw.terms_uri_len)));
  return { ...raw, status: stateName(JOB_STATUSES, raw.status), milestones, terms_uri };
}

/** Reads and decodes account `key`; `null` when it does not exist. */
export async function fetchAccount<T = Record<string, any>>(connection: Connection, name: AccountName, key: PublicKey): Promise<T | null> {
  const info = await connection.getAccountInfo(key);
  return info ? decode<T>(name, info.data) : null;
}

/** An SPL token account's mint, owner and amount (the first 72 bytes of both token programs' layout). */
export interface TokenAccount {
  mint: Uint8Array;
  owner: Uint8Array;
  amount: bigint;
}

/** Reads a token account's leading fields; `null` when the data is too short to be one. */
export function tokenAccount(data: Uint8Array): TokenAccount | null {
  if (data.length < 165) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { mint: data.slice(0, 32), owner: data.slice(32, 64), amount: view.getBigUint64(64, true) };
}

/** A mint's decimals (byte 44 of both token programs' layout); `null` when it is not a mint. */
export function mintDecimals(data: Uint8Array): number | null {
  return data.length >= 82 ? data[44] : null;
}

/** `amount` base units as a decimal string with `decimals` places, trailing zeros trimmed. */
export function formatAmount(amount: bigint, decimals: number): string {
  const neg = amount < 0n;
  const abs = neg ? -amount : amount;
  const unit = 10n ** BigInt(decimals);
  const whole = abs / unit;
  const frac = (abs % unit).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}
