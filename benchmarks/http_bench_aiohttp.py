"""HTTP client benchmark, aiohttp side: the twin of http_bench.cpp (same arguments, same RESULT line).

    http_bench_aiohttp.py BASE_URL FILES N LIMIT [CA_FILE]

N GETs of BASE_URL/<i % FILES>.txt, at most LIMIT in flight (bpo-30782's limited_as_completed
pattern: a semaphore-free sliding window over asyncio.wait), on one ClientSession whose connector
keeps LIMIT connections alive.
"""
import asyncio
import resource
import ssl
import sys
import time

import aiohttp


def peak_rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


async def fetch(session, url, file):
    async with session.get(url) as response:
        body = await response.read()
        return 1 if response.status == 200 and body == f"file {file}\n".encode() else 0


async def main(base, files, n, limit, cafile):
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    connector = aiohttp.TCPConnector(limit=limit, ssl=context if context else None)
    good = 0
    async with aiohttp.ClientSession(connector=connector) as session:
        jobs = (fetch(session, f"{base}/{i % files}.txt", i % files) for i in range(n))
        pending = set()
        for job in jobs:
            pending.add(asyncio.ensure_future(job))
            if len(pending) >= limit:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                good += sum(t.result() for t in done)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            good += sum(t.result() for t in done)
    return good


base, files, n, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cafile = sys.argv[5] if len(sys.argv) > 5 else None
cpu_before = time.process_time()
start = time.monotonic()
ok = asyncio.run(main(base, files, n, limit, cafile))
wall = time.monotonic() - start
print(f"RESULT peer=aiohttp requests={n} ok={int(ok == n)} wall_s={wall:.4f} cpu_s={time.process_time() - cpu_before:.4f} "
      f"peak_rss_mb={peak_rss_mb():.1f} connections=-")
sys.exit(0 if ok == n else 1)
