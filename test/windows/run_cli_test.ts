/**
 * `portreporter run` and `portreporter service` as a console program, under wine (lab only): the real
 * `main.ts` in a child deno.exe with the compile task's runtime flags, logging the sockets of the socket
 * helper (a third wine process).
 *
 * Stopping: Deno on Windows stops `run` on SIGINT/SIGBREAK (console control events). A test cannot send
 * one here: `Deno.ChildProcess.kill` on Windows only terminates (SIGKILL/SIGTERM = TerminateProcess), and a
 * console CTRL_C_EVENT would reach the test runner too. So the child is killed, and the test asserts
 * what it wrote before: every poll's lines are written synchronously, so nothing is lost but the stop.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, waitFor } from "../helpers.ts";
import { ignore, startHelper } from "./lab_util.ts";
import {
  assertHelperEvents,
  assertHelperPids,
  assertHelperPorts,
  cliArgs,
  helperHasEvents,
  helperInPorts,
  linesOf,
} from "./log_checks.ts";

/** Collects a stream's text as it arrives (so that a pipe never fills up). */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string; done: Promise<void> } {
  let text = "";
  const done = stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  ).catch(() => {});
  return { text: () => text, done };
}

Deno.test(
  { name: "run: logs another process's TCP/UDP sockets (v4 and v6) with pid, module, user", ignore },
  async () => {
    const tmp = await Deno.makeTempDir({ prefix: "pr-run-" });
    const dir = join(tmp, "logs");
    const t0 = Date.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: cliArgs(["run", "--log-dir", dir, "--interval", "200"]),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = collect(child.stdout);
    const err = collect(child.stderr);
    let helper: Awaited<ReturnType<typeof startHelper>> | undefined;
    try {
      await waitFor("the 'logging to' line", () => err.text().includes("logging to") || undefined, 60_000);
      assert.match(err.text(), /logging to .*every 200 ms/);
      const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.deepEqual(files.map((f) => f.replace(/-[\d-]+\.(log|jsonl)$/, "")), [
        "PR-EVENTS",
        "PR-INITIAL",
        "PR-PIDS",
        "PR-PORTS",
      ]);

      helper = await startHelper(["--password", "hunter2-not-logged", "a,b c"]);
      const h = helper.sockets;
      assert.equal(h.secret, "hunter2-not-logged");
      const opened = Date.now();
      await waitFor("the helper's PR-PORTS lines", () => helperInPorts(dir, h) || undefined, 15_000);
      await waitFor(
        "the helper's opened events",
        () => helperHasEvents(dir, h, "opened") || undefined,
        5_000,
      );
      await helper.stop();
      await waitFor(
        "the helper's closed events",
        () => helperHasEvents(dir, h, "closed") || undefined,
        15_000,
      );
      const lived = Date.now() - opened;

      assertHelperPorts(dir, h);
      assertHelperPids(dir, h);
      assertHelperEvents(dir, h, lived + 1000, 150);
      // PR-INITIAL has the header and the endpoint table; the classic files use CRLF on Windows
      const initial = readLogs(dir).INITIAL ?? "";
      assert.match(initial, /\r\n/);
      assert.ok(linesOf(initial).length > 3);
      assert.doesNotMatch(err.text(), /fatal|poll failed/i, err.text());
    } finally {
      await helper?.kill();
      try {
        child.kill("SIGKILL");
      } catch {
        /* already gone */
      }
      await child.status;
      await Promise.all([out.done, err.done]);
      console.log(`run test: ${Date.now() - t0} ms; monitor stderr:\n${err.text().trim()}`);
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test({ name: "service: from a console it says how to run it and exits 2", ignore }, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pr-svc-console-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: cliArgs(["service", "--log-dir", join(tmp, "logs"), "--interval", "200"]),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.equal(
      stderr.trim(),
      "portreporter service must be started by the service control manager; use 'portreporter run' to run in a console",
    );
    assert.deepEqual([...Deno.readDirSync(tmp)], [], "nothing was created");
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
