/**
 * The log set writer: PR-INITIAL, PR-PORTS, PR-PIDS, PR-EVENTS (and PR-ALERTS on the first alert),
 * one stamp per set, rolled over at local midnight and at the size limit.
 *
 * Writes are synchronous and whole: each batch is formatted first, the rotation decided on its exact
 * byte size, and then appended with one write per file. Nothing is buffered in memory between polls,
 * so a stop (signal, service stop) loses nothing once the current batch returns.
 *
 * File operations are injected ({@link LogFileSystem}) so rotation is tested without a disk.
 *
 * @module
 */

import { join } from "node:path";
import type { Alert, Change, HostInfo, ProcessInfo, Snapshot, SocketRecord } from "../model/types.ts";
import { initialBody, initialHeader, pidsHeader, portsHeader, portsLine, processEntry } from "./classic.ts";
import { formatStamp, logFileName, type LogKind } from "./file_names.ts";
import { alertRecord, EVENT_SCHEMA_VERSION, eventRecord } from "./jsonl.ts";
import { jsonLine } from "../model/text.ts";
import type { LocalTime } from "./local_time.ts";
import { DEFAULT_MAX_BYTES, nextStampTime, type RotationReason, rotationReason } from "./rotation.ts";
import { processIdentity } from "../diff/diff.ts";

/** An open, append-only log file. */
export interface LogFileHandle {
  /** Appends all of `bytes` (loops over short writes). */
  write(bytes: Uint8Array): void;
  /** Flushes and closes. */
  close(): void;
}

/** The file operations the writer needs; {@link denoLogFileSystem} is the real one. */
export interface LogFileSystem {
  /** Creates `dir` (and parents) if missing, readable only by its owner (administrators). */
  ensureDir(dir: string): void;
  /** Creates a new file; throws `Deno.errors.AlreadyExists` if it exists. */
  createNew(path: string): LogFileHandle;
}

/** The real file system: directories 0700, files 0600 on Unix (on Windows the directory ACL rules). */
export const denoLogFileSystem: LogFileSystem = {
  ensureDir(dir) {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  },
  createNew(path) {
    const file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
    return {
      write(bytes) {
        let off = 0;
        while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
      },
      close() {
        file.close();
      },
    };
  },
};

/** Settings of a log set writer. */
export interface LogSetOptions {
  /** Directory of the log files. */
  dir: string;
  /** Host facts for the headers. */
  host: HostInfo;
  /** Local time conversion (system zone in production, a pinned zone in tests). */
  localTime: LocalTime;
  /** Size limit of one file in bytes (default 5 MB). */
  maxBytes?: number;
  /** Line end of the classic files: `\r\n` (Windows, as the original) or `\n`. JSONL always uses `\n`. */
  eol?: "\r\n" | "\n";
  /** File operations (default: the real disk). */
  fs?: LogFileSystem;
  /** Source of "now" for records written outside a batch (default `Date.now`). */
  now?: () => number;
  /** One-line diagnostics (write failures and recoveries); default: none. */
  log?: (line: string) => void;
}

/** A non-change record for PR-EVENTS; `v`, `time` and `host` are added when written. */
export interface EventsRecord {
  /** Kebab-case kind, e.g. `clock-jump`, `heartbeat`. */
  event: string;
  /** Any further fields (values must be JSON-safe). */
  [field: string]: unknown;
}

/** What was lost or failed, for the stop summary. */
export interface LogLosses {
  /** Writes that failed (each failing batch or record counted once). */
  writeFailures: number;
  /** Changes that were never written (the pending queue overflowed). */
  lostChanges: number;
  /** Non-change records that were never written. */
  droppedRecords: number;
}

/** One poll's worth of output. */
export interface LogBatch {
  /** Time of the poll. */
  time: number;
  /** The changes to log (after plugins). */
  changes: Change[];
  /** Alerts raised while handling them. */
  alerts?: Alert[];
  /** The snapshot the changes came from: lists every port of a process in its PR-PIDS entry. */
  snapshot?: Snapshot;
}

interface OpenFile {
  name: string;
  handle: LogFileHandle;
  size: number;
  headerSize: number;
}

