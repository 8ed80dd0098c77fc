import assert from "node:assert/strict";
import {
  parseTraceFormat,
  SAMPLE_RAW_OFFSET,
  TcpStateMachine,
  type TraceSample,
} from "./tracepoint_decode.ts";
import { fixtureText } from "../fixtures_test_util.ts";
import { capturedSamples, joinKeyOfText, textKeyed } from "./samples_test_util.ts";
import type { TracedClose } from "./capture.ts";
import { endpointKey, type SocketRecord } from "../../../model/types.ts";
import { PERF_ATTR_OFFSETS, PERF_ATTR_SIZE, SAMPLE_TYPE } from "./perf_rings.ts";

const CHILD = 27345, PARENT = 27324, PORT = 40079;

Deno.test("perf_event_attr layout is the kernel's (uapi perf_event.h, PERF_ATTR_SIZE_VER5)", () => {
  assert.equal(PERF_ATTR_SIZE, 112);
  assert.deepEqual(PERF_ATTR_OFFSETS, {
    type: 0,
    size: 4,
    config: 8,
    samplePeriod: 16,
    sampleType: 24,
    flags: 40,
    wakeupEvents: 48,
    clockid: 92,
  });
  assert.equal(SAMPLE_TYPE, 0x406n);
  assert.equal(SAMPLE_RAW_OFFSET, 28);
});

Deno.test("the tracepoint format of this kernel gives the id and the field offsets", () => {
  const { id, layout } = parseTraceFormat(fixtureText("inet_sock_set_state_format.txt"));
  assert.equal(id, 2287);
  assert.deepEqual(layout, {
    common_flags: 2,
    common_pid: 4,
    skaddr: 8,
    oldstate: 16,
    newstate: 20,
    sport: 24,
    dport: 26,
    family: 28,
    protocol: 30,
    saddr: 32,
    daddr: 36,
    saddr_v6: 40,
    daddr_v6: 56,
  });
  assert.throws(
    () => parseTraceFormat("ID: 5\nformat:\n\tfield:int oldstate;\toffset:16;\tsize:4;"),
    /common_flags/,
  );
});

Deno.test("captured state changes: the connecting child, the accepted side, the listener, with their times", () => {
  const { layout } = parseTraceFormat(fixtureText("inet_sock_set_state_format.txt"));
  const named: number[] = [];
  const machine = new TcpStateMachine(layout, (pid) => named.push(pid));
  const joined = new Map<string, TracedClose>();
  const samples = capturedSamples();
  for (const sample of samples) machine.observe(sample, joined);
  const closes = textKeyed(joined);
  assert.equal(machine.size, 0, "every socket followed reached CLOSE");
  const client = [...closes].find(([key]) => key.endsWith(` 127.0.0.1 ${PORT}`))!;
  const clientPort = client[0].split(" ")[2];
  assert.deepEqual(
    [...closes].map(([key, c]) => [key, c.pid, c.openState]).sort(),
    [
      [`tcp4 127.0.0.1 ${PORT} 0.0.0.0 0`, PARENT, "LISTEN"],
      [`tcp4 127.0.0.1 ${PORT} 127.0.0.1 ${clientPort}`, PARENT, "ESTABLISHED"],
      [`tcp4 127.0.0.1 ${clientPort} 127.0.0.1 ${PORT}`, CHILD, "ESTABLISHED"],
    ].sort(),
  );
  assert.ok(client[1].openedAt! <= client[1].closedAt);
  assert.ok(named.includes(CHILD) && named.includes(PARENT));
  assert.ok(samples.every((s, i) => i === 0 || s.time >= samples[i - 1].time), "captured in time order");
});

Deno.test("the samples the kernel filter lets through tell the same closes as every sample", () => {
  const { layout } = parseTraceFormat(fixtureText("inet_sock_set_state_format.txt"));
  const states = (
    s: TraceSample,
  ) => [s.raw.getInt32(s.at + layout.oldstate, true), s.raw.getInt32(s.at + layout.newstate, true)];
  // TRACE_FILTER, for TCP samples: what the kernel hands over
  const passes = (s: TraceSample) => {
    const [old, now] = states(s);
    return [2, 10, 4, 9].includes(now) || (now === 7 && ![5, 9, 11].includes(old)) || old === 2 || old === 3;
  };
  const closesOf = (samples: TraceSample[]) => {
    const closes = new Map<string, TracedClose>();
    const machine = new TcpStateMachine(layout);
    for (const sample of samples) machine.observe(sample, closes);
    return { closes: [...textKeyed(closes)].sort(), left: machine.size };
  };
  const all = capturedSamples();
  const filtered = all.filter(passes);
  assert.ok(filtered.length < all.length, "the filter leaves some out");
  assert.deepEqual(closesOf(filtered), closesOf(all));
  assert.equal(closesOf(filtered).left, 0, "no socket is left followed");
});

Deno.test("IPv6 connections are keyed as their records' endpoint keys", () => {
  const { layout } = parseTraceFormat(fixtureText("inet_sock_set_state_format.txt"));
  // the captured connection moved to 2001:db8::/96 (each IPv4 address as the last 32 bits)
  const v6 = capturedSamples().map((s) => {
    const bytes = new Uint8Array(s.raw.buffer, s.raw.byteOffset + s.at, s.size).slice();
    const view = new DataView(bytes.buffer);
    view.setUint16(layout.family, 10, true);
    for (const [v4, v6] of [[layout.saddr, layout.saddr_v6], [layout.daddr, layout.daddr_v6]]) {
      view.setUint32(v6, 0x20010db8, false);
      view.setUint32(v6 + 4, 0, false);
      view.setUint32(v6 + 8, 0, false);
      view.setUint32(v6 + 12, view.getUint32(v4, false), false);
    }
    return { ...s, raw: view, at: 0 };
  });
  const joined = new Map<string, TracedClose>();
  const machine = new TcpStateMachine(layout);
  for (const sample of v6) machine.observe(sample, joined);
  const closes = textKeyed(joined);
  const client = [...closes.keys()].find((key) => key.endsWith(` 2001:db8::7f00:1 ${PORT}`))!;
  const clientPort = Number(client.split(" ")[2]);
  const record = (localPort: number, remote: string, remotePort: number): SocketRecord => ({
    protocol: "tcp",
    family: 6,
    localAddress: "2001:db8::7f00:1",
    localPort,
    remoteAddress: remote,
    remotePort,
    state: null,
    pid: 0,
  });
  assert.deepEqual(
    [...closes.keys()].sort(),
    [
      endpointKey(record(PORT, "2001:db8::", 0)),
      endpointKey(record(PORT, "2001:db8::7f00:1", clientPort)),
      endpointKey(record(clientPort, "2001:db8::7f00:1", PORT)),
    ].sort(),
  );
  assert.equal(closes.get(client)?.pid, CHILD);
  assert.equal(machine.connectedBy(joinKeyOfText(client)), undefined, "closed: no longer a live connection");
  const connected = v6.findIndex((s) =>
    s.raw.getInt32(layout.oldstate, true) === 2 && s.raw.getInt32(layout.newstate, true) === 1
  );
  const live = new TcpStateMachine(layout);
  for (const sample of v6.slice(0, connected + 1)) live.observe(sample, new Map());
  assert.equal(live.connectedBy(joinKeyOfText(client)), CHILD, "while live, by the same key");
});
