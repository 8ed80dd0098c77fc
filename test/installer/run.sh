#!/usr/bin/env bash
# test/installer/run.sh - the Pester tests of install.ps1 (deno task test:installer).
#
# Installs PowerShell 7 and Pester 5 into .tools/ on first use (.ci/install-pwsh.sh), runs
# Invoke-Pester on test/installer/*.Tests.ps1, then, when a wine lab is there (root only;
# $PORTREPORTER_WINELAB or /var/cache/portreporter-winelab; built on first use), test/installer/lab_sc_test.sh against wine's sc.exe.
# Ends with the line "N passed, N failed"; exits non-zero on any failure.
#   PORTREPORTER_WINELAB=none   skip the lab test
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PWSH=$(bash "$REPO/.ci/install-pwsh.sh" | tail -n 1) || { echo "run.sh: installing pwsh/Pester failed" >&2; exit 1; }
TOOLS=${PORTREPORTER_TOOLS:-$REPO/.tools}
RESULT=$(mktemp)
trap 'rm -f "$RESULT"' EXIT

# Pester: its own summary, then "<passed> <failed>" into $RESULT
PR_TEST_DIR="$HERE" PR_PWSH="$PWSH" PR_RESULT="$RESULT" PSModulePath="$TOOLS/psmodules" NO_COLOR=1 POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off \
  "$PWSH" -NoLogo -NoProfile -NonInteractive -Command '
    $ErrorActionPreference = "Stop"
    Import-Module Pester -MinimumVersion 5.0 -MaximumVersion 5.99
    $c = New-PesterConfiguration
    $c.Run.Path = @(Get-ChildItem -Path $env:PR_TEST_DIR -Filter *.Tests.ps1 | ForEach-Object FullName)
    $c.Run.PassThru = $true
    $c.Output.Verbosity = "Detailed"
    $r = Invoke-Pester -Configuration $c
    "Pester: $($r.Result): $($r.PassedCount) passed, $($r.FailedCount) failed, $($r.SkippedCount) skipped, $($r.NotRunCount) not run" | Write-Host
    $failed = $r.FailedCount + $r.FailedBlocksCount + $r.FailedContainersCount
    Set-Content -LiteralPath $env:PR_RESULT -Value "$($r.PassedCount) $failed"
  '
rc=$?
read -r passed failed <"$RESULT" 2>/dev/null || { passed=0; failed=1; }
[ $rc -ne 0 ] && [ "$failed" = 0 ] && failed=1

# The wine lab: wine's sc.exe fed the command lines install.ps1 builds
LAB=${PORTREPORTER_WINELAB:-/var/cache/portreporter-winelab}
if [ "$LAB" != none ] && [ "$(id -u)" = 0 ] && [ ! -f "$LAB/.ready" ]; then
  echo "== building the wine lab in $LAB (first use)"
  bash "$REPO/test/windows/lab/setup.sh" "$LAB" >/dev/null || echo "lab: setup failed" >&2
fi
if [ "$LAB" != none ] && [ -f "$LAB/.ready" ] && [ "$(id -u)" = 0 ]; then
  lab_out=$(mktemp)
  PORTREPORTER_WINELAB=$LAB PWSH=$PWSH bash "$HERE/lab_sc_test.sh" 2>&1 | tee "$lab_out"
  lp=$(grep -c '^ok ' "$lab_out"); lf=$(grep -c '^not ok ' "$lab_out")
  # a lab that cannot run at all counts as one failure
  if [ "$lp" = 0 ] && [ "$lf" = 0 ]; then lf=1; fi
  passed=$((passed + lp)); failed=$((failed + lf))
  rm -f "$lab_out"
else
  echo "lab: skipped (no wine lab at $LAB, or not root)"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
