/**
 * An in-memory {@link LogFileSystem} for tests, with the faults of a real disk: a byte budget (a full
 * disk gives a short write, then `ENOSPC`), unlinked and truncated files, a removed directory.
 *
 * @module
 */

import { dirname } from "node:path";
import type { FileState, LogFileHandle, LogFileSystem } from "./log_file.ts";

interface Node {
  id: number;
  bytes: Uint8Array;
  size: number;
}

/** A memory file system and its controls. */
export interface MemoryFs {
  /** The file system to inject. */
  fs: LogFileSystem;
  /** Path → the file's text (decoded as UTF-8). */
  files: Map<string, string>;
  /** Bytes that may still be written before writes fail with `ENOSPC` (Infinity: no limit). */
  space: number;
  /** Directories that exist. */
  dirs: Set<string>;
  /** Removes a file's name (open handles keep writing into the unlinked file). */
  unlink(path: string): void;
  /** Cuts a file to `size` bytes behind the writer's back. */
  truncate(path: string, size: number): void;
  /** Removes a directory and every file in it (`rm -rf`). */
  removeDir(dir: string): void;
  /** How many handles are open. */
  openHandles(): number;
}

const decoder = new TextDecoder();

/** A fresh memory file system with no limit on space. */
export function memoryFs(): MemoryFs {
  const names = new Map<string, Node>();
  let nextId = 1;
  let open = 0;
  const dirIds = new Map<string, number>();
  const mem: MemoryFs = {
    space: Infinity,
    dirs: new Set(),
    get files() {
      return new Map([...names].map(([p, n]) => [p, decoder.decode(n.bytes.subarray(0, n.size))]));
    },
    unlink: (path) => void names.delete(path),
    truncate(path, size) {
      const n = names.get(path);
      if (n) n.size = Math.min(n.size, size);
    },
    removeDir(dir) {
      for (const p of [...names.keys()]) if (dirname(p) === dir) names.delete(p);
      mem.dirs.delete(dir);
      dirIds.delete(dir);
    },
    openHandles: () => open,
    fs: {
      ensureDir(dir) {
        if (!mem.dirs.has(dir)) dirIds.set(dir, nextId++);
        mem.dirs.add(dir);
      },
      openAppend(path, createNew) {
        if (!mem.dirs.has(dirname(path))) throw new Deno.errors.NotFound(`no directory: ${path}`);
        let node = names.get(path);
        if (node && createNew) throw new Deno.errors.AlreadyExists(`file exists: ${path}`);
        if (!node) names.set(path, node = { id: nextId++, bytes: new Uint8Array(256), size: 0 });
        const n = node;
        open++;
        const handle: LogFileHandle = {
          write(bytes) {
            if (mem.space <= 0) throw new Error("No space left on device (os error 28)");
            const len = Math.min(bytes.length, mem.space);
            if (n.size + len > n.bytes.length) {
              const grown = new Uint8Array(Math.max(n.bytes.length * 2, n.size + len));
              grown.set(n.bytes.subarray(0, n.size));
              n.bytes = grown;
            }
            n.bytes.set(bytes.subarray(0, len), n.size);
            n.size += len;
            mem.space -= len;
            return len;
          },
          truncate(size) {
            if (size < n.size) mem.space += n.size - size;
            n.size = Math.min(n.size, size);
          },
          stat: (): FileState => ({
            size: n.size,
            id: `m:${n.id}`,
            links: [...names.values()].includes(n) ? 1 : 0,
          }),
          close: () => void open--,
        };
        return handle;
      },
      stat(path) {
        const n = names.get(path);
        if (n) return { size: n.size, id: `m:${n.id}`, links: 1 };
        const d = dirIds.get(path);
        return d === undefined ? undefined : { size: 0, id: `d:${d}`, links: 1 };
      },
      list(dir) {
        if (!mem.dirs.has(dir)) throw new Deno.errors.NotFound(dir);
        return [...names.keys()].filter((p) => dirname(p) === dir).map((p) => p.slice(dir.length + 1));
      },
      remove(path) {
        if (!names.delete(path)) throw new Deno.errors.NotFound(path);
      },
    },
  };
  return mem;
}
