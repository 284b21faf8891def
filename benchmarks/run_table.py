#!/usr/bin/env python3
"""Runs every sluice_bench workload of DESIGN section 6 several times and prints medians.

Usage: benchmarks/run_table.py [--runs N] [--bench PATH]
  Build first:  cmake --preset release && cmake --build --preset release --target sluice_bench
Runs are interleaved workload by workload (A B C ... A B C ...) so that drift in the machine's
speed spreads over all rows. Exits non-zero if any run's checksum is wrong.
"""
import argparse
import statistics
import subprocess
import sys

WORKLOADS = [
    ("W1 L=10", ["w1", "1000000", "10"]),
    ("W1 L=1000", ["w1", "1000000", "1000"]),
    ("W1 L=100000", ["w1", "1000000", "100000"]),
    ("W1 infinite-style source 10^7, L=1000", ["w1", "10000000", "1000"]),
    ("W2 L=100000", ["w2", "1000000", "100000", "100"]),
    ("W2 L=1000000", ["w2", "1000000", "1000000", "100"]),
    ("W3 10000 tasks, 100 permits, 100 iters", ["w3", "10000", "100", "100"]),
    ("W4 gather 1M", ["w4", "1000000"]),
    ("loop: yield round trip", ["yield", "10000000"]),
    ("loop: spawn + join", ["spawn", "1000000"]),
]


def parse(line):
    fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
    return fields


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bench", default="build/release/benchmarks/sluice_bench")
    args = parser.parse_args()

    results = {name: [] for name, _ in WORKLOADS}
    failed = False
    for _ in range(args.runs):
        for name, argv in WORKLOADS:
            out = subprocess.run([args.bench, *argv], capture_output=True, text=True)
            lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
            if out.returncode != 0 or not lines:
                print(f"FAILED: {name}: exit {out.returncode}\n{out.stdout}{out.stderr}", file=sys.stderr)
                failed = True
                continue
            results[name].append(parse(lines[-1]))

    print(f"| workload | wall s (median) | ns/task (median, min-max) | peak RSS MB (median) | runs |")
    print("|---|---|---|---|---|")
    for name, _ in WORKLOADS:
        runs = results[name]
        if not runs:
            continue
        wall = [float(r["wall_s"]) for r in runs]
        ns = [float(r["ns_per_task"]) for r in runs]
        rss = [float(r["peak_rss_mb"]) for r in runs]
        print(f"| {name} | {statistics.median(wall):.4f} | {statistics.median(ns):.1f} "
              f"({min(ns):.1f}-{max(ns):.1f}) | {statistics.median(rss):.1f} | {len(runs)} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
