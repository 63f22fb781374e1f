/**
 * From a person's click to a confirmed transaction: the instruction built from the program's
 * IDL, simulated first with every token balance it changes read before and after (what moves
 * where), shown for consent, signed in the wallet, sent, and confirmed.
 */
import {
  type Connection,
  PublicKey,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import {
  ASSOCIATED_TOKEN_PROGRAM_ID,
  accountItems,
  approveMilestone,
  decideDispute,
  decode,
  decodeJob,
  formatAmount,
  fundJob,
  type JobKeys,
  jobKeys,
  mintDecimals,
  pda,
  rejectMilestone,
  tokenAccount,
} from "../client";
import type { Connected } from "./wallet";

/** What a person asked for on the page. */
export interface Request {
  action: "approve" | "reject" | "decide" | "fund";
  job: PublicKey;
  milestone: number | null;
  /** For `decide`: the agent's share in basis points. */
  agentBps?: number;
}

/** One token balance the transaction changes. */
export interface Movement {
  account: PublicKey;
  /** Its role in the instruction (the IDL's account name). */
  role: string;
  owner: PublicKey;
  change: bigint;
  decimals: number;
}

/** A transaction ready to sign, with what simulating it showed. */
export interface Prepared {
  request: Request;
  transaction: VersionedTransaction;
  title: string;
  movements: Movement[];
  /** Why the program refused it in simulation, if it did. */
  error: string | null;
  logs: string[];
}

const ACTION_IX: Record<Request["action"], string> = {
  approve: "approve_milestone",
  reject: "reject_milestone",
  decide: "decide_dispute",
  fund: "fund_job",
};

/** The idempotent "create associated token account" instruction (the payee must have one to be paid). */
function createAtaIdempotent(payer: PublicKey, owner: PublicKey, mint: PublicKey, tokenProgram: PublicKey): TransactionInstruction {
  return new TransactionInstruction({
    programId: ASSOCIATED_TOKEN_PROGRAM_ID,
    keys: [
      { pubkey: payer, isSigner: true, isWritable: true },
      { pubkey: pda.ata(owner, mint, tokenProgram), isSigner: false, isWritable: true },
      { pubkey: owner, isSigner: false, isWritable: false },
      { pubkey: mint, isSigner: false, isWritable: false },
      { pubkey: new PublicKey("11111111111111111111111111111111"), isSigner: false, isWritable: false },
      { pubkey: tokenProgram, isSigner: false, isWritable: false },
    ],
    data: Buffer.from([1]),
  });
}

/** The first line of the logs that says why the program refused (Anchor's "Error Message"). */
function refusal(logs: string[], err: unknown): string {
  const line = logs.find((l) => l.includes("Error Message:")) ?? logs.find((l) => /failed|insufficient/i.test(l));
  if (line) return line.replace(/^Program log: /, "");
  return typeof err === "string" ? err : JSON.stringify(err);
}

/** Builds the request's transaction for `signer` and simulates it. */
export async function prepare(connection: Connection, signer: PublicKey, request: Request): Promise<Prepared> {
  const jobInfo = await connection.getAccountInfo(request.job);
  if (!jobInfo) throw new Error(`job ${request.job.toBase58()} does not exist`);
  const job = decodeJob(jobInfo.data);
  const agentInfo = await connection.getAccountInfo(job.agent);
  if (!agentInfo) throw new Error(`the job's agent ${job.agent.toBase58()} does not exist`);
  const agent = decode("Agent", agentInfo.data);
  const keys: JobKeys = jobKeys(request.job, job as any, agent.payout);
  const m = request.milestone ?? 0;
  const instructions: TransactionInstruction[] = [];
  let title: string;
  switch (request.action) {
    case "approve":
      instructions.push(approveMilestone(keys, m));
      title = `Approve milestone ${m}: release it to the agent`;
      break;
    case "reject":
      instructions.push(rejectMilestone(keys, m, false));
      title = job.arbiter && !job.arbiter.equals(PublicKey.default)
        ? `Reject milestone ${m}: the arbiter decides`
        : `Reject milestone ${m}: refund it to you`;
      break;
    case "decide": {
      const bps = request.agentBps ?? 0;
      if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) throw new Error("the agent's share must be between 0 and 100 %");
      instructions.push(decideDispute(signer, keys, m, bps));
      title = `Decide the dispute on milestone ${m}: ${bps / 100} % to the agent, the rest to the poster`;
      break;
    }
    case "fund": {
      const total = (job.milestones as any[]).reduce((n, x) => n + BigInt(x.amount.toString()) + BigInt(x.fee.toString()), 0n);
      instructions.push(createAtaIdempotent(signer, agent.payout, job.mint, job.token_program));
      instructions.push(fundJob(keys, total));
      title = "Fund the job";
      break;
    }
  }
  const { blockhash } = await connection.getLatestBlockhash("confirmed");
  const message = new TransactionMessage({ payerKey: signer, recentBlockhash: blockhash, instructions }).compileToLegacyMessage();
  const transaction = new VersionedTransaction(message);
  // every writable account the program's instruction names, read before and after
  const ix = instructions[instructions.length - 1];
  const roles = new Map<string, string>();
  accountItems(ACTION_IX[request.action]).forEach((item, i) => {
    const key = ix.keys[i]?.pubkey.toBase58();
    if (key && !roles.has(key)) roles.set(key, item.name);
  });
  const watched = ix.keys.filter((k) => k.isWritable).map((k) => k.pubkey);
  const before = await connection.getMultipleAccountsInfo(watched);
  const sim = await connection.simulateTransaction(transaction, {
    sigVerify: false,
    replaceRecentBlockhash: true,
    commitment: "confirmed",
    accounts: { encoding: "base64", addresses: watched.map((k) => k.toBase58()) },
  });
  const logs = sim.value.logs ?? [];
  if (sim.value.err) return { request, transaction, title, movements: [], error: refusal(logs, sim.value.err), logs };
  const mintInfo = await connection.getAccountInfo(job.mint);
  const decimals = mintInfo ? mintDecimals(mintInfo.data) ?? 0 : 0;
  const movements: Movement[] = [];
  watched.forEach((account, i) => {
    const pre = before[i] ? tokenAccount(before[i]!.data) : null;
    const postData = sim.value.accounts?.[i]?.data;
    const post = postData ? tokenAccount(Buffer.from(postData[0], "base64")) : null;
    if (!post) return;
    const change = post.amount - (pre?.amount ?? 0n);
    if (change !== 0n) movements.push({ account, role: roles.get(account.toBase58()) ?? "account", owner: new PublicKey(post.owner), change, decimals });
  });
  return { request, transaction, title, movements, error: null, logs };
}

/** A movement in words: "+9.9 to payee_token (owner …)". */
export function describe(m: Movement): string {
  const amount = formatAmount(m.change < 0n ? -m.change : m.change, m.decimals);
  const who = m.role.replace(/_/g, " ");
  return m.change < 0n
    ? `${amount} leaves the ${who} (${m.account.toBase58()}, owned by ${m.owner.toBase58()})`
    : `${amount} arrives in the ${who} (${m.account.toBase58()}, owned by ${m.owner.toBase58()})`;
}

/** Signs in the wallet, sends, and waits for confirmation; returns the signature. */
export async function signAndSend(connection: Connection, wallet: Connected, prepared: Prepared): Promise<string> {
  const signed = await wallet.sign(prepared.transaction.serialize());
  const signature = await connection.sendRawTransaction(signed, { skipPreflight: false, preflightCommitment: "confirmed" });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { value } = await connection.getSignatureStatuses([signature]);
    const s = value[0];
    if (s?.err) throw new Error(`the transaction ${signature} failed: ${JSON.stringify(s.err)}`);
    if (s && (s.confirmationStatus === "confirmed" || s.confirmationStatus === "finalized")) return signature;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the transaction ${signature} was not confirmed within 60 s; check it before trying again`);
}
