/**
 * The console's only script: wallet connection, signing what the inbox offers, live job
 * updates, countdowns, and receipt verification in the browser. Pages are rendered by the
 * keeper and work without it for reading.
 */
import { Connection, PublicKey } from "@solana/web3.js";
import { parseBundle, type Report, type ReceiptBundle, useProgramId, verifyBundle } from "../client";
import { describe, type Prepared, prepare, type Request, signAndSend } from "./sign";
import { available, type Connected, connect, wallets } from "./wallet";

const meta = (name: string) => document.querySelector<HTMLMetaElement>(`meta[name="${name}"]`)?.content ?? "";
const rpcUrl = meta("agentrail-rpc");
// the deployment the keeper serves, before anything derives an address
if (meta("agentrail-program")) useProgramId(new PublicKey(meta("agentrail-program")));
const chain = meta("agentrail-chain") || "solana:localnet";
const connection = new Connection(rpcUrl, "confirmed");
const $ = <T extends HTMLElement>(sel: string) => document.querySelector<T>(sel);
let wallet: Connected | null = null;

/** Says something in the page's live region (read out by screen readers). */
function status(text: string, kind: "info" | "ok" | "error" = "info") {
  const el = $("#status");
  if (!el) return;
  el.textContent = text;
  el.dataset.kind = kind;
}

// ---- wallet ---------------------------------------------------------------------------------

function renderWalletChoice() {
  const button = $<HTMLButtonElement>("#connect");
  if (!button) return;
  const found = available();
  button.disabled = found.length === 0 && !wallet;
  button.textContent = wallet ? `${wallet.walletName}: ${short(wallet.address)}` : found.length ? "Connect wallet" : "No wallet found";
  button.title = found.length ? found.map((w) => w.name).join(", ") : "install a Solana wallet (Phantom, Solflare, Backpack) to sign";
}

function short(k: PublicKey): string {
  const s = k.toBase58();
  return `${s.slice(0, 4)}…${s.slice(-4)}`;
}

async function connectWallet(): Promise<Connected | null> {
  if (wallet) return wallet;
  const found = available();
  if (!found.length) {
    status("No Solana wallet is installed in this browser.", "error");
    return null;
  }
  // the wallet chosen last time, else the first
  const chosen = found.find((w) => w.name === sessionStorage.getItem("agentrail-wallet")) ?? found[0];
  try {
    wallet = await connect(chosen, chain);
    sessionStorage.setItem("agentrail-wallet", chosen.name);
    renderWalletChoice();
    status(`Connected ${wallet.walletName} as ${wallet.address.toBase58()}.`, "ok");
    return wallet;
  } catch (e) {
    status(`The wallet did not connect: ${(e as Error).message}`, "error");
    return null;
  }
}

// ---- inbox actions --------------------------------------------------------------------------

function requestFrom(form: HTMLFormElement): Request {
  const d = form.dataset;
  const req: Request = {
    action: d.action as Request["action"],
    job: new PublicKey(d.job!),
    milestone: d.milestone ? Number(d.milestone) : null,
  };
  const share = form.querySelector<HTMLInputElement>('input[name="agent_share"]');
  if (share) req.agentBps = Math.round(Number(share.value) * 100);
  return req;
}

/** Shows the simulation's summary and resolves to whether the person chose to sign. */
function confirmDialog(p: Prepared): Promise<boolean> {
  const dialog = $<HTMLDialogElement>("#confirm")!;
  $("#confirm-title")!.textContent = p.title;
  const list = $("#confirm-summary")!;
  list.replaceChildren(
    ...(p.movements.length ? p.movements.map(describe) : ["No token balance changes."]).map((t) => {
      const li = document.createElement("li");
      li.textContent = t;
      return li;
    }),
  );
  const err = $("#confirm-error")!;
  err.textContent = p.error ? `The program would refuse this: ${p.error}` : "";
  err.hidden = !p.error;
  const sign = $<HTMLButtonElement>("#confirm-sign")!;
  sign.disabled = !!p.error;
  dialog.showModal();
  (p.error ? $<HTMLButtonElement>("#confirm-cancel")! : sign).focus();
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      dialog.close();
      sign.onclick = null;
      $<HTMLButtonElement>("#confirm-cancel")!.onclick = null;
      resolve(ok);
    };
    sign.onclick = () => done(true);
    $<HTMLButtonElement>("#confirm-cancel")!.onclick = () => done(false);
    dialog.oncancel = () => done(false);
  });
}

async function act(form: HTMLFormElement) {
  const w = await connectWallet();
  if (!w) return;
  let request: Request;
  try {
    request = requestFrom(form);
  } catch (e) {
    status(`This form is malformed: ${(e as Error).message}`, "error");
    return;
  }
  status("Simulating…");
  let prepared: Prepared;
  try {
    prepared = await prepare(connection, w.address, request);
  } catch (e) {
    status(`Could not build the transaction: ${(e as Error).message}`, "error");
    return;
  }
  if (!(await confirmDialog(prepared))) {
    status(prepared.error ? `Not sent: ${prepared.error}` : "Cancelled; nothing was signed.");
    return;
  }
  status("Waiting for the wallet's signature…");
  try {
    const signature = await signAndSend(connection, w, prepared);
    status(`Confirmed: ${prepared.title}. Transaction ${signature}.`, "ok");
    form.closest("[data-row]")?.setAttribute("data-done", signature);
    setTimeout(refresh, 1500);
  } catch (e) {
    status(`Not confirmed: ${(e as Error).message}`, "error");
  }
}

