/**
 * Shared bits of the Windows lab tests: the skip switch and the socket helper process.
 *
 * @module
 */

import type { HelperSockets } from "./socket_helper.ts";

/** True when running under the Windows deno.exe (in the wine lab or on real Windows). */
export const onWindows: boolean = Deno.build.os === "windows";

/** `ignore` value for Deno.test: skips the lab tests elsewhere, saying why once. */
export const ignore: boolean = !onWindows;
if (ignore) {
  console.error(
    "test/windows: skipped, these tests need the Windows deno.exe (run `deno task test:windows` as root: it uses the wine lab)",
  );
}

/** A running helper process and the sockets it holds. */
export interface Helper {
  /** What the helper reported. */
  sockets: HelperSockets;
  /** The child process. */
  child: Deno.ChildProcess;
  /** Closes its stdin (it closes its sockets and exits) and waits for it. */
  stop(): Promise<void>;
  /** Kills it and waits for it. */
  kill(): Promise<void>;
}

/**
 * Waits for the first line a child writes on stdout (its "ready" signal) and returns it; throws if the
 * child exits first. Releases the reader, so the caller may read (or cancel) stdout afterwards.
 */
export async function firstLine(child: Deno.ChildProcess, what: string): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${what} exited early: ${text}`);
    text += value;
  }
  reader.releaseLock();
  return text.split("\n")[0];
}

/** Flags every child deno.exe gets (the project's deno.json excludes test/windows from `deno test`). */
export const CHILD_FLAGS: readonly string[] = ["--no-config", "--unstable-net", "-A"];

/** Starts `socket_helper.ts` in a second deno.exe and waits for its JSON line. */
export async function startHelper(extraArgs: string[] = []): Promise<Helper> {
  const script = new URL("./socket_helper.ts", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CHILD_FLAGS, script.href, ...extraArgs],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const sockets = JSON.parse(await firstLine(child, "socket helper")) as HelperSockets;
  let waited: Promise<Deno.CommandStatus> | undefined;
  const wait = () => (waited ??= child.status);
  return {
    sockets,
    child,
    async stop() {
      await child.stdin.close().catch(() => {});
      await child.stdout.cancel().catch(() => {});
      await wait();
    },
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.stdin.close().catch(() => {});
      await child.stdout.cancel().catch(() => {});
      await wait();
    },
  };
}
