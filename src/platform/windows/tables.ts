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

/** Options of a {@link TableReader}. */
export interface TableReaderOptions {
  /** `pid` (default) reads the OWNER_PID classes; `module` the OWNER_MODULE classes (same cost, larger rows). */
  flavour?: TableFlavour;
  /** First buffer size per table in bytes (default 16 KiB). */
  initialBytes?: number;
  /** Calls per table before giving up on a table that keeps growing (default 5). */
  maxAttempts?: number;
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
  readonly #buffers = new Map<TableKind, Uint8Array>();
  readonly #maxAttempts: number;
  readonly #initialBytes: number;

  /** A reader with empty buffers (they are allocated on the first read). @param options flavour, first buffer size, retry bound. */
  constructor(options: TableReaderOptions = {}) {
    this.flavour = options.flavour ?? "pid";
    this.#initialBytes = options.initialBytes ?? 16 * 1024;
    this.#maxAttempts = options.maxAttempts ?? 5;
  }

  /**
   * The raw bytes of one table: a view of this reader's buffer, valid until the next read of the
   * same kind. Throws {@link OsCallError} on a status other than success, or 122 after
   * `maxAttempts` calls.
   */
  async readRaw(kind: TableKind): Promise<Uint8Array> {
    const ip = iphlpapi();
    const fn = kind.startsWith("tcp") ? ip.GetExtendedTcpTable : ip.GetExtendedUdpTable;
    const af = kind.endsWith("6") ? AF_INET6 : AF_INET;
    const cls = classOf(kind, this.flavour);
    const layout = tableLayout(kind, this.flavour);
    let buf = this.#buffers.get(kind) ?? new Uint8Array(this.#initialBytes);
    const size = new Uint32Array(1);
    let rc = ERROR_INSUFFICIENT_BUFFER;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      size[0] = buf.byteLength;
      rc = await fn(buf, size, 0, af, cls, 0);
      if (rc !== ERROR_INSUFFICIENT_BUFFER) break;
      // size[0] is what the table needed at that instant; leave room for it to grow meanwhile
      this.grows++;
      buf = new Uint8Array(Math.ceil(Math.max(size[0], buf.byteLength) * 1.5) + 4096);
      this.#buffers.set(kind, buf);
    }
    if (rc === ERROR_NOT_SUPPORTED) return new Uint8Array(layout.header);
    if (rc !== NO_ERROR) {
      throw new OsCallError(
        apiOf(kind),
        rc,
        `${kind}, class ${cls}${
          rc === ERROR_INSUFFICIENT_BUFFER ? `, still growing after ${this.#maxAttempts} calls` : ""
        }`,
      );
    }
    const used = layout.header + rowCount(buf, layout) * layout.row;
    const bytes = buf.subarray(0, used);
    // shrink after a burst: keep ~1.5x of what is used, never below the first size
    if (buf.byteLength > 4 * used + 65536) {
      this.#buffers.set(kind, new Uint8Array(Math.max(this.#initialBytes, Math.ceil(used * 1.5) + 4096)));
      return bytes.slice();
    }
    this.#buffers.set(kind, buf);
    return bytes;
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
