import assert from "node:assert/strict";
import { CLOCK_JUMP_MS, FirstSeenWall, Timeline } from "./timeline.ts";

Deno.test("the timeline follows small drift silently and reports a jump over a minute either way", () => {
  const t = new Timeline(1_000_000, 50);
  assert.equal(t.continuous(1050), 1_001_000);
  assert.equal(t.observe(1_001_000, 1050), undefined);
  assert.equal(t.observe(1_002_000 + CLOCK_JUMP_MS, 2050), undefined, "exactly one minute is not a jump");
  assert.deepEqual(t.observe(1_003_000 + CLOCK_JUMP_MS + 1 + CLOCK_JUMP_MS, 3050), {
    expected: 1_003_000 + CLOCK_JUMP_MS,
    actual: 1_003_000 + 2 * CLOCK_JUMP_MS + 1,
  });
  assert.deepEqual(t.observe(1_004_000, 4050), {
    expected: 1_004_000 + 2 * CLOCK_JUMP_MS + 1,
    actual: 1_004_000,
  });
  assert.equal(t.toWall(t.continuous(4050)), 1_004_000);
  assert.equal(t.toContinuous(1_004_000), t.continuous(4050));
});

Deno.test("first-seen wall times are held while an endpoint of that poll is open, then forgotten", () => {
  const f = new FirstSeenWall();
  f.opened(10.5, 1000);
  f.opened(10.5, 1000);
  f.opened(20.25, 2000);
  assert.equal(f.wallOf(10.5), 1000);
  f.closed(10.5);
  assert.equal(f.wallOf(10.5), 1000, "one endpoint of that poll is still open");
  f.closed(10.5);
  assert.equal(f.wallOf(10.5), undefined);
  assert.equal(f.size, 1);
});
