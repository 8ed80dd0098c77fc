#!/usr/bin/env bash
# test/installer/lab_sc_test.sh - install.ps1's sc.exe command lines against wine's real sc.exe.
#
# pwsh on the host prints the command lines install.ps1 builds (print-sc-cmdlines.ps1: the real
# Invoke-PortReporterSetup -> Invoke-Sc path, only the process start stubbed). Inside the wine lab,
# Windows deno.exe replays each line verbatim (lab_replay.ts, windowsRawArguments) with
# C:\windows\system32\sc.exe - the same CreateProcess command line install.ps1's
# System.Diagnostics.Process start gives sc.exe on Windows - then reads the service back with
# QueryServiceConfigW / QueryServiceConfig2W (what `sc qc` prints; wine's sc.exe has no qc) and
# with `reg query`, and deletes it. Prints "ok - ..." / "not ok - ..." lines.
#
# Needs root and the project's wine lab (test/windows/lab/setup.sh). Does not run `run.sh up` or `down`
# (it uses a running lab server if there is one, else wine starts one on demand).
# Environment: PORTREPORTER_WINELAB (default /var/cache/portreporter-winelab),
#              PWSH (default: from .ci/install-pwsh.sh)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LAB=${PORTREPORTER_WINELAB:-/var/cache/portreporter-winelab}
RUN=$REPO/test/windows/lab/run.sh
PWSH=${PWSH:-$(bash "$REPO/.ci/install-pwsh.sh" | tail -n 1)}

fails=0
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; fails=$((fails + 1)); }
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else nok "$1"; printf '  expected: %s\n  actual:   %s\n' "$2" "$3"; fi
}

[ "$(id -u)" = 0 ] || { nok "lab: needs root"; exit 1; }
[ -n "$RUN" ] && [ -f "$RUN" ] || { nok "lab: winelab run.sh not found"; exit 1; }
[ -d "$LAB/root/w" ] && [ -f "$LAB/root/w/deno.exe" ] || { nok "lab: no lab with /w/deno.exe at $LAB"; exit 1; }

WDIR=prinst-$$
HOSTDIR=$LAB/root/w/$WDIR
mkdir -p "$HOSTDIR"
trap 'rm -rf "$HOSTDIR"' EXIT
cp "$HERE/lab_replay.ts" "$HOSTDIR/"

DESC='Logs which process used which TCP and UDP port (successor to Microsoft Port Reporter).'
# name | InstallDir | LogDir | StartupType | expected BINARY_PATH_NAME | expected START_TYPE
CASES=(
  "PRInst${$}a|C:\\Program Files\\PortReporter|C:\\windows\\system32\\LogFiles\\PortReporter|Manual|\"C:\\Program Files\\PortReporter\\portreporter.exe\" service --log-dir \"C:\\windows\\system32\\LogFiles\\PortReporter\"|3"
  "PRInst${$}b|C:\\Program Files\\Port Reporter Lab\\|D:\\My Logs\\Port Reporter\\|Automatic|\"C:\\Program Files\\Port Reporter Lab\\portreporter.exe\" service --log-dir \"D:\\My Logs\\Port Reporter\"|2"
  "PRInst${$}c|C:\\P R|D:\\|Manual|\"C:\\P R\\portreporter.exe\" service --log-dir \"D:\\\\\"|3"
)

script="cd /w; "
for c in "${CASES[@]}"; do
  IFS='|' read -r name inst log start _ _ <<<"$c"
  if ! "$PWSH" -NoLogo -NoProfile -NonInteractive -File "$HERE/print-sc-cmdlines.ps1" \
    -ServiceName "$name" -InstallDir "$inst" -LogDir "$log" -StartupType "$start" >"$HOSTDIR/$name.txt"; then
    nok "$name: print-sc-cmdlines.ps1 failed"; continue
  fi
  script+="echo \"=== $name\"; wine deno.exe run -A $WDIR/lab_replay.ts $WDIR/$name.txt $name; "
  script+="wine reg query 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\$name' /v ImagePath | sed -n 's/^ *ImagePath *REG_[A-Z_]* *//p' | sed 's/^/REG_IMAGEPATH=/'; "
  script+="wine sc.exe delete $name >/dev/null 2>&1; echo DELETE_RC=\$?; "
  script+="wine reg query 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\$name' >/dev/null 2>&1; echo GONE_RC=\$?; "
done
out=$(PORTREPORTER_WINELAB=$LAB bash "$RUN" "$script" 2>&1 | tr -d '\r')

for c in "${CASES[@]}"; do
  IFS='|' read -r name inst log start bin st <<<"$c"
  [ -s "$HOSTDIR/$name.txt" ] || continue
  block=$(printf '%s\n' "$out" | awk -v n="=== $name" '$0==n{f=1;next} /^=== /{f=0} f')
  get() { printf '%s\n' "$block" | sed -n "s/^$1=//p" | head -n 1; }
  echo "# $name: InstallDir='$inst' LogDir='$log' $start"
  while IFS= read -r line; do echo "#   sc.exe $line"; done <"$HOSTDIR/$name.txt"
  # wine's sc.exe has no failureflag verb: that line is checked against Microsoft's sc.exe documentation
  # only (https://learn.microsoft.com/windows-server/administration/windows-commands/sc-failure-flag)
  n=$(grep -vc '^failureflag ' "$HOSTDIR/$name.txt")
  good=$(printf '%s\n' "$block" | grep '^rc=0 ' | grep -vc '^rc=0 failureflag ')
  check "$name: wine sc.exe accepts all $n command lines (create, description, failure)" "$n" "$good"
  check "$name: BINARY_PATH_NAME (QueryServiceConfigW) is the quoted path" "$bin" "$(get BINARY_PATH_NAME)"
  check "$name: ImagePath in the registry is the same" "$bin" "$(get REG_IMAGEPATH)"
  check "$name: START_TYPE for $start" "$st" "$(get START_TYPE)"
  check "$name: DISPLAY_NAME" "Port Reporter ($name)" "$(get DISPLAY_NAME)"
  check "$name: description" "$DESC" "$(get DESCRIPTION)"
  check "$name: sc.exe delete removes it" "0 1" "$(get DELETE_RC) $(get GONE_RC)"
done
[ "$fails" = 0 ]
