/**
 * One user plugin in the plugin host, as the monitor sees it: calls go to its Worker through the
 * {@link PluginHost}; {@link HostedPlugin.evict} stops it (and kills the host, the only way to stop a Worker
 * stuck in a loop) until {@link HostedPlugin.revive} opens its Worker again and replays `load` and `init`.
 *
 * @module
 */

import type { PluginHost } from "./host_client.ts";
import { HostUnavailableError, type WorkerEvent, type WorkerPermissions } from "./worker_host.ts";

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
  #parked: string | null = null;

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

  /** Why the plugin is stopped until {@link revive} (a hook timed out, its Worker stopped), or `null`. */
  get parked(): string | null {
    return this.#parked;
  }

  /** Whether a call would reach it now (`false` while the host restarts, or once it is stopped). */
  get ready(): boolean {
    return this.#dead === null && this.#parked === null && this.#host.ready;
  }

  /** Waits up to `ms` for a restart of its plugin host in progress. */
  settle(ms: number): Promise<boolean> {
    return this.#host.whenReady(ms);
  }

  /** The setup steps to replay after a restart. */
  get setups(): readonly { op: string; payload: Record<string, unknown> }[] {
    return this.#setups;
  }

  /** Sends one request to the plugin's Worker; rejects with {@link WorkerCallError}. */
  call(op: string, payload: Record<string, unknown> = {}): Promise<unknown> {
    const gone = this.#dead ?? this.#parked;
    if (gone) return Promise.reject(new HostUnavailableError(gone));
    return this.#host.request({ op: "call", w: this.key, call: op, payload });
  }

  /** Like {@link call}, and replayed in order whenever the Worker is opened again (`load`, `init`). */
  async setup(op: string, payload: Record<string, unknown> = {}): Promise<unknown> {
    const result = await this.call(op, payload);
    this.#setups.push({ op, payload });
    return result;
  }

  /**
   * Stops the plugin until {@link revive} because it does not answer: kills the host process (a Worker
   * stuck in a loop cannot be stopped otherwise) and restarts it for the other user plugins.
   */
  evict(reason: string): void {
    if (this.#dead || this.#parked) return;
    this.#parked = reason;
    this.#host.restart(`${this.label}: ${reason}`);
  }

  /** Opens the plugin's Worker again in the running host and replays its setup; resolves to a problem or null. */
  async revive(): Promise<string | null> {
    if (this.#dead) return this.#dead;
    if (!this.#parked) return null;
    const problem = await this.#host.reopen(this);
    if (problem === null) this.#parked = null;
    return problem;
  }

  /** Stops the plugin for good by terminating its Worker only (it failed to load; the host stays). */
  stop(reason: string): void {
    if (this.#dead) return;
    this.#dead = reason;
    this.#host.send({ op: "kill", w: this.key });
  }

  /** Marks it stopped until {@link revive} (its Worker stopped on its own, or a replay failed). */
  park(reason: string): void {
    if (this.#dead || this.#parked) return;
    this.#parked = reason;
  }
}
