/**
 * The event-capture benchmark (issue targets in brackets), part of `deno task bench`, or alone (root):
 *
 *     deno run -A bench/events_bench.ts
 *
 * Each section runs in its own private network namespace (`unshare -n`, loopback up, ephemeral ports
 * 1024–65535, not reused while in TIME_WAIT), with the monitor, the listener and the load inside it: other traffic of the host is
 * not in the monitor's tables, and the connections of one section leave no TIME_WAIT behind for the
 * next. (The tracepoint still sees every namespace: other traffic of the host still costs its share.)
 *
 * - capture: the real monitor at `--interval 1000`; another process makes 200 connections living
 *   5 ms each, one after another: how many PR-EVENTS shows opened and closed with that process's pid
 *   [200/200], and with a duration within 5 ms of the life the process measured;
 * - load: 1 000 connections/s for `BENCH_EVENTS_SECONDS` (default 60): connections captured with pid
 *   [≥ 99.9 %] and the monitor's CPU at `--interval 1000` [≤ 10 % of one core], against peers under
 *   the same load, each in a namespace of its own: the monitor at `--interval 100` (what it took
 *   before event capture), `ss -E` (iproute2's destroy-event listener, printing each one), and bcc's
 *   `tcplife` when installed;
 * - rest: the monitor at `--interval 1000` with 1 000 steady sockets for `BENCH_CPU_SECONDS`
 *   (default 60) [≤ 0.5 % of one core].
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
const SECTION_FLAG = "--in-namespace";
/** Destinations the load is spread over (local ports are per destination). */
const LOAD_ADDRESSES = 8;

async function cpuTicks(pid: number): Promise<number> {
  const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU % of one core of `pid` while `load` runs. */
async function cpuDuring(pid: number, load: () => Promise<unknown>): Promise<number> {
  const before = await cpuTicks(pid);
  const t0 = performance.now();
  await load();
  const ticks = (await cpuTicks(pid)) - before;
  return (ticks / CLOCK_TICKS_PER_SECOND) / ((performance.now() - t0) / 1000) * 100;
}

/** Runs `section` of this file in a new network namespace; returns the lines it printed. */
async function inNamespace(section: string, ...args: string[]): Promise<string[]> {
  const setup = 'ip link set lo up && sysctl -qw net.ipv4.ip_local_port_range="1024 65535" ' +
    "net.ipv4.tcp_tw_reuse=0 && " + // one local port per connection: 64 512 ports for 60 000 of them
    `exec "$0" run -A "$1" ${SECTION_FLAG} "$2" "$3"`;
  const out = await new Deno.Command("unshare", {
    args: ["-n", "sh", "-c", setup, Deno.execPath(), join(here, "events_bench.ts"), section, args.join(",")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    return [`${section}: not run (${why || `exit ${out.code}`}; root and unshare are needed)`];
  }
  return text.split("\n");
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
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const deadline = Date.now() + 20_000;
  while (!readLogs(dir).INITIAL && Date.now() < deadline) await sleep(50);
  await sleep(1500); // the first full owner scan is not steady state
  return {
    pid: child.pid,
    events: () =>
      (readLogs(dir).EVENTS ?? "").trim().split("\n").filter(Boolean).map((line) => JSON.parse(line)),
    /** Stops it; returns what its summary says of the events (`N received, N dropped, N merged`). */
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
      return /events (\d+ received, \d+ dropped, \d+ merged)/.exec(await stderr)?.[1] ?? "no event counts";
    },
  };
}

/** A listener that accepts, drains and closes every connection (in a child process, so its CPU is not ours). */
function sink() {
  const script = `const l = Deno.listen({hostname: "0.0.0.0", port: 0}); console.log(l.addr.port);
const b = new Uint8Array(256);
for await (const c of l) (async () => { // read to the end, then close: no CLOSE_WAIT piles up
  try { while ((await c.read(b)) !== null); } catch { /* reset */ }
  try { c.close(); } catch { /* closed */ }
})();`;
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

/** A connection of the load as a PR-EVENTS record names it: the address it went to, its local port. */
const connectionKey = (e: Record<string, unknown>) => `${e.remoteAddress} ${e.localPort}`;

/** Runs `short_connections.ts`; returns its pid, each connection's local port and measured life, and failures. */
async function connections(port: number, count: number, lifeMs: number, perSecond: number, spread = 1) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(here, "short_connections.ts"),
      ...[port, count, lifeMs, perSecond, spread].map(String),
    ],
    stdout: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).split("\n");
  const pid = Number(lines[0].split(" ")[1]);
  const lives = new Map<string, number>(); // by connectionKey
  const reasons: string[] = [];
  let made = 0;
  for (const line of lines) {
    const [word, localPort, life, address] = line.split(" ");
    if (word === "conn") made++, lives.set(`${address} ${localPort}`, Number(life));
    if (word === "fail") reasons.push(line.slice("fail ".length));
  }
  const problems = [
    ...(count > made ? [`${count - made} failed to connect: ${reasons.join(", ")}`] : []),
    ...(made > lives.size ? [`${made - lives.size} connections used a port twice, counted once`] : []),
  ];
  return { pid, lives, failed: problems.join("; ") };
}

