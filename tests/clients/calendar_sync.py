#!/usr/bin/env python3
"""A second stand-in app for the end-to-end tests: mail_sync.py's code, run from this script.

    calendar_sync.py <account> [--scope S]... [--min-ttl N]

The kernel reports this script's path, so it is a different app from mail_sync.py even though
the code that talks to the socket is the same.
"""

import os
import runpy

runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "mail_sync.py"), run_name="__main__")
