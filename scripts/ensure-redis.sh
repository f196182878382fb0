#!/usr/bin/env bash
# The online-store tests start their own redis-server; install Debian's when it is missing.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
echo "redis-server not found: installing Debian's redis-server package" >&2
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
else
  echo "cannot install redis-server (not root, no sudo): install it and run the tests again" >&2
  exit 1
fi
# The package may start a system instance on 6379; the tests never use it, they start their own.