type SetKind = Exclude<LogKind, "INITIAL">;

const encoder = new TextEncoder();

/** Writes log sets. Not safe for concurrent use: the monitor calls it from one loop. */
export class LogSet {
  readonly #opts: Required<LogSetOptions>;
  #files = new Map<SetKind, OpenFile>();
  #stamp = "";
  #stampTime: number | undefined;
  #day = "";
  /** pid → process identity already described in this set's PR-PIDS. */
  #described = new Map<number, string>();
  #sets = 0;
  #closed = false;
  #losses: LogLosses = { writeFailures: 0, lostChanges: 0, droppedRecords: 0 };

  /** @param options where and how to write. */
  constructor(options: LogSetOptions) {
    this.#opts = {
      maxBytes: DEFAULT_MAX_BYTES,
      eol: "\n",
      fs: denoLogFileSystem,
      now: Date.now,
      log: () => {},
      ...options,
    };
  }

  /** What was lost or failed so far, for the stop summary. */
  get losses(): Readonly<LogLosses> {
    return { ...this.#losses };
  }

  /** Writes one non-change record into the current set's PR-EVENTS (`v`, `time`, `host` are added). */
  writeRecord(record: EventsRecord): void {
    if (this.#closed) throw new Error("log set is closed");
    const file = this.#files.get("EVENTS");
    if (!file) throw new Error("log set is not started");
    const bytes = encoder.encode(this.#recordLine(record, this.#opts.now()) + "\n");
    file.handle.write(bytes);
    file.size += bytes.length;
  }

  /** Closes the current set and opens a new one with every header (a clock jump, SIGHUP, a vanished dir). */
  startNewSet(reason: string): void {
    if (this.#closed) throw new Error("log set is closed");
    this.#openSet(this.#opts.now(), reason);
  }

  #recordLine(record: EventsRecord, time: number): string {
    const { event, ...fields } = record;
    return jsonLine({
      v: EVENT_SCHEMA_VERSION,
      event,
      time: new Date(time).toISOString(),
      host: this.#opts.host.computerName,
      ...fields,
    });
  }

  /** Stamp of the open set (e.g. `26-11-26-4-3-17`); empty before {@link start}. */
  get stamp(): string {
    return this.#stamp;
  }

  /** How many sets were opened so far. */
  get setCount(): number {
    return this.#sets;
  }

  /** File names of the open set (PR-INITIAL only for the first set). */
  get fileNames(): string[] {
    return [...this.#files.values()].map((f) => f.name);
  }

  /**
   * Opens the first set: writes PR-INITIAL (header, every endpoint, every process with its modules)
   * and the headers of PR-PORTS and PR-PIDS, and creates PR-EVENTS. Creates the directory if needed.
   */
  start(snapshot: Snapshot): void {
    this.#opts.fs.ensureDir(this.#opts.dir);
    this.#openSet(snapshot.time, "start", snapshot);
  }

  /** Rolls over at local midnight even when nothing happens; call once per poll. */
  tick(now: number): void {
    const reason = rotationReason(this.#day, this.#opts.localTime.dayKey(now), [], this.#opts.maxBytes);
    if (reason) this.#openSet(now, reason);
  }

  /** Appends one poll's changes and alerts, rolling over first when midnight passed or a file would overflow. */
  write(batch: LogBatch): void {
    if (this.#closed) throw new Error("log set is closed");
    let texts = this.#format(batch);
    const reason = rotationReason(
      this.#day,
      this.#opts.localTime.dayKey(batch.time),
      this.#fills(texts),
      this.#opts.maxBytes,
    );
    if (reason) {
      this.#openSet(batch.time, reason);
      texts = this.#format(batch); // PR-PIDS entries start over in a new set
    }
    for (const [kind, bytes] of texts) {
      if (bytes.length === 0) continue;
      const file = this.#files.get(kind) ?? this.#create(kind, new Uint8Array(0));
      file.handle.write(bytes);
      file.size += bytes.length;
    }
  }

  /** Closes every file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const f of this.#files.values()) f.handle.close();
    this.#files.clear();
  }

  #fills(texts: Map<SetKind, Uint8Array>) {
    const fills = [];
    for (const [kind, bytes] of texts) {
      const f = this.#files.get(kind);
      fills.push({ size: f?.size ?? 0, headerSize: f?.headerSize ?? 0, pending: bytes.length });
    }
    return fills;
  }

  #classic(text: string): Uint8Array {
    return encoder.encode(this.#opts.eol === "\n" ? text : text.replaceAll("\n", this.#opts.eol));
  }

  #format(batch: LogBatch): Map<SetKind, Uint8Array> {
    const time = this.#opts.localTime.parts(batch.time);
    const host = this.#opts.host.computerName;
    let ports = "";
    let pids = "";
    let events = "";
    let alerts = "";
    const describedNow = new Map<number, string>();
    for (const change of batch.changes) {
      events += eventRecord(change, host) + "\n";
      if (change.kind !== "opened") continue;
      ports += portsLine(time, change.socket, change.process) + "\n";
      const p = change.process;
      if (!p) continue;
      const identity = processIdentity(p);
      if ((describedNow.get(p.pid) ?? this.#described.get(p.pid)) === identity) continue;
      describedNow.set(p.pid, identity);
      pids += processEntry(p, portsOfPid(p, batch), time);
    }
    for (const alert of batch.alerts ?? []) alerts += alertRecord(alert, host) + "\n";
    // commit the described pids only once the batch is formatted for its final set
    for (const [pid, identity] of describedNow) this.#described.set(pid, identity);
    return new Map<SetKind, Uint8Array>([
      ["PORTS", this.#classic(ports)],
      ["PIDS", this.#classic(pids)],
      ["EVENTS", encoder.encode(events)],
      ["ALERTS", encoder.encode(alerts)],
    ]);
  }

  #openSet(now: number, reason: RotationReason | string, initial?: Snapshot): void {
    for (const f of this.#files.values()) f.handle.close();
    this.#files.clear();
    this.#described.clear();
    let stampTime = nextStampTime(now, this.#stampTime);
    for (let attempt = 0;; attempt++) {
      this.#stamp = formatStamp(this.#opts.localTime.parts(stampTime));
      try {
        // PORTS first: it is the file whose name is taken when a stamp repeats (e.g. the DST fall-back hour)
        const start = this.#opts.localTime.parts(now);
        this.#create("PORTS", this.#classic(portsHeader(this.#stamp, this.#opts.host)));
        this.#create("PIDS", this.#classic(pidsHeader(start, this.#opts.host)));
        const setStart = { event: "set-start", stamp: this.#stamp, reason };
        this.#create("EVENTS", encoder.encode(this.#recordLine(setStart, now) + "\n"));
        if (reason === "start" && initial) {
          const file = this.#createFile("INITIAL", this.#classic(initialHeader(start, this.#opts.host)));
          try {
            for (const chunk of initialBody(initial.sockets, initial.processes)) {
              file.handle.write(this.#classic(chunk));
            }
          } finally {
            file.handle.close();
          }
        }
        break;
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists) || attempt >= 60) throw e;
        for (const f of this.#files.values()) f.handle.close();
        this.#files.clear();
        stampTime += 1000;
      }
    }
    this.#stampTime = stampTime;
    this.#day = this.#opts.localTime.dayKey(now);
    this.#sets++;
  }

  #create(kind: SetKind, header: Uint8Array): OpenFile {
    const file = this.#createFile(kind, header);
    this.#files.set(kind, file);
    return file;
  }

  #createFile(kind: LogKind, header: Uint8Array): OpenFile {
    const name = logFileName(kind, this.#stamp);
    const handle = this.#opts.fs.createNew(join(this.#opts.dir, name));
    if (header.length) handle.write(header);
    return { name, handle, size: header.length, headerSize: header.length };
  }
}

function portsOfPid(process: ProcessInfo, batch: LogBatch): SocketRecord[] {
  const source = batch.snapshot?.sockets ??
    batch.changes.filter((c) => c.kind !== "closed").map((c) => c.socket);
  return source.filter((s) => s.pid === process.pid);
}
