#!/usr/bin/env python3
"""CTest driver: graceful shutdown of examples/echo_server on SIGTERM and SIGINT (stdlib only).

Usage: echo_shutdown.py PATH/TO/echo_server [--cores N]

For each signal: starts `echo_server --port 0 --grace 3 [--cores N]`, opens a busy client (1 MiB echoed in
small pieces, a reader thread draining the echo) and, for SIGTERM, an idle one; sends the signal
to the server process while the busy client is mid-transfer (half of its bytes sent), then checks:
a new connection is refused, the busy client still gets every byte back and a clean end of
stream, the idle client is closed by the server once the grace period is over, the server prints
its shutdown lines and exits with status 0. Any failure: a message on stderr and exit status 1.
With --cores N every core (its own SO_REUSEPORT listener and loop) prints its own shutdown line with
the connections it holds; the kernel spreads the clients, so the counts are checked summed over the
N lines, and the refused connection is tried only once every core has closed its listener.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

from echo_client import recv_exactly  # the script's directory is on sys.path

TIMEOUT = 30.0
SIZE = 1 << 20


class Lines:
    """Collects the server's stdout lines on a thread; wait_for() blocks until one matches."""

    def __init__(self, stream):
        self.lines = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, pattern):
        return self.wait_for_all(pattern, 1)[0]

    def wait_for_all(self, pattern, count):
        """The matches of the first `count` lines matching `pattern`, once that many arrived."""
        deadline = time.monotonic() + TIMEOUT
        with self.cond:
            while True:
                matches = [m for m in (re.fullmatch(pattern, line) for line in self.lines) if m]
                if len(matches) >= count:
                    return matches[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"{len(matches)} of {count} lines matching {pattern!r} in {self.lines!r}")
                self.cond.wait(left)


def run(server_path, signum, with_idle, cores):
    name = signal.Signals(signum).name
    server = subprocess.Popen([server_path, "--port", "0", "--grace", "3", "--cores", str(cores)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = Lines(server.stdout)
        port = int(lines.wait_for(r"Serving on 127\.0\.0\.1:(\d+)").group(1))
        busy = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        idle = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) if with_idle else None
        if idle is not None:
            idle.sendall(b"idle")
            if recv_exactly(idle, 4) != b"idle":
                raise RuntimeError("idle client: bad echo")
        message = bytes((i * 7) % 251 for i in range(SIZE))
        received = {}

        def reader():
            try:
                received["data"] = recv_exactly(busy, SIZE)
                received["eof"] = busy.recv(1) == b""
            except Exception as error:  # reported below
                received["error"] = error

        thread = threading.Thread(target=reader)
        thread.start()
        half = SIZE // 2
        for offset in range(0, half, 1000):
            busy.sendall(message[offset:min(offset + 1000, half)])
        os.kill(server.pid, signum)  # mid-transfer: half of the bytes are still to be sent
        # One line per core, each after that core closed its listener.
        shutting = lines.wait_for_all(rf"Shutting down on {name}: (\d+) connection\(s\) open, grace period 3 s", cores)
        if sum(int(m.group(1)) for m in shutting) != (2 if with_idle else 1):
            raise RuntimeError(f"connections counted at shutdown: {[m.group(0) for m in shutting]!r}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
            raise RuntimeError("a new connection was accepted after the signal")
        except ConnectionRefusedError:
            pass
        for offset in range(half, SIZE, 1000):
            busy.sendall(message[offset:offset + 1000])
        busy.shutdown(socket.SHUT_WR)
        thread.join(TIMEOUT)
        if thread.is_alive():
            raise RuntimeError("busy client: the echo did not complete")
        if "error" in received:
            raise received["error"]
        if received["data"] != message:
            raise RuntimeError("busy client: the echo differs")
        if not received["eof"]:
            raise RuntimeError("busy client: no clean end of stream after the echo")
        if idle is not None:
            if idle.recv(1) != b"":  # blocks until the grace period is over and the server closes it
                raise RuntimeError("idle client: the server sent data instead of closing")
            idle.close()
        busy.close()
        server.wait(TIMEOUT)
        err = server.stderr.read()
        if server.returncode != 0:
            raise RuntimeError(f"server exited with {server.returncode}: {err}")
        lines.thread.join(TIMEOUT)
        closed = [line for line in lines.lines if line.startswith("Closed ")]
        cancelled = [line for line in lines.lines if line.startswith("Cancelled ")]
        if len(closed) != 1 or len(cancelled) != (1 if with_idle else 0):
            raise RuntimeError(f"unexpected server output: {lines.lines!r}")
        if with_idle and "Grace period over: closing 1 connection(s)" not in lines.lines:
            raise RuntimeError(f"no grace-period line: {lines.lines!r}")
        print(f"echo_shutdown: {name} mid-transfer: busy client got all {SIZE} bytes back and a clean EOF"
              + ("; idle client closed after the 3 s grace period" if with_idle else "")
              + "; new connections refused; server exited 0")
        print("  server said: " + " | ".join(lines.lines))
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def main():
    if len(sys.argv) not in (2, 4) or (len(sys.argv) == 4 and sys.argv[2] != "--cores"):
        print(__doc__, file=sys.stderr)
        return 1
    cores = int(sys.argv[3]) if len(sys.argv) == 4 else 1
    try:
        run(sys.argv[1], signal.SIGTERM, with_idle=True, cores=cores)
        run(sys.argv[1], signal.SIGINT, with_idle=False, cores=cores)
    except Exception as error:
        print(f"echo_shutdown: FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
