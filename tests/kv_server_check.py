#!/usr/bin/env python3
"""Drives examples/kv_server with real Redis clients (Debian's redis-tools).

    kv_server_check.py KV_SERVER REDIS_CLI REDIS_BENCHMARK cli|bench [SERVER_ARGUMENTS...]

cli:   every command through redis-cli, with its exact reply; a pipelined batch; an expiring key;
       a malformed request and a too-large one (a RESP error, the connection closed, the server
       still serving); a client that disconnects in the middle of a command.
bench: `redis-benchmark -t ping,set,get,incr -n 20000 -q`; every command must report a rate.

The server listens on a port of its own (--port 0: the kernel picks a free one), never on 6379,
so a system redis-server on this machine is neither used nor disturbed. SERVER_ARGUMENTS (e.g.
`--cores 2`) are passed on to the server.
"""
import re
import socket
import subprocess
import sys
import time

server_path, cli_path, bench_path, mode = sys.argv[1:5]
server_arguments = sys.argv[5:]
failures = []


def check(what, got, expected):
    ok = got == expected
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {got!r}" + ("" if ok else f" (expected {expected!r})"), flush=True)
    if not ok:
        failures.append(what)


server = subprocess.Popen([server_path, "--port", "0", "--max-request", "4096", *server_arguments], stdout=subprocess.PIPE, text=True)
try:
    banner = server.stdout.readline()
    match = re.match(r"Serving on 127\.0\.0\.1:(\d+)$", banner.strip())
    if not match:
        sys.exit(f"unexpected first line from kv_server: {banner!r}")
    port = match.group(1)

    def cli(*args):
        done = subprocess.run([cli_path, "-h", "127.0.0.1", "-p", port, *args], capture_output=True, text=True, timeout=30)
        return done.stdout.rstrip("\n")

    def raw(payload, expect_close=False):
        """Sends `payload` in one write; returns what the server answered until it closed (or a pause)."""
        with socket.create_connection(("127.0.0.1", int(port))) as s:
            s.sendall(payload)
            if not expect_close:
                s.shutdown(socket.SHUT_WR)
            received = b""
            try:
                while chunk := s.recv(65536):
                    received += chunk
            except ConnectionResetError:
                pass  # the server closed with part of a refused request unread: what came first counts
            return received

    if mode == "cli":
        check("PING", cli("PING"), "PONG")
        check("PING message", cli("PING", "hello"), "hello")
        check("ECHO", cli("ECHO", "a b\tc"), "a b\tc")
        check("GET missing", cli("GET", "nokey"), "")
        check("SET", cli("SET", "k1", "v1"), "OK")
        check("GET", cli("GET", "k1"), "v1")
        check("SET binary", cli("SET", "k2", "x y\tz"), "OK")
        check("GET binary", cli("GET", "k2"), "x y\tz")
        check("EXISTS", cli("EXISTS", "k1", "k2", "nokey", "k1"), "3")
        check("MGET", cli("MGET", "k1", "nokey", "k2"), "v1\n\nx y\tz")
        check("DEL", cli("DEL", "k1", "nokey"), "1")
        check("GET deleted", cli("GET", "k1"), "")
        check("INCR new", cli("INCR", "counter"), "1")
        check("INCR", cli("INCR", "counter"), "2")
        check("INCR not integer", cli("INCR", "k2"), "ERR value is not an integer or out of range")
        check("SET PX (100 s)", cli("SET", "pxkey", "lived", "PX", "100000"), "OK")
        check("GET before PX expiry", cli("GET", "pxkey"), "lived")
        check("SET PX (100 ms)", cli("SET", "short", "lived", "PX", "100"), "OK")
        time.sleep(0.3)  # a lower bound: the key's deadline has passed
        check("GET after PX expiry", cli("GET", "short"), "")
        check("EXISTS after PX expiry", cli("EXISTS", "short"), "0")
        check("SET EX", cli("SET", "long", "lived", "EX", "1000"), "OK")
        check("GET with EX", cli("GET", "long"), "lived")
        check("SET bad option", cli("SET", "k", "v", "XX"), "ERR syntax error")
        check("SET bad expiry", cli("SET", "k", "v", "EX", "0"), "ERR invalid expire time in 'set' command")
        check("CONFIG GET save", cli("CONFIG", "GET", "save"), "save")
        check("CONFIG GET appendonly", cli("CONFIG", "GET", "appendonly"), "appendonly\nno")
        check("wrong arity", cli("GET"), "ERR wrong number of arguments for 'get' command")
        check("unknown command", cli("FLUSHALL"), "ERR unknown command 'FLUSHALL'")

        # Pipelining: many requests in one write, the replies in order.
        batch = b"".join(b"*3\r\n$3\r\nSET\r\n$3\r\np%02d\r\n$1\r\n%d\r\n" % (i, i % 10) for i in range(50))
        batch += b"".join(b"*2\r\n$4\r\nINCR\r\n$3\r\np%02d\r\n" % i for i in range(50))
        batch += b"PING\r\n*2\r\n$3\r\nGET\r\n$3\r\np07\r\n"
        expected = b"+OK\r\n" * 50 + b"".join(b":%d\r\n" % (i % 10 + 1) for i in range(50)) + b"+PONG\r\n$1\r\n8\r\n"
        check("pipelined 102 requests in one write", raw(batch), expected)
        # redis-cli --pipe: the mass-insertion mode, replies counted by redis-cli itself.
        pipe_input = "".join(f"SET bulk{i} {i}\r\n" for i in range(1000))
        done = subprocess.run([cli_path, "-h", "127.0.0.1", "-p", port, "--pipe"], input=pipe_input,
                              capture_output=True, text=True, timeout=60)
        check("redis-cli --pipe 1000 SETs", re.search(r"errors: (\d+), replies: (\d+)", done.stdout).groups(), ("0", "1000"))
        check("GET after --pipe", cli("GET", "bulk999"), "999")

        # Malformed and too large: an error reply, the connection closed (the recv loop ends), and
        # the server goes on serving.
        check("malformed bulk length", raw(b"*1\r\n$x\r\n", expect_close=True), b"-ERR Protocol error: invalid bulk length\r\n")
        check("missing '$'", raw(b"*2\r\n$4\r\nPING\r\n+OK\r\n", expect_close=True), b"-ERR Protocol error: expected '$'\r\n")
        check("request larger than --max-request",
              raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n" + b"v" * 5000, expect_close=True),
              b"-ERR Protocol error: invalid bulk length\r\n")
        check("inline line larger than --max-request", raw(b"x" * 8192, expect_close=True),
              b"-ERR Protocol error: request too large\r\n")
        check("served after bad requests", cli("PING"), "PONG")

        # A client that disconnects in the middle of a command: that request is never executed.
        with socket.create_connection(("127.0.0.1", int(port))) as s:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$5\r\nva")
        check("disconnect mid-command leaves nothing", cli("EXISTS", "half"), "0")
        check("served after disconnect", cli("GET", "counter"), "2")
        if server.poll() is not None:
            failures.append("server exited")
    elif mode == "bench":
        done = subprocess.run([bench_path, "-h", "127.0.0.1", "-p", port, "-t", "ping,set,get,incr", "-n", "20000", "-q"],
                              capture_output=True, text=True, timeout=300)
        print(done.stdout.replace("\r", "\n"), flush=True)
        for test in ("PING_INLINE", "PING_MBULK", "SET", "GET", "INCR"):
            rate = re.search(rf"^{test}: ([0-9.]+) requests per second", done.stdout.replace("\r", "\n"), re.M)
            check(f"redis-benchmark {test} reports a rate", bool(rate and float(rate.group(1)) > 0), True)
        check("redis-benchmark exit status", done.returncode, 0)
    else:
        sys.exit(f"unknown mode {mode}")
finally:
    server.terminate()
    server.wait(timeout=30)

sys.exit(1 if failures else 0)
