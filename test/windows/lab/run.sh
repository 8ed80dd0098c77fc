#!/usr/bin/env bash
# test/windows/lab/run.sh - run things in the project's wine lab (built by setup.sh).
#
# Every call gets its own private mount namespace (unshare --mount --propagation private):
# /proc, /sys, /dev and the project working tree (bind-mounted at /w/project = Z:\w\project)
# exist inside the chroot only inside that namespace, so the host never sees them and nothing
# stays mounted when the call ends. The current working tree is what runs, edits included.
#
#   run.sh '<shell command>'     run a bash command inside the chroot (cwd /w/project)
#   run.sh deno <args...>        wine /w/deno.exe <args...>  (cwd /w/project)
#   run.sh exec <prog> <args...> exec a program inside the chroot, no shell
#   run.sh shell                 interactive bash inside the chroot
#   run.sh up | down | status    persistent wineserver (for services) / stop it / list lab processes
#   run.sh -- '<shell command>'  same as the first form (for commands named like a verb)
#
# Environment:
#   PORTREPORTER_WINELAB  lab directory (default /var/cache/portreporter-winelab)
#   PORTREPORTER_PROJECT  tree mounted at /w/project (default: this repository)
#   WINEPREFIX            prefix inside the chroot (default /wp)
#   WINEDEBUG             default -all (WINEDEBUG=-all,+eventlog traces ReportEventW strings)
#   DENO_CERT / SSL_CERT_FILE  a host CA bundle, copied in and given to deno.exe as DENO_CERT
#   PR_*                  passed through into the chroot unchanged (the host environment is not)
#   WINELAB_NOWAIT=1      do not wait for an on-demand wineserver to exit after a command
# Without `up`, wine starts a wineserver on demand; run.sh then waits for it to exit, so a call
# leaves nothing running.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$(realpath -m "${PORTREPORTER_WINELAB:-/var/cache/portreporter-winelab}")
PROJECT=$(realpath -m "${PORTREPORTER_PROJECT:-$HERE/../../..}")
ROOT=$LAB/root
PFX=${WINEPREFIX:-/wp}
DBG=${WINEDEBUG:--all}
PIDFILE=$LAB/wineserver.pid

die() { echo "run.sh: $*" >&2; exit 1; }
case "${1:-}" in "" | -h | --help) awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"; exit 0 ;; esac
[ "$(id -u)" = 0 ] || die "must run as root"
[ -d "$ROOT/usr" ] || die "no chroot at $ROOT (run test/windows/lab/setup.sh first, or set PORTREPORTER_WINELAB)"

# The host's extra CA bundle (a TLS-inspecting proxy in front of the npm registry), if any, for the
# project's npm imports: copied into the chroot and handed to deno.exe as DENO_CERT.
CA_ENV=()
CA_SRC=${DENO_CERT:-${SSL_CERT_FILE:-}}
if [ -n "$CA_SRC" ] && [ -r "$CA_SRC" ]; then
  mkdir -p "$ROOT/w/lab"
  cmp -s "$CA_SRC" "$ROOT/w/lab/host-ca.pem" || cp "$CA_SRC" "$ROOT/w/lab/host-ca.pem"
  CA_ENV=('DENO_CERT=Z:\w\lab\host-ca.pem')
fi

# PR_* variables of the caller, passed into the clean chroot environment
PASS=()
while IFS='=' read -r k _; do [ -n "$k" ] && PASS+=("$k=${!k}"); done < <(env | grep -E '^PR_[A-Za-z0-9_]*=' || true)

# The namespace body: mount, then exec chroot with a clean environment (host variables such as
# SSL_CERT_FILE would otherwise leak into deno.exe).
NS_BODY='
  set -e
  R=$1; P=$2; shift 2
  mount -t proc proc "$R/proc"
  mount --rbind /sys "$R/sys"
  mount --rbind /dev "$R/dev"
  mkdir -p "$R/w/project"
  mount --bind "$P" "$R/w/project"
  exec chroot "$R" /usr/bin/env -i "$@"'
