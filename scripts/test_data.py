#!/usr/bin/env python3
"""Builds and checks the frozen advisory test data (../shared/advisories), for
scripts/fetch-test-data.sh.

    test_data.py build-osv ECOSYSTEM SOURCE_DIR OUT.zip   one OSV export from a checkout
    test_data.py manifest FILE                            the content digest of a zip or .tar.gz
    test_data.py selfcheck ADVISORIES_DIR                 checks this script against a frozen copy

The frozen exports are zips of `<ID>.json` entries, sorted by name, each the record as
`json.dumps(record, indent=2, sort_keys=True)`, deflated, dated the snapshot's day.
`selfcheck` proves that on the frozen copy: the writer here rebuilds each frozen zip
byte for byte from its own records, and the npm range converter gives every frozen
record's ranges from its `vulnerable_versions`. What it cannot prove offline is that the
other npm fields and the PyPI YAML are read as the original conversion read them; the
content digests below catch any difference when the sources are fetched.

The content digest ("manifest") of a zip is the SHA-256 of the lines `<sha256 of the
entry>  <entry name>`, sorted by name; of a .tar.gz, the same over its regular files
(paths without `./`). It does not depend on timestamps, compression or archive order.
"""

import hashlib
import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path

# What the frozen copy holds (computed from ../shared/advisories, 2026-12): content
# digest, whole-file SHA-256, entry count, and the date its zip entries carry.
FROZEN = {
    "rustsec-advisory-db.tar.gz": (
        "ebb07bb820ab02fc817838584fd74b9037d1b194e67e6416d40610bf8596b21c",
        "8e10ea7c2a483d664d9e675c67e7224df764a1255003ddf9e95ed60d57624138",
        1244,
        None,
    ),
    "osv/crates.io/all.zip": (
        "303cc137e1676d83ec5cb26d6640c7b0065e59b20a0c511edecc1476d6206bf9",
        "e40b7ac00389b53e8be3ab3594934a1647d7cf9aaba90219a5a496fff3ae6f90",
        1206,
        (2026, 8, 21, 0, 0, 0),
    ),
    "osv/Go/all.zip": (
        "fb1cdaf9c8e3feba11f917ed344da6a22dd72e56492cad6fed1e4f9ae6697051",
        "2c8fa3c83d54a211abc73ed6df3d3092ac3eec4662fb16b70b1538d00d6577d8",
        4291,
        (2026, 8, 21, 0, 0, 0),
    ),
    "osv/PyPI/all.zip": (
        "2d60c62c8947aa97fd9eda74cf1768fc41f020a3f657af2ba6812f399f678a20",
        "090ec8f98d6c2e0b3989ad48afb270568a7f130a088cf50345fc9caa4b3efccf",
        2661,
        (2026, 8, 21, 0, 0, 0),
    ),
    "osv/npm/all.zip": (
        "47787847281a9105fe0e4575811fcaf6391ccfcd6902c896fea85045893fce17",
        "7b6696ac082c86a4e5ec64f545b3ac841079266b0ac1be923850e965873af2d2",
        463,
        (2026, 4, 8, 0, 0, 0),
    ),
}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def manifest_of(rows):
    """rows: (name, bytes) → (content digest, count)."""
    rows = sorted(rows, key=lambda r: r[0].encode())
    lines = "".join(f"{sha256(data)}  {name}\n" for name, data in rows)
    return sha256(lines.encode()), len(rows)


def manifest(path):
    path = Path(path)
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            return manifest_of((n, z.read(n)) for n in z.namelist())
    with tarfile.open(path) as t:
        rows = []
        for m in t.getmembers():
            if m.isfile():
                name = m.name[2:] if m.name.startswith("./") else m.name
                rows.append((name, t.extractfile(m).read()))
        return manifest_of(rows)


def serialize(record):
    return json.dumps(record, indent=2, sort_keys=True).encode()


