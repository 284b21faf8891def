#!/usr/bin/env bash
# Builds one example in Release and runs it:  .ci/example.sh NAME [args...]
# Run it from anywhere: the arguments are passed on untouched, so relative paths (`-d myflags`,
# `urls.txt`) mean what they mean where you stand, not inside the clone.
# SLUICE_EXAMPLE_BUILD_DIR=<an already configured build directory> builds and runs the example
# there instead of build/release (the tests use their own build tree this way).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

if [[ $# -lt 1 || "$1" == -* ]]; then
    echo "usage: .ci/example.sh NAME [args...]   (NAME: a program in examples/, e.g. limited_as_completed)" >&2
    exit 2
fi
name=$1
shift
if [[ ! -f "$repo/examples/$name.cpp" ]]; then
    echo ".ci/example.sh: no example '$name' (examples/$name.cpp); the examples are:" \
        "$(cd "$repo/examples" && ls *.cpp | sed 's/\.cpp$//' | tr '\n' ' ')" >&2
    exit 2
fi

build=${SLUICE_EXAMPLE_BUILD_DIR:-}
if [[ -z "$build" ]]; then
    "$repo/.ci/install-deps.sh" --if-missing
    build="$repo/build/release"
    (cd "$repo" && cmake --preset release >/dev/null)
fi
cmake --build "$build" --target "$name" >&2
exec "$build/examples/$name" "$@"
