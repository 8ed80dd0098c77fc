import assert from "node:assert/strict";
import type { SettingFlags } from "../cli/settings.ts";
import { UsageError } from "../errors.ts";
import {
  droppedWarningsMessage,
  EVENT_SOURCE,
  fatalMessage,
  logDirectoryMessage,
  mergeServiceFlags,
  NOT_STARTED_BY_SCM,
  serviceExitCode,
  STARTED_MESSAGE,
  STOPPED_MESSAGE,
  WarningLimiter,
  warningMessage,
} from "./service_support.ts";

Deno.test("service events: the original's two start events, verbatim", () => {
  assert.equal(EVENT_SOURCE, "Port Reporter");
  assert.equal(STARTED_MESSAGE, "The Port Reporter service was started.");
  assert.equal(
    logDirectoryMessage("C:\\WINDOWS\\system32\\LogFiles\\PortReporter"),
    "The Port Reporter service successfully created log files in the following directory: C:\\WINDOWS\\system32\\LogFiles\\PortReporter",
  );
  assert.equal(STOPPED_MESSAGE, "The Port Reporter service was stopped.");
  assert.equal(
    NOT_STARTED_BY_SCM,
    "portreporter service must be started by the service control manager; use 'portreporter run' to run in a console",
  );
});

Deno.test("service: fatal message and exit code by error kind", () => {
  const usage = new UsageError("cannot write to log directory X: a file is in the way");
  assert.equal(serviceExitCode(usage), 2);
  assert.equal(serviceExitCode(new Error("GetExtendedTcpTable failed")), 1);
  assert.equal(serviceExitCode("odd"), 1);
  assert.equal(fatalMessage(usage, false), `The Port Reporter service could not start: ${usage.message}`);
  assert.equal(
    fatalMessage(new Error("boom"), true),
    "The Port Reporter service stopped because of an error: boom",
  );
});

Deno.test("service: start parameters win over the registered command line, setting by setting", () => {
  const registered = { logDir: "C:\\logs", interval: "1s", plugin: ["a.ts"], help: false };
  assert.deepEqual(mergeServiceFlags(registered, {}), {
    logDir: "C:\\logs",
    interval: "1s",
    plugin: ["a.ts"],
  });
  assert.deepEqual(mergeServiceFlags(registered, { interval: "200", maxSize: undefined, plugin: ["b.ts"] }), {
    logDir: "C:\\logs",
    interval: "200",
    plugin: ["b.ts"],
  });
  const withHelp: SettingFlags & { help?: boolean } = { config: "c.jsonc", help: true };
  assert.deepEqual(mergeServiceFlags({}, withHelp), { config: "c.jsonc" });
});

Deno.test("WarningLimiter: a burst, then one per refill period; drops are counted and reported", () => {
  let now = 0;
  const limiter = new WarningLimiter({ burst: 3, refillMs: 1000, now: () => now });
  const take = () => limiter.take();
  assert.deepEqual([take(), take(), take()].map((v) => v.write), [true, true, true]);
  assert.deepEqual(take(), { write: false, dropped: 0 });
  assert.deepEqual(take(), { write: false, dropped: 0 });
  now = 999;
  assert.equal(take().write, false);
  now = 1000;
  assert.deepEqual(take(), { write: true, dropped: 3 });
  assert.equal(take().write, false);
  assert.equal(limiter.drain(), 1);
  assert.equal(limiter.drain(), 0);
  // a long quiet period refills to the burst, not beyond
  now = 100_000;
  assert.deepEqual([take(), take(), take(), take()].map((v) => v.write), [true, true, true, false]);
});

Deno.test("warning texts", () => {
  assert.equal(warningMessage("poll failed: x", 0), "Port Reporter: poll failed: x");
  assert.match(
    warningMessage("poll failed: x", 4),
    /\(4 earlier warnings were not written to the event log: rate limit\)$/,
  );
  assert.match(droppedWarningsMessage(7), /^Port Reporter: 7 warnings were not written/);
});
