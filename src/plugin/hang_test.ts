/**
 * User plugins that never answer: a promise that never settles, and a synchronous endless loop.
 *
 * Deno 2.9.6's `Worker.terminate()` does not interrupt a synchronous endless loop (measured: the Worker thread
 * keeps one core busy until its process exits), which is why user plugins run in a child process, the plugin
 * host, that the monitor kills when a hook times out. These tests check that the CPU really goes quiet, that
 * the other user plugins come back after the restart, that restarts are bounded, and that the host does not
 * outlive a monitor that dies. The process checks read `/proc` (Linux only).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { extraOf } from "./api.ts";
import { createPipeline } from "./pipeline.ts";
import { builtinPlugins } from "../../plugins/mod.ts";
import { change, listener } from "./testdata/changes.ts";
import { alive, cpuSeconds, eventually, hostsWith } from "./testdata/proc.ts";

const testdata = fileURLToPath(new URL("./testdata/", import.meta.url));

for (const [file, id] of [["never_resolves.ts", "never"], ["busy_loop.ts", "busy"]]) {
  Deno.test(`a user plugin that hangs (${file}) is cut off after its budget and stopped for a backoff`, async () => {
    const lines: string[] = [];
    const pipeline = await createPipeline({
      builtins: builtinPlugins,
      specs: [{ path: join(testdata, file) }, { name: "new-listener" }],
      hookTimeoutMs: 300,
      backoffMs: 60_000,
      log: (l) => / loaded from /.test(l) || lines.push(l),
    });
    const batch = () => [change({ localPort: 9 }), change({ localPort: 80 }), change({ localPort: 443 })];
    const within = async <T>(work: () => Promise<T>): Promise<T> => {
      const start = performance.now();
      const result = await work();
      assert.ok(performance.now() - start < 5000, `took ${Math.round(performance.now() - start)} ms`);
      return result;
    };
    const out = await within(() => pipeline.run([...batch(), listener(8080)]));
    assert.equal(out.changes.length, 4, "the batch still passes through");
    assert.equal(out.alerts.length, 1, "later plugins still run");
    const again = await within(() => pipeline.run(batch()));
    assert.equal(again.changes.length, 3);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(
      lines[0],
      new RegExp(
        `^plugin ${id}: filter did not finish within 330 ms \\(4 changes\\); stopped \\(plugin host process killed and restarted\\), tried again in 60 s$`,
      ),
    );
    await within(() => pipeline.close());
  });
}

const linux = Deno.build.os === "linux";
const batch = () => [change({ localPort: 9 }), change({ localPort: 80 }), change({ localPort: 443 })];
/** CPU seconds `pid` uses over the next `ms`. */
async function cpuOver(pid: number, ms: number): Promise<number> {
  const before = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, ms));
  return cpuSeconds(pid) - before;
}

/** Copies test plugins into a fresh folder, so that this test's plugin hosts can be told from others. */
async function pluginCopies(...names: string[]): Promise<{ dir: string; paths: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-hang-" });
  const paths = [];
  for (const name of names) {
    paths.push(join(dir, name));
    await Deno.copyFile(join(testdata, name), join(dir, name));
  }
  return { dir, paths };
}

Deno.test({
  name:
    "while (true) {} in a user plugin: the plugin host is killed, the CPU goes quiet, the others come back",
  ignore: !linux,
  async fn() {
    const lines: string[] = [];
    const { dir, paths: [busy, good] } = await pluginCopies("busy_loop.ts", "good.ts");
    const hosts = () => hostsWith(dir);
    const pipeline = await createPipeline({
      builtins: builtinPlugins,
      specs: [{ path: busy }, { path: good, options: { tag: "t" } }, { name: "new-listener" }],
      hookTimeoutMs: 300,
      backoffMs: 60_000,
      log: (l) => / loaded from /.test(l) || lines.push(l),
    });
    try {
      const [host, ...more] = hosts();
      assert.ok(
        host !== undefined && more.length === 0,
        `one plugin host expected, found ${[host, ...more]}`,
      );

      // The batch in flight: busy times out and the host is killed; the batch waits (bounded) for the restart,
      // so good sees it unless the restart took longer than the hook timeout. Either way nothing is lost.
      const first = await pipeline.run([...batch(), listener(8080)]);
      const goodRan = first.alerts.some((a) => a.pluginId === "good");
      assert.deepEqual(
        first.changes.map((c) => c.socket.localPort),
        goodRan ? [80, 443, 8080] : [9, 80, 443, 8080],
        "the batch passes through (filtered by good only when good ran)",
      );
      assert.deepEqual(
        first.changes.map((c) => extraOf(c)?.good?.port),
        goodRan ? [80, 443, 8080] : [undefined, undefined, undefined, undefined],
      );
      assert.deepEqual(
        first.alerts.map((a) => a.pluginId),
        goodRan ? ["good", "good", "good", "new-listener"] : ["new-listener"],
      );
      const timeouts = lines.filter((l) => l.includes("did not finish"));
      assert.equal(timeouts.length, 1, lines.join("\n"));
      assert.match(
        timeouts[0],
        /^plugin busy: filter did not finish within 330 ms \(4 changes\); stopped \(plugin host process killed and restarted\), tried again in 60 s$/,
      );

      assert.ok(await eventually(() => !alive(host), 5000), `plugin host ${host} still runs after the kill`);
      // The loop ran in the plugin host, which is gone; what runs now (the restarted host) is quiet. The CPU
      // of this test process is not measured: under --parallel other test files' workers share it.
      for (const h of hosts()) {
        const hostCpu = await cpuOver(h, 2000);
        assert.ok(
          hostCpu < 1.0,
          `plugin host ${h} used ${hostCpu.toFixed(2)} s of CPU in 2 s after the kill`,
        );
      }

      // After the restart the well-behaved plugin filters, enriches and alerts again.
      let out = await pipeline.run(batch());
      for (let i = 0; i < 30 && !out.alerts.some((a) => a.pluginId === "good"); i++) {
        await new Promise((r) => setTimeout(r, 200));
        out = await pipeline.run(batch());
      }
      assert.ok(out.alerts.some((a) => a.pluginId === "good"), `good never came back:\n${lines.join("\n")}`);
      assert.deepEqual(out.changes.map((c) => c.socket.localPort), [80, 443]);
      assert.deepEqual(extraOf(out.changes[0]), { good: { tag: "t", port: 80 } });
      assert.deepEqual(out.alerts.map((a) => `${a.pluginId} ${a.message}`), [
        "good opened 80",
        "good opened 443",
      ]);

      const [restarted, ...others] = hosts();
      assert.ok(
        restarted !== undefined && restarted !== host && others.length === 0,
        `${restarted} ${others}`,
      );
      const hostCpu = await cpuOver(restarted, 2000);
      assert.ok(hostCpu < 1.0, `the new plugin host used ${hostCpu.toFixed(2)} s of CPU in 2 s`);
      assert.equal(lines.filter((l) => l.includes("did not finish")).length, 1, lines.join("\n"));
      assert.ok(!lines.some((l) => l.includes("exited unexpectedly")), lines.join("\n"));
      assert.ok(!lines.some((l) => /^plugin good: .*(failed|disabled)/.test(l)), lines.join("\n"));
    } finally {
      await pipeline.close();
      await Deno.remove(dir, { recursive: true });
    }
    assert.deepEqual(hosts(), [], "close() ends the plugin host");
  },
});

