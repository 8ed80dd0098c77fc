import assert from "node:assert/strict";
import { MonitorControl, runMonitor } from "./monitor.ts";
import { LogSet } from "../log/log_set.ts";
import { memoryFs } from "../log/memory_fs.ts";
import { LocalTime } from "../log/local_time.ts";
import type { Collector, Snapshot, SocketRecord } from "../model/types.ts";

/** A virtual clock whose sleep advances time instantly. */
function virtualTime(start: number) {
  let now = start;
  return {
    clock: { now: () => now },
    advance: (ms: number) => (now += ms),
    sleep: (ms: number) => {
      now += ms;
      return Promise.resolve();
    },
  };
}

const sock = (port: number): SocketRecord => ({
  protocol: "udp",
  family: 4,
  localAddress: "127.0.0.1",
  localPort: port,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: null,
  pid: 7,
});

/** A scripted collector: poll i returns script[i] (or throws when it is an Error), then stops the run. */
function scripted(
  time: ReturnType<typeof virtualTime>,
  script: (SocketRecord[] | Error)[],
  stop: AbortController,
  pollCostMs = 0,
) {
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const collector: Collector = {
    async collect(): Promise<Snapshot> {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      time.advance(pollCostMs);
      inFlight--;
      const step = script[calls++];
      if (calls >= script.length) stop.abort();
      if (step instanceof Error) throw step;
      return {
        time: time.clock.now(),
        sockets: step ?? [],
        processes: new Map([[7, { pid: 7, name: "p", startTime: 1 }]]),
        warnings: calls === 2 ? { "process-vanished": 1 } : {},
      };
    },
    hostInfo: () => ({ computerName: "H", osName: "OS" }),
    close() {},
  };
  return { collector, stats: () => ({ maxInFlight, calls }) };
}

function memoryLogSet() {
  const mem = memoryFs();
  const logSet = new LogSet({
    dir: "/x",
    host: { computerName: "H", osName: "OS" },
    localTime: new LocalTime("UTC"),
    fs: mem.fs,
  });
  return {
    logSet,
    /** Every file as `path|text`. */
    get written() {
      return [...mem.files].map(([path, text]) => path + "|" + text);
    },
    closed: () => mem.openHandles() === 0,
  };
}

Deno.test("polls in sequence, logs opens and closes, counts warnings and faults, closes files on stop", async () => {
  const time = virtualTime(Date.UTC(2026, 0, 1, 12));
  const stop = new AbortController();
  const { collector, stats } = scripted(
    time,
    [[sock(1)], [sock(1), sock(2)], new Error("EIO"), [sock(2)]],
    stop,
  );
  const m = memoryLogSet();
  const lines: string[] = [];
  let started = 0;
  const result = await runMonitor({
    collector,
    logSet: m.logSet,
    clock: time.clock,
    monotonic: time.clock,
    intervalMs: 1000,
    signal: stop.signal,
    log: (l) => lines.push(l),
    sleep: time.sleep,
    onStarted: () => started++,
  });
  assert.equal(started, 1);
  assert.equal(stats().maxInFlight, 1, "never two polls at once");
  assert.equal(result.polls, 3);
  assert.equal(result.collectErrors, 1);
  assert.equal(result.changes, 2, "port 2 opened, port 1 closed");
  assert.deepEqual(result.warnings, { "process-vanished": 1 });
  assert.ok(
    lines.some((l) => l.startsWith("warning: a process ended before its details could be read")),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => /^polling failed: EIO; retrying/.test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => /^polling works again after 1 failure in 1 s$/.test(l)), lines.join("\n"));
  const ports = m.written.filter((w) => w.includes("PR-PORTS") && w.includes(",UDP,"));
  assert.equal(ports.length, 1);
  assert.match(ports[0], /,UDP,2,127\.0\.0\.1,\*,\*,7,p,<unknown>/);
  assert.ok(m.written.some((w) => w.includes("PR-EVENTS") && w.includes('"event":"closed"')));
  assert.ok(m.closed(), "every file is closed at stop");
});

Deno.test("a poll slower than the interval counts as an overrun and the missed ticks are skipped", async () => {
  const time = virtualTime(0);
  const stop = new AbortController();
  const { collector, stats } = scripted(time, [[], [], [], []], stop, 2500);
  const result = await runMonitor({
    collector,
    logSet: memoryLogSet().logSet,
    clock: time.clock,
    monotonic: time.clock,
    intervalMs: 1000,
    signal: stop.signal,
    log: () => {},
    sleep: time.sleep,
  });
  assert.equal(stats().calls, 4);
  assert.equal(result.overruns, 3);
  assert.equal(result.slowestPollMs, 2500);
});

