#!/usr/bin/env bash
# Builds one example in Release and runs it:  .ci/example.sh NAME [args...]
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -lt 1 ]]; then
    echo "usage: .ci/example.sh NAME [args...]   (NAME: a program in examples/, e.g. limited_as_completed)" >&2
    exit 2
fi
name=$1
shift

.ci/install-deps.sh --if-missing
cmake --preset release >/dev/null
cmake --build --preset release --target "$name"
exec "build/release/examples/$name" "$@"