// ---- live pages -----------------------------------------------------------------------------

/** Re-renders the page's main content from the keeper (keeps the script's state). */
async function refresh() {
  const res = await fetch(location.href, { headers: { accept: "text/html" } });
  if (!res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  const fresh = doc.querySelector("main");
  const main = $("main");
  if (fresh && main) {
    main.replaceWith(fresh);
    wire();
  }
}

function tickCountdowns() {
  const now = Date.now() / 1000;
  document.querySelectorAll<HTMLElement>("[data-until]").forEach((el) => {
    const left = Number(el.dataset.until) - now;
    if (left <= 0) {
      el.textContent = "passed";
      return;
    }
    const h = Math.floor(left / 3600);
    const m = Math.floor((left % 3600) / 60);
    const s = Math.floor(left % 60);
    el.textContent = h ? `${h} h ${m} min left` : m ? `${m} min ${s} s left` : `${s} s left`;
  });
}

function followEvents() {
  const page = $("main");
  const inbox = page?.dataset.page === "inbox";
  if (!page?.dataset.job && !inbox) return;
  const who = new URL(location.href).searchParams.get("who");
  const source = new EventSource("/events");
  // one refresh per burst of events (a busy keeper announces many)
  let scheduled = false;
  const refreshSoon = () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      refresh();
    }, 1000);
  };
  const onEvent = (e: MessageEvent) => {
    let data: { job?: string; decider?: string };
    try {
      data = JSON.parse(e.data);
    } catch {
      return; // keep-alives and lag notes carry no job
    }
    const concerns = inbox
      ? data.decider === who || (!!data.job && !!document.querySelector(`[data-row][data-job="${CSS.escape(data.job)}"]`))
      : data.job === page?.dataset.job;
    if (concerns) refreshSoon();
  };
  for (const kind of ["job_updated", "approval_needed", "dispute_open"]) source.addEventListener(kind, onEvent as EventListener);
  source.onopen = () => $("#live")?.setAttribute("data-live", "on");
}

// ---- receipts -------------------------------------------------------------------------------

function renderReport(report: Report) {
  const verdict = $("#verdict")!;
  verdict.dataset.verified = String(report.verified);
  verdict.textContent = report.verified ? "Verified" : `Not verified: ${report.reason}`;
  const list = $("#checks")!;
  list.replaceChildren(
    ...report.checks.map((c) => {
      const li = document.createElement("li");
      li.dataset.ok = String(c.ok);
      li.textContent = `${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`;
      return li;
    }),
  );
}

const sources = {
  connection,
  async consistencyProof(from: bigint, to: bigint) {
    const res = await fetch(`/consistency?from=${from}&to=${to}`);
    if (!res.ok) throw new Error(`the keeper gave no consistency proof from ${from} to ${to} (${res.status})`);
    return (await res.json()).proof as string[];
  },
};

async function verifyText(text: string) {
  let bundle: ReceiptBundle;
  try {
    bundle = parseBundle(text);
  } catch (e) {
    renderReport({ verified: false, reason: `not JSON: ${(e as Error).message}`, checks: [], receipt: null });
    return;
  }
  $("#verdict")!.textContent = "Checking…";
  renderReport(await verifyBundle(bundle, sources));
}

function wireReceipt() {
  const section = $("#verify");
  const index = section?.dataset.index;
  if (index !== undefined && index !== "") {
    fetch(`/receipts/${index}`)
      .then((r) => r.text())
      .then(verifyText)
      .catch((e) => renderReport({ verified: false, reason: `could not fetch the bundle: ${e.message}`, checks: [], receipt: null }));
  }
  const check = $<HTMLButtonElement>("#bundle-check");
  if (check) check.onclick = () => verifyText($<HTMLTextAreaElement>("#bundle-input")!.value);
}

// ---- start ----------------------------------------------------------------------------------

function wire() {
  document.querySelectorAll<HTMLFormElement>("form[data-action]").forEach((form) => {
    form.onsubmit = (e) => {
      e.preventDefault();
      act(form);
    };
  });
  tickCountdowns();
}

function start() {
  wallets(renderWalletChoice);
  renderWalletChoice();
  $<HTMLButtonElement>("#connect")?.addEventListener("click", async () => {
    const w = await connectWallet();
    // the inbox is rendered for a key: show the connected wallet's
    if (w && $("main")?.dataset.page === "inbox" && new URL(location.href).searchParams.get("who") !== w.address.toBase58()) {
      location.search = `?who=${w.address.toBase58()}`;
    }
  });
  wire();
  wireReceipt();
  followEvents();
  setInterval(tickCountdowns, 1000);
  // a wallet registering after the page loaded (extensions inject late) enables the button
  window.addEventListener("load", renderWalletChoice);
}

start();
