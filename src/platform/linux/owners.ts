/**
 * The socket inode → owner pid map, kept incrementally across polls.
 *
 * Neither netlink nor /proc/net names the process that owns a socket, only the socket's inode; the
 * owner is whoever holds a descriptor whose link reads `socket:[<inode>]` in `/proc/<pid>/fd`. Reading
 * every descriptor of every process is the expensive part of a poll (about 3 µs per descriptor), so
 * this map reads as little as it can:
 *
 * 1. Sockets whose inode is already known get their pid from the map: no descriptor is read. Each
 *    owner pid is checked once per poll with one `stat` ({@link pidInstanceToken}): an owner that
 *    exited, or whose pid now names another process, is forgotten with its inodes, and its sockets
 *    count as unknown (e.g. a socket inherited by a child that outlives its parent).
 * 2. /proc is listed (about 1 µs and 0.4 KB of garbage per process) only when some inode is unknown
 *    and a process may have started since the last listing (the newest pid, the last field of
 *    `/proc/loadavg`, moved), and once every {@link PID_LIST_REFRESH_POLLS} polls to forget pids that
 *    are gone.
 * 3. Only when some inode is unknown are descriptors read, in widening stages, stopping as soon as
 *    every inode is known: first the pids never scanned (new processes), then the pids whose
 *    descriptor count changed since their last scan (`stat("/proc/<pid>/fd").st_size`, kernel ≥ 6.2;
 *    0 elsewhere, which reads as "changed"), then every other pid. At most one such round per poll.
 * 4. Inodes still unknown after a round (sockets of processes we may not read, of another pid
 *    namespace, in flight between processes) are remembered as misses: later polls look for them only
 *    in new processes (stage 1), and widen to the other stages again only once every
 *    {@link SocketOwnerMapOptions.missRetryPolls} polls, so a permanent miss never costs a full scan
 *    per poll.
 *
 * A socket shared by several processes (inherited by a fork, passed) belongs to its oldest holder (by
 * process start time: the one that created it, not a worker that inherited it), and every holder
 * found is listed ({@link SocketOwnerMap.holdersOf}). When a new process holds a new socket, its
 * parent is scanned too, so a listener shared after a fork is seen in both. Failures to read a
 * process are counted, never thrown.
 *
 * @module
 */

import type { SocketRecord } from "../../model/types.ts";
import { pidInstanceToken } from "./pid_instance.ts";
import { parseProcStat } from "./process.ts";
import { addHolder, dropHolder } from "./shared_sockets.ts";
import {
  countWarning,
  WARNING_OWNER_ACCESS_DENIED,
  WARNING_OWNER_PID_VANISHED,
  type WarningCounts,
} from "./warnings.ts";

/** Options of {@link SocketOwnerMap}. */
export interface SocketOwnerMapOptions {
  /** Root of the proc file system; `/proc` by default. */
  procRoot?: string;
  /**
   * An inode that stays unknown (a miss) is looked for in new processes only; every this many polls
   * (default 60) it may start one full scan again.
   */
  missRetryPolls?: number;
  /** Called before each fd directory read (test and diagnostics hook). */
  onFdDirectoryScan?: (pid: number) => void;
}

/** Counters of the work done by a {@link SocketOwnerMap}, since it was created. */
export interface SocketOwnerMapStats {
  /** Calls to {@link SocketOwnerMap.assignOwners}. */
  polls: number;
  /** `/proc/<pid>/fd` directories read. */
  fdDirectoryScans: number;
  /** Polls that went beyond new pids (stages 2 and 3 of the module description). */
  widenedScans: number;
  /** Listings of /proc. */
  pidListings: number;
}

/** In a steady state (no unknown inode), /proc is listed once every this many polls. */
export const PID_LIST_REFRESH_POLLS = 60;

/** Default of {@link SocketOwnerMapOptions.missRetryPolls}. */
export const DEFAULT_MISS_RETRY_POLLS = 60;

