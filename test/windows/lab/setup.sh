#!/usr/bin/env bash
# test/windows/lab/setup.sh - build (once) and cache the project's wine lab: the real Windows
# deno.exe under wine 10, in a Debian trixie chroot, on a Debian 12 host (root; reaches only
# the Debian mirror and the npm registry).
#
#   setup.sh [LAB_DIR]            build, or finish building, the lab (a finished one is reused)
#   setup.sh --remove [LAB_DIR]   stop everything running in it and delete it
#
# LAB_DIR defaults to $PORTREPORTER_WINELAB, else /var/cache/portreporter-winelab.
# Layout:  LAB_DIR/root     Debian trixie chroot (debootstrap --variant=minbase) + wine64
#          LAB_DIR/root/w   = Z:\w inside wine: deno.exe, lab/smoke.ts; the project is
#                           bind-mounted at /w/project (Z:\w\project) by run.sh on each call
#          LAB_DIR/dl       npm pack tarball of @deno/win32-x64
#          LAB_DIR/logs     step logs and timings.tsv
#          LAB_DIR/.ready   written last: the lab is complete (test/windows/run.sh checks it)
# Why trixie: bookworm's wine 8 cannot start deno.exe (V8 needs VirtualAlloc2 placeholders);
# trixie ships wine 10.
# Environment: DENO_VERSION (default 2.9.6, else the newest published), SUITE (trixie),
#   MIRROR (http://deb.debian.org/debian), WINEPREFIX (inside the chroot, default /wp).
# Steps are idempotent (marker files in LAB_DIR), so a re-run resumes where it stopped.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REMOVE=0
if [ "${1:-}" = --remove ]; then REMOVE=1; shift; fi
LAB=$(realpath -m "${1:-${PORTREPORTER_WINELAB:-/var/cache/portreporter-winelab}}")
ROOT=$LAB/root
SUITE=${SUITE:-trixie}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
DENO_VERSION=${DENO_VERSION:-2.9.6}
export PORTREPORTER_WINELAB=$LAB
export WINEPREFIX=${WINEPREFIX:-/wp}
RUN="$HERE/run.sh"

[ "$(id -u)" = 0 ] || { echo "setup.sh: must run as root" >&2; exit 1; }
case "$LAB" in / | /tmp | /root | /home | /usr | /var | /var/cache | /etc) echo "setup.sh: refusing LAB_DIR=$LAB" >&2; exit 1 ;; esac

