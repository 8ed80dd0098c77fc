/**
 * The service host against a fake SCM box (the real one runs under wine's services.exe in
 * test/windows/scm/): status order, checkpoints that rise only on progress, the start bound, and the
 * exit codes the SCM's failure actions see.
 */
import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import type { Collector } from "../model/types.ts";
import type { ScmBox, ServiceHooks } from "../platform/windows/scm.ts";
import {
  SERVICE_CONTROL_STOP,
  SERVICE_RUNNING,
  SERVICE_STOP_PENDING,
  SERVICE_STOPPED,
  type ServiceStatus,
} from "../platform/windows/service_layouts.ts";
import type { Settings } from "../cli/settings.ts";
import { runService, type ServiceDeps } from "./windows_service.ts";

interface Harness {
  deps: ServiceDeps;
  statuses: ServiceStatus[];
  events: string[];
  hooks: Promise<ServiceHooks>;
  stopDispatcher: () => void;
}

function harness(
  run: ServiceDeps["run"],
  opts: { progressSteps?: number; startLimitMs?: number } = {},
): Harness {
  const statuses: ServiceStatus[] = [];
  const events: string[] = [];
  const hooks = Promise.withResolvers<ServiceHooks>();
  const dispatcher = Promise.withResolvers<number>();
  const scm: ScmBox = {
    dispatch(_name, h) {
      hooks.resolve(h);
      return dispatcher.promise;
    },
    register: () => Deno.UnsafePointer.create(0x1234n),
    setStatus(_h, s) {
      statuses.push(s);
      if (s.currentState === SERVICE_STOPPED) dispatcher.resolve(1); // the SCM ends the dispatcher
      return Promise.resolve(1);
    },
    close() {},
  };
  const collector = { collect: () => Promise.reject(new Error("unused")), hostInfo: () => ({}), close() {} };
  const deps: ServiceDeps = {
    scm,
    event: (type, id, message) => void events.push(`${type} ${id} ${message}`),
    settings: () => Promise.resolve({ logDir: "C:\\logs" } as Settings),
    collector: (progress) => {
      for (let i = 0; i < (opts.progressSteps ?? 0); i++) progress();
      return Promise.resolve(collector as unknown as Collector);
    },
    run,
    startLimitMs: opts.startLimitMs,
  };
  return { deps, statuses, events, hooks: hooks.promise, stopDispatcher: () => dispatcher.resolve(0) };
}

const states = (ss: ServiceStatus[]) => ss.map((s) => `${s.currentState}/${s.checkPoint}`);

Deno.test("service host: start, progress checkpoints, RUNNING, stop, STOPPED with exit 0", async () => {
  const h = harness(async (_settings, hooks) => {
    hooks.onStarted?.("C:\\logs", []);
    await new Promise((r) => hooks.signal.addEventListener("abort", r));
    return {} as Awaited<ReturnType<ServiceDeps["run"]>>;
  }, { progressSteps: 3 });
  const code = runService({}, undefined, h.deps);
  const hooks = await h.hooks;
  hooks.main(["PortReporter"]);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(h.statuses.at(-1)?.currentState, SERVICE_RUNNING);
  // START_PENDING 1, then one checkpoint per real step: settings read, 3 collector steps
  assert.deepEqual(states(h.statuses), ["2/1", "2/2", "2/3", "2/4", "2/5", "4/0"]);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.statuses.length, 6, "no checkpoint without progress (no timer advancing it)");
  assert.equal(hooks.control(SERVICE_CONTROL_STOP), 0);
  assert.equal(await code, 0);
  assert.deepEqual(states(h.statuses.slice(6)), [
    `${SERVICE_STOP_PENDING}/1`,
    `${SERVICE_STOP_PENDING}/2`,
    "1/0",
  ]);
  assert.equal(h.statuses.at(-1)?.win32ExitCode ?? 0, 0);
  assert.deepEqual(h.events.map((e) => e.split(" ").slice(0, 2).join(" ")), ["info 1", "info 2", "info 3"]);
  assert.equal(h.statuses[0].waitHint, 30_000);
});

Deno.test("service host: a usage error stops with win32 exit code 0 (no restart loop) and process exit 2", async () => {
  const h = harness(() => Promise.reject(new UsageError("log directory C:\\x is not writable: fix its ACL")));
  const code = runService({}, undefined, h.deps);
  (await h.hooks).main(["PortReporter"]);
  assert.equal(await code, 2);
  const last = h.statuses.at(-1)!;
  assert.equal(last.currentState, SERVICE_STOPPED);
  assert.equal(last.win32ExitCode ?? 0, 0);
  assert.match(h.events.at(-1)!, /^error 5 The Port Reporter service could not start: log directory/);
});

Deno.test("service host: a runtime fault stops with 1066/1 so the SCM's failure actions restart it", async () => {
  const h = harness(() => Promise.reject(new Error("GetExtendedTcpTable failed with code 3221225473")));
  const code = runService({}, undefined, h.deps);
  (await h.hooks).main(["PortReporter"]);
  assert.equal(await code, 1);
  const last = h.statuses.at(-1)!;
  assert.deepEqual([last.currentState, last.win32ExitCode, last.serviceSpecificExitCode], [
    SERVICE_STOPPED,
    1066,
    1,
  ]);
});

Deno.test("service host: a start that never finishes fails after its bound instead of pending forever", async () => {
  const h = harness(() => new Promise(() => {}), { startLimitMs: 30 });
  const code = runService({}, undefined, h.deps);
  (await h.hooks).main(["PortReporter"]);
  assert.equal(await code, 1);
  assert.deepEqual(states(h.statuses), ["2/1", "2/2", "1/0"]);
  assert.equal(h.statuses.at(-1)!.win32ExitCode, 1066);
  assert.match(h.events.at(-1)!, /could not start: the start did not finish within 0\.03 s/);
});

Deno.test("service host: a bad registered command line is reported to the SCM as a usage error", async () => {
  const h = harness(() => Promise.reject(new Error("not reached")));
  const code = runService({}, new UsageError("unknown option --bogus"), h.deps);
  (await h.hooks).main(["PortReporter"]);
  assert.equal(await code, 2);
  assert.match(h.events.at(-1)!, /unknown option --bogus/);
});

Deno.test("service host: not started by the SCM, it says so and exits 2", async () => {
  const h = harness(() => Promise.reject(new Error("not reached")));
  const errors: string[] = [];
  const original = console.error;
  console.error = (line: string) => void errors.push(line);
  try {
    const code = runService({}, undefined, h.deps);
    await h.hooks;
    h.stopDispatcher();
    assert.equal(await code, 2);
  } finally {
    console.error = original;
  }
  assert.match(errors[0], /must be started by the service control manager/);
  assert.equal(h.statuses.length, 0);
});
