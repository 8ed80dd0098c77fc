import assert from "node:assert/strict";
import { RecentMap } from "./recent_map.ts";

/** The reference: a `Map` whose order is the use order, bumped by `delete` then `set`. */
class Reference {
  readonly map = new Map<number, string>();
  touch(key: number) {
    const value = this.map.get(key);
    if (value === undefined) return;
    this.map.delete(key);
    this.map.set(key, value);
  }
}

Deno.test("RecentMap keeps the use order of a Map bumped by delete and set, through random uses", () => {
  const capacity = 40;
  const recent = new RecentMap<string>(capacity);
  const reference = new Reference();
  let seed = 12345;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let step = 0; step < 20_000; step++) {
    const key = 1000 + random(3 * capacity);
    const op = random(10);
    if (op < 5) {
      recent.touch(key);
      reference.touch(key);
    } else if (op < 9) {
      if (recent.size >= capacity) {
        recent.deleteOldest();
        reference.map.delete(reference.map.keys().next().value!);
      }
      recent.set(key, `v${step}`);
      reference.map.set(key, `v${step}`); // a key held keeps its place
    } else {
      recent.deleteOldest();
      const oldest = reference.map.keys().next();
      if (!oldest.done) reference.map.delete(oldest.value);
    }
    assert.equal(recent.size, reference.map.size);
    assert.equal(recent.get(key), reference.map.get(key));
  }
  assert.deepEqual([...recent.keys()], [...reference.map.keys()]);
  for (const [key, value] of reference.map) assert.equal(recent.get(key), value);
});

Deno.test("RecentMap refuses a new key when full, and takes one again once the oldest is gone", () => {
  const recent = new RecentMap<number>(2);
  recent.set(7, 70);
  recent.set(8, 80);
  recent.touch(7);
  assert.throws(() => recent.set(9, 90), RangeError);
  recent.set(8, 81); // held: no new slot
  recent.deleteOldest(); // 8: 7 was used since
  recent.set(9, 90);
  assert.deepEqual([...recent.keys()], [7, 9]);
  assert.deepEqual([recent.get(7), recent.get(8), recent.get(9)], [70, undefined, 90]);
});
