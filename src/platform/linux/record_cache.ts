/**
 * Reuse of socket records between polls: in a steady state almost every socket is the same as in the
 * previous poll, so the decoder hands back the previous poll's record instead of allocating a new one
 * (and its address strings). The monitor then keeps one set of long-lived records instead of
 * promoting a fresh set to the old generation on every poll, which is what bounded its memory.
 *
 * A record is reused only when every raw field the kernel reported is the same (state, ports,
 * addresses, scope), keyed by the socket's inode (unique while the socket lives; a TIME_WAIT remnant,
 * which has no inode, by its negated cookie). Records handed out
 * are never mutated afterwards: {@link RecordCache.settleOwners} replaces a reused record by a copy
 * when its owner pid changed.
 *
 * @module
 */

import type { SocketRecord } from "../../model/types.ts";

/**
 * Raw 32-bit words of an `inet_diag_msg` compared for reuse, from its start: word 0 masked to family
 * and state (its other bytes are timer counters that tick), word 1 the two ports, words 2–9 the
 * source and destination addresses, word 10 the interface (scope).
 */
export const RAW_WORDS = 11;
/** Mask of word 0: `idiag_family` and `idiag_state` (little-endian bytes 0 and 1). */
export const WORD0_MASK = 0xffff;

interface CacheEntry {
  record: SocketRecord;
  /** Where the raw words are kept: `RAW_WORDS` words from `slot * RAW_WORDS` in the cache's slab. */
  slot: number;
  /** Owner pid of `record` as handed out (records are shared, so this must not change in place). */
  pid: number;
  seen: number;
}

/** Slots the raw-word slab starts with (it doubles when full). */
const INITIAL_SLOTS = 256;

/**
 * Per-inode cache of decoded records; one per collector, used from one poll at a time. The raw words of
 * every entry live in one slab (a typed array per entry would cost about 150 bytes more each).
 */
export class RecordCache {
  readonly #entries = new Map<number, CacheEntry>();
  #slab = new Uint32Array(INITIAL_SLOTS * RAW_WORDS);
  #nextSlot = 0;
  readonly #freeSlots: number[] = [];
  #generation = 0;
  /** Records reused and decoded in the current poll (for tests and benchmarks). */
  readonly stats = { reused: 0, decoded: 0 };
  /** Scratch words for callers whose message is not 4-byte aligned in memory. */
  readonly raw = new Uint32Array(RAW_WORDS);

  /** Starts a poll. */
  beginPoll(): void {
    this.#generation++;
    this.stats.reused = 0;
    this.stats.decoded = 0;
  }

  /**
   * The previous poll's record for `inode` when the message's raw words (`words[base …]`, see
   * {@link RAW_WORDS}) are unchanged; marks it seen.
   */
  lookup(inode: number, words: Uint32Array, base: number): SocketRecord | undefined {
    const entry = this.#entries.get(inode);
    if (!entry) return undefined;
    const slab = this.#slab;
    const at = entry.slot * RAW_WORDS;
    if (slab[at] !== (words[base] & WORD0_MASK)) return undefined;
    for (let i = 1; i < RAW_WORDS; i++) if (slab[at + i] !== words[base + i]) return undefined;
    entry.seen = this.#generation;
    this.stats.reused++;
    return entry.record;
  }

  /** Remembers a freshly decoded record under `inode` with the message's raw words. */
  store(inode: number, record: SocketRecord, words: Uint32Array, base: number): void {
    this.stats.decoded++;
    let entry = this.#entries.get(inode);
    if (!entry) {
      entry = { record, slot: this.#takeSlot(), pid: record.pid, seen: this.#generation };
      this.#entries.set(inode, entry);
    }
    entry.record = record;
    entry.pid = record.pid;
    entry.seen = this.#generation;
    const slab = this.#slab;
    const at = entry.slot * RAW_WORDS;
    slab[at] = words[base] & WORD0_MASK;
    for (let i = 1; i < RAW_WORDS; i++) slab[at + i] = words[base + i];
  }

  #takeSlot(): number {
    const free = this.#freeSlots.pop();
    if (free !== undefined) return free;
    if ((this.#nextSlot + 1) * RAW_WORDS > this.#slab.length) {
      const grown = new Uint32Array(this.#slab.length * 2);
      grown.set(this.#slab);
      this.#slab = grown;
    }
    return this.#nextSlot++;
  }

  /**
   * After owners were assigned to `rows`: a reused record whose pid changed is restored and replaced
   * (in `rows` and in the cache) by a copy with the new pid; new records remember their pid. Then
   * forgets inodes not seen in this poll.
   */
  settleOwners(rows: SocketRecord[]): void {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const inode = row.inode ?? 0;
      if (inode === 0) continue;
      const entry = this.#entries.get(inode);
      if (!entry || entry.record !== row || entry.pid === row.pid) continue;
      const copy = { ...row };
      row.pid = entry.pid;
      rows[i] = copy;
      entry.record = copy;
      entry.pid = copy.pid;
    }
    const generation = this.#generation;
    this.#entries.forEach((entry, inode) => { // forEach: no [key, value] array per entry
      if (entry.seen === generation) return;
      this.#entries.delete(inode);
      this.#freeSlots.push(entry.slot);
    });
  }

  /** Number of cached records. */
  get size(): number {
    return this.#entries.size;
  }
}
