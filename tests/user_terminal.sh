#!/bin/sh
# The user's terminal as the broker sees it in the tests: a program of its own (this
# script; not a launcher the broker walks past, and not the test process), that runs the
# `sesame` CLI given as its arguments. `; exit $?` keeps the shell from exec-ing it.
"$@"; exit $?
