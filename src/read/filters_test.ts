import assert from "node:assert/strict";
import { type FilterFlagValues, filterFromFlags, normalizeState } from "./filters.ts";
import type { ChangeRow } from "./rows.ts";
import { UsageError } from "../errors.ts";

const T = Date.parse("2026-11-26T10:00:00Z");
const source = { file: "f", line: 1, format: "events" as const };

function row(o: Partial<ChangeRow>): ChangeRow {
  return {
    type: "change",
    event: "opened",
    time: T,
    protocol: "tcp",
    family: 4,
    localAddress: "10.0.0.5",
    localPort: 8000,
    remoteAddress: "192.168.1.20",
    remotePort: 50000,
    state: "ESTABLISHED",
    pid: 100,
    processName: "python3",
    processPath: "/usr/bin/python3",
    user: "alice",
    source,
    ...o,
  };
}

const ROWS: Record<string, ChangeRow> = {
  web: row({}),
  ssh: row({
    localPort: 22,
    remotePort: 40000,
    processName: "sshd",
    processPath: "/usr/sbin/sshd",
    user: "root",
    pid: 7,
  }),
  dns: row({
    protocol: "udp",
    state: null,
    localPort: 53,
    remoteAddress: "0.0.0.0",
    remotePort: 0,
    processName: "resolved",
    pid: 9,
  }),
  v6: row({
    family: 6,
    localAddress: "::1",
    remoteAddress: "::1",
    localPort: 9000,
    remotePort: 9001,
    event: "closed",
  }),
  orphan: row({
    pid: 0,
    processName: undefined,
    processPath: undefined,
    user: undefined,
    state: "TIME_WAIT",
    event: "changed",
    time: T + 3_600_000,
  }),
  svc: row({
    user: "NT AUTHORITY\\SYSTEM",
    processName: "svchost.exe",
    processPath: "C:\\Windows\\System32\\svchost.exe",
    localAddress: "fe80::1",
    family: 6,
    remoteAddress: "fe80::2",
    state: "LISTEN",
    localPort: 135,
    remotePort: 0,
    time: T - 86_400_000,
  }),
};

function pick(f: FilterFlagValues): string[] {
  const filter = filterFromFlags(f, { now: T + 7_200_000, timeZone: "UTC" });
  return Object.entries(ROWS).filter(([, r]) => filter.matches(r)).map(([k]) => k);
}

Deno.test("filters: --port matches local or remote, lists and ranges", () => {
  assert.deepEqual(pick({ port: ["8000"] }), ["web", "orphan"]);
  assert.deepEqual(pick({ port: ["40000"] }), ["ssh"]);
  assert.deepEqual(pick({ port: ["22,53"] }), ["ssh", "dns"]);
  assert.deepEqual(pick({ port: ["9000-9001", "135"] }), ["v6", "svc"]);
});

Deno.test("filters: --local and --remote take addresses, CIDR ranges and ranges, v4 and v6", () => {
  assert.deepEqual(pick({ local: ["10.0.0.0/8"] }), ["web", "ssh", "dns", "orphan"]);
  assert.deepEqual(pick({ remote: ["192.168.1.10-192.168.1.30"] }), ["web", "ssh", "orphan"]);
  assert.deepEqual(pick({ local: ["::1"] }), ["v6"]);
  assert.deepEqual(pick({ remote: ["fe80::/10"] }), ["svc"]);
});

Deno.test("filters: --process globs on name or path, or a pid; --pid; --user globs (Windows accounts too)", () => {
  assert.deepEqual(pick({ process: ["ssh*"] }), ["ssh"]);
  assert.deepEqual(pick({ process: ["/usr/sbin/*"] }), ["ssh"]);
  assert.deepEqual(pick({ process: ["C:\\Windows\\*\\svchost.exe"] }), ["svc"]);
  assert.deepEqual(pick({ process: ["SVCHOST.EXE"] }), ["svc"], "case-insensitive");
  assert.deepEqual(pick({ process: ["9"] }), ["dns"]);
  assert.deepEqual(pick({ pid: ["7", "0"] }), ["ssh", "orphan"]);
  assert.deepEqual(pick({ user: ["root"] }), ["ssh"]);
  assert.deepEqual(pick({ user: ["NT AUTHORITY\\*"] }), ["svc"]);
});