/** 200 connections of 5 ms at `--interval 1000`: captured with pid, durations within 5 ms. */
async function captureSection(): Promise<string[]> {
  const monitor = await startMonitor(1000);
  const server = sink();
  try {
    const { pid, lives, failed } = await connections(await server.port, 200, 5, 0);
    await sleep(2500);
    const events = monitor.events().filter((e) => e.protocol === "tcp" && lives.has(connectionKey(e)));
    const withPid = (kind: string) =>
      new Set(events.filter((e) => e.event === kind && e.pid === pid).map(connectionKey));
    const opened = withPid("opened"), closed = withPid("closed");
    const both = [...lives.keys()].filter((p) => opened.has(p) && closed.has(p)).length;
    const durations = events.filter((e) => e.event === "closed" && typeof e.durationMs === "number");
    const within = durations.filter((e) => Math.abs(e.durationMs - lives.get(connectionKey(e))!) <= 5).length;
    const missed = [...lives.keys()].filter((p) => !(opened.has(p) && closed.has(p)));
    const how = missed.map((p) =>
      events.filter((e) => connectionKey(e) === p).map((e) =>
        `${e.event}:${e.source}:pid ${e.pid}:${e.state}`
      )
        .join(",") ||
      "absent"
    );
    return [
      `capture: ${lives.size} connections of 5 ms at --interval 1000: ${both}/${lives.size} opened and closed ` +
      `with the connecting pid (target 200/200); ${within}/${lives.size} durations within 5 ms of the life ` +
      `the process measured${failed ? `; ${failed}` : ""}` +
      `${missed.length ? ` (missed: ${how.join("; ")})` : ""}`,
    ];
  } finally {
    await server.stop();
    await monitor.stop();
  }
}

