/**
 * The plugin host: the child process that runs every user plugin, each in its own Worker with its own
 * permissions (`worker_host.ts`). The monitor starts it as the same program with the hidden command
 * `__plugin-host` and talks to it over a private loopback connection (`channel.ts`: no plugin can reach it;
 * the host's own stdio carries nothing), one JSON object per line (`host_client.ts` is the other end).
 *
 * Why a process: Deno 2.9.6's `Worker.terminate()` does not stop a synchronous endless loop, so a runaway
 * plugin can only be stopped by killing the process it runs in. The monitor does that (SIGKILL) when a hook
 * times out, and starts a new host for the other user plugins.
 *
 * Protocol (monitor → host, one line each):
 * - `{"op":"open","seq":N,"w":W,"name":...,"permissions":{...}}`: start Worker `W` for one plugin;
 * - `{"op":"call","seq":N,"w":W,"call":OP,"payload":{...}}`: a request to Worker `W` (`load`, `init`,
 *   `batch`, `onChanges`, `onAlerts`, `close`, see `worker_host.ts`);
 * - `{"op":"kill","w":W}`: terminate Worker `W` (no answer).
 *
 * Host → monitor: `{"seq":N,"ok":true,"result":...}` or `{"seq":N,"ok":false,"error":"..."}` answers request
 * `N`; `{"w":W,"ev":"alert","alert":{...},"ref":R}` and `{"w":W,"ev":"log","line":"..."}` are pushed by a
 * plugin; `{"w":W,"ev":"dead","reason":"..."}` says Worker `W` stopped on its own.
 *
 * Lifetime: the host exits when the connection ends (the monitor closed it, or died). It ignores Ctrl+C /
 * SIGTERM (they reach the whole process group): the monitor, which gets them too, closes the plugins first and
 * then the connection, so user plugins can still flush in `close`.
 *
 * @module
 */

import { describeError } from "./hooks.ts";
import { joinMonitor, readLines } from "./channel.ts";
import { type WorkerEvent, type WorkerPermissions, WorkerRunner } from "./worker_host.ts";

/** The hidden command of `src/cli/main.ts` that runs {@link runPluginHost}. */
export const PLUGIN_HOST_COMMAND = "__plugin-host";

/** A line the monitor sends to the plugin host. */
export type HostRequest =
  | { op: "open"; seq: number; w: number; name: string; permissions: WorkerPermissions }
  | { op: "call"; seq: number; w: number; call: string; payload: Record<string, unknown> }
  | { op: "kill"; w: number };

/** A line the plugin host sends to the monitor. */
export type HostMessage =
  | { seq: number; ok: true; result?: unknown }
  | { seq: number; ok: false; error: string }
  | { w: number; ev: "alert"; alert: unknown; ref?: unknown }
  | { w: number; ev: "log"; line: string }
  | { w: number; ev: "dead"; reason: string };

/** One line for the monitor; a value that is not JSON becomes an error answer or a log line. */
function encodeMessage(message: Record<string, unknown>): string {
  try {
    return JSON.stringify(message);
  } catch (err) {
    const why = `(it must be JSON): ${describeError(err)}`;
    return JSON.stringify(
      typeof message.seq === "number"
        ? { seq: message.seq, ok: false, error: `could not pass the result to the monitor ${why}` }
        : { w: message.w, ev: "log", line: `could not pass ${message.ev} to the monitor ${why}` },
    );
  }
}

/**
 * Runs the plugin host until its connection to the monitor ends; returns the exit code (0, or 2 without a
 * valid invitation on stdin). Started by `portreporter __plugin-host`; not meant to be run by hand.
 */
export async function runPluginHost(): Promise<number> {
  const ignore = () => {};
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, ignore);
  const conn = await joinMonitor().catch(() => null);
  if (!conn) return 2;
  const encoder = new TextEncoder();
  let queue: Promise<unknown> = Promise.resolve();
  const send = (message: Record<string, unknown>) => {
    const bytes = encoder.encode(`${encodeMessage(message)}\n`);
    // A failed write means the monitor is gone; the connection ends then too, and the loop below exits.
    queue = queue.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    }).catch(ignore);
  };
  const workers = new Map<number, WorkerRunner>();
  const open = (msg: Extract<HostRequest, { op: "open" }>) => {
    workers.get(msg.w)?.kill("replaced");
    const onEvent = (event: WorkerEvent) =>
      send(
        event.type === "alert"
          ? { w: msg.w, ev: "alert", alert: event.alert, ref: event.ref }
          : { w: msg.w, ev: "log", line: event.line },
      );
    workers.set(
      msg.w,
      new WorkerRunner(msg.name, msg.permissions, onEvent, (reason) => {
        send({ w: msg.w, ev: "dead", reason });
      }),
    );
  };
  const handle = async (msg: HostRequest) => {
    if (msg.op === "kill") {
      workers.get(msg.w)?.kill("terminated by the monitor");
      workers.delete(msg.w);
      return;
    }
    try {
      let result: unknown;
      if (msg.op === "open") open(msg);
      else if (msg.op === "call") {
        const worker = workers.get(msg.w);
        if (!worker) throw new Error(`no worker ${msg.w} in the plugin host`);
        result = await worker.call(msg.call, msg.payload ?? {});
      } else {
        throw new Error(`unknown request ${JSON.stringify((msg as { op?: unknown }).op)}`);
      }
      send({ seq: msg.seq, ok: true, result });
    } catch (err) {
      send({ seq: msg.seq, ok: false, error: err instanceof Error ? err.message : describeError(err) });
    }
  };
  try {
    for await (const line of readLines(conn.readable)) {
      let msg: HostRequest;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if (msg && typeof msg === "object") void handle(msg);
    }
  } catch {
    // the connection broke: the monitor is gone.
  }
  // main.ts ends the process with Deno.exit, which also ends Workers stuck in a loop.
  for (const worker of workers.values()) worker.kill("plugin host exiting");
  return 0;
}
