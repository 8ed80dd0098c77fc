/**
 * Pure reading of the perf rings of one tracepoint (one ring per CPU) in time order, without an
 * object per sample: each read scans the records of every ring into typed arrays (where each sample
 * is, its pid, its time), puts them in time order, and hands them over one by one through a single
 * reused {@link TraceSample}.
 *
 * The order is exactly that of a stable sort by time of the samples held from the last read followed
 * by those of each ring in ring order: each of these runs is put in order by an insertion sort (a
 * ring is written in time order but for an interrupt that came between a sample's clock read and its
 * place in the ring: next to nothing to move), then the runs are merged, a tie going to the earlier run.
 *
 * @module
 */

import {
  PERF_HEADER_SIZE,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  SAMPLE_RAW_OFFSET,
  type TraceSample,
} from "./tracepoint_decode.ts";

const EMPTY = new DataView(new ArrayBuffer(0));

/** The unread span of one ring's data area: byte counters that only grow, taken modulo its size. */
export interface RingSpan {
  /** The data area. */
  data: Uint8Array;
  /** A view of the whole data area (made once per ring). */
  view: DataView;
  /** First unread byte. */
  tail: number;
  /** End of what the kernel has written. */
  head: number;
}

/**
 * Reads rings in time order (`begin`, `scan` each ring, `finish`), keeping what is newer than the cut
 * for the next read; see the module description.
 */
export class RingReader {
  #times = new Float64Array(1024);
  /** Per entry: its view, where its raw record starts, the record's size, the pid. */
  #where = new Int32Array(4 * 1024);
  #count = 0;
  #order = new Int32Array(1024);
  #merged = new Int32Array(1024);
  /** Views the entries point into: the held copy, the rings, copies of records that wrap. */
  readonly #views: DataView[] = [];
  /** Where each run of entries starts (then the entry count). */
  readonly #runs: number[] = [];
  /** The records kept from the last read (newer than its cut), one after another, in time order. */
  #held: DataView | undefined;
  #heldCount = 0;
  #heldTimes = new Float64Array(0);
  #heldPids = new Int32Array(0);
  #heldSizes = new Int32Array(0);
  /** The sample handed to the callback (valid only during the call). */
  readonly #sample: TraceSample = { pid: 0, time: 0, raw: EMPTY, at: 0, size: 0 };

  /** Whether samples are held from the last read. */
  get holding(): boolean {
    return this.#heldCount > 0;
  }

