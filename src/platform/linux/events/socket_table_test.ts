import assert from "node:assert/strict";
import { SocketTable, type TableEntry } from "./socket_table.ts";

interface Socket extends TableEntry {
  name: string;
}
const socket = (name: string): Socket => ({ name, skHigh: 0, skSeq: 0 });

Deno.test("sockets whose addresses share a low word are told apart by the high one", () => {
  const table = new SocketTable<Socket>();
  const [a, b, c] = [socket("a"), socket("b"), socket("c")];
  table.add(0x8040_1000, 0xffff_8880, a);
  table.add(0x8040_1000, 0xffff_8881, b); // 4 GiB further: the same low word
  table.add(0x0000_1000, 0x0000_0001, c); // not a kernel address: kept exact all the same
  assert.equal(table.size, 3);
  assert.equal(table.get(0x8040_1000, 0xffff_8880), a);
  assert.equal(table.get(0x8040_1000, 0xffff_8881), b);
  assert.equal(table.get(0x8040_1000, 0xffff_8882), undefined);
  assert.equal(table.get(0x0000_1000, 0x0000_0001), c);
  table.delete(0x8040_1000, 0xffff_8880);
  assert.equal(table.get(0x8040_1000, 0xffff_8880), undefined);
  assert.equal(table.get(0x8040_1000, 0xffff_8881), b, "the other one stays");
  const d = socket("d");
  table.add(0x8040_1000, 0xffff_8880, d); // its address again (the kernel reused it)
  assert.equal(table.get(0x8040_1000, 0xffff_8880), d);
  table.delete(0x8040_1000, 0xffff_8881);
  assert.equal(table.get(0x8040_1000, 0xffff_8881), undefined);
  assert.equal(table.size, 2);
});

Deno.test("the sockets added first are forgotten first, wherever each is kept", () => {
  const table = new SocketTable<Socket>();
  const added: [number, number, Socket][] = [];
  for (let i = 0; i < 12; i++) {
    const low = 0x1000 * (i % 4), high = 0xffff_8880 + Math.floor(i / 4); // 4 low words, 3 times each
    const s = socket(`s${i}`);
    table.add(low, high, s);
    added.push([low, high, s]);
  }
  table.forgetOldest(5);
  assert.equal(table.size, 7);
  assert.deepEqual(
    added.map(([low, high, s]) => table.get(low, high) === s),
    [false, false, false, false, false, true, true, true, true, true, true, true],
  );
  table.forgetOldest(100);
  assert.equal(table.size, 0);
});
