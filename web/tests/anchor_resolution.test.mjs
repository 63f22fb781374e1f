// Anchor's own TypeScript client (`@anchor-lang/core`) builds every instruction of the program
// from the committed IDL, given only its arguments and the accounts no IDL can derive (signers,
// the agent or job an instruction is about, accounts that name themselves): every derived
// address (jobs, vaults, track records, certifications, logs, checkpoints, associated token
// accounts) and every account a relation names is filled in by Anchor's resolver, and the keys,
// signer and writable flags must be the Rust client's. The resolver reads the job, agent,
// config and receipt log accounts it needs from their bytes as the program writes them.
// Vectors: `cargo run -p agentrail-client --example ts_vectors > web/build/vectors.json`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Program } from "@anchor-lang/core";
import { PublicKey } from "@solana/web3.js";

const v = JSON.parse(readFileSync(process.env.AGENTRAIL_VECTORS ?? new URL("../build/vectors.json", import.meta.url), "utf8"));
const idl = JSON.parse(readFileSync(new URL("../../idl/agentrail.json", import.meta.url), "utf8"));
const programId = new PublicKey(v.program);
const chain = new Map(v.anchor.accounts.map((a) => [a.address, Buffer.from(a.data, "hex")]));
// the chain state the resolver reads: the program's own account bytes
const connection = {
  async getAccountInfo(key) {
    const data = chain.get(key.toBase58());
    return data ? { data, owner: programId, lamports: 1_000_000, executable: false, rentEpoch: 0 } : null;
  },
};
const program = new Program(idl, { connection, publicKey: PublicKey.default });
const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** Whether Anchor's resolver derives this account itself (Anchor's own rule, `isResolvable`). */
function derived(item) {
  const selfReferencing = item.pda?.seeds.some((s) => s.kind === "account" && s.path.split(".")[0] === item.name);
  return !!(item.address || item.relations || (item.pda && !selfReferencing));
}

/** The accounts a caller must give for `items`, nested as the IDL nests them, from `metas` in order. */
function given(items, metas, counter) {
  const out = {};
  for (const item of items) {
    if (item.accounts) {
      out[camel(item.name)] = given(item.accounts, metas, counter);
      continue;
    }
    const [key] = metas[counter.at++];
    if (item.optional && key === v.program) out[camel(item.name)] = null;
    else if (item.signer || !derived(item)) out[camel(item.name)] = new PublicKey(key);
  }
  return out;
}

test("every instruction the IDL describes is among the vectors", () => {
  const built = new Set(v.anchor.instructions.map((ix) => ix.name));
  assert.deepEqual(idl.instructions.map((ix) => ix.name).filter((n) => !built.has(n)), []);
});

// Accounts whose seeds name an account in another group of the instruction's accounts (the
// poster's token account of a dispute decision): IDL clients resolve seeds among an account's
// siblings only, so these are given.
const ACROSS_GROUPS = ["apply_dispute_default.poster_token", "decide_dispute.poster_token"];

test("the IDL derives every job, vault, track record, certification, log, checkpoint and token account", () => {
  const undescribed = [];
  const walk = (ix, items) => {
    for (const item of items) {
      if (item.accounts) walk(ix, item.accounts);
      else if (/^(job|vault|track_record|certification|log|checkpoint|payee_token|poster_token)$/.test(item.name) && !derived(item)) {
        // the account an instruction is about: given, never derived
        const subject = (item.name === "job" && ix !== "create_job") || (item.name === "checkpoint" && ix === "verify_receipt") || (item.name === "certification" && ix === "revoke_certification");
        if (!subject) undescribed.push(`${ix}.${item.name}`);
      }
    }
  };
  for (const ix of idl.instructions) walk(ix.name, ix.accounts);
  assert.deepEqual(undescribed.sort(), ACROSS_GROUPS);
});

for (const [n, want] of v.anchor.instructions.entries()) {
  test(`Anchor's client derives ${want.name} (#${n}) as the Rust client builds it`, async () => {
    const ixIdl = idl.instructions.find((i) => i.name === want.name);
    const decoded = program.coder.instruction.decode(Buffer.from(want.data, "hex"));
    assert.equal(decoded.name, camel(want.name), "the Rust client's data decodes as this instruction");
    const args = ixIdl.args.map((a) => decoded.data[camel(a.name)]);
    const counter = { at: 0 };
    const accounts = given(ixIdl.accounts, want.accounts, counter);
    const remaining = want.accounts.slice(counter.at).map(([k, s, w]) => ({ pubkey: new PublicKey(k), isSigner: s, isWritable: w }));
    const ix = await program.methods[camel(want.name)](...args).accounts(accounts).remainingAccounts(remaining).instruction();
    assert.equal(ix.programId.toBase58(), want.program);
    assert.equal(ix.data.toString("hex"), want.data);
    assert.deepEqual(
      ix.keys.map((m) => [m.pubkey.toBase58(), m.isSigner, m.isWritable]),
      want.accounts,
    );
  });
}
