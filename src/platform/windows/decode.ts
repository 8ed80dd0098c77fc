/**
 * Pure decoders: iphlpapi table bytes to the model's {@link SocketRecord}s, and the small text
 * helpers the rest of the Windows code shares. No FFI here, so every function is tested on Linux,
 * on synthetic bytes and on table bytes captured in the wine lab (`test/fixtures/windows/`).
 *
 * Encodings (see `layouts.ts`): ports are in network byte order in the low 16 bits of a DWORD (the
 * high bits are documented as possibly garbage, so they are masked off); IPv4 addresses are 4 bytes
 * in network order; IPv6 addresses are 16 bytes in network order; scope ids are kept only as
 * `scopeId`, for display (wine reports them wrong, Windows reports the interface index).
 *
 * @module
 */

import type { Protocol, SocketRecord } from "../../model/types.ts";
import {
  FILETIME_UNIX_EPOCH,
  MIB_TCP6TABLE_OWNER_MODULE,
  MIB_TCP6TABLE_OWNER_PID,
  MIB_TCP_STATE,
  MIB_TCPTABLE_OWNER_MODULE,
  MIB_TCPTABLE_OWNER_PID,
  MIB_UDP6TABLE_OWNER_MODULE,
  MIB_UDP6TABLE_OWNER_PID,
  MIB_UDPTABLE_OWNER_MODULE,
  MIB_UDPTABLE_OWNER_PID,
  type TableLayout,
  TCPIP_OWNING_MODULE_SIZE,
} from "./layouts.ts";

/** Which of the four tables: protocol plus IP version. */
export type TableKind = "tcp4" | "tcp6" | "udp4" | "udp6";

/** Which row flavour: the `OWNER_PID` classes or the larger `OWNER_MODULE` classes. */
export type TableFlavour = "pid" | "module";

/** The layout of one table kind in one flavour. */
export function tableLayout(kind: TableKind, flavour: TableFlavour): TableLayout {
  const m = flavour === "module";
  switch (kind) {
    case "tcp4":
      return m ? MIB_TCPTABLE_OWNER_MODULE : MIB_TCPTABLE_OWNER_PID;
    case "tcp6":
      return m ? MIB_TCP6TABLE_OWNER_MODULE : MIB_TCP6TABLE_OWNER_PID;
    case "udp4":
      return m ? MIB_UDPTABLE_OWNER_MODULE : MIB_UDPTABLE_OWNER_PID;
    case "udp6":
      return m ? MIB_UDP6TABLE_OWNER_MODULE : MIB_UDP6TABLE_OWNER_PID;
  }
}

/** Extra facts of an `OWNER_MODULE` row that the model's SocketRecord has no field for. */
export interface OwnerModuleRow {
  /** Index of the row in the table (also the index of its SocketRecord). */
  index: number;
  /** When the socket was created, ms since the Unix epoch; absent when the OS reports 0 (wine). */
  createTime?: number;
  /** True when `OwningModuleInfo` holds anything (Windows); all zero under wine. */
  hasModuleInfo: boolean;
  /** The row's raw bytes, as `GetOwnerModuleFrom*Entry` wants them. */
  row: Uint8Array;
}

/** The port in a port DWORD read little-endian: network byte order in the low 16 bits. */
export function portFromDword(raw: number): number {
  return ((raw & 0xff) << 8) | ((raw >>> 8) & 0xff);
}

/** Dotted-quad text of the 4 network-order bytes at `off`. */
export function ipv4Text(bytes: Uint8Array, off: number): string {
  return `${bytes[off]}.${bytes[off + 1]}.${bytes[off + 2]}.${bytes[off + 3]}`;
}

/**
 * RFC 5952 text of the 16 network-order bytes at `off`: lower-case hex, no leading zeros, the
 * longest run (the first on a tie) of two or more zero groups as `::`, and IPv4-mapped addresses
 * (`::ffff:0:0/96`) in the mixed form `::ffff:192.0.2.1` that §5 recommends.
 */
