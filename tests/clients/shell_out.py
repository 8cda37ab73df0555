#!/usr/bin/env python3
"""A script that gets its token by handing a command line to a shell, as `system()`,
`popen()` and `subprocess.run(..., shell=True)` callers do:

    shell_out.py -c    <path of the sesame binary> <account>   # sh -c "sesame token <account>"
    shell_out.py stdin <path of the sesame binary> <account>   # echo "sesame token <account>" | bash

The broker walks past the shell to this script. Prints ONE line of JSON:
{"exit": <the shell's exit code>, "token": "<its stdout, trimmed>", "stderr": "..."}.
Exits 0 if the shell did, else 3.
"""

import json
import shlex
import subprocess
import sys


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("-c", "stdin"):
        sys.exit("usage: shell_out.py -c|stdin <sesame binary> <account>")
    mode, sesame, account = sys.argv[1:]
    line = f"{shlex.quote(sesame)} token {shlex.quote(account)}"
    if mode == "-c":
        done = subprocess.run(line, shell=True, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    else:
        # Two commands, so that bash cannot exec the CLI in its own place.
        done = subprocess.run(["bash"], input=f"{line}\nexit $?\n", capture_output=True, text=True)
    print(json.dumps({"exit": done.returncode, "token": done.stdout.strip(), "stderr": done.stderr.strip()}), flush=True)
    sys.exit(0 if done.returncode == 0 else 3)


if __name__ == "__main__":
    main()