ENV_ARGS=(HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM="${TERM:-dumb}"
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  XDG_RUNTIME_DIR=/run/user/0 WINEPREFIX="$PFX" WINEDEBUG="$DBG" DENO_NO_UPDATE_CHECK=1
  WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=;winemenubuilder.exe=d}" ${CA_ENV[@]+"${CA_ENV[@]}"} ${PASS[@]+"${PASS[@]}"})

in_ns() { # in_ns PROG ARGS...: PROG (a path inside the chroot) in a fresh private namespace
  unshare --mount --propagation private -- /bin/bash -c "$NS_BODY" winelab-ns "$ROOT" "$PROJECT" "${ENV_ARGS[@]}" "$@"
}

server_pid() { # prints the persistent server pid if it is alive
  [ -f "$PIDFILE" ] || return 1
  local p; p=$(cat "$PIDFILE")
  [ -n "$p" ] && [ -d "/proc/$p" ] && [ "$(readlink "/proc/$p/root" 2>/dev/null)" = "$ROOT" ] || return 1
  echo "$p"
}

lab_procs() { # pid and command line of every process whose root is the chroot
  local d r
  for d in /proc/[0-9]*; do
    r=$(readlink "$d/root" 2>/dev/null) || continue
    [ "$r" = "$ROOT" ] && printf '%s\t%s\n' "${d#/proc/}" "$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)"
  done
  return 0
}

after_cmd() { # without a persistent server, wait for the on-demand one to go away
  if [ "${WINELAB_NOWAIT:-0}" != 1 ] && ! server_pid >/dev/null; then
    in_ns /usr/bin/wineserver -w >/dev/null 2>&1 || true
  fi
}

run_cmd() { # run_cmd PROG ARGS...  (keeps the command's exit status)
  local rc=0
  in_ns "$@" || rc=$?
  after_cmd
  return $rc
}

case "${1:-}" in
  up)
    if p=$(server_pid); then echo "wineserver already up (pid $p)"; exit 0; fi
    in_ns /usr/bin/wineserver -w >/dev/null 2>&1 || true
    # -f keeps the server in the foreground so that $! is the server; setsid + nohup detach it;
    # its namespace lives as long as it does.
    nohup setsid unshare --mount --propagation private -- /bin/bash -c "$NS_BODY" winelab-server "$ROOT" "$PROJECT" \
      "${ENV_ARGS[@]}" /usr/bin/wineserver -f -p >"$LAB/wineserver.log" 2>&1 </dev/null &
    sp=$!
    echo "$sp" >"$PIDFILE"
    up=0
    for _ in $(seq 100); do
      [ -d "/proc/$sp" ] || die "wineserver exited: $(cat "$LAB/wineserver.log")"
      if [ "$(readlink "/proc/$sp/root" 2>/dev/null)" = "$ROOT" ] && [ -S "/proc/$sp/cwd/socket" ]; then up=1; break; fi
      sleep 0.1
    done
    [ $up = 1 ] || echo "run.sh: warning: no server socket seen yet" >&2
    # start services.exe & co. now with /dev/null as stdio (they inherit the first client's)
    in_ns /usr/bin/wine wineboot >/dev/null 2>&1 </dev/null || true
    echo "wineserver up (pid $sp)" ;;
  down)
    in_ns /usr/bin/wineserver -k >/dev/null 2>&1 || true
    if p=$(server_pid); then
      for _ in $(seq 50); do [ -d "/proc/$p" ] || break; sleep 0.1; done
      [ -d "/proc/$p" ] && kill -9 "$p" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    in_ns /usr/bin/wineserver -w >/dev/null 2>&1 || true
    echo "wineserver down" ;;
  status)
    if p=$(server_pid); then echo "persistent wineserver: pid $p"; else echo "persistent wineserver: not running"; fi
    echo "processes in $ROOT:"; lab_procs ;;
  shell)
    shift; run_cmd /bin/bash -c 'cd /w/project && exec bash -i' ;;
  deno)
    shift; run_cmd /bin/bash -c 'cd /w/project && exec wine /w/deno.exe "$@"' deno "$@" ;;
  exec)
    shift; run_cmd "$@" ;;
  --)
    shift; run_cmd /bin/bash -c "cd /w/project && $*" ;;
  *)
    run_cmd /bin/bash -c "cd /w/project && $*" ;;
esac
