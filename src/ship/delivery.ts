/**
 * The delivery queue the shipping plugins (syslog, OTLP) share: records wait in a bounded queue (the
 * oldest are dropped and counted when it is full), go out in order in batches, and a transient failure
 * is retried with capped exponential backoff (±20 % jitter) while new records queue behind. A permanent
 * failure drops its batch, counted. The first failure of a streak and the recovery are logged, nothing
 * else. Delivery runs in the background: {@link DeliveryQueue.push} never waits.
 *
 * @module
 */

import { abortableSleep } from "../abortable_sleep.ts";

/** What one delivery attempt came to. */
export type Outcome<T> =
  | { ok: true }
  | {
    ok: false;
    /** Not worth retrying (the receiver refused the batch): it is dropped and counted. */
    permanent: boolean;
    /** One line for the log (never a secret). */
    detail: string;
    /** Items already sent that must go again before the batch (a connection that died under them). */
    resend?: T[];
  };

/** Settings of a {@link DeliveryQueue}. */
export interface DeliveryOptions<T> {
  /** Most items waiting; when full, the oldest are dropped. */
  capacity: number;
  /** Most items per attempt. */
  batchSize: number;
  /** First retry delay. */
  backoffMs: number;
  /** Retry delay cap. */
  maxBackoffMs: number;
  /** Sends one batch. Must not throw (a throw counts as a transient failure). */
  deliver: (batch: T[]) => Promise<Outcome<T>>;
  /** One diagnostic line. */
  log: (line: string) => void;
  /** Names the receiver in log lines (no secret). */
  name: string;
}

/** Counters of a {@link DeliveryQueue}. */
export interface DeliveryStats {
  /** Items delivered (a resent item counts again). */
  delivered: number;
  /** Items dropped: queue full or refused. */
  dropped: number;
  /** Items sent a second time after a connection died under them. */
  resent: number;
  /** Failed attempts. */
  failures: number;
}

/** A bounded, ordered, retrying background queue. */
export class DeliveryQueue<T> {
  readonly #o: DeliveryOptions<T>;
  readonly #queue: T[] = [];
  readonly #stop = new AbortController();
  #loop: Promise<void> | null = null;
  #failing = false;
  #dropping = false;
  /** Counters so far. */
  readonly stats: DeliveryStats = { delivered: 0, dropped: 0, resent: 0, failures: 0 };

  constructor(options: DeliveryOptions<T>) {
    this.#o = options;
  }

  /** Items waiting. */
  get length(): number {
    return this.#queue.length;
  }

  /** Queues items (dropping the oldest beyond the capacity) and starts delivery. */
  push(items: readonly T[]): void {
    if (this.#stop.signal.aborted) return;
    this.#queue.push(...items);
    const excess = this.#queue.length - this.#o.capacity;
    if (excess > 0) {
      this.#queue.splice(0, excess);
      this.stats.dropped += excess;
      if (!this.#dropping) {
        this.#dropping = true;
        this.#o.log(`${this.#o.name}: queue full (${this.#o.capacity}); dropping the oldest until it drains`);
      }
    }
    this.#kick();
  }

  #kick(): void {
    if (this.#loop || this.#stop.signal.aborted) return;
    this.#loop = this.#run().finally(() => {
      this.#loop = null;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #attempt(batch: T[]): Promise<Outcome<T>> {
    try {
      return await this.#o.deliver(batch);
    } catch (err) {
      return { ok: false, permanent: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }

  async #run(): Promise<void> {
    for (let n = 0; this.#queue.length > 0 && !this.#stop.signal.aborted;) {
      const batch = this.#queue.splice(0, this.#o.batchSize);
      const result = await this.#attempt(batch);
      if (result.ok) {
        if (this.#failing) this.#o.log(`${this.#o.name}: delivering again`);
        this.#failing = false;
        this.stats.delivered += batch.length;
        n = 0;
        if (this.#queue.length === 0) this.#dropping = false;
        continue;
      }
      this.stats.failures++;
      if (result.permanent) {
        this.#o.log(`${this.#o.name}: ${result.detail}; ${batch.length} records dropped (not retried)`);
        this.stats.dropped += batch.length;
        continue;
      }
      this.#queue.unshift(...(result.resend ?? []), ...batch);
      this.stats.resent += result.resend?.length ?? 0;
      if (!this.#failing) {
        this.#failing = true;
        this.#o.log(
          `${this.#o.name}: delivery failed (${result.detail}); retrying with backoff, records wait`,
        );
      }
      const delay = Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** Math.min(n++, 30));
      await abortableSleep(delay * (0.8 + 0.4 * Math.random()), this.#stop.signal);
    }
  }

  /** Keeps delivering for at most `flushMs`, then stops; returns how many items were left undelivered. */
  async close(flushMs: number): Promise<number> {
    if (this.#loop) {
      const waited = new AbortController();
      await Promise.race([this.#loop, abortableSleep(flushMs, waited.signal)]);
      waited.abort();
    }
    this.#stop.abort();
    await this.#loop;
    return this.#queue.length;
  }
}
