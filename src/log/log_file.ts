/**
 * One log file as the writer sees it: opened for append, written in whole lines only, checked for
 * having been unlinked, replaced or truncated behind the writer's back.
 *
 * **Whole lines.** {@link LogFile.append} writes all of its bytes or none of them: when a write fails
 * part-way (a full disk gives a short write, then `ENOSPC`), the file is truncated back to its size
 * before the call, so the next append starts on a line boundary. The writer calls it with whole lines.
 *
 * File operations are injected ({@link LogFileSystem}) so every fault is also tested without a disk.
 *
 * @module
 */

/** Identity and size of a file, from `fstat`/`stat`; `id` is `dev:ino` where the OS has it. */
export interface FileState {
  /** Bytes in the file. */
  size: number;
  /** `dev:ino`, or undefined where the OS gives none (Windows). */
  id?: string;
  /** Number of names of the file (0 once unlinked), undefined where unknown. */
  links?: number;
}

/** An open file whose writes go to its end (`O_APPEND`). */
export interface LogFileHandle {
  /** One write call: returns how many bytes were written (may be fewer than given); throws on error. */
  write(bytes: Uint8Array): number;
  /** Cuts the file to `size` bytes (the rollback of a failed append). */
  truncate(size: number): void;
  /** The open file's own state (`fstat`). */
  stat(): FileState;
  /** Flushes and closes. */
  close(): void;
}

/** The file operations the writer needs; {@link denoLogFileSystem} is the real one. */
export interface LogFileSystem {
  /** Creates `dir` (and parents) if missing, readable only by its owner (0700). */
  ensureDir(dir: string): void;
  /** Opens `path` for append; with `createNew`, throws `Deno.errors.AlreadyExists` if it exists. */
  openAppend(path: string, createNew: boolean): LogFileHandle;
  /** State of the file or directory at `path`, or undefined when nothing is there. */
  stat(path: string): FileState | undefined;
  /** Names in `dir`. */
  list(dir: string): string[];
  /** Removes one file. */
  remove(path: string): void;
}

function state(info: Deno.FileInfo): FileState {
  return {
    size: info.size,
    id: info.ino === null || info.dev === null ? undefined : `${info.dev}:${info.ino}`,
    links: info.nlink ?? undefined,
  };
}

/** The real file system: directories 0700, files 0600 on Unix (on Windows the directory ACL rules). */
export const denoLogFileSystem: LogFileSystem = {
  ensureDir(dir) {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  },
  openAppend(path, createNew) {
    const file = Deno.openSync(path, { append: true, create: true, createNew, mode: 0o600 });
    return {
      write: (bytes) => file.writeSync(bytes),
      truncate(size) {
        try {
          file.truncateSync(size);
        } catch {
          // Windows grants an append handle no right to truncate: cut it by its path instead
          Deno.truncateSync(path, size);
        }
      },
      stat: () => state(file.statSync()),
      close: () => file.close(),
    };
  },
  stat(path) {
    try {
      return state(Deno.statSync(path));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return undefined;
      throw e;
    }
  },
  list(dir) {
    return [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name);
  },
  remove(path) {
    Deno.removeSync(path);
  },
};

/** What happened to an open file behind the writer's back. */
export type FileFault = "unlinked" | "replaced" | "truncated";

/** A failed append, already rolled back to the last whole line. */
export class WriteFailure extends Error {
  /** @param file the file name; @param cause the OS error. */
  constructor(readonly file: string, override readonly cause: unknown) {
    super(`${file}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "WriteFailure";
  }
}

/** One open member of a log set. */
export class LogFile {
  /** Bytes written so far (the header included). */
  size = 0;
  /** Bytes of the header. */
  headerSize = 0;
  readonly #handle: LogFileHandle;
  readonly #id: string | undefined;

  /**
   * @param name the file name (for messages); @param path its full path; @param handle the open file.
   * @param fs the file system (to see whether `path` still names this file).
   */
  constructor(
    readonly name: string,
    readonly path: string,
    handle: LogFileHandle,
    private readonly fs: LogFileSystem,
  ) {
    this.#handle = handle;
    const s = handle.stat();
    this.size = s.size;
    this.#id = s.id;
  }

  /** Appends all of `bytes` or, on failure, nothing (rolled back); throws {@link WriteFailure}. */
  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    let off = 0;
    try {
      while (off < bytes.length) {
        const n = this.#handle.write(off ? bytes.subarray(off) : bytes);
        if (n <= 0) throw new Error("no progress writing");
        off += n;
      }
      this.size += bytes.length;
    } catch (e) {
      if (off > 0) this.rollback(this.size);
      throw new WriteFailure(this.name, e);
    }
  }

  /** Cuts the file back to `size` (≤ the current size): undoes appends after a failure. */
  rollback(size: number): void {
    try {
      this.#handle.truncate(size);
      this.size = size;
    } catch {
      // cannot happen on a local file system (shrinking needs no space); the next check sees it
    }
  }

  /** Whether the file was unlinked, replaced by another file or truncated since it was opened. */
  check(): FileFault | undefined {
    const own = this.#handle.stat();
    if (own.links === 0) return "unlinked";
    if (own.size < this.size) return "truncated";
    if (this.#id !== undefined && this.fs.stat(this.path)?.id !== this.#id) return "replaced";
    return undefined;
  }

  /** Closes the file; errors are ignored (the data was written). */
  close(): void {
    try {
      this.#handle.close();
    } catch {
      // already closed or the device is gone
    }
  }
}
