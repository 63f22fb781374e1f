/**
 * Receipt bundles (the keeper's `/receipts/{index}` answer, `agentrail receipt verify`'s input)
 * checked without trusting the keeper: the receipt's encoding and signatures, its inclusion in
 * the keeper's log, that log's checkpoint for the day read from the chain, the log's
 * consistency from that checkpoint to the latest one anchored (the proof may come from anyone;
 * both roots come from the chain), and the job's on-chain result hash.
 */
import type { Connection } from "@solana/web3.js";
import { PublicKey } from "@solana/web3.js";
import { decode, decodeJob } from "./accounts";
import { verifyConsistency, verifyInclusion } from "./merkle";
import * as pda from "./pda";
import { hexBytes, type ParsedReceipt, parseReceipt, type ReceiptJson, toHex, verifySignatures } from "./receipt";

/** A closed job's account: its 8-byte `ClosedJob` discriminator only. */
const CLOSED_JOB_LEN = 8;

/** A receipt with its proof, as the keeper hands it out. */
export interface ReceiptBundle {
  receipt: ReceiptJson;
  index: number | bigint;
  tree_size: number | bigint;
  root: string;
  proof: string[];
  log_authority: string;
  day: number | null;
}

/** One check and what it found. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** The verdict: verified only when every check passed; `reason` names the first that failed. */
export interface Report {
  verified: boolean;
  reason: string | null;
  checks: Check[];
  receipt: ParsedReceipt | null;
}

const BIG_FIELDS = new Set(["cost", "index", "tree_size", "started_at", "finished_at"]);

/** Parses bundle JSON keeping 64-bit integers exact (where the engine gives a reviver the source text). */
export function parseBundle(text: string): ReceiptBundle {
  return JSON.parse(text, function (this: unknown, k: string, v: unknown, ctx?: { source?: string }) {
    if (BIG_FIELDS.has(k) && typeof v === "number" && ctx?.source !== undefined && /^-?\d+$/.test(ctx.source)) {
      return BigInt(ctx.source);
    }
    return v;
  } as any);
}

/** Where the chain and the log's consistency proofs are read. */
export interface Sources {
  connection: Connection;
  /** Fetches the consistency proof between two sizes of the log (from the keeper's `/consistency`). */
  consistencyProof: (from: bigint, to: bigint) => Promise<string[]>;
}

