/**
 * The sockets the tracepoint follows, by kernel socket address (`skaddr`, a u64 read as two u32
 * words). Most are found by the low word alone, a small integer for V8: no number is boxed to look
 * one up. A socket whose low word another one holds (they lie a multiple of 4 GiB apart) is kept by
 * its whole address in a second map. Both keep insertion order, so the oldest are forgotten first as
 * from one map.
 *
 * @module
 */

/** What the table needs of each socket it holds (set by the table). */
export interface TableEntry {
  /** The high word of its address. */
  skHigh: number;
  /** Insertion sequence number. */
  skSeq: number;
}

/** See the module description. */
export class SocketTable<V extends TableEntry> {
  readonly #byLow = new Map<number, V>();
  readonly #byAddress = new Map<number | bigint, V>();
  #seq = 0;

  /** Number of sockets held. */
  get size(): number {
    return this.#byLow.size + this.#byAddress.size;
  }

  /** The socket at address `high:low`. */
  get(low: number, high: number): V | undefined {
    const found = this.#byLow.get(low | 0);
    if (found !== undefined && found.skHigh === high) return found;
    return this.#byAddress.size === 0 ? undefined : this.#byAddress.get(addressKey(low, high));
  }

  /** Adds `value` at an address not held. */
  add(low: number, high: number, value: V): void {
    value.skHigh = high;
    value.skSeq = this.#seq++;
    if (!this.#byLow.has(low | 0)) this.#byLow.set(low | 0, value);
    else this.#byAddress.set(addressKey(low, high), value);
  }

  /** Forgets the socket at address `high:low`. */
  delete(low: number, high: number): void {
    const found = this.#byLow.get(low | 0);
    if (found !== undefined && found.skHigh === high) this.#byLow.delete(low | 0);
    else if (this.#byAddress.size) this.#byAddress.delete(addressKey(low, high));
  }

  /** Forgets the `count` sockets added first. */
  forgetOldest(count: number): void {
    const low = this.#byLow.entries(), whole = this.#byAddress.entries();
    let a = low.next(), b = whole.next();
    for (; count > 0 && (!a.done || !b.done); count--) {
      if (!a.done && (b.done || a.value[1].skSeq < b.value[1].skSeq)) {
        this.#byLow.delete(a.value[0]);
        a = low.next();
      } else if (!b.done) {
        this.#byAddress.delete(b.value[0]);
        b = whole.next();
      }
    }
  }
}

/**
 * A whole address as a map key: a number when its top 11 bits are set, as every kernel address on
 * x86_64 (4- and 5-level paging) has them, so that the rest fits a double exactly; else a bigint.
 */
function addressKey(low: number, high: number): number | bigint {
  if (high >>> 21 !== 0x7ff) return (BigInt(high) << 32n) | BigInt(low >>> 0);
  return (high & 0x1f_ffff) * 0x1_0000_0000 + (low >>> 0);
}
