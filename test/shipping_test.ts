/**
 * "Sending events elsewhere", end to end: the real monitor with the README's syslog config ships every
 * change of a run to a real rsyslog on loopback; every PR-EVENTS change arrives once, fields intact.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, ROOT, spawnCli, waitFor } from "./helpers.ts";
import { parseLine, startRsyslog } from "./rsyslog.ts";

/** The first jsonc block of the README's "Sending events elsewhere" section, exactly as shown. */
async function readmeSyslogConfig(): Promise<string> {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const section = readme.slice(readme.indexOf("## Sending events elsewhere"));
  const block = /```jsonc\n([\s\S]*?)```/.exec(section);
  assert.ok(block, "no jsonc block in the README's Sending events elsewhere section");
  assert.match(block[1], /"url": "tcp:\/\/127\.0\.0\.1:1514"/);
  return block[1];
}

Deno.test("the README's syslog config: every change of a monitor run reaches a real rsyslog over TCP", async () => {
  const rs = await startRsyslog({ transport: "tcp" });
  const dir = await Deno.makeTempDir({ prefix: "portreporter-ship-" });
  const logDir = join(dir, "logs");
  const config = join(dir, "portreporter.jsonc");
  await Deno.writeTextFile(config, (await readmeSyslogConfig()).replace(":1514", `:${rs.port}`));
  const child = spawnCli(["run", "--log-dir", logDir, "--config", config, "--interval", "100"]);
  const stderr = new Response(child.stderr).text();
  const stdout = new Response(child.stdout).text();
  const listeners: Deno.Listener[] = [];
  try {
    await waitFor("the first log set", () => (readLogs(logDir).INITIAL ? true : undefined));
    for (let i = 0; i < 5; i++) {
      listeners.push(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
      await new Promise((r) => setTimeout(r, 150));
    }
    for (const l of listeners.splice(0)) l.close();
    await new Promise((r) => setTimeout(r, 400));
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0, await stderr);
    const events = (readLogs(logDir).EVENTS ?? "").split("\n").filter(Boolean).map((l) => JSON.parse(l))
      .filter((e) => e.event === "opened" || e.event === "closed" || e.event === "changed");
    assert.ok(events.length >= 10, `${events.length} changes`);
    const key = (e: Record<string, unknown>) =>
      `${e.event} ${e.protocol} ${e.localAddress} ${e.localPort} ${e.remoteAddress} ${e.remotePort} ${e.pid}`;
    const got = await waitFor("every change at rsyslog", async () => {
      const lines = (await rs.lines()).map(parseLine);
      return lines.length >= events.length ? lines : undefined;
    });
    const received = got.map((m) => {
      const f = m.sd["portreporter@32473"];
      assert.equal(m.msgId, f.event);
      return `${f.event} ${f.protocol} ${f.localAddress} ${f.localPort} ${f.remoteAddress} ${f.remotePort} ${f.pid}`;
    });
    assert.deepEqual(received.sort(), events.map(key).sort());
  } finally {
    for (const l of listeners) l.close();
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await stdout;
    await rs.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
