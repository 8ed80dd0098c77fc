import assert from "node:assert/strict";
import {
  parseTraceFormat,
  PERF_HEADER_SIZE,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  readPerfRecords,
  SAMPLE_RAW_OFFSET,
  TcpStateMachine,
  type TraceSample,
} from "./tracepoint_decode.ts";
import { fixtureBytes, fixtureText } from "../fixtures_test_util.ts";
import type { TracedClose } from "./capture.ts";
import { PERF_ATTR_OFFSETS, PERF_ATTR_SIZE, SAMPLE_TYPE } from "./perf_rings.ts";

/** The samples of `inet_sock_set_state_samples.bin` (see capture_event_fixtures.ts). */
function capturedSamples(): TraceSample[] {
  const bytes = fixtureBytes("inet_sock_set_state_samples.bin");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const samples: TraceSample[] = [];
  for (let at = 0; at < bytes.byteLength;) {
    const length = view.getUint32(at + 12, true);
    samples.push({
      pid: view.getUint32(at, true),
      time: view.getFloat64(at + 4, true),
      raw: new DataView(bytes.buffer, bytes.byteOffset + at + 16, length),
      at: 0,
      size: length,
    });
    at += 16 + length;
  }
  return samples;
}

const CHILD = 27345, PARENT = 27324, PORT = 40079;

Deno.test("perf_event_attr layout is the kernel's (uapi perf_event.h, PERF_ATTR_SIZE_VER5)", () => {
  assert.equal(PERF_ATTR_SIZE, 112);
  assert.deepEqual(PERF_ATTR_OFFSETS, {
    type: 0,
    size: 4,
    config: 8,
    samplePeriod: 16,
    sampleType: 24,
    flags: 40,
    wakeupEvents: 48,
    clockid: 92,
  });
  assert.equal(SAMPLE_TYPE, 0x406n);
  assert.equal(SAMPLE_RAW_OFFSET, 28);
});

Deno.test("the tracepoint format of this kernel gives the id and the field offsets", () => {
  const { id, layout } = parseTraceFormat(fixtureText("inet_sock_set_state_format.txt"));
  assert.equal(id, 2287);
  assert.deepEqual(layout, {
    common_flags: 2,
    common_pid: 4,
    skaddr: 8,
    oldstate: 16,
    newstate: 20,
    sport: 24,
    dport: 26,
    family: 28,
    protocol: 30,
    saddr: 32,
    daddr: 36,
    saddr_v6: 40,
    daddr_v6: 56,
  });
  assert.throws(
    () => parseTraceFormat("ID: 5\nformat:\n\tfield:int oldstate;\toffset:16;\tsize:4;"),
    /common_flags/,
  );
});

Deno.test("captured state changes: the connecting child, the accepted side, the listener, with their times", () => {
  const { layout } = parseTraceFormat(fixtureText("inet_sock_set_state_format.txt"));
  const named: number[] = [];
  const machine = new TcpStateMachine(layout, (pid) => named.push(pid));
  const closes = new Map<string, TracedClose>();
  const samples = capturedSamples();
  for (const sample of samples) machine.observe(sample, closes);
  assert.equal(machine.size, 0, "every socket followed reached CLOSE");
  const client = [...closes].find(([key]) => key.endsWith(` 127.0.0.1 ${PORT}`))!;
  const clientPort = client[0].split(" ")[2];
  assert.deepEqual(
    [...closes].map(([key, c]) => [key, c.pid, c.openState]).sort(),
    [
      [`tcp4 127.0.0.1 ${PORT} 0.0.0.0 0`, PARENT, "LISTEN"],
      [`tcp4 127.0.0.1 ${PORT} 127.0.0.1 ${clientPort}`, PARENT, "ESTABLISHED"],
      [`tcp4 127.0.0.1 ${clientPort} 127.0.0.1 ${PORT}`, CHILD, "ESTABLISHED"],
    ].sort(),
  );
  assert.ok(client[1].openedAt! <= client[1].closedAt);
  assert.ok(named.includes(CHILD) && named.includes(PARENT));
  assert.ok(samples.every((s, i) => i === 0 || s.time >= samples[i - 1].time), "captured in time order");
});

