import assert from "node:assert/strict";
import { runMonitor } from "./monitor.ts";
import { LogSet } from "../log/log_set.ts";
import { LocalTime } from "../log/local_time.ts";
import type { Collector, Snapshot, SocketRecord } from "../model/types.ts";

/** A virtual clock whose sleep advances time instantly. */
function virtualTime(start: number) {
  let now = start;
  return {
    clock: { now: () => now },
    advance: (ms: number) => (now += ms),
    sleep: (ms: number) => {
      now += ms;
      return Promise.resolve();
    },
  };
}

const sock = (port: number): SocketRecord => ({
  protocol: "udp",
  family: 4,
  localAddress: "127.0.0.1",
  localPort: port,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: null,
  pid: 7,
});

/** A scripted collector: poll i returns script[i] (or throws when it is an Error), then stops the run. */
function scripted(
  time: ReturnType<typeof virtualTime>,
  script: (SocketRecord[] | Error)[],
  stop: AbortController,
  pollCostMs = 0,
) {
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const collector: Collector = {
    async collect(): Promise<Snapshot> {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      time.advance(pollCostMs);
      inFlight--;
      const step = script[calls++];
      if (calls >= script.length) stop.abort();
      if (step instanceof Error) throw step;
      return {
        time: time.clock.now(),
        sockets: step ?? [],
        processes: new Map([[7, { pid: 7, name: "p", startTime: 1 }]]),
        warnings: calls === 2 ? { "process-vanished": 1 } : {},
      };
    },
    hostInfo: () => ({ computerName: "H", osName: "OS" }),
    close() {},
  };
  return { collector, stats: () => ({ maxInFlight, calls }) };
}

function memoryLogSet() {
  const written: string[] = [];
  let closed = 0;
  const logSet = new LogSet({
    dir: "/x",
    host: { computerName: "H", osName: "OS" },
    localTime: new LocalTime("UTC"),
    fs: {
      ensureDir() {},
      createNew(path) {
        return {
          write: (b) => void written.push(path + "|" + new TextDecoder().decode(b)),
          close: () => void closed++,
        };
      },
    },
  });
  return { logSet, written, closed: () => closed };
}

Deno.test("polls in sequence, logs opens and closes, counts warnings and faults, closes files on stop", async () => {
  const time = virtualTime(Date.UTC(2026, 0, 1, 12));
  const stop = new AbortController();
  const { collector, stats } = scripted(
    time,
    [[sock(1)], [sock(1), sock(2)], new Error("EIO"), [sock(2)]],
    stop,
  );
  const m = memoryLogSet();
  const lines: string[] = [];
  let started = 0;
  const result = await runMonitor({
    collector,
    logSet: m.logSet,
    clock: time.clock,
    monotonic: time.clock,
    intervalMs: 1000,
    signal: stop.signal,
    log: (l) => lines.push(l),
    sleep: time.sleep,
    onStarted: () => started++,
  });
  assert.equal(started, 1);
  assert.equal(stats().maxInFlight, 1, "never two polls at once");
  assert.equal(result.polls, 3);
  assert.equal(result.collectErrors, 1);
  assert.equal(result.changes, 2, "port 2 opened, port 1 closed");
  assert.deepEqual(result.warnings, { "process-vanished": 1 });
  assert.ok(
    lines.some((l) => l.startsWith("warning: a process ended before its details could be read")),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => /^polling failed: EIO; retrying/.test(l)), lines.join("\n"));
  assert.ok(lines.some((l) => /^polling works again after 1 failure in 1 s$/.test(l)), lines.join("\n"));
  const ports = m.written.filter((w) => w.includes("PR-PORTS") && w.includes(",UDP,"));
  assert.equal(ports.length, 1);
  assert.match(ports[0], /,UDP,2,127\.0\.0\.1,\*,\*,7,p,<unknown>/);
  assert.ok(m.written.some((w) => w.includes("PR-EVENTS") && w.includes('"event":"closed"')));
  assert.equal(m.closed(), 4, "PR-INITIAL at once, then PORTS, PIDS and EVENTS at stop");
});

Deno.test("a poll slower than the interval counts as an overrun and the missed ticks are skipped", async () => {
  const time = virtualTime(0);
  const stop = new AbortController();
  const { collector, stats } = scripted(time, [[], [], [], []], stop, 2500);
  const result = await runMonitor({
    collector,
    logSet: memoryLogSet().logSet,
    clock: time.clock,
    monotonic: time.clock,
    intervalMs: 1000,
    signal: stop.signal,
    log: () => {},
    sleep: time.sleep,
  });
  assert.equal(stats().calls, 4);
  assert.equal(result.overruns, 3);
  assert.equal(result.slowestPollMs, 2500);
});

Deno.test("an abort during the wait ends the run promptly with real timers", async () => {
  const stop = new AbortController();
  let calls = 0;
  const collector: Collector = {
    collect: () =>
      Promise.resolve({ time: Date.now(), sockets: [], processes: new Map(), warnings: {} }).finally(() =>
        calls++
      ),
    hostInfo: () => ({ computerName: "H", osName: "OS" }),
    close() {},
  };
  const t0 = performance.now();
  const run = runMonitor({
    collector,
    logSet: memoryLogSet().logSet,
    clock: { now: Date.now },
    intervalMs: 60_000,
    signal: stop.signal,
    log: () => {},
    onStarted: () => setTimeout(() => stop.abort(), 10),
  });
  const result = await run;
  assert.equal(result.polls, 1);
  assert.equal(calls, 1);
  assert.ok(performance.now() - t0 < 30_000, "did not wait for the 60 s interval");
});
