#!/usr/bin/env bash
# Installs what the system and its tests need on a fresh Debian 12 machine with the .NET 10 SDK:
# redis-server (the pub/sub broker), chromium (dashboard browser tests), iso-codes (reference data
# source), and the pinned npm tools (buf). Idempotent: does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v redis-benchmark >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
[ -f /usr/share/iso-codes/json/iso_3166-1.json ] || need_apt+=(iso-codes)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)

if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "setup: installing ${need_apt[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing ${need_apt[*]}; install them (Debian: sudo apt-get install ${need_apt[*]})" >&2
    exit 1
  fi
fi

if [ ! -x deploy/tools/node_modules/.bin/buf ]; then
  echo "setup: installing pinned npm tools (deploy/tools)"
  (cd deploy/tools && npm ci --no-audit --no-fund --loglevel=error)
fi
for web in services/*/web; do
  if [ -f "$web/package.json" ] && [ ! -d "$web/node_modules" ]; then
    echo "setup: installing npm packages of $web"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
