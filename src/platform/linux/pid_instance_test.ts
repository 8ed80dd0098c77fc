import assert from "node:assert/strict";
import { pidInstanceToken } from "./pid_instance.ts";

Deno.test("pidInstanceToken: stable for a live process, different for another, gone after exit", async () => {
  const own = pidInstanceToken("/proc", Deno.pid);
  assert.ok(own !== undefined && /^\d+:\d+$/.test(own), own);
  assert.equal(pidInstanceToken("/proc", Deno.pid), own);
  const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const token = pidInstanceToken("/proc", child.pid);
    assert.ok(token !== undefined);
    assert.notEqual(token, own);
    assert.equal(pidInstanceToken("/proc", child.pid), token);
  } finally {
    child.kill("SIGKILL");
    await child.status; // reaped: the pid no longer exists
  }
  assert.equal(pidInstanceToken("/proc", child.pid), undefined);
  assert.equal(pidInstanceToken("/proc", 0x7ffffff0), undefined);
});
