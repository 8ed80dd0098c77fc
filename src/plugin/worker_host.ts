/**
 * Runs one user plugin file inside a Worker with narrow permissions, and talks to it over `postMessage`.
 *
 * This module is used **inside the plugin host process** (`plugin_host.ts`), never in the monitor itself:
 * Deno 2.9.6's `Worker.terminate()` does not interrupt a synchronous endless loop (`while (true) {}` keeps its
 * thread, and a CPU core, busy until the process exits), so the only reliable way to stop a runaway plugin is
 * to kill the process it runs in. See `host_client.ts` for the monitor's side.
 *
 * The Worker's entry module is a `data:` URL built from the source text of {@link workerBootstrap} and the
 * self-contained helpers of `hooks.ts`, so nothing has to be embedded or read from disk for it (works the same
 * in `deno run` and in a `deno compile` binary). The bootstrap then imports the plugin from its real absolute
 * `file://` URL, which is why the Worker needs read permission on the plugin file. Before that it routes
 * `console.*` to log events and hides `Deno.stdin/stdout/stderr`: the host process's stdin and stdout carry
 * the protocol with the monitor, and a plugin must not read or write them.
 *
 * @module
 */

import { describeError } from "./hooks.ts";
import { BOOTSTRAP_URL } from "./worker_bootstrap.ts";
import type { AlertRequest } from "./api.ts";

/** Per-worker permissions as `new Worker(..., { deno: { permissions } })` takes them. */
export interface WorkerPermissions {
  /** Files and directories the plugin may read (always includes the plugin file itself). */
  read: string[] | false;
  /** Files and directories the plugin may write. */
  write: string[] | false;
  /** Hosts (`host` or `host:port`) the plugin may connect to. */
  net: string[] | false;
  /** Environment variables the plugin may read. */
  env: string[] | false;
  /** Programs the plugin may run. */
  run: string[] | false;
  /** Never granted. */
  ffi: false;
  /** Never granted. */
  sys: false;
  /** Never granted (no remote modules). */
  import: false;
}

/** Messages the bootstrap sends that are not answers to a request: an alert, or a line for the log. */
export type WorkerEvent =
  | { type: "alert"; alert: AlertRequest; ref?: unknown }
  | { type: "log"; line: string };

/** Answer to request `seq`. */
type WorkerReply = { seq: number; ok: true; result: unknown } | { seq: number; ok: false; error: string };

/** A request the Worker answered with an error, or could not answer because it stopped. */
export class WorkerCallError extends Error {
  /** @param message one line (the plugin's own error text, without the plugin name). */
  constructor(message: string) {
    super(message);
    this.name = "WorkerCallError";
  }
}

/** A request that could not be answered because the plugin host is restarting or gone (not the plugin's fault). */
export class HostUnavailableError extends WorkerCallError {
  /** @param message one line. */
  constructor(message: string) {
    super(message);
    this.name = "HostUnavailableError";
  }
}

/** Host side of one plugin Worker. */
export class WorkerRunner {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #seq = 0;
  #dead: string | null = null;
  readonly #onStop: ((reason: string) => void) | undefined;

  /**
   * Starts the Worker (it idles until {@link call} sends `load`).
   * @param name a name for the Worker (shows in debuggers).
   * @param permissions what the plugin may do.
   * @param onEvent receives alerts and log lines pushed by the plugin.
   * @param onStop called once when the Worker stops on its own (an error escaped it), not on {@link kill}.
   * @throws whatever `new Worker` throws (e.g. `NotCapable` when asking for more than the host has).
   */
  constructor(
    name: string,
    permissions: WorkerPermissions,
    onEvent: (event: WorkerEvent) => void,
    onStop?: (reason: string) => void,
  ) {
    this.#onStop = onStop;
    this.#worker = new Worker(BOOTSTRAP_URL, {
      type: "module",
      name,
      deno: { permissions },
    } as WorkerOptions);
    this.#worker.onmessage = (e: MessageEvent) => {
      const data = e.data as WorkerReply | WorkerEvent;
      if ("seq" in data) {
        const waiter = this.#pending.get(data.seq);
        if (!waiter) return;
        this.#pending.delete(data.seq);
        if (data.ok) waiter.resolve(data.result);
        else waiter.reject(new WorkerCallError(data.error));
      } else if (data && (data.type === "alert" || data.type === "log")) {
        onEvent(data);
      }
    };
    this.#worker.onmessageerror = () =>
      onEvent({ type: "log", line: "sent a message that could not be read" });
    this.#worker.onerror = (e: ErrorEvent) => {
      // Without preventDefault an error escaping the Worker would end the host process.
      e.preventDefault();
      const reason = `worker stopped: ${describeError(e.error ?? e.message)}`;
      if (this.#stop(reason)) this.#onStop?.(reason);
    };
  }

  /** Why the Worker is gone (`null` while it runs). */
  get dead(): string | null {
    return this.#dead;
  }

  /** Sends one request and resolves with the Worker's answer; rejects with {@link WorkerCallError}. */
  call(op: string, payload: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#dead) return Promise.reject(new WorkerCallError(this.#dead));
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      try {
        this.#worker.postMessage({ ...payload, seq, op });
      } catch (err) {
        this.#pending.delete(seq);
        reject(new WorkerCallError(`could not send ${op} to the worker: ${describeError(err)}`));
      }
    });
  }

  /**
   * Terminates the Worker (idempotent); pending requests reject. This does not stop a synchronous endless
   * loop in Deno 2.9.6 (only ending the process does), which is why Workers live in the plugin host process.
   */
  kill(reason = "worker terminated"): void {
    this.#stop(reason);
  }

  /** Returns whether this call stopped it (false when it was already stopped). */
  #stop(reason: string): boolean {
    if (this.#dead) return false;
    this.#dead = reason;
    this.#worker.terminate();
    for (const waiter of this.#pending.values()) waiter.reject(new WorkerCallError(reason));
    this.#pending.clear();
    return true;
  }
}
