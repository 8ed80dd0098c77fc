/**
 * Hostile user plugins (no permissions granted) against the real monitor, with real sockets: none of them can
 * keep a change out of the logs, forge an observation, reach the plugin host's channel, import from the
 * network or outside its folder, write to disk, switch alerting off for good, hide what it did, flood the
 * logs or the terminal; untrusted plugin files are refused at start. Each numbered test is an item of the
 * plugin runtime's threat list (plugins/README.md, "What a plugin can and cannot do").
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, ROOT, runtimeFlags, waitFor } from "./helpers.ts";

/** Runs the monitor with these plugin files (name → source) in a fresh plugins folder. */
async function withMonitor(
  plugins: Record<string, string>,
  during: (ctx: { dir: string; logs: () => Record<string, string> }) => Promise<void>,
  opts: { env?: Record<string, string>; args?: string[] } = {},
): Promise<{ err: string; code: number; dir: string; logs: Record<string, string> }> {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-hostile-" });
  const pluginDir = join(dir, "plugins");
  await Deno.mkdir(pluginDir);
  for (const [name, text] of Object.entries(plugins)) await Deno.writeTextFile(join(pluginDir, name), text);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...runtimeFlags(),
      join(ROOT, "main.ts"),
      "run",
      "--log-dir",
      join(dir, "logs"),
      "--interval",
      "100",
      "--plugin-dir",
      pluginDir,
      ...(opts.args ?? []),
    ],
    cwd: dir,
    env: opts.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let err = "";
  const stderr = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })();
  const logs = () => readLogs(join(dir, "logs"));
  let failed: Error | undefined;
  try {
    await waitFor("the first log set", () => (logs().INITIAL ? true : undefined), 30_000);
    await during({ dir, logs });
  } catch (e) {
    failed = e as Error;
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
  }
  const status = await child.status;
  await stderr;
  err = ownOutput(err);
  const final = logs();
  await Deno.remove(dir, { recursive: true });
  if (failed) throw new Error(`${failed.message}\n--- the monitor's stderr ---\n${err}`);
  return { err, code: status.code, dir, logs: final };
}

const lines = (text: string | undefined) => (text ?? "").split("\n").filter(Boolean);
/** Drops what `deno run` itself prints when it fills a fresh DENO_DIR (the compiled executable has none). */
const ownOutput = (text: string) =>
  text.split("\n").filter((l) => !/Download.* https?:\/\//.test(l)).join("\n");
const records = (text: string | undefined) => lines(text).map((l) => JSON.parse(l));
/** Like {@link records}, for a file still being written: a line not complete yet is left out. */
const completeRecords = (text: string | undefined) =>
  lines(text).flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });

/**
 * Opens listeners one at a time until the good plugin has alerted one of them (a plugin that was stopped
 * comes back; on a busy machine a single batch may be missed, so this does not insist on one listener).
 */
async function untilAlerted(logs: () => Record<string, string>, held: Deno.Listener[], ports: number[]) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    held.push(l);
    const port = (l.addr as Deno.NetAddr).port;
    ports.push(port);
    const seen = await waitFor("good's alert", () => {
      const alerted = completeRecords(logs().ALERTS).some((a) =>
        a.plugin === "good" && a.change?.localPort === port
      );
      return alerted ? true : undefined;
    }, 5_000).catch(() => false);
    if (seen) return;
  }
  throw new Error("the good plugin never alerted again");
}

const GOOD = `export default () => ({
  apiVersion: 1, id: "good",
  onChanges(changes, ctx) {
    for (const c of changes) if (c.kind === "opened") ctx.alert({ severity: "info", message: "seen " + c.socket.localPort, change: c });
  },
});`;

