import assert from "node:assert/strict";
import { COMMIT_BYTES, LogSet } from "./log_set.ts";
import { LocalTime } from "./local_time.ts";
import { parseLogFileName } from "./file_names.ts";
import { memoryFs } from "./memory_fs.ts";
import { MAX_LINE_BYTES } from "./bounds.ts";
import { BYTE_BUFFER_BYTES, BYTE_BUFFER_KEPT_BYTES, ByteBuffer } from "./byte_buffer.ts";
import type { Change, ProcessInfo, SocketRecord } from "../model/types.ts";

const host = { computerName: "HOST", osName: "TestOS" };
const proc: ProcessInfo = { pid: 42, name: "app", user: "alice", startTime: 1, modules: [] };
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
/** Enough changes for several commits (a `closed` line is about 400 bytes). */
const BURST = 5000;

const socket = (port: number): SocketRecord => ({
  protocol: "tcp",
  family: 4,
  localAddress: "127.0.0.1",
  localPort: port,
  remoteAddress: "127.0.0.1",
  remotePort: 443,
  state: "ESTABLISHED",
  pid: 42,
});

/** Half opened, half closed, ports 1 … n: each PR-EVENTS line and each PR-PORTS line names its port. */
function burst(n: number): Change[] {
  return Array.from(
    { length: n },
    (_, i) =>
      i % 2
        ? { kind: "closed", time: T0, socket: socket(i + 1), process: proc, firstSeen: T0 - 5, durationMs: 5 }
        : { kind: "opened", time: T0, socket: socket(i + 1), process: proc, firstSeen: T0 },
  );
}

function setup() {
  const mem = memoryFs();
  mem.fs.ensureDir("/l");
  const writes: Record<string, number[]> = {};
  const fs = {
    ...mem.fs,
    openAppend(path: string, createNew: boolean) {
      const handle = mem.fs.openAppend(path, createNew);
      const kind = parseLogFileName(path.slice(3))!.kind;
      return {
        ...handle,
        write(bytes: Uint8Array) {
          (writes[kind] ??= []).push(bytes.length);
          return handle.write(bytes);
        },
      };
    },
  };
  const lines: string[] = [];
  const set = new LogSet({
    dir: "/l",
    host,
    localTime: new LocalTime("UTC"),
    fs,
    maxBytes: 64 * 1024 * 1024,
    now: () => T0,
    log: (l) => lines.push(l),
  });
  const text = (kind: string) =>
    [...mem.files].filter(([name]) => parseLogFileName(name.slice(3))?.kind === kind).map(([, t]) => t).join(
      "",
    );
  const eventPorts = () =>
    text("EVENTS").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.localPort !== undefined)
      .map((r) => r.localPort);
  const portsPorts = () =>
    text("PORTS").split("\n").filter((l) => l.startsWith("26/")).map((l) => Number(l.split(",")[3]));
  return { mem, set, writes, lines, eventPorts, portsPorts };
}

Deno.test("a burst is appended in pieces of about COMMIT_BYTES as it is formatted: every change once, in order", () => {
  const t = setup();
  t.set.start({ time: T0, sockets: [], processes: new Map(), warnings: {} });
  const before = t.writes.EVENTS.length; // the header
  t.set.write({ time: T0, changes: burst(BURST) });
  const pieces = t.writes.EVENTS.slice(before);
  const total = pieces.reduce((a, b) => a + b, 0);
  assert.ok(total > 4 * COMMIT_BYTES, `the burst is ${total} bytes: several pieces`);
  assert.ok(pieces.length >= Math.floor(total / (COMMIT_BYTES + MAX_LINE_BYTES)), String(pieces));
  for (const size of pieces) assert.ok(size <= COMMIT_BYTES + MAX_LINE_BYTES, `piece of ${size} bytes`);
  const ports = Array.from({ length: BURST }, (_, i) => i + 1);
  assert.deepEqual(t.eventPorts(), ports);
  assert.deepEqual(t.portsPorts(), ports.filter((p) => p % 2 === 1), "PR-PORTS has every opened, in order");
  assert.equal(t.set.setCount, 1, "no rollover: the pieces go to the same set");
});

Deno.test("a disk that fills in the middle of a burst: the written pieces stay, the rest is written once later", () => {
  const t = setup();
  t.set.start({ time: T0, sockets: [], processes: new Map(), warnings: {} });
  t.mem.space = 3 * COMMIT_BYTES; // a few pieces fit, then ENOSPC part-way through one
  t.set.write({ time: T0, changes: burst(BURST) });
  assert.equal(t.lines.length, 1, t.lines.join("\n"));
  const written = t.eventPorts();
  assert.ok(written.length > 0 && written.length < BURST, `${written.length} written before the disk filled`);
  assert.deepEqual(written, written.map((_, i) => i + 1), "whole changes, from the first, none twice");
  t.mem.space = Infinity;
  t.set.tick(T0 + 1000);
  const ports = Array.from({ length: BURST }, (_, i) => i + 1);
  assert.deepEqual(t.eventPorts(), ports, "PR-EVENTS: every change exactly once");
  assert.deepEqual(t.portsPorts(), ports.filter((p) => p % 2 === 1), "PR-PORTS agrees");
  assert.deepEqual(t.set.losses, { writeFailures: 1, lostChanges: 0, droppedRecords: 0, removedSets: 0 });
});

Deno.test("ByteBuffer.clear keeps a buffer of up to 1 MiB and lets a larger one go", () => {
  const b = new ByteBuffer();
  assert.equal(b.capacity, BYTE_BUFFER_BYTES);
  b.add("x".repeat(300 * 1024));
  const grown = b.capacity;
  assert.ok(grown > BYTE_BUFFER_BYTES && grown <= BYTE_BUFFER_KEPT_BYTES);
  b.clear();
  assert.equal(b.length, 0);
  assert.equal(b.capacity, grown, "a commit-sized buffer is reused");
  b.add("é".repeat(BYTE_BUFFER_KEPT_BYTES));
  assert.equal(b.view().length, 2 * BYTE_BUFFER_KEPT_BYTES);
  b.clear();
  assert.equal(b.capacity, BYTE_BUFFER_BYTES, "an oversized buffer is released");
});
