/**
 * The Windows collector against real sockets of a second wine process (lab only).
 */
import assert from "node:assert/strict";
import type { SocketRecord } from "../../src/model/types.ts";
import { createWindowsCollector } from "../../src/platform/windows/collector.ts";
import { ignore, startHelper } from "./lab_util.ts";

Deno.test({ name: "collector: sockets of another process, with its pid and details", ignore }, async () => {
  const helper = await startHelper();
  const collector = createWindowsCollector({ clock: { now: () => 1_234_567 } });
  try {
    const h = helper.sockets;
    const snap = await collector.collect();
    assert.equal(snap.time, 1_234_567);
    const mine = snap.sockets.filter((s) => s.pid === h.pid);
    const has = (want: Omit<SocketRecord, "pid" | "scopeId">) =>
      assert.ok(
        mine.some((s) =>
          s.protocol === want.protocol && s.family === want.family && s.localAddress === want.localAddress &&
          s.localPort === want.localPort && s.remoteAddress === want.remoteAddress &&
          s.remotePort === want.remotePort &&
          s.state === want.state
        ),
        `missing ${JSON.stringify(want)} in ${JSON.stringify(mine)}`,
      );
    has({
      protocol: "tcp",
      family: 4,
      localAddress: "127.0.0.1",
      localPort: h.tcp4Listen,
      remoteAddress: "0.0.0.0",
      remotePort: 0,
      state: "LISTEN",
    });
    has({
      protocol: "tcp",
      family: 4,
      localAddress: "127.0.0.1",
      localPort: h.tcp4Client,
      remoteAddress: "127.0.0.1",
      remotePort: h.tcp4Listen,
      state: "ESTABLISHED",
    });
    has({
      protocol: "tcp",
      family: 4,
      localAddress: "127.0.0.1",
      localPort: h.tcp4Listen,
      remoteAddress: "127.0.0.1",
      remotePort: h.tcp4Client,
      state: "ESTABLISHED",
    });
    has({
      protocol: "tcp",
      family: 6,
      localAddress: "::1",
      localPort: h.tcp6Listen,
      remoteAddress: "::",
      remotePort: 0,
      state: "LISTEN",
    });
    has({
      protocol: "tcp",
      family: 6,
      localAddress: "::1",
      localPort: h.tcp6Client,
      remoteAddress: "::1",
      remotePort: h.tcp6Listen,
      state: "ESTABLISHED",
    });
    has({
      protocol: "udp",
      family: 4,
      localAddress: "127.0.0.1",
      localPort: h.udp4,
      remoteAddress: "0.0.0.0",
      remotePort: 0,
      state: null,
    });
    has({
      protocol: "udp",
      family: 6,
      localAddress: "::1",
      localPort: h.udp6,
      remoteAddress: "::",
      remotePort: 0,
      state: null,
    });
    for (const s of mine.filter((s) => s.family === 6)) assert.equal(typeof s.scopeId, "number");

    // every non-zero owner has details; the helper's are complete
    for (const s of snap.sockets) {
      if (s.pid !== 0) assert.ok(snap.processes.has(s.pid), `no details for pid ${s.pid}`);
    }
    const p = snap.processes.get(h.pid);
    assert.ok(p, "helper process details");
    assert.equal(p.partial, undefined, p.partial);
    assert.equal(p.name.toLowerCase(), "deno.exe");
    assert.match(p.path ?? "", /\\deno\.exe$/i);
    assert.match(p.user ?? "", /^[^\\]+\\[^\\]+$/, "user is DOMAIN\\user");
    assert.equal(p.parentPid, Deno.pid);
    assert.equal(p.parentName?.toLowerCase(), "deno.exe");
    assert.ok(p.startTime && Math.abs(p.startTime - Date.now()) < 10 * 60_000, `start time ${p.startTime}`);
    assert.deepEqual(p.services, []);
    const mods = p.modules ?? [];
    assert.equal(mods[0]?.name.toLowerCase(), "deno.exe", "the executable comes first");
    for (const dll of ["ntdll.dll", "kernel32.dll"]) {
      const m = mods.find((m) => m.name.toLowerCase() === dll);
      assert.ok(m, `${dll} loaded`);
      assert.match(m.baseAddress ?? "", /^0x[0-9a-f]+$/);
      assert.notEqual(BigInt(m.baseAddress!), 0n);
      assert.ok((m.size ?? 0) > 0);
      assert.match(m.path, new RegExp(`\\\\${dll.replace(".", "\\.")}$`, "i"));
    }

    // a second poll reuses the cached details (same object: modules were not re-read)
    const snap2 = await collector.collect();
    assert.equal(snap2.processes.get(h.pid), p);
    assert.deepEqual(snap2.warnings, {});

    // host info for the headers
    const host = collector.hostInfo();
    assert.ok(host.computerName.length > 0);
    assert.match(host.osName, /^Windows.* \(\d+\.\d+\.\d+\)$/);
  } finally {
    collector.close();
    await helper.stop();
  }
});

Deno.test(
  { name: "collector: closed sockets disappear, concurrent collects are serialised", ignore },
  async () => {
    const helper = await startHelper();
    const collector = createWindowsCollector();
    try {
      const [a, b] = await Promise.all([collector.collect(), collector.collect()]);
      assert.ok(a.sockets.some((s) => s.pid === helper.sockets.pid));
      assert.ok(b.sockets.some((s) => s.pid === helper.sockets.pid));
      await helper.stop();
      const c = await collector.collect();
      assert.equal(c.sockets.filter((s) => s.pid === helper.sockets.pid).length, 0);
      assert.ok(!c.processes.has(helper.sockets.pid));
    } finally {
      collector.close();
      await helper.kill();
    }
    await assert.rejects(() => collector.collect(), /closed/);
  },
);
