import assert from "node:assert/strict";
import { rotationReason } from "./rotation.ts";
import { LocalTime } from "./local_time.ts";

Deno.test("midnight: a new local day rotates, in the zone's own time", () => {
  const tokyo = new LocalTime("Asia/Tokyo");
  const before = Date.UTC(2026, 10, 26, 14, 59, 59); // 23:59:59 in Tokyo
  const after = before + 1000; // 00:00:00 next day in Tokyo
  assert.equal(rotationReason(tokyo.dayKey(before), tokyo.dayKey(before), [], 100), null);
  assert.equal(rotationReason(tokyo.dayKey(before), tokyo.dayKey(after), [], 100), "midnight");
  const utc = new LocalTime("UTC");
  assert.equal(utc.dayKey(before), utc.dayKey(after), "the same instants are one day in UTC");
});

Deno.test("DST: the spring-forward and fall-back days in New York rotate once each, at local midnight", () => {
  const ny = new LocalTime("America/New_York");
  // 2026-03-08: clocks jump 02:00 -> 03:00 (a 23-hour day); 2026-11-01: 02:00 -> 01:00 (25 hours)
  for (const [startUtc, hours] of [[Date.UTC(2026, 2, 8, 5), 23], [Date.UTC(2026, 10, 1, 4), 25]] as const) {
    let rotations = 0;
    let day = ny.dayKey(startUtc);
    assert.equal(ny.parts(startUtc).hour, 0, "the walk starts at local midnight");
    for (let t = startUtc; t <= startUtc + (hours + 1) * 3600_000; t += 60_000) {
      const now = ny.dayKey(t);
      if (rotationReason(day, now, [], 1) === "midnight") {
        rotations++;
        day = now;
        assert.equal(t - startUtc, hours * 3600_000, "the next midnight is 23/25 real hours later");
        assert.deepEqual([ny.parts(t).hour, ny.parts(t).minute], [0, 0]);
      }
    }
    assert.equal(rotations, 1);
  }
  const fallBack = ny.parts(Date.UTC(2026, 10, 1, 5, 30));
  const again = ny.parts(Date.UTC(2026, 10, 1, 6, 30));
  assert.deepEqual([fallBack.hour, again.hour], [1, 1], "the repeated hour repeats local fields");
});

Deno.test("size: exactly at the limit stays, one byte over rotates, a header-only file never rotates", () => {
  const f = (size: number, pending: number, headerSize = 10) => [{ size, headerSize, pending }];
  assert.equal(rotationReason("d", "d", f(90, 10), 100), null, "90 + 10 = 100 fits exactly");
  assert.equal(rotationReason("d", "d", f(90, 11), 100), "size");
  assert.equal(rotationReason("d", "d", f(10, 500), 100), null, "only a header: the batch goes in whole");
  assert.equal(rotationReason("d", "d", f(100, 0), 100), null, "nothing to write");
  assert.equal(
    rotationReason("d", "d", [...f(1, 1), ...f(95, 6)], 100),
    "size",
    "any file of the set counts",
  );
});
