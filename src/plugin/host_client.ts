/**
 * The monitor's side of the plugin host (`plugin_host.ts`): starts the child process, talks to it over the
 * private channel (`channel.ts`), and restarts it when a plugin has to be stopped.
 *
 * - One child hosts every user plugin, each in its own Worker with its own permissions.
 * - Stopping a plugin that hangs kills the child with SIGKILL (the only way to stop `while (true) {}` in
 *   Deno 2.9.6) and starts a new one for the other plugins, replaying what set each of them up (`load`,
 *   `init`: a restarted plugin starts from a fresh state). A child that exits on its own is restarted too.
 * - Restarts that follow each other are spaced by a backoff that doubles (up to {@link MAX_RESTART_DELAY_MS});
 *   the host is never given up on.
 * - Nothing here waits without a bound: requests are bounded by the caller (the runners' budgets), set-up
 *   and replays by `setupTimeoutMs`, {@link PluginHost.close} by its argument.
 *
 * @module
 */

import { describeError } from "./hooks.ts";
import { bounded, delay, type HostCommand, readLines, startHost } from "./channel.ts";
import type { HostMessage, HostRequest } from "./plugin_host.ts";
import { HostedPlugin } from "./hosted_plugin.ts";
import {
  HostUnavailableError,
  WorkerCallError,
  type WorkerEvent,
  type WorkerPermissions,
} from "./worker_host.ts";

export { HostUnavailableError } from "./worker_host.ts";
export { bounded } from "./channel.ts";
export type { HostCommand } from "./channel.ts";
export { hostPermissionFlags, pluginHostCommand } from "./host_command.ts";

/** Restarts within this many ms of each other count as consecutive (for the backoff). */
export const RESTART_WINDOW_MS = 60_000;
/** The longest wait before a restart of the plugin host. */
export const MAX_RESTART_DELAY_MS = 60_000;

/** How to run a {@link PluginHost}. */
export interface PluginHostOptions {
  /** What to start (see {@link pluginHostCommand}). */
  command: HostCommand;
  /** One diagnostic line (the pipeline's logger). */
  log: (line: string) => void;
  /** Bound on starting the host and on each step replayed after a restart (`open`, `load`, `init`), in ms. */
  setupTimeoutMs: number;
  /** First wait before a restart that follows another one, ms (default 1000). */
  restartDelayMs?: number;
}

/** A request without its sequence number (added when it is sent). */
export type RequestBody = Extract<HostRequest, { seq: number }> extends infer T
  ? T extends unknown ? Omit<T, "seq"> : never
  : never;

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };

/** One running child process and its line protocol over the private channel. */
class Connection {
  readonly pid: number;
  /** Resolves when the child has exited and the channel is closed. */
  readonly finished: Promise<void>;
  /** Set once the child is being killed or closed by us. */
  stopping = false;
  readonly #child: Deno.ChildProcess;
  readonly #conn: Deno.Conn;
  readonly #pending = new Map<number, Pending>();
  readonly #encoder = new TextEncoder();
  #seq = 0;
  #gone: string | null = null;
  #lastStderr = "";
  #queue: Promise<unknown> = Promise.resolve();

  /** Starts the child and waits for it to connect; see `channel.ts`. */
  static async start(
    command: HostCommand,
    setupMs: number,
    onMessage: (message: HostMessage) => void,
    onExit: (description: string) => void,
    log: (line: string) => void,
  ): Promise<Connection> {
    let stderrLines = 0;
    const box: { conn?: Connection } = {};
    const proc = await startHost(command, setupMs, (line) => {
      if (box.conn && !box.conn.#lastStderr.startsWith("error:")) box.conn.#lastStderr = line;
      if (++stderrLines <= 20) log(`plugin host: ${line}`);
    });
    return box.conn = new Connection(proc.child, proc.conn, onMessage, onExit);
  }

  private constructor(
    child: Deno.ChildProcess,
    conn: Deno.Conn,
    onMessage: (message: HostMessage) => void,
    onExit: (description: string) => void,
  ) {
    this.#child = child;
    this.#conn = conn;
    this.pid = child.pid;
    const reading = (async () => {
      for await (const line of readLines(conn.readable)) {
        let message: HostMessage | undefined;
        try {
          message = JSON.parse(line);
        } catch {
          continue;
        }
        if (message && typeof message === "object") {
          if ("seq" in message) this.#settle(message);
          else onMessage(message);
        }
      }
    })().catch(() => {});
    this.finished = (async () => {
      const status = await child.status;
      await bounded(reading, 500, undefined);
      try {
        conn.close();
      } catch {
        // already closed
      }
      const description = status.signal
        ? `killed by ${status.signal}`
        : `exit code ${status.code}${this.#lastStderr ? `: ${this.#lastStderr.slice(0, 300)}` : ""}`;
      this.#fail(`plugin host exited (${description})`);
      if (!this.stopping) onExit(description);
    })();
  }

  /** Sends a request and resolves with its result; rejects with {@link WorkerCallError}. */
  request(message: RequestBody): Promise<unknown> {
    if (this.#gone) return Promise.reject(new HostUnavailableError(this.#gone));
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      this.#write({ ...message, seq } as HostRequest);
    });
  }

  /** Sends a message that has no answer. */
  send(message: HostRequest): void {
    if (!this.#gone) this.#write(message);
  }

  /** Kills the child (SIGKILL; the only way to stop a Worker stuck in a loop). Pending requests reject. */
  kill(reason: string): void {
    this.stopping = true;
    this.#fail(reason);
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /** Closes the channel (the host exits when it sees the end), waits up to `ms`, then kills it. */
  async close(ms: number): Promise<void> {
    this.stopping = true;
    this.#fail("plugin host closed");
    await this.#queue;
    try {
      this.#conn.closeWrite();
    } catch {
      // already closed
    }
    if (await bounded(this.finished.then(() => true), ms, false)) return;
    this.kill("plugin host closed");
    await this.finished;
  }

  #write(message: HostRequest): void {
    const bytes = this.#encoder.encode(`${JSON.stringify(message)}\n`);
    this.#queue = this.#queue.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
    }).catch(() => {});
  }