Deno.test("filters: --proto, --family, --state (one spelling), --event, --not-loopback, --owned", () => {
  assert.deepEqual(pick({ proto: ["udp"] }), ["dns"]);
  assert.deepEqual(pick({ family: ["6"] }), ["v6", "svc"]);
  assert.deepEqual(pick({ family: ["ipv4"] }), ["web", "ssh", "dns", "orphan"]);
  assert.deepEqual(pick({ state: ["LISTENING"] }), ["svc"]);
  assert.deepEqual(pick({ state: ["time-wait,listen"] }), ["orphan", "svc"]);
  assert.deepEqual(pick({ event: ["closed", "changed"] }), ["v6", "orphan"]);
  assert.deepEqual(pick({ "not-loopback": true }), ["web", "ssh", "dns", "orphan", "svc"]);
  assert.deepEqual(pick({ owned: true }), ["web", "ssh", "dns", "v6", "svc"]);
  assert.equal(normalizeState("fin-wait-2"), "FIN_WAIT2");
});

Deno.test("filters: --since/--until window; flags AND, repeats OR", () => {
  assert.deepEqual(pick({ since: "2026-11-26T10:30:00Z" }), ["orphan"]);
  assert.deepEqual(pick({ until: "2026-11-26 10:00" }), ["web", "ssh", "dns", "v6", "svc"]);
  assert.deepEqual(pick({ since: "yesterday", until: "today" }), ["svc"]);
  assert.deepEqual(pick({ since: "-2h", until: "-90m" }), ["web", "ssh", "dns", "v6"]);
  assert.deepEqual(pick({ port: ["8000", "22"], owned: true, proto: ["tcp"] }), ["web", "ssh"]);
});

Deno.test("filters: the port prefilter never drops a line the filter keeps", () => {
  const f = filterFromFlags({ port: ["8000"] }, { now: T });
  const p = f.prefilter!;
  assert.ok(p.test('{"localPort":8000,"x":1}'));
  assert.ok(p.test('{"localPort":1,"remotePort":8000}'));
  assert.ok(p.test('{"localPort" : 8000 ,"x":1}'));
  assert.ok(!p.test('{"localPort":80001,"remotePort":18000}'));
  assert.equal(
    filterFromFlags({ port: ["1-60000"] }, { now: T }).prefilter,
    undefined,
    "wide ranges are not prefiltered",
  );
});

Deno.test("filters: every bad value is one UsageError naming the flag", () => {
  const bad: [FilterFlagValues, RegExp][] = [
    [{ port: ["http"] }, /^--port: "http" is not a port/],
    [{ port: ["70000"] }, /^--port/],
    [{ local: ["10.0.0.0/33"] }, /^--local: "10.0.0.0\/33" has a prefix length outside 0-32/],
    [{ remote: ["example.com"] }, /^--remote/],
    [{ pid: ["12a"] }, /^--pid: '12a' is not a process id/],
    [{ proto: ["sctp"] }, /^--proto: 'sctp' is not one of tcp, udp/],
    [{ family: ["5"] }, /^--family/],
    [{ state: ["OPEN"] }, /^--state: 'OPEN' is not one of/],
    [{ event: ["born"] }, /^--event: 'born' is not one of opened, closed, changed, set-start/],
    [{ since: "tomorrowish" }, /^--since/],
    [{ since: "12:00", until: "11:00" }, /^--since \(12:00\) is after --until \(11:00\); swap them/],
  ];
  for (const [flags, message] of bad) {
    assert.throws(() => filterFromFlags(flags, { now: T, timeZone: "UTC" }), (e: unknown) => {
      assert.ok(e instanceof UsageError, JSON.stringify(flags));
      assert.match(e.message, message);
      return true;
    });
  }
});
