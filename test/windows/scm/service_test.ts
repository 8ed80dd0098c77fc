/**
 * `portreporter service` under wine's services.exe (lab only; run by `scm/run_in_lab.sh`, which gives it a
 * persistent wineserver of its own and routes services.exe's stderr to wine's eventlog trace).
 *
 * - a registered service reaches RUNNING, writes its log set where its command line says, logs a socket
 *   of another wine process with that process's pid, stops within 5 s with every line flushed, and
 *   reports the original's two start events and the stop event;
 * - a service whose log directory cannot be created stops with an error event and win32 exit code 0: a
 *   usage or configuration error must not trigger the failure actions (install.ps1 sets failureflag 1),
 *   which would restart it into the same error;
 * - a service registered with an unknown option (`service --bogus`) is a usage error reported through the
 *   SCM, not a silent start timeout: STOPPED (exit code 0, see above) and an error event naming the option.
 *
 * The service's command line is self-sufficient: services.exe gives it the user profile's environment
 * (same LOCALAPPDATA, so the same DENO_DIR, but none of the lab's variables such as DENO_CERT) and cwd
 * C:\windows, so it runs `--cached-only` after a warm-up run from this process has filled the cache.
 *
 * Environment: PR_SVC_TRACE = wine's eventlog trace file (Windows path) when run_in_lab.sh owns the server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, waitFor } from "../../helpers.ts";
import { ignore, startHelper } from "../lab_util.ts";
import {
  assertHelperPorts,
  cliArgs,
  helperHasEvents,
  helperInPorts,
  linesOf,
  readEvents,
} from "../log_checks.ts";

/** Service names of this test (distinct from anything an install registers). */
export const SERVICE = "PortReporterTest";
/** The service that cannot create its log directory. */
export const BAD_SERVICE = "PortReporterTestBad";
/** The service whose registered command line does not parse. */
export const BAD_ARGS_SERVICE = "PortReporterTestBadArgs";

const TRACE = Deno.env.get("PR_SVC_TRACE");

interface ScQuery {
  state: number;
  win32ExitCode: number;
  serviceExitCode: number;
  text: string;
}

async function sc(...args: string[]): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command("sc.exe", { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text: text.replaceAll("\r", "") };
}

async function query(name: string): Promise<ScQuery> {
  const { text } = await sc("query", name);
  const num = (key: string) => Number(new RegExp(`${key}\\s*:\\s*(\\d+)`).exec(text)?.[1] ?? NaN);
  return {
    state: num("STATE"),
    win32ExitCode: num("WIN32_EXIT_CODE"),
    serviceExitCode: num("SERVICE_EXIT_CODE"),
    text,
  };
}

