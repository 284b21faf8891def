"""Side by side: sluice's http::client (http_bench) and aiohttp (http_bench_aiohttp.py) fetching
small files from a local nginx, plain and TLS, interleaved (sluice, aiohttp, sluice, aiohttp, ...)
so that a busy machine slows both alike. Prints one table of medians per scheme.

    python3 benchmarks/http_compare.py --bench build/release/benchmarks/http_bench [--requests 10000]
            [--limit 100] [--runs 3] [--python /usr/bin/python3]

nginx (Debian's nginx-light) runs in the foreground from a temporary prefix on loopback ports, with
100 files "file <i>\\n", access log off, one worker; the TLS certificate is made by `openssl req`.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from loopback import free_port, wait_listening

HERE = os.path.dirname(os.path.abspath(__file__))


def start_nginx(prefix, files):
    os.makedirs(f"{prefix}/html", exist_ok=True)
    os.makedirs(f"{prefix}/logs", exist_ok=True)
    for i in range(files):
        with open(f"{prefix}/html/{i}.txt", "w") as f:
            f.write(f"file {i}\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", f"{prefix}/key.pem", "-out", f"{prefix}/cert.pem"], check=True, capture_output=True)
    port, tls_port = free_port(), free_port()
    temp = "\n".join(f"  {kind}_temp_path {prefix}/tmp-{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    with open(f"{prefix}/nginx.conf", "w") as f:
        f.write(f"""daemon off;
master_process off;
worker_processes 1;
error_log {prefix}/logs/error.log;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
{temp}
  keepalive_requests 100000;
  default_type text/plain;
  server {{
    listen 127.0.0.1:{port};
    listen 127.0.0.1:{tls_port} ssl;
    ssl_certificate {prefix}/cert.pem;
    ssl_certificate_key {prefix}/key.pem;
    root {prefix}/html;
  }}
}}
""")
    process = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-p", prefix, "-c", f"{prefix}/nginx.conf"])
    wait_listening(port, "nginx")
    wait_listening(tls_port, "nginx")
    return process, port, tls_port


def run(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("RESULT "))
    fields = dict(re.findall(r"(\w+)=(\S+)", line))
    if fields["ok"] != "1":
        raise RuntimeError(f"{command[0]}: wrong bodies: {line}")
    return {k: float(fields[k]) for k in ("wall_s", "cpu_s", "peak_rss_mb")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True, help="path of the http_bench executable (release build)")
    parser.add_argument("--python", default="/usr/bin/python3", help="a python3 with aiohttp")
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    prefix = tempfile.mkdtemp(prefix="sluice-http-bench-")
    nginx, port, tls_port = start_nginx(prefix, args.files)
    try:
        schemes = {"http": (f"http://127.0.0.1:{port}", []), "https": (f"https://localhost:{tls_port}", [f"{prefix}/cert.pem"])}
        results = {(scheme, peer): [] for scheme in schemes for peer in ("sluice", "aiohttp")}
        for _ in range(args.runs):
            for scheme, (base, extra) in schemes.items():
                common = [base, str(args.files), str(args.requests), str(args.limit)] + extra
                results[(scheme, "sluice")].append(run([args.bench] + common))
                results[(scheme, "aiohttp")].append(run([args.python, os.path.join(HERE, "http_bench_aiohttp.py")] + common))
        print(f"{args.requests} GETs of small files from a local nginx, limit {args.limit}, median of {args.runs} interleaved runs")
        for scheme in schemes:
            print(f"\n{scheme}:")
            print(f"| client | requests/s | client CPU s | requests per CPU-second | peak RSS MiB |")
            print(f"|---|---:|---:|---:|---:|")
            rows = {}
            for peer in ("sluice", "aiohttp"):
                runs = results[(scheme, peer)]
                wall = statistics.median(r["wall_s"] for r in runs)
                cpu = statistics.median(r["cpu_s"] for r in runs)
                rss = statistics.median(r["peak_rss_mb"] for r in runs)
                rows[peer] = (args.requests / wall, cpu, args.requests / cpu, rss)
                print(f"| {peer} | {rows[peer][0]:.0f} | {cpu:.2f} | {rows[peer][2]:.0f} | {rss:.1f} |")
            s, a = rows["sluice"], rows["aiohttp"]
            print(f"sluice/aiohttp: requests/s x{s[0] / a[0]:.2f}, requests per CPU-second x{s[2] / a[2]:.2f}, "
                  f"peak RSS {s[3] / a[3]:.2f} of aiohttp's")
    finally:
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
