import assert from "node:assert/strict";
import type { SocketRecord } from "../../model/types.ts";
import { MAX_REUSED_TCP_DUMPS, TcpDumpReuse } from "./tcp_dump_reuse.ts";
import { RecordCache } from "./record_cache.ts";
import { createLinuxCollector, type LinuxCollector } from "./collector.ts";
import { SockDiagClient } from "./sock_diag_client.ts";
import { INET_DIAG_STATES_BUT_TIME_WAIT } from "./netlink.ts";
import { StateChangeCounter } from "./events/state_change_counter.ts";
import { openLibc } from "./ffi_libc.ts";
import { parseTraceFormat } from "./events/tracepoint_decode.ts";
import { EVENT_PATH, readTracepointFormat } from "./events/tracepoint.ts";

const row = (
  protocol: "tcp" | "udp",
  inode: number,
  state: SocketRecord["state"] = "ESTABLISHED",
): SocketRecord => ({
  protocol,
  family: 4,
  localAddress: "127.0.0.1",
  localPort: 1000 + inode,
  remoteAddress: "127.0.0.1",
  remotePort: 80,
  state: protocol === "tcp" ? state : null,
  pid: 7,
  inode,
});

Deno.test("a TCP dump is reused only while the change count read before it is read again", () => {
  const reuse = new TcpDumpReuse();
  const rows = [row("tcp", 1), row("udp", 2), row("tcp", 3, "LISTEN")];
  assert.equal(reuse.reusable(5), undefined, "nothing kept before the first poll");
  reuse.settled(5, rows, true);
  assert.deepEqual(reuse.reusable(5), [rows[0], rows[2]], "the TCP rows only");
  assert.equal(reuse.reusable(6), undefined, "a change since: dump");
  assert.equal(reuse.reusable(undefined), undefined, "no count: dump");
  reuse.settled(undefined, rows, true);
  assert.equal(reuse.reusable(5), undefined, "a dump without a count is never reused");
  assert.deepEqual(reuse.stats, { dumped: 2, reused: 0 });
});

Deno.test("a TCP dump with a row without a file (accept queue, orphan, TIME_WAIT) is never reused", () => {
  const reuse = new TcpDumpReuse();
  for (const state of ["ESTABLISHED", "FIN_WAIT2", "TIME_WAIT"] as const) {
    reuse.settled(5, [row("tcp", 1), row("tcp", 0, state)], true);
    assert.equal(reuse.reusable(5), undefined, state);
  }
  reuse.settled(5, [row("tcp", 1), row("udp", 0)], true);
  assert.equal(reuse.reusable(5)?.length, 1, "a UDP row without an inode does not matter");
});

Deno.test("a TCP dump is reused at most MAX_REUSED_TCP_DUMPS polls in a row", () => {
  const reuse = new TcpDumpReuse();
  const rows = [row("tcp", 1)];
  reuse.settled(9, rows, true);
  let inRow = 0;
  while (reuse.reusable(9)) {
    reuse.settled(9, rows, false);
    inRow++;
    assert.ok(inRow <= 100);
  }
  assert.equal(inRow, MAX_REUSED_TCP_DUMPS);
  reuse.settled(9, rows, true);
  assert.ok(reuse.reusable(9), "a dump starts the count again");
  assert.deepEqual(reuse.stats, { dumped: 2, reused: MAX_REUSED_TCP_DUMPS });
});

Deno.test("the record cache keeps a record handed out again only when it is the cached one", () => {
  const cache = new RecordCache();
  cache.beginPoll();
  const words = new Uint32Array(11);
  const kept = row("tcp", 77);
  cache.store(77, kept, words, 0);
  cache.settleOwners([kept]);
  cache.beginPoll();
  assert.equal(cache.keep({ ...kept }), false, "a look-alike is not the cached record");
  assert.equal(cache.keep(row("tcp", 78)), false, "an inode not cached");
  assert.equal(cache.keep(kept), true);
  cache.settleOwners([kept]);
  assert.equal(cache.size, 1, "kept: not forgotten at the end of the poll");
  cache.beginPoll();
  cache.settleOwners([]);
  assert.equal(cache.size, 0, "neither dumped nor kept: forgotten");
});

// ---- live (root: the counter is a perf event on the tracepoint) ------------------------------------

const root = Deno.uid() === 0;

Deno.test({
  name: "live: the kernel counts a connection's state changes",
  ignore: !root,
  async fn() {
    const library = openLibc();
    const { id } = parseTraceFormat(readTracepointFormat(library, EVENT_PATH));
    const counter = new StateChangeCounter(library, id);
    try {
      const before = counter.read()!;
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const client = await Deno.connect({
        hostname: "127.0.0.1",
        port: (listener.addr as Deno.NetAddr).port,
      });
      const server = await listener.accept();
      client.close();
      server.close();
      listener.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
      // listen, close of the listener, SYN_SENT, ESTABLISHED ×2 (one from SYN_RECV), FIN_WAIT1, …
      assert.ok(counter.read()! - before >= 6, `${counter.read()! - before} changes counted`);
    } finally {
      counter.close();
      library.close();
    }
  },
});

