import assert from "node:assert/strict";
import { type EventFields, initiator, toEcs } from "./ecs.ts";

const base: EventFields = {
  v: 1,
  event: "closed",
  time: "2026-12-01T10:00:05.000Z",
  host: "web1",
  protocol: "tcp",
  family: 4,
  localAddress: "10.0.0.5",
  localPort: 51234,
  remoteAddress: "93.184.216.34",
  remotePort: 443,
  state: "ESTABLISHED",
  pid: 4242,
  processName: "curl",
  processPath: "/usr/bin/curl",
  commandLine: "curl https://example.org/",
  parentPid: 4000,
  parentName: "bash",
  user: "CORP\\alice",
  firstSeen: "2026-12-01T10:00:04.750Z",
  durationMs: 250,
};

Deno.test("ECS: an outbound connection's close maps source to this host and destination to the peer", () => {
  assert.deepEqual(toEcs(base), {
    "@timestamp": "2026-12-01T10:00:05.000Z",
    ecs: { version: "8.11.0" },
    event: {
      kind: "event",
      category: ["network"],
      type: ["end", "connection"],
      action: "endpoint-closed",
      start: "2026-12-01T10:00:04.750Z",
      end: "2026-12-01T10:00:05.000Z",
      duration: 250_000_000,
      dataset: "portreporter.events",
    },
    network: { transport: "tcp", type: "ipv4", direction: "egress" },
    source: { ip: "10.0.0.5", port: 51234, address: "10.0.0.5" },
    destination: { ip: "93.184.216.34", port: 443, address: "93.184.216.34" },
    process: {
      pid: 4242,
      name: "curl",
      executable: "/usr/bin/curl",
      command_line: "curl https://example.org/",
      parent: { pid: 4000, name: "bash" },
    },
    user: { name: "alice", domain: "CORP" },
    host: { name: "web1" },
    portreporter: {
      schema: 1,
      event: "closed",
      state: "ESTABLISHED",
      family: 4,
      local: { ip: "10.0.0.5", port: 51234, address: "10.0.0.5" },
      remote: { ip: "93.184.216.34", port: 443, address: "93.184.216.34" },
      initiator: "outbound",
    },
  });
});

Deno.test("ECS: inbound, listener, loopback, IPv6 and a record's own direction", () => {
  const inbound = toEcs({
    ...base,
    event: "opened",
    localPort: 22,
    remotePort: 50500,
    durationMs: undefined,
  });
  assert.deepEqual((inbound.source as { port: number }).port, 50500);
  assert.deepEqual((inbound.destination as { port: number }).port, 22);
  assert.deepEqual((inbound.event as { type: string[] }).type, ["start", "connection"]);
  assert.equal((inbound.event as { end?: string }).end, undefined);

  const listen = toEcs({
    ...base,
    event: "opened",
    state: "LISTEN",
    remoteAddress: "::",
    remotePort: 0,
    family: 6,
  });
  assert.equal(listen.source, undefined);
  assert.deepEqual(listen.network, { transport: "tcp", type: "ipv6", direction: "ingress" });

  const loop = toEcs({ ...base, localAddress: "127.0.0.1", remoteAddress: "127.0.0.1" });
  assert.equal((loop.network as { direction: string }).direction, "internal");

  assert.equal(initiator({ ...base, localPort: 40000, remotePort: 40001, direction: "inbound" }), "inbound");
  assert.equal(initiator({ ...base, localPort: 40000, remotePort: 40001 }), "unknown");
  assert.equal(initiator({ ...base, protocol: "udp", state: null, remotePort: 0 }), "listener");
});

Deno.test("ECS: a record that is not an endpoint change keeps its fields under portreporter.record", () => {
  const doc = toEcs({
    v: 1,
    event: "clock-jump",
    time: "2026-12-01T10:00:00.000Z",
    host: "web1",
    jumpMs: -3600000,
  });
  assert.deepEqual(doc.event, {
    kind: "event",
    category: ["host"],
    type: ["info"],
    action: "clock-jump",
    dataset: "portreporter.events",
  });
  assert.equal((doc.portreporter as { record: { jumpMs: number } }).record.jumpMs, -3600000);
  assert.equal(doc.network, undefined);
});
