/**
 * `portreporter report` over a large generated log directory (issue target: 1 GB of PR-EVENTS in
 * <= 60 s with <= 300 MB RSS). The corpus is written with the monitor's own record formatter
 * (src/read/report/corpus_test_util.ts); the report runs as the real CLI (`main.ts report`, the
 * compile task's flags) and its peak RSS is its own VmHWM, sampled from /proc every 50 ms. As a peer
 * measured in the same run, `cat` of the same files to /dev/null gives the read floor. Prints its
 * numbers; does not assert.
 *
 * `REPORT_BENCH_MB` sets the corpus size (default 1024).
 *
 * @module
 */

import { join } from "node:path";
import { writeCorpus } from "../src/read/report/corpus_test_util.ts";
import { ROOT, runtimeFlags } from "../test/helpers.ts";

const targetMb = Number(Deno.env.get("REPORT_BENCH_MB") ?? 1024);
const dir = Deno.makeTempDirSync({ prefix: "portreporter-report-bench-" });

function dirBytes(d: string): number {
  let n = 0;
  for (const e of Deno.readDirSync(d)) n += Deno.statSync(join(d, e.name)).size;
  return n;
}

/** User + system CPU seconds of a live process (from /proc/<pid>/stat, 10 ms ticks). */
function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function timed(
  cmd: string,
  args: string[],
): Promise<{ seconds: number; cpu: number; peak: number; code: number }> {
  const start = performance.now();
  const child = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).spawn();
  let peak = 0;
  let cpu = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, peakRss(child.pid));
    cpu = Math.max(cpu, cpuSeconds(child.pid));
  }, 50);
  const out = await child.output();
  clearInterval(timer);
  if (out.code !== 0) console.error(new TextDecoder().decode(out.stderr));
  return { seconds: (performance.now() - start) / 1000, cpu, peak, code: out.code };
}

try {
  const genStart = performance.now();
  const perSet = 50_000; // ~100 000 records, ~50 MB per set
  let start = Date.parse("2026-11-01T00:00:00Z");
  let sets = 0;
  while (dirBytes(dir) < targetMb * 1e6) {
    const sub = Deno.makeTempDirSync({ dir, prefix: "gen-" });
    writeCorpus(sub, { sets: 1, connections: perSet, start });
    for (const e of Deno.readDirSync(sub)) Deno.renameSync(join(sub, e.name), join(dir, e.name));
    Deno.removeSync(sub);
    start += 86_400_000;
    sets++;
  }
  const bytes = dirBytes(dir);
  console.log(
    `corpus: ${(bytes / 1e6).toFixed(0)} MB of PR-EVENTS in ${sets} sets, written in ${
      ((performance.now() - genStart) / 1000).toFixed(1)
    } s`,
  );
  const files = [...Deno.readDirSync(dir)].map((e) => join(dir, e.name));
  const floor = await timed("cat", files);
  const out = join(Deno.makeTempDirSync(), "report.html");
  const report = await timed(Deno.execPath(), [
    "run",
    ...runtimeFlags(),
    join(ROOT, "main.ts"),
    "report",
    "--log-dir",
    dir,
    "--out",
    out,
  ]);
  const mbps = (s: number) => (bytes / 1e6 / s).toFixed(0);
  console.log(`| measure | result | target |`);
  console.log(`| --- | --- | --- |`);
  console.log(
    `| report over ${(bytes / 1e6).toFixed(0)} MB: wall time | ${report.seconds.toFixed(1)} s (${
      mbps(report.seconds)
    } MB/s) | <= 60 s per GB |`,
  );
  console.log(
    `| report: CPU time (user + system) | ${report.cpu.toFixed(1)} s (${mbps(report.cpu)} MB/s) | |`,
  );
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  console.log(
    `| machine load during the run (1-min load average, ${navigator.hardwareConcurrency} cores) | ${load} | |`,
  );
  console.log(`| report: peak RSS | ${(report.peak / 1e6).toFixed(0)} MB | <= 300 MB |`);
  console.log(
    `| read floor (cat to /dev/null) | ${floor.seconds.toFixed(1)} s (${
      mbps(floor.seconds)
    } MB/s); report / floor ${(report.seconds / floor.seconds).toFixed(1)}x | |`,
  );
  console.log(`| report file | ${(Deno.statSync(out).size / 1e6).toFixed(2)} MB | |`);
  Deno.removeSync(out);
} finally {
  Deno.removeSync(dir, { recursive: true });
}
