#!/usr/bin/env python3
"""Writes an OSV export at the npm export's real scale, deterministically (seeded).

osv.dev's npm export holds about 214,000 records, 98% of them `MAL-` records (the OpenSSF
malicious-packages data: one package each, a version list or an "every version" range, a
`malicious-packages-origins` block per reporting source), the rest GitHub-reviewed
vulnerabilities (GHSA ids, CVE aliases, ECOSYSTEM ranges, CVSS vectors, long Markdown
details). The test data in ../shared/advisories has only the small NSWG export, so this
writes the big one from those shapes: the real NSWG records unchanged, then generated
GHSA-style and MAL- records, as compact JSON (the exporter's own output) in one
`<ID>.json` per entry, deflated, like the public export.

Layout written (what `vouch db update --osv-url` reads from a mirror):
    OUT/npm/all.zip            every record
    OUT/npm/modified_id.csv    "<modified>,<ID>" per record, newest first (no header)
    OUT/npm/<ID>.json          the records new or changed in this generation (gen >= 1)

Generation G (`--generation G`) is the export G "days" later: each day changes
`--changes` records (a new source reports a MAL- package again, a GHSA gets a new fixed
version), adds a quarter as many new MAL- records and drops a twentieth as many. Every
record is a pure function of (seed, index, generation), so two runs with the same
arguments write byte-identical files.

Package names: MAL- records are typosquats and inventions that never collide with the
lockfile's names (`--lockfile`, default the 1,500-package npm bench fixture); `--hits`
GHSA records and as many MAL- records name packages of that lockfile (at versions outside
the lockfile's, for MAL-), so an audit against the export reads some of its entries
instead of missing everywhere.

usage: scripts/gen-osv-export.py OUT [--records 200000] [--ghsa 4000] [--seed 13]
                                     [--generation 0] [--changes 1000]
"""

import argparse
import hashlib
import json
import os
import random
import sys
import zipfile
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_NPM = os.path.join(HERE, "..", "..", "shared", "advisories", "osv", "npm", "all.zip")
DEFAULT_LOCK = os.path.join(HERE, "..", "fixtures", "bench", "npm-large", "package-lock.json")

EPOCH = datetime(2026, 8, 20, tzinfo=timezone.utc)
ZIP_TIME = (2026, 8, 21, 0, 0, 0)

WORDS = (
    "ajax api app async auth aws axios babel base bot browser buffer build cache chalk "
    "chart cli client cloud color config cookie core crypto css data date db debug deep "
    "dev discord dom env eslint event express fetch file form fs git graph hash helper "
    "http icon image json jwt kit lib link lint load log mail map math md mock mongo "
    "native net next node notify oauth parse path pay plugin polyfill popup proxy query "
    "react redis redux request router rpc sass schema sdk server session slack socket "
    "sql sso stream string style svg sync test theme token tool type ui upload url util "
    "utils validate vue wallet web webpack worker xml yaml zip"
).split()
LOREM = (
    "an attacker may cause the application to crash or execute arbitrary code when a "
    "crafted input reaches the affected function without validation and the parser "
    "follows untrusted references allowing prototype pollution denial of service or "
    "disclosure of sensitive information users should upgrade to the patched release "
    "as a workaround avoid passing user controlled data to the vulnerable option until "
    "the fix is applied the issue was reported by an independent researcher"
).split()
CWE = [("CWE-506", "Embedded Malicious Code",
        "The product contains code that appears to be malicious in nature.")]
GHSA_ALPHABET = "23456789cfghjmpqrvwx"
SOURCES = [  # (source, weight)
    ("ossf-package-analysis", 45),
    ("ghsa-malware", 35),
    ("amazon-inspector", 10),
    ("socketdev", 6),
    ("kam193", 4),
]


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def rng_for(seed, *parts):
    key = hashlib.sha256(repr((seed,) + parts).encode()).digest()
    return random.Random(int.from_bytes(key[:8], "big"))


def ghsa_id(r):
    return "GHSA-" + "-".join("".join(r.choice(GHSA_ALPHABET) for _ in range(4)) for _ in range(3))


def semver(r, major_max=12):
    return f"{r.randint(0, major_max)}.{r.randint(0, 30)}.{r.randint(0, 40)}"


def lorem(r, lo, hi):
    n = r.randint(lo, hi)
    words = [r.choice(LOREM) for _ in range(n)]
    text, out = "", []
    for i, w in enumerate(words):
        out.append(w.capitalize() if i == 0 or out[-1].endswith(".") else w)
        if r.random() < 0.08:
            out[-1] += "."
    text = " ".join(out)
    return text + "."