/** Checks everything; never throws (a failure is a report naming it). */
export async function verifyBundle(bundle: ReceiptBundle, sources: Sources | null): Promise<Report> {
  const checks: Check[] = [];
  const report = (receipt: ParsedReceipt | null): Report => {
    const failed = checks.find((c) => !c.ok);
    return { verified: !failed, reason: failed ? `${failed.name}: ${failed.detail}` : null, checks, receipt };
  };
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    return ok;
  };
  let receipt: ParsedReceipt;
  try {
    receipt = parseReceipt(bundle.receipt);
  } catch (e) {
    check("receipt", false, (e as Error).message);
    return report(null);
  }
  check("receipt", true, `version ${receipt.version}, hash ${toHex(receipt.hash)}`);
  try {
    verifySignatures(receipt);
    check("signatures", true, receipt.vendor ? "keeper and vendor signatures verify" : "keeper signature verifies (not co-signed)");
  } catch (e) {
    check("signatures", false, (e as Error).message);
    return report(receipt);
  }
  // the log proves something about a keeper only if it is that keeper's own log
  if (!check("log", bundle.log_authority === bundle.receipt.keeper, bundle.log_authority === bundle.receipt.keeper
    ? `the keeper's own log (${bundle.log_authority})`
    : `the receipt was signed by keeper ${bundle.receipt.keeper} but the bundle's log belongs to ${bundle.log_authority}`)) {
    return report(receipt);
  }
  let root: Uint8Array;
  let proof: Uint8Array[];
  try {
    root = hexBytes("root", bundle.root, 32);
    proof = (bundle.proof ?? []).map((p, i) => hexBytes(`proof[${i}]`, p, 32));
  } catch (e) {
    check("inclusion", false, (e as Error).message);
    return report(receipt);
  }
  const [index, size] = [BigInt(bundle.index), BigInt(bundle.tree_size)];
  const inclusion = verifyInclusion(index, size, receipt.hash, proof, root);
  if (!check("inclusion", inclusion === null, inclusion === null
    ? `leaf ${index} of ${size} leads to root ${bundle.root}`
    : `the inclusion proof does not verify (${inclusion})`)) {
    return report(receipt);
  }
  if (!sources) return report(receipt);
  if (bundle.day === null || bundle.day === undefined) {
    check("anchored", false, "the bundle names no anchored day yet; check again after the keeper's daily anchor");
    return report(receipt);
  }
  try {
    const authority = new PublicKey(bundle.log_authority);
    const logKey = pda.receiptLog(authority);
    const cpKey = pda.checkpoint(logKey, bundle.day);
    const [cpInfo, logInfo] = await sources.connection.getMultipleAccountsInfo([cpKey, logKey]);
    if (!cpInfo) {
      check("anchored", false, `no checkpoint for day ${bundle.day} exists on-chain (${cpKey.toBase58()})`);
      return report(receipt);
    }
    const cp = decode("Checkpoint", cpInfo.data);
    const cpSize = BigInt(cp.size.toString());
    const cpRoot = Uint8Array.from(cp.root);
    if (!check("anchored", cpSize === size && toHex(cpRoot) === toHex(root), cpSize === size && toHex(cpRoot) === toHex(root)
      ? `day ${bundle.day}: checkpoint ${cpKey.toBase58()} holds size ${cpSize} and this root`
      : `the on-chain checkpoint for day ${bundle.day} has size ${cpSize} and root ${toHex(cpRoot)}, not the bundle's ${size} and ${bundle.root}`)) {
      return report(receipt);
    }
    if (!logInfo) {
      check("consistency", false, `the receipt log ${logKey.toBase58()} does not exist on-chain`);
      return report(receipt);
    }
    const log = decode("ReceiptLog", logInfo.data);
    const latest = BigInt(log.size.toString());
    const latestRoot = Uint8Array.from(log.root);
    if (latest === cpSize) {
      check("consistency", toHex(latestRoot) === toHex(cpRoot), `day ${bundle.day} is the latest checkpoint`);
    } else {
      const hexes = await sources.consistencyProof(cpSize, latest);
      const got = verifyConsistency(cpSize, latest, cpRoot, latestRoot, hexes.map((h, i) => hexBytes(`consistency[${i}]`, h, 32)));
      check("consistency", got === null, got === null
        ? `the log grew from ${cpSize} to ${latest} leaves (day ${log.latest_day}) without rewriting it`
        : `the log's latest checkpoint (${latest} leaves) does not extend day ${bundle.day}'s (${got})`);
    }
    const jobInfo = await sources.connection.getAccountInfo(new PublicKey(bundle.receipt.job));
    // signed and logged proves no payment once the job is gone: said so, not "valid"
    if (!jobInfo) {
      check("result", false, `job ${bundle.receipt.job} does not exist: the receipt proves no payment`);
      return report(receipt);
    }
    if (jobInfo.data.length === CLOSED_JOB_LEN) {
      check("result", false, `job ${bundle.receipt.job} is closed: its result hash cannot be compared, and the receipt proves no payment`);
      return report(receipt);
    }
    const job = decodeJob(jobInfo.data);
    // a receipt speaks for a job only when the job's own keeper signed it
    const jobKeeper = new PublicKey(job.keeper).toBase58();
    if (!check("keeper", jobKeeper === bundle.receipt.keeper, jobKeeper === bundle.receipt.keeper
      ? `signed by the job's keeper`
      : `the receipt is signed by keeper ${bundle.receipt.keeper}, but job ${bundle.receipt.job} names keeper ${jobKeeper}`)) {
      return report(receipt);
    }
    const m = job.milestones[bundle.receipt.milestone];
    if (!m) {
      check("result", false, `job ${bundle.receipt.job} has no milestone ${bundle.receipt.milestone}`);
      return report(receipt);
    }
    const onChain = toHex(Uint8Array.from(m.result_hash));
    if (receipt.json.terms_hash && toHex(Uint8Array.from(job.terms_hash)) !== receipt.json.terms_hash.toLowerCase()) {
      check("result", false, `the receipt names terms ${receipt.json.terms_hash}, but the job pinned ${toHex(Uint8Array.from(job.terms_hash))}`);
      return report(receipt);
    }
    // a compensation's receipt names the step receipt it undoes: that one is the on-chain result
    const undoes = receipt.json.guards.find((g) => g.name === "compensates")?.detail;
    const expected = undoes ?? toHex(receipt.hash);
    check("result", onChain === expected, onChain === expected
      ? undoes
        ? `a compensation of milestone ${bundle.receipt.milestone}, whose on-chain result is the receipt it undoes`
        : `milestone ${bundle.receipt.milestone} was submitted on-chain with this receipt`
      : `milestone ${bundle.receipt.milestone} was submitted with result hash ${onChain}, not ${expected}`);
  } catch (e) {
    check("chain", false, `could not read the chain: ${(e as Error).message}`);
  }
  return report(receipt);
}
