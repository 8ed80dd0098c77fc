import assert from "node:assert/strict";
import { RingReader, type RingSpan } from "./ring_reader.ts";
import { PERF_HEADER_SIZE, PERF_RECORD_LOST, type TraceSample } from "./tracepoint_decode.ts";
import { capturedSamples, rawBytes, ring, sampleRecord } from "./samples_test_util.ts";

/** What one read hands over: each sample's pid, time and raw bytes (copied: the sample is reused). */
function readAll(reader: RingReader, rings: RingSpan[], offsetMs: number, cut = Infinity) {
  const read: { pid: number; time: number; bytes: Uint8Array }[] = [];
  let lost = 0;
  reader.begin();
  for (const span of rings) reader.scan(span, offsetMs, (n) => lost += n);
  reader.finish(cut, (s) => read.push({ pid: s.pid, time: s.time, bytes: rawBytes(s).slice() }));
  return { read, lost };
}

/** `sample` at another time (ms) with another pid. */
const at = (sample: TraceSample, time: number, pid = sample.pid): TraceSample => ({ ...sample, time, pid });

Deno.test("perf ring records are read across the wrap, and lost counts are reported", () => {
  const [first, second] = capturedSamples();
  const lost = new Uint8Array(PERF_HEADER_SIZE + 16);
  const lostView = new DataView(lost.buffer);
  lostView.setUint32(0, PERF_RECORD_LOST, true);
  lostView.setUint16(6, lost.byteLength, true);
  lostView.setBigUint64(PERF_HEADER_SIZE + 8, 42n, true);
  const span = ring(256, 256 - 40, [sampleRecord(first), lost, sampleRecord(second)]); // the first record wraps
  const { read, lost: lostCount } = readAll(new RingReader(), [span], 1000);
  assert.equal(lostCount, 42);
  assert.deepEqual(read.map((s) => s.pid), [first.pid, second.pid]);
  assert.ok(Math.abs(read[0].time - (first.time + 1000)) < 1e-3);
  assert.deepEqual(read[0].bytes, rawBytes(first), "the wrapped record, copied");
  assert.deepEqual(read[1].bytes, rawBytes(second), "the record read in place");
  const truncated = readAll(new RingReader(), [{ ...span, head: span.head - 4 }], 0);
  assert.equal(truncated.read.length, 1, "a record not yet complete is left for the next read");
});

Deno.test("the samples of every ring come in time order, ties in ring order, each ring sorted", () => {
  const [s] = capturedSamples();
  // ring 0 holds one sample out of order (an interrupt between a sample's clock read and its write)
  const ring0 = ring(4096, 0, [at(s, 10, 1), at(s, 30, 2), at(s, 20, 3), at(s, 50, 4)].map(sampleRecord));
  const ring1 = ring(4096, 100, [at(s, 5, 5), at(s, 30, 6), at(s, 40, 7)].map(sampleRecord));
  const ring2 = ring(4096, 4000, [at(s, 1, 8), at(s, 30, 9)].map(sampleRecord)); // wraps
  const { read } = readAll(new RingReader(), [ring0, ring1, ring2], 0);
  assert.deepEqual(read.map((r) => r.pid), [8, 5, 1, 3, 2, 6, 9, 7, 4]);
  const reference = [...[1, 2, 3, 4], ...[5, 6, 7], ...[8, 9]].map((pid, i) => ({
    pid,
    time: [10, 30, 20, 50, 5, 30, 40, 1, 30][i],
  })).sort((a, b) => a.time - b.time); // what a stable sort of them all gives
  assert.deepEqual(read.map((r) => r.pid), reference.map((r) => r.pid));
  assert.ok(read.every((r) => r.bytes.length === s.size));
});

Deno.test("samples newer than the cut are kept, copied, and handed first in order by the next read", () => {
  const [s, t] = capturedSamples();
  const reader = new RingReader();
  const ring0 = ring(4096, 0, [at(s, 10, 1), at(t, 40, 2)].map(sampleRecord));
  const ring1 = ring(4096, 0, [at(s, 20, 3), at(t, 35, 4)].map(sampleRecord));
  const first = readAll(reader, [ring0, ring1], 0, 30);
  assert.deepEqual(first.read.map((r) => r.pid), [1, 3]);
  assert.equal(reader.holding, true);
  ring0.data.fill(0xee); // the rings' places are freed and overwritten: the held samples are copies
  ring1.data.fill(0xee);
  const later = ring(4096, 96, [at(s, 35, 5), at(s, 50, 6)].map(sampleRecord));
  const second = readAll(reader, [later], 0, 100);
  assert.deepEqual(second.read.map((r) => r.pid), [4, 5, 2, 6], "held first on a tie, all in time order");
  assert.deepEqual(second.read[0].bytes, rawBytes(t));
  assert.deepEqual(second.read[2].bytes, rawBytes(t));
  assert.equal(reader.holding, false);
  assert.deepEqual(readAll(reader, [], 0).read, [], "nothing left");
});
