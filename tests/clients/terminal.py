#!/usr/bin/env python3
"""An interactive terminal for the tests: `bash -i` on a pseudo-terminal (as a terminal
emulator runs it), with one command line typed into it:

    terminal.py <command line>

Copies what the terminal shows to stdout, then prints ONE last line of JSON:
{"exit": <bash's exit status>}. Standard library only.
"""

import json
import os
import pty
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: terminal.py <command line>")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
    os.write(fd, (sys.argv[1] + "\nexit $?\n").encode())
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not data:
            break
        sys.stdout.write(data.decode("utf-8", "replace").replace("\r", ""))
        sys.stdout.flush()
    _, status = os.waitpid(pid, 0)
    print()
    print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main()
