#!/usr/bin/env bash
# Makes .cache/dot-venv (django-oauth-toolkit for the e2e tests, tests/dot/requirements.txt)
# if it is missing or its pins changed. Quick when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.cache/dot-venv
stamp=$venv/requirements.txt
if [ -x "$venv/bin/python" ] && cmp -s tests/dot/requirements.txt "$stamp"; then
  exit 0
fi
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r tests/dot/requirements.txt
cp tests/dot/requirements.txt "$stamp"
echo "made $venv ($(grep -i '^django-oauth-toolkit==' tests/dot/requirements.txt))"
