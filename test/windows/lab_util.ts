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
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`socket helper exited early: ${text}`);
    text += value;
  }
  reader.releaseLock();
  const sockets = JSON.parse(text.split("\n")[0]) as HelperSockets;
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
