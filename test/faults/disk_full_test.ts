/**
 * A full disk, for real: the monitor runs in a private mount namespace on an 8 MB tmpfs; the test fills
 * it through `/proc/<pid>/root`, makes sockets, frees the space and reads every file back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitFor } from "../helpers.ts";
import {
  churnUdp,
  eventsOf,
  logFiles,
  portsLinesOf,
  startMonitor,
  waitForStart,
  waitForStderr,
} from "./fault_helpers.ts";

function fill(path: string): number {
  const f = Deno.openSync(path, { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  let total = 0;
  try {
    while (true) total += f.writeSync(chunk);
  } catch {
    // ENOSPC: full
  } finally {
    f.close();
  }
  return total;
}

const udpPort = (line: string) => (line.split(",")[2] === "UDP" ? Number(line.split(",")[3]) : undefined);

Deno.test("disk full while running: batches wait, nothing partial, one line each way, files agree", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pr-full-" });
  const mnt = join(tmp, "mnt");
  Deno.mkdirSync(mnt);
  const m = startMonitor(join(mnt, "logs"), ["--interval", "100"], { at: mnt, size: "8m" });
  try {
    await waitForStart(m);
    const root = `/proc/${m.child.pid}/root${mnt}`;
    assert.ok(fill(join(root, "filler")) > 0);
    const during = await churnUdp(8, 400);
    await waitForStderr(m, /writing the logs failed: .*No space left on device/);
    Deno.removeSync(join(root, "filler"));
    const after = await churnUdp(2, 400);
    await waitForStderr(m, /writing the logs works again: \d+ batches written late, nothing lost/);
    const last = after.at(-1)!;
    await waitFor(
      "the last port in PR-PORTS",
      () =>
        portsLinesOf(logFiles(m.logDir), undefined, "writing").some((l) => udpPort(l) === last)
          ? true
          : undefined,
    ).catch((e) => {
      const lines = portsLinesOf(logFiles(m.logDir), undefined, "writing");
      throw new Error(
        `${e.message}; stderr: ${m.stderr()}; ${[...logFiles(m.logDir).keys()]}; ${lines.slice(-3)}; ${last}`,
      );
    });
    // a still picture: the last batch written everywhere, the monitor stopped between two writes
    await new Promise((r) => setTimeout(r, 500));
    m.child.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 200));
    const files = logFiles(m.logDir);
    m.child.kill("SIGCONT");
    const { code, stderr } = await m.stop();
    assert.equal(code, 0, stderr);
    for (const [name, bytes] of files) {
      assert.ok(bytes.length === 0 || bytes.at(-1) === 0x0a, `${name} ends with a whole line`);
    }
    const portsSeen = new Set(portsLinesOf(files).map(udpPort).filter((p) => p !== undefined));
    for (const p of [...during, ...after]) {
      assert.ok(portsSeen.has(p), `port ${p} opened while full is in PR-PORTS`);
    }
    const events = eventsOf(files);
    const opened = new Set(
      events.filter((e) => e.event === "opened" && e.protocol === "udp").map((e) => e.localPort as number),
    );
    assert.deepEqual([...opened].sort(), [...portsSeen].sort(), "PR-EVENTS and PR-PORTS agree");
    assert.equal(stderr.match(/writing the logs failed/g)?.length, 1, stderr);
    assert.equal(stderr.match(/writing the logs works again/g)?.length, 1, stderr);
  } finally {
    await m.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("starting on a full disk: one line naming the file, exit 2, no partial set left", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pr-full-start-" });
  const mnt = join(tmp, "mnt");
  Deno.mkdirSync(mnt);
  const m = startMonitor(join(mnt, "logs"), [], {
    at: mnt,
    size: "256k",
    before: `mkdir -m 700 "$0/logs" && { cat /dev/zero > "$0/fill" 2>/dev/null || true; }`,
    after: `echo "left: $(ls -A "$0/logs")" >&2`,
  });
  try {
    const { code, stderr } = await m.exited();
    // (the plugin line and a collector warning about another process may come first: not errors)
    const lines = stderr.trim().split("\n");
    assert.equal(code, 2, stderr);
    const errors = lines.filter((l) => l.startsWith("portreporter: ") && /cannot|fatal|failed/.test(l));
    assert.equal(errors.length, 1, stderr);
    assert.match(
      errors[0],
      /^portreporter: cannot write the log file .*\/logs\/PR-\w+-[\d_-]+\.\w+: .*No space left/,
    );
    assert.equal(lines.at(-1), "left:", "nothing left in the log directory");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
