/**
 * Test helpers for the tracepoint decoders: the captured samples, and perf rings made of them.
 *
 * @module
 */

import { fixtureBytes } from "../fixtures_test_util.ts";
import { joinKeyOf, joinKeyText } from "./join_key.ts";
import {
  PERF_HEADER_SIZE,
  PERF_RECORD_SAMPLE,
  SAMPLE_RAW_OFFSET,
  type TraceSample,
} from "./tracepoint_decode.ts";

/** The samples of `inet_sock_set_state_samples.bin` (see capture_event_fixtures.ts). */
export function capturedSamples(): TraceSample[] {
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

/** The bytes of a sample's raw record. */
export function rawBytes(sample: TraceSample): Uint8Array {
  return new Uint8Array(sample.raw.buffer, sample.raw.byteOffset + sample.at, sample.size);
}

/** A perf ring `PERF_RECORD_SAMPLE` record of `sample` (its time in ns: ms × 10⁶, rounded). */
export function sampleRecord(sample: TraceSample): Uint8Array {
  const rawSize = sample.size;
  const size = (SAMPLE_RAW_OFFSET + rawSize + 7) & ~7;
  const record = new Uint8Array(size);
  const view = new DataView(record.buffer);
  view.setUint32(0, PERF_RECORD_SAMPLE, true);
  view.setUint16(6, size, true);
  view.setUint32(PERF_HEADER_SIZE, sample.pid, true);
  view.setBigUint64(PERF_HEADER_SIZE + 8, BigInt(Math.round(sample.time * 1e6)), true);
  view.setUint32(SAMPLE_RAW_OFFSET - 4, rawSize, true);
  record.set(rawBytes(sample), SAMPLE_RAW_OFFSET);
  return record;
}

/** A perf ring data area of `size` bytes holding `records` from byte counter `start` (wrapping at the end). */
export function ring(size: number, start: number, records: Uint8Array[]) {
  const data = new Uint8Array(size);
  let at = start;
  for (const record of records) {
    for (const byte of record) data[at++ % size] = byte;
  }
  return { data, view: new DataView(data.buffer), tail: start, head: at };
}

/** `closes` keyed by the `endpointKey` texts of their join keys. */
export function textKeyed<V>(closes: Map<string, V>): Map<string, V> {
  return new Map([...closes].map(([key, value]) => [joinKeyText(key), value]));
}

/** The join key of an `endpointKey` text (`tcp4 127.0.0.1 40000 127.0.0.1 8080`). */
export function joinKeyOfText(text: string): string {
  const [kind, localAddress, localPort, remoteAddress, remotePort] = text.split(" ");
  return joinKeyOf({
    protocol: "tcp",
    family: kind === "tcp6" ? 6 : 4,
    localAddress,
    localPort: Number(localPort),
    remoteAddress,
    remotePort: Number(remotePort),
    state: null,
    pid: 0,
  })!;
}
