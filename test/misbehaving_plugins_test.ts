/**
 * A bad plugin never stops the logging: the real monitor runs with plugins that throw, reject, never
 * resolve and loop forever, next to a good one, while this test opens real sockets. PR-PORTS still gets
 * every line, each failure is reported once with the plugin's id, and SIGTERM still exits cleanly.
 * Plugins that cannot load stop the start with one line and exit code 2.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, ROOT, runCli, spawnCli, waitFor } from "./helpers.ts";

const testdata = join(ROOT, "src", "plugin", "testdata");
const plugin = (name: string) => ["--plugin", join(testdata, name)];

Deno.test("misbehaving user plugins do not stop the log set, are reported once each, and SIGTERM exits 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-badplugins-" });
  await Deno.mkdir(join(dir, "none")); // an empty user plugin folder (a folder named explicitly must exist)
  const child = spawnCli([
    "run",
    "--log-dir",
    dir,
    "--interval",
    "100",
    "--plugin-dir",
    join(dir, "none"),
    ...plugin("throws_filter.ts"),
    ...plugin("rejects.ts"),
    ...plugin("never_resolves.ts"),
    ...plugin("busy_loop.ts"),
    ...plugin("good.ts"),
  ]);
  let err = "";
  const stderr = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })();
  const stdout = new Response(child.stdout).text();
  const held: { close(): void }[] = [];
  try {
    await waitFor("the first log set", () => (readLogs(dir).INITIAL ? true : undefined));
    const expected: string[] = [];
    for (let round = 0; round < 3; round++) { // several polls' worth, so every hook runs more than once
      const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const udp = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
      held.push(tcp, udp);
      expected.push(
        `,TCP,${(tcp.addr as Deno.NetAddr).port},127.0.0.1,,0.0.0.0,${Deno.pid},deno,`,
        `,UDP,${(udp.addr as Deno.NetAddr).port},::1,*,*,${Deno.pid},deno,`,
      );
      await new Promise((r) => setTimeout(r, 400));
    }
    await waitFor("every socket in PR-PORTS", () => {
      const ports = readLogs(dir).PORTS ?? "";
      return expected.every((e) => ports.includes(e)) ? true : undefined;
    }, 30_000);
    // the good plugin still works after its neighbours failed: its alerts arrive
    await waitFor("the good plugin's alerts", () => {
      const alerts = (readLogs(dir).ALERTS ?? "").trim().split("\n").filter(Boolean).map((l) =>
        JSON.parse(l)
      );
      return alerts.filter((a) => a.plugin === "good").length >= expected.length ? true : undefined;
    }, 30_000);
    const t0 = Date.now();
    child.kill("SIGTERM");
    const status = await child.status;
    await stderr;
    assert.equal(status.code, 0, err);
    assert.ok(Date.now() - t0 < 15_000, "stopped within a bound");
    // each failure is reported once with the plugin's id (later ones of the same hook are only counted)
    for (
      const [id, failure] of [["throws", "filter failed: boom"], ["rejects", "onChanges failed: rejected"]]
    ) {
      const lines = err.split("\n").filter((l) =>
        l.startsWith(`portreporter: plugin ${id}: `) && l.includes(failure)
      );
      assert.equal(lines.length, 1, `${id}'s failure is reported once: ${err}`);
    }
    // a hang stops the plugin and says when it is tried again; each retry that hangs again waits twice as long
    for (const id of ["never", "busy"]) {
      const trips = err.split("\n").filter((l) =>
        l.startsWith(`portreporter: plugin ${id}: filter did not finish`)
      );
      assert.ok(trips.length >= 1, err);
      assert.deepEqual(
        trips.map((l) => / tried again in (.*)$/.exec(l)?.[1]),
        ["1 s", "2 s", "4 s", "8 s", "16 s"].slice(0, trips.length),
        err,
      );
      assert.match(
        err,
        new RegExp(
          `portreporter: plugin ${id}: (running|stopped, tried again [^;]*); 0 calls, ${trips.length} timed out`,
        ),
      );
    }
    const events = readLogs(dir).EVENTS.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(
      events.some((e) => e.extra?.good?.tag !== undefined),
      "the good plugin's enrichment reached PR-EVENTS",
    );
  } finally {
    for (const h of held) h.close();
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await stdout;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plugins that cannot load stop the start: one line naming the file, exit 2, no log file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [file, pattern] of [
        ["syntax_error.ts", /syntax_error\.ts/],
        ["no_default.ts", /no_default\.ts/],
        ["old_api.ts", /old_api\.ts/],
        ["bad_options.ts", /bad_options\.ts.*threshold/],
      ] as const
    ) {
      const logDir = join(dir, file);
      const r = await runCli(["run", "--log-dir", logDir, ...plugin(file)]);
      assert.equal(r.code, 2, `${file}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `${file}: ${r.stderr}`);
      assert.match(lines[0], pattern);
      assert.deepEqual([...Deno.readDirSync(logDir)], [], `${file}: no log file`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
