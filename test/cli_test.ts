/**
 * The CLI's contract with a user: every bad input is one clear line on stderr, exit code 2, and no
 * file left behind; help and version exit 0; the compile tasks and `deno run` share one set of flags.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, ROOT, runCli, runtimeFlags, spawnCli, waitFor } from "./helpers.ts";

/** Asserts a usage error: exit 2, exactly one stderr line matching `pattern`, nothing on stdout. */
async function assertUsageError(args: string[], pattern: RegExp, cwd?: string) {
  const r = await runCli(args, { cwd });
  assert.equal(r.code, 2, `exit code of ${args.join(" ")}: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line for ${args.join(" ")}, got: ${r.stderr}`);
  assert.match(lines[0], /^portreporter: /);
  assert.match(lines[0], pattern);
  assert.equal(r.stdout, "");
}

Deno.test("the compile tasks and the tests' deno run use the same permissions and V8 flags", () => {
  assert.deepEqual(runtimeFlags("compile"), runtimeFlags("compile:windows"));
  assert.ok(runtimeFlags().includes("-A"));
  assert.ok(runtimeFlags().some((f) => f.startsWith("--v8-flags=")));
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  for (const flag of runtimeFlags()) {
    assert.ok(config.tasks.start.command.includes(flag), `start task has ${flag}`);
  }
});

