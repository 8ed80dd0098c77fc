/**
 * User plugins in the plugin host process under wine (lab only). This is the path that kills a process
 * (`child.kill("SIGKILL")`), relies on the end of a pipe (the host exits when its stdin ends) and installs
 * SIGINT/SIGBREAK listeners in the host, all on Windows.
 *
 * 1. `portreporter run` (the real `main.ts` in a child deno.exe) with `throws_filter.ts`, `busy_loop.ts` (a
 *    `while (true) {}` filter) and `good.ts`, while the socket helper (another wine process) opens TCP and UDP
 *    sockets, once before the busy plugin hangs and once after the host was restarted. Asserted:
 *    - PR-PORTS gets every line of both helpers;
 *    - the busy plugin is reported once (timed out, disabled, host killed and restarted for the two others),
 *      the throwing one once, and the host never "exited unexpectedly" (a broken pipe would say so);
 *    - the plugin host is a second deno.exe, a child of the monitor in the toolhelp process walk; the hung one
 *      ends with exit code 1 (TerminateProcess, which is what `kill("SIGKILL")` is on Windows) and exactly one
 *      new one runs (the SIGINT/SIGBREAK listeners it installs at start do not fail);
 *    - the good plugin's alert for every socket of the helper started after the restart is in PR-ALERTS;
 *    - when the monitor is killed, the host ends too, the monitor's stderr pipe closes (no host holds it) and
 *      no child of the monitor is left in the walk.
 * 2. A monitor whose only plugin spins in `while (true) {}` (`spinning_monitor.ts`): (a) when it closes the
 *    plugin host (`PluginHost.close`, what the pipeline's close ends with), the host sees the end of its stdin
 *    and exits with 0 (Deno.exit ends the spinning Worker) well within the close bound, where the kill after
 *    that bound would give 1; (b) when it is killed, the host ends at once.
 * 3. `pipeline.close()` in this process, with `good.ts`: the same end of stdin, without a spinning Worker.
 *
 * Processes are followed by handle (OpenProcess while they run, GetExitCodeProcess afterwards), so that a
 * reused pid is never taken for a plugin host.
 *
 * Measured in the lab, and what it means for the assertions:
 * - Deno 2.9.6 on Windows starts a `Deno.Command` child (not `detached`) in a job object that ends it when
 *   its parent ends (IsProcessInJob is true for such a child and false for a `detached` one, which outlives
 *   its killed parent; exit code 0). So on Windows a killed monitor takes its plugin host with it at once,
 *   spinning Worker or not, and the host's own end-of-stdin exit is the second line of defence: tests 1 and
 *   2b cannot tell the two apart (both give 0), tests 2a and 3 exercise the end of stdin alone.
 * - The monitor is stopped with TerminateProcess (see run_cli_test.ts: a test cannot send it a console
 *   control event), so its Ctrl+C shutdown is not exercised through the CLI here; tests 2a and 3 cover what
 *   that shutdown does to the host. For the same reason nothing checks that Ctrl+C leaves the host running
 *   (the Linux hang_test.ts does, with SIGINT).
 * - GetProcessTimes on another process's handle returns the calling process's times under wine 10, so a
 *   spinning host cannot be told by its CPU time (hang_test.ts does that on Linux through /proc); test 2
 *   waits a moment after the batch went out instead (a log line from the plugin, tried once, showed it
 *   spinning 12 ms after the pid line).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, ROOT, waitFor } from "../helpers.ts";
import { walkProcesses } from "../../src/platform/windows/process.ts";
import { createPipeline } from "../../src/plugin/pipeline.ts";
import { builtinPlugins } from "../../plugins/mod.ts";
import { change, listener } from "../../src/plugin/testdata/changes.ts";
import { type Helper, ignore, startHelper } from "./lab_util.ts";
import { assertHelperPorts, cliArgs, helperInPorts, linesOf } from "./log_checks.ts";
import type { HelperSockets } from "./socket_helper.ts";

const testdata = join(ROOT, "src", "plugin", "testdata");
const plugin = (name: string) => ["--plugin", join(testdata, name)];

/** Collects a stream's text as it arrives (so that a pipe never fills up). */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string; done: Promise<void> } {
  let text = "";
  const done = stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  ).catch(() => {});
  return { text: () => text, done };
}

