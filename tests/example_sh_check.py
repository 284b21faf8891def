#!/usr/bin/env python3
"""Runs .ci/example.sh as a user does, from a directory outside the clone, and checks that relative
paths resolve where the user stands (they once resolved inside the clone: `-d myflags` made a
folder there):

- `example.sh flags -a -d myflags` saves the 20 flags into ./myflags, nothing into the clone;
- `example.sh crawl urls.txt` reads ./urls.txt and writes ./foundurls.txt (the URL refuses the
  connection, which crawl logs and skips);
- an unknown example name is refused with exit status 2.

The example is built and run in this build tree (SLUICE_EXAMPLE_BUILD_DIR), not build/release.
Usage: example_sh_check.py REPO_ROOT BUILD_DIR
"""
import os
import socket
import subprocess
import sys
import tempfile


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    repo, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    script = os.path.join(repo, ".ci", "example.sh")
    env = dict(os.environ, SLUICE_EXAMPLE_BUILD_DIR=build)
    failures = []
    in_clone = [os.path.join(repo, name) for name in ("myflags", "foundurls.txt")]
    existed = {path: os.path.exists(path) for path in in_clone}

    def run(cwd, *args):
        proc = subprocess.run([script, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        sys.stdout.write(f"$ .ci/example.sh {' '.join(args)}  -> exit {proc.returncode}\n{proc.stdout}")
        return proc

    with tempfile.TemporaryDirectory() as here:
        proc = run(here, "flags", "-a", "-d", "myflags")
        saved = sorted(os.listdir(os.path.join(here, "myflags"))) if os.path.isdir(os.path.join(here, "myflags")) else []
        if proc.returncode != 0 or len(saved) != 20:
            failures.append(f"flags -d myflags: exit {proc.returncode}, {len(saved)} files in ./myflags "
                            f"(expected 0 and 20)\n{proc.stderr}")

        with open(os.path.join(here, "urls.txt"), "w") as f:
            f.write(f"http://127.0.0.1:{closed_port()}/refused.html\n")
        proc = run(here, "crawl", "urls.txt")
        found = os.path.join(here, "foundurls.txt")
        if proc.returncode != 0 or not os.path.exists(found):
            failures.append(f"crawl urls.txt: exit {proc.returncode}, ./foundurls.txt "
                            f"{'exists' if os.path.exists(found) else 'missing'}\n{proc.stderr}")
        elif "Connection error for URL" not in proc.stderr:
            failures.append(f"crawl did not log the refused URL:\n{proc.stderr}")

        proc = run(here, "no_such_example")
        if proc.returncode != 2 or "no example 'no_such_example'" not in proc.stderr:
            failures.append(f"unknown example: exit {proc.returncode}, stderr {proc.stderr!r}")

    for path in in_clone:
        if os.path.exists(path) and not existed[path]:
            failures.append(f"{path} was created inside the clone")
    if failures:
        print("FAIL:\n" + "\n".join(failures))
        return 1
    print("example_sh_check: relative paths resolve where the user stands")
    return 0


if __name__ == "__main__":
    sys.exit(main())
