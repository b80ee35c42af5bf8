#!/usr/bin/env python3
"""Times commands in paired rounds and prints median wall and median CPU time.

Peak memory is not measured here: a child's ru_maxrss also counts the Python process it
was forked from until it execs (about 15 MiB), so the scripts ask GNU time for it.

Each round runs every command once, in turn (so a burst of load from another process
falls on all of them alike); a command's CPU time is its own user + system time as the
kernel accounts it to the child (wait4's rusage), which waiting for a core does not
inflate the way it does wall time. Medians, not means: one slow run does not move them.

usage: paired.py [--runs N] [--warmup N] [--json FILE] [--stdout FILE] NAME COMMAND [NAME COMMAND ...]
  COMMAND is split on whitespace (no shell); leading NAME=VALUE words set environment
  variables for that command alone (two vouch binaries whose caches differ in format
  need a cache directory each, or each run rebuilds the other's index). A non-zero exit
  is fine (audits that find vulnerabilities exit 1), but a command that exits 2 or more,
  or dies from a signal, stops the run: an error must not be timed as a result. Output
  of the commands goes to --stdout (default /dev/null).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def split_env(words):
    env = dict(os.environ)
    while words and "=" in words[0] and not words[0].startswith(("/", ".")):
        name, value = words[0].split("=", 1)
        env[name] = value
        words = words[1:]
    return env, words


def run_once(command, out):
    env, argv = command
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--stdout", default=os.devnull)
    ap.add_argument("pairs", nargs="+")
    args = ap.parse_args()
    if len(args.pairs) % 2:
        sys.exit("paired.py: NAME COMMAND pairs expected")
    commands = [(args.pairs[i], split_env(args.pairs[i + 1].split())) for i in range(0, len(args.pairs), 2)]
    results = {name: {"wall": [], "cpu": [], "exit": set()} for name, _ in commands}
    with open(args.stdout, "wb") as out:
        for round_ in range(args.warmup + args.runs):
            for name, argv in commands:
                wall, cpu, code = run_once(argv, out)
                if code < 0 or code >= 2:
                    sys.exit(f"paired.py: `{' '.join(argv[1])}` exited {code}: not timed")
                if round_ < args.warmup:
                    continue
                r = results[name]
                r["wall"].append(wall)
                r["cpu"].append(cpu)
                r["exit"].add(code)
    rows = []
    for name, argv in commands:
        r = results[name]
        rows.append({
            "name": name,
            "command": " ".join(argv[1]),
            "runs": len(r["wall"]),
            "median_wall_ms": statistics.median(r["wall"]) * 1000,
            "median_cpu_ms": statistics.median(r["cpu"]) * 1000,
            "min_cpu_ms": min(r["cpu"]) * 1000,
            "exit_codes": sorted(r["exit"]),
        })
    width = max(len(r["name"]) for r in rows)
    print(f"{'command':<{width}}  {'wall (median)':>13}  {'CPU (median)':>12}  {'CPU (min)':>9}  runs")
    for r in rows:
        print(f"{r['name']:<{width}}  {r['median_wall_ms']:>10.1f} ms  {r['median_cpu_ms']:>9.1f} ms  "
              f"{r['min_cpu_ms']:>6.1f} ms  {r['runs']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