def typosquat(r, real):
    base = r.choice(real) if real and r.random() < 0.7 else "-".join(
        r.choice(WORDS) for _ in range(r.randint(1, 3)))
    scope = ""
    if base.startswith("@") and "/" in base:
        scope, base = base.split("/", 1)
        scope += "/"
    kind = r.randint(0, 6)
    if kind == 0 and len(base) > 3:
        i = r.randrange(len(base) - 1)
        base = base[:i] + base[i + 1] + base[i] + base[i + 2:]
    elif kind == 1 and len(base) > 3:
        i = r.randrange(len(base))
        base = base[:i] + base[i + 1:]
    elif kind == 2:
        i = r.randrange(len(base))
        base = base[:i] + base[i] + base[i:]
    elif kind == 3:
        base = base + "-" + r.choice(WORDS)
    elif kind == 4:
        base = r.choice(WORDS) + "-" + base
    elif kind == 5:
        scope = "@" + r.choice(WORDS) + "-" + r.choice(WORDS) + "/"
    else:
        base = base + str(r.randint(1, 99))
    return scope + base


class Names:
    """Unique generated names, none of them a lockfile name (unless asked for)."""

    def __init__(self, lock_names):
        self.real = sorted(lock_names)
        self.taken = set(lock_names)

    def fresh(self, r):
        while True:
            name = typosquat(r, self.real).lower()
            if name not in self.taken and len(name) <= 214:
                self.taken.add(name)
                return name


def mal_record(r, index, year_seq, name, hit_versions=None):
    year, seq = year_seq
    start = datetime(year, 1, 1, tzinfo=timezone.utc)
    published = min(start + timedelta(seconds=r.randint(0, 365 * 86400)), EPOCH)
    modified = min(published + timedelta(seconds=r.randint(0, 30 * 86400)), EPOCH)
    sources = [s for s, _ in SOURCES]
    weights = [w for _, w in SOURCES]
    origins = r.choices(sources, weights, k=1)
    if r.random() < 0.15:
        extra = r.choices(sources, weights, k=1)[0]
        if extra not in origins:
            origins.append(extra)
    ghsa = ghsa_id(r) if "ghsa-malware" in origins else None
    every_version = "ghsa-malware" in origins and r.random() < 0.8
    if hit_versions is not None:
        versions, every_version = hit_versions, False
    else:
        versions = sorted({semver(r, 3) if r.random() < 0.7 else "99.99." + str(r.randint(0, 9))
                           for _ in range(r.randint(1, 3))})
    affected = {"package": {"ecosystem": "npm", "name": name}}
    if every_version:
        affected["ranges"] = [{"type": "SEMVER", "events": [{"introduced": "0"}]}]
    else:
        affected["versions"] = versions
    if r.random() < 0.6:
        affected["database_specific"] = {
            "cwes": [{"cweId": c, "name": n, "description": d} for c, n, d in CWE]}
    details = ["", "---", "_-= Per source details. Do not edit below this line.=-_", ""]
    origin_blocks = []
    for source in origins:
        digest = "%064x" % r.getrandbits(256)
        details.append(f"## Source: {source} ({digest})")
        if source == "ghsa-malware":
            details.append(
                "Any computer that has this package installed or running should be considered "
                "fully compromised. All secrets and keys stored on that computer should be "
                "rotated immediately from a different computer. The package should be removed, "
                "but as full control of the computer may have been given to an outside entity, "
                "there is no guarantee that removing the package will rid the computer of all "
                "malicious software resulting from installing it.")
        elif source == "ossf-package-analysis":
            details.append(
                f"The OpenSSF Package Analysis project identified '{name}' @ {versions[0]} (npm) "
                "as malicious.\n\nIt is considered malicious because:\n\n- The package "
                "communicates with a domain associated with malicious activity.\n- The package "
                "executes one or more commands associated with malicious behavior.")
        else:
            details.append(
                f"The package {name} was found to contain malicious code: on install it "
                "collects environment variables, host and user names and sends them to a "
                "remote server.")
        details.append("")
        block = {
            "import_time": stamp(modified + timedelta(minutes=r.randint(1, 90))),
            "modified_time": stamp(modified),
            "sha256": digest,
            "source": source,
        }
        if source == "ghsa-malware":
            block["id"] = ghsa
        if every_version:
            block["ranges"] = [{"type": "SEMVER", "events": [{"introduced": "0"}]}]
        else:
            block["versions"] = versions
        origin_blocks.append(block)
    record = {
        "modified": stamp(modified),
        "published": stamp(published),
        "schema_version": "1.5.0",
        "id": f"MAL-{year}-{seq}",
        "summary": f"Malicious code in {name} (npm)",
        "details": "\n".join(details),
        "affected": [affected],
    }
    if ghsa and r.random() < 0.3:
        record["aliases"] = [ghsa]
    if ghsa:
        record["references"] = [
            {"type": "WEB", "url": f"https://github.com/advisories/{ghsa}"}]
    if "ossf-package-analysis" in origins:
        record["credits"] = [{
            "name": "OpenSSF: Package Analysis",
            "type": "FINDER",
            "contact": ["https://github.com/ossf/package-analysis"],
        }]
    record["database_specific"] = {"malicious-packages-origins": origin_blocks}
    if r.random() < 0.005:
        record["withdrawn"] = stamp(modified + timedelta(days=r.randint(1, 20)))
    return record


