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

/** Slots the per-slot arrays start with (they double when full). */
const INITIAL_SLOTS = 256;

/**
 * Per-inode cache of decoded records; one per collector, used from one poll at a time. Each cached
 * socket takes one slot: its record in an array, and its raw words, owner pid and last poll in typed
 * arrays indexed by slot, so a cached socket costs its record, one map entry (inode → slot) and
 * about 56 bytes, not an entry object (and a typed array per entry would cost about 150 bytes more).
 */
export class RecordCache {
  readonly #slotByInode = new Map<number, number>();
  /** Record handed out, by slot. */
  #records: (SocketRecord | undefined)[] = [];
  /** Raw words, `RAW_WORDS` per slot. */
  #slab = new Uint32Array(INITIAL_SLOTS * RAW_WORDS);
  /** Owner pid of the record as handed out (records are shared, so this must not change in place). */
  #pids = new Int32Array(INITIAL_SLOTS);
  /** Poll (generation) that last saw the slot's socket. */
  #seen = new Uint32Array(INITIAL_SLOTS);
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
    const slot = this.#slotByInode.get(inode);
    if (slot === undefined) return undefined;
    const slab = this.#slab;
    const at = slot * RAW_WORDS;
    if (slab[at] !== (words[base] & WORD0_MASK)) return undefined;
    for (let i = 1; i < RAW_WORDS; i++) if (slab[at + i] !== words[base + i]) return undefined;
    this.#seen[slot] = this.#generation;
    this.stats.reused++;
    return this.#records[slot];
  }

  /**
   * Marks `record` seen in this poll, as {@link lookup} does, when it is the cached record of its inode
   * (a record kept from an earlier poll's dump and handed out again); returns whether it is.
   */
  keep(record: SocketRecord): boolean {
    const slot = this.#slotByInode.get(record.inode ?? 0);
    if (slot === undefined || this.#records[slot] !== record) return false;
    this.#seen[slot] = this.#generation;
    this.stats.reused++;
    return true;
  }

  /** Remembers a freshly decoded record under `inode` with the message's raw words. */
  store(inode: number, record: SocketRecord, words: Uint32Array, base: number): void {
    this.stats.decoded++;
    let slot = this.#slotByInode.get(inode);
    if (slot === undefined) {
      slot = this.#takeSlot();
      this.#slotByInode.set(inode, slot);
    }
    this.#records[slot] = record;
    this.#pids[slot] = record.pid;
    this.#seen[slot] = this.#generation;
    const slab = this.#slab;
    const at = slot * RAW_WORDS;
    slab[at] = words[base] & WORD0_MASK;
    for (let i = 1; i < RAW_WORDS; i++) slab[at + i] = words[base + i];
  }

  #takeSlot(): number {
    const free = this.#freeSlots.pop();
    if (free !== undefined) return free;
    if (this.#nextSlot === this.#pids.length) {
      const slots = this.#pids.length * 2;
      const slab = new Uint32Array(slots * RAW_WORDS);
      slab.set(this.#slab);
      this.#slab = slab;
      const pids = new Int32Array(slots);
      pids.set(this.#pids);
      this.#pids = pids;
      const seen = new Uint32Array(slots);
      seen.set(this.#seen);
      this.#seen = seen;
    }
    return this.#nextSlot++;
  }

  /**
   * After owners were assigned to `rows`: a reused record whose pid changed is restored and replaced
   * (in `rows` and in the cache) by a copy with the new pid; new records remember their pid. Then
   * forgets inodes not seen in this poll.
   */
  settleOwners(rows: SocketRecord[]): void {
    const records = this.#records;
    const pids = this.#pids;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const inode = row.inode ?? 0;
      if (inode === 0) continue;
      const slot = this.#slotByInode.get(inode);
      if (slot === undefined || records[slot] !== row || pids[slot] === row.pid) continue;
      const copy = { ...row };
      row.pid = pids[slot];
      rows[i] = copy;
      records[slot] = copy;
      pids[slot] = copy.pid;
    }
    const generation = this.#generation;
    const seen = this.#seen;
    this.#slotByInode.forEach((slot, inode) => { // forEach: no [key, value] array per entry
      if (seen[slot] === generation) return;
      this.#slotByInode.delete(inode);
      records[slot] = undefined;
      this.#freeSlots.push(slot);
    });
  }

  /** Number of cached records. */
  get size(): number {
    return this.#slotByInode.size;
  }
}
