/**
 * End to end on the real OS: this test opens TCP listeners, connections and UDP sockets on 127.0.0.1
 * and ::1, runs the real monitor as a separate process, closes a connection, stops the monitor with
 * SIGTERM, and reads the files back line by line.
 */
import assert from "node:assert/strict";
import { readLogs, spawnCli, waitFor } from "./helpers.ts";

const decoder = new TextDecoder();

/** Collects a child's stderr as text while it runs. */
function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const done = (async () => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  })();
  return { text: () => text, done };
}

Deno.test("the monitor logs this process's sockets: PR-PORTS lines, PR-PIDS entry, JSONL open and close", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portreporter-live-" });
  // open before the monitor starts: in PR-INITIAL, and in this pid's PR-PIDS entry once it appears in PR-PORTS
  const early = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const child = spawnCli(["run", "--log-dir", dir, "--interval", "100"]);
  const stderr = collect(child.stderr);
  const stdout = collect(child.stdout);
  const opened: (Deno.Listener | Deno.Conn | Deno.DatagramConn)[] = [];
  try {
    await waitFor("the first log set", () => (readLogs(dir).INITIAL ? true : undefined));
    const ports: Record<string, number> = {};
    for (const [family, host] of [["4", "127.0.0.1"], ["6", "::1"]] as const) {
      const listener = Deno.listen({ hostname: host, port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      const client = await Deno.connect({ hostname: host, port });
      const server = await listener.accept();
      const udp = Deno.listenDatagram({ transport: "udp", hostname: host, port: 0 });
      opened.push(listener, client, server, udp);
      ports[`tcp${family}`] = port;
      ports[`client${family}`] = (client.localAddr as Deno.NetAddr).port;
      ports[`udp${family}`] = (udp.addr as Deno.NetAddr).port;
    }
    const pid = Deno.pid;
    const expected = [
      `TCP,${ports.tcp4},127.0.0.1,,0.0.0.0,${pid},deno,`,
      `TCP,${ports.tcp6},::1,,::,${pid},deno,`,
      `TCP,${ports.client4},127.0.0.1,${ports.tcp4},127.0.0.1,${pid},deno,`,
      `TCP,${ports.tcp4},127.0.0.1,${ports.client4},127.0.0.1,${pid},deno,`,
      `TCP,${ports.client6},::1,${ports.tcp6},::1,${pid},deno,`,
      `UDP,${ports.udp4},127.0.0.1,*,*,${pid},deno,`,
      `UDP,${ports.udp6},::1,*,*,${pid},deno,`,
    ];
    await waitFor("every socket in PR-PORTS", () => {
      const text = readLogs(dir).PORTS ?? "";
      return expected.every((e) => text.includes(e)) ? true : undefined;
    });
    // close the v4 connection (both ends) and wait for the close events
    (opened[1] as Deno.Conn).close();
    (opened[2] as Deno.Conn).close();
    await waitFor("the close event of the client end", () => {
      const events = (readLogs(dir).EVENTS ?? "").trim().split("\n").filter(Boolean).map((l) =>
        JSON.parse(l)
      );
      return events.some((e) => e.event === "closed" && e.localPort === ports.client4 && e.pid === pid)
        ? true
        : undefined;
    });
    child.kill("SIGTERM");
    const status = await child.status;
    await stderr.done;
    await stdout.done;
    assert.equal(status.code, 0, `clean exit on SIGTERM; stderr: ${stderr.text()}`);
    assert.match(stderr.text(), /stopped after \d+ polls/);

    const logs = readLogs(dir);
    const user = Deno.env.get("USER") ?? "root";
    for (const line of expected) {
      const full = logs.PORTS.split(/\r?\n/).find((l) => l.includes(line));
      assert.ok(full, `PR-PORTS has ${line}`);
      assert.match(full!, /^\d\d\/\d{1,2}\/\d{1,2},\d{1,2}:\d{1,2}:\d{1,2},(TCP|UDP),/);
      assert.ok(full!.endsWith(`<${user}>`), `user context of ${full}`);
    }
    assert.match(
      logs.PORTS,
      /^Port Reporter Version 1\.01 Log File - Port usage log\n\nCheck PR-PIDS-[\d-]+\.log/,
    );
    assert.match(
      logs.PIDS,
      new RegExp(
        `\\nPID: ${pid}\\nProcess: deno\\nPath: ${
          Deno.execPath().replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&")
        }\\n`,
      ),
    );
    // The entry lists the process's endpoints when it first appeared in PR-PORTS. With --parallel other
    // test files share this pid and may have opened sockets first: then the entry lists theirs, not
    // ours. Either way it lists at least one, each well formed and logged under this pid (in PR-PORTS, or in
    // PR-INITIAL when it was open at the start).
    const entry = logs.PIDS.split("\n\n").find((e) =>
      e.includes(`\nPID: ${pid}\n`) || e.startsWith(`PID: ${pid}\n`)
    );
    assert.ok(entry, `a PR-PIDS entry for pid ${pid}`);
    const portSection = /\nPorts:\n((?: {2}.*\n?)*)/.exec(entry + "\n")?.[1].trimEnd().split("\n") ?? [];
    assert.ok(portSection.length > 0 && portSection[0] !== "", `the entry lists ports: ${entry}`);
    const ownLines = logs.PORTS.split(/\r?\n/).filter((l) => l.includes(`,${pid},deno,`));
    const initialRows = logs.INITIAL.split(/\r?\n/);
    for (const line of portSection) {
      const m = /^ {2}(TCP|UDP) \[?([^\]\s]*)\]?:(\d+) (\S+:\d+ [A-Z_0-9]+|\*:\*)$/.exec(line);
      assert.ok(m, `a well-formed port line of the entry: ${line}`);
      const [, proto, address, port] = m;
      const shown = address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
      assert.ok(
        ownLines.some((l) => l.includes(`,${proto},${port},${address},`)) ||
          initialRows.some((l) =>
            l.startsWith(`  ${proto} `) && l.includes(` ${shown} `) && l.includes(` ${pid} `)
          ),
        `PR-PORTS (or PR-INITIAL, open at the start) has ${proto} ${shown} under pid ${pid}`,
      );
    }
    assert.match(logs.PIDS, /libc\.so/, "modules listed");
    assert.match(logs.INITIAL, /Service initialization log/);

    const events = logs.EVENTS.trim().split("\n").map((l) => JSON.parse(l));
    const open = events.find((e) =>
      e.event === "opened" && e.localPort === ports.client4 && e.remotePort === ports.tcp4
    );
    const close = events.find((e) =>
      e.event === "closed" && e.localPort === ports.client4 && e.remotePort === ports.tcp4
    );
    assert.ok(open && close, "open and close events of the client end");
    assert.equal(open.processName, "deno");
    assert.equal(open.state, "ESTABLISHED");
    assert.equal(open.family, 4);
    assert.ok(close.durationMs > 0, `duration ${close.durationMs}`);
    assert.equal(close.firstSeen, open.time);
    assert.ok(
      events.some((e) =>
        e.event === "opened" && e.protocol === "udp" && e.family === 6 && e.localPort === ports.udp6
      ),
    );
    for (const name of Deno.readDirSync(dir)) {
      const mode = Deno.statSync(`${dir}/${name.name}`).mode! & 0o777;
      assert.equal(mode, 0o600, `${name.name} is readable only by its owner`);
    }
  } finally {
    for (const s of [early, ...opened]) {
      try {
        s.close();
      } catch { /* already closed */ }
    }
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await Deno.remove(dir, { recursive: true });
  }
});