Deno.test("under those V8 flags the monitor's heap budget has V8's full collection, and it frees garbage", async () => {
  // the release is what gives the memory back: after a regular collection the freed pages stay resident
  const script = `import { v8HeapControl } from ${JSON.stringify(join(ROOT, "src/cli/run_monitor.ts"))};
const heap = v8HeapControl();
if (!heap) throw new Error("no gc under these flags");
let garbage = Array.from({ length: 400000 }, (_, i) => ({ i, text: "x" + i }));
heap.collect();
const before = heap.used();
garbage = [];
heap.collect();
const after = heap.used();
const rssCollected = Deno.memoryUsage().rss;
heap.release();
console.log(JSON.stringify({ before, after, rssCollected, rssReleased: Deno.memoryUsage().rss, n: garbage.length }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", ...runtimeFlags().filter((f) => f !== "-A"), script],
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const { before, after, rssCollected, rssReleased } = JSON.parse(text);
  assert.ok(before - after > 10 * 1024 * 1024, `${before} bytes in use, ${after} after the collection`);
  assert.ok(
    rssCollected - rssReleased > 10 * 1024 * 1024,
    `the release returns the freed pages: resident ${rssCollected} bytes after the collection, ${rssReleased} after`,
  );
});

Deno.test("bad commands, flags and values: one line, exit 2", async () => {
  await assertUsageError(["frobnicate"], /unknown command 'frobnicate'/);
  await assertUsageError(["run", "--bogus"], /run: unknown option '--bogus'; run 'portreporter run --help'/);
  await assertUsageError(["run", "--interval"], /run: option '--interval' needs a value/);
  await assertUsageError(["run", "--interval", "fast"], /--interval: 'fast' is not a duration/);
  await assertUsageError(["run", "--interval", "10"], /--interval: 10 ms is below the minimum of 50 ms/);
  await assertUsageError(["run", "--max-size", "5 parsecs"], /--max-size: '5 parsecs' is not a size/);
  await assertUsageError(["run", "--max-size", "12"], /12 bytes is below the minimum of 64 KiB \(65536\)/);
  await assertUsageError(
    ["snapshot", "--jsn"],
    /snapshot: unknown option '--jsn' \(did you mean '--json'\?\)/,
  );
  await assertUsageError(["run", "extra"], /run: unexpected argument 'extra'/);
});

Deno.test("did-you-mean, extra arguments, repeated options, option errors in one line", async () => {
  await assertUsageError(
    ["snapshop"],
    /^portreporter: unknown command 'snapshop' \(did you mean 'snapshot'\?\); the commands are run, snapshot, query, connections, follow, sets, completion, man, report, version, help/,
  );
  await assertUsageError(
    ["run", "--intervall", "500"],
    /run: unknown option '--intervall' \(did you mean '--interval'\?\)/,
  );
  await assertUsageError(
    ["--interval", "500"],
    /unknown option '--interval' before a command.*options go after the command/,
  );
  await assertUsageError(["version", "extra"], /version: unexpected argument 'extra'/);
  await assertUsageError(["snapshot", "--json", "--json"], /snapshot: option '--json' is given twice/);
  await assertUsageError(
    ["run", "--interval", "1s", "--interval", "2s"],
    /run: option '--interval' is given twice/,
  );
  await assertUsageError(["run", "--interval", "-5"], /--interval: '-5' is not a duration; .*ms, s, m or h/);
  await assertUsageError(
    ["run", "--interval", "2h"],
    /--interval: 7200000 ms is above the maximum of 1 hour/,
  );
  await assertUsageError(["run", "--interval", "a\x1b[2Jb"], /--interval: 'a\\x1b\[2Jb' is not a duration/);
  await assertUsageError(
    ["run", "--max-size", "5MBB"],
    /KB, MB, GB \(powers of 1000\) or KiB, MiB, GiB \(powers of 1024\)/,
  );
  await assertUsageError(["help", "snapshop"], /did you mean 'snapshot'/);
  await assertUsageError(
    ["run", "--plugin-dir", "/nonexistent/plugins"],
    /--plugin-dir: \/nonexistent\/plugins does not exist/,
  );
});

Deno.test("durations take h, sizes tell MB (1000²) from MiB (1024²)", async () => {
  const { parseInterval, parseSize } = await import("../src/cli/settings.ts");
  assert.equal(parseInterval("1h", "x"), 3_600_000);
  assert.equal(parseInterval("1.5s", "x"), 1500);
  assert.equal(parseInterval("60m", "x"), 3_600_000);
  assert.equal(parseSize("5MB", "x"), 5_000_000);
  assert.equal(parseSize("5MiB", "x"), 5_242_880);
  assert.equal(parseSize("512kib", "x"), 524_288);
  assert.equal(parseSize("1GB", "x"), 1_000_000_000);
  assert.equal(parseSize(5242880, "x"), 5_242_880);
});

Deno.test("help: the command list, help <command>, and service hidden on Linux", async () => {
  const list = await runCli(["help"]);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /^ {2}help +Print this help/m);
  assert.doesNotMatch(list.stdout, /service|__plugin-host/);
  const run = await runCli(["help", "run"]);
  assert.equal(run.code, 0);
  assert.equal(run.stdout, (await runCli(["run", "--help"])).stdout);
  assert.match(run.stdout, /SIGHUP/);
});

Deno.test("config file problems: missing, malformed, unknown key, wrong type; one line each", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertUsageError(
      ["run", "--config", join(dir, "nope.jsonc")],
      /cannot read config file .*nope\.jsonc: no such file/,
    );
    await Deno.writeTextFile(join(dir, "bad.jsonc"), '{\n  // comment\n  "interval": 100,\n  "logDir": \n}');
    await assertUsageError(
      ["run", "--config", join(dir, "bad.jsonc")],
      /bad\.jsonc: ValueExpected at line 5, column 1/,
    );
    await Deno.writeTextFile(join(dir, "typo.jsonc"), '{ "intervall": 100 }');
    await assertUsageError(
      ["run", "--config", join(dir, "typo.jsonc")],
      /unknown setting 'intervall' \(did you mean 'interval'\?\); known settings: logDir/,
    );
    await Deno.writeTextFile(join(dir, "type.jsonc"), '{ "interval": true }');
    await assertUsageError(
      ["run", "--config", join(dir, "type.jsonc")],
      /'interval' must be a number or a string/,
    );
    await Deno.writeTextFile(join(dir, "tz.jsonc"), '{ "timeZone": "Mars/Olympus" }');
    await assertUsageError(
      ["run", "--config", join(dir, "tz.jsonc")],
      /'Mars\/Olympus' is not an IANA time zone/,
    );
    await Deno.writeTextFile(
      join(dir, "plug.jsonc"),
      '{ "plugins": [{ "name": "filter", "path": "x.ts" }] }',
    );
    await assertUsageError(
      ["run", "--config", join(dir, "plug.jsonc")],
      /plugins\[0\] needs exactly one of "name" or "path"/,
    );
    await assertUsageError(["run", "--config", dir], /cannot read config file .*: it is a directory/);
    await Deno.writeTextFile(join(dir, "key.jsonc"), '{ "intervl\\u001b": 1, "x\\u001b[31m": 2 }');
    await assertUsageError(
      ["run", "--config", join(dir, "key.jsonc")],
      /unknown setting 'intervl\\x1b' \(did you mean 'interval'\?\)/,
    );
    await Deno.writeTextFile(join(dir, "emptydir.jsonc"), '{ "pluginDir": "no-such-folder" }');
    await assertUsageError(
      ["run", "--config", join(dir, "emptydir.jsonc")],
      /'pluginDir': .*no-such-folder does not exist/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unwritable log directory is one line, exit 2, and leaves nothing behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "file"), "");
    await assertUsageError(
      ["run", "--log-dir", join(dir, "file", "logs")],
      /cannot write to log directory .*file\/logs: .*--log-dir/,
    );
    await assertUsageError(["run", "--log-dir", join(dir, "file")], /cannot write to log directory/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["file"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing plugin file is one line, exit 2, before any log file is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const logDir = join(dir, "logs");
    await assertUsageError(["run", "--log-dir", logDir, "--plugin", join(dir, "missing.ts")], /missing\.ts/);
    const left = [...Deno.readDirSync(logDir)].map((e) => e.name);
    assert.deepEqual(left, [], "no log file was created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("help and version exit 0; no command prints help and exits 2", async () => {
  for (const args of [["--help"], ["run", "--help"], ["snapshot", "-h"], ["service", "--help"]]) {
    const r = await runCli(args);
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, /Usage: portreporter/);
  }
  const v = await runCli(["version"]);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^portreporter \d+\.\d+\.\d+ \(deno 2\.9\.6, linux x86_64\)\n$/);
  const none = await runCli([]);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, "");
  assert.match(none.stderr, /Usage: portreporter <command>[\s\S]*Commands:/);
});

Deno.test("service mode on Linux says what to use instead", async () => {
  await assertUsageError(["service"], /Windows only; on Linux use 'portreporter run'/);
});

Deno.test("snapshot --json lists this test's own listener with its pid", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const r = await runCli(["snapshot", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const data = JSON.parse(r.stdout);
    const port = (listener.addr as Deno.NetAddr).port;
    const row = data.sockets.find((s: { localPort: number; protocol: string }) =>
      s.localPort === port && s.protocol === "tcp"
    );
    assert.ok(row, "own listener listed");
    assert.equal(row.pid, Deno.pid);
    assert.equal(row.state, "LISTEN");
    assert.ok(data.processes.some((p: { pid: number }) => p.pid === Deno.pid));
    const table = await runCli(["snapshot"]);
    assert.match(
      table.stdout,
      new RegExp(`TCP +127\\.0\\.0\\.1:${port} +0\\.0\\.0\\.0:0 +LISTEN +${Deno.pid} +deno`),
    );
  } finally {
    listener.close();
  }
});

Deno.test("the README's config example starts the monitor", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const example = /```jsonc\n(\{\n {2}"logDir"[\s\S]*?)\n```/.exec(readme)?.[1];
  assert.ok(example, "README has the jsonc config example");
  const dir = await Deno.makeTempDir();
  try {
    // as the README says: saved in the repository folder (here: a folder whose examples/ is the repository's)
    await Deno.symlink(join(ROOT, "examples"), join(dir, "examples"));
    const config = example.replace('"/var/log/portreporter"', JSON.stringify(join(dir, "logs")));
    assert.notEqual(config, example, "the log directory was replaced");
    await Deno.writeTextFile(join(dir, "portreporter.jsonc"), config);
    const child = spawnCli(["run", "--config", "portreporter.jsonc"], { cwd: dir });
    const stderr = new Response(child.stderr).text();
    const stdout = new Response(child.stdout).text();
    await waitFor("the first log set", () => (readLogs(join(dir, "logs")).INITIAL ? true : undefined));
    child.kill("SIGTERM");
    const status = await child.status;
    const err = await stderr;
    await stdout;
    assert.equal(status.code, 0, err);
    assert.match(err, /every 500 ms/);
    assert.match(err, /^portreporter: plugins: filter, new-listener, unknown-listener; user plugin folder /m);
    assert.match(err, /stopped after \d+ polls?: /);
    const logs = readLogs(join(dir, "logs"));
    for (const kind of ["PORTS", "PIDS", "INITIAL"]) {
      assert.match(
        logs[kind],
        /\nTime zone: Europe\/Berlin \(the local time of every date and time in this file\)\n/,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hostile config files: a device, a FIFO, over 1 MiB, nested 5 000 deep, not UTF-8; one line each", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertUsageError(
      ["run", "--config", "/dev/zero"],
      /cannot read config file \/dev\/zero: it is a device; give a regular file/,
    );
    const fifo = join(dir, "fifo");
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(mk.success);
    await assertUsageError(["run", "--config", fifo], /fifo: it is a FIFO; give a regular file/);
    await Deno.writeTextFile(join(dir, "big.jsonc"), `{ "logDir": "x" }${" ".repeat(1024 * 1024)}`);
    await assertUsageError(["run", "--config", join(dir, "big.jsonc")], /big\.jsonc is larger than 1 MiB/);
    await Deno.writeTextFile(
      join(dir, "deep.jsonc"),
      `{ "plugins": ${"[".repeat(5000)}${"]".repeat(5000)} }`,
    );
    await assertUsageError(
      ["run", "--config", join(dir, "deep.jsonc")],
      /deep\.jsonc: nested deeper than 64 levels at line 1, column 77/,
    );
    // brackets inside strings and comments do not count
    const { tooDeepAt } = await import("../src/cli/config_file.ts");
    assert.equal(
      tooDeepAt(`{ "a": "${"[".repeat(100)}", /* ${"{".repeat(100)} */ // ${"[".repeat(100)}\n }`, 64),
      -1,
    );
    assert.equal(tooDeepAt("[".repeat(64) + "]".repeat(64), 64), -1);
    assert.equal(tooDeepAt("[".repeat(65), 64), 64);
    await Deno.writeFile(
      join(dir, "latin1.jsonc"),
      new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]),
    );
    await assertUsageError(["run", "--config", join(dir, "latin1.jsonc")], /latin1\.jsonc: not UTF-8 text/);
    const nl = join(dir, "bad\nname.jsonc");
    await assertUsageError(["run", "--config", nl], /config file .*bad\\x0aname\.jsonc: no such file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
