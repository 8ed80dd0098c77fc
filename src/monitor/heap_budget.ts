/**
 * A bound on the JavaScript heap's garbage between two polls. V8 lets its old generation grow to about
 * 1.6 times what its last full collection kept before it collects again; at 20 000 sockets that is
 * 12 MB of garbage on a live heap of 19 MB, and a mass close that starts at the top of that sawtooth
 * adds its own burst on top. After each poll the monitor asks this budget whether the heap grew by
 * more than a quarter of what the last full collection kept (at least {@link HEAP_BUDGET_MIN_BYTES});
 * if so it collects at once, between polls, where a pause costs nothing (about 12 ms at 20 000
 * sockets, once every few seconds at `--interval 250`).
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
  /** Full collections run so far. */
  collections = 0;

  /** @param control the heap to watch and collect. */
  constructor(control: HeapControl) {
    this.#control = control;
  }

  /** Bytes the heap may hold now before the next check collects. */
  get limit(): number {
    return this.#kept + Math.max(HEAP_BUDGET_MIN_BYTES, this.#kept * HEAP_BUDGET_FRACTION);
  }

  /** Called between polls: collects when the heap outgrew its budget; returns whether it did. */
  check(): boolean {
    if (this.#control.used() <= this.limit) return false;
    this.#control.collect();
    this.#kept = this.#control.used();
    this.collections++;
    return true;
  }
}
