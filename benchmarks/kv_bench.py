#!/usr/bin/env python3
"""kv_server (sluice) against Debian's redis-server, side by side, driven by redis-benchmark.

    benchmarks/kv_bench.py [--kv-server PATH] [--runs N] [--requests N] [--clients N] [--pin]

Starts both servers on loopback ports of their own (redis-server with persistence off:
--save '' --appendonly no; never port 6379), then runs, round by round, interleaved:
    redis-benchmark -t set,get -n 200000 -c 50 [-P 16] --csv
against each server, without and with pipelining. Prints a Markdown table of the median
requests/s and p99 latency over the rounds and the ratio kv_server / redis-server.
With --pin the servers run on CPU 0 and redis-benchmark on the other CPUs (taskset), so the client
does not steal the server's core: p99 then measures the server rather than the scheduler.
"""
import argparse
import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from loopback import free_port, wait_listening

parser = argparse.ArgumentParser()
parser.add_argument("--kv-server", default="build/release/examples/kv_server")
parser.add_argument("--runs", type=int, default=3)
parser.add_argument("--requests", type=int, default=200000)
parser.add_argument("--clients", type=int, default=50)
parser.add_argument("--pin", action="store_true", help="servers on CPU 0, the client on the other CPUs")
args = parser.parse_args()

for tool in ("redis-server", "redis-benchmark"):
    if shutil.which(tool) is None:
        sys.exit(f"{tool} not found (apt-get install redis-server redis-tools)")
if not os.access(args.kv_server, os.X_OK):
    sys.exit(f"{args.kv_server}: not built (cmake --preset release && cmake --build --preset release --target kv_server)")


server_cpus, client_cpus = [], []
if args.pin:
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        sys.exit("--pin needs taskset (util-linux) and at least 2 CPUs")
    server_cpus = ["taskset", "-c", "0"]
    client_cpus = ["taskset", "-c", f"1-{os.cpu_count() - 1}"]

workdir = tempfile.mkdtemp(prefix="kv_bench.")
servers = {}
processes = []
try:
    port = free_port()
    processes.append(subprocess.Popen([*server_cpus, args.kv_server, "--port", str(port)], stdout=subprocess.DEVNULL))
    servers["kv_server"] = port
    port = free_port()
    processes.append(subprocess.Popen([*server_cpus, "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no", "--dir", workdir, "--daemonize", "no"],
                                      stdout=subprocess.DEVNULL))
    servers["redis-server"] = port
    for p in servers.values():
        wait_listening(p)

    results = {}  # (server, mode, test) -> [(rps, p99)]
    modes = {"no pipelining": [], "-P 16": ["-P", "16"]}
    for run in range(args.runs):
        for mode, extra in modes.items():
            for name, p in servers.items():
                command = [*client_cpus, "redis-benchmark", "-h", "127.0.0.1", "-p", str(p), "-t", "set,get", "-n", str(args.requests),
                           "-c", str(args.clients), *extra, "--csv"]
                out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                for row in csv.DictReader(io.StringIO(out)):
                    results.setdefault((name, mode, row["test"]), []).append(
                        (float(row["rps"]), float(row["p99_latency_ms"])))
                print(f"run {run + 1}/{args.runs} {mode:14} {name:12} " +
                      " ".join(f"{k[2]}={v[-1][0]:.0f}/s p99={v[-1][1]:.3f}ms" for k, v in results.items()
                               if k[0] == name and k[1] == mode), file=sys.stderr, flush=True)

    load = os.getloadavg()
    print(f"`redis-benchmark -t set,get -n {args.requests} -c {args.clients} [-P 16] --csv`, {args.runs} interleaved "
          f"rounds, medians{', servers pinned to CPU 0 and the client to the others' if args.pin else ''}; load average at the end {load[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| mode | test | kv_server req/s | redis-server req/s | ratio | kv_server p99 ms | redis-server p99 ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for mode in modes:
        for test in ("SET", "GET"):
            kv = results[("kv_server", mode, test)]
            rd = results[("redis-server", mode, test)]
            kv_rps = statistics.median(r for r, _ in kv)
            rd_rps = statistics.median(r for r, _ in rd)
            print(f"| {mode} | {test} | {kv_rps:,.0f} | {rd_rps:,.0f} | {kv_rps / rd_rps:.2f} | "
                  f"{statistics.median(p for _, p in kv):.3f} | {statistics.median(p for _, p in rd):.3f} |")
finally:
    for process in processes:
        process.terminate()
        process.wait(timeout=30)
    shutil.rmtree(workdir, ignore_errors=True)
