/**
 * The real monitor under real faults of its surroundings: the wall clock set forward and back under
 * libfaketime (the monotonic clock left alone, as an NTP step or an administrator's `date -s` does),
 * SIGHUP and SIGQUIT, and a stderr that cannot be written (/dev/full; a file on a full tmpfs in a
 * private mount namespace). The logs are read back; nothing here is timed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, ROOT, runtimeFlags, waitFor } from "./helpers.ts";
import { LogSet } from "../src/log/log_set.ts";

const FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const decoder = new TextDecoder();
/** Whether the log set writes non-change records and new sets on demand (the records interface). */
const HAS_RECORDS = "writeRecord" in LogSet.prototype && "startNewSet" in LogSet.prototype;

/** The argv of the real monitor: `deno run <compile flags> main.ts ...args`. */
function monitorArgv(args: string[]): string[] {
  return [Deno.execPath(), "run", ...runtimeFlags(), join(ROOT, "main.ts"), ...args];
}

/** Collects a child's output as text while it runs. */
function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const done = (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })();
  return { text: () => text, done };
}

/** Every PR-EVENTS record of `dir`, parsed (every line must parse). */
function events(dir: string): Record<string, unknown>[] {
  return (readLogs(dir).EVENTS ?? "").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

/** The PR-EVENTS record of `kind` for TCP local port `port`, if written yet. */
function eventFor(dir: string, kind: string, port: number) {
  return events(dir).find((e) => e.event === kind && e.localPort === port && e.protocol === "tcp");
}

/** How many log sets `dir` holds (one PR-PORTS file each). */
function setCount(dir: string): number {
  return [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("PR-PORTS-")).length;
}

Deno.test({
  name: "clock set forward a day and back: reported, new sets, durations monotonic, polling goes on",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "portreporter-clock-" });
    const stampFile = join(dir, "faketime");
    const logDir = join(dir, "logs");
    await Deno.writeTextFile(stampFile, "+0");
    const [cmd, ...args] = monitorArgv(["run", "--log-dir", logDir, "--interval", "100"]);
    const child = new Deno.Command(cmd, {
      args,
      env: {
        LD_PRELOAD: FAKETIME_LIB,
        FAKETIME_TIMESTAMP_FILE: stampFile,
        FAKETIME_NO_CACHE: "1",
        FAKETIME_DONT_FAKE_MONOTONIC: "1",
      },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = collect(child.stderr);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    try {
      await waitFor("the start line", () => (/logging to /.test(stderr.text()) ? true : undefined));
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      const server = await listener.accept();
      const clientPort = (client.localAddr as Deno.NetAddr).port;
      await waitFor("the connection opened", () => eventFor(logDir, "opened", clientPort));
      const sets = setCount(logDir);
      await Deno.writeTextFile(stampFile, "+1d");
      await waitFor(
        "the forward jump",
        () => (/clock jumped forward by 864\d\d s/.test(stderr.text()) || undefined),
      );
      client.close();
      server.close();
      const closed = await waitFor("the connection closed", () => eventFor(logDir, "closed", clientPort));
      assert.ok(
        (closed.durationMs as number) < 60_000,
        `a monotonic duration, not a day: ${closed.durationMs}`,
      );
      assert.ok(
        (closed.time as string) > new Date(Date.now() + 23 * 3600_000).toISOString(),
        "stamped in the new wall time",
      );
      await Deno.writeTextFile(stampFile, "-2h");
      await waitFor(
        "the backward jump",
        () => (/clock jumped back by 93\d\d\d s/.test(stderr.text()) || undefined),
      );
      // not blind after the clock went back: a new listener is logged within a few polls
      const late = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const latePort = (late.addr as Deno.NetAddr).port;
      await waitFor("a listener opened after the jump back", () => eventFor(logDir, "opened", latePort));
      late.close();
      assert.ok(setCount(logDir) >= sets + 2, "each jump started a new set");
      if (HAS_RECORDS) {
        const jumps = events(logDir).filter((e) => e.event === "clock-jump");
        assert.equal(jumps.length, 2);
        // the sets' stamps follow the wall clock, so the set of the jump back sorts before the others
        const ms = jumps.map((j) => j.jumpMs as number).sort((a, b) => b - a);
        assert.ok(ms[0] > 86_000_000 && ms[1] < -93_000_000, `jumps ${ms}`);
      }
      // SIGHUP: a new set, and the monitor goes on
      const before = setCount(logDir);
      child.kill("SIGHUP");
      await waitFor(
        "the SIGHUP line",
        () => (/starting a new log set \(signal\)/.test(stderr.text()) || undefined),
      );
      const after = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const afterPort = (after.addr as Deno.NetAddr).port;
      await waitFor("a listener opened after SIGHUP", () => eventFor(logDir, "opened", afterPort));
      after.close();
      if (HAS_RECORDS) assert.equal(setCount(logDir), before + 1, "SIGHUP started one new set");
      child.kill("SIGQUIT");
      const status = await child.status;
      await stderr.done;
      assert.equal(status.code, 0, stderr.text());
      assert.equal(stderr.text().match(/clock jumped/g)?.length, 2, stderr.text());
      assert.match(stderr.text(), /stopped after \d+ polls: .* 0 failed polls/);
      if (HAS_RECORDS) {
        const kinds = events(logDir).map((e) => e.event);
        assert.equal(kinds.filter((k) => k === "monitor-start").length, 1);
        assert.equal(kinds.filter((k) => k === "monitor-stop").length, 1);
        const files = [...Deno.readDirSync(logDir)].filter((e) => e.name.startsWith("PR-EVENTS-"));
        const last = files.map((e) =>
          Deno.readTextFileSync(join(logDir, e.name)).trimEnd().split("\n").at(-1)!
        )
          .map((l) => JSON.parse(l).event);
        assert.ok(last.includes("monitor-stop"), "the stop record is the last line of its file");
        for (const file of files) { // each clock-jump record is in a set the jump started
          const lines = Deno.readTextFileSync(join(logDir, file.name)).split("\n").filter(Boolean);
          const jump = lines.findIndex((l) => JSON.parse(l).event === "clock-jump");
          if (jump >= 0) assert.equal(JSON.parse(lines[0]).reason, "clock-jump", file.name);
        }
      }
    } finally {
      listener.close();
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Runs `script` (sh) with `$MONITOR` set to the monitor's argv (quoted), waits for PR-INITIAL in `logDir`. */
function spawnShell(script: string, logDir: string, unshare = false): Deno.ChildProcess {
  const quoted = monitorArgv(["run", "--log-dir", logDir, "--interval", "100"]).map((a) => `'${a}'`).join(
    " ",
  );
  const shell = ["sh", "-c", script.replaceAll("$MONITOR", quoted)];
  const [cmd, ...args] = unshare ? ["unshare", "-m", "--propagation", "private", ...shell] : shell;
  return new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
}

/** Opens a listener, waits until the monitor logged it, then stops the monitor with SIGHUP + SIGTERM. */
async function assertStillLogging(child: Deno.ChildProcess, logDir: string, pid: () => number) {
  await waitFor("the first log set", () => (readLogs(logDir).INITIAL ? true : undefined));
  Deno.kill(pid(), "SIGHUP"); // a diagnostic line that cannot be written
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    await waitFor("a listener logged while stderr fails", () => eventFor(logDir, "opened", port));
  } finally {
    listener.close();
  }
  await waitFor("its close logged", () => eventFor(logDir, "closed", port));
  Deno.kill(pid(), "SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0, "a clean stop although stderr failed");
}

Deno.test({
  name: "stderr on /dev/full: the monitor logs on and stops cleanly",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "portreporter-stderr-" });
    const logDir = join(dir, "logs");
    const pidFile = join(dir, "pid");
    const child = spawnShell(`echo $$ > '${pidFile}'; exec $MONITOR 2>/dev/full`, logDir);
    const stderr = collect(child.stderr);
    try {
      await assertStillLogging(child, logDir, () => Number(Deno.readTextFileSync(pidFile)));
      await stderr.done;
      assert.equal(stderr.text(), "", "nothing reached the shell's stderr");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "stderr to a file on a full tmpfs (private mount namespace): the monitor logs on",
  ignore: Deno.build.os !== "linux" || Deno.uid() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "portreporter-stderr-" });
    const logDir = join(dir, "logs");
    const mnt = join(dir, "full");
    const pidFile = join(dir, "pid");
    await Deno.mkdir(mnt);
    const child = spawnShell(
      `mount -t tmpfs -o size=16k tmpfs '${mnt}' && (dd if=/dev/zero of='${mnt}/fill' bs=1k 2>/dev/null; true) && ` +
        `echo full > '${mnt}/check' 2>/dev/null; test ! -s '${mnt}/check' && echo $$ > '${pidFile}' && ` +
        `exec $MONITOR 2>>'${mnt}/stderr'`,
      logDir,
      true,
    );
    const stderr = collect(child.stderr);
    try {
      await assertStillLogging(child, logDir, () => Number(Deno.readTextFileSync(pidFile)));
      await stderr.done;
      assert.equal(stderr.text(), "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
