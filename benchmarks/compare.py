#!/usr/bin/env python3
"""Side-by-side tables of docs/design.md, "Benchmarks": sluice against Python asyncio and Boost.Asio.

Builds nothing. First:
    cmake --preset release && cmake --build --preset release
then:
    python3 benchmarks/compare.py [--runs N] [--quick | --scale F] [--peers P,...] [--workloads W,...]
                                  [--markdown-out FILE] [--bench-dir DIR] [--python PYTHON]

Runs build/release/benchmarks/sluice_bench, benchmarks/asyncio_bench.py and (when it was built, i.e.
Boost >= 1.81 was found) build/release/benchmarks/asio_bench, each invocation a fresh process timed
from inside (start-up excluded). Runs are interleaved: for each run, each workload, each system in
turn (A B C A B C ...), so drift in the machine's speed spreads over every system. Prints one
markdown table per workload: per system the median and min-max wall time, median ns per task,
median peak RSS (VmHWM) and the ratio of its median wall time to sluice's.

Peers: sluice, asyncio, asyncio-sem (W1 only: `async with Semaphore` instead of the igather pattern),
asio, asio-cb (W1 only: co_spawn completion-handler chaining instead of a consumer coroutine).
Workloads (ids; a prefix such as `w1` selects a family; `all` adds the loop micro-benchmarks):
    w1-10 w1-1000 w1-100000 w2-100000 w2-1000000 w3 w4   (default)    yield spawn   (with `all`)
--quick is --scale 0.1: every M (and W3's task count) divided by 10; the limits stay as they are.

Exit status: 0 when every run exited 0 with ok=1 and the expected sum, 1 otherwise (each failure is
reported on stderr as it happens and summed up at the end), 2 on bad usage or a missing program.
The default (3 runs, all peers) takes about 7-10 minutes on a 2-core machine, nearly all of it asyncio;
asyncio-sem at L=100,000 (quadratic in CPython 3.11) runs only when named in --peers.
"""
import argparse
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

ALL_PEERS = ["sluice", "asyncio", "asyncio-sem", "asio", "asio-cb"]
NATIVE = {"sluice": "sluice_bench", "asio": "asio_bench", "asio-cb": "asio_bench"}


class Workload:
    def __init__(self, wid, title, make_args, peers=None, default=True, w2=None, opt_in=None):
        self.wid = wid
        self.title = title
        self.make_args = make_args      # scale -> (argv tail for the canonical peers, description)
        self.peers = peers              # peers that run this workload (None: sluice, asyncio, asio)
        self.default = default
        self.w2 = w2                    # (M, L, ms) builder for the W2 columns
        self.opt_in = opt_in or {}      # peer -> why it runs only when named in --peers


def scaled(value, scale):
    return max(1, int(round(value * scale)))


def w1(limit):
    def make(scale):
        m = scaled(1_000_000, scale)
        return ["w1", str(m), str(limit)], f"M={m:,} trivial tasks (one yield, return 2i), at most L={limit:,} in flight"
    opt_in = {}
    if limit >= 100_000:
        # CPython 3.11's Semaphore._wake_up_next walks past every waiter already woken in this loop
        # turn, so when ~L tasks release in one turn it is quadratic in L: ~150 s a run here.
        opt_in["asyncio-sem"] = ("left out by default: asyncio.Semaphore's release is O(waiters already woken "
                                 "this loop turn) in CPython 3.11, quadratic at this L (about 150 s per run "
                                 "on a 2-core machine); run it with `--peers asyncio-sem --workloads w1-100000`")
    return Workload(f"w1-{limit}", f"W1 bounded fan-out, L={limit:,}", make,
                    peers=["sluice", "asyncio", "asyncio-sem", "asio", "asio-cb"], opt_in=opt_in)


def w2(limit):
    def make(scale):
        m = scaled(1_000_000, scale)
        return ["w2", str(m), str(limit), "100"], f"M={m:,} tasks sleeping 100 ms, at most L={limit:,} in flight"
    return Workload(f"w2-{limit}", f"W2 sleeping fan-out, L={limit:,}", make,
                    w2=lambda scale: (scaled(1_000_000, scale), limit, 100))


def w3_make(scale):
    tasks = scaled(10_000, scale)
    return ["w3", str(tasks), "100", "100"], f"{tasks:,} tasks, 100 permits, 100 acquire/yield/release each; ns per pair"


def w4_make(scale):
    m = scaled(1_000_000, scale)
    return ["w4", str(m)], f"gather over M={m:,} trivial tasks (one yield, return 2i)"


def yield_make(scale):
    n = scaled(10_000_000, scale)
    return ["yield", str(n)], f"one task, N={n:,} yields; ns per round trip through the loop"


def spawn_make(scale):
    n = scaled(1_000_000, scale)
    return ["spawn", str(n)], f"N={n:,} trivial tasks spawned and joined 1000 at a time"


WORKLOADS = [
    w1(10), w1(1000), w1(100_000),
    w2(100_000), w2(1_000_000),
    Workload("w3", "W3 semaphore", w3_make),
    Workload("w4", "W4 gather", w4_make),
    Workload("yield", "loop: yield round trip", yield_make, default=False),
    Workload("spawn", "loop: spawn + join", spawn_make, default=False),
]


