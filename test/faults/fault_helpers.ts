/**
 * Helpers of the real-fault tests: the real monitor as a child (optionally in a private mount
 * namespace on a tiny tmpfs, via `unshare -m`), its stderr collected, its log files read back and
 * checked line by line.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, runtimeFlags, waitFor } from "../helpers.ts";
import { parseLogFileName } from "../../src/log/file_names.ts";

const decoder = new TextDecoder();

/** A running monitor. */
export interface Monitor {
  /** The child (its pid is the monitor's). */
  child: Deno.ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** The log directory as this process can reach it (through `/proc/<pid>/root` in a namespace). */
  logDir: string;
  /** Stops it with SIGTERM and returns its exit code and stderr. */
  stop(): Promise<{ code: number; stderr: string }>;
  /** Waits until it exits by itself. */
  exited(): Promise<{ code: number; stderr: string }>;
}

/**
 * Starts `portreporter run --log-dir <logDir> ...args`. With `tmpfs`, the child runs in a private
 * mount namespace with a tmpfs of `tmpfs.size` mounted on `tmpfs.at` (the log dir is inside it), and
 * `tmpfs.before` runs in that namespace first (e.g. to fill the disk), `tmpfs.after` once the monitor
 * exited (e.g. to list what it left; the namespace and its tmpfs go away with it).
 */
export function startMonitor(
  logDir: string,
  args: string[] = [],
  tmpfs?: { at: string; size: string; before?: string; after?: string },
): Monitor {
  const run = [
    Deno.execPath(),
    "run",
    ...runtimeFlags(),
    join(ROOT, "main.ts"),
    "run",
    "--log-dir",
    logDir,
    ...args,
  ];
  const command = tmpfs
    ? new Deno.Command("unshare", {
      args: [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        `mount -t tmpfs -o size=${tmpfs.size},mode=0755 tmpfs "$0" && ${tmpfs.before ?? "true"} && ` +
        (tmpfs.after ? `{ "$@"; rc=$?; ${tmpfs.after}; exit $rc; }` : `exec "$@"`),
        tmpfs.at,
        ...run,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      cwd: ROOT,
    })
    : new Deno.Command(run[0], {
      args: run.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      cwd: ROOT,
    });
  const child = command.spawn();
  let text = "";
  const done = (async () => {
    for await (const chunk of child.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  const exited = async () => {
    const status = await child.status;
    await done;
    return { code: status.code, stderr: text };
  };
  return {
    child,
    exited,
    stderr: () => text,
    logDir: tmpfs ? `/proc/${child.pid}/root${logDir}` : logDir,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      return await exited();
    },
  };
}

/** The log files of `dir` by name, as bytes (empty when the directory does not exist). */
export function logFiles(dir: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (parseLogFileName(e.name)) out.set(e.name, Deno.readFileSync(join(dir, e.name)));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

/** Sorted file names of one kind. */
export function namesOf(files: Map<string, Uint8Array>, kind: string): string[] {
  return [...files.keys()].filter((n) => parseLogFileName(n)?.kind === kind)
    .sort((a, b) => parseLogFileName(a)!.order - parseLogFileName(b)!.order);
}

/**
 * Every PR-EVENTS record of `dir`, in set order; a line that does not parse fails the test, and so
 * does a file that does not end with a whole line, unless `tail` allows it: `"writing"` (the monitor
 * is still writing: a read may see part of a write in flight) or `"killed"` (after kill -9 the kernel
 * may have stopped the last write at a page boundary: only the last line of a file, without its line
 * end, and the next start never appends to an old file).
 */
export function eventsOf(
  files: Map<string, Uint8Array>,
  tail?: "writing" | "killed",
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const name of namesOf(files, "EVENTS")) {
    let text = decoder.decode(files.get(name)!);
    if (tail && !text.endsWith("\n")) text = text.slice(0, text.lastIndexOf("\n") + 1);
    assert.ok(text === "" || text.endsWith("\n"), `${name} ends with a whole line`);
    for (const [i, line] of text.split("\n").slice(0, -1).entries()) {
      try {
        out.push(JSON.parse(line));
      } catch {
        throw new assert.AssertionError({
          message: `${name} line ${i + 1} is not JSON: ${line.slice(0, 200)}`,
        });
      }
    }
  }
  return out;
}

/**
 * The data lines of every PR-PORTS file; each must have exactly ten fields and no NUL byte, each file
 * its header (except `truncated`, a file the test cut itself); `tail` as for {@link eventsOf}.
 */
export function portsLinesOf(
  files: Map<string, Uint8Array>,
  truncated?: string,
  tail?: "writing" | "killed",
): string[] {
  const out: string[] = [];
  for (const name of namesOf(files, "PORTS")) {
    let text = decoder.decode(files.get(name)!);
    if (tail && !text.endsWith("\n")) text = text.slice(0, text.lastIndexOf("\n") + 1); // see eventsOf
    assert.ok(!text.includes("\0"), `${name} holds no NUL bytes`);
    if (name !== truncated && !(tail && text === "")) { // (a file just created has no header yet)
      assert.match(text, /^Port Reporter Version/, `${name} starts with its header`);
    }
    for (const line of text.split(/\r?\n/)) {
      if (!/^\d\d\/\d\d\/\d{1,2},/.test(line)) continue;
      assert.equal(line.split(",").length, 10, `${name}: one record of ten fields: ${line}`);
      out.push(line);
    }
  }
  return out;
}

/** A UDP socket on 127.0.0.1 held open until `until` resolves; returns its port. */
export async function holdUdpUntil(until: (port: number) => Promise<unknown>): Promise<number> {
  const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (s.addr as Deno.NetAddr).port;
  try {
    await until(port);
  } finally {
    s.close();
  }
  return port;
}

/** Opens and closes `n` UDP sockets on 127.0.0.1 (each open for `holdMs`), returning their ports. */
export async function churnUdp(n: number, holdMs = 150): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    ports.push((s.addr as Deno.NetAddr).port);
    await new Promise((r) => setTimeout(r, holdMs));
    s.close();
  }
  return ports;
}

/** Waits until the monitor's stderr matches `pattern`. */
export function waitForStderr(m: Monitor, pattern: RegExp, timeoutMs = 20_000): Promise<true> {
  return waitFor(
    `stderr to match ${pattern}`,
    () => (pattern.test(m.stderr()) ? true : undefined),
    timeoutMs,
  );
}

/** Waits until the first set is open (PR-INITIAL written) and the monitor said so (its signals are handled). */
export function waitForStart(m: Monitor): Promise<true> {
  return waitFor(
    "the first log set",
    () => (namesOf(logFiles(m.logDir), "INITIAL").length && /logging to /.test(m.stderr())
      ? true
      : undefined),
  ).catch((e) => {
    throw new Error(`${e.message}; stderr: ${m.stderr()}`);
  });
}
