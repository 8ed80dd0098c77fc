import assert from "node:assert/strict";
import { type Lifetime, lifetimes } from "./connections.ts";
import type { ChangeRow, MarkerRow, ReadRow } from "./rows.ts";

const T = Date.parse("2026-11-26T10:00:00Z");
const source = { file: "f", line: 1, format: "events" as const };

function row(event: ChangeRow["event"], time: number, o: Partial<ChangeRow> = {}): ChangeRow {
  return {
    type: "change",
    event,
    time,
    protocol: "tcp",
    family: 4,
    localAddress: "127.0.0.1",
    localPort: 8000,
    remoteAddress: "127.0.0.1",
    remotePort: 50000,
    state: "ESTABLISHED",
    pid: 5,
    processName: "srv",
    user: "bob",
    source,
    ...o,
  };
}

function marker(event: string, time: number, record: Record<string, unknown> = {}): MarkerRow {
  return { type: "marker", event, time, record: { event, ...record }, source };
}

async function all(rows: ReadRow[], o = {}): Promise<Lifetime[]> {
  async function* gen() {
    yield* rows;
  }
  const out: Lifetime[] = [];
  for await (const l of lifetimes(gen(), { now: T + 100_000, ...o })) out.push(l);
  return out;
}

Deno.test("lifetimes: opened → changed → closed is one lifetime with its duration", async () => {
  const [l, ...rest] = await all([
    row("opened", T, { state: "SYN_SENT" }),
    row("changed", T + 100, { previousState: "SYN_SENT" }),
    row("closed", T + 5000, { durationMs: 5000, firstSeen: T }),
  ]);
  assert.equal(rest.length, 0);
  assert.deepEqual(
    [l.opened, l.closed, l.durationMs, l.durationBound, l.state, l.lastState, l.processName, l.user],
    [T, T + 5000, 5000, false, "SYN_SENT", "ESTABLISHED", "srv", "bob"],
  );
});

Deno.test("lifetimes: a close without an open is a bound from firstSeen; still open comes last, bound", async () => {
  const ls = await all([
    row("opened", T + 10, { localPort: 22, remotePort: 0, state: "LISTEN", remoteAddress: "0.0.0.0" }),
    row("closed", T + 2000, { firstSeen: T - 60_000, durationMs: 62_000 }),
  ]);
  assert.equal(ls.length, 2);
  assert.deepEqual(
    [ls[0].localPort, ls[0].opened, ls[0].openedBound, ls[0].durationMs, ls[0].durationBound],
    [
      8000,
      T - 60_000,
      true,
      62_000,
      true,
    ],
  );
  assert.deepEqual([ls[1].localPort, ls[1].closed, ls[1].durationMs, ls[1].durationBound], [
    22,
    undefined,
    99_990,
    true,
  ]);
});

Deno.test("lifetimes: a monitor stop or restart ends open lifetimes as bounds at the last time seen", async () => {
  const ls = await all([
    row("opened", T),
    marker("heartbeat", T + 60_000),
    marker("monitor-stop", T + 61_000),
    marker("set-start", T + 90_000, { reason: "start" }),
    row("opened", T + 91_000, { localPort: 9 }),
    marker("set-start", T + 95_000, { reason: "midnight" }),
  ]);
  assert.deepEqual(ls.map((l) => [l.localPort, l.closed, l.closedBound]), [[8000, T + 61_000, true], [
    9,
    undefined,
    false,
  ]]);
});

Deno.test("lifetimes: the same endpoint of two pids, pid reuse and the window filter", async () => {
  const ls = await all([
    row("opened", T),
    row("opened", T + 1, { pid: 6 }),
    row("closed", T + 10, { pid: 6, firstSeen: T + 1 }),
    row("closed", T + 20, { firstSeen: T }),
    row("opened", T + 50_000, { localPort: 1 }),
    row("closed", T + 50_010, { localPort: 1, firstSeen: T + 50_000 }),
  ], { since: T + 15, until: T + 40_000 });
  assert.deepEqual(ls.map((l) => [l.pid, l.localPort, l.opened]), [[5, 8000, T]]);
});

