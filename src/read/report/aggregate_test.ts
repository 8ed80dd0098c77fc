import assert from "node:assert/strict";
import { ReportBuilder } from "./aggregate.ts";
import { BusyTime, GAP_MS, ObservedTime } from "./observed.ts";
import type { ReportChange, ReportRow } from "./rows.ts";

const T0 = Date.parse("2026-11-26T10:00:00Z");
const MIN = 60_000;

function change(event: ReportChange["event"], min: number, o: Partial<ReportChange> = {}): ReportChange {
  return {
    type: "change",
    event,
    time: T0 + min * MIN,
    protocol: "tcp",
    family: 4,
    localAddress: "0.0.0.0",
    localPort: 22,
    remoteAddress: "0.0.0.0",
    remotePort: 0,
    state: "LISTEN",
    pid: 10,
    processName: "sshd",
    user: "root",
    ...o,
  };
}
const marker = (event: string, min: number): ReportRow => ({ type: "marker", event, time: T0 + min * MIN });
const beats = (from: number, to: number) =>
  [...Array(to - from + 1).keys()].map((i) => marker("heartbeat", from + i));

Deno.test("observed time: start/stop records and heartbeats; a silence while heartbeats arrive splits the run", () => {
  const ended: string[] = [];
  const o = new ObservedTime({
    runEnded: (end, why) => ended.push(`${(end - T0) / MIN} ${why}`),
    runStarted: () => {},
  });
  o.see("set-start", T0);
  o.see("monitor-start", T0);
  for (let m = 1; m <= 10; m++) o.see("heartbeat", T0 + m * MIN);
  // the machine slept 30 minutes: no heartbeat from 10 to 40
  for (let m = 40; m <= 45; m++) o.see("heartbeat", T0 + m * MIN);
  o.see("monitor-stop", T0 + 46 * MIN);
  o.see("monitor-start", T0 + 100 * MIN);
  o.see("heartbeat", T0 + 101 * MIN);
  o.finish();
  assert.deepEqual(o.runs.map((r) => [(r.start - T0) / MIN, (r.end - T0) / MIN, r.stopped]), [
    [0, 10, false],
    [40, 46, true],
    [100, 101, false],
  ]);
  assert.equal(o.totalMs, 17 * MIN);
  assert.deepEqual(ended, ["10 gap", "46 stop", "101 restart"]);
  assert.ok(GAP_MS < 3 * MIN && GAP_MS > 2 * MIN);
});

Deno.test("observed time: without heartbeats (older logs) a run lasts from its first record to its last, silences included", () => {
  const o = new ObservedTime({ runEnded: () => {}, runStarted: () => {} });
  for (const m of [0, 1, 50, 90]) o.see("opened", T0 + m * MIN);
  o.finish();
  assert.equal(o.totalMs, 90 * MIN);
  assert.equal(o.heartbeats, 0);
});

Deno.test("busy time is the union of overlapping endpoints per key, paused over gaps", () => {
  const b = new BusyTime();
  b.inc("tcp/80", 0);
  b.inc("tcp/80", 10);
  b.dec("tcp/80", 20);
  b.dec("tcp/80", 30); // [0, 30]: 30, not 20 + 20
  b.inc("tcp/80", 50);
  b.pause(60);
  b.resume(100);
  b.dec("tcp/80", 105); // 10 + 5
  b.inc("tcp/443", 30);
  b.addPast("tcp/443", 0, 40); // closed at 40, opened before the logs: [0, 30] adds, [30, 40] is counted once
  assert.deepEqual([...b.totals(130)], [["tcp/80", 45], ["tcp/443", 130]]);
});