def cvss(r):
    pick = lambda *o: r.choice(o)
    return (f"CVSS:3.1/AV:{pick('N', 'N', 'A', 'L')}/AC:{pick('L', 'H')}/PR:{pick('N', 'L', 'H')}"
            f"/UI:{pick('N', 'R')}/S:{pick('U', 'C')}/C:{pick('N', 'L', 'H')}"
            f"/I:{pick('N', 'L', 'H')}/A:{pick('N', 'L', 'H')}")


def ghsa_record(r, name):
    gid = ghsa_id(r)
    published = EPOCH - timedelta(seconds=r.randint(0, 8 * 365 * 86400))
    modified = min(published + timedelta(seconds=r.randint(0, 900 * 86400)), EPOCH)
    affected = []
    for _ in range(1 if r.random() < 0.8 else r.randint(2, 3)):
        events = []
        intro = "0" if r.random() < 0.5 else semver(r)
        events.append({"introduced": intro})
        if r.random() < 0.85:
            events.append({"fixed": semver(r, 14)})
        else:
            events.append({"last_affected": semver(r, 14)})
        entry = {
            "package": {"ecosystem": "npm", "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": events}],
            "database_specific": {
                "source": f"https://github.com/github/advisory-database/blob/main/advisories/"
                          f"github-reviewed/{published.year}/{published.month:02}/{gid}/{gid}.json"},
        }
        if r.random() < 0.3:
            entry["versions"] = sorted({semver(r, 6) for _ in range(r.randint(5, 80))})
        affected.append(entry)
    cve = f"CVE-{published.year}-{r.randint(1000, 49999)}"
    severity = r.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"])
    record = {
        "schema_version": "1.4.0",
        "id": gid,
        "modified": stamp(modified),
        "published": stamp(published),
        "aliases": [cve] if r.random() < 0.85 else [],
        "summary": lorem(r, 4, 10).rstrip(".") + f" in {name}",
        "details": "### Impact\n" + lorem(r, 60, 250) + "\n\n### Patches\n" + lorem(r, 10, 40)
                   + "\n\n### Workarounds\n" + lorem(r, 5, 30),
        "affected": affected,
        "references": [
            {"type": "ADVISORY", "url": f"https://nvd.nist.gov/vuln/detail/{cve}"},
            {"type": "WEB", "url": f"https://github.com/{r.choice(WORDS)}/{name.strip('@').replace('/', '-')}/issues/{r.randint(1, 5000)}"},
            {"type": "PACKAGE", "url": f"https://github.com/{r.choice(WORDS)}/{name.strip('@').replace('/', '-')}"},
        ] + [{"type": "WEB", "url": f"https://github.com/{r.choice(WORDS)}/commit/{r.getrandbits(160):040x}"}
             for _ in range(r.randint(0, 4))],
        "database_specific": {
            "cwe_ids": sorted({f"CWE-{r.choice([20, 22, 79, 94, 400, 770, 915, 1321])}"
                               for _ in range(r.randint(1, 3))}),
            "severity": severity,
            "github_reviewed": True,
            "github_reviewed_at": stamp(published + timedelta(hours=r.randint(1, 200))),
            "nvd_published_at": stamp(published - timedelta(hours=r.randint(1, 200))),
        },
    }
    if r.random() < 0.8:
        record["severity"] = [{"type": "CVSS_V3", "score": cvss(r)}]
    return record


def lock_packages(path):
    with open(path) as f:
        lock = json.load(f)
    found = {}
    for key, entry in lock.get("packages", {}).items():
        if key and "node_modules/" in key and entry.get("version"):
            found.setdefault(entry.get("name") or key.rsplit("node_modules/", 1)[1],
                             entry["version"])
    return found


