import assert from "node:assert/strict";
import { CLOSE_EVENT_WAIT_MS, EndpointTracker } from "./diff.ts";
import type { ProcessInfo, Snapshot, SocketRecord } from "../model/types.ts";

const listener: SocketRecord = {
  protocol: "tcp",
  family: 4,
  localAddress: "0.0.0.0",
  localPort: 8080,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: "LISTEN",
  pid: 100,
};
const conn: SocketRecord = {
  ...listener,
  localAddress: "127.0.0.1",
  remoteAddress: "127.0.0.1",
  remotePort: 50000,
  state: "ESTABLISHED",
};
const web: ProcessInfo = { pid: 100, name: "web", path: "/usr/bin/web", startTime: 1000 };

function snap(time: number, sockets: SocketRecord[], processes: ProcessInfo[] = [web]): Snapshot {
  return { time, sockets, processes: new Map(processes.map((p) => [p.pid, p])), warnings: {} };
}

Deno.test("first snapshot opens everything, the same snapshot again changes nothing", () => {
  const t = new EndpointTracker();
  const first = t.observe(snap(1, [listener, conn]));
  assert.deepEqual(first.map((c) => c.kind), ["opened", "opened"]);
  assert.equal(first[0].process?.name, "web");
  assert.deepEqual(t.observe(snap(2, [conn, listener])), []);
  assert.equal(t.size, 2);
});

Deno.test("open, state change, close with duration measured from first seen", () => {
  const t = new EndpointTracker();
  t.observe(snap(1000, [listener]));
  const opened = t.observe(snap(2000, [listener, { ...conn, state: "SYN_RECEIVED" }]));
  assert.equal(opened.length, 1);
  assert.equal(opened[0].kind, "opened");
  assert.equal(opened[0].firstSeen, 2000);
  const changed = t.observe(snap(3000, [listener, conn]));
  assert.equal(changed.length, 1);
  assert.equal(changed[0].kind, "changed");
  assert.equal(changed[0].previousState, "SYN_RECEIVED");
  assert.equal(changed[0].socket.state, "ESTABLISHED");
  assert.equal(changed[0].firstSeen, 2000);
  const closed = t.observe(snap(7500, [listener]));
  assert.equal(closed.length, 1);
  assert.equal(closed[0].kind, "closed");
  assert.equal(closed[0].durationMs, 5500);
  assert.equal(closed[0].process?.name, "web");
});

Deno.test("an owner letting go of a socket (ownerless TIME_WAIT) is its close; the remnant stays silent", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, [conn]));
  const tw = t.observe(snap(10, [{ ...conn, pid: 0, state: "TIME_WAIT" }], []));
  assert.equal(tw.length, 1);
  assert.equal(tw[0].kind, "closed");
  assert.equal(tw[0].socket.pid, 100);
  assert.equal(tw[0].durationMs, 10);
  assert.equal(tw[0].process?.name, "web");
  assert.deepEqual(
    t.observe(snap(20, [{ ...conn, pid: 0, state: "TIME_WAIT" }], [])),
    [],
    "no event while it lingers",
  );
  assert.deepEqual(t.observe(snap(30, [], [])), [], "no second close when it expires");
  const again = t.observe(snap(40, [conn]));
  assert.deepEqual(
    again.map((c) => c.kind),
    ["opened"],
    "the same 4-tuple used again later is a new endpoint",
  );
});

Deno.test("an ownerless open row never seen with an owner is opened with pid 0", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, []));
  const c = t.observe(snap(1, [{ ...conn, pid: 0 }], []));
  assert.equal(c[0].kind, "opened");
  assert.equal(c[0].socket.pid, 0);
  assert.equal(c[0].process, undefined);
  assert.equal(c[0].source, "poll");
});

