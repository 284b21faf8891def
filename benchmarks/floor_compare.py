#!/usr/bin/env python3
"""sluice against the cost floor (../shared/floor): W1-W4 side by side, interleaved, ratios.

Builds nothing. Give it the two programs:
    g++ -O2 -std=c++20 -o /tmp/floor ../shared/floor/floor.cpp -luring
    cmake --preset release && cmake --build --preset release --target sluice_bench
    python3 benchmarks/floor_compare.py --floor /tmp/floor --sluice build/release/benchmarks/sluice_bench [--runs 5]

Workloads (issue 8's targets): W1 M=1e6 L=1000, W1 M=1e6 L=100000, W2 M=1e6 L=100000, W2 M=1e6
L=1000000 (the floor's `w2heap`: a user-space deadline heap, as sluice has), W3 10000 tasks 100 permits
100 iterations, W4 M=1e6 (sluice pulling its tasks from a generator, and
making them all first as the floor does). For each run, each workload: floor, then sluice (so drift in a shared
machine's speed falls on both). Prints a markdown table of medians: the workload's figure (ns per
task or pair; seconds of wall time for W2), peak RSS (/usr/bin/time -f %M), and the
ratios sluice/floor. `--callgrind` instead runs each workload once under valgrind's callgrind at a
reduced M and prints instruction counts and their ratio: repeatable on a loaded machine, where wall
times are not. Exit status 1 when a program fails its check.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

# id, floor argv tail, sluice argv tail, figure ('ns' per task, or 's' of wall time), callgrind argvs
WORKLOADS = [
    ("W1 L=1000", ["w1", "1000000", "1000"], ["w1", "1000000", "1000"], "ns", (["w1", "100000", "1000"],) * 2),
    ("W1 L=100000", ["w1", "1000000", "100000"], ["w1", "1000000", "100000"], "ns", (["w1", "300000", "100000"],) * 2),
    ("W2 L=100000", ["w2heap", "1000000", "100000"], ["w2", "1000000", "100000"], "s",
     (["w2heap", "200000", "100000", "10"], ["w2", "200000", "100000", "10"])),
    ("W2 L=1000000", ["w2heap", "1000000", "1000000"], ["w2", "1000000", "1000000"], "s",
     (["w2heap", "300000", "300000", "10"], ["w2", "300000", "300000", "10"])),
    ("W3", ["w3", "10000", "100", "100"], ["w3", "10000", "100", "100"], "ns", (["w3", "1000", "100", "100"],) * 2),
    ("W4 M=1000000", ["w4", "1000000"], ["w4", "1000000"], "ns", (["w4", "300000"],) * 2),
    # The floor makes every task before the first runs; sluice's W4 pulls them lazily (in waves).
    ("W4 M=1000000, tasks made first", ["w4", "1000000"], ["w4made", "1000000"], "ns",
     (["w4", "300000"], ["w4made", "300000"])),
]

RESULT = re.compile(r"RESULT .*ok=(\d).*wall_s=([0-9.]+) ns_per_(?:task|pair)=([0-9.]+)")


def run_once(argv):
    """Runs argv; returns (ok, wall_s, ns_per_task, peak_rss_bytes).

    Peak RSS comes from /usr/bin/time -f %M: getrusage on a child forked from this Python process
    would report at least Python's own RSS (it is the child's until exec)."""
    with tempfile.NamedTemporaryFile(mode="r") as rss:
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + argv, capture_output=True, text=True)
        peak_kb = rss.read().strip().splitlines()[-1:] or ["0"]
    match = RESULT.search(done.stdout)
    if done.returncode != 0 or not match or match.group(1) != "1":
        print(f"FAILED: {' '.join(argv)}\n{done.stdout}{done.stderr}", file=sys.stderr)
        return False, 0.0, 0.0, 0
    return True, float(match.group(2)), float(match.group(3)), int(peak_kb[0]) * 1024


def instructions(argv):
    """Instructions executed by argv under callgrind (whole process, start-up included)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + argv,
                              capture_output=True, text=True)
        match = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or not match:
            print(f"FAILED under callgrind: {' '.join(argv)}\n{done.stderr[-2000:]}", file=sys.stderr)
            return None
        return int(match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--floor", required=True, help="the floor program (built from ../shared/floor/floor.cpp)")
    parser.add_argument("--sluice", required=True, help="build/release/benchmarks/sluice_bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated prefixes of workload ids (e.g. W1,W4)")
    parser.add_argument("--callgrind", action="store_true", help="instruction counts instead of timings")
    args = parser.parse_args()

    chosen = [w for w in WORKLOADS if not args.only or any(w[0].startswith(p) for p in args.only.split(","))]
    failed = False

    if args.callgrind:
        print("| workload (callgrind, reduced M) | floor Ir | sluice Ir | ratio |")
        print("|---|---|---|---|")
        for wid, _, _, _, (floor_cg, sluice_cg) in chosen:
            f = instructions([args.floor] + floor_cg)
            s = instructions([args.sluice] + sluice_cg)
            if f is None or s is None:
                failed = True
                continue
            print(f"| {wid}: floor {' '.join(floor_cg)} / sluice {' '.join(sluice_cg)} | {f:,} | {s:,} | {s / f:.2f} |")
        return 1 if failed else 0

    samples = {(wid, who): [] for wid, *_ in chosen for who in ("floor", "sluice")}
    for _ in range(args.runs):
        for wid, floor_args, sluice_args, _, _ in chosen:
            for who, argv in (("floor", [args.floor] + floor_args), ("sluice", [args.sluice] + sluice_args)):
                ok, wall, ns, rss = run_once(argv)
                failed |= not ok
                if ok:
                    samples[(wid, who)].append((wall, ns, rss))

    print(f"| workload | floor | sluice | time ratio | floor RSS | sluice RSS | RSS ratio |")
    print("|---|---|---|---|---|---|---|")
    for wid, _, _, figure, _ in chosen:
        f, s = samples[(wid, "floor")], samples[(wid, "sluice")]
        if not f or not s:
            continue
        pick = (lambda r: r[0]) if figure == "s" else (lambda r: r[1])
        unit = "s" if figure == "s" else ("ns/pair" if wid == "W3" else "ns/task")
        fv, sv = statistics.median(map(pick, f)), statistics.median(map(pick, s))
        fr, sr = statistics.median(r[2] for r in f), statistics.median(r[2] for r in s)
        print(f"| {wid} | {fv:.4g} {unit} | {sv:.4g} {unit} | {sv / fv:.2f} | {fr / 1e6:.0f} MB | {sr / 1e6:.0f} MB "
              f"| {sr / fr:.2f} |")
    print(f"\n(medians of {args.runs} interleaved runs: floor, sluice, floor, sluice, ...)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
