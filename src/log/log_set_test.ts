import assert from "node:assert/strict";
import { LogSet } from "./log_set.ts";
import { memoryFs as newMemoryFs } from "./memory_fs.ts";
import { LocalTime } from "./local_time.ts";
import { parseLogFileName } from "./file_names.ts";
import type { Change, ProcessInfo, Snapshot, SocketRecord } from "../model/types.ts";

/** A memory file system with the test's view: files by kind, in stamp order. */
function memoryFs() {
  const mem = newMemoryFs();
  mem.fs.ensureDir("/logs");
  mem.fs.ensureDir("/l");
  const byKind = (kind: string) =>
    [...mem.files.keys()].filter((n) => parseLogFileName(n.split("/").pop()!)?.kind === kind).sort((a, b) =>
      parseLogFileName(a.split("/").pop()!)!.order - parseLogFileName(b.split("/").pop()!)!.order
    );
  return Object.assign(mem, { byKind });
}

const host = { computerName: "HOST", osName: "TestOS" };
const proc: ProcessInfo = { pid: 42, name: "app", user: "alice", startTime: 1, modules: [] };
const sock = (port: number): SocketRecord => ({
  protocol: "tcp",
  family: 4,
  localAddress: "127.0.0.1",
  localPort: port,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: "LISTEN",
  pid: 42,
});
const opened = (time: number, port: number, process: ProcessInfo = proc): Change => ({
  kind: "opened",
  time,
  socket: sock(port),
  process,
  firstSeen: time,
});
const snap = (time: number, sockets: SocketRecord[] = []): Snapshot => ({
  time,
  sockets,
  processes: new Map([[42, proc]]),
  warnings: {},
});
const T0 = Date.UTC(2026, 10, 26, 23, 59, 58);

Deno.test("a start writes PR-INITIAL with the endpoints, PR-PORTS/PR-PIDS headers, one stamp for all", () => {
  const m = memoryFs();
  const set = new LogSet({ dir: "/logs", host, localTime: new LocalTime("UTC"), fs: m.fs });
  set.start(snap(T0, [sock(80)]));
  assert.equal(set.stamp, "26-11-26-23-59-58");
  assert.deepEqual([...m.files.keys()].sort(), [
    "/logs/PR-EVENTS-26-11-26-23-59-58.jsonl",
    "/logs/PR-INITIAL-26-11-26-23-59-58.log",
    "/logs/PR-PIDS-26-11-26-23-59-58.log",
    "/logs/PR-PORTS-26-11-26-23-59-58.log",
  ]);
  const initial = m.files.get("/logs/PR-INITIAL-26-11-26-23-59-58.log")!;
  assert.match(initial, /^Port Reporter Version 1\.01 Log File\n\nService initialization log\n/);
  assert.match(initial, / TCP +127\.0\.0\.1:80 +0\.0\.0\.0:0 +LISTEN +42 +app +alice\n/);
  assert.match(initial, /\nPID: 42\nProcess: app\n/);
  assert.equal(
    m.files.get("/logs/PR-EVENTS-26-11-26-23-59-58.jsonl"),
    `{"v":1,"event":"set-start","time":"2026-11-26T23:59:58.000Z","host":"HOST","stamp":"26-11-26-23-59-58","reason":"start"}\n`,
  );
});

Deno.test("writeRecord adds v, time and host; startNewSet opens a set with every header and its reason", () => {
  const m = memoryFs();
  let now = T0 - 5000;
  const set = new LogSet({ dir: "/l", host, localTime: new LocalTime("UTC"), fs: m.fs, now: () => now });
  set.start(snap(T0 - 5000));
  now += 1500;
  set.writeRecord({ event: "clock-jump", fromTime: "x", byMs: -3600_000 });
  now += 1000;
  set.startNewSet("clock-jump");
  assert.equal(set.setCount, 2);
  assert.equal(set.stamp, "26-11-26-23-59-55");
  const [first, second] = m.byKind("EVENTS").map((n) =>
    m.files.get(n)!.trim().split("\n").map((l) => JSON.parse(l))
  );
  assert.deepEqual(first[1], {
    v: 1,
    event: "clock-jump",
    time: "2026-11-26T23:59:54.500Z",
    host: "HOST",
    fromTime: "x",
    byMs: -3600_000,
  });
  assert.deepEqual(second, [{
    v: 1,
    event: "set-start",
    time: "2026-11-26T23:59:55.500Z",
    host: "HOST",
    stamp: "26-11-26-23-59-55",
    reason: "clock-jump",
  }]);
  assert.match(m.files.get(m.byKind("PORTS")[1])!, /^Port Reporter Version/);
  assert.match(m.files.get(m.byKind("PIDS")[1])!, /^Port Reporter Version/);
  assert.deepEqual(set.losses, { writeFailures: 0, lostChanges: 0, droppedRecords: 0, removedSets: 0 });
});

