/**
 * Runs inside a private network namespace (`unshare -n`, loopback up) for the event-capture tests:
 * a collector and a diff as the monitor runs them, around real short-lived sockets. Prints one JSON
 * object: the changes (as PR-EVENTS records) and the counters.
 *
 *     deno run -A --unstable-net scenario.ts <short|burst|fallback|exec>
 *
 * - `short`: a child makes 20 TCP connections of 1–5 ms to a listener of this process, and 5 UDP
 *   sockets of a few ms, between two polls.
 * - `burst`: 2 500 loopback connections (5 000 sockets) seen by a poll, then closed at once.
 * - `fallback`: as `short` with 5 connections, without event capture.
 * - `exec`: 5 processes (a copy of bash named `beacon,sh`) that each connect to the listener and exit
 *   at once, gone before their `/proc` entry could be read.
 *
 * @module
 */

import { createLinuxCollector } from "../../src/platform/linux/collector.ts";
import { EndpointTracker } from "../../src/diff/diff.ts";
import { eventRecord } from "../../src/log/jsonl.ts";
import type { Change } from "../../src/model/types.ts";

const mode = Deno.args[0];
const here = new URL(".", import.meta.url).pathname;
const port = (addr: Deno.Addr) => (addr as Deno.NetAddr).port;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const collector = createLinuxCollector({ events: mode !== "fallback" });
const tracker = new EndpointTracker();
const changes: Change[] = [];
const warnings: Record<string, number> = {};
async function poll() {
  const snapshot = await collector.collect();
  for (const [kind, n] of Object.entries(snapshot.warnings)) warnings[kind] = (warnings[kind] ?? 0) + n;
  changes.push(...tracker.observe(snapshot));
}
await poll();
changes.length = 0; // the initial snapshot

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const udpServer = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: port(listener.addr) });
const served = (async () => {
  for await (const connection of listener) {
    connection.readable.pipeTo(new WritableStream()).catch(() => {}); // read until the client closes
  }
})().catch(() => {});
await poll();
let child = 0;
if (mode === "burst") {
  const ends: Deno.Conn[] = [];
  const burstListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  for (let i = 0; i < 2500; i++) {
    const accepted = burstListener.accept();
    ends.push(await Deno.connect({ hostname: "127.0.0.1", port: port(burstListener.addr) }), await accepted);
  }
  await poll();
  for (const end of ends) end.close();
  burstListener.close();
  await sleep(300);
} else if (mode === "exec") {
  const dir = Deno.makeTempDirSync({ prefix: "portreporter-exec-" });
  const beacon = `${dir}/beacon,sh`;
  Deno.copyFileSync("/bin/bash", beacon);
  Deno.chmodSync(beacon, 0o755);
  const script = `exec 3<>/dev/tcp/127.0.0.1/${port(listener.addr)}; exec 3>&-`;
  for (let i = 0; i < 5; i++) await new Deno.Command(beacon, { args: ["-c", script] }).output();
  await sleep(200);
  Deno.removeSync(dir, { recursive: true });
} else {
  const count = mode === "fallback" ? 5 : 20;
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      `${here}connector.ts`,
      String(port(listener.addr)),
      String(count),
      "5",
    ],
    stdout: "piped",
  }).spawn();
  child = process.pid;
  const output = new TextDecoder().decode((await process.output()).stdout);
  if (!output.includes("done")) throw new Error(`connector failed: ${output}`);
  await sleep(200);
}
await poll();
await poll();
const counts = { ...collector.events?.stats, ...tracker.stats };
listener.close();
udpServer.close();
await served;
collector.close();
await collector.closed();
console.log(JSON.stringify({
  pid: Deno.pid,
  child,
  listenerPort: port(listener.addr),
  counts,
  warnings,
  changes: changes.map((change) => JSON.parse(eventRecord(change, "test"))),
}));
