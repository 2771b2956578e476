#!/usr/bin/env bash
# Runs every test of the repository: proto lint and breaking-change check, one Release build of
# the solution (warnings are errors), then every test project with --no-build. Ends with one line
# "N passed, N failed" summed over everything.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash deploy/setup.sh || exit 1

results="$root/artifacts/test-results"
rm -rf "$results" && mkdir -p "$results"
passed=0
failed=0
report() { printf '%-40s %s\n' "$1" "$2"; }

# Contracts: buf lint, and buf breaking against the previous commit unless protos/CHANGES.md
# records a deliberate break in this commit.
buf="$root/deploy/tools/node_modules/.bin/buf"
if (cd protos && "$buf" lint); then passed=$((passed + 1)); report "buf lint" ok; else failed=$((failed + 1)); report "buf lint" FAILED; fi
if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:protos/buf.yaml 2>/dev/null; then
  if (cd protos && "$buf" breaking --against "$root/.git#ref=HEAD~1,subdir=protos"); then
    passed=$((passed + 1)); report "buf breaking (vs HEAD~1)" ok
  elif ! git diff --quiet HEAD~1 HEAD -- protos/CHANGES.md; then
    passed=$((passed + 1)); report "buf breaking (vs HEAD~1)" "break recorded in protos/CHANGES.md"
  else
    failed=$((failed + 1)); report "buf breaking (vs HEAD~1)" "FAILED (record deliberate breaks in protos/CHANGES.md)"
  fi
fi

echo "build: dotnet build Dcis.Crisis.sln -c Release"
if ! dotnet build Dcis.Crisis.sln -c Release -nologo -clp:ErrorsOnly -warnaserror > "$results/build.log" 2>&1; then
  grep -E "error|warn" "$results/build.log" | sort -u | head -50
  echo "build FAILED"
  echo "$passed passed, $((failed + 1)) failed"
  exit 1
fi
grep -E "Warn|Error\(s\)" "$results/build.log" | tail -2

status=0
for project in $(find tests -name '*.Tests.csproj' | sort); do
  name=$(basename "$project" .csproj)
  echo "test: $name"
  dotnet test "$project" -c Release --no-build --nologo \
    --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
    --blame-hang-timeout 10m -- RunConfiguration.TestSessionTimeout=1800000 > "$results/$name.log" 2>&1
  code=$?
  trx="$results/$name.trx"
  if [ -f "$trx" ]; then
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
    p=$(echo "$counters" | sed -E 's/.* passed="([0-9]+)".*/\1/')
    f=$(echo "$counters" | sed -E 's/.* failed="([0-9]+)".*/\1/')
  else
    p=0; f=1
  fi
  if [ "$code" -ne 0 ] && [ "$f" = "0" ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  report "$name" "$p passed, $f failed"
  if [ "$f" != "0" ]; then
    status=1
    grep -E "^\s+(Failed|Error Message|  at |Stack)" "$results/$name.log" | head -60
  fi
done

echo "$passed passed, $failed failed"
exit $status
