/**
 * A map from small integer keys (pids) to values that remembers which key was used last, for an
 * eviction oldest-used first, where marking a key used changes no hash table: the use order is a
 * doubly linked list through typed arrays of slots. (`Map` `delete` then `set` does the same job,
 * but every such bump leaves a hole in the table and the table is rebuilt as they fill it.)
 *
 * @module
 */

/** Keys by use order; see the module description. */
export class RecentMap<V> {
  readonly #slots = new Map<number, number>();
  #keys = new Int32Array(0);
  readonly #values: (V | undefined)[] = [];
  /** Per slot: the slot used just before / after it (-1: none); free slots chain through `#next`. */
  #previous = new Int32Array(0);
  #next = new Int32Array(0);
  #oldest = -1;
  #newest = -1;
  #free = -1;

  /** @param capacity most keys held (the caller evicts before it adds beyond); slots are made as needed. */
  constructor(readonly capacity: number) {}

  /** Number of keys held. */
  get size(): number {
    return this.#slots.size;
  }

  /** The value of `key`, without marking it used. */
  get(key: number): V | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : this.#values[slot];
  }

  /** Marks `key` (held) the most recently used. */
  touch(key: number): void {
    const slot = this.#slots.get(key);
    if (slot === undefined || slot === this.#newest) return;
    this.#unlink(slot);
    this.#append(slot);
  }

  /**
   * Sets the value of `key`: a key held keeps its place in the use order (as `Map.set`), a new one
   * comes last. Throws when a new key finds the map full.
   */
  set(key: number, value: V): void {
    const held = this.#slots.get(key);
    if (held !== undefined) {
      this.#values[held] = value;
      return;
    }
    if (this.#free < 0) this.#grow();
    const slot = this.#free;
    this.#free = this.#next[slot];
    this.#keys[slot] = key;
    this.#values[slot] = value;
    this.#slots.set(key, slot);
    this.#append(slot);
  }

  /** Forgets the least recently used key. */
  deleteOldest(): void {
    const slot = this.#oldest;
    if (slot < 0) return;
    this.#unlink(slot);
    this.#slots.delete(this.#keys[slot]);
    this.#values[slot] = undefined;
    this.#next[slot] = this.#free;
    this.#free = slot;
  }

  /** The keys, least recently used first. */
  *keys(): Generator<number> {
    for (let slot = this.#oldest; slot >= 0; slot = this.#next[slot]) yield this.#keys[slot];
  }

  #grow(): void {
    const length = this.#keys.length;
    if (length >= this.capacity) throw new RangeError(`RecentMap full (${this.capacity})`);
    const grown = Math.min(this.capacity, Math.max(16, 2 * length));
    const widen = (from: Int32Array) => {
      const to = new Int32Array(grown);
      to.set(from);
      return to;
    };
    this.#keys = widen(this.#keys);
    this.#previous = widen(this.#previous);
    this.#next = widen(this.#next);
    for (let i = length; i < grown; i++) this.#next[i] = i + 1 < grown ? i + 1 : -1;
    this.#free = length;
  }

  #unlink(slot: number): void {
    const previous = this.#previous[slot], next = this.#next[slot];
    if (previous >= 0) this.#next[previous] = next;
    else this.#oldest = next;
    if (next >= 0) this.#previous[next] = previous;
    else this.#newest = previous;
  }

  #append(slot: number): void {
    this.#previous[slot] = this.#newest;
    this.#next[slot] = -1;
    if (this.#newest >= 0) this.#next[this.#newest] = slot;
    else this.#oldest = slot;
    this.#newest = slot;
  }
}
