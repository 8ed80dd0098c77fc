#!/usr/bin/env bash
# test/windows/scm/run_in_lab.sh - runs scm/service_test.ts inside the lab chroot (called by
# test/windows/run.sh through lab/run.sh, cwd /w/project).
#
# A service's wine stderr is services.exe's, which it inherits from the first wine process of the
# wineserver session (with `lab/run.sh up` that is /dev/null). So this script starts a persistent
# wineserver of its own and makes its first process `wineboot` with WINEDEBUG=-all,+eventlog and stderr
# into a trace file: services.exe and every service it starts then trace ReportEventW strings there,
# and the test asserts the service's events from that file (PR_SVC_TRACE).
# If a wineserver for the prefix is already running (another test in the same lab), it waits up to
# PR_SVC_WAIT_IDLE seconds (default 90) for it to go; after that the test runs on that server,
# without the event assertions, and the server is left alone.
# Bounded: the test gets TIMEOUT seconds; the services are stopped and deleted, and our server is
# stopped, whatever happens.
set -u
TIMEOUT=${PR_SVC_TIMEOUT:-180}
TRACE=/tmp/portreporter-svc-trace.$$
OWN=0
services=(PortReporterTest PortReporterTestBad PortReporterTestBadArgs)

cleanup() {
  for s in "${services[@]}"; do
    if wine sc.exe query "$s" >/dev/null 2>&1; then
      wine sc.exe stop "$s" >/dev/null 2>&1
      wine sc.exe delete "$s" >/dev/null 2>&1
    fi
  done
  if [ $OWN = 1 ]; then wineserver -k >/dev/null 2>&1; wineserver -w >/dev/null 2>&1; fi
  rm -f "$TRACE"
}
trap cleanup EXIT

# wait (up to PR_SVC_WAIT_IDLE s) for the prefix to be free, so that this run's services.exe is ours
for _ in $(seq "${PR_SVC_WAIT_IDLE:-90}"); do
  if wineserver -p >/dev/null 2>&1; then OWN=1; break; fi
  sleep 1
done
if [ $OWN = 1 ]; then
  WINEDEBUG=-all,+eventlog wine wineboot </dev/null >/dev/null 2>"$TRACE"
  export PR_SVC_TRACE="Z:${TRACE//\//\\}"
else
  echo "scm: a wineserver for this prefix is already running (another test?): running without the event-log trace"
fi

t0=$SECONDS
rc=0
timeout -k 5 "$TIMEOUT" wine /w/deno.exe test -A --no-config --unstable-net test/windows/scm/service_test.ts || rc=$?
[ $rc = 124 ] && echo "scm: service test timed out after ${TIMEOUT}s" >&2
echo "scm: service test finished in $((SECONDS - t0))s with exit code $rc"
exit $rc
