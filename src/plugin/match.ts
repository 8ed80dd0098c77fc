/**
 * Matching changes against rules: port ranges, addresses and CIDR ranges (IPv4 and IPv6, through
 * `node:net` `BlockList`), case-insensitive globs on process names, paths and users (through `node:path`
 * `matchesGlob`), TCP states and loopback. Shared by the `filter` and `new-listener` built-ins and usable by
 * any in-repo plugin. Every compile function validates its input and throws {@link UsageError}.
 *
 * @module
 */

import { BlockList, isIP } from "node:net";
import { posix } from "node:path";
import { UsageError } from "../errors.ts";
import type { Change, ChangeKind, Protocol, SocketRecord, TcpState } from "../model/types.ts";
import { TCP_STATES } from "../model/types.ts";
import { describeValue, OptionReader } from "./options.ts";

/** A test on one value. */
export type Predicate<T> = (value: T) => boolean;

/**
 * Ports: a number, or text such as `"80"`, `"1000-2000"`, `"80,443,8000-8100"`, or a list of those.
 */
export type PortSpec = number | string | (number | string)[];

/**
 * Addresses: one address (`"10.0.0.1"`, `"::1"`), a CIDR range (`"10.0.0.0/8"`, `"fe80::/10"`), an
 * inclusive range (`"192.168.1.10-192.168.1.20"`), a comma-separated text of those, or a list. An IPv4 entry
 * also matches the IPv4-mapped IPv6 form (`::ffff:10.0.0.1`).
 */
export type AddressSpec = string | string[];

/**
 * One rule. Every field that is present must match (AND); a field given as a list matches when any element
 * does (OR). An empty rule matches everything.
 */
export interface MatchRule {
  /** `opened`, `closed`, `changed`. */
  kind?: ChangeKind | ChangeKind[];
  /** `tcp` or `udp`. */
  protocol?: Protocol | Protocol[];
  /** 4 or 6. */
  family?: 4 | 6 | (4 | 6)[];
  /** TCP state names (`LISTEN`, `ESTABLISHED`, ...); a UDP endpoint (no state) never matches. */
  state?: TcpState | TcpState[];
  /** Local port. */
  localPort?: PortSpec;
  /** Remote port. */
  remotePort?: PortSpec;
  /** Local or remote port. */
  port?: PortSpec;
  /** Local address. */
  localAddress?: AddressSpec;
  /** Remote address. */
  remoteAddress?: AddressSpec;
  /** Local or remote address. */
  address?: AddressSpec;
  /**
   * Process: a glob on the image name (`nginx`, `svc*.exe`), or on the full path when the pattern contains
   * `/` or `\` (`/usr/sbin/*`, `C:\Program Files\**`), or a pid when it is all digits. Case-insensitive.
   */
  process?: string | string[];
  /** Owning process id. */
  pid?: number | number[];
  /** Glob on the account (`root`, `NT AUTHORITY\*`). Case-insensitive. */
  user?: string | string[];
  /** `true`: local or remote address is a loopback address; `false`: neither is. */
  loopback?: boolean;
  /** `true`: a TCP LISTEN socket or an unconnected UDP endpoint; `false`: anything else. */
  listener?: boolean;
}

/** Every key a {@link MatchRule} may have. */
export const MATCH_RULE_KEYS: readonly string[] = [
  "kind",
  "protocol",
  "family",
  "state",
  "localPort",
  "remotePort",
  "port",
  "localAddress",
  "remoteAddress",
  "address",
  "process",
  "pid",
  "user",
  "loopback",
  "listener",
];

const CHANGE_KINDS: readonly ChangeKind[] = ["opened", "closed", "changed"];

/** Parses a {@link PortSpec} into a predicate. */
export function compilePorts(spec: unknown, where: string): Predicate<number> {
  const parts: string[] = [];
  const items = Array.isArray(spec) ? spec : [spec];
  if (items.length === 0) throw new UsageError(`${where} must not be an empty list`);
  for (const item of items) {
    if (typeof item === "number") parts.push(String(item));
    else if (typeof item === "string") parts.push(...item.split(",").map((s) => s.trim()));
    else {throw new UsageError(
        `${where} must be a port, a range like 1000-2000, or a list; got ${describeValue(item)}`,
      );}
  }
  const ranges: [number, number][] = [];
  for (const part of parts) {
    const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(part);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || lo > 65535 || hi > 65535 || lo > hi) {
      throw new UsageError(`${where}: "${part}" is not a port (0-65535) or a range like 1000-2000`);
    }
    ranges.push([lo, hi]);
  }
  return (port) => ranges.some(([lo, hi]) => port >= lo && port <= hi);
}