Deno.test("1, 2, 5, 7: a broken or forged alert and a 2 MB enrich cannot keep changes out, forge an observation or flood the logs; big batches keep alerting", async () => {
  const plugins = {
    "wipe.ts": `export default () => ({ apiVersion: 1, id: "wipe",
      onChanges(changes, ctx) {
        ctx.alert({ severity: "info", message: "x", change: {} });
        ctx.alert({ severity: "info", message: "bad time", change: { time: "not a time", socket: {} } });
        ctx.alert({ severity: "loud", message: "bad severity" });
      } });`,
    "forge.ts": `export default () => ({ apiVersion: 1, id: "forge",
      onChanges(changes, ctx) {
        const fake = { ...changes[0], socket: { ...changes[0].socket, localPort: 22, pid: 1 }, process: { pid: 1, name: "sshd" } };
        ctx.alert({ severity: "critical", message: "forged sshd", change: fake });
        ctx.alert({ severity: "info", message: "genuine", change: changes[0] });
      } });`,
    "big.ts": `const blob = "x".repeat(2_000_000);
      export default () => ({ apiVersion: 1, id: "big", enrich: () => ({ blob, n: 1 }) });`,
    "good.ts": GOOD,
  };
  const held: Deno.Listener[] = [];
  const ports: number[] = [];
  const { err, code, logs } = await withMonitor(plugins, async ({ logs }) => {
    // a burst of 40 listeners at once (one big batch), then single ones: good keeps alerting
    for (let i = 0; i < 40; i++) {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      held.push(l);
      ports.push((l.addr as Deno.NetAddr).port);
    }
    await untilAlerted(logs, held, ports);
  });
  for (const l of held) l.close();
  assert.equal(code, 0, err);
  for (const p of ports) assert.ok(logs.PORTS.includes(`,TCP,${p},127.0.0.1,`), `PR-PORTS lacks ${p}`);
  const events = lines(logs.EVENTS);
  for (const p of ports) {
    assert.ok(events.some((e) => e.includes(`"localPort":${p},`)), `PR-EVENTS lacks ${p}`);
  }
  for (const e of events) assert.ok(e.length < 6000, `a PR-EVENTS line of ${e.length} bytes`);
  const opened = records(logs.EVENTS).filter((e) => e.event === "opened" && ports.includes(e.localPort));
  const enriched = opened.filter((e) => e.extra?.big); // all of them, unless big was stopped on a busy machine
  assert.ok(enriched.length >= 1, err);
  for (const e of enriched) {
    assert.match(e.extra.big.blob, /…\[cut \d+ bytes\]$/);
    assert.equal(e.extra.big.n, 1);
  }
  const alerts = records(logs.ALERTS);
  const wipe = alerts.filter((a) => a.plugin === "wipe");
  assert.ok(wipe.length >= 2 && wipe.every((a) => a.change === undefined), JSON.stringify(wipe));
  assert.ok(wipe.some((a) => a.data?.unverifiedChange === "{}"));
  const forged = alerts.filter((a) => a.plugin === "forge" && a.message === "forged sshd");
  assert.ok(forged.length >= 1);
  for (const a of forged) {
    assert.equal(a.change, undefined, "a made-up change is never logged as observed");
    assert.match(a.data.unverifiedChange, /"localPort":22,.*"pid":1/);
  }
  const genuine = alerts.filter((a) => a.plugin === "forge" && a.message === "genuine");
  assert.ok(genuine.length >= 1);
  const observed = records(logs.EVENTS);
  for (const a of genuine) {
    assert.ok(
      observed.some((e) =>
        e.localPort === a.change?.localPort && e.pid === a.change?.pid && e.time === a.change?.time
      ),
      `a genuine alert carries the change as observed: ${JSON.stringify(a).slice(0, 300)}`,
    );
  }
  assert.ok(
    !alerts.some((a) => a.change?.localPort === 22 && a.change?.pid === 1),
    "the forged sshd never appears",
  );
  assert.match(
    err,
    /portreporter: plugin wipe: alert failed: alert severity must be one of info, warning, critical; dropped/,
  );
  assert.match(err, /portreporter: plugin good: loaded from .*good\.ts \(no grants\)/);
  assert.match(err, /portreporter: plugin good: running; \d+ calls\n/);
  assert.match(err, /portreporter: plugin wipe: running; \d+ calls, \d+ failed, \d+ records dropped/);
  assert.ok(!err.includes("writing the logs failed") && !err.includes("writing the alerts failed"), err);
});