Deno.test("an abort during the wait ends the run promptly with real timers", async () => {
  const stop = new AbortController();
  let calls = 0;
  const collector: Collector = {
    collect: () =>
      Promise.resolve({ time: Date.now(), sockets: [], processes: new Map(), warnings: {} }).finally(() =>
        calls++
      ),
    hostInfo: () => ({ computerName: "H", osName: "OS" }),
    close() {},
  };
  const t0 = performance.now();
  const run = runMonitor({
    collector,
    logSet: memoryLogSet().logSet,
    clock: { now: Date.now },
    intervalMs: 60_000,
    signal: stop.signal,
    log: () => {},
    onStarted: () => setTimeout(() => stop.abort(), 10),
  });
  const result = await run;
  assert.equal(result.polls, 1);
  assert.equal(calls, 1);
  assert.ok(performance.now() - t0 < 30_000, "did not wait for the 60 s interval");
});

/** A log set in memory that also records the calls of the records interface (writeRecord, startNewSet). */
function recordingLogSet() {
  const m = memoryLogSet();
  const calls: { record?: Record<string, unknown>; newSet?: string }[] = [];
  const extended = Object.defineProperties(m.logSet, {
    writeRecord: { value: (record: Record<string, unknown>) => void calls.push({ record }) },
    startNewSet: { value: (newSet: string) => void calls.push({ newSet }) },
    losses: { value: { writeFailures: 2, lostChanges: 5, droppedRecords: 1 } },
  });
  return {
    logSet: extended,
    calls,
    get written() {
      return m.written;
    },
  };
}

/** Two clocks: the monotonic one advances with the sleeps, the wall one also jumps when told to. */
function twoClocks(start: number) {
  let mono = 1_000;
  let wallOffset = start - mono;
  return {
    wall: { now: () => mono + wallOffset },
    monotonic: { now: () => mono },
    jump: (ms: number) => (wallOffset += ms),
    sleep: (ms: number) => {
      mono += ms;
      return Promise.resolve();
    },
  };
}

Deno.test("a wall-clock jump either way is reported once, starts a new set, and durations stay monotonic", async () => {
  const t = twoClocks(Date.UTC(2026, 0, 1, 12));
  const stop = new AbortController();
  const script: [SocketRecord[], number][] = [
    [[sock(1)], 0],
    [[sock(1), sock(2)], 0],
    [[sock(1), sock(2)], 86_400_000], // set forward one day
    [[sock(1)], 0], // port 2 closed: it lived 2 polls of monotonic time
    [[sock(1)], -86_400_000 - 3_600_000], // set back a day and an hour
    [[sock(1)], 30_000], // NTP-sized step: not a jump
    [[], 0],
  ];
  let i = 0;
  const collector: Collector = {
    collect() {
      const [sockets, jump] = script[i++];
      t.jump(jump);
      if (i >= script.length) stop.abort();
      return Promise.resolve({ time: t.wall.now(), sockets, processes: new Map(), warnings: {} });
    },
    hostInfo: () => ({ computerName: "H", osName: "OS" }),
    close() {},
  };
  const r = recordingLogSet();
  const events: string[] = [];
  const lines: string[] = [];
  const result = await runMonitor({
    collector,
    logSet: r.logSet,
    clock: t.wall,
    monotonic: t.monotonic,
    intervalMs: 1000,
    signal: stop.signal,
    log: (l) => lines.push(l),
    sleep: t.sleep,
  });
  for (const w of r.written) if (w.includes("PR-EVENTS")) events.push(...w.split("|")[1].trim().split("\n"));
  assert.equal(result.clockJumps, 2);
  assert.deepEqual(r.calls.filter((c) => c.newSet).map((c) => c.newSet), ["clock-jump", "clock-jump"]);
  const jumps = r.calls.filter((c) => c.record?.event === "clock-jump").map((c) => c.record!.jumpMs);
  assert.deepEqual(jumps, [86_400_000, -90_000_000]);
  const jumpLines = lines.filter((l) => l.startsWith("the system clock jumped"));
  assert.equal(jumpLines.length, 2, lines.join("\n"));
  assert.match(
    jumpLines[0],
    /forward by 86400 s \(expected 2026-01-01T12:00:02\.000Z, read 2026-01-02T12:00:02\.000Z\)/,
  );
  assert.match(jumpLines[1], /back by 90000 s/);
  const closed = events.map((e) => JSON.parse(e)).filter((e) => e.event === "closed");
  assert.deepEqual(closed.map((e) => [e.localPort, e.durationMs]), [[2, 2000], [1, 6000]]);
  assert.equal(closed[0].time, "2026-01-02T12:00:03.000Z", "timestamps are wall time");
  assert.equal(closed[0].firstSeen, "2026-01-01T12:00:01.000Z", "first seen as the opening poll logged it");
});

