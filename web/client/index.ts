/**
 * Agentrail's TypeScript client, built on the program's committed IDL: PDA helpers,
 * instruction builders, account and event decoding, and receipt verification (signatures,
 * RFC 9162 proofs, checkpoints read from the chain). The web console is written on it.
 */
export * from "./idl";
export * as pda from "./pda";
export * from "./instructions";
export * from "./accounts";
export * from "./events";
export * from "./merkle";
export * from "./receipt";
export * from "./bundle";
