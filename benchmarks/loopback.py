"""Loopback helpers the benchmark scripts share (kv_bench.py, http_compare.py): a free port for a
server the script starts, and waiting until that server listens."""

import socket
import time


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, what="the server"):
    """Returns once 127.0.0.1:port accepts a connection; RuntimeError naming `what` after ~10 s."""
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{what} does not listen on port {port}")
