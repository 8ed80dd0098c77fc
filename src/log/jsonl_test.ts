import assert from "node:assert/strict";
import type { Change, ProcessInfo, SocketRecord } from "../model/types.ts";
import { jsonLine } from "../model/text.ts";
import { addEventLine, eventObject, eventRecord, isoTime } from "./jsonl.ts";
import { ByteBuffer } from "./byte_buffer.ts";

/** A small deterministic generator, so that a failure names its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

const HOSTILE = [
  "svc",
  'q"uote',
  "back\\slash",
  "nl\nx",
  "\u2028ls",
  "\u0085nel",
  "\x7fdel",
  "\u009bcsi",
  "\udc80raw",
  "ü",
  "",
];

const recent: ProcessInfo[] = [];

function change(next: () => number): Change {
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
  const maybe = <T>(value: T): T | undefined => (next() < 0.5 ? value : undefined);
  const socket: SocketRecord = {
    protocol: pick(["tcp", "udp"] as const),
    family: pick([4, 6] as const),
    localAddress: pick(["127.0.0.1", "::1", "fe80::1", "0.0.0.0", 'odd\u2028"addr']),
    localPort: Math.floor(next() * 65536),
    remoteAddress: pick(["10.0.0.1", "::", "2001:db8::5"]),
    remotePort: Math.floor(next() * 65536),
    state: pick(["ESTABLISHED", "LISTEN", null, undefined] as const) as SocketRecord["state"],
    pid: Math.floor(next() * 100_000),
  };
  if (next() < 0.3) socket.scopeId = Math.floor(next() * 10);
  if (next() < 0.2) socket.holders = [socket.pid, socket.pid + 1];
  const process: ProcessInfo | undefined = next() < 0.3 && recent.length
    ? pick(recent) // the same record again: its part of the line is made once
    : next() < 0.8
    ? {
      pid: socket.pid,
      name: pick(HOSTILE),
      path: maybe(`/opt/${pick(HOSTILE)}`),
      parentPid: maybe(1),
      parentName: maybe(pick(HOSTILE)),
      user: maybe(pick(HOSTILE)),
      services: maybe(pick([[], ["a", pick(HOSTILE)]])),
      startTime: maybe(1_700_000_000_000 + Math.floor(next() * 1e9)),
      commandLine: maybe("cmd --x"),
    }
    : undefined;
  if (process && recent.length < 8) recent.push(process);
  const time = 1_764_000_000_000 + next() * 1e10; // fractions of a ms too
  const c: Change = {
    kind: pick(["opened", "closed", "changed"] as const),
    time,
    socket,
    process,
    firstSeen: time - Math.floor(next() * 1e6),
  };
  if (next() < 0.5) c.durationMs = pick([5, 0.25, 120_000, NaN]);
  if (next() < 0.3) c.durationExact = false;
  if (next() < 0.2) c.seenAfterClose = true;
  if (next() < 0.6) c.source = pick(["event", "poll"] as const);
  if (next() < 0.4) c.bytesSent = Math.floor(next() * 1e9);
  if (next() < 0.4) c.bytesReceived = Math.floor(next() * 1e9);
  if (next() < 0.3) c.previousState = pick(["SYN_SENT", null] as const);
  if (next() < 0.1) c.extra = { geo: { country: pick(HOSTILE) } };
  return c;
}

Deno.test("eventRecord: byte for byte jsonLine of the flat object, over 20 000 shapes of change", () => {
  const next = random(20261201);
  for (let i = 0; i < 20_000; i++) {
    const c = change(next);
    const host = i % 7 === 0 ? "h\u2028ost" : "host";
    assert.equal(eventRecord(c, host), jsonLine(eventObject(c, host)), `case ${i}`);
  }
});

Deno.test("addEventLine: the bytes of jsonLine of the flat object, over 20 000 shapes of change, one buffer", () => {
  const next = random(20261202);
  const out = new ByteBuffer();
  const decoder = new TextDecoder();
  for (let i = 0; i < 20_000; i++) {
    const c = change(next);
    if (i % 5 === 0) c.time = c.firstSeen + 1; // both times in one second
    const host = i % 7 === 0 ? "h\u2028ost" : "host";
    const start = out.length;
    addEventLine(out, c, host);
    const line = decoder.decode(out.view().subarray(start));
    assert.equal(line, jsonLine(eventObject(c, host)), `case ${i}`);
    if (out.length > 1 << 20) out.clear();
  }
});

Deno.test("isoTime: toISOString for every millisecond of a second, across second, year and epoch boundaries", () => {
  for (const base of [0, 1_764_633_599_000, 1_767_225_599_000, -1000, 253_402_300_799_000]) {
    for (let ms = 0; ms < 2000; ms += 1) {
      const t = base + ms + (ms % 3) / 4;
      assert.equal(isoTime(t), new Date(t).toISOString(), `at ${t}`);
    }
  }
  assert.throws(() => isoTime(NaN), RangeError);
});
