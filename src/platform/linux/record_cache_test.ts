import assert from "node:assert/strict";
import { RAW_WORDS, RecordCache } from "./record_cache.ts";
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

/** The raw words of a message at word offset `base` in a larger buffer (family 2, state 1, ports, addresses). */
function message(base: number, state = 1, timerBytes = 0): Uint32Array {
  const words = new Uint32Array(base + RAW_WORDS + 4);
  words.set(
    [2 | (state << 8) | (timerBytes << 16), 0x88135000, 0x0100007f, 0, 0, 0, 0x0100007f, 0, 0, 0, 0],
    base,
  );
  return words;
}

Deno.test("an unchanged socket gets its previous record back; a changed state decodes afresh; timers are ignored", () => {
  const cache = new RecordCache();
  cache.beginPoll();
  assert.equal(cache.lookup(77, message(3), 3), undefined);
  const first = record(0);
  cache.store(77, first, message(3), 3);
  cache.settleOwners([first]);
  cache.beginPoll();
  assert.equal(cache.lookup(77, message(5), 5), first, "the same words at another offset");
  assert.equal(
    cache.lookup(77, message(0, 1, 0x0302), 0),
    first,
    "idiag_timer / idiag_retrans bytes do not matter",
  );
  assert.equal(cache.lookup(77, message(0, 8), 0), undefined, "CLOSE_WAIT is a change");
  assert.deepEqual(cache.stats, { reused: 2, decoded: 0 });
});

Deno.test("a reused record whose owner changed is replaced by a copy; the emitted one is never mutated", () => {
  const cache = new RecordCache();
  cache.beginPoll();
  const rows = [record(0)];
  cache.store(77, rows[0], message(0), 0);
  rows[0].pid = 10; // the owner map assigns the owner in place
  cache.settleOwners(rows);
  const handedOut = rows[0];
  cache.beginPoll();
  const again = [cache.lookup(77, message(0), 0)!];
  assert.equal(again[0], handedOut);
  again[0].pid = 20; // a new owner
  cache.settleOwners(again);
  assert.notEqual(again[0], handedOut, "a copy replaces it");
  assert.equal(again[0].pid, 20);
  assert.equal(handedOut.pid, 10, "the record the tracker holds keeps its pid");
  cache.beginPoll();
  assert.equal(cache.lookup(77, message(0), 0), again[0], "the copy is what is cached now");
  cache.settleOwners(again);
  cache.beginPoll();
  cache.settleOwners([]);
  assert.equal(cache.size, 0, "inodes not seen in a poll are forgotten");
});

Deno.test("many sockets: the raw words survive the slab growing, and freed slots are reused without mix-ups", () => {
  const cache = new RecordCache();
  const wordsOf = (inode: number) => {
    const words = message(0);
    words[1] = inode; // ports: one per socket
    return words;
  };
  const recordOf = (inode: number): SocketRecord => ({ ...record(0), inode, localPort: inode });
  cache.beginPoll();
  const rows = Array.from({ length: 1000 }, (_, i) => recordOf(i + 1));
  for (const row of rows) cache.store(row.inode!, row, wordsOf(row.inode!), 0);
  cache.settleOwners(rows);
  // Next poll: only the odd inodes are still there; the even ones are forgotten (their slots freed).
  cache.beginPoll();
  const odd = rows.filter((r) => r.inode! % 2 === 1);
  for (const row of odd) assert.equal(cache.lookup(row.inode!, wordsOf(row.inode!), 0), row);
  cache.settleOwners(odd);
  assert.equal(cache.size, 500);
  // New sockets take the freed slots; the old ones still match only their own words.
  cache.beginPoll();
  const fresh = Array.from({ length: 500 }, (_, i) => recordOf(5001 + i));
  for (const row of fresh) cache.store(row.inode!, row, wordsOf(row.inode!), 0);
  for (const row of odd) {
    assert.equal(cache.lookup(row.inode!, wordsOf(row.inode!), 0), row);
    assert.equal(cache.lookup(row.inode!, wordsOf(row.inode! + 1), 0), undefined);
  }
  for (const row of fresh) assert.equal(cache.lookup(row.inode!, wordsOf(row.inode!), 0), row);
  cache.settleOwners([...odd, ...fresh]);
  assert.equal(cache.size, 1000);
});

Deno.test("owner pids kept per slot survive the arrays growing: only a changed owner makes a copy", () => {
  const cache = new RecordCache();
  const wordsOf = (inode: number) => {
    const words = message(0);
    words[1] = inode;
    return words;
  };
  cache.beginPoll();
  const rows = Array.from({ length: 700 }, (_, i) => ({ ...record(0), inode: i + 1, localPort: i + 1 }));
  for (const row of rows) cache.store(row.inode, row, wordsOf(row.inode), 0);
  rows.forEach((row) => row.pid = 1000 + row.inode); // owners assigned in place after the store
  cache.settleOwners(rows); // new records remember the pid they were handed out with
  cache.beginPoll();
  const again = rows.map((row) => cache.lookup(row.inode, wordsOf(row.inode), 0)!);
  assert.deepEqual(again.map((r, i) => r === rows[i]), rows.map(() => true));
  again[3].pid = 7; // the first slots, from before the growth, and the last
  again[699].pid = 8;
  cache.settleOwners(again);
  assert.equal(again.filter((r, i) => r !== rows[i]).length, 2, "two copies, the rest kept");
  assert.deepEqual([again[3].pid, rows[3].pid, again[699].pid, rows[699].pid], [7, 1004, 8, 1700]);
});