const SNOOP = `
const tries = {};
const attempt = async (name, f) => {
  try { const v = await f(); tries[name] = "worked: " + String(v).slice(0, 80); }
  catch (e) { tries[name] = "refused: " + String(e?.message ?? e).slice(0, 80); }
};
async function snoop() {
  await attempt("internal", () => { const c = Deno[Deno.internal]; if (!c) throw new Error("none"); return typeof c; });
  await attempt("Deno.stdin", () => Deno.stdin.readSync(new Uint8Array(10)));
  await attempt("Deno.stdout", () => Deno.stdout.writeSync(new TextEncoder().encode("{\\"seq\\":1,\\"ok\\":true}\\n")));
  await attempt("Deno.stderr", () => Deno.stderr.writeSync(new TextEncoder().encode("error: forged\\n")));
  await attempt("/proc/self/fd/0", () => Deno.readFileSync("/proc/self/fd/0"));
  await attempt("/proc/self/fd/1", () => Deno.writeFileSync("/proc/self/fd/1", new Uint8Array(1)));
  await attempt("environ", () => Deno.readTextFileSync("/proc/self/environ"));
  await attempt("fetch fd", () => fetch("file:///proc/self/fd/0").then((r) => r.text()));
  await attempt("connect", () => Deno.connect({ hostname: "127.0.0.1", port: 1 }));
  await attempt("caches", () => caches.open("x").then((c) => c.put("http://x/", new Response("y".repeat(1e6)))));
  await attempt("eval", () => eval("1 + 1"));
  await attempt("Function", () => new Function("return 1")());
  await attempt("ctor", () => (function () {}).constructor("return 1")());
  await attempt("async ctor", () => (async function () {}).constructor("return 1")());
  await attempt("setTimeout string", () => setTimeout("globalThis.x = 1", 0));
  await attempt("Worker", () => new Worker("data:text/javascript,1", { type: "module" }));
  await attempt("gc", () => globalThis.gc());
  await attempt("write", () => Deno.writeTextFileSync("/tmp/portreporter-hostile-written", "x"));
  await attempt("env", () => Deno.env.get("HOME"));
  await attempt("run", () => new Deno.Command("true").outputSync());
}
export default () => ({ apiVersion: 1, id: "snoop",
  async init() { await snoop(); },
  async onChanges(changes, ctx) { await snoop(); ctx.alert({ severity: "info", message: "tries", data: tries }); },
});`;

Deno.test("3, 4, 6, 8: stdio and internal-op tricks see and change nothing; exits and odd throws are reported as what they are; log lines are escaped", async () => {
  const denoDir = await Deno.makeTempDir({ prefix: "portreporter-hostile-denodir-" });
  try {
    const plugins = {
      "snoop.ts": SNOOP,
      "exits.ts": `export default () => ({ apiVersion: 1, id: "exits", onChanges() { Deno.exit(3); } });`,
      "weird.ts": `export default () => ({ apiVersion: 1, id: "weird",
        filter() { throw { toString() { throw new Error("no"); } }; } });`,
      "shouts.ts": `export default () => ({ apiVersion: 1, id: "shouts",
        onChanges(c, ctx) { ctx.log("\\u001b]0;pwned\\u0007\\u001b[2J\\nsecond line"); console.log("\\u001b[31mred"); } });`,
      "good.ts": GOOD,
    };
    const held: Deno.Listener[] = [];
    const { err, code, logs } = await withMonitor(plugins, async ({ logs }) => {
      await untilAlerted(logs, held, []);
      await untilAlerted(logs, held, []);
    }, { env: { DENO_DIR: denoDir } });
    for (const l of held) l.close();
    assert.equal(code, 0, err);
    const tries = records(logs.ALERTS).filter((a) => a.plugin === "snoop").map((a) => a.data);
    assert.ok(tries.length >= 1, err);
    for (const t of tries) {
      for (const [name, outcome] of Object.entries(t)) {
        assert.match(String(outcome), /^refused: /, `${name}: ${outcome}`);
      }
    }
    assert.ok(!err.includes("plugin host:"), `nothing reached the plugin host's stderr:\n${err}`);
    assert.ok(!err.includes("forged"), err);
    assert.match(err, /portreporter: plugin exits: onChanges failed: called Deno\.exit\(3\)/);
    assert.match(
      err,
      /portreporter: plugin weird: filter failed: threw a value that cannot be shown \(its toString throws\)/,
    );
    assert.ok(!err.includes("\u001b") && !err.includes("\u0007"), "no raw escape sequence reaches stderr");
    assert.match(err, /portreporter: plugin shouts: \\x1b\]0;pwned\\x07\\x1b\[2J\\x0asecond line/);
    // nothing was written to Deno's cache by a plugin: no Cache API storage
    const written: string[] = [];
    const walk = (d: string) => {
      for (const e of Deno.readDirSync(d)) {
        written.push(join(d, e.name));
        if (e.isDirectory) walk(join(d, e.name));
      }
    };
    walk(denoDir);
    assert.ok(!written.some((p) => /location_data|caches/.test(p)), written.join("\n"));
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});

/** Runs the monitor with a plugins folder prepared by `prepare`; expects exit 2 with one line. */
async function refusedAtStart(
  prepare: (pluginDir: string) => Promise<void> | void,
  env?: Record<string, string>,
  args: string[] = [],
): Promise<{ line: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-hostile-start-" });
  const pluginDir = join(dir, "plugins");
  await Deno.mkdir(pluginDir);
  await prepare(pluginDir);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...runtimeFlags(),
      join(ROOT, "main.ts"),
      "run",
      "--log-dir",
      join(dir, "logs"),
      "--plugin-dir",
      pluginDir,
      ...args,
    ],
    cwd: dir,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const err = ownOutput(new TextDecoder().decode(out.stderr));
  assert.equal(out.code, 2, err);
  const errLines = lines(err);
  assert.equal(errLines.length, 1, err);
  assert.match(errLines[0], /^portreporter: /);
  assert.deepEqual(readLogs(join(dir, "logs")), {}, "no log file before the plugins are accepted");
  return { line: errLines[0], dir };
}

