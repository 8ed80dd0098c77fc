import assert from "node:assert/strict";
import {
  endpointKey,
  type ProcessInfo,
  type Snapshot,
  type SocketEvent,
  type SocketRecord,
} from "../model/types.ts";
import { EndpointTracker } from "./diff.ts";
import {
  ownerlessPortPairs,
  ownersOf,
  portPair,
  type TrackedEndpoint,
  trackedEndpoint,
} from "./endpoint_changes.ts";
import { EventCandidates, sameEndpoint } from "./event_candidates.ts";

const conn: SocketRecord = {
  protocol: "tcp",
  family: 4,
  localAddress: "127.0.0.1",
  localPort: 8080,
  remoteAddress: "127.0.0.1",
  remotePort: 50000,
  state: "ESTABLISHED",
  pid: 100,
};
const listener: SocketRecord = {
  ...conn,
  localAddress: "0.0.0.0",
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: "LISTEN",
};
const web: ProcessInfo = { pid: 100, name: "web", path: "/usr/bin/web", startTime: 1000 };
function snap(time: number, sockets: SocketRecord[]): Snapshot {
  return { time, sockets, processes: new Map([[web.pid, web]]), warnings: {} };
}
function reported(time: number, sockets: SocketRecord[], events: Snapshot["events"] = []): Snapshot {
  return { ...snap(time, sockets), events, omitsTimeWait: true };
}
const closeOf = (socket: SocketRecord): SocketEvent => ({
  time: 1,
  socket: { ...socket, pid: 0, state: "CLOSED" },
});

Deno.test("sameEndpoint compares the endpoint's six fields, not its state, pid or inode", () => {
  assert.ok(sameEndpoint(conn, { ...conn, pid: 0, state: "CLOSED", inode: 7 }));
  for (
    const other of [{ localPort: 8081 }, { remotePort: 1 }, { protocol: "udp" as const }, {
      family: 6 as const,
    }, {
      localAddress: "127.0.0.2",
    }, { remoteAddress: "10.0.0.1" }]
  ) {
    assert.ok(!sameEndpoint(conn, { ...conn, ...other }), JSON.stringify(other));
  }
});

Deno.test("a close event takes its process's entry, else the last owned one, else the first ownerless one; each entry once", () => {
  const endpoints = new Map<string, TrackedEndpoint>([
    ["ownerless", trackedEndpoint({ ...conn, pid: 0 }, undefined, 0, 1)],
    ["first owner", trackedEndpoint(conn, undefined, 0, 1)],
    ["second owner", trackedEndpoint({ ...conn, pid: 200 }, undefined, 0, 1)],
    ["remnant", trackedEndpoint({ ...conn, remotePort: 50001 }, undefined, 0, 1, true)],
    ["older poll", trackedEndpoint({ ...conn, remotePort: 50002 }, undefined, 0, 0)],
    ["other address", trackedEndpoint({ ...conn, remoteAddress: "127.0.0.9" }, undefined, 0, 1)],
    ["other ports", trackedEndpoint({ ...conn, remotePort: 1 }, undefined, 0, 1)],
  ]);
  const missing = trackedEndpoint({ ...conn, remotePort: 50003, pid: 0 }, undefined, 0, 0);
  missing.missingSince = 5;
  endpoints.set("missing", missing);
  const events = [conn, { ...conn, remotePort: 50001 }, { ...conn, remotePort: 50002 }, {
    ...conn,
    remotePort: 50003,
  }, { ...conn, remoteAddress: "127.0.0.9" }].map(closeOf);
  const candidates = new EventCandidates(endpoints, events, 2);
  assert.ok(!candidates.mayBeTracked({ ...conn, remotePort: 1 }), "ports of no event are not indexed");
  assert.equal(candidates.take(events[0]), "second owner");
  assert.equal(candidates.take(events[0]), "first owner", "several entries: several sockets");
  assert.equal(candidates.take(events[0]), "ownerless");
  assert.equal(
    candidates.take(events[0]),
    undefined,
    "one close more than entries: another connection",
  );
  assert.equal(candidates.take(events[1]), undefined, "remnants are not candidates");
  assert.equal(candidates.take(events[2]), undefined, "nor endpoints the previous poll did not see");
  assert.equal(candidates.take(events[3]), "missing", "but those waiting for their close event are");
  assert.equal(candidates.take(events[4]), "other address");

  const ownerless = new EventCandidates(
    new Map([...endpoints].filter(([k]) => !k.includes("owner") || k === "ownerless")),
    events,
    2,
  );
  assert.equal(ownerless.take(events[0]), "ownerless");
  const named = new EventCandidates(endpoints, events, 2);
  assert.equal(
    named.take({ ...events[0], socket: { ...events[0].socket, pid: 100 } }),
    "first owner",
    "the event names its process",
  );
});

