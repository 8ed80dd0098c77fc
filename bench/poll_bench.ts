/**
 * `deno task bench`: the cost of one steady-state poll against peers measured in the same run.
 *
 * For each socket count N (default 1000, 5000, 20000; or the numbers given as arguments) helper
 * processes hold N loopback TCP sockets (N/2 connections, 20 % over ::1; `hold_sockets.ts`). Then, interleaved, each
 * repeated and reported as the median:
 * - `ss -tanp`: the peer a Linux admin would use (a process spawn, a netlink dump, a /proc fd scan);
 * - the floor: a bare netlink sock_diag dump of the same tables (TCP of both families in one request,
 *   udp4, udp6), decoded;
 * - our poll: the Linux collector (tables + owners + process details) + the diff + formatting of the
 *   resulting changes (PR-PORTS lines and JSONL records), exactly what the monitor does per poll.
 * Printed: medians, the ratios poll/ss and poll/floor, the first (cold) poll, and the RSS.
 * Beside it, the monitor's memory at 20 000 and 65 000 sockets, steady and after a mass close
 * (`rss_bench.ts`, in a private network namespace).
 * Then the writer: change events per second through the real log set to disk; the real monitor's CPU
 * at 100 ms and 1 s intervals with 1 000 steady sockets; a soak of 1 000 000 change events through a
 * synthetic collector (RSS and heap at start and end); detection of connections that live 250 ms at a
 * 100 ms interval; event capture (`events_bench.ts`: 200 connections of 5 ms at 1 s, and 1 000
 * connections/s against peers); `query --port` against jq over a generated PR-EVENTS corpus
 * (`query_bench.ts`); and, when the Windows lab is there (root), the Windows snapshot against C.
 *
 * Environment: `BENCH_CPU_SECONDS` (default 60), `BENCH_SOAK_EVENTS` (default 1000000),
 * `BENCH_QUERY_MB` (default 1024), `BENCH_WINDOWS=0` to skip the Windows lab part.
 *
 * @module
 */

import { join } from "node:path";
import { createLinuxCollector } from "../src/platform/linux/collector.ts";
import { SockDiagClient } from "../src/platform/linux/sock_diag_client.ts";
import { EndpointTracker } from "../src/diff/diff.ts";
import { LocalTime } from "../src/log/local_time.ts";
import { portsLine } from "../src/log/classic.ts";
import { eventRecord } from "../src/log/jsonl.ts";
import { LogSet } from "../src/log/log_set.ts";
import type { Change, ProcessInfo, SocketRecord } from "../src/model/types.ts";
import { runtimeFlags } from "../test/helpers.ts";
import { detection, monitorCpu, soak } from "./sections.ts";
import { eventsBench } from "./events_bench.ts";
import { queryBench } from "./query_bench.ts";
import { holdSockets } from "./hold_sockets.ts";
import { rssBench } from "./rss_bench.ts";

const REPEAT = 15;
const counts = Deno.args.length ? Deno.args.map(Number) : [1000, 5000, 20000];
const here = new URL(".", import.meta.url).pathname;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

async function timeSs(): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command("ss", { args: ["-tanp"], stdout: "piped", stderr: "null" }).output();
  const ms = performance.now() - t0;
  if (!out.success) throw new Error("ss -tanp failed");
  return ms;
}

/**
 * Runs the real monitor (`main.ts run`, the compile task's flags) for a while at a 250 ms interval and
 * reads its resident set size from /proc: [current, peak] in MB.
 */
