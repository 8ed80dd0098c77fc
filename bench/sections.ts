/**
 * The benchmark sections beyond the poll table (issue targets in brackets): CPU of the real monitor at
 * 100 ms and 1 s (≤ 5 % / ≤ 0.5 % of one core), a memory soak of 1 000 000 change events through a
 * synthetic collector (no growth), and detection of connections living 250 ms at a 100 ms interval
 * (100 % seen). Each prints its numbers; none asserts.
 *
 * @module
 */

import { join } from "node:path";
import { runMonitor } from "../src/monitor/monitor.ts";
import { LogSet } from "../src/log/log_set.ts";
import { LocalTime } from "../src/log/local_time.ts";
import type { Collector, ProcessInfo, Snapshot, SocketRecord } from "../src/model/types.ts";
import { readLogs, ROOT, runtimeFlags } from "../test/helpers.ts";

const CLOCK_TICKS_PER_SECOND = 100;

/** Starts the real monitor (`main.ts run`, the compile task's flags) on a temporary log directory. */
async function startMonitor(intervalMs: number) {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-bench-" });
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
  const stop = async () => {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  return { child, dir, stop };
}

/** CPU ticks (user + system) of a process so far. */
async function cpuTicks(pid: number): Promise<number> {
  const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU of the monitor over `seconds`, after a warm-up, as a percentage of one core. */
export async function monitorCpu(intervalMs: number, seconds: number): Promise<number> {
  const monitor = await startMonitor(intervalMs);
  try {
    await new Promise((r) => setTimeout(r, 3000)); // start-up and the first full scan are not steady state
    const before = await cpuTicks(monitor.child.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const ticks = (await cpuTicks(monitor.child.pid)) - before;
    return (ticks / CLOCK_TICKS_PER_SECOND) / ((performance.now() - t0) / 1000) * 100;
  } finally {
    await monitor.stop();
  }
}

/**
 * The soak: a synthetic collector opens and closes `perPoll` sockets every poll until `total` change
 * events went through the real monitor loop and log set (on disk, 5 MB rollover). Returns RSS and heap
 * (MB) after the first 5 % and at the end.
 */
export async function soak(total: number, perPoll = 1000) {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-soak-" });
  const proc: ProcessInfo = { pid: 4242, name: "soak", path: "/usr/bin/soak", user: "bench", startTime: 1 };
  const base: SocketRecord = {
    protocol: "tcp",
    family: 4,
    localAddress: "127.0.0.1",
    localPort: 0,
    remoteAddress: "127.0.0.1",
    remotePort: 443,
    state: "ESTABLISHED",
    pid: 4242,
  };
  let now = Date.now();
  let poll = 0;
  let events = 0;
  const controller = new AbortController();
  const memory = { start: [0, 0], end: [0, 0] };
  const mb = (b: number) => Math.round(b / 1048576);
  const collector: Collector = {
    collect(): Promise<Snapshot> {
      poll++;
      const offset = (poll % 2) * perPoll; // alternate two disjoint port ranges: perPoll opens + perPoll closes
      const sockets = Array.from({ length: perPoll }, (_, i) => ({ ...base, localPort: 10000 + offset + i }));
      if (poll > 1) events += poll === 2 ? perPoll * 2 : perPoll * 2;
      if (events >= total * 0.05 && memory.start[0] === 0) {
        const m = Deno.memoryUsage();
        memory.start = [mb(m.rss), mb(m.heapUsed)];
      }
      if (events >= total) controller.abort();
      now += 100;
      return Promise.resolve({ time: now, sockets, processes: new Map([[4242, proc]]), warnings: {} });
    },
    hostInfo: () => ({ computerName: "soak", osName: "soak" }),
    close() {},
  };
  const t0 = performance.now();
  try {
    const logSet = new LogSet({ dir, host: collector.hostInfo(), localTime: new LocalTime("UTC") });
    const stats = await runMonitor({
      collector,
      logSet,
      clock: { now: () => now },
      monotonic: { now: () => now },
      intervalMs: 100,
      signal: controller.signal,
      log: () => {},
      sleep: () => Promise.resolve(),
    });
    const m = Deno.memoryUsage();
    memory.end = [mb(m.rss), mb(m.heapUsed)];
    return { events: stats.changes, seconds: (performance.now() - t0) / 1000, memory, sets: logSet.setCount };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Detection: the real monitor at `intervalMs`; this process opens `count` loopback connections, each
 * living `lifeMs`, a few at a time; returns how many of them the JSONL stream shows opened and closed.
 */
export async function detection(count: number, lifeMs: number, intervalMs: number) {
  const monitor = await startMonitor(intervalMs);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  (async () => {
    for await (const c of listener) accepted.push(c);
  })();
  try {
    const deadline = Date.now() + 20_000;
    while (!readLogs(monitor.dir).INITIAL && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const ports: number[] = [];
    for (let i = 0; i < count; i += 5) {
      const conns = await Promise.all(
        Array.from(
          { length: Math.min(5, count - i) },
          () => Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port }),
        ),
      );
      ports.push(...conns.map((c) => (c.localAddr as Deno.NetAddr).port));
      await new Promise((r) => setTimeout(r, lifeMs));
      for (const c of conns) c.close();
      await new Promise((r) => setTimeout(r, 37)); // a little phase drift between batches and polls
    }
    await new Promise((r) => setTimeout(r, intervalMs * 5));
    const events = (readLogs(monitor.dir).EVENTS ?? "").trim().split("\n").filter(Boolean).map((l) =>
      JSON.parse(l)
    );
    const opened = new Set(
      events.filter((e) => e.event === "opened" && e.pid === Deno.pid).map((e) => e.localPort),
    );
    const closed = new Set(
      events.filter((e) => e.event === "closed" && e.pid === Deno.pid).map((e) => e.localPort),
    );
    return {
      count,
      opened: ports.filter((p) => opened.has(p)).length,
      closed: ports.filter((p) => closed.has(p)).length,
    };
  } finally {
    listener.close();
    for (const c of accepted) c.close();
    await monitor.stop();
  }
}