def modify(r, record, generation):
    """The record as a later day's export has it: re-reported, or a new fix."""
    record = json.loads(json.dumps(record))
    day = EPOCH + timedelta(days=generation, seconds=r.randint(0, 86399))
    record["modified"] = stamp(day)
    if record["id"].startswith("MAL-"):
        origins = record["database_specific"]["malicious-packages-origins"]
        digest = "%064x" % r.getrandbits(256)
        origins.append({
            "import_time": stamp(day), "modified_time": stamp(day), "sha256": digest,
            "source": "amazon-inspector",
            "versions": record["affected"][0].get("versions", ["0.0.0"]),
        })
        record["details"] += f"\n## Source: amazon-inspector ({digest})\nReported again.\n"
    else:
        for entry in record["affected"]:
            entry["ranges"].append({"type": "ECOSYSTEM", "events": [
                {"introduced": semver(r)}, {"fixed": semver(r, 14)}]})
    return record


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--ghsa", type=int, default=4_000)
    ap.add_argument("--hits", type=int, default=40)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--generation", type=int, default=0)
    ap.add_argument("--changes", type=int, default=1_000)
    ap.add_argument("--lockfile", default=DEFAULT_LOCK)
    args = ap.parse_args()

    real = zipfile.ZipFile(SHARED_NPM)
    real_entries = [(i.filename, real.read(i)) for i in real.infolist()]
    lock = lock_packages(args.lockfile)
    names = Names(lock)
    lock_names = sorted(lock)
    hit_rng = rng_for(args.seed, "hits")
    hit_names = hit_rng.sample(lock_names, min(len(lock_names), 2 * args.hits))

    generated = args.records - len(real_entries)
    if generated < args.ghsa:
        sys.exit("--records must leave room for the real records and --ghsa")
    # Per generation: which base records change, which new ones appear, which go.
    added_per_day = args.changes // 4
    dropped_per_day = args.changes // 20
    changed, dropped = {}, set()
    total = generated
    for g in range(1, args.generation + 1):
        r = rng_for(args.seed, "generation", g)
        for i in r.sample(range(total), args.changes):
            changed.setdefault(i, []).append(g)
        dropped.update(r.sample(range(total), dropped_per_day))
        total += added_per_day

    out_dir = os.path.join(args.out, "npm")
    os.makedirs(out_dir, exist_ok=True)
    listing = []
    zpath = os.path.join(out_dir, "all.zip")
    with zipfile.ZipFile(zpath + ".tmp", "w", zipfile.ZIP_DEFLATED) as z:
        def put(name, data):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            z.writestr(info, data)

        for name, data in real_entries:
            put(name, data)
            listing.append((json.loads(data)["modified"], name[:-5]))
        year_seq = {}
        for i in range(total):
            r = rng_for(args.seed, "record", i)
            # Generated in index order so that names stay unique; dropped ones too.
            if i < args.ghsa:
                name = hit_names[i] if i < args.hits else names.fresh(r)
                record = ghsa_record(r, name)
            else:
                year = 2022 + min(4, (i * 5) // generated)
                year_seq[year] = year_seq.get(year, 0) + 1
                k = i - args.ghsa
                if k < args.hits and args.hits + k < len(hit_names):
                    name = hit_names[args.hits + k]
                    # A version the lockfile does not have: a miss after the read.
                    record = mal_record(r, i, (year, year_seq[year]), name, ["0.0.0-mal." + str(k)])
                else:
                    record = mal_record(r, i, (year, year_seq[year]), names.fresh(r))
            born = 0 if i < generated else 1 + (i - generated) // max(added_per_day, 1)
            if born > 0:
                record["modified"] = stamp(EPOCH + timedelta(days=born, seconds=r.randint(0, 86399)))
            for g in changed.get(i, []):
                if g > born:
                    record = modify(rng_for(args.seed, "change", i, g), record, g)
            if i in dropped:
                continue
            data = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
            put(record["id"] + ".json", data)
            listing.append((record["modified"], record["id"]))
            touched = born == args.generation or args.generation in changed.get(i, [])
            if args.generation > 0 and touched:
                with open(os.path.join(out_dir, record["id"] + ".json"), "wb") as f:
                    f.write(data)
    os.replace(zpath + ".tmp", zpath)
    listing.sort(reverse=True)
    with open(os.path.join(out_dir, "modified_id.csv"), "w") as f:
        for modified, rid in listing:
            f.write(f"{modified},{rid}\n")
    print(f"{zpath}: {len(listing)} records, {os.path.getsize(zpath)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