  #settle(message: Extract<HostMessage, { seq: number }>): void {
    const waiter = this.#pending.get(message.seq);
    if (!waiter) return;
    this.#pending.delete(message.seq);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new WorkerCallError(String(message.error)));
  }

  #fail(reason: string): void {
    this.#gone ??= reason;
    for (const waiter of this.#pending.values()) waiter.reject(new HostUnavailableError(this.#gone));
    this.#pending.clear();
  }
}

/**
 * The plugin host process as the pipeline sees it: add plugins, call them, restart, close. Starts the child
 * on the first {@link add}.
 */
export class PluginHost {
  readonly #opts: PluginHostOptions;
  readonly #plugins: HostedPlugin[] = [];
  /** Every child not yet fully reaped (killed ones included), so that close() can wait for them. */
  readonly #children = new Set<Connection>();
  #conn: Connection | null = null;
  #starting: Promise<Connection> | null = null;
  #restarting: Promise<void> | null = null;
  #closed = false;
  #keys = 0;
  #lastRestart = -Infinity;
  #consecutive = 0;
  /** Restarts of the child so far. */
  restarts = 0;

  /** @param opts how to start and supervise the child. */
  constructor(opts: PluginHostOptions) {
    this.#opts = opts;
  }

  /** The pid of the running child, if any (for tests and diagnostics). */
  get pid(): number | null {
    return this.#conn?.pid ?? null;
  }

  /** Whether requests can be sent now (a child runs, no restart is in progress, not closed). */
  get ready(): boolean {
    return this.#conn !== null && this.#restarting === null && !this.#closed;
  }

