/**
 * Signed receipts in the browser: the canonical encoding (the Rust client's
 * `agentrail_client::receipt`, versions 1 and 2) rebuilt from a receipt's JSON form, its hash,
 * and the keeper's and the vendor's ed25519 signatures.
 */
import { utils } from "@anchor-lang/core";
import { ed25519 } from "@noble/curves/ed25519";
import { PublicKey } from "@solana/web3.js";
import { concat, leafHash } from "./merkle";

const enc = new TextEncoder();
const MAGIC = enc.encode("ARCP");
const SIGNING_DOMAIN = enc.encode("agentrail/receipt/v1");
const OUTPUT_DOMAIN = enc.encode("agentrail/output/v1\0");
/** Bounds every receipt keeps (the Rust client's `MAX_*`). */
export const MAX_GUARDS = 32;
export const MAX_TX_SIGNATURES = 16;
export const MAX_GUARD_NAME = 64;
export const MAX_GUARD_DETAIL = 256;

/** The JSON form of a receipt, as the keeper's API and `agentrail receipt` write it. */
export interface ReceiptJson {
  version: number;
  job: string;
  milestone: number;
  agent: string;
  agent_version_seq: number;
  keeper: string;
  inputs_hash: string;
  output_hash: string;
  cost: number | bigint;
  guards: { name: string; passed: boolean; detail: string }[];
  tx_signatures: string[];
  started_at: number | bigint;
  finished_at: number | bigint;
  terms_hash?: string;
  keeper_signature: string;
  vendor?: string;
  vendor_signature?: string;
  hash: string;
}

/** Why a receipt is malformed or does not verify, in words a person can act on. */
export class ReceiptError extends Error {}

