import assert from "node:assert/strict";
import { parseTimeForm, requireTimeForm } from "./time_forms.ts";
import { UsageError } from "../errors.ts";

// 2026-03-29 is the spring DST change in Europe/Berlin (02:00 CET → 03:00 CEST)
const NOW = Date.parse("2026-03-30T10:30:00Z"); // 12:30 CEST
const ctx = { now: NOW, timeZone: "Europe/Berlin" };

Deno.test("time forms: ISO 8601 with a zone is that instant", () => {
  assert.equal(parseTimeForm("2026-03-30T08:00:00Z", ctx), Date.parse("2026-03-30T08:00:00Z"));
  assert.equal(parseTimeForm("2026-03-30T10:00:00+02:00", ctx), Date.parse("2026-03-30T08:00:00Z"));
  assert.equal(parseTimeForm("2026-03-30T10:00+0200", ctx), Date.parse("2026-03-30T08:00:00Z"));
  assert.equal(parseTimeForm("2026-03-30T08:00:00.250Z", ctx), Date.parse("2026-03-30T08:00:00.250Z"));
});

Deno.test("time forms: ISO without a zone, 'YYYY-MM-DD HH:MM' and a date are local time", () => {
  assert.equal(parseTimeForm("2026-03-30T10:00:00", ctx), Date.parse("2026-03-30T08:00:00Z"));
  assert.equal(parseTimeForm("2026-03-30 10:00", ctx), Date.parse("2026-03-30T08:00:00Z"));
  assert.equal(parseTimeForm("2026-03-28 10:00:30", ctx), Date.parse("2026-03-28T09:00:30Z")); // still CET
  assert.equal(parseTimeForm("2026-03-30", ctx), Date.parse("2026-03-29T22:00:00Z"));
});

Deno.test("time forms: HH:MM is today, local", () => {
  assert.equal(parseTimeForm("10:00", ctx), Date.parse("2026-03-30T08:00:00Z"));
  assert.equal(parseTimeForm("7:05:09", ctx), Date.parse("2026-03-30T05:05:09Z"));
});

Deno.test("time forms: relative, now, today and yesterday (local midnights across the DST change)", () => {
  assert.equal(parseTimeForm("-2h", ctx), NOW - 7_200_000);
  assert.equal(parseTimeForm("-30m", ctx), NOW - 1_800_000);
  assert.equal(parseTimeForm("-45s", ctx), NOW - 45_000);
  assert.equal(parseTimeForm("-1d", ctx), NOW - 86_400_000);
  assert.equal(parseTimeForm("-1.5h", ctx), NOW - 5_400_000);
  assert.equal(parseTimeForm("now", ctx), NOW);
  assert.equal(parseTimeForm("today", ctx), Date.parse("2026-03-29T22:00:00Z")); // midnight CEST
  assert.equal(parseTimeForm("yesterday", ctx), Date.parse("2026-03-28T23:00:00Z")); // midnight CET
  assert.equal(parseTimeForm("Today", ctx), Date.parse("2026-03-29T22:00:00Z"));
});

Deno.test("time forms: nonsense and impossible dates are refused with one line naming the flag", () => {
  for (
    const bad of [
      "",
      "soon",
      "25:00",
      "2026-02-30 10:00",
      "2026-13-01",
      "-2y",
      "10:61",
      "2026-03-30T10:00:00Q",
    ]
  ) {
    assert.equal(parseTimeForm(bad, ctx), undefined, bad);
  }
  assert.throws(() => requireTimeForm("--since", "soon", ctx), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /^--since: 'soon' is not a time; use ISO 8601/);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
});
