/**
 * The plugin host: the child process that runs every user plugin, each in its own Worker with its own
 * permissions (`worker_host.ts`). The monitor starts it as the same program with the hidden command
 * `__plugin-host` and talks to it over the child's stdin and stdout, one JSON object per line
 * (`host_client.ts` is the other end).
 *
 * Why a process: Deno 2.9.6's `Worker.terminate()` does not stop a synchronous endless loop, so a runaway
 * plugin can only be stopped by killing the process it runs in. The monitor does that (SIGKILL) when a hook
 * times out, and starts a new host for the other user plugins.
 *
 * Protocol (parent → child, one line each):
 * - `{"op":"hello","token":T}` first, once: `T` tags every line the child writes, so that stray output (a
 *   program a plugin runs with inherited stdout, say) is never taken for a reply;
 * - `{"op":"open","seq":N,"w":W,"name":...,"permissions":{...}}`: start Worker `W` for one plugin;
 * - `{"op":"call","seq":N,"w":W,"call":OP,"payload":{...}}`: a request to Worker `W` (`load`, `init`,
 *   `batch`, `onChanges`, `onAlerts`, `close`, see `worker_host.ts`);
 * - `{"op":"kill","w":W}`: terminate Worker `W` (no answer).
 *
 * Child → parent: `{"k":T,"seq":N,"ok":true,"result":...}` or `{"k":T,"seq":N,"ok":false,"error":"..."}`
 * answers request `N`; `{"k":T,"w":W,"ev":"alert","alert":{...}}` and `{"k":T,"w":W,"ev":"log","line":"..."}`
 * are pushed by a plugin; `{"k":T,"w":W,"ev":"dead","reason":"..."}` says Worker `W` stopped on its own.
 *
 * Lifetime: the host exits when its stdin ends (the monitor closed it, or died). It ignores Ctrl+C / SIGTERM
 * (they reach the whole process group): the monitor, which gets them too, closes the plugins first and then
 * the host's stdin, so user plugins can still flush in `close`.
 *
 * @module
 */

import { describeError } from "./hooks.ts";
import { type WorkerEvent, type WorkerPermissions, WorkerRunner } from "./worker_host.ts";

/** The hidden command of `src/cli/main.ts` that runs {@link runPluginHost}. */
export const PLUGIN_HOST_COMMAND = "__plugin-host";

/** A line the monitor sends to the plugin host. */
export type HostRequest =
  | { op: "hello"; token: string }
  | { op: "open"; seq: number; w: number; name: string; permissions: WorkerPermissions }
  | { op: "call"; seq: number; w: number; call: string; payload: Record<string, unknown> }
  | { op: "kill"; w: number };

/** A line the plugin host sends to the monitor (every one carries the session token `k`). */
export type HostMessage =
  & { k: string }
  & (
    | { seq: number; ok: true; result?: unknown }
    | { seq: number; ok: false; error: string }
    | { w: number; ev: "alert"; alert: unknown }
    | { w: number; ev: "log"; line: string }
    | { w: number; ev: "dead"; reason: string }
  );

/**
 * Splits a byte stream into lines (without the line end; `\r\n` and `\n`). The last line is yielded even
 * without a final newline. Aborting `signal` cancels the stream (and ends the iteration with an error).
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  signal?: AbortSignal,
): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream(), { signal })) {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      yield line.endsWith("\r") ? line.slice(0, -1) : line;
    }
  }
  if (buffered !== "") yield buffered;
}

/**
 * Runs the plugin host on this process's stdin/stdout until stdin ends; returns the exit code (0).
 * Started by `portreporter __plugin-host`; not meant to be run by hand.
 */
export async function runPluginHost(): Promise<number> {
  const ignore = () => {};
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, ignore);

  const encoder = new TextEncoder();
  const out = Deno.stdout.writable.getWriter();
  let token = "";
  const send = (message: Record<string, unknown>) => {
    let line: string;
    try {
      line = JSON.stringify({ k: token, ...message });
    } catch (err) {
      const why = `(it must be JSON): ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
      line = JSON.stringify(
        typeof message.seq === "number"
          ? {
            k: token,
            seq: message.seq,
            ok: false,
            error: `could not pass the result to the monitor ${why}`,
          }
          : { k: token, w: message.w, ev: "log", line: `could not pass ${message.ev} to the monitor ${why}` },
      );
    }
    // A failed write means the monitor is gone; stdin ends then too, and the loop below exits.
    out.write(encoder.encode(`${line}\n`)).catch(ignore);
  };

  const workers = new Map<number, WorkerRunner>();
  const handle = async (msg: HostRequest) => {
    if (msg.op === "kill") {
      workers.get(msg.w)?.kill("terminated by the monitor");
      workers.delete(msg.w);
      return;
    }
    if (msg.op === "hello") return;
    try {
      let result: unknown;
      if (msg.op === "open") {
        workers.get(msg.w)?.kill("replaced");
        workers.set(
          msg.w,
          new WorkerRunner(
            msg.name,
            msg.permissions,
            (event: WorkerEvent) =>
              send(
                event.type === "alert" ? { w: msg.w, ev: "alert", alert: event.alert } : {
                  w: msg.w,
                  ev: "log",
                  line: event.line,
                },
              ),
            (reason) => send({ w: msg.w, ev: "dead", reason }),
          ),
        );
      } else if (msg.op === "call") {
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
    for await (const line of readLines(Deno.stdin.readable)) {
      let msg: HostRequest;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if (token === "") {
        if (msg?.op !== "hello" || typeof msg.token !== "string" || msg.token === "") return 2;
        token = msg.token;
        continue;
      }
      if (msg && typeof msg === "object") void handle(msg);
    }
  } catch {
    // stdin broke: the monitor is gone.
  }
  // stdin ended: the monitor closed it or died. main.ts ends the process with Deno.exit, which also ends
  // Workers stuck in a loop.
  for (const worker of workers.values()) worker.kill("plugin host exiting");
  return 0;
}
