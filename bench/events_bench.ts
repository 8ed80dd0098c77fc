/**
 * The event-capture benchmark (issue targets in brackets), part of `deno task bench`, or alone:
 *
 *     deno run -A bench/events_bench.ts
 *
 * - capture: the real monitor at `--interval 1000`; another process makes 200 connections living
 *   5 ms each, one after another: how many PR-EVENTS shows opened and closed with that process's pid
 *   [200/200], and with a duration within 5 ms of the life the process measured;
 * - load: 1 000 connections/s for `BENCH_EVENTS_SECONDS` (default 20; the issue's figure is for 60):
 *   connections captured with pid [≥ 99.9 %] and the monitor's CPU at `--interval 1000` [≤ 10 % of one
 *   core], against peers under the same load in the same run: the monitor polling at 100 ms without
 *   event capture's help (what it took before), `ss -E` (iproute2's destroy-event listener, printing
 *   each one), and bcc's `tcplife` when installed.
 *
 * Each section prints its numbers; none asserts.
 *
 * @module
 */

import { join } from "node:path";
import { readLogs, ROOT, runtimeFlags } from "../test/helpers.ts";

const here = new URL(".", import.meta.url).pathname;
const CLOCK_TICKS_PER_SECOND = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function cpuTicks(pid: number): Promise<number> {
  const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** The real monitor on a temporary log directory, started and past its first snapshot. */
async function startMonitor(intervalMs: number) {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-bench-events-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...runtimeFlags(),
      join(ROOT, "main.ts"),
      "run",
      "--log-dir",
      dir,
      "--interval",
      String(intervalMs),
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 20_000;
  while (!readLogs(dir).INITIAL && Date.now() < deadline) await sleep(50);
  await sleep(1500); // the first full owner scan is not steady state
  return {
    pid: child.pid,
    events: () =>
      (readLogs(dir).EVENTS ?? "").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line)),
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A listener that accepts and drains every connection (in a child process, so its CPU is not ours). */
function sink() {
  const script = `const l = Deno.listen({hostname: "127.0.0.1", port: 0}); console.log(l.addr.port);
for await (const c of l) c.readable.pipeTo(new WritableStream()).catch(() => {});`;
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "piped" }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  return {
    port: lines.read().then(({ value }) => Number(value!.trim())),
    stop: async () => {
      child.kill("SIGKILL");
      await child.status;
      await lines.cancel().catch(() => {});
    },
  };
}

/** Runs `short_connections.ts`; returns its pid and each connection's local port and measured life. */
async function connections(port: number, count: number, lifeMs: number, perSecond: number) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(here, "short_connections.ts"),
      String(port),
      String(count),
      String(lifeMs),
      String(perSecond),
    ],
    stdout: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).split("\n");
  const pid = Number(lines[0].split(" ")[1]);
  const lives = new Map<number, number>();
  for (const line of lines) {
    const [word, localPort, life] = line.split(" ");
    if (word === "conn") lives.set(Number(localPort), Number(life));
  }
  return { pid, lives };
}

/** 200 connections of 5 ms at `--interval 1000`: captured with pid, durations within 5 ms. */
export async function captureShort(): Promise<string> {
  const monitor = await startMonitor(1000);
  const server = sink();
  try {
    const { pid, lives } = await connections(await server.port, 200, 5, 0);
    await sleep(2500);
    const events = monitor.events().filter((e) => e.protocol === "tcp" && lives.has(e.localPort));
    const withPid = (kind: string) =>
      new Set(events.filter((e) => e.event === kind && e.pid === pid).map((e) => e.localPort));
    const opened = withPid("opened"), closed = withPid("closed");
    const both = [...lives.keys()].filter((p) => opened.has(p) && closed.has(p)).length;
    const durations = events.filter((e) => e.event === "closed" && typeof e.durationMs === "number");
    const within = durations.filter((e) => Math.abs(e.durationMs - lives.get(e.localPort)!) <= 5).length;
    const missed = [...lives.keys()].filter((p) => !(opened.has(p) && closed.has(p)));
    const how = missed.map((p) =>
      events.filter((e) => e.localPort === p).map((e) => `${e.event}:${e.source}:pid ${e.pid}`).join(",") ||
      "absent"
    );
    return `capture: ${lives.size} connections of 5 ms at --interval 1000: ${both}/${lives.size} opened and closed ` +
      `with the connecting pid (target 200/200); ${within}/${lives.size} durations within 5 ms of the life ` +
      `the process measured${missed.length ? ` (missed: ${how.join("; ")})` : ""}`;
  } finally {
    await server.stop();
    await monitor.stop();
  }
}

/** CPU % of one core of `pid` while `load` runs. */
async function cpuDuring(pid: number, load: () => Promise<unknown>): Promise<number> {
  const before = await cpuTicks(pid);
  const t0 = performance.now();
  await load();
  const ticks = (await cpuTicks(pid)) - before;
  return (ticks / CLOCK_TICKS_PER_SECOND) / ((performance.now() - t0) / 1000) * 100;
}

/** A peer command that follows events, measured under the same load; undefined when not installed. */
async function peerCpu(command: string, args: string[], load: () => Promise<unknown>) {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, { args, stdout: "null", stderr: "null" }).spawn();
  } catch {
    return undefined;
  }
  await sleep(1000);
  try {
    return await cpuDuring(child.pid, load);
  } catch {
    return undefined; // it exited (e.g. no privilege)
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }
}

/** 1 000 connections/s: capture rate and CPU, against peers under the same load. */
export async function loadCost(
  seconds = Number(Deno.env.get("BENCH_EVENTS_SECONDS") ?? 20),
): Promise<string[]> {
  const server = sink();
  const port = await server.port;
  const count = 1000 * seconds;
  const load = () => connections(port, count, 0, 1000);
  const lines: string[] = [];
  try {
    const monitor = await startMonitor(1000);
    let result: Awaited<ReturnType<typeof load>> | undefined;
    const cpu = await cpuDuring(monitor.pid, async () => result = await load());
    await sleep(2500);
    const named = new Set(
      monitor.events().filter((e) => e.event === "closed" && e.pid === result!.pid).map((e) => e.localPort),
    );
    const captured = [...result!.lives.keys()].filter((p) => named.has(p)).length;
    await monitor.stop();
    lines.push(
      `load: ${result!.lives.size} connections at 1000/s for ${seconds} s, monitor at --interval 1000: ` +
        `${(captured / result!.lives.size * 100).toFixed(2)} % captured with pid (target ≥ 99.9 %), ` +
        `CPU ${cpu.toFixed(1)} % of one core (target ≤ 10 %)`,
    );
    const poller = await startMonitor(100);
    const pollCpu = await cpuDuring(poller.pid, load);
    await poller.stop();
    lines.push(`  peer: portreporter run --interval 100 under the same load: CPU ${pollCpu.toFixed(1)} %`);
    const ss = await peerCpu("ss", ["-E", "-tn"], load);
    lines.push(
      `  peer: ss -E -tn (destroy events, printed): ${
        ss === undefined ? "not available" : `CPU ${ss.toFixed(1)} %`
      }`,
    );
    const tcplife = await peerCpu("/usr/sbin/tcplife-bpfcc", [], load);
    lines.push(
      `  peer: tcplife-bpfcc: ${tcplife === undefined ? "not installed" : `CPU ${tcplife.toFixed(1)} %`}`,
    );
  } finally {
    await server.stop();
  }
  return lines;
}

if (import.meta.main) {
  console.log(await captureShort());
  for (const line of await loadCost()) console.log(line);
}