def command_for(peer, argv, args):
    """The command line running `argv` (sluice_bench's arguments) on `peer`."""
    if peer in ("sluice", "asio"):
        return [str(Path(args.bench_dir) / NATIVE[peer]), *argv]
    if peer == "asio-cb":
        assert argv[0] == "w1"
        return [str(Path(args.bench_dir) / "asio_bench"), "w1cb", *argv[1:]]
    script = str(HERE / "asyncio_bench.py")
    if peer == "asyncio":
        return [args.python, script, *argv]
    if peer == "asyncio-sem":
        assert argv[0] == "w1"
        return [args.python, script, "w1sem", *argv[1:]]
    raise ValueError(peer)


def parse_result(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        return None
    return dict(part.split("=", 1) for part in lines[-1].split()[1:] if "=" in part)


class Failure(Exception):
    pass


def run_once(peer, argv, args):
    command = command_for(peer, argv, args)
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"timed out after {args.timeout} s: {shlex.join(command)}")
    result = parse_result(out.stdout)
    problems = []
    if out.returncode != 0:
        problems.append(f"exit status {out.returncode}")
    if result is None:
        problems.append("no RESULT line")
    else:
        if result.get("ok") != "1":
            problems.append(f"ok={result.get('ok')}")
        if result.get("sum") != result.get("expected"):
            problems.append(f"sum={result.get('sum')} expected={result.get('expected')}")
        if result.get("peer") != peer:
            problems.append(f"peer={result.get('peer')} (wanted {peer})")
    if problems:
        tail = (out.stdout + out.stderr).strip().splitlines()[-15:]
        raise Failure(f"{', '.join(problems)}: {shlex.join(command)}\n    " + "\n    ".join(tail))
    return result


def fmt_ratio(value, reference):
    if reference is None or reference <= 0:
        return "—"
    ratio = value / reference
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def fmt_seconds(value):
    if value < 1:
        return f"{value:.4f}"
    return f"{value:.3f}" if value < 100 else f"{value:.1f}"


def table(workload, description, peers, results, baselines, scale, notes=()):
    lines = [f"### {workload.title}", "", description, ""]
    sluice_runs = results.get("sluice") or []
    reference = statistics.median(float(r["wall_s"]) for r in sluice_runs) if sluice_runs else None
    header = ["system", "wall s, median (min–max)", "ns/task, median", "peak RSS MB, median", "wall / sluice's"]
    if workload.w2:
        m, limit, ms = workload.w2(scale)
        ideal = math.ceil(m / limit) * ms / 1000.0
        in_flight = min(limit, m)
        header += [f"over ideal {ideal:g} s", "bytes per in-flight task"]
    header.append("runs")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for peer in peers:
        runs = results.get(peer) or []
        if not runs:
            lines.append("| " + " | ".join([peer, "failed"] + [""] * (len(header) - 3) + ["0"]) + " |")
            continue
        wall = [float(r["wall_s"]) for r in runs]
        ns = [float(r["ns_per_task"]) for r in runs]
        rss = [float(r["peak_rss_mb"]) for r in runs]
        row = [peer, f"{fmt_seconds(statistics.median(wall))} ({fmt_seconds(min(wall))}–{fmt_seconds(max(wall))})",
               f"{statistics.median(ns):,.1f}", f"{statistics.median(rss):,.1f}",
               fmt_ratio(statistics.median(wall), reference)]
        if workload.w2:
            base = baselines.get(peer)
            per_task = "—" if base is None else f"{max(0.0, statistics.median(rss) - base) * 1048576 / in_flight:,.0f}"
            row += [f"+{statistics.median(wall) - ideal:.3f} s", per_task]
        row.append(str(len(runs)))
        lines.append("| " + " | ".join(row) + " |")
    if workload.w2:
        lines += ["", "Bytes per in-flight task: (median peak RSS − the same program's peak RSS for "
                      "`w2 1 1 0`) / min(L, M)."]
    for note in notes:
        lines += ["", note]
    return "\n".join(lines)


def select(names, universe, what):
    chosen = []
    for name in names:
        name = name.strip().lower()
        if not name:
            continue
        matches = [u for u in universe if u == name or (what == "workload" and u.startswith(name))]
        if not matches:
            print(f"compare.py: unknown {what} {name!r}; choose from {', '.join(universe)}", file=sys.stderr)
            sys.exit(2)
        chosen += [m for m in matches if m not in chosen]
    return chosen


