import assert from "node:assert/strict";
import type { SocketRecord } from "../../model/types.ts";
import { PID_LIST_REFRESH_POLLS, SocketOwnerMap } from "./owners.ts";
import { WARNING_OWNER_PID_VANISHED, type WarningCounts } from "./warnings.ts";

/** A fake /proc: `<root>/<pid>/fd/<n>` symlinks to `socket:[inode]` (and one to a regular file). */
class FakeProc {
  readonly root = Deno.makeTempDirSync({ prefix: "portreporter-owners-" });
  #nextFd = new Map<number, number>();

  addProcess(pid: number, ...inodes: number[]): void {
    Deno.mkdirSync(`${this.root}/${pid}/fd`, { recursive: true });
    Deno.symlinkSync("/dev/null", `${this.root}/${pid}/fd/0`);
    this.#nextFd.set(pid, 3);
    for (const inode of inodes) this.addSocket(pid, inode);
  }

  addSocket(pid: number, inode: number): void {
    const fd = this.#nextFd.get(pid)!;
    this.#nextFd.set(pid, fd + 1);
    Deno.symlinkSync(`socket:[${inode}]`, `${this.root}/${pid}/fd/${fd}`);
  }

  removeProcess(pid: number): void {
    Deno.removeSync(`${this.root}/${pid}`, { recursive: true });
  }

  dispose(): void {
    Deno.removeSync(this.root, { recursive: true });
  }
}

function sockets(...inodes: number[]): SocketRecord[] {
  return inodes.map((inode) => ({
    protocol: "tcp",
    family: 4,
    localAddress: "127.0.0.1",
    localPort: inode,
    remoteAddress: "0.0.0.0",
    remotePort: 0,
    state: "LISTEN",
    pid: -1,
    inode,
  }));
}

/** Runs one poll; returns the pid of each socket and the pids whose fd directory was read. */
function poll(map: SocketOwnerMap, scanned: number[], ...inodes: number[]) {
  scanned.length = 0;
  const warnings: WarningCounts = {};
  const rows = sockets(...inodes);
  map.assignOwners(rows, warnings);
  return { pids: rows.map((r) => r.pid), scanned: [...scanned].sort((a, b) => a - b), warnings };
}

Deno.test("SocketOwnerMap: steady polls read no fd directory; only new or changed processes are read", () => {
  const proc = new FakeProc();
  try {
    proc.addProcess(100, 1, 2);
    proc.addProcess(200, 3);
    proc.addProcess(300); // no sockets
    const scanned: number[] = [];
    const map = new SocketOwnerMap({ procRoot: proc.root, onFdDirectoryScan: (pid) => scanned.push(pid) });

    assert.deepEqual(poll(map, scanned, 1, 2, 3, 0), {
      pids: [100, 100, 200, 0],
      scanned: [100, 200, 300],
      warnings: {},
    });
    // Same sockets: zero scans.
    assert.deepEqual(poll(map, scanned, 1, 2, 3).scanned, []);
    assert.deepEqual(poll(map, scanned, 1, 2, 3).scanned, []);

    // A new process with a new socket: only that process is read.
    proc.addProcess(400, 4);
    assert.deepEqual(poll(map, scanned, 1, 2, 3, 4), {
      pids: [100, 100, 200, 400],
      scanned: [400],
      warnings: {},
    });

    // A process that starts without a new socket is not read at all.
    proc.addProcess(500, 77);
    assert.deepEqual(poll(map, scanned, 1, 2, 3, 4).scanned, []);

    // A new socket in a process already known: read the unscanned ones first (500), then wider.
    proc.addSocket(200, 5);
    const widened = poll(map, scanned, 1, 2, 3, 4, 5);
    assert.deepEqual(widened.pids, [100, 100, 200, 400, 200]);
    assert.ok(widened.scanned.includes(200) && widened.scanned.includes(500));
    assert.deepEqual(poll(map, scanned, 1, 2, 3, 4, 5).scanned, []);

    // A process that exits with its sockets costs no scan; its inodes are forgotten at the next
    // periodic listing of /proc.
    proc.removeProcess(100);
    assert.deepEqual(poll(map, scanned, 3, 4, 5), { pids: [200, 400, 200], scanned: [], warnings: {} });
    assert.equal(map.stats.polls, 8);
    for (let i = 0; i < PID_LIST_REFRESH_POLLS; i++) {
      assert.deepEqual(poll(map, scanned, 3, 4, 5).scanned, []);
    }
    assert.equal(map.ownerOf(1), 0);
    assert.equal(map.ownerOf(3), 200);
  } finally {
    proc.dispose();
  }
});

Deno.test("SocketOwnerMap: steady polls list /proc only once every PID_LIST_REFRESH_POLLS polls", () => {
  const proc = new FakeProc();
  try {
    proc.addProcess(100, 1);
    const map = new SocketOwnerMap({ procRoot: proc.root });
    for (let i = 0; i < 2 * PID_LIST_REFRESH_POLLS; i++) assert.deepEqual(poll(map, [], 1).pids, [100]);
    assert.equal(map.stats.pidListings, 2);
    // An unknown inode lists /proc at once (a new process may own it).
    proc.addProcess(200, 2);
    assert.deepEqual(poll(map, [], 1, 2).pids, [100, 200]);
    assert.equal(map.stats.pidListings, 3);
  } finally {
    proc.dispose();
  }
});

