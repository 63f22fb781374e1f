// A Wallet Standard wallet for the browser tests, injected into every page before its
// scripts run. It registers the way browser wallets do (the register-wallet event, and again
// when the app announces itself), shares one account, and signs transactions by asking the
// test (an exposed binding) to sign the message with a local keypair: the key never enters the
// page. The placeholder below is replaced with { name, address, publicKey }.
(() => {
  const config = __AGENTRAIL_TEST_WALLET__;
  const chains = ["solana:localnet", "solana:devnet", "solana:testnet", "solana:mainnet"];
  const account = Object.freeze({
    address: config.address,
    publicKey: new Uint8Array(config.publicKey),
    chains,
    features: ["solana:signTransaction"],
    label: config.name,
  });
  const listeners = { change: [] };
  let connected = false;

  // shortvec length prefix: 7 bits per byte, high bit = more
  const shortvec = (bytes, at) => {
    let value = 0;
    for (let i = 0; i < 3; i++) {
      const b = bytes[at + i];
      value |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return [value, at + i + 1];
    }
    throw new Error("bad shortvec");
  };
  const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
  const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

  async function signOne({ account: who, transaction }) {
    if (who.address !== account.address) throw new Error("unknown account");
    const [count, sigsAt] = shortvec(transaction, 0);
    const messageAt = sigsAt + 64 * count;
    const message = transaction.slice(messageAt);
    // legacy or v0 (high bit set on the first byte): the header follows the optional version byte
    let at = message[0] & 0x80 ? 1 : 0;
    const required = message[at];
    at += 3;
    const [keys, keysAt] = shortvec(message, at);
    let index = -1;
    for (let i = 0; i < Math.min(keys, required); i++) {
      const key = message.slice(keysAt + 32 * i, keysAt + 32 * (i + 1));
      if (key.every((b, j) => b === account.publicKey[j])) index = i;
    }
    if (index < 0) throw new Error("this account is not a signer of the transaction");
    const signature = unb64(await window.__agentrailTestSign(b64(message)));
    const signed = transaction.slice();
    signed.set(signature, sigsAt + 64 * index);
    return { signedTransaction: signed };
  }

  const wallet = {
    version: "1.0.0",
    name: config.name,
    icon: "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxIDEiLz4=",
    chains,
    get accounts() {
      return connected ? [account] : [];
    },
    features: {
      "standard:connect": {
        version: "1.0.0",
        async connect() {
          connected = true;
          listeners.change.forEach((l) => l({ accounts: [account] }));
          return { accounts: [account] };
        },
      },
      "standard:events": {
        version: "1.0.0",
        on(event, listener) {
          (listeners[event] ??= []).push(listener);
          return () => (listeners[event] = listeners[event].filter((l) => l !== listener));
        },
      },
      "solana:signTransaction": {
        version: "1.0.0",
        supportedTransactionVersions: ["legacy", 0],
        signTransaction: (...inputs) => Promise.all(inputs.map(signOne)),
      },
    },
  };
  const callback = ({ register }) => register(wallet);
  window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", { detail: callback }));
  window.addEventListener("wallet-standard:app-ready", ({ detail: api }) => callback(api));
})();