Deno.test("SO_REUSEPORT listeners of two processes closed in one poll: one closed each, by its event, nothing later", () => {
  const t = new EndpointTracker();
  const other = { ...listener, pid: 200 };
  const worker: ProcessInfo = { pid: 200, name: "worker", path: "/usr/bin/web", startTime: 2000 };
  const withWorker = (s: Snapshot): Snapshot => ({ ...s, processes: new Map([[100, web], [200, worker]]) });
  t.observe(withWorker(reported(0, [listener, other, conn])));
  const closes = [100, 200].map((pid, i) => ({
    time: 1500 + i,
    socket: { ...listener, pid, state: "CLOSED" as const },
  }));
  const gone = t.observe(withWorker(reported(2000, [conn], closes)));
  assert.deepEqual(gone.map((x) => [x.kind, x.socket.pid, x.process?.name, x.source]), [
    ["closed", 100, "web", "event"],
    ["closed", 200, "worker", "event"],
  ]);
  for (const time of [3000, 2000 + 10_000, 2000 + 20_000]) {
    assert.deepEqual(t.observe(reported(time, [conn])), []);
  }
});

Deno.test("among many endpoints, an owner letting go and a close event each find theirs; only their port pairs are indexed", () => {
  const t = new EndpointTracker();
  const many = Array.from({ length: 200 }, (_, i) => ({ ...conn, remotePort: 40000 + i }));
  // the same ports as `conn` on another address, and a port pair that collides with conn's (8080 << 14 ^ 50000)
  const twin = { ...conn, remoteAddress: "127.0.0.2" };
  const collide = { ...conn, localPort: 8081, remotePort: 50000 ^ (1 << 14) };
  t.observe(snap(0, [listener, conn, twin, collide, ...many]));
  const gone = t.observe({
    ...snap(1000, [listener, twin, collide, ...many.slice(1), { ...many[0], pid: 0, state: "TIME_WAIT" }]),
    events: [{ time: 900, socket: { ...conn, pid: 0, state: "CLOSED" } }],
  });
  assert.deepEqual(
    gone.map((c) => [c.kind, c.socket.remoteAddress, c.socket.localPort, c.socket.remotePort, c.source]),
    [["closed", "127.0.0.1", 8080, 50000, "event"], ["closed", "127.0.0.1", 8080, 40000, "poll"]],
  );
  assert.equal(t.size, 203, "the remnant is tracked silently; twin and collide stay open");
  assert.deepEqual(t.observe(snap(2000, [listener, twin, collide, ...many.slice(1)])), []);
});

Deno.test("ownersOf indexes the owned endpoints of the wanted port pairs only", () => {
  const endpoints = new Map<string, TrackedEndpoint>();
  const a = { ...conn, remotePort: 1 },
    b = { ...conn, remotePort: 2 },
    orphan = { ...conn, remotePort: 3, pid: 0 };
  endpoints.set("a", trackedEndpoint(a, web, 0, 5));
  endpoints.set("b", trackedEndpoint(b, web, 0, 5));
  endpoints.set("old", trackedEndpoint({ ...a, localPort: 9 }, web, 0, 4));
  endpoints.set("orphan", trackedEndpoint(orphan, undefined, 0, 5));
  const wanted = ownerlessPortPairs([{ ...a, pid: 0 }, orphan, b]);
  assert.deepEqual(wanted, new Set([portPair(a), portPair(orphan)]), "pairs of pid-0 rows only");
  assert.deepEqual([...ownersOf(endpoints, 5, wanted)], [[endpointKey(a), "a"]]);
  assert.equal(ownersOf(endpoints, 5, new Set()).size, 0);
});

