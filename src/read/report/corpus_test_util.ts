/**
 * A generated log directory for the report's tests and benchmark: PR-EVENTS files written with the
 * monitor's own record formatter (`eventRecord`), with monitor-start / heartbeat / monitor-stop
 * records, listeners (among them processes with hostile names and a svchost.exe in the wrong folder),
 * client connections to a pool of remote addresses with bytes, and a few PR-PIDS module lists.
 *
 * @module
 */

import { join } from "node:path";
import { formatStamp, logFileName } from "../../log/file_names.ts";
import { eventRecord } from "../../log/jsonl.ts";
import { jsonLine } from "../../model/text.ts";
import type { Change, ProcessInfo, SocketRecord, TcpState } from "../../model/types.ts";

/** Hostile process names the corpus uses (they must show as text, never as markup). */
export const HOSTILE_NAMES = [
  `<img src=x onerror="document.title='pwned'">`,
  `</script><script>document.title='pwned'</script>`,
  `evil\u202e\x1b[31mred`,
];

/** What to generate. */
export interface CorpusOptions {
  /** Log sets (each one monitor run, with a gap between runs). */
  sets: number;
  /** Client connections per set. */
  connections: number;
  /** First instant, ms. */
  start: number;
  /** Whether to write heartbeat and monitor-start/stop records. */
  heartbeats?: boolean;
}

const HOST = "TESTHOST";

/** The processes of the corpus by role. */
export const PROCESSES: Record<string, ProcessInfo> = {
  sshd: { pid: 812, name: "sshd", path: "/usr/sbin/sshd", user: "root" },
  nginx: { pid: 1201, name: "nginx", path: "/usr/sbin/nginx", user: "www-data" },
  svchost: {
    pid: 1044,
    name: "svchost.exe",
    path: "C:\\Windows\\System32\\svchost.exe",
    user: "NT AUTHORITY\\NETWORK SERVICE",
    services: ["Dnscache", "NlaSvc", "LanmanWorkstation"],
  },
  fakeSvchost: {
    pid: 6666,
    name: "svchost.exe",
    path: "C:\\Users\\Public\\svchost.exe",
    user: "TEST\\guest",
  },
  curl: { pid: 3001, name: "curl", path: "/usr/bin/curl", user: "alice" },
  hostile0: { pid: 4001, name: HOSTILE_NAMES[0], path: "/tmp/" + HOSTILE_NAMES[0], user: "mallory" },
  hostile1: { pid: 4002, name: HOSTILE_NAMES[1], path: "/tmp/x", user: HOSTILE_NAMES[1] },
  hostile2: { pid: 4003, name: HOSTILE_NAMES[2], path: "/tmp/y", user: "mallory" },
};

function sock(
  protocol: "tcp" | "udp",
  local: string,
  lport: number,
  remote: string,
  rport: number,
  state: TcpState | null,
  pid: number,
): SocketRecord {
  return {
    protocol,
    family: local.includes(":") ? 6 : 4,
    localAddress: local,
    localPort: lport,
    remoteAddress: remote,
    remotePort: rport,
    state,
    pid,
  };
}

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function listeners(): [SocketRecord, ProcessInfo][] {
  const p = PROCESSES;
  return [
    [sock("tcp", "0.0.0.0", 22, "0.0.0.0", 0, "LISTEN", 812), p.sshd],
    [sock("tcp", "::", 22, "::", 0, "LISTEN", 812), p.sshd],
    [sock("tcp", "0.0.0.0", 80, "0.0.0.0", 0, "LISTEN", 1201), p.nginx],
    [sock("tcp", "0.0.0.0", 443, "0.0.0.0", 0, "LISTEN", 1201), p.nginx],
    [sock("udp", "0.0.0.0", 5353, "0.0.0.0", 0, null, 1044), p.svchost],
    [sock("tcp", "0.0.0.0", 4444, "0.0.0.0", 0, "LISTEN", 6666), p.fakeSvchost],
    [sock("tcp", "127.0.0.1", 8000, "0.0.0.0", 0, "LISTEN", 4001), p.hostile0],
    [sock("tcp", "127.0.0.1", 8001, "0.0.0.0", 0, "LISTEN", 4002), p.hostile1],
    [sock("udp", "::1", 9999, "::", 0, null, 4003), p.hostile2],
  ];
}

