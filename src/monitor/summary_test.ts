import assert from "node:assert/strict";
import { plural, stopSummary } from "./summary.ts";

Deno.test("plural: one poll, two polls, zero polls", () => {
  assert.equal(plural(1, "poll"), "1 poll");
  assert.equal(plural(2, "poll"), "2 polls");
  assert.equal(plural(0, "byte"), "0 bytes");
});

Deno.test("the stop summary names every kind of loss, singular and plural right", () => {
  const base = {
    polls: 1,
    changes: 1,
    alerts: 0,
    collectErrors: 1,
    overruns: 0,
    writeErrors: 1,
    refusedChanges: 3,
    warnings: {},
    losses: { writeFailures: 0, lostChanges: 0, droppedRecords: 0 },
  };
  assert.equal(
    stopSummary(base),
    "stopped after 1 poll: 1 change and 0 alerts written; 1 write failure, 3 lost changes, 0 dropped records, " +
      "1 failed poll, 0 overruns, 0 warnings",
  );
  assert.equal(
    stopSummary({
      ...base,
      polls: 7,
      writeErrors: 0,
      refusedChanges: 0,
      warnings: { "owner-scan-denied": 2, "process-vanished": 1, "modules-unreadable": 0 },
      losses: { writeFailures: 4, lostChanges: 1, droppedRecords: 2 },
    }),
    "stopped after 7 polls: 1 change and 0 alerts written; 4 write failures, 1 lost change, 2 dropped records, " +
      "1 failed poll, 0 overruns, 3 warnings (owner-scan-denied 2, process-vanished 1)",
  );
});
