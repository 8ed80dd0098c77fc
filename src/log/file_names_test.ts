import assert from "node:assert/strict";
import { formatStamp, logFileName, parseLogFileName } from "./file_names.ts";

Deno.test("stamp grammar matches the original's example (2-digit year, padded month, the rest unpadded)", () => {
  const stamp = formatStamp({ year: 2005, month: 7, day: 6, hour: 13, minute: 44, second: 4 });
  assert.equal(stamp, "05-07-6-13-44-4");
  assert.equal(logFileName("PIDS", stamp), "PR-PIDS-05-07-6-13-44-4.log");
  assert.equal(logFileName("EVENTS", stamp), "PR-EVENTS-05-07-6-13-44-4.jsonl");
  assert.equal(
    formatStamp({ year: 2026, month: 12, day: 31, hour: 0, minute: 0, second: 0 }),
    "26-12-31-0-0-0",
  );
});

Deno.test("names parse back, tolerantly, and sort by time rather than by text", () => {
  const p = parseLogFileName("pr-ports-04-03-16-14-31-24.log");
  assert.equal(p?.kind, "PORTS");
  assert.deepEqual(p?.stamp, { year: 2004, month: 3, day: 16, hour: 14, minute: 31, second: 24 });
  const names = ["PR-PORTS-05-07-10-1-0-0.log", "PR-PORTS-05-07-6-13-44-4.log", "PR-PORTS-05-07-6-9-0-0.log"];
  const sorted = names.map((n) => [n, parseLogFileName(n)!.order] as const).sort((a, b) => a[1] - b[1]).map((
    x,
  ) => x[0]);
  assert.deepEqual(sorted, [
    "PR-PORTS-05-07-6-9-0-0.log",
    "PR-PORTS-05-07-6-13-44-4.log",
    "PR-PORTS-05-07-10-1-0-0.log",
  ]);
  for (const kind of ["INITIAL", "PORTS", "PIDS", "EVENTS", "ALERTS"] as const) {
    const stamp = formatStamp({ year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5 });
    assert.equal(parseLogFileName(logFileName(kind, stamp))?.kind, kind);
  }
});

Deno.test("names that are not log files, or have impossible fields, are rejected", () => {
  for (
    const bad of [
      "PR-PORTS-05-13-6-13-44-4.log",
      "PR-PORTS-05-07-6-24-0-0.log",
      "PR-PORTS-05-07-6-13-44.log",
      "PR-EVENTS-05-07-6-13-44-4.log",
      "PR-PORTS-05-07-6-13-44-4.jsonl",
      "PR-OTHER-05-07-6-13-44-4.log",
      "notes.txt",
    ]
  ) assert.equal(parseLogFileName(bad), undefined, bad);
});

Deno.test("a later set in the same second gets a sequence suffix that parses and sorts after the plain stamp", () => {
  const parts = { year: 2026, month: 11, day: 26, hour: 4, minute: 43, second: 3 };
  assert.equal(formatStamp(parts, 0), "26-11-26-4-43-3");
  assert.equal(formatStamp(parts, 2), "26-11-26-4-43-3_2");
  const names = [
    "PR-PORTS-26-11-26-4-43-4.log",
    "PR-PORTS-26-11-26-4-43-3_10.log",
    "PR-PORTS-26-11-26-4-43-3_2.log",
    "PR-PORTS-26-11-26-4-43-3.log",
  ];
  const sorted = [...names].sort((a, b) => parseLogFileName(a)!.order - parseLogFileName(b)!.order);
  assert.deepEqual(sorted, [names[3], names[2], names[1], names[0]]);
  const p = parseLogFileName("PR-EVENTS-26-11-26-4-43-3_999.jsonl")!;
  assert.deepEqual([p.kind, p.sequence, p.stampText], ["EVENTS", 999, "26-11-26-4-43-3_999"]);
  assert.equal(parseLogFileName("PR-PIDS-26-11-26-4-43-3.log")!.stampText, "26-11-26-4-43-3");
  for (
    const bad of [
      "PR-PORTS-26-11-26-4-43-3_1.log",
      "PR-PORTS-26-11-26-4-43-3_.log",
      "PR-PORTS-26-11-26-4-43-3_1000.log",
    ]
  ) {
    assert.equal(parseLogFileName(bad), undefined, bad);
  }
  assert.ok(Number.isSafeInteger(parseLogFileName("PR-PORTS-99-12-31-23-59-59_999.log")!.order));
});
