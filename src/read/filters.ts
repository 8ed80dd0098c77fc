/**
 * The filters shared by `query`, `connections`, `follow` and `report`: `--since`/`--until`, `--port`
 * (list and ranges, local or remote), `--local`/`--remote` (address, CIDR or range, v4/v6),
 * `--process` (glob on name or path, or a pid), `--pid`, `--user` (glob), `--proto`, `--family`,
 * `--state`, `--event`, `--not-loopback`, `--owned` (drop pid 0). Repeated flags are OR-ed; different
 * flags are AND-ed.
 *
 * Commands take {@link FILTER_FLAGS} into their `parseArgs` options and hand the values to
 * {@link filterFromFlags}; every bad value is a {@link UsageError} naming the flag.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { Protocol } from "../model/types.ts";
import { TCP_STATES } from "../model/types.ts";
import { compileAddresses, compileGlob, compilePorts, isLoopback, type Predicate } from "../plugin/match.ts";
import { CHANGE_KINDS, type ChangeRow, MARKER_KINDS } from "./rows.ts";
import { requireTimeForm, type TimeContext } from "./time_forms.ts";

/** The `parseArgs` option definitions of every filter flag (spread them into a command's options). */
export const FILTER_FLAGS = {
  since: { type: "string" },
  until: { type: "string" },
  port: { type: "string", multiple: true },
  local: { type: "string", multiple: true },
  remote: { type: "string", multiple: true },
  process: { type: "string", multiple: true },
  pid: { type: "string", multiple: true },
  user: { type: "string", multiple: true },
  proto: { type: "string", multiple: true },
  family: { type: "string", multiple: true },
  state: { type: "string", multiple: true },
  event: { type: "string", multiple: true },
  "not-loopback": { type: "boolean" },
  owned: { type: "boolean" },
} as const;

/** The values `parseArgs` gives for {@link FILTER_FLAGS}. */
export interface FilterFlagValues {
  since?: string;
  until?: string;
  port?: string[];
  local?: string[];
  remote?: string[];
  process?: string[];
  pid?: string[];
  user?: string[];
  proto?: string[];
  family?: string[];
  state?: string[];
  event?: string[];
  "not-loopback"?: boolean;
  owned?: boolean;
}

/** The help text lines of the filter flags (for each command's `--help`). */
export const FILTER_HELP = `Filters (repeat a flag or give a comma list for OR; different flags AND):
  --since <time>      From this time on; --until <time> up to it. Times: ISO 8601 (2026-11-26T10:00Z),
                      'YYYY-MM-DD HH:MM', 'HH:MM' (today), -2h / -30m / -1d (before now), today, yesterday
  --port <ports>      Local or remote port: 8000, 80,443, 8000-8100
  --local <addr>      Local address, CIDR or range (10.0.0.0/8, ::1, fe80::/10); --remote <addr> the peer
  --process <glob>    Process name or path glob (sshd, 'python*', '/usr/bin/*'), or a pid
  --pid <pid>         Owner pid; --user <glob> user context (root, 'NT AUTHORITY\\*')
  --proto tcp|udp     Protocol; --family 4|6 address family
  --state <state>     TCP state (LISTEN, ESTABLISHED, TIME_WAIT, ...)
  --event <kind>      opened, closed, changed (or a record kind: set-start, clock-jump, gap, ...)
  --not-loopback      Drop endpoints on 127.0.0.0/8 and ::1
  --owned             Drop rows with pid 0 (no owner named by the OS)
`;

/** A compiled filter. */
export interface RowFilter {
  /** Rows at or after this instant (ms), when set. */
  since?: number;
  /** Rows at or before this instant (ms), when set. */
  until?: number;
  /** Record kinds (`--event`) asked for beyond changes, e.g. `clock-jump`; empty when none. */
  markerKinds: Set<string>;
  /** Whether change rows are wanted at all (false when `--event` named only record kinds). */
  wantChanges: boolean;
  /** Every non-time filter on a change row. */
  matchesEndpoint(row: ChangeRow): boolean;
  /** {@link matchesEndpoint}, the event kind and the time window. */
  matches(row: ChangeRow): boolean;
  /**
   * A pattern found in the raw text of every PR-EVENTS line {@link matches} would keep (lines that
   * contain it may still fail); readers search whole chunks for it and parse only the lines it hits.
   * `undefined` when no such shortcut applies.
   */
  prefilter?: RegExp;
}

function split(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v.length > 0);
}

function anyOf<T>(preds: Predicate<T>[]): Predicate<T> {
  return (v) => preds.some((p) => p(v));
}

function enumValues<T extends string>(
  flag: string,
  values: string[],
  choices: readonly T[],
  norm: (v: string) => string,
) {
  const out = new Set<T>();
  for (const v of values) {
    const n = norm(v) as T;
    if (!choices.includes(n)) throw new UsageError(`--${flag}: '${v}' is not one of ${choices.join(", ")}`);
    out.add(n);
  }
  return out;
}

