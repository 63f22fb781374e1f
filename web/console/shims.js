// Node globals the Solana and Anchor libraries expect in a browser.
import { Buffer } from "buffer";
export { Buffer };
export const process = { env: {} };