Deno.test("an ownerless TIME_WAIT first seen by a poll is one closed, seen after close, and nothing later", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, []));
  const remnant = { ...conn, pid: 0, state: "TIME_WAIT" as const };
  const c = t.observe(snap(1000, [remnant], []));
  assert.deepEqual(c.map((x) => [x.kind, x.seenAfterClose, x.durationExact, x.durationMs, x.source]), [
    ["closed", true, false, undefined, "poll"],
  ]);
  assert.deepEqual(t.observe(snap(2000, [{ ...remnant }], [])), []);
  assert.deepEqual(t.observe(snap(61000, [], [])), [], "its disappearance 60 s later is not a second close");
  assert.equal(t.stats.seenAfterClose, 1);
});

Deno.test("TIME_WAIT rows of the first snapshot stay silent; endpoints open at start close with a bound", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, [listener, { ...conn, remotePort: 1, pid: 0, state: "TIME_WAIT" }]));
  const c = t.observe(snap(5000, []));
  assert.deepEqual(c.map((x) => [x.kind, x.socket.state, x.durationMs, x.durationExact]), [
    ["closed", "LISTEN", 5000, false],
  ]);
});

Deno.test("a close event for an endpoint a poll saw is its one closed; its TIME_WAIT remnant stays silent", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, [listener]));
  assert.equal(t.observe(snap(1000, [listener, conn])).length, 1);
  const event = {
    time: 1500,
    socket: { ...conn, pid: 0, state: "CLOSED" as const },
    bytesSent: 10,
    bytesReceived: 20,
  };
  const c = t.observe({
    ...snap(2000, [listener, { ...conn, pid: 0, state: "TIME_WAIT" }]),
    events: [event],
  });
  assert.deepEqual(c.map((x) => [x.kind, x.time, x.socket.pid, x.process?.name, x.durationMs, x.source]), [
    ["closed", 1500, 100, "web", 500, "event"],
  ]);
  assert.equal(c[0].bytesSent, 10);
  assert.equal(c[0].bytesReceived, 20);
  assert.equal(c[0].durationExact, undefined);
  assert.deepEqual(t.observe(snap(3000, [listener, { ...conn, pid: 0, state: "TIME_WAIT" }])), []);
  assert.deepEqual(t.observe(snap(62000, [listener])), []);
  assert.equal(t.stats.merged, 1);
});

Deno.test("a connection no poll saw is one opened and one closed from its events, with its owner", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, [listener]));
  const event = {
    time: 1405,
    openedAt: 1400,
    openState: "ESTABLISHED" as const,
    socket: { ...conn, state: "CLOSED" as const },
    bytesSent: 3,
    bytesReceived: 4,
  };
  const remnant = { ...conn, pid: 0, state: "TIME_WAIT" as const };
  const c = t.observe({ ...snap(2000, [listener, remnant]), events: [event] });
  assert.deepEqual(
    c.map((x) => [x.kind, x.time, x.socket.state, x.process?.name, x.firstSeen, x.durationMs, x.source]),
    [
      ["opened", 1400, "ESTABLISHED", "web", 1400, undefined, "event"],
      ["closed", 1405, "CLOSED", "web", 1400, 5, "event"],
    ],
  );
  assert.deepEqual(t.observe(snap(3000, [listener, remnant])), [], "the remnant is not a new endpoint");
  const unknownOpen = { time: 3500, socket: { ...conn, remotePort: 2, pid: 0, state: "CLOSED" as const } };
  const d = t.observe({ ...snap(4000, [listener]), events: [unknownOpen] });
  assert.deepEqual(d.map((x) => [x.kind, x.durationMs, x.durationExact]), [
    ["opened", undefined, undefined],
    ["closed", undefined, false],
  ]);
  assert.equal(t.stats.eventOnly, 2);
});

Deno.test("a pid reused by another process is a close plus an open", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, [listener]));
  const other: ProcessInfo = { pid: 100, name: "evil", path: "/tmp/evil", startTime: 5000 };
  const c = t.observe(snap(10, [listener], [other]));
  assert.deepEqual(c.map((x) => [x.kind, x.process?.name]), [["closed", "web"], ["opened", "evil"]]);
  assert.equal(c[0].durationMs, 10);
});

