// The TypeScript client against the Rust client's bytes: PDAs, every instruction the console
// builds (accounts, flags and data), a Job account decoded from the program's serialization,
// receipts of both versions rebuilt from JSON (hash and signatures), and Merkle proofs.
// Vectors: `cargo run -p agentrail-client --example ts_vectors > web/build/vectors.json`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { PublicKey } from "@solana/web3.js";
import * as c from "../build/client.mjs";

const v = JSON.parse(readFileSync(process.env.AGENTRAIL_VECTORS ?? new URL("../build/vectors.json", import.meta.url), "utf8"));
const pk = (s) => new PublicKey(s);
const hex = (s) => Uint8Array.from(Buffer.from(s, "hex"));

test("the program id is the IDL's unless set, and is set once", () => {
  assert.equal(c.LOCALNET_PROGRAM_ID.toBase58(), v.program);
  assert.equal(c.programId().toBase58(), v.program);
  c.useProgramId(c.LOCALNET_PROGRAM_ID);
  assert.throws(() => c.useProgramId(PublicKey.unique()), /already uses program/);
});

test("every PDA helper derives the Rust client's address", () => {
  const p = v.pdas;
  assert.equal(c.pda.config().toBase58(), p.config);
  assert.equal(c.pda.certifier(pk(p.certifier[0])).toBase58(), p.certifier[1]);
  assert.equal(c.pda.agent(p.agent[0]).toBase58(), p.agent[1]);
  assert.equal(c.pda.certification(pk(p.certification[0]), p.certification[1]).toBase58(), p.certification[2]);
  assert.equal(c.pda.job(pk(p.job[0]), p.job[1]).toBase58(), p.job[2]);
  assert.equal(c.pda.vault(pk(p.vault[0])).toBase58(), p.vault[1]);
  assert.equal(c.pda.trackRecord(pk(p.track_record[0]), pk(p.track_record[1]), p.track_record[2]).toBase58(), p.track_record[3]);
  assert.equal(c.pda.receiptLog(pk(p.receipt_log[0])).toBase58(), p.receipt_log[1]);
  assert.equal(c.pda.checkpoint(pk(p.checkpoint[0]), p.checkpoint[1]).toBase58(), p.checkpoint[2]);
  assert.equal(c.pda.ata(pk(p.ata[0]), pk(p.ata[1])).toBase58(), p.ata[2]);
});

test("a Job account decodes from the program's bytes, and its keys derive as in Rust", () => {
  const job = c.decodeJob(hex(v.job_account.data));
  assert.equal(job.milestones.length, 2);
  assert.equal(job.milestones[0].fee.toString(), String(v.job_account.fee0));
  assert.deepEqual(job.milestones.map((m) => m.requires_approval), v.job_account.requires_approval);
  assert.equal(job.milestones[0].state, "pending");
  assert.equal(job.funded.toString(), v.job_account.funded);
  assert.equal(job.status, v.job_account.status);
  assert.equal(job.terms_uri, v.job_account.terms_uri);
  assert.equal(job.arbiter.toBase58(), v.job_fields.arbiter);
  assert.throws(() => c.decode("Agent", hex(v.job_account.data)), "another account's discriminator is refused");
  const key = pk(v.job_account.key);
  for (const [label, certified] of [["plain", false], ["certified", true]]) {
    const fields = certified ? { ...job, min_stage: v.job_fields.min_stage, agent_version_seq: v.job_fields.agent_version_seq } : job;
    const k = c.jobKeys(key, fields, pk(v.job_fields.payout));
    const want = v.job_keys[label];
    assert.deepEqual(
      {
        job: k.job.toBase58(), poster: k.poster.toBase58(), agent: k.agent.toBase58(), mint: k.mint.toBase58(),
        token_program: k.tokenProgram.toBase58(), vault: k.vault.toBase58(), certification: k.certification?.toBase58() ?? null,
        payee_token: k.payeeToken.toBase58(), poster_token: k.posterToken.toBase58(), track_record: k.trackRecord.toBase58(),
      },
      want,
      label,
    );
  }
});