now_us() { local t=$EPOCHREALTIME; echo $((${t%.*} * 1000000 + 10#${t#*.})); }
T_ALL=$(now_us)
step() { # step NAME CMD...: run a step, print and record its duration
  local name=$1; shift
  local t0; t0=$(now_us)
  echo "== [$name] start"
  "$@"
  local dt=$(($(now_us) - t0))
  printf '== [%s] done in %d.%01ds\n' "$name" $((dt / 1000000)) $(((dt % 1000000) / 100000))
  printf '%s\t%d.%01d\n' "$name" $((dt / 1000000)) $(((dt % 1000000) / 100000)) >>"$LAB/logs/timings.tsv"
}

if [ $REMOVE = 1 ]; then
  [ -d "$LAB" ] || { echo "nothing at $LAB"; exit 0; }
  if [ -d "$ROOT/usr" ]; then "$RUN" down || true; fi
  # anything still running inside this chroot was started through the lab
  for d in /proc/[0-9]*; do
    [ "$(readlink "$d/root" 2>/dev/null)" = "$ROOT" ] || continue
    echo "killing leftover lab process ${d#/proc/}: $(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)"
    kill -9 "${d#/proc/}" 2>/dev/null || true
  done
  sleep 0.5
  # the mounts only ever exist in private namespaces; refuse to delete if any is visible here
  if findmnt -rn -o TARGET | grep -q "^$LAB/"; then
    echo "setup.sh: mounts under $LAB are visible in this namespace; not deleting" >&2
    findmnt -rn -o TARGET | grep "^$LAB/" >&2
    exit 1
  fi
  rm -rf --one-file-system "$LAB"
  echo "removed $LAB"
  exit 0
fi

mkdir -p "$LAB/logs" "$LAB/dl"
: >"$LAB/logs/timings.tsv"

host_prereqs() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v npm >/dev/null || need+=(npm)
  command -v unshare >/dev/null || need+=(util-linux)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing on the host: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >"$LAB/logs/host-apt.log"
  fi
  echo "debootstrap $(dpkg-query -W -f='${Version}' debootstrap 2>/dev/null || echo '?'), npm $(npm --version 2>/dev/null)"
}

bootstrap() {
  if [ -f "$LAB/.done-debootstrap" ]; then echo "already done"; return; fi
  rm -rf --one-file-system "$ROOT"
  debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$LAB/logs/debootstrap.log" 2>&1 ||
    { tail -20 "$LAB/logs/debootstrap.log"; return 1; }
  touch "$LAB/.done-debootstrap"
  echo "$(du -sh "$ROOT" | cut -f1) after debootstrap"
}

install_wine() {
  # /run/user/0 (mode 0700) gives wine a valid XDG_RUNTIME_DIR; its server dir goes there
  mkdir -p "$ROOT/run/user/0" "$ROOT/w/project" "$ROOT/w/lab" && chmod 700 "$ROOT/run/user/0"
  if [ -f "$LAB/.done-wine" ]; then echo "already done"; return; fi
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  "$RUN" exec /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q --no-install-recommends wine64 wine && apt-get clean' \
    >"$LAB/logs/wine-apt.log" 2>&1 || { tail -20 "$LAB/logs/wine-apt.log"; return 1; }
  "$RUN" exec /usr/lib/wine/wine64 --version
  touch "$LAB/.done-wine"
  echo "$(du -sh "$ROOT" | cut -f1) after wine"
}

fetch_deno() {
  if [ -x "$ROOT/w/deno.exe" ] && [ -f "$LAB/.done-deno" ]; then echo "already done: $(cat "$LAB/.done-deno")"; return; fi
  local versions v json tgz
  versions=$(npm view @deno/win32-x64 versions --json 2>/dev/null)
  if grep -q "\"$DENO_VERSION\"" <<<"$versions"; then
    v=$DENO_VERSION
  else
    v=$(npm view @deno/win32-x64 version 2>/dev/null)
    echo "deno $DENO_VERSION not published; using latest $v"
  fi
  json=$(cd "$LAB/dl" && npm pack "@deno/win32-x64@$v" --json 2>/dev/null)
  tgz=$(sed -n 's/.*"filename": *"\([^"]*\)".*/\1/p' <<<"$json" | head -1)
  tgz=${tgz//@/}; tgz=${tgz//\//-} # npm prints @deno/…; the file is deno-win32-x64-V.tgz
  [ -f "$LAB/dl/$tgz" ] || tgz=$(cd "$LAB/dl" && ls -t deno-win32-x64-*.tgz | head -1)
  tar -xzf "$LAB/dl/$tgz" -C "$LAB/dl" package/deno.exe
  install -D -m 755 "$LAB/dl/package/deno.exe" "$ROOT/w/deno.exe"
  rm -rf "$LAB/dl/package"
  echo "$v" >"$LAB/.done-deno"
  echo "deno.exe $v from $tgz, sha256 $(sha256sum "$ROOT/w/deno.exe" | cut -c1-16)…"
}

make_prefix() {
  if [ -f "$LAB/.done-prefix" ]; then echo "already done"; return; fi
  "$RUN" exec /usr/bin/wine wineboot -i >"$LAB/logs/wineboot.log" 2>&1 || { tail -20 "$LAB/logs/wineboot.log"; return 1; }
  touch "$LAB/.done-prefix"
  echo "prefix $WINEPREFIX: $(du -sh "$ROOT$WINEPREFIX" | cut -f1)"
}

smoke() {
  mkdir -p "$ROOT/w/lab"
  cp "$HERE/smoke.ts" "$ROOT/w/lab/smoke.ts"
  "$RUN" deno --version
  "$RUN" -- 'cd /w && wine /w/deno.exe run -A lab/smoke.ts'
}

rm -f "$LAB/.ready"
step host-prereqs host_prereqs
step debootstrap bootstrap
step wine install_wine
step deno fetch_deno
step prefix make_prefix
step smoke smoke
date -u +%FT%TZ >"$LAB/.ready"
dt=$(($(now_us) - T_ALL))
printf '== total %d.%01ds; lab ready at %s\n' $((dt / 1000000)) $(((dt % 1000000) / 100000)) "$LAB"
