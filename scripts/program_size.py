#!/usr/bin/env python3
"""Counts the program's production lines and `unsafe` keywords, as the README states them.

Production lines: every line of `programs/agentrail/src/**/*.rs` outside `#[cfg(test)]` modules
(comments and blank lines included). `unsafe`: the keyword in code outside comments and test
modules (blocks, functions, traits, impls, attributes).

    python3 scripts/program_size.py [DIR]
"""
import pathlib
import re
import sys


def without_test_modules(lines):
    """The lines outside `#[cfg(test)]` / `#[cfg(all(test, ...))]` modules."""
    out, i = [], 0
    while i < len(lines):
        if re.match(r"\s*#\[cfg\((all\()?test", lines[i]) and i + 1 < len(lines) and re.match(r"\s*mod \w+", lines[i + 1]):
            depth, j, opened = 0, i + 1, False
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                opened |= "{" in lines[j]
                if opened and depth == 0:
                    break
                j += 1
            i = j + 1
            continue
        out.append(lines[i])
        i += 1
    return out


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "programs/agentrail/src")
    production = unsafe = 0
    for path in sorted(root.rglob("*.rs")):
        lines = without_test_modules(path.read_text().split("\n"))
        production += len(lines)
        unsafe += sum(len(re.findall(r"\bunsafe\b", line.split("//")[0])) for line in lines)
    print(f"{root}: {production} production lines, {unsafe} unsafe")


if __name__ == "__main__":
    main()
