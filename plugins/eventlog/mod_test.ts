import assert from "node:assert/strict";
import type { Alert } from "../../src/model/types.ts";
import { change } from "../../src/plugin/testdata/changes.ts";
import { testContext } from "../../src/plugin/testdata/harness.ts";
import eventlog, { createEventlogPlugin, type EventLogEntry, eventMessage } from "./mod.ts";

function alert(severity: Alert["severity"], message = `a ${severity} alert`): Alert {
  return { time: 1_700_000_000_000, pluginId: "new-listener", severity, message, change: change() };
}

Deno.test("eventlog: on Windows, each alert becomes an event of the matching type", async () => {
  const written: EventLogEntry[] = [];
  let loads = 0;
  const factory = createEventlogPlugin({
    os: "windows",
    load: () => {
      loads++;
      return Promise.resolve((e: EventLogEntry) => void written.push(e));
    },
  });
  const options = { source: "PortReporterTest", minSeverity: "warning" };
  const t = testContext("eventlog", options);
  const p = factory(options);
  await p.init!(options, t.ctx);
  await p.onAlerts!([alert("info"), alert("warning"), alert("critical")]);
  assert.equal(loads, 1);
  assert.deepEqual(written.map((e) => [e.source, e.type]), [["PortReporterTest", "warning"], [
    "PortReporterTest",
    "error",
  ]]);
  assert.ok(written[0].message.startsWith("a warning alert\r\n\r\n{"));
  assert.deepEqual(t.lines, []);
});

Deno.test("eventlog: write failures are logged once and counted", async () => {
  const factory = createEventlogPlugin({
    os: "windows",
    load: () =>
      Promise.resolve(() => {
        throw new Error("ReportEventW failed with code 5");
      }),
  });
  const t = testContext("eventlog");
  const p = factory({});
  await p.init!({}, t.ctx);
  await p.onAlerts!([alert("info"), alert("warning")]);
  await p.close!();
  assert.deepEqual(t.lines.map((l) => l.slice(0, 40)), [
    "cannot write to the event log: ReportEve",
    "2 event log writes failed in total",
  ]);
});

Deno.test("eventlog: elsewhere, one warning at start and nothing else", async () => {
  let loaded = false;
  const factory = createEventlogPlugin({
    os: "linux",
    load: () => {
      loaded = true;
      return Promise.reject(new Error("must not load"));
    },
  });
  const t = testContext("eventlog");
  const p = factory({});
  await p.init!({}, t.ctx);
  await p.onAlerts!([alert("critical")]);
  await p.close!();
  assert.equal(loaded, false);
  assert.deepEqual(t.lines, ["the Windows event log does not exist on linux; alerts are not written there"]);
});

Deno.test("eventlog: the real plugin on this OS", async () => {
  const t = testContext("eventlog");
  const p = eventlog({});
  if (Deno.build.os !== "windows") {
    await p.init!({}, t.ctx);
    await p.onAlerts!([alert("info")]);
    assert.equal(t.lines.length, 1);
  }
  assert.throws(() => eventlog({ minSeverity: "loud" }), /minSeverity/);
  assert.throws(() => eventlog({ sauce: "x" }), /unknown option "sauce"/);
});

Deno.test("eventlog: long messages are cut below the event size limit", () => {
  const text = eventMessage(alert("info", "x".repeat(40_000)));
  assert.ok(text.length <= 30_000);
  assert.ok(text.endsWith("(truncated)"));
});
