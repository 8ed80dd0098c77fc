/**
 * The monitor's side of the plugin host (`plugin_host.ts`): starts the child process, passes requests to the
 * user plugins in it, and restarts it when a plugin has to be stopped.
 *
 * - One child hosts every user plugin, each in its own Worker with its own permissions.
 * - {@link HostedPlugin.evict} (a hook timed out) kills the child with SIGKILL — the only way to stop
 *   `while (true) {}` in Deno 2.9.6 — and starts a new one for the remaining plugins, replaying what set each
 *   of them up (`load`, `init`: a restarted plugin starts from a fresh state). A child that exits on its own
 *   is restarted the same way.
 * - Restarts are bounded ({@link DEFAULT_MAX_RESTARTS} per {@link DEFAULT_RESTART_WINDOW_MS}); past that,
 *   every user plugin is disabled with one log line.
 * - Nothing here waits without a bound: requests are bounded by the caller (the pipeline's timeouts), replays
 *   by `setupTimeoutMs`, {@link PluginHost.close} by its argument.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { describeError } from "./hooks.ts";
import { type HostMessage, type HostRequest, PLUGIN_HOST_COMMAND, readLines } from "./plugin_host.ts";
import { WorkerCallError, type WorkerEvent, type WorkerPermissions } from "./worker_host.ts";

/** At most this many restarts of the plugin host... */
export const DEFAULT_MAX_RESTARTS = 3;
/** ...within this many ms; then user plugins are disabled. */
export const DEFAULT_RESTART_WINDOW_MS = 10 * 60_000;

/** A request that could not be answered because the plugin host is restarting or gone (not the plugin's fault). */
export class HostUnavailableError extends WorkerCallError {
  /** @param message one line. */
  constructor(message: string) {
    super(message);
    this.name = "HostUnavailableError";
  }
}

/** The program and arguments that start the plugin host. */
export interface HostCommand {
  /** The executable (`Deno.execPath()`). */
  exe: string;
  /** Its arguments. */
  args: string[];
}

const GRANTABLE = { read: "path", write: "path", net: "host", env: "variable", run: "command" } as const;

/**
 * Permission flags for a `deno run` plugin host: for each kind the Workers may be granted, exactly the
 * entries the plugins ask for that this process holds itself (never more than the parent; an entry the parent
 * lacks is left out, so that plugin's Worker fails to start with `NotCapable`, as it would in-process).
 */
export function hostPermissionFlags(grants: readonly WorkerPermissions[]): string[] {
  const flags: string[] = [];
  for (const [name, key] of Object.entries(GRANTABLE) as [keyof typeof GRANTABLE, string][]) {
    const wanted = new Set<string>();
    for (const g of grants) for (const entry of g[name] || []) wanted.add(entry);
    const held = [...wanted].filter((entry) => {
      if (entry.includes(",")) return false; // cannot be written in a flag list
      try {
        return Deno.permissions.querySync({ name, [key]: entry } as Deno.PermissionDescriptor).state ===
          "granted";
      } catch {
        return false;
      }
    });
    if (held.length > 0) flags.push(`--allow-${name}=${held.join(",")}`);
  }
  return flags;
}

/**
 * How to start the plugin host as the same program: the compiled executable with `__plugin-host` (its
 * permissions are baked in), or under `deno run` this Deno with `run`, the permissions from
 * {@link hostPermissionFlags}, `--unstable-worker-options`, `--no-prompt` (stdin is the protocol) and
 * `--quiet`, then portreporter's `main.ts` (deno.json is found from there, as for the monitor).
 */
export function pluginHostCommand(grants: readonly WorkerPermissions[]): HostCommand {
  if (Deno.build.standalone) return { exe: Deno.execPath(), args: [PLUGIN_HOST_COMMAND] };
  const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
  return {
    exe: Deno.execPath(),
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--unstable-worker-options",
      ...hostPermissionFlags(grants),
      main,
      PLUGIN_HOST_COMMAND,
    ],
  };
}

/** How to run a {@link PluginHost}. */
export interface PluginHostOptions {
  /** What to start (see {@link pluginHostCommand}). */
  command: HostCommand;
  /** One diagnostic line (the pipeline's logger). */
  log: (line: string) => void;
  /** Bound on each step replayed after a restart (`open`, `load`, `init`), in ms. */
  setupTimeoutMs: number;
  /** Restarts allowed per window (default {@link DEFAULT_MAX_RESTARTS}). */
  maxRestarts?: number;
  /** The window, in ms (default {@link DEFAULT_RESTART_WINDOW_MS}). */
  restartWindowMs?: number;
}

