/**
 * The Windows poll benchmark, run by the Windows deno.exe (in the wine lab: `bench/windows/run.sh`):
 * the cost of one warm full snapshot of the Windows collector against the same four table calls made
 * from a small C program (`tables.c`, built with mingw-w64), measured in the same run.
 *
 *   deno run -A --no-config --unstable-net bench/windows/bench.ts [options]
 *     --exe PATH        the built tables.exe (default .tools/winbench/tables.exe in the repository)
 *     --iters M         timed iterations of each subject (default 120)
 *     --block B         iterations per subject before switching to the next (default 5)
 *     --load a,b,c,d    tcp4 pairs, tcp6 pairs, udp4, udp6 held by the load process (default 500,250,250,250)
 *     --target X        the ratio ours/C to meet (default 1.5)
 *     --strict          exit 1 when the target is missed
 *
 * A second deno.exe process (`load.ts`) holds about 2 000 loopback sockets. Then, after warm-up
 * snapshots (so every owner's process details are cached, as in a running monitor), the subjects
 * take turns in blocks of B iterations, the order rotating every round so that noise (the wineserver
 * is shared and single-threaded) hits all of them alike:
 * - ours: `collector.collect()`: four tables (decoded), owners, process details (cached);
 * - tables only: `TableReader.readAll()`: the four tables, decoded;
 * - details only: `ProcessDetails.read()` for the pids of the last snapshot (for the breakdown);
 * - C: `tables.exe --serve`, asked for B iterations of its four calls (timed inside it with
 *   QueryPerformanceCounter, so the pipe round trip is not counted).
 * Prints medians, p95s and minima, the ratios ours/C and tables-only/C, the row counts, and one
 * `RESULT {json}` line. `PR_BENCH_DEBUG=1` traces the progress on stderr.
 *
 * @module
 */

import { createWindowsCollector } from "../../src/platform/windows/collector.ts";
import { ProcessDetails } from "../../src/platform/windows/process.ts";
import { TableReader } from "../../src/platform/windows/tables.ts";
import type { Snapshot } from "../../src/model/types.ts";
import type { LoadReady } from "./load.ts";

/** Summary statistics of one subject, in milliseconds. */
export interface Stats {
  /** Number of samples. */
  n: number;
  /** Median. */
  median: number;
  /** 95th percentile (the sample at index floor(0.95 n) of the sorted samples, as tables.c does). */
  p95: number;
  /** Smallest sample. */
  min: number;
}

/** Median, p95 and minimum of `xs` (ms). */
export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return { n, median: s[Math.floor(n / 2)], p95: s[Math.min(n - 1, Math.floor(n * 0.95))], min: s[0] };
}

/** The fields of one `TABLES` line of tables.exe. */
export interface TablesLine {
  /** Per-iteration times, ms. */
  ms: number[];
  /** Rows seen in the last iteration: tcp4, tcp6, udp4, udp6. */
  rows: number[];
}

/** Parses a `TABLES n=… median_ms=… p95_ms=… rows=a,b,c,d ms=t1,t2,…` line. */
export function parseTablesLine(line: string): TablesLine {
  if (!line.startsWith("TABLES ")) throw new Error(`tables.exe: ${line}`);
  const kv = new Map(line.slice(7).trim().split(" ").map((f) => f.split("=") as [string, string]));
  const list = (k: string) => (kv.get(k) ?? "").split(",").filter((x) => x !== "").map(Number);
  return { ms: list("ms"), rows: list("rows") };
}

/** A line reader over a child's stdout. */
class Lines {
  #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  /** The next line starting with `prefix` (other lines are skipped); throws at end of output. */
  async next(prefix: string, what: string): Promise<string> {
    while (true) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl).replace(/\r$/, "");
        this.#buf = this.#buf.slice(nl + 1);
        if (line.startsWith(prefix)) return line;
        if (line.startsWith("ERROR")) throw new Error(`${what}: ${line}`);
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`${what} ended before printing '${prefix}'`);
      this.#buf += value;
    }
  }
}

