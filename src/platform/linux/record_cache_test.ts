import assert from "node:assert/strict";
import { RecordCache } from "./record_cache.ts";
import type { SocketRecord } from "../../model/types.ts";

const record = (pid: number): SocketRecord => ({
  protocol: "tcp",
  family: 4,
  localAddress: "127.0.0.1",
  localPort: 80,
  remoteAddress: "127.0.0.1",
  remotePort: 5000,
  state: "ESTABLISHED",
  pid,
  inode: 77,
});

Deno.test("an unchanged socket gets its previous record back; any changed raw word decodes afresh", () => {
  const cache = new RecordCache();
  cache.beginPoll();
  cache.raw.set([1, 80, 5000, 0, 0x0100007f, 0, 0, 0, 0x0100007f, 0, 0, 0]);
  assert.equal(cache.lookup(77), undefined);
  const first = record(0);
  cache.store(77, first);
  cache.settleOwners([first]);
  cache.beginPoll();
  assert.equal(cache.lookup(77), first);
  cache.raw[0] = 8; // CLOSE_WAIT
  assert.equal(cache.lookup(77), undefined);
  assert.deepEqual(cache.stats, { reused: 1, decoded: 0 });
});

Deno.test("a reused record whose owner changed is replaced by a copy; the emitted one is never mutated", () => {
  const cache = new RecordCache();
  cache.beginPoll();
  const r = record(0);
  r.pid = 10; // owner assigned before settling
  cache.store(77, record(0));
  const rows = [cache.lookup(77) ?? r];
  rows[0].pid = 10;
  cache.settleOwners(rows);
  const handedOut = rows[0];
  cache.beginPoll();
  const again = [cache.lookup(77)!];
  assert.equal(again[0], handedOut);
  again[0].pid = 20; // the owner map assigns a new owner in place
  cache.settleOwners(again);
  assert.notEqual(again[0], handedOut, "a copy replaces it");
  assert.equal(again[0].pid, 20);
  assert.equal(handedOut.pid, 10, "the record the tracker holds keeps its pid");
  cache.beginPoll();
  assert.equal(cache.lookup(77), again[0], "the copy is what is cached now");
  cache.settleOwners(again);
  cache.beginPoll();
  cache.settleOwners([]);
  assert.equal(cache.size, 0, "inodes not seen in a poll are forgotten");
});