/** A request without its sequence number (added when it is sent). */
type RequestBody = Extract<HostRequest, { seq: number }> extends infer T
  ? T extends unknown ? Omit<T, "seq"> : never
  : never;

type Pending = { resolve: (value: unknown) => void; reject: (err: Error) => void };

function delay(ms: number): { done: Promise<void>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<void>((res) => timer = setTimeout(res, ms));
  return { done, cancel: () => clearTimeout(timer) };
}

/** Resolves with `work`'s value, or with `timedOut` after `ms`. */
async function bounded<T, U>(work: Promise<T>, ms: number, timedOut: U): Promise<T | U> {
  const d = delay(ms);
  try {
    return await Promise.race([work, d.done.then(() => timedOut)]);
  } finally {
    d.cancel();
  }
}

/** One running child process and its line protocol. */
class Connection {
  readonly pid: number;
  /** Resolves when the child has exited and its pipes are closed. */
  readonly finished: Promise<void>;
  /** Set once the child is being killed or closed by us. */
  stopping = false;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, Pending>();
  readonly #encoder = new TextEncoder();
  readonly #abort = new AbortController();
  #seq = 0;
  #gone: string | null = null;
  #lastStderr = "";

  constructor(
    command: HostCommand,
    token: string,
    onMessage: (message: HostMessage) => void,
    onExit: (description: string) => void,
    log: (line: string) => void,
  ) {
    const child = this.#child = new Deno.Command(command.exe, {
      args: command.args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = child.pid;
    const writer = this.#writer = child.stdin.getWriter();
    this.#write({ op: "hello", token });
    const stdoutDone = (async () => {
      let strays = 0;
      for await (const line of readLines(child.stdout, this.#abort.signal)) {
        let message: HostMessage | undefined;
        try {
          message = JSON.parse(line);
        } catch {
          // not ours
        }
        if (message?.k === token) {
          if ("seq" in message) this.#settle(message);
          else onMessage(message);
        } else if (line.trim() !== "" && strays++ === 0) {
          log(`plugin host: ignoring output that is not from the host itself: ${line.slice(0, 200)}`);
        }
      }
    })().catch(() => {});
    let stderrLines = 0;
    const stderrDone = (async () => {
      for await (const line of readLines(child.stderr, this.#abort.signal)) {
        // deno-lint-ignore no-control-regex
        const plain = line.replace(/\u001b\[[0-9;]*m/g, "").trim();
        if (plain === "") continue;
        // Deno reports a failure as "error: ..." (then maybe a backtrace): keep that line for the exit reason.
        if (!this.#lastStderr.startsWith("error:")) this.#lastStderr = plain;
        // Deno's own messages (an uncaught error in the host); plugins' console output arrives as events.
        if (++stderrLines <= 20) log(`plugin host: ${plain.slice(0, 500)}`);
      }
    })().catch(() => {});
    this.finished = (async () => {
      const status = await child.status;
      // Read what the child wrote before it ended (replies, its last error), but not for long: a program a
      // plugin started may still hold the pipes.
      const grace = delay(500);
      await Promise.race([Promise.all([stdoutDone, stderrDone]), grace.done]);
      grace.cancel();
      this.#abort.abort();
      await Promise.all([stdoutDone, stderrDone]);
      const description = status.signal
        ? `killed by ${status.signal}`
        : `exit code ${status.code}${this.#lastStderr ? `: ${this.#lastStderr.slice(0, 300)}` : ""}`;
      this.#fail(`plugin host exited (${description})`);
      await writer.close().catch(() => {});
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

  /** Closes the child's stdin (it exits when it sees the end), waits up to `ms`, then kills it. */
  async close(ms: number): Promise<void> {
    this.stopping = true;
    this.#fail("plugin host closed");
    await this.#writer.close().catch(() => {});
    if (await bounded(this.finished.then(() => true), ms, false)) return;
    this.kill("plugin host closed");
    await this.finished;
  }

  #write(message: HostRequest): void {
    this.#writer.write(this.#encoder.encode(`${JSON.stringify(message)}\n`)).catch(() => {});
  }

  #settle(message: Extract<HostMessage, { seq: number }>): void {
    const waiter = this.#pending.get(message.seq);
    if (!waiter) return;
    this.#pending.delete(message.seq);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new WorkerCallError(message.error));
  }

  #fail(reason: string): void {
    this.#gone ??= reason;
    for (const waiter of this.#pending.values()) waiter.reject(new HostUnavailableError(this.#gone));
    this.#pending.clear();
  }
}

/** One user plugin in the plugin host. */
export class HostedPlugin {
  /** How log lines name it: the file path until the pipeline knows its id, then the id. */
  label: string;
  /** The Worker's number in the host. */
  readonly key: number;
  /** The Worker's name and permissions. */
  readonly name: string;
  /** What its Worker may do. */
  readonly permissions: WorkerPermissions;
  /** Receives the plugin's alerts and log lines. */
  readonly onEvent: (event: WorkerEvent) => void;
  readonly #host: PluginHost;
  readonly #setups: { op: string; payload: Record<string, unknown> }[] = [];
  #dead: string | null = null;

  /** Use {@link PluginHost.add}. */
  constructor(
    host: PluginHost,
    key: number,
    name: string,
    permissions: WorkerPermissions,
    onEvent: (event: WorkerEvent) => void,
  ) {
    this.#host = host;
    this.key = key;
    this.label = name;
    this.name = name;
    this.permissions = permissions;
    this.onEvent = onEvent;
  }

  /** Why the plugin is gone for good (`null` while it is in use). */
  get dead(): string | null {
    return this.#dead;
  }

  /** Whether a call would reach it now (`false` while the host restarts, or once it is dead). */
  get ready(): boolean {
    return this.#dead === null && this.#host.ready;
  }

  /** The setup steps to replay after a restart. */
  get setups(): readonly { op: string; payload: Record<string, unknown> }[] {
    return this.#setups;
  }

  /** Sends one request to the plugin's Worker; rejects with {@link WorkerCallError}. */
  call(op: string, payload: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#dead) return Promise.reject(new WorkerCallError(this.#dead));
    return this.#host.request({ op: "call", w: this.key, call: op, payload });
  }

  /** Like {@link call}, and replayed in order whenever the host is restarted (`load`, `init`). */
  async setup(op: string, payload: Record<string, unknown> = {}): Promise<unknown> {
    const result = await this.call(op, payload);
    this.#setups.push({ op, payload });
    return result;
  }

  /**
   * Stops the plugin for good because it does not answer: kills the host process (a Worker stuck in a loop
   * cannot be stopped otherwise) and restarts it for the other user plugins.
   */
  evict(reason: string): void {
    if (this.#dead) return;
    this.#dead = reason;
    this.#host.restart(`${this.label}: ${reason}`);
  }

  /** Stops the plugin for good by terminating its Worker only (it failed to load; the host stays). */
  stop(reason: string): void {
    if (this.#dead) return;
    this.#dead = reason;
    this.#host.send({ op: "kill", w: this.key });
  }

  /** Marks it dead and logs why (used by the host: the Worker died, or a replay failed). */
  markDead(reason: string, log: (line: string) => void): void {
    if (this.#dead) return;
    this.#dead = reason;
    log(`plugin ${this.label}: ${reason}; plugin disabled until the monitor restarts`);
  }
}

/**
 * The plugin host process as the pipeline sees it: add plugins, call them, evict one, close. Starts the child
 * on the first {@link add}.
 */
export class PluginHost {
  readonly #opts: PluginHostOptions;
  readonly #plugins: HostedPlugin[] = [];
  readonly #restartTimes: number[] = [];
  /** Every child not yet fully reaped (killed ones included), so that close() can wait for them. */
  readonly #children = new Set<Connection>();
  #conn: Connection | null = null;
  #restarting: Promise<void> | null = null;
  #closed = false;
  #missed = 0;
  #keys = 0;

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

  /** Whether one more restart is allowed now (see {@link PluginHostOptions.maxRestarts}). */
  get canRestart(): boolean {
    this.#forgetOldRestarts();
    return this.#restartTimes.length < (this.#opts.maxRestarts ?? DEFAULT_MAX_RESTARTS);
  }

  /** Number of plugins still in use. */
  get live(): number {
    return this.#plugins.filter((p) => !p.dead).length;
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
    this.#conn ??= this.#spawn();
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

  /** Counts a batch that went on without the user plugins because the host was restarting. */
  noteMissedBatch(): void {
    this.#missed++;
  }

  /** Kills the child and starts a new one for the plugins still in use (bounded; see the module doc). */
  restart(why: string): void {
    const old = this.#conn;
    this.#conn = null;
    old?.kill(`plugin host killed (${why})`);
    if (this.#closed || this.#restarting) return; // a restart in progress notices the kill and starts over
    this.#restarting = this.#restartLoop().finally(() => this.#restarting = null);
  }

  /** Closes the host: its stdin ends and it exits (killed after `ms`). Idempotent. */
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

  #forgetOldRestarts(): void {
    const windowMs = this.#opts.restartWindowMs ?? DEFAULT_RESTART_WINDOW_MS;
    const now = performance.now();
    while (this.#restartTimes.length > 0 && now - this.#restartTimes[0] >= windowMs) {
      this.#restartTimes.shift();
    }
  }

  #spawn(): Connection {
    const onMessage = (message: HostMessage) => {
      if (!("w" in message)) return;
      const plugin = this.#plugins.find((p) => p.key === message.w);
      if (!plugin || plugin.dead) return;
      if (message.ev === "alert") plugin.onEvent({ type: "alert", alert: message.alert as never });
      else if (message.ev === "log") plugin.onEvent({ type: "log", line: String(message.line) });
      else if (message.ev === "dead") plugin.markDead(String(message.reason), this.#opts.log);
    };
    const onExit = (description: string) => {
      if (this.#conn !== conn || this.#closed) return;
      this.#opts.log(`plugin host exited unexpectedly (${description}); restarting it`);
      this.restart("it exited");
    };
    const conn: Connection = new Connection(
      this.#opts.command,
      crypto.randomUUID(),
      onMessage,
      onExit,
      this.#opts.log,
    );
    this.#children.add(conn);
    conn.finished.then(() => this.#children.delete(conn));
    return conn;
  }

  async #restartLoop(): Promise<void> {
    const max = this.#opts.maxRestarts ?? DEFAULT_MAX_RESTARTS;
    const windowMs = this.#opts.restartWindowMs ?? DEFAULT_RESTART_WINDOW_MS;
    const log = this.#opts.log;
    const started = performance.now();
    this.#missed = 0;
    while (!this.#closed) {
      const live = this.#plugins.filter((p) => !p.dead);
      if (live.length === 0) return;
      if (!this.canRestart) {
        const why = `restarted ${max} times within ${Math.round(windowMs / 60_000)} minutes`;
        for (const p of live) p.stop(`plugin host ${why}`);
        log(
          `plugin host: ${why}; user plugins disabled until the monitor restarts (${
            live.map((p) => p.label).join(", ")
          })`,
        );
        return;
      }
      this.#restartTimes.push(performance.now());
      let conn: Connection;
      try {
        conn = this.#spawn();
      } catch (err) {
        log(`plugin host: cannot restart it: ${describeError(err)}`);
        continue;
      }
      this.#conn = conn;
      let again = false;
      for (const p of live) {
        if (p.dead) continue;
        const steps = [
          {
            op: "open",
            run: () => conn.request({ op: "open", w: p.key, name: p.name, permissions: p.permissions }),
          },
          ...p.setups.map((s) => ({
            op: s.op,
            run: () => conn.request({ op: "call", w: p.key, call: s.op, payload: s.payload }),
          })),
        ];
        for (const step of steps) {
          const outcome = await bounded(
            step.run().then(() => null, (err: Error) => err),
            this.#opts.setupTimeoutMs,
            "timeout" as const,
          );
          if (outcome === null) continue;
          if (outcome === "timeout") {
            p.markDead(
              `${step.op} did not finish within ${this.#opts.setupTimeoutMs} ms after a restart of the plugin host`,
              log,
            );
            conn.kill(`plugin host killed (${p.label}: ${step.op} timed out)`);
            again = true;
          } else if (outcome instanceof HostUnavailableError || this.#conn !== conn) {
            again = true; // the child died (or was killed) meanwhile: start over
          } else {
            p.markDead(`could not be restarted: ${step.op} failed: ${outcome.message}`, log);
            conn.send({ op: "kill", w: p.key });
          }
          break;
        }
        if (again) break;
      }
      if (!again) {
        if (this.#missed > 0) {
          log(
            `plugin host restarted in ${
              Math.round(performance.now() - started)
            } ms (user plugins skipped in ${this.#missed} batch${this.#missed === 1 ? "" : "es"} meanwhile)`,
          );
        }
        return;
      }
      this.#conn = null;
    }
  }
}
