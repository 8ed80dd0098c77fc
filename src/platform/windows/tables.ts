/**
 * The four socket tables through GetExtendedTcpTable / GetExtendedUdpTable (AF_INET and AF_INET6):
 * one reusable buffer per table with headroom, one call per table per poll, and a bounded
 * grow-and-retry loop on `ERROR_INSUFFICIENT_BUFFER` (122). Any other status is an
 * {@link OsCallError} naming the API, the code and the table.
 *
 * The table symbols are `nonblocking` (they run on a worker thread and return a Promise): a table
 * call costs 5-40 ms with a few thousand sockets (measured under wine), which would otherwise stall
 * the event loop. The four tables are read concurrently, each into its own buffer.
 *
 * A transient failure is retried with backoff (20, 80, 320 ms): the GetTcpTable documentation says of
 * `STATUS_UNSUCCESSFUL` (0xC0000001), which these functions can return under load, "calling the function
 * again is usually enough" (https://learn.microsoft.com/windows/win32/api/iphlpapi/nf-iphlpapi-gettcptable,
 * Remarks). Only `ERROR_INVALID_PARAMETER` (87: a bug in the call, never transient) is not retried.
 *
 * @module
 */

import { OsCallError } from "../../errors.ts";
import type { SocketRecord } from "../../model/types.ts";
import {
  decodeOwnerModuleRows,
  decodeTable,
  rowCount,
  type TableFlavour,
  type TableKind,
  tableLayout,
} from "./decode.ts";
import { iphlpapi } from "./ffi/iphlpapi.ts";
import { pointerFrom, readWideAt } from "./ffi/memory.ts";
import {
  AF_INET,
  AF_INET6,
  ERROR_INSUFFICIENT_BUFFER,
  ERROR_INVALID_PARAMETER,
  NO_ERROR,
  TCP_TABLE_OWNER_MODULE_ALL,
  TCP_TABLE_OWNER_PID_ALL,
  TCPIP_OWNER_MODULE_BASIC_INFO,
  TCPIP_OWNER_MODULE_INFO_BASIC,
  UDP_TABLE_OWNER_MODULE,
  UDP_TABLE_OWNER_PID,
} from "./layouts.ts";

/** Every table kind, in the order a snapshot lists them. */
export const TABLE_KINDS: readonly TableKind[] = ["tcp4", "tcp6", "udp4", "udp6"];

/** `ERROR_NOT_SUPPORTED`: the address family is not installed (IPv6 removed); read as an empty table. */
const ERROR_NOT_SUPPORTED = 50;

/** `STATUS_UNSUCCESSFUL` as the DWORD the table functions return under load (transient; see the module doc). */
export const STATUS_UNSUCCESSFUL = 0xc0000001;

/** Waits before the retries of a transient table failure, ms. */
export const TRANSIENT_BACKOFF_MS: readonly number[] = [20, 80, 320];

/**
 * One GetExtendedTcpTable / GetExtendedUdpTable call (the DLL box's signature, minus the constants):
 * fills `buf`, sets `size[0]`, returns the status. Tests inject a fake; the default calls iphlpapi.
 */
export type TableCall = (
  kind: TableKind,
  buf: Uint8Array<ArrayBuffer>,
  size: Uint32Array<ArrayBuffer>,
  af: number,
  tableClass: number,
) => Promise<number>;

/** The real call through iphlpapi.dll. */
export const iphlpapiTableCall: TableCall = (kind, buf, size, af, tableClass) => {
  const ip = iphlpapi();
  const fn = kind.startsWith("tcp") ? ip.GetExtendedTcpTable : ip.GetExtendedUdpTable;
  return fn(buf, size, 0, af, tableClass, 0);
};

/** Options of a {@link TableReader}. */
export interface TableReaderOptions {
  /** `pid` (default) reads the OWNER_PID classes; `module` the OWNER_MODULE classes (same cost, larger rows). */
  flavour?: TableFlavour;
  /** First buffer size per table in bytes (default 16 KiB). */
  initialBytes?: number;
  /** Calls per table before giving up on a table that keeps growing (default 5). */
  maxAttempts?: number;
  /** The table call (default {@link iphlpapiTableCall}; tests inject a fake of the DLL box). */
  call?: TableCall;
  /** Waits between transient retries (default {@link TRANSIENT_BACKOFF_MS}; its length is the retry count). */
  backoffMs?: readonly number[];
  /** The wait (default a timer). */
  sleep?: (ms: number) => Promise<void>;
}

