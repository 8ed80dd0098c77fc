/**
 * Polls that skip the kernel's walk of its TCP connection hash when no TCP socket can have changed.
 *
 * A TCP dump walks every bucket of the connection hash (262 144 on a 24 GiB machine) and every socket
 * in it, TIME_WAIT remnants included even when the dump leaves them out: about 2 ms with none, 25 ms
 * with the 60 000 a minute of 1 000 connections/s leaves. That walk was about half of the monitor's
 * cost at rest. The kernel counts every TCP state change (`events/state_change_counter.ts`): a socket
 * appears (connect, accept, listen), changes state, or goes away only through one. So when the count
 * read before a dump is read again unchanged, the sockets that dump found are still all there, as
 * they were, and their records stand for a new dump.
 *
 * Only rows that no later event can change without a state change are kept: every TCP row must have a
 * file (an inode). A socket without one is a connection waiting in an accept queue (it gets its
 * inode, and maybe another owner, at `accept(2)`: no state change), an orphan, or a TIME_WAIT remnant
 * (it expires without one): a dump with any of them is never reused. The owners are still read at
 * every poll (`owners.ts`), UDP is still dumped at every poll, and a full dump is made at least every
 * {@link MAX_REUSED_TCP_DUMPS} + 1 polls all the same. The count covers every network namespace: a
 * change in any of them makes the next poll dump.
 *
 * @module
 */

import type { SocketRecord } from "../../model/types.ts";

/** Most polls in a row that reuse a TCP dump; the next one dumps whatever the count says. */
export const MAX_REUSED_TCP_DUMPS = 9;

/** Dumps made and reused since the collector started. */
export interface TcpDumpStats {
  /** Polls that dumped TCP. */
  dumped: number;
  /** Polls that reused the TCP rows of an earlier dump. */
  reused: number;
}

/** See the module description. One per collector. */
export class TcpDumpReuse {
  #count: number | undefined;
  #rows: SocketRecord[] = [];
  #inRow = 0;
  /** Counters, see {@link TcpDumpStats}. */
  readonly stats: TcpDumpStats = { dumped: 0, reused: 0 };

  /** @param maxInRow most polls in a row that reuse a dump. */
  constructor(readonly maxInRow = MAX_REUSED_TCP_DUMPS) {}

  /**
   * The kept TCP rows when they stand for a dump now: `count` is the change count read now, before
   * the dump this poll would make. Undefined when a dump is needed.
   */
  reusable(count: number | undefined): readonly SocketRecord[] | undefined {
    if (count === undefined || count !== this.#count || this.#inRow >= this.maxInRow) return undefined;
    return this.#rows;
  }

  /**
   * Records a poll once its owners are settled: `rows` are every socket it found (TCP and UDP), `count`
   * the change count read before its TCP dump (or before it reused one, `dumped` false).
   */
  settled(count: number | undefined, rows: readonly SocketRecord[], dumped: boolean): void {
    if (dumped) {
      this.stats.dumped++;
      this.#inRow = 0;
    } else {
      this.stats.reused++;
      this.#inRow++;
    }
    const tcp = this.#rows; // refilled in place: no array per poll
    tcp.length = 0;
    this.#count = undefined;
    if (count === undefined) return;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (row.protocol !== "tcp") continue;
      if (!row.inode) return void (tcp.length = 0);
      tcp.push(row);
    }
    this.#count = count;
  }
}
