import assert from "node:assert/strict";
import { basename } from "node:path";
import type { Snapshot, SocketRecord } from "../../model/types.ts";
import { createLinuxCollector } from "./collector.ts";
import { parsePasswd } from "./process.ts";
import { WARNING_NETLINK_FALLBACK } from "./warnings.ts";
import { rowLines } from "./fixtures_test_util.ts";

const port = (addr: Deno.Addr) => (addr as Deno.NetAddr).port;

/** Loopback sockets of every kind held by this test process. */
async function openLoopbackSockets() {
  const resources: { close(): void }[] = [];
  const expected: Omit<SocketRecord, "pid" | "inode">[] = [];
  for (const [family, hostname] of [[4, "127.0.0.1"], [6, "::1"]] as const) {
    const any = family === 4 ? "0.0.0.0" : "::";
    const listener = Deno.listen({ hostname, port: 0 });
    const client = await Deno.connect({ hostname, port: port(listener.addr) });
    const server = await listener.accept();
    const udp = Deno.listenDatagram({ transport: "udp", hostname, port: 0 });
    resources.push(client, server, listener, udp);
    const tcp = { protocol: "tcp", family, localAddress: hostname, remoteAddress: hostname } as const;
    expected.push(
      { ...tcp, localPort: port(listener.addr), remoteAddress: any, remotePort: 0, state: "LISTEN" },
      { ...tcp, localPort: port(client.localAddr), remotePort: port(listener.addr), state: "ESTABLISHED" },
      { ...tcp, localPort: port(listener.addr), remotePort: port(client.localAddr), state: "ESTABLISHED" },
      {
        protocol: "udp",
        family,
        localAddress: hostname,
        localPort: port(udp.addr),
        remoteAddress: any,
        remotePort: 0,
        state: null,
      },
    );
  }
  return { expected, close: () => resources.forEach((r) => r.close()) };
}

/**
 * This process's rows among the sockets the test opened. (`deno test --parallel` runs other test
 * files in the same process, so "owned by Deno.pid" alone would also match their servers.)
 */
function ownRows(snapshot: Snapshot, held: { expected: { localPort: number }[] }): SocketRecord[] {
  const ports = new Set(held.expected.map((e) => e.localPort));
  return snapshot.sockets.filter((s) => s.pid === Deno.pid && ports.has(s.localPort));
}

Deno.test("live: both sources find every socket of this process, with the same rows and process details", async () => {
  const held = await openLoopbackSockets();
  const collected: Record<string, string[]> = {};
  try {
    for (const source of ["netlink", "proc"] as const) {
      const collector = createLinuxCollector({ source, clock: { now: () => 1234 } });
      try {
        const snapshot = await collector.collect();
        assert.equal(collector.activeSource, source);
        assert.equal(snapshot.time, 1234);
        const own = ownRows(snapshot, held);
        for (const want of held.expected) {
          const found = own.filter((s) =>
            s.protocol === want.protocol && s.family === want.family &&
            s.localAddress === want.localAddress &&
            s.localPort === want.localPort && s.remoteAddress === want.remoteAddress &&
            s.remotePort === want.remotePort && s.state === want.state
          );
          assert.equal(found.length, 1, `${source}: ${JSON.stringify(want)}`);
          assert.ok(found[0].inode! > 0);
        }
        collected[source] = rowLines(own);

        // Every non-zero owner has its ProcessInfo.
        for (const socket of snapshot.sockets) {
          if (socket.pid !== 0) assert.ok(snapshot.processes.has(socket.pid), `pid ${socket.pid}`);
        }
        const me = snapshot.processes.get(Deno.pid)!;
        const executable = Deno.realPathSync(Deno.execPath());
        assert.equal(me.pid, Deno.pid);
        assert.equal(me.name, basename(executable));
        assert.equal(me.path, executable);
        assert.equal(
          me.user,
          parsePasswd(Deno.readTextFileSync("/etc/passwd")).get(Deno.uid()!) ?? String(Deno.uid()),
        );
        assert.equal(me.parentPid, Deno.ppid);
        assert.ok(me.commandLine!.includes("test"), me.commandLine);
        const now = Date.now();
        assert.ok(
          me.startTime! <= now + 1000 && me.startTime! > now - 3_600_000,
          `startTime ${me.startTime}`,
        );
        assert.equal(me.modules![0].path, executable);
        const libc = me.modules!.find((m) => m.name === "libc.so.6");
        assert.ok(
          libc && /^0x[0-9a-f]+$/.test(libc.baseAddress!) && libc.size! > 0,
          JSON.stringify(me.modules),
        );
        assert.equal(me.partial, undefined);

        // A second poll: same rows, the process details come from the cache.
        const scansBefore = collector.owners.stats.fdDirectoryScans;
        const again = await collector.collect();
        assert.deepEqual(rowLines(ownRows(again, held)), collected[source]);
        assert.equal(again.processes.get(Deno.pid), me);
        // only processes the first poll did not see are read again (others start and stop on a shared host)
        const fresh = [...again.processes.keys()].filter((pid) => !snapshot.processes.has(pid)).length;
        const reads = collector.processes.stats.detailReads;
        assert.ok(
          reads >= snapshot.processes.size && reads <= snapshot.processes.size + fresh,
          `${reads} detail reads for ${snapshot.processes.size} known and ${fresh} new processes`,
        );
        assert.ok(
          collector.owners.stats.fdDirectoryScans - scansBefore < scansBefore,
          "second poll scans less",
        );
      } finally {
        collector.close();
      }
    }
    assert.deepEqual(collected.netlink, collected.proc);
    assert.equal(collected.netlink.length, held.expected.length);
  } finally {
    held.close();
  }
});

Deno.test("collector: auto falls back to /proc when netlink fails; netlink-only throws", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const failing = () => {
      throw new Error("netlink denied");
    };
    const auto = createLinuxCollector({ openNetlink: failing });
    const first = await auto.collect();
    assert.equal(auto.activeSource, "proc");
    assert.equal(first.warnings[WARNING_NETLINK_FALLBACK], 1);
    assert.ok(
      first.sockets.filter((s) => s.pid === Deno.pid).some((s) =>
        s.localPort === port(listener.addr) && s.state === "LISTEN"
      ),
    );
    const second = await auto.collect();
    assert.equal(second.warnings[WARNING_NETLINK_FALLBACK], undefined); // counted once, when it happened
    auto.close();

    const strict = createLinuxCollector({ source: "netlink", openNetlink: failing });
    await assert.rejects(strict.collect(), /netlink denied/);
    strict.close();
  } finally {
    listener.close();
  }
});

Deno.test("collector: hostInfo", () => {
  const collector = createLinuxCollector();
  assert.equal(collector.hostInfo().computerName, Deno.hostname());
  collector.close();
});
