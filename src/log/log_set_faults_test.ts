import assert from "node:assert/strict";
import { LogSet } from "./log_set.ts";
import { LocalTime } from "./local_time.ts";
import { parseLogFileName } from "./file_names.ts";
import { memoryFs } from "./memory_fs.ts";
import { MAX_PENDING_BATCHES } from "./pending.ts";
import type { Change, ProcessInfo, Snapshot, SocketRecord } from "../model/types.ts";
import { UsageError } from "../errors.ts";

const host = { computerName: "HOST", osName: "TestOS" };
const proc: ProcessInfo = {
  pid: 42,
  name: "app",
  user: "alice",
  startTime: 1,
  commandLine: "app --x",
  modules: [],
};
const sock = (port: number): SocketRecord => ({
  protocol: "udp",
  family: 4,
  localAddress: "0.0.0.0",
  localPort: port,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: null,
  pid: 42,
});
const opened = (time: number, port: number, process: ProcessInfo = proc): Change => ({
  kind: "opened",
  time,
  socket: sock(port),
  process,
  firstSeen: time,
});
const snap = (time: number): Snapshot => ({
  time,
  sockets: [],
  processes: new Map([[42, proc]]),
  warnings: {},
});
const T0 = Date.UTC(2026, 10, 26, 10, 0, 0);

function setup(maxBytes?: number) {
  const mem = memoryFs();
  const lines: string[] = [];
  let now = T0;
  const set = new LogSet({
    dir: "/l",
    host,
    localTime: new LocalTime("UTC"),
    fs: mem.fs,
    maxBytes,
    now: () => now,
    log: (l) => lines.push(l),
  });
  const byKind = (kind: string) =>
    [...mem.files].filter(([n]) => parseLogFileName(n.slice(3))?.kind === kind)
      .sort((a, b) => parseLogFileName(a[0].slice(3))!.order - parseLogFileName(b[0].slice(3))!.order)
      .map(([, text]) => text);
  const events = () => byKind("EVENTS").flatMap((t) => t.trim().split("\n")).map((l) => JSON.parse(l));
  const ports = () => byKind("PORTS").flatMap((t) => t.split("\n")).filter((l) => l.startsWith("26/"));
  return { mem, set, lines, byKind, events, ports, at: (t: number) => now = t };
}

Deno.test("disk full: no partial line, batches wait, one line at failure and one at recovery, files agree", () => {
  const t = setup();
  t.set.start(snap(T0));
  t.set.write({ time: T0 + 1000, changes: [opened(T0 + 1000, 1)] });
  t.mem.space = 150; // room for part of the next batch only: a short write, then ENOSPC
  for (let i = 2; i <= 6; i++) {
    t.set.tick(T0 + i * 1000);
    t.set.write({ time: T0 + i * 1000, changes: [opened(T0 + i * 1000, i)] });
  }
  assert.equal(t.lines.length, 1, t.lines.join("\n"));
  assert.match(t.lines[0], /^writing the logs failed: PR-\w+-26-11-26-10-0-0\.\w+: No space left/);
  for (const text of [...t.mem.files.values()]) {
    assert.ok(text === "" || /\n$/.test(text), "whole lines only");
  }
  assert.equal(t.ports().length, 1);
  t.mem.space = Infinity;
  t.set.tick(T0 + 7000);
  assert.equal(t.lines.length, 2);
  assert.equal(t.lines[1], "writing the logs works again: 5 batches written late, nothing lost");
  assert.deepEqual(t.ports().map((l) => Number(l.split(",")[3])), [1, 2, 3, 4, 5, 6]);
  const changes = t.events().filter((e) => e.event === "opened");
  assert.deepEqual(changes.map((e) => e.localPort), [1, 2, 3, 4, 5, 6], "PR-EVENTS agrees with PR-PORTS");
  assert.deepEqual(t.set.losses, { writeFailures: 5, lostChanges: 0, droppedRecords: 0, removedSets: 0 });
});

