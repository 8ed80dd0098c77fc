/**
 * Runs inside a private network namespace for the shared-socket test: a Python parent that, on its
 * first stdin line, listens on 127.0.0.1 and forks a child that keeps the listener (as a pre-forking
 * server does). The collector polls once before the listen (so the parent is already known) and
 * twice after. Prints one JSON object: the parent and child pids and the listener's PR-EVENTS record
 * of each poll.
 *
 * @module
 */

import { createLinuxCollector } from "../../src/platform/linux/collector.ts";
import { eventRecord } from "../../src/log/jsonl.ts";

const FORKING_SERVER = `
import os, socket, sys, time
sys.stdin.readline()
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
child = os.fork()
if child == 0:
    time.sleep(30); os._exit(0)
print(s.getsockname()[1], child, flush=True)
sys.stdin.readline()
os.kill(child, 9)
`;

const server = new Deno.Command("python3", { args: ["-c", FORKING_SERVER], stdin: "piped", stdout: "piped" })
  .spawn();
const collector = createLinuxCollector({ source: "netlink" });
const writer = server.stdin.getWriter();
const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
await collector.collect();
await writer.write(new TextEncoder().encode("listen\n"));
let line = "";
while (!line.includes("\n")) {
  const { value, done } = await lines.read();
  if (done) throw new Error(`the forking server exited: ${line}`);
  line += value;
}
const [port, child] = line.trim().split(/\s+/).map(Number);
const records: unknown[] = [];
for (let poll = 0; poll < 2; poll++) {
  const snapshot = await collector.collect();
  for (const socket of snapshot.sockets) {
    if (socket.localPort !== port || socket.state !== "LISTEN") continue;
    const process = snapshot.processes.get(socket.pid);
    records.push(JSON.parse(eventRecord({ kind: "opened", time: 0, socket, process, firstSeen: 0 }, "test")));
  }
}
await writer.write(new TextEncoder().encode("stop\n"));
await writer.close();
await lines.cancel();
await server.status;
collector.close();
console.log(JSON.stringify({ parent: server.pid, child, records }));
