#!/usr/bin/env bash
# .ci/install-pwsh.sh - install PowerShell 7 and Pester 5 into a project-local cache, from NuGet.
#
#   bash .ci/install-pwsh.sh        prints the path of pwsh (last line of stdout)
#
# PowerShell comes as the .NET tool "PowerShell" (dotnet tool install --tool-path), Pester as its
# NuGet package, fetched with a throw-away project's <PackageDownload> (dotnet restore); the
# package's tools/ folder is the module, copied to $TOOLS/psmodules/Pester/<version>. Put
# $TOOLS/psmodules on PSModulePath (test/installer/run.sh does).
# Needs only the dotnet SDK and NuGet. When both are already there it only checks them (< 1 s).
#
# Environment:
#   PORTREPORTER_TOOLS   cache dir (default: <repo>/.tools, which is gitignored)
#   PWSH_VERSION         default 7.6.9 (the version NuGet serves here; 7.7 may need .NET 11)
#   PESTER_VERSION       default 5.7.1 (5.9.1 is also served; 6.x is not Pester 5)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${PORTREPORTER_TOOLS:-$REPO/.tools}
PWSH_VERSION=${PWSH_VERSION:-7.6.9}
PESTER_VERSION=${PESTER_VERSION:-5.7.1}
PWSH_DIR=$TOOLS/pwsh
PWSH=$PWSH_DIR/pwsh
MODULES=$TOOLS/psmodules
PESTER_DIR=$MODULES/Pester/$PESTER_VERSION

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off

log() { echo "install-pwsh: $*" >&2; }
die() { echo "install-pwsh: error: $*" >&2; exit 1; }

command -v dotnet >/dev/null 2>&1 || die "the dotnet SDK is required (dotnet not on PATH)"
mkdir -p "$TOOLS"

# --- PowerShell --------------------------------------------------------------------------------
have=""
if [ -x "$PWSH" ]; then
  have=$("$PWSH" -NoLogo -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null || true)
fi
if [ "$have" != "$PWSH_VERSION" ]; then
  log "installing PowerShell $PWSH_VERSION (dotnet tool) into $PWSH_DIR"
  rm -rf "$PWSH_DIR"
  dotnet tool install PowerShell --version "$PWSH_VERSION" --tool-path "$PWSH_DIR" >&2 ||
    die "dotnet tool install PowerShell --version $PWSH_VERSION failed"
  have=$("$PWSH" -NoLogo -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()') ||
    die "the installed pwsh does not start"
  [ "$have" = "$PWSH_VERSION" ] || die "installed pwsh reports version '$have', expected $PWSH_VERSION"
fi

# --- Pester ------------------------------------------------------------------------------------
if [ ! -f "$PESTER_DIR/Pester.psd1" ]; then
  log "installing Pester $PESTER_VERSION (NuGet package) into $PESTER_DIR"
  work=$(mktemp -d "$TOOLS/.pester-dl.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  tfm="net$(dotnet --version | cut -d. -f1).0"
  cat >"$work/dl.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>$tfm</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$PESTER_VERSION]" /></ItemGroup>
</Project>
EOF
  dotnet restore "$work/dl.csproj" --packages "$work/pkgs" >&2 ||
    die "dotnet restore of the Pester $PESTER_VERSION package failed"
  src=$work/pkgs/pester/$PESTER_VERSION/tools
  [ -f "$src/Pester.psd1" ] || die "the Pester package has no tools/Pester.psd1"
  rm -rf "$PESTER_DIR.tmp" && mkdir -p "$(dirname "$PESTER_DIR")"
  cp -R "$src" "$PESTER_DIR.tmp" && mv "$PESTER_DIR.tmp" "$PESTER_DIR"
  PSModulePath=$MODULES "$PWSH" -NoLogo -NoProfile -NonInteractive -Command \
    "Import-Module Pester -RequiredVersion $PESTER_VERSION -ErrorAction Stop" >&2 ||
    die "Pester $PESTER_VERSION does not import"
fi

echo "$PWSH"
