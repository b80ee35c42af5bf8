#!/usr/bin/env python3
"""Writes a synthetic Cargo.lock of COPIES times a real one, for scaling benchmarks.

Copy 0 is the input unchanged (its real crate names keep their advisories); copy k > 0
renames every package `name` to `name-synthk`, in `[[package]]` headers and in every
dependency entry, so the copies form k disjoint, valid dependency graphs that both
vouch and cargo-audit read. Only the text is rewritten: versions, sources and
checksums stay the input's.

usage: synthetic-cargo-lock.py COPIES < Cargo.lock > big/Cargo.lock
"""
import re
import sys

copies = int(sys.argv[1])
text = sys.stdin.read()
head, *bodies = text.split("[[package]]")
blocks = ["[[package]]" + b for b in bodies]
if not blocks:
    sys.exit("no [[package]] in the input")
if "[metadata]" in text:
    sys.exit("lockfile v1 ([metadata] checksums) is not supported")

name_line = re.compile(r'^name = "([^"]+)"$', re.M)
dep_line = re.compile(r'^ "([^" ]+)((?: [^"]*)?)",$', re.M)

out = [head.rstrip("\n") + "\n\n"]
for k in range(copies):
    for block in blocks:
        if k:
            block = name_line.sub(lambda m: f'name = "{m.group(1)}-synth{k}"', block)
            block = dep_line.sub(lambda m: f' "{m.group(1)}-synth{k}{m.group(2)}",', block)
        out.append(block.rstrip("\n") + "\n\n")
sys.stdout.write("".join(out).rstrip("\n") + "\n")