Deno.test("disk full for long: the queue is bounded and a gap record says when and how much was lost", () => {
  const t = setup();
  t.set.start(snap(T0));
  t.mem.space = 0;
  const n = MAX_PENDING_BATCHES + 10;
  for (let i = 1; i <= n; i++) {
    t.set.write({
      time: T0 + i * 1000,
      changes: [opened(T0 + i * 1000, i), opened(T0 + i * 1000, 10_000 + i)],
    });
  }
  t.set.writeRecord({ event: "heartbeat" });
  assert.equal(t.lines.length, 1);
  t.mem.space = Infinity;
  t.set.tick(T0 + (n + 1) * 1000);
  const gap = t.events().find((e) => e.event === "gap");
  assert.deepEqual(
    [gap.from, gap.to, gap.lostChanges],
    [new Date(T0 + 1000).toISOString(), new Date(T0 + 11_000).toISOString(), 22],
  );
  assert.equal(t.ports().length, (MAX_PENDING_BATCHES - 1) * 2, "the queue held 600 items, one a heartbeat");
  assert.equal(Number(t.ports()[0].split(",")[3]), 12, "the oldest batches were dropped");
  assert.ok(t.events().some((e) => e.event === "heartbeat"));
  assert.match(t.lines[1], /works again: 600 batches written late; 22 changes lost in all/);
  assert.equal(t.set.losses.lostChanges, 22);
  assert.equal(t.set.losses.writeFailures, n + 1);
});

Deno.test("starting on a full disk: one UsageError naming the file, no partial set left", () => {
  const t = setup();
  t.mem.space = 300;
  assert.throws(
    () => t.set.start(snap(T0)),
    (e) => e instanceof UsageError && /\/l\/PR-\w+-26-11-26-10-0-0/.test(e.message),
  );
  assert.deepEqual([...t.mem.files.keys()], []);
});

Deno.test("a failed rollover leaves no file without its header; the set opens whole once space returns", () => {
  const t = setup();
  t.set.start(snap(T0));
  t.mem.space = 100;
  t.set.tick(T0 + 86_400_000); // midnight: the new set's headers do not fit
  t.set.write({ time: T0 + 86_400_000, changes: [opened(T0 + 86_400_000, 7)] });
  assert.equal(t.set.setCount, 1);
  assert.equal(t.byKind("PORTS").length, 1, "no PR-PORTS of the failed set");
  t.mem.space = Infinity;
  t.set.tick(T0 + 86_401_000);
  assert.equal(t.set.setCount, 2);
  for (const kind of ["PORTS", "PIDS"]) assert.match(t.byKind(kind)[1], /^Port Reporter Version/);
  assert.equal(JSON.parse(t.byKind("EVENTS")[1].split("\n")[0]).event, "set-start");
  assert.deepEqual(t.ports().map((l) => Number(l.split(",")[3])), [7]);
});

Deno.test("the directory removed: noticed at the next tick, recreated, new set, one warning and a record", () => {
  const t = setup();
  t.set.start(snap(T0));
  t.mem.removeDir("/l");
  t.at(T0 + 1000);
  t.set.tick(T0 + 1000);
  t.set.write({ time: T0 + 1000, changes: [opened(T0 + 1000, 5)] });
  assert.deepEqual(t.lines, [
    "warning: the log directory /l was removed; it is created again (mode 0700); a new log set starts",
  ]);
  assert.ok(t.mem.dirs.has("/l"));
  const ev = t.events();
  assert.deepEqual(ev.slice(0, 2).map((e) => [e.event, e.reason ?? e.what]), [
    ["set-start", "dir-recreated"],
    ["dir-recreated", "removed"],
  ]);
  assert.deepEqual(t.ports().map((l) => Number(l.split(",")[3])), [5]);
  assert.match(t.byKind("PIDS")[0], /^Port Reporter Version/);
});

