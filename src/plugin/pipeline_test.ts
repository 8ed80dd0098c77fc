import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.ts";
import type { Change } from "../model/types.ts";
import { extraOf } from "./api.ts";
import { createPipeline, type PipelineOptions } from "./pipeline.ts";
import { type BuiltinPlugin, builtinPlugins } from "../../plugins/mod.ts";
import { change, listener } from "./testdata/changes.ts";

const testdata = fileURLToPath(new URL("./testdata/", import.meta.url));
const fixture = (name: string) => join(testdata, name);

/** Builds a pipeline whose log lines are collected. */
async function pipelineWith(opts: Partial<PipelineOptions>) {
  const lines: string[] = [];
  const pipeline = await createPipeline({
    specs: [],
    builtins: builtinPlugins,
    log: (l) => / loaded from /.test(l) || lines.push(l),
    ...opts,
  });
  return { pipeline, lines };
}

/** Asserts that createPipeline throws a one-line UsageError matching `pattern`. */
async function assertUsageError(opts: Partial<PipelineOptions>, pattern: RegExp) {
  await assert.rejects(
    () => createPipeline({ specs: [], builtins: builtinPlugins, log: () => {}, ...opts }),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `expected UsageError, got ${err}`);
      assert.ok(!err.message.includes("\n"), `message must be one line: ${JSON.stringify(err.message)}`);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

/** Runs `work` and asserts it finished within `ms` (generous bounds only: the machine may be busy). */
async function within<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await work();
  const took = performance.now() - start;
  assert.ok(took < ms, `took ${Math.round(took)} ms, expected under ${ms} ms`);
  return result;
}

const batch =
  (): Change[] => [change({ localPort: 9 }), change({ localPort: 80 }), change({ localPort: 443 })];

Deno.test("an empty pipeline passes changes through untouched", async () => {
  const { pipeline } = await pipelineWith({});
  const input = batch();
  const out = await pipeline.run(input);
  assert.deepEqual(out.changes, input);
  assert.deepEqual(out.alerts, []);
  assert.deepEqual(pipeline.ids, []);
  await pipeline.close();
});

Deno.test("built-ins are loaded by name, in order, with unique ids", async () => {
  const { pipeline } = await pipelineWith({
    specs: [
      { name: "filter", options: { rules: "exclude:local:tcp:9" } },
      { name: "new-listener" },
      { name: "filter", options: { hideLoopback: true } },
    ],
    clock: { now: () => 1234 },
  });
  assert.deepEqual(pipeline.ids, ["filter", "new-listener", "filter#2"]);
  const out = await pipeline.run([...batch(), listener(8080), change({ localAddress: "127.0.0.1" })]);
  assert.deepEqual(out.changes.map((c) => c.socket.localPort), [80, 443, 8080]);
  assert.deepEqual(out.alerts.length, 1);
  assert.deepEqual(out.alerts[0].pluginId, "new-listener");
  assert.deepEqual(out.alerts[0].severity, "warning");
  assert.deepEqual(out.alerts[0].time, 1234);
  await pipeline.close();
});