Deno.test("monitor-start, a heartbeat every 60 s and monitor-stop with the losses go into PR-EVENTS", async () => {
  const t = twoClocks(Date.UTC(2026, 0, 1, 12));
  const stop = new AbortController();
  let polls = 0;
  const collector: Collector = {
    collect() {
      if (++polls > 150) stop.abort();
      return Promise.resolve({ time: t.wall.now(), sockets: [], processes: new Map(), warnings: {} });
    },
    hostInfo: () => ({ computerName: "H", osName: "OS" }),
    close() {},
  };
  const r = recordingLogSet();
  const result = await runMonitor({
    collector,
    logSet: r.logSet,
    clock: t.wall,
    monotonic: t.monotonic,
    intervalMs: 1000,
    signal: stop.signal,
    log: () => {},
    sleep: t.sleep,
    startRecord: { version: "9.9.9" },
  });
  const kinds = r.calls.map((c) => c.record?.event);
  assert.deepEqual(kinds, ["monitor-start", "heartbeat", "heartbeat", "monitor-stop"]);
  assert.deepEqual(r.calls[0].record, {
    event: "monitor-start",
    pid: Deno.pid,
    intervalMs: 1000,
    version: "9.9.9",
  });
  assert.deepEqual(r.calls[1].record, { event: "heartbeat", polls: 61, changes: 0 });
  assert.deepEqual(r.calls[3].record, {
    event: "monitor-stop",
    polls: 151,
    changes: 0,
    writeFailures: 2,
    lostChanges: 5,
    droppedRecords: 1,
  });
  assert.deepEqual(result.losses, { writeFailures: 2, lostChanges: 5, droppedRecords: 1 });
});

Deno.test("a new-set request wakes the wait, starts a set at once and keeps the poll schedule", async () => {
  const stop = new AbortController();
  const control = new MonitorControl();
  let polls = 0;
  const collector: Collector = {
    collect() {
      polls++;
      return Promise.resolve({ time: Date.now(), sockets: [], processes: new Map(), warnings: {} });
    },
    hostInfo: () => ({ computerName: "H", osName: "OS" }),
    close() {},
  };
  const r = recordingLogSet();
  const lines: string[] = [];
  const run = runMonitor({
    collector,
    logSet: r.logSet,
    clock: { now: Date.now },
    intervalMs: 60_000,
    signal: stop.signal,
    control,
    log: (l) => lines.push(l),
    onStarted: () => {
      setTimeout(() => control.newSet("signal"), 10);
      setTimeout(() => stop.abort(), 200);
    },
  });
  const result = await run;
  assert.equal(result.requestedSets, 1);
  assert.equal(polls, 1, "the request did not cause a poll");
  assert.deepEqual(r.calls.filter((c) => c.newSet).map((c) => c.newSet), ["signal"]);
  assert.deepEqual(lines, ["starting a new log set (signal)"]);
});

Deno.test("polls failing in a row: one line when it starts, one when it recovers; a throwing log stops nothing", async () => {
  const time = virtualTime(0);
  const stop = new AbortController();
  const script = [[], ...Array(20).fill(new Error("netlink: EBUSY")), [], [], new Error("again"), []];
  const { collector } = scripted(time, script, stop);
  const lines: string[] = [];
  const result = await runMonitor({
    collector,
    logSet: memoryLogSet().logSet,
    clock: time.clock,
    monotonic: time.clock,
    intervalMs: 200,
    signal: stop.signal,
    log: (l) => {
      lines.push(l);
      throw new Error("ENOSPC: stderr is full");
    },
    sleep: time.sleep,
  });
  assert.equal(result.collectErrors, 21);
  assert.equal(result.polls, 4);
  assert.deepEqual(lines, [
    "polling failed: netlink: EBUSY; retrying, one line when it works again",
    "polling works again after 20 failures in 4 s",
    "polling failed: again; retrying, one line when it works again",
    "polling works again after 1 failure in 0 s",
  ]);
});

Deno.test("kernel events keep their own times and exact durations across a clock jump", async () => {
  const t = twoClocks(Date.UTC(2026, 0, 1, 12));
  const stop = new AbortController();
  let i = 0;
  const collector: Collector = {
    collect() {
      i++;
      if (i === 2) t.jump(86_400_000);
      if (i >= 3) stop.abort();
      const wall = t.wall.now();
      const events = i === 2 ? [{ time: wall - 10, openedAt: wall - 15, socket: sock(9) }] : undefined;
      return Promise.resolve({ time: wall, sockets: [], processes: new Map(), warnings: {}, events });
    },
    hostInfo: () => ({ computerName: "H", osName: "OS" }),
    close() {},
  };
  const r = recordingLogSet();
  await runMonitor({
    collector,
    logSet: r.logSet,
    clock: t.wall,
    monotonic: t.monotonic,
    intervalMs: 1000,
    signal: stop.signal,
    log: () => {},
    sleep: t.sleep,
  });
  const events = r.written.filter((w) => w.includes("PR-EVENTS")).flatMap((w) =>
    w.split("|")[1].trim().split("\n")
  )
    .filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.localPort === 9);
  assert.deepEqual(events.map((e) => [e.event, e.time, e.firstSeen, e.durationMs]), [
    ["opened", "2026-01-02T12:00:00.985Z", "2026-01-02T12:00:00.985Z", undefined],
    ["closed", "2026-01-02T12:00:00.990Z", "2026-01-02T12:00:00.985Z", 5],
  ]);
});
