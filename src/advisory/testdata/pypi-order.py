"""Writes pypi-order.tsv: each version with its rank in `packaging`'s PEP 440 order
(equal versions, e.g. 1.0 and 1.0.0, share a rank; local labels order after the public
version). Run: python pypi-order.py > pypi-order.tsv (with `pip install packaging`)."""
import itertools
from packaging.version import Version

releases = ["0", "0.9", "1.0", "1.0.0", "1.0.1", "1.1", "1.10", "2", "1!0.5", "1!1.0"]
pres = ["", "a1", "a2", "b1", "b10", "rc1", "c2", "alpha3", "preview1"]
posts = ["", ".post1", ".post2", "-1", ".rev3"]
devs = ["", ".dev0", ".dev1"]
locals_ = ["", "+local", "+local.2", "+abc.5", "+1"]
seen = []
for r, pre, post, dev in itertools.product(releases, pres, posts, devs):
    seen.append(r + pre + post + dev)
for r, l in itertools.product(["1.0", "1.0.post1", "1.0a1", "2"], locals_[1:]):
    seen.append(r + l)
versions = sorted(set(seen), key=Version)
rank = 0
for i, v in enumerate(versions):
    if i and Version(versions[i - 1]) != Version(v):
        rank += 1
    print(f"{rank}\t{v}")