/** What the map knows of one live process. */
interface PidEntry {
  /** Poll number in which the pid was last listed in /proc. */
  listedInPoll: number;
  /** Poll number of the last fd scan; 0 when never scanned. */
  scannedInPoll: number;
  /** Descriptor count at the last scan. */
  fdCountAtScan: number;
  /** Socket inodes found at the last scan. */
  inodes: number[];
  /** {@link pidInstanceToken} taken just before the last scan. */
  instance: string | undefined;
  /** Poll number in which the pid was last confirmed to be the scanned process. */
  confirmedInPoll: number;
  /** Start time in clock ticks after boot and parent pid, read when the process shares a socket. */
  stat?: { startTicks: number; parentPid: number };
}

const SOCKET_LINK_PREFIX = "socket:[";

/** Maps socket inodes to owner pids; see the module description. */
export class SocketOwnerMap {
  /** Work counters (fd directory scans etc.). */
  readonly stats: SocketOwnerMapStats = { polls: 0, fdDirectoryScans: 0, widenedScans: 0, pidListings: 0 };

  readonly #procRoot: string;
  readonly #missRetryPolls: number;
  readonly #onFdDirectoryScan?: (pid: number) => void;
  readonly #ownerByInode = new Map<number, number>();
  /** Every holder of a socket held by more than one process, oldest first (the owner is the first). */
  readonly #holdersByInode = new Map<number, number[]>();
  readonly #pids = new Map<number, PidEntry>();
  #misses = new Set<number>();
  #lastMissRetryPoll = 0;
  #lastListingPoll = 0;
  /** Newest pid (from `loadavg`) just before the last listing; undefined when unknown. */
  #newestPidAtListing: number | undefined;
  /** Sockets of the current poll whose inode is unknown (reused between polls). */
  readonly #pending: SocketRecord[] = [];

  /** @param options see {@link SocketOwnerMapOptions}. */
  constructor(options: SocketOwnerMapOptions = {}) {
    this.#procRoot = options.procRoot ?? "/proc";
    this.#missRetryPolls = options.missRetryPolls ?? DEFAULT_MISS_RETRY_POLLS;
    this.#onFdDirectoryScan = options.onFdDirectoryScan;
  }

  /** Owner pid of a socket inode as last resolved; 0 when unknown. */
  ownerOf(inode: number): number {
    return this.#ownerByInode.get(inode) ?? 0;
  }

  /** Every process found holding a shared socket, oldest first; undefined when one (or none) holds it. */
  holdersOf(inode: number): number[] | undefined {
    return this.#holdersByInode.get(inode);
  }

