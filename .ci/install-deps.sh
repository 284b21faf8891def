#!/usr/bin/env bash
# Installs what building and testing sluice needs (Debian 12 / Ubuntu packages).
#   .ci/install-deps.sh              apt-get update + install
#   .ci/install-deps.sh --if-missing  the same, only when one of the packages is not installed yet
set -euo pipefail

# README.md's Requirements lists the same packages (test docs.check keeps the two lists equal).
# libboost1.81-dev, libssl-dev: the optional sluice::http component (Beast is header-only); openssl,
# nginx-light, python3-aiohttp, curl: the peers its tests run against. redis-tools: redis-cli and
# redis-benchmark, the real clients kv_server's tests run.
packages=(cmake ninja-build make pkg-config g++ clang libclang-rt-14-dev liburing-dev catch2 python3 git
          libboost1.81-dev libssl-dev openssl nginx-light python3-aiohttp curl redis-tools)

if [[ "${1:-}" == "--if-missing" ]] && dpkg -s "${packages[@]}" >/dev/null 2>&1; then
    exit 0
fi

sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
    sudo=(sudo)
fi
echo "== installing build dependencies: ${packages[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"
