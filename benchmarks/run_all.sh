#!/usr/bin/env bash
# Builds the release preset and runs every side-by-side benchmark: W1-W4 (compare.py: sluice,
# asyncio, Boost.Asio interleaved run by run) and W5 (w5.py: TCP echo, sluice vs Boost.Asio).
#   benchmarks/run_all.sh [--runs N] [--quick]
# Writes the tables to stdout and to build/release/benchmarks/results.md; exits non-zero if any
# program fails its check.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
quick=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --quick) quick=(--quick); shift ;;
        *) echo "usage: benchmarks/run_all.sh [--runs N] [--quick]" >&2; exit 2 ;;
    esac
done

.ci/install-deps.sh --if-missing
cmake --preset release >/dev/null
cmake --build --preset release
out=build/release/benchmarks/results.md
python3 benchmarks/compare.py --runs "$runs" "${quick[@]}" --markdown-out "$out"
python3 benchmarks/w5.py --runs "$runs" "${quick[@]}" | tee -a "$out"