  /**
   * Sets `pid` on every socket (0 when the owner is unknown or the socket has no inode), reading as
   * few fd directories as possible. Read failures are counted in `warnings`. `hint` may name the
   * owner of a socket whose inode is not known (the process an event source saw connect it): then no
   * descriptor is read for it.
   */
  assignOwners(
    sockets: SocketRecord[],
    warnings: WarningCounts,
    hint?: (socket: SocketRecord) => number | undefined,
  ): void {
    const poll = ++this.stats.polls;
    if (this.#lastListingPoll === 0 || poll - this.#lastListingPoll >= PID_LIST_REFRESH_POLLS) {
      this.#refreshPidList(poll);
    }

    const pending = this.#pending;
    pending.length = 0;
    for (const socket of sockets) {
      const inode = socket.inode ?? 0;
      let owner = inode === 0 ? 0 : this.#ownerByInode.get(inode);
      if (owner !== undefined && owner !== 0 && !this.#confirm(owner, poll)) owner = undefined;
      if (owner !== undefined) {
        socket.pid = owner;
        if (this.#holdersByInode.size || socket.holders) this.#setHolders(socket, inode);
        continue;
      }
      const hinted = hint && inode !== 0 ? hint(socket) : undefined;
      socket.pid = hinted ?? 0;
      if (hinted === undefined) pending.push(socket); // a hinted owner costs no scan
    }
    if (pending.length === 0) {
      if (this.#misses.size > 0) this.#misses = new Set();
      return;
    }
    if (
      this.#lastListingPoll !== poll && !this.#hasFreshUnknown() &&
      poll - this.#lastMissRetryPoll < this.#missRetryPolls
    ) {
      // Only known misses: they can only be found in a process started since the last listing.
      const newest = this.#newestPid();
      if (newest !== undefined && newest === this.#newestPidAtListing) {
        pending.length = 0;
        return;
      }
    }
    if (this.#lastListingPoll !== poll) this.#refreshPidList(poll);

    // Stage 1: processes never scanned (each process is read once in its life this way).
    this.#scanWhere(poll, warnings, (entry) => entry.scannedInPoll === 0);
    if (
      this.#resolvePending() > 0 &&
      (this.#hasFreshUnknown() || poll - this.#lastMissRetryPoll >= this.#missRetryPolls)
    ) {
      // Stage 2: processes whose descriptor count changed; stage 3: every other process.
      this.#lastMissRetryPoll = poll;
      this.stats.widenedScans++;
      this.#scanWhere(poll, warnings, (entry, pid) => this.#fdCountChanged(pid, entry));
      if (this.#resolvePending() > 0) this.#scanWhere(poll, warnings, () => true);
      this.#resolvePending();
    }
    const misses = new Set<number>();
    for (const socket of pending) misses.add(socket.inode!);
    this.#misses = misses;
    pending.length = 0;
  }

  /** Sets `holders` on a socket whose inode is shared (the same array while the holders stay the same). */
  #setHolders(socket: SocketRecord, inode: number): void {
    const holders = this.#holdersByInode.get(inode);
    if (holders !== undefined) socket.holders = holders;
    else if (socket.holders !== undefined) delete socket.holders;
  }

  /** Whether a pending inode was not already unknown in the previous poll. */
  #hasFreshUnknown(): boolean {
    for (const socket of this.#pending) if (!this.#misses.has(socket.inode!)) return true;
    return false;
  }

  /**
   * Whether `pid` is still the process whose descriptors were scanned (checked once per poll);
   * forgets it and its inodes when it is not.
   */
  #confirm(pid: number, poll: number): boolean {
    const entry = this.#pids.get(pid);
    if (entry === undefined) return false;
    if (entry.confirmedInPoll === poll) return true;
    const instance = pidInstanceToken(this.#procRoot, pid);
    if (instance !== undefined && instance === entry.instance) {
      entry.confirmedInPoll = poll;
      return true;
    }
    this.#forget(pid, entry);
    return false;
  }

  /** The most recently created pid (last field of `/proc/loadavg`); undefined when unreadable. */
  #newestPid(): number | undefined {
    try {
      const text = Deno.readTextFileSync(`${this.#procRoot}/loadavg`);
      const newest = Number(text.slice(text.lastIndexOf(" ") + 1));
      return Number.isInteger(newest) ? newest : undefined;
    } catch {
      return undefined; // e.g. a test's fake /proc: list every time
    }
  }

  /** Lists /proc; forgets pids that are gone. */
  #refreshPidList(poll: number): void {
    this.#lastListingPoll = poll;
    this.stats.pidListings++;
    this.#newestPidAtListing = this.#newestPid(); // before the listing: a pid made during it counts as new
    for (const entry of Deno.readDirSync(this.#procRoot)) {
      const code = entry.name.charCodeAt(0);
      if (code < 0x30 || code > 0x39) continue;
      const pid = Number(entry.name);
      const known = this.#pids.get(pid);
      if (known !== undefined) {
        known.listedInPoll = poll;
      } else {
        this.#pids.set(pid, {
          listedInPoll: poll,
          scannedInPoll: 0,
          fdCountAtScan: -1,
          inodes: [],
          instance: undefined,
          confirmedInPoll: 0,
        });
      }
    }
    for (const [pid, entry] of this.#pids) {
      if (entry.listedInPoll === poll) continue;
      this.#forget(pid, entry);
    }
  }

  #forget(pid: number, entry: PidEntry): void {
    for (const inode of entry.inodes) this.#dropHolder(inode, pid);
    this.#pids.delete(pid);
  }

  #dropHolder(inode: number, pid: number): void {
    dropHolder(this.#holdersByInode, this.#ownerByInode, inode, pid);
  }

  #addHolder(inode: number, pid: number, owner: number): void {
    const age = (holder: number) => this.#statOf(holder)?.startTicks ?? Number.MAX_SAFE_INTEGER;
    addHolder(this.#holdersByInode, this.#ownerByInode, { inode, pid, owner }, age);
  }

  /** Start time and parent of a known pid (read once). */
  #statOf(pid: number): PidEntry["stat"] {
    const entry = this.#pids.get(pid);
    if (entry === undefined) return undefined;
    if (entry.stat === undefined) {
      try {
        const stat = parseProcStat(Deno.readTextFileSync(`${this.#procRoot}/${pid}/stat`));
        if (stat) entry.stat = { startTicks: stat.startTicks, parentPid: stat.parentPid };
      } catch {
        return undefined; // gone: its scan will count it
      }
    }
    return entry.stat;
  }