Deno.test("a file unlinked or truncated behind the writer: a new set, nothing written into the lost file", () => {
  for (const fault of ["unlinked", "truncated"] as const) {
    const t = setup();
    t.set.start(snap(T0));
    t.set.write({ time: T0 + 500, changes: [opened(T0 + 500, 1)] });
    const portsName = [...t.mem.files.keys()].find((n) => n.includes("PR-PORTS"))!;
    if (fault === "unlinked") t.mem.unlink(portsName);
    else t.mem.truncate(portsName, 10);
    t.at(T0 + 1000);
    t.set.tick(T0 + 1000);
    t.set.write({ time: T0 + 1000, changes: [opened(T0 + 1000, 2)] });
    assert.equal(t.lines.length, 1);
    assert.match(t.lines[0], new RegExp(`PR-PORTS-26-11-26-10-0-0\\.log was ${fault}`));
    assert.equal(t.set.setCount, 2);
    const record = t.events().find((e) => e.event === "log-file-lost");
    assert.deepEqual([record.what, record.file], [fault, "PR-PORTS-26-11-26-10-0-0.log"]);
    assert.match(t.byKind("PORTS").at(-1)!, /\n26\/11\/26,10:0:1,UDP,2,/);
    if (fault === "truncated") {
      assert.equal(t.mem.files.get(portsName)!.length, 10, "no NUL run, nothing appended");
    }
  }
});

Deno.test("stamps: many sets in one second get sequence suffixes, never a stamp ahead of the clock", () => {
  const t = setup(64 * 1024);
  t.set.start(snap(T0));
  for (let i = 0; i < 30; i++) t.set.startNewSet("signal");
  const stamps = [...new Set([...t.mem.files.keys()].map((n) => parseLogFileName(n.slice(3))!.stampText))];
  assert.equal(stamps.length, 31);
  assert.ok(stamps.every((s) => s.startsWith("26-11-26-10-0-0")), "every stamp is the clock's second");
  assert.ok(stamps.includes("26-11-26-10-0-0_31"));
  // a restart in the same second, with names planted for the next stamps, still starts
  const again = new LogSet({ dir: "/l", host, localTime: new LocalTime("UTC"), fs: t.mem.fs });
  again.start(snap(T0 + 200));
  assert.equal(again.stamp, "26-11-26-10-0-0_32");
});

Deno.test("flood: no file passes --max-size, a big batch continues in the next set, lines stay under 16 KB", () => {
  const t = setup(64 * 1024);
  t.set.start(snap(T0));
  const argv = Array.from({ length: 15 }, () => "A".repeat(100_000)).join(" ");
  const modules = Array.from(
    { length: 2000 },
    (_, i) => ({ name: `m${i}`, path: `/lib/${"x".repeat(200)}${i}.so` }),
  );
  const big: ProcessInfo = {
    ...proc,
    name: "n".repeat(50_000),
    commandLine: argv,
    modules,
    path: "\x01".repeat(9000),
  };
  const services = Array.from({ length: 100 }, () => "\x02".repeat(500));
  const hostile = {
    ...big,
    services,
    parentName: "\x03".repeat(5000),
    user: "\x04".repeat(5000),
    partial: "\x05".repeat(5000),
  };
  const snapshot = { ...snap(T0), sockets: Array.from({ length: 5000 }, (_, i) => sock(i)) };
  const changes = Array.from({ length: 300 }, (_, i) => opened(T0 + 1000, 1000 + i, i % 2 ? big : hostile));
  t.set.write({ time: T0 + 1000, changes, snapshot });
  assert.ok(t.set.setCount > 3);
  for (const [name, text] of t.mem.files) {
    const bytes = new TextEncoder().encode(text);
    assert.ok(bytes.length <= 64 * 1024, `${name}: ${bytes.length}`);
    for (const line of text.split("\n")) {
      assert.ok(new TextEncoder().encode(line).length <= 16 * 1024, `${name} line`);
    }
  }
  assert.equal(t.ports().length, 300, "every change is written, split between sets");
  const ev = t.events();
  assert.equal(ev.filter((e) => e.event === "opened").length, 300);
  const processRecords = ev.filter((e) => e.event === "process");
  assert.ok(processRecords.length <= t.set.setCount * 2, "at most one process record per instance per set");
  const pids = t.byKind("PIDS").join("");
  assert.ok(pids.match(/^PID: 42$/gm)!.length <= 2 * t.set.setCount, "one entry per instance per set");
  assert.match(processRecords[0].commandLine, /…\[cut \d+ bytes\]$/);
  assert.ok(ev.filter((e) => e.event === "opened").every((e) => e.commandLine === undefined));
});

