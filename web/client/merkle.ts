/**
 * RFC 9162 Merkle proofs, as the program and the Rust client verify them: leaf and node hashes
 * with 0x00 / 0x01 prefixes, inclusion and consistency proofs.
 */
import { sha256 } from "@noble/hashes/sha256";

/** Longest proof accepted (the program's `MAX_PROOF_LEN`). */
export const MAX_PROOF_LEN = 64;

/** SHA-256(0x00 ‖ data). */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(0), data));
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(1), left, right));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Why a proof does not verify. */
export type ProofError = "index out of range" | "sizes reversed" | "wrong length" | "root mismatch";

/** The root an inclusion proof of leaf `index` in a tree of `size` leaves leads to. */
export function rootFromInclusion(index: bigint, size: bigint, leaf: Uint8Array, proof: Uint8Array[]): Uint8Array | ProofError {
  if (index >= size) return "index out of range";
  if (proof.length > MAX_PROOF_LEN) return "wrong length";
  let [fn, sn] = [index, size - 1n];
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return "wrong length";
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : "wrong length";
}

/** Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`. */
export function verifyInclusion(index: bigint, size: bigint, leaf: Uint8Array, proof: Uint8Array[], root: Uint8Array): ProofError | null {
  const got = rootFromInclusion(index, size, leaf, proof);
  if (typeof got === "string") return got;
  return equal(got, root) ? null : "root mismatch";
}

/** Checks that the tree of `size2` leaves with `root2` extends the tree of `size1` leaves with `root1`. */
export function verifyConsistency(size1: bigint, size2: bigint, root1: Uint8Array, root2: Uint8Array, proof: Uint8Array[]): ProofError | null {
  if (size1 > size2) return "sizes reversed";
  if (proof.length > MAX_PROOF_LEN) return "wrong length";
  if (size1 === size2) return proof.length ? "wrong length" : equal(root1, root2) ? null : "root mismatch";
  if (size1 === 0n) return proof.length ? "wrong length" : null;
  const isPow2 = (size1 & (size1 - 1n)) === 0n;
  let first: Uint8Array;
  let rest: Uint8Array[];
  if (isPow2) [first, rest] = [root1, proof];
  else {
    if (!proof.length) return "wrong length";
    [first, rest] = [proof[0], proof.slice(1)];
  }
  let [fn, sn] = [size1 - 1n, size2 - 1n];
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let [fr, sr] = [first, first];
  for (const c of rest) {
    if (sn === 0n) return "wrong length";
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return "wrong length";
  return equal(fr, root1) && equal(sr, root2) ? null : "root mismatch";
}
