#!/bin/bash
# One loop against two (issue 13): W4 and W1 of cores_bench over one loop pinned to each CPU and over
# two pinned loops, interleaved round by round, in-process wall seconds (RESULT wall_s).
#   benchmarks/cores_scaling.sh BUILD_BENCHMARKS_DIR [W4_M] [ROUNDS]
# e.g. benchmarks/cores_scaling.sh build/bench/benchmarks 2000000 7
# Columns: w4 one loop on CPU 0 and CPU 1, w4 two loops (shared items, fixed halves), w4 with the
# tasks made first (one loop on CPU 0, CPU 1, two loops), w1 one loop on CPU 0, CPU 1, two loops.
# The floor's W1 on each CPU is printed first and last: this VM's two CPUs are not always equally fast.
set -euo pipefail
bin=${1:?usage: cores_scaling.sh BUILD_BENCHMARKS_DIR [W4_M] [ROUNDS]}
m=${2:-2000000}
rounds=${3:-7}
floor=${FLOOR:-/tmp/floor}
wall() { "$@" 2>&1 | grep -oE "wall_s=[0-9.]+" | cut -d= -f2; }
speeds() {
    if [ -x "$floor" ]; then
        echo "$(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg) floor w1 on CPU 0 / 1: $(wall taskset -c 0 "$floor" w1 20000000 1000) $(wall taskset -c 1 "$floor" w1 20000000 1000)"
    fi
}
speeds
echo "round w4_cpu0 w4_cpu1 w4_two w4_two_halves made_cpu0 made_cpu1 made_two w1_cpu0 w1_cpu1 w1_two"
for round in $(seq "$rounds"); do
    echo "$round" \
        "$(wall taskset -c 0 "$bin/cores_bench" w4 "$m" 1) $(wall taskset -c 1 "$bin/cores_bench" w4 "$m" 1)" \
        "$(wall "$bin/cores_bench" w4 "$m" 2 pin) $(wall "$bin/cores_bench" w4 "$m" 2 strided pin)" \
        "$(wall taskset -c 0 "$bin/cores_bench" w4 "$m" 1 made) $(wall taskset -c 1 "$bin/cores_bench" w4 "$m" 1 made)" \
        "$(wall "$bin/cores_bench" w4 "$m" 2 made pin)" \
        "$(wall taskset -c 0 "$bin/cores_bench" w1 20000000 1000 1) $(wall taskset -c 1 "$bin/cores_bench" w1 20000000 1000 1)" \
        "$(wall "$bin/cores_bench" w1 20000000 1000 2 pin)"
done
speeds