Deno.test({
  name: "a plugin that hangs on a big batch is tried again after a doubling backoff and alerts again",
  ignore: !linux,
  async fn() {
    const lines: string[] = [];
    const { dir, paths: [slowBig, good] } = await pluginCopies("slow_big.ts", "good.ts");
    const pipeline = await createPipeline({
      builtins: builtinPlugins,
      specs: [{ path: slowBig }, { path: good }],
      hookTimeoutMs: 300,
      backoffMs: 200,
      log: (l) => / loaded from /.test(l) || lines.push(l),
    });
    const big = () => Array.from({ length: 8 }, (_, i) => listener(9000 + i));
    const alertsOf = (out: { alerts: { pluginId: string }[] }) =>
      out.alerts.filter((a) => a.pluginId === "slow-big");
    try {
      assert.equal(alertsOf(await pipeline.run([listener(8080)])).length, 1, lines.join("\n"));
      for (let trip = 0; trip < 3; trip++) {
        // a big batch trips the breaker; small ones are skipped until the plugin is back, then alert again
        assert.equal((await pipeline.run(big())).changes.length, 8, "the big batch passes through");
        let back = false;
        for (let i = 0; i < 100 && !back; i++) {
          await new Promise((r) => setTimeout(r, 100));
          back = alertsOf(await pipeline.run([listener(8081 + i)])).length === 1;
        }
        assert.ok(back, `slow-big never came back after trip ${trip + 1}:\n${lines.join("\n")}`);
      }
      const trips = lines.filter((l) => l.startsWith("plugin slow-big: onChanges did not finish"));
      // each trip follows a call that succeeded, so the backoff starts over (it doubles only when trips follow
      // each other: see pipeline_test.ts)
      assert.deepEqual(trips.map((l) => / tried again in (.*)$/.exec(l)?.[1]), [
        "200 ms",
        "200 ms",
        "200 ms",
      ]);
      assert.equal(lines.filter((l) => l === "plugin slow-big: restarted").length, 3, lines.join("\n"));
      assert.ok(!lines.some((l) => /^plugin good: .*failed/.test(l)), lines.join("\n"));
      assert.match(pipeline.summary()[0], /^plugin slow-big: running; \d+ calls, 3 timed out, 3 restarts/);
    } finally {
      await pipeline.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the plugin host ignores Ctrl+C and exits when the monitor dies, even with a plugin spinning",
  ignore: !linux,
  async fn() {
    const monitor = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", join(testdata, "spinning_monitor.ts")],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let host: number | null = null;
    try {
      const reader = monitor.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      await reader.cancel();
      host = JSON.parse(text).host as number;
      assert.ok(host && alive(host), `no plugin host: ${text}`);
      const h = host;
      assert.ok(await eventually(() => cpuSeconds(h) > 0.3, 10_000), "the plugin should be spinning");
      Deno.kill(h, "SIGINT");
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(alive(h), "SIGINT must not end the host (the monitor closes it)");
      monitor.kill("SIGKILL");
      await monitor.status;
      assert.ok(await eventually(() => !alive(h), 5000), `plugin host ${h} outlived its monitor`);
    } finally {
      try {
        monitor.kill("SIGKILL");
      } catch {
        // already gone
      }
      await monitor.status;
      if (host && alive(host)) Deno.kill(host, "SIGKILL");
    }
  },
});