def write_zip(records, out, date):
    """records: {id: record} → a zip laid out as the frozen exports are."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for rid in sorted(records):
            info = zipfile.ZipInfo(f"{rid}.json", date_time=date)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o600 << 16
            z.writestr(info, serialize(records[rid]))


# ---- npm: nodejs/security-wg vuln/npm/<N>.json → OSV ----------------------------------


def full_version(ver):
    """`1.0` → `1.0.0`, `4` → `4.0.0`, `2.0.x` → `2.0.0` (as the frozen conversion did);
    a prerelease is kept."""
    ver = ver.lstrip("v")
    main, dash, pre = ver.partition("-")
    parts = [("0" if p in ("x", "X", "*") else p) for p in main.split(".")]
    parts += ["0"] * (3 - len(parts))
    return ".".join(parts) + dash + pre


def npm_ranges(spec):
    """OSV SEMVER ranges for an npm `vulnerable_versions`: one range per `||`
    alternative (a union, as npm reads it). `<X` is fixed at X, `<=X` last affected at X,
    `>=X` introduced at X, and a bare, `=`, `~` or `^` version affects that version."""
    ranges = []
    for alternative in spec.split("||"):
        lower = upper = kind = None
        for op, ver in re.findall(r"(<=|>=|<|>|=|\^|~)?\s*(v?[0-9xX*][^\s]*)", alternative):
            if ver in ("*", "x", "X"):
                continue
            ver = full_version(ver)
            if op == ">=":
                lower = ver
            elif op == ">":
                raise ValueError(f"a strict lower bound in {spec!r} has no OSV form here")
            elif op == "<":
                upper, kind = ver, "fixed"
            elif op == "<=":
                upper, kind = ver, "last_affected"
            else:
                lower, upper, kind = ver, ver, "last_affected"
        events = [{"introduced": lower or "0"}]
        if upper:
            events.append({kind: upper})
        ranges.append({"events": events, "type": "SEMVER"})
    return ranges


def npm_timestamp(text):
    """`2014-09-27` or `2014-09-27T10:00:00.000Z` → `2014-09-27T00:00:00Z` (a day)."""
    return f"{str(text)[:10]}T00:00:00Z"


def npm_references(refs):
    if not refs:
        return []
    if isinstance(refs, str):
        refs = re.findall(r"https?://[^\s)\]>]+", refs)
    return [{"type": "WEB", "url": u} for u in refs]


def npm_record(src):
    """One security-wg advisory as the frozen npm export records it. The ranges are
    checked against the frozen copy by `selfcheck`; the other fields are this script's
    reading of the README's description, checked only by the content digest."""
    spec = src["vulnerable_versions"]
    name = src["module_name"]
    record = {
        "affected": [
            {
                "database_specific": {
                    "patched_versions": src.get("patched_versions"),
                    "vulnerable_versions": spec,
                },
                "package": {"ecosystem": "npm", "name": name, "purl": f"pkg:npm/{name}"},
                "ranges": npm_ranges(spec),
            }
        ],
        "aliases": list(src.get("cves") or []),
        "details": src.get("overview") or "",
        "id": f"NSWG-ECO-{src['id']}",
        "modified": npm_timestamp(src.get("updated_at") or src.get("publish_date") or src["created_at"]),
        "published": npm_timestamp(src.get("publish_date") or src["created_at"]),
        "references": npm_references(src.get("references")),
        "schema_version": "1.6.0",
        "summary": src.get("title") or "",
    }
    if src.get("cvss_vector"):
        record["severity"] = [{"score": src["cvss_vector"], "type": "CVSS_V3"}]
    return record


# ---- building one export from a checkout ----------------------------------------------


def records_from(ecosystem, root):
    root = Path(root)
    records = {}
    if ecosystem == "crates.io":
        # rustsec/advisory-db branch `osv`: one RUSTSEC-*.json per advisory.
        for path in root.rglob("RUSTSEC-*.json"):
            record = json.loads(path.read_text(encoding="utf-8"))
            records[record["id"]] = record
    elif ecosystem == "Go":
        # golang/vulndb data/osv/GO-*.json
        for path in (root / "data" / "osv").glob("GO-*.json"):
            record = json.loads(path.read_text(encoding="utf-8"))
            records[record["id"]] = record
    elif ecosystem == "PyPI":
        # pypa/advisory-database vulns/<package>/PYSEC-*.yaml, YAML read with every
        # scalar as text (the frozen records hold only strings).
        try:
            import yaml
        except ImportError:
            sys.exit("test_data.py: PyYAML is needed for the PyPI export (pip install PyYAML==6.0.2)")
        for path in (root / "vulns").rglob("PYSEC-*.yaml"):
            record = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
            records[record["id"]] = record
    elif ecosystem == "npm":
        for path in (root / "vuln" / "npm").glob("*.json"):
            record = npm_record(json.loads(path.read_text(encoding="utf-8")))
            records[record["id"]] = record
    else:
        sys.exit(f"test_data.py: unknown ecosystem {ecosystem}")
    return records


def build_osv(ecosystem, root, out):
    date = FROZEN[f"osv/{ecosystem}/all.zip"][3]
    records = records_from(ecosystem, root)
    if not records:
        sys.exit(f"test_data.py: no {ecosystem} advisories under {root}")
    write_zip(records, out, date)


# ---- checking this script against a frozen copy ----------------------------------------


def selfcheck(advisories):
    advisories = Path(advisories)
    failed = False
    for rel, (digest, whole, count, date) in FROZEN.items():
        path = advisories / rel
        got, n = manifest(path)
        ok = got == digest and n == count and sha256(path.read_bytes()) == whole
        print(f"{'ok  ' if ok else 'FAIL'} {rel}: {n} files, content {got[:16]}…")
        failed |= not ok
        if date is None:
            continue
        # The writer rebuilds the frozen zip byte for byte from its own records.
        with zipfile.ZipFile(path) as z:
            records = {n[: -len(".json")]: json.loads(z.read(n)) for n in z.namelist()}
            same_bytes = all(serialize(records[n[:-5]]) == z.read(n) for n in z.namelist())
        buf = io.BytesIO()
        write_zip(records, buf, date)
        rebuilt = sha256(buf.getvalue()) == whole
        print(f"{'ok  ' if same_bytes and rebuilt else 'FAIL'} {rel}: rebuilt from its records byte for byte")
        failed |= not (same_bytes and rebuilt)
        if rel == "osv/npm/all.zip":
            wrong = [
                r["id"]
                for r in records.values()
                for a in r["affected"]
                if npm_ranges(a["database_specific"]["vulnerable_versions"]) != a["ranges"]
            ]
            print(f"{'ok  ' if not wrong else 'FAIL'} npm ranges from vulnerable_versions: {len(wrong)} differ {wrong[:5]}")
            failed |= bool(wrong)
    return 1 if failed else 0


def main(argv):
    if len(argv) == 5 and argv[1] == "build-osv":
        build_osv(argv[2], argv[3], argv[4])
        return 0
    if len(argv) == 3 and argv[1] == "manifest":
        digest, count = manifest(argv[2])
        print(digest, count)
        return 0
    if len(argv) == 3 and argv[1] == "selfcheck":
        return selfcheck(argv[2])
    if len(argv) == 3 and argv[1] == "expected":
        digest, whole, count, _ = FROZEN[argv[2]]
        print(digest, whole, count)
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
