#!/usr/bin/env bash
# bench/windows/run.sh - the Windows poll benchmark in the project's wine lab (root, Debian 12 host).
#
#   bash bench/windows/run.sh [bench.ts options]     e.g. --iters 120 --block 5 --strict
#
# 1. Builds the native floor, bench/windows/tables.c, into .tools/winbench/tables.exe (gitignored)
#    with x86_64-w64-mingw32-gcc on the host when the .exe is missing or older than tables.c or this
#    script; installs the Debian package gcc-mingw-w64-x86-64 first if the compiler is absent.
# 2. Builds the lab on first use (test/windows/lab/setup.sh; cached in $PORTREPORTER_WINELAB,
#    default /var/cache/portreporter-winelab).
# 3. Runs bench/windows/bench.ts with the Windows deno.exe in the lab (this working tree is mounted
#    at Z:\w\project): a second deno.exe holds ~2 000 loopback sockets, then warm full snapshots of
#    the Windows collector, TableReader.readAll() and tables.exe take turns; prints medians, p95s,
#    the ratio ours/C (the target: at most 1.5) and a RESULT {json} line.
# Options after the script name go to bench.ts (see its header). Exit status: bench.ts's (with
# --strict, 1 when the ratio misses the target), or 1 when no RESULT line came out. Takes well
# under a minute once the compiler and the lab exist (installing the compiler: about a minute).
# The bench runs in a wine prefix of its own, WINEPREFIX=/wp-bench inside the chroot (created on
# first use in a few seconds), so it has its own on-demand wineserver: it needs no persistent
# server and is not killed when someone else stops the lab's (`run.sh down` on /wp). Set
# WINEPREFIX=/wp to share the lab's default prefix instead.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LABRUN=$REPO/test/windows/lab/run.sh
OUT=$REPO/.tools/winbench
EXE=$OUT/tables.exe
CC=x86_64-w64-mingw32-gcc
export PORTREPORTER_WINELAB=${PORTREPORTER_WINELAB:-/var/cache/portreporter-winelab}
export PORTREPORTER_PROJECT=$REPO
BENCH_PREFIX=${WINEPREFIX:-/wp-bench} # only for the bench run: setup.sh must build the lab's own /wp
# the socket holder gives up after this long even if the bench never closes its stdin
export PR_LOAD_MAX_MS=${PR_LOAD_MAX_MS:-300000}

[ "$(id -u)" = 0 ] || { echo "bench/windows/run.sh: must run as root (apt, chroot, mount namespaces)" >&2; exit 1; }

if ! command -v "$CC" >/dev/null; then
  echo "== installing gcc-mingw-w64-x86-64 (the $CC cross compiler)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-mingw-w64-x86-64 >/dev/null
fi

if [ ! -f "$EXE" ] || [ "$HERE/tables.c" -nt "$EXE" ] || [ "${BASH_SOURCE[0]}" -nt "$EXE" ]; then
  echo "== building $EXE"
  mkdir -p "$OUT"
  "$CC" -O2 -Wall -Wextra -s -o "$EXE.tmp" "$HERE/tables.c" -liphlpapi
  mv -f "$EXE.tmp" "$EXE"
fi

if [ ! -f "$PORTREPORTER_WINELAB/.ready" ]; then
  echo "== building the wine lab in $PORTREPORTER_WINELAB (first use)"
  bash "$REPO/test/windows/lab/setup.sh" "$PORTREPORTER_WINELAB"
fi

echo "== wine deno.exe run bench/windows/bench.ts $*"
t0=$SECONDS
rc=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
WINEPREFIX=$BENCH_PREFIX bash "$LABRUN" deno run -A --no-config --unstable-net bench/windows/bench.ts \
  --exe 'Z:\w\project\.tools\winbench\tables.exe' "$@" 2>&1 | tee "$log" || rc=$?
# a wine process killed from outside (`wineserver -k`, e.g. another user's `run.sh down` on the shared
# prefix) exits quietly with status 0: no RESULT line means the bench did not finish
if [ $rc = 0 ] && ! grep -q '^RESULT ' "$log"; then
  echo "bench/windows/run.sh: the bench ended without a RESULT line (killed? another user of the lab may" \
    "have stopped the wineserver of $BENCH_PREFIX)" >&2
  rc=1
fi
echo "== windows bench finished in $((SECONDS - t0))s with exit code $rc"
exit $rc