/** One spelling of TCP states: `LISTENING` (netstat on Windows) is `LISTEN`; case and `-` do not matter. */
export function normalizeState(text: string): string {
  const s = text.trim().toUpperCase().replaceAll("-", "_");
  if (s === "LISTENING") return "LISTEN";
  if (s === "FIN_WAIT_1") return "FIN_WAIT1";
  if (s === "FIN_WAIT_2") return "FIN_WAIT2";
  if (s === "SYN_RECV") return "SYN_RECEIVED";
  return s;
}

/** Port-only prefilter: a pattern in every line that names one of the ports as local or remote port. */
function portPrefilter(ports: string[]): RegExp | undefined {
  const single: number[] = [];
  for (const p of ports) {
    const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(p);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = Number(m[2] ?? m[1]);
    if (hi - lo > 16) return undefined;
    for (let n = lo; n <= hi; n++) single.push(n);
  }
  return new RegExp(`"(?:local|remote)Port"\\s*:\\s*(?:${single.join("|")})(?![0-9])`);
}

function compileEndpointTests(f: FilterFlagValues): Predicate<ChangeRow>[] {
  const tests: Predicate<ChangeRow>[] = [];
  const ports = split(f.port);
  if (ports.length) {
    const p = compilePorts(ports, "--port");
    tests.push((r) => p(r.localPort) || p(r.remotePort));
  }
  for (const [flag, key] of [["local", "localAddress"], ["remote", "remoteAddress"]] as const) {
    const list = split(f[flag]);
    if (!list.length) continue;
    const a = compileAddresses(list, `--${flag}`);
    tests.push((r) => a(r[key]));
  }
  const processes = split(f.process);
  if (processes.length) {
    tests.push(anyOf(processes.map((item): Predicate<ChangeRow> => {
      if (/^\d+$/.test(item)) return (r) => r.pid === Number(item);
      const glob = compileGlob(item, "--process");
      if (/[\\/]/.test(item)) return (r) => r.processPath !== undefined && glob(r.processPath);
      return (r) => (r.processName !== undefined && glob(r.processName));
    })));
  }
  const pids = split(f.pid);
  if (pids.length) {
    const set = new Set(pids.map((p) => {
      if (!/^\d{1,10}$/.test(p)) throw new UsageError(`--pid: '${p}' is not a process id (a whole number)`);
      return Number(p);
    }));
    tests.push((r) => set.has(r.pid));
  }
  const users = split(f.user);
  if (users.length) {
    const globs = users.map((u) => compileGlob(u.replaceAll("\\", "/"), "--user"));
    tests.push((r) => r.user !== undefined && globs.some((g) => g(r.user!.replaceAll("\\", "/"))));
  }
  const protos = split(f.proto);
  if (protos.length) {
    const set = enumValues<Protocol>("proto", protos, ["tcp", "udp"], (v) => v.toLowerCase());
    tests.push((r) => set.has(r.protocol));
  }
  const families = split(f.family);
  if (families.length) {
    const set = enumValues("family", families, ["4", "6"], (v) => v.replace(/^ipv/i, ""));
    tests.push((r) => set.has(String(r.family) as "4" | "6"));
  }
  const states = split(f.state);
  if (states.length) {
    const set = enumValues<string>("state", states, [...TCP_STATES, "NONE"], normalizeState);
    tests.push((r) => set.has(r.state ?? "NONE"));
  }
  if (f["not-loopback"]) tests.push((r) => !isLoopback(r.localAddress) && !isLoopback(r.remoteAddress));
  if (f.owned) tests.push((r) => r.pid !== 0);
  return tests;
}

/** Compiles the filter flags; `ctx` reads the time forms (now, zone). */
export function filterFromFlags(f: FilterFlagValues, ctx: TimeContext): RowFilter {
  const since = f.since === undefined ? undefined : requireTimeForm("--since", f.since, ctx);
  const until = f.until === undefined ? undefined : requireTimeForm("--until", f.until, ctx);
  if (since !== undefined && until !== undefined && since > until) {
    throw new UsageError(`--since (${f.since}) is after --until (${f.until}); swap them`);
  }
  const events = split(f.event).map((e) => e.toLowerCase());
  const kinds = new Set<string>();
  const markerKinds = new Set<string>();
  for (const e of events) {
    if ((CHANGE_KINDS as readonly string[]).includes(e)) kinds.add(e);
    else if (MARKER_KINDS.includes(e)) markerKinds.add(e);
    else {throw new UsageError(
        `--event: '${e}' is not one of ${[...CHANGE_KINDS, ...MARKER_KINDS].join(", ")}`,
      );}
  }
  const tests = compileEndpointTests(f);
  const matchesEndpoint = (r: ChangeRow) => tests.every((t) => t(r));
  const wantChanges = kinds.size > 0 || markerKinds.size === 0;
  const ports = split(f.port);
  return {
    since,
    until,
    markerKinds,
    wantChanges,
    matchesEndpoint,
    matches: (r) =>
      wantChanges && (kinds.size === 0 || kinds.has(r.event)) &&
      (since === undefined || r.time >= since) && (until === undefined || r.time <= until) &&
      matchesEndpoint(r),
    prefilter: ports.length && markerKinds.size === 0 ? portPrefilter(ports) : undefined,
  };
}
