/**
 * A bound on the JavaScript heap's garbage between two polls. V8 lets its old generation grow to about
 * 1.6 times what its last full collection kept before it collects again; at 20 000 sockets that is
 * 12 MB of garbage on a live heap of 19 MB, and a mass close that starts at the top of that sawtooth
 * adds its own burst on top. After each poll the monitor asks this budget whether the heap grew by
 * more than a quarter of what the last full collection kept (at least {@link HEAP_BUDGET_MIN_BYTES});
 * if so it collects at once, between polls, where a pause costs nothing (about 12 ms at 20 000
 * sockets, once every few seconds at `--interval 250`).
 *
 * A collection that finds the live heap grown by more than that (a burst of events, many new sockets)
 * is followed by another after the next poll, and one that finds it shrunk by more than that (a mass
 * close freed the state of thousands of sockets) is followed by a release: a collection that also
 * compacts the heap and hands its empty pages back to the system. A regular collection keeps them
 * for the heap to grow into again, so without it the resident set stays at its peak after every
 * socket has gone (at 65 000 sockets 122–132 MB, with it 90 MB).
 *
 * The heap is injected: the composition root hands in V8's statistics and its `gc` when the runtime
 * exposes it (`--expose-gc`, baked into `start` and `compile`); without it no budget runs and V8 alone
 * decides when to collect.
 *
 * @module
 */

/** The heap as the budget sees it (injected: V8's statistics and its full collection). */
export interface HeapControl {
  /** Bytes of the JavaScript heap in use now (live objects and garbage not yet collected). */
  used(): number;
  /** Runs a full collection now. */
  collect(): void;
  /** Runs a full collection that also compacts the heap and returns its empty pages to the system. */
  release(): void;
}

/** The least growth of the heap, bytes, that makes a collection (small heaps need no tighter bound). */
export const HEAP_BUDGET_MIN_BYTES = 4 * 1024 * 1024;
/** Growth allowed, as a fraction of what the last full collection kept. */
export const HEAP_BUDGET_FRACTION = 0.25;

/** See the module description. */
export class HeapBudget {
  readonly #control: HeapControl;
  /** Bytes in use after the last full collection this budget ran (0 before the first). */
  #kept = 0;
  /** Full collections run so far (releases included). */
  collections = 0;
  /** Collections that returned memory to the system (the heap had shrunk). */
  releases = 0;
  /** Whether the next check collects whatever the heap holds (the last collection found it grown). */
  #followUp = false;

  /** @param control the heap to watch and collect. */
  constructor(control: HeapControl) {
    this.#control = control;
  }

  /** Bytes the heap may hold now before the next check collects. */
  get limit(): number {
    return this.#kept + slack(this.#kept);
  }

  /**
   * Called between polls: collects when the heap outgrew its budget, and once more at the next call
   * after a collection that found the live heap grown (a burst's own objects are garbage once its
   * polls are over); releases when the heap shrank by more than the budget below what was kept
   * (collected here, or by V8 on its own since). Returns whether it collected or released.
   */
  check(): boolean {
    const kept = this.#kept;
    let used = this.#control.used();
    const collect = used > this.limit || this.#followUp;
    if (collect) {
      this.#control.collect();
      this.collections++;
      used = this.#kept = this.#control.used();
      this.#followUp = used - kept > slack(kept);
    }
    const release = kept > 0 && kept - used > slack(kept);
    if (release) {
      this.#control.release();
      this.#kept = this.#control.used();
      this.collections++;
      this.releases++;
    }
    return collect || release;
  }
}

/** Growth (or shrinkage) of the heap allowed around `kept` bytes. */
function slack(kept: number): number {
  return Math.max(HEAP_BUDGET_MIN_BYTES, kept * HEAP_BUDGET_FRACTION);
}