/** A perf ring of `size` bytes holding `records` from byte `start` (wrapping at the end). */
function ring(size: number, start: number, records: Uint8Array[]): { data: Uint8Array; head: number } {
  const data = new Uint8Array(size);
  let at = start;
  for (const record of records) {
    for (const byte of record) data[at++ % size] = byte;
  }
  return { data, head: at };
}

function sampleRecord(sample: TraceSample): Uint8Array {
  const rawSize = sample.size;
  const size = (SAMPLE_RAW_OFFSET + rawSize + 7) & ~7;
  const record = new Uint8Array(size);
  const view = new DataView(record.buffer);
  view.setUint32(0, PERF_RECORD_SAMPLE, true);
  view.setUint16(6, size, true);
  view.setUint32(PERF_HEADER_SIZE, sample.pid, true);
  view.setBigUint64(PERF_HEADER_SIZE + 8, BigInt(Math.round(sample.time * 1e6)), true);
  view.setUint32(SAMPLE_RAW_OFFSET - 4, rawSize, true);
  record.set(
    new Uint8Array(sample.raw.buffer, sample.raw.byteOffset + sample.at, rawSize),
    SAMPLE_RAW_OFFSET,
  );
  return record;
}

Deno.test("perf ring records are read across the wrap, and lost counts are reported", () => {
  const [first, second] = capturedSamples();
  const lost = new Uint8Array(PERF_HEADER_SIZE + 16);
  const lostView = new DataView(lost.buffer);
  lostView.setUint32(0, PERF_RECORD_LOST, true);
  lostView.setUint16(6, lost.byteLength, true);
  lostView.setBigUint64(PERF_HEADER_SIZE + 8, 42n, true);
  const records = [sampleRecord(first), lost, sampleRecord(second)];
  const { data, head } = ring(256, 256 - 40, records); // the first record wraps
  const read: TraceSample[] = [];
  let lostCount = 0;
  readPerfRecords(data, 256 - 40, head, 1000, (s) => read.push(s), (n) => lostCount += n);
  assert.equal(lostCount, 42);
  assert.deepEqual(read.map((s) => s.pid), [first.pid, second.pid]);
  assert.ok(Math.abs(read[0].time - (first.time + 1000)) < 1e-3);
  const bytesOf = (s: TraceSample) => new Uint8Array(s.raw.buffer, s.raw.byteOffset + s.at, s.size);
  assert.deepEqual(bytesOf(read[0]), bytesOf(first), "the wrapped record, copied");
  assert.deepEqual(bytesOf(read[1]), bytesOf(second), "the record read in place");
  const truncated: TraceSample[] = [];
  readPerfRecords(data, 256 - 40, head - 4, 0, (s) => truncated.push(s), () => {});
  assert.equal(truncated.length, 1, "a record not yet complete is left for the next read");
});

Deno.test("the samples the kernel filter lets through tell the same closes as every sample", () => {
  const { layout } = parseTraceFormat(fixtureText("inet_sock_set_state_format.txt"));
  const states = (
    s: TraceSample,
  ) => [s.raw.getInt32(s.at + layout.oldstate, true), s.raw.getInt32(s.at + layout.newstate, true)];
  // TRACE_FILTER, for TCP samples: what the kernel hands over
  const passes = (s: TraceSample) => {
    const [old, now] = states(s);
    return [2, 10, 4, 9].includes(now) || (now === 7 && ![5, 9, 11].includes(old)) || old === 2 || old === 3;
  };
  const closesOf = (samples: TraceSample[]) => {
    const closes = new Map<string, TracedClose>();
    const machine = new TcpStateMachine(layout);
    for (const sample of samples) machine.observe(sample, closes);
    return { closes: [...closes].sort(), left: machine.size };
  };
  const all = capturedSamples();
  const filtered = all.filter(passes);
  assert.ok(filtered.length < all.length, "the filter leaves some out");
  assert.deepEqual(closesOf(filtered), closesOf(all));
  assert.equal(closesOf(filtered).left, 0, "no socket is left followed");
});
