/**
 * Opening the files of one log set, all or nothing: every file is created new, for append, and
 * starts with its whole header (PR-EVENTS with its `set-start` record), or the set is not opened at
 * all and whatever was created is removed again (a failed rollover never leaves a PR-PORTS without
 * its header or a set without its PR-PIDS).
 *
 * The stamp is the clock's second; when a name of that stamp is taken, the next sequence suffix
 * (`_2`, `_3`, …) is used, so a start never fails and a stamp is never ahead of the clock.
 *
 * @module
 */

import { join } from "node:path";
import type { HostInfo, Snapshot } from "../model/types.ts";
import { boundProcess } from "./bounds.ts";
import { initialBody, initialHeader, pidsHeader, portsHeader } from "./classic.ts";
import { formatStamp, logFileName, type LogKind, MAX_STAMP_SEQUENCE } from "./file_names.ts";
import type { LocalTime } from "./local_time.ts";
import { LogFile, type LogFileSystem, WriteFailure } from "./log_file.ts";
import { type EventsRecord, recordLine } from "./records.ts";

/** The kinds of file that stay open for a whole set. */
export type SetKind = Exclude<LogKind, "INITIAL">;

const KINDS: LogKind[] = ["INITIAL", "PORTS", "PIDS", "EVENTS", "ALERTS"];
const encoder = new TextEncoder();

/** What a set is opened with. */
export interface SetFilesOptions {
  /** The log directory. */
  dir: string;
  /** Host facts for the headers. */
  host: HostInfo;
  /** Local time conversion. */
  localTime: LocalTime;
  /** File operations. */
  fs: LogFileSystem;
  /** Line end of the classic files. */
  eol: "\r\n" | "\n";
}

/** An opened set. */
export interface OpenedSet {
  /** Its stamp, e.g. `26-11-26-4-43-3` or `26-11-26-4-43-3_2`. */
  stamp: string;
  /** Its open files (PR-ALERTS is created on the first alert). */
  files: Map<SetKind, LogFile>;
}

/** Text of a classic file with the set's line end. */
export function classicText(text: string, eol: "\r\n" | "\n"): Uint8Array {
  return encoder.encode(eol === "\n" ? text : text.replaceAll("\n", eol));
}

/** Creates one file new and writes its header; removed again when the header cannot be written. */
export function createLogFile(o: SetFilesOptions, kind: LogKind, stamp: string, header: Uint8Array): LogFile {
  const name = logFileName(kind, stamp);
  const path = join(o.dir, name);
  let file: LogFile;
  try {
    file = new LogFile(name, path, o.fs.openAppend(path, true), o.fs);
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) throw e;
    throw new WriteFailure(name, e);
  }
  try {
    file.append(header);
    file.headerSize = header.length;
    return file;
  } catch (e) {
    discard([file], o.fs);
    throw e;
  }
}

/** Closes and removes files of a set that could not be completed. */
function discard(files: LogFile[], fs: LogFileSystem): void {
  for (const f of files) {
    f.close();
    try {
      fs.remove(f.path);
    } catch {
      // already gone
    }
  }
}

function taken(o: SetFilesOptions, stamp: string): boolean {
  return KINDS.some((kind) => o.fs.stat(join(o.dir, logFileName(kind, stamp))) !== undefined);
}

function writeInitial(o: SetFilesOptions, stamp: string, now: number, initial: Snapshot): LogFile {
  const file = createLogFile(
    o,
    "INITIAL",
    stamp,
    classicText(initialHeader(o.localTime.parts(now), o.host), o.eol),
  );
  try {
    const processes = new Map([...initial.processes].map(([pid, p]) => [pid, boundProcess(p)]));
    for (const chunk of initialBody(initial.sockets, processes)) {
      file.append(classicText(chunk, o.eol));
    }
  } catch (e) {
    discard([file], o.fs);
    throw e;
  }
  file.close();
  return file;
}

/**
 * Opens a new set stamped `now` (PR-INITIAL too when `initial` is given), its PR-EVENTS starting with
 * `set-start` and then `notes`. All or nothing; throws {@link WriteFailure} when a file cannot be written.
 */
export function openSetFiles(
  o: SetFilesOptions,
  now: number,
  reason: string,
  notes: EventsRecord[],
  initial?: Snapshot,
): OpenedSet {
  const parts = o.localTime.parts(now);
  for (let seq = 0; seq <= MAX_STAMP_SEQUENCE; seq += seq === 0 ? 2 : 1) {
    const stamp = formatStamp(parts, seq);
    if (taken(o, stamp)) continue;
    const created: LogFile[] = [];
    try {
      // PORTS first: it names PIDS, and is the file a repeated stamp collides on
      const events = [{ event: "set-start", stamp, reason }, ...notes]
        .map((r) => recordLine(r, now, o.host.computerName) + "\n").join("");
      const start = o.localTime.parts(now);
      const files = new Map<SetKind, LogFile>();
      for (
        const [kind, header] of [
          ["PORTS", classicText(portsHeader(stamp, o.host), o.eol)],
          ["PIDS", classicText(pidsHeader(start, o.host), o.eol)],
          ["EVENTS", encoder.encode(events)],
        ] as const
      ) {
        const file = createLogFile(o, kind, stamp, header);
        created.push(file);
        files.set(kind, file);
      }
      if (initial) created.push(writeInitial(o, stamp, now, initial));
      return { stamp, files };
    } catch (e) {
      discard(created, o.fs);
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
  throw new WriteFailure(
    logFileName("PORTS", formatStamp(parts)),
    new Error("every name of this second is taken"),
  );
}