function family(address: string): "ipv4" | "ipv6" | undefined {
  const v = isIP(address);
  return v === 4 ? "ipv4" : v === 6 ? "ipv6" : undefined;
}

/** Parses an {@link AddressSpec} into a predicate over address text. */
export function compileAddresses(spec: unknown, where: string): Predicate<string> {
  const items = Array.isArray(spec) ? spec : [spec];
  if (items.length === 0) throw new UsageError(`${where} must not be an empty list`);
  const list = new BlockList();
  for (const item of items) {
    if (typeof item !== "string") {
      throw new UsageError(`${where} must be an address, a CIDR range or a list; got ${describeValue(item)}`);
    }
    for (const raw of item.split(",")) {
      const part = raw.trim();
      const bad = (why: string) => new UsageError(`${where}: "${part}" ${why}`);
      const slash = part.indexOf("/");
      const dash = part.indexOf("-");
      if (slash >= 0) {
        const base = part.slice(0, slash);
        const bits = part.slice(slash + 1);
        const type = family(base);
        const max = type === "ipv4" ? 32 : 128;
        if (!type) throw bad("is not an IPv4 or IPv6 CIDR range");
        if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) throw bad(`has a prefix length outside 0-${max}`);
        list.addSubnet(base, Number(bits), type);
      } else if (dash >= 0) {
        const start = part.slice(0, dash).trim();
        const end = part.slice(dash + 1).trim();
        const type = family(start);
        if (!type || family(end) !== type) throw bad("is not a range of two addresses of the same family");
        try {
          list.addRange(start, end, type);
        } catch {
          throw bad("is not a range from a lower to a higher address");
        }
      } else {
        const type = family(part);
        if (!type) throw bad("is not an IPv4 or IPv6 address");
        list.addAddress(part, type);
      }
    }
  }
  return (address) => {
    const type = family(address);
    return type !== undefined && list.check(address, type);
  };
}

/** Loopback ranges: 127.0.0.0/8 and ::1 (also IPv4-mapped 127.x.y.z). */
const LOOPBACK = compileAddresses(["127.0.0.0/8", "::1"], "loopback");

/** Whether an address is a loopback address (`127.0.0.0/8`, `::1`, `::ffff:127.x.y.z`). */
export function isLoopback(address: string): boolean {
  return LOOPBACK(address);
}

/** Whether the local or the remote address of a socket is a loopback address. */
export function isLoopbackSocket(s: SocketRecord): boolean {
  return isLoopback(s.localAddress) || isLoopback(s.remoteAddress);
}

/** Whether a socket accepts connections or datagrams from anyone: TCP LISTEN, or UDP without a peer. */
export function isListener(s: SocketRecord): boolean {
  if (s.protocol === "tcp") return s.state === "LISTEN";
  return s.remotePort === 0 &&
    (s.remoteAddress === "0.0.0.0" || s.remoteAddress === "::" || s.remoteAddress === "");
}

function normalizeForGlob(text: string): string {
  return text.replaceAll("\\", "/").toLowerCase();
}

/**
 * A case-insensitive glob (`*`, `?`, `**`, `[abc]`, `{a,b}` as `node:path` `matchesGlob` reads them; `\` and `/`
 * are both path separators, so `*` stops at either).
 */
export function compileGlob(pattern: string, where: string): Predicate<string> {
  if (pattern.length === 0) throw new UsageError(`${where}: empty pattern`);
  const normalized = normalizeForGlob(pattern);
  try {
    posix.matchesGlob("probe", normalized);
  } catch {
    throw new UsageError(`${where}: "${pattern}" is not a valid glob`);
  }
  return (value) => posix.matchesGlob(normalizeForGlob(value), normalized);
}

function list<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

function anyOf<T>(preds: Predicate<T>[]): Predicate<T> {
  return (v) => preds.some((p) => p(v));
}

function enumList<T extends string | number>(
  value: unknown,
  choices: readonly T[],
  where: string,
  normalize: (v: unknown) => unknown = (v) => v,
): Set<T> {
  const items = list(value);
  if (items.length === 0) throw new UsageError(`${where} must not be an empty list`);
  const out = new Set<T>();
  for (const item of items) {
    const v = normalize(item) as T;
    if (!choices.includes(v)) {
      throw new UsageError(`${where}: ${describeValue(item)} is not one of ${choices.join(", ")}`);
    }
    out.add(v);
  }
  return out;
}

