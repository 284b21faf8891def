#!/usr/bin/env python3
"""Compile cost of including sluice's headers, beside <boost/asio.hpp> (issue #10), measured side by side.

Builds nothing and needs no build directory:
    python3 benchmarks/compile_time.py [--runs N] [--cxx g++] [--flags "-std=c++20 -O0"]
                                       [--tree LABEL=INCLUDE_DIR ...] [--headers H,...] [--each]
                                       [--std] [--std-each] [--no-asio] [--cpu N] [--markdown-out FILE]

Each probe is a one-line translation unit, `#include <header>`, compiled with
`CXX FLAGS -I INCLUDE_DIR -c probe.cpp -o /dev/null` in a fresh process; its cost is the user CPU time
of the compiler and everything it ran (cc1plus, as), read from getrusage(RUSAGE_CHILDREN), so the
other processes sharing the machine change it much less than wall time. Runs are interleaved (for
each run, every probe in turn: A B C A B C ...), so drift in the machine's speed spreads over every
probe. The table gives per probe the median and min-max user seconds and the ratios of its median to
the median, and of its min to the min, of the <boost/asio.hpp> probe (the yardstick of issue #10:
umbrella <= 0.7x, as_completed.hpp <= 1.0 s). The min is the figure least disturbed by the machine:
where the CPUs differ in speed or drift (a shared or virtual machine), pin the compilers with
--cpu N (every compiler runs on CPU N only) and read both.

--tree LABEL=DIR (repeatable) compiles the sluice probes against several include trees in the same
interleaved run, e.g. a checkout of an older commit beside the working tree:
    git worktree add --detach /tmp/sluice-before <commit>
    python3 benchmarks/compile_time.py --tree before=/tmp/sluice-before/include --tree after=include
Without --tree the tree is this checkout's include/ (label "sluice").
--headers picks the sluice probes (default sluice/sluice.hpp,sluice/as_completed.hpp);
--each adds one probe per public header of the first tree (each compiled on its own);
--std adds one probe including every standard or system header that the sluice headers of the last
tree include directly: what the library's dependencies alone cost; --std-each adds one probe per
such header.
--no-asio leaves the Asio probe out (then no ratio columns).
--cpu N runs every compiler on CPU N only (sched_setaffinity, inherited by the compiler's processes).

Exit status: 0 when every compilation succeeded, 1 otherwise (the compiler's error is printed),
2 on bad usage. Never used as a test: timings are reported, not asserted.
"""
import argparse
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASIO = "boost/asio.hpp"
DEFAULT_HEADERS = ["sluice/sluice.hpp", "sluice/as_completed.hpp"]
# The optional HTTP/TLS component needs Boost and OpenSSL; it is not part of the core library.
OPTIONAL = {"http.hpp", "tls_stream.hpp"}


class Probe:
    def __init__(self, label, header, include_dir=None, text=None):
        self.label = label
        self.header = header
        self.include_dir = include_dir
        self.text = text if text is not None else f"#include <{header}>\n"
        self.times = []


def child_user_seconds():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime


def compile_once(args, probe, source):
    command = [args.cxx, *args.flags.split()]
    if probe.include_dir is not None:
        command += ["-I", str(probe.include_dir)]
    command += ["-c", str(source), "-o", os.devnull]
    before = child_user_seconds()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    spent = child_user_seconds() - before
    if done.returncode != 0:
        sys.stderr.write(f"{probe.label}: {' '.join(command)} failed:\n{done.stderr}\n")
        return None
    return spent


def direct_system_includes(include_dir):
    """The <...> headers that sluice's own headers include, not counting sluice's. An #else branch
    is skipped: there the detail/std_*.hpp headers include the whole standard header (<chrono>,
    <functional>, <ranges>) for a standard library other than libstdc++, whose part they include."""
    found = set()
    for path in sorted(include_dir.glob("sluice/**/*.hpp")):
        if path.name in OPTIONAL or "http" in path.parts:
            continue
        in_else = False
        for line in path.read_text().splitlines():
            if re.match(r"\s*#\s*else\b", line):
                in_else = True
            elif re.match(r"\s*#\s*endif\b", line):
                in_else = False
            match = re.match(r"\s*#\s*include\s*<([^>]+)>", line)
            if in_else or not match:
                continue
            if not match.group(1).startswith("sluice/") and "sanitizer" not in match.group(1):
                found.add(match.group(1))
    return sorted(found)


def parse_trees(values):
    trees = []
    for value in values or [f"sluice={ROOT / 'include'}"]:
        label, sep, directory = value.partition("=")
        if not sep or not label:
            raise SystemExit(f"--tree wants LABEL=INCLUDE_DIR, got {value!r}")
        path = Path(directory).resolve()
        if not (path / "sluice" / "sluice.hpp").is_file():
            raise SystemExit(f"--tree {value}: no sluice/sluice.hpp under {path}")
        trees.append((label, path))
    return trees