Deno.test("a process caught exiting (read without its start time) is not another process", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, [listener, conn], [web]));
  const exiting: ProcessInfo = { pid: 100, name: "unknown", partial: "exited while read" };
  for (const sockets of [[listener, conn], [{ ...listener }, { ...conn }]]) { // fast path, then new records
    assert.deepEqual(t.observe(snap(1, sockets, [exiting])), [], "no close and open again");
  }
  const c = t.observe(snap(2, [listener], []));
  assert.deepEqual(c.map((x) => [x.kind, x.process?.name, x.process?.startTime]), [[
    "closed",
    "web",
    web.startTime,
  ]]);
});

Deno.test("the same endpoint under another pid is another endpoint", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, [listener]));
  const c = t.observe(snap(1, [{ ...listener, pid: 200 }], [web, { pid: 200, name: "b" }]));
  assert.deepEqual(c.map((x) => [x.kind, x.socket.pid]).sort(), [["closed", 100], ["opened", 200]]);
});

Deno.test("UDP, IPv6 and a duplicate row listed twice", () => {
  const udp6: SocketRecord = {
    protocol: "udp",
    family: 6,
    localAddress: "::1",
    localPort: 53,
    remoteAddress: "::",
    remotePort: 0,
    state: null,
    pid: 100,
  };
  const t = new EndpointTracker();
  const c = t.observe(
    snap(0, [udp6, udp6, { ...udp6, family: 4, localAddress: "127.0.0.1", remoteAddress: "0.0.0.0" }]),
  );
  assert.equal(c.length, 2);
  assert.equal(t.observe(snap(1, [udp6])).length, 1);
});

Deno.test("a collector that reuses record objects: identity fast path, then real changes still seen", () => {
  const t = new EndpointTracker();
  const a = { ...conn };
  const b = { ...listener };
  t.observe(snap(0, [a, b]));
  assert.deepEqual(t.observe(snap(1, [a, b])), [], "the same objects: nothing changed");
  const a2 = { ...a, state: "CLOSE_WAIT" as const };
  const c = t.observe(snap(2, [a2, b]));
  assert.deepEqual(c.map((x) => [x.kind, x.previousState, x.socket.state]), [[
    "changed",
    "ESTABLISHED",
    "CLOSE_WAIT",
  ]]);
  assert.deepEqual(t.observe(snap(3, [a2, b])), []);
  const gone = t.observe(snap(4, [b]));
  assert.deepEqual(gone.map((x) => [x.kind, x.durationMs]), [["closed", 4]]);
  const other: ProcessInfo = { pid: 100, name: "other", startTime: 99 };
  const reused = t.observe(snap(5, [b], [other]));
  assert.deepEqual(
    reused.map((x) => [x.kind, x.process?.name]),
    [["closed", "web"], ["opened", "other"]],
    "pid reuse caught on the fast path too",
  );
});

Deno.test("a close event names the owner a poll could not (the poll's row had pid 0)", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, []));
  const ownerless = { ...conn, pid: 0 };
  assert.equal(t.observe(snap(1000, [ownerless], []))[0].socket.pid, 0);
  const event = { time: 1500, socket: { ...conn, state: "CLOSED" as const } };
  const c = t.observe({ ...snap(2000, []), events: [event] });
  assert.deepEqual(c.map((x) => [x.kind, x.socket.pid, x.process?.name, x.source]), [[
    "closed",
    100,
    "web",
    "event",
  ]]);
  assert.equal(t.stats.merged, 1);
});

/** A snapshot of a poll while an event source reports every close (TIME_WAIT left out). */
function reported(time: number, sockets: SocketRecord[], events: Snapshot["events"] = []): Snapshot {
  return { ...snap(time, sockets), events, omitsTimeWait: true };
}

