/**
 * Formatting into one set: each record, change and alert becomes its lines in per-file byte
 * buffers, item by item, so the writer can stop at any item boundary (a file would pass the size
 * limit) and go on in the next set. A PR-PIDS entry and a PR-EVENTS `process` record describe a
 * process instance once per set; every value is bounded first ({@link boundProcess}).
 *
 * @module
 */

import type { Alert, Change, HostInfo, ProcessInfo, SocketRecord } from "../model/types.ts";
import { processIdentity } from "../diff/diff.ts";
import { boundPorts, boundProcess, fitJsonLine, MAX_LINE_BYTES } from "./bounds.ts";
import { addPortsLine, processEntry } from "./classic.ts";
import { addEventLine, alertRecord, eventRecord } from "./jsonl.ts";
import type { LocalParts } from "./local_time.ts";
import { type EventsRecord, processRecord, recordLine } from "./records.ts";
import type { SetKind } from "./set_files.ts";
import { ByteBuffer } from "./byte_buffer.ts";

const encoder = new TextEncoder();

/** Buffer lengths at an item boundary. */
export type Mark = [
  ports: number,
  pids: number,
  events: number,
  alerts: number,
  described: number,
  recorded: number,
];

/** A JSON line within the cap: `line` itself, or its record re-cut. */
function capped(line: string): string {
  if (line.length * 3 <= MAX_LINE_BYTES || encoder.encode(line).length <= MAX_LINE_BYTES) return line;
  return fitJsonLine(JSON.parse(line));
}

/** The formatter of the open set. */
export class SetFormatter {
  /** Pending bytes per file. */
  readonly buffers: Record<SetKind, ByteBuffer> = {
    PORTS: new ByteBuffer(),
    PIDS: new ByteBuffer(),
    EVENTS: new ByteBuffer(),
    ALERTS: new ByteBuffer(),
  };
  /** pid → identity described in PR-PIDS / recorded in PR-EVENTS (committed). */
  #described = new Map<number, string>();
  #recorded = new Map<number, string>();
  /** Not yet committed: [pid, identity]. */
  #newDescribed: [number, string][] = [];
  #newRecorded: [number, string][] = [];
  /** The same, by pid, for lookups. */
  #freshDescribed = new Map<number, string>();
  #freshRecorded = new Map<number, string>();
  readonly #mark: Mark = [0, 0, 0, 0, 0, 0];

  /** @param host the host name of the records; @param eol line end of the classic files. */
  constructor(private readonly host: HostInfo, private readonly eol: "\r\n" | "\n") {}

  /** A new set: every process is described again. */
  newSet(): void {
    this.#described.clear();
    this.#recorded.clear();
    this.discard();
  }

  /** The state at an item boundary (one reused array: valid until the next call). */
  mark(): Mark {
    const b = this.buffers;
    const m = this.#mark;
    m[0] = b.PORTS.length;
    m[1] = b.PIDS.length;
    m[2] = b.EVENTS.length;
    m[3] = b.ALERTS.length;
    m[4] = this.#newDescribed.length;
    m[5] = this.#newRecorded.length;
    return m;
  }

  /** Back to `mark`: the items after it are not written. */
  undo(m: Mark): void {
    const b = this.buffers;
    [b.PORTS.length, b.PIDS.length, b.EVENTS.length, b.ALERTS.length] = m;
    this.#newDescribed.length = m[4];
    this.#newRecorded.length = m[5];
    this.#freshDescribed = new Map(this.#newDescribed);
    this.#freshRecorded = new Map(this.#newRecorded);
  }

  /** The buffers were written: the processes they describe count as described. */
  committed(): void {
    for (const [pid, id] of this.#newDescribed) this.#described.set(pid, id);
    for (const [pid, id] of this.#newRecorded) this.#recorded.set(pid, id);
    this.discard();
  }

  /** Bytes formatted and not yet committed, in all buffers. */
  pendingBytes(): number {
    const b = this.buffers;
    return b.PORTS.length + b.PIDS.length + b.EVENTS.length + b.ALERTS.length;
  }

  /** The buffers were not written. */
  discard(): void {
    for (const b of Object.values(this.buffers)) b.clear();
    this.#newDescribed.length = 0;
    this.#newRecorded.length = 0;
    this.#freshDescribed.clear();
    this.#freshRecorded.clear();
  }

  /** Adds one non-change record. */
  addRecord(record: EventsRecord, time: number): void {
    this.buffers.EVENTS.add(recordLine(record, time, this.host.computerName) + "\n");
  }

  /** Adds one alert. */
  addAlert(alert: Alert): void {
    const a = alert.change?.process
      ? { ...alert, change: { ...alert.change, process: boundProcess(alert.change.process) } }
      : alert;
    this.buffers.ALERTS.add(capped(alertRecord(a, this.host.computerName)) + "\n");
  }

  /** Adds one change: its PR-EVENTS line (after the instance's `process` record), PR-PORTS line, PR-PIDS entry. */
  addChange(change: Change, time: LocalParts, sockets: () => SocketRecord[]): void {
    const raw = change.process;
    const p = raw ? boundProcess(raw) : undefined;
    const c = p === raw ? change : { ...change, process: p };
    const identity = p ? identityOf(p) : "";
    if (p && (this.#freshRecorded.get(p.pid) ?? this.#recorded.get(p.pid)) !== identity) {
      this.#newRecorded.push([p.pid, identity]);
      this.#freshRecorded.set(p.pid, identity);
      this.addRecord(processRecord(p), change.time);
    }
    const events = this.buffers.EVENTS;
    const start = events.length;
    addEventLine(events, c, this.host.computerName);
    if (events.length - start > MAX_LINE_BYTES) { // too long a line (an unbounded plugin field): cut
      events.length = start;
      events.add(capped(eventRecord(c, this.host.computerName)));
    }
    events.addAscii("\n");
    if (c.kind !== "opened") return;
    addPortsLine(this.buffers.PORTS, time, c.socket, p);
    this.buffers.PORTS.addAscii(this.eol);
    if (!p || (this.#freshDescribed.get(p.pid) ?? this.#described.get(p.pid)) === identity) return;
    this.#newDescribed.push([p.pid, identity]);
    this.#freshDescribed.set(p.pid, identity);
    const entry = processEntry(p, boundPorts(portsOf(p, sockets())), time);
    this.buffers.PIDS.add(this.eol === "\n" ? entry : entry.replaceAll("\n", this.eol));
  }
}

/** {@link processIdentity}, made once per process record. */
const identities = new WeakMap<ProcessInfo, string>();
function identityOf(p: ProcessInfo): string {
  let identity = identities.get(p);
  if (identity === undefined) identities.set(p, identity = processIdentity(p));
  return identity;
}

function portsOf(process: ProcessInfo, sockets: SocketRecord[]): SocketRecord[] {
  return sockets.filter((s) => s.pid === process.pid);
}