Deno.test("SocketOwnerMap: when the owner exits, its socket moves to the child that inherited it", () => {
  const proc = new FakeProc();
  try {
    proc.addProcess(100, 7);
    const scanned: number[] = [];
    const map = new SocketOwnerMap({ procRoot: proc.root, onFdDirectoryScan: (pid) => scanned.push(pid) });
    assert.deepEqual(poll(map, scanned, 7).pids, [100]);
    proc.addProcess(600, 7); // forked with the socket; the parent still holds it too
    assert.deepEqual(poll(map, scanned, 7), { pids: [100], scanned: [], warnings: {} });
    proc.removeProcess(100);
    assert.deepEqual(poll(map, scanned, 7), { pids: [600], scanned: [600], warnings: {} });
    assert.deepEqual(poll(map, scanned, 7), { pids: [600], scanned: [], warnings: {} });
  } finally {
    proc.dispose();
  }
});

Deno.test("SocketOwnerMap: an inode nobody owns triggers one full scan, then only rare retries", () => {
  const proc = new FakeProc();
  try {
    proc.addProcess(100, 1);
    proc.addProcess(200, 2);
    const scanned: number[] = [];
    const map = new SocketOwnerMap({
      procRoot: proc.root,
      missRetryPolls: 5,
      onFdDirectoryScan: (pid) => scanned.push(pid),
    });
    assert.deepEqual(poll(map, scanned, 1, 2).scanned, [100, 200]);

    // 999 belongs to no readable process: one widened round (both pids), at most once per poll.
    const first = poll(map, scanned, 1, 2, 999);
    assert.deepEqual(first.pids, [100, 200, 0]);
    assert.deepEqual(first.scanned, [100, 200]);
    assert.equal(map.stats.widenedScans, 1);
    // Remembered as a miss: the next polls read nothing.
    for (let i = 0; i < 3; i++) assert.deepEqual(poll(map, scanned, 1, 2, 999).scanned, []);
    // A new process is read once, in case it holds the socket; known processes are not re-read...
    proc.addProcess(300);
    assert.deepEqual(poll(map, scanned, 1, 2, 999).scanned, [300]);
    // ... until missRetryPolls (5) polls after the last full round.
    assert.deepEqual(poll(map, scanned, 1, 2, 999).scanned, [100, 200, 300]);
    for (let i = 0; i < 4; i++) assert.deepEqual(poll(map, scanned, 1, 2, 999).scanned, []);
    assert.deepEqual(poll(map, scanned, 1, 2, 999).scanned, [100, 200, 300]);
    assert.equal(map.stats.widenedScans, 3);
    // When the owner shows up (socket passed to a new process), it is found without a full round.
    proc.addProcess(400, 999);
    assert.deepEqual(poll(map, scanned, 1, 2, 999), { pids: [100, 200, 400], scanned: [400], warnings: {} });
  } finally {
    proc.dispose();
  }
});

Deno.test("SocketOwnerMap: with only known misses, /proc is listed again only once a new pid appears", () => {
  const proc = new FakeProc();
  try {
    const setNewestPid = (pid: number) =>
      Deno.writeTextFileSync(`${proc.root}/loadavg`, `0.00 0.01 0.05 1/80 ${pid}\n`);
    setNewestPid(200);
    proc.addProcess(100, 1);
    const scanned: number[] = [];
    const map = new SocketOwnerMap({ procRoot: proc.root, onFdDirectoryScan: (pid) => scanned.push(pid) });
    assert.deepEqual(poll(map, scanned, 1, 999).pids, [100, 0]); // 999: nobody's
    const listings = map.stats.pidListings;
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(poll(map, scanned, 1, 999), { pids: [100, 0], scanned: [], warnings: {} });
    }
    assert.equal(map.stats.pidListings, listings);
    // A process starts (the newest pid moves) holding the socket: listed and read at once.
    proc.addProcess(300, 999);
    setNewestPid(300);
    assert.deepEqual(poll(map, scanned, 1, 999), { pids: [100, 300], scanned: [300], warnings: {} });
    assert.equal(map.stats.pidListings, listings + 1);
  } finally {
    proc.dispose();
  }
});

Deno.test("SocketOwnerMap: a shared socket keeps its first owner", () => {
  const proc = new FakeProc();
  try {
    proc.addProcess(100, 7);
    const map = new SocketOwnerMap({ procRoot: proc.root });
    assert.deepEqual(poll(map, [], 7).pids, [100]);
    proc.addProcess(50, 7, 8); // a child inherits socket 7 and opens 8
    assert.deepEqual(poll(map, [], 7, 8).pids, [100, 50]);
    proc.removeProcess(100); // the first owner exits: the next owner is found
    assert.deepEqual(poll(map, [], 7, 8).pids, [50, 50]);
  } finally {
    proc.dispose();
  }
});

Deno.test("SocketOwnerMap: a process that vanishes mid-poll is counted, not thrown", () => {
  const proc = new FakeProc();
  try {
    proc.addProcess(100, 1);
    proc.addProcess(200, 2);
    const map = new SocketOwnerMap({
      procRoot: proc.root,
      onFdDirectoryScan: (pid) => {
        if (pid === 200) proc.removeProcess(200); // exits between the /proc listing and its fd read
      },
    });
    const result = poll(map, [], 1, 2);
    assert.deepEqual(result.pids, [100, 0]);
    assert.deepEqual(result.warnings, { [WARNING_OWNER_PID_VANISHED]: 1 });
  } finally {
    proc.dispose();
  }
});
