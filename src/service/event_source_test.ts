import assert from "node:assert/strict";
import { change } from "../plugin/testdata/changes.ts";
import { testContext } from "../plugin/testdata/harness.ts";
import { createEventlogPlugin, type EventLogEntry } from "../../plugins/eventlog/mod.ts";
import { EVENT_SOURCE } from "../platform/windows/event_source.ts";
import { LOG_DIR_SDDL } from "../platform/windows/private_dir.ts";
import { EVENT_SOURCE as SERVICE_SOURCE } from "./service_support.ts";

Deno.test("event source: install.ps1 registers the source the service and the eventlog plugin write under", async () => {
  const ps1 = Deno.readTextFileSync(new URL("../../install.ps1", import.meta.url));
  const registered = ps1.match(/^\$script:EventSource = '([^']+)'/m)?.[1];
  assert.equal(registered, EVENT_SOURCE);
  assert.equal(SERVICE_SOURCE, EVENT_SOURCE);
  const written: EventLogEntry[] = [];
  const factory = createEventlogPlugin({
    os: "windows",
    load: () => Promise.resolve((e: EventLogEntry) => void written.push(e)),
  });
  const t = testContext("eventlog", {});
  const p = factory({});
  await p.init!({}, t.ctx);
  await p.onAlerts!([{ time: 1, pluginId: "x", severity: "critical", message: "m", change: change() }]);
  assert.deepEqual(written.map((e) => e.source), [EVENT_SOURCE]);
});

Deno.test({
  name: "the Windows modules import on any OS (DLLs open lazily); the event log refuses off Windows",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const { createWindowsCollector } = await import("../platform/windows/collector.ts");
    const { writeEventLog } = await import("../platform/windows/eventlog.ts");
    assert.equal(typeof createWindowsCollector, "function");
    assert.throws(() => writeEventLog({ source: "s", type: "info", message: "m" }), /only on Windows/);
  },
});

Deno.test("log directory ACL: the monitor creates its directory with install.ps1's protected DACL", () => {
  const ps1 = Deno.readTextFileSync(new URL("../../install.ps1", import.meta.url));
  assert.equal(ps1.match(/^\$script:LogDirSddl = '([^']+)'/m)?.[1], LOG_DIR_SDDL);
  assert.match(LOG_DIR_SDDL, /^O:BAD:PAI\(A;OICI;FA;;;SY\)\(A;OICI;FA;;;BA\)$/);
});