test("every instruction the console signs encodes exactly as the Rust client's", () => {
  const job = c.decodeJob(hex(v.job_account.data));
  const key = pk(v.job_account.key);
  const arbiter = pk(v.job_fields.arbiter);
  const build = {
    approve_milestone: (k) => c.approveMilestone(k, 1),
    reject_milestone: (k) => c.rejectMilestone(k, 0, false),
    "reject_milestone:cancel": (k) => c.rejectMilestone(k, 1, true),
    decide_dispute: (k) => c.decideDispute(arbiter, k, 0, 2500),
    fund_job: (k) => c.fundJob(k, 3_512_345n),
    release_after_review: (k) => c.releaseAfterReview(k, 1),
    cancel_job: (k) => c.cancelJob(k),
    refund_expired: (k) => c.refundExpired(k),
  };
  assert.equal(v.instructions.length, 2 * Object.keys(build).length);
  for (const { keys: label, ix: want } of v.instructions) {
    const fields = label === "certified" ? { ...job, min_stage: v.job_fields.min_stage, agent_version_seq: v.job_fields.agent_version_seq } : job;
    const ix = build[want.name](c.jobKeys(key, fields, pk(v.job_fields.payout)));
    assert.equal(ix.programId.toBase58(), want.program, want.name);
    assert.deepEqual(ix.keys.map((m) => [m.pubkey.toBase58(), m.isSigner, m.isWritable]), want.accounts, `${label} ${want.name} accounts`);
    assert.equal(Buffer.from(ix.data).toString("hex"), want.data, `${label} ${want.name} data`);
  }
  assert.throws(() => c.instruction("approve_milestone", { index: 0 }, {}), /account `poster` is missing/);
  assert.throws(() => c.instruction("no_such_thing", {}, {}), /no instruction/);
});

test("receipts of both versions rebuild to the Rust bytes, verify, and refuse any change", () => {
  for (const r of v.receipts) {
    // the cost is above 2^53, so only exact as a big integer (the console's parseBundle reads it
    // so in browsers; Node 20's JSON.parse cannot, so the vector carries it as a string)
    const json = { ...r.json, cost: BigInt(r.cost) };
    const parsed = c.parseReceipt(json);
    assert.equal(Buffer.from(parsed.encoded).toString("hex"), r.encoded, `version ${r.json.version} encoding`);
    assert.equal(c.toHex(parsed.hash), r.hash);
    c.verifySignatures(parsed);
    // altering any signed field changes the hash (caught) or, with the hash recomputed, the signatures
    const altered = { ...json, cost: json.cost + 1n };
    assert.throws(() => c.parseReceipt(altered), /was altered/);
    let recomputed = "";
    try {
      c.parseReceipt(altered);
    } catch (e) {
      recomputed = /\(([0-9a-f]{64})\)/.exec(e.message)[1];
    }
    const forged = c.parseReceipt({ ...altered, hash: recomputed });
    assert.throws(() => c.verifySignatures(forged), /keeper's signature does not verify/);
  }
  const v2 = { ...v.receipts[0].json, cost: BigInt(v.receipts[0].cost) };
  assert.ok(v2.vendor, "the version 2 vector is co-signed");
  assert.throws(() => c.parseReceipt({ ...v2, version: 3 }), /unsupported receipt version 3/);
  assert.throws(() => c.parseReceipt({ ...v2, vendor_signature: undefined }), /go together/);
});

test("events decode from the program's logs", () => {
  const events = c.decodeEvents(v.event.logs);
  assert.equal(events.length, 1);
  assert.equal(events[0].name, v.event.name);
  assert.equal(events[0].data.job.toBase58(), v.event.job);
  assert.equal(events[0].data.amount.toString(), v.event.amount);
  assert.equal(events[0].data.payee.toBase58(), v.event.payee);
  assert.equal(events[0].data.status, "completed");
});

test("Merkle proofs verify as in Rust and fail when changed", () => {
  for (const p of v.inclusion) {
    const proof = p.proof.map(hex);
    assert.equal(c.verifyInclusion(BigInt(p.index), BigInt(p.size), hex(p.leaf), proof, hex(p.root)), null);
    if (proof.length) {
      const bad = proof.map((x, i) => (i === 0 ? x.map((b, j) => (j === 0 ? b ^ 1 : b)) : x));
      assert.equal(c.verifyInclusion(BigInt(p.index), BigInt(p.size), hex(p.leaf), bad, hex(p.root)), "root mismatch");
    }
    assert.equal(c.verifyInclusion(BigInt(p.size), BigInt(p.size), hex(p.leaf), proof, hex(p.root)), "index out of range");
  }
  for (const p of v.consistency) {
    const proof = p.proof.map(hex);
    assert.equal(c.verifyConsistency(BigInt(p.from), BigInt(p.to), hex(p.from_root), hex(p.to_root), proof), null, `${p.from}->${p.to}`);
    if (p.from > 0 && p.from < p.to) {
      assert.equal(c.verifyConsistency(BigInt(p.from), BigInt(p.to), hex(p.to_root), hex(p.to_root), proof), "root mismatch");
    }
  }
});