  /** Fills in pids of pending sockets that are now known; returns how many remain unknown. */
  #resolvePending(): number {
    const pending = this.#pending;
    let remaining = 0;
    for (let i = 0; i < pending.length; i++) {
      const socket = pending[i];
      const owner = this.#ownerByInode.get(socket.inode!);
      if (owner !== undefined) {
        socket.pid = owner;
        if (this.#holdersByInode.size) this.#setHolders(socket, socket.inode!);
      } else pending[remaining++] = socket;
    }
    pending.length = remaining;
    return remaining;
  }

  #fdCountChanged(pid: number, entry: PidEntry): boolean {
    try {
      const size = Deno.statSync(`${this.#procRoot}/${pid}/fd`).size;
      return size === 0 || size !== entry.fdCountAtScan;
    } catch {
      return true; // the scan itself will count the failure
    }
  }

  /** Scans the pids not yet scanned in this poll that `select` picks; returns how many. */
  #scanWhere(
    poll: number,
    warnings: WarningCounts,
    select: (entry: PidEntry, pid: number) => boolean,
  ): number {
    let scanned = 0;
    for (const [pid, entry] of this.#pids) {
      if (entry.scannedInPoll === poll || !select(entry, pid)) continue;
      this.#scan(pid, entry, poll, warnings);
      scanned++;
    }
    return scanned;
  }

  /** Reads the fd directory of one pid and replaces what the map knows of it. */
  #scan(pid: number, entry: PidEntry, poll: number, warnings: WarningCounts): void {
    const firstScan = entry.scannedInPoll === 0;
    this.stats.fdDirectoryScans++;
    this.#onFdDirectoryScan?.(pid);
    entry.scannedInPoll = poll;
    entry.instance = pidInstanceToken(this.#procRoot, pid);
    entry.confirmedInPoll = poll;
    const fdDirectory = `${this.#procRoot}/${pid}/fd`;
    const inodes: number[] = [];
    let fdCount = 0;
    try {
      for (const fd of Deno.readDirSync(fdDirectory)) {
        fdCount++;
        let link: string;
        try {
          link = Deno.readLinkSync(`${fdDirectory}/${fd.name}`);
        } catch {
          continue; // the descriptor was closed meanwhile
        }
        if (link.startsWith(SOCKET_LINK_PREFIX)) {
          inodes.push(Number(link.slice(SOCKET_LINK_PREFIX.length, -1)));
        }
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        countWarning(warnings, WARNING_OWNER_PID_VANISHED);
        this.#forget(pid, entry);
        return;
      }
      if (error instanceof Deno.errors.PermissionDenied) {
        countWarning(warnings, WARNING_OWNER_ACCESS_DENIED);
        return;
      }
      throw error; // e.g. NotCapable: the program runs without -A, a setup fault to report
    }
    const held = new Set(inodes);
    for (const inode of entry.inodes) if (!held.has(inode)) this.#dropHolder(inode, pid);
    let newInodes = false;
    for (const inode of inodes) {
      const owner = this.#ownerByInode.get(inode);
      if (owner === undefined) {
        this.#ownerByInode.set(inode, pid);
        newInodes = true;
      } else if (owner !== pid) this.#addHolder(inode, pid, owner);
    }
    entry.inodes = inodes;
    entry.fdCountAtScan = fdCount;
    if (newInodes && firstScan) this.#scanParent(pid, poll, warnings);
  }

  /** A new process holds new sockets: they may be inherited, so its parent is scanned too (once per poll). */
  #scanParent(pid: number, poll: number, warnings: WarningCounts): void {
    const parent = this.#statOf(pid)?.parentPid ?? 0;
    const entry = parent > 1 ? this.#pids.get(parent) : undefined;
    if (entry !== undefined && entry.scannedInPoll !== poll) this.#scan(parent, entry, poll, warnings);
  }
}