Deno.test("with closes reported by events, an orphan no poll saw owned is silent until its event logs it", () => {
  const t = new EndpointTracker();
  t.observe(reported(0, [listener]));
  for (const state of ["FIN_WAIT1", "FIN_WAIT2", "LAST_ACK", "CLOSING"] as const) {
    const orphan = { ...conn, remotePort: 1000, pid: 0, inode: 0, state };
    assert.deepEqual(t.observe(reported(1000, [listener, orphan])), [], `${state}: not a new endpoint`);
    assert.deepEqual(t.observe(reported(1500, [listener, { ...orphan }])), [], `${state}: nor later`);
    const event = {
      time: 1700,
      openedAt: 990,
      openState: "ESTABLISHED" as const,
      socket: { ...conn, remotePort: 1000, state: "CLOSED" as const },
    };
    const c = t.observe(reported(2000, [listener], [event]));
    assert.deepEqual(c.map((x) => [x.kind, x.time, x.socket.pid, x.source]), [
      ["opened", 990, 100, "event"],
      ["closed", 1700, 100, "event"],
    ], state);
    assert.deepEqual(t.observe(reported(3000, [listener])), [], `${state}: nothing when the row goes`);
  }
});

Deno.test("with closes reported by events, an owner letting go is closed once, by its event", () => {
  const t = new EndpointTracker();
  t.observe(reported(0, [listener]));
  assert.equal(t.observe(reported(1000, [listener, { ...conn, inode: 7 }])).length, 1);
  const orphan = { ...conn, pid: 0, inode: 0, state: "FIN_WAIT1" as const };
  assert.deepEqual(t.observe(reported(2000, [listener, orphan])), [], "the owner closed it: no change yet");
  assert.deepEqual(t.observe(reported(3000, [listener, { ...orphan, state: "FIN_WAIT2" }])), []);
  const event = { time: 3500, socket: { ...conn, pid: 0, state: "CLOSED" as const }, bytesSent: 9 };
  const c = t.observe(reported(4000, [listener], [event]));
  assert.deepEqual(c.map((x) => [x.kind, x.time, x.socket.pid, x.source, x.bytesSent]), [
    ["closed", 3500, 100, "event", 9],
  ]);
  assert.deepEqual(t.observe(reported(5000, [listener])), []);
  assert.equal(t.stats.merged, 1);
  // the event lost: the endpoint closes when its orphan row goes
  assert.equal(t.observe(reported(6000, [listener, { ...conn, remotePort: 3, inode: 8 }])).length, 1);
  t.observe(reported(7000, [listener, { ...conn, remotePort: 3, pid: 0, inode: 0, state: "LAST_ACK" }]));
  assert.deepEqual(t.observe(reported(8000, [listener])), [], "its close event may still be on its way");
  assert.deepEqual(
    t.observe(reported(8000 + CLOSE_EVENT_WAIT_MS - 1, [listener])),
    [],
    "for CLOSE_EVENT_WAIT_MS",
  );
  const late = t.observe(reported(8000 + CLOSE_EVENT_WAIT_MS, [listener]));
  assert.deepEqual(late.map((x) => [x.kind, x.time, x.source]), [["closed", 8000, "poll"]]);
});

Deno.test("without events, an orphan in FIN_WAIT2 nobody was seen owning is one closed, seen after close", () => {
  const t = new EndpointTracker();
  t.observe(snap(0, []));
  const orphan = { ...conn, pid: 0, inode: 0, state: "FIN_WAIT2" as const };
  const c = t.observe(snap(1000, [orphan], []));
  assert.deepEqual(c.map((x) => [x.kind, x.seenAfterClose, x.source]), [["closed", true, "poll"]]);
  assert.deepEqual(t.observe(snap(2000, [{ ...orphan }], [])), []);
  const open = t.observe(snap(3000, [{ ...conn, pid: 0, inode: 0, remotePort: 4 }], []));
  assert.deepEqual(
    open.map((x) => x.kind),
    ["opened"],
    "an ESTABLISHED row without owner is still an endpoint",
  );
});