Deno.test("lifetimes: at most maxOpen tracked; the oldest is yielded as a bound", async () => {
  const rows = [0, 1, 2].map((i) => row("opened", T + i, { localPort: 100 + i }));
  const ls = await all(rows, { maxOpen: 2 });
  assert.deepEqual(ls.map((l) => [l.localPort, l.closedBound]), [[100, true], [101, false], [102, false]]);
});

Deno.test("lifetimes: endpoints in PR-INITIAL (open at start) are bounds; a later close ends them, once", async () => {
  const { tempDir, writeSets, sock, proc, change, emptySnapshot } = await import("../../test/read/logs.ts");
  const { listLogSets } = await import("./sets.ts");
  const { readRows } = await import("./events.ts");
  const dir = await tempDir();
  try {
    const t0 = Date.parse("2026-11-26T10:00:00Z");
    const app = proc(42, "my app", { user: "alice" });
    const listener = sock(22, { pid: 42 });
    const conn = sock(22, { pid: 42, remoteAddress: "10.0.0.9", remotePort: 50000, state: "ESTABLISHED" });
    const snap = {
      ...emptySnapshot(t0),
      sockets: [listener, conn, sock(53, { protocol: "udp", state: null, pid: 0 })],
    };
    snap.processes.set(42, app);
    writeSets(
      dir,
      "UTC",
      t0,
      [{
        time: t0 + 5000,
        changes: [change("closed", t0 + 5000, conn, app, { firstSeen: t0, durationMs: 5000 })],
      }],
      undefined,
      snap,
    );
    const sets = await listLogSets(dir, { timeZone: "UTC" });
    const ls: Lifetime[] = [];
    for await (const l of lifetimes(readRows(sets, { includeInitial: true }), { now: t0 + 60_000 })) {
      ls.push(l);
    }
    assert.deepEqual(
      ls.map((
        l,
      ) => [
        l.protocol,
        l.localPort,
        l.remotePort,
        l.processName,
        l.user,
        l.openedBound,
        l.closed,
        l.durationBound,
      ]),
      [
        ["tcp", 22, 50000, "my app", "alice", true, t0 + 5000, true],
        ["tcp", 22, 0, "my app", "alice", true, undefined, true],
        ["udp", 53, 0, undefined, undefined, true, undefined, true],
      ],
    );
    const plain: string[] = [];
    for await (const r of readRows(sets)) plain.push(r.type === "change" ? r.event : r.event);
    // (every PR-EVENTS file of the writer starts with its set-start record)
    assert.deepEqual(plain, ["set-start", "closed"], "query does not list PR-INITIAL's endpoints as changes");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lifetimes: after heartbeats, a silence (the monitor died) or stale logs end open lifetimes as bounds", async () => {
  const ls = await all([
    marker("heartbeat", T),
    row("opened", T + 1000),
    marker("heartbeat", T + 60_000),
    row("opened", T + 600_000, { localPort: 9 }), // 9 minutes of silence before this
  ], { now: T + 600_000 + 10_000 });
  assert.deepEqual(ls.map((l) => [l.localPort, l.closed, l.closedBound]), [[8000, T + 60_000, true], [
    9,
    undefined,
    false,
  ]]);
  const stale = await all([marker("heartbeat", T), row("opened", T + 1000)], { now: T + 3_600_000 });
  assert.deepEqual(stale.map((l) => [l.closed, l.closedBound]), [[T + 1000, true]]);
  const noHeartbeats = await all([row("opened", T + 1000)], { now: T + 3_600_000 });
  assert.deepEqual(
    noHeartbeats.map((l) => [l.closed, l.closedBound]),
    [[undefined, false]],
    "older logs without heartbeats",
  );
});

Deno.test("lifetimes: an exact duration longer than the polls saw moves the opening back", async () => {
  const [l] = await all([
    row("opened", T + 400),
    row("closed", T + 1000, { durationMs: 900, durationExact: true, firstSeen: T + 400 }),
  ]);
  assert.deepEqual([l.opened, l.closed, l.durationMs, l.durationBound], [T + 100, T + 1000, 900, false]);
});