Deno.test("lines go to PR-PORTS, a pid is described once per set, events carry every change", () => {
  const m = memoryFs();
  const set = new LogSet({ dir: "/l", host, localTime: new LocalTime("UTC"), fs: m.fs, eol: "\r\n" });
  set.start(snap(T0));
  set.write({ time: T0 + 1000, changes: [opened(T0 + 1000, 81), opened(T0 + 1000, 82)] });
  set.write({
    time: T0 + 1500,
    changes: [{ ...opened(T0, 81), kind: "closed", time: T0 + 1500, durationMs: 500 }],
  });
  const ports = m.files.get(m.byKind("PORTS")[0])!;
  assert.ok(ports.endsWith(
    "26/11/26,23:59:59,TCP,81,127.0.0.1,,0.0.0.0,42,app,<alice>\r\n26/11/26,23:59:59,TCP,82,127.0.0.1,,0.0.0.0,42,app,<alice>\r\n",
  ));
  assert.ok(!ports.replaceAll("\r\n", "").includes("\n"), "classic files use CRLF throughout");
  const pids = m.files.get(m.byKind("PIDS")[0])!;
  assert.equal(pids.match(/PID: 42/g)?.length, 1);
  const events = m.files.get(m.byKind("EVENTS")[0])!.trim().split("\n").map((l) => JSON.parse(l))
    .filter((e) => e.event !== "set-start" && e.event !== "process");
  assert.deepEqual(events.map((e) => [e.event, e.localPort, e.durationMs]), [
    ["opened", 81, undefined],
    ["opened", 82, undefined],
    ["closed", 81, 500],
  ]);
  assert.equal(events[0].processName, "app");
  assert.equal(events[0].user, "alice");
});

Deno.test("midnight opens a new PORTS/PIDS/EVENTS set (no PR-INITIAL) and describes pids again", () => {
  const m = memoryFs();
  const set = new LogSet({ dir: "/l", host, localTime: new LocalTime("UTC"), fs: m.fs });
  set.start(snap(T0));
  set.write({ time: T0 + 1000, changes: [opened(T0 + 1000, 81)] });
  set.write({ time: T0 + 2000, changes: [opened(T0 + 2000, 82)] }); // 00:00:00 next day
  assert.equal(set.setCount, 2);
  assert.equal(set.stamp, "26-11-27-0-0-0");
  assert.equal(m.byKind("INITIAL").length, 1);
  const [oldPorts, newPorts] = m.byKind("PORTS").map((n) => m.files.get(n)!);
  assert.match(oldPorts, /,81,/);
  assert.doesNotMatch(oldPorts, /,82,/);
  assert.match(newPorts, /Check PR-PIDS-26-11-27-0-0-0\.log/);
  assert.match(newPorts, /^26\/11\/27,0:0:0,TCP,82,/m);
  assert.match(m.files.get(m.byKind("PIDS")[1])!, /PID: 42/);
  set.tick(T0 + 3000);
  assert.equal(set.setCount, 2, "tick on the same day does nothing");
  set.tick(T0 + 2000 + 86_400_000);
  assert.equal(set.setCount, 3, "tick rolls over at the next midnight even without changes");
});

Deno.test("size: files never pass the limit, no line is split or lost, stamps stay unique", () => {
  const m = memoryFs();
  const maxBytes = 1000;
  const set = new LogSet({ dir: "/l", host, localTime: new LocalTime("UTC"), fs: m.fs, maxBytes });
  set.start(snap(T0 - 10_000));
  const total = 200;
  for (let i = 0; i < total; i++) set.write({ time: T0 - 9_000, changes: [opened(T0 - 9_000, 1000 + i)] });
  assert.ok(set.setCount > 3, `rotated ${set.setCount} times`);
  const portFiles = m.byKind("PORTS");
  assert.equal(new Set(portFiles).size, set.setCount);
  const lines: string[] = [];
  for (const name of [...portFiles, ...m.byKind("PIDS"), ...m.byKind("EVENTS")]) {
    assert.ok(new TextEncoder().encode(m.files.get(name)!).length <= maxBytes, `${name} is within the limit`);
  }
  for (const name of portFiles) {
    lines.push(...m.files.get(name)!.split("\n").filter((l) => l.startsWith("26/")));
  }
  assert.deepEqual(
    lines.map((l) => Number(l.split(",")[3])),
    Array.from({ length: total }, (_, i) => 1000 + i),
  );
  const events = m.byKind("EVENTS").flatMap((n) => m.files.get(n)!.trim().split("\n"));
  assert.equal(events.filter((l) => /"event":"(opened|closed)"/.test(l)).length, total);
  assert.equal(events.filter((l) => l.includes('"set-start"')).length, set.setCount);
});

Deno.test("a restart within the same second does not overwrite the previous set", () => {
  const m = memoryFs();
  const opts = { dir: "/l", host, localTime: new LocalTime("UTC"), fs: m.fs };
  const first = new LogSet(opts);
  first.start(snap(T0));
  first.close();
  const second = new LogSet(opts);
  second.start(snap(T0 + 300));
  assert.notEqual(second.stamp, first.stamp);
  assert.equal(m.byKind("INITIAL").length, 2);
});