/** How the connections on `ports` that were not closed with their pid were logged, counted by kind. */
function missedKinds(events: Record<string, unknown>[], keys: string[]): string {
  if (!keys.length) return "";
  const wanted = new Set(keys);
  const kinds = new Map<string, number>();
  for (const e of events) {
    if (e.event !== "closed" || !wanted.has(connectionKey(e))) continue;
    const kind = `${e.source} close, pid ${e.pid === 0 ? "0" : "other"}, ${e.processName ?? "no name"}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return `; missed: ${[...kinds].map(([k, n]) => `${n} ${k}`).join(", ") || "no closed record"}`;
}

/** The CPU of a peer that follows events under the load; undefined when not installed or it exits. */
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

/** How long the monitor is measured after the load, at rest among the TIME_WAIT remnants it left, s. */
const AFTER_LOAD_SECONDS = 20;

/** TIME_WAIT sockets of this network namespace (`/proc/net/sockstat`, `tw`). */
function timeWaitCount(): number {
  const line = Deno.readTextFileSync("/proc/net/sockstat").split("\n").find((l) => l.startsWith("TCP:"));
  return Number(line?.match(/ tw (\d+)/)?.[1] ?? NaN);
}

/** 1 000 connections/s for `seconds` under one follower (`monitor`, `poller`, `ss`, `tcplife`). */
async function loadSection(who: string, seconds: number): Promise<string[]> {
  const server = sink();
  const port = await server.port;
  const load = () => connections(port, 1000 * seconds, 0, 1000, LOAD_ADDRESSES);
  try {
    if (who === "monitor" || who === "poller") {
      const monitor = await startMonitor(who === "monitor" ? 1000 : 100);
      let result: Awaited<ReturnType<typeof load>> | undefined;
      const cpu = await cpuDuring(monitor.pid, async () => result = await load());
      await sleep(2500);
      const remnants = timeWaitCount();
      const after = who === "monitor"
        ? await cpuDuring(monitor.pid, () => sleep(AFTER_LOAD_SECONDS * 1000))
        : 0;
      const events = monitor.events();
      const named = new Set(
        events.filter((e) => e.event === "closed" && e.pid === result!.pid).map(connectionKey),
      );
      const counts = await monitor.stop();
      const made = result!.lives.size;
      const captured = [...result!.lives.keys()].filter((p) => named.has(p)).length;
      const missed = missedKinds(events, [...result!.lives.keys()].filter((p) => !named.has(p)));
      const failed = result!.failed ? ` (${result!.failed})` : "";
      if (who === "poller") {
        return [
          `  peer: portreporter run --interval 100 under the same load: CPU ${cpu.toFixed(1)} %; ` +
          `${(captured / made * 100).toFixed(2)} % closed with pid`,
        ];
      }
      return [
        `load: ${made} connections at 1000/s for ${seconds} s${failed}, monitor at --interval 1000: ` +
        `${(captured / made * 100).toFixed(2)} % captured with pid (target ≥ 99.9 %), ` +
        `CPU ${cpu.toFixed(1)} % of one core (target ≤ 10 %); events ${counts}${missed}`,
        `  after the load, ${remnants} TIME_WAIT remnants left: CPU ${
          after.toFixed(2)
        } % over ${AFTER_LOAD_SECONDS} s`,
      ];
    }
    if (who === "ss") {
      const cpu = await peerCpu("ss", ["-E", "-tn"], load);
      return [
        `  peer: ss -E -tn (destroy events, printed): ${
          cpu === undefined ? "not available" : `CPU ${cpu.toFixed(1)} %`
        }`,
      ];
    }
    const cpu = await peerCpu("/usr/sbin/tcplife-bpfcc", [], load);
    return [`  peer: tcplife-bpfcc: ${cpu === undefined ? "not installed" : `CPU ${cpu.toFixed(1)} %`}`];
  } finally {
    await server.stop();
  }
}

/** The monitor at `--interval 1000` with 1 000 steady sockets (`socket_holder.ts`), for `seconds`. */
async function restSection(seconds: number): Promise<string[]> {
  const holder = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(here, "socket_holder.ts"), ...args],
      stdout: "piped",
    }).spawn();
  const firstLine = async (child: Deno.ChildProcess) => {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) text += (await reader.read()).value ?? "";
    return { text, reader };
  };
  const server = holder(["server", "500"]);
  const { text: ports } = await firstLine(server);
  const [, port4, port6] = ports.trim().split(" ");
  const client = holder(["client", port4, port6, "500", "0.2"]);
  await firstLine(client); // ready
  try {
    const monitor = await startMonitor(1000);
    await sleep(1500);
    const cpu = await cpuDuring(monitor.pid, () => sleep(seconds * 1000));
    await monitor.stop();
    return [
      `rest: monitor at --interval 1000 with 1000 steady sockets, ${seconds} s: CPU ${
        cpu.toFixed(2)
      } % of one core ` +
      `(target ≤ 0.5 %)`,
    ];
  } finally {
    for (const child of [server, client]) {
      child.kill("SIGKILL");
      await child.status;
    }
  }
}

/** Every section, each in its own network namespace; returns the lines to print. */
export async function eventsBench(
  seconds = Number(Deno.env.get("BENCH_EVENTS_SECONDS") ?? 60),
  restSeconds = Number(Deno.env.get("BENCH_CPU_SECONDS") ?? 60),
): Promise<string[]> {
  const lines: string[] = [];
  lines.push(...await inNamespace("capture"));
  for (const who of ["monitor", "poller", "ss", "tcplife"]) {
    lines.push(...await inNamespace("load", who, String(seconds)));
  }
  lines.push(...await inNamespace("rest", String(restSeconds)));
  return lines;
}

if (import.meta.main) {
  const at = Deno.args.indexOf(SECTION_FLAG);
  if (at >= 0) {
    const section = Deno.args[at + 1];
    const args = (Deno.args[at + 2] ?? "").split(",");
    const lines = section === "capture"
      ? await captureSection()
      : section === "load"
      ? await loadSection(args[0], Number(args[1]))
      : await restSection(Number(args[0]));
    console.log(lines.join("\n"));
  } else {
    for (const line of await eventsBench()) console.log(line);
  }
}
