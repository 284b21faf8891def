#!/usr/bin/env python3
"""CTest driver: examples/flags stops gracefully on SIGINT and SIGTERM (standard library only).

Usage: flags_shutdown.py PATH/TO/flags

Runs `flags -e -l 40 -s delay --scale 20 -m 5 --grace 1 -v` (every request takes 2-10 s), sends the
signal to the process once the downloads are under way, and checks: exit status 0, the report
says it was interrupted and how much was done, the final counts are printed, and the server
closed the connections it was still serving once its 1 s grace period was over.
"""

import os
import re
import signal
import subprocess
import sys
import time

TIMEOUT = 30.0


def run(flags, signum):
    name = signal.Signals(signum).name
    proc = subprocess.Popen([flags, "-e", "-l", "40", "-s", "delay", "--scale", "20", "-m", "5", "--grace", "1", "-v"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "concurrent connections will be used." in line:
                break
        time.sleep(0.5)  # the five first requests are connected and waiting for their delay
        os.kill(proc.pid, signum)
        out, err = proc.communicate(timeout=TIMEOUT)
        out = "".join(lines) + out
        if proc.returncode != 0:
            raise RuntimeError(f"flags exited with {proc.returncode}: {err}")
        if not re.search(rf"^Interrupted by {name}: \d+ of 40 done, the downloads in flight were cancelled\.$",
                         out, re.M):
            raise RuntimeError(f"no interruption line: {out!r}")
        if not re.search(r"^\d+ flags? downloaded\.$", out, re.M):
            raise RuntimeError(f"no final report: {out!r}")
        if not re.search(r"server: grace period over, closing [1-5] connection\(s\)", err):
            raise RuntimeError(f"the server did not close its open connections after the grace period: {err!r}")
        print(f"flags_shutdown: {name}: interrupted mid-download, report printed, server closed its"
              " connections after the grace period, exit status 0")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 1
    try:
        run(sys.argv[1], signal.SIGINT)
        run(sys.argv[1], signal.SIGTERM)
    except Exception as error:
        print(f"flags_shutdown: FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
