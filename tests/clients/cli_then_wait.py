#!/usr/bin/env python3
"""A program that asks for its token through the `sesame` CLI and can be killed meanwhile:

    cli_then_wait.py <path of the sesame binary> <account> <output file>

Starts `sesame token <account>` as its own child (so the broker attributes the request to
this script, "via the CLI"), with the CLI's stdout and stderr going to <output file>, prints
the CLI's pid as ONE line, and then only waits: the test kills this script while the CLI's
request waits, and reads what the CLI said in <output file>.
"""

import subprocess
import sys
import time


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: cli_then_wait.py <sesame binary> <account> <output file>")
    sesame, account, output = sys.argv[1:]
    with open(output, "w") as out:
        cli = subprocess.Popen([sesame, "token", account], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    print(cli.pid, flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
