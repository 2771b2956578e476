#!/usr/bin/env bash
# Runs the whole system on its embedded defaults: a private redis-server, every service with its
# sidecar (real daprd if on PATH, the dev sidecar otherwise), the dashboard, the mail and SMS sinks.
# Seeds the demo data once per data directory. Data lives in ./.data (override with DATA_DIR); a
# second run keeps it. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
echo "up: building (Release)"
dotnet build Dcis.Crisis.sln -c Release -nologo -clp:ErrorsOnly -v:q
data_dir="${DATA_DIR:-$(pwd)/.data}"
launcher=deploy/local/Launcher/bin/Release/net10.0/Dcis.Crisis.Launcher.dll
crisis="dotnet services/Cli/bin/Release/net10.0/crisis.dll --data-dir $data_dir"

# --private-redis: everything lives in the data directory, even if a system Redis answers on the
# component's default address (Debian's redis-server package starts one on localhost:6379).
dotnet "$launcher" --file deploy/dapr.yaml --data-dir "$data_dir" --private-redis "$@" &
launcher_pid=$!
# A background job of a script ignores SIGINT, so Ctrl-C is forwarded as SIGTERM (the launcher stops
# every app and sidecar, then redis-server, on either).
trap 'kill -TERM $launcher_pid 2>/dev/null; wait $launcher_pid' INT TERM

for port in 5100 5200 5300 5400 5501; do
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    kill -0 $launcher_pid 2>/dev/null || { echo "up: the launcher stopped" >&2; exit 1; }
    sleep 1
  done
done

$crisis demo seed --webhook-url http://127.0.0.1:5410/api/webhooks || echo "up: demo seeding failed (the system runs; retry with: $crisis demo seed)" >&2
cat <<INFO

  Dcis.Crisis is up (data in $data_dir).
  Dashboard:      http://127.0.0.1:5500   (sign in with a token: $crisis token --role analyst)
  Mail catcher:   http://127.0.0.1:5420
  SMS sink:       http://127.0.0.1:5410

  Try:
    export CRISIS_TOKEN=\$($crisis token --role analyst)
    $crisis levels list --min-level 3
    $crisis demo run          # the crisis scenario: watch it on the dashboard
    $crisis briefing ML --token \$($crisis token --role company-security --company demo-co-008)

  Ctrl-C stops everything.
INFO
wait $launcher_pid