export function ipv6Text(bytes: Uint8Array, off: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[off + 2 * i] << 8) | bytes[off + 2 * i + 1]);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${ipv4Text(bytes, off + 12)}`;
  }
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (bestLen < 2) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** A FILETIME (100 ns since 1601) as ms since the Unix epoch; `undefined` for 0 (unknown). */
export function fileTimeToUnixMs(ft: bigint): number | undefined {
  if (ft === 0n) return undefined;
  return Number((ft - FILETIME_UNIX_EPOCH) / 10000n);
}

/** The UTF-16LE string at byte `off` of `bytes`, up to its NUL or `maxChars`. */
export function readWideIn(bytes: Uint8Array, off: number, maxChars: number): string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const units: number[] = [];
  for (let i = 0; i < maxChars && off + 2 * i + 1 < bytes.byteLength; i++) {
    const c = dv.getUint16(off + 2 * i, true);
    if (c === 0) break;
    units.push(c);
  }
  return String.fromCharCode(...units);
}

/** The number of complete rows in a table buffer: `dwNumEntries`, capped by the bytes present. */
export function rowCount(bytes: Uint8Array, layout: TableLayout): number {
  if (bytes.byteLength < 4) return 0;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  const fit = Math.max(0, Math.floor((bytes.byteLength - layout.header) / layout.row));
  return Math.min(n, fit);
}

/**
 * Decodes one table (the bytes GetExtendedTcpTable / GetExtendedUdpTable wrote) into SocketRecords,
 * in row order. Rows past the end of `bytes` are ignored, never read. A TCP state outside 1..12
 * (never seen) decodes as `CLOSED`.
 */
export function decodeTable(kind: TableKind, flavour: TableFlavour, bytes: Uint8Array): SocketRecord[] {
  const L = tableLayout(kind, flavour);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = rowCount(bytes, L);
  const protocol: Protocol = kind.startsWith("tcp") ? "tcp" : "udp";
  const v6 = kind.endsWith("6");
  const out: SocketRecord[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const o = L.header + i * L.row;
    const localAddress = v6 ? ipv6Text(bytes, o + L.localAddr) : ipv4Text(bytes, o + L.localAddr);
    const rec: SocketRecord = {
      protocol,
      family: v6 ? 6 : 4,
      localAddress,
      localPort: portFromDword(dv.getUint32(o + L.localPort, true)),
      remoteAddress: v6 ? "::" : "0.0.0.0",
      remotePort: 0,
      state: null,
      pid: dv.getUint32(o + L.pid, true),
    };
    if (protocol === "tcp") {
      rec.remoteAddress = v6 ? ipv6Text(bytes, o + L.remoteAddr) : ipv4Text(bytes, o + L.remoteAddr);
      rec.remotePort = portFromDword(dv.getUint32(o + L.remotePort, true));
      rec.state = MIB_TCP_STATE[dv.getUint32(o + L.state, true)] ?? "CLOSED";
    }
    if (v6) rec.scopeId = dv.getUint32(o + L.localScopeId, true);
    if (L.createTimestamp >= 0) {
      // liCreateTimestamp: a FILETIME (MIB_TCPROW_OWNER_MODULE documentation); wine leaves it 0
      const openTime = fileTimeToUnixMs(dv.getBigUint64(o + L.createTimestamp, true));
      if (openTime !== undefined && openTime > 0) rec.openTime = openTime;
    }
    out[i] = rec;
  }
  return out;
}

/** The creation time and owner-module presence of every row of an `OWNER_MODULE` table. */
export function decodeOwnerModuleRows(kind: TableKind, bytes: Uint8Array): OwnerModuleRow[] {
  const L = tableLayout(kind, "module");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = rowCount(bytes, L);
  const out: OwnerModuleRow[] = [];
  for (let i = 0; i < n; i++) {
    const o = L.header + i * L.row;
    let hasModuleInfo = false;
    for (let k = 0; k < TCPIP_OWNING_MODULE_SIZE && !hasModuleInfo; k++) {
      hasModuleInfo = dv.getBigUint64(o + L.owningModuleInfo + 8 * k, true) !== 0n;
    }
    const createTime = fileTimeToUnixMs(dv.getBigUint64(o + L.createTimestamp, true));
    out.push({
      index: i,
      hasModuleInfo,
      row: bytes.subarray(o, o + L.row),
      ...(createTime ? { createTime } : {}),
    });
  }
  return out;
}
