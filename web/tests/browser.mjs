// The console in a real browser (Debian's Chromium, driven by playwright-core), run by the
// end-to-end test `a_person_decides_and_verifies_in_the_browser` (tests/tests/e2e.rs), which
// sets up the validator, keeper, agents and jobs, and checks the chain afterwards. Each person
// gets a browser context with a test wallet (tests/test-wallet.js) signing with their keypair.
// Input: a JSON file (argv[2]) naming the console's URL, keypairs, jobs and a receipt; output:
// a JSON line per step, screenshots to `screenshots` when set. Exits non-zero on any failure.
import { createPrivateKey, sign } from "node:crypto";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { Keypair } from "@solana/web3.js";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const here = fileURLToPath(new URL(".", import.meta.url));
const walletSource = readFileSync(`${here}test-wallet.js`, "utf8");
const log = (step, detail = {}) => console.log(JSON.stringify({ step, ...detail }));
const shots = input.screenshots;
if (shots) mkdirSync(shots, { recursive: true });
const TIMEOUT = 60_000;

const browser = await chromium.launch({
  executablePath: input.chromium ?? "/usr/bin/chromium",
  headless: true,
  // this machine's network is closed: no background traffic, no sandbox as root
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

const people = [];

/** A browser context whose test wallet holds `keypairPath`. */
async function person(name, keypairPath, viewport = { width: 1280, height: 900 }) {
  const secret = Uint8Array.from(JSON.parse(readFileSync(keypairPath, "utf8")));
  const keypair = Keypair.fromSecretKey(secret);
  // PKCS#8 wrapping of the 32-byte ed25519 seed, for node's crypto
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(secret.slice(0, 32))]);
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const context = await browser.newContext({ viewport });
  const signed = [];
  await context.exposeBinding("__agentrailTestSign", (_source, messageB64) => {
    const message = Buffer.from(messageB64, "base64");
    signed.push(message.length);
    return sign(null, message, key).toString("base64");
  });
  const config = { name: `Test wallet (${name})`, address: keypair.publicKey.toBase58(), publicKey: [...keypair.publicKey.toBytes()] };
  await context.addInitScript({ content: walletSource.replace("__AGENTRAIL_TEST_WALLET__", JSON.stringify(config)) });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  const p = { name, page, address: config.address, signed, errors, context };
  people.push(p);
  return p;
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core's WCAG 2 A and AA rules (contrast, labels, names, landmarks) on the page; throws naming each violation. */
async function accessible(page, name) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  });
  expect(violations.length === 0, `the ${name} page has accessibility violations: ${violations.join("; ")}`);
  log("accessible", { page: name });
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

/** Connects the page's wallet from the header and lands on that wallet's inbox. */
async function openInbox(p) {
  await p.page.goto(`${input.url}/console/inbox`);
  const connect = p.page.locator("#connect");
  await connect.waitFor();
  await p.page.waitForFunction(() => !document.querySelector("#connect").disabled, null, { timeout: TIMEOUT });
  await connect.click();
  await p.page.waitForURL((u) => u.searchParams.get("who") === p.address, { timeout: TIMEOUT });
  // the wallet reconnects on the new page when asked to sign
}

/** Clicks `action` on the inbox row of `job` (and milestone), checks the summary, signs, waits for the confirmation. */
async function decide(p, job, milestone, action, { share, expectSummary, screenshot } = {}) {
  const where = milestone === null ? ":not([data-milestone])" : `[data-milestone="${milestone}"]`;
  const form = p.page.locator(`form[data-action="${action}"][data-job="${job}"]${where}`);
  await form.waitFor({ timeout: TIMEOUT });
  if (share !== undefined) await form.locator('input[name="agent_share"]').fill(String(share));
  await form.locator("button").click();
  const dialog = p.page.locator("dialog#confirm");
  await dialog.waitFor({ state: "visible", timeout: TIMEOUT });
  const summary = await p.page.locator("#confirm-summary").innerText();
  const error = await p.page.locator("#confirm-error").innerText();
  expect(!error, `the simulation of ${action} failed: ${error}`);
  for (const needle of expectSummary ?? []) expect(summary.includes(needle), `the ${action} summary lacks "${needle}": ${summary}`);
  if (screenshot) await shot(p.page, screenshot);
  const before = p.signed.length;
  await p.page.locator("#confirm-sign").click();
  await p.page.waitForFunction(() => document.querySelector("#status")?.dataset.kind === "ok" && document.querySelector("#status").textContent.startsWith("Confirmed"), null, { timeout: TIMEOUT });
  expect(p.signed.length === before + 1, `the wallet signed ${p.signed.length - before} messages for one ${action}`);
  const status = await p.page.locator("#status").innerText();
  log(action, { job, milestone, status, summary });
  return status;
}

