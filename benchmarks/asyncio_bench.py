#!/usr/bin/env python3
"""asyncio twin of sluice_bench (docs/design.md, "Benchmarks"): same arguments, same RESULT line,
peer=asyncio.

  asyncio_bench.py w1 M L         M trivial tasks (one `await asyncio.sleep(0)`, return 2i) from a lazy
                                  generator of coroutines, at most L in flight: the bpo-30782 igather
                                  pattern (asyncio.wait(FIRST_COMPLETED) + refill), completion order
  asyncio_bench.py w1sem M L      the same tasks bounded by `async with asyncio.Semaphore(L)` inside
                                  each task, created by a feeder that keeps at most 2L tasks alive
                                  (peer=asyncio-sem)
  asyncio_bench.py w2 M L [ms]    M tasks sleeping `ms` (default 100) and returning i, igather pattern
  asyncio_bench.py w3 T P I       T tasks share asyncio.Semaphore(P), each I times
                                  acquire / sleep(0) / release; ns per acquire-release pair
  asyncio_bench.py w4 M           asyncio.gather over M trivial tasks (as w1's)
  asyncio_bench.py yield N        one task doing N `await asyncio.sleep(0)`
  asyncio_bench.py spawn N        N trivial tasks (no await) created and awaited, 1000 at a time

Timing: time.perf_counter around asyncio.run(...), i.e. event-loop creation and shutdown are inside
the measurement, as sluice::run(...) is inside sluice_bench's. Interpreter start-up and imports are
not. The cyclic GC stays at its defaults (it is part of what an asyncio program pays).
Exit status 1 when the checksum is wrong, 2 on bad usage.
"""
import asyncio
import itertools
import resource
import sys
import time

PEER = "asyncio"


# --- the tasks ---------------------------------------------------------------------------------
async def yield_then_double(i):
    await asyncio.sleep(0)
    return 2 * i


async def sleep_then_return(i, seconds):
    await asyncio.sleep(seconds)
    return i


async def trivial(i):
    return 2 * i


# --- W1/W2: the bpo-30782 igather pattern --------------------------------------------------------
async def igather_sum(coros, limit):
    """At most `limit` tasks in flight; refills the moment asyncio.wait reports completions."""
    it = iter(coros)
    create_task = asyncio.create_task
    pending = {create_task(c) for c in itertools.islice(it, limit)}
    total = 0
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            total += task.result()
        for c in itertools.islice(it, len(done)):
            pending.add(create_task(c))
    return total


# --- W1 variant: asyncio.Semaphore inside each task, tasks created by a bounded feeder ---------
async def guarded(sem, i):
    async with sem:
        return await yield_then_double(i)


async def semaphore_sum(count, limit):
    """The `async with sem:` idiom. Creating all M tasks up front (gather(*tasks)) would hold M
    task objects at once; the feeder keeps at most 2*limit alive instead: it tops up to 2*limit,
    then sleeps until completions bring the count down to limit (so about `limit` tasks are always
    queued on the semaphore, which is the point of the idiom). Results are summed by a done-callback,
    in completion order."""
    sem = asyncio.Semaphore(limit)
    loop = asyncio.get_running_loop()
    high = 2 * limit
    state = {"alive": 0, "sum": 0, "wake": None, "low": limit, "error": None}

    def on_done(task):
        state["alive"] -= 1
        if task.exception() is not None:
            state["error"] = task.exception()
        else:
            state["sum"] += task.result()
        wake = state["wake"]
        if wake is not None and state["alive"] <= state["low"] and not wake.done():
            wake.set_result(None)

    create_task = asyncio.create_task
    for i in range(count):
        if state["alive"] >= high:
            state["wake"] = loop.create_future()
            await state["wake"]
            state["wake"] = None
        task = create_task(guarded(sem, i))
        task.add_done_callback(on_done)
        state["alive"] += 1
    if state["alive"]:
        state["low"] = 0
        state["wake"] = loop.create_future()
        await state["wake"]
    if state["error"] is not None:
        raise state["error"]
    return state["sum"]


