/**
 * Built-in `exec`: runs a command once per alert with the alert as one line of JSON on stdin, in the
 * background and one at a time (alerts keep their order), each run killed when it exceeds its timeout.
 * The queue is bounded (oldest dropped and counted). See README.md.
 *
 * @module
 */

import type { Alert, Plugin, PluginContext } from "../../src/plugin/api.ts";
import { definePlugin } from "../../src/plugin/api.ts";
import { describeError } from "../../src/plugin/hooks.ts";
import { OptionReader } from "../../src/plugin/options.ts";
import { UsageError } from "../../src/errors.ts";

/** How one run ended. */
export type ExecOutcome =
  | { kind: "ok" }
  | { kind: "exit"; code: number; stderr: string }
  | { kind: "timeout" }
  | { kind: "spawn"; error: string };

/** What one run needs. */
export interface ExecSpec {
  /** Program and arguments. */
  command: string[];
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env: Record<string, string>;
  /** Kill the process after this many ms. */
  timeoutMs: number;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}

/** Runs the command once with `input` on stdin; kills it (SIGKILL) when it runs longer than the timeout. */
export async function runOnce(spec: ExecSpec, input: string, signal?: AbortSignal): Promise<ExecOutcome> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(spec.command[0], {
      args: spec.command.slice(1),
      cwd: spec.cwd,
      env: spec.env,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    return { kind: "spawn", error: describeError(err) };
  }
  let timedOut = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, spec.timeoutMs);
  signal?.addEventListener("abort", kill, { once: true });
  // Feed stdin without waiting on it: a command that does not read must not block us.
  const writer = child.stdin.getWriter();
  const fed = writer.write(new TextEncoder().encode(input)).then(() => writer.close()).catch(() => {});
  // Keep the first 2 KB of stderr for the diagnostic.
  const chunks: Uint8Array[] = [];
  let kept = 0;
  const reader = child.stderr.getReader();
  const drained = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (kept < 2048) {
          chunks.push(value);
          kept += value.length;
        }
      }
    } catch {
      // The pipe broke; what we have is enough.
    }
  })();
  const status = await child.status;
  clearTimeout(timer);
  signal?.removeEventListener("abort", kill);
  await fed;
  // A grandchild may hold stderr open after the command exited: wait briefly, then give up on it.
  let grace: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([drained, new Promise<void>((res) => grace = setTimeout(res, 200))]);
  clearTimeout(grace);
  await reader.cancel().catch(() => {});
  if (timedOut) return { kind: "timeout" };
  if (status.success) return { kind: "ok" };
  const bytes = new Uint8Array(kept);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  const stderr = new TextDecoder().decode(bytes.subarray(0, 2048));
  return { kind: "exit", code: status.code, stderr: oneLine(stderr) };
}

/** The `exec` plugin factory. */
export default definePlugin((options: Record<string, unknown>): Plugin => {
  const r = new OptionReader(options, ["command", "timeoutMs", "cwd", "env", "queueSize", "flushTimeoutMs"]);
  const command = r.stringList("command", { required: true, nonEmpty: true });
  const spec: ExecSpec = {
    command,
    cwd: r.string("cwd", undefined, true),
    env: r.stringMap("env"),
    timeoutMs: r.number("timeoutMs", 10_000, { min: 1 }),
  };
  const queueSize = r.number("queueSize", 100, { min: 1, max: 100_000 });
  const flushTimeoutMs = r.number("flushTimeoutMs", 3000, { min: 0 });
  const name = command[0];

  let ctx: PluginContext | undefined;
  const log = (line: string) => ctx?.log(line);
  const queue: Alert[] = [];
  const logged = new Set<string>();
  let failures = 0;
  let dropped = 0;
  let loop: Promise<void> | null = null;
  const stop = new AbortController();

  /** Logs the first failure of each kind; later ones are counted. */
  const failed = (kind: string, line: string) => {
    failures++;
    if (logged.has(kind)) return;
    logged.add(kind);
    log(`${name}: ${line} (further failures of this kind are only counted)`);
  };

  async function drain(): Promise<void> {
    while (queue.length > 0 && !stop.signal.aborted) {
      const alert = queue.shift()!;
      const env = { ...spec.env, PR_ALERT_SEVERITY: alert.severity, PR_ALERT_PLUGIN: alert.pluginId };
      const outcome = await runOnce({ ...spec, env }, JSON.stringify(alert) + "\n", stop.signal);
      if (outcome.kind === "timeout") failed("timeout", `killed after ${spec.timeoutMs} ms`);
      else if (outcome.kind === "spawn") failed("spawn", `cannot start: ${outcome.error}`);
      else if (outcome.kind === "exit") {
        failed("exit", `exited with code ${outcome.code}${outcome.stderr ? `: ${outcome.stderr}` : ""}`);
      }
    }
  }

  function kick(): void {
    if (loop || stop.signal.aborted) return;
    loop = drain().finally(() => {
      loop = null;
      if (queue.length > 0) kick();
    });
  }

  return {
    apiVersion: 1,
    id: "exec",
    init(_options, context) {
      ctx = context;
      if (spec.cwd) {
        let isDir = false;
        try {
          isDir = Deno.statSync(spec.cwd).isDirectory;
        } catch {
          // reported below
        }
        if (!isDir) throw new UsageError(`option "cwd": ${spec.cwd} is not a directory`);
      }
    },
    onAlerts(alerts) {
      if (stop.signal.aborted) return;
      queue.push(...alerts);
      if (queue.length > queueSize) {
        const excess = queue.length - queueSize;
        queue.splice(0, excess);
        if (dropped === 0) log(`${name}: queue full (${queueSize} alerts); dropping the oldest`);
        dropped += excess;
      }
      kick();
    },
    async close() {
      if (loop) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([loop, new Promise<void>((res) => timer = setTimeout(res, flushTimeoutMs))]);
        clearTimeout(timer);
      }
      stop.abort();
      await loop;
      if (queue.length > 0) log(`${name}: ${queue.length} alerts not handled at shutdown`);
      if (failures > 1) log(`${name}: ${failures} runs failed in total`);
      if (dropped > 0) log(`${name}: ${dropped} alerts dropped (queue full)`);
    },
  };
});