/** Compiles a process pattern list (globs on name or path, or pids). */
export function compileProcess(value: unknown, where: string): Predicate<Change> {
  const preds: Predicate<Change>[] = [];
  for (const item of list(value)) {
    if (typeof item === "number" || (typeof item === "string" && /^\d+$/.test(item))) {
      const pid = Number(item);
      preds.push((c) => c.socket.pid === pid);
    } else if (typeof item === "string" && item.length > 0) {
      const glob = compileGlob(item, where);
      if (/[\\/]/.test(item)) preds.push((c) => c.process?.path !== undefined && glob(c.process.path));
      else preds.push((c) => c.process !== undefined && glob(c.process.name));
    } else {
      throw new UsageError(
        `${where} must be a process name or path glob, a pid, or a list; got ${describeValue(item)}`,
      );
    }
  }
  if (preds.length === 0) throw new UsageError(`${where} must not be an empty list`);
  return anyOf(preds);
}

/**
 * Compiles one {@link MatchRule} (as read from JSON) into a predicate. Throws {@link UsageError} naming
 * `where` (e.g. `include[0]`) and the field on an unknown field or a bad value.
 */
export function compileRule(rule: unknown, where: string): Predicate<Change> {
  const r = new OptionReader(rule, MATCH_RULE_KEYS, `${where}.`);
  const tests: Predicate<Change>[] = [];
  const at = (key: string) => `${where}.${key}`;
  if (r.has("kind")) {
    const kinds = enumList(r.raw("kind"), CHANGE_KINDS, at("kind"));
    tests.push((c) => kinds.has(c.kind));
  }
  if (r.has("protocol")) {
    const protos = enumList<Protocol>(r.raw("protocol"), ["tcp", "udp"], at("protocol"), lower);
    tests.push((c) => protos.has(c.socket.protocol));
  }
  if (r.has("family")) {
    const fams = enumList<4 | 6>(r.raw("family"), [4, 6], at("family"));
    tests.push((c) => fams.has(c.socket.family));
  }
  if (r.has("state")) {
    const states = enumList<TcpState>(r.raw("state"), TCP_STATES, at("state"), upper);
    tests.push((c) => c.socket.state !== null && states.has(c.socket.state));
  }
  if (r.has("localPort")) {
    const p = compilePorts(r.raw("localPort"), at("localPort"));
    tests.push((c) => p(c.socket.localPort));
  }
  if (r.has("remotePort")) {
    const p = compilePorts(r.raw("remotePort"), at("remotePort"));
    tests.push((c) => p(c.socket.remotePort));
  }
  if (r.has("port")) {
    const p = compilePorts(r.raw("port"), at("port"));
    tests.push((c) => p(c.socket.localPort) || p(c.socket.remotePort));
  }
  if (r.has("localAddress")) {
    const a = compileAddresses(r.raw("localAddress"), at("localAddress"));
    tests.push((c) => a(c.socket.localAddress));
  }
  if (r.has("remoteAddress")) {
    const a = compileAddresses(r.raw("remoteAddress"), at("remoteAddress"));
    tests.push((c) => a(c.socket.remoteAddress));
  }
  if (r.has("address")) {
    const a = compileAddresses(r.raw("address"), at("address"));
    tests.push((c) => a(c.socket.localAddress) || a(c.socket.remoteAddress));
  }
  if (r.has("process")) tests.push(compileProcess(r.raw("process"), at("process")));
  if (r.has("pid")) {
    const pids = list(r.raw("pid"));
    if (pids.length === 0 || !pids.every((p) => typeof p === "number" && Number.isInteger(p) && p >= 0)) {
      throw new UsageError(`${at("pid")} must be a process id or a list of them`);
    }
    const set = new Set(pids as number[]);
    tests.push((c) => set.has(c.socket.pid));
  }
  if (r.has("user")) {
    const globs = list(r.raw("user")).map((u, i) => {
      if (typeof u !== "string") throw new UsageError(`${at("user")}[${i}] must be a string`);
      return compileGlob(u, at("user"));
    });
    if (globs.length === 0) throw new UsageError(`${at("user")} must not be an empty list`);
    tests.push((c) => c.process?.user !== undefined && globs.some((g) => g(c.process!.user!)));
  }
  if (r.has("loopback")) {
    const want = r.boolean("loopback", false);
    tests.push((c) => isLoopbackSocket(c.socket) === want);
  }
  if (r.has("listener")) {
    const want = r.boolean("listener", false);
    tests.push((c) => isListener(c.socket) === want);
  }
  return (c) => tests.every((t) => t(c));
}

function lower(v: unknown): unknown {
  return typeof v === "string" ? v.toLowerCase() : v;
}

function upper(v: unknown): unknown {
  return typeof v === "string" ? v.toUpperCase() : v;
}