Deno.test("with closes reported by events, a late untraced notification after an owner let go is that close, not a second endpoint", () => {
  const t = new EndpointTracker();
  t.observe(reported(0, [listener, conn]));
  // the owner is killed: its descriptors are gone, the listener is still in the table for a moment
  const letGo = t.observe(reported(1000, [{ ...listener, pid: 0 }, conn]));
  assert.deepEqual(letGo.map((x) => [x.kind, x.time, x.socket.pid, x.source]), [[
    "closed",
    1000,
    100,
    "poll",
  ]]);
  assert.deepEqual(t.observe(reported(1250, [conn])), [], "the row is gone: nothing more");
  const merged = t.stats.merged;
  const untraced = { time: 3900, socket: { ...listener, pid: 0, state: "CLOSED" as const } }; // received late
  assert.deepEqual(t.observe(reported(4000, [conn], [untraced])), [], "its notification, seconds later");
  assert.equal(t.stats.merged, merged + 1);
  const reopened = { time: 30_000, socket: { ...listener, pid: 0, state: "CLOSED" as const } };
  assert.deepEqual(
    t.observe(reported(30_100, [conn], [reopened])).map((x) => [x.kind, x.source]),
    [["opened", "event"], ["closed", "event"]],
    "the same numbers much later are another listener",
  );
});

Deno.test("a let-go row that lingers times the wait from when it goes; another process's untraced close is not taken for it", () => {
  const t = new EndpointTracker();
  t.observe(reported(0, [listener, conn]));
  assert.equal(t.observe(reported(1000, [{ ...listener, pid: 0 }, conn])).length, 1, "the owner let go");
  for (const time of [2000, 3000]) {
    assert.deepEqual(t.observe(reported(time, [{ ...listener, pid: 0 }, conn])), []);
  }
  assert.deepEqual(t.observe(reported(3250, [conn])), [], "the row is gone at 3 250");
  const merged = t.stats.merged;
  const late = { time: 12_500, socket: { ...listener, pid: 0, state: "CLOSED" as const } };
  assert.deepEqual(
    t.observe(reported(12_600, [conn], [late])),
    [],
    "9.25 s after the row went: its notification",
  );
  assert.equal(t.stats.merged, merged + 1);

  const u = new EndpointTracker();
  u.observe(reported(0, [listener, conn]));
  u.observe(reported(1000, [{ ...listener, pid: 0 }, conn]));
  u.observe(reported(2000, [conn]));
  // its own notification was lost; a restarted server (pid 200) opened and closed the same numbers
  const other = { time: 6500, socket: { ...listener, pid: 200, state: "CLOSED" as const } };
  assert.deepEqual(
    u.observe(reported(6600, [conn], [other])).map((x) => [x.kind, x.socket.pid, x.source]),
    [["opened", 200, "event"], ["closed", 200, "event"]],
  );
});

Deno.test("a close event never takes an entry missing since before its traced open; it prefers one that is missing", () => {
  // A (pid 100) left the table by the poll at 1000 (its notification late); B (pid 200) is listed.
  const t = new EndpointTracker();
  const a = { ...listener }, b = { ...listener, pid: 200 };
  const worker: ProcessInfo = { pid: 200, name: "worker", path: "/usr/bin/web", startTime: 2000 };
  const both = (s: Snapshot): Snapshot => ({ ...s, processes: new Map([[100, web], [200, worker]]) });
  t.observe(both(reported(0, [a, b])));
  assert.deepEqual(t.observe(both(reported(1000, [b]))), []);
  const closes = [
    { time: 1500, openedAt: -5000, socket: { ...listener, pid: 200, state: "CLOSED" as const } }, // B's
    { time: 1900, openedAt: 1600, socket: { ...listener, pid: 300, state: "CLOSED" as const } }, // a new one, C
  ];
  assert.deepEqual(
    t.observe(both(reported(2000, [], closes))).map((x) => [x.kind, x.time, x.socket.pid, x.source]),
    [["closed", 1500, 200, "event"], ["opened", 1600, 300, "event"], ["closed", 1900, 300, "event"]],
  );
  const own = { time: 2500, socket: { ...listener, pid: 0, state: "CLOSED" as const } }; // A's, untraced
  assert.deepEqual(
    t.observe(both(reported(3000, [], [own]))).map((x) => [x.kind, x.time, x.socket.pid, x.source]),
    [["closed", 2500, 100, "event"]],
  );

  // an untraced close with two candidates: the one already missing from the last dump
  const endpoints = new Map<string, TrackedEndpoint>([
    ["live", trackedEndpoint(b, worker, 0, 1)],
    ["gone", trackedEndpoint(a, web, 0, 0)],
  ]);
  endpoints.get("gone")!.missingSince = 1000;
  assert.equal(new EventCandidates(endpoints, [own], 2).take(own), "gone");
});
