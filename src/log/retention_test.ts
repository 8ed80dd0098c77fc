import assert from "node:assert/strict";
import { parseMaxAge, planRetention, setsOnDisk } from "./retention.ts";
import { UsageError } from "../errors.ts";

Deno.test("--max-age parses, 0 disables, bad values are one UsageError naming the setting", () => {
  assert.equal(parseMaxAge("90d", "--max-age"), 90 * 86_400_000);
  assert.equal(parseMaxAge("12h", "--max-age"), 12 * 3_600_000);
  assert.equal(parseMaxAge("2w", "--max-age"), 14 * 86_400_000);
  assert.equal(parseMaxAge(0, "maxAge"), 0);
  assert.throws(
    () => parseMaxAge("soon", "--max-age"),
    (e) => e instanceof UsageError && /--max-age: 'soon'/.test(e.message),
  );
});

Deno.test("planRetention: oldest first by parsed stamp (not by text), the open set kept whatever its age", () => {
  const sets = setsOnDisk([
    { name: "PR-PORTS-26-1-10-0-0-0.log", size: 10 },
    { name: "PR-PORTS-26-1-9-0-0-0.log", size: 10 },
    { name: "PR-PORTS-26-1-9-0-0-0_2.log", size: 10 },
    { name: "PR-PIDS-26-1-9-0-0-0_2.log", size: 10 },
  ]);
  assert.deepEqual(sets.map((s) => [s.stamp, s.bytes]), [["26-1-9-0-0-0", 10], ["26-1-9-0-0-0_2", 20], [
    "26-1-10-0-0-0",
    10,
  ]]);
  const now = Date.UTC(2026, 0, 10, 0, 0, 1);
  const plan = planRetention(sets, "26-1-9-0-0-0_2", now, { maxAgeMs: 0, maxTotalBytes: 15 });
  assert.deepEqual(plan.map((p) => [p.set.stamp, p.reason]), [["26-1-9-0-0-0", "max-total-size"], [
    "26-1-10-0-0-0",
    "max-total-size",
  ]]);
  assert.deepEqual(planRetention(sets, "x", now, { maxAgeMs: 0, maxTotalBytes: 0 }), []);
});