def default_python():
    debian = Path("/usr/bin/python3")
    return str(debian) if debian.exists() else sys.executable


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per system and workload (default 3)")
    parser.add_argument("--quick", action="store_true", help="--scale 0.1")
    parser.add_argument("--scale", type=float, default=None, help="multiply every M by this (default 1)")
    parser.add_argument("--peers", default=",".join(ALL_PEERS), help="comma-separated subset of " + ",".join(ALL_PEERS))
    parser.add_argument("--workloads", default="default",
                        help="comma-separated ids or prefixes (w1, w1-1000, w2, w3, w4, yield, spawn), "
                             "'default' or 'all'")
    parser.add_argument("--bench-dir", default=str(REPO / "build" / "release" / "benchmarks"),
                        help="where sluice_bench and asio_bench are (default build/release/benchmarks)")
    parser.add_argument("--python", default=default_python(),
                        help="interpreter for asyncio_bench.py (default /usr/bin/python3 if present)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run before it counts as failed")
    parser.add_argument("--markdown-out", metavar="FILE", help="also write the tables to FILE")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    scale = args.scale if args.scale is not None else (0.1 if args.quick else 1.0)

    ids = [w.wid for w in WORKLOADS]
    wanted = args.workloads.strip().lower()
    if wanted == "default":
        workloads = [w for w in WORKLOADS if w.default]
    elif wanted == "all":
        workloads = list(WORKLOADS)
    else:
        chosen = select(wanted.split(","), ids, "workload")
        workloads = [w for w in WORKLOADS if w.wid in chosen]
    explicit_peers = args.peers != parser.get_default("peers")
    peers = select(args.peers.split(","), ALL_PEERS, "peer")

    # Which programs exist.
    missing = []
    for peer in list(peers):
        program = Path(command_for(peer, ["w1", "1", "1"], args)[0])
        if peer.startswith("asyncio"):
            program = HERE / "asyncio_bench.py"
            if not Path(args.python).exists() and not shutil.which(args.python):
                missing.append(f"{peer}: no interpreter {args.python}")
            continue
        if not program.exists():
            if peer.startswith("asio") and not explicit_peers:
                print(f"compare.py: {program} not built (Boost >= 1.81 not found?); leaving out {peer}",
                      file=sys.stderr)
                peers.remove(peer)
            else:
                missing.append(f"{peer}: {program} does not exist")
    if missing:
        print("compare.py: " + "; ".join(missing) +
              "\n  build first: cmake --preset release && cmake --build --preset release", file=sys.stderr)
        return 2

    plan = []
    for workload in workloads:
        argv, description = workload.make_args(scale)
        runnable = [p for p in peers if p in (workload.peers or ["sluice", "asyncio", "asio"])]
        notes = [f"{p}: {why}." for p, why in workload.opt_in.items() if p in runnable and not explicit_peers]
        runnable = [p for p in runnable if explicit_peers or p not in workload.opt_in]
        plan.append((workload, argv, description, runnable, notes))

    python_version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                                    capture_output=True, text=True).stdout.strip() if any(
        p.startswith("asyncio") for p in peers) else "—"
    started = time.time()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"compare.py: {args.runs} run(s), scale {scale:g}, peers {', '.join(peers)}, "
          f"{len(plan)} workload(s); python {args.python} ({python_version})", file=sys.stderr)

    # Floor RSS of each program (for W2's bytes per in-flight task).
    baselines = {}
    if any(w.w2 for w, *_ in plan):
        for peer in peers:
            if peer in ("asyncio-sem", "asio-cb"):
                continue
            try:
                baselines[peer] = float(run_once(peer, ["w2", "1", "1", "0"], args)["peak_rss_mb"])
            except Failure as failure:
                print(f"FAILED (baseline) {peer}: {failure}", file=sys.stderr)

    results = {w.wid: {p: [] for p in peers} for w, *_ in plan}
    failures = []
    for run in range(1, args.runs + 1):
        for workload, argv, _, runnable, _ in plan:
            for peer in runnable:
                try:
                    result = run_once(peer, argv, args)
                except Failure as failure:
                    message = f"FAILED run {run} {workload.wid} {peer}: {failure}"
                    print(message, file=sys.stderr, flush=True)
                    failures.append(message.splitlines()[0])
                    continue
                results[workload.wid][peer].append(result)
                print(f"  run {run}/{args.runs} {workload.wid:<11} {peer:<12} wall_s={result['wall_s']:>9} "
                      f"ns/task={result['ns_per_task']:>10} rss={result['peak_rss_mb']} MB",
                      file=sys.stderr, flush=True)

    elapsed = time.time() - started
    header = [
        "## sluice vs asyncio vs Boost.Asio (docs/design.md, \"Benchmarks\")",
        "",
        f"{args.runs} run(s) per system, interleaved; scale {scale:g}; {os.cpu_count()} CPUs, "
        f"{platform.platform()}, load average {load:.2f} at start; asyncio on Python {python_version} "
        f"({args.python}); total {elapsed / 60:.1f} min.",
        "",
    ]
    tables = [table(w, d, r, results[w.wid], baselines, scale, notes) for w, _, d, r, notes in plan]
    text = "\n".join(header) + "\n" + "\n\n".join(tables) + "\n"
    if failures:
        text += "\n**FAILED runs** (left out of the tables):\n" + "\n".join(f"- {f}" for f in failures) + "\n"
    print(text)
    if args.markdown_out:
        Path(args.markdown_out).write_text(text)
    if failures:
        print(f"compare.py: {len(failures)} run(s) FAILED (wrong sum, ok=0, non-zero exit or timeout):",
              file=sys.stderr)
        for failure in failures:
            print("  " + failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