/** Facts of one socket that only the OWNER_MODULE classes carry (Windows fills them, wine does not). */
export interface OwnerModuleInfo {
  /** The socket, as {@link decodeTable} decodes it. */
  socket: SocketRecord;
  /** Socket creation time, ms since the Unix epoch, when the OS reports one. */
  createTime?: number;
  /** Owning module (for a svchost-hosted service: the service name), from GetOwnerModuleFrom*Entry. */
  moduleName?: string;
  /** Full path of the owning module. */
  modulePath?: string;
}

/** True for a status worth another call: anything but success, 122 (handled by growing), 50 and 87. */
export function isTransient(rc: number): boolean {
  return rc !== NO_ERROR && rc !== ERROR_INSUFFICIENT_BUFFER && rc !== ERROR_NOT_SUPPORTED &&
    rc !== ERROR_INVALID_PARAMETER;
}

function apiOf(kind: TableKind): "GetExtendedTcpTable" | "GetExtendedUdpTable" {
  return kind.startsWith("tcp") ? "GetExtendedTcpTable" : "GetExtendedUdpTable";
}

function classOf(kind: TableKind, flavour: TableFlavour): number {
  if (kind.startsWith("tcp")) {
    return flavour === "module" ? TCP_TABLE_OWNER_MODULE_ALL : TCP_TABLE_OWNER_PID_ALL;
  }
  return flavour === "module" ? UDP_TABLE_OWNER_MODULE : UDP_TABLE_OWNER_PID;
}

/** Reads the socket tables into buffers it keeps between polls. Not re-entrant: await one read before the next. */
export class TableReader {
  /** The row flavour this reader asks for. */
  readonly flavour: TableFlavour;
  /** Times a table call answered 122 and the buffer grew (for tests and diagnostics). */
  grows = 0;
  /** Transient failures that were retried (for tests and diagnostics). */
  retries = 0;
  readonly #buffers = new Map<TableKind, Uint8Array<ArrayBuffer>>();
  readonly #maxAttempts: number;
  readonly #initialBytes: number;
  readonly #call: TableCall;
  readonly #backoff: readonly number[];
  readonly #sleep: (ms: number) => Promise<void>;