async function monitorRss(seconds = 6): Promise<[string, string]> {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-bench-rss-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...runtimeFlags(),
      join(here, "..", "main.ts"),
      "run",
      "--log-dir",
      dir,
      "--interval",
      "250",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return [(kb("VmRSS") / 1024).toFixed(0), (kb("VmHWM") / 1024).toFixed(0)];
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

function formatChanges(changes: Change[], time: LocalTime): number {
  let bytes = 0;
  for (const c of changes) {
    bytes += eventRecord(c, "bench").length;
    if (c.kind === "opened") bytes += portsLine(time.parts(c.time), c.socket, c.process).length;
  }
  return bytes;
}

console.log(
  `portreporter poll benchmark: ${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cpus, ` +
    `kernel ${Deno.osRelease()}, deno ${Deno.version.deno}; medians of ${REPEAT}`,
);
console.log("");
console.log(
  "| sockets | rows seen | ss -tanp ms | netlink floor ms | our poll ms | poll/ss | poll/floor | cold poll ms | monitor RSS MB (peak) |",
);
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");

const localTime = new LocalTime();
for (const n of counts) {
  const { release } = await holdSockets(n);
  try {
    const collector = createLinuxCollector();
    const tracker = new EndpointTracker();
    let t0 = performance.now();
    let snapshot = await collector.collect();
    formatChanges(tracker.observe(snapshot), localTime);
    const cold = performance.now() - t0;
    const floorClient = new SockDiagClient();
    const ss: number[] = [];
    const floor: number[] = [];
    const poll: number[] = [];
    for (let i = 0; i < 3; i++) formatChanges(tracker.observe(await collector.collect()), localTime); // warm up
    for (let i = 0; i < REPEAT; i++) {
      ss.push(await timeSs());
      t0 = performance.now();
      floorClient.dumpAll([]);
      floor.push(performance.now() - t0);
      t0 = performance.now();
      snapshot = await collector.collect();
      formatChanges(tracker.observe(snapshot), localTime);
      poll.push(performance.now() - t0);
    }
    floorClient.close();
    collector.close();
    const [s, f, p] = [median(ss), median(floor), median(poll)];
    const [rss, peak] = await monitorRss();
    console.log(
      `| ${n} | ${snapshot.sockets.length} | ${s.toFixed(1)} | ${f.toFixed(1)} | ${p.toFixed(1)} | ${
        (p / s).toFixed(2)
      }× | ` +
        `${(p / f).toFixed(2)}× | ${cold.toFixed(0)} | ${rss} (${peak}) |`,
    );
  } finally {
    await release();
  }
}

// The monitor's memory at 20 000 and 65 000 sockets, steady and through a mass close (rss_bench.ts).
console.log("");
await rssBench();

// The writer: synthetic change events through the real log set, to a temporary directory.
const dir = await Deno.makeTempDir({ prefix: "portreporter-bench-" });
try {
  const proc: ProcessInfo = {
    pid: 4242,
    name: "bench",
    path: "/usr/bin/bench",
    user: "bench",
    startTime: 1,
    modules: [],
  };
  const base: SocketRecord = {
    protocol: "tcp",
    family: 4,
    localAddress: "127.0.0.1",
    localPort: 1,
    remoteAddress: "127.0.0.1",
    remotePort: 80,
    state: "ESTABLISHED",
    pid: 4242,
  };
  const set = new LogSet({
    dir,
    host: { computerName: "bench", osName: "bench" },
    localTime,
    maxBytes: 5 * 1024 * 1024,
  });
  set.start({ time: Date.now(), sockets: [], processes: new Map(), warnings: {} });
  const total = 200_000;
  const batch = 1000;
  const t0 = performance.now();
  for (let i = 0; i < total; i += batch) {
    const now = Date.now();
    const changes: Change[] = [];
    for (let j = 0; j < batch; j++) {
      const socket = { ...base, localPort: 1024 + ((i + j) % 60000) };
      changes.push(
        (i + j) % 2
          ? { kind: "closed", time: now, socket, process: proc, firstSeen: now - 5, durationMs: 5 }
          : { kind: "opened", time: now, socket, process: proc, firstSeen: now },
      );
    }
    set.write({ time: now, changes });
  }
  set.close();
  const seconds = (performance.now() - t0) / 1000;
  console.log("");
  console.log(
    `writer: ${total} change events (half opened, half closed) in ${seconds.toFixed(2)} s = ` +
      `${Math.round(total / seconds).toLocaleString("en-US")} events/s, ${set.setCount} sets (5 MB rollover)`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
console.log(`RSS at end: ${mb(Deno.memoryUsage().rss)} MB, heap used ${mb(Deno.memoryUsage().heapUsed)} MB`);

// CPU of the real monitor with about 1 000 steady sockets.
const cpuSeconds = Number(Deno.env.get("BENCH_CPU_SECONDS") ?? 60);
{
  const { release } = await holdSockets(1000);
  try {
    console.log("");
    for (const [interval, target] of [[100, 5], [1000, 0.5]]) {
      const cpu = await monitorCpu(interval, cpuSeconds);
      console.log(
        `cpu: portreporter run --interval ${interval} with 1000 sockets: ${
          cpu.toFixed(2)
        } % of one core over ${cpuSeconds} s ` +
          `(target ≤ ${target} %: ${cpu <= target ? "met" : "NOT met"})`,
      );
    }
  } finally {
    await release();
  }
}

// Memory soak with a synthetic collector.
{
  const total = Number(Deno.env.get("BENCH_SOAK_EVENTS") ?? 1_000_000);
  const r = await soak(total);
  console.log(
    `soak: ${r.events} change events through the monitor loop and log set in ${r.seconds.toFixed(1)} s ` +
      `(${r.sets} sets); RSS ${r.memory.start[0]} → ${r.memory.end[0]} MB, heap ${r.memory.start[1]} → ${
        r.memory.end[1]
      } MB`,
  );
}

// Detection of short-lived connections.
{
  const r = await detection(100, 250, 100);
  console.log(
    `detection: ${r.count} connections living 250 ms, monitor at 100 ms: ${r.opened}/${r.count} opened and ` +
      `${r.closed}/${r.count} closed events in PR-EVENTS (${((r.opened / r.count) * 100).toFixed(0)} %)`,
  );
}

// Event capture: connections shorter than a poll, and the cost at 1 000 connections/s.
console.log("");
for (const line of await eventsBench()) console.log(line);

// Reading the logs back: query --port against jq over the same PR-EVENTS corpus.
console.log("");
await queryBench(Number(Deno.env.get("BENCH_QUERY_MB") ?? 1024));

// The Windows part runs in the wine lab (root, lab built by test/windows/lab/setup.sh).
if (Deno.env.get("BENCH_WINDOWS") !== "0") {
  const lab = Deno.env.get("PORTREPORTER_WINELAB") ?? "/var/cache/portreporter-winelab";
  let ready = false;
  try {
    ready = Deno.uid() === 0 && Deno.statSync(join(lab, ".ready")).isFile;
  } catch { /* no lab */ }
  console.log("");
  if (!ready) {
    console.log(`windows: skipped (needs root and the wine lab at ${lab}; see test/windows/lab/setup.sh)`);
  } else {
    const out = await new Deno.Command("bash", {
      args: [join(here, "windows", "run.sh")],
      stdout: "inherit",
      stderr: "inherit",
    })
      .output();
    if (!out.success) console.log("windows: the lab benchmark failed");
  }
}
