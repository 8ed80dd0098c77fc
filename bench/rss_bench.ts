/**
 * The monitor's memory at scale (issue targets in brackets), part of `deno task bench`, or alone:
 *
 *     deno run -A bench/rss_bench.ts [sockets ...]
 *
 * For 20 000 and 65 000 loopback TCP sockets (or the counts given), held by `hold_sockets.ts`, the real
 * monitor (`main.ts run` with the compile task's V8 flags, `--interval 250`, event capture on as root)
 * runs for several polls; then every holder is killed at once, a burst of closes that comes in as
 * destroy notifications and tracepoint samples and goes out as `closed` records. Printed per count:
 * the steady resident set (VmRSS), the peak before the close (VmHWM: the first full scan), the
 * resident set and the peak once every close has been logged [≤ 100 MB at 20 000, ≤ 150 MB at
 * 65 000]; how many `closed` records PR-EVENTS holds for the held sockets and for how many distinct
 * endpoints (an endpoint closed twice shows as more records than endpoints), with the capture's
 * received / dropped counts from the stop summary; the time of one poll (collector and diff, median,
 * measured in this process before the monitor starts: its CPU cost); and the monitor's CPU at rest
 * (% of one core at `--interval 250`).
 *
 * It runs in a private network namespace (`unshare -n`, root): the sockets, the monitor and its
 * destroy notifications are then only the benchmark's (another process's connections on the host
 * would add to the figures), and the namespace's ephemeral port range can be widened without
 * touching the host's. Without root it prints that it was skipped.
 *
 * @module
 */

import { join } from "node:path";
import { ROOT, runtimeFlags } from "../test/helpers.ts";
import { createLinuxCollector } from "../src/platform/linux/collector.ts";
import { EndpointTracker } from "../src/diff/diff.ts";
import { holdSockets } from "./hold_sockets.ts";

/** RSS targets of the issue, MB, by socket count. */
export const RSS_TARGETS_MB: Record<number, number> = { 20000: 100, 65000: 150 };
/** Default socket counts. */
export const RSS_COUNTS = [20_000, 65_000];

const INTERVAL_MS = 250;
/** Steady polls are counted after this warm-up (the first full scan and what it leaves to collect). */
const WARMUP_MS = 6_000;
/** CPU is measured over this many ms of steady polls. */
const CPU_WINDOW_MS = 8_000;
/** The burst counts as logged once every held socket has its `closed` and the count stays for this long. */
const QUIET_MS = 2_000;
/** Short of every `closed`, the burst counts as over when the count has not moved for this long. */
const STALLED_MS = 20_000;
/** Longest wait for the burst to be logged. */
const BURST_TIMEOUT_MS = 180_000;
const CLOCK_TICKS_PER_SECOND = 100;
const INSIDE_FLAG = "--in-namespace";
const here = new URL(".", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resident set and its peak of a process, MB (VmRSS, VmHWM). */
export function parseVmStatus(status: string): { rss: number; peak: number } {
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** Received / dropped counts of the event capture from the monitor's stop summary line. */
export function parseEventCounts(stderr: string): { received: number; dropped: number } | undefined {
  const m = /events (\d+) received, (\d+) dropped/.exec(stderr);
  return m ? { received: Number(m[1]), dropped: Number(m[2]) } : undefined;
}

/** `65 MB [<= 150 MB: met]` style cell; judged on the whole MB shown. */
export function targetCell(mb: number, target: number | undefined): string {
  const shown = Math.round(mb);
  return target === undefined
    ? `${shown} MB`
    : `${shown} MB [<= ${target} MB: ${shown <= target ? "met" : "NOT met"}]`;
}

function vm(pid: number) {
  return parseVmStatus(Deno.readTextFileSync(`/proc/${pid}/status`));
}

function cpuTicks(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function eventFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("PR-EVENTS-")).map((e) =>
    join(dir, e.name)
  );
}

/** Cheap count of `closed` records in every PR-EVENTS file of `dir` (no parsing). */
function countClosed(dir: string): number {
  const needle = '"event":"closed"';
  let count = 0;
  for (const file of eventFiles(dir)) {
    const text = Deno.readTextFileSync(file);
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) count++;
  }
  return count;
}

/**
 * `closed` records of sockets to or from one of `ports` (the held connections and the listeners), and
 * how many distinct endpoints they name (fewer when an endpoint was reported closed twice).
 */
function closedOfPorts(dir: string, ports: Set<number>): { records: number; endpoints: number } {
  let records = 0;
  const endpoints = new Set<string>();
  for (const file of eventFiles(dir)) {
    for (const line of Deno.readTextFileSync(file).split("\n")) {
      if (!line.includes('"event":"closed"')) continue;
      const r = JSON.parse(line);
      if (r.protocol !== "tcp" || !(ports.has(r.localPort) || ports.has(r.remotePort))) continue;
      records++;
      endpoints.add(`${r.family} ${r.localAddress} ${r.localPort} ${r.remoteAddress} ${r.remotePort}`);
    }
  }
  return { records, endpoints: endpoints.size };
}

