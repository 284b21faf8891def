#!/usr/bin/env python3
"""W5 of docs/design.md, "Benchmarks": TCP echo over loopback, requests/s and p99 latency at 1, 100,
1000 connections.

Runs the servers one at a time, interleaved (sluice on io_uring, sluice on epoll, asio, ...), each
started fresh
on 127.0.0.1 port 0 for every run; against each, echo_load (one C++ client, the same for every
server) runs at every connection count for --seconds. Prints a markdown table of the medians over
the runs (requests/s, p50 and p99 latency, and the asio/sluice ratios). Any error (a server that
does not start or dies, an echo_load failure, ok=0) stops the script with exit status 1.

Usage:
  python3 benchmarks/w5.py                        # release build: build/release/...
  python3 benchmarks/w5.py --runs 5 --seconds 5 --conns 1,100,1000
  python3 benchmarks/w5.py --quick                # smoke (CTest): C=2, 0.5 s, one run

Build first:  cmake --preset release && cmake --build --preset release --target echo_server echo_load echo_asio
Without echo_asio (no Boost) the asio columns are left out.
"""

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT = re.compile(r"^RESULT peer=(\S+) workload=W5 C=(\d+) requests=(\d+) wall_s=(\S+) req_per_s=(\S+) "
                    r"p50_us=(\S+) p99_us=(\S+) ok=(\d)$", re.M)


class Failure(Exception):
    pass


def first_existing(*paths):
    for path in paths:
        if path and Path(path).is_file():
            return str(path)
    return None


class Server:
    """A server process on 127.0.0.1:0; `port` from its "Serving on 127.0.0.1:PORT" line."""

    def __init__(self, name, path, env=None):
        self.name = name
        self.process = subprocess.Popen([path, "--port", "0", "--host", "127.0.0.1"], stdout=subprocess.PIPE,
                                        text=True, env=env)
        line = self.process.stdout.readline()
        match = re.fullmatch(r"Serving on 127\.0\.0\.1:(\d+)\n", line)
        if not match:
            self.process.kill()
            self.process.wait()
            raise Failure(f"{name}: unexpected first line {line!r} (exit status {self.process.returncode})")
        self.port = int(match.group(1))
        # echo_server prints a line per connection: drain them so the pipe never fills.
        self.drain = threading.Thread(target=lambda: self.process.stdout.read(), daemon=True)
        self.drain.start()

    def check_alive(self):
        if self.process.poll() is not None:
            raise Failure(f"{self.name}: server died (exit status {self.process.returncode})")

    def stop(self):
        alive = self.process.poll() is None
        if alive:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.drain.join(5)
        return alive


def run_load(load, name, port, conns, seconds):
    command = [load, "--port", str(port), "--conns", str(conns), "--seconds", str(seconds), "--peer", name]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60 + conns / 50)
    except subprocess.TimeoutExpired as error:
        raise Failure(f"{name} C={conns}: echo_load timed out") from error
    match = RESULT.search(done.stdout)
    if done.returncode != 0 or not match or match.group(8) != "1":
        raise Failure(f"{name} C={conns}: echo_load failed (exit status {done.returncode})\n"
                      f"stdout: {done.stdout.strip()}\nstderr: {done.stderr.strip()}")
    if match.group(1) != name or int(match.group(2)) != conns or int(match.group(3)) == 0:
        raise Failure(f"{name} C={conns}: unexpected RESULT line {match.group(0)!r}")
    return {"req_per_s": float(match.group(5)), "p50_us": float(match.group(6)), "p99_us": float(match.group(7)),
            "line": match.group(0)}


def raise_fd_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))  # inherited by servers and echo_load
        if new < want:
            raise Failure(f"RLIMIT_NOFILE hard limit {hard} is too low for {needed} connections")


def ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=str(ROOT / "build" / "release"), help="build directory (default build/release)")
    parser.add_argument("--load", help="echo_load executable (default BUILD/benchmarks/echo_load)")
    parser.add_argument("--sluice", help="sluice echo_server (default BUILD/examples/echo_server)")
    parser.add_argument("--asio", help="echo_asio executable (default BUILD/benchmarks/echo_asio, if built)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--conns", default="1,100,1000", help="comma-separated connection counts")
    parser.add_argument("--quick", action="store_true", help="smoke run: C=2, 0.5 s, one run")
    parser.add_argument("--no-epoll", action="store_true",
                        help="leave out the sluice server on the epoll backend (SLUICE_BACKEND=epoll)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds, args.conns = 1, 0.5, "2"
    try:
        conns = [int(c) for c in args.conns.split(",")]
        if not conns or min(conns) < 1 or args.runs < 1 or args.seconds <= 0:
            raise ValueError
    except ValueError:
        parser.error("--conns must be positive integers, --runs >= 1, --seconds > 0")

    build = Path(args.build)
    load = first_existing(args.load, build / "benchmarks" / "echo_load")
    sluice = first_existing(args.sluice, build / "examples" / "echo_server", build / "benchmarks" / "echo_server")
    asio = first_existing(args.asio, build / "benchmarks" / "echo_asio")
    try:
        if not load or not sluice:
            raise Failure(f"echo_load or echo_server not found (build dir {build}); build them first")
        if args.asio and not asio:
            raise Failure(f"{args.asio}: not found")
        raise_fd_limit(max(conns))
        epoll_env = dict(os.environ, SLUICE_BACKEND="epoll")
        servers = [("sluice", sluice, None)] + ([] if args.no_epoll else [("sluice-epoll", sluice, epoll_env)])
        servers += [("asio", asio, None)] if asio else []
        if not asio:
            print("w5: echo_asio not built (no Boost?); asio columns left out", file=sys.stderr)
        results = {(name, c): [] for name, _, _ in servers for c in conns}
        for run in range(args.runs):
            for name, path, env in servers:
                server = Server(name, path, env)
                try:
                    for c in conns:
                        result = run_load(load, name, server.port, c, args.seconds)
                        server.check_alive()
                        results[(name, c)].append(result)
                        print(f"run {run + 1}/{args.runs}: {result['line']}", file=sys.stderr, flush=True)
                finally:
                    alive = server.stop()
                if not alive:
                    raise Failure(f"{name}: server exited during the run")
    except Failure as error:
        print(f"w5: FAILED: {error}", file=sys.stderr)
        return 1

    def median(name, c, key):
        return statistics.median(r[key] for r in results[(name, c)])

    print(f"W5 TCP echo over loopback, 64-byte requests, closed loop; median of {args.runs} run(s) of "
          f"{args.seconds:g} s each; one echo_load client process (sluice, 1 thread); sluice = io_uring "
          f"backend, sluice-epoll = the same server with SLUICE_BACKEND=epoll\n")
    names = [name for name, _, _ in servers]
    header = "| C |" + "".join(f" {n} req/s | {n} p50 µs | {n} p99 µs |" for n in names)
    rule = "|---:|" + "---:|---:|---:|" * len(names)
    others = [n for n in names if n != "asio"] if asio else []
    for n in others:
        header += f" req/s {n}/asio | p99 {n}/asio |"
        rule += "---:|---:|"
    print(header)
    print(rule)
    for c in conns:
        row = f"| {c} |"
        for n in names:
            rps, p50, p99 = (median(n, c, k) for k in ("req_per_s", "p50_us", "p99_us"))
            row += f" {rps:,.0f} | {p50:.1f} | {p99:.1f} |"
        for n in others:
            row += (f" {ratio(median(n, c, 'req_per_s'), median('asio', c, 'req_per_s'))} |"
                    f" {ratio(median(n, c, 'p99_us'), median('asio', c, 'p99_us'))} |")
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
