/**
 * `portreporter query --port P` against `jq -c 'select(.localPort==P or .remotePort==P)'` (Debian's
 * jq) over the same generated PR-EVENTS corpus, in one run: throughput of each, the ratio (issue
 * target: ours ≥ 3× jq's), that both find the same number of rows, and our peak RSS (VmHWM, from
 * GNU time). The corpus is written through the real JSONL formatter in 5 MB sets.
 *
 * Run alone: `deno run -A bench/query_bench.ts [MB]` (default 1024, or BENCH_QUERY_MB).
 *
 * @module
 */

import { join } from "node:path";
import { eventRecord } from "../src/log/jsonl.ts";
import { formatStamp, logFileName } from "../src/log/file_names.ts";
import type { Change, ChangeKind, ProcessInfo } from "../src/model/types.ts";
import { ROOT, runtimeFlags } from "../test/helpers.ts";

const NAMES = ["sshd", "nginx", "postgres", "python3", "svchost.exe", "chrome", "curl", "systemd-resolved"];

/** Writes about `mb` MB of PR-EVENTS in 5 MB files; returns the number of lines and the lines naming `port`. */
export async function writeCorpus(
  dir: string,
  mb: number,
  port: number,
): Promise<{ lines: number; matching: number }> {
  const encoder = new TextEncoder();
  let t = Date.parse("2026-11-01T00:00:00Z");
  let lines = 0;
  let matching = 0;
  let written = 0;
  const processes: ProcessInfo[] = NAMES.map((name, i) => ({
    pid: 1000 + i,
    name,
    path: `/usr/bin/${name}`,
    commandLine: `/usr/bin/${name} --config /etc/${name}/${name}.conf --worker ${i}`,
    user: i % 3 ? "www-data" : "root",
    parentPid: 1,
    parentName: "systemd",
    startTime: t - 3_600_000,
  }));
  let seed = 12345;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  while (written < mb * 1024 * 1024) {
    const d = new Date(t);
    const stamp = formatStamp({
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    });
    const file = await Deno.open(join(dir, logFileName("EVENTS", stamp)), { write: true, create: true });
    let size = 0;
    let chunk = "";
    while (size < 5 * 1024 * 1024) {
      const p = processes[rand(processes.length)];
      const local = rand(100) === 0 ? port : 1024 + rand(60000);
      const remote = rand(200) === 0 ? port : 30000 + rand(30000);
      const kind: ChangeKind = (["opened", "closed", "changed"] as const)[rand(3)];
      const change: Change = {
        kind,
        time: t,
        firstSeen: t - rand(60_000),
        socket: {
          protocol: "tcp",
          family: 4,
          localAddress: "10.0.0.5",
          localPort: local,
          remoteAddress: `192.168.${rand(256)}.${rand(256)}`,
          remotePort: remote,
          state: "ESTABLISHED",
          pid: p.pid,
        },
        process: p,
        durationMs: kind === "closed" ? rand(60_000) : undefined,
        previousState: kind === "changed" ? "SYN_SENT" : undefined,
      };
      const line = eventRecord(change, "benchhost") + "\n";
      chunk += line;
      size += line.length;
      lines++;
      if (local === port || remote === port) matching++;
      t += 7;
      if (chunk.length > 1 << 20) {
        await file.write(encoder.encode(chunk));
        chunk = "";
      }
    }
    await file.write(encoder.encode(chunk));
    file.close();
    written += size;
    t += 1000;
  }
  return { lines, matching };
}

/** Runs a command under GNU time; returns wall and CPU seconds, peak RSS (MB) and how many lines it printed. */
async function timed(
  args: string[],
): Promise<{ seconds: number; cpu: number; rssMb: number; lines: number }> {
  const t0 = performance.now();
  const child = new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M %U %S", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const stderr = new Response(child.stderr).text();
  let lines = 0;
  for await (const chunk of child.stdout) for (const b of chunk) if (b === 10) lines++;
  const status = await child.status;
  const seconds = (performance.now() - t0) / 1000;
  const last = (await stderr).trim().split("\n").pop() ?? "";
  if (!status.success) throw new Error(`${args[0]} failed: ${last}`);
  const [rss, user, sys] = last.split(" ").map(Number);
  return { seconds, cpu: user + sys, rssMb: Math.round(rss / 1024), lines };
}

/** Runs the comparison over about `mb` MB; prints its lines. */
export async function queryBench(mb: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-query-bench-" });
  const port = 8000;
  try {
    const g0 = performance.now();
    const corpus = await writeCorpus(dir, mb, port);
    const files = [...Deno.readDirSync(dir)].map((e) => join(dir, e.name)).sort();
    const bytes = files.reduce((n, f) => n + Deno.statSync(f).size, 0);
    console.log(
      `query corpus: ${(bytes / 1024 / 1024).toFixed(0)} MB in ${files.length} PR-EVENTS files, ` +
        `${corpus.lines.toLocaleString("en-US")} lines, ${
          corpus.matching.toLocaleString("en-US")
        } naming port ${port} ` +
        `(written in ${((performance.now() - g0) / 1000).toFixed(0)} s)`,
    );
    const jq = await timed(["jq", "-c", `select(.localPort==${port} or .remotePort==${port})`, ...files]);
    const ours = await timed([
      Deno.execPath(),
      "run",
      ...runtimeFlags(),
      join(ROOT, "main.ts"),
      "query",
      "--log-dir",
      dir,
      "--port",
      String(port),
      "--format",
      "jsonl",
    ]);
    const mbps = (s: number) => (bytes / 1024 / 1024 / s).toFixed(0);
    const ratio = jq.seconds / ours.seconds;
    console.log(
      `query --port ${port}: ${ours.seconds.toFixed(1)} s wall, ${ours.cpu.toFixed(1)} s CPU (${
        mbps(ours.seconds)
      } MB/s), ` +
        `${ours.lines} rows, peak RSS ${ours.rssMb} MB; jq: ${jq.seconds.toFixed(1)} s wall, ${
          jq.cpu.toFixed(1)
        } s CPU ` +
        `(${mbps(jq.seconds)} MB/s), ${jq.lines} rows; throughput ${ratio.toFixed(1)}× jq by wall time, ` +
        `${(jq.cpu / ours.cpu).toFixed(1)}× by CPU time (target ≥ 3×: ${ratio >= 3 ? "met" : "NOT met"})` +
        `${ours.lines === jq.lines && jq.lines === corpus.matching ? "" : "; ROW COUNTS DIFFER"}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await queryBench(Number(Deno.args[0] ?? Deno.env.get("BENCH_QUERY_MB") ?? 1024));