/** Median wall time of one poll (collector, diff) in this process, ms: the poll's CPU cost. */
async function pollMs(rounds = 7): Promise<number> {
  const collector = createLinuxCollector();
  const tracker = new EndpointTracker();
  try {
    tracker.observe(await collector.collect());
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      tracker.observe(await collector.collect());
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[Math.floor(rounds / 2)];
  } finally {
    collector.close();
  }
}

/** Starts the real monitor on `dir`; its stderr (the stop summary) is collected. */
function startMonitor(dir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...runtimeFlags(),
      join(ROOT, "main.ts"),
      "run",
      "--log-dir",
      dir,
      "--interval",
      String(INTERVAL_MS),
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  return { child, stderr: new Response(child.stderr).text() };
}

/**
 * Waits until PR-EVENTS holds at least `expected` more `closed` records than `before` and their
 * count has not moved for {@link QUIET_MS} (or, short of that, has not moved for
 * {@link STALLED_MS}: some were lost); returns the count and when it last moved.
 */
async function awaitLogged(
  dir: string,
  t0: number,
  before: number,
  expected: number,
): Promise<{ count: number; seconds: number }> {
  let count = countClosed(dir);
  let movedAt = performance.now();
  for (;;) {
    const quiet = performance.now() - movedAt;
    if (count - before >= expected && quiet >= QUIET_MS) break;
    if (quiet >= STALLED_MS || performance.now() - t0 >= BURST_TIMEOUT_MS) break;
    await sleep(500);
    const now = countClosed(dir);
    if (now !== count) [count, movedAt] = [now, performance.now()];
  }
  return { count, seconds: (movedAt - t0) / 1000 };
}

/** One row: the monitor over `sockets` held sockets, steady then through their mass close. */
async function measure(sockets: number): Promise<string> {
  const held = await holdSockets(sockets);
  let released = false;
  const dir = await Deno.makeTempDir({ prefix: "portreporter-bench-rss-" });
  const poll = await pollMs();
  const { child, stderr } = startMonitor(dir);
  try {
    await sleep(WARMUP_MS);
    const ticks0 = cpuTicks(child.pid);
    await sleep(CPU_WINDOW_MS);
    const cpu = (cpuTicks(child.pid) - ticks0) / CLOCK_TICKS_PER_SECOND / (CPU_WINDOW_MS / 1000) * 100;
    const steady = vm(child.pid);
    const before = countClosed(dir);
    const t0 = performance.now();
    await held.release();
    released = true;
    const burst = await awaitLogged(dir, t0, before, sockets);
    const after = vm(child.pid);
    child.kill("SIGTERM");
    await child.status;
    const events = parseEventCounts(await stderr);
    const logged = closedOfPorts(dir, new Set(held.ports));
    const target = RSS_TARGETS_MB[sockets];
    return `| ${sockets} | ${targetCell(steady.rss, target)} | ${steady.peak.toFixed(0)} MB | ` +
      `${targetCell(after.rss, target)} | ${targetCell(after.peak, target)} | ` +
      `${logged.records} for ${logged.endpoints} of ${sockets} held (${burst.count - before} in all, ` +
      `${burst.seconds.toFixed(1)} s) | ${events ? `${events.received} / ${events.dropped}` : "?"} | ` +
      `${poll.toFixed(0)} | ${cpu.toFixed(0)} % |`;
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* stopped */ }
    await child.status;
    if (!released) await held.release();
    if (Deno.env.get("BENCH_KEEP")) console.log(`kept ${dir}`);
    else await Deno.remove(dir, { recursive: true });
  }
}

/** Prints the table header and one row per count; runs inside the private network namespace. */
async function measureAll(counts: number[]): Promise<void> {
  console.log(
    `| sockets | steady RSS | peak before close | RSS after mass close | peak after mass close | ` +
      `closed records logged (burst) | events received / dropped | poll ms | monitor CPU at rest |`,
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const n of counts) console.log(await measure(n));
}

/**
 * The memory benchmark: re-runs this module in a private network namespace (root) and prints its
 * table (see the module description). Returns false when it could not run.
 */
export async function rssBench(counts: number[] = RSS_COUNTS): Promise<boolean> {
  console.log(
    `monitor memory at scale (--interval ${INTERVAL_MS}, event capture on; a private network namespace):`,
  );
  if (Deno.uid() !== 0) {
    console.log("rss: skipped (needs root: a private network namespace and the event sources)");
    return false;
  }
  // The namespace's own port range is widened so that 32 500 connections find ephemeral ports.
  const script = 'ip link set lo up && echo "1024 65535" > /proc/sys/net/ipv4/ip_local_port_range && ' +
    'exec "$@"';
  const out = await new Deno.Command("unshare", {
    args: [
      "--net",
      "--",
      "sh",
      "-c",
      script,
      "sh",
      Deno.execPath(),
      "run",
      "-A",
      join(here, "rss_bench.ts"),
      INSIDE_FLAG,
      ...counts.map(String),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) console.log("rss: the namespace run failed");
  return out.success;
}

if (import.meta.main) {
  if (Deno.args[0] === INSIDE_FLAG) {
    await measureAll(Deno.args.slice(1).map(Number));
  } else {
    const counts = Deno.args.length ? Deno.args.map(Number) : RSS_COUNTS;
    if (!await rssBench(counts)) Deno.exitCode = 1;
  }
}