export function hexBytes(field: string, s: unknown, len: number): Uint8Array {
  if (typeof s !== "string" || s.length !== len * 2 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new ReceiptError(`\`${field}\` is not ${len} bytes of hex`);
  }
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function key(field: string, s: unknown): Uint8Array {
  try {
    return new PublicKey(s as string).toBytes();
  } catch {
    throw new ReceiptError(`\`${field}\` is not a base58 public key`);
  }
}

function sig(field: string, s: unknown): Uint8Array {
  let b: Uint8Array | null = null;
  try {
    b = utils.bytes.bs58.decode(s as string);
  } catch {
    b = null;
  }
  if (!b || b.length !== 64) throw new ReceiptError(`\`${field}\` is not a base58 64-byte signature`);
  return b;
}

/** Little-endian integer bytes; throws when `v` does not fit. */
function int(field: string, v: unknown, bytes: number, signed: boolean): Uint8Array {
  let n: bigint;
  try {
    n = BigInt(v as any);
  } catch {
    throw new ReceiptError(`\`${field}\` is not an integer`);
  }
  const bits = BigInt(bytes * 8);
  const [lo, hi] = signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
  if (n < lo || n > hi) throw new ReceiptError(`\`${field}\` is out of range`);
  const out = new Uint8Array(bytes);
  let u = n < 0n ? n + (1n << bits) : n;
  for (let i = 0; i < bytes; i++) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

function str(s: string): Uint8Array {
  const b = enc.encode(s);
  return concat(int("length", b.length, 4, false), b);
}

/** A receipt parsed from JSON: its canonical parts, ready to hash and verify. */
export interface ParsedReceipt {
  json: ReceiptJson;
  version: number;
  /** The Borsh body (both versions; the terms hash last in version 2). */
  body: Uint8Array;
  keeper: Uint8Array;
  keeperSignature: Uint8Array;
  vendor: { key: Uint8Array; signature: Uint8Array } | null;
  /** The canonical encoding. */
  encoded: Uint8Array;
  /** Its leaf hash: what the keeper submits on-chain and appends to its log. */
  hash: Uint8Array;
}

/** Rebuilds the canonical encoding from the JSON form; every field is checked on the way. */
export function parseReceipt(j: ReceiptJson): ParsedReceipt {
  if (j.version !== 1 && j.version !== 2) throw new ReceiptError(`unsupported receipt version ${j.version} (this client reads 1 and 2)`);
  if ((j.version === 2) !== (j.terms_hash !== undefined && j.terms_hash !== null)) {
    throw new ReceiptError(`a version ${j.version} receipt ${j.version === 2 ? "needs" : "has no"} a \`terms_hash\``);
  }
  if (!Array.isArray(j.guards) || j.guards.length > MAX_GUARDS) throw new ReceiptError("receipt field `guards` is over its bound");
  if (!Array.isArray(j.tx_signatures) || j.tx_signatures.length > MAX_TX_SIGNATURES) {
    throw new ReceiptError("receipt field `tx_signatures` is over its bound");
  }
  const guards = j.guards.map((g, i) => {
    const name = enc.encode(String(g.name));
    const detail = enc.encode(String(g.detail ?? ""));
    if (name.length === 0 || name.length > MAX_GUARD_NAME) throw new ReceiptError(`guard ${i}'s name is over its bound`);
    if (detail.length > MAX_GUARD_DETAIL) throw new ReceiptError(`guard ${i}'s detail is over its bound`);
    return concat(str(String(g.name)), Uint8Array.of(g.passed ? 1 : 0), str(String(g.detail ?? "")));
  });
  const keeper = key("keeper", j.keeper);
  const body = concat(
    key("job", j.job),
    int("milestone", j.milestone, 1, false),
    key("agent", j.agent),
    int("agent_version_seq", j.agent_version_seq, 4, false),
    keeper,
    hexBytes("inputs_hash", j.inputs_hash, 32),
    hexBytes("output_hash", j.output_hash, 32),
    int("cost", j.cost, 8, false),
    int("guards", guards.length, 4, false),
    ...guards,
    int("tx_signatures", j.tx_signatures.length, 4, false),
    ...j.tx_signatures.map((s, i) => sig(`tx_signatures[${i}]`, s)),
    int("started_at", j.started_at, 8, true),
    int("finished_at", j.finished_at, 8, true),
    j.version === 2 ? hexBytes("terms_hash", j.terms_hash, 32) : new Uint8Array(),
  );
  const keeperSignature = sig("keeper_signature", j.keeper_signature);
  const hasVendor = j.vendor !== undefined && j.vendor !== null;
  if (hasVendor !== (j.vendor_signature !== undefined && j.vendor_signature !== null)) {
    throw new ReceiptError("`vendor` and `vendor_signature` go together");
  }
  const vendor = hasVendor ? { key: key("vendor", j.vendor), signature: sig("vendor_signature", j.vendor_signature) } : null;
  const header = concat(MAGIC, Uint8Array.of(j.version));
  const encoded = concat(
    header,
    body,
    keeperSignature,
    vendor ? concat(Uint8Array.of(1), vendor.key, vendor.signature) : Uint8Array.of(0),
  );
  const hash = leafHash(encoded);
  if (toHex(hash) !== String(j.hash).toLowerCase()) {
    throw new ReceiptError(`the receipt's stated hash ${j.hash} is not the hash of its contents (${toHex(hash)}): it was altered`);
  }
  return { json: j, version: j.version, body, keeper, keeperSignature, vendor, encoded, hash };
}

function verifyStrict(signature: Uint8Array, message: Uint8Array, key: Uint8Array): boolean {
  try {
    // zip215 off: RFC 8032's strict rules, as the Rust side's `verify_strict`
    return ed25519.verify(signature, message, key, { zip215: false });
  } catch {
    return false;
  }
}

/** Checks the keeper's signature and the vendor's co-signature, if any; throws naming the one that fails. */
export function verifySignatures(r: ParsedReceipt): void {
  const message = concat(SIGNING_DOMAIN, MAGIC, Uint8Array.of(r.version), r.body);
  if (!verifyStrict(r.keeperSignature, message, r.keeper)) throw new ReceiptError("the keeper's signature does not verify");
  if (!r.vendor) return;
  const signed =
    r.version === 2
      ? concat(
          OUTPUT_DOMAIN,
          key("job", r.json.job),
          Uint8Array.of(r.json.milestone),
          hexBytes("terms_hash", r.json.terms_hash, 32),
          hexBytes("output_hash", r.json.output_hash, 32),
          int("cost", r.json.cost, 8, false),
        )
      : message;
  if (!verifyStrict(r.vendor.signature, signed, r.vendor.key)) throw new ReceiptError("the vendor's co-signature does not verify");
}