/** The deno.exe processes the walk shows as children of `parent` (the plugin hosts of a monitor). */
function childrenOf(parent: number): number[] {
  return [...walkProcesses().values()]
    .filter((p) => p.parentPid === parent && p.exeName.toLowerCase() === "deno.exe")
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

const STILL_ACTIVE = 259;
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const SYMBOLS = {
  OpenProcess: { parameters: ["u32", "i32", "u32"], result: "pointer" },
  GetExitCodeProcess: { parameters: ["pointer", "buffer"], result: "i32" },
  CloseHandle: { parameters: ["pointer"], result: "i32" },
} as const;
let k32: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;

/**
 * Processes followed by handle (opened while they run, so that a pid is never mistaken for a later process
 * that reuses it, and the exit code stays readable after the exit).
 */
class Watched {
  readonly #handles = new Map<number, Deno.PointerValue>();

  /** Opens a handle to `pid` unless one is open already; false when the process is gone. */
  track(pid: number): boolean {
    if (this.#handles.has(pid)) return true;
    k32 ??= Deno.dlopen("kernel32.dll", SYMBOLS).symbols;
    const h = k32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid);
    if (h === null) return false;
    this.#handles.set(pid, h);
    return true;
  }

  /** The pids followed so far. */
  get pids(): number[] {
    return [...this.#handles.keys()].sort((a, b) => a - b);
  }

  /** The exit code of `pid`, or `null` while it runs. */
  exitCode(pid: number): number | null {
    const code = new Uint32Array(1);
    assert.ok(k32!.GetExitCodeProcess(this.#handles.get(pid)!, code), `GetExitCodeProcess(${pid})`);
    return code[0] === STILL_ACTIVE ? null : code[0];
  }

  /** Closes every handle. */
  close(): void {
    for (const h of this.#handles.values()) k32!.CloseHandle(h);
    this.#handles.clear();
  }
}

/** The distinct local ports of the helper's sockets. */
function helperPorts(h: HelperSockets): number[] {
  return [...new Set([h.tcp4Listen, h.tcp4Client, h.tcp6Listen, h.tcp6Client, h.udp4, h.udp6])];
}

/** The `portreporter: plugin <id>: ...` lines of stderr that contain `text`. */
function pluginLines(stderr: string, id: string, text: string): string[] {
  return stderr.split(/\r?\n/).filter((l) =>
    l.startsWith(`portreporter: plugin ${id}: `) && l.includes(text)
  );
}

/** Resolves with `work`'s outcome, or `false` after `ms` (so that no await in `finally` can hang the run). */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      work.then(() => true),
      new Promise<boolean>((r) => timer = setTimeout(() => r(false), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test(
  {
    name:
      "plugins: a hung plugin's host is killed and restarted, the rest keeps logging, no host outlives the monitor",
    ignore,
  },
  async () => {
    const tmp = await Deno.makeTempDir({ prefix: "pr-plugins-" });
    const dir = join(tmp, "logs");
    await Deno.mkdir(join(tmp, "none")); // an empty user plugin folder (a folder named explicitly must exist)
    const t0 = Date.now();
    const child = new Deno.Command(Deno.execPath(), {
      args: cliArgs([
        "run",
        "--log-dir",
        dir,
        "--interval",
        "200",
        "--plugin-dir",
        join(tmp, "none"),
        ...plugin("throws_filter.ts"),
        ...plugin("busy_loop.ts"),
        ...plugin("good.ts"),
      ]),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const monitor = child.pid;
    const out = collect(child.stdout);
    const err = collect(child.stderr);
    // every plugin host the monitor ever started, sampled from the process walk and followed by handle
    const hosts = new Watched();
    const sample = () => childrenOf(monitor).forEach((p) => hosts.track(p));
    const sampler = setInterval(sample, 100);
    const helpers: Helper[] = [];
    let monitorKilled = false;
    const timings: string[] = [];
    const mark = (what: string) => timings.push(`${what} at ${Date.now() - t0} ms`);
    try {
      await waitFor("the 'logging to' line", () => err.text().includes("logging to") || undefined, 60_000);
      mark("logging");
      sample();
      const [first] = await waitFor("the plugin host", () => {
        const c = childrenOf(monitor);
        return c.length === 1 ? c : undefined;
      }, 10_000);
      assert.match(err.text(), /plugin good: ready with tag none/);

      // 1. sockets while the busy plugin hangs: its filter times out, the host is killed and restarted
      const before = await startHelper();
      helpers.push(before);
      await waitFor(
        "the busy plugin's timeout",
        () => pluginLines(err.text(), "busy", "did not finish").length > 0 || undefined,
        30_000,
      );
      mark("busy timed out");
      const [second] = await waitFor("a new plugin host in place of the hung one", () => {
        const c = childrenOf(monitor);
        return c.length === 1 && c[0] !== first ? c : undefined;
      }, 30_000);
      mark("host restarted");
      // child.kill("SIGKILL") is TerminateProcess(handle, 1): the hung host did not exit by itself
      assert.equal(hosts.exitCode(first), 1, `the hung plugin host ${first} was terminated`);
      assert.ok(!walkProcesses().has(first), `the hung plugin host ${first} is gone`);
      await waitFor(
        "the first helper's PR-PORTS lines",
        () => helperInPorts(dir, before.sockets) || undefined,
        15_000,
      );

      // 2. sockets after the restart: the good plugin sees them again
      const after = await startHelper();
      helpers.push(after);
      await waitFor(
        "the second helper's PR-PORTS lines",
        () => helperInPorts(dir, after.sockets) || undefined,
        15_000,
      );
      const wanted = helperPorts(after.sockets).map((p) => `opened ${p}`);
      const goodAlerts = () =>
        linesOf(readLogs(dir).ALERTS).map((l) => JSON.parse(l)).filter((a) => a.plugin === "good");
      await waitFor(
        "the good plugin's alerts for the second helper",
        () => wanted.every((w) => goodAlerts().some((a) => a.message === w)) || undefined,
        30_000,
      );
      mark("good alerts");
      assertHelperPorts(dir, before.sockets);
      assertHelperPorts(dir, after.sockets);

      // the log says it once each, and the host never died on its own
      const stderr = err.text();
      // each timeout of the busy plugin is one line (the circuit breaker tries it again after a pause)
      const busy = pluginLines(stderr, "busy", "did not finish");
      assert.ok(busy.length >= 1, `the busy plugin is reported:\n${stderr}`);
      for (const line of busy) {
        assert.match(
          line,
          /filter did not finish within \d+ ms \(\d+ changes?\); stopped \(plugin host process killed and restarted\), tried again in \d+ s/,
        );
      }
      assert.equal(pluginLines(stderr, "throws", "filter failed: boom").length, 1, stderr);
      assert.doesNotMatch(
        stderr,
        /exited unexpectedly|cannot restart|user plugins disabled|fatal|poll failed/i,
      );
      // the busy plugin is retried after a pause in a host of its own, so besides the host of the others
      // at most one more runs at a time (under wine a retry's host takes seconds to start and stop)
      const running = await waitFor("the plugin hosts", () => {
        const c = childrenOf(monitor);
        return c.length >= 1 && c.length <= 2 ? c : undefined;
      }, 10_000);
      running.forEach((p) => hosts.track(p));
      assert.ok(
        hosts.pids.includes(first) && hosts.pids.includes(second),
        "the hung host, then its replacement",
      );
      for (const pid of hosts.pids.filter((p) => !running.includes(p) && !childrenOf(monitor).includes(p))) {
        assert.equal(hosts.exitCode(pid), 1, `plugin host ${pid} was terminated (none died on its own)`);
      }

      // 3. the monitor dies: its plugin host ends too
      for (const h of helpers.splice(0)) await h.stop();
      child.kill("SIGKILL");
      monitorKilled = true;
      await child.status;
      mark("monitor killed");
      await waitFor("the plugin host to end after the monitor died", () => {
        sample();
        return childrenOf(monitor).length === 0 || undefined;
      }, 20_000);
      mark("host ended");
      // Deno.Command starts the host in a job object that ends it with the monitor (see the module doc):
      // exit code 0 at once, before the end of its stdin matters
      // (a retry host of the busy plugin may have been stopped by the monitor just before, with exit code 1)
      for (const p of running) assert.notEqual(hosts.exitCode(p), null, `plugin host ${p} ended`);
      assert.ok(running.some((p) => hosts.exitCode(p) === 0), "the plugin host ended with the monitor");
      assert.ok(await within(err.done, 10_000), "the monitor's stderr pipe closed (no host holds it)");
      for (const pid of hosts.pids) assert.ok(!walkProcesses().has(pid), `plugin host ${pid} is gone`);
    } finally {
      clearInterval(sampler);
      for (const h of helpers) await h.kill();
      if (!monitorKilled) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await child.status;
      // a host left behind would hold the pipes: kill what is left so that the run can end
      for (const pid of childrenOf(monitor)) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await within(Promise.all([out.done, err.done]), 10_000);
      console.log(
        `plugins test: ${Date.now() - t0} ms (${timings.join(", ")}); plugin hosts ${
          hosts.pids.join(", ")
        }; monitor stderr:\n${err.text().trim()}`,
      );
      hosts.close();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);

for (const how of ["closes the plugin host", "is killed"] as const) {
  Deno.test(
    { name: `plugins: a plugin host with a plugin spinning ends when its monitor ${how}`, ignore },
    async () => {
      const script = new URL("./spinning_monitor.ts", import.meta.url);
      const monitor = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", "--config", join(ROOT, "deno.json"), script.href],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const out = collect(monitor.stdout);
      const err = collect(monitor.stderr);
      const watched = new Watched();
      let host: number | undefined;
      try {
        await waitFor("the spinning monitor's line", () => out.text().includes("\n") || undefined, 60_000);
        assert.equal(JSON.parse(out.text()).pid, monitor.pid);
        [host] = await waitFor("its plugin host", () => {
          const c = childrenOf(monitor.pid);
          return c.length === 1 ? c : undefined;
        }, 10_000);
        assert.ok(watched.track(host));
        const h = host;
        // The plugin was loaded before the line was printed and the batch went out just before it: give the
        // Worker a moment to start spinning (its CPU time cannot be read under wine: see the module doc).
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(watched.exitCode(h), null, "the plugin host runs");
        const t = Date.now();
        if (how === "is killed") {
          monitor.kill("SIGKILL");
          await monitor.status;
        } else {
          await monitor.stdin.close();
          assert.ok(await within(monitor.status, 20_000), `the monitor ended: ${err.text()}`);
          assert.equal((await monitor.status).code, 0, err.text());
        }
        await waitFor("the plugin host to end", () => watched.exitCode(h) !== null || undefined, 15_000);
        const took = Date.now() - t;
        if (how === "is killed") {
          // Deno ends it with its monitor (the job object, see the module doc); exit code 0 either way
          assert.equal(watched.exitCode(h), 0);
        } else {
          // it saw the end of stdin and returned from runPluginHost: 0, where the kill after the close
          // bound (5 s) would have given 1; Deno.exit ended the spinning Worker
          assert.equal(watched.exitCode(h), 0, `the plugin host exited by itself (${out.text()})`);
          // the monitor has ended; its last line may still be on its way through the pipe
          const line = await waitFor("the monitor's close line", () => linesOf(out.text())[1], 5_000);
          const { closeMs } = JSON.parse(line);
          assert.ok(closeMs < 4000, `PluginHost.close() took ${closeMs} ms`);
        }
        assert.deepEqual(childrenOf(monitor.pid), []);
        console.log(
          `spinning plugin host ${h} ended ${took} ms after: its monitor ${how}`,
        );
      } finally {
        try {
          monitor.kill("SIGKILL");
        } catch { /* already gone */ }
        await monitor.status;
        if (host !== undefined && watched.exitCode(host) === null) {
          try {
            Deno.kill(host, "SIGKILL");
          } catch { /* gone */ }
        }
        await within(Promise.all([out.done, err.done]), 10_000);
        watched.close();
        if (err.text().trim()) console.log(`spinning monitor stderr:\n${err.text().trim()}`);
      }
    },
  );
}

Deno.test(
  { name: "plugins: pipeline.close() ends the plugin host through the end of its stdin (no kill)", ignore },
  async () => {
    const lines: string[] = [];
    const before = new Set(childrenOf(Deno.pid));
    const pipeline = await createPipeline({
      builtins: builtinPlugins,
      specs: [{ path: join(testdata, "good.ts"), options: { tag: "w" } }],
      log: (l) => lines.push(l),
    });
    const watched = new Watched();
    let closed = false;
    try {
      const hosts = childrenOf(Deno.pid).filter((p) => !before.has(p));
      assert.equal(hosts.length, 1, `one plugin host: ${hosts}`);
      const [host] = hosts;
      assert.ok(watched.track(host));
      const out = await pipeline.run([change({ localPort: 9 }), listener(8080)]);
      assert.deepEqual(out.changes.map((c) => c.socket.localPort), [8080], "good filtered port 9");
      assert.deepEqual(out.alerts.map((a) => `${a.pluginId} ${a.message}`), ["good opened 8080"]);
      const t = Date.now();
      await pipeline.close();
      closed = true;
      const took = Date.now() - t;
      // close() waits for the host to end; had it not seen the end of stdin it would be killed after the
      // close bound (5 s), with exit code 1
      assert.equal(watched.exitCode(host), 0, `the plugin host ended by itself (close took ${took} ms)`);
      assert.ok(took < 4000, `close took ${took} ms`);
      assert.deepEqual(lines.filter((l) => !l.includes(": loaded from ")), ["plugin good: ready with tag w"]);
      console.log(`pipeline.close() with a plugin host: ${took} ms`);
    } finally {
      if (!closed) await pipeline.close();
      watched.close();
    }
  },
);
