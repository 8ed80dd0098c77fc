import assert from "node:assert/strict";
import { defaultWindowsLogDir } from "./paths.ts";

Deno.test("defaultWindowsLogDir: %SystemRoot%\\System32\\LogFiles\\PortReporter", () => {
  const saved = Deno.env.get("SystemRoot");
  try {
    Deno.env.set("SystemRoot", "D:\\Win\\");
    assert.equal(defaultWindowsLogDir(), "D:\\Win\\System32\\LogFiles\\PortReporter");
    Deno.env.delete("SystemRoot");
    if (Deno.build.os !== "windows") {
      assert.equal(defaultWindowsLogDir(), "C:\\Windows\\System32\\LogFiles\\PortReporter");
    }
  } finally {
    if (saved === undefined) Deno.env.delete("SystemRoot");
    else Deno.env.set("SystemRoot", saved);
  }
});

Deno.test({
  name: "the Windows modules import on any OS (DLLs open lazily); the event log refuses off Windows",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const { createWindowsCollector } = await import("./collector.ts");
    const { writeEventLog } = await import("./eventlog.ts");
    assert.equal(typeof createWindowsCollector, "function");
    assert.throws(() => writeEventLog({ source: "s", type: "info", message: "m" }), /only on Windows/);
  },
});