  /**
   * Starts a Worker for one plugin in the host (starting the host first if needed).
   * @throws {WorkerCallError} when the Worker cannot start (e.g. `NotCapable`), or an error from starting the
   * child process (e.g. no `--allow-run` for this program).
   */
  async add(
    name: string,
    permissions: WorkerPermissions,
    onEvent: (event: WorkerEvent) => void,
  ): Promise<HostedPlugin> {
    if (this.#closed) throw new HostUnavailableError("plugin host closed");
    if (!this.#conn) {
      this.#starting ??= this.#spawn();
      this.#conn = await this.#starting;
    }
    const plugin = new HostedPlugin(this, ++this.#keys, name, permissions, onEvent);
    await this.#conn.request({ op: "open", w: plugin.key, name, permissions });
    this.#plugins.push(plugin);
    return plugin;
  }

  /** Sends a request (rejects with {@link HostUnavailableError} while restarting or closed). */
  request(message: RequestBody): Promise<unknown> {
    if (!this.ready) {
      return Promise.reject(
        new HostUnavailableError(this.#closed ? "plugin host closed" : "plugin host restarting"),
      );
    }
    return this.#conn!.request(message);
  }

  /** Sends a message without an answer (dropped when no child runs). */
  send(message: HostRequest): void {
    this.#conn?.send(message);
  }

  /** Waits up to `ms` for a restart in progress; returns whether the host is ready. */
  async whenReady(ms: number): Promise<boolean> {
    if (this.#restarting) await bounded(this.#restarting, ms, undefined);
    return this.ready;
  }

  /** Kills the child and starts a new one for the plugins still in use (see the module doc). */
  restart(why: string): void {
    const old = this.#conn;
    this.#conn = null;
    old?.kill(`plugin host killed (${why})`);
    if (this.#closed || this.#restarting) return; // a restart in progress notices the kill and starts over
    this.#restarting = this.#restartLoop().finally(() => this.#restarting = null);
  }

  /**
   * Opens a stopped plugin's Worker again in the running host and replays its set-up (bounded); a step that
   * does not finish in time kills the host (restarted for the others). Resolves to a problem, or null.
   */
  async reopen(p: HostedPlugin): Promise<string | null> {
    if (!await this.whenReady(this.#opts.setupTimeoutMs)) return "the plugin host is not running";
    const conn = this.#conn!;
    const problem = await this.#replay(conn, p);
    if (problem === "timeout") {
      this.restart(`${p.label}: set-up timed out`);
      return `set-up did not finish within ${this.#opts.setupTimeoutMs} ms`;
    }
    return problem;
  }

  /** Closes the host: its channel ends and it exits (killed after `ms`). Idempotent. */
  async close(ms: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const conn = this.#conn;
    this.#conn = null;
    if (this.#restarting) {
      conn?.kill("plugin host closed");
      await this.#restarting;
    } else {
      await conn?.close(ms);
    }
    await Promise.all([...this.#children].map((c) => c.finished));
  }

  async #spawn(): Promise<Connection> {
    const onMessage = (message: HostMessage) => {
      if (!("w" in message)) return;
      const plugin = this.#plugins.find((p) => p.key === message.w);
      if (!plugin || plugin.dead || plugin.parked) return;
      if (message.ev === "alert") {
        plugin.onEvent({ type: "alert", alert: message.alert as never, ref: message.ref });
      } else if (message.ev === "log") plugin.onEvent({ type: "log", line: String(message.line) });
      else if (message.ev === "dead") plugin.park(String(message.reason));
    };
    const onExit = (description: string) => {
      if (this.#conn !== conn || this.#closed) return;
      this.#opts.log(`plugin host exited unexpectedly (${description}); restarting it`);
      this.restart("it exited");
    };
    const conn: Connection = await Connection.start(
      this.#opts.command,
      this.#opts.setupTimeoutMs,
      onMessage,
      onExit,
      this.#opts.log,
    );
    this.#children.add(conn);
    conn.finished.then(() => this.#children.delete(conn));
    return conn;
  }

  /** Opens `p`'s Worker on `conn` and replays its set-up: null, a problem, or `"timeout"`. */
  async #replay(conn: Connection, p: HostedPlugin): Promise<string | null | "timeout"> {
    const steps = [
      () => conn.request({ op: "open", w: p.key, name: p.name, permissions: p.permissions }),
      ...p.setups.map((s) => () => conn.request({ op: "call", w: p.key, call: s.op, payload: s.payload })),
    ];
    for (const step of steps) {
      const outcome = await bounded(
        step().then(() => null, (err: Error) => err),
        this.#opts.setupTimeoutMs,
        "timeout" as const,
      );
      if (outcome === null) continue;
      if (outcome === "timeout") return outcome;
      conn.send({ op: "kill", w: p.key });
      return outcome.message;
    }
    return null;
  }

  async #restartLoop(): Promise<void> {
    const log = this.#opts.log;
    while (!this.#closed) {
      const now = performance.now();
      this.#consecutive = now - this.#lastRestart < RESTART_WINDOW_MS ? this.#consecutive + 1 : 0;
      const wait = this.#consecutive === 0
        ? 0
        : Math.min(MAX_RESTART_DELAY_MS, (this.#opts.restartDelayMs ?? 1000) * 2 ** (this.#consecutive - 1));
      if (wait > 0) await delay(wait).done;
      if (this.#closed) return;
      this.#lastRestart = performance.now();
      this.restarts++;
      let conn: Connection;
      try {
        conn = await this.#spawn();
      } catch (err) {
        log(`plugin host: cannot restart it: ${describeError(err)}`);
        continue;
      }
      if (this.#closed) {
        conn.kill("plugin host closed");
        return;
      }
      this.#conn = conn;
      let again = false;
      for (const p of this.#plugins) {
        if (p.dead || p.parked) continue;
        const problem = await this.#replay(conn, p);
        if (problem === null) continue;
        p.park(problem === "timeout" ? "set-up timed out after a restart of the plugin host" : problem);
        if (problem === "timeout" || this.#conn !== conn) {
          conn.kill(`plugin host killed (${p.label}: set-up timed out)`);
          again = true;
          break;
        }
      }
      if (!again) return;
      this.#conn = null;
    }
  }
}
