import assert from "node:assert/strict";
import type { SocketEvent, SocketRecord } from "../model/types.ts";
import { type TrackedEndpoint, trackedEndpoint } from "./endpoint_changes.ts";
import { EventCandidates, sameEndpoint } from "./event_candidates.ts";

const conn: SocketRecord = {
  protocol: "tcp",
  family: 4,
  localAddress: "127.0.0.1",
  localPort: 8080,
  remoteAddress: "127.0.0.1",
  remotePort: 50000,
  state: "ESTABLISHED",
  pid: 100,
};
const closeOf = (socket: SocketRecord): SocketEvent => ({
  time: 1,
  socket: { ...socket, pid: 0, state: "CLOSED" },
});

Deno.test("sameEndpoint compares the endpoint's six fields, not its state, pid or inode", () => {
  assert.ok(sameEndpoint(conn, { ...conn, pid: 0, state: "CLOSED", inode: 7 }));
  for (
    const other of [{ localPort: 8081 }, { remotePort: 1 }, { protocol: "udp" as const }, {
      family: 6 as const,
    }, {
      localAddress: "127.0.0.2",
    }, { remoteAddress: "10.0.0.1" }]
  ) {
    assert.ok(!sameEndpoint(conn, { ...conn, ...other }), JSON.stringify(other));
  }
});

Deno.test("a close event takes the last owned entry of its endpoint, else the first ownerless one, once per poll", () => {
  const endpoints = new Map<string, TrackedEndpoint>([
    ["ownerless", trackedEndpoint({ ...conn, pid: 0 }, undefined, 0, 1)],
    ["first owner", trackedEndpoint(conn, undefined, 0, 1)],
    ["second owner", trackedEndpoint({ ...conn, pid: 200 }, undefined, 0, 1)],
    ["remnant", trackedEndpoint({ ...conn, remotePort: 50001 }, undefined, 0, 1, true)],
    ["older poll", trackedEndpoint({ ...conn, remotePort: 50002 }, undefined, 0, 0)],
    ["other address", trackedEndpoint({ ...conn, remoteAddress: "127.0.0.9" }, undefined, 0, 1)],
    ["other ports", trackedEndpoint({ ...conn, remotePort: 1 }, undefined, 0, 1)],
  ]);
  const missing = trackedEndpoint({ ...conn, remotePort: 50003, pid: 0 }, undefined, 0, 0);
  missing.missingSince = 5;
  endpoints.set("missing", missing);
  const events = [conn, { ...conn, remotePort: 50001 }, { ...conn, remotePort: 50002 }, {
    ...conn,
    remotePort: 50003,
  }, { ...conn, remoteAddress: "127.0.0.9" }].map(closeOf);
  const candidates = new EventCandidates(endpoints, events, 2);
  assert.ok(!candidates.mayBeTracked({ ...conn, remotePort: 1 }), "ports of no event are not indexed");
  assert.equal(candidates.take(events[0].socket), "second owner");
  assert.equal(
    candidates.take(events[0].socket),
    undefined,
    "a second close of it in this poll is another connection",
  );
  assert.equal(candidates.take(events[1].socket), undefined, "remnants are not candidates");
  assert.equal(candidates.take(events[2].socket), undefined, "nor endpoints the previous poll did not see");
  assert.equal(candidates.take(events[3].socket), "missing", "but those waiting for their close event are");
  assert.equal(candidates.take(events[4].socket), "other address");

  const ownerless = new EventCandidates(
    new Map([...endpoints].filter(([k]) => !k.includes("owner") || k === "ownerless")),
    events,
    2,
  );
  assert.equal(ownerless.take(events[0].socket), "ownerless");
});
