/**
 * The README's promise: drop `examples/unknown-listener.ts` into the plugins folder, and an unknown
 * process that starts listening raises an alert in PR-ALERTS — with the real monitor, a real socket.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, ROOT, spawnCli, waitFor } from "./helpers.ts";

Deno.test("the unknown-listener example plugin, dropped into the plugins folder, alerts on a new listener", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-plugin-" });
  const pluginDir = join(dir, "plugins");
  const logDir = join(dir, "logs");
  await Deno.mkdir(pluginDir);
  await Deno.copyFile(join(ROOT, "examples", "unknown-listener.ts"), join(pluginDir, "unknown-listener.ts"));
  const child = spawnCli(["run", "--log-dir", logDir, "--plugin-dir", pluginDir, "--interval", "100"]);
  const stderr = new Response(child.stderr).text();
  const stdout = new Response(child.stdout).text();
  let listener: Deno.Listener | undefined;
  try {
    await waitFor("the first log set", () => (readLogs(logDir).INITIAL ? true : undefined));
    listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const alert = await waitFor(
      "the alert",
      () =>
        (readLogs(logDir).ALERTS ?? "").split("\n").filter(Boolean).map((l) => JSON.parse(l))
          .find((a) => a.change?.localPort === port),
    );
    assert.equal(alert.plugin, "unknown-listener");
    assert.equal(alert.severity, "warning");
    assert.equal(alert.message, `deno (pid ${Deno.pid}) listens on port ${port}`);
    assert.equal(alert.change.event, "opened");
    assert.equal(alert.change.state, "LISTEN");
    assert.match(
      readLogs(logDir).PORTS,
      new RegExp(`,TCP,${port},127\\.0\\.0\\.1,,0\\.0\\.0\\.0,${Deno.pid},deno,`),
    );
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0, await stderr);
  } finally {
    listener?.close();
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await stdout;
    await Deno.remove(dir, { recursive: true });
  }
});