  /** A reader with empty buffers (they are allocated on the first read). @param options flavour, first buffer size, retry bound. */
  constructor(options: TableReaderOptions = {}) {
    this.flavour = options.flavour ?? "pid";
    this.#initialBytes = options.initialBytes ?? 16 * 1024;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#call = options.call ?? iphlpapiTableCall;
    this.#backoff = options.backoffMs ?? TRANSIENT_BACKOFF_MS;
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * The raw bytes of one table: a view of this reader's buffer, valid until the next read of the
   * same kind. Throws {@link OsCallError} on a status other than success, or 122 after
   * `maxAttempts` calls.
   */
  async readRaw(kind: TableKind): Promise<Uint8Array> {
    const cls = classOf(kind, this.flavour);
    let rc = await this.#fill(kind, cls);
    for (let i = 0; i < this.#backoff.length && isTransient(rc); i++) {
      this.retries++;
      await this.#sleep(this.#backoff[i]);
      rc = await this.#fill(kind, cls);
    }
    const layout = tableLayout(kind, this.flavour);
    if (rc === ERROR_NOT_SUPPORTED) return new Uint8Array(layout.header);
    if (rc !== NO_ERROR) {
      const why = rc === ERROR_INSUFFICIENT_BUFFER
        ? `, still growing after ${this.#maxAttempts} calls`
        : isTransient(rc)
        ? `, still failing after ${this.#backoff.length} retries`
        : "";
      throw new OsCallError(apiOf(kind), rc, `${kind}, class ${cls}${why}`);
    }
    const buf = this.#buffers.get(kind)!;
    const used = layout.header + rowCount(buf, layout) * layout.row;
    const bytes = buf.subarray(0, used);
    // shrink after a burst: keep ~1.5x of what is used, never below the first size
    if (buf.byteLength > 4 * used + 65536) {
      this.#buffers.set(kind, new Uint8Array(Math.max(this.#initialBytes, Math.ceil(used * 1.5) + 4096)));
      return bytes.slice();
    }
    return bytes;
  }

  /** Calls the table function into this kind's buffer, growing it on 122 (bounded); returns the last status. */
  async #fill(kind: TableKind, cls: number): Promise<number> {
    const af = kind.endsWith("6") ? AF_INET6 : AF_INET;
    let buf = this.#buffers.get(kind) ?? new Uint8Array(this.#initialBytes);
    this.#buffers.set(kind, buf);
    const size = new Uint32Array(1);
    let rc = ERROR_INSUFFICIENT_BUFFER;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      size[0] = buf.byteLength;
      rc = await this.#call(kind, buf, size, af, cls);
      if (rc !== ERROR_INSUFFICIENT_BUFFER) break;
      // size[0] is what the table needed at that instant; leave room for it to grow meanwhile
      this.grows++;
      buf = new Uint8Array(Math.ceil(Math.max(size[0], buf.byteLength) * 1.5) + 4096);
      this.#buffers.set(kind, buf);
    }
    return rc;
  }

  /** One table decoded to SocketRecords. */
  async read(kind: TableKind): Promise<SocketRecord[]> {
    return decodeTable(kind, this.flavour, await this.readRaw(kind));
  }

  /** All four tables (tcp4, tcp6, udp4, udp6), read concurrently, concatenated in that order. */
  async readAll(): Promise<SocketRecord[]> {
    const parts = await Promise.all(TABLE_KINDS.map((k) => this.read(k)));
    return parts.flat();
  }

  /**
   * One table in the OWNER_MODULE flavour with, per socket, its creation time and owning module when
   * the OS provides them: `GetOwnerModuleFrom*Entry` is called only for rows whose module info is
   * non-zero and only when the DLL exports it (wine does not; there both are always absent).
   */
  async readOwnerModules(kind: TableKind): Promise<OwnerModuleInfo[]> {
    if (this.flavour !== "module") {
      throw new Error("readOwnerModules needs a TableReader with flavour 'module'");
    }
    const bytes = await this.readRaw(kind);
    const sockets = decodeTable(kind, "module", bytes);
    const rows = decodeOwnerModuleRows(kind, bytes);
    const ip = iphlpapi();
    const fn = {
      tcp4: ip.GetOwnerModuleFromTcpEntry,
      tcp6: ip.GetOwnerModuleFromTcp6Entry,
      udp4: ip.GetOwnerModuleFromUdpEntry,
      udp6: ip.GetOwnerModuleFromUdp6Entry,
    }[kind];
    let info = new Uint8Array(1024);
    return rows.map((r) => {
      const out: OwnerModuleInfo = { socket: sockets[r.index] };
      if (r.createTime !== undefined) out.createTime = r.createTime;
      if (!fn || !r.hasModuleInfo) return out;
      const size = new Uint32Array([info.byteLength]);
      let rc = fn(r.row, TCPIP_OWNER_MODULE_INFO_BASIC, info, size);
      if (rc === ERROR_INSUFFICIENT_BUFFER) {
        info = new Uint8Array(size[0] + 64);
        size[0] = info.byteLength;
        rc = fn(r.row, TCPIP_OWNER_MODULE_INFO_BASIC, info, size);
      }
      if (rc !== NO_ERROR) return out; // e.g. 1168 ERROR_NOT_FOUND: the socket closed meanwhile
      const dv = new DataView(info.buffer);
      const name = readWideAt(
        pointerFrom(dv.getBigUint64(TCPIP_OWNER_MODULE_BASIC_INFO.pModuleName, true)),
        1024,
      );
      const path = readWideAt(
        pointerFrom(dv.getBigUint64(TCPIP_OWNER_MODULE_BASIC_INFO.pModulePath, true)),
        1024,
      );
      if (name) out.moduleName = name;
      if (path) out.modulePath = path;
      return out;
    });
  }
}