/** `proto local:port remote:port state inode pid` of the rows on `ports` (other tests run beside). */
function lines(sockets: readonly SocketRecord[], ports: Set<number>): string[] {
  return sockets.filter((s) => s.protocol === "tcp" && (ports.has(s.localPort) || ports.has(s.remotePort)))
    .map((s) =>
      `${s.localAddress}:${s.localPort} ${s.remoteAddress}:${s.remotePort} ${s.state} ${s.inode} ${s.pid}`
    )
    .sort();
}

/** How long {@link reusedPoll} waits for a quiet moment, ms. */
const REUSE_WAIT_MS = 60_000;

/**
 * Polls until one reuses the TCP dump. The count covers every namespace: other tests' connections
 * (the bursts of the event tests under `--parallel`) make dumps until they pause, which can take seconds.
 */
async function reusedPoll(collector: LinuxCollector) {
  const deadline = Date.now() + REUSE_WAIT_MS;
  for (let attempt = 1;; attempt++) {
    const before = collector.tcpDumps.reused;
    const snapshot = await collector.collect();
    if (collector.tcpDumps.reused > before) return snapshot;
    if (Date.now() > deadline) {
      throw new Error(`no poll reused the TCP dump in ${REUSE_WAIT_MS / 1000} s (${attempt} polls)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The TCP rows a fresh dump finds now (TIME_WAIT left out, as the capturing collector does). */
function dumpNow(ports: Set<number>, pidOf: (s: SocketRecord) => number): string[] {
  const client = new SockDiagClient();
  try {
    client.tcpStates = INET_DIAG_STATES_BUT_TIME_WAIT;
    return lines(client.dumpTcp([]).map((s) => ({ ...s, pid: pidOf(s) })), ports);
  } finally {
    client.close();
  }
}

/** A loopback listener and a netlink collector with event capture for `body`; both closed after it. */
async function withListener(
  body: (listener: Deno.Listener, port: number, collector: LinuxCollector) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const collector = createLinuxCollector({ source: "netlink", events: true });
  try {
    await body(listener, (listener.addr as Deno.NetAddr).port, collector);
  } finally {
    collector.close();
    await collector.closed();
    listener.close();
  }
}

Deno.test({
  name: "live: a poll that reuses the TCP dump has the rows a dump has; a change since is in the next poll",
  ignore: !root,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withListener(async (listener, port, collector) => {
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      const server = await listener.accept();
      const ports = new Set([port]);
      const mine = (s: SocketRecord) => (s.inode ? Deno.pid : 0);
      await collector.collect();
      let reused = await reusedPoll(collector);
      assert.deepEqual(lines(reused.sockets, ports), dumpNow(ports, mine));
      assert.equal(lines(reused.sockets, ports).length, 3, "listener and both ends");

      // The peer closes: the server's end goes to CLOSE_WAIT with no call of this process on it.
      client.close();
      let after = await collector.collect();
      for (let i = 0; i < 50 && !lines(after.sockets, ports).some((l) => l.includes("CLOSE_WAIT")); i++) {
        after = await collector.collect();
      }
      assert.ok(
        lines(after.sockets, ports).some((l) => l.includes("CLOSE_WAIT")),
        lines(after.sockets, ports).join("\n"),
      );

      // A new connection made while polls reuse: the next poll has it.
      server.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
      reused = await reusedPoll(collector);
      const second = await Deno.connect({ hostname: "127.0.0.1", port });
      const accepted = await listener.accept();
      try {
        const next = await collector.collect();
        const own = lines(next.sockets, ports).filter((l) => l.includes(" ESTABLISHED "));
        assert.equal(own.length, 2, lines(next.sockets, ports).join("\n"));
      } finally {
        second.close();
        accepted.close();
      }
    }),
});

Deno.test({
  name: "live: while a connection waits in an accept queue (no file yet), no poll reuses the TCP dump",
  ignore: !root,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withListener(async (listener, port, collector) => {
      const waiting = await Deno.connect({ hostname: "127.0.0.1", port }); // never accepted while polled
      try {
        for (let i = 0; i < 30; i++) await collector.collect();
        assert.equal(collector.tcpDumps.reused, 0);
        assert.equal(collector.tcpDumps.dumped, 30);
        const accepted = await listener.accept();
        accepted.close();
      } finally {
        waiting.close();
      }
    }),
});
