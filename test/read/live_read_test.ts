/**
 * The question of issue 14 answered from a real monitor's logs: this test runs `portreporter run`,
 * opens a listener and a connection, closes them, and asks `connections` and `query` — while the
 * monitor still writes the open set, and after it stopped.
 */

import assert from "node:assert/strict";
import { runCli, spawnCli, waitFor } from "../helpers.ts";

Deno.test("connections and query on a real monitor's logs: the connection's lifetime with this process's pid", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-live-read-" });
  const monitor = spawnCli(["run", "--log-dir", dir, "--interval", "100"]);
  const stderr = new Response(monitor.stderr).text();
  const stdout = new Response(monitor.stdout).text();
  try {
    await waitFor(
      "the first log set",
      () => [...Deno.readDirSync(dir)].some((e) => e.name.startsWith("PR-EVENTS")) || undefined,
    );
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const client = await Deno.connect({ hostname: "127.0.0.1", port });
    const server = await listener.accept();
    const clientPort = (client.localAddr as Deno.NetAddr).port;
    const jsonl = async (command: string, ...args: string[]) => {
      const r = await runCli([
        command,
        "--log-dir",
        dir,
        "--port",
        String(port),
        "--format",
        "jsonl",
        ...args,
      ]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l));
    };
    // while the monitor writes the open set
    const live = await waitFor("the connection in the open set", async () => {
      const ls = await jsonl("connections", "--owned");
      return ls.some((l) => l.remotePort === clientPort && !("closed" in l)) ? ls : undefined;
    });
    assert.ok(live.some((l) => l.localPort === port && l.state === "LISTEN" && l.pid === Deno.pid));
    client.close();
    server.close();
    listener.close();
    await waitFor("the closes", async () => {
      const rows = await jsonl("query", "--event", "closed", "--owned");
      return rows.length >= 3 ? rows : undefined;
    });
    monitor.kill("SIGTERM");
    assert.equal((await monitor.status).code, 0);
    const ls = await jsonl("connections", "--owned");
    const conn = ls.find((l) => l.localPort === port && l.remotePort === clientPort)!;
    assert.ok(conn, JSON.stringify(ls));
    assert.equal(conn.pid, Deno.pid);
    assert.equal(conn.processName, "deno");
    assert.ok(Date.parse(conn.closed) > Date.parse(conn.opened));
    assert.ok(
      conn.durationMs > 0,
      "the logged duration (exact when the kernel timed it, else close minus open)",
    );
    assert.equal(conn.durationBound, false);
    const lis = ls.find((l) => l.localPort === port && l.state === "LISTEN")!;
    assert.ok(lis.closed, "the listener's close is known");
    const table = await runCli([
      "connections",
      "--log-dir",
      dir,
      "--port",
      String(port),
      "--owned",
      "--no-header",
    ]);
    assert.equal(table.stdout.trimEnd().split("\n").length, 3, table.stdout); // listener, both ends of the connection
    assert.ok(!table.stdout.includes("still open"), table.stdout);
  } finally {
    try {
      monitor.kill("SIGTERM");
    } catch { /* already stopped */ }
    await monitor.status;
    await stderr;
    await stdout;
    await Deno.remove(dir, { recursive: true });
  }
});
