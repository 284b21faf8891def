#!/usr/bin/env python3
"""Checks that keep the documentation true to the tree (CTest: docs.check):

1. README.md's `apt-get install` line lists exactly the packages .ci/install-deps.sh installs.
2. Every `.ci/example.sh NAME ARGS` in README.md names an example (examples/NAME.cpp), and every
   argument that is a path (contains '/' or ends in .txt) exists in the repository, since the
   README's commands are run from the clone's root.
3. Nothing points at the design contract that does not ship with the project ("DESIGN §5",
   "the design contract"): the project's own document is docs/design.md.
4. Every reference `docs/design.md, "Section"` names a section heading of docs/design.md.

Usage: docs_check.py REPO_ROOT
"""
import pathlib
import re
import sys

SCANNED = ["README.md", "include", "tests", "examples", "benchmarks", "docs", ".ci"]
TEXT_SUFFIXES = {".hpp", ".cpp", ".py", ".md", ".txt", ".cmake", ".sh", ""}


def scanned_files(root):
    for entry in SCANNED:
        path = root / entry
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            if f.suffix in TEXT_SUFFIXES and f.name != "docs_check.py":
                yield f


def main():
    root = pathlib.Path(sys.argv[1])
    readme = (root / "README.md").read_text()
    failures = []

    # 1. dependency lists
    apt = re.findall(r"apt-get install ([^\n`]+)", readme)
    script = (root / ".ci" / "install-deps.sh").read_text()
    listed = re.search(r"^packages=\(([^)]*)\)", script, re.M)
    if len(apt) != 1 or not listed:
        failures.append(f"expected one `apt-get install` line in README.md ({len(apt)} found) and a packages=(...) "
                        "line in .ci/install-deps.sh")
    else:
        readme_set, script_set = set(apt[0].split()), set(listed.group(1).split())
        if readme_set != script_set:
            failures.append(f"README.md's apt-get line and .ci/install-deps.sh differ: only in README "
                            f"{sorted(readme_set - script_set)}, only in install-deps.sh {sorted(script_set - readme_set)}")

    # 2. the README's example commands
    commands = re.findall(r"\.ci/example\.sh ([^`\n#]+)", readme)
    if not commands:
        failures.append("README.md runs no .ci/example.sh command")
    for command in commands:
        words = command.split()
        if not (root / "examples" / f"{words[0]}.cpp").exists():
            failures.append(f"README.md: `.ci/example.sh {command.strip()}`: no examples/{words[0]}.cpp")
        for word in words[1:]:
            if ("/" in word or word.endswith(".txt")) and not (root / word).exists():
                failures.append(f"README.md: `.ci/example.sh {command.strip()}`: {word} does not exist")

    # 3. and 4. references
    design = (root / "docs" / "design.md").read_text()
    sections = set(re.findall(r"^## (?:\d+\. )?(.+)$", design, re.M))
    for f in scanned_files(root):
        text = f.read_text(errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            if re.search(r"DESIGN(?:\.md)? ?(§|section|\")|design contract", line):
                failures.append(f"{f.relative_to(root)}:{n}: points at the design contract: {line.strip()}")
            for name in re.findall(r'docs/design\.md, \\?"([^"\\]+)\\?"', line):
                if name not in sections:
                    failures.append(f"{f.relative_to(root)}:{n}: docs/design.md has no section \"{name}\"")

    if failures:
        print("FAIL:\n" + "\n".join(failures))
        return 1
    print(f"docs_check: dependencies agree, {len(commands)} README commands resolve, references point at docs/design.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
