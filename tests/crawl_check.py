#!/usr/bin/env python3
"""Drives examples/crawl against a local http.server (areq.py port; docs/design.md, "Examples").

Serves a generated page set from a ThreadingHTTPServer on 127.0.0.1 (port 0, in a thread), writes
a URL file (the pages, one missing page -> 404, one URL to a closed port -> connection refused,
one page that redirects (301) to another, one URL to a listening socket that never answers ->
timeout), runs `crawl -m 3 -t 1000 -o OUT URLFILE`, and checks: exit 0, OUT holds the header then
exactly the expected "source\\tfound" lines (order-insensitive; the redirected page's links are
resolved against the URL it was redirected to), and the log names each success and failure.

Usage: crawl_check.py PATH_TO_CRAWL
"""
import http.server
import os
import socket
import subprocess
import sys
import tempfile
import threading

PAGES = {
    "/index.html": '<a href="/a.html">A</a> <a href="b.html">B</a> <a href="http://example.com/x">X</a>'
                   ' <a href="/a.html">A again</a>',
    "/a.html": '<p><a href="sub/c.html">C</a><a href="../index.html">up</a><a href="/missing.html">gone</a></p>',
    "/b.html": '<html>no links here</html>',
    "/sub/c.html": '<a href="./d.html">D</a> <a href="../a.html?q=1">Aq</a> <a href="#top">top</a>',
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/moved.html":
            self.send_response(301)
            self.send_header("Location", "/sub/c.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = PAGES.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    crawl = sys.argv[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    dead = f"http://127.0.0.1:{closed_port()}/nothing.html"
    silent = socket.socket()  # accepts connections (the backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    stuck = f"http://127.0.0.1:{silent.getsockname()[1]}/stuck.html"
    urls = [base + p for p in PAGES] + [base + "/missing.html", dead, base + "/moved.html", stuck]
    expected = {
        (base + "/index.html", base + "/a.html"),
        (base + "/index.html", base + "/b.html"),
        (base + "/index.html", "http://example.com/x"),
        (base + "/a.html", base + "/sub/c.html"),
        (base + "/a.html", base + "/index.html"),
        (base + "/a.html", base + "/missing.html"),
        (base + "/sub/c.html", base + "/sub/d.html"),
        (base + "/sub/c.html", base + "/a.html?q=1"),
        (base + "/sub/c.html", base + "/sub/c.html#top"),
        (base + "/moved.html", base + "/sub/d.html"),
        (base + "/moved.html", base + "/a.html?q=1"),
        (base + "/moved.html", base + "/sub/c.html#top"),
    }
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        urlfile = os.path.join(tmp, "urls.txt")
        out = os.path.join(tmp, "found.txt")
        with open(urlfile, "w") as f:
            f.write("\n".join(urls) + "\n\n")
        with open(out, "w") as f:
            f.write("stale content that write_file must replace\n")
        proc = subprocess.run([crawl, "-m", "3", "-t", "1000", "-o", out, urlfile], capture_output=True, text=True, timeout=60)
        log = proc.stderr
        sys.stdout.write(log)
        if proc.returncode != 0:
            failures.append(f"exit status {proc.returncode}")
        with open(out) as f:
            lines = f.read().splitlines()
        if not lines or lines[0] != "source_url\tparsed_url":
            failures.append(f"first line {lines[:1]!r} is not the header")
        got = [tuple(line.split("\t")) for line in lines[1:]]
        if len(got) != len(set(got)) or set(got) != expected:
            failures.append(f"output lines differ:\n  missing {sorted(expected - set(got))}\n"
                            f"  unexpected {sorted(set(got) - expected)}\n  count {len(got)}")
    wants = [f"Got response [200] for URL: {base}/index.html",
             f"Found 3 links for {base}/index.html",
             f"Found 0 links for {base}/b.html",
             f"Wrote results for source URL: {base}/sub/c.html",
             f"HTTP error 404 Not Found for URL: {base}/missing.html",
             f"Connection error for URL: {dead}",
             f"Redirected to {base}/sub/c.html from URL: {base}/moved.html",
             f"Timeout for URL: {stuck}: sluice::http: GET {stuck}: timed out after 1000 ms"]
    for want in wants:
        if want not in log:
            failures.append(f"log lacks {want!r}")
    if f"Wrote results for source URL: {base}/b.html" in log:
        failures.append("wrote results for a page without links")
    server.shutdown()
    silent.close()
    if failures:
        print("FAIL:\n" + "\n".join(failures))
        return 1
    print(f"crawl_check: {len(expected)} lines as expected; failures logged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