Deno.test("retention: whole old sets go, oldest first, never the open set or names that do not parse", () => {
  const mem = memoryFs();
  mem.fs.ensureDir("/r");
  const put = (name: string, size: number) => {
    const h = mem.fs.openAppend(`/r/${name}`, true);
    h.write(new Uint8Array(size));
    h.close();
  };
  put("PR-PORTS-26-01-1-0-0-0.log", 100); // 329 days old
  put("PR-EVENTS-26-01-1-0-0-0.jsonl", 100);
  put("PR-PORTS-26-11-20-0-0-0.log", 600);
  put("PR-PORTS-26-11-21-0-0-0.log", 600);
  put("PR-PORTS-20-01-1-0-0-0.txt", 5000); // does not parse
  put("notes.log", 5000);
  const set = new LogSet({
    dir: "/r",
    host,
    localTime: new LocalTime("UTC"),
    fs: mem.fs,
    retention: { maxAgeMs: 90 * 86_400_000, maxTotalBytes: 2000 },
  });
  set.start(snap(T0));
  const names = [...mem.files.keys()].map((n) => n.slice(3)).sort();
  assert.ok(
    !names.includes("PR-PORTS-26-01-1-0-0-0.log") && !names.includes("PR-EVENTS-26-01-1-0-0-0.jsonl"),
  );
  assert.ok(!names.includes("PR-PORTS-26-11-20-0-0-0.log"), "the oldest set goes while over the total");
  assert.ok(names.includes("PR-PORTS-26-11-21-0-0-0.log"));
  assert.ok(names.includes("PR-PORTS-20-01-1-0-0-0.txt") && names.includes("notes.log"));
  assert.equal(set.losses.removedSets, 2);
  const events = mem.files.get(`/r/PR-EVENTS-${set.stamp}.jsonl`)!.trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.deepEqual(events.filter((e) => e.event === "retention").map((e) => [e.stamp, e.reason, e.bytes]), [
    ["26-01-1-0-0-0", "max-age", 200],
    ["26-11-20-0-0-0", "max-total-size", 600],
  ]);
});

Deno.test("the directory replaced by one that fails the trust check: writing waits, nothing goes into it", () => {
  const mem = memoryFs();
  const lines: string[] = [];
  let trusted = true;
  const set = new LogSet({
    dir: "/l",
    host,
    localTime: new LocalTime("UTC"),
    fs: mem.fs,
    log: (l) => lines.push(l),
    checkDir: () => (trusted ? undefined : "/l is writable by others (mode 0777)"),
  });
  set.start(snap(T0));
  mem.removeDir("/l");
  mem.fs.ensureDir("/l"); // another directory in its place
  trusted = false;
  set.tick(T0 + 1000);
  set.write({ time: T0 + 1000, changes: [opened(T0 + 1000, 9)] });
  assert.deepEqual([...mem.files.keys()], [], "nothing written into the replacing directory");
  assert.match(lines[0], /was replaced by another directory/);
  assert.match(lines[1], /writing the logs failed: log directory: \/l is writable by others/);
  trusted = true;
  set.tick(T0 + 2000);
  assert.match(lines[2], /works again/);
  const events = [...mem.files].filter(([n]) => n.includes("EVENTS")).map(([, t]) => t).join("");
  assert.match(events, /"reason":"dir-replaced"/);
  assert.match(events, /"event":"opened".*"localPort":9/);
});

Deno.test("a PR-ALERTS name taken behind the writer: the alert goes into a new set", () => {
  const t = setup();
  t.set.start(snap(T0));
  const h = t.mem.fs.openAppend(`/l/PR-ALERTS-${t.set.stamp}.jsonl`, true);
  h.close();
  const alert = { pluginId: "p", severity: "warning" as const, message: "m", time: T0 + 1000 };
  t.set.write({ time: T0 + 1000, changes: [], alerts: [alert] });
  t.set.tick(T0 + 2000);
  assert.equal(t.set.setCount, 2);
  assert.equal(
    t.mem.files.get(`/l/PR-ALERTS-26-11-26-10-0-0.jsonl`),
    "",
    "the planted file is not written to",
  );
  assert.match(t.byKind("ALERTS").at(-1)!, /"message":"m"/);
});
