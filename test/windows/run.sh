#!/usr/bin/env bash
# test/windows/run.sh - `deno task test:windows`: the Windows tests with the real Windows deno.exe
# under wine 10 (root, Debian 12 host).
#
# Builds the lab on first use (test/windows/lab/setup.sh, about a minute; cached in
# $PORTREPORTER_WINELAB, default /var/cache/portreporter-winelab), then runs
#   wine deno.exe test -A --no-config --unstable-net test/windows/*_test.ts
# then the eventlog trace check and the service test (test/windows/scm/run_in_lab.sh: the real service
# under wine's services.exe, on a wineserver of its own)
# in the chroot with this working tree bind-mounted at Z:\w\project. --no-config because the
# project's deno.json excludes test/windows/ from `deno test`; the tests need no import map.
# Exit code = the test result. Nothing is left running or mounted afterwards.
# Extra arguments go to `deno test` (e.g. --filter collector).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export PORTREPORTER_WINELAB=${PORTREPORTER_WINELAB:-/var/cache/portreporter-winelab}
export PORTREPORTER_PROJECT=$REPO

[ "$(id -u)" = 0 ] || { echo "test/windows/run.sh: must run as root (the lab uses a chroot and mount namespaces)" >&2; exit 1; }
if [ ! -f "$PORTREPORTER_WINELAB/.ready" ]; then
  echo "== building the wine lab in $PORTREPORTER_WINELAB (first use)"
  bash "$HERE/lab/setup.sh" "$PORTREPORTER_WINELAB"
fi

mapfile -t FILES < <(cd "$REPO" && ls test/windows/*_test.ts)
echo "== wine deno.exe test: ${FILES[*]}"
t0=$SECONDS
rc=0
bash "$HERE/lab/run.sh" deno test -A --no-config --unstable-net "$@" "${FILES[@]}" || rc=$?

# ReportEventW strings reach wine's eventlog trace channel (a stub under wine; see eventlog_test.ts)
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
echo "== eventlog trace check"
WINEDEBUG=-all,+eventlog bash "$HERE/lab/run.sh" deno run -A --no-config test/windows/eventlog_trace.ts 2>"$trace" || rc=1
for t in "trace:eventlog:ReportEventW L\"portreporter eventlog trace: info\"" \
  "warn:eventlog:ReportEventW L\"portreporter eventlog trace: warning\"" \
  "err:eventlog:ReportEventW L\"portreporter eventlog trace: error\""; do
  if grep -qF "$t" "$trace"; then echo "ok: $t"; else echo "MISSING in wine's trace: $t" >&2; rc=1; fi
done
[ $rc = 0 ] || { echo "--- wine stderr of the trace run:" >&2; head -40 "$trace" >&2; }

# The Windows service under wine's services.exe (its own wineserver; see scm/run_in_lab.sh)
echo "== service test (scm/service_test.ts under services.exe)"
bash "$HERE/lab/run.sh" -- 'bash test/windows/scm/run_in_lab.sh' || rc=1

echo "== windows tests finished in $((SECONDS - t0))s with exit code $rc"
exit $rc
