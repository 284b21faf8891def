#!/usr/bin/env bash
# Builds sluice and runs its tests: Debug, -Werror, g++ (the `dev` CMake workflow preset).
# Stress tests (label `stress`) are left out; run them with `ctest --test-dir build/dev -L stress`.
set -euo pipefail
cd "$(dirname "$0")/.."

.ci/install-deps.sh --if-missing
cmake --workflow --preset dev
