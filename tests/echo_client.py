#!/usr/bin/env python3
"""CTest driver for examples/echo_server (standard library only).

Usage: echo_client.py PATH/TO/echo_server [CLIENTS [SERVER_ARGUMENTS...]]

Starts `echo_server --port 0 --once CLIENTS SERVER_ARGUMENTS...` (e.g. `--cores 2`), reads the port from its first line ("Serving on
127.0.0.1:PORT"), runs CLIENTS concurrent clients (threads), each sending several messages (one
of them 1 MiB, sent in small pieces while a reader thread drains the echo) and checking every echo
byte for byte, then checks that the server printed a Connection/Closed pair per client and exited
with status 0. Any failure: a message on stderr and exit status 1.

With SLUICE_TEST_LAUNCHER set (e.g. to tests/seccomp/no_io_uring), the server runs under that
launcher, and must then also write nothing to stderr.
"""

import os
import re
import socket
import subprocess
import sys
import threading

TIMEOUT = 30.0


def recv_exactly(sock, size):
    chunks = []
    remaining = size
    while remaining > 0:
        chunk = sock.recv(min(remaining, 65536))
        if not chunk:
            raise RuntimeError(f"end of stream with {remaining} of {size} bytes missing")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def big_message(index):
    # 1 MiB of a pattern that differs per client, so crossed streams would show.
    block = bytes((index * 31 + i) % 251 for i in range(4096))
    return block * 256


def client(index, port, errors):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            for message in (b"hello", f"client {index}".encode(), b"x" * 100, b"\x00\xff" * 3000):
                sock.sendall(message)
                echoed = recv_exactly(sock, len(message))
                if echoed != message:
                    raise RuntimeError(f"echo of a {len(message)}-byte message differs")
            # 1 MiB in small pieces, with the echo drained concurrently (else both sides could fill
            # their socket buffers and wait on each other).
            message = big_message(index)
            received = {}

            def reader():
                try:
                    received["data"] = recv_exactly(sock, len(message))
                except Exception as error:  # reported below
                    received["error"] = error

            thread = threading.Thread(target=reader)
            thread.start()
            for offset in range(0, len(message), 1000):
                sock.sendall(message[offset:offset + 1000])
            thread.join(TIMEOUT)
            if thread.is_alive():
                raise RuntimeError("1 MiB echo timed out")
            if "error" in received:
                raise received["error"]
            if received["data"] != message:
                raise RuntimeError("echo of the 1 MiB message differs")
            sock.sendall(b"bye")
            if recv_exactly(sock, 3) != b"bye":
                raise RuntimeError("echo of the last message differs")
            sock.shutdown(socket.SHUT_WR)
            if sock.recv(1) != b"":
                raise RuntimeError("server sent data after the echo instead of closing")
    except Exception as error:
        errors.append(f"client {index}: {error!r}")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 1
    server_path = sys.argv[1]
    clients = int(sys.argv[2]) if len(sys.argv) >= 3 else 5
    extra = sys.argv[3:]
    launcher = [os.environ["SLUICE_TEST_LAUNCHER"]] if os.environ.get("SLUICE_TEST_LAUNCHER") else []
    server = subprocess.Popen(launcher + [server_path, "--port", "0", "--once", str(clients)] + extra,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        match = re.fullmatch(r"Serving on 127\.0\.0\.1:(\d+)\n", first)
        if not match:
            raise RuntimeError(f"unexpected first line {first!r}")
        port = int(match.group(1))
        errors = []
        threads = [threading.Thread(target=client, args=(i, port, errors)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 2)
        if any(thread.is_alive() for thread in threads):
            raise RuntimeError("a client did not finish")
        if errors:
            raise RuntimeError("; ".join(errors))
        out, err = server.communicate(timeout=TIMEOUT)
        if server.returncode != 0:
            raise RuntimeError(f"server exited with {server.returncode}: {err}")
        if launcher and err:
            raise RuntimeError(f"server wrote to stderr under {launcher[0]}: {err!r}")
        lines = out.splitlines()
        opened = [line for line in lines if re.fullmatch(r"Connection from 127\.0\.0\.1:\d+", line)]
        closed = [line for line in lines if re.fullmatch(r"Closed 127\.0\.0\.1:\d+", line)]
        if len(opened) != clients or len(closed) != clients or len(lines) != 2 * clients:
            raise RuntimeError(f"unexpected server output: {out!r}")
        if sorted(line.split()[-1] for line in opened) != sorted(line.split()[-1] for line in closed):
            raise RuntimeError(f"Connection/Closed lines do not pair up: {out!r}")
    except Exception as error:
        print(f"echo_client: FAILED: {error}", file=sys.stderr)
        if server.poll() is None:
            server.kill()
            server.wait()
        return 1
    print(f"echo_client: {clients} clients echoed byte-exact; server exited 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
