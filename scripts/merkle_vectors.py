#!/usr/bin/env python3
"""Generates client/tests/data/pymerkle_vectors.json: roots and RFC 9162 inclusion proofs from
pymerkle (an independent RFC 6962 implementation) for a 10,000-leaf tree.

Leaf i's data: bytes((i * 7 + j) & 0xff for j in range(i % 37)) + i as 8 little-endian bytes.
pymerkle's inclusion path is the RFC audit path with the leaf hash prepended.

    pip install pymerkle==7.0.0 && python3 scripts/merkle_vectors.py
"""
import json
import random
import warnings
from pathlib import Path

from pymerkle import InmemoryTree

warnings.simplefilter("ignore", DeprecationWarning)
LEAVES = 10_000


def leaf(i: int) -> bytes:
    return bytes((i * 7 + j) & 0xFF for j in range(i % 37)) + i.to_bytes(8, "little")


def main() -> None:
    rng = random.Random(6962)
    tree = InmemoryTree(algorithm="sha256")
    for i in range(LEAVES):
        tree.append_entry(leaf(i))
    sizes = sorted(set(range(1, 65)) | {100, 255, 256, 257, 1000, 1023, 1024, 1025, 4095, 4096, 4097, 9999, LEAVES}
                   | {rng.randrange(65, LEAVES) for _ in range(12)})
    cases = []
    for size in sizes:
        indices = sorted({0, size - 1, rng.randrange(size), rng.randrange(size)})
        inclusion = [{"index": i, "proof": tree.prove_inclusion(i + 1, size).serialize()["path"][1:]} for i in indices]
        cases.append({"size": size, "root": tree.get_root(size).hex(), "inclusion": inclusion})
    out = Path(__file__).resolve().parent.parent / "client/tests/data/pymerkle_vectors.json"
    out.write_text(json.dumps({"generator": "pymerkle 7.0.0", "leaves": LEAVES, "cases": cases}, indent=1) + "\n")
    print(f"wrote {out} ({len(cases)} sizes)")


if __name__ == "__main__":
    main()