def build_probes(args):
    trees = parse_trees(args.tree)
    probes = []
    headers = args.headers.split(",") if args.headers else list(DEFAULT_HEADERS)
    if args.each:
        first = trees[0][1]
        for path in sorted((first / "sluice").glob("*.hpp")):
            name = f"sluice/{path.name}"
            if path.name not in OPTIONAL and name not in headers:
                headers.append(name)
    for label, directory in trees:
        prefix = f"{label}: " if len(trees) > 1 or args.tree else ""
        for header in headers:
            probes.append(Probe(f"{prefix}<{header}>", header, directory))
    if args.std or args.std_each:
        label, directory = trees[-1]  # the tree measured (the last: "after" in a before/after run)
        system = direct_system_includes(directory)
        for header in system if args.std_each else []:
            probes.append(Probe(f"<{header}>", header))
        text = "".join(f"#include <{header}>\n" for header in system)
        whose = f"{label}'s " if len(trees) > 1 else ""
        probes.append(Probe(f"all {len(system)} system headers {whose}sluice includes", None, text=text))
    if not args.no_asio:
        probes.append(Probe(f"<{ASIO}>", ASIO))
    return probes


def fmt(seconds):
    return f"{seconds:.2f}"


def table(probes, asio):
    lines = []
    ratio = asio is not None and asio.times
    head = "| probe | user s, median (min–max) | runs |"
    rule = "|---|---|---|"
    if ratio:
        head = "| probe | user s, median (min–max) | median / Asio's | min / Asio's | runs |"
        rule = "|---|---|---|---|---|"
    lines += [head, rule]
    asio_median = statistics.median(asio.times) if ratio else None
    asio_min = min(asio.times) if ratio else None
    for probe in probes:
        if not probe.times:
            lines.append(f"| {probe.label} | failed | | | |" if ratio else f"| {probe.label} | failed | |")
            continue
        median = statistics.median(probe.times)
        cells = [probe.label, f"{fmt(median)} ({fmt(min(probe.times))}–{fmt(max(probe.times))})"]
        if ratio:
            cells.append(f"{median / asio_median:.2f}×")
            cells.append(f"{min(probe.times) / asio_min:.2f}×")
        cells.append(str(len(probe.times)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    parser.add_argument("--flags", default="-std=c++20 -O0")
    parser.add_argument("--tree", action="append", metavar="LABEL=INCLUDE_DIR")
    parser.add_argument("--headers", help="comma-separated sluice probes (default: %(default)s)")
    parser.add_argument("--each", action="store_true", help="one probe per public header")
    parser.add_argument("--std", action="store_true", help="a probe of all the system headers sluice uses")
    parser.add_argument("--std-each", action="store_true", help="and one probe per system header")
    parser.add_argument("--no-asio", action="store_true")
    parser.add_argument("--cpu", type=int, help="run every compiler on this CPU only")
    parser.add_argument("--markdown-out", type=Path)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    if args.cpu is not None:
        try:
            os.sched_setaffinity(0, {args.cpu})  # the compilers inherit it
        except (OSError, ValueError) as error:
            parser.error(f"--cpu {args.cpu}: {error}")
    probes = build_probes(args)
    asio = next((p for p in probes if p.header == ASIO), None)
    version = subprocess.run([args.cxx, "--version"], capture_output=True, text=True).stdout.splitlines()
    started = time.monotonic()
    load = os.getloadavg()[0]
    failed = False
    with tempfile.TemporaryDirectory(prefix="sluice-compile-time-") as scratch:
        sources = []
        for index, probe in enumerate(probes):
            source = Path(scratch) / f"probe{index}.cpp"
            source.write_text(probe.text)
            sources.append(source)
        for run in range(args.runs):
            for probe, source in zip(probes, sources):
                spent = compile_once(args, probe, source)
                if spent is None:
                    failed = True
                else:
                    probe.times.append(spent)
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)

    pinned = f", pinned to CPU {args.cpu}" if args.cpu is not None else ""
    heading = (f"{args.runs} run(s) per probe, interleaved{pinned}; `{args.cxx} {args.flags} -c`, "
               f"{version[0] if version else args.cxx}; {os.cpu_count()} CPUs, {platform.platform()}, "
               f"load average {load:.2f} at start; total {time.monotonic() - started:.0f} s.")
    output = heading + "\n\n" + table(probes, asio) + "\n"
    print(output)
    if args.markdown_out:
        args.markdown_out.write_text(output)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