Deno.test("start-up errors are one-line UsageErrors naming the plugin", async (t) => {
  await t.step(
    "unknown built-in",
    () => assertUsageError({ specs: [{ name: "nope" }] }, /^plugin "nope": no such built-in/),
  );
  await t.step("bad built-in options", () =>
    assertUsageError(
      { specs: [{ name: "filter", options: { rules: "include:remote:tcp:99999" } }] },
      /^plugin "filter": rules\[0\].*99999/,
    ));
  await t.step(
    "unknown built-in option",
    () =>
      assertUsageError(
        { specs: [{ name: "webhook", options: { url: "http://x", urll: 1 } }] },
        /unknown option "urll"/,
      ),
  );
  await t.step(
    "both name and path",
    () => assertUsageError({ specs: [{ name: "filter", path: "x.ts" }] }, /^plugin #1: give either/),
  );
  await t.step(
    "missing file",
    () =>
      assertUsageError(
        { specs: [{ path: "nothere.ts" }], configDir: testdata },
        /^plugin .*nothere\.ts: file not found$/,
      ),
  );
  await t.step(
    "not a script",
    () => assertUsageError({ specs: [{ path: "changes.txt" }], configDir: testdata }, /not a \.ts/),
  );
  await t.step(
    "syntax error (early error)",
    () =>
      assertUsageError(
        { specs: [{ path: fixture("syntax_error.ts") }] },
        /syntax_error\.ts: cannot load: .*SyntaxError.*already been declared/,
      ),
  );
  await t.step("syntax error (parse error)", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(dir, "broken.ts"), "export default () => { let x = ; };\n");
      await assertUsageError(
        { specs: [{ path: "broken.ts" }], configDir: dir },
        /broken\.ts: cannot load: .*SyntaxError/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step(
    "missing default export",
    () =>
      assertUsageError(
        { specs: [{ path: fixture("no_default.ts") }] },
        /no_default\.ts: has no default export/,
      ),
  );
  await t.step("bad options in a user plugin", () =>
    assertUsageError(
      { specs: [{ path: fixture("bad_options.ts"), options: { threshold: "high" } }] },
      /bad_options\.ts: rejected its options: TypeError: option threshold must be a number/,
    ));
  await t.step(
    "wrong api version",
    () => assertUsageError({ specs: [{ path: fixture("old_api.ts") }] }, /apiVersion 2/),
  );
  await t.step("a permission that is never granted", () =>
    assertUsageError(
      { specs: [{ path: fixture("good.ts"), options: { permissions: { ffi: ["x"] } } }] },
      /permission "ffi" cannot be granted/,
    ));
  await t.step(
    "a blanket permission",
    () =>
      assertUsageError(
        { specs: [{ path: fixture("good.ts"), options: { permissions: { net: true } } }] },
        /list of specific hosts/,
      ),
  );
});

Deno.test("a good user plugin filters, enriches (under extra.<id>) and alerts, without mutating the input", async () => {
  const { pipeline, lines } = await pipelineWith({
    specs: [{ path: "good.ts", options: { tag: "t1" } }],
    configDir: testdata,
    clock: { now: () => 42 },
  });
  assert.deepEqual(pipeline.ids, ["good"]);
  const input = batch();
  const copy = structuredClone(input);
  const out = await pipeline.run(input);
  assert.deepEqual(input, copy);
  assert.deepEqual(out.changes.map((c) => c.socket.localPort), [80, 443]);
  assert.deepEqual(extraOf(out.changes[0]), { good: { tag: "t1", port: 80 } });
  assert.deepEqual(out.alerts.map((a) => [a.pluginId, a.message, a.time]), [["good", "opened 80", 42], [
    "good",
    "opened 443",
    42,
  ]]);
  assert.deepEqual(out.alerts[0].change?.socket.localPort, 80);
  assert.deepEqual(lines, ["plugin good: ready with tag t1"]);
  await pipeline.close();
});

Deno.test("a user plugin whose filter throws: the batch passes through, the failure is logged once", async () => {
  const { pipeline, lines } = await pipelineWith({
    specs: [{ path: fixture("throws_filter.ts") }],
    hookTimeoutMs: 300,
  });
  for (let i = 0; i < 3; i++) {
    const out = await within(5000, () => pipeline.run(batch()));
    assert.deepEqual(out.changes.length, 3);
  }
  assert.deepEqual(lines.length, 1, lines.join("\n"));
  assert.match(lines[0], /^plugin throws: filter failed: .*boom in filter/);
  await pipeline.close();
  assert.match(lines.at(-1)!, /^plugin throws: filter failed 9 times in total$/);
});

Deno.test("a user plugin that rejects and throws from a timer keeps working and logs each kind once", async () => {
  const { pipeline, lines } = await pipelineWith({
    specs: [{ path: fixture("rejects.ts") }],
    hookTimeoutMs: 300,
  });
  for (let i = 0; i < 2; i++) {
    const out = await within(5000, () => pipeline.run(batch()));
    assert.deepEqual(out.changes.length, 3);
    assert.deepEqual(extraOf(out.changes[2]), { rejects: { alive: true } });
  }
  const onChanges = lines.filter((l) => l.includes("onChanges failed"));
  assert.deepEqual(onChanges.length, 1, lines.join("\n"));
  assert.match(onChanges[0], /^plugin rejects: onChanges failed: .*rejected in onChanges/);
  assert.ok(
    lines.some((l) => /^plugin rejects: uncaught error: .*late error from a timer/.test(l)),
    lines.join("\n"),
  );
  await pipeline.close();
});

Deno.test("a built-in (in-process) whose hooks throw, reject or hang cannot stop the batch", async () => {
  const hanging: BuiltinPlugin = {
    id: "hang",
    summary: "test",
    factory: () => ({
      apiVersion: 1,
      id: "hang",
      filter: (c) => {
        if (c.socket.localPort === 9) throw new Error("nine");
        return true;
      },
      onChanges: () => Promise.reject(new Error("nope")),
      onAlerts: () => new Promise(() => {}),
    }),
  };
  const builtins = new Map([...builtinPlugins, ["hang", hanging]]);
  const { pipeline, lines } = await pipelineWith({
    specs: [{ name: "new-listener" }, { name: "hang" }],
    builtins,
    hookTimeoutMs: 300,
  });
  const out = await within(5000, () => pipeline.run([...batch(), listener(8080)]));
  assert.deepEqual(out.changes.length, 4);
  assert.deepEqual(out.alerts.length, 1);
  assert.deepEqual(lines.length, 3, lines.join("\n"));
  assert.match(lines[0], /^plugin hang: filter failed: nine/);
  assert.match(lines[1], /^plugin hang: onChanges failed: nope/);
  assert.match(
    lines[2],
    /^plugin hang: onAlerts did not finish within 300 ms \(1 change\); stopped \(skipped\), tried again in 1 s/,
  );
  const again = await within(5000, () => pipeline.run([listener(8081)]));
  assert.deepEqual(again.alerts.length, 1);
  assert.deepEqual(lines.length, 3, "a stopped plugin is not called again during its backoff");
  assert.match(pipeline.summary().join("\n"), /plugin hang: stopped, tried again in .*1 timed out/);
  await within(5000, () => pipeline.close());
});

Deno.test("close() is bounded even while exec runs a long command", async () => {
  const { pipeline } = await pipelineWith({
    specs: [{ name: "new-listener" }, {
      name: "exec",
      options: { command: ["sleep", "10"], timeoutMs: 60_000, flushTimeoutMs: 200 },
    }],
  });
  const out = await pipeline.run([listener(1)]);
  assert.deepEqual(out.alerts.length, 1);
  await within(5000, () => pipeline.close());
});

Deno.test("worker permissions: none by default, widened by options.permissions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const secret = join(dir, "secret.txt");
    await Deno.writeTextFile(secret, "hello\n");
    const denied = await pipelineWith({
      specs: [{ path: fixture("reads_file.ts"), options: { file: secret } }],
    });
    const out1 = await denied.pipeline.run(batch());
    assert.deepEqual(out1.alerts, []);
    assert.match(denied.lines[0], /^plugin reader: onChanges failed: .*(NotCapable|read access)/);
    await denied.pipeline.close();

    const allowed = await pipelineWith({
      specs: [{ path: fixture("reads_file.ts"), options: { file: secret, permissions: { read: [dir] } } }],
    });
    const out2 = await allowed.pipeline.run(batch());
    assert.deepEqual(out2.alerts.map((a) => a.message), ["read hello"]);
    assert.deepEqual(allowed.lines, []);
    await allowed.pipeline.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the plugin folder: every .ts/.js file is loaded after the specs; helpers and tests are skipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const src = await Deno.readTextFile(fixture("good.ts"));
    // A TypeScript plugin with a type-only import of a file that does not exist (it is erased at load time).
    await Deno.writeTextFile(join(dir, "a.ts"), src.replace('"../api.ts"', '"./nothing.ts"'));
    await Deno.writeTextFile(
      join(dir, "b.js"),
      `export default () => ({ apiVersion: 1, id: "good", onChanges(cs, ctx) {
        for (const c of cs) ctx.alert({ severity: "info", message: "js " + c.socket.localPort });
      } });\n`,
    );
    await Deno.writeTextFile(join(dir, "_helper.ts"), "throw new Error('not a plugin');\n");
    await Deno.writeTextFile(join(dir, "a_test.ts"), "throw new Error('not a plugin');\n");
    await Deno.writeTextFile(join(dir, "notes.md"), "# not a plugin\n");
    const { pipeline } = await pipelineWith({ specs: [{ name: "filter" }], pluginDir: dir });
    assert.deepEqual(pipeline.ids, ["filter", "good", "good#2"]);
    const out = await pipeline.run(batch());
    assert.deepEqual(out.alerts.map((a) => `${a.pluginId} ${a.message}`), [
      "good opened 80",
      "good opened 443",
      "good#2 js 80",
      "good#2 js 443",
    ]);
    await pipeline.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing plugin folder is not an error; a file given as the folder is", async () => {
  const { pipeline } = await pipelineWith({ pluginDir: join(testdata, "no-such-dir") });
  assert.deepEqual(pipeline.ids, []);
  await pipeline.close();
  await assertUsageError({ pluginDir: fixture("good.ts") }, /is not a directory/);
});

Deno.test("run() after close() passes changes through; close() is idempotent", async () => {
  const { pipeline } = await pipelineWith({ specs: [{ path: fixture("good.ts") }] });
  await pipeline.close();
  await pipeline.close();
  const out = await pipeline.run(batch());
  assert.deepEqual(out.changes.length, 3);
  assert.deepEqual(out.alerts, []);
});

Deno.test("the example of plugins/README.md works as written", async () => {
  const { pipeline } = await pipelineWith({
    specs: [{ path: fixture("ssh_watch.ts"), options: { port: 2222 } }],
  });
  const out = await pipeline.run([
    change({ localPort: 2222, remoteAddress: "203.0.113.9" }),
    change({ localPort: 22 }),
  ]);
  assert.deepEqual(out.alerts.map((a) => `${a.pluginId} ${a.severity} ${a.message}`), [
    "ssh-watch info ssh connection from 203.0.113.9",
  ]);
  await pipeline.close();
});

Deno.test("a plugin whose every call hangs is tried again after a doubling backoff, never disabled", async () => {
  let calls = 0;
  const hanging: BuiltinPlugin = {
    id: "stuck",
    summary: "test",
    factory: () => ({
      apiVersion: 1,
      id: "stuck",
      onChanges: () => {
        calls++;
        return new Promise(() => {});
      },
    }),
  };
  const { pipeline, lines } = await pipelineWith({
    specs: [{ name: "stuck" }],
    builtins: new Map([["stuck", hanging]]),
    hookTimeoutMs: 50,
    backoffMs: 100,
  });
  for (let i = 0; i < 200 && lines.filter((l) => l.includes("did not finish")).length < 4; i++) {
    await pipeline.run([listener(8000 + i)]);
    await new Promise((r) => setTimeout(r, 20));
  }
  const trips = lines.filter((l) => l.includes("did not finish")).map((l) =>
    / tried again in (.*)$/.exec(l)?.[1]
  );
  assert.deepEqual(trips, ["100 ms", "200 ms", "400 ms", "800 ms"], lines.join("\n"));
  assert.equal(calls, 4, "called once per trip: skipped while its breaker is open");
  assert.match(
    pipeline.summary()[0],
    /^plugin stuck: stopped, tried again .*; 0 calls, 4 timed out, 3 restarts, \d+ calls skipped$/,
  );
  await pipeline.close();
});