/** Writes the corpus into `dir`; returns the PR-EVENTS paths and the number of records. */
export function writeCorpus(dir: string, o: CorpusOptions): { files: string[]; records: number } {
  const random = rng(42);
  const files: string[] = [];
  let records = 0;
  let t = o.start;
  const remotes = [...Array(40).keys()].map((i) =>
    i % 4 === 3 ? `2001:db8::${i.toString(16)}` : `203.0.113.${i + 1}`
  );
  for (let set = 0; set < o.sets; set++) {
    const d = new Date(t);
    const stamp = formatStamp({
      year: d.getFullYear(),
      month: d.getMonth() + 1,
      day: d.getDate(),
      hour: d.getHours(),
      minute: d.getMinutes(),
      second: d.getSeconds(),
    });
    const path = join(dir, logFileName("EVENTS", stamp));
    files.push(path);
    const file = Deno.openSync(path, { write: true, create: true, truncate: true });
    const enc = new TextEncoder();
    let buf: string[] = [];
    const emit = (line: string) => {
      buf.push(line);
      records++;
      if (buf.length >= 2000) file.writeSync(enc.encode(buf.join("\n") + "\n")), buf = [];
    };
    const marker = (event: string, at: number, more: Record<string, unknown> = {}) =>
      emit(jsonLine({ v: 1, event, time: new Date(at).toISOString(), host: HOST, ...more }));
    const change = (
      kind: Change["kind"],
      socket: SocketRecord,
      process: ProcessInfo,
      at: number,
      firstSeen: number,
      extra: Record<string, number> = {},
    ) => {
      const line = eventRecord({
        kind,
        time: at,
        socket,
        process,
        firstSeen,
        durationMs: kind === "closed" ? at - firstSeen : undefined,
      }, HOST);
      emit(Object.keys(extra).length ? line.slice(0, -1) + "," + JSON.stringify(extra).slice(1) : line);
    };
    marker("set-start", t, { stamp, reason: "start" });
    if (o.heartbeats !== false) marker("monitor-start", t, { pid: 100 + set });
    for (const [s, p] of listeners()) change("opened", s, p, t, t);
    let nextBeat = t + 60_000;
    const open: { s: SocketRecord; p: ProcessInfo; at: number; end: number }[] = [];
    for (let i = 0; i < o.connections; i++) {
      t += Math.floor(random() * 4000) + 10;
      const due = open.filter((c) => c.end <= t).sort((a, b) => a.end - b.end);
      for (const c of due) {
        open.splice(open.indexOf(c), 1);
        while (o.heartbeats !== false && nextBeat <= c.end) marker("heartbeat", nextBeat), nextBeat += 60_000;
        const bytes = { bytesSent: Math.floor(random() * 1e6), bytesReceived: Math.floor(random() * 1e7) };
        change("closed", c.s, c.p, c.end, c.at, bytes);
      }
      while (o.heartbeats !== false && nextBeat <= t) marker("heartbeat", nextBeat), nextBeat += 60_000;
      const p = i % 7 === 0 ? PROCESSES.hostile0 : i % 5 === 0 ? PROCESSES.svchost : PROCESSES.curl;
      const remote = remotes[Math.floor(random() * random() * remotes.length)];
      const s = sock(
        "tcp",
        remote.includes(":") ? "2001:db8::100" : "192.0.2.10",
        40000 + (i % 20000),
        remote,
        i % 3 ? 443 : 80,
        "ESTABLISHED",
        p.pid,
      );
      change("opened", s, p, t, t);
      open.push({ s, p, at: t, end: t + Math.floor(Math.exp(random() * 14)) });
    }
    t += 5000;
    for (const c of open.sort((a, b) => a.end - b.end)) change("closed", c.s, c.p, Math.min(c.end, t), c.at);
    if (o.heartbeats !== false) marker("monitor-stop", t, { reason: "signal" });
    if (buf.length) file.writeSync(enc.encode(buf.join("\n") + "\n"));
    file.close();
    t += 3_600_000; // an hour with the monitor stopped
  }
  return { files, records };
}

/** Writes one PR-PIDS file with module lists (the fake svchost.exe loads an injected DLL). */
export function writePids(dir: string, stamp: string): void {
  const text = `Port Reporter Version 1.01 Log File\n\nProcess detail log\n\n` +
    `Logged: 26/11/26,4:43:5\nPID: 6666\nProcess: svchost.exe\nPath: C:\\\\Users\\\\Public\\\\svchost.exe\nModules: 2\n` +
    `  0x400000 65536 C:\\\\Users\\\\Public\\\\svchost.exe\n  0x10000000 4096 C:\\\\Users\\\\Public\\\\inject.dll\n\n` +
    `Logged: 26/11/26,4:43:6\nPID: 812\nProcess: sshd\nModules: 1\n  0x561910c25000 98189312 /usr/sbin/sshd\n`;
  Deno.writeTextFileSync(join(dir, logFileName("PIDS", stamp)), text);
}