  /** Starts a read: the samples held from the last one come first. */
  begin(): void {
    this.#count = 0;
    this.#views.length = 0;
    this.#runs.length = 0;
    if (this.#heldCount) this.#takeHeld();
  }

  /**
   * Adds the samples of one ring's unread span (times in ms plus `offsetMs`); `onLost` gets each
   * lost-record count. Records are read up to the first one not yet complete (or corrupt).
   */
  scan(ring: RingSpan, offsetMs: number, onLost: (count: number) => void): void {
    if (ring.head === ring.tail) return;
    this.#runs.push(this.#count);
    this.#scanRecords(ring, offsetMs, onLost);
  }

  /**
   * Ends a read: hands over, in time order, the samples not newer than `cut`, and keeps the rest
   * (copied) for the next read. The sample given to `onSample` is reused: it must not be kept.
   */
  finish(cut: number, onSample: (sample: TraceSample) => void): void {
    this.#runs.push(this.#count);
    const order = this.#sortRuns();
    const sample = this.#sample;
    const times = this.#times, where = this.#where, views = this.#views, count = this.#count;
    let taken = 0;
    for (; taken < count; taken++) {
      const entry = order[taken];
      if (times[entry] > cut) break;
      sample.raw = views[where[4 * entry]];
      sample.at = where[4 * entry + 1];
      sample.size = where[4 * entry + 2];
      sample.pid = where[4 * entry + 3] >>> 0;
      sample.time = times[entry];
      onSample(sample);
    }
    this.#hold(order, taken);
    this.#views.length = 0; // no ring memory is kept past the read
    sample.raw = EMPTY;
  }

  #add(view: number, at: number, size: number, pid: number, time: number): void {
    const n = this.#count;
    if (n === this.#times.length) this.#grow();
    this.#times[n] = time;
    this.#where[4 * n] = view;
    this.#where[4 * n + 1] = at;
    this.#where[4 * n + 2] = size;
    this.#where[4 * n + 3] = pid;
    this.#count = n + 1;
  }

  #grow(): void {
    const times = new Float64Array(this.#times.length * 2);
    times.set(this.#times);
    this.#times = times;
    const where = new Int32Array(this.#where.length * 2);
    where.set(this.#where);
    this.#where = where;
    this.#order = new Int32Array(times.length);
    this.#merged = new Int32Array(times.length);
  }

  #takeHeld(): void {
    this.#runs.push(0);
    this.#views.push(this.#held!);
    for (let i = 0, at = 0; i < this.#heldCount; i++) {
      this.#add(0, at, this.#heldSizes[i], this.#heldPids[i], this.#heldTimes[i]);
      at += this.#heldSizes[i];
    }
  }

  #scanRecords(ring: RingSpan, offsetMs: number, onLost: (count: number) => void): void {
    const { data, view } = ring;
    const size = data.byteLength;
    const ringView = this.#views.length;
    this.#views.push(view);
    let { tail } = ring;
    const head = ring.head;
    while (head - tail >= PERF_HEADER_SIZE) {
      let at = tail % size;
      let record = view, viewIndex = ringView;
      const wraps = at + PERF_HEADER_SIZE > size;
      const headerSize = wraps
        ? copyWrapped(data, at, PERF_HEADER_SIZE).getUint16(6, true)
        : view.getUint16(at + 6, true);
      if (headerSize < PERF_HEADER_SIZE || headerSize > head - tail) return; // corrupt: stop here
      if (at + headerSize > size) {
        record = copyWrapped(data, at, headerSize);
        viewIndex = this.#views.length;
        this.#views.push(record);
        at = 0;
      }
      const type = record.getUint32(at, true);
      if (type === PERF_RECORD_SAMPLE && headerSize >= SAMPLE_RAW_OFFSET) {
        const rawSize = record.getUint32(at + SAMPLE_RAW_OFFSET - 4, true);
        if (SAMPLE_RAW_OFFSET + rawSize <= headerSize) {
          const nanoseconds = record.getUint32(at + PERF_HEADER_SIZE + 12, true) * 0x1_0000_0000 +
            record.getUint32(at + PERF_HEADER_SIZE + 8, true); // exact to the ns for 104 days of uptime
          const pid = record.getUint32(at + PERF_HEADER_SIZE, true) | 0;
          this.#add(viewIndex, at + SAMPLE_RAW_OFFSET, rawSize, pid, nanoseconds / 1e6 + offsetMs);
        }
      } else if (type === PERF_RECORD_LOST && headerSize >= PERF_HEADER_SIZE + 16) {
        onLost(Number(record.getBigUint64(at + PERF_HEADER_SIZE + 8, true)));
      }
      tail += headerSize;
    }
  }

  /** Entry indices in time order (see the module description). */
  #sortRuns(): Int32Array {
    const times = this.#times, runs = this.#runs;
    let order = this.#order;
    for (let i = 0; i < this.#count; i++) order[i] = i;
    for (let r = 0; r + 1 < runs.length; r++) insertionSort(order, times, runs[r], runs[r + 1]);
    for (let width = 1; width + 1 < runs.length; width *= 2) { // merge neighbouring runs, pairwise
      const into = order === this.#order ? this.#merged : this.#order;
      for (let r = 0; r + 1 < runs.length; r += 2 * width) {
        const middle = runs[Math.min(r + width, runs.length - 1)];
        const end = runs[Math.min(r + 2 * width, runs.length - 1)];
        merge(order, into, times, runs[r], middle, end);
      }
      order = into;
    }
    return order;
  }

  /** Copies the entries of `order` from `from` on (newer than the cut) for the next read. */
  #hold(order: Int32Array, from: number): void {
    const n = this.#count - from;
    this.#heldCount = n;
    if (n === 0) {
      this.#held = undefined;
      return;
    }
    let bytes = 0;
    for (let i = from; i < this.#count; i++) bytes += this.#where[4 * order[i] + 2];
    const copy = new Uint8Array(bytes);
    this.#heldTimes = new Float64Array(n);
    this.#heldPids = new Int32Array(n);
    this.#heldSizes = new Int32Array(n);
    for (let i = 0, at = 0; i < n; i++) {
      const entry = order[from + i];
      const view = this.#views[this.#where[4 * entry]];
      const start = view.byteOffset + this.#where[4 * entry + 1], size = this.#where[4 * entry + 2];
      copy.set(new Uint8Array(view.buffer, start, size), at);
      this.#heldTimes[i] = this.#times[entry];
      this.#heldPids[i] = this.#where[4 * entry + 3];
      this.#heldSizes[i] = size;
      at += size;
    }
    this.#held = new DataView(copy.buffer);
  }
}

/** Stable insertion sort of `order[start, end)` by `times` (linear on a run already in order). */
function insertionSort(order: Int32Array, times: Float64Array, start: number, end: number): void {
  for (let i = start + 1; i < end; i++) {
    const entry = order[i], time = times[entry];
    let j = i - 1;
    if (times[order[j]] <= time) continue;
    while (j >= start && times[order[j]] > time) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = entry;
  }
}

/** Merges the ordered runs `from[start, middle)` and `from[middle, end)` into `into[start, end)`, ties first from the first. */
function merge(
  from: Int32Array,
  into: Int32Array,
  times: Float64Array,
  start: number,
  middle: number,
  end: number,
): void {
  let a = start, b = middle, out = start;
  while (a < middle && b < end) into[out++] = times[from[b]] < times[from[a]] ? from[b++] : from[a++];
  while (a < middle) into[out++] = from[a++];
  while (b < end) into[out++] = from[b++];
}

/** A copy of `length` bytes of the ring at `at`, wrapping at the end of its data area. */
export function copyWrapped(data: Uint8Array, at: number, length: number): DataView {
  const copy = new Uint8Array(length);
  const first = Math.min(length, data.byteLength - at);
  copy.set(data.subarray(at, at + first));
  copy.set(data.subarray(0, length - first), first);
  return new DataView(copy.buffer);
}
