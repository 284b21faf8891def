#!/bin/bash
# One loop against two (issue 13): W4 and W1 of cores_bench over one loop pinned to each CPU and over
# two pinned loops, interleaved round by round, in-process wall seconds (RESULT wall_s).
#   benchmarks/cores_scaling.sh BUILD_BENCHMARKS_DIR [W4_M] [ROUNDS]
# e.g. benchmarks/cores_scaling.sh build/bench/benchmarks 2000000 7
# Columns: w4 one loop on CPU 0 and CPU 1, w4 two loops (shared items, fixed halves), w4 with the
# tasks made first (one loop on CPU 0, CPU 1, two loops), w1 one loop on CPU 0, CPU 1, two loops,
# then what two CPUs give W4 outside one address space: sluice's one-loop W4 as two processes of M/2
# at once, and the floor's W4 (hand-written, no sluice) over M on CPU 0, on CPU 1 and as two
# processes of M/2 (each pair pinned one per CPU; the later of the two ends).
# The floor's W1 on each CPU is printed first and last: this VM's two CPUs are not always equally fast.
set -euo pipefail
bin=${1:?usage: cores_scaling.sh BUILD_BENCHMARKS_DIR [W4_M] [ROUNDS]}
m=${2:-2000000}
rounds=${3:-7}
floor=${FLOOR:-/tmp/floor}
# FIELD=work_s reads cores_bench's work span instead (the loops' own time, without starting and
# joining their threads); the floor has no threads and always gives wall_s.
field=${FIELD:-wall_s}
wall() {
    local line
    line=$("$@" 2>&1 | grep RESULT)
    if [[ $line == *" $field="* ]]; then grep -oE " $field=[0-9.]+" <<< "$line" | cut -d= -f2; else grep -oE "wall_s=[0-9.]+" <<< "$line" | cut -d= -f2; fi
}
# Two processes of M/2 items at once, one pinned to each CPU: the later of the two ends.
two_processes() {
    local first second
    first=$(mktemp)
    wall taskset -c 0 "$@" > "$first" &
    second=$(wall taskset -c 1 "$@")
    wait
    printf '%s\n%s\n' "$(cat "$first")" "$second" | sort -g | tail -1
    rm -f "$first"
}
speeds() {
    if [ -x "$floor" ]; then
        echo "$(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg) floor w1 on CPU 0 / 1: $(wall taskset -c 0 "$floor" w1 20000000 1000) $(wall taskset -c 1 "$floor" w1 20000000 1000)"
    fi
}
speeds
rows=$(mktemp)
echo "round w4_cpu0 w4_cpu1 w4_two w4_two_halves made_cpu0 made_cpu1 made_two w1_cpu0 w1_cpu1 w1_two w4_two_processes floor_w4_cpu0 floor_w4_cpu1 floor_w4_two"
for round in $(seq "$rounds"); do
    echo "$round" \
        "$(wall taskset -c 0 "$bin/cores_bench" w4 "$m" 1) $(wall taskset -c 1 "$bin/cores_bench" w4 "$m" 1)" \
        "$(wall "$bin/cores_bench" w4 "$m" 2 pin) $(wall "$bin/cores_bench" w4 "$m" 2 strided pin)" \
        "$(wall taskset -c 0 "$bin/cores_bench" w4 "$m" 1 made) $(wall taskset -c 1 "$bin/cores_bench" w4 "$m" 1 made)" \
        "$(wall "$bin/cores_bench" w4 "$m" 2 made pin)" \
        "$(wall taskset -c 0 "$bin/cores_bench" w1 20000000 1000 1) $(wall taskset -c 1 "$bin/cores_bench" w1 20000000 1000 1)" \
        "$(wall "$bin/cores_bench" w1 20000000 1000 2 pin)" \
        "$(two_processes "$bin/cores_bench" w4 $((m / 2)) 1)" \
        "$( [ -x "$floor" ] && echo "$(wall taskset -c 0 "$floor" w4 "$m") $(wall taskset -c 1 "$floor" w4 "$m") $(two_processes "$floor" w4 $((m / 2)))")" |
        tee -a "$rows"
done
speeds
# Medians, and two loops against one: against the mean of the two one-loop medians, and as a share
# of the sum of the two single loops' throughputs (what perfect scaling gives on unequal CPUs).
python3 - "$rows" <<'SUMMARY'
import statistics, sys
names = "w4_cpu0 w4_cpu1 w4_two w4_two_halves made_cpu0 made_cpu1 made_two w1_cpu0 w1_cpu1 w1_two w4_two_processes floor_w4_cpu0 floor_w4_cpu1 floor_w4_two".split()
rows = [line.split()[1:] for line in open(sys.argv[1])]
median = {name: statistics.median(float(row[i]) for row in rows) for i, name in enumerate(names) if all(len(row) > i for row in rows)}
print("medians:", " ".join(f"{name}={value:.4f}" for name, value in median.items()))
for label, one, two in [("w4 two loops, shared", "w4", "w4_two"), ("w4 two loops, fixed halves", "w4", "w4_two_halves"),
                        ("w4 as two processes", "w4", "w4_two_processes"), ("w4 tasks made first", "made", "made_two"),
                        ("w1 two loops", "w1", "w1_two"), ("floor w4 as two processes", "floor_w4", "floor_w4_two")]:
    if two not in median:
        continue
    cpu0, cpu1, both = median[one + "_cpu0"], median[one + "_cpu1"], median[two]
    print(f"{label}: {(cpu0 + cpu1) / 2 / both:.2f}x one loop, {100 / both / (1 / cpu0 + 1 / cpu1):.0f}% of the sum of the singles")
SUMMARY
rm -f "$rows"