function option(name: string, fallback: string): string {
  const i = Deno.args.lastIndexOf(name); // the last one wins: run.sh passes a default first
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const fmt = (x: number) => x.toFixed(2);
const DEBUG = Deno.env.get("PR_BENCH_DEBUG") === "1";
const trace = (msg: string) => DEBUG && console.error(`[bench ${performance.now().toFixed(0)} ms] ${msg}`);

if (import.meta.main) {
  const repo = new URL("../../", import.meta.url);
  const exe = option(
    "--exe",
    new URL(".tools/winbench/tables.exe", repo).pathname.replace(/^\/([A-Za-z]:)/, "$1"),
  );
  const iters = Number(option("--iters", "120"));
  const block = Number(option("--block", "5"));
  const load = option("--load", "500,250,250,250").split(",");
  const target = Number(option("--target", "1.5"));
  const strict = Deno.args.includes("--strict");
  const enc = new TextEncoder();
  if (DEBUG) globalThis.addEventListener("unload", () => trace(`unload, exit code ${Deno.exitCode}`));

  // 1. the socket holder
  let t0 = performance.now();
  const holder = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", "--unstable-net", new URL("./load.ts", import.meta.url).href, ...load],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const holderIn = holder.stdin.getWriter();
  const ready: LoadReady = JSON.parse((await new Lines(holder.stdout).next("ready ", "load.ts")).slice(6));
  const held = ready.tcp4 + ready.tcp6 + ready.udp4 + ready.udp6;
  console.log(
    `load: pid ${ready.pid} holds ${held} sockets ${JSON.stringify(ready)} (opened in ${
      fmt(performance.now() - t0)
    } ms)`,
  );

  let native: Deno.ChildProcess | undefined;
  let nativeIn: WritableStreamDefaultWriter<Uint8Array> | undefined;
  try {
    // 2. the C program, serving iterations on demand
    native = new Deno.Command(exe, { args: ["--serve"], stdin: "piped", stdout: "piped", stderr: "inherit" })
      .spawn();
    const toNative = nativeIn = native.stdin.getWriter();
    const nativeOut = new Lines(native.stdout);
    trace("tables.exe spawned");
    await nativeOut.next("READY", "tables.exe");
    trace("tables.exe ready");

    // 3. warm-up: the first snapshot reads every owner's details; later ones hit the cache
    const collector = createWindowsCollector();
    t0 = performance.now();
    let snap: Snapshot = await collector.collect();
    const cold = performance.now() - t0;
    trace(`cold snapshot ${fmt(cold)} ms`);
    for (let i = 0; i < 3; i++) snap = await collector.collect();
    trace("warm snapshots done");
    const reader = new TableReader();
    for (let i = 0; i < 3; i++) await reader.readAll();
    const details = new ProcessDetails();
    const pids = [...snap.processes.keys()];
    for (let i = 0; i < 2; i++) await details.read(pids);
    const mine = snap.sockets.filter((s) => s.pid === ready.pid).length;
    const owner = snap.processes.get(ready.pid);
    if (mine < held) throw new Error(`the snapshot shows ${mine} of the load's ${held} sockets`);
    if (!owner?.path) throw new Error(`no details for the load process: ${JSON.stringify(owner)}`);

    // 4. interleaved rounds
    const samples: Record<"ours" | "tables" | "details" | "c", number[]> = {
      ours: [],
      tables: [],
      details: [],
      c: [],
    };
    let cRows: number[] = [];
    const subjects: [keyof typeof samples, () => Promise<void>][] = [
      ["ours", async () => {
        for (let i = 0; i < block; i++) {
          const s = performance.now();
          snap = await collector.collect();
          samples.ours.push(performance.now() - s);
        }
      }],
      ["tables", async () => {
        for (let i = 0; i < block; i++) {
          const s = performance.now();
          await reader.readAll();
          samples.tables.push(performance.now() - s);
        }
      }],
      ["details", async () => {
        for (let i = 0; i < block; i++) {
          const s = performance.now();
          await details.read(pids);
          samples.details.push(performance.now() - s);
        }
      }],
      ["c", async () => {
        await toNative.write(enc.encode(`${block}\n`));
        const line = parseTablesLine(await nativeOut.next("TABLES", "tables.exe"));
        samples.c.push(...line.ms);
        cRows = line.rows;
      }],
    ];
    t0 = performance.now();
    const rounds = Math.ceil(iters / block);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < subjects.length; k++) {
        const [name, run] = subjects[(r + k) % subjects.length];
        trace(`round ${r} ${name}`);
        await run();
      }
    }
    const wall = performance.now() - t0;

    // 5. report
    const ours = stats(samples.ours), tables = stats(samples.tables), det = stats(samples.details);
    const c = stats(samples.c);
    const byKind: Record<string, number> = { tcp4: 0, tcp6: 0, udp4: 0, udp6: 0 };
    for (const s of snap.sockets) byKind[`${s.protocol}${s.family}`]++;
    const ratio = ours.median / c.median;
    const line = (name: string, s: Stats) =>
      `  ${name.padEnd(36)} median ${fmt(s.median).padStart(7)} ms   p95 ${fmt(s.p95).padStart(7)} ms   min ${
        fmt(s.min).padStart(7)
      } ms   (n=${s.n})`;
    console.log(
      `rows: ours ${JSON.stringify(byKind)} (${snap.sockets.length}; ${mine} of the load's), ` +
        `C tcp4/tcp6/udp4/udp6 ${cRows.join("/")}; owners ${snap.processes.size}; cold first snapshot ${
          fmt(cold)
        } ms`,
    );
    console.log(`interleaved in blocks of ${block}, ${rounds} rounds, ${fmt(wall / 1000)} s:`);
    console.log(line("ours: collector.collect() (warm)", ours));
    console.log(line("tables only: TableReader.readAll()", tables));
    console.log(line("details only: ProcessDetails.read()", det));
    console.log(line("C: tables.exe, the four calls", c));
    const r = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    console.log(
      `ratio ours/C: median ${r(ours.median, c.median)}, p95 ${r(ours.p95, c.p95)}, min ${
        r(ours.min, c.min)
      }; ` +
        `tables only/C: median ${r(tables.median, c.median)}, p95 ${r(tables.p95, c.p95)}, min ${
          r(tables.min, c.min)
        }`,
    );
    const met = ratio <= target;
    console.log(`target (ours median <= ${target}x C median): ${met ? "MET" : "MISSED"}`);
    console.log(`RESULT ${
      JSON.stringify({
        sockets: snap.sockets.length,
        byKind,
        held,
        cRows,
        owners: snap.processes.size,
        iters,
        block,
        ours,
        tablesOnly: tables,
        detailsOnly: det,
        c,
        ratio,
        tablesRatio: tables.median / c.median,
        target,
        met,
      })
    }`);
    collector.close();
    details.close();
    if (strict && !met) Deno.exitCode = 1;
  } finally {
    await nativeIn?.write(enc.encode("q\n")).catch(() => {});
    await nativeIn?.close().catch(() => {});
    await holderIn.close().catch(() => {});
    await Promise.all([native?.status, holder.status]);
  }
}
