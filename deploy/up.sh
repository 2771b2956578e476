#!/usr/bin/env bash
# Runs the whole system on its embedded defaults: a private redis-server, every service with its
# sidecar (real daprd if on PATH, the dev sidecar otherwise), the dashboard, the mail and SMS sinks.
# Data lives in ./.data (override with DATA_DIR); a second run keeps it. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
echo "up: building (Release)"
dotnet build Dcis.Crisis.sln -c Release -nologo -clp:ErrorsOnly -v:q
launcher=deploy/local/Launcher/bin/Release/net10.0/Dcis.Crisis.Launcher.dll
if [ ! -f "$launcher" ]; then
  echo "up: the launcher is not built yet ($launcher); nothing to start" >&2
  exit 0
fi
exec dotnet "$launcher" --file deploy/dapr.yaml --data-dir "${DATA_DIR:-$(pwd)/.data}" "$@"
