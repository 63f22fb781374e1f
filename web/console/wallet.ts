/**
 * Browser wallets through the Wallet Standard: every wallet that registers (Phantom, Solflare,
 * Backpack, or the test wallet) is discovered; the console uses those that can connect and
 * sign Solana transactions.
 */
import { getWallets } from "@wallet-standard/app";
import { PublicKey } from "@solana/web3.js";

const CONNECT = "standard:connect";
const SIGN = "solana:signTransaction";

/** A wallet account the console can ask to sign. */
export interface Connected {
  walletName: string;
  address: PublicKey;
  /** Signs a serialized transaction and returns the signed bytes. */
  sign(transaction: Uint8Array): Promise<Uint8Array>;
}

type AnyWallet = ReturnType<ReturnType<typeof getWallets>["get"]>[number];

function usable(w: AnyWallet): boolean {
  return CONNECT in w.features && SIGN in w.features;
}

/** The wallets registered so far that can connect and sign, and a way to hear of later ones. */
export function wallets(onChange: () => void): AnyWallet[] {
  const api = getWallets();
  api.on("register", onChange);
  return api.get().filter(usable);
}

/** Wallets that can sign, now. */
export function available(): AnyWallet[] {
  return getWallets().get().filter(usable);
}

/** Connects `wallet` (the wallet may ask its user) and returns its first account. */
export async function connect(wallet: AnyWallet, chain: string): Promise<Connected> {
  const { accounts } = await (wallet.features[CONNECT] as any).connect();
  const account = accounts[0];
  if (!account) throw new Error(`${wallet.name} shared no account`);
  return {
    walletName: wallet.name,
    address: new PublicKey(account.publicKey),
    async sign(transaction: Uint8Array) {
      const [out] = await (wallet.features[SIGN] as any).signTransaction({ account, transaction, chain });
      return out.signedTransaction as Uint8Array;
    },
  };
}
