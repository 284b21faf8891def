#!/usr/bin/env python3
"""CTest driver: runs a program under tests/seccomp/no_io_uring (io_uring_setup refused with EPERM,
as in Docker's default seccomp profile) and requires exit status 0 and an empty stderr (sluice's
fall-back to epoll is silent). Prints the program's stdout.

Usage: seccomp_check.py NO_IO_URING PROGRAM [ARGS...]
"""

import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    result = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=240)
    sys.stdout.write(result.stdout)
    if result.stderr:
        sys.stderr.write(result.stderr)
        print(f"seccomp_check: {sys.argv[2]} wrote {len(result.stderr)} bytes to stderr", file=sys.stderr)
        return 1
    if result.returncode != 0:
        print(f"seccomp_check: {sys.argv[2]} exited with status {result.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
