/**
 * Shared bits of the lab tests that run the real CLI under wine (`run_cli_test.ts`,
 * `scm/service_test.ts`): the `deno run` command line of `main.ts` (the compile task's runtime flags,
 * as the executable gets them), and checks of a log set against the sockets of the socket helper.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readLogs, ROOT, runtimeFlags } from "../helpers.ts";
import type { HelperSockets } from "./socket_helper.ts";

/** `deno run` arguments that run `main.ts <args>` with the project's config (import map) and runtime flags. */
export function cliArgs(args: string[], extraFlags: string[] = []): string[] {
  return [
    "run",
    ...runtimeFlags(),
    ...extraFlags,
    "--config",
    join(ROOT, "deno.json"),
    join(ROOT, "main.ts"),
    ...args,
  ];
}

/** The lines of a log text (CRLF or LF). */
export function linesOf(text: string | undefined): string[] {
  return (text ?? "").split(/\r?\n/).filter((l) => l !== "");
}

/** A PR-PORTS line of `pid` for one endpoint, without date and time: `TCP,port,ip,rport,rip,pid,module,<user>`. */
function portsLinePattern(pid: number, proto: string, port: number, rest: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(
    `^[^,]+,[^,]+,${proto},${port},${esc(rest)},${pid},deno\\.exe,<[^<>\\\\]+\\\\[^<>\\\\]+>$`,
    "i",
  );
}

/** The endpoints of the helper as PR-PORTS line patterns: listeners, both connection ends, UDP, v4 and v6. */
export function helperPortsPatterns(h: HelperSockets): RegExp[] {
  return [
    portsLinePattern(h.pid, "TCP", h.tcp4Listen, "127.0.0.1,,0.0.0.0"),
    portsLinePattern(h.pid, "TCP", h.tcp4Client, `127.0.0.1,${h.tcp4Listen},127.0.0.1`),
    portsLinePattern(h.pid, "TCP", h.tcp4Listen, `127.0.0.1,${h.tcp4Client},127.0.0.1`),
    portsLinePattern(h.pid, "TCP", h.tcp6Listen, "::1,,::"),
    portsLinePattern(h.pid, "TCP", h.tcp6Client, `::1,${h.tcp6Listen},::1`),
    portsLinePattern(h.pid, "TCP", h.tcp6Listen, `::1,${h.tcp6Client},::1`),
    portsLinePattern(h.pid, "UDP", h.udp4, "127.0.0.1,*,*"),
    portsLinePattern(h.pid, "UDP", h.udp6, "::1,*,*"),
  ];
}

/** True when every helper endpoint has its PR-PORTS line in `dir`. */
export function helperInPorts(dir: string, h: HelperSockets): boolean {
  const lines = linesOf(readLogs(dir).PORTS);
  return helperPortsPatterns(h).every((re) => lines.some((l) => re.test(l)));
}

/** Asserts the PR-PORTS lines of every helper endpoint (pid, `deno.exe`, `<DOMAIN\user>`). */
export function assertHelperPorts(dir: string, h: HelperSockets): void {
  const lines = linesOf(readLogs(dir).PORTS);
  for (const re of helperPortsPatterns(h)) {
    assert.ok(lines.some((l) => re.test(l)), `no PR-PORTS line matching ${re}\n${lines.join("\n")}`);
  }
}

/** Asserts the helper's PR-PIDS entry: deno.exe, a DOMAIN\user, ntdll.dll and kernel32.dll among its modules. */
export function assertHelperPids(dir: string, h: HelperSockets): void {
  const text = readLogs(dir).PIDS ?? "";
  const start = text.search(new RegExp(`^PID: ${h.pid}\\r?$`, "m"));
  assert.ok(start >= 0, `no PR-PIDS entry for pid ${h.pid}\n${text}`);
  const next = text.slice(start + 1).search(/^PID: /m);
  const entry = next < 0 ? text.slice(start) : text.slice(start, start + 1 + next);
  assert.match(entry, /^Process: deno\.exe\r?$/im);
  assert.match(entry, /^User context: <[^<>\\]+\\[^<>\\]+>\r?$/m);
  // the real command line of another wine process (PEB route under wine), secrets redacted
  assert.match(entry, /^Command line: .*deno(\.exe)?"? run .*socket_helper\.ts.*\r?$/im, entry);
  if (h.secret) {
    assert.ok(!entry.includes(h.secret), `the secret reached PR-PIDS:\n${entry}`);
    assert.match(entry, /--password \*\*\*/);
  }
  for (const dll of ["ntdll.dll", "kernel32.dll"]) {
    assert.match(
      entry,
      new RegExp(`^  0x[0-9a-f]+ \\d+ .*\\\\${dll.replace(".", "\\.")}\\r?$`, "im"),
      `${dll} in\n${entry}`,
    );
  }
}

/** Every PR-EVENTS record of `dir`, parsed (a line that does not parse fails the test). */
export function readEvents(dir: string): Record<string, unknown>[] {
  return linesOf(readLogs(dir).EVENTS).map((l, i) => {
    try {
      return JSON.parse(l);
    } catch {
      throw new assert.AssertionError({ message: `PR-EVENTS line ${i + 1} is not JSON: ${l}` });
    }
  });
}

/** The local ports of the helper's endpoints, by protocol and family. */
function helperEndpoints(h: HelperSockets): [string, number, number][] {
  return [
    ["tcp", 4, h.tcp4Listen],
    ["tcp", 4, h.tcp4Client],
    ["tcp", 6, h.tcp6Listen],
    ["tcp", 6, h.tcp6Client],
    ["udp", 4, h.udp4],
    ["udp", 6, h.udp6],
  ];
}

/** True once `kind` events exist for every helper endpoint. */
export function helperHasEvents(dir: string, h: HelperSockets, kind: "opened" | "closed"): boolean {
  const events = readEvents(dir).filter((e) => e.pid === h.pid && e.event === kind);
  return helperEndpoints(h).every(([p, f, port]) =>
    events.some((e) => e.protocol === p && e.family === f && e.localPort === port)
  );
}

/**
 * Asserts the helper's JSONL events: `opened` and `closed` for each endpoint with pid, `deno.exe` and a
 * user; each `closed` with a `durationMs` between one poll and the whole run.
 */
export function assertHelperEvents(
  dir: string,
  h: HelperSockets,
  maxDurationMs: number,
  minDurationMs: number,
): void {
  const events = readEvents(dir).filter((e) => e.pid === h.pid);
  for (const [p, f, port] of helperEndpoints(h)) {
    for (const kind of ["opened", "closed"]) {
      const e = events.find((e) =>
        e.event === kind && e.protocol === p && e.family === f && e.localPort === port
      );
      assert.ok(
        e,
        `no ${kind} event for ${p}${f} port ${port} in\n${events.map((e) => JSON.stringify(e)).join("\n")}`,
      );
      assert.equal(String(e.processName).toLowerCase(), "deno.exe");
      assert.match(String(e.user), /^[^\\]+\\[^\\]+$/);
      assert.equal(e.v, 1);
      if (kind === "closed") {
        const d = e.durationMs as number;
        assert.equal(typeof d, "number", `durationMs of ${JSON.stringify(e)}`);
        assert.ok(
          d >= minDurationMs && d <= maxDurationMs,
          `durationMs ${d} outside ${minDurationMs}..${maxDurationMs}`,
        );
      } else {
        assert.equal(e.durationMs, undefined);
      }
    }
  }
}
