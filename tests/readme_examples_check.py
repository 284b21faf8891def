#!/usr/bin/env python3
"""Fails when a code block in README.md no longer matches the example it says it comes from.

A block introduced by a line naming `examples/NAME.cpp` must appear in that file as a contiguous
run of lines (comment-only lines starting with `// int main` are allowed to stand in for code the
README elides). Usage: readme_examples_check.py REPO_ROOT
"""
import pathlib
import re
import sys


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    readme = (root / "README.md").read_text()
    pattern = re.compile(r"`(examples/[\w/]+\.cpp)`[^\n]*\n+```cpp\n(.*?)```", re.S)
    checked = 0
    for source, block in pattern.findall(readme):
        text = (root / source).read_text()
        lines = [l for l in block.rstrip("\n").split("\n") if not l.startswith("// int main")]
        if "\n".join(lines) not in text:
            print(f"README.md: the block quoted from {source} no longer matches that file", file=sys.stderr)
            return 1
        checked += 1
    if checked == 0:
        print("README.md: no block quoted from an example was found", file=sys.stderr)
        return 1
    print(f"README.md: {checked} quoted example block(s) match their sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