# --- W3: semaphore contention -------------------------------------------------------------------
async def contend(sem, iterations):
    done = 0
    for _ in range(iterations):
        async with sem:
            await asyncio.sleep(0)
            done += 1
    return done


async def semaphore_contention(tasks, permits, iterations):
    sem = asyncio.Semaphore(permits)
    results = await asyncio.gather(*[contend(sem, iterations) for _ in range(tasks)])
    return sum(results)


# --- W4: gather ---------------------------------------------------------------------------------
async def gather_trivial(count):
    results = await asyncio.gather(*(yield_then_double(i) for i in range(count)))
    return sum(results)


# --- loop micro-benchmarks (sluice_bench's `yield` and `spawn`) --------------------------------
async def yield_loop(count):
    done = 0
    for _ in range(count):
        await asyncio.sleep(0)
        done += 1
    return done


async def spawn_and_join(count):
    total = 0
    create_task = asyncio.create_task
    for first in range(0, count, 1000):
        handles = [create_task(trivial(i)) for i in range(first, min(first + 1000, count))]
        for handle in handles:
            total += await handle
    return total


# --- measurement --------------------------------------------------------------------------------
def peak_rss_mb():
    """VmHWM of this process (ru_maxrss is inherited across fork+exec from a bigger parent)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def report(peer, workload, parameters, operations, total, expected, wall):
    ok = total == expected
    print(f"RESULT peer={peer} workload={workload} {parameters} sum={total} expected={expected} "
          f"ok={1 if ok else 0} wall_s={wall:.4f} ns_per_task={wall * 1e9 / operations:.1f} "
          f"peak_rss_mb={peak_rss_mb():.1f}", flush=True)
    return 0 if ok else 1


def timed(coro):
    start = time.perf_counter()
    total = asyncio.run(coro)
    return total, time.perf_counter() - start


def usage():
    print("usage: asyncio_bench.py w1 M L | w1sem M L | w2 M L [ms] | w3 T P I | w4 M | yield N | spawn N",
          file=sys.stderr)
    return 2


def main(argv):
    if len(argv) < 2:
        return usage()
    workload = argv[1]

    def arg(index, fallback):
        return int(argv[index]) if index < len(argv) else fallback

    if workload in ("w1", "w1sem"):
        m, l = arg(2, 1_000_000), arg(3, 1000)
        if workload == "w1":
            total, wall = timed(igather_sum((yield_then_double(i) for i in range(m)), l))
            peer = PEER
        else:
            total, wall = timed(semaphore_sum(m, l))
            peer = PEER + "-sem"
        return report(peer, "W1", f"M={m} L={l}", m, total, m * (m - 1), wall)
    if workload == "w2":
        m, l, ms = arg(2, 1_000_000), arg(3, 100_000), arg(4, 100)
        total, wall = timed(igather_sum((sleep_then_return(i, ms / 1000.0) for i in range(m)), l))
        return report(PEER, "W2", f"M={m} L={l} ms={ms}", m, total, m * (m - 1) // 2, wall)
    if workload == "w3":
        tasks, permits, iterations = arg(2, 10_000), arg(3, 100), arg(4, 100)
        total, wall = timed(semaphore_contention(tasks, permits, iterations))
        return report(PEER, "W3", f"TASKS={tasks} PERMITS={permits} ITERS={iterations}", tasks * iterations,
                      total, tasks * iterations, wall)
    if workload == "w4":
        m = arg(2, 1_000_000)
        total, wall = timed(gather_trivial(m))
        return report(PEER, "W4", f"M={m}", m, total, m * (m - 1), wall)
    if workload == "yield":
        n = arg(2, 10_000_000)
        total, wall = timed(yield_loop(n))
        return report(PEER, "YIELD", f"N={n}", n, total, n, wall)
    if workload == "spawn":
        n = arg(2, 1_000_000)
        total, wall = timed(spawn_and_join(n))
        return report(PEER, "SPAWN", f"N={n}", n, total, n * (n - 1), wall)
    return usage()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