Deno.test("with closes reported by events, a socket gone before its event was read is closed once", () => {
  const t = new EndpointTracker();
  t.observe(reported(0, [listener]));
  const udp: SocketRecord = {
    ...conn,
    protocol: "udp",
    state: null,
    remotePort: 0,
    localPort: 5353,
    inode: 9,
  };
  assert.equal(t.observe(reported(1000, [listener, { ...conn, inode: 7 }, udp])).length, 2);
  assert.deepEqual(t.observe(reported(2000, [listener])), [], "gone from the dump, its events not yet read");
  assert.deepEqual(t.observe(reported(2500, [listener])), [], "nor yet");
  const events = [
    { time: 1900, socket: { ...conn, pid: 0, state: "CLOSED" as const }, bytesSent: 3 },
    { time: 1950, socket: { ...udp, pid: 0 } },
  ];
  const c = t.observe(reported(3000, [listener], events));
  assert.deepEqual(c.map((x) => [x.kind, x.socket.protocol, x.time, x.socket.pid, x.source]), [
    ["closed", "tcp", 1900, 100, "event"],
    ["closed", "udp", 1950, 100, "event"],
  ]);
  assert.deepEqual(t.observe(reported(4000, [listener])), []);
  assert.equal(t.stats.eventOnly, 0, "no opened and closed a second time");
  // listed again after one dump without it: still the same endpoint
  assert.equal(t.observe(reported(5000, [listener, { ...conn, remotePort: 6, inode: 10 }])).length, 1);
  assert.deepEqual(t.observe(reported(6000, [listener])), []);
  assert.deepEqual(t.observe(reported(7000, [listener, { ...conn, remotePort: 6, inode: 10 }])), []);
});

Deno.test("a notification later than the wait is the close a poll logged, not a second endpoint; a new connection on the same numbers is", () => {
  const t = new EndpointTracker();
  t.observe(reported(0, [listener]));
  assert.equal(t.observe(reported(1000, [listener, { ...conn, inode: 7 }])).length, 1);
  assert.deepEqual(t.observe(reported(2000, [listener])), [], "missed: its close event may be on its way");
  const closed = t.observe(reported(2000 + CLOSE_EVENT_WAIT_MS, [listener]));
  assert.deepEqual(closed.map((x) => [x.kind, x.time, x.source]), [["closed", 2000, "poll"]]);
  const again = { time: 12_500, openedAt: 12_400, socket: { ...conn, pid: 100, state: "CLOSED" as const } };
  const next = t.observe(reported(3000 + CLOSE_EVENT_WAIT_MS, [listener], [again]));
  assert.deepEqual(
    next.map((x) => [x.kind, x.source]),
    [["opened", "event"], ["closed", "event"]],
    "a new one",
  );
  const late = { time: 1900, openedAt: 900, socket: { ...conn, pid: 100, state: "CLOSED" as const } };
  const merged = t.stats.merged;
  assert.deepEqual(t.observe(reported(4000 + CLOSE_EVENT_WAIT_MS, [listener], [late])), [], "the late one");
  assert.equal(t.stats.merged, merged + 1);
  // an endpoint held since before the start (no traced open): its close time says it
  assert.equal(t.observe(reported(20_000, [listener, { ...conn, remotePort: 4, inode: 9 }])).length, 1);
  t.observe(reported(21_000, [listener]));
  assert.equal(t.observe(reported(21_000 + CLOSE_EVENT_WAIT_MS, [listener])).length, 1);
  const untraced = { time: 20_500, socket: { ...conn, remotePort: 4, pid: 0, state: "CLOSED" as const } };
  assert.deepEqual(t.observe(reported(22_000 + CLOSE_EVENT_WAIT_MS, [listener], [untraced])), []);
});
