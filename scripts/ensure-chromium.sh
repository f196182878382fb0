#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's chromium headless (no browser download works here):
# install the package when it is missing.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
echo "chromium not found: installing Debian's chromium package" >&2
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
else
  echo "cannot install chromium (not root, no sudo): install it and run the tests again" >&2
  exit 1
fi
