/**
 * The log set writer: PR-INITIAL, PR-PORTS, PR-PIDS, PR-EVENTS (and PR-ALERTS on the first alert),
 * one stamp per set, rolled over at local midnight, at the size limit and on request.
 *
 * - **Whole lines, whole sets.** Each file is opened for append; an append that fails part-way is
 *   rolled back to the last whole line ({@link LogFile}), and a batch that fails in one file is rolled
 *   back in all of them, so PR-PORTS and PR-EVENTS never disagree. A set opens all or nothing
 *   ({@link openSetFiles}): every file starts with its header.
 * - **Never past the limit.** A batch is formatted item by item; when the next item would take a file
 *   past `maxBytes`, the set rolls over and the batch goes on in the next one.
 * - **A full disk.** Work that cannot be written waits in a bounded queue ({@link PendingQueue}) and is
 *   written, oldest first, when writing works again; what the queue had to drop is one `gap` record.
 *   One line says that writing fails, one that it works again; {@link LogSet.losses} counts.
 * - **Faults behind its back** ({@link LogSet.tick}, once per poll): the directory removed or
 *   replaced, a file unlinked, replaced or truncated: one warning line, a new set (the directory
 *   recreated 0700) whose PR-EVENTS says what happened.
 * - **Retention** after the start and each rollover ({@link applyRetention}).
 *
 * File operations are injected ({@link LogFileSystem}) so all of it is tested without a disk too.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { Snapshot, SocketRecord } from "../model/types.ts";
import { denoLogFileSystem, type LogFile, WriteFailure } from "./log_file.ts";
import { MAX_PENDING_BATCHES, PendingQueue, type Work, workSize } from "./pending.ts";
import { type EventsRecord, gapRecord } from "./records.ts";
import {
  applyRetention,
  DEFAULT_MAX_AGE_MS,
  DEFAULT_MAX_TOTAL_BYTES,
  type RetentionPolicy,
} from "./retention.ts";
import { DEFAULT_MAX_BYTES } from "./rotation.ts";
import { createLogFile, openSetFiles, type SetKind } from "./set_files.ts";
import { SetFormatter } from "./set_format.ts";
import { checkFaults } from "./set_faults.ts";
import type { LogBatch, LogLosses, LogSetOptions } from "./log_set_options.ts";

export { denoLogFileSystem, type LogFileHandle, type LogFileSystem } from "./log_file.ts";
export type { LogBatch, LogLosses, LogSetOptions } from "./log_set_options.ts";
export type { EventsRecord } from "./records.ts";

/**
 * Formatted bytes at which a batch is appended before the rest of it is formatted, at an item
 * boundary: a burst of tens of thousands of changes then needs buffers of about this size, not of a
 * whole file (each such append is all or nothing across the files, as a rollover's split is).
 */
export const COMMIT_BYTES = 256 * 1024;

/** Writes log sets. Not safe for concurrent use: the monitor calls it from one loop. */
export class LogSet {
  readonly #o: Required<Omit<LogSetOptions, "retention">> & { retention: RetentionPolicy };
  #files = new Map<SetKind, LogFile>();
  #stamp = "";
  #day = "";
  #dirId: string | undefined;
  #sets = 0;
  #closed = false;
  #losses: LogLosses = { writeFailures: 0, lostChanges: 0, droppedRecords: 0, removedSets: 0 };
  readonly #queue = new PendingQueue();
  readonly #fmt: SetFormatter;
  /** Why writing fails now (undefined: it works). */
  #failing: string | undefined;
  #lateBatches = 0;
  /** A new set that must open before anything else is written. */
  #wanted: { reason: string; notes: EventsRecord[] } | undefined;

  /** @param options where and how to write. */
  constructor(options: LogSetOptions) {
    this.#o = {
      maxBytes: DEFAULT_MAX_BYTES,
      eol: "\n",
      fs: denoLogFileSystem,
      now: Date.now,
      log: () => {},
      checkDir: () => undefined,
      ...options,
      retention: {
        maxAgeMs: DEFAULT_MAX_AGE_MS,
        maxTotalBytes: DEFAULT_MAX_TOTAL_BYTES,
        ...options.retention,
      },
    };
    this.#fmt = new SetFormatter(options.host, this.#o.eol);
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

