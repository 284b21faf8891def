#!/usr/bin/env python3
"""Drives examples/flags (flags2 port; docs/design.md, "Examples") and checks its exact final report and
the files it saved, computing the expectations independently of the program:

- which codes are asked for (flags2_common.expand_cc_args: -e = AA..ZZ, -a = the 20 most populous);
- in error mode, which codes fail: FNV-1a-32 over the two ASCII letters, mod 100: 0-9 -> 404,
  10-19 -> 500 (the rule documented in examples/flags.cpp);
- the bytes of each saved flag (re-derived here from the same recipe), compared on disk.

Scenario `tempdir` runs without -d, with TMPDIR pointing at a fresh directory: flags must say where
it saves (a directory it created there) and leave that directory empty when it exits; --check
compares the files before they go.

Usage: flags_check.py PATH_TO_FLAGS SCENARIO    (SCENARIO: plain, error, delay, prefix, tempdir)
"""
import os
import re
import string
import subprocess
import sys
import tempfile

POP20 = "CN IN US ID BR PK NG BD RU JP MX PH VN ET EG DE IR TR CD FR".split()
EVERY = [a + b for a in string.ascii_uppercase for b in string.ascii_uppercase]


def fnv1a(text):
    h = 2166136261
    for byte in text.encode():
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


def planned(mode, cc):
    if mode != "error":
        return 200
    bucket = fnv1a(cc) % 100
    return 404 if bucket < 10 else 500 if bucket < 20 else 200


def flag_bytes(cc):
    out = bytearray(b"GIF89aflag of " + cc.encode() + b"\n")
    h = fnv1a(cc)
    for _ in range(64):
        h = (h * 1103515245 + 12345) & 0xFFFFFFFF
        out.append(h >> 24)
    out += b";"
    return bytes(out)


SCENARIOS = {
    # name: (flags arguments, server mode, codes asked for)
    "plain": (["-s", "plain", "-a"], "plain", sorted(POP20)),
    "error": (["-s", "error", "-e", "-m", "50", "--scale", "0"], "error", EVERY),
    "delay": (["-s", "delay", "-l", "10", "-m", "5", "--scale", "0.01"], "delay", sorted(POP20)[:10]),
    "prefix": (["-s", "error", "--scale", "0", "-v", "B", "zw", "US"], "error",
               sorted({"B" + c for c in string.ascii_uppercase} | {"ZW", "US"})),
    "tempdir": (["-s", "plain", "-a", "--check"], "plain", sorted(POP20)),
}


def check_own_temporary_directory(flags, args):
    """flags without -d: it names the directory it made under $TMPDIR and removes it at exit."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TMPDIR=tmp)
        proc = subprocess.run([flags, *args], capture_output=True, text=True, timeout=120, env=env)
        sys.stdout.write(proc.stdout + proc.stderr)
        failures = []
        if proc.returncode != 0:
            failures.append(f"exit status {proc.returncode}")
        said = re.search(r"^Saving to (\S+) \(a temporary directory, removed at exit", proc.stdout, re.M)
        if not said or not said.group(1).startswith(os.path.join(tmp, "sluice-flags-")):
            failures.append(f"flags did not say it saves into a directory of its own under {tmp}")
        if "Checked 20 saved files: all match." not in proc.stdout:
            failures.append("the saved files were not all there before the exit")
        if os.listdir(tmp):
            failures.append(f"left behind in $TMPDIR: {os.listdir(tmp)}")
    return failures


def main():
    flags, scenario = sys.argv[1], sys.argv[2]
    args, mode, codes = SCENARIOS[scenario]
    statuses = {cc: planned(mode, cc) for cc in codes}
    ok = sorted(cc for cc, s in statuses.items() if s == 200)
    nf = sum(1 for s in statuses.values() if s == 404)
    err = sum(1 for s in statuses.values() if s == 500)
    if scenario == "tempdir":
        failures = check_own_temporary_directory(flags, args)
        if failures:
            print("FAIL:\n" + "\n".join(failures))
            return 1
        print("flags_check tempdir: named its own directory and removed it")
        return 0
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([flags, *args, "-d", tmp], capture_output=True, text=True, timeout=120)
        sys.stdout.write(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            failures.append(f"exit status {proc.returncode}")
        report = (f"\n{len(ok)} flag{'' if len(ok) == 1 else 's'} downloaded.\n{nf} not found.\n"
                  f"{err} error{'' if err == 1 else 's'}.\nElapsed time: ")
        if report not in proc.stdout or not re.search(r"Elapsed time: [0-9]+\.[0-9][0-9]s\n$", proc.stdout):
            failures.append(f"report differs from the expected {report!r}")
        if f"Searching for {len(codes)} flag" not in proc.stdout:
            failures.append(f"not searching for {len(codes)} flags")
        saved = sorted(name for name in os.listdir(tmp))
        if saved != [cc + ".gif" for cc in ok]:
            failures.append(f"saved files {saved[:5]}... differ from the {len(ok)} expected")
        for cc in ok:
            path = os.path.join(tmp, cc + ".gif")
            if os.path.exists(path):
                with open(path, "rb") as f:
                    if f.read() != flag_bytes(cc):
                        failures.append(f"{cc}.gif: bytes differ from the served flag")
    if failures:
        print("FAIL:\n" + "\n".join(failures))
        return 1
    print(f"flags_check {scenario}: {len(ok)} downloaded, {nf} not found, {err} errors, files match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