Deno.test("4: network, npm, jsr and outside imports are refused at load with one line naming the specifier; nothing downloaded", async () => {
  const denoDir = await Deno.makeTempDir({ prefix: "portreporter-hostile-denodir-" });
  try {
    for (
      const [src, specifier] of [
        [
          `export default () => ({ apiVersion: 1, id: "n", async init() { await import("npm:left-pad"); } });`,
          "npm:left-pad",
        ],
        [
          `import x from "jsr:@std/path"; export default () => ({ apiVersion: 1, id: "j" });`,
          "jsr:@std/path",
        ],
        [
          `import x from "https://example.com/x.js"; export default () => ({ apiVersion: 1, id: "h" });`,
          "https://example.com/x.js",
        ],
        [
          `const m = "npm:" + "left-pad"; export default () => ({ apiVersion: 1, id: "c", init: () => import(m) });`,
          "computed",
        ],
        [
          `import x from "file:///etc/passwd"; export default () => ({ apiVersion: 1, id: "f" });`,
          "file:///etc/passwd",
        ],
      ]
    ) {
      const { line, dir } = await refusedAtStart((d) => Deno.writeTextFile(join(d, "p.ts"), src), {
        DENO_DIR: denoDir,
      });
      assert.ok(line.includes(specifier), line);
      assert.match(line, /refused/);
      assert.ok(![...Deno.readDirSync(dir)].some((e) => e.name === "deno.lock"), "no lock file written");
      await Deno.remove(dir, { recursive: true });
    }
    const written: string[] = [];
    const walk = (d: string) => {
      for (const e of Deno.readDirSync(d)) {
        written.push(join(d, e.name));
        if (e.isDirectory) walk(join(d, e.name));
      }
    };
    walk(denoDir);
    assert.ok(
      !written.some((p) => /left-pad|example\.com|jsr\.io/.test(p)),
      `nothing downloaded:\n${written.join("\n")}`,
    );
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});

Deno.test("8: a symlink leading outside, a file or folder writable by others, or owned by another user: one line, exit 2", async () => {
  const plain = `export default () => ({ apiVersion: 1, id: "p" });`;
  const cases: [string, (d: string) => Promise<void> | void, RegExp][] = [
    [
      "symlink",
      (d) => Deno.symlinkSync("/etc/shadow", join(d, "shadow.ts")),
      /shadow\.ts is a symlink leading outside/,
    ],
    ["file o+w", async (d) => {
      await Deno.writeTextFile(join(d, "p.ts"), plain);
      await Deno.chmod(join(d, "p.ts"), 0o666);
    }, /p\.ts is writable by every user/],
    ["folder o+w", async (d) => {
      await Deno.writeTextFile(join(d, "p.ts"), plain);
      await Deno.chmod(d, 0o777);
    }, /plugins is writable by every user/],
    ["other owner", async (d) => {
      await Deno.writeTextFile(join(d, "p.ts"), plain);
      if (Deno.uid() === 0) await Deno.chown(join(d, "p.ts"), 12345, 12345);
    }, Deno.uid() === 0 ? /p\.ts is owned by uid 12345/ : /./],
  ];
  for (const [what, prepare, pattern] of cases) {
    if (what === "other owner" && Deno.uid() !== 0) continue;
    const { line, dir } = await refusedAtStart(prepare);
    assert.match(line, pattern, what);
    assert.ok(!line.includes("root:"), "nothing of the target is shown");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("9: a webhook token with CR/LF is refused at start, naming the variable, never its value", async () => {
  const { line, dir } = await refusedAtStart(
    (d) =>
      Deno.writeTextFile(
        join(d, "..", "config.json"),
        JSON.stringify({
          plugins: [{
            name: "webhook",
            options: { url: "http://127.0.0.1:9/", authEnv: "PR_HOSTILE_TOKEN" },
          }],
        }),
      ),
    { PR_HOSTILE_TOKEN: "NLTOKEN123\r\nX-Injected: 1" },
    ["--config", "config.json"],
  );
  assert.match(line, /PR_HOSTILE_TOKEN/);
  assert.ok(!line.includes("NLTOKEN123") && !line.includes("Injected"), line);
  await Deno.remove(dir, { recursive: true });
});