async function waitState(name: string, state: number, timeoutMs: number): Promise<ScQuery> {
  let last: ScQuery | undefined;
  try {
    return await waitFor(`${name} in state ${state}`, async () => {
      last = await query(name);
      return last.state === state ? last : undefined;
    }, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last sc query:\n${last?.text}`);
  }
}

/** Registers `name` running `main.ts service <args>` as the compiled executable would (same runtime flags). */
async function create(name: string, serviceArgs: string[]): Promise<string> {
  await remove(name);
  const binPath = [`"${Deno.execPath()}"`, ...cliArgs(["service", ...serviceArgs], ["--cached-only"])].join(
    " ",
  );
  const r = await sc("create", name, "binPath=", binPath);
  assert.equal(r.code, 0, r.text);
  return binPath;
}

async function remove(name: string): Promise<void> {
  const q = await query(name);
  if (Number.isNaN(q.state)) return; // not registered
  if (q.state !== 1) {
    await sc("stop", name);
    await waitState(name, 1, 10_000).catch(() => {});
  }
  await sc("delete", name);
}

/** The eventlog strings wine traced so far (`…:eventlog:ReportEventW L"<text>"`, backslashes doubled). */
function traced(): string[] {
  if (!TRACE) return [];
  return linesOf(Deno.readTextFileSync(TRACE)).flatMap((l) => {
    const m = /:eventlog:ReportEventW L"(.*)"$/.exec(l);
    return m ? [m[1].replaceAll("\\\\", "\\")] : [];
  });
}

function assertTraced(kind: string, text: string): void {
  if (!TRACE) return console.log(`(no eventlog trace: not asserting the ${kind} event "${text}")`);
  assert.ok(traced().includes(text), `event "${text}" not in wine's eventlog trace:\n${traced().join("\n")}`);
}

// Warm the DENO_DIR cache (npm packages, remote modules) with the same flags the service runs with,
// from this process, which has the lab's DENO_CERT; the service itself runs --cached-only.
async function warmUp(): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: cliArgs(["version"]),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test(
  { name: "service: start, log another process's socket, stop with everything flushed", ignore },
  async () => {
    await warmUp();
    const tmp = await Deno.makeTempDir({ prefix: "pr-svc-" });
    const dir = join(tmp, "logs");
    let helper: Awaited<ReturnType<typeof startHelper>> | undefined;
    try {
      const binPath = await create(SERVICE, ["--log-dir", dir, "--interval", "200"]);
      console.log(`binPath= ${binPath}`);
      const t0 = Date.now();
      const start = await sc("start", SERVICE);
      assert.equal(start.code, 0, start.text);
      await waitState(SERVICE, 4, 10_000);
      const running = Date.now() - t0;
      const files = [...Deno.readDirSync(dir)].map((e) => e.name.replace(/-[\d-]+\.(log|jsonl)$/, "")).sort();
      assert.deepEqual(files, ["PR-EVENTS", "PR-INITIAL", "PR-PIDS", "PR-PORTS"]);
      assertTraced("start", "The Port Reporter service was started.");
      assertTraced(
        "log directory",
        `The Port Reporter service successfully created log files in the following directory: ${dir}`,
      );

      helper = await startHelper();
      const h = helper.sockets;
      await waitFor("the helper's PR-PORTS lines", () => helperInPorts(dir, h) || undefined, 10_000);
      await waitFor(
        "the helper's opened events",
        () => helperHasEvents(dir, h, "opened") || undefined,
        5_000,
      );

      const t1 = Date.now();
      const stop = await sc("stop", SERVICE);
      assert.equal(stop.code, 0, stop.text);
      const stopped = await waitState(SERVICE, 1, 5_000);
      const stopMs = Date.now() - t1;
      assert.equal(stopped.win32ExitCode, 0, stopped.text);
      console.log(`service: RUNNING ${running} ms after sc start, STOPPED ${stopMs} ms after sc stop`);

      // everything was flushed: the set is complete and every JSONL line parses
      assertHelperPorts(dir, h);
      const events = readEvents(dir);
      assert.ok(events.some((e) => e.pid === h.pid && e.event === "opened" && e.localPort === h.tcp4Listen));
      const pids = readLogs(dir).PIDS ?? "";
      assert.match(pids, new RegExp(`^PID: ${h.pid}\\r?$`, "m"));
      // nothing is written after STOPPED (the files are closed; the helper's sockets close only now)
      const before = readLogs(dir);
      await helper.stop();
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(readLogs(dir), before, "no writes after the stop");
      assertTraced("stop", "The Port Reporter service was stopped.");
      if (TRACE) console.log(`events traced by wine:\n  ${traced().join("\n  ")}`);
    } finally {
      await helper?.kill();
      await remove(SERVICE);
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test(
  {
    name: "service: a log directory that cannot be created stops it (no restart) with an error event",
    ignore,
  },
  async () => {
    const tmp = await Deno.makeTempDir({ prefix: "pr-svc-bad-" });
    const file = join(tmp, "a-file");
    Deno.writeTextFileSync(file, "in the way");
    const dir = join(file, "logs");
    try {
      await create(BAD_SERVICE, ["--log-dir", dir, "--interval", "200"]);
      await sc("start", BAD_SERVICE); // wine returns once START_PENDING was reported
      const q = await waitState(BAD_SERVICE, 1, 15_000);
      assert.equal(q.win32ExitCode, 0, q.text); // a usage error: no failure actions
      if (TRACE) {
        const err = traced().find((t) => t.startsWith("The Port Reporter service could not start: "));
        assert.ok(err, `no error event in\n${traced().join("\n")}`);
        assert.ok(err.includes(`cannot write to log directory ${dir}`), err);
        console.log(`error event: ${err}`);
      }
    } finally {
      await remove(BAD_SERVICE);
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
);

Deno.test({ name: "service: start parameters override the registered command line", ignore }, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "pr-svc-args-" });
  const file = join(tmp, "a-file");
  Deno.writeTextFileSync(file, "in the way");
  const good = join(tmp, "from-start-parameters");
  try {
    // registered with an unusable log directory; the start parameter's directory wins
    await create(BAD_SERVICE, ["--log-dir", join(file, "logs"), "--interval", "200"]);
    const r = await sc("start", BAD_SERVICE, "--log-dir", good, "--interval", "300");
    assert.equal(r.code, 0, r.text);
    await waitState(BAD_SERVICE, 4, 10_000);
    assert.ok(readLogs(good).PORTS, "the log set is in the start parameters' directory");
    await sc("stop", BAD_SERVICE);
    assert.equal((await waitState(BAD_SERVICE, 1, 5_000)).win32ExitCode, 0);

    // a bad start parameter is a usage error: STOPPED with exit code 0 (no restart loop), an error event
    await sc("start", BAD_SERVICE, "--no-such-option");
    const q = await waitState(BAD_SERVICE, 1, 15_000);
    assert.equal(q.win32ExitCode, 0, q.text);
    if (TRACE) {
      assert.ok(
        traced().some((t) =>
          t.startsWith(
            "The Port Reporter service could not start: service: unknown option '--no-such-option'",
          )
        ),
        traced().join("\n"),
      );
    }
  } finally {
    await remove(BAD_SERVICE);
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});

Deno.test(
  {
    name:
      "service: an unknown option in the registered command line stops it (no restart) with an error event",
    ignore,
  },
  async () => {
    await warmUp(); // the service runs --cached-only (this test may run alone, with --filter)
    try {
      const binPath = await create(BAD_ARGS_SERVICE, ["--bogus", "--interval", "200"]);
      assert.match(binPath, / service --bogus --interval 200$/);
      const t0 = Date.now();
      await sc("start", BAD_ARGS_SERVICE); // wine returns once START_PENDING was reported
      const q = await waitState(BAD_ARGS_SERVICE, 1, 15_000);
      console.log(`bad command line: STOPPED ${Date.now() - t0} ms after sc start`);
      assert.equal(q.win32ExitCode, 0, q.text); // a usage error: no failure actions
      if (TRACE) {
        const err = traced().find((t) =>
          t.startsWith("The Port Reporter service could not start: ") && t.includes("--bogus")
        );
        assert.ok(err, `no error event naming --bogus in\n${traced().join("\n")}`);
        assert.ok(err.includes("service: unknown option '--bogus'"), err);
        console.log(`error event: ${err}`);
      }
    } finally {
      await remove(BAD_ARGS_SERVICE);
    }
  },
);
