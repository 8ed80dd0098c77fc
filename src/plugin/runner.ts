/**
 * One runner per plugin: every hook call goes through {@link Runner.call}, which bounds it by a time budget
 * that grows with the batch, counts what went wrong, and keeps a circuit breaker.
 *
 * - A call that throws or rejects is that call's failure: logged once per hook, then counted.
 * - A call that does not finish within its budget, or a plugin whose Worker died, opens the breaker: the
 *   plugin is stopped (a user plugin's plugin host is killed and restarted for the others), skipped while the
 *   breaker is open, and tried again after a backoff that doubles with each consecutive trip (1 s, 2 s, 4 s...
 *   up to {@link DEFAULT_MAX_BACKOFF_MS}). One call that succeeds closes it again. A plugin is never disabled
 *   for good because of a slow batch.
 * - The summary at stop gives each plugin's state and counts.
 *
 * The runner does not know how a plugin runs: a {@link Transport} does (in this process for a built-in, in
 * the plugin host for a user plugin).
 *
 * @module
 */

import type { HookName } from "./hooks.ts";
import { safeText } from "./boundary.ts";

/** Default budget of one hook call on a batch of one change, in ms. */
export const DEFAULT_HOOK_TIMEOUT_MS = 500;
/** Default extra budget per change of the batch, in ms (a batch of 500 changes gets 500 + 4990 ms). */
export const DEFAULT_PER_CHANGE_MS = 10;
/** Default first backoff after a trip of the breaker, in ms. */
export const DEFAULT_BACKOFF_MS = 1000;
/** Default longest backoff, in ms. */
export const DEFAULT_MAX_BACKOFF_MS = 5 * 60_000;

/** How a call reached the plugin, or why it did not. */
export type CallError =
  /** The plugin's own error (it threw, rejected, returned something unusable). */
  | { kind: "failed"; text: string }
  /** The plugin cannot be reached right now, and it is not its fault (the plugin host restarts). */
  | { kind: "unavailable"; text: string }
  /** The plugin is gone: its Worker stopped (an uncaught error, a crash). */
  | { kind: "crashed"; text: string };

/** How one plugin is run: in this process (a built-in) or in the plugin host (a user plugin). */
export interface Transport {
  /** Whether it runs in the plugin host. */
  readonly isolated: boolean;
  /** Sends one hook call; rejects with a value {@link classify} understands. */
  call(hook: string, payload: Record<string, unknown>): Promise<unknown>;
  /** Turns a rejection of {@link call} into a {@link CallError}. */
  classify(err: unknown): CallError;
  /** Stops the plugin after a timeout or a crash (kills the plugin host; nothing for a built-in). */
  stop(reason: string): void;
  /** Brings a stopped plugin back (fresh state: load and init again); resolves to a problem, or null. */
  revive(): Promise<string | null>;
  /** `ready`, `waiting` (the plugin host restarts: skip, no failure) or `stopped` (needs {@link revive}). */
  state(): "ready" | "waiting" | "stopped";
  /** Waits up to `ms` while it is `waiting` (the plugin host restarts). */
  settle(ms: number): Promise<unknown>;
}

/** Budgets and backoff of a runner. */
export interface RunnerOptions {
  /** Budget of a call on one change, ms. */
  hookTimeoutMs: number;
  /** Extra budget per change, ms. */
  perChangeMs: number;
  /** How long a call waits for a restart of the plugin host (another plugin hung) before it is skipped, ms. */
  restartWaitMs: number;
  /** First backoff, ms. */
  backoffMs: number;
  /** Longest backoff, ms. */
  maxBackoffMs: number;
  /** Monotonic ms (for backoff). */
  monotonic: () => number;
  /** One diagnostic line. */
  log: (line: string) => void;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; timeout: true } | {
  ok: false;
  timeout: false;
  error: unknown;
};