Deno.test("report numbers: shares over observed time, lifetimes cut at a monitor stop, remotes, hours, durations", () => {
  const b = new ReportBuilder("UTC");
  const conn = (event: ReportChange["event"], min: number, o: Partial<ReportChange> = {}) =>
    change(event, min, {
      localAddress: "192.0.2.1",
      localPort: 50000,
      remoteAddress: "203.0.113.9",
      remotePort: 443,
      state: "ESTABLISHED",
      pid: 20,
      processName: "curl",
      user: "alice",
      ...o,
    });
  const rows: ReportRow[] = [
    marker("set-start", 0),
    marker("monitor-start", 0),
    change("opened", 0), // sshd listens the whole run
    conn("opened", 5),
    ...beats(1, 9),
    conn("closed", 10, { durationMs: 5 * MIN, bytesSent: 100, bytesReceived: 2000 }),
    ...beats(10, 69),
    conn("opened", 70, { localPort: 50001, remoteAddress: "2001:db8::1", family: 6 }), // hour 11
    ...beats(71, 79),
    marker("monitor-stop", 80), // cuts the second connection and the listener
    marker("monitor-start", 200),
    change("opened", 200),
    ...beats(201, 219),
    change("changed", 205, { state: "LISTEN" }),
  ];
  for (const r of rows) b.add(r);
  const d = b.finish();
  assert.equal(d.observed.totalMs, 80 * MIN + 19 * MIN);
  assert.equal(d.observed.runs.length, 2);
  const port = (k: string) => d.ports.find((p) => p.key === k)!;
  assert.equal(port("tcp/22").share, 1);
  assert.equal(port("tcp/22").busyMs, 99 * MIN);
  assert.equal(port("tcp/50000").busyMs, 5 * MIN);
  assert.equal(port("tcp/50001").busyMs, 10 * MIN);
  assert.equal(d.processes.find((p) => p.key === "curl")!.busyMs, 15 * MIN);
  assert.deepEqual(d.users.map((u) => [u.key, u.busyMs]), [["root", 99 * MIN], ["alice", 15 * MIN]]);
  assert.deepEqual(d.remotes.map((r) => [r.key, r.opened, r.bytesSent, r.bytesReceived]), [
    ["2001:db8::1", 1, 0, 0],
    ["203.0.113.9", 1, 100, 2000],
  ]);
  assert.equal(d.heatmap.counts[0][10], 2); // all ports, 10:00 UTC: sshd and the first connection
  assert.equal(d.heatmap.counts[0][11], 1);
  assert.equal(d.heatmap.counts[0][13], 1); // 13:20: sshd again after the restart
  assert.deepEqual(d.durations.tcp, [0, 0, 0, 0, 1, 0, 0, 0]); // 5 min: "< 10 min"
  assert.equal(d.durations.bounds, 1); // the connection the stop cut short
  assert.deepEqual(d.timeline.rows, ["tcp 0.0.0.0:22 sshd"]);
  assert.deepEqual(d.timeline.segments.map(([r, s, e, open]) => [r, (s - T0) / MIN, (e - T0) / MIN, open]), [
    [0, 0, 80, false],
    [0, 200, 219, true],
  ]);
  assert.equal(d.counts.stillOpen, 1);
  assert.equal(d.counts.changed, 1);
});

Deno.test("report numbers: a close whose open is not in the logs counts from its first-seen time, clipped to the logs", () => {
  const b = new ReportBuilder("UTC");
  b.add(change("opened", 0, { localPort: 80 }));
  b.add(change("closed", 30, { localPort: 8080, firstSeen: T0 - 60 * MIN }));
  b.add(change("closed", 60, { localPort: 80 }));
  const d = b.finish();
  assert.equal(d.ports.find((p) => p.key === "tcp/8080")!.busyMs, 30 * MIN);
  assert.equal(d.observed.totalMs, 60 * MIN);
});

Deno.test("hour of day follows the zone, DST included", () => {
  const b = new ReportBuilder("Europe/Berlin");
  // 2026-03-29 01:30 UTC is 03:30 CEST (after the switch); 00:30 UTC is 01:30 CET
  b.add(change("opened", 0, { time: Date.parse("2026-03-29T00:30:00Z") }));
  b.add(change("opened", 0, { time: Date.parse("2026-03-29T01:30:00Z"), localPort: 23 }));
  const d = b.finish();
  assert.equal(d.heatmap.counts[0][1], 1);
  assert.equal(d.heatmap.counts[0][3], 1);
  assert.equal(d.heatmap.counts[0][2], 0);
});
