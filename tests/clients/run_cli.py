#!/usr/bin/env python3
"""A script that gets its token through the `sesame` CLI, as a shell script would:

    run_cli.py <path of the sesame binary> <account> [more `sesame token` arguments]

Runs `sesame token <account> ...` as its own child (so the broker attributes the request to
this script, marked "via the CLI") and prints ONE line of JSON:
{"exit": <sesame's exit code>, "token": "<sesame's stdout, trimmed>", "stderr": "..."}.
Exits 0 if sesame did, else 3.
"""

import json
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: run_cli.py <sesame binary> <account> [args]")
    sesame, account, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    done = subprocess.run([sesame, "token", account, *rest], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    print(json.dumps({"exit": done.returncode, "token": done.stdout.strip(), "stderr": done.stderr.strip()}), flush=True)
    sys.exit(0 if done.returncode == 0 else 3)


if __name__ == "__main__":
    main()