/** Runs `work` and resolves with its outcome, or with a timeout after `ms`. Never rejects. */
export function withTimeout<T>(work: () => Promise<T> | T, ms: number): Promise<Outcome<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Outcome<T>>((res) => {
    timer = setTimeout(() => res({ ok: false, timeout: true }), ms);
  });
  const done = Promise.resolve()
    .then(work)
    .then(
      (value): Outcome<T> => ({ ok: true, value }),
      (error): Outcome<T> => ({ ok: false, timeout: false, error }),
    );
  return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 100) / 10} s`;
}

/** One plugin with its budget, breaker and counters. */
export class Runner {
  /** The id the pipeline knows it by. */
  readonly id: string;
  /** How start-up messages name it: the built-in's name in quotes, or the file path. */
  readonly label: string;
  /** The hooks it defines. */
  readonly hooks: ReadonlySet<HookName>;
  /** Calls that finished, failed, timed out; batches skipped; records dropped; restarts. */
  readonly counts = { calls: 0, failures: 0, timeouts: 0, crashes: 0, skipped: 0, dropped: 0, restarts: 0 };
  readonly #transport: Transport;
  readonly #opts: RunnerOptions;
  readonly #failures = new Map<string, number>();
  #trips = 0;
  #openUntil = -Infinity;
  #open = false;
  #reviving: Promise<void> | null = null;

  /** @param transport how it runs. */
  constructor(
    id: string,
    label: string,
    hooks: ReadonlySet<HookName>,
    transport: Transport,
    opts: RunnerOptions,
  ) {
    this.id = id;
    this.label = label;
    this.hooks = hooks;
    this.#transport = transport;
    this.#opts = opts;
  }

  /** Whether it runs in the plugin host. */
  get isolated(): boolean {
    return this.#transport.isolated;
  }

  /** `running`, or `stopped, retried in N s` while the breaker is open. */
  get state(): string {
    if (!this.#open) return "running";
    const left = this.#openUntil - this.#opts.monotonic();
    return left > 0 ? `stopped, tried again in ${seconds(left)}` : "stopped, tried again at the next batch";
  }

  /** The budget of one call on `size` changes, ms. */
  budget(size: number): number {
    return this.#opts.hookTimeoutMs + this.#opts.perChangeMs * Math.max(0, size - 1);
  }

  /**
   * Calls one hook within its budget; resolves with what it returned, or `undefined` when it was skipped,
   * failed or timed out (all counted and logged here). Never rejects.
   */
  async call(
    hook: string,
    size: number,
    payload: Record<string, unknown>,
    shown = hook,
  ): Promise<unknown> {
    if (!await this.#usable()) return undefined;
    const ms = this.budget(size);
    let outcome = await withTimeout(() => this.#transport.call(hook, payload), ms);
    if (!outcome.ok && !outcome.timeout && this.#transport.classify(outcome.error).kind === "unavailable") {
      // The plugin host was killed under this call (another plugin hung): once it is back, try again.
      await this.#transport.settle(this.#opts.restartWaitMs);
      if (this.#transport.state() === "ready") {
        outcome = await withTimeout(() => this.#transport.call(hook, payload), ms);
      }
    }
    if (outcome.ok) {
      this.counts.calls++;
      this.#trips = 0;
      return outcome.value;
    }
    if (outcome.timeout) {
      this.counts.timeouts++;
      const what = `${shown} did not finish within ${ms} ms (${size} change${size === 1 ? "" : "s"})`;
      this.#trip(what);
      return undefined;
    }
    const error = this.#transport.classify(outcome.error);
    if (error.kind === "unavailable") this.counts.skipped++;
    else if (error.kind === "crashed") {
      this.counts.crashes++;
      this.#trip(`${shown}: ${error.text}`);
    } else this.fail(shown, error.text);
    return undefined;
  }

  /** Counts a failure of `hook` (what it returned could not be used); the first of each hook is logged. */
  fail(hook: string, text: string, count = 1): void {
    const before = this.#failures.get(hook) ?? 0;
    this.#failures.set(hook, before + count);
    this.counts.failures += count;
    if (before === 0) {
      this.#opts.log(
        `plugin ${this.id}: ${hook} failed: ${text} (the batch goes on; further ${hook} failures are only counted)`,
      );
    }
  }

  /** Counts a record it produced that was dropped at the boundary; the first of each kind is logged. */
  drop(kind: string, text: string): void {
    this.counts.dropped++;
    this.fail(kind, `${text}; dropped`);
  }

  /** One line for the summary at stop: state and counts. */
  summary(): string {
    const c = this.counts;
    const parts = [`${c.calls} calls`];
    if (c.failures) parts.push(`${c.failures} failed`);
    if (c.timeouts) parts.push(`${c.timeouts} timed out`);
    if (c.crashes) parts.push(`${c.crashes} crashed`);
    if (c.restarts) parts.push(`${c.restarts} restarts`);
    if (c.skipped) parts.push(`${c.skipped} calls skipped`);
    if (c.dropped) parts.push(`${c.dropped} records dropped`);
    return `plugin ${this.id}: ${this.state}; ${parts.join(", ")}`;
  }

  /** Failure counts by hook, for the summary. */
  get failuresByHook(): ReadonlyMap<string, number> {
    return this.#failures;
  }

  #trip(what: string): void {
    const backoff = Math.min(this.#opts.maxBackoffMs, this.#opts.backoffMs * 2 ** this.#trips);
    this.#trips++;
    this.#open = true;
    this.#openUntil = this.#opts.monotonic() + backoff;
    const how = this.isolated ? "plugin host process killed and restarted" : "skipped";
    this.#opts.log(`plugin ${this.id}: ${what}; stopped (${how}), tried again in ${seconds(backoff)}`);
    try {
      this.#transport.stop(what);
    } catch (err) {
      this.#opts.log(`plugin ${this.id}: stopping it failed: ${safeText(err)}`);
    }
  }

  /** Whether a call may go out now: the breaker is closed, or its backoff is over and the plugin is back. */
  async #usable(): Promise<boolean> {
    if (!this.#open && this.#transport.state() === "stopped") {
      this.counts.crashes++;
      this.#trip("its worker stopped");
    }
    if (this.#open && !await this.#tryAgain()) {
      this.counts.skipped++;
      return false;
    }
    if (this.#transport.state() === "waiting") await this.#transport.settle(this.#opts.restartWaitMs);
    if (this.#transport.state() !== "ready") {
      this.counts.skipped++;
      return false;
    }
    return true;
  }

  /**
   * After the backoff, brings the plugin back (load and init again, in the background) and waits for that
   * up to one hook budget; the batch goes on without it if it takes longer.
   */
  async #tryAgain(): Promise<boolean> {
    if (this.#opts.monotonic() < this.#openUntil) return false;
    this.#reviving ??= this.#transport.revive().then((problem) => {
      if (problem !== null) this.#trip(`could not be restarted: ${problem}`);
      else {
        this.#open = false;
        this.counts.restarts++;
        this.#opts.log(`plugin ${this.id}: restarted`);
      }
    }, (err) => this.#trip(`could not be restarted: ${safeText(err)}`)).finally(() => this.#reviving = null);
    await withTimeout(() => this.#reviving, this.#opts.hookTimeoutMs);
    return !this.#open;
  }
}
