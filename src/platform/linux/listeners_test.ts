import assert from "node:assert/strict";
import type { SocketRecord } from "../../model/types.ts";
import { acceptedOwnerHint, attributeToListeners, listenerOwners } from "./listeners.ts";

const listener: SocketRecord = {
  protocol: "tcp",
  family: 4,
  localAddress: "0.0.0.0",
  localPort: 8080,
  remoteAddress: "0.0.0.0",
  remotePort: 0,
  state: "LISTEN",
  pid: 100,
  inode: 5,
};
const accepted = (extra: Partial<SocketRecord>): SocketRecord => ({
  ...listener,
  localAddress: "127.0.0.1",
  remoteAddress: "127.0.0.1",
  remotePort: 50000,
  state: "ESTABLISHED",
  pid: 0,
  inode: 0,
  ...extra,
});

Deno.test("queued accepted connections belong to the listener's owner; TIME_WAIT and clients do not", () => {
  const rows = [
    listener,
    accepted({}),
    accepted({ remotePort: 50001, state: "CLOSE_WAIT" }),
    accepted({ remotePort: 50002, state: "TIME_WAIT" }),
    accepted({ localPort: 40000, remotePort: 8080 }), // a client of the listener, not accepted by it
    accepted({ remotePort: 50003, inode: 77 }), // already accepted: the poll finds its owner
    accepted({ family: 6, localAddress: "::1", remoteAddress: "::1" }), // another family
  ];
  attributeToListeners(rows, listenerOwners(rows));
  assert.deepEqual(rows.map((r) => r.pid), [100, 100, 100, 0, 0, 0, 0]);
});

Deno.test("close events of accepted connections take the listener's owner in any state", () => {
  const events = [accepted({ state: "CLOSED" }), accepted({ localPort: 1, state: "CLOSED" })];
  attributeToListeners(events, listenerOwners([listener]), true);
  assert.deepEqual(events.map((r) => r.pid), [100, 0]);
});

Deno.test("the owner hint: a listener held by one process only; a listener shared after fork gives none", () => {
  const owners = listenerOwners([listener]);
  assert.equal(acceptedOwnerHint(accepted({ inode: 77 }), owners), 100);
  assert.equal(acceptedOwnerHint(accepted({ localPort: 40000, inode: 77 }), owners), undefined);
  const shared = listenerOwners([{ ...listener, holders: [100, 101] }]);
  assert.equal(
    acceptedOwnerHint(accepted({ inode: 77 }), shared),
    undefined,
    "any worker may have accepted it",
  );
  const queued = [accepted({})];
  attributeToListeners(queued, shared);
  assert.equal(queued[0].pid, 100, "queued in a shared listener: its oldest holder");
});
