/**
 * The report's filter flags, named as the other reading commands name theirs (`--since`, `--until`,
 * `--port`, `--local`, `--remote`, `--process`, `--pid`, `--user`, `--proto`, `--family`, `--state`,
 * `--not-loopback`, `--owned`; a flag may repeat or take a comma list: OR; different flags: AND).
 * Matching reuses the plugins' rules (port ranges, CIDRs, case-insensitive globs).
 *
 * @module
 */

import { UsageError } from "../../errors.ts";
import { compileAddresses, compileGlob, compilePorts, isLoopback } from "../../plugin/match.ts";
import { TCP_STATES } from "../../model/types.ts";
import type { ReportChange } from "./rows.ts";

/** The `parseArgs` options of the filters. */
export const REPORT_FILTER_FLAGS = {
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
  "not-loopback": { type: "boolean" },
  owned: { type: "boolean" },
} as const;

/** Help lines of the filters. */
export const REPORT_FILTER_HELP = `Filters (repeat a flag or give a comma list for OR; different flags AND):
  --since <time>      From this ISO 8601 time on (2026-11-26T10:00:00Z); --until <time> before it
  --port <ports>      Local or remote port: 8000, 80,443, 8000-8100
  --local <addr>      Local address or CIDR (10.0.0.0/8, ::1); --remote <addr> the peer
  --process <glob>    Process name glob, or path glob when it has a / or \\ (sshd, '/usr/bin/*')
  --pid <pid>         Owner pid; --user <glob> user context (root, 'NT AUTHORITY\\*')
  --proto tcp|udp     Protocol; --family 4|6 address family; --state <state> TCP state
  --not-loopback      Drop endpoints on 127.0.0.0/8 and ::1
  --owned             Drop endpoints without an owner (pid 0)
`;

/** The parsed values of {@link REPORT_FILTER_FLAGS}. */
export interface ReportFilterValues {
  [flag: string]: string | string[] | boolean | undefined;
}

type Test = (r: ReportChange) => boolean;

function list(v: unknown): string[] {
  const items = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return items.flatMap((s) => String(s).split(",")).map((s) => s.trim()).filter(Boolean);
}

function time(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(String(value));
  if (!Number.isFinite(t)) {
    throw new UsageError(`report: ${flag} "${value}" is not an ISO 8601 time (2026-11-26T10:00:00Z)`);
  }
  return t;
}

function choice(values: string[], flag: string, choices: readonly string[]): Set<string> {
  for (const v of values) {
    if (!choices.includes(v)) {
      throw new UsageError(`report: --${flag} must be one of ${choices.join(", ")}, not "${v}"`);
    }
  }
  return new Set(values);
}

function endpointTests(v: ReportFilterValues): Test[] {
  const tests: Test[] = [];
  const ports = list(v.port);
  if (ports.length) {
    const p = compilePorts(ports, "report: --port");
    tests.push((r) => p(r.localPort) || (r.remotePort !== 0 && p(r.remotePort)));
  }
  for (const [flag, field] of [["local", "localAddress"], ["remote", "remoteAddress"]] as const) {
    const a = list(v[flag]);
    if (a.length) {
      const m = compileAddresses(a, `report: --${flag}`);
      tests.push((r) => m(r[field]));
    }
  }
  const procs = list(v.process).map((g) => ({
    byPath: /[\\/]/.test(g),
    match: compileGlob(g, "report: --process"),
  }));
  if (procs.length) {
    tests.push((r) =>
      procs.some((p) =>
        p.byPath
          ? r.processPath !== undefined && p.match(r.processPath)
          : r.processName !== undefined && p.match(r.processName)
      )
    );
  }
  const pids = list(v.pid).map((p) => {
    if (!/^\d+$/.test(p)) throw new UsageError(`report: --pid "${p}" is not a process id`);
    return Number(p);
  });
  if (pids.length) tests.push((r) => pids.includes(r.pid));
  const users = list(v.user).map((u) => compileGlob(u, "report: --user"));
  if (users.length) tests.push((r) => r.user !== undefined && users.some((u) => u(r.user!)));
  const protos = choice(list(v.proto).map((p) => p.toLowerCase()), "proto", ["tcp", "udp"]);
  if (protos.size) tests.push((r) => protos.has(r.protocol));
  const families = choice(list(v.family), "family", ["4", "6"]);
  if (families.size) tests.push((r) => families.has(String(r.family)));
  const states = choice(
    list(v.state).map((s) => s.toUpperCase() === "LISTENING" ? "LISTEN" : s.toUpperCase()),
    "state",
    TCP_STATES,
  );
  if (states.size) tests.push((r) => r.state !== null && states.has(r.state));
  if (v["not-loopback"]) tests.push((r) => !isLoopback(r.localAddress) && !isLoopback(r.remoteAddress));
  if (v.owned) tests.push((r) => r.pid !== 0);
  return tests;
}

/** Compiles the filter flags into a test on change rows (undefined: keep all) and their text for the page. */
export function reportFilter(v: ReportFilterValues): [Test | undefined, string[]] {
  const tests = endpointTests(v);
  const since = time(v.since, "--since");
  const until = time(v.until, "--until");
  if (since !== undefined && until !== undefined && since > until) {
    throw new UsageError(`report: --since (${v.since}) is after --until (${v.until}); swap them`);
  }
  if (since !== undefined) tests.push((r) => r.time >= since);
  if (until !== undefined) tests.push((r) => r.time < until);
  const given = Object.keys(REPORT_FILTER_FLAGS).filter((k) => v[k] !== undefined)
    .map((k) => v[k] === true ? `--${k}` : `--${k} ${list(v[k]).join(",")}`);
  return [tests.length ? (r) => tests.every((t) => t(r)) : undefined, given];
}

/** Validates a `--time-zone` (an IANA name); `undefined` for the system zone. */
export function checkedZone(zone: string | undefined): string | undefined {
  if (zone === undefined) return undefined;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
  } catch {
    throw new UsageError(
      `report: --time-zone: "${zone}" is not a time zone; use an IANA name such as Europe/Berlin`,
    );
  }
  return zone;
}