try {
  const poster = await person("poster", input.poster);
  await openInbox(poster);
  // both jobs await the poster: approve one milestone, reject the other
  await poster.page.locator(`[data-job="${input.approve.job}"][data-role="poster"]`).waitFor({ timeout: TIMEOUT });
  await shot(poster.page, "inbox");
  await decide(poster, input.approve.job, input.approve.milestone, "approve", {
    expectSummary: [input.approve.amount_ui, "leaves the vault", "arrives in the payee token"],
    screenshot: "approve-summary",
  });
  await decide(poster, input.reject.job, input.reject.milestone, "reject", {});
  // a job created unfunded: the poster funds it from the inbox
  await decide(poster, input.fund.job, null, "fund", {
    expectSummary: ["leaves the poster token", "arrives in the vault"],
    screenshot: "fund-summary",
  });
  await accessible(poster.page, "inbox");

  // the arbiter's inbox now holds the dispute: split it
  const arbiter = await person("arbiter", input.arbiter);
  await openInbox(arbiter);
  await decide(arbiter, input.reject.job, input.reject.milestone, "decide", {
    share: input.reject.share_percent,
    expectSummary: ["arrives in the payee token", "arrives in the poster token"],
    screenshot: "decide-summary",
  });

  // the job page, live: the approved milestone shows released with its receipt and guards
  const reader = await person("reader", input.poster);
  await reader.page.goto(`${input.url}/console/jobs/${input.approve.job}`);
  await reader.page.locator("td", { hasText: "released" }).first().waitFor({ timeout: TIMEOUT });
  const guards = await reader.page.locator(".guards").first().innerText();
  expect(guards.includes("passed"), `the job page shows no passed guards: ${guards}`);
  await shot(reader.page, "job");
  await accessible(reader.page, "job");
  log("job page", { guards });

  // the receipt page: verified in the browser against the chain (the keeper anchors today)
  let verdict = "";
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await reader.page.goto(`${input.url}/console/receipts/${input.receipt}`);
    await reader.page.waitForFunction(() => document.querySelector("#verdict")?.dataset.verified !== undefined, null, { timeout: TIMEOUT });
    verdict = await reader.page.locator("#verdict").innerText();
    if (!verdict.includes("no anchored day yet")) break;
    await new Promise((r) => setTimeout(r, 2_000));
  }
  const checks = await reader.page.locator("#checks").innerText();
  expect(verdict === "Verified", `the receipt did not verify: ${verdict}\n${checks}`);
  expect(checks.includes("anchored") && checks.includes("checkpoint"), `no on-chain checkpoint check: ${checks}`);
  await shot(reader.page, "receipt");
  await accessible(reader.page, "receipt");
  log("receipt verified", { verdict, checks });

  // a tampered bundle: the receipt's cost raised, its stated hash recomputed by the forger
  const bundle = await (await fetch(`${input.url}/receipts/${input.receipt}`)).json();
  const tampered = structuredClone(bundle);
  tampered.receipt.cost = Number(tampered.receipt.cost) + 1_000_000;
  await reader.page.goto(`${input.url}/console/verify`);
  await reader.page.locator("#bundle-input").fill(JSON.stringify(tampered));
  await reader.page.locator("#bundle-check").click();
  await reader.page.waitForFunction(() => document.querySelector("#verdict")?.dataset.verified === "false", null, { timeout: TIMEOUT });
  const refused = await reader.page.locator("#verdict").innerText();
  expect(refused.includes("altered"), `the tampered bundle was refused for another reason: ${refused}`);
  log("tampered refused", { verdict: refused });
  // the forger also recomputes the hash: the keeper's signature no longer matches
  const forged = structuredClone(tampered);
  forged.receipt.hash = /\(([0-9a-f]{64})\)/.exec(refused)[1];
  await reader.page.locator("#bundle-input").fill(JSON.stringify(forged));
  await reader.page.locator("#bundle-check").click();
  await reader.page.waitForFunction(() => document.querySelector("#verdict")?.textContent.includes("signature"), null, { timeout: TIMEOUT });
  const forgedVerdict = await reader.page.locator("#verdict").innerText();
  expect(forgedVerdict.includes("keeper's signature does not verify"), `forged: ${forgedVerdict}`);
  await shot(reader.page, "receipt-tampered");
  await accessible(reader.page, "verify");
  log("forged refused", { verdict: forgedVerdict });

  // the agent page, and the job page on a phone
  await reader.page.goto(`${input.url}/console/agents/${input.agent}`);
  await reader.page.locator("h2", { hasText: "Track record" }).waitFor();
  const record = await reader.page.locator("table").last().innerText();
  expect(/released/.test(record), `no track record: ${record}`);
  await shot(reader.page, "agent");
  await accessible(reader.page, "agent");
  const phone = await person("phone", input.poster, { width: 390, height: 844 });
  await phone.page.goto(`${input.url}/console/jobs/${input.reject.job}`);
  await phone.page.locator("td", { hasText: "split" }).first().waitFor({ timeout: TIMEOUT });
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `the job page scrolls sideways on a phone by ${overflow} px`);
  await shot(phone.page, "job-phone");
  await accessible(phone.page, "job on a phone");
  // keyboard: the skip link is the first stop and moves focus to the content
  await phone.page.keyboard.press("Tab");
  const first = await phone.page.evaluate(() => document.activeElement?.textContent);
  expect(first === "Skip to content", `the first Tab stop is ${JSON.stringify(first)}, not the skip link`);

  const errors = [poster, arbiter, reader, phone].flatMap((p) => p.errors);
  expect(errors.length === 0, `the pages logged errors: ${errors.join("; ")}`);
  log("done");
} catch (e) {
  // what each page showed and logged, for the failure message
  const pages = [];
  for (const p of people) {
    const status = await p.page.locator("#status").innerText().catch(() => "");
    pages.push({ person: p.name, url: p.page.url(), status, errors: p.errors });
    await shot(p.page, `failure-${p.name}`).catch(() => {});
  }
  log("failed", { error: e.message, pages });
  process.exitCode = 1;
} finally {
  await browser.close();
}