  /** What was lost or failed so far, for the stop summary. */
  get losses(): Readonly<LogLosses> {
    return { ...this.#losses };
  }

  /** Whether writing fails now (work waits in the queue). */
  get failing(): boolean {
    return this.#failing !== undefined;
  }

  /**
   * Opens the first set: writes PR-INITIAL (header, every endpoint, every process with its modules)
   * and the headers of PR-PORTS, PR-PIDS and PR-EVENTS. Creates the directory if needed. A file that
   * cannot be written is a {@link UsageError} naming it, and nothing of the set is left behind.
   */
  start(snapshot: Snapshot): void {
    try {
      this.#o.fs.ensureDir(this.#o.dir);
      this.#openSet(snapshot.time, "start", [], snapshot);
    } catch (e) {
      if (!(e instanceof WriteFailure)) throw e;
      throw new UsageError(
        `cannot write the log file ${this.#o.dir}/${e.message}; free space there or choose another --log-dir`,
      );
    }
  }

  /** Once per poll: notices faults behind the writer's back, rolls over at midnight, retries pending work. */
  tick(now: number): void {
    if (this.#closed || !this.#stamp) return;
    const fault = this.#wanted ? undefined : checkFaults(this.#o, this.#dirId, this.#files.values());
    if (fault) {
      this.#o.log(`warning: ${fault.message}; a new log set starts`);
      this.#want(fault.reason, [fault.record]);
    }
    if (!this.#wanted && this.#o.localTime.dayKey(now) > this.#day) this.#want("midnight", []);
    this.#flush(now);
  }

  /** Appends one poll's changes and alerts, rolling over when midnight passed or a file would overflow. */
  write(batch: LogBatch): void {
    if (this.#closed) throw new Error("log set is closed");
    const sockets = batch.snapshot?.sockets;
    this.#submit({
      time: batch.time,
      records: [],
      changes: batch.changes,
      alerts: batch.alerts ?? [],
      done: 0,
    }, sockets);
  }

  /** Writes one non-change record into the current set's PR-EVENTS (`v`, `time`, `host` are added). */
  writeRecord(record: EventsRecord): void {
    if (this.#closed) throw new Error("log set is closed");
    if (!this.#stamp) throw new Error("log set is not started");
    const time = this.#o.now();
    this.#submit({ time, records: [{ record, time }], changes: [], alerts: [], done: 0 });
  }

  /** Closes the current set and opens a new one with every header (a clock jump, SIGHUP, a vanished dir). */
  startNewSet(reason: string): void {
    if (this.#closed) throw new Error("log set is closed");
    this.#want(reason, []);
    this.#flush(this.#o.now());
  }

  /** Writes what it can of the pending work, then closes every file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    if (this.#queue.length) this.#flush(this.#o.now());
    this.#closed = true;
    const left = this.#queue.drain();
    this.#losses.lostChanges += left.changes;
    this.#losses.droppedRecords += left.other;
    for (const f of this.#files.values()) f.close();
    this.#files.clear();
  }

  #want(reason: string, notes: EventsRecord[]): void {
    this.#wanted = this.#wanted
      ? { reason: this.#wanted.reason, notes: [...this.#wanted.notes, ...notes] }
      : { reason, notes };
  }

  #submit(work: Work, sockets?: SocketRecord[]): void {
    if (this.#queue.length || this.#wanted) this.#flush(work.time);
    if (!this.#queue.length) {
      try {
        this.#writeWork(work, sockets);
        return;
      } catch (e) {
        if (!(e instanceof WriteFailure)) throw e;
        this.#failed(e);
      }
    }
    this.#losses.writeFailures++;
    this.#enqueue(work);
  }

  #enqueue(work: Work): void {
    const dropped = this.#queue.push(work);
    this.#losses.lostChanges += dropped.changes;
    this.#losses.droppedRecords += dropped.other;
  }

  #failed(e: WriteFailure): void {
    if (this.#failing) return;
    this.#failing = e.message;
    this.#lateBatches = 0;
    this.#o.log(
      `writing the logs failed: ${e.message}; up to ${MAX_PENDING_BATCHES} batches wait in memory and are ` +
        "written when writing works again",
    );
  }

  /** Opens a wanted set, writes the gap record and the queue, oldest first; stops at the first failure. */
  #flush(now: number): void {
    try {
      if (this.#wanted) this.#openSet(now, this.#wanted.reason, this.#wanted.notes);
      const gap = this.#queue.gap;
      if (gap) {
        this.#writeWork({
          time: now,
          records: [{ record: gapRecord(gap), time: now }],
          changes: [],
          alerts: [],
          done: 0,
        });
        this.#queue.gap = undefined;
      }
      for (let w = this.#queue.peek(); w; w = this.#queue.peek()) {
        this.#writeWork(w);
        this.#queue.shift();
        this.#lateBatches++;
      }
    } catch (e) {
      if (!(e instanceof WriteFailure)) throw e;
      this.#failed(e);
      return;
    }
    if (this.#failing) {
      this.#failing = undefined;
      const lost = this.#losses.lostChanges;
      this.#o.log(
        `writing the logs works again: ${this.#lateBatches} batches written late` +
          (lost ? `; ${lost} changes lost in all (a gap record in PR-EVENTS says when)` : ", nothing lost"),
      );
    }
  }

  /** Writes `work` from `work.done` on, item by item; a file that would overflow rolls the set over. */
  #writeWork(work: Work, sockets?: SocketRecord[]): void {
    if (this.#wanted) this.#openSet(work.time, this.#wanted.reason, this.#wanted.notes);
    if (this.#o.localTime.dayKey(work.time) > this.#day) this.#openSet(work.time, "midnight", []);
    const fmt = this.#fmt;
    const parts = this.#o.localTime.parts(work.time);
    const nr = work.records.length;
    const nc = work.changes.length;
    const socketsOf = () => sockets ?? work.changes.filter((c) => c.kind !== "closed").map((c) => c.socket);
    let start = work.done;
    const total = workSize(work);
    let room = this.#room();
    for (let i = work.done; i < total; i++) {
      const mark = fmt.mark();
      const before = fmt.pendingBytes();
      if (i < nr) fmt.addRecord(work.records[i].record, work.records[i].time);
      else if (i < nr + nc) fmt.addChange(work.changes[i - nr], parts, socketsOf);
      else fmt.addAlert(work.alerts[i - nr - nc]);
      room -= fmt.pendingBytes() - before; // no file can have grown by more than all of them together
      if (room >= 0 || !this.#overflows()) {
        if (room < 0) room = this.#room();
        if (fmt.pendingBytes() < COMMIT_BYTES) continue;
        this.#commit(); // a burst is written as it is formatted, not held in memory whole
        work.done = start = i + 1;
        room = this.#room();
        continue;
      }
      if (i === start && this.#onlyHeaders()) continue; // one item larger than a file: it lands alone
      fmt.undo(mark);
      this.#commit();
      work.done = start = i;
      this.#openSet(work.time, "size", []);
      room = this.#room();
      i--; // again, in the new set
    }
    this.#commit();
    work.done = total;
  }

  /** Bytes that can still be added to any one file before it would pass the size limit. */
  #room(): number {
    const b = this.#fmt.buffers;
    let room = Infinity;
    for (const kind of ["PORTS", "PIDS", "EVENTS", "ALERTS"] as const) {
      room = Math.min(room, this.#o.maxBytes - (this.#files.get(kind)?.size ?? 0) - b[kind].length);
    }
    return room;
  }

  #overflows(): boolean {
    const b = this.#fmt.buffers;
    for (const kind of ["PORTS", "PIDS", "EVENTS", "ALERTS"] as const) {
      const size = this.#files.get(kind)?.size ?? 0;
      if (b[kind].length && size + b[kind].length > this.#o.maxBytes) return true;
    }
    return false;
  }

  #onlyHeaders(): boolean {
    for (const f of this.#files.values()) if (f.size > f.headerSize) return false;
    return true;
  }

  /** Appends the formatted buffers to their files, all or nothing. */
  #commit(): void {
    const b = this.#fmt.buffers;
    const done: [LogFile, number][] = [];
    try {
      for (const kind of ["PORTS", "PIDS", "EVENTS", "ALERTS"] as const) {
        if (!b[kind].length) continue;
        let file = this.#files.get(kind);
        if (!file) this.#files.set(kind, file = createLogFile(this.#o, kind, this.#stamp, new Uint8Array(0)));
        done.push([file, file.size]);
        file.append(b[kind].view());
      }
    } catch (e) {
      for (const [file, size] of done) if (file.size > size) file.rollback(size);
      this.#fmt.discard();
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      this.#want("name-taken", []); // PR-ALERTS of this stamp appeared meanwhile: go on in a new set
      throw new WriteFailure("PR-ALERTS", e);
    }
    this.#fmt.committed();
  }

  #openSet(now: number, reason: string, notes: EventsRecord[], initial?: Snapshot): void {
    const opened = wrap(() => {
      if (!this.#stamp) return openSetFiles(this.#o, now, reason, notes, initial);
      this.#o.fs.ensureDir(this.#o.dir); // recreated when it was removed
      const id = this.#o.fs.stat(this.#o.dir)?.id;
      const problem = id === this.#dirId ? undefined : this.#o.checkDir(this.#o.dir);
      if (problem) throw new WriteFailure("log directory", new Error(problem));
      return openSetFiles(this.#o, now, reason, notes, initial);
    });
    for (const f of this.#files.values()) f.close();
    this.#files = opened.files;
    this.#stamp = opened.stamp;
    this.#dirId = this.#o.fs.stat(this.#o.dir)?.id;
    this.#fmt.newSet();
    this.#wanted = undefined;
    this.#day = this.#o.localTime.dayKey(now);
    this.#sets++;
    this.#retention(now);
  }

  #retention(now: number): void {
    const p = this.#o.localTime.parts(now);
    const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    let records: EventsRecord[];
    try {
      records = applyRetention(this.#o.fs, this.#o.dir, this.#stamp, wall, this.#o.retention);
    } catch (e) {
      this.#o.log(`retention skipped: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.#losses.removedSets += records.length;
    for (const record of records) this.#fmt.addRecord(record, now);
    try {
      this.#commit();
    } catch {
      this.#losses.droppedRecords += records.length;
    }
  }
}

function wrap<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof WriteFailure) throw e;
    if (e instanceof Deno.errors.AlreadyExists) throw new WriteFailure("log set", e);
    throw new WriteFailure("log directory", e);
  }
}
