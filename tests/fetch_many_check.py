"""Runs examples/fetch_many against tests/peers/http_peer.py (Python's http.server): every URL is
reported once, redirects with their final URL, a 404 as a status, a stalled request as a timeout
error naming its URL, a refused connection as an error naming its URL.

    fetch_many_check.py FETCH_MANY PYTHON
"""
import pathlib
import socket
import subprocess
import sys

fetch_many, python = sys.argv[1], sys.argv[2]
peer = subprocess.Popen([python, str(pathlib.Path(__file__).parent / "peers" / "http_peer.py"), "stdlib"],
                        stdout=subprocess.PIPE, text=True)
try:
    base = f"http://127.0.0.1:{peer.stdout.readline().strip()}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{s.getsockname()[1]}/x"
    urls = [f"{base}/hello", f"{base}/redirect/2", f"{base}/status/404", f"{base}/stall", refused] + \
           [f"{base}/big/{n}" for n in range(10)]
    out = subprocess.run([fetch_many, "-m", "4", "-t", "500"] + urls, capture_output=True, text=True, timeout=60)
    lines = sorted(out.stdout.splitlines())
    expected = sorted([
        f"200 5 {base}/hello (from {base}/hello)",
        f"200 7 {base}/redirect/0 (from {base}/redirect/2)",
        f"404 10 {base}/status/404 (from {base}/status/404)",
        f"error sluice::http: GET {base}/stall: timed out after 500 ms",
    ] + [f"200 {n} {base}/big/{n} (from {base}/big/{n})" for n in range(10)])
    errors = [l for l in lines if l.startswith(f"error sluice::http: GET {refused}: cannot connect to")]
    lines = [l for l in lines if l not in errors]
    if out.returncode != 0 or lines != expected or len(errors) != 1:
        print("unexpected output:\n" + out.stdout + out.stderr, file=sys.stderr)
        sys.exit(1)
    print(f"fetch_many: {len(urls)} URLs reported as expected")
finally:
    peer.terminate()
    peer.wait()
