/**
 * The log directory and files taken away while the monitor runs, for real: `rm -rf` of the live
 * directory, a live file truncated, a live file unlinked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitFor } from "../helpers.ts";
import {
  eventsOf,
  holdUdpUntil,
  logFiles,
  namesOf,
  portsLinesOf,
  startMonitor,
  waitForStart,
} from "./fault_helpers.ts";

const udpPorts = (files: Map<string, Uint8Array>, truncated?: string) =>
  new Set(
    portsLinesOf(files, truncated, "writing").filter((l) => l.split(",")[2] === "UDP").map((l) =>
      Number(l.split(",")[3])
    ),
  );

async function waitForPort(dir: string, port: number, truncated?: string) {
  await waitFor(
    `port ${port} in PR-PORTS`,
    () => (udpPorts(logFiles(dir), truncated).has(port) ? true : undefined),
  );
}

Deno.test("rm -rf of the live log directory: recreated 0700 within a poll, a new set with every header", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pr-vanish-" });
  const dir = join(tmp, "logs");
  const m = startMonitor(dir, ["--interval", "100"]);
  try {
    await waitForStart(m);
    await Deno.remove(dir, { recursive: true });
    await holdUdpUntil((port) => waitForPort(dir, port));
    const { code, stderr } = await m.stop();
    const files = logFiles(dir);
    assert.equal(code, 0, stderr);
    assert.equal((Deno.statSync(dir).mode! & 0o777).toString(8), "700");
    assert.equal(
      stderr.match(/warning: the log directory .* was removed; it is created again \(mode 0700\)/g)?.length,
      1,
      stderr,
    );
    for (const kind of ["PORTS", "PIDS", "EVENTS"]) assert.equal(namesOf(files, kind).length, 1, kind);
    assert.match(new TextDecoder().decode(files.get(namesOf(files, "PIDS")[0])!), /^Port Reporter Version/);
    const events = eventsOf(files);
    assert.deepEqual([events[0].event, events[0].reason], ["set-start", "dir-recreated"]);
    assert.deepEqual([events[1].event, events[1].what], ["dir-recreated", "removed"]);
    for (const f of Deno.readDirSync(dir)) {
      assert.equal((Deno.statSync(join(dir, f.name)).mode! & 0o777).toString(8), "600");
    }
  } finally {
    await m.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a live file truncated or unlinked: noticed, a new set, no NUL bytes, nothing written into the lost file", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pr-trunc-" });
  const m = startMonitor(tmp, ["--interval", "100"]);
  try {
    await waitForStart(m);
    await holdUdpUntil((port) => waitForPort(tmp, port));
    const ports = namesOf(logFiles(tmp), "PORTS")[0];
    Deno.truncateSync(join(tmp, ports), 20);
    await holdUdpUntil((port) => waitForPort(tmp, port, ports));
    const events = namesOf(logFiles(tmp), "EVENTS").at(-1)!;
    Deno.removeSync(join(tmp, events));
    await holdUdpUntil((port) => waitForPort(tmp, port, ports));
    const { code, stderr } = await m.stop();
    const files = logFiles(tmp);
    assert.equal(code, 0, stderr);
    assert.equal(files.get(ports)!.length, 20, "the truncated file was left alone: no NUL run, no appends");
    assert.ok(!files.has(events));
    assert.equal(
      namesOf(files, "PORTS").length,
      3,
      "three sets: the first, after the truncation, after the unlink",
    );
    assert.match(
      stderr,
      new RegExp(`warning: the log file ${ports.replaceAll(".", "\\.")} was truncated while open`),
    );
    assert.match(
      stderr,
      new RegExp(`warning: the log file ${events.replaceAll(".", "\\.")} was unlinked while open`),
    );
    const lost = eventsOf(files).filter((e) => e.event === "log-file-lost").map((e) => [e.file, e.what]);
    assert.deepEqual(
      lost,
      [[ports, "truncated"], [events, "unlinked"]].slice(1),
      "the record of the unlink survives",
    );
    // the truncation's record was in the PR-EVENTS file that was then unlinked
  } finally {
    await m.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});
