import assert from "node:assert/strict";
import { endpointKey, type SocketRecord } from "../../../model/types.ts";
import { EventCapture, type TracedClose, type TraceSource } from "./capture.ts";

const client: SocketRecord = {
  protocol: "tcp",
  family: 4,
  localAddress: "127.0.0.1",
  localPort: 40000,
  remoteAddress: "127.0.0.1",
  remotePort: 8080,
  state: "ESTABLISHED",
  pid: 0,
  inode: 77,
};

/** A trace source whose rings hold `closes` (read by the first drain) and no live connection. */
function fakeTrace(closes: [string, TracedClose][]): TraceSource & { drains: number } {
  return {
    fds: [],
    lost: 0,
    drains: 0,
    drain(into) {
      this.drains++;
      for (const [key, close] of closes.splice(0)) into.set(key, close);
    },
    connectedBy: () => undefined,
    close() {},
  };
}

Deno.test("ownerHint: a connection that closed after the dump listed it is named by its traced close", () => {
  const trace = fakeTrace([[endpointKey(client), { pid: 4242, closedAt: 1, openedAt: 0 }]]);
  const capture = new EventCapture({
    clock: { now: () => 0 },
    openDestroy: () => {
      throw new Error("no destroy notifications here");
    },
    openTrace: () => trace,
  });
  try {
    assert.equal(capture.ownerHint(client), 4242, "read from the rings once, then named");
    assert.equal(capture.ownerHint({ ...client, localPort: 40001 }), undefined, "another connection");
    assert.equal(trace.drains, 1, "the rings are read once per poll for hints");
    assert.equal(capture.ownerHint({ ...client, remotePort: 0 }), undefined, "listeners are not hinted");
  } finally {
    void capture.close();
  }
});
